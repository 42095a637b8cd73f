"""Run every benchmark, one after another, and print one table of their headline figures.

    bench/run [--quick] [--only NAME ...] [--markdown] [--json PATH] [--timeout SECONDS]

Each benchmark runs as a process of its own with `--json` (see bench/results.py), never two at
once: they measure speed, and on a small machine two would measure each other. Their own
reports go to stderr as they run; the table goes to stdout, with the machine it was measured
on. A benchmark that fails, writes no figures or outlasts --timeout is a row saying so, the
others still run, and the exit status is 1. A missed target is shown in the table but is not a
failure: the figures move with the machine and what else runs on it. For that reason the
report also says how many cores other processes kept busy during each benchmark.

--quick asks each benchmark for its short run (fewer photos, one round): a check that all of
them work, in a few minutes, not figures to quote.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# In the order they run, which is the order of their sections in the README.
BENCHMARKS = {
    "import": "import_bench.py",
    "analysis": "analysis_bench.py",
    "caption": "caption_bench.py",
    "export": "export_bench.py",
    "gui": "gui_bench.py",
    "cloud": "cloud_bench.py",
    "people": "people_threshold.py",
}
KEYS = ("benchmark", "figure", "ours", "unit", "floor", "ratio", "target", "met")
COLUMNS = ("benchmark", "figure", "ours", "floor", "ratio floor/ours", "target", "met")


@dataclass
class Outcome:
    name: str
    seconds: float
    rows: list[dict[str, Any]]
    failure: str | None = None
    others: float | None = None  # cores busy with other work on average meanwhile


def _machine_busy() -> float | None:
    """CPU seconds the machine has spent busy since boot, all cores summed (/proc/stat)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait. Steal counts too:
    # time another virtual machine had our cores is time the benchmark did not get them.
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(name: str, quick: bool, timeout: float, folder: Path) -> Outcome:
    out = folder / f"{name}.json"
    command = [sys.executable, str(BENCH / BENCHMARKS[name]), "--json", str(out)]
    command += ["--quick"] if quick else []
    print(f"\n== {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    busy_before, ours_before = _machine_busy(), _children_cpu()
    start = time.monotonic()
    # A session of its own, so that a timeout or Ctrl-C stops its worker pools and servers too,
    # not only the benchmark's own process. Its output goes to stderr: stdout is the table's.
    process = subprocess.Popen(command, cwd=ROOT, stdout=sys.stderr, start_new_session=True)
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        return Outcome(name, time.monotonic() - start, [], f"timed out after {timeout:.0f} s")
    except BaseException:
        _stop(process)
        raise
    seconds = time.monotonic() - start
    # Whatever else kept the cores busy meanwhile (other programs, other virtual machines) took
    # them from the benchmark: the machine's busy time less the benchmark's own processes'.
    busy_after = _machine_busy()
    others = None
    if busy_before is not None and busy_after is not None:
        theirs = busy_after - busy_before - (_children_cpu() - ours_before)
        others = max(0.0, theirs) / seconds
    outcome = _collected(name, out, status, seconds)
    outcome.others = others
    return outcome


def _collected(name: str, out: Path, status: int, seconds: float) -> Outcome:
    if status != 0:
        return Outcome(name, seconds, [], f"exit status {status}")
    if not out.exists():
        return Outcome(name, seconds, [], "it wrote no figures")
    try:
        rows = _checked(json.loads(out.read_text()), name)
    except (OSError, ValueError) as error:
        return Outcome(name, seconds, [], f"no figures: {error}")
    return Outcome(name, seconds, rows)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _checked(data: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data:
        raise ValueError("expected a list of figures")
    for row in data:
        if not isinstance(row, dict) or any(key not in row for key in KEYS):
            raise ValueError(f"a figure without the keys {', '.join(KEYS)}: {row!r}")
        if row["benchmark"] != name:
            raise ValueError(f"a figure of {row['benchmark']!r}")
    return data


# ---- the machine --------------------------------------------------------------------------------
def _proc_field(path: str, key: str) -> str | None:
    """The value of `key: value` in a /proc file, None where there is no such file or line."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(key)), None)


def machine() -> dict[str, str]:
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    kib = _proc_field("/proc/meminfo", "MemTotal")  # "24683772 kB"
    memory = f"{int(kib.split()[0]) / 2**20:.0f} GiB" if kib else "?"
    system = f"{platform.system()} {platform.release()}"
    with contextlib.suppress(OSError, KeyError):
        system = f"{platform.freedesktop_os_release()['PRETTY_NAME']}, {system}"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": system,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # A busy machine shows in every figure; the load when the run began says how busy.
        "load": f"{os.getloadavg()[0]:.2f}",
    }


def describe(about: dict[str, str]) -> str:
    return (
        f"{about['cpu']}, {about['cores']} cores, {about['memory']} RAM, {about['os']}, "
        f"Python {about['python']}; {about['date']}, load average {about['load']} at the start"
    )


# ---- the table ----------------------------------------------------------------------------------
def number(value: float) -> str:
    # Three significant digits, but never a large figure in exponent form.
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def cells(row: dict[str, Any]) -> list[str]:
    unit = row["unit"]
    spaced = "" if unit == "%" else " "

    def amount(value: float | None) -> str:
        return "" if value is None else f"{number(value)}{spaced}{unit}"

    met = {True: "yes", False: "NO", None: ""}[row["met"]]
    ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
    return [
        row["benchmark"],
        row["figure"],
        amount(row["ours"]),
        amount(row["floor"]),
        ratio,
        row["target"],
        met,
    ]


def failure_cells(outcome: Outcome) -> list[str]:
    return [outcome.name, f"FAILED: {outcome.failure}", "", "", "", "", "FAILED"]


def table_lines(outcomes: list[Outcome], markdown: bool) -> list[str]:
    # In the order they ran, a failed benchmark where its figures would have been.
    body = [line for o in outcomes for line in ([failure_cells(o)] if o.failure else map(cells, o.rows))]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return lines
    widths = [max(len(r[i]) for r in [list(COLUMNS), *body]) for i in range(len(COLUMNS))]
    # Figures are text, the rest read best right-aligned like numbers.
    left = {0, 1, 5}

    def line(row: list[str]) -> str:
        padded = (
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        return "  ".join(padded)

    return [line(list(COLUMNS)), "  ".join("-" * w for w in widths), *(line(r).rstrip() for r in body)]


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def report(outcomes: list[Outcome], about: dict[str, str], quick: bool, markdown: bool) -> str:
    rows = [row for o in outcomes for row in o.rows]
    met = sum(row["met"] is True for row in rows)
    missed = sum(row["met"] is False for row in rows)
    failed = [o.name for o in outcomes if o.failure]
    total = sum(o.seconds for o in outcomes)
    times = ", ".join(f"{o.name} {duration(o.seconds)}" for o in outcomes)
    loads = ", ".join(f"{o.name} {o.others:.2f}" for o in outcomes if o.others is not None)
    kind = "quick run (fewer photos, one round: a check, not figures to quote)" if quick else "full run"
    lines = [
        f"Machine: {describe(about)}.",
        f"{kind.capitalize()}, {duration(total)} in all ({times}).",
        f"Cores kept busy by other processes meanwhile, on average: {loads or 'not known'}.",
        "",
        *table_lines(outcomes, markdown),
        "",
        f"Targets: {met} met, {missed} missed"
        + (f"; failed: {', '.join(failed)}" if failed else "; every benchmark ran")
        + ". Ratio: the floor's cost over ours (1.0: as fast as the bare library calls).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's short run: a check")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these (repeat or separate by commas): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows and machine here")
    parser.add_argument(
        "--timeout", type=float, default=3600, metavar="SECONDS", help="per benchmark (default 3600)"
    )
    args = parser.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for value in args.only for n in value.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark {', '.join(unknown)}; there are {', '.join(BENCHMARKS)}")
    about = machine()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        outcomes = [run_one(name, args.quick, args.timeout, Path(tmp)) for name in names]
    text = report(outcomes, about, args.quick, args.markdown)
    print(file=sys.stderr)
    print(text, flush=True)
    if args.json:
        rows = [row for o in outcomes for row in o.rows]
        failures = {o.name: o.failure for o in outcomes if o.failure}
        seconds = {o.name: round(o.seconds, 1) for o in outcomes}
        others = {o.name: o.others for o in outcomes}
        data = {
            "machine": about,
            "quick": args.quick,
            "seconds": seconds,
            "other_cores": others,
            "rows": rows,
            "failures": failures,
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    return 1 if any(o.failure for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
