"""Scene and object labels: EfficientNet-Lite0 on ImageNet-1k, summed into photobook tags."""

from __future__ import annotations

import json
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mixbook_desktop.analysis.manifest import models_dir
from mixbook_desktop.analysis.runtime import OnnxModel
from mixbook_desktop.analysis.tags import class_tags
from mixbook_desktop.core.analysis import Label

# A tag is kept when its classes together reach this probability; fine classes are listed
# under it when they alone reach FINE_FROM. Tuned on the development photos: lower thresholds
# let the long tail of a 1000-way softmax add tags nobody would choose.
TAG_FROM = 0.2
FINE_FROM = 0.05
MAX_TAGS = 5


def to_input(image: Image.Image, short_side: int, crop: int, mean: float, std: float) -> NDArray[np.float32]:
    scale = short_side / min(image.width, image.height)
    w, h = max(crop, round(image.width * scale)), max(crop, round(image.height * scale))
    resized = image.convert("RGB").resize((w, h), Image.Resampling.BILINEAR)
    left, top = (w - crop) // 2, (h - crop) // 2
    pixels = np.asarray(resized.crop((left, top, left + crop, top + crop)), dtype=np.float32)
    return ((pixels - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)  # NCHW


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    shifted = np.exp(logits - logits.max())
    probs: NDArray[np.float32] = (shifted / shifted.sum()).astype(np.float32)
    return probs


def to_labels(
    probs: NDArray[np.float32], names: list[str], tags_of: dict[int, tuple[str, ...]]
) -> list[Label]:
    totals: dict[str, float] = {}
    fine: dict[str, list[tuple[float, str]]] = {}
    for index in np.argsort(probs)[::-1][:50]:  # the tail beyond 50 adds under 1 % here
        p = float(probs[index])
        for tag in tags_of.get(int(index), ()):
            totals[tag] = totals.get(tag, 0.0) + p
            if p >= FINE_FROM:
                fine.setdefault(tag, []).append((p, names[index]))
    kept = sorted((t for t in totals if totals[t] >= TAG_FROM), key=lambda t: -totals[t])[:MAX_TAGS]
    return [
        Label(
            tag,
            round(min(1.0, totals[tag]), 4),
            tuple(dict.fromkeys(n for _, n in sorted(fine.get(tag, []), reverse=True))),
        )
        for tag in kept
    ]


class LabelModel(OnnxModel):
    model_name = "efficientnet_lite0"

    @cached_property
    def class_names(self) -> list[str]:
        data = json.loads((models_dir() / self.spec.info["labels"]).read_text(encoding="utf-8"))
        return [entry["name"] for entry in data]

    @cached_property
    def _tags_of(self) -> dict[int, tuple[str, ...]]:
        return class_tags()

    def probabilities(self, image: Image.Image) -> NDArray[np.float32]:
        spec_in = self.spec.info["input"]
        batch = to_input(
            image,
            int(spec_in["resize_short_side"]),
            int(spec_in["crop"]),
            float(spec_in["mean"]),
            float(spec_in["std"]),
        )
        (out,) = self.session.run([self.spec.info["outputs"]["logits"]["name"]], {spec_in["name"]: batch})
        return softmax(out[0])

    def classify(self, image: Image.Image) -> tuple[list[Label], list[tuple[str, float]]]:
        """Photobook tags, and the top five fine classes with their probabilities."""
        probs = self.probabilities(image)
        top = [(self.class_names[i], round(float(probs[i]), 4)) for i in np.argsort(probs)[::-1][:5]]
        return to_labels(probs, self.class_names, self._tags_of), top
