"""Compiling a script under RestrictedPython, its namespace, and errors as data.

Pure: no I/O, no processes. The worker calls :func:`compile_script`, then runs
the code object in :func:`make_namespace`'s dict; a failure at either step
becomes a :class:`~remotelab.sandbox.result.RunError` with the line in the
user's code, built from the user's frames only (filename ``"<script>"``).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import CodeType
from typing import Any

from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

from remotelab.sandbox.protocol import MAX_MESSAGE_CHARS, source_size_error
from remotelab.sandbox.result import POLICY_ERROR, RunError
from remotelab.sandbox.worker.facades import Facade, Importer
from remotelab.sandbox.worker.guards import DENIED_ATTRIBUTES, Guards, denied_message
from remotelab.sandbox.worker.safe_builtins import make_builtins

SCRIPT_FILENAME = "<script>"
TOO_COMPLEX = "the script is too deeply nested to compile"

_LINE = re.compile(r"^Line (\d+):")


class ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus our extra attribute names, refused at compile time."""

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in DENIED_ATTRIBUTES and node.attr not in INSPECT_ATTRIBUTES:
            self.error(node, denied_message(node.attr) + ".")
        return super().visit_Attribute(node)


def compile_script(source: str, max_source_bytes: int) -> CodeType | RunError:
    """Compile ``source`` (restricted, exec mode) or say why not.

    Returns the code object, or a :class:`RunError`: ``LimitExceeded`` over the
    size cap (checked first, before any parsing), ``SyntaxError`` (or
    ``IndentationError``/``TabError``) with the line, ``PolicyError`` listing
    every refused construct as ``Line N: ...`` lines. Never raises.
    """
    too_big = source_size_error(source, max_source_bytes)
    if too_big is not None:
        return too_big
    try:
        tree = ast.parse(source, SCRIPT_FILENAME, "exec")
        result = compile_restricted_exec(tree, SCRIPT_FILENAME, policy=ScriptPolicy)
    except SyntaxError as exc:
        # From ast.parse, or from compile() for errors only the compiler
        # sees ("'return' outside function").
        where = f"Line {exc.lineno}: " if exc.lineno else ""
        return RunError(type(exc).__name__, f"{where}{exc.msg}", exc.lineno or None)
    except ValueError as exc:  # NUL bytes in the source, on some Python versions
        return RunError("SyntaxError", str(exc), None)
    except (RecursionError, MemoryError):
        return RunError("SyntaxError", TOO_COMPLEX, None)
    if result.errors:
        match = _LINE.match(result.errors[0])
        line = int(match.group(1)) if match else None
        return RunError(POLICY_ERROR, "\n".join(result.errors), line)
    assert result.code is not None
    return result.code


def make_namespace(
    *,
    guards: Guards,
    modules: Mapping[str, Facade],
    printer_factory: Callable[..., Any],
    names: Mapping[str, object],
) -> dict[str, Any]:
    """The globals of one run: guards wired, builtins, and ``names`` (widgets, instrument).

    ``printer_factory`` is RestrictedPython's ``_print_`` hook: called with
    ``_getattr_`` at the top of the script and of each function, it returns
    the object whose ``_call_print`` implements ``print`` and whose call
    returns the text printed so far (the ``printed`` name).
    """
    namespace: dict[str, Any] = {
        "__builtins__": make_builtins(guards, Importer(modules)),
        "__name__": "script",
        "__metaclass__": guards.make_class,
        "_getattr_": guards.getattr,
        "_getitem_": guards.getitem,
        "_getiter_": guards.getiter,
        "_iter_unpack_sequence_": guards.iter_unpack_sequence,
        "_unpack_sequence_": guards.unpack_sequence,
        "_write_": guards.write,
        "_inplacevar_": guards.inplacevar,
        "_apply_": guards.apply,
        "_print_": printer_factory,
    }
    for name, value in names.items():
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"not a name a script can use: {name!r}")
        namespace[name] = value
    return namespace


def error_from_exception(exc: BaseException) -> RunError:
    """The user-facing error for an exception raised while a script ran.

    ``line`` is the innermost line of the user's own code (frames compiled
    from ``"<script>"``); server frames are never reported. The message is
    ``str(exc)``, cut to :data:`MAX_MESSAGE_CHARS` and without server paths.
    """
    line: int | None = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return RunError(public_type_name(type(exc)), exception_message(exc), line)


def public_type_name(kind: type) -> str:
    """The name of ``kind`` or of its first base whose name is public.

    numpy raises private subclasses (``_ArrayMemoryError``); users see ``MemoryError``.
    """
    for base in kind.__mro__:
        if not base.__name__.startswith("_"):
            return base.__name__
    return kind.__name__


def exception_message(exc: BaseException) -> str:
    """``str(exc)``, safely: cut, scrubbed of server paths, never raising."""
    try:
        message = str(exc)
    except Exception:
        message = f"<{type(exc).__name__} with an unprintable message>"
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " [cut]"
    return scrub_paths(message)


def _server_paths() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parents[3])}
    roots.update(p for p in sys.path if p.startswith("/"))
    return sorted((r for r in roots if len(r) > 1), key=len, reverse=True)


_SERVER_PATHS = _server_paths()


def scrub_paths(message: str) -> str:
    """Replace the server's install paths in ``message`` by ``<server>``."""
    if "/" not in message:
        return message
    for root in _SERVER_PATHS:
        message = message.replace(root, "<server>")
    return message
