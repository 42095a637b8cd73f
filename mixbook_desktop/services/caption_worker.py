"""One thread owns the caption model: requests run one at a time, the model loads on the first
and is freed after a quiet spell, so an idle app gives its memory back."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from mixbook_desktop.captions.generator import CaptionGenerator
from mixbook_desktop.services.activity import analysis_active

T = TypeVar("T")
IDLE_UNLOAD_S = 60.0


def caption_threads() -> int:
    # Under contention two llama.cpp threads fall to a tenth of their speed while one thread
    # keeps most of it (LLM.md), so the model gets one thread while analysis runs.
    if analysis_active():
        return 1
    return max(1, min(2, os.cpu_count() or 1))


class CaptionWorker:
    def __init__(self, make: Callable[[], CaptionGenerator], idle_unload_s: float = IDLE_UNLOAD_S) -> None:
        self._make = make
        self._idle = idle_unload_s
        self._generator: CaptionGenerator | None = None
        self._jobs: queue.Queue[tuple[Callable[[CaptionGenerator], Any], Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="caption-model", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[CaptionGenerator], T]) -> Future[T]:
        done: Future[T] = Future()
        self._jobs.put((job, done))
        return done

    def _run(self) -> None:
        while True:
            try:
                item = self._jobs.get(timeout=self._idle if self._generator is not None else None)
            except queue.Empty:
                self._unload()
                continue
            if item is None:
                self._unload()
                return
            job, done = item
            if not done.set_running_or_notify_cancel():
                continue
            try:
                if self._generator is None:
                    self._generator = self._make()
                done.set_result(job(self._generator))
            except BaseException as exc:  # handed to whoever waits on the future
                done.set_exception(exc)

    def _unload(self) -> None:
        if self._generator is not None:
            self._generator.close()
            self._generator = None

    @property
    def loaded(self) -> bool:
        return self._generator is not None

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def __enter__(self) -> CaptionWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
