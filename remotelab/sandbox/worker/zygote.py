"""The zygote: a warm, single-threaded process that forks one fresh worker per run.

Started by the server as ``python -I -c <bootstrap>`` (a fresh interpreter, not
a fork of the server, with an environment that holds no secrets). It imports
numpy, RestrictedPython and the facades, runs a warm-up script so that lazy
imports are done, probes which isolation plan works here, then serves the
control socket (protocol in :mod:`remotelab.sandbox.protocol`): for each
``run`` it forks a worker that owns the passed socket, watches it through a
pidfd, reaps it with ``wait4`` (CPU time and peak RSS), takes what the worker
offered to the code cache (:mod:`remotelab.sandbox.worker.codecache`) and reports
its exit.
It kills a worker when the server asks (it is the parent, so the pid cannot
have been reused), and all of them when the server goes away.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from remotelab.config import SandboxSettings
from remotelab.sandbox.protocol import CONTROL_DATAGRAM_BYTES, Job
from remotelab.sandbox.worker import seccomp
from remotelab.sandbox.worker.child import compile_rehearsal, worker_main
from remotelab.sandbox.worker.codecache import CodeCache, offer_pipe, read_offers
from remotelab.sandbox.worker.isolation import (
    IsolationError,
    Plan,
    candidate_plans,
    enter_shared,
    harden,
    inspect_isolation,
    namespace_names,
)
from remotelab.sandbox.worker.runner import execute

# Exercises the lazy imports of numpy (npy_cache_import) and of the facades
# once, in the zygote, so that workers never need to load a module.
WARM_UP = """
import math, cmath, statistics, random, time
import numpy as np
from numpy import fft, linalg
x = np.linspace(0, 1, 64)
y = np.sin(2 * np.pi * 5 * x) + np.random.normal(0, 0.1, 64)
s = [x.mean(), x.std(), x.var(), x.sum(), x.min(), x.max(), x.argmax(), x.cumsum()[-1]]
s += [np.median(y), np.percentile(y, 50), np.polyfit(x, y, 2), np.polyval([1, 2], 3)]
s += [abs(np.fft.rfft(y)), np.fft.rfftfreq(64, 0.1), np.linalg.norm(y), np.histogram(y)]
s += [np.interp(0.5, x, y), np.convolve(y, y), np.unique(np.round(y)), y.astype('float32')]
s += [np.linalg.solve(np.eye(2), [1, 2]), np.random.default_rng(1).random(3), np.trapezoid(y, x)]
s += [statistics.mean([1, 2]), statistics.stdev([1.0, 2.0]), random.random(), math.sqrt(2)]
s += [np.array([1, 2]) == np.array([1, 3]), np.allclose(x, x), np.sort(y)[::-1], np.diff(y)]
s += [time.strftime('%Y'), time.localtime(), '%5.2f' % 3.14159, f'{x[0]:.3f}', str(y[:3]), repr(x)]
s += ['é'.encode('utf-16'), 'é'.encode('latin-1'), 'x'.encode('ascii'), b'x'.decode('cp1252')]
print(s[0], x[:2])
plot(x, y)
label('warm')
"""


#: The ``started`` message (JSON; ``% (run_id, pid)``).
STARTED = b'{"op": "started", "id": %d, "pid": %d}'


@dataclass
class _Child:
    run_id: int
    pid: int
    pidfd: int
    run_dir: str
    offers: int  # the read end of its code-cache offer pipe


# Nothing of the server may be in the zygote's memory, hence in a worker's. (The
# remotelab.sandbox package, run before this module, loads its own server side:
# classes only, no state, and the zygote never calls them.)
FORBIDDEN_MODULES = (
    "pslab",
    "serial",
    "quart",
    "hypercorn",
    "sqlalchemy",
    "jwt",
    "remotelab.device",
    "remotelab.storage",
    "remotelab.auth",
    "remotelab.api",
    "remotelab.app",
    "remotelab.cli",
    "remotelab.streaming",
)
# remotelab.config is allowed: the job's limits are its sections (plain numbers). It
# holds declarations only; no setting's value is ever read in the zygote.


def check_imports() -> None:
    """Raise ``RuntimeError`` if a server module was imported into this process."""
    loaded = sorted(
        name
        for name in sys.modules
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_MODULES)
    )
    if loaded:
        raise RuntimeError(f"the zygote imported server modules: {', '.join(loaded)}")


def warm_up() -> None:
    """Run the warm-up script in this process; raise if it did not succeed."""
    result = execute(Job(WARM_UP), None, device=False, validate=False)
    if result["status"] != "ok":
        raise RuntimeError(f"sandbox warm-up failed: {result['error']}")


def vm_size_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1])
    return 0


def probe(base_dir: str) -> tuple[Plan, dict[str, Any]]:
    """Try the candidate plans in a throwaway child; return the first that works and its report.

    A plan's shared namespaces are entered here, by the zygote itself, before its probe
    child is forked (irreversibly: a weaker plan tried next runs inside them too)."""
    failures: list[str] = []
    for plan in candidate_plans():
        try:
            enter_shared(plan)
        except IsolationError as exc:
            failures.append(f"{plan.name}: {exc}")
            continue
        read_fd, write_fd = os.pipe()
        run_dir = tempfile.mkdtemp(dir=base_dir)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the probe child
            report: dict[str, Any]
            try:
                os.close(read_fd)
                harden(plan, run_dir, SandboxSettings(), os.getppid())
                report = {"ok": True, **inspect_isolation()}
            except BaseException as exc:
                report = {"ok": False, "error": str(exc)}
            os.write(write_fd, json.dumps(report).encode())
            os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as reader:
            data = reader.read()
        os.waitpid(pid, 0)
        shutil.rmtree(run_dir, ignore_errors=True)
        report = json.loads(data) if data else {"ok": False, "error": "probe died"}
        if report.pop("ok"):
            report["plan"] = plan.name
            report["shared_namespaces"] = namespace_names(plan.shared_namespaces)
            report["not_enforced"] = _gaps(report, failures)
            return plan, report
        failures.append(f"{plan.name}: {report.get('error')}")
    raise IsolationError("no isolation plan works: " + "; ".join(failures))


def _gaps(report: dict[str, Any], failures: list[str]) -> list[str]:
    gaps = [f"stronger plan failed ({failure})" for failure in failures]
    if not report.get("network_isolated"):
        gaps.append("network: the worker shares the server's network")
    if not report.get("filesystem_hidden"):
        gaps.append("filesystem: the worker sees the server's files (permissions only)")
    if not report.get("processes_blocked"):
        gaps.append("processes: RLIMIT_NPROC is not enforced (root without a uid switch)")
    if os.geteuid() != 0:
        gaps.append("uid: the worker runs as the zygote's user (no uid switch without root)")
    if report.get("capabilities"):
        gaps.append("capabilities: the worker keeps some")
    if not report.get("seccomp"):
        gaps.append("seccomp: no system call filter")
    return gaps


class Zygote:
    """The fork server loop. One instance per zygote process."""

    def __init__(
        self, control: socket.socket, plan: Plan, base_dir: str, rehearsal: CodeType | None = None
    ) -> None:
        self.control = control
        self.plan = plan
        self.base_dir = base_dir
        # A bare epoll and a dict, not the selectors module: each Python object the loop
        # touches between two forks is a page copied (the last worker shares them all).
        self.poller = select.epoll()
        #: The workers' pidfds, watched for their exit.
        self.watched: dict[int, _Child] = {}
        self.children: dict[int, _Child] = {}
        #: Compiled scripts, inherited by every worker forked after they came in.
        self.cache = CodeCache(SandboxSettings().code_cache_bytes)
        #: What each worker runs once before its job (worker/child.py; None: nothing).
        self.rehearsal = rehearsal
        self._limits: tuple[dict[str, Any], SandboxSettings] | None = None

    def send(self, message: dict[str, Any]) -> None:
        # If the server is gone, the next recv ends the loop; nothing to report to.
        with contextlib.suppress(OSError):
            self.control.send(json.dumps(message).encode())

    def serve(self) -> None:
        """Serve until the server closes the control socket."""
        control = self.control.fileno()
        self.poller.register(control, select.EPOLLIN)
        while True:
            for fd, _events in self.poller.poll():
                if fd == control:
                    if not self.on_control():
                        return
                else:
                    self.reap(self.watched[fd])

    def on_control(self) -> bool:
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.control, CONTROL_DATAGRAM_BYTES, 1)
        except BlockingIOError:
            return True
        except OSError:  # the server went away (ECONNRESET when it left data unread)
            return False
        if not data:
            return False
        try:
            message = json.loads(data)
            op = message["op"]
            run_id = int(message["id"])
        except (ValueError, KeyError, TypeError):
            op, run_id = None, -1
        if op == "run" and len(fds) == 1:
            run_socket = socket.socket(fileno=fds[0])
            try:
                limits = self.limits_of(message["limits"])
            except Exception as exc:
                run_socket.close()
                self.send({"op": "failed", "id": run_id, "message": f"bad limits: {exc}"})
            else:
                self.spawn(run_id, run_socket, limits)
        elif op == "kill":
            self.kill(run_id)
            for fd in fds:
                os.close(fd)
        elif op == "sample":
            self.kill(run_id, signal.SIGUSR1)
            for fd in fds:
                os.close(fd)
        else:
            for fd in fds:
                os.close(fd)
        return True

    def limits_of(self, fields: dict[str, Any]) -> SandboxSettings:
        """The limits a run message gives (the last ones again when unchanged: a pool
        sends the same for every run)."""
        if self._limits is None or fields != self._limits[0]:
            self._limits = (fields, SandboxSettings(**fields))
        return self._limits[1]

    def spawn(self, run_id: int, run_socket: socket.socket, limits: SandboxSettings) -> None:
        self.cache.resize(limits.code_cache_bytes)
        run_dir = os.path.join(self.base_dir, str(run_id))
        try:
            os.mkdir(run_dir, 0o500)  # the worker's root: empty, not writable
        except FileExistsError:
            run_dir = tempfile.mkdtemp(dir=self.base_dir)
            os.chmod(run_dir, 0o500)
        try:
            offers, offers_child = offer_pipe()
        except OSError as exc:
            run_socket.close()
            os.rmdir(run_dir)
            self.send({"op": "failed", "id": run_id, "message": f"pipe failed: {exc}"})
            return
        try:
            pid = os.fork()
        except OSError as exc:
            run_socket.close()
            os.close(offers)
            os.close(offers_child)
            os.rmdir(run_dir)
            self.send({"op": "failed", "id": run_id, "message": f"fork failed: {exc}"})
            return
        if pid == 0:  # pragma: no cover - the worker
            try:
                worker_main(
                    run_socket,
                    run_dir,
                    self.plan,
                    os.getppid(),
                    limits,
                    self.cache,
                    offers_child,
                    self.rehearsal,
                )
            finally:
                os._exit(70)
        run_socket.close()
        os.close(offers_child)  # before any other fork: the worker holds the only writer
        pidfd = os.pidfd_open(pid)
        child = _Child(run_id, pid, pidfd, run_dir, offers)
        self.children[run_id] = child
        self.watched[pidfd] = child
        self.poller.register(pidfd, select.EPOLLIN)
        with contextlib.suppress(OSError):  # as send(), without building the JSON each time
            self.control.send(STARTED % (run_id, pid))

    def kill(self, run_id: int, signum: int = signal.SIGKILL) -> None:
        child = self.children.get(run_id)
        if child is not None:  # not reaped yet, so the pidfd still names it
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(child.pidfd, signum)

    def reap(self, child: _Child, *, report: bool = True) -> None:
        _pid, status, usage = os.wait4(child.pid, 0)
        self.poller.unregister(child.pidfd)
        del self.watched[child.pidfd]
        os.close(child.pidfd)
        self.children.pop(child.run_id, None)
        try:
            os.rmdir(child.run_dir)
        except OSError:  # not empty: a worker without a private root may have left files
            shutil.rmtree(child.run_dir, ignore_errors=True)
        # What the worker compiled (or found) before its script ran; never what came after.
        self.cache.absorb(read_offers(child.offers))
        if not report:
            return
        self.send(
            {
                "op": "exit",
                "id": child.run_id,
                "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000, 3),
                "max_rss_kb": usage.ru_maxrss,
                "code_cache": self.cache.info().to_dict(),
            }
        )

    def shutdown(self) -> None:
        for child in list(self.children.values()):
            self.kill(child.run_id)
            self.reap(child, report=False)
        shutil.rmtree(self.base_dir, ignore_errors=True)


BASE_PREFIX = "remotelab-sandbox-"


def remove_stale_dirs() -> None:
    """Remove the run folders of zygotes that died without cleaning up (killed)."""
    root = tempfile.gettempdir()
    for entry in os.listdir(root):
        if not entry.startswith(BASE_PREFIX):
            continue
        pid_text = entry[len(BASE_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or os.path.exists(f"/proc/{pid_text}"):
            continue  # another server's, or still running
        shutil.rmtree(os.path.join(root, entry), ignore_errors=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    """Entry point: ``argv[0]`` is the control socket's file descriptor."""
    control = socket.socket(fileno=int(argv[0]))
    signal.signal(signal.SIGTERM, _terminate)
    os.chdir("/")
    remove_stale_dirs()
    base_dir = tempfile.mkdtemp(prefix=f"{BASE_PREFIX}{os.getpid()}-")
    zygote: Zygote | None = None
    try:
        try:
            warm_up()
            check_imports()
            if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
                raise RuntimeError("the zygote is not single-threaded; it must not fork")
            plan, report = probe(base_dir)
            rehearsal = compile_rehearsal()
            if plan.seccomp:
                seccomp.prepare()
        except Exception as exc:
            control.send(json.dumps({"op": "error", "message": str(exc)}).encode())
            return 1
        # Workers get an empty environment (isolation.harden clears theirs): clearing the
        # zygote's once leaves them nothing to clear.
        os.environ.clear()
        gc.collect()
        gc.freeze()  # keep the warm heap shared between workers (copy-on-write)
        zygote = Zygote(control, plan, base_dir, rehearsal)
        zygote.send({"op": "ready", "pid": os.getpid(), "isolation": report, "vm_kb": vm_size_kb()})
        zygote.serve()
    finally:
        if zygote is not None:
            zygote.shutdown()
        shutil.rmtree(base_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
