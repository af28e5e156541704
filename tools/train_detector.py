#!/usr/bin/env python3
"""Trains the single-shot shape detector of examples/c/detect_objects.c and examples/python/detect_objects.py and
exports it twice:

  examples/models/detector_raw.onnx  image [N,3,96,96] -> boxes [N,144,4] (x1, y1, x2, y2 in input pixels) and
                                     scores [N,144,3] (per-class probabilities), for dlinfer_nms / dlinfer.nms
  examples/models/detector_nms.onnx  the same network followed by ONNX NonMaxSuppression (per class, IoU 0.5, score
                                     above 0.05) and Gather ops: det_boxes [D,4], det_scores [D], det_classes [D]
                                     int64, det_batch [D] int64 (the image of each detection), by falling score

The data are synthetic 96x96 RGB images drawn with numpy: 1 to 5 circles, squares and triangles (any colour, squares
and triangles turned by any angle, 12 to 44 pixels across, overlapping and partly hiding each other) on cluttered
backgrounds (two-colour gradients, soft blobs, lines, Gaussian noise). The network is YOLO-like and anchor-free: a
stride-8 conv stack makes a 12x12 grid; each cell predicts an objectness, class scores and a box (centre offset and
log size). Each object is the target of the cell holding its centre.

Writes examples/data/detector/ (the held-out images img_NNN.ppm, drawn with a seed training never uses, and
labels.txt with their ground truth) and examples/data/detector_classes.txt, then reports onnxruntime's mAP@0.5 on
the held-out images (examples/python/detect_objects.py computes the same one through dlinfer).

Needs torch, numpy, onnx, onnxruntime (only to regenerate; CI reads the committed files). Seeds are fixed and training
is single-threaded (a rerun on the same versions should give the same model). About 7 minutes on one core.
Usage: python3 tools/train_detector.py [--steps 1500] [--images 8000] [--eval-only]
"""
import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "examples", "models")
DATA = os.path.join(ROOT, "examples", "data")
HELD_OUT = os.path.join(DATA, "detector")
OPSET = 17
SIZE = 96
STRIDE = 8
GRID = SIZE // STRIDE
CLASSES = ["circle", "square", "triangle"]
IOU_THRESHOLD = 0.5
SCORE_THRESHOLD = 0.05
MAX_PER_CLASS = GRID * GRID  # every cell: never binds, so per-class NMS without a limit gives the same
BOX_SCALE = 16.0  # a cell's box is BOX_SCALE * exp(t) pixels wide (high)
HELD_OUT_IMAGES = 50
HELD_OUT_SEED = 20240611  # training draws from seeds 0 .. 7999


# ---- synthetic data -----------------------------------------------------------------------------------------------

def _supersampled(x0, y0, x1, y1, inside):
    """Coverage in [0,1] of the pixels [y0,y1) x [x0,x1) by the region `inside(px, py)` (4x4 samples a pixel)."""
    s = (np.arange(4) + 0.5) / 4
    ys = (np.arange(y0, y1)[:, None] + s[None, :]).reshape(-1)
    xs = (np.arange(x0, x1)[:, None] + s[None, :]).reshape(-1)
    m = inside(xs[None, :], ys[:, None]).astype(np.float32)
    return m.reshape(y1 - y0, 4, x1 - x0, 4).mean(axis=(1, 3))


def _polygon_inside(points):
    """A test for a convex polygon's inside, its corners in either direction."""
    pts = np.asarray(points, np.float64)

    def inside(px, py):
        cross = []
        for i in range(len(pts)):
            ax, ay = pts[i]
            bx, by = pts[(i + 1) % len(pts)]
            cross.append((bx - ax) * (py - ay) - (by - ay) * (px - ax))
        cross = np.stack(cross)
        return np.all(cross >= 0, axis=0) | np.all(cross <= 0, axis=0)
    return inside


