"""Cancelling long computations: a progress(fraction) callback that returns False stops them.

Every engine function that takes `progress` calls it now and then with the fraction done (0…1);
`report` raises `Cancelled` when it returns False, so a background thread's work ends at the
next report, leaving nothing half-changed.
"""
from __future__ import annotations


class Cancelled(Exception):
    """Raised inside a computation when its progress callback returns False."""


def report(progress, fraction: float) -> None:
    """Call progress(fraction) if there is a callback; raise Cancelled if it returns False."""
    if progress is not None and progress(fraction) is False:
        raise Cancelled()
