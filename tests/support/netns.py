"""Network namespaces for the scale test: each device agent on a host of its own.

    with namespace_hosts(10) as net:                      # root only (see need_root)
        with running_nats_server(host=net.gateway) as nats:    # on the bridge, host side
            ... agent_process(..., prefix=net.hosts[3].exec_prefix) ...

:func:`namespace_hosts` makes a bridge on this host with the gateway address
``10.213.X.1/24`` (``X`` a subnet no interface here uses yet) and, per host, a network
namespace whose ``eth0`` (one end of a veth pair, the other end on the bridge) has
``10.213.X.(10+i)``. Traffic stays between this host and the namespaces made here: there
is no default route in a namespace and no forwarding out of the bridge.

Every name carries the creating process's id (``rlt<pid>-<i>`` for a namespace,
``rlt<pid>br``, ``rlt<pid>h<i>``), so a test run never collides with another one running
at the same time, and names left by a run that crashed (its process gone) are removed by
the next one (:func:`remove_leftovers`). Leaving the block removes what it made, whatever
happened inside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PREFIX = "rlt"
#: ``rlt<pid>-<i>`` (namespace), ``rlt<pid>br`` (bridge), ``rlt<pid>h<i>`` (veth, host end).
NAME = re.compile(rf"^{PREFIX}(\d+)(?:-\d+|br|h\d+)$")
SUBNETS = ipaddress.IPv4Network("10.213.0.0/16")
LOCK = Path("/run/lock/remotelab-test-netns.lock")


class NetnsError(RuntimeError):
    """A command of ``ip`` failed: its arguments and what it printed."""


def root_problem(euid: int, ci: bool) -> tuple[str, str] | None:
    """What to do without root: ``("fail", why)`` in CI, ``("skip", why)`` elsewhere, None
    as root."""
    if euid == 0:
        return None
    if ci:
        return (
            "fail",
            "the scale test creates network namespaces and needs root; CI=true runs it as root "
            f"(running as uid {euid})",
        )
    return ("skip", f"the scale test creates network namespaces and needs root (uid {euid})")


def need_root() -> None:
    """Fail (CI=true) or skip (elsewhere) the calling test when not running as root."""
    problem = root_problem(os.geteuid(), os.environ.get("CI") == "true")
    if problem is None:
        return
    action, why = problem
    if action == "fail":
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


def ip(*args: str) -> str:
    """Run ``ip ARGS``; its output. Raises NetnsError naming the command when it fails."""
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise NetnsError(
            "`ip` is missing: run `bash scripts/ensure-system-packages.sh iproute2`"
            " (the scale test makes network namespaces with it)"
        ) from None
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ours() -> tuple[list[str], list[str]]:
    """The namespaces and links here whose names this module makes: (namespaces, links)."""
    namespaces = [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]
    links = [
        line.split(":")[1].strip().split("@")[0]
        for line in ip("-o", "link", "show").splitlines()
        if ":" in line
    ]
    return [n for n in namespaces if NAME.match(n)], [n for n in links if NAME.match(n)]


def remove_leftovers(*, also_pid: int | None = None) -> list[str]:
    """Remove the namespaces and links of runs whose process is gone (and of ``also_pid``:
    a crashed run that had this process's id); the names removed."""
    namespaces, links = ours()
    removed = []

    def stale(name: str) -> bool:
        match = NAME.match(name)
        assert match is not None
        pid = int(match.group(1))
        return pid == also_pid or not _alive(pid)

    for name in filter(stale, namespaces):
        with contextlib.suppress(NetnsError):  # gone meanwhile
            ip("netns", "delete", name)
            removed.append(name)
    # A veth goes with its namespace's end; a bridge (and a veth whose namespace is gone
    # by another way) is removed here.
    for name in filter(stale, links):
        with contextlib.suppress(NetnsError):
            ip("link", "delete", name)
            removed.append(name)
    return removed


@dataclass(frozen=True)
class Host:
    """One namespace: a host of its own on the test subnet."""

    namespace: str
    link: str  # the veth's end on this host's bridge (down: the host is cut off)
    address: str
    hostname: str

    @property
    def exec_prefix(self) -> list[str]:
        """Run a command in this namespace, under its own host name (a UTS namespace too),
        as the same process (``ip netns exec``, ``unshare`` and ``sh`` each exec the next)."""
        return [
            "ip",
            "netns",
            "exec",
            self.namespace,
            "unshare",
            "--uts",
            "sh",
            "-c",
            'hostname "$0" && exec "$@"',
            self.hostname,
        ]

    def cut(self) -> None:
        """Take this host off the network (its link on the bridge down)."""
        ip("link", "set", self.link, "down")

    def mend(self) -> None:
        ip("link", "set", self.link, "up")


@dataclass(frozen=True)
class Network:
    bridge: str
    gateway: str  # this host's address on the bridge
    hosts: list[Host]


def _free_subnet() -> ipaddress.IPv4Network:
    used = [
        ipaddress.ip_interface(line.split()[3]).network
        for line in ip("-o", "-4", "addr", "show").splitlines()
    ]
    for subnet in SUBNETS.subnets(new_prefix=24):
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise NetnsError(f"no free /24 left in {SUBNETS} for the test's namespaces")


@contextlib.contextmanager
def namespace_hosts(count: int) -> Iterator[Network]:
    """``count`` namespaces on a bridge (see the module docstring); all removed after."""
    pid = os.getpid()
    bridge = f"{PREFIX}{pid}br"
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    made = False
    try:
        with LOCK.open("w") as lock:
            # One run at a time chooses a subnet and claims it (with its bridge's address).
            fcntl.flock(lock, fcntl.LOCK_EX)
            remove_leftovers(also_pid=pid)
            subnet = _free_subnet()
            gateway = str(subnet.network_address + 1)
            made = True
            ip("link", "add", bridge, "type", "bridge")
            ip("addr", "add", f"{gateway}/{subnet.prefixlen}", "dev", bridge)
            ip("link", "set", bridge, "up")
        hosts = []
        for i in range(count):
            host = Host(
                namespace=f"{PREFIX}{pid}-{i}",
                link=f"{PREFIX}{pid}h{i}",
                address=str(subnet.network_address + 10 + i),
                hostname=f"netns-host-{i}",
            )
            ip("netns", "add", host.namespace)
            ip("link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns",
               host.namespace)  # fmt: skip
            ip("link", "set", host.link, "master", bridge, "up")
            ip("-n", host.namespace, "addr", "add", f"{host.address}/{subnet.prefixlen}", "dev",
               "eth0")  # fmt: skip
            ip("-n", host.namespace, "link", "set", "eth0", "up")
            ip("-n", host.namespace, "link", "set", "lo", "up")
            hosts.append(host)
        yield Network(bridge, gateway, hosts)
    finally:
        if made:
            remove_leftovers(also_pid=pid)
