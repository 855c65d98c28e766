"""Queries on the bench's outputs as teachers set them (``lab_bench_outputs``).

Values are stored as JSON text, as the API shows them; the device's output model
checks them when they are read back (storage knows nothing of the instrument).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from remotelab.storage.models import LabBenchOutput, utcnow


async def load(session: AsyncSession) -> dict[str, Any]:
    """The stored outputs by name (JSON values); rows that are not JSON are skipped."""
    rows = (await session.execute(select(LabBenchOutput))).scalars()
    stored: dict[str, Any] = {}
    for row in rows:
        try:
            stored[row.name] = json.loads(row.value)
        except ValueError:
            continue
    return stored


async def replace(session: AsyncSession, outputs: Mapping[str, Any], user_id: int | None) -> None:
    """Store exactly ``outputs`` (name -> JSON value): other rows are deleted."""
    await session.execute(delete(LabBenchOutput).where(LabBenchOutput.name.not_in(list(outputs))))
    existing = {row.name: row for row in (await session.execute(select(LabBenchOutput))).scalars()}
    now = utcnow()
    for name, value in outputs.items():
        text = json.dumps(value, sort_keys=True)
        row = existing.get(name)
        if row is None:
            session.add(LabBenchOutput(name=name, value=text, updated_by=user_id, updated_at=now))
        elif row.value != text:
            row.value, row.updated_by, row.updated_at = text, user_id, now
