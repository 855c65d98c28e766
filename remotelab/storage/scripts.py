"""Queries on scripts and examples.

Ownership is part of every query: a script that is not the caller's is
indistinguishable from one that does not exist (both :class:`NotFound`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from remotelab.errors import NotFound
from remotelab.storage.models import LabScript, utcnow

SORT_KEYS: tuple[str, ...] = ("created", "-created", "updated", "-updated", "title", "-title")
_COLUMNS = {
    "created": LabScript.created_at,
    "updated": LabScript.updated_at,
    "title": LabScript.title,
}


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int
    sort: str = "-updated"


async def _page(
    session: AsyncSession, stmt: Select[LabScript], page: Page
) -> tuple[list[LabScript], int]:
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    column = _COLUMNS[page.sort.lstrip("-")]
    order = column.desc() if page.sort.startswith("-") else column.asc()
    stmt = stmt.order_by(order, LabScript.id.desc()).offset(page.offset).limit(page.limit)
    return list((await session.execute(stmt)).scalars()), int(total)


def _live() -> Select[LabScript]:
    return select(LabScript).where(LabScript.deleted_at.is_(None))


async def list_own(session: AsyncSession, owner_id: int, page: Page) -> tuple[list[LabScript], int]:
    return await _page(session, _live().where(LabScript.owner_id == owner_id), page)


async def count_own(session: AsyncSession, owner_id: int) -> int:
    stmt = select(func.count()).select_from(
        _live().where(LabScript.owner_id == owner_id).subquery()
    )
    return int((await session.execute(stmt)).scalar_one())


async def own_titles_starting(session: AsyncSession, owner_id: int, prefix: str) -> set[str]:
    """Titles of the owner's scripts that start with ``prefix`` (to name a copy)."""
    stmt = (
        select(LabScript.title)
        .where(LabScript.owner_id == owner_id, LabScript.deleted_at.is_(None))
        .where(func.substr(LabScript.title, 1, len(prefix)) == prefix)
    )
    return set((await session.execute(stmt)).scalars())


async def get_own(session: AsyncSession, script_id: int, owner_id: int) -> LabScript:
    """The caller's live script. Raises :class:`NotFound` for anyone else's."""
    stmt = _live().where(LabScript.id == script_id, LabScript.owner_id == owner_id)
    script = (await session.execute(stmt)).scalars().first()
    if script is None:
        raise NotFound(f"no script with id {script_id}")
    return script


async def list_examples(session: AsyncSession, page: Page) -> tuple[list[LabScript], int]:
    return await _page(session, _live().where(LabScript.published.is_(True)), page)


async def get_example(session: AsyncSession, script_id: int) -> LabScript:
    stmt = _live().where(LabScript.id == script_id, LabScript.published.is_(True))
    script = (await session.execute(stmt)).scalars().first()
    if script is None:
        raise NotFound(f"no example with id {script_id}")
    return script


async def create(
    session: AsyncSession,
    *,
    owner_id: int | None,
    title: str,
    code: str,
    description: str = "",
    level: str | None = None,
    published: bool = False,
) -> LabScript:
    now = utcnow()
    script = LabScript(
        owner_id=owner_id,
        title=title,
        code=code,
        description=description,
        level=level,
        published=published,
        created_at=now,
        updated_at=now,
    )
    session.add(script)
    await session.flush()
    return script


async def soft_delete(session: AsyncSession, script: LabScript) -> None:
    script.deleted_at = utcnow()
    script.published = False
    await session.flush()


async def upsert_builtin_example(
    session: AsyncSession, *, source_file: str, title: str, description: str, level: str, code: str
) -> LabScript:
    """Create or refresh a built-in example (owner NULL) keyed by its file name."""
    stmt = select(LabScript).where(LabScript.source_file == source_file)
    script = (await session.execute(stmt)).scalars().first()
    if script is None:
        script = await create(
            session,
            owner_id=None,
            title=title,
            code=code,
            description=description,
            level=level,
            published=True,
        )
        script.source_file = source_file
    else:
        script.title, script.description, script.level, script.code = (
            title,
            description,
            level,
            code,
        )
        script.published, script.deleted_at = True, None
    await session.flush()
    return script
