"""dlinfer.nms, east_decode and heatmap_boxes against references: torchvision's nms/batched_nms and CRAFT's OpenCV
post-processing (results stored by tools/make_postprocessing_references.py), and brute-force numpy references
written here for what those do not cover (rotated boxes, thresholds, limits, EAST decoding)."""
import itertools
import math
import pathlib

import numpy as np
import pytest

import dlinfer

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "Tests" / "Fixtures" / "postprocessing"


def load(name):
    data = np.load(FIXTURES / name)
    return [{k.split("_", 1)[1]: data[k] for k in data.files if k.startswith(f"{i}_")} for i in range(int(data["cases"]))]


@pytest.mark.parametrize("case", load("nms_torchvision.npz"), ids=lambda c: f"n{len(c['scores'])}-iou{c['iou']}")
def test_nms_equals_torchvision(case):
    iou = float(case["iou"])
    np.testing.assert_array_equal(dlinfer.nms(case["boxes"], case["scores"], iou), case["nms"])
    np.testing.assert_array_equal(dlinfer.nms(case["boxes"], case["scores"], iou, classes=case["classes"]),
                                  case["batched"])


def box_iou(a, b):
    """IoU of two corner boxes in float64; 0 when the union is empty."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def greedy_reference(scores, classes, overlap, iou, score_threshold, limit):
    order = sorted((i for i in range(len(scores)) if scores[i] > score_threshold), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if limit is not None and len(kept) == limit:
            break
        if all(classes[i] != classes[k] or overlap(i, k) <= iou for k in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("seed", range(4))
def test_nms_thresholds_limits_and_center_layout(seed):
    rng = np.random.default_rng(seed)
    n = 150
    xy, wh = rng.uniform(0, 60, (n, 2)), rng.uniform(1, 30, (n, 2))
    corners = np.concatenate([xy, xy + wh], 1).astype(np.float32)
    scores = rng.random(n).astype(np.float32)
    classes = rng.integers(0, 3, n)
    for iou, threshold, limit in [(0.45, 0.3, None), (0.6, -np.inf, 10), (0.2, 0.9, 3), (0.5, 0.5, 0)]:
        want = greedy_reference(scores, classes, lambda i, k: box_iou(corners[i], corners[k]), iou, threshold, limit)
        got = dlinfer.nms(corners, scores, iou, classes=classes, score_threshold=threshold, max_outputs=limit)
        assert got.tolist() == want
        # The same boxes as (cx, cy, w, h), and with their corners swapped.
        center = np.concatenate([xy + wh / 2, wh], 1).astype(np.float32)
        assert dlinfer.nms(center, scores, iou, classes, threshold, limit, box_format="center").tolist() == want
        swapped = corners[:, [2, 3, 0, 1]]
        assert dlinfer.nms(swapped, scores, iou, classes, threshold, limit).tolist() == want


def polygon_area(p):
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def inside(point, poly):
    """Whether a point lies in a convex polygon (either orientation), edges included up to rounding."""
    crosses = [(b[0] - a[0]) * (point[1] - a[1]) - (b[1] - a[1]) * (point[0] - a[0])
               for a, b in zip(poly, np.roll(poly, -1, 0))]
    scale = 1e-9 * max(1.0, np.abs(poly).max()) ** 2
    return all(c >= -scale for c in crosses) or all(c <= scale for c in crosses)


def brute_force_intersection(p, q):
    """Area of the intersection of two convex polygons, from every candidate vertex: the corners of each inside the
    other and every crossing of two edges, put in angular order about their mean."""
    points = [v for v in p if inside(v, q)] + [v for v in q if inside(v, p)]
    for (a, b), (c, d) in itertools.product(zip(p, np.roll(p, -1, 0)), zip(q, np.roll(q, -1, 0))):
        r, s = b - a, d - c
        denom = r[0] * s[1] - r[1] * s[0]
        if denom == 0:
            continue
        t = ((c - a)[0] * s[1] - (c - a)[1] * s[0]) / denom
        u = ((c - a)[0] * r[1] - (c - a)[1] * r[0]) / denom
        if 0 <= t <= 1 and 0 <= u <= 1:
            points.append(a + t * r)
    if len(points) < 3:
        return 0.0
    pts = np.array(points)
    centre = pts.mean(0)
    pts = pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))]
    return polygon_area(pts)


def rotated_corners(box):
    """detectron2's corners of (cx, cy, w, h, degrees)."""
    cx, cy, w, h, a = box.astype(np.float64)
    c, s = math.cos(math.radians(a)) / 2, math.sin(math.radians(a)) / 2
    p0 = (cx + s * h + c * w, cy + c * h - s * w)
    p1 = (cx - s * h + c * w, cy - c * h - s * w)
    return np.array([p0, p1, (2 * cx - p0[0], 2 * cy - p0[1]), (2 * cx - p1[0], 2 * cy - p1[1])])


