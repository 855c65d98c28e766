"""Transports against a real SMTP server on loopback (aiosmtpd), and the outbox file."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from remotelab.auth import messages
from remotelab.auth.mailer import OutboxTransport, SmtpTransport, open_transport
from remotelab.config import MailSettings, Settings
from remotelab.errors import MailError
from tests.support.smtp import HOST, PASSWORD, USER, Certificate, SmtpFactory, free_port

LINK = "http://lab.example.org/reset-password?token=tok"


def reset_mail() -> messages.Message:
    return messages.reset_password(
        to="ada@example.org", link=LINK, lab_name="PSLab Remote", valid_seconds=3600
    )


def transport(**values: Any) -> SmtpTransport:
    values.setdefault("sender", "lab@example.org")
    values.setdefault("timeout_seconds", 30.0)  # generous: a loaded CI machine
    mail = MailSettings(**values)
    server = mail.smtp()
    assert server is not None
    return SmtpTransport(mail, server)


async def test_a_mail_arrives_with_a_plain_and_an_html_part(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    sent = reset_mail()
    await transport(host=HOST, port=server.port, starttls=False, sender_name="The Lab").deliver(
        sent
    )
    [mail] = await server.arrived(1)
    assert mail["From"] == "The Lab <lab@example.org>"
    assert mail["To"] == "ada@example.org"
    assert mail["Subject"] == "Reset your password for PSLab Remote"
    assert mail["Message-ID"] == f"<{sent.id}@example.org>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert LINK in plain.get_content()
    assert f'href="{LINK}"' in html.get_content()
    assert server.recorder.envelopes == [("lab@example.org", ["ada@example.org"])]


async def test_starttls_with_a_self_signed_certificate_trusted_by_its_file(
    smtp_server: SmtpFactory, tls_certificate: Certificate
) -> None:
    server = smtp_server(starttls=True, login=True)
    user, password = (urllib.parse.quote(v, safe="") for v in (USER, PASSWORD))
    url = f"smtp://{user}:{password}@{HOST}:{server.port}?starttls=true"
    mail = Settings.from_env(
        {"REMOTELAB_MAIL_URL": url, "REMOTELAB_MAIL_CA_FILE": str(tls_certificate.cert)}
    ).mail
    assert PASSWORD not in repr(mail)
    chosen = open_transport(mail, Path("unused"))
    assert isinstance(chosen, SmtpTransport)
    assert chosen.describe() == f"SMTP {HOST}:{server.port} as {USER} (STARTTLS)"
    await chosen.deliver(reset_mail())
    [arrived] = await server.arrived(1)
    assert arrived["From"] == "remotelab <lab@example.org>"  # the user is the sender
    assert server.recorder.logins == [USER]


async def test_an_untrusted_certificate_is_a_permanent_failure_that_says_what_to_do(
    smtp_server: SmtpFactory,
) -> None:
    server = smtp_server(starttls=True)
    with pytest.raises(MailError) as info:
        await transport(host=HOST, port=server.port, starttls=True).deliver(reset_mail())
    assert not info.value.temporary
    assert "certificate verify failed" in info.value.message
    assert "REMOTELAB_MAIL_CA_FILE" in info.value.message
    assert server.messages == []


async def test_verify_tls_off_accepts_any_certificate(smtp_server: SmtpFactory) -> None:
    server = smtp_server(starttls=True)
    await transport(host=HOST, port=server.port, starttls=True, verify_tls=False).deliver(
        reset_mail()
    )
    await server.arrived(1)


async def test_starttls_required_but_not_offered_is_permanent(smtp_server: SmtpFactory) -> None:
    server = smtp_server()
    with pytest.raises(MailError) as info:
        await transport(host=HOST, port=server.port, starttls=True).deliver(reset_mail())
    assert not info.value.temporary
    assert "STARTTLS" in info.value.message


@pytest.mark.parametrize(
    ("reply", "temporary"),
    [("451 4.3.0 Try again later", True), ("550 5.1.1 No such user", False)],
)
async def test_4xx_is_temporary_and_5xx_is_not(
    smtp_server: SmtpFactory, reply: str, temporary: bool
) -> None:
    server = smtp_server(refuse=1, reply=reply)
    with pytest.raises(MailError) as info:
        await transport(host=HOST, port=server.port, starttls=False).deliver(reset_mail())
    assert info.value.temporary is temporary
    assert reply.split()[0] in info.value.message


async def test_a_server_that_is_down_is_a_temporary_failure() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(MailError) as info:
        await transport(host=HOST, port=port).deliver(reset_mail())
    assert info.value.temporary
    assert f"cannot reach {HOST}:{port}" in info.value.message


async def test_without_an_smtp_server_mail_goes_to_the_outbox(tmp_path: Path) -> None:
    chosen = open_transport(MailSettings(), tmp_path)
    assert isinstance(chosen, OutboxTransport)
    await chosen.deliver(reset_mail())
    [line] = (tmp_path / "outbox.txt").read_text().splitlines()
    entry = json.loads(line)
    assert entry["kind"] == "reset_password"
    assert entry["to"] == "ada@example.org"
    assert entry["link"] == LINK
    assert entry["subject"] == "Reset your password for PSLab Remote"
