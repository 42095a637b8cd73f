"""Setting text in a box: the book's fonts, and the largest size at which a text fits.

The print checks and the PDF writer both call `fit`, so a text the check passes is exactly the
text the PDF prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from mixbook_desktop.core.paths import resources_dir

FONTS_DIR = resources_dir() / "fonts"
# Source Serif Pro (SIL OFL 1.1, resources/fonts/README.md), embedded in every PDF.
FONT_FILES = {
    "BookSerif": "SourceSerifPro-Regular.ttf",
    "BookSerif-Italic": "SourceSerifPro-It.ttf",
    "BookSerif-Semibold": "SourceSerifPro-Semibold.ttf",
}
LEADING = 1.25  # line height over font size


@dataclass(frozen=True)
class Style:
    font: str
    largest: float  # points
    smallest: float  # below this a text does not fit: it is too small to read in print


STYLES = {
    "title": Style("BookSerif-Semibold", 40, 14),
    "chapter": Style("BookSerif-Semibold", 22, 11),
    "caption": Style("BookSerif-Italic", 12, 8),
}


@dataclass(frozen=True)
class Fitted:
    font: str
    size: float
    lines: tuple[str, ...]

    @property
    def height(self) -> float:
        return len(self.lines) * self.size * LEADING


@cache
def register_fonts() -> dict[str, TTFont]:
    """The book's fonts, registered with ReportLab once; by name."""
    fonts = {name: TTFont(name, str(FONTS_DIR / file)) for name, file in FONT_FILES.items()}
    for font in fonts.values():
        pdfmetrics.registerFont(font)
    return fonts


def width(text: str, font: str, size: float) -> float:
    register_fonts()
    return float(pdfmetrics.stringWidth(text, font, size))


def _wrap(text: str, font: str, size: float, box_width: float) -> tuple[str, ...] | None:
    lines = tuple(simpleSplit(text, font, size, box_width))
    # simpleSplit leaves a single word longer than the box on a line of its own.
    return None if any(width(line, font, size) > box_width + 0.01 for line in lines) else lines


def fit_block(parts: Sequence[tuple[str, str]], box_width: float, box_height: float) -> list[Fitted] | None:
    """Texts set one under the other, each in its role's style (a chapter title over a
    caption), all shrunk together from their largest sizes until they fit the box; None when
    even their smallest sizes do not."""
    register_fonts()
    styles = [STYLES[role] for _, role in parts]
    scale = 1.0
    while True:
        sizes = [max(s.smallest, round(s.largest * scale * 2) / 2) for s in styles]
        wrapped = [
            _wrap(text, s.font, size, box_width)
            for (text, _), s, size in zip(parts, styles, sizes, strict=True)
        ]
        if all(lines is not None for lines in wrapped):
            fitted = [
                Fitted(s.font, size, lines or ())
                for s, size, lines in zip(styles, sizes, wrapped, strict=True)
            ]
            if block_height(fitted) <= box_height + 0.01:
                return fitted
        if all(size <= s.smallest for size, s in zip(sizes, styles, strict=True)):
            return None
        scale -= 0.025


def block_height(fitted: Sequence[Fitted]) -> float:
    """The height of texts set one under the other, a third of a line apart."""
    gaps = sum(f.size * LEADING / 3 for f in fitted[1:])
    return sum(f.height for f in fitted) + gaps


def fit(text: str, role: str, box_width: float, box_height: float) -> Fitted | None:
    """One text at the largest size of its style that fits the box, or None."""
    fitted = fit_block([(text, role)], box_width, box_height)
    return fitted[0] if fitted else None


def missing_glyphs(text: str, font: str) -> str:
    """The characters of `text` the font cannot draw (they would print as empty boxes)."""
    face = register_fonts()[font].face
    return "".join(dict.fromkeys(ch for ch in text if not ch.isspace() and ord(ch) not in face.charToGlyph))
