#!/usr/bin/env python3
"""Finds words in images with a text detector through dlinfer's Python package: the EAST-style
examples/models/east_text.onnx (score and RBOX geometry maps, decoded by dlinfer.east_decode and suppressed by
dlinfer.nms on quadrilaterals) or the CRAFT-style examples/models/craft_text.onnx (region and affinity heatmaps, boxed
by dlinfer.heatmap_boxes). Prints each box (score, then its 4 corners x,y in input pixels, clockwise as seen in the
image); without images, runs over the bundled held-out images and scores the boxes against their ground truth
(precision, recall and F1 at IoU 0.5 of the quadrilaterals).

    python3 examples/python/detect_text.py [--device DEVICE] [--model east|craft|FILE.onnx] [--out OUT.ppm]
                                           [--eval DIR | IMAGE ...]

Images are binary PGM or PPM (P5, P6; colour is turned grey), read here with numpy, or any format Pillow reads when
Pillow is installed. --eval DIR (default, without images: examples/data/textdet) reads DIR/boxes.txt, one line per
word: `FILE x1 y1 x2 y2 x3 y3 x4 y4 TEXT`, FILE relative to DIR. --out writes the boxes drawn in red on the image as
a binary PPM (several images: side by side, 8 to a row; in eval mode the ground truth in green). Without --device the
library uses $DLINFER_DEVICE, else picks automatically.
Model contracts: input "image" float32 [N,1,H,W], grey level / 255 (the image is padded at the right and bottom, by
repeating its last column and row, to a multiple of 16 for EAST, 8 for CRAFT). EAST: outputs "score" [N,1,H/4,W/4]
and "geometry" [N,5,H/4,W/4] (distances from the point (4x, 4y) to the box's top, right, bottom, left edges, angle in
radians counter-clockwise). CRAFT: outputs "region" and "affinity" [N,1,H/2,W/2].
"""
import argparse
import os
import re
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {"east": "east_text.onnx", "craft": "craft_text.onnx"}
EAST_SCORE_THRESHOLD, EAST_NMS_IOU = 0.8, 0.2
MATCH_IOU = 0.5
SHEET_COLUMNS = 8


def read_image(path):
    """Grey levels scaled to [0,1], float32 [height, width]."""
    with open(path, "rb") as f:
        data = f.read()
    # Binary PGM/PPM: "P5"/"P6", width, height, maxval (whitespace and # comments between), one whitespace, pixels.
    m = re.match(rb"P([56])(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)\s", data)
    if m:
        channels = 1 if m.group(1) == b"5" else 3
        width, height, maxval = (int(g) for g in m.groups()[1:])
        if not 0 < maxval < 256 or width < 1 or height < 1 or len(data) - m.end() < width * height * channels:
            raise ValueError(f"{path}: not an 8-bit PGM/PPM, or truncated")
        pixels = np.frombuffer(data, np.uint8, width * height * channels, m.end()).reshape(height, width, channels)
        return pixels.astype(np.float32).mean(axis=2) / maxval
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: not a binary PGM/PPM, and Pillow (for other formats) is not installed") from None
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except OSError as e:
        raise ValueError(f"{path}: not a binary PGM/PPM, nor an image Pillow reads ({e})") from None


class Detector:
    def __init__(self, model, device):
        path = os.path.join(EXAMPLES, "models", MODELS[model]) if model in MODELS else model
        self.session = dlinfer.InferenceSession(path, device=device)
        outputs = {o.name for o in self.session.get_outputs()}
        if {"score", "geometry"} <= outputs:
            self.kind, self.multiple = "east", 16
        elif {"region", "affinity"} <= outputs:
            self.kind, self.multiple = "craft", 8
        else:
            raise ValueError(f"{path}: neither an EAST model (outputs score, geometry) nor a CRAFT one "
                             f"(region, affinity)")

    def detect(self, image):
        """The boxes (float32 [K, 4, 2]) and their scores [K] found in a grey image [H, W]."""
        h, w = image.shape
        ph, pw = -h % self.multiple, -w % self.multiple
        padded = np.pad(image, ((0, ph), (0, pw)), mode="edge")[None, None]
        if self.kind == "east":
            score, geometry = self.session.run(["score", "geometry"], {"image": padded})
            quads, scores = dlinfer.east_decode(score[0, 0], geometry[0], 4.0, EAST_SCORE_THRESHOLD)
            keep = dlinfer.nms(quads, scores, EAST_NMS_IOU, box_format="quad")
            return quads[keep], scores[keep]
        region, affinity = self.session.run(["region", "affinity"], {"image": padded})
        return dlinfer.heatmap_boxes(region[0, 0], affinity[0, 0])


# ---- evaluation: polygon IoU and greedy matching -----------------------------------------------------------------

def polygon_area(p):
    return 0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))


def cross(a, b):
    return a[0] * b[1] - a[1] * b[0]


