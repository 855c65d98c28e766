"""A seccomp filter for workers: the last layer, below the Python-level policy.

A script cannot make system calls; this filter matters only if a Python-level
escape were found. It then refuses what an escaped worker could still use:
creating sockets, running programs, making processes or threads, tracing or
signalling other processes (workers share the uid ``nobody``), opening or
changing files, namespaces and mounts, and kernel interfaces with a history of
holes (``bpf``, ``io_uring``, ``userfaultfd``, ``perf_event_open``, keyrings).
Everything else is allowed (it is a deny list: Python and numpy need a broad
set of calls). A call from another architecture ABI kills the process.

Only x86_64 is described here (CI and the lab servers); elsewhere
:func:`supported` is false and the isolation report says so.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import struct
from dataclasses import dataclass

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
DENIED_X86_64: dict[str, tuple[int, ...]] = {
    # new sockets and connections (the run socket already exists); with "ipc" below, what
    # lets workers share the zygote's network and IPC namespaces (isolation.py, ADR 0024)
    # socket socketpair connect accept accept4 bind listen
    "network": (41, 53, 42, 43, 288, 49, 50),
    # programs, processes, threads
    "processes": (59, 322, 57, 58, 56, 435),  # execve execveat fork vfork clone clone3
    # other processes' memory
    "tracing": (101, 310, 311),  # ptrace process_vm_readv process_vm_writev
    # files: opening and changing
    "files": (
        2, 257, 437, 85,  # open openat openat2 creat
        133, 259, 90, 91, 268, 92, 93, 94, 260,  # mknod mknodat chmod fchmod fchmodat chown...
        86, 265, 88, 266, 87, 263, 82, 264, 316,  # link symlink unlink rename and their *at
        83, 258, 84, 76,  # mkdir mkdirat rmdir truncate
        304, 303,  # open_by_handle_at name_to_handle_at
    ),
    # System V IPC (shared memory of other processes; isolated anyway in an IPC namespace)
    "ipc": (29, 30, 31, 64, 65, 66, 67, 68, 69, 70, 71),
    # namespaces, mounts, roots
    "namespaces": (272, 308, 165, 166, 155, 161),  # unshare setns mount umount2 pivot_root chroot
    # risky kernel interfaces
    "kernel": (
        321, 298, 323, 250, 248, 249,  # bpf perf_event_open userfaultfd keyctl add_key...
        425, 426, 427,  # io_uring_setup io_uring_enter io_uring_register
        175, 313, 176, 246, 320, 169, 167, 168, 163, 135,  # modules kexec reboot swap acct...
    ),
}  # fmt: skip
# kill tkill tgkill: allowed only when the first argument is the worker itself.
SELF_SIGNAL_X86_64 = (62, 200, 234)

ERRNO_FOR_GROUP = {"files": errno.EACCES, "processes": errno.EAGAIN}
# Calls numbered below this are the frequent ones (read, write, mmap, brk, signals...):
# they get a short path through the filter.
FAST_PATH_BELOW = 41

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
OFFSET_NR = 0
OFFSET_ARCH = 4
OFFSET_ARG0 = 16

PR_SET_SECCOMP = 22
PR_GET_SECCOMP = 21
SECCOMP_MODE_FILTER = 2

Instruction = tuple[int, int, int, int]  # code, jump if true, jump if false, k


def supported() -> bool:
    """Whether this module has a filter for the running architecture."""
    return platform.machine() == "x86_64"


def build_filter(pid: int) -> list[Instruction]:
    """The BPF program for a worker whose pid is ``pid`` (pure; x86_64)."""
    program: list[Instruction] = [
        (_LD_W_ABS, 0, 0, OFFSET_ARCH),
        (_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        (_RET_K, 0, 0, RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, OFFSET_NR),
        (_JGE_K, 0, 1, X32_SYSCALL_BIT),  # the x32 ABI would bypass the numbers below
        (_RET_K, 0, 0, RET_KILL_PROCESS),
    ]
    denied = [
        (number, ERRNO_FOR_GROUP.get(group, errno.EPERM))
        for group, numbers in DENIED_X86_64.items()
        for number in numbers
    ]
    low = [(n, code) for n, code in denied if n < FAST_PATH_BELOW]
    program.append((_JGE_K, 2 * len(low) + 1, 0, FAST_PATH_BELOW))
    for number, code in low:
        program += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, RET_ERRNO | code)]
    program.append((_RET_K, 0, 0, RET_ALLOW))
    for number, code in denied:
        if number >= FAST_PATH_BELOW:
            program += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, RET_ERRNO | code)]
    for number in SELF_SIGNAL_X86_64:
        program += [
            (_JEQ_K, 0, 4, number),
            (_LD_W_ABS, 0, 0, OFFSET_ARG0),
            (_JEQ_K, 0, 1, pid),
            (_RET_K, 0, 0, RET_ALLOW),
            (_RET_K, 0, 0, RET_ERRNO | errno.EPERM),
        ]
    program.append((_RET_K, 0, 0, RET_ALLOW))
    return program


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


@dataclass(frozen=True)
class _Template:
    """The filter as the kernel reads it, built once: only the pid slots change per worker."""

    filters: ctypes.Array[_SockFilter]
    fprog: _SockFprog
    pid_slots: tuple[int, ...]
    libc: ctypes.CDLL


@functools.cache
def _template() -> _Template:
    program = build_filter(0)
    slots = tuple(
        i
        for i, instruction in enumerate(program)
        if instruction == (_JEQ_K, 0, 1, 0) and program[i - 1] == (_LD_W_ABS, 0, 0, OFFSET_ARG0)
    )
    if len(slots) != len(SELF_SIGNAL_X86_64):  # else kill(0, ...) would pass: the group
        raise RuntimeError("the seccomp filter's pid slots are not where they were expected")
    filters = (_SockFilter * len(program))(*(_SockFilter(*ins) for ins in program))
    libc = ctypes.CDLL(None, use_errno=True)
    return _Template(filters, _SockFprog(len(program), filters), slots, libc)


def prepare() -> None:
    """Build the filter ahead of time (the zygote does, once: every worker it forks then
    only writes its pid into the copy it inherited, instead of building the program)."""
    if supported():
        _template()


def install() -> None:
    """Install the filter on this process (needs ``no_new_privs``). Raises ``OSError``.

    Irreversible, and inherited by nothing (workers make no children).
    """
    if not supported():
        raise OSError(errno.ENOSYS, f"no seccomp filter for {platform.machine()}")
    template = _template()
    pid = os.getpid()
    for slot in template.pid_slots:
        template.filters[slot].k = pid
    libc = template.libc
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(template.fprog), 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"seccomp: {os.strerror(code)}")


def installed_program() -> list[Instruction]:
    """The program :func:`install` loads in this process, as built (for tests)."""
    template = _template()
    return [(f.code, f.jt, f.jf, f.k) for f in template.filters]


def mode() -> int:
    """This process's seccomp mode (0 none, 2 filter)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0))


def encode(program: list[Instruction]) -> bytes:
    """The program as the kernel reads it (for tests and inspection)."""
    return b"".join(struct.pack("<HBBI", *instruction) for instruction in program)
