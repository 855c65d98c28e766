from __future__ import annotations

from pathlib import Path

import pytest

from remotelab.errors import InputError
from remotelab.storage import scripts as q
from remotelab.storage.database import Database
from remotelab.storage.examples import parse_example, publish_examples
from tests.conftest import make_settings

GOOD = """# title: Ohm's law
# description: Measure the 10k resistor on RES.
# level: beginner
print(get_resistance())
"""


def test_header_is_parsed() -> None:
    ex = parse_example("ohm.py", GOOD)
    assert (ex.title, ex.description, ex.level) == (
        "Ohm's law",
        "Measure the 10k resistor on RES.",
        "beginner",
    )
    assert ex.code == GOOD


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("print(1)\n", "x.py: header lacks title, description, level"),
        ("# title: t\n# level: beginner\n", "x.py: header lacks description"),
        ("# title: t\n# description: d\n# level: expert\n", "level must be one of beginner"),
        ("# title: t\nprint(1)\n# description: d\n# level: beginner\n", "lacks description, level"),
    ],
)
def test_bad_headers_name_the_file_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_example("x.py", text)
    assert message in info.value.message


async def test_publishing_twice_refreshes_instead_of_duplicating(tmp_path: Path) -> None:
    folder = tmp_path / "examples"
    folder.mkdir()
    (folder / "ohm.py").write_text(GOOD)
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/lab.sqlite3")
    await db.migrate()
    try:
        assert await publish_examples(db, folder) == 1
        (folder / "ohm.py").write_text(GOOD.replace("beginner", "intermediate"))
        assert await publish_examples(db, folder) == 1
        async with db.session() as session:
            items, total = await q.list_examples(session, q.Page(0, 10))
        assert total == 1
        assert items[0].level == "intermediate"
        assert items[0].owner_id is None
        assert items[0].source_file == "ohm.py"
    finally:
        await db.close()


async def test_the_app_publishes_the_examples_folder_on_start(tmp_path: Path) -> None:
    from remotelab.app import create_app

    folder = tmp_path / "ex"
    folder.mkdir()
    (folder / "ohm.py").write_text(GOOD)
    app = create_app(make_settings(tmp_path, load_examples=True, examples_dir=folder))
    async with app.test_app() as test_app:
        from remotelab.api.context import EXTENSION

        accounts = test_app.app.extensions[EXTENSION].accounts
        await accounts.create_account(email="s@example.org", password="password123")
        client = test_app.test_client()
        token = (
            await (
                await client.post(
                    "/v1/auth/login", json={"email": "s@example.org", "password": "password123"}
                )
            ).get_json()
        )["access_token"]
        listing = await (
            await client.get("/v1/examples", headers={"Authorization": f"JWT {token}"})
        ).get_json()
    assert [(e["title"], e["builtin"]) for e in listing["items"]] == [("Ohm's law", True)]
