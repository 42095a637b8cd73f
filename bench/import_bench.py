"""Import speed and memory against the floor: the same Pillow/exifread calls with none of our code.

    .venv/bin/python bench/import_bench.py [--large N] [--rounds R] [--quick] [--json PATH]

Two sets: the development photos (../shared/photos when present, else the committed fixtures
and demo) and N generated 12 MP JPEGs with EXIF (cached in bench/.cache). For each, the floor
(hash, exifread, Pillow open + draft + load + transpose + thumbnail + JPEG encode, in a plain
process pool of the same size) and our import (into a fresh project file) run in separate
processes, alternating, best of R rounds. Each phase's peak RSS comes from wait4 on its process.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "large12mp"
SHARED = ROOT.parent / "shared" / "photos"
TARGET_LARGE_PER_S = 40.0
TARGET_RATIO = 0.7
TARGET_RSS_MB = 500.0


# ---- the floor: the library calls import makes, bare -------------------------------------
def _floor_one(path: str) -> bool:
    import logging

    import exifread
    import pillow_heif
    from PIL import Image, ImageOps

    pillow_heif.register_heif_opener()
    logging.getLogger("exifread").setLevel(logging.ERROR)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    try:
        with open(path, "rb") as fh:
            exifread.process_file(fh, details=False, extract_thumbnail=False)
    except Exception:
        pass  # the floor only needs the cost of the call, failures included
    try:
        with Image.open(path) as im:
            im.getexif()
            im.draft("RGB", (256, 256))
            im.load()
            small = ImageOps.exif_transpose(im)
            small.thumbnail((256, 256), Image.Resampling.LANCZOS)
            small.convert("RGB").save(io.BytesIO(), "JPEG", quality=85)
    except Exception:
        return False
    return True


def phase_floor(files: list[str], workers: int) -> dict[str, float]:
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(workers) as pool:
        list(pool.imap(_floor_one, files, chunksize=1))
    return {"seconds": time.perf_counter() - start}


def phase_ours(files: list[str], workers: int) -> dict[str, float]:
    import resource

    from mixbook_desktop.services.importer import import_paths
    from mixbook_desktop.store.project import Project

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with Project.open(Path(tmp) / "bench.mbook", create=True) as project:
            report = import_paths(project, files, workers=workers)
        seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "results": len(report.results), "parent_mb": own, "worker_mb": worker}


# ---- driver ----------------------------------------------------------------------------------
def _run_phase(phase: str, listing: Path, workers: int) -> tuple[dict[str, float], float]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--phase", phase, "--files", str(listing), "--workers", str(workers)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{phase} phase failed")
    return json.loads(out), usage.ru_maxrss / 1024


def _make_large(index: int) -> None:
    from PIL import Image

    sources = sorted(p for p in (ROOT / "resources" / "demo").glob("*.jp*g"))
    with Image.open(sources[index % len(sources)]) as src:
        im = src.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    im.putpixel((index % 4000, 0), (index % 256, 0, 0))  # distinct content, distinct hash
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "BenchCam", "Model 12"
    exif.get_ifd(0x8769)[0x9003] = f"2024:06:{1 + index % 28:02d} 12:{index % 60:02d}:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (43.0, 28.0, float(index % 60)), "E", (11.0, 53.0, 0.0)
    im.save(CACHE / f"large_{index:04d}.jpg", quality=90, exif=exif)


def ensure_large(count: int) -> list[str]:
    CACHE.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(count) if not (CACHE / f"large_{i:04d}.jpg").exists()]
    if missing:
        print(f"generating {len(missing)} 12 MP JPEGs in {CACHE} ...", file=sys.stderr)
        with mp.get_context("spawn").Pool() as pool:
            pool.map(_make_large, missing)
    return [str(CACHE / f"large_{i:04d}.jpg") for i in range(count)]


def dev_photos() -> tuple[str, list[str]]:
    if (SHARED / "MANIFEST.tsv").exists():
        folders = [SHARED]
        label = "dev photos (../shared/photos)"
    else:
        folders = [ROOT / "tests" / "data" / "photos", ROOT / "resources" / "demo"]
        label = "dev photos (committed fixtures + demo)"
    files = sorted(str(p) for f in folders for p in f.iterdir() if p.suffix not in (".md", ".tsv"))
    return label, files


def measure(label: str, files: list[str], workers: int, rounds: int) -> dict[str, float | str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(files, fh)
        listing = Path(fh.name)
    for path in files:  # same page-cache state for both sides
        Path(path).read_bytes()
    best_floor = best_ours = float("inf")
    ours_rss = parent_mb = worker_mb = 0.0
    for _ in range(rounds):
        floor, _rss = _run_phase("floor", listing, workers)
        best_floor = min(best_floor, floor["seconds"])
        ours, rss = _run_phase("ours", listing, workers)
        if ours["results"] != len(files):
            raise SystemExit(f"import gave {ours['results']} results for {len(files)} files")
        best_ours = min(best_ours, ours["seconds"])
        ours_rss = max(ours_rss, rss)
        parent_mb, worker_mb = max(parent_mb, ours["parent_mb"]), max(worker_mb, ours["worker_mb"])
    listing.unlink()
    return {
        "set": label,
        "files": len(files),
        "floor_per_s": len(files) / best_floor,
        "ours_per_s": len(files) / best_ours,
        "ratio": best_floor / best_ours,
        "peak_rss_mb": ours_rss,
        "total_rss_mb": parent_mb + workers * worker_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--phase", choices=["floor", "ours"])
    parser.add_argument("--files", type=Path)
    results.add_options(parser, "20 large photos, one round: a check, not a figure")
    args = parser.parse_args()
    if args.quick:
        args.large, args.rounds = min(args.large, 20), 1
    if args.phase:
        files = json.loads(args.files.read_text())
        run = phase_floor if args.phase == "floor" else phase_ours
        print(json.dumps(run(files, args.workers)))
        return
    rows = [measure(*dev_photos(), args.workers, args.rounds)]
    rows.append(
        measure(f"{args.large} generated 12 MP JPEGs", ensure_large(args.large), args.workers, args.rounds)
    )
    print(f"import benchmark: {args.workers} worker processes, {os.cpu_count()} cores, best of {args.rounds}")
    print(
        f"{'set':42} {'files':>5} {'floor/s':>8} {'ours/s':>8} {'ratio':>6} {'peak RSS':>9} {'all procs':>10}"
    )
    for r in rows:
        print(
            f"{r['set']:42} {r['files']:>5} {r['floor_per_s']:>8.1f} {r['ours_per_s']:>8.1f} "
            f"{r['ratio']:>6.2f} {r['peak_rss_mb']:>7.0f}MB {r['total_rss_mb']:>8.0f}MB"
        )
    large = rows[-1]
    print(
        f"targets: >= {TARGET_LARGE_PER_S:g} large photos/s (got {large['ours_per_s']:.1f}), "
        f"ratio >= {TARGET_RATIO} (got {large['ratio']:.2f}), "
        f"peak RSS < {TARGET_RSS_MB:g} MB (got {large['peak_rss_mb']:.0f} MB)"
    )
    write_figures(args.json, rows, args.quick)


def write_figures(path: Path | None, rows: list[dict[str, float | str]], quick: bool) -> None:
    dev, large = rows
    peak = max(float(r["peak_rss_mb"]) for r in rows)
    large_rate, large_ratio = float(large["ours_per_s"]), float(large["ratio"])
    figures = [
        results.Figure(
            str(large["set"]),
            large_rate,
            "photos/s",
            float(large["floor_per_s"]),
            large_ratio,
            f">= {TARGET_LARGE_PER_S:g} photos/s, ratio >= {TARGET_RATIO}",
            large_rate >= TARGET_LARGE_PER_S and large_ratio >= TARGET_RATIO,
        ),
        # No target of its own: a small set, dominated by starting the worker processes.
        results.Figure(
            f"{dev['set']}, {dev['files']} files",
            float(dev["ours_per_s"]),
            "files/s",
            float(dev["floor_per_s"]),
            float(dev["ratio"]),
        ),
        results.peak_rss(peak, TARGET_RSS_MB),
    ]
    results.write(path, "import", figures, quick)


if __name__ == "__main__":
    main()
