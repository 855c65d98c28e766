"""Process-level isolation of a worker, applied in the forked child before user code runs.

A :class:`Plan` says which kernel features the worker uses; the zygote picks
the strongest plan that works on this machine by running :func:`probe` once
at start, and every worker then applies that plan with :func:`harden` (a step
that fails refuses the run rather than run it with less isolation).

As root: a new mount namespace, in which the root directory becomes an empty
read-only tmpfs (``chroot``), and new network, IPC and UTS namespaces — made once by
the zygote and shared by its workers when the seccomp filter leaves them no call to
use them (ADR 0024), else one per worker; the worker switches to ``nobody``
(65534:65534) so that ``RLIMIT_NPROC`` applies and no capability is left.
Not root: the same namespaces inside a new user namespace, when the kernel
allows unprivileged user namespaces, then every capability dropped; else only
resource limits. In every plan: resource limits (CPU, address space, file
size 0, few files, no processes or threads, no core), ``no_new_privs``, not
dumpable, killed with the zygote, empty environment, and (on x86_64) a
seccomp filter (:mod:`remotelab.sandbox.worker.seccomp`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import socket
from dataclasses import dataclass
from typing import Any

from remotelab.config import MIB, SandboxSettings
from remotelab.sandbox.worker import seccomp

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39

NOBODY = 65534
# Headroom above the soft address-space limit: after the script ends, the
# worker raises its soft limit to the hard one to encode the result.
RESULT_HEADROOM_BYTES = 64 * MIB

_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(Exception):
    """A hardening step failed."""


@dataclass(frozen=True)
class Plan:
    """Which isolation a worker applies. See the module docstring."""

    name: str
    #: Namespaces each worker unshares for itself.
    namespaces: int = 0
    private_root: bool = False
    drop_to_nobody: bool = False
    seccomp: bool = False
    #: Namespaces the zygote enters once, before it forks a worker (:func:`enter_shared`):
    #: its workers share them. Only in a plan with the seccomp filter, which leaves a worker
    #: no call that could reach another through them (no socket, no System V IPC; a POSIX
    #: message queue cannot be made with RLIMIT_MSGQUEUE 0; a hostname needs a capability).
    shared_namespaces: int = 0


NAMESPACES = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
#: Shared by the workers of one zygote as root with the seccomp filter (ADR 0024): making and
#: tearing down a network namespace for each worker cost about 0.75 ms of CPU per run.
SHARED_NAMESPACES = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS


def candidate_plans() -> list[Plan]:
    """Plans to try, strongest first, for the current user and architecture."""
    filter_ = seccomp.supported()
    plans = [Plan("limits-only", seccomp=filter_)]
    if filter_:
        plans.append(Plan("limits-only"))  # in case the kernel refuses the filter
    if os.geteuid() == 0:
        if filter_:
            own, shared = NAMESPACES & ~SHARED_NAMESPACES, SHARED_NAMESPACES
        else:
            own, shared = NAMESPACES, 0
        root = Plan(
            "root", own, True, drop_to_nobody=True, seccomp=filter_, shared_namespaces=shared
        )
        return [root, *plans]
    return [Plan("user-namespace", CLONE_NEWUSER | NAMESPACES, True, seccomp=filter_), *plans]


def namespace_names(namespaces: int) -> list[str]:
    """The names (as in ``/proc/<pid>/ns/``) of the namespaces in ``namespaces``."""
    names = [(CLONE_NEWNET, "net"), (CLONE_NEWNS, "mnt"), (CLONE_NEWIPC, "ipc")]
    names += [(CLONE_NEWUTS, "uts"), (CLONE_NEWUSER, "user")]
    return [name for flag, name in names if namespaces & flag]


def enter_shared(plan: Plan) -> None:
    """Move this process (the zygote, before it forks any worker) into new namespaces of
    ``plan.shared_namespaces``, which its workers then share. Raises :class:`IsolationError`."""
    if plan.shared_namespaces:
        _check(_libc.unshare(ctypes.c_int(plan.shared_namespaces)), "unshare (shared)")


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise IsolationError(f"{what}: {os.strerror(code)}")


def _prctl(option: int, value: int) -> int:
    return int(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0))


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            None if fstype is None else fstype.encode(),
            ctypes.c_ulong(flags),
            None if data is None else data.encode(),
        ),
        f"mount {target}",
    )


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_CAP_VERSION_3 = 0x20080522


def drop_capabilities() -> None:
    """Clear the effective, permitted and inheritable capability sets."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def effective_capabilities() -> int:
    """The effective capability bits of this process (0 when none)."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(header), data), "capget")
    return int(data[0].effective) | (int(data[1].effective) << 32)


def set_limits(limits: SandboxSettings) -> None:
    """Resource limits of a worker (see :class:`~remotelab.config.SandboxSettings`)."""
    cpu = max(1, int(limits.cpu_seconds))
    rules = [
        # SIGXCPU at the soft limit (kills: no handler), SIGKILL a second later.
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes + RESULT_HEADROOM_BYTES),
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_NOFILE, limits.max_open_files, limits.max_open_files),
        (resource.RLIMIT_NPROC, 0, 0),  # no fork, no threads (for non-root users)
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_MEMLOCK, 0, 0),
        (resource.RLIMIT_MSGQUEUE, 0, 0),
    ]
    for which, soft, hard in rules:
        resource.setrlimit(which, (soft, hard))
    # Lower priority than the server: a CPU-bound script must not slow the event loop.
    os.setpriority(os.PRIO_PROCESS, 0, min(19, max(1, int(limits.nice))))


def relax_memory_limit() -> None:
    """Raise the soft address-space limit to the hard one (trusted code, after the script)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _private_root(run_dir: str) -> None:
    # Stop mount propagation back to the host, then put an empty read-only
    # tmpfs on the run directory and make it the root: no file is visible.
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    _mount(
        "sandbox",
        run_dir,
        "tmpfs",
        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
        "size=4k,nr_inodes=4,mode=555",
    )
    os.chroot(run_dir)
    os.chdir("/")


