"""Functions the worker-pool tests run in worker processes (spawn needs them importable)."""

from __future__ import annotations

import os
import signal
import threading


def behave(item: str) -> str:
    if item == "hang":
        threading.Event().wait()  # a decoder stuck forever
    if item == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)  # a decoder dying on bad data
    if item == "raise":
        raise ValueError("bad data")
    return item.upper()


def failed(item: str, reason: str) -> str:
    return f"{item}: {reason}"
