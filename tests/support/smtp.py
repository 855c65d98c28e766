"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, a free port, in its own thread.

Use the fixtures (imported into ``tests/conftest.py``)::

    def test_x(smtp_server: SmtpFactory) -> None:
        server = smtp_server(refuse=2)           # answers 451 to the first two mails
        server = smtp_server(starttls=True)      # offers STARTTLS with a self-signed cert
        await server.arrived(1)                  # the mails it took, parsed

``tls_certificate`` is a self-signed certificate for 127.0.0.1 made by the test run
(``cryptography``); a client trusts it by its PEM file (``REMOTELAB_MAIL_CA_FILE``).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
USER = "lab@example.org"
PASSWORD = "p@ss:word/with%odd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


class Recorder:
    """aiosmtpd handler: keeps every mail it takes; refuses the first ``refuse`` with ``reply``."""

    def __init__(self, refuse: int, reply: str) -> None:
        self.refuse = refuse
        self.reply = reply
        self.refused = 0
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refused < self.refuse:
                self.refused += 1
                return self.reply
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder
    controller: _Controller | None = field(default=None, repr=False)

    @property
    def messages(self) -> list[EmailMessage]:
        with self.recorder.lock:
            return list(self.recorder.messages)

    async def arrived(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """The first ``count`` mails taken, once there are that many (else AssertionError).

        Waits without blocking the event loop: the lab's delivery tasks run on it.
        """
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} mails arrived, {count} expected")
            await asyncio.sleep(0.005)
        return self.messages[:count]

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


SmtpFactory = Callable[..., SmtpServer]


class _TrackedSMTP(SMTP):
    """aiosmtpd's session protocol, counted open until its connection is lost."""

    def __init__(self, controller: _Controller, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.controller = controller

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        with self.controller.changed:
            self.controller.sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        with self.controller.changed:
            self.controller.sessions.discard(self)
            self.controller.changed.notify_all()


class _Controller(Controller):
    """A Controller whose stop() closes its connections first.

    aiosmtpd's own stop() stops its loop at once: a connection still closing (the client has
    its 221 answer, the server's socket closes on the next turn of the loop) is then never
    closed, and the garbage collector warns about it during some later test.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: set[_TrackedSMTP] = set()
        self.changed = threading.Condition()

    def factory(self) -> SMTP:
        return _TrackedSMTP(self, self.handler, **self.SMTP_kwargs)

    def stop(self, no_assert: bool = False) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: not self.sessions, timeout=5):
                for session in list(self.sessions):  # a client that never hung up
                    if isinstance(session.transport, asyncio.Transport):
                        self.loop.call_soon_threadsafe(session.transport.abort)
                self.changed.wait_for(lambda: not self.sessions, timeout=5)
        # The socket of a closed session is released by a callback of the loop: one more
        # turn of it runs every callback scheduled so far.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(timeout=5)
        super().stop(no_assert)


def _authenticator(recorder: Recorder) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == PASSWORD
        )
        if ok:
            recorder.logins.append(USER)
        return AuthResult(success=ok, handled=False)

    return check


@pytest.fixture
async def smtp_server(tls_certificate: Certificate) -> AsyncIterator[SmtpFactory]:
    """Start SMTP servers on free loopback ports; all are stopped after the test.

    ``refuse``: mails answered ``reply`` (default a temporary 451) before one is taken.
    ``starttls``: offer STARTTLS with the test's self-signed certificate (and require it).
    ``login``: require AUTH as ``USER`` / ``PASSWORD`` (only after STARTTLS).
    """
    started: list[SmtpServer] = []

    def start(
        *,
        refuse: int = 0,
        reply: str = "451 4.3.0 Try again later",
        starttls: bool = False,
        login: bool = False,
    ) -> SmtpServer:
        recorder = Recorder(refuse, reply)
        kwargs: dict[str, Any] = {}
        if starttls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls_certificate.cert, tls_certificate.key)
            kwargs.update(tls_context=context, require_starttls=True)
        if login:
            kwargs.update(
                authenticator=_authenticator(recorder), auth_required=True, auth_require_tls=True
            )
        port = free_port()
        controller = _Controller(recorder, hostname=HOST, port=port, **kwargs)
        controller.start()
        server = SmtpServer(HOST, port, recorder, controller)
        started.append(server)
        return server

    yield start
    # Stopped from a thread while the test's loop runs on: a client transport of the test
    # (aiosmtplib's, after QUIT) closes once the server has closed its end, and the loop must
    # still turn for that, or the transport is left for the garbage collector to warn about
    # in some later test. On loopback the server's close is readable at once: a few turns.
    for server in started:
        await asyncio.to_thread(server.stop)
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made for this test run."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "remotelab test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)
