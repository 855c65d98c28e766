"""Bounds on function strings, their arguments and their results.

Every number here is a policy limit, not a hardware one (the hardware limits
live beside the functions in the catalog, with the pslab source they come
from). The lead maps each field to a ``REMOTELAB_FUNCTION_*`` setting.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionLimits:
    """Limits applied while parsing function strings and converting results."""

    max_source_chars: int = 1000
    """Longest function string accepted; checked before anything is parsed."""

    max_nesting: int = 8
    """Deepest bracket nesting (the call's own parentheses count) and longest run of
    consecutive operators accepted in a function string."""

    max_wait_seconds: float = 10.0
    """Largest ``timeout`` or ``interval`` argument a function accepts, in seconds."""

    max_capture_seconds: float = 10.0
    """Longest oscilloscope capture (samples x timegap) a function accepts, in seconds."""

    max_average_samples: int = 100
    """Most readings that ``get_average_voltage`` may average."""

    max_result_items: int = 100_000
    """Most values (each number, string, list and dict counts one) in one converted result."""

    max_result_depth: int = 16
    """Deepest nesting of lists and dicts in one converted result."""

    max_result_notes: int = 10
    """Most notes (``result[3] was nan``) listed for one result; the rest are counted."""