def polygon_iou(p, q):
    inter = brute_force_intersection(p, q)
    union = polygon_area(p) + polygon_area(q) - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.parametrize("seed", range(3))
def test_rotated_nms_matches_brute_force_polygon_iou(seed):
    rng = np.random.default_rng(100 + seed)
    n = 80
    boxes = np.concatenate([rng.uniform(20, 60, (n, 2)), rng.uniform(4, 30, (n, 2)), rng.uniform(-90, 90, (n, 1))],
                           1).astype(np.float32)
    boxes[::13, 2] = 0  # zero-area boxes
    scores = rng.random(n).astype(np.float32)
    classes = rng.integers(0, 2, n)
    polys = [rotated_corners(b) for b in boxes]
    ious = {(i, k): polygon_iou(polys[i], polys[k]) for i in range(n) for k in range(n)}
    for iou in [0.1, 0.3, 0.5]:
        # Keep the check clear of rounding: no pair may sit within 1e-6 of the threshold.
        assert all(abs(v - iou) > 1e-6 for v in ious.values())
        want = greedy_reference(scores, np.zeros(n), lambda i, k: ious[i, k], iou, -np.inf, None)
        assert dlinfer.nms(boxes, scores, iou, box_format="center_angle").tolist() == want
        quads = np.stack(polys).astype(np.float32)
        assert dlinfer.nms(quads, scores, iou, box_format="quad").tolist() == want
        # Corners in the other direction are the same quadrilaterals.
        assert dlinfer.nms(quads[:, ::-1], scores, iou, box_format="quad").tolist() == want
        want = greedy_reference(scores, classes, lambda i, k: ious[i, k], iou, 0.2, 12)
        got = dlinfer.nms(boxes, scores, iou, classes, 0.2, 12, box_format="center_angle")
        assert got.tolist() == want


def test_axis_aligned_rotated_boxes_agree_with_corner_boxes():
    rng = np.random.default_rng(7)
    xy, wh = rng.uniform(0, 50, (60, 2)), rng.uniform(2, 20, (60, 2))
    scores = rng.random(60).astype(np.float32)
    corners = np.concatenate([xy, xy + wh], 1).astype(np.float32)
    center = np.concatenate([xy + wh / 2, wh, np.zeros((60, 1))], 1).astype(np.float32)
    for iou in [0.25, 0.5]:
        assert dlinfer.nms(center, scores, iou, box_format="center_angle").tolist() == dlinfer.nms(corners, scores, iou).tolist()


