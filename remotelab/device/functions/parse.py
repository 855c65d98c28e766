"""Parse a function string into one checked call of a whitelisted function (pure).

A function string is exactly one call of a registered name whose arguments are
literals: numbers (a leading ``-`` or ``+`` allowed), strings, ``True``,
``False``, ``None``, and lists or tuples of these. Anything else - names,
attributes, nested calls, operators, comprehensions, lambdas, f-strings,
``*``/``**`` unpacking, more than one statement - is refused with a message that
says what was found and where.

The source is only ever *parsed* (``tokenize`` and ``ast.parse``); nothing in
this module evaluates, executes or looks up an attribute named by the user.
Order of checks: type and length (before any parsing), a token scan that refuses
deep nesting (so that parsing cannot exhaust the stack), ``ast.parse`` in eval
mode, the tree walk, then the arguments against the registry.
"""

from __future__ import annotations

import ast
import difflib
import functools
import io
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from remotelab.config import FunctionSettings
from remotelab.device.functions.params import argument_error, format_literal, join_or
from remotelab.device.functions.registry import Function, Registry
from remotelab.device.functions.timing import Estimate
from remotelab.errors import FunctionStringError

_DEFAULTS: Final = FunctionSettings()
ONLY_ONE_CALL: Final = "only one call with literal arguments is allowed"
_FILENAME: Final = "<function string>"

_OPEN: Final = frozenset("([{")
_CLOSE: Final = frozenset(")]}")
_NEUTRAL_OPS: Final = frozenset({",", "="})


@dataclass(frozen=True, eq=False)
class ParsedCall:
    """A checked call: the function and every argument by parameter name (defaults filled)."""

    function: Function
    args: dict[str, Any]

    def invoke(self, sciencelab: Any) -> Any:
        """Perform the call on ``sciencelab``; see :meth:`Function.invoke`."""
        return self.function.invoke(sciencelab, self.args)

    def canonical(self) -> str:
        """The call with every argument by keyword, aliases resolved: a stable key for logs."""
        inner = ", ".join(f"{k}={format_literal(v)}" for k, v in self.args.items())
        return f"{self.function.name}({inner})"

    @functools.cached_property
    def estimate(self) -> Estimate:
        """The call's expected device time, from its arguments (``Function.device_time``)."""
        return self.function.device_time.estimate(self.args)

    @functools.cached_property
    def share_key(self) -> str | None:
        """For a shared reading, the key identical calls have in common; else None."""
        return self.canonical() if self.function.shared else None


class _Source:
    """The stripped source and how to map its positions back to the user's text."""

    def __init__(self, original: str) -> None:
        stripped = original.lstrip()
        lead = original[: len(original) - len(stripped)]
        self.text = stripped.rstrip()
        self.line_shift = lead.count("\n")
        self.col_shift = len(lead) - (lead.rfind("\n") + 1)
        self.lines = self.text.split("\n")
        self.multiline = "\n" in original.strip()

    def position(self, line: int, column: int) -> dict[str, int]:
        """1-based line and column in the original text, from 1-based values in ``text``."""
        if line == 1:
            column += self.col_shift
        return {"line": line + self.line_shift, "column": column}

    def node_position(self, node: ast.AST) -> dict[str, int]:
        lineno: int = getattr(node, "lineno", 1)
        col_bytes: int = getattr(node, "col_offset", 0)
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        # ast offsets count UTF-8 bytes; people count characters.
        column = len(line.encode("utf-8")[:col_bytes].decode("utf-8", errors="ignore")) + 1
        return self.position(lineno, column)

    def where(self, position: Mapping[str, int]) -> str:
        if self.multiline:
            return f"line {position['line']}, column {position['column']}"
        return f"column {position['column']}"

    def segment(self, node: ast.AST, limit: int = 40) -> str:
        text = ast.get_source_segment(self.text, node) or ""
        return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_call(
    source: str,
    registry: Registry,
    *,
    max_chars: int = _DEFAULTS.max_chars,
    max_nesting: int = _DEFAULTS.max_nesting,
) -> ParsedCall:
    """Parse and check one function string such as ``capture1('CH1', 100, 10)``.

    Returns the :class:`ParsedCall` (function plus every argument by name, defaults
    filled, aliases normalised). Raises :class:`FunctionStringError` when the string
    is too long, too deeply nested, not valid Python, not exactly one call of a
    registered name with literal arguments, or when an argument does not fit its
    parameter; ``details`` carries ``column``/``line``, ``suggestions`` or
    ``parameter`` as relevant.
    """
    if not isinstance(source, str):
        raise FunctionStringError("a function string must be text")
    if len(source) > max_chars:
        raise FunctionStringError(
            f"function string too long: {len(source)} characters (at most {max_chars} allowed)",
            details={"length": len(source), "max_length": max_chars},
        )
    src = _Source(source)
    if not src.text:
        raise FunctionStringError(
            "empty function string: write one call such as get_voltage('CH1')"
        )
    if "\x00" in src.text:
        raise FunctionStringError("a function string cannot contain a null character")
    _scan_nesting(src, max_nesting)
    tree = _parse(src)
    try:
        name, args, kwargs = _read_call(src, tree, registry)
    except RecursionError:  # only when max_nesting is set far above the default
        raise FunctionStringError("function string too complex to parse") from None
    return bind_call(registry, name, args, kwargs)


