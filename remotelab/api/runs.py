"""Running scripts: editor code, stored scripts and examples, in the sandbox.

The answer is data, never an exception from the script: `{"status", "widgets", "stdout",
"error", "stats", "changed"}` (docs/reference/sandbox.md). The script's instrument calls go
through the same registry checks and fair queue as function strings, on behalf of the
caller and in the caller's context; `changed` lists the outputs they changed.

A run can also be followed live and stopped (ADR 0010): ``/v1/runs/live`` is one
websocket per client on which it starts runs (one at a time) and receives their output
as it is made, then the result; ``DELETE /v1/runs/{id}`` (or ``{"type": "cancel"}`` on
the websocket) stops a run of the caller's. Runs of saved scripts are kept, the newest
``REMOTELAB_SCRIPT_RUN_HISTORY`` per script, for their owner: ``GET
/v1/scripts/{id}/runs``.

With ``REMOTELAB_PUBLIC_EXAMPLES`` on, a signed-out visitor may run published
examples (``POST /v1/examples/{id}/run``, or ``example_id`` on the websocket) and nothing
else: as a student would, in the sandbox, in a device context of their own address,
rate limited per address and, all visitors together, by ``public_runs_per_minute``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quart import Blueprint, Response, jsonify, websocket
from quart_schema import document_response

from remotelab.api.context import client_address, lab
from remotelab.api.errors import error_body, status_of
from remotelab.api.identity import (
    authenticate,
    authenticate_or_visitor,
    authenticate_websocket_or_visitor,
)
from remotelab.api.schemas import RunHistoryOut, RunIn, RunOut
from remotelab.api.validation import json_body
from remotelab.auth.accounts import CurrentUser
from remotelab.auth.roles import Role, can_hold_longer
from remotelab.device.outputs import NAMES as OUTPUT_NAMES
from remotelab.device.rawjson import plain
from remotelab.errors import AuthError, InputError, NotFound, RateLimited, RemotelabError
from remotelab.sandbox import RunResult
from remotelab.sandbox.server.control import RunControl
from remotelab.storage import runs as history
from remotelab.storage import scripts as q
from remotelab.storage.models import utcnow
from remotelab.widgets import merge_output

bp = Blueprint("runs", __name__)

CANCEL_WAIT_SECONDS = 5.0
MAX_QUEUED_NOTICES = 32


VISITORS = "visitors"


@dataclass(frozen=True)
class Caller:
    """Whom a run is for: a user, or a signed-out visitor (``user`` None) known by address.

    ``key`` names their device context, fair share, rate limit and runs."""

    key: str
    role: Role
    user: CurrentUser | None = None

    @classmethod
    def of(cls, user: CurrentUser | None, address: str) -> Caller:
        if user is None:
            return cls(f"visitor:{address}", Role.STUDENT)
        return cls(str(user.id), user.role, user)


async def execute(
    who: CurrentUser | Caller,
    code: str,
    *,
    control: RunControl | None = None,
    script_id: int | None = None,
) -> dict[str, Any]:
    """Run ``code`` for ``who``: the run's answer (the result and the outputs it changed).

    A saved script's run (``script_id``) goes into its history."""
    state = lab()
    runner = who if isinstance(who, Caller) else Caller.of(who, "")
    if runner.user is None:
        try:
            await state.public_run_limiter.check(VISITORS)
        except RateLimited as exc:
            raise RateLimited(
                "Signed-out visitors have started too many runs this minute; try again in "
                f"{math.ceil(exc.retry_after)} s, or sign in.",
                retry_after=exc.retry_after,
            ) from None
    await state.run_limiter.hit(runner.key)
    if runner.user is None:
        await state.public_run_limiter.hit(VISITORS)
    instrument = state.instrument
    caller = runner.key

    changed: set[str] = set()
    told: list[int] = []  # the hold the run was last told about

    def tell_if_held() -> None:
        # Another user's script holds the device: the call waits; say so once per hold.
        hold = instrument.hold_info(caller)
        if control is None or hold is None or hold.user == caller or told[-1:] == [hold.number]:
            return
        told.append(hold.number)
        control.notice({"reason": "held", **(instrument.hold_status(caller) or {})})

    async def device_call(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        tell_if_held()
        outcome = await instrument.run_call(caller, name, args, kwargs)
        changed.update(outcome.changed)
        return plain(outcome.result)  # the script gets the value, not a relayed JSON text

    teacher = can_hold_longer(runner.role)

    async def hold_device(seconds: object) -> Callable[[], None]:
        tell_if_held()
        return await instrument.take_hold(caller, seconds, teacher=teacher)

    started_at = utcnow()
    result = await state.sandbox.run(
        code,
        device_call=device_call,
        validate_function=instrument.validate,
        control=control,
        hold_device=hold_device,
    )
    if script_id is not None and runner.user is not None:
        await _remember(runner.user, script_id, started_at, result)
    return {**result.to_dict(), "changed": sorted(changed, key=OUTPUT_NAMES.index)}


async def _remember(
    user: CurrentUser, script_id: int, started_at: datetime, result: RunResult
) -> None:
    keep = lab().settings.scripts.script_run_history
    if keep <= 0:
        return
    async with lab().db.session() as session:
        await history.record(
            session,
            script_id=script_id,
            owner_id=user.id,
            started_at=started_at,
            result=result.to_dict(),
            keep=keep,
        )


async def run_for(who: CurrentUser | Caller, code: str, script_id: int | None = None) -> Response:
    runner = who if isinstance(who, Caller) else Caller.of(who, "")
    body = await execute(runner, code, control=RunControl(runner.key), script_id=script_id)
    return jsonify(body)


@bp.post("/v1/run")
@json_body(RunIn)
@document_response(RunOut)
async def run_code(data: RunIn) -> Response:
    """Run code from the editor (not saved) in the sandbox."""
    user = await authenticate()
    return await run_for(user, data.code)


@bp.post("/v1/scripts/<int:script_id>/run")
@document_response(RunOut)
async def run_script(script_id: int) -> Response:
    """Run one of the caller's saved scripts (kept in its run history)."""
    user = await authenticate()
    async with lab().db.session() as session:
        script = await q.get_own(session, script_id, user.id)
    return await run_for(user, script.code, script_id=script.id)


@bp.post("/v1/examples/<int:script_id>/run")
@document_response(RunOut)
async def run_example(script_id: int) -> Response:
    """Run a published example (on the caller's behalf; a signed-out visitor's too when
    `REMOTELAB_PUBLIC_EXAMPLES` is on)."""
    user = await authenticate_or_visitor()
    async with lab().db.session() as session:
        script = await q.get_example(session, script_id)
    return await run_for(Caller.of(user, client_address()), script.code)


@bp.delete("/v1/runs/<run_id>")
@document_response(RunOut)
async def cancel_run(run_id: str) -> Response:
    """Stop a run of the caller's (an admin may stop any): the worker is killed at once.

    Answers with the run's result: status ``cancelled``, with the widgets and text made
    before. Someone else's run, or one that has ended, is 404. The run's id comes from
    ``run.started`` on ``/v1/runs/live``.
    """
    user = await authenticate()
    control = lab().sandbox.find(run_id)
    if control is None or (control.owner != str(user.id) and user.role is not Role.ADMIN):
        raise NotFound(f"no run with id {run_id[:40]}")
    control.cancel()
    result = await asyncio.wait_for(asyncio.shield(control.finished), CANCEL_WAIT_SECONDS)
    if result is None:
        raise NotFound(f"no run with id {run_id[:40]}")
    return jsonify(result.to_dict())


@bp.get("/v1/scripts/<int:script_id>/runs")
@document_response(RunHistoryOut)
async def script_runs(script_id: int) -> dict[str, Any]:
    """The newest runs of one of the caller's saved scripts, newest first (owner only)."""
    user = await authenticate()
    async with lab().db.session() as session:
        script = await q.get_own(session, script_id, user.id)
        items = await history.list_for_script(session, script.id)
    return {"items": items, "keep": lab().settings.scripts.script_run_history}


# --- /v1/runs/live ------------------------------------------------------------------


class Outbox:
    """What goes to one live client, in order; output batches of one run are merged while
    they wait (a slow client gets fewer, larger messages, never an unbounded queue: a
    run's output is itself bounded by its widget and text limits)."""

    def __init__(self) -> None:
        self._items: collections.deque[dict[str, Any]] = collections.deque()
        self._notices = 0
        self.ready = asyncio.Event()

    def put(self, message: dict[str, Any], *, notice: bool = False) -> None:
        if notice:
            if self._notices >= MAX_QUEUED_NOTICES:
                return  # a client flooding us with bad messages loses the answers
            self._notices += 1
        self._items.append(message)
        self.ready.set()

    def output(self, run: str, widgets: list[dict[str, Any]], text: str, line: int | None) -> None:
        last = self._items[-1] if self._items else None
        if last is not None and last["type"] == "run.output" and last["run"] == run:
            merge_output(last["widgets"], widgets)  # a grown print widget replaces its own
            last["stdout"] += text
            last["line"] = line
        else:
            message: dict[str, Any] = {"type": "run.output", "run": run}
            message.update(widgets=list(widgets), stdout=text, line=line)
            self._items.append(message)
        self.ready.set()

    async def send_loop(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            while self._items:
                message = self._items.popleft()
                if message["type"] == "error":
                    self._notices -= 1
                await websocket.send(json.dumps(message, separators=(",", ":")))


def parse_live_message(raw: str | bytes, max_bytes: int) -> dict[str, Any]:
    """A client message of ``/v1/runs/live``, checked; raises :class:`InputError`."""
    if len(raw) > max_bytes:
        raise InputError(f"a message may be at most {max_bytes} bytes")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        raise InputError("a message must be JSON") from None
    if not isinstance(message, dict) or message.get("type") not in ("run", "cancel"):
        raise InputError('a message must be an object with "type": "run" or "cancel"')
    if message["type"] == "run":
        sources = [key for key in ("code", "script_id", "example_id") if key in message]
        if len(sources) != 1:
            raise InputError('a run needs exactly one of "code", "script_id", "example_id"')
        value = message[sources[0]]
        expected = str if sources[0] == "code" else int
        if not isinstance(value, expected) or isinstance(value, bool):
            raise InputError(f'"{sources[0]}" must be a {expected.__name__}')
    return message


async def _source(runner: Caller, message: dict[str, Any]) -> tuple[str, int | None]:
    user = runner.user
    if user is None and "example_id" not in message:
        raise AuthError("sign in to run your own code; signed out, you may run examples only")
    if "code" in message:
        return str(message["code"]), None
    async with lab().db.session() as session:
        if "script_id" in message:
            assert user is not None
            script = await q.get_own(session, int(message["script_id"]), user.id)
            return script.code, script.id
        example = await q.get_example(session, int(message["example_id"]))
        return example.code, None


def _forward(outbox: Outbox, run: str) -> Any:
    def forward(widgets: list[dict[str, Any]], text: str, line: int | None) -> None:
        outbox.output(run, widgets, text, line)

    return forward


def _waiting(outbox: Outbox, run: str) -> Any:
    def waiting(info: dict[str, Any]) -> None:
        outbox.put({"type": "run.waiting", "run": run, **info})

    return waiting


def _notice(exc: RemotelabError, run: str | None = None) -> dict[str, Any]:
    body = error_body(exc.message, exc.code, exc.details or None)
    return {"type": "error", "run": run, "status": status_of(exc), **body}


@bp.websocket("/v1/runs/live")
async def live_runs() -> Response | None:
    """Start runs and follow them (messages in ADR 0010 and docs/reference/sandbox.md)."""
    try:
        user = await authenticate_websocket_or_visitor()
    except RemotelabError as exc:
        response = jsonify(error_body(exc.message, exc.code, exc.details or None))
        response.status_code = status_of(exc)
        return response
    await websocket.accept()
    runner = Caller.of(user, client_address())
    max_bytes = lab().settings.scripts.max_script_bytes * 2 + 1024
    outbox = Outbox()
    sender = asyncio.create_task(outbox.send_loop())
    control: RunControl | None = None
    current: asyncio.Task[None] | None = None
    receive: asyncio.Task[Any] | None = None

    async def drive(message: dict[str, Any], control: RunControl) -> None:
        outbox.put({"type": "run.started", "run": control.id})
        try:
            code, script_id = await _source(runner, message)
            body = await execute(runner, code, control=control, script_id=script_id)
        except RemotelabError as exc:
            outbox.put(_notice(exc, control.id), notice=True)
            return
        outbox.put({"type": "run.result", "run": control.id, "result": body})

    try:
        while True:
            receive = asyncio.create_task(websocket.receive())
            done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                return None
            try:
                message = parse_live_message(receive.result(), max_bytes)
            except InputError as exc:
                outbox.put(_notice(exc), notice=True)
                continue
            if message["type"] == "cancel":
                if control is not None and current is not None and not current.done():
                    control.cancel()
                continue
            if current is not None and not current.done():
                busy = InputError("a run is in progress on this connection; cancel it first")
                outbox.put(_notice(busy, control.id if control else None), notice=True)
                continue
            control = RunControl(runner.key)
            control.on_output = _forward(outbox, control.id)
            control.on_notice = _waiting(outbox, control.id)
            current = asyncio.create_task(drive(message, control))
    finally:
        if current is not None and not current.done():
            if control is not None:
                control.cancel()
            with contextlib.suppress(Exception):
                await current
        # Cancelled when the peer drops: the pending receive ends with the handler (else
        # asyncio finds it pending when it is collected: "Task was destroyed").
        for task in (receive, sender):
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
