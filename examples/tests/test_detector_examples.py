"""Runs the detect_objects examples, C and Python, with both detector models on the default device (DLINFER_DEVICE)
and checks what they print against onnxruntime: for detector_raw.onnx, onnxruntime's boxes and scores through a numpy
reference of per-class NMS written here; for detector_nms.onnx, onnxruntime's own in-graph NMS. Also checks the
held-out mAP@0.5 (at least 0.90, and onnxruntime's), the annotated images, resampling and errors, and that dlinfer's
outputs of both models equal onnxruntime's to 1e-4. The C programs must be built first (make examples); the Python
package must be importable (PYTHONPATH=bindings/python, DLINFER_LIBRARY)."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "examples" / "models"
DATA = ROOT / "examples" / "data"
HELD_OUT = DATA / "detector"
IOU_THRESHOLD = 0.5  # the examples' and detector_nms.onnx's
SCORE_THRESHOLD = 0.05
SHOWN = 0.5  # the examples' default --threshold
LINE = re.compile(r"(\S+): (\w+) (\d\.\d{3}) \((-?\d+\.\d), (-?\d+\.\d), (-?\d+\.\d), (-?\d+\.\d)\)")


def c_example(name):
    path = ROOT / "examples" / "c" / name
    if not path.exists():
        pytest.fail(f"{path} is not built: run `make examples` first")
    return [str(path)]


def py_example(name):
    return [sys.executable, str(ROOT / "examples" / "python" / f"{name}.py")]


EXAMPLES = {"c": c_example, "python": py_example}


def run(command, *args, expect_rc=0):
    r = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == expect_rc, f"{command} {args} exited {r.returncode}: {r.stderr}"
    return r


def read_ppm(path):
    data = pathlib.Path(path).read_bytes()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    assert m, f"{path} is not a binary PPM"
    w, h = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data, np.uint8, w * h * 3, m.end()).reshape(h, w, 3)


def write_ppm(path, pixels):
    pathlib.Path(path).write_bytes(b"P6\n%d %d\n255\n" % (pixels.shape[1], pixels.shape[0]) + pixels.tobytes())


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def reference_nms(boxes, scores):
    """Per-class greedy NMS of one image's boxes [K,4] and scores [K,C], as torchvision's batched_nms: candidates
    above SCORE_THRESHOLD by falling score (ties: lower cell, then lower class), each kept unless it overlaps a kept
    box of its class by IoU above IOU_THRESHOLD. Returns (class, score, box) by falling score."""
    cells, classes = np.nonzero(scores > SCORE_THRESHOLD)
    order = sorted(range(len(cells)), key=lambda j: (-scores[cells[j], classes[j]], j))
    kept = []
    for j in order:
        if all(classes[i] != classes[j] or iou(boxes[cells[i]], boxes[cells[j]]) <= IOU_THRESHOLD for i in kept):
            kept.append(j)
    return [(int(classes[j]), float(scores[cells[j], classes[j]]), boxes[cells[j]].astype(np.float64)) for j in kept]


def average_precision(detections, truths, c):
    """VOC's AP at IoU 0.5 of class c, all-point interpolation (as the examples compute it)."""
    found = sorted(((s, i, k) for i, dets in enumerate(detections) for k, (cls, s, _) in enumerate(dets) if cls == c),
                   key=lambda d: (-d[0], d[1], d[2]))
    gt = [[b for cls, b in t if cls == c] for t in truths]
    used = [[False] * len(g) for g in gt]
    total = sum(len(g) for g in gt)
    tp = np.zeros(len(found))
    for n, (_, i, k) in enumerate(found):
        overlaps = [iou(detections[i][k][2], g) for g in gt[i]]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best >= 0 and overlaps[best] >= 0.5 and not used[i][best]:
            used[i][best] = True
            tp[n] = 1
    recall = np.concatenate([[0], np.cumsum(tp) / total, [1]])
    precision = np.concatenate([[0], np.cumsum(tp) / np.arange(1, len(found) + 1), [0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


@pytest.fixture(scope="module")
def held_out():
    """(names, images uint8 [N,96,96,3], ground truth per image as (class, box), class names)."""
    classes = (DATA / "detector_classes.txt").read_text().split()
    names, truths = [], []
    for line in (HELD_OUT / "labels.txt").read_text().splitlines():
        name, cls, *box = line.split()
        if name not in names:
            names.append(name)
            truths.append([])
        truths[-1].append((classes.index(cls), [float(v) for v in box]))
    images = np.stack([read_ppm(HELD_OUT / n) for n in names])
    return names, images, truths, classes


def as_input(images):
    return images.transpose(0, 3, 1, 2).astype(np.float32) / 255


@pytest.fixture(scope="module")
def reference(held_out):
    """Per model, per held-out image: onnxruntime's detections (class, score, box) by falling score."""
    _, images, _, _ = held_out
    x = as_input(images)
    raw = ort.InferenceSession(str(MODELS / "detector_raw.onnx"), providers=["CPUExecutionProvider"])
    boxes, scores = raw.run(None, {"image": x})
    nms = ort.InferenceSession(str(MODELS / "detector_nms.onnx"), providers=["CPUExecutionProvider"])
    in_graph = []
    for i in range(len(x)):
        b, s, c, n = nms.run(None, {"image": x[i:i + 1]})
        assert (n == 0).all() and (np.diff(s) <= 0).all()
        in_graph.append([(int(c[j]), float(s[j]), b[j].astype(np.float64)) for j in range(len(s))])
    return {"raw": [reference_nms(b, s) for b, s in zip(boxes, scores)], "nms": in_graph}


def test_in_graph_nms_is_per_class_nms(reference):
    """detector_nms.onnx's NonMaxSuppression (onnxruntime) keeps what the numpy reference keeps on the raw heads."""
    for raw, nms in zip(reference["raw"], reference["nms"]):
        key = lambda d: (d[0], d[1])  # noqa: E731
        raw, nms = sorted(raw, key=key), sorted(nms, key=key)
        assert [d[0] for d in raw] == [d[0] for d in nms]
        np.testing.assert_allclose([d[1] for d in raw], [d[1] for d in nms], atol=1e-6)
        np.testing.assert_allclose(np.array([d[2] for d in raw]).reshape(-1, 4),
                                   np.array([d[2] for d in nms]).reshape(-1, 4), atol=1e-4)


def test_dlinfer_outputs_match_onnxruntime(held_out):
    """Both models through dlinfer on the test's device: raw heads and the in-graph NMS's detections (the same count
    and classes, boxes and scores within 1e-4) equal onnxruntime's on every held-out image."""
    import dlinfer
    _, images, _, _ = held_out
    x = as_input(images)
    raw = ort.InferenceSession(str(MODELS / "detector_raw.onnx"), providers=["CPUExecutionProvider"])
    ours = dlinfer.InferenceSession(str(MODELS / "detector_raw.onnx"))
    for want, got in zip(raw.run(None, {"image": x[:16]}), ours.run(None, {"image": x[:16]})):
        np.testing.assert_allclose(got, want, atol=1e-4)
    nms = ort.InferenceSession(str(MODELS / "detector_nms.onnx"), providers=["CPUExecutionProvider"])
    ours = dlinfer.InferenceSession(str(MODELS / "detector_nms.onnx"))
    for i in range(len(x)):
        want = nms.run(None, {"image": x[i:i + 1]})
        got = ours.run(None, {"image": x[i:i + 1]})
        assert [g.dtype for g in got] == [np.float32, np.float32, np.int64, np.int64]
        assert got[1].shape == want[1].shape, f"image {i}: {len(got[1])} detections, onnxruntime {len(want[1])}"
        # order by class and score, so that near-equal scores may come in either order
        order_w, order_g = np.lexsort((-want[1], want[2])), np.lexsort((-got[1], got[2]))
        np.testing.assert_array_equal(got[2][order_g], want[2][order_w])
        np.testing.assert_array_equal(got[3], want[3])
        np.testing.assert_allclose(got[1][order_g], want[1][order_w], atol=1e-4)
        np.testing.assert_allclose(got[0][order_g], want[0][order_w], atol=1e-4)


def parse(stdout, names):
    """The printed detections per name: (class name, score, box), and the lines that are not detections."""
    found = {n: [] for n in names}
    other = []
    for line in stdout.rstrip("\n").split("\n"):
        m = LINE.fullmatch(line)
        if m:
            found[m.group(1)].append((m.group(2), float(m.group(3)), [float(v) for v in m.groups()[3:]]))
        else:
            other.append(line)
    return found, other


def check_detections(printed, expected, classes, name, scale=1.0):
    """The printed detections are the expected ones above SHOWN (those within 1e-4 of it may be either way), by
    falling score, scores and boxes as rounded to 3 and 1 decimals."""
    must = [d for d in expected if d[1] > SHOWN + 1e-4]
    may = [d for d in expected if abs(d[1] - SHOWN) <= 1e-4]
    assert len(must) <= len(printed) <= len(must) + len(may), f"{name}: printed {printed}, expected {must}"
    scores = [p[1] for p in printed]
    assert scores == sorted(scores, reverse=True), name
    left = list(must) + list(may)
    for cls, score, box in printed:
        match = [d for d in left if classes[d[0]] == cls and abs(d[1] - score) <= 0.0005 + 2e-4
                 and np.abs(np.asarray(d[2]) * scale - box).max() <= 0.05 + 2e-3 * scale]
        assert match, f"{name}: printed {cls} {score} {box}, not among {left}"
        left.remove(match[0])
    assert all(d in may for d in left), f"{name}: not printed: {left}"


@pytest.fixture(scope="module")
def eval_runs():
    """stdout of each example in eval mode (the default), per (language, model)."""
    return {(lang, model): run(EXAMPLES[lang]("detect_objects"), "--model", model).stdout
            for lang in EXAMPLES for model in ("raw", "nms")}


@pytest.mark.parametrize("model", ["raw", "nms"])
@pytest.mark.parametrize("lang", EXAMPLES)
def test_eval_matches_onnxruntime(lang, model, held_out, reference, eval_runs):
    names, _, truths, classes = held_out
    found, other = parse(eval_runs[lang, model], names)
    assert other[0].startswith("device: ")
    nothing = {f"{n}: nothing above {SHOWN:.2f}" for n in names}
    assert all(line in nothing for line in other[1:-1]), other
    for k, name in enumerate(names):
        check_detections(found[name], reference[model][k], classes, name)
        assert (f"{name}: nothing above {SHOWN:.2f}" in other) == (not found[name]), name
    aps = [average_precision(reference[model], truths, c) for c in range(len(classes))]
    m = re.fullmatch(r"mAP@0\.5: (\d\.\d{4}) \((.*)\) over (\d+) images", other[-1])
    assert m and int(m.group(3)) == len(names), other[-1]
    per_class = dict(item.rsplit(" ", 1) for item in m.group(2).split(", "))
    assert list(per_class) == classes
    for c, ap in enumerate(aps):
        assert abs(float(per_class[classes[c]]) - ap) <= 0.002, (classes[c], per_class, aps)
    assert abs(float(m.group(1)) - np.mean(aps)) <= 0.002
    assert float(m.group(1)) >= 0.90


def test_languages_and_models_agree(eval_runs):
    """C and Python print the very same lines for a model; the raw model with the library's NMS and the in-graph
    NMS print the same detections."""
    for model in ("raw", "nms"):
        assert eval_runs["c", model] == eval_runs["python", model]
    raw, nms = (eval_runs["python", m].split("\n") for m in ("raw", "nms"))
    differ = [(a, b) for a, b in zip(raw, nms) if a != b]
    assert len(raw) == len(nms) and len(differ) <= 2, differ  # a last-digit difference at most


@pytest.mark.parametrize("lang", EXAMPLES)
def test_one_image_annotated(lang, held_out, reference, tmp_path):
    names, images, _, classes = held_out
    k = 0
    path = HELD_OUT / names[k]
    for model in ("raw", "nms"):
        out = tmp_path / f"{model}.ppm"
        r = run(EXAMPLES[lang]("detect_objects"), "--model", model, "--out", str(out), str(path))
        found, other = parse(r.stdout, [str(path)])
        assert len(other) == 1 and other[0].startswith("device: ")
        check_detections(found[str(path)], reference[model][k], classes, str(path))
        drawn = read_ppm(out)
        changed = (drawn != images[k]).any(axis=2)
        assert changed.any() and drawn.shape == images[k].shape
        # the frames go around the detections: every changed pixel is within 2 pixels of a shown box's edge
        ys, xs = np.nonzero(changed)
        boxes = [d[2] for d in reference[model][k] if d[1] > SHOWN]
        near = np.zeros(len(xs), bool)
        for x1, y1, x2, y2 in boxes:
            inside = (xs >= x1 - 3) & (xs <= x2 + 3) & (ys >= y1 - 3) & (ys <= y2 + 3)
            core = (xs > x1 + 2) & (xs < x2 - 2) & (ys > y1 + 2) & (ys < y2 - 2)
            near |= inside & ~core
        assert near.all()
    assert (read_ppm(tmp_path / "raw.ppm") == read_ppm(tmp_path / "nms.ppm")).all()


@pytest.mark.parametrize("lang", EXAMPLES)
def test_resampled_image_and_several(lang, held_out, reference, tmp_path):
    """An image twice the size (each pixel doubled) is resampled back to the same input: boxes twice as large. With
    several images, --out is a folder."""
    names, images, _, classes = held_out
    big = tmp_path / "big.ppm"
    write_ppm(big, images[1].repeat(2, axis=0).repeat(2, axis=1))
    small = HELD_OUT / names[2]
    folder = tmp_path / "out"
    folder.mkdir()
    r = run(EXAMPLES[lang]("detect_objects"), "--model", "nms", "--out", str(folder), str(big), str(small))
    found, _ = parse(r.stdout, [str(big), str(small)])
    check_detections(found[str(big)], reference["nms"][1], classes, "big", scale=2.0)
    check_detections(found[str(small)], reference["nms"][2], classes, names[2])
    assert read_ppm(folder / "big.ppm").shape == (192, 192, 3)
    assert read_ppm(folder / names[2]).shape == (96, 96, 3)
    r = run(EXAMPLES[lang]("detect_objects"), "--out", str(tmp_path / "no_folder"), str(big), str(small),
            expect_rc=1)
    assert "folder" in r.stderr


@pytest.mark.parametrize("lang", EXAMPLES)
def test_errors(lang):
    example = EXAMPLES[lang]("detect_objects")
    r = run(example, str(DATA / "detector" / "labels.txt"), expect_rc=1)
    assert "PPM" in r.stderr
    r = run(example, "--model", str(DATA / "no_such_model.onnx"), expect_rc=1)
    assert "DLINFER_ERR_NOT_FOUND" in r.stderr
    if os.environ.get("DLINFER_DEVICE", "cpu") == "cpu":  # the wrong model: its outputs are not a detector's
        r = run(example, "--device", "cpu", "--model", str(MODELS / "digits_cnn.onnx"), expect_rc=1)
        assert "boxes" in r.stderr
