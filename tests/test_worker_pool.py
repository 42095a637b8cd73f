"""A hung, crashing or raising call costs its own item and nothing else."""

from __future__ import annotations

from mixbook_desktop.services.worker_pool import WorkerPool
from tests.support.pool_targets import behave, failed


def test_failures_are_contained_and_order_is_kept() -> None:
    items = ["a", "hang", "b", "crash", "c", "raise", "d"]
    with WorkerPool(behave, failed, workers=2, timeout=3.0) as pool:
        results = list(pool.map(items))
    assert results[0::2] == ["A", "B", "C", "D"]
    assert results[1].startswith("hang: timed out after 3 s")
    assert results[3] == "crash: the decoder crashed on this file (SIGSEGV)"
    assert results[5] == "raise: failed: ValueError: bad data"


def test_pool_is_reusable_after_failures() -> None:
    with WorkerPool(behave, failed, workers=1, timeout=2.0) as pool:
        assert list(pool.map(["crash", "x"])) == ["crash: the decoder crashed on this file (SIGSEGV)", "X"]
        assert list(pool.map(["y"])) == ["Y"]