def _shape(rng, cls, size, cx, cy):
    """The corners' region test and exact bounding box of one shape about (cx, cy), `size` pixels across."""
    if cls == 0:
        r = size / 2
        return (lambda px, py: (px - cx) ** 2 + (py - cy) ** 2 <= r * r), (cx - r, cy - r, cx + r, cy + r)
    if cls == 1:
        # a square turned by a; its bounding box is `size` across, so its side is size / (|cos a| + |sin a|)
        a = rng.uniform(0, np.pi / 2)
        side = size / (abs(np.cos(a)) + abs(np.sin(a)))
        corners = [(cx + side / 2 * (np.cos(a + k * np.pi / 2) - np.sin(a + k * np.pi / 2)),
                    cy + side / 2 * (np.sin(a + k * np.pi / 2) + np.cos(a + k * np.pi / 2))) for k in range(4)]
    else:
        # an equilateral triangle turned by a, scaled so that its bounding box's larger side is `size`
        a = rng.uniform(0, 2 * np.pi)
        unit = np.array([(np.cos(a + k * 2 * np.pi / 3), np.sin(a + k * 2 * np.pi / 3)) for k in range(3)])
        span = unit.max(axis=0) - unit.min(axis=0)
        unit = unit * (size / span.max())
        mid = (unit.max(axis=0) + unit.min(axis=0)) / 2
        corners = [(cx + x - mid[0], cy + y - mid[1]) for x, y in unit]
    c = np.array(corners)
    return _polygon_inside(c), (c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max())


def _box_iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _vivid(rng):
    """A saturated, bright colour (HSV with S, V in [0.6, 1])."""
    h, s, v = rng.uniform(0, 6), rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
    i, f = int(h) % 6, h - int(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i], np.float32)


def make_image(seed):
    """One image (uint8 [96,96,3]) and its objects: a list of (class, x1, y1, x2, y2)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    # background: a gradient between two muted colours
    c0, c1 = rng.uniform(0.05, 0.6, 3), rng.uniform(0.05, 0.6, 3)
    angle = rng.uniform(0, 2 * np.pi)
    t = ((xx - SIZE / 2) * np.cos(angle) + (yy - SIZE / 2) * np.sin(angle)) / SIZE + 0.5
    img = (c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]).astype(np.float32)
    # clutter: soft blobs and lines
    for _ in range(rng.integers(2, 7)):
        bx, by, sx, sy = rng.uniform(0, SIZE), rng.uniform(0, SIZE), rng.uniform(3, 20), rng.uniform(3, 20)
        alpha = rng.uniform(0.2, 0.6) * np.exp(-((xx - bx) / sx) ** 2 / 2 - ((yy - by) / sy) ** 2 / 2)
        img = img * (1 - alpha[..., None]) + rng.uniform(0, 1, 3)[None, None] * alpha[..., None]
    for _ in range(rng.integers(1, 6)):
        x0, y0, x1, y1 = rng.uniform(-10, SIZE + 10, 4)
        width = rng.uniform(0.5, 2.0)
        dx, dy = x1 - x0, y1 - y0
        length = max(np.hypot(dx, dy), 1e-3)
        u = np.clip(((xx - x0) * dx + (yy - y0) * dy) / length ** 2, 0, 1)
        dist = np.hypot(xx - (x0 + u * dx), yy - (y0 + u * dy))
        alpha = np.clip(width - dist + 0.5, 0, 1) * rng.uniform(0.4, 0.9)
        colour = _vivid(rng) if rng.uniform() < 0.5 else rng.uniform(0, 1, 3)
        img = img * (1 - alpha[..., None]) + colour[None, None] * alpha[..., None]
    # objects: placed until 1..5 fit; each overlaps the others by IoU at most 0.25 and stays >= 65 % visible
    want = int(rng.integers(1, 6))
    objects, masks = [], []
    for _ in range(60):
        if len(objects) == want:
            break
        cls = int(rng.integers(0, len(CLASSES)))
        size = rng.uniform(12, 44)
        cx, cy = rng.uniform(size / 2, SIZE - size / 2, 2)
        inside, box = _shape(rng, cls, size, cx, cy)
        if any(_box_iou(box, o[1:]) > 0.25 for o in objects):
            continue
        x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
        x1, y1 = min(int(np.ceil(box[2])) + 1, SIZE), min(int(np.ceil(box[3])) + 1, SIZE)
        mask = np.zeros((SIZE, SIZE), np.float32)
        mask[y0:y1, x0:x1] = _supersampled(x0, y0, x1, y1, inside)
        visible = [(m * (1 - mask)).sum() / m.sum() for m in masks]
        if any(v < 0.65 for v in visible):
            continue
        colour = _vivid(rng)
        mean = img[mask > 0.5].mean(axis=0) if (mask > 0.5).any() else img.mean(axis=(0, 1))
        if np.abs(colour - mean).max() < 0.3:
            continue
        masks = [m * (1 - mask) for m in masks] + [mask]
        objects.append((cls, *box))
        img = img * (1 - mask[..., None]) + colour[None, None] * mask[..., None]
    img = img + rng.normal(0, rng.uniform(0.01, 0.06), img.shape).astype(np.float32)
    img = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return img, objects


def targets(objects):
    """Training targets of one image: the cell of each object's centre gets objectness 1, its class and box
    (the centre's offset in the cell, x = (gx + 2 sigmoid(tx) - 0.5) * 8, and log(width / 16), log(height / 16))."""
    obj = np.zeros((GRID, GRID), np.float32)
    cls = np.zeros((GRID, GRID), np.int64)
    box = np.zeros((4, GRID, GRID), np.float32)
    for c, x1, y1, x2, y2 in sorted(objects, key=lambda o: -(o[3] - o[1]) * (o[4] - o[2])):  # small ones win a cell
        cx, cy = (x1 + x2) / 2 / STRIDE, (y1 + y2) / 2 / STRIDE
        gx, gy = min(int(cx), GRID - 1), min(int(cy), GRID - 1)
        obj[gy, gx], cls[gy, gx] = 1, c
        box[:, gy, gx] = (cx - gx, cy - gy, np.log((x2 - x1) / BOX_SCALE), np.log((y2 - y1) / BOX_SCALE))
    return obj, cls, box


# ---- evaluation (the same as the examples') -----------------------------------------------------------------------

def iou(a, b):
    """IoU of corner boxes a [4] and b [M,4] (areas without VOC's +1)."""
    w = np.maximum(0, np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]))
    h = np.maximum(0, np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)


