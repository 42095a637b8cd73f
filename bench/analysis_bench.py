"""Analysis speed and memory against the floor: the bare model calls on the same inputs.

    .venv/bin/python bench/analysis_bench.py [--large N] [--rounds R] [--quick] [--json PATH]

Sets: the development photos (../shared/photos when present, else the committed fixtures and
demo), and N generated 12 MP JPEGs (cached in bench/.cache), half of them with real faces
pasted in. Ours is `analyze_book` on a freshly imported book (import not timed). The floor is a
plain process pool of the same size doing only the library calls analysis needs: Pillow
decode at reduced scale, BlazeFace on the whole photo and its tiles, EfficientNet, OpenNSFW,
and for each face our run found, the FER model and dlib's landmarks and descriptor. The
difference is our code: face verification, tag mapping, storage, people and duplicates. Each
phase runs in its own process, alternating, best of R; peak RSS from wait4.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import results

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "analysis12mp"
SHARED = ROOT.parent / "shared" / "photos"
TARGET_NO_FACES_PER_S = 4.0
TARGET_FACES_PER_S = 2.0
TARGET_RATIO = 0.8
TARGET_RSS_MB = 1024.0
SIDE = 1536

_floor: dict[str, Any] = {}


# ---- the floor: the model calls analysis makes, bare ---------------------------------------
def _floor_init() -> None:
    import dlib
    import numpy as np
    import onnxruntime as ort
    import pillow_heif

    from mixbook_desktop.analysis.manifest import resolve

    pillow_heif.register_heif_opener()
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    for name in ("blazeface_full_range", "fer_emotion", "efficientnet_lite0", "opennsfw"):
        _, path = resolve(name)
        _floor[name] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    _floor["shape"] = dlib.shape_predictor(str(resolve("dlib_shape_predictor_5")[1]))
    _floor["rec"] = dlib.face_recognition_model_v1(str(resolve("dlib_face_resnet")[1]))
    _floor["np"] = np


def _floor_one(job: tuple[str, list[list[float]]]) -> int:
    import dlib
    from PIL import Image, ImageOps

    np = _floor["np"]
    path, boxes = job
    with Image.open(path) as im:
        fit = min(1.0, SIDE / max(im.size))
        im.draft("RGB", (int(im.width * fit), int(im.height * fit)))
        im.load()
        image = ImageOps.exif_transpose(im).convert("RGB")
        image.thumbnail((SIDE, SIDE), Image.Resampling.BILINEAR)
    views = [image.resize((192, 192))]
    if max(image.size) > 800:
        # The same tile grid as ours: 512 px, a quarter overlap, the last tile flush with the edge.
        xs = [*range(0, max(1, image.width - 512), 384), max(0, image.width - 512)]
        ys = [*range(0, max(1, image.height - 512), 384), max(0, image.height - 512)]
        for y in ys:
            for x in xs:
                views.append(image.crop((x, y, x + 512, y + 512)).resize((192, 192)))
    batch = np.stack([np.asarray(v, dtype=np.float32) for v in views]).transpose(0, 3, 1, 2) / 127.5 - 1
    _floor["blazeface_full_range"].run(None, {"input": batch.astype(np.float32)})
    crop = np.asarray(image.resize((224, 224)), dtype=np.float32)
    _floor["efficientnet_lite0"].run(None, {"image": ((crop - 127) / 128).transpose(2, 0, 1)[None]})
    _floor["opennsfw"].run(None, {"input:0": (crop[:, :, ::-1] - 117)[None].astype(np.float32)})
    if boxes:
        w, h = image.size
        pixels = np.asarray(image)
        faces = [image.crop((b[0] * w, b[1] * h, (b[0] + b[2]) * w, (b[1] + b[3]) * h)) for b in boxes]
        gray = np.stack([np.asarray(f.convert("L").resize((64, 64)), dtype=np.float32) for f in faces])
        _floor["fer_emotion"].run(None, {"x": (gray / 127.5 - 1)[:, None].astype(np.float32)})
        shapes = dlib.full_object_detections()
        for b in boxes:
            rect = dlib.rectangle(
                int(b[0] * w), int(b[1] * h), int((b[0] + b[2]) * w), int((b[1] + b[3]) * h)
            )
            shapes.append(_floor["shape"](pixels, rect))
        _floor["rec"].compute_face_descriptor(pixels, shapes)
    return len(boxes)


def phase_floor(jobs: list[tuple[str, list[list[float]]]], workers: int) -> dict[str, float]:
    # Timed from the start of the pool: ours also starts its workers and loads its models.
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(workers, initializer=_floor_init) as pool:
        list(pool.imap(_floor_one, jobs, chunksize=1))
        return {"seconds": time.perf_counter() - start}


def phase_ours(book: str, workers: int) -> dict[str, float]:
    from mixbook_desktop.services.analysis import analyze_book
    from mixbook_desktop.store.project import Project

    with Project.open(book) as project:
        start = time.perf_counter()
        report = analyze_book(project, workers=workers)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "photos": len(report.done), "errors": len(report.failed)}


# ---- inputs ------------------------------------------------------------------------------------
def _make_large(index: int) -> None:
    from PIL import Image

    demo = ROOT / "resources" / "demo"
    scenes = ["skimage__chelsea.png", "skimage__coffee.png", "maxscene__paris.jpg", "maxscene__bakery.jpg"]
    scenes += ["maxinception__pizza.jpg", "maxcaption__surfing.jpg", "exifpy__HMD_Nokia_8.3_5G.jpg"]
    with Image.open(demo / scenes[index % len(scenes)]) as src:
        im = src.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    if index % 2:
        # Real faces, at sizes a 12 MP group photo has: about 4-10 % of the width.
        with (
            Image.open(demo / "maxpose__Pilots.jpg") as pilots,
            Image.open(demo / "skimage__astronaut.png") as astro,
        ):
            faces = [
                pilots.crop((115, 160, 190, 245)),
                pilots.crop((392, 165, 465, 250)),
                astro.crop((160, 60, 290, 190)),
            ]
            for n, face in enumerate(faces[: 1 + index % 3]):
                size = 160 + 60 * ((index + n) % 5)
                im.paste(face.convert("RGB").resize((size, size)), (500 + n * 1100, 700 + (index % 4) * 300))
    im.putpixel((index % 4000, 0), (index % 256, 0, 0))
    im.save(CACHE / f"large_{index:04d}.jpg", quality=90)


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
        return "dev photos (../shared/photos)", sorted(
            str(p) for p in SHARED.iterdir() if p.suffix not in (".md", ".tsv")
        )
    folders = [ROOT / "tests" / "data" / "photos", ROOT / "resources" / "demo"]
    return "dev photos (fixtures + demo)", sorted(
        str(p) for f in folders for p in f.iterdir() if p.suffix != ".md"
    )


# ---- driver ----------------------------------------------------------------------------------
def _run_phase(args: list[str]) -> tuple[dict[str, float], float]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{args[1]} phase failed")
    # ru_maxrss of the waited process covers it alone; workers report through RUSAGE_CHILDREN.
    return json.loads(out), usage.ru_maxrss / 1024


def measure(label: str, files: list[str], workers: int, rounds: int, tmp: Path) -> dict[str, Any]:
    from mixbook_desktop.services.analysis import analyze_book
    from mixbook_desktop.services.catalog import photo_listing
    from mixbook_desktop.services.importer import import_paths
    from mixbook_desktop.store.project import Project

    template = tmp / f"{abs(hash(label))}.mbook"
    with Project.open(template, create=True) as project:
        import_paths(project, files, workers=workers)
    probe = tmp / "probe.mbook"
    shutil.copy(template, probe)
    with Project.open(probe) as project:
        analyze_book(project, workers=workers)  # warm caches; gives the faces the floor gets
        rows = [r for r in photo_listing(project) if r["status"] == "ok"]
    jobs = [(r["file"], [f["box"] for f in r["faces"] or []]) for r in rows]
    listing = tmp / "jobs.json"
    listing.write_text(json.dumps(jobs))
    best_floor = best_ours = float("inf")
    peak = 0.0
    for _ in range(rounds):
        floor, _rss = _run_phase(["--phase", "floor", "--input", str(listing), "--workers", str(workers)])
        best_floor = min(best_floor, floor["seconds"])
        book = tmp / "round.mbook"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{book}{suffix}").unlink(missing_ok=True)
        shutil.copy(template, book)
        ours, _ = _run_phase(["--phase", "ours", "--input", str(book), "--workers", str(workers)])
        if ours["photos"] != len(jobs):
            raise SystemExit(f"analysed {ours['photos']} of {len(jobs)} photos")
        best_ours = min(best_ours, ours["seconds"])
        peak = max(peak, ours.get("peak_mb", 0.0))
    with_faces = sum(1 for _, boxes in jobs if boxes)
    return {
        "set": label,
        "photos": len(jobs),
        "with_faces": with_faces,
        "faces": sum(len(b) for _, b in jobs),
        "floor_per_s": len(jobs) / best_floor,
        "ours_per_s": len(jobs) / best_ours,
        "ratio": best_floor / best_ours,
        "peak_rss_mb": peak,
    }


def _peak_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return max(own, child)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--phase", choices=["floor", "ours"])
    parser.add_argument("--input")
    results.add_options(parser, "10 large photos, one round: a check, not a figure")
    args = parser.parse_args()
    if args.quick:
        args.large, args.rounds = min(args.large, 10), 1
    if args.phase == "floor":
        print(
            json.dumps(
                phase_floor([tuple(j) for j in json.loads(Path(args.input).read_text())], args.workers)
            )
        )
        return
    if args.phase == "ours":
        result = phase_ours(args.input, args.workers)
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    large = ensure_large(args.large)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(*dev_photos(), args.workers, args.rounds, Path(tmp))]
        no_faces = [p for i, p in enumerate(large) if i % 2 == 0]
        faces = [p for i, p in enumerate(large) if i % 2 == 1]
        rows.append(
            measure(f"{len(no_faces)} x 12 MP, no faces", no_faces, args.workers, args.rounds, Path(tmp))
        )
        rows.append(measure(f"{len(faces)} x 12 MP, 1-3 faces", faces, args.workers, args.rounds, Path(tmp)))
    print(
        f"analysis benchmark: {args.workers} worker processes, {os.cpu_count()} cores, best of {args.rounds}"
    )
    print(f"{'set':32} {'photos':>6} {'faces':>5} {'floor/s':>8} {'ours/s':>7} {'ratio':>6} {'peak RSS':>9}")
    for r in rows:
        print(
            f"{r['set']:32} {r['photos']:>6} {r['faces']:>5} {r['floor_per_s']:>8.2f} "
            f"{r['ours_per_s']:>7.2f} {r['ratio']:>6.2f} {r['peak_rss_mb']:>7.0f}MB"
        )
    print(
        f"targets: >= {TARGET_NO_FACES_PER_S:g}/s without faces (got {rows[1]['ours_per_s']:.2f}), "
        f">= {TARGET_FACES_PER_S:g}/s with faces (got {rows[2]['ours_per_s']:.2f}), ratio >= {TARGET_RATIO} "
        f"(got {min(r['ratio'] for r in rows):.2f}), peak RSS < {TARGET_RSS_MB:g} MB "
        f"(got {max(r['peak_rss_mb'] for r in rows):.0f} MB)"
    )
    write_figures(args.json, rows, args.quick)


def write_figures(path: Path | None, rows: list[dict[str, Any]], quick: bool) -> None:
    # The dev set has only the ratio target; the generated sets a rate each as well.
    rates: list[float | None] = [None, TARGET_NO_FACES_PER_S, TARGET_FACES_PER_S]
    figures = []
    for row, rate in zip(rows, rates, strict=True):
        ours, ratio = row["ours_per_s"], row["ratio"]
        target = (
            f"ratio >= {TARGET_RATIO}" if rate is None else f">= {rate:g} photos/s, ratio >= {TARGET_RATIO}"
        )
        figures.append(
            results.Figure(
                f"{row['set']}: {row['photos']} photos, {row['faces']} faces",
                ours,
                "photos/s",
                row["floor_per_s"],
                ratio,
                target,
                ratio >= TARGET_RATIO and (rate is None or ours >= rate),
            )
        )
    peak = max(r["peak_rss_mb"] for r in rows)
    figures.append(results.peak_rss(peak, TARGET_RSS_MB))
    results.write(path, "analysis", figures, quick)


if __name__ == "__main__":
    main()
