"""Running scripts: editor code, stored scripts and examples, in the sandbox.

The answer is data, never an exception from the script: `{"status", "widgets", "stdout",
"error", "stats", "changed"}` (docs/reference/sandbox.md). The script's instrument calls go
through the same registry checks and fair queue as function strings, on behalf of the
caller and in the caller's context; `changed` lists the outputs they changed.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_response

from remotelab.api.context import lab
from remotelab.api.identity import authenticate
from remotelab.api.schemas import RunIn, RunOut
from remotelab.api.validation import json_body
from remotelab.auth.accounts import CurrentUser
from remotelab.storage import scripts as q

bp = Blueprint("runs", __name__)


async def run_for(user: CurrentUser, code: str) -> Response:
    state = lab()
    state.run_limiter.hit(str(user.id))
    instrument = state.instrument
    caller = str(user.id)

    changed: set[str] = set()

    async def device_call(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        outcome = await instrument.run_call(caller, name, args, kwargs)
        changed.update(outcome.changed)
        return outcome.result

    result = await state.sandbox.run(
        code, device_call=device_call, validate_function=instrument.validate
    )
    order = list(instrument.owner.contexts.bench)
    return jsonify({**result.to_dict(), "changed": sorted(changed, key=order.index)})


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
    """Run one of the caller's saved scripts."""
    user = await authenticate()
    async with lab().db.session() as session:
        script = await q.get_own(session, script_id, user.id)
    return await run_for(user, script.code)


@bp.post("/v1/examples/<int:script_id>/run")
@document_response(RunOut)
async def run_example(script_id: int) -> Response:
    """Run a published example (on the caller's behalf)."""
    user = await authenticate()
    async with lab().db.session() as session:
        script = await q.get_example(session, script_id)
    return await run_for(user, script.code)
