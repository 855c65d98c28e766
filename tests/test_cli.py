"""The `remotelab` command, and a real Hypercorn serving the README's curl session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

REMOTELAB = [sys.executable, "-m", "remotelab.cli"]


def run(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REMOTELAB_INSTANCE_PATH": str(tmp_path / "inst"),
        "REMOTELAB_BCRYPT_ROUNDS": "4",
    }
    return subprocess.run(
        REMOTELAB + args, input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_a_wrong_setting_stops_serve_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "REMOTELAB_SANDBOX_NICE": "40", "REMOTELAB_SANDBOX_NCE": "1"}
    done = subprocess.run(
        [*REMOTELAB, "serve", "--instance", str(tmp_path / "inst")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[-1] == "remotelab: REMOTELAB_SANDBOX_NICE=40: must be between 1 and 19"
    assert "REMOTELAB_SANDBOX_NCE names no setting" in lines[0]
    assert not (tmp_path / "inst").exists()  # stopped before anything was created


def test_init_db_and_create_user(tmp_path: Path) -> None:
    done = run(["init-db"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "database ready at schema revision 0002" in done.stdout
    created = run(
        ["create-user", "--email", "T@Example.org", "--role", "teacher", "--password-stdin"],
        tmp_path,
        stdin="long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "<t@example.org> with role teacher" in created.stdout
    again = run(
        ["create-user", "--email", "t@example.org", "--password-stdin"],
        tmp_path,
        stdin="long enough password\n",
    )
    assert again.returncode == 2
    assert "an account with this email already exists" in again.stderr
    short = run(
        ["create-user", "--email", "u@example.org", "--password-stdin"], tmp_path, stdin="short\n"
    )
    assert short.returncode == 2
    assert "Password should have minimum 8 characters" in short.stderr


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "REMOTELAB_PORT": "http"}
    done = subprocess.run(
        [*REMOTELAB, "init-db"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert "REMOTELAB_PORT='http'" in done.stderr


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "REMOTELAB_BCRYPT_ROUNDS": "4"}
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*REMOTELAB, "serve", "--port", str(port), "--instance", str(tmp_path / "inst")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("server did not start:\n" + log.read_text())
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("server did not stop on SIGTERM") from None
    assert proc.returncode == 0


def test_readme_session_against_a_real_server(server: str) -> None:
    """The steps the README shows with curl: sign up, log in, create, list, update, delete."""
    with httpx.Client(base_url=server, timeout=10) as http:
        r = http.post(
            "/v1/users", json={"email": "ada@example.org", "password": "analytical engine"}
        )
        assert r.status_code == 201, r.text
        r = http.post(
            "/v1/auth/login", json={"email": "ada@example.org", "password": "analytical engine"}
        )
        assert r.status_code == 200
        auth = {"Authorization": "JWT " + r.json()["access_token"]}
        r = http.post("/v1/scripts", headers=auth, json={"title": "hello", "code": "print(1)"})
        assert r.status_code == 201
        sid = r.json()["id"]
        assert [s["id"] for s in http.get("/v1/scripts", headers=auth).json()["items"]] == [sid]
        r = http.patch(f"/v1/scripts/{sid}", headers=auth, json={"code": "print(2)"})
        assert r.json()["code"] == "print(2)"
        assert http.delete(f"/v1/scripts/{sid}", headers=auth).status_code == 204
        assert http.get("/v1/scripts", headers=auth).json()["total"] == 0
        missing = http.get("/v1/nope")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        assert http.get("/openapi.json").status_code == 200
