"""The delivery queue: mail leaves off the request path, is tried again, and is waited for.

A request hands its composed mail to :meth:`MailQueue.submit`, which returns at
once. Each mail gets a task that tries its transport; a temporary failure (the
server unreachable, a 4xx reply) is tried again after a back-off that doubles,
up to ``REMOTELAB_MAIL_ATTEMPTS`` tries, then the mail is given up and logged.
A permanent failure (5xx, an untrusted certificate) is logged and not tried
again. A mail is handed over at most once: it is never tried again after the
server took it, and a mail submitted twice (same id) is sent once.

The lifespan owns the queue: :meth:`MailQueue.close` stops taking mail, cuts
the back-off of mails waiting for their next try short (one last try each),
waits up to ``REMOTELAB_MAIL_STOP_SECONDS`` and logs every mail it then drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

from remotelab.auth.mailer import Transport
from remotelab.auth.messages import Message
from remotelab.config import MailSettings
from remotelab.errors import MailError

log = logging.getLogger(__name__)

# SMTP sessions at once: mail is rare, and a burst should not open a connection per mail.
SESSIONS = 2


@dataclass
class _Pending:
    message: Message
    task: asyncio.Task[None]
    tries: int = 0
    last_error: str = ""


class MailQueue:
    """Delivers mail in the background through one transport. See the module's doc."""

    def __init__(self, transport: Transport, settings: MailSettings) -> None:
        self.transport = transport
        self.settings = settings
        self._pending: dict[str, _Pending] = {}
        # Ids of mails already handed over, so that a repeated submit sends nothing.
        self._done: OrderedDict[str, None] = OrderedDict()
        self._sessions = asyncio.Semaphore(SESSIONS)
        self._stopping = asyncio.Event()
        self.delivered = 0
        self.failed = 0

    def describe(self) -> str:
        return self.transport.describe()

    @property
    def pending(self) -> int:
        """Mails not yet delivered nor given up."""
        return len(self._pending)

    def submit(self, message: Message) -> None:
        """Take ``message`` for delivery; returns at once. Never raises for delivery trouble."""
        if self._stopping.is_set():
            log.error("%s dropped: the server is stopping", message.describe())
            self.failed += 1
            return
        if message.id in self._pending or message.id in self._done:
            log.info("%s was already taken: not sent again", message.describe())
            return
        if len(self._pending) >= self.settings.queue_max:
            log.error(
                "%s dropped: %d mails already wait (%s)",
                message.describe(),
                len(self._pending),
                MailSettings.variable("queue_max"),
            )
            self.failed += 1
            return
        task = asyncio.create_task(self._deliver(message), name=f"mail {message.id}")
        self._pending[message.id] = _Pending(message, task)
        task.add_done_callback(lambda _task: self._pending.pop(message.id, None))

    async def idle(self) -> None:
        """Wait until every mail taken so far is delivered or given up."""
        while self._pending:
            await asyncio.wait([p.task for p in list(self._pending.values())])

    async def close(self) -> None:
        """Stop taking mail; wait a bounded time for mail in flight; log what is dropped."""
        self._stopping.set()
        if not self._pending:
            return
        bound = self.settings.stop_seconds
        log.info("waiting up to %.3g s for %d mails in flight", bound, len(self._pending))
        tasks = [p.task for p in self._pending.values()]
        _done, left = await asyncio.wait(tasks, timeout=bound)
        for entry in list(self._pending.values()):
            if entry.task not in left:
                continue
            self.failed += 1
            log.error(
                "%s dropped at stop after %d of %d tries%s",
                entry.message.describe(),
                entry.tries,
                self.settings.attempts,
                f" (last: {entry.last_error})" if entry.last_error else "",
            )
            entry.task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    # ---------------------------------------------------------------- one mail

    async def _deliver(self, message: Message) -> None:
        entry = self._pending[message.id]
        attempts = self.settings.attempts
        while True:
            entry.tries += 1
            try:
                async with self._sessions:
                    await self.transport.deliver(message)
            except MailError as exc:
                entry.last_error = exc.message
                if not exc.temporary:
                    self._give_up(entry, f"not delivered: {exc.message} (not tried again)")
                    return
                if entry.tries >= attempts:
                    self._give_up(entry, f"not delivered after {entry.tries} tries: {exc.message}")
                    return
                if self._stopping.is_set():
                    self._give_up(
                        entry, f"dropped at stop after {entry.tries} tries: {exc.message}"
                    )
                    return
                delay = self._backoff(entry.tries)
                log.warning(
                    "%s: try %d of %d failed: %s; next try in %.3g s",
                    message.describe(),
                    entry.tries,
                    attempts,
                    exc.message,
                    delay,
                )
                # The back-off ends early when the server stops: one last try then.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
            except Exception:
                log.exception("%s not delivered: unexpected error", message.describe())
                self.failed += 1
                return
            else:
                self.delivered += 1
                self._remember(message.id)
                log.info(
                    "%s delivered via %s%s",
                    message.describe(),
                    self.transport.describe(),
                    f" at try {entry.tries}" if entry.tries > 1 else "",
                )
                return

    def _backoff(self, tries: int) -> float:
        s = self.settings
        return float(min(s.backoff_seconds * 2 ** (tries - 1), s.backoff_max_seconds))

    def _give_up(self, entry: _Pending, what: str) -> None:
        self.failed += 1
        log.error("%s %s", entry.message.describe(), what)

    def _remember(self, message_id: str) -> None:
        self._done[message_id] = None
        while len(self._done) > self.settings.queue_max:
            self._done.popitem(last=False)
