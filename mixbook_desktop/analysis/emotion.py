"""Facial expression with the FER2013 mini-Xception, reported in Rekognition's vocabulary."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from mixbook_desktop.analysis.runtime import OnnxModel
from mixbook_desktop.core.analysis import Emotion, EmotionScores

# FER2013 has seven classes; Rekognition has eight. "neutral" is what Rekognition calls CALM,
# and FER2013 has no CONFUSED, which therefore always gets 0 from this model.
_TO_REKOGNITION = {
    "angry": Emotion.ANGRY,
    "disgust": Emotion.DISGUSTED,
    "fear": Emotion.FEAR,
    "happy": Emotion.HAPPY,
    "sad": Emotion.SAD,
    "surprise": Emotion.SURPRISED,
    "neutral": Emotion.CALM,
}


# The classifier was trained on faces with a little forehead and chin around them.
_MARGIN = 0.1


def face_crop(image: Image.Image, box: tuple[float, float, float, float], size: int) -> Image.Image:
    """The face as a grey square of `size` px: the box squared about its centre, padded outside."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1 + 2 * _MARGIN)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    window = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    gray = ImageOps.grayscale(image.crop(window))  # crop() pads outside the image with black
    return gray.resize((size, size), Image.Resampling.BILINEAR)


def to_input(crops: list[Image.Image], scale: float, offset: float) -> NDArray[np.float32]:
    batch = np.stack([np.asarray(c, dtype=np.float32) for c in crops])[:, None]  # NCHW, one channel
    return batch * np.float32(scale) + np.float32(offset)


def to_scores(probabilities: NDArray[np.float32], labels: list[str]) -> EmotionScores:
    scores = dict.fromkeys(Emotion, 0.0)
    for label, p in zip(labels, probabilities, strict=True):
        scores[_TO_REKOGNITION[label]] = round(float(p), 4)
    return EmotionScores(scores)


class EmotionModel(OnnxModel):
    model_name = "fer_emotion"

    def classify(
        self, image: Image.Image, boxes: list[tuple[float, float, float, float]]
    ) -> list[EmotionScores]:
        """Emotion scores for each face box (pixel x0, y0, x1, y1) in `image`."""
        if not boxes:
            return []
        info = self.spec.info
        size = int(info["input"]["size"][0])
        crops = [face_crop(image, box, size) for box in boxes]
        batch = to_input(crops, float(info["input"]["scale"]), float(info["input"]["offset"]))
        output = info["outputs"]["probabilities"]["name"]
        dynamic = not isinstance(info["input"]["shape"][0], int) or info["input"]["shape"][0] < 1
        if dynamic:
            (probs,) = self.session.run([output], {info["input"]["name"]: batch})
        else:
            probs = np.concatenate(
                [
                    self.session.run([output], {info["input"]["name"]: batch[i : i + 1]})[0]
                    for i in range(len(batch))
                ]
            )
        return [to_scores(p, list(info["labels"])) for p in probs]
