"""Transports: how one composed mail leaves the lab.

:class:`OutboxTransport` (the default, when no SMTP server is set) needs no mail
server: it writes each mail's link to the log and a JSON line to
``<instance>/outbox.txt``. :class:`SmtpTransport` hands the mail, with a plain
text and an HTML part, to an SMTP server with ``aiosmtplib``.

A transport tries once. It raises :class:`~remotelab.errors.MailError`, marked
``temporary`` when another try later may succeed (the server is unreachable,
or answered 4xx); trying again is the delivery queue's business
(:mod:`remotelab.auth.delivery`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Protocol

import aiosmtplib

from remotelab.auth.messages import Message
from remotelab.config import MailSettings, SmtpServer
from remotelab.errors import MailError
from remotelab.storage.models import utcnow

log = logging.getLogger(__name__)


class Transport(Protocol):
    async def deliver(self, message: Message) -> None:
        """Hand ``message`` over once. Raises MailError (``temporary`` or not)."""

    def describe(self) -> str:
        """Where mail goes, for the log (never a password)."""


def open_transport(mail: MailSettings, instance_path: Path) -> Transport:
    """SMTP when ``REMOTELAB_MAIL_URL`` or ``REMOTELAB_MAIL_HOST`` is set, else the outbox."""
    server = mail.smtp()
    if server is None:
        return OutboxTransport(instance_path / "outbox.txt")
    return SmtpTransport(mail, server)


class OutboxTransport:
    """Writes each mail as one JSON line to ``path`` and logs its link."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"outbox file {self.path} (no SMTP server set: REMOTELAB_MAIL_URL)"

    async def deliver(self, message: Message) -> None:
        log.warning("%s (outbox): %s", message.describe(), message.link or message.subject)
        line = json.dumps(
            {
                "time": utcnow().isoformat(),
                "kind": message.kind,
                "to": message.to,
                "subject": message.subject,
                "link": message.link,
            }
        )
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as exc:
            raise MailError(f"cannot write {self.path}: {exc}", temporary=True) from None

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class SmtpTransport:
    """One SMTP session per mail (mails are rare: a connection kept open would mostly idle)."""

    def __init__(self, settings: MailSettings, server: SmtpServer) -> None:
        self.settings = settings
        self.server = server

    def describe(self) -> str:
        return self.server.describe()

    def build(self, message: Message) -> EmailMessage:
        """The MIME mail: text/plain and text/html alternatives, the same on every try."""
        sender = self.settings.from_address
        email = EmailMessage()
        email["From"] = formataddr((self.settings.sender_name or self.settings.lab_name, sender))
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = f"<{message.id}@{sender.rpartition('@')[2] or 'remotelab'}>"
        # RFC 3834: no vacation replies to a machine's mail.
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        return email

    async def deliver(self, message: Message) -> None:
        server, settings = self.server, self.settings
        password = server.password.reveal() if server.password is not None else None
        try:
            await aiosmtplib.send(
                self.build(message),
                sender=settings.from_address,
                recipients=[message.to],
                hostname=server.host,
                port=server.port,
                username=server.user or None,
                password=password if server.user else None,
                use_tls=server.tls,
                start_tls=server.starttls,
                validate_certs=settings.verify_tls,
                cert_bundle=str(settings.ca_file) if settings.ca_file else None,
                timeout=settings.timeout_seconds,
            )
        except Exception as exc:
            raise classify(exc, server) from exc


def classify(exc: BaseException, server: SmtpServer) -> MailError:
    """The MailError for what ``aiosmtplib.send`` raised: temporary or not, in words."""
    where = f"{server.host}:{server.port}"
    tls = _tls_error(exc)
    if isinstance(tls, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
        return MailError(f"TLS with {where} cut short: {tls}", temporary=True)
    if tls is not None:
        hint = (
            " (trust the server's certificate with REMOTELAB_MAIL_CA_FILE)"
            if isinstance(tls, ssl.SSLCertVerificationError)
            else ""
        )
        return MailError(f"TLS with {where} failed: {tls}{hint}", temporary=False)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        temporary = all(400 <= c < 500 for c in codes)
        return MailError(f"{where} refused the recipient: {text}", temporary=temporary)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return MailError(f"{where} answered {exc.code} {exc.message}", temporary=exc.code < 500)
    if isinstance(
        exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | TimeoutError
    ):
        return MailError(f"cannot reach {where}: {exc}", temporary=True)
    if isinstance(exc, aiosmtplib.SMTPException):
        # e.g. STARTTLS or AUTH required but not offered: the same on every try.
        return MailError(f"{where}: {exc}", temporary=False)
    if isinstance(exc, OSError):
        return MailError(f"cannot reach {where}: {exc}", temporary=True)
    return MailError(f"{where}: {type(exc).__name__}: {exc}", temporary=False)


def _tls_error(exc: BaseException | None) -> ssl.SSLError | None:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ssl.SSLError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
