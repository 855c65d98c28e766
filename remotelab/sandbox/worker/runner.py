"""Running one compiled script in the current process (the worker, already isolated).

:func:`execute` compiles, builds the namespace (guards, facades, widget
functions, instrument proxies), runs the script and returns the result
message. Everything a script raises — including ``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``, ``MemoryError`` and
:class:`LimitExceeded` — ends the run as data; nothing propagates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import CodeType
from typing import Any

from remotelab.config import MIB, SandboxSettings
from remotelab.errors import InputError
from remotelab.sandbox.protocol import TRUNCATION_MARKER, Job
from remotelab.sandbox.result import LIMIT_EXCEEDED, RunError
from remotelab.sandbox.worker.errors import LimitExceeded
from remotelab.sandbox.worker.facades import STATIC_FACADES, Facade, time_facade
from remotelab.sandbox.worker.guards import Guards
from remotelab.sandbox.worker.live import Live, TextSink
from remotelab.sandbox.worker.numpy_facade import NUMPY_FACADES
from remotelab.sandbox.worker.policy import compile_script, error_from_exception, make_namespace
from remotelab.sandbox.worker.rpc import Channel, device_functions, hold_function
from remotelab.widgets import WidgetCollector, WidgetLimitError


class Output(TextSink):
    """The run's printed text, capped at ``limit`` UTF-8 bytes (then cut and marked)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit, TRUNCATION_MARKER)


def _nothing() -> None:
    return None


class Printer:
    """RestrictedPython's print collector, wired to the widget list and the output."""

    def __init__(
        self, collector: WidgetCollector, output: Output, made: Callable[[], None] = _nothing
    ) -> None:
        self._collector = collector
        self._output = output
        self._made = made

    def __call__(self) -> str:
        """The ``printed`` name: the text printed so far."""
        return self._output.text()

    def _call_print(self, *objects: object, **options: Any) -> None:
        if options.pop("file", None) is not None:
            raise TypeError("print(file=...) is not available in the sandbox")
        text = _widget_call(self._collector.print, *objects, **options)
        self._output.write(text)
        self._made()