def average_precision(detections, truths, classes):
    """VOC-style AP at IoU 0.5 per class (all-point interpolation). detections: per image a list of (class, score,
    box); truths: per image a list of (class, box)."""
    aps = []
    for c in range(classes):
        found = [(score, i, k, np.asarray(box, np.float64)) for i, dets in enumerate(detections)
                 for k, (cls, score, box) in enumerate(dets) if cls == c]
        found.sort(key=lambda d: (-d[0], d[1], d[2]))
        gt = [np.array([b for cls, b in t if cls == c], np.float64).reshape(-1, 4) for t in truths]
        used = [np.zeros(len(g), bool) for g in gt]
        total = sum(len(g) for g in gt)
        tp = np.zeros(len(found))
        for j, (_, i, _, box) in enumerate(found):
            if len(gt[i]):
                overlaps = iou(box, gt[i])
                best = int(np.argmax(overlaps))
                if overlaps[best] >= 0.5 and not used[i][best]:
                    used[i][best] = True
                    tp[j] = 1
        ctp = np.cumsum(tp)
        recall = ctp / max(total, 1)
        precision = ctp / np.arange(1, len(found) + 1)
        r = np.concatenate([[0.0], recall, [1.0]])
        p = np.concatenate([[0.0], precision, [0.0]])
        for j in range(len(p) - 2, -1, -1):
            p[j] = max(p[j], p[j + 1])
        aps.append(float(np.sum((r[1:] - r[:-1]) * p[1:])))
    return aps


def numpy_nms(boxes, scores, iou_threshold, score_threshold):
    """Per-class greedy NMS of raw outputs boxes [K,4], scores [K,C]: (class, score, box) by falling score."""
    ks, cs = np.nonzero(scores > score_threshold)
    s = scores[ks, cs]
    order = sorted(range(len(s)), key=lambda j: (-s[j], j))
    kept = []
    for j in order:
        if all(cs[j] != cs[i] or iou(boxes[ks[j]], boxes[ks[i]][None])[0] <= iou_threshold for i in kept):
            kept.append(j)
    return [(int(cs[j]), float(s[j]), boxes[ks[j]]) for j in kept]


