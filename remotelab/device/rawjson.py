"""A call's result kept as JSON text, relayed without being parsed and encoded again.

An agent answers a call with its result already encoded (``remotelab/cluster/wire.py``);
a front hands that text on as the result of :class:`~remotelab.device.interface.CallResult`
(a capture is 40 KB of floats: parsing it and encoding it again cost the front more than
the rest of the call). :func:`dumps` writes such a value into a response verbatim;
:func:`plain` parses it for code that needs the value itself (stacking into plot series,
a sandboxed script). Pure: no I/O.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any


class RawJSON:
    """A JSON value as the text of its encoding (valid JSON: an agent's ``json.dumps``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawJSON({self.text[:40]!r}{'...' if len(self.text) > 40 else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawJSON) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def plain(value: Any) -> Any:
    """``value`` itself, or the value a :class:`RawJSON` holds, parsed."""
    return json.loads(value.text) if isinstance(value, RawJSON) else value


def dumps(obj: Any, **options: Any) -> str:
    """``json.dumps(obj, **options)``, each :class:`RawJSON` in ``obj`` written as its text.

    Each one is first encoded as a string made of a NUL and a random token (a NUL is always
    escaped, so the marker's encoding is unmistakable), then that string is replaced."""
    texts: list[str] = []
    token = secrets.token_hex(8)

    def default(o: Any) -> str:
        if isinstance(o, RawJSON):
            texts.append(o.text)
            return f"\x00{token}:{len(texts) - 1}"
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    encoded = json.dumps(obj, default=default, **options)
    if not texts:
        return encoded
    # One pass: a text put in is never searched again.
    return re.sub(f'"\\\\u0000{token}:(\\d+)"', lambda m: texts[int(m[1])], encoded)
