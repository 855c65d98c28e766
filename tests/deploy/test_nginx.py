"""deploy/nginx/remotelab.conf: `nginx -t`, then a real nginx proxying to a recording backend.

Needs the nginx binary (fails, never skips, without it). nginx runs with its own config in a
temp folder (``-p``/``-c``/``-e``), so no system config is read and nothing listens on a
public port.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from remotelab.cluster.local import nginx as local_nginx
from remotelab.config import Settings
from tests.support.postgres import free_port

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "remotelab.conf"
START_TIMEOUT_S = 5.0


def nginx_binary() -> str:
    """The nginx program; a failure (never a skip) when it is missing."""
    try:
        return str(local_nginx.nginx_binary())
    except local_nginx.NginxUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def wrap(site: Path, prefix: Path, *, foreground: bool = False) -> Path:
    """A minimal nginx.conf in ``prefix`` that includes ``site`` inside ``http {}``."""
    top = "daemon off;\nmaster_process off;\n" if foreground else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{top}pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
"""
    )
    return conf


def nginx_test(site: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    conf = wrap(site, prefix)
    command = [nginx_binary(), "-t", "-p", str(prefix), "-c", str(conf), "-e", "stderr"]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_site_passes_nginx_t(tmp_path: Path) -> None:
    done = nginx_test(SITE, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr
    assert "test is successful" in done.stderr


def test_nginx_t_catches_a_broken_site(tmp_path: Path) -> None:
    broken = tmp_path / "broken.conf"
    broken.write_text(SITE.read_text().replace("client_max_body_size 1m;", "client_max_body 1m;"))
    done = nginx_test(broken, tmp_path)
    assert done.returncode != 0
    assert 'unknown directive "client_max_body"' in done.stderr


def test_body_limit_matches_the_app_default() -> None:
    match = re.search(r"^\s*client_max_body_size\s+(\d+)m;", SITE.read_text(), re.MULTILINE)
    assert match is not None
    assert int(match.group(1)) * 1024 * 1024 == Settings().server.max_request_bytes


# --- a real nginx in front of a backend that records what it receives ---------------------


class RecordingBackend:
    """Answers each HTTP request with the request's headers as JSON; echoes after an upgrade."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
            }
            length = int(headers.get("content-length", "0"))
            while len(body) < length:
                body += conn.recv(65536)
            if headers.get("upgrade", "").lower() == "websocket":
                conn.sendall(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nX-Seen-Connection: "
                    + headers.get("connection", "").encode()
                    + b"\r\n\r\n"
                )
                conn.sendall(conn.recv(1024))  # echo one message through the tunnel
                return
            payload = json.dumps({"request": lines[0], "headers": headers, "body": len(body)})
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(payload)}\r\n\r\n{payload}".encode()
            )

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[int]:
    """Run nginx with the site on a free loopback port in front of a RecordingBackend."""
    backend = RecordingBackend()
    port = free_port()
    site = SITE.read_text()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("listen [::]:80;", "")
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{backend.port};")
    assert f"127.0.0.1:{port}" in site and f"127.0.0.1:{backend.port}" in site
    site_path = tmp_path / "site.conf"
    site_path.write_text(site)
    conf = wrap(site_path, tmp_path, foreground=True)
    log = (tmp_path / "nginx.err").open("w")
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("nginx did not start: " + (tmp_path / "nginx.err").read_text())
                time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        backend.close()


def request(
    port: int, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(
            method, path, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_proxy_overwrites_forwarded_for_and_keeps_host(proxied: int) -> None:
    status, body = request(
        proxied, "GET", "/v1/functions", X_Forwarded_For="6.6.6.6", Host="lab.example.org"
    )
    assert status == 200
    seen = json.loads(body)
    assert seen["request"] == "GET /v1/functions HTTP/1.1"
    # Overwritten, not appended: the app trusts the first hop.
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert seen["headers"]["x-forwarded-proto"] == "http"
    assert seen["headers"]["host"] == "lab.example.org"
    assert "upgrade" not in seen["headers"].get("connection", "")


def test_proxy_refuses_bodies_over_one_mebibyte(proxied: int) -> None:
    limit = Settings().server.max_request_bytes
    status, body = request(proxied, "POST", "/v1/functions/run", b"x" * limit)
    assert status == 200
    assert json.loads(body)["body"] == limit
    status, _ = request(proxied, "POST", "/v1/functions/run", b"x" * (limit + 1))
    assert status == 413


def test_proxy_passes_websocket_upgrade_on_stream(proxied: int) -> None:
    with socket.create_connection(("127.0.0.1", proxied), timeout=5) as sock:
        sock.sendall(
            b"GET /v1/stream HTTP/1.1\r\nHost: lab\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"X-Seen-Connection: upgrade" in head
        sock.sendall(b"ping through the tunnel")
        assert sock.recv(1024) == b"ping through the tunnel"
