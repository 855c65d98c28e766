"""Scripts and examples over HTTP.

A user sees and changes only their own scripts (anyone else's is a 404, the
same answer as a missing one). Published scripts are examples: every logged-in
user can list, read, run and copy them; teachers and admins publish, with a
description, a level and an author. With ``REMOTELAB_PUBLIC_EXAMPLES`` on,
signed-out visitors may list, read and run examples too (never copy them).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from remotelab.api.context import lab
from remotelab.api.identity import authenticate, authenticate_or_visitor
from remotelab.api.schemas import ListQuery, ScriptIn, ScriptOut, ScriptPage, ScriptPatch
from remotelab.api.validation import json_body
from remotelab.auth.accounts import CurrentUser
from remotelab.auth.roles import can_publish
from remotelab.errors import InputError, PermissionDenied, ScriptTooLarge
from remotelab.storage import scripts as q
from remotelab.storage.examples import LEVELS
from remotelab.storage.models import LabScript, utcnow

bp = Blueprint("scripts", __name__)


def script_dict(script: LabScript) -> dict[str, Any]:
    return {
        "id": script.id,
        "title": script.title,
        "description": script.description,
        "code": script.code,
        "level": script.level,
        "author": script.author,
        "published": script.published,
        "published_at": script.published_at,
        "owner_id": script.owner_id,
        "builtin": script.source_file is not None,
        "created_at": script.created_at,
        "updated_at": script.updated_at,
    }


def _check_sizes(
    title: str | None,
    code: str | None,
    description: str | None,
    level: str | None = None,
    author: str | None = None,
) -> None:
    s = lab().settings.scripts
    if level and level not in LEVELS:
        raise InputError(
            f"level: must be one of {', '.join(LEVELS)} (or empty for none), not {level[:40]!r}",
            details={"field": "level"},
        )
    if author is not None and len(author.strip()) > s.max_author_chars:
        raise InputError(
            f"author: at most {s.max_author_chars} characters", details={"field": "author"}
        )
    if title is not None:
        if not title.strip():
            raise InputError("title: must not be blank", details={"field": "title"})
        if len(title) > s.max_title_chars:
            raise InputError(
                f"title: at most {s.max_title_chars} characters", details={"field": "title"}
            )
    if description is not None and len(description) > s.max_description_chars:
        raise InputError(
            f"description: at most {s.max_description_chars} characters",
            details={"field": "description"},
        )
    if code is not None and len(code.encode()) > s.max_script_bytes:
        raise ScriptTooLarge(f"code: at most {s.max_script_bytes} bytes", details={"field": "code"})


def _check_may_change(user: CurrentUser, script: LabScript) -> None:
    """A published example is changed, unpublished or deleted by teachers and admins only:
    its author may have lost the teacher role since publishing it."""
    if script.published and not can_publish(user.role):
        raise PermissionDenied("only teachers can change or remove a published example")


def _page(query: ListQuery) -> q.Page:
    s = lab().settings.scripts
    limit = min(query.limit or s.page_size_default, s.page_size_max)
    return q.Page(offset=query.offset, limit=limit, sort=query.sort)


def _page_dict(items: list[LabScript], total: int, page: q.Page) -> dict[str, Any]:
    return {
        "items": [script_dict(x) for x in items],
        "total": total,
        "offset": page.offset,
        "limit": page.limit,
    }


def copy_title(title: str, taken: set[str], max_chars: int) -> str:
    """The title of a copy of ``title``: "T (copy)", else "T (copy 2)", "T (copy 3)"...,
    the first not in ``taken``, cut to ``max_chars`` by shortening ``T``."""
    n = 1
    while True:
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = title[: max(1, max_chars - len(suffix))].rstrip() + suffix
        if candidate not in taken:
            return candidate[:max_chars]
        n += 1


def _author_default(user: CurrentUser, author: str | None) -> str | None:
    """The author shown on an example: as given (blank: none), else the teacher's name."""
    if author is not None:
        return author.strip() or None
    return user.name


async def _create_for(
    user: CurrentUser,
    title: str,
    code: str,
    description: str,
    *,
    published: bool = False,
    level: str | None = None,
    author: str | None = None,
) -> LabScript:
    settings = lab().settings
    async with lab().db.session() as session:
        if await q.count_own(session, user.id) >= settings.scripts.max_scripts_per_user:
            raise PermissionDenied(
                f"you already keep {settings.scripts.max_scripts_per_user} scripts; "
                "delete some first"
            )
        script = await q.create(
            session,
            owner_id=user.id,
            title=title.strip(),
            code=code,
            description=description,
            published=published,
            level=level or None,
        )
        if published:
            script.author = _author_default(user, author)
            script.published_at = script.created_at
        elif author is not None:
            script.author = author.strip() or None
        await session.flush()
        return script


# ------------------------------------------------------------------ own scripts


@bp.get("/v1/scripts")
@validate_querystring(ListQuery)
@validate_response(ScriptPage)
async def list_scripts(query_args: ListQuery) -> dict[str, Any]:
    """The caller's scripts, paginated (`offset`, `limit`) and sorted (`sort`)."""
    user = await authenticate()
    page = _page(query_args)
    async with lab().db.session() as session:
        items, total = await q.list_own(session, user.id, page)
    return _page_dict(items, total, page)


