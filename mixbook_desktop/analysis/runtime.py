"""One onnxruntime session per model, created on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from mixbook_desktop.analysis.manifest import ModelSpec, resolve


class Session(Protocol):
    """What the model classes need from a runtime; tests may hand in any object like it."""

    def run(
        self, outputs: list[str], inputs: dict[str, NDArray[np.float32]]
    ) -> list[NDArray[np.float32]]: ...


class OrtSession:
    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # The pipeline runs one worker process per core; a session that also spread over
        # all cores would make the workers fight over them.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, outputs: list[str], inputs: dict[str, NDArray[np.float32]]) -> list[NDArray[np.float32]]:
        return [np.asarray(o) for o in self._session.run(outputs, inputs)]


class OnnxModel:
    """Base for the ONNX-backed models: the manifest entry now, the session on first use."""

    model_name = ""

    def __init__(self, session: Session | None = None) -> None:
        self._spec: ModelSpec | None = None
        self._session = session

    @property
    def spec(self) -> ModelSpec:
        if self._spec is None:
            self._spec, _ = resolve(self.model_name)
        return self._spec

    @property
    def session(self) -> Session:
        if self._session is None:
            model, path = resolve(self.model_name)
            self._spec = model
            self._session = OrtSession(path)
        return self._session

    def load(self) -> None:
        _ = self.session
