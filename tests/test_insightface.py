"""The InsightFace backend on generated ONNX files with the signatures of a real pack's models.

No InsightFace pack can be had here (they download at run time and are non-commercial), so the
tests write small models that insightface's model zoo takes for what they imitate:

* a detector with SCRFD's signature (input `input.1` [1,3,?,?]; scores, boxes and keypoints
  for strides 8, 16 and 32 with two anchors each, as det_10g.onnx) whose stride-32 score lights
  up on a 32x32 cell of the letterboxed input whose red channel is bright, with that cell as
  the box and fixed keypoints inside it. A red or white square laid on that grid in a black
  photo is therefore one face at a known place, and a blue one none (the model sees RGB);
* a recognizer with ArcFace's signature ([1,3,112,112] -> [1,512]): a fixed random projection
  of the pooled aligned crop, so that its vector depends on the face's content;
* a gender/age model's signature ([1,3,96,96] -> [1,3]), which real packs also hold.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageDraw

from mixbook_desktop.analysis.faces import Detection
from mixbook_desktop.analysis.insightface_backend import KEYPOINT_NAMES, InsightFaceBackend
from mixbook_desktop.analysis.manifest import ModelError
from tests.conftest import ROOT, photos_json, run_cli

STRIDES = (8, 16, 32)
FACE_STRIDE = 32  # the only stride whose score can pass the threshold
# Keypoints in units of the stride from the anchor, which SCRFD puts at a cell's top-left corner.
KPS = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.55], [0.35, 0.78], [0.65, 0.78]], dtype=np.float32)
# insightface's letterbox of every test photo below: scaled by SCALE into 640x640, padded below
# or to the right. Squares of SIDE photo pixels at multiples of SIDE fill exactly one cell.
SCALE = 0.5
SIDE = FACE_STRIDE / SCALE
OPSET = [helper.make_opsetid("", 13)]


def _const(name: str, values: NDArray[np.floating] | NDArray[np.integer]) -> TensorProto:
    return numpy_helper.from_array(np.asarray(values), name)


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_detector(path: Path, keypoints: bool = True) -> Path:
    nodes = [helper.make_node("Conv", ["input.1", "red_w"], ["red"], name="red")]
    inits = [
        _const("red_w", np.array([1, 0, 0], dtype=np.float32).reshape(1, 3, 1, 1)),
        _const("zero", np.zeros(1, dtype=np.float32)),
        _const("shape_1", np.array([-1, 1], dtype=np.int64)),
        _const("shape_4", np.array([-1, 4], dtype=np.int64)),
        _const("shape_10", np.array([-1, 10], dtype=np.int64)),
        # Per anchor (two per cell): the box is the cell (left, top, right, bottom distances
        # from the anchor in strides), and the keypoints are KPS.
        _const("box", np.tile([0, 0, 1, 1], 2).astype(np.float32).reshape(1, 8, 1, 1)),
        _const("kps", np.tile(KPS.ravel(), 2).reshape(1, 20, 1, 1)),
    ]
    outs: dict[str, list[str]] = {"score": [], "bbox": [], "kps": []}

    def to_rows(src: str, width: int, dst: str) -> None:
        nodes.append(helper.make_node("Transpose", [src], [f"{dst}_t"], perm=[0, 2, 3, 1]))
        nodes.append(helper.make_node("Reshape", [f"{dst}_t", f"shape_{width}"], [dst]))

    for s in STRIDES:
        # Only stride 32 can score over 0.5 (a bright cell: sigmoid(10 * (0.99 - 0.5)) = 0.99);
        # the others stay near zero, yet still follow the input.
        gain, bias = (10.0, -5.0) if s == FACE_STRIDE else (1.0, -20.0)
        inits += [
            _const(f"gain_{s}", np.array([gain], dtype=np.float32).reshape(1, 1, 1, 1)),
            _const(f"bias_{s}", np.array([bias], dtype=np.float32)),
        ]
        nodes += [
            helper.make_node("AveragePool", ["red"], [f"pool_{s}"], kernel_shape=[s, s], strides=[s, s]),
            helper.make_node("Conv", [f"pool_{s}", f"gain_{s}", f"bias_{s}"], [f"logit_{s}"]),
            helper.make_node("Sigmoid", [f"logit_{s}"], [f"prob_{s}"]),
            helper.make_node("Concat", [f"prob_{s}", f"prob_{s}"], [f"anchors_{s}"], axis=1),
            helper.make_node("Mul", [f"pool_{s}", "zero"], [f"grid_{s}"]),
            helper.make_node("Add", [f"grid_{s}", "box"], [f"boxmap_{s}"]),
            helper.make_node("Add", [f"grid_{s}", "kps"], [f"kpsmap_{s}"]),
        ]
        to_rows(f"anchors_{s}", 1, f"score_{s}")
        to_rows(f"boxmap_{s}", 4, f"bbox_{s}")
        to_rows(f"kpsmap_{s}", 10, f"kps_{s}")
        outs["score"].append(f"score_{s}")
        outs["bbox"].append(f"bbox_{s}")
        outs["kps"].append(f"kps_{s}")
    widths = {"score": 1, "bbox": 4, "kps": 10}
    groups = ["score", "bbox", "kps"] if keypoints else ["score", "bbox"]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, widths[group]])
        for group in groups
        for name in outs[group]
    ]
    graph = helper.make_graph(
        nodes,
        "scrfd_like",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "?", "?"])],
        outputs,
        inits,
    )
    return _save(graph, path)


def write_recognizer(path: Path, seed: int = 7, batch: int | str = 1) -> Path:
    weights = np.random.default_rng(seed).standard_normal((3 * 16 * 16, 512)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["input.1"], ["pooled"], kernel_shape=[7, 7], strides=[7, 7]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("MatMul", ["flat", "proj"], ["fc1"]),
        ],
        "arcface_like",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [batch, 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [batch, 512])],
        [_const("proj", weights)],
    )
    return _save(graph, path)


def write_genderage(path: Path) -> Path:
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["data"], ["gap"]),
            helper.make_node("Flatten", ["gap"], ["fc1"]),
        ],
        "genderage_like",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 96, 96])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 3])],
    )
    return _save(graph, path)


@pytest.fixture(scope="session")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A buffalo_l-like folder whose file names lie: only what each model is may count."""
    folder = tmp_path_factory.mktemp("pack")
    write_detector(folder / "recognition.onnx")
    write_recognizer(folder / "detection.onnx")
    write_genderage(folder / "b.onnx")
    return folder


