"""The headline figures of a benchmark, written as JSON for `bench/run` to gather into one table.

Each benchmark still prints its own detailed report; with `--json PATH` it also writes a list of
rows, one per figure:

    {"benchmark": "import", "figure": "...", "ours": 83.9, "floor": 119.6, "unit": "photos/s",
     "ratio": 0.70, "target": ">= 40 photos/s, ratio >= 0.7", "met": true}

`ours` and `floor` are numbers in `unit` (floor null when the figure has none); `ratio` is the
floor's cost over ours (1.0: as fast as the bare library calls; above 1, faster), null without a
floor; `target` is text, empty when the figure is shown for information; `met` is null then.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    figure: str
    ours: float
    unit: str
    floor: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


def peak_rss(peak_mb: float, limit_mb: float) -> Figure:
    """The memory row the analysis and import benchmarks share."""
    return Figure(
        "peak RSS of the largest process", peak_mb, "MB", target=f"< {limit_mb:g} MB", met=peak_mb < limit_mb
    )


def add_options(parser: argparse.ArgumentParser, quick_help: str | None) -> None:
    """--json and --quick, the two options `bench/run` passes to every benchmark (None: the
    benchmark has its own --quick)."""
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the headline figures here")
    if quick_help is not None:
        parser.add_argument("--quick", action="store_true", help=quick_help)


def write(path: Path | None, benchmark: str, figures: list[Figure], quick: bool = False) -> None:
    if path is None:
        return
    rows: list[dict[str, Any]] = [{"benchmark": benchmark, **asdict(f), "quick": quick} for f in figures]
    # Written whole and renamed: the runner never reads half a file from a benchmark that died.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(rows, indent=1) + "\n")
    partial.replace(path)
