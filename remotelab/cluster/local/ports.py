"""Loopback ports for the servers a local lab (and the test suite) starts."""

from __future__ import annotations

import errno
import socket


class PortTaken(RuntimeError):
    """A port asked for is in use on 127.0.0.1."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_free(port: int, what: str) -> None:
    """Raise :class:`PortTaken` naming ``what`` when 127.0.0.1:``port`` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As a server binds it: a port left in TIME_WAIT by a run just stopped is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTaken(
                    f"port {port} on 127.0.0.1 (for {what}) is already in use: stop what "
                    "listens there or choose another port"
                ) from None
            raise PortTaken(f"port {port} on 127.0.0.1 (for {what}): {exc.strerror}") from None
