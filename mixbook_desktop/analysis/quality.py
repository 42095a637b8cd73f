"""Technical quality of a photo (sharpness, exposure, size) and its perceptual hash."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mixbook_desktop.core.analysis import Quality

VERSION = "q2"
# Sharpness is judged at a fixed size so that it does not depend on the camera's resolution.
_SHARPNESS_SIDE = 640
_GRID = 4
# Laplacian variance at which a region counts as half sharp (measured: crisp photos give
# 300-3000 at 640 px, motion-blurred or out-of-focus ones under 60).
_HALF_SHARP = 120.0
_DARK, _BRIGHT = 0.02, 0.98


def _gray(image: Image.Image, side: int) -> Image.Image:
    small = image.convert("L")
    small.thumbnail((side, side), Image.Resampling.BILINEAR)
    return small


def _dct_matrix(n: int) -> NDArray[np.float64]:
    # Orthonormal DCT-II basis: dct(x) == M @ x, so a 2-D DCT is M @ X @ M.T.
    k = np.arange(n)[:, None]
    m: NDArray[np.float64] = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_DCT32 = _dct_matrix(32)


def sharpness(gray: NDArray[np.float32]) -> float:
    """0..1 from the Laplacian variance of the most detailed region (subject sharp, bokeh ok)."""
    g = gray * 255.0
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    h, w = lap.shape
    if h < _GRID * 4 or w < _GRID * 4:
        variance = float(lap.var()) if lap.size else 0.0
    else:
        cells = [
            lap[r * h // _GRID : (r + 1) * h // _GRID, c * w // _GRID : (c + 1) * w // _GRID].var()
            for r in range(_GRID)
            for c in range(_GRID)
        ]
        # The second-best region, so that one noisy corner cannot make a blurred photo sharp.
        variance = float(sorted(cells)[-2])
    return variance / (variance + _HALF_SHARP)


def phash(image: Image.Image) -> str:
    """64-bit DCT perceptual hash: the signs of the lowest frequencies against their median."""
    small = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
    pixels = np.asarray(small, dtype=np.float64)
    coeffs = (_DCT32 @ pixels @ _DCT32.T)[:8, :8]
    flat = coeffs.flatten()
    bits = flat > np.median(flat[1:])  # the DC term would dominate the median
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def assess(image: Image.Image, original_size: tuple[int, int]) -> Quality:
    small = _gray(image, _SHARPNESS_SIDE)
    gray = np.asarray(small, dtype=np.float32) / 255.0
    sharp = sharpness(gray)
    mean = float(gray.mean()) if gray.size else 0.0
    dark = float((gray <= _DARK).mean()) if gray.size else 0.0
    bright = float((gray >= _BRIGHT).mean()) if gray.size else 0.0
    megapixels = original_size[0] * original_size[1] / 1e6
    balance = max(0.0, 1.0 - abs(mean - 0.45) / 0.45) * (1.0 - min(1.0, 2 * (dark + bright)))
    # A 4 MP photo prints an 8x8 inch page at 250 ppi; more adds little to a book.
    resolution = min(1.0, megapixels / 4.0)
    score = 0.5 * sharp + 0.3 * balance + 0.2 * resolution
    return Quality(
        sharpness=round(sharp, 4),
        exposure=round(mean, 4),
        dark_clip=round(dark, 4),
        bright_clip=round(bright, 4),
        megapixels=round(megapixels, 2),
        score=round(score, 4),
        phash=phash(small),
    )
