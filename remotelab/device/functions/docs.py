"""Render the registry as the Markdown reference page ``docs/reference/functions.md`` (pure)."""

from __future__ import annotations

from remotelab.config import DeviceSettings, FunctionSettings
from remotelab.device.functions.hardware import OLD_NAMES
from remotelab.device.functions.params import Param, format_literal
from remotelab.device.functions.registry import CATEGORIES, Function, Registry

COMMAND = "python -m remotelab.device.functions > docs/reference/functions.md"

_INTRO = """\
A *function string* is one call of a whitelisted function, such as
`get_voltage('CH1')` or `capture1('CH1', 100, 10)`. It is sent to
`POST /v1/functions/run`, used by script buttons, and checked against this list
before the instrument sees anything. `GET /v1/functions` returns the same list as JSON.

Rules:

- Exactly one call of a name listed below. Arguments are positional and/or keyword
  *literals*: numbers (a leading `-` or `+` is allowed), strings, `True`, `False`,
  `None`, and lists or tuples of these. Names, attributes, nested calls, operators,
  comprehensions, lambdas, f-strings, `*`/`**` and several statements are refused.
- At most {max_chars} characters and {max_nesting} levels of nested brackets.
- A whole number is accepted where a number is expected, and an integral number
  (`1e3`) where a whole number is; `True`/`False` are never numbers, but `0`/`1` are
  accepted where `True`/`False` are. Pin names and other allowed strings match
  case-insensitively; the old pslab-remote pin names below are accepted everywhere
  and replaced by their pslab 4.x names.
- Results are JSON. numpy arrays become lists; `inf` and `nan` become `null` and the
  response carries a note saying where (`result[3] was nan`). Captures return
  `[x, y1, y2, ...]` with x in µs and y in volts.
- Nothing persists from one call to the next unless the call's purpose is to set it
  (a voltage, a waveform, a gain): a capture without `trigger` is never triggered.
  What you set persists for you only: every user has their own instrument, the bench's
  outputs plus the ones they set (docs/reference/contexts.md). *Sets* below names the
  outputs a function may change (`"sets"` in `GET /v1/functions`).
- *Shared readings* (marked below, and `"shared": true` in `GET /v1/functions`) change
  nothing on the instrument. When several callers wait for the same reading with the
  same arguments at the same moment, one measurement answers all of them.

- *Device time*: each function below states how long a call holds the instrument,
  estimated from its arguments before it runs (and the estimate for its example). Users
  share the instrument by that time, each call being charged what it really took, and a
  call expected to take more than {max_call:g} s (`REMOTELAB_DEVICE_MAX_CALL_SECONDS`) is
  refused with a message naming the parameter to change. Waits for edges and pulse
  counts run *in slices*: other users' calls run between them
  ([device.md](device.md)).

Ranges below are shown with the default limits (waits of at most
{max_wait:g} s, captures of at most {max_capture:g} s).
"""


def _allowed(param: Param) -> str:
    parts = []
    if param.choices is not None:
        parts.append(", ".join(f"`{format_literal(c)}`" for c in param.choices))
    span = param.range_text()
    if span and any(k in ("float", "int", "list[float]", "list[int]") for k in param.kinds):
        parts.append(span)
    if param.aliases:
        parts.append("old names: " + ", ".join(f"`{a}`" for a in param.aliases))
    if param.max_items is not None and any(k.startswith("list") for k in param.kinds):
        if param.max_items == param.min_items:
            parts.append(f"list of {param.max_items}")
        else:
            parts.append(f"list of {param.min_items}-{param.max_items}")
    return "; ".join(parts) or "any"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _function(function: Function) -> list[str]:
    lines = [f"#### `{function.signature}`", "", function.doc, ""]
    if function.params:
        lines += [
            "| parameter | type | default | allowed | description |",
            "|---|---|---|---|---|",
        ]
        for p in function.params:
            default = "required" if p.required else f"`{format_literal(p.default)}`"
            lines.append(
                f"| `{p.name}` | {_cell(p.type_text)} | {default} | {_cell(_allowed(p))} "
                f"| {_cell(p.doc)} |"
            )
        lines.append("")
    unit = f" ({function.returns.unit})" if function.returns.unit else ""
    lines.append(f"Returns `{function.returns.kind}`{unit}: {function.returns.doc}  ")
    lines.append(f"Example: `{function.example}`  ")
    lines.append(
        f"Device time: {function.device_time.formula} (the example: {function.example_ms:g} ms)"
    )
    if function.shared:
        lines[-1] += "  "
        lines.append(
            "Shared reading: identical calls waiting together get one measurement (when the "
            "callers' outputs are the same)."
        )
    if function.effects is not None:
        lines[-1] += "  "
        lines.append("Sets: " + ", ".join(f"`{name}`" for name in function.effects.outputs))
    if function.see_also:
        names = ", ".join(f"`{name}`" for name in function.see_also)
        lines[-1] += "  "
        lines.append(f"See also: {names}")
    lines.append("")
    return lines


def _section(title: str, functions: list[Function]) -> list[str]:
    lines = [f"## {title}", ""]
    for category in CATEGORIES:
        chosen = [f for f in functions if f.category == category]
        if not chosen:
            continue
        lines += [f"### {category[0].upper()}{category[1:]}", ""]
        for function in chosen:
            lines += _function(function)
    return lines


def render_markdown(registry: Registry, limits: FunctionSettings | None = None) -> str:
    """The reference page for ``registry`` (built with ``limits``, default limits if None)."""
    limits = limits or FunctionSettings()
    lines = [
        "# Function strings",
        "",
        f"<!-- Generated from the registry by `{COMMAND}`; do not edit. -->",
        "",
        _INTRO.format(
            max_chars=limits.max_chars,
            max_nesting=limits.max_nesting,
            max_wait=limits.max_wait_seconds,
            max_capture=limits.max_capture_seconds,
            max_call=DeviceSettings().max_call_seconds,
        ),
        "## Old pin names",
        "",
        "| old (pslab-remote) | pslab 4.x |",
        "|---|---|",
        *[f"| `{old}` | `{new}` |" for old, new in OLD_NAMES.items()],
        "",
        "## Index",
        "",
    ]
    modern = [f for f in registry if not f.legacy]
    legacy = [f for f in registry if f.legacy]
    lines.append("pslab 4.x style: " + ", ".join(f"`{f.name}`" for f in modern) + ".")
    lines.append("")
    lines.append("pslab-remote legacy: " + ", ".join(f"`{f.name}`" for f in legacy) + ".")
    lines.append("")
    lines += _section("pslab 4.x style functions", modern)
    lines += _section("pslab-remote legacy functions", legacy)
    return "\n".join(lines).rstrip("\n") + "\n"
