"""Objectionable-content score with Yahoo's OpenNSFW (ResNet-50)."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mixbook_desktop.analysis.runtime import OnnxModel
from mixbook_desktop.core.analysis import Moderation, ModerationLevel

# Yahoo's guidance for this model: under 0.2 is safe, over 0.8 is objectionable. Ordinary
# photos score 0.0001-0.17 (the whole development corpus stays under 0.2).
REVIEW_FROM = 0.2
FLAG_FROM = 0.8


def to_input(image: Image.Image, resize: int, crop: int, mean_bgr: list[float]) -> NDArray[np.float32]:
    """The reference preprocessing: squash to resize², JPEG round trip, centre crop, BGR minus mean."""
    square = image.convert("RGB").resize((resize, resize), Image.Resampling.BILINEAR)
    # The model was trained on images that went through a JPEG encode at this size.
    buffer = io.BytesIO()
    square.save(buffer, "JPEG")
    with Image.open(buffer) as reloaded:
        pixels = np.asarray(reloaded.convert("RGB"), dtype=np.float32)
    off = (resize - crop) // 2
    pixels = pixels[off : off + crop, off : off + crop, ::-1] - np.array(mean_bgr, dtype=np.float32)
    return np.ascontiguousarray(pixels[None])


def level(score: float) -> ModerationLevel:
    if score >= FLAG_FROM:
        return ModerationLevel.FLAGGED
    if score >= REVIEW_FROM:
        return ModerationLevel.REVIEW
    return ModerationLevel.SAFE


class ModerationModel(OnnxModel):
    model_name = "opennsfw"

    def score(self, image: Image.Image) -> Moderation:
        info = self.spec.info
        spec_in = info["input"]
        batch = to_input(image, int(spec_in["resize"][0]), int(spec_in["crop"]), list(spec_in["mean"]))
        (out,) = self.session.run([info["outputs"]["probabilities"]["name"]], {spec_in["name"]: batch})
        nsfw = float(out[0][list(info["labels"]).index("nsfw")])
        return Moderation(score=round(nsfw, 5), level=level(nsfw))
