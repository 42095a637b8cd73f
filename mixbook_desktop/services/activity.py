"""What else this process is doing, for work that should make room for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_analysis_runs = 0


@contextmanager
def analysis_running() -> Iterator[None]:
    """Marks photo analysis as running in this process (its workers take every core)."""
    global _analysis_runs
    with _lock:
        _analysis_runs += 1
    try:
        yield
    finally:
        with _lock:
            _analysis_runs -= 1


def analysis_active() -> bool:
    return _analysis_runs > 0
