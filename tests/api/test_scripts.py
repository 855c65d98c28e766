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
