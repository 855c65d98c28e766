"""/v1/stream through a real Hypercorn on a loopback port, with the `websockets` client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from quart import Quart
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from remotelab.api.context import EXTENSION
from remotelab.app import create_app
from remotelab.errors import InputError
from remotelab.streaming.messages import decode_frame
from tests.conftest import make_settings
from tests.support.served import new_user_token, served

SCOPE = {"channels": 1, "samples": 1000, "timegap": 1}


@dataclass
class Live:
    app: Quart
    url: str
    token: str
    stop: asyncio.Event
    user: str

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"JWT {token or self.token}"}

    @property
    def emulator(self) -> Any:
        return self.app.extensions[EXTENSION].instrument.owner.backend.emulator

    async def user_token(self, email: str) -> str:
        return await new_user_token(self.app, email)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with serving(tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, **settings: Any) -> AsyncIterator[Live]:
    app = create_app(make_settings(tmp_path, stream_status_seconds=0.2, **settings))
    async with served(app, stop_seconds=10) as server:
        accounts = app.extensions[EXTENSION].accounts
        user = await accounts.create_account(email="s@example.org", password="password123")
        # A 1 kHz sine on SI1, which the default bench wires to CH1 (the bench's own
        # setting, set here in the user's context all the same).
        await app.extensions[EXTENSION].instrument.run(str(user.id), "set_sine1(1000)")
        yield Live(
            app,
            f"ws://{server.address}/v1/stream",
            accounts.codec.issue_access(user.id),
            server.stop,
            str(user.id),
        )


async def subscribe(
    ws: ClientConnection,
    sub_id: str,
    config: dict[str, Any] | None = None,
    instrument: str = "oscilloscope",
) -> dict[str, Any]:
    await ws.send(
        json.dumps(
            {"type": "subscribe", "id": sub_id, "instrument": instrument, "config": config or SCOPE}
        )
    )
    return await next_text(ws, "subscribed")


async def next_text(ws: ClientConnection, kind: str, timeout: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.recv()
            if isinstance(message, str):
                data: dict[str, Any] = json.loads(message)
                if data["type"] == kind:
                    return data


async def frames(ws: ClientConnection, n: int, timeout: float = 10) -> list[Any]:
    out = []
    async with asyncio.timeout(timeout):
        while len(out) < n:
            message = await ws.recv()
            if isinstance(message, bytes):
                out.append(decode_frame(message))
    return out


async def test_compression_is_declined_though_the_client_offers_it(live: Live) -> None:
    async with connect(live.url, additional_headers=live.headers(), compression="deflate") as ws:
        assert ws.request is not None and ws.response is not None
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        await subscribe(ws, "scope")
        (frame,) = await frames(ws, 1)
    assert len(frame.channels[0]) == 1000


async def test_frames_carry_the_sine_of_the_bench(live: Live) -> None:
    async with connect(live.url, additional_headers=live.headers()) as ws:
        answer = await subscribe(ws, "scope")
        assert answer["config"]["samples"] == 1000
        got = await frames(ws, 3)
    assert [f.id for f in got] == ["scope"] * 3
    assert got[0].seq < got[1].seq < got[2].seq
    frame = got[-1]
    assert frame.dx == pytest.approx(1.0)
    y = frame.channels[0]
    assert len(y) == 1000
    assert np.ptp(y) == pytest.approx(6.6, rel=0.05)  # ±3.3 V sine
    crossings = np.count_nonzero(np.diff(np.sign(y - np.mean(y))) > 0)
    assert crossings == pytest.approx(1, abs=1)  # 1 ms of a 1 kHz sine: one period


async def test_two_clients_share_one_loop_and_unsubscribe_stops_it(live: Live) -> None:
    hub = live.app.extensions[EXTENSION].hub
    async with (
        connect(live.url, additional_headers=live.headers()) as a,
        connect(
            live.url, additional_headers=live.headers(await live.user_token("b@example.org"))
        ) as b,
    ):
        await subscribe(a, "one")
        second = await subscribe(b, "two")
        assert second["subscribers"] == 2
        assert hub.loop_count() == 1
        fa, fb = await frames(a, 2), await frames(b, 2)
        assert fa[0].id == "one" and fb[0].id == "two"
        await a.send(json.dumps({"type": "unsubscribe", "id": "one"}))
        assert (await next_text(a, "unsubscribed"))["id"] == "one"
        assert hub.loop_count() == 1
        await b.send(json.dumps({"type": "unsubscribe", "id": "two"}))
        await next_text(b, "unsubscribed")
        assert hub.loop_count() == 0


async def test_malformed_messages_get_errors_and_the_connection_stays(live: Live) -> None:
    async with connect(live.url, additional_headers=live.headers()) as ws:
        await ws.send("{not json")
        assert "malformed JSON" in (await next_text(ws, "error"))["message"]
        await ws.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "id": "x",
                    "instrument": "oscilloscope",
                    "config": {"channels": 1, "samples": 50000, "timegap": 1},
                }
            )
        )
        error = await next_text(ws, "error")
        assert error["id"] == "x"
        assert "samples" in error["message"]
        await ws.send(json.dumps({"type": "unsubscribe", "id": "nothing"}))
        assert "no subscription" in (await next_text(ws, "error"))["message"]
        await ws.send(json.dumps({"type": "ping", "data": 1}))
        assert (await next_text(ws, "pong"))["data"] == 1


async def test_an_empty_binary_message_gets_an_error_and_the_connection_stays(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the stream fuzzer: Quart passed b"" on as None, and len(None) closed the socket."""
    async with connect(live.url, additional_headers=live.headers()) as ws:
        await ws.send(b"")
        assert "binary messages are not accepted" in (await next_text(ws, "error"))["message"]
        await ws.send("")
        assert "malformed JSON" in (await next_text(ws, "error"))["message"]
        await ws.send(json.dumps({"type": "ping", "data": 1}))
        assert (await next_text(ws, "pong"))["data"] == 1
    assert "Traceback" not in caplog.text


