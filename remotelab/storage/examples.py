"""Built-in examples: scripts in ``examples/`` published on start.

Each file opens with a header of comment lines::

    # title: RC charging
    # description: Charge the capacitor on CAP through a resistor and fit the time constant.
    # level: intermediate

The file name is the example's key, so a restart refreshes rather than duplicates it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from remotelab.errors import InputError
from remotelab.storage import scripts as q
from remotelab.storage.database import Database

log = logging.getLogger(__name__)

HEADER_KEYS = ("title", "description", "level")
LEVELS = ("beginner", "intermediate", "advanced")


@dataclass(frozen=True)
class Example:
    file: str
    title: str
    description: str
    level: str
    code: str


def parse_example(name: str, text: str) -> Example:
    """Read the header of an example file. Raises InputError naming what is missing."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        key, sep, value = stripped.lstrip("#").partition(":")
        if sep and key.strip() in HEADER_KEYS:
            fields[key.strip()] = value.strip()
    missing = [k for k in HEADER_KEYS if not fields.get(k)]
    if missing:
        raise InputError(f"{name}: header lacks {', '.join(missing)}")
    if fields["level"] not in LEVELS:
        raise InputError(f"{name}: level must be one of {', '.join(LEVELS)}")
    return Example(name, fields["title"], fields["description"], fields["level"], text)


def read_examples(folder: Path) -> list[Example]:
    return [
        parse_example(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.py"))
    ]


async def publish_examples(db: Database, folder: Path) -> int:
    """Create or refresh every example of ``folder``; returns how many."""
    examples = read_examples(folder)
    async with db.session() as session:
        for ex in examples:
            await q.upsert_builtin_example(
                session,
                source_file=ex.file,
                title=ex.title,
                description=ex.description,
                level=ex.level,
                code=ex.code,
            )
    log.info("published %d built-in examples from %s", len(examples), folder)
    return len(examples)