def test_nms_rejects_bad_input():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11]], np.float32)
    with pytest.raises(dlinfer.Error, match="dlinfer_nms: the score of box 1 is NaN") as e:
        dlinfer.nms(boxes, np.array([0.5, np.nan], np.float32), 0.5)
    assert e.value.status_name == "DLINFER_ERR_INVALID_ARG"
    with pytest.raises(dlinfer.Error, match=r"iou_threshold 1\.5 must lie in \[0, 1\]"):
        dlinfer.nms(boxes, np.ones(2, np.float32), 1.5)
    with pytest.raises(dlinfer.Error, match="iou_threshold nan"):
        dlinfer.nms(boxes, np.ones(2, np.float32), float("nan"))
    with pytest.raises(dlinfer.Error, match="box 0 has a coordinate that is not finite"):
        dlinfer.nms(np.array([[0, 0, np.inf, 1]], np.float32), np.ones(1, np.float32), 0.5)
    bow_tie = np.array([[[0, 0], [10, 10], [10, 0], [0, 10]]], np.float32)
    with pytest.raises(dlinfer.Error, match="box 0 is not a convex quadrilateral"):
        dlinfer.nms(bow_tie, np.ones(1, np.float32), 0.5, box_format="quad")
    with pytest.raises(dlinfer.Error, match="unknown box_format"):
        dlinfer.nms(boxes, np.ones(2, np.float32), 0.5, box_format="xywh")
    with pytest.raises(dlinfer.Error, match="do not hold 2 corners boxes"):
        dlinfer.nms(boxes[:, :3], np.ones(2, np.float32), 0.5)
    # Below the score threshold a box is not looked at, so its coordinates may be anything.
    assert dlinfer.nms(np.array([[0, 0, np.nan, 1]], np.float32), np.zeros(1, np.float32), 0.5,
                       score_threshold=0.5).tolist() == []
    assert dlinfer.nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).tolist() == []


def east_reference(score, geometry, scale, threshold):
    """OpenCV's EAST sample decoding: the corner offset + (cos r + sin b, -sin r + cos b) is the bottom-right one."""
    quads, scores = [], []
    for y, x in zip(*np.nonzero(score > threshold)):
        t, r, b, l, a = geometry[:, y, x].astype(np.float64)
        cos, sin = math.cos(a), math.sin(a)
        px, py = x * scale, y * scale
        corner = lambda u, v: (px + u * cos + v * sin, py - u * sin + v * cos)  # noqa: E731
        quads.append([corner(-l, -t), corner(r, -t), corner(r, b), corner(-l, b)])
        scores.append(score[y, x])
    return np.array(quads, np.float64).reshape(-1, 4, 2), np.array(scores, np.float32)


def test_east_decode_matches_reference():
    rng = np.random.default_rng(3)
    score = rng.random((24, 32)).astype(np.float32)
    geometry = np.concatenate([rng.uniform(0, 20, (4, 24, 32)), rng.uniform(-0.8, 0.8, (1, 24, 32))]).astype(np.float32)
    for threshold, scale in [(0.9, 4.0), (0.5, 2.5), (1.0, 4.0)]:
        quads, scores = dlinfer.east_decode(score, geometry, scale=scale, score_threshold=threshold)
        want_quads, want_scores = east_reference(score, geometry, scale, threshold)
        np.testing.assert_allclose(quads, want_quads, rtol=0, atol=1e-4)
        np.testing.assert_array_equal(scores, want_scores)
    # An axis-aligned box is the point's distances to its edges.
    quads, _ = dlinfer.east_decode(np.array([[0, 1]], np.float32), np.array([[[0, 1]], [[0, 2]], [[0, 3]], [[0, 4]],
                                                                               [[0, 0]]], np.float32), scale=4)
    np.testing.assert_allclose(quads, [[[0, -1], [6, -1], [6, 3], [0, 3]]])
    # The boxes' corners go round clockwise as seen in the image, so nms takes them as quads.
    quads, scores = dlinfer.east_decode(score, geometry, score_threshold=0.8)
    keep = dlinfer.nms(quads, scores, 0.3, box_format="quad")
    assert 0 < len(keep) < len(scores)


def test_east_decode_rejects_bad_input():
    with pytest.raises(dlinfer.Error, match="geometry must be"):
        dlinfer.east_decode(np.zeros((4, 4)), np.zeros((4, 4, 4)))
    with pytest.raises(dlinfer.Error, match=r"the score of cell \(1, 2\) is NaN"):
        score = np.zeros((3, 4), np.float32)
        score[1, 2] = np.nan
        dlinfer.east_decode(score, np.zeros((5, 3, 4)))
    with pytest.raises(dlinfer.Error, match=r"the geometry of cell \(0, 0\) is not finite"):
        geometry = np.zeros((5, 1, 1), np.float32)
        geometry[4] = np.inf
        dlinfer.east_decode(np.ones((1, 1)), geometry)
    with pytest.raises(dlinfer.Error, match="scale 0.0 must be finite and positive"):
        dlinfer.east_decode(np.ones((1, 1)), np.zeros((5, 1, 1)), scale=0)