@bp.post("/v1/scripts")
@json_body(ScriptIn)
@validate_response(ScriptOut, 201)
async def create_script(data: ScriptIn) -> tuple[dict[str, Any], int]:
    """Save a new script for the caller."""
    user = await authenticate()
    _check_sizes(data.title, data.code, data.description, data.level, data.author)
    script = await _create_for(
        user, data.title, data.code, data.description, level=data.level, author=data.author
    )
    return script_dict(script), 201


@bp.get("/v1/scripts/<int:script_id>")
@validate_response(ScriptOut)
async def get_script(script_id: int) -> dict[str, Any]:
    """One of the caller's scripts (404 for anyone else's)."""
    user = await authenticate()
    async with lab().db.session() as session:
        script = await q.get_own(session, script_id, user.id)
    return script_dict(script)


@bp.patch("/v1/scripts/<int:script_id>")
@json_body(ScriptPatch)
@validate_response(ScriptOut)
async def update_script(script_id: int, data: ScriptPatch) -> dict[str, Any]:
    """Change title, code, description, level, author; teachers and admins may also set
    `published`.

    A published example is changed by teachers and admins only (403 for its author once
    they are no longer a teacher). Publishing without an author (none given, none stored)
    names the teacher.
    """
    user = await authenticate()
    _check_sizes(data.title, data.code, data.description, data.level, data.author)
    if data.published is not None and not can_publish(user.role):
        raise PermissionDenied("only teachers can publish examples")
    async with lab().db.session() as session:
        script = await q.get_own(session, script_id, user.id)
        _check_may_change(user, script)
        if data.title is not None:
            script.title = data.title.strip()
        if data.code is not None:
            script.code = data.code
        if data.description is not None:
            script.description = data.description
        if data.level is not None:
            script.level = data.level or None
        if data.author is not None:
            script.author = data.author.strip() or None
        if data.published and not script.published:
            script.published_at = utcnow()
            if data.author is None and script.author is None:
                script.author = user.name
        elif data.published is False:
            script.published_at = None
        if data.published is not None:
            script.published = data.published
        await session.flush()
        await session.refresh(script)
    return script_dict(script)


@bp.delete("/v1/scripts/<int:script_id>")
async def delete_script(script_id: int) -> tuple[str, int]:
    """Delete (softly) one of the caller's scripts; a published one stops being an example
    (teachers and admins only)."""
    user = await authenticate()
    async with lab().db.session() as session:
        script = await q.get_own(session, script_id, user.id)
        _check_may_change(user, script)
        await q.soft_delete(session, script)
    return "", 204


# ------------------------------------------------------------------ examples


@bp.get("/v1/examples")
@validate_querystring(ListQuery)
@validate_response(ScriptPage)
async def list_examples(query_args: ListQuery) -> dict[str, Any]:
    """Published examples, with their code (read-only), for every logged-in user (and
    signed-out visitors when `REMOTELAB_PUBLIC_EXAMPLES` is on)."""
    await authenticate_or_visitor()
    page = _page(query_args)
    async with lab().db.session() as session:
        items, total = await q.list_examples(session, page)
    return _page_dict(items, total, page)


@bp.get("/v1/examples/<int:script_id>")
@validate_response(ScriptOut)
async def get_example(script_id: int) -> dict[str, Any]:
    """One published example (to signed-out visitors too, as the list)."""
    await authenticate_or_visitor()
    async with lab().db.session() as session:
        script = await q.get_example(session, script_id)
    return script_dict(script)


@bp.post("/v1/examples")
@json_body(ScriptIn)
@validate_response(ScriptOut, 201)
async def create_example(data: ScriptIn) -> tuple[dict[str, Any], int]:
    """Save and publish a new example in one step (teachers and admins)."""
    user = await authenticate()
    if not can_publish(user.role):
        raise PermissionDenied("only teachers can publish examples")
    _check_sizes(data.title, data.code, data.description, data.level, data.author)
    script = await _create_for(
        user,
        data.title,
        data.code,
        data.description,
        published=True,
        level=data.level,
        author=data.author,
    )
    return script_dict(script), 201


@bp.post("/v1/examples/<int:script_id>/copy")
@validate_response(ScriptOut, 201)
async def copy_example(script_id: int) -> tuple[dict[str, Any], int]:
    """Copy an example into the caller's own scripts (unpublished), titled "… (copy)"
    ("… (copy 2)" when the caller already has that title)."""
    user = await authenticate()
    async with lab().db.session() as session:
        example = await q.get_example(session, script_id)
        max_chars = lab().settings.scripts.max_title_chars
        # The prefix every candidate shares, even one cut to fit (" (copy 999)").
        prefix = example.title[: max(1, max_chars - 11)].rstrip()
        taken = await q.own_titles_starting(session, user.id, prefix)
    title = copy_title(example.title, taken, max_chars)
    script = await _create_for(user, title, example.code, example.description, level=example.level)
    return script_dict(script), 201
