"""The mails the lab sends, composed from the templates in ``auth/templates/``.

Each kind of mail has two files: ``<kind>.txt`` (first line ``Subject: ...``, a
blank line, then the plain-text body) and ``<kind>.html`` (the HTML part). They
are :class:`string.Template` texts; every inserted value is HTML-escaped in the
HTML part and inserted as it is in the subject and the plain text.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Literal

Kind = Literal["reset_password", "verify_email", "test_mail"]


@dataclass(frozen=True)
class Message:
    """One composed mail, ready to be handed to a transport (and tried again, the same)."""

    kind: Kind
    to: str
    subject: str
    text: str
    html: str
    # The link the mail carries (the outbox writes it on its own line for operators).
    link: str | None
    # Unique per mail: the Message-ID header, and how the delivery queue knows a mail again.
    id: str

    def describe(self) -> str:
        """The mail in a log line: kind and recipient, never the link (it holds a token)."""
        return f"{self.kind.replace('_', '-')} mail to {self.to}"


def reset_password(*, to: str, link: str, lab_name: str, valid_seconds: int) -> Message:
    return compose(
        "reset_password", to=to, link=link, lab_name=lab_name, valid_for=duration(valid_seconds)
    )


def verify_email(*, to: str, link: str, lab_name: str, valid_seconds: int) -> Message:
    return compose(
        "verify_email", to=to, link=link, lab_name=lab_name, valid_for=duration(valid_seconds)
    )


def check_mail(*, to: str, lab_name: str) -> Message:
    """The mail of `remotelab send-test-mail`."""
    return compose("test_mail", to=to, link=None, lab_name=lab_name, valid_for="")


def compose(kind: Kind, *, to: str, link: str | None, lab_name: str, valid_for: str) -> Message:
    """Fill the templates of ``kind``; values are escaped for the HTML part."""
    values = {"email": to, "link": link or "", "lab_name": lab_name, "valid_for": valid_for}
    text_template, html_template = _templates(kind)
    first, _, body = text_template.substitute(values).partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"templates/{kind}.txt must start with a 'Subject: ' line")
    escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
    return Message(
        kind=kind,
        to=to,
        # One line whatever the values hold (a header cannot span lines).
        subject=" ".join(first.removeprefix("Subject: ").split()),
        text=body.lstrip("\n"),
        html=html_template.substitute(escaped),
        link=link,
        id=secrets.token_hex(16),
    )


@cache
def _templates(kind: Kind) -> tuple[Template, Template]:
    folder = resources.files("remotelab.auth") / "templates"
    return (
        Template((folder / f"{kind}.txt").read_text(encoding="utf-8")),
        Template((folder / f"{kind}.html").read_text(encoding="utf-8")),
    )


def duration(seconds: int) -> str:
    """``3600`` -> ``1 hour``, ``259200`` -> ``3 days``, ``90`` -> ``2 minutes``."""
    for unit, size in (("day", 86_400), ("hour", 3_600)):
        if seconds >= size and seconds % size == 0:
            return _plural(seconds // size, unit)
    if seconds >= 3_600 * 48:
        return _plural(round(seconds / 86_400), "day")
    if seconds >= 3_600 * 2:
        return _plural(round(seconds / 3_600), "hour")
    if seconds >= 60:
        return _plural(round(seconds / 60), "minute")
    return _plural(seconds, "second")


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