def harden(plan: Plan, run_dir: str, limits: SandboxSettings, parent_pid: int) -> None:
    """Apply ``plan`` to this (single-threaded, forked) process. Raises :class:`IsolationError`.

    Order matters: namespaces and ``chroot`` need privileges that the uid
    switch and the capability drop then remove; ``PDEATHSIG`` is set last
    because a credential change clears it.
    """
    try:
        if plan.namespaces:
            _check(_libc.unshare(ctypes.c_int(plan.namespaces)), "unshare")
        if plan.private_root:
            _private_root(run_dir)
        else:
            os.chdir(run_dir)
        set_limits(limits)
        if plan.drop_to_nobody:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
        _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
        if plan.namespaces or plan.drop_to_nobody:
            drop_capabilities()
        _check(_prctl(PR_SET_DUMPABLE, 0), "dumpable")
        _check(_prctl(PR_SET_PDEATHSIG, signal.SIGKILL), "pdeathsig")
        if os.getppid() != parent_pid:  # the zygote died before PDEATHSIG was set
            raise IsolationError("the zygote is gone")
        os.environ.clear()
        if plan.seccomp:
            seccomp.install()  # last: it forbids calls the steps above make
    except OSError as exc:
        raise IsolationError(f"{type(exc).__name__}: {exc}") from None


def inspect_isolation() -> dict[str, Any]:
    """What a hardened worker can and cannot do, checked from inside (used by the probe)."""
    report: dict[str, Any] = {"uid": os.getuid(), "gid": os.getgid()}
    try:
        probe_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        report["network_isolated"] = True
    else:
        with probe_socket:
            code = probe_socket.connect_ex(("127.0.0.1", 9))
        # A fresh network namespace has only a loopback that is down.
        report["network_isolated"] = code in (errno.ENETUNREACH, errno.EACCES, errno.EPERM)
    try:
        with open("/etc/passwd", "rb"):
            report["filesystem_hidden"] = False
    except OSError:
        report["filesystem_hidden"] = True
    try:
        pid = os.fork()
    except OSError:
        report["processes_blocked"] = True
    else:
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        report["processes_blocked"] = False
    report["capabilities"] = effective_capabilities()
    report["no_new_privs"] = _prctl(PR_GET_NO_NEW_PRIVS, 0) == 1
    report["environment_empty"] = not os.environ
    report["seccomp"] = seccomp.mode() == seccomp.SECCOMP_MODE_FILTER
    return report