def same_quad(got, want):
    """The same corners, allowing the start corner to differ where two corners tie for the smallest x + y."""
    return any(np.allclose(np.roll(got, k, 0), want, atol=2e-3) for k in range(4))


@pytest.mark.parametrize("case", load("craft_opencv.npz"), ids=lambda c: f"{c['region'].shape}-{len(c['scores'])}")
def test_heatmap_boxes_equal_craft_opencv(case):
    text, link, low, min_size = case["settings"].tolist()
    quads, scores = dlinfer.heatmap_boxes(case["region"].astype(np.float32), case["affinity"].astype(np.float32),
                                          text, link, low, int(min_size), scale=1.0)
    assert len(quads) == len(case["boxes"])
    np.testing.assert_array_equal(scores, case["scores"])
    for got, want in zip(quads, case["boxes"]):
        assert same_quad(got, want), f"{got.tolist()} != {want.tolist()}"
    quads2, _ = dlinfer.heatmap_boxes(case["region"].astype(np.float32), case["affinity"].astype(np.float32),
                                      text, link, low, int(min_size), scale=2.0)
    np.testing.assert_allclose(quads2, quads * 2, atol=1e-5)


def test_heatmap_boxes_edge_cases():
    region = np.zeros((8, 8), np.float32)
    assert dlinfer.heatmap_boxes(region)[0].shape == (0, 4, 2)
    region[2:5, 3] = 0.9  # a vertical line of 3 cells: min_size 3 keeps it, 4 drops it
    quads, scores = dlinfer.heatmap_boxes(region, min_size=3, scale=1)
    assert scores.tolist() == [pytest.approx(0.9)]
    assert polygon_area(quads[0].astype(np.float64)) > 0
    assert len(dlinfer.heatmap_boxes(region, min_size=4)[0]) == 0
    with pytest.raises(dlinfer.Error, match="region score 0 is NaN"):
        dlinfer.heatmap_boxes(np.full((2, 2), np.nan, np.float32))
    with pytest.raises(dlinfer.Error, match="min_size 0 must be at least 1"):
        dlinfer.heatmap_boxes(region, min_size=0)
    with pytest.raises(dlinfer.Error, match="differ in shape"):
        dlinfer.heatmap_boxes(region, np.zeros((4, 4)))


def test_heatmap_boxes_exact_area_tie_takes_the_least_turned_rectangle():
    # A blob whose dilated cells (a 5 x 5 square, CRAFT's rule for its size and extent) fit an axis-aligned 12 x 11
    # rectangle and a turned one of exactly the same area: on a grid such ties are common, and the box must be the
    # axis-aligned one, of the smallest area any direction gives.
    rows = {26: (29, 29), 27: (28, 31), 28: (28, 32), 29: (27, 34), 30: (27, 35), 31: (29, 35), 32: (31, 34),
            33: (33, 34)}
    region = np.zeros((40, 40), np.float32)
    for y, (x0, x1) in rows.items():
        region[y, x0:x1 + 1] = 0.9
    quads, _ = dlinfer.heatmap_boxes(region, min_size=1, scale=1)
    assert quads.tolist() == [[[25, 24], [37, 24], [37, 35], [25, 35]]]
    cells = region > 0
    n = int(math.sqrt(cells.sum() * 8 / (9 * 8)) * 2)
    assert n == 4
    grown = np.zeros_like(cells)
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            grown |= np.roll(np.roll(cells, dy, 0), dx, 1)
    points = np.argwhere(grown)[:, ::-1].astype(np.float64)
    # Every direction between two of the points (the minimum lies along a hull edge, one of them).
    d = (points[:, None] - points[None]).reshape(-1, 2)
    d = d[np.hypot(d[:, 0], d[:, 1]) > 0]
    u = d / np.hypot(d[:, 0], d[:, 1])[:, None]
    along, across = u @ points.T, np.stack([-u[:, 1], u[:, 0]], 1) @ points.T
    areas = (along.max(1) - along.min(1)) * (across.max(1) - across.min(1))
    assert areas.min() == pytest.approx(12 * 11)
