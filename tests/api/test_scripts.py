"""Scripts store and examples over HTTP."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client

from tests.conftest import Signup


async def create(client: Client, headers: dict[str, str], title: str, code: str = "print(1)"):
    response = await client.post(
        "/v1/scripts", headers=headers, json={"title": title, "code": code}
    )
    assert response.status_code == 201, await response.get_json()
    return await response.get_json()


async def test_crud_of_own_scripts(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    script = await create(client, a, "First", "print('hi')")
    assert script["published"] is False
    assert script["builtin"] is False

    got = await (await client.get(f"/v1/scripts/{script['id']}", headers=a)).get_json()
    assert got["code"] == "print('hi')"

    patched = await client.patch(
        f"/v1/scripts/{script['id']}", headers=a, json={"title": "Renamed", "code": "x = 1"}
    )
    assert patched.status_code == 200
    body = await patched.get_json()
    assert (body["title"], body["code"]) == ("Renamed", "x = 1")
    assert body["updated_at"] >= script["updated_at"]

    listing = await (await client.get("/v1/scripts", headers=a)).get_json()
    assert [s["title"] for s in listing["items"]] == ["Renamed"]
    assert listing["total"] == 1

    deleted = await client.delete(f"/v1/scripts/{script['id']}", headers=a)
    assert deleted.status_code == 204
    assert (await client.get(f"/v1/scripts/{script['id']}", headers=a)).status_code == 404
    listing = await (await client.get("/v1/scripts", headers=a)).get_json()
    assert listing["total"] == 0


async def test_another_users_script_is_a_404(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    b = await signup("b@example.org")
    script = await create(client, a, "Mine")
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"title": "x"}} if method == "patch" else {}
        response = await getattr(client, method)(f"/v1/scripts/{script['id']}", headers=b, **kwargs)
        assert response.status_code == 404
        assert (await response.get_json())["error"] == f"no script with id {script['id']}"
    assert (await (await client.get("/v1/scripts", headers=b)).get_json())["total"] == 0


async def test_pagination_and_sorting(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    for title in ["b", "d", "a", "c", "e"]:
        await create(client, a, title)
    page = await (await client.get("/v1/scripts?sort=title&limit=2&offset=1", headers=a)).get_json()
    assert [s["title"] for s in page["items"]] == ["b", "c"]
    assert (page["total"], page["offset"], page["limit"]) == (5, 1, 2)
    desc = await (await client.get("/v1/scripts?sort=-title", headers=a)).get_json()
    assert [s["title"] for s in desc["items"]] == ["e", "d", "c", "b", "a"]
    newest = await (await client.get("/v1/scripts?sort=-created&limit=1", headers=a)).get_json()
    assert newest["items"][0]["title"] == "e"
    huge = await (await client.get("/v1/scripts?limit=100000", headers=a)).get_json()
    assert huge["limit"] == 100
    bad = await client.get("/v1/scripts?sort=owner", headers=a)
    assert bad.status_code == 400


async def test_teacher_publishes_and_students_see_copy_and_run_nothing_else(
    client: Client, signup: Signup
) -> None:
    teacher = await signup("t@example.org", role="teacher")
    student = await signup("s@example.org")
    script = await create(client, teacher, "Ohm's law", "print(get_voltage('CH1'))")
    assert (await client.get("/v1/examples", headers=student)).status_code == 200
    assert (await (await client.get("/v1/examples", headers=student)).get_json())["total"] == 0

    published = await client.patch(
        f"/v1/scripts/{script['id']}", headers=teacher, json={"published": True}
    )
    assert (await published.get_json())["published"] is True
    examples = await (await client.get("/v1/examples", headers=student)).get_json()
    assert [e["title"] for e in examples["items"]] == ["Ohm's law"]
    one = await (await client.get(f"/v1/examples/{script['id']}", headers=student)).get_json()
    assert one["code"] == "print(get_voltage('CH1'))"
    # Read-only: the student cannot change the teacher's script.
    assert (
        await client.patch(f"/v1/scripts/{script['id']}", headers=student, json={"title": "x"})
    ).status_code == 404

    copy = await client.post(f"/v1/examples/{script['id']}/copy", headers=student)
    assert copy.status_code == 201
    mine = await copy.get_json()
    assert mine["id"] != script["id"]
    assert mine["published"] is False
    assert mine["code"] == one["code"]

    unpublished = await client.patch(
        f"/v1/scripts/{script['id']}", headers=teacher, json={"published": False}
    )
    assert (await unpublished.get_json())["published"] is False
    assert (await client.get(f"/v1/examples/{script['id']}", headers=student)).status_code == 404


async def test_students_cannot_publish(client: Client, signup: Signup) -> None:
    student = await signup("s@example.org")
    script = await create(client, student, "Mine")
    response = await client.patch(
        f"/v1/scripts/{script['id']}", headers=student, json={"published": True}
    )
    assert response.status_code == 403
    assert (await response.get_json())["error"] == "only teachers can publish examples"
    direct = await client.post("/v1/examples", headers=student, json={"title": "x", "code": ""})
    assert direct.status_code == 403


async def test_a_demoted_teacher_can_no_longer_change_their_examples(
    client: Client, signup: Signup
) -> None:
    admin = await signup("root@example.org", role="admin")
    teacher = await signup("t@example.org", role="teacher")
    example = await (
        await client.post("/v1/examples", headers=teacher, json={"title": "Ohm", "code": "x = 1"})
    ).get_json()
    draft = await create(client, teacher, "Draft")
    me = await (await client.get("/v1/users/me", headers=teacher)).get_json()
    demoted = await client.put(
        f"/v1/admin/users/{me['id']}/role", headers=admin, json={"role": "student"}
    )
    assert (await demoted.get_json())["role"] == "student"
    url = f"/v1/scripts/{example['id']}"
    for change in ({"code": "x = 2"}, {"title": "Mine now"}, {"published": False}):
        response = await client.patch(url, headers=teacher, json=change)
        assert response.status_code == 403, change
        assert "teacher" in (await response.get_json())["error"]
    deleted = await client.delete(url, headers=teacher)
    assert deleted.status_code == 403
    kept = await (await client.get(f"/v1/examples/{example['id']}", headers=admin)).get_json()
    assert (kept["title"], kept["code"], kept["published"]) == ("Ohm", "x = 1", True)
    # Their unpublished scripts stay theirs to change.
    renamed = await client.patch(
        f"/v1/scripts/{draft['id']}", headers=teacher, json={"title": "Still mine"}
    )
    assert renamed.status_code == 200
    assert (await client.delete(f"/v1/scripts/{draft['id']}", headers=teacher)).status_code == 204


async def test_teacher_creates_an_example_directly(client: Client, signup: Signup) -> None:
    teacher = await signup("t@example.org", role="teacher")
    response = await client.post(
        "/v1/examples", headers=teacher, json={"title": "Scope", "code": "x = 1"}
    )
    assert response.status_code == 201
    assert (await response.get_json())["published"] is True


async def test_size_limits(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    big = await client.post("/v1/scripts", headers=a, json={"title": "big", "code": "#" * 70_000})
    assert big.status_code == 413
    assert (await big.get_json())["error"] == "code: at most 65536 bytes"
    long_title = await client.post("/v1/scripts", headers=a, json={"title": "t" * 201})
    assert long_title.status_code == 400
    assert (await long_title.get_json())["error"] == "title: at most 200 characters"
    blank = await client.post("/v1/scripts", headers=a, json={"title": "   "})
    assert (await blank.get_json())["error"] == "title: must not be blank"


async def test_an_example_has_a_description_level_and_author(
    client: Client, signup: Signup, app
) -> None:
    from remotelab.api.context import EXTENSION
    from remotelab.auth.roles import Role

    accounts = app.extensions[EXTENSION].accounts
    await accounts.create_account(
        email="rivera@example.org",
        password="password123",
        first_name="Ana",
        last_name="Rivera",
        role=Role.TEACHER,
    )
    login = await client.post(
        "/v1/auth/login", json={"email": "rivera@example.org", "password": "password123"}
    )
    teacher = {"Authorization": f"JWT {(await login.get_json())['access_token']}"}
    student = await signup("s@example.org")

    draft = await create(client, teacher, "Ohm's law")
    assert (draft["level"], draft["author"], draft["published_at"]) == (None, None, None)
    changed = await client.patch(
        f"/v1/scripts/{draft['id']}",
        headers=teacher,
        json={"description": "Measure R on RES.", "level": "beginner"},
    )
    body = await changed.get_json()
    assert (body["description"], body["level"], body["author"]) == (
        "Measure R on RES.",
        "beginner",
        None,
    )
    # Publishing without an author names the teacher, and says when.
    published = await (
        await client.patch(f"/v1/scripts/{draft['id']}", headers=teacher, json={"published": True})
    ).get_json()
    assert published["author"] == "Ana Rivera"
    assert published["published_at"] is not None
    seen = await (await client.get(f"/v1/examples/{draft['id']}", headers=student)).get_json()
    assert (seen["description"], seen["level"], seen["author"]) == (
        "Measure R on RES.",
        "beginner",
        "Ana Rivera",
    )
    # An author given is kept; an empty one clears; an empty level clears.
    renamed = await (
        await client.patch(
            f"/v1/scripts/{draft['id']}",
            headers=teacher,
            json={"author": "  Physics dept.  ", "level": ""},
        )
    ).get_json()
    assert (renamed["author"], renamed["level"]) == ("Physics dept.", None)
    cleared = await (
        await client.patch(f"/v1/scripts/{draft['id']}", headers=teacher, json={"author": ""})
    ).get_json()
    assert cleared["author"] is None
    unpublished = await (
        await client.patch(f"/v1/scripts/{draft['id']}", headers=teacher, json={"published": False})
    ).get_json()
    assert unpublished["published_at"] is None

    # Created and published in one step, with every field.
    direct = await client.post(
        "/v1/examples",
        headers=teacher,
        json={"title": "RC", "code": "", "description": "τ", "level": "advanced", "author": "A"},
    )
    assert direct.status_code == 201
    made = await direct.get_json()
    assert (made["level"], made["author"], made["published"]) == ("advanced", "A", True)
    assert made["published_at"] == made["created_at"]


async def test_bad_levels_and_authors_are_clear_400s(client: Client, signup: Signup) -> None:
    teacher = await signup("t@example.org", role="teacher")
    draft = await create(client, teacher, "x")
    cases = [
        (
            {"level": "expert"},
            "level: must be one of beginner, intermediate, advanced (or empty for none), "
            "not 'expert'",
            "level",
        ),
        ({"author": "a" * 121}, "author: at most 120 characters", "author"),
    ]
    for body, message, field in cases:
        for method, path in (
            ("patch", f"/v1/scripts/{draft['id']}"),
            ("post", "/v1/scripts"),
            ("post", "/v1/examples"),
        ):
            payload = body if method == "patch" else {"title": "y", **body}
            response = await getattr(client, method)(path, headers=teacher, json=payload)
            assert response.status_code == 400, (path, body)
            answer = await response.get_json()
            assert answer["error"] == message
            assert answer["details"] == {"field": field}
    wrong_type = await client.patch(
        f"/v1/scripts/{draft['id']}", headers=teacher, json={"level": 3}
    )
    assert wrong_type.status_code == 400
    # Nothing was changed by the refused requests.
    got = await (await client.get(f"/v1/scripts/{draft['id']}", headers=teacher)).get_json()
    assert (got["level"], got["author"]) == (None, None)
    assert (await (await client.get("/v1/scripts", headers=teacher)).get_json())["total"] == 1


async def test_copies_are_titled_copy_then_copy_2(client: Client, signup: Signup) -> None:
    teacher = await signup("t@example.org", role="teacher")
    student = await signup("s@example.org")
    example = await (
        await client.post(
            "/v1/examples",
            headers=teacher,
            json={"title": "Ohm's law", "code": "x = 1", "description": "R", "level": "beginner"},
        )
    ).get_json()
    titles = []
    for _ in range(3):
        copy = await client.post(f"/v1/examples/{example['id']}/copy", headers=student)
        assert copy.status_code == 201
        mine = await copy.get_json()
        titles.append(mine["title"])
        assert (mine["description"], mine["level"], mine["published"]) == ("R", "beginner", False)
        assert (mine["author"], mine["published_at"]) == (None, None)
    assert titles == ["Ohm's law (copy)", "Ohm's law (copy 2)", "Ohm's law (copy 3)"]
    # The teacher's own copy of their example is titled the same way.
    own = await (
        await client.post(f"/v1/examples/{example['id']}/copy", headers=teacher)
    ).get_json()
    assert own["title"] == "Ohm's law (copy)"


def test_copy_titles_fit_the_limit() -> None:
    from remotelab.api.scripts import copy_title

    assert copy_title("T", set(), 200) == "T (copy)"
    assert copy_title("T", {"T (copy)"}, 200) == "T (copy 2)"
    long = "x" * 200
    first = copy_title(long, set(), 200)
    assert len(first) == 200 and first.endswith("x (copy)")
    second = copy_title(long, {first}, 200)
    assert len(second) == 200 and second.endswith("x (copy 2)")
