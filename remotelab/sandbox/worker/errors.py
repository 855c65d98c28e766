"""The one limit signal a script sees: :class:`LimitExceeded`.

Raised inside a worker when a script hits a cap (widgets, instrument calls,
sleep beyond the time limit). It derives from ``BaseException`` so that
``except Exception`` in a script does not swallow it.
"""

from __future__ import annotations


class LimitExceeded(BaseException):
    """A run hit one of its caps. Raised inside the sandbox only."""