# ---- model ---------------------------------------------------------------------------------------------------------

def build_model():
    import torch
    nn = torch.nn

    def block(cin, cout, stride=1, dilation=1):
        return [nn.Conv2d(cin, cout, 3, stride, dilation, dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    class Detector(nn.Module):
        """Conv-BN-ReLU stack to stride 8 (12x12 cells for 96x96), then a 1x1 head per cell: objectness, class
        scores, box (tx, ty, tw, th). forward() returns the raw head; decode() the boxes and scores."""

        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*block(3, 16, 2), *block(16, 24), *block(24, 32, 2), *block(32, 48),
                                      *block(48, 64, 2), *block(64, 64), *block(64, 64, dilation=2),
                                      *block(64, 64))
            self.head = nn.Conv2d(64, 1 + len(CLASSES) + 4, 1)
            gy, gx = torch.meshgrid(torch.arange(GRID, dtype=torch.float32), torch.arange(GRID, dtype=torch.float32),
                                    indexing="ij")
            self.register_buffer("grid", torch.stack([gx, gy]).reshape(1, 2, GRID * GRID), persistent=False)

        def forward(self, x):
            return self.head(self.body(x))

        def decode(self, x):
            out = self.head(self.body(x)).flatten(2)  # [N, 1+C+4, K]
            obj = torch.sigmoid(out[:, :1])
            probs = obj * torch.softmax(out[:, 1:1 + len(CLASSES)], dim=1)
            t = out[:, 1 + len(CLASSES):]
            centre = (self.grid + 2 * torch.sigmoid(t[:, :2]) - 0.5) * STRIDE
            half = BOX_SCALE / 2 * torch.exp(t[:, 2:])
            boxes = torch.cat([centre - half, centre + half], dim=1)  # [N, 4, K]
            return boxes.transpose(1, 2), probs.transpose(1, 2)

    return Detector()


def dihedral(img, objects, k):
    """One of the 8 flips and quarter turns of an image (k in 0..7) and its boxes: the same shapes, another layout."""
    if k & 1:
        img, objects = img[:, ::-1], [(c, SIZE - x2, y1, SIZE - x1, y2) for c, x1, y1, x2, y2 in objects]
    if k & 2:
        img, objects = img[::-1], [(c, x1, SIZE - y2, x2, SIZE - y1) for c, x1, y1, x2, y2 in objects]
    if k & 4:
        img, objects = img.transpose(1, 0, 2), [(c, y1, x1, y2, x2) for c, x1, y1, x2, y2 in objects]
    return img, objects


def train(model, steps, batch=48, images=8000):
    """AdamW with a one-cycle schedule on `images` generated images (seeds 0 .. images-1), each batch drawn at random
    and turned by a random flip or quarter turn."""
    import torch
    F = torch.nn.functional
    start = time.time()
    data = [make_image(seed) for seed in range(images)]
    print(f"{images} training images drawn in {time.time() - start:.0f} s", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    model.train()
    rng = np.random.default_rng(1)
    for step in range(steps):
        batch_images, objs, clss, boxes = [], [], [], []
        for i, k in zip(rng.integers(0, images, batch), rng.integers(0, 8, batch)):
            img, objects = dihedral(*data[i], k)
            o, c, b = targets(objects)
            batch_images.append(img)
            objs.append(o)
            clss.append(c)
            boxes.append(b)
        x = torch.from_numpy(np.stack(batch_images)).permute(0, 3, 1, 2).float() / 255
        obj, cls, box = (torch.from_numpy(np.stack(a)) for a in (objs, clss, boxes))
        out = model(x)
        pos = obj > 0
        npos = max(int(pos.sum()), 1)
        loss_obj = F.binary_cross_entropy_with_logits(out[:, 0], obj, reduction="sum") / npos
        logits = out[:, 1:1 + len(CLASSES)].permute(0, 2, 3, 1)[pos]
        loss_cls = F.cross_entropy(logits, cls[pos], reduction="sum") / npos
        t = out[:, 1 + len(CLASSES):].permute(0, 2, 3, 1)[pos]
        tb = box.permute(0, 2, 3, 1)[pos]
        loss_xy = F.smooth_l1_loss(2 * torch.sigmoid(t[:, :2]) - 0.5, tb[:, :2], reduction="sum", beta=0.1) / npos
        loss_wh = F.smooth_l1_loss(t[:, 2:], tb[:, 2:], reduction="sum", beta=0.1) / npos
        loss = loss_obj + loss_cls + 2 * loss_xy + 2 * loss_wh
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:5d} loss {loss.item():.3f} (obj {loss_obj.item():.3f} cls {loss_cls.item():.3f} "
                  f"xy {loss_xy.item():.3f} wh {loss_wh.item():.3f}) {time.time() - start:.0f} s", flush=True)
    model.eval()


# ---- export --------------------------------------------------------------------------------------------------------

def export_raw(model, path):
    import torch

    class Raw(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, image):
            return self.m.decode(image)

    torch.onnx.export(Raw(model).eval(), torch.zeros(1, 3, SIZE, SIZE), path, input_names=["image"],
                      output_names=["boxes", "scores"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"image": {0: "N"}, "boxes": {0: "N"}, "scores": {0: "N"}})


def append_nms(raw_path, path):
    """The raw graph followed by NonMaxSuppression per class and Gathers to the final detections, sorted by falling
    score (TopK over all of them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(raw_path)
    g = m.graph
    const = lambda name, value: numpy_helper.from_array(np.asarray(value), name)  # noqa: E731
    g.initializer.extend([
        const("nms_max_per_class", np.array([MAX_PER_CLASS], np.int64)),
        const("nms_iou_threshold", np.array([IOU_THRESHOLD], np.float32)),
        const("nms_score_threshold", np.array([SCORE_THRESHOLD], np.float32)),
        const("nms_batch_box", np.array([0, 2], np.int64)),
        const("nms_zero", np.array(0, np.int64)),
        const("nms_one", np.array(1, np.int64)),
    ])
    nodes = [
        helper.make_node("Transpose", ["scores"], ["nms_scores_t"], perm=[0, 2, 1]),  # [N, C, K]
        helper.make_node("NonMaxSuppression", ["boxes", "nms_scores_t", "nms_max_per_class", "nms_iou_threshold",
                                               "nms_score_threshold"], ["nms_selected"], center_point_box=0),
        helper.make_node("GatherND", ["nms_scores_t", "nms_selected"], ["nms_sel_scores"]),  # [M]
        helper.make_node("Gather", ["nms_selected", "nms_batch_box"], ["nms_batch_box_idx"], axis=1),  # [M, 2]
        helper.make_node("GatherND", ["boxes", "nms_batch_box_idx"], ["nms_sel_boxes"]),  # [M, 4]
        helper.make_node("Gather", ["nms_selected", "nms_one"], ["nms_sel_classes"], axis=1),  # [M]
        helper.make_node("Gather", ["nms_selected", "nms_zero"], ["nms_sel_batch"], axis=1),  # [M]
        helper.make_node("Shape", ["nms_sel_scores"], ["nms_count"]),  # [1]
        helper.make_node("TopK", ["nms_sel_scores", "nms_count"], ["det_scores", "nms_order"], axis=0, largest=1,
                         sorted=1),
        helper.make_node("Gather", ["nms_sel_boxes", "nms_order"], ["det_boxes"], axis=0),
        helper.make_node("Gather", ["nms_sel_classes", "nms_order"], ["det_classes"], axis=0),
        helper.make_node("Gather", ["nms_sel_batch", "nms_order"], ["det_batch"], axis=0),
    ]
    g.node.extend(nodes)
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info("det_boxes", TensorProto.FLOAT, ["D", 4]),
        helper.make_tensor_value_info("det_scores", TensorProto.FLOAT, ["D"]),
        helper.make_tensor_value_info("det_classes", TensorProto.INT64, ["D"]),
        helper.make_tensor_value_info("det_batch", TensorProto.INT64, ["D"]),
    ])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


# ---- files ---------------------------------------------------------------------------------------------------------

def write_ppm(path, img):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (img.shape[1], img.shape[0]))
        f.write(np.ascontiguousarray(img, np.uint8).tobytes())


def write_held_out():
    os.makedirs(HELD_OUT, exist_ok=True)
    for name in os.listdir(HELD_OUT):
        if name.startswith("img_") and name.endswith(".ppm"):
            os.remove(os.path.join(HELD_OUT, name))
    images, truths = [], []
    lines = []
    for i in range(HELD_OUT_IMAGES):
        img, objects = make_image(HELD_OUT_SEED + i)
        name = f"img_{i:03d}.ppm"
        write_ppm(os.path.join(HELD_OUT, name), img)
        images.append(img)
        truths.append([(c, np.array(b, np.float64)) for c, *b in objects])
        for c, x1, y1, x2, y2 in objects:
            lines.append(f"{name} {CLASSES[c]} {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f}\n")
    with open(os.path.join(HELD_OUT, "labels.txt"), "w") as f:
        f.writelines(lines)
    with open(os.path.join(DATA, "detector_classes.txt"), "w") as f:
        f.write("".join(c + "\n" for c in CLASSES))
    # the committed ground truth, 2 decimals, is what the examples read: evaluate against that
    truths = [[(c, np.round(b, 2)) for c, b in t] for t in truths]
    return np.stack(images), truths


def evaluate(images, truths):
    import onnxruntime as ort
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    raw = ort.InferenceSession(os.path.join(MODELS, "detector_raw.onnx"), providers=["CPUExecutionProvider"])
    nms = ort.InferenceSession(os.path.join(MODELS, "detector_nms.onnx"), providers=["CPUExecutionProvider"])
    boxes, scores = raw.run(None, {"image": x})
    dets_raw = [numpy_nms(b, s, IOU_THRESHOLD, SCORE_THRESHOLD) for b, s in zip(boxes, scores)]
    dets_nms = []
    for i in range(len(x)):
        b, s, c, n = nms.run(None, {"image": x[i:i + 1]})
        assert (n == 0).all()
        dets_nms.append([(int(c[j]), float(s[j]), b[j]) for j in range(len(s))])
    for a, b in zip(dets_raw, dets_nms):  # the same detections (the order of equal scores may differ)
        key = lambda d: (-d[1], d[0], *d[2])  # noqa: E731
        a, b = sorted(a, key=key), sorted(b, key=key)
        assert len(a) == len(b) and all(p[0] == q[0] and abs(p[1] - q[1]) < 1e-6 and np.allclose(p[2], q[2])
                                        for p, q in zip(a, b)), "NonMaxSuppression differs from numpy_nms"
    aps = average_precision(dets_raw, truths, len(CLASSES))
    print(f"onnxruntime, {len(x)} held-out images: mAP@0.5 {np.mean(aps):.4f} (" +
          ", ".join(f"{n} {a:.4f}" for n, a in zip(CLASSES, aps)) + ")")
    above = sum(d[1] > 0.5 for ds in dets_raw for d in ds)
    print(f"{sum(map(len, truths))} objects, {above} detections above 0.5")
    return aps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--images", type=int, default=8000, help="training images")
    parser.add_argument("--eval-only", action="store_true", help="only rewrite the held-out data and evaluate")
    args = parser.parse_args()
    images, truths = write_held_out()
    if not args.eval_only:
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = build_model()
        train(model, args.steps, images=args.images)
        os.makedirs(MODELS, exist_ok=True)
        raw_path = os.path.join(MODELS, "detector_raw.onnx")
        export_raw(model, raw_path)
        append_nms(raw_path, os.path.join(MODELS, "detector_nms.onnx"))
        model.eval()
        with torch.no_grad():
            x = torch.from_numpy(images[:8]).permute(0, 3, 1, 2).float() / 255
            tb, ts = model.decode(x)
        import onnxruntime as ort
        sess = ort.InferenceSession(raw_path, providers=["CPUExecutionProvider"])
        ob, os_ = sess.run(None, {"image": x.numpy()})
        print(f"onnxruntime vs torch: boxes {np.abs(ob - tb.numpy()).max():.2e}, "
              f"scores {np.abs(os_ - ts.numpy()).max():.2e}")
    evaluate(images, truths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
