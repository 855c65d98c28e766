"""Script creations per second through the storage layer, SQLite synchronous NORMAL vs FULL.

Each creation is what `POST /v1/scripts` does to the database: one session, one insert, one
commit (`remotelab.storage.scripts.create` in `Database.session`). The levels take turns in
short rounds on the same disk in one run (the machine's drift hits them alike); the database
lives beside the project (``instance/``'s file system, not a tmpfs where syncs cost nothing).
Prints creations/s and the median commit time per level, and FULL's cost relative to NORMAL.

``python -m benchmarks storage`` (ADR 0008 records a run).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time

from benchmarks.support import ROOT, table
from remotelab.storage import scripts as q
from remotelab.storage.database import Database
from remotelab.storage.models import User, utcnow

LEVELS = ("NORMAL", "FULL", "EXTRA")
ROUNDS = 5
PER_ROUND = 200


async def _open(folder: str, level: str) -> Database:
    db = Database(f"sqlite+aiosqlite:///{folder}/{level}.sqlite3", sqlite_synchronous=level)
    await db.migrate()
    async with db.session() as session:
        session.add(User(id=1, email="bench@example.org", password="x", created_at=utcnow()))
    return db


async def _round(db: Database, n: int) -> list[float]:
    times = []
    for i in range(n):
        start = time.perf_counter()
        async with db.session() as session:
            await q.create(session, owner_id=1, title=f"script {i}", code="print(1)\n" * 20)
        times.append(time.perf_counter() - start)
    return times


async def measure(rounds: int = ROUNDS, per_round: int = PER_ROUND) -> dict[str, list[float]]:
    """Commit times (seconds) per level, the levels taking turns round by round."""
    times: dict[str, list[float]] = {level: [] for level in LEVELS}
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-storage-") as folder:
        dbs = {level: await _open(folder, level) for level in LEVELS}
        try:
            for level in LEVELS:  # warm up: first pages, the WAL file
                await _round(dbs[level], 20)
            for _ in range(rounds):
                for level in LEVELS:
                    times[level] += await _round(dbs[level], per_round)
        finally:
            for db in dbs.values():
                await db.close()
    return times


def main() -> None:
    times = asyncio.run(measure())
    rate = {level: len(t) / sum(t) for level, t in times.items()}
    rows = [
        [
            level,
            f"{rate[level]:,.0f}",
            f"{statistics.median(t) * 1000:.2f}",
            f"{statistics.quantiles(t, n=100)[98] * 1000:.2f}",
            f"{rate[level] / rate['NORMAL']:.2f}",
        ]
        for level, t in times.items()
    ]
    table(
        f"Script creations, {ROUNDS} rounds x {PER_ROUND} per level, levels in turns",
        ["synchronous", "creations/s", "p50 ms", "p99 ms", "rate vs NORMAL"],
        rows,
    )


if __name__ == "__main__":
    main()