async def test_deeply_nested_messages_get_an_error_and_the_connection_stays(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    async with connect(live.url, additional_headers=live.headers()) as ws:
        for levels in (2_000, 900, 40):
            await ws.send(
                '{"type": "ping", "id": "p", "data": ' + "[" * levels + "]" * levels + "}"
            )
            error = await next_text(ws, "error")
            assert error["message"] == "malformed JSON: nested too deeply (at most 32 levels)"
            assert error["code"] == "bad_message"
        await ws.send(json.dumps({"type": "ping", "data": [[["still here"]]]}))
        assert (await next_text(ws, "pong"))["data"] == [[["still here"]]]
    assert "Traceback" not in caplog.text


async def test_unauthenticated_connections_are_refused_before_accepting(live: Live) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(live.url):
            pass
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as info:
        async with connect(live.url, additional_headers=live.headers("not.a.token")):
            pass
    assert info.value.response.status_code == 422
    # Too many connections of one user: 429 before accepting.
    limit = live.app.extensions[EXTENSION].hub.limits.max_connections_per_user
    held = [await connect(live.url, additional_headers=live.headers()) for _ in range(limit)]
    with pytest.raises(InvalidStatus) as info:
        async with connect(live.url, additional_headers=live.headers()):
            pass
    assert info.value.response.status_code == 429
    for ws in held:
        await ws.close()
    # A program that cannot set headers passes its token in the query.
    async with connect(f"{live.url}?token={live.token}") as ws:
        await ws.send(json.dumps({"type": "ping"}))
        await next_text(ws, "pong")


async def test_pages_of_other_origins_are_refused_before_accepting(live: Live) -> None:
    own = live.url.replace("ws://", "http://").removesuffix("/v1/stream")
    async with httpx.AsyncClient(base_url=own) as http:
        login = await http.post(
            "/v1/auth/login", json={"email": "s@example.org", "password": "password123"}
        )
    cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in login.cookies.items())}
    for origin in ("http://evil.example.org", own.replace("127.0.0.1", "localhost"), "null"):
        for credentials in (cookie, live.headers()):
            with pytest.raises(InvalidStatus) as info:
                async with connect(live.url, additional_headers=credentials, origin=origin):
                    pass
            assert info.value.response.status_code == 403, origin
            assert b"origin" in info.value.response.body
    # The lab's own pages (cookie or token) and programs that send no Origin are let in.
    for credentials in (cookie, live.headers()):
        async with connect(live.url, additional_headers=credentials, origin=own) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            await next_text(ws, "pong")
    async with connect(f"{live.url}?token={live.token}") as ws:
        await ws.send(json.dumps({"type": "ping"}))
        await next_text(ws, "pong")


