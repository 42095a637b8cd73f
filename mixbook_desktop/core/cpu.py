"""What this processor can run. The compiled libraries that ship with the app assume some x86-64
extensions (llama.cpp's portable build AVX2 and FMA, dlib's wheel AVX); on a processor without
them they die of an illegal instruction, so each is checked first and named instead."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from pathlib import Path

LLAMA_CPP = ("avx", "avx2", "fma", "f16c")
DLIB = ("avx",)

_CPUINFO = Path("/proc/cpuinfo")


def missing(needed: Iterable[str], cpuinfo: Path | None = None) -> list[str]:
    """The extensions in `needed` this processor lacks; none when it cannot be told (not an
    x86-64 Linux machine, or /proc unreadable): then the library is simply tried."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    try:
        text = (cpuinfo or _CPUINFO).read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            have = set(line.partition(":")[2].split())
            return [flag for flag in needed if flag not in have]
    return []


def refusal(what: str, needed: Iterable[str], cpuinfo: Path | None = None) -> str | None:
    """Why `what` cannot run on this processor, in one line, or None."""
    lacking = missing(needed, cpuinfo)
    if not lacking:
        return None
    return f"{what} needs a processor with {', '.join(f.upper() for f in lacking)}, which this one lacks"
