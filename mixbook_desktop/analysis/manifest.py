"""The model manifest: where each model's file is, what it must hash to, how to feed it.

Converted models live in `models/` beside the package; models that ship ready in a registry
package are found inside that installed package (never imported, only located). Every file is
checked against its SHA-256 before it is loaded, so a truncated download or a swapped file is
named instead of producing quietly wrong results.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_ENV_DIR = "MIXBOOK_MODELS_DIR"


class ModelError(Exception):
    """A model cannot be used; the message names it and says what to do."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    version: str
    file: str
    sha256: str
    module: str | None  # the installed package that holds the file, if any
    package: str | None
    info: dict[str, Any]  # the whole manifest entry: input, outputs, decode settings, ...

    @property
    def tag(self) -> str:
        """What results record as the model that produced them."""
        return f"{self.name}@{self.version}:{self.sha256[:12]}"


def models_dir() -> Path:
    override = os.environ.get(_ENV_DIR)
    if override:
        return Path(override)
    # A checkout and the bundle both keep models/ beside the package.
    return Path(__file__).resolve().parents[2] / "models"


@cache
def manifest() -> dict[str, ModelSpec]:
    path = models_dir() / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest missing: {path}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"model manifest unreadable: {path} ({exc})") from None
    specs: dict[str, ModelSpec] = {}
    for name, entry in data["models"].items():
        specs[name] = ModelSpec(
            name=name,
            task=entry["task"],
            version=str(entry["version"]),
            file=entry["file"],
            sha256=entry["sha256"],
            module=entry.get("module"),
            package=entry.get("package"),
            info=entry,
        )
    return specs


def spec(name: str) -> ModelSpec:
    try:
        return manifest()[name]
    except KeyError:
        raise ModelError(f"model {name!r} is not in {models_dir() / 'manifest.json'}") from None


def _locate(model: ModelSpec) -> Path:
    if model.module is None:
        return models_dir() / model.file
    found = importlib.util.find_spec(model.module)
    if found is None or not found.submodule_search_locations:
        raise ModelError(
            f"model {model.name} missing: the package {model.package} is not installed (run scripts/setup.sh)"
        )
    return Path(next(iter(found.submodule_search_locations))) / model.file


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def _verified(path: Path, size: int, mtime_ns: int, expected: str) -> bool:
    # Keyed by size and mtime: each process hashes a file once, and again only if it changed.
    return file_sha256(path) == expected


def resolve(name: str) -> tuple[ModelSpec, Path]:
    """The spec and the verified file of model `name`; ModelError says what is wrong."""
    model = spec(name)
    path = _locate(model)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelError(f"model {name} missing: {path} does not exist") from None
    if not _verified(path, st.st_size, st.st_mtime_ns, model.sha256):
        raise ModelError(
            f"model {name} is wrong: {path} does not match the SHA-256 in the manifest "
            f"(rebuild it with `python models/build_models.py`, or reinstall its package)"
        )
    return model, path


def status(tasks: set[str] | None = None) -> list[tuple[str, str]]:
    """(model, 'ok' or the problem) for every model in the manifest, or those of `tasks`."""
    try:
        names = [name for name, spec in manifest().items() if tasks is None or spec.task in tasks]
    except ModelError as exc:
        return [("manifest", str(exc))]
    out: list[tuple[str, str]] = []
    for name in names:
        try:
            resolve(name)
            out.append((name, "ok"))
        except ModelError as exc:
            out.append((name, str(exc)))
    return out
