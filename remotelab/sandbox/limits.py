"""The bounds of one sandboxed run (DESIGN.md §4, §10).

Every bound is a field with a default; the lead surfaces them as settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """Caps on one script run. Raises :class:`ValueError` for a non-positive field."""

    wall_seconds: float = 10.0
    """Wall-clock time of a run, from the moment the worker gets the script; the
    server kills the worker when it is over (status ``timeout``)."""
    cpu_seconds: int = 10
    """CPU time of a run (``RLIMIT_CPU``); over it the kernel kills the worker
    (status ``killed``)."""
    memory_bytes: int = 512 * MIB
    """Address space of the worker (``RLIMIT_AS``), what the zygote already maps
    included (about 150 MiB: Python, numpy, OpenBLAS); an allocation beyond it
    raises ``MemoryError``."""
    stdout_bytes: int = 64 * 1024
    """Bytes of printed text kept (UTF-8); beyond it the text is cut and marked."""
    max_widgets: int = 200
    """Widgets one run may create."""
    max_plot_points: int = 100_000
    """Points one plot keeps over all its series; longer series are decimated."""
    max_device_calls: int = 1_000
    """Instrument calls one run may make."""
    max_source_bytes: int = 64 * 1024
    """Largest script source, in bytes (UTF-8)."""
    max_result_bytes: int = 16 * MIB
    """Largest encoded run result (widgets and text) a worker may send back."""
    max_open_files: int = 16
    """File descriptors a worker may hold (``RLIMIT_NOFILE``)."""
    nice: int = 10
    """Scheduling niceness of a worker (1-19): the server and the instrument get the
    CPU before scripts, so CPU-bound runs cannot slow everyone else's requests."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            ok_type = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok_type or value <= 0:
                raise ValueError(f"SandboxLimits.{f.name} must be positive, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """The limits as JSON-safe data (sent to the worker with the script)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxLimits:
        """Inverse of :meth:`to_dict`. Raises :class:`ValueError` or ``TypeError``."""
        return cls(**data)