@pytest.fixture(scope="session")
def backend(pack: Path) -> InsightFaceBackend:
    loaded = InsightFaceBackend(pack)
    loaded.load()
    return loaded


def photo(size: tuple[int, int], faces: list[tuple[int, int, tuple[int, int, int]]]) -> Image.Image:
    """A black photo with a SIDE-pixel square of a colour at each (column, row) of the face grid."""
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for col, row, colour in faces:
        x, y = col * SIDE, row * SIDE
        draw.rectangle((x, y, x + SIDE - 1, y + SIDE - 1), fill=colour)
    return image


def expected(col: int, row: int, side: float = SIDE) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The face's box (x0, y0, x1, y1) and keypoints in the photo's pixels."""
    x, y = col * side, row * side
    box = np.array([x, y, x + side, y + side], dtype=np.float32)
    return box, (np.array([x, y], dtype=np.float32) + KPS * side).astype(np.float32)


def boxes(found: list[Detection]) -> NDArray[np.float32]:
    return np.array([[d.x0, d.y0, d.x1, d.y1] for d in found], dtype=np.float32).reshape(-1, 4)


RED, WHITE, BLUE, PINK = (255, 0, 0), (255, 255, 255), (0, 0, 255), (255, 128, 160)


def test_the_pack_is_classified_by_what_each_file_is(backend: InsightFaceBackend, pack: Path) -> None:
    assert backend.detector_path == pack / "recognition.onnx"
    assert backend.recognizer_path == pack / "detection.onnx"
    assert backend.keypoint_names == KEYPOINT_NAMES
    assert len(backend.keypoint_names) == 5
    rec = hashlib.sha256((pack / "detection.onnx").read_bytes()).hexdigest()[:12]
    det = hashlib.sha256((pack / "recognition.onnx").read_bytes()).hexdigest()[:12]
    assert backend.embedder == f"arcface:{rec}+scrfd:{det}"


def test_sessions_use_one_cpu_thread(backend: InsightFaceBackend) -> None:
    for model in (backend.detector_model, backend.recognizer_model):
        assert model.session.get_providers() == ["CPUExecutionProvider"]
        assert model.session.get_session_options().intra_op_num_threads == 1


@pytest.mark.parametrize(
    ("size", "col", "row"),
    [
        ((1280, 960), 5, 3),  # landscape: padded below
        ((480, 1280), 2, 7),  # portrait: padded to the right
        ((1280, 1280), 19, 19),  # square, face in the far corner
    ],
)
def test_detect_maps_box_and_keypoints_back_to_the_photo(
    backend: InsightFaceBackend, size: tuple[int, int], col: int, row: int
) -> None:
    found = backend.detect(photo(size, [(col, row, RED)]))
    assert len(found) == 1
    box, kps = expected(col, row)
    np.testing.assert_allclose(boxes(found)[0], box, atol=1.0)
    assert found[0].keypoints.shape == (5, 2)
    assert found[0].keypoints.dtype == np.float32
    np.testing.assert_allclose(found[0].keypoints, kps, atol=1.0)
    assert 0.5 < found[0].score <= 1.0


def test_detect_in_a_small_photo_scaled_up(backend: InsightFaceBackend) -> None:
    image = Image.new("RGB", (320, 240))  # 2x into 640x480, then padded below
    ImageDraw.Draw(image).rectangle((80, 48, 95, 63), fill=WHITE)
    found = backend.detect(image)
    assert len(found) == 1
    box, kps = expected(5, 3, side=16.0)
    np.testing.assert_allclose(boxes(found)[0], box, atol=0.5)
    np.testing.assert_allclose(found[0].keypoints, kps, atol=0.5)


def test_detect_finds_each_face_and_sees_rgb_as_rgb(backend: InsightFaceBackend) -> None:
    # The model reacts to red only: the blue square is found only if BGR and RGB were mixed up.
    found = backend.detect(photo((1280, 960), [(1, 1, RED), (6, 4, WHITE), (10, 2, BLUE)]))
    got = sorted(map(tuple, boxes(found).round().tolist()))
    assert got == sorted(tuple(expected(c, r)[0].tolist()) for c, r in ((1, 1), (6, 4)))


def test_detect_takes_grayscale_and_empty_photos(backend: InsightFaceBackend) -> None:
    gray = photo((1280, 960), [(2, 2, WHITE)]).convert("L")
    assert len(backend.detect(gray)) == 1
    assert backend.detect(Image.new("RGB", (1280, 960))) == []


def test_embed_gives_unit_vectors_that_follow_the_face(backend: InsightFaceBackend) -> None:
    image = photo((1280, 960), [(1, 1, RED), (8, 2, WHITE), (12, 5, RED), (4, 5, PINK)])
    found = sorted(backend.detect(image), key=lambda d: (d.x0, d.y0))
    assert len(found) == 4
    red_a, pink, white, red_b = found
    vectors = backend.embed(image, [red_a, white, red_b, pink])
    assert vectors.shape == (4, 512)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The same face in two places is one person; other faces are not.
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-4)
    assert float(vectors[0] @ vectors[1]) < 0.99
    assert float(vectors[0] @ vectors[3]) < 0.99
    assert float(vectors[1] @ vectors[3]) < 0.99
    # Deterministic, and one face alone gives its row of the batch.
    np.testing.assert_allclose(backend.embed(image, [white])[0], vectors[1], atol=1e-5)
    assert backend.embed(image, []).shape == (0, 512)


def test_a_recognizer_with_a_free_batch_takes_all_faces_at_once(
    backend: InsightFaceBackend, pack: Path, tmp_path: Path
) -> None:
    # As w600k_r50.onnx, whose batch axis is free; the same weights as the pack's recognizer.
    folder = tmp_path / "batched"
    folder.mkdir()
    write_detector(folder / "det.onnx")
    write_recognizer(folder / "rec.onnx", batch="None")
    batched = InsightFaceBackend(folder)
    image = photo((1280, 960), [(1, 1, RED), (8, 2, WHITE), (4, 5, PINK)])
    faces = batched.detect(image)
    assert len(faces) == 3
    np.testing.assert_allclose(batched.embed(image, faces), backend.embed(image, faces), atol=1e-5)


def test_embed_is_arcface_on_the_aligned_crop(backend: InsightFaceBackend) -> None:
    import onnxruntime as ort

    face_align = importlib.import_module("insightface.utils.face_align")  # untyped: by name

    image = photo((1280, 960), [(3, 2, PINK)])
    (face,) = backend.detect(image)
    bgr = np.asarray(image)[:, :, ::-1].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        crop = face_align.norm_crop(bgr, landmark=face.keypoints, image_size=112)
    blob = ((crop[:, :, ::-1].astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None]
    assert backend.recognizer_path is not None
    session = ort.InferenceSession(str(backend.recognizer_path), providers=["CPUExecutionProvider"])
    raw = session.run(None, {"input.1": np.ascontiguousarray(blob)})[0][0]
    np.testing.assert_allclose(backend.embed(image, [face])[0], raw / np.linalg.norm(raw), atol=1e-5)


def test_embed_refuses_keypoints_of_another_detector(backend: InsightFaceBackend) -> None:
    image = photo((1280, 960), [(3, 2, RED)])
    blaze_like = Detection(96, 64, 160, 128, 0.9, np.zeros((6, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="5 keypoints"):
        backend.embed(image, [blaze_like])


def _pack_of(folder: Path, *models: str) -> Path:
    folder.mkdir()
    for n, kind in enumerate(models):
        path = folder / f"m{n}.onnx"
        if kind == "det":
            write_detector(path)
        elif kind == "det-no-kps":
            write_detector(path, keypoints=False)
        elif kind == "rec":
            write_recognizer(path, seed=n)
        elif kind == "genderage":
            write_genderage(path)
        else:
            path.write_bytes(b"not an onnx model")
    return folder


@pytest.mark.parametrize(
    ("models", "message"),
    [
        (("det", "genderage"), r"no face recognizer \(ArcFace"),
        (("rec",), r"no face detector \(SCRFD"),
        (("det", "det", "rec"), r"2 files are a face detector.*m0\.onnx, m1\.onnx.*exactly one"),
        (("det", "rec", "rec"), r"2 files are a face recognizer.*m1\.onnx, m2\.onnx"),
        (("det-no-kps", "rec"), r"m0\.onnx gives no facial keypoints"),
        (("det", "rec", "junk"), r"m2\.onnx cannot be loaded"),
    ],
)
def test_a_wrong_pack_is_named(tmp_path: Path, models: tuple[str, ...], message: str) -> None:
    folder = _pack_of(tmp_path / "pack", *models)
    backend = InsightFaceBackend(folder)
    with pytest.raises(ModelError, match=message) as caught:
        backend.load()
    assert str(folder) in str(caught.value)


def test_a_missing_or_empty_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        InsightFaceBackend(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("models go here")
    with pytest.raises(ModelError, match=r"holds no \.onnx model"):
        InsightFaceBackend(tmp_path / "empty")


def test_without_insightface_load_says_how_to_install(pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("insightface", "insightface.model_zoo", "insightface.utils", "insightface.utils.face_align"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(
        ModelError, match=r"pip install --no-deps insightface==2\.1 && pip install .*headless"
    ):
        InsightFaceBackend(pack).load()


def test_imports_wait_for_load_and_nothing_touches_the_network(pack: Path, tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from PIL import Image, ImageDraw
        import urllib3.util.connection
        from mixbook_desktop.analysis.insightface_backend import InsightFaceBackend

        # insightface imports requests, whose urllib3 opens (and at once closes) a socket on
        # ::1 when imported, to learn whether IPv6 works: no traffic, but the guard notes it.
        Path({str(log)!r}).unlink(missing_ok=True)
        backend = InsightFaceBackend(Path({str(pack)!r}))
        heavy = [m for m in ("cv2", "insightface") if m in sys.modules]
        assert not heavy, heavy
        backend.load()
        assert "cv2" in sys.modules and "insightface" in sys.modules
        image = Image.new("RGB", (1280, 960))
        ImageDraw.Draw(image).rectangle((64, 64, 127, 127), fill=(255, 255, 255))
        faces = backend.detect(image)
        print(len(faces), backend.embed(image, faces).shape, backend.embedder)
        """
    )
    guard = ROOT / "tests" / "support" / "no_network"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(guard), str(ROOT)]),
        "MIXBOOK_NETWORK_LOG": str(log),
        "PYTHONWARNINGS": "error::FutureWarning",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 (1, 512) arcface:")
    assert not log.exists(), log.read_text()


