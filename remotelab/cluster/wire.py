"""What crosses NATS between fronts and agents (pure: no I/O, no NATS client).

Subjects (``<agent>`` is the agent's name, ``<stream>`` a configuration's id)::

    remotelab.call.<agent>            request/reply: a call, a hold, a status, ... (JSON)
    remotelab.stream.<agent>          front -> agent: stream leases (JSON, no reply)
    remotelab.frames.<agent>.<stream> agent -> fronts: frames and stream reports
    remotelab.status.<agent>          agent -> fronts: its registry entry, at each heartbeat
                                      and at each change of hold
    remotelab.placement               front -> fronts: a user chose another experiment

and JetStream key-value buckets: :data:`REGISTRY_BUCKET`, one entry per agent (its
:func:`entry`), expiring when the agent stops renewing it; :data:`ASSIGNMENTS_BUCKET`, the
device each user is on (written by fronts, first writer wins); :data:`CONTEXTS_BUCKET`, the
outputs each user set, restored on the device a user moves to; :data:`EXPERIMENTS_BUCKET`,
the experiment each user chose; :data:`BENCHES_BUCKET`, the bench teachers set for each
experiment; :data:`LIMITS_BUCKET`, the calls the fronts took of each rate limit (ADR 0019).
Fronts and agents each have their own inbox prefix (:data:`FRONT_INBOX`, :data:`AGENT_INBOX`),
so the NATS users' permissions keep each side off the other's replies
(``deploy/nats/remotelab-users.conf``). ADR 0017 says why.

A request is a JSON object with an ``op`` and the authenticated ``user`` (an id: the agent
never sees a token); the reply is ``{"ok": value}`` or ``{"error": {code, message,
details}}``, turned back into the same :class:`~remotelab.errors.RemotelabError` class by
:func:`error_from`. A ``run`` is answered by :func:`call_reply`: the result's JSON apart,
for the front to relay as text.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from remotelab.device.rawjson import RawJSON
from remotelab.errors import RemotelabError

PREFIX = "remotelab"
REGISTRY_BUCKET = "remotelab_devices"
#: Which device each user is on (user id -> agent name), shared by every front.
ASSIGNMENTS_BUCKET = "remotelab_assignments"
#: The outputs each user set (user id -> JSON object), for a move to another device.
CONTEXTS_BUCKET = "remotelab_contexts"
#: The experiment each user chose (user id -> experiment name), shared by every front.
EXPERIMENTS_BUCKET = "remotelab_experiments"
#: The bench teachers set for each experiment (:func:`bench_key` -> JSON ``{"experiment",
#: "outputs"}``: what differs from the bench file's), written by fronts.
BENCHES_BUCKET = "remotelab_benches"
#: The inboxes (reply subjects) of fronts and of agents: the users file lets each user
#: subscribe to its own only, so an agent never sees what the fronts' buckets answer them.
FRONT_INBOX = "_INBOX.front"
AGENT_INBOX = "_INBOX.agent"
#: Calls taken of each rate limit, per window and caller, by all fronts (ADR 0019).
LIMITS_BUCKET = "remotelab_limits"
#: Fronts tell each other here that a user chose another experiment (JSON ``{"user", "front"}``).
PLACEMENT_SUBJECT = f"{PREFIX}.placement"
#: An entry not renewed for this many heartbeats is gone.
MISSED_HEARTBEATS = 3
#: Frame messages carry their recipients in this header (a JSON list of user ids)...
USERS_HEADER = "Remotelab-Users"
#: ... and stream reports (status or error for the subscribers) in this one.
REPORT_HEADER = "Remotelab-Report"


def call_subject(agent: str) -> str:
    return f"{PREFIX}.call.{agent}"


def stream_subject(agent: str) -> str:
    return f"{PREFIX}.stream.{agent}"


def frames_subject(agent: str, stream: str) -> str:
    return f"{PREFIX}.frames.{agent}.{stream}"


def status_subject(agent: str) -> str:
    return f"{PREFIX}.status.{agent}"


STATUS_WILDCARD = f"{PREFIX}.status.*"


def bench_key(experiment: str) -> str:
    """The key of ``experiment``'s bench in :data:`BENCHES_BUCKET` (a key takes letters,
    digits and ``-_=``: the name's UTF-8 in URL-safe base64)."""
    return base64.urlsafe_b64encode(experiment.encode()).decode() or "="


