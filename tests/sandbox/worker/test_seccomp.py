"""The seccomp filter: its program checked by a small BPF evaluator, then by the kernel."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import socket
import struct
from collections.abc import Callable

import numpy.fft  # noqa: F401 - loaded before the fork: a filtered child cannot open files
import pytest

from remotelab.sandbox.worker import seccomp

PID = 4242


def evaluate(program: list[seccomp.Instruction], nr: int, arch: int, arg0: int = 0) -> int:
    """Run the filter on one system call, the way the kernel's BPF interpreter would."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    accumulator = 0
    pc = 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:  # ld [k]
            (accumulator,) = struct.unpack_from("<I", data, k)
            pc += 1
        elif code in (0x15, 0x35):  # jeq / jge
            taken = accumulator == k if code == 0x15 else accumulator >= k
            pc += 1 + (jt if taken else jf)
        elif code == 0x06:  # ret
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def x86(nr: int, arg0: int = 0) -> int:
    return evaluate(seccomp.build_filter(PID), nr, seccomp.AUDIT_ARCH_X86_64, arg0)


def test_jumps_stay_inside_the_program() -> None:
    program = seccomp.build_filter(PID)
    for index, (code, jt, jf, _k) in enumerate(program):
        if code in (0x15, 0x35):
            assert index + 1 + max(jt, jf) < len(program)
            assert jt < 256 and jf < 256
    assert program[-1] == (0x06, 0, 0, seccomp.RET_ALLOW)
    assert len(seccomp.encode(program)) == 8 * len(program)


@pytest.mark.parametrize(
    ("group", "code"),
    [("network", errno.EPERM), ("files", errno.EACCES), ("processes", errno.EAGAIN)],
)
def test_denied_calls_get_their_errno(group: str, code: int) -> None:
    for nr in seccomp.DENIED_X86_64[group]:
        assert x86(nr) == seccomp.RET_ERRNO | code, nr


@pytest.mark.parametrize("nr", [0, 1, 3, 9, 10, 11, 12, 13, 14, 39, 44, 45, 60, 202, 228, 231, 318])
def test_ordinary_calls_are_allowed(nr: int) -> None:
    # read write close mmap mprotect munmap brk rt_sigaction rt_sigprocmask getpid
    # sendto recvfrom exit futex clock_gettime exit_group getrandom
    assert x86(nr) == seccomp.RET_ALLOW


def test_signals_only_to_itself() -> None:
    for nr in seccomp.SELF_SIGNAL_X86_64:
        assert x86(nr, PID) == seccomp.RET_ALLOW
        assert x86(nr, 1) == seccomp.RET_ERRNO | errno.EPERM
        assert x86(nr, 0xFFFFFFFF) == seccomp.RET_ERRNO | errno.EPERM  # kill(-1, ...)


def test_other_abis_are_killed() -> None:
    program = seccomp.build_filter(PID)
    assert evaluate(program, 41, 0x40000003) == seccomp.RET_KILL_PROCESS  # i386
    assert x86(41 | seccomp.X32_SYSCALL_BIT) == seccomp.RET_KILL_PROCESS  # x32


def in_filtered_child(check: Callable[[], dict[str, object]]) -> dict[str, object]:
    """Fork, install the filter, run ``check``, return its report."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.prctl(38, 1, 0, 0, 0) == 0  # no_new_privs
            seccomp.install()
            report = check()
        except BaseException as exc:
            report = {"error": repr(exc)}
        os.write(write_fd, json.dumps(report).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as reader:
        data = reader.read()
    os.waitpid(pid, 0)
    return dict(json.loads(data))


def outcome(action: Callable[[], object]) -> str:
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return "ok"


def test_the_kernel_enforces_it() -> None:
    if not seccomp.supported():  # the filter exists for x86_64 only (see the module)
        with pytest.raises(OSError):
            seccomp.install()
        return

    def check() -> dict[str, object]:
        import numpy as np

        return {
            "mode": seccomp.mode(),
            "socket": outcome(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
            "unix": outcome(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
            "open": outcome(lambda: open("/etc/hostname", "rb")),
            "fork": outcome(os.fork),
            "kill-init": outcome(lambda: os.kill(1, 0)),
            "kill-self": outcome(lambda: os.kill(os.getpid(), 0)),
            "mkdir": outcome(lambda: os.mkdir("/tmp/remotelab-seccomp-test")),
            "numpy": float(np.fft.rfft(np.ones(8))[0].real),
        }

    assert in_filtered_child(check) == {
        "mode": 2,
        "socket": "EPERM",
        "unix": "EPERM",
        "open": "EACCES",
        "fork": "EAGAIN",
        "kill-init": "EPERM",
        "kill-self": "ok",
        "mkdir": "EACCES",
        "numpy": 8.0,
    }


def test_a_prepared_filter_names_each_workers_own_pid() -> None:
    """The zygote builds the filter once; each forked worker loads it with its own pid."""
    if not seccomp.supported():
        return
    seccomp.prepare()

    def check() -> dict[str, object]:
        return {
            "own": seccomp.installed_program() == seccomp.build_filter(os.getpid()),
            "kill-self": outcome(lambda: os.kill(os.getpid(), 0)),
            "kill-parent": outcome(lambda: os.kill(os.getppid(), 0)),
        }

    first, second = in_filtered_child(check), in_filtered_child(check)
    assert first == second == {"own": True, "kill-self": "ok", "kill-parent": "EPERM"}
