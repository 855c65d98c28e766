"""The mails' texts: both parts from the package's templates, values escaped in HTML."""

from __future__ import annotations

import pytest

from remotelab.auth import messages
from remotelab.auth.messages import duration

LINK = "https://lab.example.org/reset-password?token=abc-DEF_123"


def test_reset_mail_says_what_a_person_needs() -> None:
    mail = messages.reset_password(
        to="ada@example.org", link=LINK, lab_name="PSLab Remote", valid_seconds=3600
    )
    assert mail.subject == "Reset your password for PSLab Remote"
    for part in (mail.text, mail.html):
        assert LINK in part
        assert "PSLab Remote" in part
        assert "1 hour" in part
        assert "If it was not you, ignore this mail" in part
    assert not mail.text.startswith("Subject")
    assert f'<a href="{LINK}"' in mail.html
    assert mail.link == LINK
    assert mail.describe() == "reset-password mail to ada@example.org"  # no token in logs


def test_verification_mail() -> None:
    link = "https://lab.example.org/verify?token=t0k"
    mail = messages.verify_email(
        to="ada@example.org", link=link, lab_name="PSLab Remote", valid_seconds=3 * 86_400
    )
    assert mail.subject == "Confirm your email address for PSLab Remote"
    for part in (mail.text, mail.html):
        assert link in part
        assert "3 days" in part
        assert "If you did not create an account" in part


def test_inserted_values_are_escaped_in_html_only() -> None:
    mail = messages.reset_password(
        to="ada@example.org",
        link='https://x.org/r?a=1&b="2"',
        lab_name="<script>alert(1)</script> & Co",
        valid_seconds=60,
    )
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in mail.html
    assert 'href="https://x.org/r?a=1&amp;b=&quot;2&quot;"' in mail.html
    assert "<script>alert(1)</script> & Co" in mail.text
    assert mail.subject == "Reset your password for <script>alert(1)</script> & Co"


def test_a_subject_stays_on_one_line() -> None:
    mail = messages.check_mail(to="ada@example.org", lab_name="Lab\r\nBcc: eve@example.org")
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_every_mail_has_its_own_id() -> None:
    first = messages.check_mail(to="a@example.org", lab_name="Lab")
    second = messages.check_mail(to="a@example.org", lab_name="Lab")
    assert first.id != second.id
    assert first.link is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (90, "2 minutes"),
        (3_600, "1 hour"),
        (5_400, "90 minutes"),
        (7_200, "2 hours"),
        (86_400, "1 day"),
        (259_200, "3 days"),
        (200_000, "2 days"),
    ],
)
def test_durations_read_as_words(seconds: int, text: str) -> None:
    assert duration(seconds) == text
