"""Runs the text-detection examples, C and Python, with both detectors on the default device (DLINFER_DEVICE) and
checks the boxes they print against boxes computed here from onnxruntime's maps by numpy references written from
the documented conventions: for EAST, the RBOX decoding and a brute-force greedy NMS with exact polygon IoU; for
CRAFT, CRAFT's getDetBoxes (threshold, 4-connected components, dilation, minimum-area rectangle). Also: the maps
dlinfer computes match onnxruntime's, and both detectors find the held-out words (F1 >= 0.85 at IoU 0.5).
The C programs must be built first (make examples); the Python package must be importable (PYTHONPATH=bindings/python,
DLINFER_LIBRARY)."""
import math
import pathlib
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = {"east": ROOT / "examples" / "models" / "east_text.onnx",
          "craft": ROOT / "examples" / "models" / "craft_text.onnx"}
DATA = ROOT / "examples" / "data" / "textdet"
EAST_SCORE_THRESHOLD, EAST_NMS_IOU = 0.8, 0.2
MIN_F1 = 0.85


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


# ---- the data ----------------------------------------------------------------------------------------------------

def read_pgm(path):
    data = path.read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data, np.uint8, w * h, m.end()).reshape(h, w)


def truth():
    """{image name: [true quads [4, 2]]} from boxes.txt."""
    out = {}
    for line in (DATA / "boxes.txt").read_text().splitlines():
        fields = line.split()
        out.setdefault(fields[0], []).append(np.array(fields[1:9], dtype=np.float64).reshape(4, 2))
    return out


TRUTH = truth()


# ---- polygons ----------------------------------------------------------------------------------------------------

def cross(a, b):
    return a[0] * b[1] - a[1] * b[0]


def area(p):
    return 0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))


def iou(p, q):
    """Exact IoU of two convex polygons: p clipped by each side of q (Sutherland-Hodgman)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    orient = np.sign(cross(q[1] - q[0], q[2] - q[1])) or 1.0
    poly = list(p)
    for a, b in zip(q, np.roll(q, -1, axis=0)):
        side = [orient * cross(b - a, v - a) for v in poly]
        out = []
        for j in range(len(poly)):
            k = (j + 1) % len(poly)
            if side[j] >= 0:
                out.append(poly[j])
            if (side[j] >= 0) != (side[k] >= 0):
                out.append(poly[j] + (poly[k] - poly[j]) * side[j] / (side[j] - side[k]))
        poly = out
        if not poly:
            break
    inter = area(np.array(poly)) if len(poly) >= 3 else 0.0
    union = area(p) + area(q) - inter
    return inter / union if union > 0 else 0.0


# ---- numpy references --------------------------------------------------------------------------------------------

def east_reference(score, geometry):
    """EAST's RBOX maps -> quads (corners top-left, top-right, bottom-right, bottom-left), then greedy NMS. Returns
    the kept quads and scores, and all the candidates' quads and scores."""
    ys, xs = np.nonzero(score > EAST_SCORE_THRESHOLD)
    top, right, bottom, left, angle = (geometry[k, ys, xs].astype(np.float64) for k in range(5))
    c, s = np.cos(angle), np.sin(angle)
    px, py = xs * 4.0, ys * 4.0
    quads = np.stack([np.stack([px + u * c + v * s, py - u * s + v * c], axis=1)
                      for u, v in ((-left, -top), (right, -top), (right, bottom), (-left, bottom))], axis=1)
    scores = score[ys, xs]
    keep = []
    for k in sorted(range(len(scores)), key=lambda k: (-scores[k], k)):
        if all(iou(quads[k], quads[j]) <= EAST_NMS_IOU for j in keep):
            keep.append(k)
    return quads[keep], scores[keep], quads, scores


def convex_hull(points):
    pts = sorted(set(map(tuple, points)))
    if len(pts) <= 2:
        return [np.array(p, np.float64) for p in pts]
    hull = []
    for seq in (pts, pts[::-1]):
        start = len(hull)
        for p in seq:
            while len(hull) >= start + 2 and cross(np.subtract(hull[-1], hull[-2]), np.subtract(p, hull[-1])) <= 0:
                hull.pop()
            hull.append(p)
        hull.pop()
    return [np.array(p, np.float64) for p in hull]


