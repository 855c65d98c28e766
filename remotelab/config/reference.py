"""The settings reference page, ``docs/reference/settings.md``, generated from the sections."""

from __future__ import annotations

from typing import Any

from remotelab.config.fields import Secret
from remotelab.config.settings import sections

COMMAND = "python -m remotelab.config > docs/reference/settings.md"


def settings_markdown() -> str:
    """The whole page: one table per section, in the order of :class:`Settings`."""
    lines = [
        "# Settings",
        "",
        f"Generated from `remotelab/config/` by `{COMMAND}`",
        "(or `make docs`); do not edit by hand.",
        "",
        "Every setting is read from an environment variable `REMOTELAB_<NAME>` once, at start.",
        "Command-line flags of `remotelab serve` override them. A value that does not parse or",
        "is out of range stops the server with one line naming the variable, the value and what",
        "is allowed (exit status 2). Booleans accept `true/false`, `1/0`, `yes/no`, `on/off`;",
        "empty text means *unset* where the default is empty.",
        "",
        "In code, each table is one section of `Settings` (`settings.sandbox.nice` is",
        "`REMOTELAB_SANDBOX_NICE`).",
    ]
    for name, section in sections():
        summary = (section.__doc__ or "").strip().splitlines()[0]
        lines += [
            "",
            f"## {name}",
            "",
            f"`settings.{name}` ({section.__name__}): {summary}",
            "",
            "| variable | default | allowed | meaning |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| `{s.variable}` | {_default_text(s.default)} | {s.allowed()} | {s.doc} |"
            for s in section.specs()
        ]
    return "\n".join(lines) + "\n"


def _default_text(value: Any) -> str:
    if isinstance(value, Secret):
        return "(generated)"
    if value is None or value == "" or value == ():
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)
