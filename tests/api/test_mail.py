"""Mail over HTTP, end to end through a real SMTP server on loopback (aiosmtpd).

The reset link sets a new password; the sign-up link verifies the account; a mail server
that is down does not slow the request; REMOTELAB_REQUIRE_VERIFIED_EMAIL turns unverified
accounts away with 403.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import text, update

from remotelab.api.context import EXTENSION
from remotelab.storage.models import User
from tests.conftest import make_settings
from tests.support.smtp import HOST, SmtpFactory, SmtpServer, free_port

PASSWORD = "correct horse battery"
BASE = "https://lab.example.org"

Running = Callable[..., AbstractAsyncContextManager[Quart]]


@pytest.fixture
def running(tmp_path: Path) -> Running:
    """A started app whose mail goes to an SMTP server on ``port``."""

    @asynccontextmanager
    async def start(port: int, **overrides: Any) -> AsyncIterator[Quart]:
        from remotelab.app import create_app

        values = {
            "mail_host": HOST,
            "mail_port": port,
            "mail_starttls": False,
            "mail_sender": "lab@example.org",
            "mail_lab_name": "PSLab Remote",
            "mail_base_url": BASE,
            "mail_backoff_seconds": 0.005,
            "mail_timeout_seconds": 5.0,
            **overrides,
        }
        app = create_app(make_settings(tmp_path, **values))
        async with app.test_app() as test_app:
            yield test_app.app  # type: ignore[attr-defined]

    return start


def parts(mail: EmailMessage) -> tuple[str, str]:
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def link_in(mail: EmailMessage, path: str) -> str:
    plain, html = parts(mail)
    match = re.search(re.escape(BASE + path) + r"\?token=[\w-]+", plain)
    assert match, plain
    assert f'href="{match.group(0)}"' in html  # the same link in both parts
    return match.group(0)


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]


def subjects(server: SmtpServer) -> list[str]:
    return [str(m["Subject"]) for m in server.messages]


async def sign_up(app: Quart, email: str = "ada@example.org") -> None:
    response = await app.test_client().post(
        "/v1/users", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, await response.get_json()


async def login(app: Quart, password: str = PASSWORD) -> Any:
    return await app.test_client().post(
        "/v1/auth/login", json={"email": "ada@example.org", "password": password}
    )


async def test_the_reset_mail_arrives_and_its_link_sets_a_new_password(
    running: Running, smtp_server: SmtpFactory
) -> None:
    server = smtp_server()
    async with running(server.port) as app:
        await sign_up(app)
        client = app.test_client()
        answer = await client.post(
            "/v1/auth/reset-password", json={"data": {"email": "ada@example.org"}}
        )
        assert answer.status_code == 200
        _verification, reset = await server.arrived(2)
        assert reset["Subject"] == "Reset your password for PSLab Remote"
        assert reset["To"] == "ada@example.org"
        plain, html = parts(reset)
        for part in (plain, html):
            assert "1 hour" in part and "If it was not you" in part
        link = link_in(reset, "/reset-password")

        done = await client.patch(
            "/v1/auth/reset-password",
            json={"data": {"token": token_of(link), "password": "a brand new password"}},
        )
        assert done.status_code == 200, await done.get_json()
        assert (await login(app, "a brand new password")).status_code == 200
        assert (await login(app)).status_code == 401


async def test_the_sign_up_mail_verifies_the_account(
    running: Running, smtp_server: SmtpFactory
) -> None:
    server = smtp_server()
    async with running(server.port) as app:
        await sign_up(app)
        [mail] = await server.arrived(1)
        assert mail["Subject"] == "Confirm your email address for PSLab Remote"
        plain, html = parts(mail)
        assert "3 days" in plain and "3 days" in html
        link = link_in(mail, "/verify")
        token = (await (await login(app)).get_json())["access_token"]
        me = app.test_client()
        headers = {"Authorization": f"JWT {token}"}
        assert (await (await me.get("/v1/users/me", headers=headers)).get_json())[
            "is_verified"
        ] is False

        verified = await app.test_client().post(
            "/v1/auth/verify-email", json={"data": {"token": token_of(link)}}
        )
        assert verified.status_code == 200
        assert await verified.get_json() == {
            "message": "Email Verified",
            "email": "ada@example.org",
        }
        body = await (await me.get("/v1/users/me", headers=headers)).get_json()
        assert body["is_verified"] is True

        again = await app.test_client().post(
            "/v1/auth/verify-email", json={"data": {"token": token_of(link)}}
        )
        assert again.status_code == 400
        assert (await again.get_json())["error"] == "Invalid Token"


async def test_a_mail_server_that_is_down_does_not_slow_the_request(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(free_port(), mail_attempts=3) as app:
        started = time.monotonic()
        await sign_up(app)
        answer = await app.test_client().post(
            "/v1/auth/reset-password", json={"data": {"email": "ada@example.org"}}
        )
        assert answer.status_code == 200
        assert time.monotonic() - started < 1
        await app.extensions[EXTENSION].mail.idle()
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 2, failures
    assert any(
        "verify-email mail to ada@example.org not delivered after 3 tries: cannot reach" in f
        for f in failures
    )
    assert any(
        "reset-password mail to ada@example.org not delivered after 3 tries" in f for f in failures
    )


async def test_required_verification_turns_unverified_accounts_away(
    running: Running, smtp_server: SmtpFactory
) -> None:
    server = smtp_server()
    async with running(server.port, require_verified_email=True) as app:
        await sign_up(app)
        refused = await login(app)
        assert refused.status_code == 403
        error = await refused.get_json()
        assert error["code"] == "email_not_verified"
        assert error["error"].startswith("Email address not verified")
        # A token issued before (e.g. by the event server) is refused on every request.
        accounts = app.extensions[EXTENSION].accounts
        user = await accounts.standing_of(1)
        assert user.user is not None
        token = (await accounts.issue_tokens(user.user)).access_token
        me = await app.test_client().get("/v1/users/me", headers={"Authorization": f"JWT {token}"})
        assert me.status_code == 403

        [mail] = await server.arrived(1)
        verified = await app.test_client().post(
            "/v1/auth/verify-email", json={"data": {"token": token_of(link_in(mail, "/verify"))}}
        )
        assert verified.status_code == 200
        assert (await login(app)).status_code == 200
        me = await app.test_client().get("/v1/users/me", headers={"Authorization": f"JWT {token}"})
        assert me.status_code == 200


async def test_resend_answers_the_same_and_mails_only_unverified_accounts(
    running: Running, smtp_server: SmtpFactory
) -> None:
    server = smtp_server()
    async with running(server.port, verification_resends_per_window=3) as app:
        await sign_up(app)
        await sign_up(app, "bob@example.org")
        state = app.extensions[EXTENSION]
        async with state.db.session() as session:
            await session.execute(
                update(User).where(User.email == "bob@example.org").values(is_verified=True)
            )
        await server.arrived(2)
        client = app.test_client()
        answers = []
        for email, path in [
            ("ada@example.org", "/v1/auth/resend-verification"),
            ("bob@example.org", "/v1/auth/resend-verification"),
            ("nobody@example.org", "/v1/auth/resend-verification-email"),
        ]:
            response = await client.post(path, json={"data": {"email": email}})
            assert response.status_code == 200
            answers.append((await response.get_json())["message"])
        assert len(set(answers)) == 1
        await state.mail.idle()
        assert subjects(server).count("Confirm your email address for PSLab Remote") == 3
        first, resent = (m for m in server.messages if m["To"] == "ada@example.org")
        assert link_in(first, "/verify") != link_in(resent, "/verify")

        # Either link verifies (the earlier one stays valid until it expires).
        verified = await client.post(
            "/v1/auth/verify-email", json={"data": {"token": token_of(link_in(first, "/verify"))}}
        )
        assert verified.status_code == 200
        # Three per address (and per email) per window: a fourth is refused.
        limited = await client.post(
            "/v1/auth/resend-verification", json={"data": {"email": "ADA@example.org"}}
        )
        assert limited.status_code == 429
        assert "Retry-After" in limited.headers


async def test_expired_links_and_links_to_a_former_address_do_not_verify(
    running: Running, smtp_server: SmtpFactory
) -> None:
    server = smtp_server()
    async with running(server.port) as app:
        await sign_up(app)
        await sign_up(app, "bob@example.org")
        ada, bob = await server.arrived(2)
        state = app.extensions[EXTENSION]
        async with state.db.session() as session:
            await session.execute(
                text(
                    "UPDATE lab_email_verifications SET expires_at = '2000-01-01 00:00:00' "
                    "WHERE email = 'ada@example.org'"
                )
            )
            # As if the event server changed bob's address after the mail was sent.
            await session.execute(
                update(User).where(User.email == "bob@example.org").values(email="rob@example.org")
            )
        for mail in (ada, bob):
            response = await app.test_client().post(
                "/v1/auth/verify-email",
                json={"data": {"token": token_of(link_in(mail, "/verify"))}},
            )
            assert response.status_code == 400
            assert (await response.get_json())["error"] == "Invalid Token"
        async with state.db.session() as session:
            flags = (await session.execute(text("SELECT is_verified FROM users"))).scalars().all()
        assert not any(flags)
