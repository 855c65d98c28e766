"""A property-based fuzzer of the /v1/stream protocol against a real server (subprocess).

Any message a client can send — random JSON values, random text, lone surrogates (as JSON
escapes), huge and deeply nested structures within the message-size limit, valid-looking
subscribes with random configs, binary frames — gets an answer (`error`, `pong`,
`subscribed` or `unsubscribed`) that is strict JSON, and the connection stays open. Meanwhile
a well-behaved subscriber of another user, on the acquisition loop the fuzzer's subscribes
share most often, must keep receiving frames: a message that kills a shared loop, the event
loop or another client's socket fails the property.

`make test`: a bounded number of examples, derandomized when CI=true; `make fuzz`: more.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from remotelab.streaming.messages import INSTRUMENTS, decode_frame
from tests.support.server import Server, budget, fuzz_settings, running

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(900)]

MAX_MESSAGE_BYTES = 4096
SCOPE = {"channels": 1, "samples": 1000, "timegap": 1}
ANSWERS = {"error", "pong", "subscribed", "unsubscribed"}
MAX_GAP_SECONDS = 5.0  # between two frames of the well-behaved subscriber (2 busy cores)

EXAMPLES = budget(ci=150, fuzz=3000)
FUZZ_SETTINGS = fuzz_settings(EXAMPLES)


# ------------------------------------------------------------------ strategies

# Text with everything, lone surrogates included (sent as JSON escapes, as a browser could).
any_text = st.text(st.characters(codec=None), max_size=80)
huge_numbers = st.integers(min_value=-(10**400), max_value=10**400)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | huge_numbers
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(any_text, inner, max_size=6),
    max_leaves=40,
)
config_values = (
    scalars
    | st.sampled_from(["CH1", "ch2", "CH1,CH2", "MIC", "LA1", "ID1", "all"])
    | st.integers(min_value=-10, max_value=20_000)
    | st.floats(min_value=-10, max_value=1e4)
)
configs = (
    st.just(SCOPE)
    | st.fixed_dictionaries(
        {},
        optional={
            key: config_values
            for key in (
                "channels",
                "samples",
                "timegap",
                "trigger",
                "trigger_channel",
                "range",
                "channel",
                "rate",
            )
        },
    )
    | json_values
)
ids = st.sampled_from(["scope", "a", "x" * 64, "x" * 65, ""]) | any_text
instruments = st.sampled_from([*INSTRUMENTS, "OSCILLOSCOPE", "nope"]) | any_text


@st.composite
def protocol_messages(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["subscribe", "unsubscribe", "ping", "other"]))
    message: dict[str, Any] = {}
    if kind == "subscribe":
        message = {"type": "subscribe", "id": draw(ids), "instrument": draw(instruments)}
        message["config"] = draw(configs)
    elif kind == "unsubscribe":
        message = {"type": "unsubscribe", "id": draw(ids)}
    elif kind == "ping":
        message = {"type": "ping", "data": draw(json_values)}
    else:
        message = {"type": draw(json_values)}
    # Sometimes a field of any type in place of a good one, or an extra one.
    if draw(st.booleans()):
        message[draw(st.sampled_from(["type", "id", "instrument", "config", "data"]))] = draw(
            json_values
        )
    return message


def deep(levels: int, opener: str, closer: str) -> str:
    return opener * levels + closer * levels


def dumps(value: Any) -> str:
    # ensure_ascii: lone surrogates travel as \\udxxx escapes; NaN and Infinity as Python's
    # json writes them (a client may send them; the server must not choke on them).
    return json.dumps(value)


raw_messages: st.SearchStrategy[str | bytes] = st.one_of(
    protocol_messages().map(dumps),
    json_values.map(dumps),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=200),
    st.integers(min_value=0, max_value=MAX_MESSAGE_BYTES // 2).map(lambda n: deep(n, "[", "]")),
    st.integers(min_value=0, max_value=MAX_MESSAGE_BYTES // 6).map(
        lambda n: '{"type": "ping", "data": ' + deep(n, '{"a":', "}").replace("}", "1}", 1) + "}"
    ),
    st.integers(min_value=0, max_value=MAX_MESSAGE_BYTES + 64).map(
        lambda n: json.dumps({"type": "ping", "data": "a" * n})
    ),
    st.binary(max_size=300),
)


# ------------------------------------------------------------------ the well-behaved subscriber


@dataclass
class Watcher:
    """A subscriber of another user on the shared scope loop, in its own thread."""

    url: str
    token: str
    frames: int = 0
    last_frame: float = field(default_factory=time.monotonic)
    max_gap: float = 0.0
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            with connect(self.url, additional_headers=auth(self.token)) as ws:
                ws.send(json.dumps({"type": "subscribe", "id": "watch", **scope_subscription()}))
                while not self.stop.is_set():
                    try:
                        message = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    now = time.monotonic()
                    if isinstance(message, bytes):
                        assert decode_frame(message).id == "watch"
                        if self.frames:
                            self.max_gap = max(self.max_gap, now - self.last_frame)
                        self.frames += 1
                        self.last_frame = now
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def check(self) -> None:
        assert self.error is None, f"the other subscriber lost its stream: {self.error}"
        silent = time.monotonic() - self.last_frame
        assert silent < MAX_GAP_SECONDS, f"the other subscriber got no frame for {silent:.1f} s"


def scope_subscription() -> dict[str, Any]:
    return {"instrument": "oscilloscope", "config": SCOPE}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


@dataclass
class Stream:
    server: Server
    url: str
    fuzzer: str
    watcher: Watcher


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stream]:
    instance = tmp_path_factory.mktemp("stream-fuzz") / "instance"
    with running(instance, stream_max_message_bytes=str(MAX_MESSAGE_BYTES)) as server:
        tokens = []
        for name in ("fuzzer", "watcher"):
            headers = server.signup(f"{name}@example.org", "password123")
            tokens.append(headers["Authorization"].removeprefix("JWT "))
        url = server.url.replace("http://", "ws://") + "/v1/stream"
        watcher = Watcher(url, tokens[1])
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while watcher.frames < 3 and time.monotonic() < deadline and watcher.error is None:
            time.sleep(0.05)
        assert watcher.frames >= 3, f"the watcher got no frames: {watcher.error}"
        try:
            yield Stream(server, url, tokens[0], watcher)
        finally:
            watcher.stop.set()
            thread.join(10)
        log = server.log.read_text()
    assert "Traceback" not in log, log


def not_json(constant: str) -> Any:
    raise AssertionError(f"the server sent {constant}, which is not JSON")


def answer_of(ws: ClientConnection, sentinel: int, opened: set[str]) -> list[dict[str, Any]]:
    """Every text message up to the pong of ``sentinel``; each must be strict JSON."""
    ws.send(json.dumps({"type": "ping", "data": sentinel}))
    texts: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, bytes):
            decode_frame(message)  # frames of the fuzzer's subscriptions: well formed
            continue

        data = json.loads(message, parse_constant=not_json)
        assert isinstance(data, dict) and isinstance(data.get("type"), str), message
        if data["type"] == "subscribed":
            opened.add(data["id"])
        if data == {"type": "pong", "data": sentinel}:
            return texts
        texts.append(data)


def test_any_message_gets_an_answer_and_other_subscribers_keep_streaming(
    stream: Stream,
) -> None:
    counter = iter(range(10**9))
    held: list[ClientConnection] = []
    sockets = contextlib.ExitStack()

    def fuzzer() -> ClientConnection:
        """The fuzzer's connection; a fresh one after a failing example closed it."""
        if held and held[0].state.name == "OPEN":
            return held[0]
        ws = sockets.enter_context(
            connect(stream.url, additional_headers=auth(stream.fuzzer), max_size=None)
        )
        held[:] = [ws]
        return ws

    @FUZZ_SETTINGS
    @given(message=raw_messages)
    def one(message: str | bytes) -> None:
        opened: set[str] = set()
        ws = fuzzer()
        try:
            ws.send(message)
            answers = answer_of(ws, next(counter), opened)
        except ConnectionClosed as exc:
            raise AssertionError(f"the server closed the fuzzer's socket: {exc}") from None
        replies = [a for a in answers if a["type"] in ANSWERS]  # not the periodic status
        assert replies, f"no answer to {message!r}: {answers}"
        if replies[0]["type"] == "error":
            assert isinstance(replies[0].get("message"), str), replies[0]
        for sub_id in opened:  # stay within the subscriptions a user may hold
            ws.send(json.dumps({"type": "unsubscribe", "id": sub_id}))
            answer_of(ws, next(counter), set())
        stream.watcher.check()

    with sockets:
        one()
    stream.watcher.check()
    assert stream.watcher.max_gap < MAX_GAP_SECONDS


def test_a_burst_of_garbage_from_many_connections_leaves_the_other_stream_alone(
    stream: Stream,
) -> None:
    """Connections that send junk and vanish mid-answer (no close handshake) do no harm."""
    for round_ in range(budget(ci=5, fuzz=50)):
        with contextlib.ExitStack() as stack:
            for n in range(4):
                ws = stack.enter_context(
                    connect(stream.url, additional_headers=auth(stream.fuzzer))
                )
                subscribe = {"type": "subscribe", "id": f"s{round_}-{n}", **scope_subscription()}
                ws.send(json.dumps(subscribe))
                ws.send("[" * 3000 + "]" * 3000)
                ws.send(b"\x00" * 100)
                ws.socket.shutdown(socket.SHUT_RDWR)  # gone without a close, as a crashed tab
        time.sleep(0.2)
        stream.watcher.check()
    with connect(stream.url, additional_headers=auth(stream.fuzzer)) as ws:
        answers = answer_of(ws, -1, set())
        assert answers == []
    stream.watcher.check()


def test_the_fuzzed_server_logged_no_traceback(stream: Stream) -> None:
    assert "Traceback" not in Path(stream.server.log).read_text()