def min_area_rect(points):
    """The smallest rectangle around the points: one side lies along an edge of their convex hull."""
    hull = convex_hull(points)
    if len(hull) == 1:
        return np.repeat(hull[0][None], 4, axis=0)
    best = (math.inf, None)
    for k in range(len(hull)):
        e = hull[(k + 1) % len(hull)] - hull[k]
        u = e / np.hypot(*e)
        v = np.array([-u[1], u[0]])
        pu, pv = [h @ u for h in hull], [h @ v for h in hull]
        a = (max(pu) - min(pu)) * (max(pv) - min(pv))
        if a < best[0]:
            best = (a, np.array([u * min(pu) + v * min(pv), u * max(pu) + v * min(pv),
                                 u * max(pu) + v * max(pv), u * min(pu) + v * max(pv)]))
    return best[1]


def craft_reference(region, affinity, text=0.7, link=0.4, low=0.4, min_size=10, scale=2.0):
    """CRAFT's getDetBoxes_core in numpy: boxes in the components' raster order, each clockwise as seen in the image
    from the corner nearest the top-left; each component's peak region score; and for each box the points it was
    drawn around and the least area of a rectangle around them (all scaled to input pixels)."""
    h, w = region.shape
    text_cells, link_cells = region > low, affinity > link
    cells = text_cells | link_cells
    seen = np.zeros_like(cells)
    quads, scores, around = [], [], []
    for start in zip(*np.nonzero(cells)):
        if seen[start]:
            continue
        seen[start] = True
        component, stack = [], [start]
        while stack:
            y, x = stack.pop()
            component.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and cells[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        comp = np.array(component)
        if len(comp) < min_size or region[comp[:, 0], comp[:, 1]].max() < text:
            continue
        seg = np.zeros((h, w), bool)
        seg[comp[:, 0], comp[:, 1]] = True
        seg &= text_cells  # link-only cells are dropped before the dilation
        y0, x0 = comp.min(axis=0)
        y1, x1 = comp.max(axis=0)
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        n = int(math.sqrt(len(comp) * min(bw, bh) / (bw * bh)) * 2)
        sx, ex, sy, ey = max(0, x0 - n), min(w, x1 + 1 + n + 1), max(0, y0 - n), min(h, y1 + 1 + n + 1)
        # OpenCV's dilate by a (1+n) x (1+n) rectangle anchored at its centre a: a cell is set when a source cell
        # lies within [-a, n - a] of it on each axis; within the window [sy:ey, sx:ex].
        a = (1 + n) // 2
        src = seg[sy:ey, sx:ex]
        grown = np.zeros_like(src)
        for dy in range(-a, n - a + 1):
            for dx in range(-a, n - a + 1):
                shifted = np.zeros_like(src)
                ys0, ys1 = max(0, -dy), min(src.shape[0], src.shape[0] - dy)
                xs0, xs1 = max(0, -dx), min(src.shape[1], src.shape[1] - dx)
                shifted[ys0:ys1, xs0:xs1] = src[ys0 + dy:ys1 + dy, xs0 + dx:xs1 + dx]
                grown |= shifted
        ys, xs = np.nonzero(grown)
        points = np.stack([xs + sx, ys + sy], axis=1).astype(np.float64)
        box = min_area_rect(points)
        around.append((points * scale, area(box) * scale ** 2))
        s0, s1 = np.hypot(*(box[0] - box[1])), np.hypot(*(box[1] - box[2]))
        if abs(1 - max(s0, s1) / (min(s0, s1) + 1e-5)) <= 0.1:
            lo, hi = points.min(axis=0), points.max(axis=0)
            box = np.array([lo, [hi[0], lo[1]], hi, [lo[0], hi[1]]])
        if np.dot(box[:, 0], np.roll(box[:, 1], -1)) - np.dot(box[:, 1], np.roll(box[:, 0], -1)) < 0:
            box = box[::-1]
        first = min(range(4), key=lambda i: (box[i].sum(), box[i][1]))
        quads.append(np.roll(box, -first, axis=0) * scale)
        scores.append(region[comp[:, 0], comp[:, 1]].max())
    return np.array(quads).reshape(-1, 4, 2), np.array(scores, np.float32), around


@pytest.fixture(scope="module")
def onnxruntime_maps():
    """model -> {image name: the maps onnxruntime computes for it}."""
    names = list(TRUTH)
    batch = np.stack([read_pgm(DATA / n) for n in names])[:, None].astype(np.float32) / 255
    out = {}
    for model, path in MODELS.items():
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        a, b = sess.run(["score", "geometry"] if model == "east" else ["region", "affinity"], {"image": batch})
        out[model] = {n: (a[i, 0], b[i] if model == "east" else b[i, 0]) for i, n in enumerate(names)}
    return out


@pytest.fixture(scope="module")
def reference_boxes(onnxruntime_maps):
    """model -> {image name: the reference's boxes} from onnxruntime's maps and the numpy references."""
    ref = {"east": east_reference, "craft": craft_reference}
    return {model: {n: ref[model](*m) for n, m in maps.items()} for model, maps in onnxruntime_maps.items()}


def parse_boxes(lines):
    """{name: (quads [K, 4, 2], scores [K])} from the examples' `NAME: SCORE x,y x,y x,y x,y` lines."""
    out = {}
    for line in lines:
        m = re.fullmatch(r"(\S+): (\d\.\d{3})((?: -?\d+\.\d{2},-?\d+\.\d{2}){4})", line)
        assert m, f"unexpected line {line!r}"
        quads, scores = out.setdefault(m.group(1), ([], []))
        quads.append(np.array([p.split(",") for p in m.group(3).split()], dtype=np.float64))
        scores.append(float(m.group(2)))
    return {n: (np.array(q).reshape(-1, 4, 2), np.array(s)) for n, (q, s) in out.items()}


CORNER_TOLERANCE = 0.05  # px: the examples print to 0.01 px
SCORE_TOLERANCE = 2e-3  # printed to 0.001
TIE = 1e-5  # scores this close may come in either order: dlinfer's maps differ from onnxruntime's by float rounding


def find_box(q, quads, any_first_corner=False):
    """The index of the box in `quads` with the same corners as q (to CORNER_TOLERANCE), or -1."""
    shifts = range(4) if any_first_corner else [0]
    for k, r in enumerate(quads):
        if min(np.abs(np.roll(q, s, axis=0) - r).max() for s in shifts) < CORNER_TOLERANCE:
            return k
    return -1


def assert_east_boxes(got, want, name):
    """The boxes printed are the reference's: as many, each a decoded cell's box with its score, by falling score,
    and together a result of greedy NMS: no two overlap by more than the IoU threshold, and every other candidate
    overlaps one of them that scores at least as high. Where candidates' scores tie within TIE (sigmoid scores
    near 1), float rounding may make the example keep another of them than the reference; that is allowed."""
    quads, scores = got
    ref_quads, _, cand_quads, cand_scores = want
    assert len(quads) == len(ref_quads), f"{name}: {len(quads)} boxes, the reference {len(ref_quads)}"
    kept = []
    for k, (q, s) in enumerate(zip(quads, scores)):
        j = find_box(q, cand_quads)
        assert j >= 0, f"{name} box {k}: {q.tolist()} is no decoded cell's box"
        assert abs(cand_scores[j] - s) < SCORE_TOLERANCE, f"{name} box {k}: score {s}, the cell's {cand_scores[j]}"
        assert not kept or cand_scores[j] <= cand_scores[kept[-1]] + TIE, f"{name} box {k}: not by falling score"
        kept.append(j)
    for a in range(len(kept)):
        for b in range(a):
            overlap = iou(cand_quads[kept[a]], cand_quads[kept[b]])
            assert overlap <= EAST_NMS_IOU + 1e-6, f"{name}: boxes {b}, {a} overlap by {overlap}"
    for j in set(range(len(cand_quads))) - set(kept):
        assert any(iou(cand_quads[j], cand_quads[i]) > EAST_NMS_IOU - 1e-6 and cand_scores[i] >= cand_scores[j] - TIE
                   for i in kept), f"{name}: candidate {j} ({cand_quads[j].tolist()}) is not suppressed"


def assert_craft_boxes(got, want, name):
    """The boxes printed are the reference's, in order (any corner first: the first is the one with the least x + y,
    which two corners of a box turned by 45 degrees share up to rounding). Where two rectangles around a component
    have the same least area (common with integer cell coordinates), the example may draw either: a box that
    encloses the component's points and has that least area is accepted in place of the reference's."""
    quads, scores = got
    ref_quads, ref_scores, around = want
    assert len(quads) == len(ref_quads), f"{name}: {len(quads)} boxes, the reference {len(ref_quads)}"
    for k, (q, r) in enumerate(zip(quads, ref_quads)):
        assert abs(scores[k] - ref_scores[k]) < SCORE_TOLERANCE, f"{name} box {k}: score {scores[k]} != {ref_scores[k]}"
        if find_box(q, [r], any_first_corner=True) == 0:
            continue
        points, least = around[k]
        orient = np.sign(cross(q[1] - q[0], q[2] - q[1]))
        inside = all(orient * cross(b - a, p - a) / np.hypot(*(b - a)) >= -CORNER_TOLERANCE
                     for a, b in zip(q, np.roll(q, -1, axis=0)) for p in points)
        assert inside and area(q) <= least * 1.001 + 0.5, f"{name} box {k}: {q.tolist()} != {r.tolist()}"


CHECKS = {"east": assert_east_boxes, "craft": assert_craft_boxes}


def f1_of(boxes):
    found = detections = words = 0
    for name, true_quads in TRUTH.items():
        quads, scores = boxes.get(name, (np.zeros((0, 4, 2)), np.zeros(0)))
        taken = set()
        for k in np.argsort(-scores, kind="stable"):
            ious = [iou(quads[k], t) if j not in taken else -1 for j, t in enumerate(true_quads)]
            if ious and max(ious) >= 0.5:
                taken.add(int(np.argmax(ious)))
        found += len(taken)
        detections += len(quads)
        words += len(true_quads)
    p, r = found / detections, found / words
    return p, r, 2 * p * r / (p + r), found, detections, words


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("lang", EXAMPLES)
def test_detect_text_eval(lang, model, reference_boxes, tmp_path):
    out = tmp_path / "sheet.ppm"
    r = run(EXAMPLES[lang]("detect_text"), "--model", model, "--out", str(out))
    lines = r.stdout.rstrip("\n").split("\n")
    assert lines[0].startswith("device: ")
    boxes = parse_boxes(lines[1:-1])
    for name in TRUTH:
        empty = (np.zeros((0, 4, 2)), np.zeros(0))
        CHECKS[model](boxes.get(name, empty), reference_boxes[model][name], name)
    p, rc, f1, found, detections, words = f1_of(boxes)
    assert lines[-1] == (f"{model}: precision {p:.3f} recall {rc:.3f} F1 {f1:.3f} at IoU 0.5 "
                         f"({found} of {detections} boxes match {words} words in {len(TRUTH)} images)")
    assert f1 >= MIN_F1
    header = f"P6\n{128 * 8} {128 * math.ceil(len(TRUTH) / 8)}\n255\n".encode()
    data = out.read_bytes()
    assert data.startswith(header) and len(data) == len(header) + 128 * 8 * 128 * math.ceil(len(TRUTH) / 8) * 3


@pytest.mark.parametrize("lang", EXAMPLES)
def test_detect_text_images(lang, reference_boxes, tmp_path):
    """Single images, a PGM and the same picture as a grey PPM, with the annotated output."""
    name = next(iter(TRUTH))
    pgm = DATA / name
    grey = read_pgm(pgm)
    ppm = tmp_path / "colour.ppm"
    ppm.write_bytes(b"P6\n# a comment\n128 128\n255\n" + np.repeat(grey[:, :, None], 3, axis=2).tobytes())
    out = tmp_path / "boxes.ppm"
    for model in MODELS:
        r = run(EXAMPLES[lang]("detect_text"), "--model", model, "--out", str(out), str(pgm), str(ppm))
        boxes = parse_boxes(r.stdout.rstrip("\n").split("\n")[1:])
        for path in (pgm, ppm):
            CHECKS[model](boxes[str(path)], reference_boxes[model][name], str(path))
        data = out.read_bytes()
        assert data.startswith(b"P6\n256 128\n255\n") and len(data) == 15 + 256 * 128 * 3
        pixels = np.frombuffer(data, np.uint8, offset=15).reshape(128, 256, 3)
        red = (pixels[:, :, 0] == 255) & (pixels[:, :, 1] == 0)
        assert red[:, :128].sum() > 50 and red[:, 128:].sum() > 50, "the boxes are drawn in red"
    r = run(EXAMPLES[lang]("detect_text"), str(MODELS["east"]), expect_rc=1)
    assert "PGM" in r.stderr
    r = run(EXAMPLES[lang]("detect_text"), "--model", str(DATA / "boxes.txt"), expect_rc=1)


def test_maps_match_onnxruntime(onnxruntime_maps):
    """The maps dlinfer computes (Python package, default device) equal onnxruntime's to 1e-4."""
    import dlinfer

    names = list(TRUTH)[:8]
    batch = np.stack([read_pgm(DATA / n) for n in names])[:, None].astype(np.float32) / 255
    for model, path in MODELS.items():
        sess = dlinfer.InferenceSession(str(path))
        outputs = ["score", "geometry"] if model == "east" else ["region", "affinity"]
        got = sess.run(outputs, {"image": batch})
        for i, n in enumerate(names):
            want = onnxruntime_maps[model][n]
            np.testing.assert_allclose(got[0][i, 0], want[0], atol=1e-4, err_msg=f"{model} {outputs[0]} {n}")
            # Geometry distances are in pixels (up to 128): compare them relative to that range.
            tol = 2e-3 if model == "east" else 1e-4
            np.testing.assert_allclose(got[1][i] if model == "east" else got[1][i, 0], want[1], atol=tol,
                                       err_msg=f"{model} {outputs[1]} {n}")
