"""Mailers: how password-reset links reach users.

The default :class:`OutboxMailer` needs no mail server: it writes the link to
the log and appends it to ``<instance>/outbox.txt``. A deployment with a mail
server plugs in another implementation of :class:`Mailer`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Protocol

from remotelab.storage.models import utcnow

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send_reset(self, email: str, link: str) -> None:
        """Deliver a password-reset ``link`` to ``email``."""


class OutboxMailer:
    """Writes each message as one JSON line to ``path`` and logs it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send_reset(self, email: str, link: str) -> None:
        log.warning("password reset for %s: %s", email, link)
        line = json.dumps(
            {
                "time": utcnow().isoformat(),
                "to": email,
                "subject": "Reset your password",
                "link": link,
            }
        )
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
