"""Runs the segment_image examples, C and Python, on the default device (DLINFER_DEVICE) and checks what they print
and write against onnxruntime: every pixel count, IoU and mask pixel must follow from the argmax of onnxruntime's
logits for the same input, and the mean IoU over the bundled held-out images must reach 0.90. Also checks dlinfer's
own logits against onnxruntime's (1e-4). The C programs must be built first (make examples); the Python package must
be importable (PYTHONPATH=bindings/python, DLINFER_LIBRARY)."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "models" / "segnet.onnx"
DATA = ROOT / "examples" / "data" / "segnet"
CLASS_NAMES = ["background", "disc", "rectangle", "triangle"]
PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]], np.float64)


def c_example():
    path = ROOT / "examples" / "c" / "segment_image"
    if not path.exists():
        pytest.fail(f"{path} is not built: run `make examples` first")
    return [str(path)]


def py_example():
    return [sys.executable, str(ROOT / "examples" / "python" / "segment_image.py")]


EXAMPLES = {"c": c_example, "python": py_example}


def run(command, *args, expect_rc=0):
    r = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == expect_rc, f"{command} {args} exited {r.returncode}: {r.stderr}"
    return r


def read_pnm(path):
    data = pathlib.Path(path).read_bytes()
    m = re.match(rb"P([56])\s+(\d+)\s+(\d+)\s+255\s", data)
    channels = 3 if m.group(1) == b"6" else 1
    w, h = int(m.group(2)), int(m.group(3))
    return np.frombuffer(data, np.uint8, w * h * channels, m.end()).reshape(h, w, channels)


def write_ppm(path, image):
    pathlib.Path(path).write_bytes(b"P6\n%d %d\n255\n" % (image.shape[1], image.shape[0]) + image.tobytes())


def model_input(image):
    """What the examples feed the model: the image padded to multiples of 8 by repeating its edge, planar, / 255."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % 8), (0, -w % 8), (0, 0)), mode="edge")
    return padded.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255)


@pytest.fixture(scope="module")
def session():
    return ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])


def ort_labels(session, image):
    """The argmax of onnxruntime's logits, cut back to the image's size."""
    (logits,) = session.run(["logits"], {"image": model_input(image)})
    return logits[0].argmax(0)[: image.shape[0], : image.shape[1]]


@pytest.fixture(scope="module")
def held_out(session):
    """[(image name, image, label map, onnxruntime's classes)] for the bundled labels file."""
    out = []
    for line in (DATA / "labels.txt").read_text().split("\n"):
        if line.strip():
            name, label_name = line.split()
            image = read_pnm(DATA / name)
            out.append((name, image, read_pnm(DATA / label_name)[..., 0], ort_labels(session, image)))
    return out


def counts_line(name, labels):
    counts = np.bincount(labels.ravel(), minlength=len(CLASS_NAMES))
    return f"{name}: " + ", ".join(f"{c} {n}" for c, n in zip(CLASS_NAMES, counts))


def mask(image, labels, blend):
    return np.floor((1.0 - blend) * PALETTE[labels] + blend * image.astype(np.float64) + 0.5).astype(np.uint8)


@pytest.mark.parametrize("lang", EXAMPLES)
def test_evaluation_matches_onnxruntime(lang, held_out, tmp_path):
    r = run(EXAMPLES[lang](), "--out", str(tmp_path))
    lines = r.stdout.rstrip("\n").split("\n")
    assert lines[0].startswith("device: ")
    assert lines[1:-2] == [counts_line(name, labels) for name, _, _, labels in held_out]
    truth = np.stack([t for _, _, t, _ in held_out]).astype(np.int64)
    predicted = np.stack([p for _, _, _, p in held_out])
    ious = []
    for k in range(len(CLASS_NAMES)):
        both = np.sum((truth == k) & (predicted == k))
        ious.append(both / (np.sum(truth == k) + np.sum(predicted == k) - both))
    assert lines[-2] == "IoU: " + ", ".join(f"{c} {v:.4f}" for c, v in zip(CLASS_NAMES, ious))
    assert lines[-1] == f"mean IoU: {sum(ious) / len(ious):.4f} ({len(held_out)} images)"
    assert sum(ious) / len(ious) >= 0.90
    for name, _, _, labels in held_out:
        written = read_pnm(tmp_path / (name.rsplit(".", 1)[0] + "_mask.ppm"))
        assert np.array_equal(written, mask(np.zeros_like(written), labels, 0.0)), name


@pytest.mark.parametrize("lang", EXAMPLES)
def test_images_of_any_size(lang, session, held_out, tmp_path):
    # A crop whose sides are no multiples of 8, padded by the example; and a whole held-out image, blended.
    _, first, _, _ = held_out[0]
    crop = np.ascontiguousarray(first[5:50, 2:63])
    write_ppm(tmp_path / "crop.ppm", crop)
    name, whole, _, whole_labels = held_out[1]
    paths = [str(tmp_path / "crop.ppm"), str(DATA / name)]
    out = tmp_path / "masks"
    out.mkdir()
    r = run(EXAMPLES[lang](), "--out", str(out), "--blend", "0.4", *paths)
    crop_labels = ort_labels(session, crop)
    assert r.stdout.split("\n")[1:] == [counts_line(paths[0], crop_labels), counts_line(paths[1], whole_labels), ""]
    assert np.array_equal(read_pnm(out / "crop_mask.ppm"), mask(crop, crop_labels, 0.4))
    assert np.array_equal(read_pnm(out / (name.rsplit(".", 1)[0] + "_mask.ppm")), mask(whole, whole_labels, 0.4))
    # One image: --out is the mask file itself.
    r = run(EXAMPLES[lang](), "--out", str(tmp_path / "one.ppm"), paths[0])
    assert r.stdout.split("\n")[1] == counts_line(paths[0], crop_labels)
    assert np.array_equal(read_pnm(tmp_path / "one.ppm"), mask(crop, crop_labels, 0.0))


@pytest.mark.parametrize("lang", EXAMPLES)
def test_errors(lang):
    r = run(EXAMPLES[lang](), str(DATA / "label_00.pgm"), expect_rc=1)
    assert "PPM" in r.stderr
    r = run(EXAMPLES[lang](), "--model", str(DATA / "no_such_model.onnx"), expect_rc=1)
    assert "DLINFER_ERR_NOT_FOUND" in r.stderr
    run(EXAMPLES[lang](), "--blend", "1.5", expect_rc=2)


def test_dlinfer_logits_match_onnxruntime(session, held_out):
    """The acceptance check on the model itself: dlinfer's logits (all 16 images in one batch) within 1e-4 of
    onnxruntime's, and the same classes wherever the best two logits are not tied."""
    import dlinfer
    x = np.concatenate([model_input(image) for _, image, _, _ in held_out])
    want = session.run(["logits"], {"image": x})[0]
    logits, classes = dlinfer.InferenceSession(str(MODEL), device=os.environ.get("DLINFER_DEVICE")).run(
        ["logits", "classes"], {"image": x})
    assert np.abs(logits - want).max() <= 1e-4
    top2 = np.sort(want, axis=1)[:, -2:]
    untied = top2[:, 1] > top2[:, 0]
    assert np.array_equal(classes[untied], want.argmax(1)[untied])
