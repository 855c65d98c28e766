"""Run history of saved scripts: record a run, keep the newest N per script, list them.

Only the script's owner reads its history (the caller checks ownership with
:func:`remotelab.storage.scripts.get_own` first).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from remotelab.storage.models import LabScriptRun

MAX_STORED_WIDGETS_BYTES = 256 * 1024
"""A run's widgets are kept in its history up to this size (JSON); larger ones are left out."""


async def record(
    session: AsyncSession,
    *,
    script_id: int,
    owner_id: int,
    started_at: datetime,
    result: dict[str, Any],
    keep: int,
) -> None:
    """Store one run (``result``: the run's wire shape), then delete all but the newest ``keep``."""
    if keep <= 0:
        return
    stored = {key: result[key] for key in ("widgets", "stdout", "error", "stats")}
    widgets = json.dumps(stored["widgets"], separators=(",", ":"))
    if len(widgets) > MAX_STORED_WIDGETS_BYTES:
        stored["widgets"] = []
        stored["widgets_omitted"] = True
    session.add(
        LabScriptRun(
            script_id=script_id,
            owner_id=owner_id,
            status=result["status"],
            started_at=started_at,
            duration_ms=float(result["stats"]["wall_ms"]),
            result=json.dumps(stored, separators=(",", ":")),
        )
    )
    await session.flush()
    newest = (
        select(LabScriptRun.id)
        .where(LabScriptRun.script_id == script_id)
        .order_by(LabScriptRun.id.desc())
        .limit(keep)
    )
    await session.execute(
        delete(LabScriptRun).where(
            LabScriptRun.script_id == script_id, LabScriptRun.id.not_in(newest)
        )
    )


async def list_for_script(session: AsyncSession, script_id: int) -> list[dict[str, Any]]:
    """The script's stored runs, newest first, as the API shows them."""
    stmt = (
        select(LabScriptRun)
        .where(LabScriptRun.script_id == script_id)
        .order_by(LabScriptRun.id.desc())
    )
    items = []
    for run in (await session.execute(stmt)).scalars():
        stored = json.loads(run.result)
        items.append(
            {
                "id": run.id,
                "status": run.status,
                "started_at": run.started_at,
                "duration_ms": run.duration_ms,
                "widgets": stored.get("widgets", []),
                "widgets_omitted": bool(stored.get("widgets_omitted", False)),
                "stdout": stored.get("stdout", ""),
                "error": stored.get("error"),
                "stats": stored.get("stats"),
            }
        )
    return items
