"""Run a function over many items in worker processes, each call fenced in time.

Decoders are native code fed with hostile files: one may hang, crash the process or eat
memory. Here a call that hangs past its deadline or kills its worker costs that one item (it
becomes a failure the caller names), the worker is replaced, and the rest goes on. Results come
back in input order, so what the caller commits does not depend on timing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

_START_TIMEOUT = 120.0
T = TypeVar("T")
R = TypeVar("R")


def _serve(fn: Callable[[Any], Any], conn: Connection, start: Callable[[], None] | None) -> None:
    # The parent is what interrupts a run; a Ctrl-C must not also kill workers mid-write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if start is not None:
        start()
    try:
        conn.send(("ready", None))  # imports done: deadlines may start counting now
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return  # parent gone (closed, or killed): nothing left to do
        try:
            reply: tuple[str, Any] = ("ok", fn(item))
        except Exception as exc:  # reported to the parent as this item's failure
            reply = ("raised", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    index: int | None = None  # position of the item it is working on
    item: Any = None
    deadline: float = 0.0


@dataclass
class _Run(Generic[T]):
    pending: Iterator[tuple[int, T]]
    done: dict[int, Any] = field(default_factory=dict)
    next_out: int = 0
    exhausted: bool = False


def default_workers() -> int:
    # Decoding is CPU-bound and single-threaded per image: one worker per core.
    return max(1, os.cpu_count() or 1)


class WorkerPool(Generic[T, R]):
    def __init__(
        self,
        fn: Callable[[T], R],
        on_failure: Callable[[T, str], R],
        workers: int | None = None,
        timeout: float = 10.0,
        start: Callable[[], None] | None = None,
        what: str = "decoder",
    ) -> None:
        """`start` runs once in each worker before it takes items (e.g. loading models);
        `what` names the workers in failure reasons."""
        self._fn = fn
        self._start = start
        self._what = what
        self._on_failure = on_failure
        self._size = workers or default_workers()
        self._timeout = timeout
        # spawn, not fork: the parent may hold threads (progress display, GUI) and open
        # SQLite handles that a forked child must never inherit.
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []

    def _start_workers(self, count: int) -> list[_Worker]:
        started: list[_Worker] = []
        for _ in range(count):
            parent, child = self._ctx.Pipe()
            process = self._ctx.Process(target=_serve, args=(self._fn, child, self._start), daemon=True)
            process.start()
            child.close()
            started.append(_Worker(process, parent))
        for worker in started:
            # A worker that cannot even start (broken install, unguarded __main__) must fail
            # the run with a reason instead of hanging it.
            try:
                ready = worker.conn.poll(_START_TIMEOUT) and worker.conn.recv()[0] == "ready"
            except (EOFError, OSError):
                ready = False
            if not ready:
                for other in started:
                    other.process.kill()
                raise RuntimeError(
                    f"a {self._what} process failed to start (exit code {worker.process.exitcode})"
                )
        return started

    def _replace(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        self._workers[self._workers.index(worker)] = self._start_workers(1)[0]

    def map(self, items: Iterable[T]) -> Iterator[R]:
        """fn(item) for every item, in order; failures come from on_failure(item, reason)."""
        if not self._workers:
            self._workers = self._start_workers(self._size)
        run: _Run[T] = _Run(iter(enumerate(items)))
        while True:
            self._feed_idle(run)
            while run.next_out in run.done:
                yield run.done.pop(run.next_out)
                run.next_out += 1
            busy = [w for w in self._workers if w.index is not None]
            if not busy:
                if run.exhausted:
                    return
                continue
            self._collect(run, busy)

    def _feed_idle(self, run: _Run[T]) -> None:
        # Keep the reorder buffer bounded: a slow item must not let the others run ahead
        # without limit.
        window = 4 * self._size
        for worker in self._workers:
            if worker.index is not None or run.exhausted:
                continue
            if len(run.done) >= window:
                return
            try:
                index, item = next(run.pending)
            except StopIteration:
                run.exhausted = True
                return
            worker.index, worker.item = index, item
            worker.deadline = time.monotonic() + self._timeout
            try:
                worker.conn.send(item)
            except (BrokenPipeError, OSError):
                self._fail(run, worker, f"the {self._what} process died")

    def _collect(self, run: _Run[T], busy: list[_Worker]) -> None:
        now = time.monotonic()
        wait_for = max(0.0, min(w.deadline for w in busy) - now)
        handles: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = set(wait(handles, timeout=wait_for))
        for worker in busy:
            if worker.conn in ready:
                try:
                    kind, payload = worker.conn.recv()
                except (EOFError, OSError):
                    self._fail(run, worker, self._death_reason(worker))
                    continue
                assert worker.index is not None
                run.done[worker.index] = (
                    payload if kind == "ok" else self._on_failure(worker.item, f"failed: {payload}")
                )
                worker.index = worker.item = None
            elif worker.process.sentinel in ready:
                self._fail(run, worker, self._death_reason(worker))
            elif time.monotonic() >= worker.deadline:
                self._fail(run, worker, f"timed out after {self._timeout:g} s (file abandoned)")

    def _death_reason(self, worker: _Worker) -> str:
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the {self._what} crashed on this file ({name})"
        return f"the {self._what} crashed on this file"

    def _fail(self, run: _Run[T], worker: _Worker, reason: str) -> None:
        assert worker.index is not None
        run.done[worker.index] = self._on_failure(worker.item, reason)
        worker.index = worker.item = None
        self._replace(worker)

    def close(self) -> None:
        for worker in self._workers:
            worker.conn.close()  # a worker waiting on recv() sees EOF and exits
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._workers = []

    def __enter__(self) -> WorkerPool[T, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
