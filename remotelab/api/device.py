"""Instruments over HTTP: the function list, function strings, the device's state."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response
from quart_schema import document_response, validate_response

from remotelab.api.context import lab
from remotelab.api.identity import authenticate
from remotelab.api.schemas import (
    BenchIn,
    BenchOut,
    ContextOut,
    DeviceOut,
    DevicesOut,
    ExperimentIn,
    ExperimentOut,
    ExperimentsOut,
    FunctionRunIn,
    FunctionRunOut,
    FunctionsOut,
)
from remotelab.api.validation import json_body
from remotelab.auth.roles import can_change_bench
from remotelab.device import rawjson
from remotelab.device.interface import Device
from remotelab.device.rawjson import plain
from remotelab.errors import PermissionDenied
from remotelab.storage import bench as bench_queries
from remotelab.widgets import stack

bp = Blueprint("device", __name__)


def instrument() -> Device:
    return lab().instrument


@bp.get("/v1/functions")
@document_response(FunctionsOut)
async def list_functions() -> dict[str, Any]:
    """Every whitelisted instrument function with its parameters, units and docs.

    This is what the function-string box autocompletes from. `shared: true` marks a reading
    that changes nothing on the instrument (see `POST /v1/functions/run`). `device_time` says
    how long a call holds the instrument, from its arguments, and `expected_ms` is that
    estimate for the function's `example`.
    """
    return {"functions": instrument().registry.describe()}


@bp.post("/v1/functions/run")
@json_body(FunctionRunIn)
# Documented, not re-validated: this is the hot path, and the body is built right here.
@document_response(FunctionRunOut)
async def run_function(data: FunctionRunIn) -> Response:
    """Run one function string such as `get_voltage('CH1')` on the instrument.

    The string is parsed (never evaluated) and checked against the registry before the device
    sees it; errors name the problem (unknown name with suggestions, parameter and allowed
    range, column of a syntax error). With `stacking` (`xy`, `xyy`, ...) the answer also
    carries the result stacked into plot series, as a widget button's `update-plot` does.
    Calls wait in a fair queue that shares the instrument between users by device time (each
    call's expected duration, then charged what it really took): 429 when it is full, 503 while
    the device is faulted or reconnecting. A call expected to hold the device longer than
    `REMOTELAB_DEVICE_MAX_CALL_SECONDS` (1 s) is refused with 400 before it queues, naming the
    parameter to change (`details.parameter`, `details.expected_ms`). Waits for edges
    (`get_freq`, ...) run in slices, with other users' calls in between. Identical shared
    readings waiting at the same moment (a class pressing the same "Voltage on CH1" button) are
    answered by one measurement when the callers' outputs are the same.

    The call runs in your context: the bench's outputs with the ones you set (others' settings
    never reach you). `changed` names the outputs the call changed, e.g. `["SI1"]`.

    `unit` is the unit of the result (`GET /v1/functions`, e.g. `"F"` for
    `get_capacitance()`; for a capture, of its y lists), or null. A capture's answer also
    carries `plot`: axis labels and the legend (`{"x_label": "Time (µs)", "y_label":
    "Voltage (V)", "labels": ["CH1", "CH2"]}`).
    """
    user = await authenticate()
    state = lab()
    await state.function_limiter.hit(str(user.id))
    device = instrument()
    call = device.parse(data.function)
    series = None
    async with state.user_gate.enter(str(user.id)):
        outcome = await device.run_parsed(str(user.id), call)
    if data.stacking is not None:
        series = stack(plain(outcome.result), data.stacking)
    body: dict[str, Any] = {
        "function": outcome.function,
        "result": outcome.result,
        "notes": outcome.notes,
        "elapsed_ms": outcome.elapsed_ms,
        "changed": list(outcome.changed),
        "unit": call.function.returns.unit or None,
    }
    labels = call.function.plot_labels(call.args)
    if labels is not None:
        body["plot"] = labels
    if series is not None:
        body["series"] = series
    # A Response, not a dict: quart-schema would build a pydantic adapter per dict returned;
    # and rawjson.dumps directly: the hot path needs none of jsonify's options, and a result
    # relayed from an agent is written as the JSON text it came in.
    return Response(rawjson.dumps(body, allow_nan=False), content_type="application/json")


@bp.get("/v1/device")
@validate_response(DeviceOut)
async def device_status() -> dict[str, Any]:
    """The instrument's state, and your own outputs.

    Backend (emulator or pslab, and why a fallback), port, firmware, connected or faulted,
    the queue's length and your position in it; `context`: your outputs (the bench's, with
    the ones you set) and which of them differ from the bench; `bench`: the bench; `hold`:
    whether a script holds the device (you, or another user) and for how long still.
    """
    user = await authenticate()
    return await instrument().status(str(user.id))


@bp.get("/v1/devices")
@validate_response(DevicesOut)
async def list_devices() -> dict[str, Any]:
    """The lab's devices: name, host, backend, bench, firmware, state, queue length, and
    which one your calls go to.

    One device (`local`) when the server owns it; with device agents on NATS
    (docs/reference/deploy.md), every registered one.
    """
    user = await authenticate()
    return {"devices": await instrument().devices(str(user.id))}


@bp.get("/v1/experiments")
@validate_response(ExperimentsOut)
async def list_experiments() -> dict[str, Any]:
    """The lab's experiments: each bench served, its name and description (the bench file's
    `[experiment]` table, else the bench's name), its devices, how many are free and busy,
    the calls queued on them, and whether your calls go to it.

    One experiment when the server owns its device; with device agents on NATS
    (docs/reference/deploy.md), one per experiment their benches serve.
    """
    user = await authenticate()
    return {"experiments": await instrument().experiments(str(user.id))}


@bp.put("/v1/experiment")
@json_body(ExperimentIn)
@validate_response(ExperimentOut)
async def choose_experiment(data: ExperimentIn) -> dict[str, Any]:
    """Choose your experiment: your calls then go to its least busy device.

    `experiment` is a `name` from `GET /v1/experiments`; one no device serves now is a 404
    naming it. You stay on it (and on your device while it is up); when your device goes
    away your next call goes to another device of the same experiment, with your outputs.
    A change of experiment starts you from the new bench's outputs. Until you choose, your
    experiment is `REMOTELAB_NATS_EXPERIMENT`'s (empty: any).
    """
    user = await authenticate()
    return await instrument().set_experiment(str(user.id), data.experiment)


@bp.post("/v1/device/reset")
@validate_response(ContextOut)
async def reset_outputs() -> dict[str, Any]:
    """Return your outputs to the bench's: everything you set is forgotten.

    The device gets them before your next call. Other users are not affected.
    """
    user = await authenticate()
    return await instrument().reset_context(str(user.id))


@bp.put("/v1/device/bench")
@json_body(BenchIn)
@validate_response(BenchOut)
async def set_bench(data: BenchIn) -> dict[str, Any]:
    """Change an experiment's bench: the outputs its users start from (teachers, admins).

    `outputs` names the outputs to change; each value is checked like the arguments of the
    functions that set it (400 naming the output). The bench changed is that of
    `experiment` (a `name` from `GET /v1/experiments`; one no device serves now is a 404),
    or without it that of your own experiment: the one of the device you are on. Every user
    of that experiment's devices who did not set an output themselves gets the new value
    before their next call; other experiments keep their benches. The change is kept across
    restarts and given to a device of the experiment that joins later. Students get 403.
    """
    user = await authenticate()
    if not can_change_bench(user.role):
        raise PermissionDenied("only teachers and admins change the bench")

    async def store(changes: dict[str, Any]) -> None:
        async with lab().db.session() as session:
            await bench_queries.replace(session, changes, user.id)

    change = await instrument().change_bench(str(user.id), data.outputs, store, data.experiment)
    return {
        "experiment": change.experiment,
        "outputs": change.outputs,
        "differs_from_default": list(change.differs_from_default),
        "changed": list(change.changed),
    }