def stream_id(instrument: str, config: dict[str, Any]) -> str:
    """The id of a stream configuration: equal configurations share one loop and subject."""
    canonical = json.dumps([instrument, config], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode()


def decode(data: bytes) -> Any:
    """Parse a JSON message. Raises ValueError."""
    return json.loads(data)


def ok(value: Any) -> bytes:
    return encode({"ok": value})


def error(exc: RemotelabError) -> bytes:
    return encode({"error": exc.to_dict()})


def call_reply(answer: dict[str, Any], result: Any) -> bytes:
    """The reply to a ``run``: ``{"ok": answer}`` (the call's answer but its result), a
    newline, then the result's JSON, which a front relays without parsing it (ADR 0023).
    Raises ValueError for a result with NaN or an infinity."""
    return encode({"ok": answer}) + b"\n" + encode(result)


def call_reply_value(data: bytes) -> tuple[dict[str, Any], RawJSON]:
    """The answer and the result (its JSON text) of a :func:`call_reply`; raises the error
    a reply carries instead (see :func:`error_from`)."""
    head, newline, result = data.partition(b"\n")
    answer = reply_value(head)
    if not newline or not result.strip():
        raise ValueError("a call's reply without its result")
    if not (
        isinstance(answer, dict)
        and isinstance(answer.get("function"), str)
        and isinstance(answer.get("notes"), list)
        and isinstance(answer.get("changed"), list)
    ):
        raise ValueError("a call's answer without its function, notes or changed outputs")
    return answer, RawJSON(result.decode())


def reply_value(data: bytes) -> Any:
    """The value of a reply; raises the error it carries (see :func:`error_from`), and
    ValueError for a reply that is neither (not JSON, or not one of the two shapes)."""
    message = decode(data)
    if isinstance(message, dict) and isinstance(message.get("error"), dict):
        raise error_from(message["error"])
    if not isinstance(message, dict) or "ok" not in message:
        raise ValueError('a reply that is neither {"ok": ...} nor {"error": {...}}')
    return message["ok"]


def error_from(data: dict[str, Any]) -> RemotelabError:
    """The error a reply carries, as the class its code names (the most general class with
    that code; a code no class has: a plain RemotelabError that keeps the code)."""
    code = str(data.get("code", "error"))
    message = str(data.get("message", "the device agent failed"))
    details = data.get("details") if isinstance(data.get("details"), dict) else None
    cls = _class_of(code)
    try:
        exc = cls(message, details=details)
    except TypeError:  # a class with arguments of its own: keep the code and message
        exc = RemotelabError(message, details=details)
    exc.code = code
    return exc


def _class_of(code: str) -> type[RemotelabError]:
    queue: list[type[RemotelabError]] = [RemotelabError]
    while queue:
        cls = queue.pop(0)
        if cls.code == code:
            return cls
        queue.extend(cls.__subclasses__())
    return RemotelabError


def entry(
    *,
    name: str,
    instance: str,
    host: str,
    backend: str,
    bench: str,
    experiment: str,
    description: str,
    firmware: str | None,
    state: str,
    fault: str | None,
    queue: int,
    hold: dict[str, Any] | None,
    calls_served: int,
    heartbeat_seconds: float,
    gone: bool = False,
) -> dict[str, Any]:
    """An agent's entry in the registry (and its status message). ``instance`` is new at
    each start of the agent's process: a front that sees a new one meets a fresh device."""
    return {
        "name": name,
        "instance": instance,
        "host": host,
        "backend": backend,
        "bench": bench,
        "experiment": experiment,
        "description": description,
        "firmware": firmware,
        "state": state,
        "fault": fault,
        "queue": queue,
        "hold": hold,
        "calls_served": calls_served,
        "heartbeat_seconds": heartbeat_seconds,
        "gone": gone,
    }