def _widget_call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a collector method; its errors become plain exceptions for the script."""
    try:
        return method(*args, **kwargs)
    except WidgetLimitError as exc:
        error: BaseException = LimitExceeded(exc.message)
    except InputError as exc:
        error = ValueError(exc.message)
    raise error  # outside the except block: no host exception as __context__


def widget_functions(
    collector: WidgetCollector, made: Callable[[], None] = _nothing
) -> dict[str, Callable[..., Any]]:
    """``print_``, ``label``, ``button`` and ``plot`` as plain functions for the script.

    ``made()`` is called after each widget is added (the live stream)."""

    def print_(txt: object, name: str = "print") -> str:
        name = str(_widget_call(collector.print_, txt, name=name))
        made()
        return name

    def label(txt: object, name: str = "print", html_class: str = "") -> str:
        name = str(_widget_call(collector.label, txt, name=name, html_class=html_class))
        made()
        return name

    def button(
        label: object,
        function_string: str,
        display_type: str = "display_number",
        name: str = "button-id",
        target: str | None = None,
        stacking: str | None = None,
    ) -> str:
        made_name = str(
            _widget_call(
                collector.button,
                label,
                function_string,
                display_type=display_type,
                name=name,
                target=target,
                stacking=stacking,
            )
        )
        made()
        return made_name

    def plot(
        x: object,
        *ys: object,
        name: str = "myPlot",
        labels: object = None,
        x_label: object = None,
        y_label: object = None,
    ) -> str:
        name = str(
            _widget_call(
                collector.plot, x, *ys, name=name, labels=labels, x_label=x_label, y_label=y_label
            )
        )
        made()
        return name

    functions: dict[str, Callable[..., Any]] = {
        "print_": print_,
        "label": label,
        "button": button,
        "plot": plot,
    }
    for name, function in functions.items():
        function.__qualname__ = name
        function.__module__ = "widgets"
    return functions


def modules_for_run(limits: SandboxSettings, started: float) -> dict[str, Facade]:
    modules: dict[str, Facade] = dict(STATIC_FACADES)
    modules.update(NUMPY_FACADES)
    modules["time"] = time_facade(limits.wall_seconds, started)
    return modules


def execute(
    job: Job,
    channel: Channel | None,
    *,
    device: bool = True,
    validate: bool = True,
    started: float | None = None,
    live: Callable[[WidgetCollector, Output], Live] | None = None,
    compile_source: Callable[[str, int], CodeType | RunError] = compile_script,
) -> dict[str, Any]:
    """Compile and run ``job.code``; return the ``result`` message. Never raises.

    ``channel`` is the link to the server. With ``device``, instrument calls go
    through it (else every instrument function raises ``RuntimeError``); with
    ``validate``, each button's function string is checked by the server when
    the button is made. ``started`` is the ``time.monotonic()`` at which the
    run's clock started (default: now). ``compile_source(code, max_script_bytes)`` is the
    compile step (:func:`compile_script`, or the worker's cached compiler), called before
    any of the script runs.
    """
    limits = job.limits
    started = time.monotonic() if started is None else started
    collector = WidgetCollector(
        job.widgets,
        validate_function=channel.validate if (validate and channel is not None) else None,
    )
    output = Output(limits.stdout_bytes)
    code = compile_source(job.code, job.max_script_bytes)
    if isinstance(code, RunError):
        return _result("error", collector, output, code)

    stream = None if live is None else live(collector, output)
    made = _nothing if stream is None else stream.made
    printer = Printer(collector, output, made)
    names: dict[str, object] = dict(device_functions(job.functions, channel if device else None))
    names["hold"] = hold_function(channel if device else None)
    names.update(widget_functions(collector, made))
    namespace = make_namespace(
        guards=Guards(),
        modules=modules_for_run(limits, started),
        printer_factory=lambda _getattr_=None: printer,
        names=names,
    )
    error: RunError | None = None
    try:
        if stream is not None:
            stream.start()
        try:
            exec(code, namespace)  # noqa: S102 - restricted code in an isolated worker
        finally:
            if stream is not None:
                stream.stop()
    except BaseException as exc:  # the script's exceptions are data, all of them
        error = error_from_exception(exc)
        if isinstance(exc, MemoryError) and error.message == "":
            error = RunError(
                error.type,
                f"the script ran out of memory (the limit is {limits.memory_bytes // MIB} MiB)",
                error.line,
            )
    return _result("ok" if error is None else "error", collector, output, error)


def _result(
    status: str, collector: WidgetCollector, output: Output, error: RunError | None
) -> dict[str, Any]:
    return {
        "type": "result",
        "status": status,
        "widgets": collector.widgets,
        "stdout": output.text(),
        "error": None if error is None else error.to_dict(),
    }


def encode_result(result: dict[str, Any], max_bytes: int) -> bytes:
    """The result message as JSON bytes, replaced by a ``LimitExceeded`` error when too big.

    Widgets are encoded one at a time and the encoding stops as soon as the
    total passes ``max_bytes``, so memory stays near ``max_bytes`` whatever
    the script built.
    """
    head = {key: value for key, value in result.items() if key != "widgets"}
    parts: list[str] = []
    size = len(_dumps(head)) + 16
    for widget in result["widgets"]:
        part = _dumps(widget)
        size += len(part) + 1
        if size > max_bytes:
            break
        parts.append(part)
    else:
        body = _dumps(head)[:-1] + ',"widgets":[' + ",".join(parts) + "]}"
        return body.encode()
    parts.clear()
    smaller = dict(head, status="error", widgets=[])
    if smaller.get("error") is None:  # else the script's own error came first: keep it
        smaller["error"] = RunError(
            LIMIT_EXCEEDED,
            f"the run's output is over the limit of {max_bytes} bytes",
            None,
        ).to_dict()
    body_bytes = _dumps(smaller).encode()
    if len(body_bytes) <= max_bytes:
        return body_bytes
    smaller["stdout"] = ""
    return _dumps(smaller).encode()


def _dumps(value: Any) -> str:
    # ensure_ascii keeps len(str) == len(bytes), so sizes are counted without encoding twice.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)
