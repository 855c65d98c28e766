"""Loopback ports for the real servers the tests and benchmarks start."""

from __future__ import annotations

from remotelab.cluster.local.ports import free_port

__all__ = ["free_port"]
