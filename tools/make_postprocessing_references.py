"""Writes Tests/Fixtures/postprocessing/: reference results for the library's post-processing functions, computed
by the implementations users compare against, on inputs this script generates (fixed seeds):

- nms_torchvision.npz: torchvision.ops.nms and batched_nms on random boxes (with tied scores, zero-area and
  identical boxes, an empty set) at several IoU thresholds.
- craft_opencv.npz: CRAFT's reference box extraction (the steps of getDetBoxes_core in clovaai/CRAFT-pytorch, run
  here with OpenCV's threshold, connectedComponentsWithStats, dilate, minAreaRect and boxPoints) on synthetic
  region/affinity heatmaps: chains of Gaussian characters at random angles and sizes, with noise.

Needs torch, torchvision and opencv-python-headless (not installed by CI; the .npz files are committed):
    /opt/torchenv/bin/python tools/make_postprocessing_references.py     (a few seconds)
"""
import math
import pathlib

import cv2
import numpy as np
import torch
import torchvision

OUT = pathlib.Path(__file__).resolve().parents[1] / "Tests" / "Fixtures" / "postprocessing"


def random_boxes(rng, n, tie_step):
    xy = rng.uniform(0, 100, (n, 2))
    wh = rng.uniform(0, 40, (n, 2))
    wh[rng.random(n) < 0.1] = 0                        # zero-area boxes
    boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
    dup = rng.choice(n, n // 10, replace=False)
    if len(dup):
        boxes[dup[1:]] = boxes[dup[0]]                 # identical boxes
    scores = rng.random(n).astype(np.float32)
    if tie_step:
        scores = (np.round(scores / tie_step) * tie_step).astype(np.float32)  # many equal scores
    return boxes, scores


def nms_cases():
    rng = np.random.default_rng(11)
    fields = {}
    case = 0
    for n in [0, 1, 7, 60, 300]:
        for tie_step in [0, 0.1]:
            for iou in [0.0, 0.3, 0.5, 0.7, 1.0]:
                boxes, scores = random_boxes(rng, n, tie_step)
                classes = rng.integers(0, 4, n).astype(np.int64)
                b, s, c = torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes)
                fields[f"{case}_boxes"], fields[f"{case}_scores"], fields[f"{case}_classes"] = boxes, scores, classes
                fields[f"{case}_iou"] = np.float32(iou)
                fields[f"{case}_nms"] = torchvision.ops.nms(b, s, iou).numpy()
                fields[f"{case}_batched"] = torchvision.ops.batched_nms(b, s, c, iou).numpy()
                case += 1
    fields["cases"] = np.int64(case)
    return fields


def gaussian_word(region, affinity, rng):
    """Draws a word of 2-7 Gaussian characters along a random direction into the maps."""
    h, w = region.shape
    count = rng.integers(2, 8)
    size = rng.uniform(3, 9)
    angle = rng.uniform(-math.pi / 3, math.pi / 3)
    step = size * rng.uniform(0.9, 1.3)
    x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    centres = [(x0 + i * step * math.cos(angle), y0 + i * step * math.sin(angle)) for i in range(count)]
    for cx, cy in centres:
        region[:] = np.maximum(region, np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (size / 2.5) ** 2)))
    for (ax, ay), (bx, by) in zip(centres, centres[1:]):
        mx, my = (ax + bx) / 2, (ay + by) / 2
        affinity[:] = np.maximum(affinity, np.exp(-((xs - mx) ** 2 + (ys - my) ** 2) / (2 * (size / 3) ** 2)))


def craft_reference(textmap, linkmap, text_threshold, link_threshold, low_text, min_size):
    """CRAFT's getDetBoxes_core, step by step, with min_size in place of its fixed 10."""
    h, w = textmap.shape
    _, text_score = cv2.threshold(textmap, low_text, 1, 0)
    _, link_score = cv2.threshold(linkmap, link_threshold, 1, 0)
    combined = np.clip(text_score + link_score, 0, 1).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(combined, connectivity=4)
    boxes, scores = [], []
    for k in range(1, count):
        size = stats[k, cv2.CC_STAT_AREA]
        if size < min_size:
            continue
        peak = textmap[labels == k].max()
        if peak < text_threshold:
            continue
        seg = np.zeros(textmap.shape, np.uint8)
        seg[labels == k] = 255
        seg[np.logical_and(link_score == 1, text_score == 0)] = 0
        x, y = stats[k, cv2.CC_STAT_LEFT], stats[k, cv2.CC_STAT_TOP]
        bw, bh = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT]
        n = int(math.sqrt(size * min(bw, bh) / (bw * bh)) * 2)
        sx, ex, sy, ey = max(0, x - n), min(w, x + bw + n + 1), max(0, y - n), min(h, y + bh + n + 1)
        seg[sy:ey, sx:ex] = cv2.dilate(seg[sy:ey, sx:ex], cv2.getStructuringElement(cv2.MORPH_RECT, (1 + n, 1 + n)))
        points = np.roll(np.array(np.where(seg != 0)), 1, axis=0).transpose().reshape(-1, 2)
        if len(points) == 0:
            continue
        box = cv2.boxPoints(cv2.minAreaRect(points))
        bw2, bh2 = np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[1] - box[2])
        if abs(1 - max(bw2, bh2) / (min(bw2, bh2) + 1e-5)) <= 0.1:
            l, r, t, b = points[:, 0].min(), points[:, 0].max(), points[:, 1].min(), points[:, 1].max()
            box = np.array([[l, t], [r, t], [r, b], [l, b]], dtype=np.float32)
        box = np.roll(box, 4 - box.sum(axis=1).argmin(), 0)
        boxes.append(box)
        scores.append(peak)
    return np.array(boxes, np.float32).reshape(-1, 4, 2), np.array(scores, np.float32)


def craft_cases():
    rng = np.random.default_rng(12)
    fields = {}
    settings = [(0.7, 0.4, 0.4, 10), (0.5, 0.3, 0.3, 4), (0.8, 0.5, 0.35, 1)]
    case = 0
    for h, w in [(48, 64), (96, 128), (64, 64)]:
        for words in [1, 4, 9]:
            region, affinity = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
            for _ in range(words):
                gaussian_word(region, affinity, rng)
            region = np.clip(region + rng.normal(0, 0.03, region.shape), 0, 1).astype(np.float32)
            affinity = np.clip(affinity + rng.normal(0, 0.03, affinity.shape), 0, 1).astype(np.float32)
            # Half precision keeps the file small; the reference and the test both read these exact values.
            region, affinity = region.astype(np.float16).astype(np.float32), affinity.astype(np.float16).astype(np.float32)
            text, link, low, min_size = settings[case % len(settings)]
            boxes, scores = craft_reference(region, affinity, text, link, low, min_size)
            fields.update({f"{case}_region": region.astype(np.float16), f"{case}_affinity": affinity.astype(np.float16),
                           f"{case}_settings": np.array([text, link, low, min_size], np.float32),
                           f"{case}_boxes": boxes, f"{case}_scores": scores})
            case += 1
    fields["cases"] = np.int64(case)
    return fields


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "nms_torchvision.npz", **nms_cases())
    np.savez_compressed(OUT / "craft_opencv.npz", **craft_cases())
    for f in sorted(OUT.glob("*.npz")):
        print(f, f.stat().st_size)