def test_analyze_with_a_pack_from_the_command_line(pack: Path, tmp_path: Path, book: Path) -> None:
    """The pack is a setting of the book: chosen once, kept by later runs, cleared with ''."""
    folder = tmp_path / "photos"
    folder.mkdir()
    # Two photos of the same "face" (a red square) and one with a blue square (no face).
    photo((1280, 960), [(3, 2, RED)]).save(folder / "a.png")
    photo((1280, 960), [(3, 2, RED), (10, 5, BLUE)]).save(folder / "b.png")
    photo((1280, 960), [(6, 4, BLUE)]).save(folder / "c.png")
    run_cli("import", str(book), str(folder))

    first = run_cli("analyze", str(book), "--face-pack", str(pack), "--jobs", "1")
    assert f"faces from the InsightFace pack {pack}" in first.stderr
    rows = {Path(str(r["file"])).name: r for r in photos_json(book)}
    assert rows.keys() == {"a.png", "b.png", "c.png"}
    assert all(r["analysis_error"] is None for r in rows.values()), rows
    assert [len(rows[n]["faces"]) for n in ("a.png", "b.png", "c.png")] == [1, 1, 0]
    face_a = rows["a.png"]["faces"][0]
    x0, y0, x1, y1 = expected(3, 2)[0] / np.array([1280, 960, 1280, 960])
    assert face_a["box"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=2e-3)
    # Same content, same ArcFace vector: one person across both photos.
    assert face_a["person"] is not None
    assert face_a["person"] == rows["b.png"]["faces"][0]["person"]
    people = json.loads(run_cli("people", str(book), "--json").stdout)
    assert [(p["face_count"], p["photo_count"]) for p in people] == [(2, 2)], people

    again = run_cli("analyze", str(book))  # no flag: the book's pack is still the one in use
    assert "faces from the InsightFace pack" in again.stderr
    assert "0 photos analysed" in again.stdout

    back = run_cli("analyze", str(book), "--face-pack", "")
    assert "InsightFace" not in back.stderr
    assert "3 photos analysed" in back.stdout  # faces found again with the bundled models
    assert all(not r["faces"] for r in photos_json(book))  # BlazeFace sees no face in a square


def test_analyze_names_a_pack_that_cannot_be_used(tmp_path: Path, book: Path) -> None:
    photo((640, 480), []).save(tmp_path / "x.png")
    run_cli("import", str(book), str(tmp_path / "x.png"))
    done = run_cli("analyze", str(book), "--face-pack", str(tmp_path / "nowhere"), check=False)
    assert done.returncode == 1
    assert "nowhere" in done.stderr and "not found" in done.stderr
    assert done.stderr.count("\n") <= 3, done.stderr  # a message, not a traceback
