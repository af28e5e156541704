"""Post-processing for detectors: non-maximum suppression, EAST and CRAFT-style text-box decoding."""
import ctypes
import operator

import numpy as np

from . import _capi
from ._capi import Error, check, lib

BOX_FORMATS = {"corners": (0, 4), "center": (1, 4), "center_angle": (2, 5), "quad": (3, 8)}


def _fail(function, message):
    raise Error(_capi.ERR_INVALID_ARG, f"{function}: {message}")


def nms(boxes, scores, iou_threshold, classes=None, score_threshold=None, max_outputs=None, box_format="corners"):
    """Greedy non-maximum suppression, as torchvision.ops.nms (classes None) and batched_nms (classes given: boxes of
    different classes never suppress each other). Returns the kept boxes' indices (int64) by falling score, ties by
    lower index.

    boxes: float [K, 4] for box_format "corners" (x1, y1, x2, y2) or "center" (cx, cy, w, h); [K, 5] for
    "center_angle" (cx, cy, w, h, degrees counter-clockwise as seen in the image); [K, 4, 2] or [K, 8] for "quad"
    (convex quadrilaterals, corners in order). Rotated boxes overlap by the exact area of the polygons'
    intersection. scores: [K]; classes: [K] integer class ids. Only boxes scoring above score_threshold are
    candidates; at most max_outputs are kept (None: no limit). Raises Error for a NaN score, a non-finite coordinate,
    a quadrilateral that is not convex, or iou_threshold outside [0, 1]."""
    if box_format not in BOX_FORMATS:
        _fail("nms", f"unknown box_format {box_format!r}; one of {', '.join(BOX_FORMATS)}")
    code, width = BOX_FORMATS[box_format]
    s = np.ascontiguousarray(scores, dtype=np.float32)
    if s.ndim != 1:
        _fail("nms", f"scores must be 1-D, got shape {s.shape}")
    count = s.shape[0]
    b = np.ascontiguousarray(boxes, dtype=np.float32)
    if b.ndim < 1 or b.shape[0] != count or b.size != count * width:
        _fail("nms", f"boxes of shape {b.shape} do not hold {count} {box_format} boxes of {width} numbers")
    c = None
    if classes is not None:
        c = np.ascontiguousarray(classes)
        if c.dtype.kind not in "iub" or c.shape != (count,):
            _fail("nms", f"classes must be {count} integers, got {c.dtype} {c.shape}")
        c = c.astype(np.int64, copy=False)
    limit = -1 if max_outputs is None else operator.index(max_outputs)
    threshold = -np.inf if score_threshold is None else float(score_threshold)
    keep = np.empty(max(count if limit < 0 else min(count, limit), 1), dtype=np.int64)
    kept = ctypes.c_int64()
    check(lib.dlinfer_nms(b.ctypes.data, s.ctypes.data, None if c is None else c.ctypes.data, count, code,
                          float(iou_threshold), threshold, limit, keep.ctypes.data, ctypes.byref(kept)))
    return keep[:kept.value].copy()


def _boxes(call, capacity):
    """Runs a decoder that writes quads and scores into buffers of `capacity` boxes."""
    quads = np.empty((max(capacity, 1), 4, 2), dtype=np.float32)
    scores = np.empty(max(capacity, 1), dtype=np.float32)
    count = ctypes.c_int64()
    check(call(quads.ctypes.data, scores.ctypes.data, capacity, ctypes.byref(count)))
    return quads[:count.value].copy(), scores[:count.value].copy()


def _map(function, name, array):
    a = np.ascontiguousarray(array, dtype=np.float32)
    if a.ndim != 2:
        _fail(function, f"{name} must be 2-D [H, W], got shape {a.shape}")
    return a


def east_decode(score, geometry, scale=4.0, score_threshold=0.5):
    """Decodes one image's EAST maps into rotated boxes: score [H, W] and geometry [5, H, W] (distances from the
    cell's point (x * scale, y * scale) to the box's top, right, bottom and left edges, then its angle in radians,
    counter-clockwise as seen in the image). Returns (quads float32 [K, 4, 2], the top-left, top-right,
    bottom-right and bottom-left corners; scores [K]) for the cells scoring above score_threshold, in row-major
    order; feed them to nms(..., box_format="quad")."""
    s = _map("east_decode", "score", score)
    g = np.ascontiguousarray(geometry, dtype=np.float32)
    if g.shape != (5, *s.shape):
        _fail("east_decode", f"geometry must be [5, {s.shape[0]}, {s.shape[1]}], got shape {g.shape}")
    return _boxes(lambda q, sc, cap, n: lib.dlinfer_east_decode(
        s.ctypes.data, g.ctypes.data, s.shape[0], s.shape[1], float(scale), float(score_threshold), q, sc, cap, n),
        s.size)


def heatmap_boxes(region, affinity=None, text_threshold=0.7, link_threshold=0.4, low_text=0.4, min_size=10, scale=2.0):
    """Word boxes from one image's CRAFT-style heatmaps, by CRAFT's reference post-processing: cells whose region
    score is above low_text or affinity above link_threshold, their 4-connected components of at least min_size
    cells whose peak region score reaches text_threshold, each dilated and boxed by its minimum-area rectangle.
    region and affinity: [H, W] (affinity None: no links). Returns (quads float32 [K, 4, 2], clockwise as seen in
    the image from the corner nearest the top-left, scaled by `scale`; scores [K], each component's peak region
    score)."""
    r = _map("heatmap_boxes", "region", region)
    a = None
    if affinity is not None:
        a = _map("heatmap_boxes", "affinity", affinity)
        if a.shape != r.shape:
            _fail("heatmap_boxes", f"affinity {a.shape} and region {r.shape} differ in shape")
    min_size = operator.index(min_size)
    if min_size < 1:
        _fail("heatmap_boxes", f"min_size {min_size} must be at least 1")
    return _boxes(lambda q, sc, cap, n: lib.dlinfer_heatmap_boxes(
        r.ctypes.data, None if a is None else a.ctypes.data, r.shape[0], r.shape[1], float(text_threshold),
        float(link_threshold), float(low_text), min_size, float(scale), q, sc, cap, n), r.size // min_size)
