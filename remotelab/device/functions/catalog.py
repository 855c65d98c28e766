"""The whitelist: every function a function string may call, bound onto pslab 4.x.

``default_registry()`` is what the server uses; ``build_registry(limits)`` builds
one with other policy bounds (the ``max_wait_seconds`` and
``max_capture_seconds`` limits become parameter ranges).
"""

from __future__ import annotations

from functools import lru_cache

from remotelab.device.functions import catalog_legacy, catalog_legacy_digital, catalog_modern
from remotelab.device.functions.limits import FunctionLimits
from remotelab.device.functions.registry import Registry


def build_registry(limits: FunctionLimits) -> Registry:
    """A registry of the pslab 4.x style functions, then the pslab-remote legacy ones."""
    return Registry(
        [
            *catalog_modern.functions(limits),
            *catalog_legacy.functions(limits),
            *catalog_legacy_digital.functions(limits),
        ]
    )


def default_registry(limits: FunctionLimits | None = None) -> Registry:
    """The registry for ``limits`` (default limits when ``None``); built once per limits."""
    return _cached(limits or FunctionLimits())


@lru_cache(maxsize=8)
def _cached(limits: FunctionLimits) -> Registry:
    return build_registry(limits)