def _read_call(
    src: _Source, tree: ast.Expression, registry: Registry
) -> tuple[str, list[Any], dict[str, Any]]:
    """The function name and literal arguments of the one call in ``tree``."""
    call = tree.body
    if not isinstance(call, ast.Call):
        raise _not_a_call(src, call, registry)
    name = _function_name(src, call.func)
    function = registry.get(name)
    if function is None:
        raise _unknown(src, call.func, name, registry)
    args = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            raise _refuse(src, arg, "a starred argument (*)")
        args.append(_literal(src, arg))
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise _refuse(src, keyword, "keyword unpacking (**)")
        if keyword.arg in kwargs:
            raise FunctionStringError(
                f"{name}() got the keyword argument '{keyword.arg}' twice",
                details={"function": name, "parameter": keyword.arg, **src.node_position(keyword)},
            )
        kwargs[keyword.arg] = _literal(src, keyword.value)
    return name, args, kwargs


def bind_call(
    registry: Registry, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> ParsedCall:
    """Check a call given as a name and literal values (the sandbox's proxies use this).

    Values must be plain ``None``/``bool``/``int``/``float``/``str`` or lists and
    tuples of them. Raises :class:`FunctionStringError` like :func:`parse_call`.
    """
    function = registry.get(name)
    if function is None:
        suggestions = registry.suggest(name)
        raise FunctionStringError(
            _unknown_message(name, suggestions),
            details={
                "name": name,
                "suggestions": suggestions,
            },
        )
    return ParsedCall(function, bind_arguments(function, args, kwargs))


def bind_arguments(
    function: Function, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Map positional and keyword values onto ``function``'s parameters and check each.

    Returns every parameter by name in declaration order, defaults filled in. Raises
    :class:`FunctionStringError` for too many positional values, unknown or repeated
    parameters, missing required ones, a bad value, or a broken cross-parameter rule.
    """
    params = function.params
    name = function.name
    if len(args) > len(params):
        if params:
            takes = f"at most {len(params)} positional argument{'' if len(params) == 1 else 's'}"
        else:
            takes = "no arguments"
        raise FunctionStringError(
            f"{name}() takes {takes} ({len(args)} given); signature: {function.signature}",
            details={"function": name, "signature": function.signature},
        )
    raw: dict[str, Any] = {p.name: value for p, value in zip(params, args, strict=False)}
    for key, value in kwargs.items():
        if function.param(key) is None:
            known = [p.name for p in params]
            close = [k for k in known if k.casefold() == key.casefold()]
            close += [
                k for k in difflib.get_close_matches(key, known, n=3, cutoff=0.6) if k not in close
            ]
            hint = f"; did you mean {join_or([repr(c) for c in close])}?" if close else ""
            listed = ", ".join(known) if known else "none"
            raise FunctionStringError(
                f"{name}() has no parameter '{key}'{hint} (parameters: {listed})",
                details={"function": name, "parameter": key, "suggestions": close},
            )
        if key in raw:
            raise FunctionStringError(
                f"{name}() got two values for parameter '{key}'",
                details={"function": name, "parameter": key},
            )
        raw[key] = value
    bound: dict[str, Any] = {}
    for param in params:
        if param.name in raw:
            bound[param.name] = param.coerce(raw[param.name], name)
        elif param.required:
            raise argument_error(
                name,
                param.name,
                f"is required ({param.expected_text()}); signature: {function.signature}",
                signature=function.signature,
            )
        else:
            # A fresh copy: the binding and the caller may change the lists they get.
            default = param.default
            bound[param.name] = list(default) if isinstance(default, list | tuple) else default
    if function.check is not None:
        function.check(name, bound)
    return bound


# --- the scan and the tree walk --------------------------------------------------


def _scan_nesting(src: _Source, max_nesting: int) -> None:
    """Refuse deep bracket nesting or long operator runs before ``ast.parse`` sees them."""
    depth = 0
    run = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(src.text).readline):
            if token.type == tokenize.OP:
                if token.string in _OPEN:
                    depth += 1
                    run = 0
                    if depth > max_nesting:
                        raise _too_deep(src, token, max_nesting)
                elif token.string in _CLOSE:
                    depth -= 1
                    run = 0
                elif token.string in _NEUTRAL_OPS:
                    run = 0
                else:
                    run += 1
                    if run > max_nesting:
                        raise _too_deep(src, token, max_nesting)
            elif token.type == tokenize.NAME and token.string in ("not", "lambda"):
                run += 1
                if run > max_nesting:
                    raise _too_deep(src, token, max_nesting)
            elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                run = 0
    except (tokenize.TokenError, SyntaxError):
        return  # ast.parse reports the syntax error with a better message.


def _too_deep(src: _Source, token: tokenize.TokenInfo, max_nesting: int) -> FunctionStringError:
    position = src.position(token.start[0], token.start[1] + 1)
    return FunctionStringError(
        f"function string nested too deeply at {src.where(position)} "
        f"(at most {max_nesting} levels of brackets or operators)",
        details={**position, "max_nesting": max_nesting},
    )


def _parse(src: _Source) -> ast.Expression:
    try:
        return ast.parse(src.text, filename=_FILENAME, mode="eval")
    except SyntaxError as error:
        raise _syntax_error(src, error) from None
    except (RecursionError, MemoryError):
        raise FunctionStringError("function string too complex to parse") from None


def _syntax_error(src: _Source, error: SyntaxError) -> FunctionStringError:
    # A string that is valid as statements gets a message about statements instead.
    try:
        module = ast.parse(src.text, filename=_FILENAME, mode="exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        module = None
    if module is not None and module.body:
        statements = module.body
        if len(statements) > 1:
            position = src.node_position(statements[1])
            return FunctionStringError(
                f"{ONLY_ONE_CALL}: found {len(statements)} statements; "
                f"the second starts at {src.where(position)}",
                details={**position, "found": "statements", "count": len(statements)},
            )
        statement: ast.AST = statements[0]
        if isinstance(statement, ast.Expr):
            statement = statement.value
            kind = _describe(src, statement)
        else:
            kind = _STATEMENTS.get(type(statement).__name__, "a statement")
        position = src.node_position(statement)
        return FunctionStringError(
            f"{ONLY_ONE_CALL}: found {kind} at {src.where(position)}",
            details={**position, "found": type(statement).__name__},
        )
    position = src.position(error.lineno or 1, max(error.offset or 1, 1))
    return FunctionStringError(
        f"syntax error at {src.where(position)}: {error.msg}",
        details={**position, "error": error.msg},
    )


_STATEMENTS: Final = {
    "Assign": "an assignment",
    "AugAssign": "an assignment",
    "AnnAssign": "an assignment",
    "Import": "an import",
    "ImportFrom": "an import",
    "FunctionDef": "a function definition",
    "AsyncFunctionDef": "a function definition",
    "ClassDef": "a class definition",
    "Delete": "a del statement",
    "Global": "a global statement",
    "Nonlocal": "a nonlocal statement",
    "For": "a loop",
    "AsyncFor": "a loop",
    "While": "a loop",
    "If": "an if statement",
    "With": "a with statement",
    "AsyncWith": "a with statement",
    "Try": "a try statement",
    "Raise": "a raise statement",
    "Assert": "an assert statement",
    "Return": "a return statement",
    "Pass": "a pass statement",
    "Break": "a break statement",
    "Continue": "a continue statement",
    "Match": "a match statement",
}

_EXPRESSIONS: Final = {
    "Attribute": "an attribute access",
    "Call": "a nested call",
    "BinOp": "an operator expression",
    "UnaryOp": "an operator expression",
    "BoolOp": "an operator expression",
    "Compare": "a comparison",
    "Lambda": "a lambda",
    "ListComp": "a comprehension",
    "SetComp": "a comprehension",
    "DictComp": "a comprehension",
    "GeneratorExp": "a comprehension",
    "JoinedStr": "an f-string",
    "FormattedValue": "an f-string",
    "Dict": "a dict",
    "Set": "a set",
    "Subscript": "a subscript",
    "Slice": "a slice",
    "IfExp": "a conditional expression",
    "NamedExpr": "an assignment expression (:=)",
    "Await": "an await",
    "Yield": "a yield",
    "YieldFrom": "a yield",
    "Starred": "a starred item (*)",
    "List": "a list",
    "Tuple": "a tuple",
}


def _describe(src: _Source, node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"the name {src.segment(node)}"
    if isinstance(node, ast.Attribute):
        return f"an attribute access ({src.segment(node)})"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bytes):
            return "a bytes literal"
        if isinstance(node.value, complex):
            return "a complex number"
        if node.value is Ellipsis:
            return "an ellipsis (...)"
        return "a constant"
    return _EXPRESSIONS.get(type(node).__name__, "an expression")


def _refuse(src: _Source, node: ast.AST, found: str, hint: str = "") -> FunctionStringError:
    """Refuse ``node``; ``details['found']`` is its ast node type (``Attribute``, ``Call``...)."""
    position = src.node_position(node)
    return FunctionStringError(
        f"{ONLY_ONE_CALL}: found {found} at {src.where(position)}{hint}",
        details={**position, "found": type(node).__name__},
    )


def _not_a_call(src: _Source, node: ast.AST, registry: Registry) -> FunctionStringError:
    hint = ""
    if isinstance(node, ast.Name) and node.id in registry:
        function = registry.get(node.id)
        assert function is not None
        hint = f"; call it with parentheses, e.g. {function.example}"
    position = src.node_position(node)
    return FunctionStringError(
        f"expected one function call such as get_voltage('CH1'); found {_describe(src, node)} "
        f"at {src.where(position)}{hint}",
        details={**position, "found": type(node).__name__},
    )


def _function_name(src: _Source, func: ast.expr) -> str:
    if not isinstance(func, ast.Name):
        raise _refuse(src, func, _describe(src, func))
    written = src.segment(func, limit=200)
    # Python folds non-ASCII identifiers (NFKC); the user should see what they wrote.
    return func.id if written.isascii() else written


def _unknown_message(name: str, suggestions: list[str]) -> str:
    if suggestions:
        return f"unknown function '{name}'; did you mean {join_or(suggestions)}?"
    return f"unknown function '{name}'; GET /v1/functions lists the functions"


def _unknown(src: _Source, func: ast.expr, name: str, registry: Registry) -> FunctionStringError:
    key = name if name.isascii() else getattr(func, "id", name)
    suggestions = registry.suggest(key)
    return FunctionStringError(
        _unknown_message(name, suggestions),
        details={"name": name, "suggestions": suggestions, **src.node_position(func)},
    )


def _literal(src: _Source, node: ast.expr) -> Any:
    """The Python value of a literal argument.

    Recursion follows list nesting only, which the token scan has bounded.
    """
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, bool | int | float | str):
            return node.value
        raise _refuse(src, node, _describe(src, node))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = node.operand
        if (
            isinstance(operand, ast.Constant)
            and isinstance(operand.value, int | float)
            and not isinstance(operand.value, bool)
        ):
            return -operand.value if isinstance(node.op, ast.USub) else +operand.value
        raise _refuse(src, node, "a sign on something other than a number")
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(src, item) for item in node.elts]
    hint = ""
    if isinstance(node, ast.Name) and node.id not in ("True", "False", "None"):
        hint = f" (text needs quotes, e.g. '{src.segment(node)}')"
    raise _refuse(src, node, _describe(src, node), hint)
