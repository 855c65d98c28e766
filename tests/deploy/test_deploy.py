"""deploy/: the systemd unit (systemd-analyze verify), hypercorn.toml (loaded and served), the
udev rule, the compose file and the Containerfile; and that their numbers agree.

systemd-analyze must be installed (fails, never skips, without it:
``scripts/ensure-system-packages.sh systemd``).
"""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml
from hypercorn.config import Config

from remotelab.config import MailSettings
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "remotelab.service"
EXEC = "/opt/remotelab/.venv/bin/remotelab"


# --- systemd -------------------------------------------------------------------------------


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail(
            "systemd-analyze not found: run `bash scripts/ensure-system-packages.sh systemd`",
            pytrace=False,
        )
    return found


def verify_unit(text: str, folder: Path) -> tuple[int, list[str]]:
    """``systemd-analyze verify`` on ``text`` saved as remotelab.service: (status, messages).

    ExecStart's program does not exist on a test machine, and verify reports that; so the
    program path is pointed at an executable stub, and every other message is a finding.
    """
    stub = folder / "remotelab"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    unit = folder / "remotelab.service"
    unit.write_text(text.replace(EXEC, str(stub)))
    done = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=30, check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )  # fmt: skip
    messages = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return done.returncode, messages


def unit_entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, in order (keys may repeat)."""
    section = ""
    entries = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    status, messages = verify_unit(UNIT.read_text(), tmp_path)
    assert (status, messages) == (0, [])


def test_verify_reports_unknown_keys_and_bad_values(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("KillMode=mixed", "KillMode=gently\nFrobnicate=yes")
    _, messages = verify_unit(broken, tmp_path)
    assert any("Frobnicate" in message for message in messages)
    assert any("gently" in message for message in messages)


def test_verify_checks_the_exec_start_program(tmp_path: Path) -> None:
    # The stub is what makes the real unit pass: without it verify finds no program.
    done = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", str(UNIT)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if Path(EXEC).exists():  # a machine where remotelab is deployed
        assert EXEC not in done.stderr
    else:
        assert f"{EXEC} is not executable" in done.stderr


def test_unit_runs_unprivileged_with_the_device_group_and_hardening() -> None:
    entries = unit_entries(UNIT.read_text())
    service = {key: value for section, key, value in entries if section == "Service"}
    assert service["User"] == "remotelab"
    assert "dialout" in service["SupplementaryGroups"].split()
    assert service["EnvironmentFile"] == "/etc/remotelab/env"
    assert service["ExecStart"] == f"{EXEC} serve"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/remotelab"
    assert service["PrivateTmp"] == "yes"
    assert service["NoNewPrivileges"] == "yes"
    environment = [v for s, k, v in entries if s == "Service" and k == "Environment"]
    assert "REMOTELAB_INSTANCE_PATH=/var/lib/remotelab" in environment
    devices = [v for s, k, v in entries if s == "Service" and k == "DeviceAllow"]
    assert devices == ["char-ttyACM rw", "char-ttyUSB rw"]
    # PrivateDevices would hide the PSLab's serial port.
    assert "PrivateDevices" not in service


# --- hypercorn -----------------------------------------------------------------------------


def test_hypercorn_toml_loads_with_one_worker_on_loopback() -> None:
    config = Config.from_toml(DEPLOY / "hypercorn.toml")
    assert config.workers == 1
    assert config.bind == ["127.0.0.1:8000"]
    assert config.accesslog is not None
    assert config.keep_alive_timeout == 75
    assert config.graceful_timeout == 10


def test_hypercorn_toml_has_no_unknown_keys() -> None:
    # Config.from_mapping sets any key, so a typo would be silently ignored by Hypercorn.
    keys = tomllib.loads((DEPLOY / "hypercorn.toml").read_text())
    assert [key for key in keys if not hasattr(Config, key)] == []


def test_timeouts_agree_across_files() -> None:
    config = Config.from_toml(DEPLOY / "hypercorn.toml")
    site = (DEPLOY / "nginx" / "remotelab.conf").read_text()
    upstream_idle = re.search(r"keepalive_timeout\s+(\d+)s;", site)
    assert upstream_idle is not None
    # nginx must drop an idle upstream connection before Hypercorn closes it.
    assert int(upstream_idle.group(1)) < config.keep_alive_timeout
    service = {k: v for _, k, v in unit_entries(UNIT.read_text())}
    stop_seconds = int(service["TimeoutStopSec"].removesuffix("s"))
    assert config.graceful_timeout < stop_seconds
    # Then the lifespan waits for mail in flight, still before systemd's SIGKILL.
    assert config.graceful_timeout + MailSettings().stop_seconds < stop_seconds
    assert service["Environment"]  # the unit binds what hypercorn.toml binds
    bind_host, bind_port = config.bind[0].split(":")
    environment = [v for _, k, v in unit_entries(UNIT.read_text()) if k == "Environment"]
    assert f"REMOTELAB_HOST={bind_host}" in environment
    assert f"REMOTELAB_PORT={bind_port}" in environment
    assert f"server {config.bind[0]};" in site


def test_hypercorn_serves_the_app_with_the_config(tmp_path: Path) -> None:
    """The documented command, on a free port:

    hypercorn --config deploy/hypercorn.toml 'remotelab.app:create_app()'
    """
    port = free_port()
    env = {
        **os.environ,
        "REMOTELAB_INSTANCE_PATH": str(tmp_path / "instance"),
        "REMOTELAB_SECRET_KEY": "deploy-test-secret-key-0123456789abcdef",
        "REMOTELAB_LOAD_EXAMPLES": "false",
    }
    log = (tmp_path / "hypercorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "hypercorn", "--config", str(DEPLOY / "hypercorn.toml"),
         "--bind", f"127.0.0.1:{port}", "remotelab.app:create_app()"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "hypercorn did not start:\n" + (tmp_path / "hypercorn.log").read_text()
                    )
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/openapi.json"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert b'"openapi"' in response.read()
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    assert "GET /openapi.json" in (tmp_path / "hypercorn.log").read_text()  # access log on


# --- udev ----------------------------------------------------------------------------------

RULE_TOKEN = re.compile(r'(?P<key>[A-Z]+(?:\{[^}]+\})?)(?P<op>==|!=|\+=|:=|=)"(?P<value>[^"]*)"')


def udev_rules(text: str) -> list[dict[str, tuple[str, str]]]:
    """Each rule line as {key: (operator, value)}; fails on text that is not key-op-"value"."""
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens = [token.strip() for token in line.split(",")]
        parsed = [RULE_TOKEN.fullmatch(token) for token in tokens]
        assert all(parsed), f"not a udev rule: {line!r}"
        rules.append({m["key"]: (m["op"], m["value"]) for m in parsed if m is not None})
    return rules


def usb_ids(rules: list[dict[str, tuple[str, str]]]) -> set[tuple[str, str]]:
    return {(r["ATTRS{idVendor}"][1], r["ATTRS{idProduct}"][1]) for r in rules}


def test_udev_rule_gives_the_pslab_ports_to_dialout() -> None:
    rules = udev_rules((DEPLOY / "99-pslab.rules").read_text())
    assert usb_ids(rules) == {("04d8", "00df"), ("10c4", "ea60")}
    for rule in rules:
        assert rule["SUBSYSTEM"] == ("==", "tty")
        assert rule["GROUP"] == ("=", "dialout")
        assert rule["MODE"] == ("=", "0660")


def test_udev_ids_are_the_ones_pslab_python_scans() -> None:
    shipped = importlib.resources.files("pslab").joinpath("99-pslab.rules").read_text()
    ours = (DEPLOY / "99-pslab.rules").read_text()
    assert usb_ids(udev_rules(ours)) == usb_ids(udev_rules(shipped))


# --- containers ----------------------------------------------------------------------------


def test_compose_runs_the_lab_on_postgresql() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "lab"}
    assert services["db"]["image"].endswith("postgres:15")
    lab = services["lab"]
    assert lab["environment"]["REMOTELAB_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in lab["environment"]["REMOTELAB_DATABASE_URL"]
    assert lab["depends_on"]["db"]["condition"] == "service_healthy"
    build = DEPLOY / lab["build"]["context"] / lab["build"]["dockerfile"]
    assert build.resolve() == (DEPLOY / "Containerfile").resolve()
    assert lab["ports"] == ["127.0.0.1:8000:8000"]
    assert "devices" not in lab  # a PSLab passthrough is there, commented out
    assert "#   - /dev/ttyACM0:/dev/ttyACM0" in (DEPLOY / "compose.yaml").read_text()


def containerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Containerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_containerfile_serves_on_all_interfaces_as_a_user() -> None:
    steps = containerfile_instructions()
    froms = [arg for op, arg in steps if op == "FROM"]
    assert froms[-1] == "docker.io/library/python:3.11-slim"
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    final_ops = dict(final)
    assert final_ops["USER"] == "remotelab"
    assert final_ops["ENTRYPOINT"] == '["/opt/remotelab/.venv/bin/remotelab"]'
    assert final_ops["CMD"] == '["serve", "--host", "0.0.0.0"]'
    assert final_ops["EXPOSE"] == "8000"
    for op, arg in final:
        if op == "COPY" and not arg.startswith("--from"):
            source = arg.split()[0]
            assert (ROOT / source).exists(), f"COPY source missing: {source}"


# --- the device agent's unit ------------------------------------------------------------

AGENT_UNIT = DEPLOY / "remotelab-agent.service"


def test_agent_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    status, messages = verify_unit(AGENT_UNIT.read_text(), tmp_path)
    assert (status, messages) == (0, [])


def test_agent_unit_runs_the_agent_unprivileged_and_outlasts_its_drain() -> None:
    from remotelab.config import NatsSettings

    service = {
        key: value
        for section, key, value in unit_entries(AGENT_UNIT.read_text())
        if section == "Service"
    }
    assert service["ExecStart"] == f"{EXEC} agent"
    assert service["User"] == "remotelab" and service["SupplementaryGroups"] == "dialout"
    assert service["NoNewPrivileges"] == "yes" and service["CapabilityBoundingSet"] == ""
    assert service["KillMode"] == "mixed"
    # SIGTERM drains for at most REMOTELAB_NATS_DRAIN_SECONDS; systemd must wait longer.
    stop = float(service["TimeoutStopSec"].removesuffix("s"))
    assert stop > NatsSettings().drain_seconds + 5


@pytest.mark.parametrize("unit", [UNIT, AGENT_UNIT], ids=lambda path: path.name)
def test_the_serial_drivers_load_before_the_device_allow_list_is_resolved(unit: Path) -> None:
    # DeviceAllow=char-ttyACM/char-ttyUSB is resolved from /proc/devices when the unit
    # starts: without the drivers loaded then, a PSLab plugged in later cannot be opened.
    entries = unit_entries(unit.read_text())
    allowed = {v.split()[0] for s, k, v in entries if s == "Service" and k == "DeviceAllow"}
    drivers = {"char-ttyACM": "cdc_acm", "char-ttyUSB": "cp210x"}
    assert allowed == set(drivers)
    for key in ("Wants", "After"):
        listed = " ".join(v for s, k, v in entries if s == "Unit" and k == key).split()
        assert {f"modprobe@{driver}.service" for driver in drivers.values()} <= set(listed)


def test_agent_unit_does_not_restart_on_a_setting_it_refused() -> None:
    # `remotelab agent` exits 2 on a setting it refuses (NATS credentials, bench file, name).
    service = {k: v for s, k, v in unit_entries(AGENT_UNIT.read_text()) if s == "Service"}
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"
    assert service["EnvironmentFile"] == "/etc/remotelab/agent.env"
    assert "REMOTELAB_DEVICE=pslab" in [
        v for s, k, v in unit_entries(AGENT_UNIT.read_text()) if k == "Environment"
    ]
