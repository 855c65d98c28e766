"""The delivery queue over a real SMTP transport: retries, back-off, no duplicates, stop."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from remotelab.auth import messages
from remotelab.auth.delivery import MailQueue
from remotelab.auth.mailer import SmtpTransport
from remotelab.config import MailSettings
from tests.support.smtp import HOST, SmtpFactory, free_port


def queue(port: int, **values: Any) -> MailQueue:
    values = {
        "host": HOST,
        "port": port,
        "starttls": False,
        "sender": "lab@example.org",
        "backoff_seconds": 0.005,
        "timeout_seconds": 5.0,
        **values,
    }
    mail = MailSettings(**values)
    server = mail.smtp()
    assert server is not None
    return MailQueue(SmtpTransport(mail, server), mail)


def mail(to: str = "ada@example.org") -> messages.Message:
    return messages.reset_password(
        to=to, link="http://lab/reset-password?token=t", lab_name="Lab", valid_seconds=3600
    )


def logged(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "remotelab.auth.delivery" and r.levelno >= level
    ]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never says a word (a hung mail server)."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


async def test_451_twice_then_accepted_is_one_mail_not_three(
    smtp_server: SmtpFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = smtp_server(refuse=2)
    q = queue(server.port)
    q.submit(mail())
    await q.idle()
    assert len(await server.arrived(1)) == 1
    assert server.recorder.refused == 2
    assert (q.delivered, q.failed) == (1, 0)
    lines = logged(caplog)
    assert sum("failed: " in line and "451" in line for line in lines) == 2
    assert any("delivered via SMTP" in line and "at try 3" in line for line in lines)
    await q.close()
    assert len(server.messages) == 1


async def test_a_server_that_is_down_is_given_up_after_the_tries_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    q = queue(free_port(), attempts=3)
    started = time.monotonic()
    q.submit(mail())
    assert time.monotonic() - started < 0.05  # submit never waits for the network
    await q.idle()
    # One line, naming the mail, the tries and the reason.
    [error] = logged(caplog, logging.ERROR)
    assert "reset-password mail to ada@example.org not delivered after 3 tries" in error
    assert "cannot reach" in error
    assert (q.delivered, q.failed) == (0, 1)


async def test_a_permanent_refusal_is_not_tried_again(
    smtp_server: SmtpFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_server(refuse=5, reply="550 5.1.1 No such user")
    q = queue(server.port)
    q.submit(mail())
    await q.idle()
    assert server.recorder.refused == 1
    [error] = logged(caplog, logging.ERROR)
    assert "550" in error and "not tried again" in error


async def test_one_mail_submitted_twice_is_sent_once(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    q = queue(server.port)
    once = mail()
    q.submit(once)
    q.submit(once)  # while pending
    await q.idle()
    q.submit(once)  # after delivery
    await q.idle()
    assert len(await server.arrived(1)) == 1
    await q.close()
    assert len(server.messages) == 1


async def test_stop_waits_for_mail_in_flight(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    q = queue(server.port)
    for n in range(3):
        q.submit(mail(f"user{n}@example.org"))
    await q.close()
    assert sorted(m["To"] for m in server.messages) == [
        "user0@example.org",
        "user1@example.org",
        "user2@example.org",
    ]


async def test_stop_cuts_the_back_off_short_for_one_last_try(
    caplog: pytest.LogCaptureFixture,
) -> None:
    q = queue(free_port(), attempts=5, backoff_seconds=60, backoff_max_seconds=60)
    q.submit(mail())
    while not logged(caplog, logging.WARNING):  # the first try failed; 60 s back-off begins
        await _tick()
    started = time.monotonic()
    await q.close()
    assert time.monotonic() - started < 5
    [error] = logged(caplog, logging.ERROR)
    assert "dropped at stop after 2 tries" in error


async def test_stop_is_bounded_and_logs_what_it_drops(
    silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    q = queue(silent_port, timeout_seconds=30, stop_seconds=0.2)
    q.submit(mail("hung@example.org"))
    await _tick()
    started = time.monotonic()
    await q.close()
    assert time.monotonic() - started < 2
    [error] = logged(caplog, logging.ERROR)
    assert "reset-password mail to hung@example.org dropped at stop after 1 of 5 tries" in error
    assert q.pending == 0
    q.submit(mail("late@example.org"))
    assert "late@example.org dropped: the server is stopping" in logged(caplog, logging.ERROR)[-1]


async def test_a_full_queue_drops_and_logs(
    silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    q = queue(silent_port, queue_max=1, stop_seconds=0)
    q.submit(mail("first@example.org"))
    q.submit(mail("second@example.org"))
    assert q.pending == 1
    [error] = logged(caplog, logging.ERROR)
    assert "second@example.org dropped: 1 mails already wait (REMOTELAB_MAIL_QUEUE_MAX)" in error
    await q.close()


async def _tick() -> None:
    await asyncio.sleep(0.01)