async def test_allowed_origins_are_a_setting(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'app\.example\.org' is not an origin"):
        create_app(make_settings(tmp_path, stream_allowed_origins="app.example.org"))
    allowed = "https://app.example.org, http://localhost:5173"
    async with serving(tmp_path, stream_allowed_origins=allowed) as live:
        for origin in (
            "https://app.example.org",
            "https://APP.example.org:443",
            "http://localhost:5173",
        ):
            async with connect(live.url, additional_headers=live.headers(), origin=origin) as ws:
                await ws.send(json.dumps({"type": "ping"}))
                await next_text(ws, "pong")
        for origin in (
            "http://app.example.org",
            "https://app.example.org:8443",
            "http://localhost",
        ):
            with pytest.raises(InvalidStatus) as info:
                async with connect(live.url, additional_headers=live.headers(), origin=origin):
                    pass
            assert info.value.response.status_code == 403, origin


async def test_a_stalled_client_does_not_slow_the_others(live: Live) -> None:
    hub = live.app.extensions[EXTENSION].hub
    loop = asyncio.get_running_loop()
    stalled_connection = connect(
        live.url, additional_headers=live.headers(), max_queue=1, close_timeout=0.5
    )
    async with (
        stalled_connection as stalled,
        connect(live.url, additional_headers=live.headers()) as reader,
    ):
        await subscribe(reader, "fast")
        start = loop.time()
        alone_rate = len(await frames(reader, 30)) / (loop.time() - start)
        await subscribe(stalled, "slow")  # and never reads again
        start = loop.time()
        shared_rate = len(await frames(reader, 30)) / (loop.time() - start)
        client = next(c for c in hub.clients if "slow" in c.subscriptions)
        assert shared_rate >= 0.8 * alone_rate
        assert client.pending_bytes <= 4096  # at most one frame waits in the server


async def test_a_device_fault_mid_stream_is_told_and_the_stream_resumes(live: Live) -> None:
    async with connect(live.url, additional_headers=live.headers()) as ws:
        await subscribe(ws, "scope")
        await frames(ws, 2)
        live.emulator.inject_fault("disconnect")
        error = await next_text(ws, "error")
        assert error["code"] == "device_unavailable"
        live.emulator.clear_fault()
        resumed = await next_text(ws, "status", timeout=10)
        while resumed.get("code") != "resumed":
            resumed = await next_text(ws, "status", timeout=10)
        assert len(await frames(ws, 2)) == 2


async def test_multimeter_and_logic_analyzer_streams(live: Live) -> None:
    # In the subscriber's context: a stream measures what its subscriber set.
    await live.app.extensions[EXTENSION].instrument.run(live.user, "set_pv1(1.25)")
    await live.app.extensions[EXTENSION].instrument.run(live.user, "sqr1(2000, 30)")
    async with connect(live.url, additional_headers=live.headers()) as ws:
        await subscribe(ws, "m", {"channel": "CH3", "rate": 20}, "multimeter")
        await subscribe(ws, "la", {"channel": "LA1", "rate": 10}, "logic_analyzer")
        seen: dict[str, Any] = {}
        async with asyncio.timeout(10):
            while len(seen) < 2:
                message = await ws.recv()
                if isinstance(message, bytes):
                    frame = decode_frame(message)
                    seen[frame.id] = frame
    assert seen["m"].channels[0][0] == pytest.approx(1.25, abs=0.1)  # PV1 is wired to CH3
    frequency, duty = seen["la"].channels[0][0], seen["la"].channels[1][0]
    assert frequency == pytest.approx(2000, rel=0.05)
    assert duty == pytest.approx(0.30, rel=0.05)


async def test_server_shutdown_closes_clients_cleanly(live: Live) -> None:
    async with connect(live.url, additional_headers=live.headers()) as ws:
        await subscribe(ws, "scope")
        await frames(ws, 1)
        live.stop.set()
        with pytest.raises(ConnectionClosed) as info:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1001