def quad_iou(p, q):
    """Intersection over union of two convex quadrilaterals (Sutherland-Hodgman clipping of p by q)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    sign = 1.0 if cross(q[1] - q[0], q[2] - q[1]) >= 0 else -1.0
    poly = list(p)
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        side = [sign * cross(b - a, v - a) for v in poly]
        clipped = []
        for j in range(len(poly)):
            k = (j + 1) % len(poly)
            if side[j] >= 0:
                clipped.append(poly[j])
            if (side[j] >= 0) != (side[k] >= 0):
                clipped.append(poly[j] + (poly[k] - poly[j]) * (side[j] / (side[j] - side[k])))
        poly = clipped
        if not poly:
            break
    inter = polygon_area(np.array(poly)) if len(poly) >= 3 else 0.0
    union = polygon_area(p) + polygon_area(q) - inter
    return inter / union if union > 0 else 0.0


def matches(quads, scores, truth):
    """Detections taken by falling score, each matched to the unmatched true box it overlaps most (IoU >= 0.5)."""
    taken = set()
    for k in np.argsort(-scores, kind="stable"):
        best, best_j = MATCH_IOU, -1
        for j, t in enumerate(truth):
            iou = quad_iou(quads[k], t) if j not in taken else -1
            if iou >= best:
                best, best_j = iou, j
        if best_j >= 0:
            taken.add(best_j)
    return len(taken)


def read_truth(folder):
    """{image file: [true quads [4, 2]]}, in the order of boxes.txt."""
    truth = {}
    with open(os.path.join(folder, "boxes.txt")) as f:
        for n, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 9:
                raise ValueError(f"{folder}/boxes.txt:{n}: expected FILE and 8 coordinates")
            truth.setdefault(fields[0], []).append(np.array(fields[1:9], dtype=np.float32).reshape(4, 2))
    return truth


# ---- drawing -----------------------------------------------------------------------------------------------------

def draw_quad(rgb, quad, colour):
    """Draws the quadrilateral's sides, one pixel wide, into rgb [H, W, 3] (clipped to the image)."""
    h, w, _ = rgb.shape
    quad = np.asarray(quad, np.float64)
    for i in range(4):
        (x0, y0), (x1, y1) = quad[i], quad[(i + 1) % 4]
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        t = np.arange(steps + 1) / steps
        xs = np.floor(x0 + (x1 - x0) * t).astype(int)
        ys = np.floor(y0 + (y1 - y0) * t).astype(int)
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        rgb[ys[inside], xs[inside]] = colour


def write_sheet(path, panels):
    """Writes the annotated images (uint8 [H, W, 3]) side by side, SHEET_COLUMNS to a row, as a binary PPM."""
    ch = max(p.shape[0] for p in panels)
    cw = max(p.shape[1] for p in panels)
    cols = min(SHEET_COLUMNS, len(panels))
    rows = (len(panels) + cols - 1) // cols
    sheet = np.zeros((rows * ch, cols * cw, 3), np.uint8)
    for i, p in enumerate(panels):
        y, x = (i // cols) * ch, (i % cols) * cw
        sheet[y:y + p.shape[0], x:x + p.shape[1]] = p
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (sheet.shape[1], sheet.shape[0]))
        f.write(sheet.tobytes())


def panel(image, quads, truth=()):
    rgb = np.repeat(np.round(image * 255).astype(np.uint8)[:, :, None], 3, axis=2)
    for q in truth:
        draw_quad(rgb, q, (0, 255, 0))
    for q in quads:
        draw_quad(rgb, q, (255, 0, 0))
    return rgb


def print_boxes(name, quads, scores):
    for q, s in zip(quads, scores):
        print(f"{name}: {s:.3f} " + " ".join(f"{x:.2f},{y:.2f}" for x, y in q))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default="east", help="east (default), craft, or an ONNX file of either kind")
    parser.add_argument("--out", help="write the image(s) with the boxes drawn to this binary PPM")
    parser.add_argument("--eval", metavar="DIR", help="held-out images and boxes.txt (default without images: "
                                                      "examples/data/textdet)")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    if args.eval and args.images:
        parser.error("give either --eval or images")

    try:
        detector = Detector(args.model, args.device)
        print(f"device: {detector.session.device}")
        panels = []
        if args.images:
            failures = 0
            for path in args.images:
                try:
                    image = read_image(path)
                except (OSError, ValueError) as e:
                    print(e, file=sys.stderr)
                    failures += 1
                    continue
                quads, scores = detector.detect(image)
                print_boxes(path, quads, scores)
                panels.append(panel(image, quads))
            if args.out and panels:
                write_sheet(args.out, panels)
            return 1 if failures else 0
        folder = args.eval or os.path.join(EXAMPLES, "data", "textdet")
        truth = read_truth(folder)
        found = detections = words = 0
        for name, true_quads in truth.items():
            image = read_image(os.path.join(folder, name))
            quads, scores = detector.detect(image)
            print_boxes(name, quads, scores)
            found += matches(quads, scores, true_quads)
            detections += len(quads)
            words += len(true_quads)
            panels.append(panel(image, quads, true_quads))
        precision = found / detections if detections else 0.0
        recall = found / words if words else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{detector.kind}: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f} at IoU {MATCH_IOU} "
              f"({found} of {detections} boxes match {words} words in {len(truth)} images)")
        if args.out:
            write_sheet(args.out, panels)
        return 0
    except (OSError, ValueError) as e:
        print(e, file=sys.stderr)
        return 1
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
