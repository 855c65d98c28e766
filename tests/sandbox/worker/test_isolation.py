"""Hardening a forked child, checked from inside it."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from remotelab.config import MIB, SandboxSettings
from remotelab.sandbox.server.supervisor import PACKAGE_ROOT
from remotelab.sandbox.worker import seccomp
from remotelab.sandbox.worker.isolation import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    Plan,
    candidate_plans,
    namespace_names,
)
from tests.sandbox.helpers import full_root


@pytest.fixture
def run_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as base:
        path = os.path.join(base, "run")
        os.mkdir(path, 0o500)
        yield path


CHILD = """
import json, os, resource, sys
from remotelab.sandbox.worker.isolation import (
    Plan, enter_shared, harden, inspect_isolation, relax_memory_limit,
)
from remotelab.config import SandboxSettings
plan = Plan(**json.loads(sys.argv[1]))
limits = SandboxSettings(**json.loads(sys.argv[2]))
out = os.dup(1)
try:
    enter_shared(plan)  # as the zygote does, before it forks a worker
    harden(plan, sys.argv[3], limits, os.getppid())
    report = inspect_isolation()
    for key, which in [("cpu", resource.RLIMIT_CPU), ("as", resource.RLIMIT_AS),
                       ("fsize", resource.RLIMIT_FSIZE), ("nofile", resource.RLIMIT_NOFILE)]:
        report[key] = resource.getrlimit(which)
    report["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
    relax_memory_limit()
    report["as_after"] = resource.getrlimit(resource.RLIMIT_AS)
except BaseException as exc:
    report = {"error": repr(exc)}
os.write(out, json.dumps(report).encode())
"""


def hardened(plan: Plan, run_dir: str, limits: SandboxSettings) -> dict[str, Any]:
    """Harden a fresh (single-threaded) interpreter with ``plan``; report what it sees."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            json.dumps(dataclasses.asdict(plan)),
            json.dumps(dataclasses.asdict(limits)),
            run_dir,
        ],
        capture_output=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": PACKAGE_ROOT},
    )
    assert completed.stdout, completed.stderr
    return dict(json.loads(completed.stdout))


def test_plans_strongest_first() -> None:
    plans = candidate_plans()
    assert plans[-1].name == "limits-only" and not plans[-1].seccomp
    if os.geteuid() == 0:
        assert plans[0].name == "root" and plans[0].drop_to_nobody
        if seccomp.supported():  # the filter leaves workers no use of shared ones (ADR 0024)
            assert plans[0].shared_namespaces == CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
            assert plans[0].namespaces == CLONE_NEWNS
        else:
            assert plans[0].shared_namespaces == 0
            assert plans[0].namespaces == CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
    else:
        assert plans[0].name == "user-namespace" and plans[0].namespaces & CLONE_NEWUSER
    assert plans[0].seccomp == seccomp.supported()


def test_the_strongest_working_plan_isolates(run_dir: str) -> None:
    limits = SandboxSettings(cpu_seconds=3, memory_mb=300, max_open_files=12, nice=7)
    plans = candidate_plans()
    for plan in plans:  # as the zygote's probe does
        report = hardened(plan, run_dir, limits)
        if "error" not in report:
            break
    if full_root():  # CI: root with every capability
        assert plan is plans[0], report
        assert (report["uid"], report["gid"]) == (65534, 65534)
    assert report["cpu"] == [3, 4]
    assert report["as"] == [300 * MIB, 364 * MIB]
    assert report["as_after"] == [364 * MIB, 364 * MIB]
    assert report["fsize"] == [0, 0]
    assert report["nofile"] == [12, 12]
    assert report["nice"] == 7
    assert report["capabilities"] == 0
    assert report["no_new_privs"] and report["environment_empty"]
    if plan.seccomp or plan.namespaces:
        assert report["network_isolated"] and report["filesystem_hidden"]
        assert report["processes_blocked"]


def test_limits_only_still_limits(run_dir: str) -> None:
    report = hardened(Plan("limits-only"), run_dir, SandboxSettings())
    assert "error" not in report, report
    assert report["fsize"] == [0, 0]
    assert report["no_new_privs"] and report["environment_empty"]
    assert report["seccomp"] is False
    # As root without a uid switch RLIMIT_NPROC does not hold: the report says so.
    assert report["processes_blocked"] is (os.geteuid() != 0)


def test_a_failing_step_refuses(run_dir: str) -> None:
    report = hardened(Plan("bad", namespaces=-1), run_dir, SandboxSettings())
    assert report["error"].startswith("IsolationError(")


def test_namespace_names() -> None:
    assert namespace_names(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) == ["net", "ipc", "uts"]
    assert namespace_names(0) == []


def test_shared_namespaces_come_only_with_a_filter_that_makes_them_unusable() -> None:
    """ADR 0024: workers share the zygote's network and IPC namespaces only because the
    filter refuses every call that could use them."""
    for plan in candidate_plans():
        if plan.shared_namespaces:
            assert plan.seccomp
            denied = {n for numbers in seccomp.DENIED_X86_64.values() for n in numbers}
            socket_calls = {41, 53, 42, 43, 288, 49, 50}  # socket ... listen
            sysv_ipc = {29, 30, 31, 64, 65, 66, 67, 68, 69, 70, 71}
            assert socket_calls | sysv_ipc <= denied
