"""Measure face-embedding distances on the real photos, to choose the people threshold.

Different people: every pair of faces from distinct photos of the corpus (no one appears in
two of them, apart from the Hopper portrait saved in three orientations) and every pair within
one group photo. The same person: the Hopper orientations, and each face against altered
copies of its photo (mirrored, half size, darker, heavy JPEG, reframed), which is what the
same shot looks like after a phone, a messenger or an edit.

    python bench/people_threshold.py [PHOTOS_DIR] [--json PATH]

It has no floor and no target: it shows what the chosen threshold costs on these faces.
"""

from __future__ import annotations

import argparse
import io
import itertools
from pathlib import Path

import numpy as np
import results
from PIL import Image, ImageEnhance, ImageOps

from mixbook_desktop.analysis.face_backend import BlazeFaceDlib
from mixbook_desktop.library.decode import BadImage, hash_and_head, open_for_analysis
from mixbook_desktop.services.people import DEFAULT_THRESHOLDS

ROOT = Path(__file__).resolve().parents[1]
SAME_PERSON_FILES = {f"pillow__hopper_orientation_{n}.jpg" for n in (3, 6, 8)}


def variants(image: Image.Image) -> list[Image.Image]:
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=25)
    w, h = image.size
    return [
        ImageOps.mirror(image),
        image.resize((max(1, w // 2), max(1, h // 2))),
        ImageEnhance.Brightness(image).enhance(0.6),
        Image.open(io.BytesIO(jpeg.getvalue())).convert("RGB"),
        image.crop((w // 10, h // 10, w, h)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT.parent / "shared" / "photos")
    results.add_options(parser, "the same run: it takes seconds")
    args = parser.parse_args()
    folder = args.folder
    backend = BlazeFaceDlib()
    faces: list[tuple[str, int, np.ndarray]] = []
    same: list[float] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png", ".heic", ".heif"}:
            continue
        try:
            sha, _ = hash_and_head(str(path))
            image, _ = open_for_analysis(str(path), sha, 1536)
        except (BadImage, OSError):
            continue
        found = backend.detect(image)
        if not found:
            continue
        vectors = backend.embed(image, found)
        for i, v in enumerate(vectors):
            faces.append((path.name, i, v))
        for altered in variants(image):
            alt_found = backend.detect(altered)
            if len(alt_found) != len(found):
                continue
            alt_vectors = backend.embed(altered, alt_found)
            # Pair each face with its nearest counterpart in the altered copy.
            for v in vectors:
                same.append(float(np.min(np.linalg.norm(alt_vectors - v, axis=1))))
    different: list[float] = []
    for (fa, _, va), (fb, _, vb) in itertools.combinations(faces, 2):
        d = float(np.linalg.norm(va - vb))
        if fa in SAME_PERSON_FILES and fb in SAME_PERSON_FILES:
            same.append(d)
        else:
            different.append(d)
    same_arr, diff_arr = np.array(same), np.array(different)
    print(f"faces: {len(faces)} from {len({f for f, _, _ in faces})} photos")
    same_max, same_p95 = same_arr.max(), np.percentile(same_arr, 95)
    diff_min, diff_p1 = diff_arr.min(), np.percentile(diff_arr, 1)
    print(f"same person:      n={len(same_arr)}  max {same_max:.3f}  p95 {same_p95:.3f}")
    print(f"different people: n={len(diff_arr)}  min {diff_min:.3f}  p1 {diff_p1:.3f}")
    for t in (0.4, 0.45, 0.5, 0.55, 0.6):
        split, joined = np.mean(same_arr >= t), np.mean(diff_arr < t)
        print(f"threshold {t:.2f}: same split {split:6.1%}, different joined {joined:6.2%}")
    chosen = DEFAULT_THRESHOLDS["dlib"]
    figures = [
        results.Figure(
            f"same-person face pairs split at the threshold {chosen:g} ({len(same_arr)} pairs)",
            100 * float(np.mean(same_arr >= chosen)),
            "%",
        ),
        results.Figure(
            f"different-people face pairs joined at {chosen:g} ({len(diff_arr)} pairs)",
            100 * float(np.mean(diff_arr < chosen)),
            "%",
        ),
    ]
    results.write(args.json, "people", figures, args.quick)


if __name__ == "__main__":
    main()
