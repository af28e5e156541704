#!/usr/bin/env python3
"""Finds circles, squares and triangles in colour images with the single-shot detector of examples/models through
dlinfer's Python package, prints one line per detection and writes the image with the boxes drawn. Given a labels
file (the default without images: the bundled held-out set), also prints the mAP@0.5 over its images.

    python3 examples/python/detect_objects.py [--device DEVICE] [--model raw|nms|MODEL.onnx] [--classes FILE]
                                              [--threshold 0.5] [--out PATH] [--labels FILE | IMAGE ...]

--model raw (the default) runs examples/models/detector_raw.onnx, whose outputs are every cell's box and class
probabilities, and keeps the best boxes with the library's per-class NMS (dlinfer.nms with classes); --model nms runs
examples/models/detector_nms.onnx, which does the same NMS inside the graph (ONNX NonMaxSuppression) and outputs the
final detections. Both keep boxes scoring above 0.05 that overlap a better box of their class by IoU 0.5 at most, so
they print the same detections. Lines show the detections scoring above --threshold; the mAP counts them all.
Images are binary PPM (P6, read here with numpy), or any format Pillow reads when Pillow is installed; any size
(resampled to the model's 96x96, boxes given in the image's pixels). --out: the annotated PPM (boxes in class
colours); with several images, an existing folder that receives one per image under its name. A labels file has one
"FILE CLASS X1 Y1 X2 Y2" line per object, FILE relative to the labels file's folder. Without --device the library
uses $DLINFER_DEVICE, else picks automatically.
Model contract: input "image" float32 [N,3,96,96] (RGB / 255); raw outputs "boxes" float32 [N,K,4] (x1, y1, x2, y2
in input pixels) and "scores" float32 [N,K,C]; nms outputs "det_boxes" [D,4], "det_scores" [D], "det_classes" int64
[D] and "det_batch" int64 [D], by falling score.
"""
import argparse
import os
import re
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IOU_THRESHOLD = 0.5  # as the NMS inside detector_nms.onnx
SCORE_THRESHOLD = 0.05
COLOURS = [(255, 40, 40), (40, 255, 40), (60, 120, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255)]


def read_image(path):
    """RGB bytes, uint8 [height, width, 3]."""
    with open(path, "rb") as f:
        data = f.read()
    # Binary PPM: "P6", width, height, maxval (whitespace and # comments between them), one whitespace byte, pixels.
    m = re.match(rb"P6(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)\s", data)
    if m:
        width, height, maxval = (int(g) for g in m.groups())
        if not 0 < maxval < 256 or width == 0 or height == 0 or len(data) - m.end() < width * height * 3:
            raise ValueError(f"{path}: not an 8-bit PPM, or truncated")
        pixels = np.frombuffer(data, np.uint8, width * height * 3, m.end()).reshape(height, width, 3)
        return pixels if maxval == 255 else (pixels.astype(np.uint32) * 255 // maxval).astype(np.uint8)
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: not a binary PPM, and Pillow (for other formats) is not installed") from None
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except OSError as e:
        raise ValueError(f"{path}: not a binary PPM, nor an image Pillow reads ({e})") from None


def write_ppm(path, pixels):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (pixels.shape[1], pixels.shape[0]))
        f.write(np.ascontiguousarray(pixels).tobytes())


class Detector:
    def __init__(self, model, device, classes):
        self.session = dlinfer.InferenceSession(model, device=device)
        self.classes = classes
        outputs = [o.name for o in self.session.get_outputs()]
        self.in_graph_nms = "det_boxes" in outputs
        if not self.in_graph_nms and not {"boxes", "scores"} <= set(outputs):
            raise ValueError(f"{model}: outputs {outputs}: neither det_boxes (NMS inside) nor boxes and scores")
        shape = self.session.get_inputs()[0].shape
        self.height, self.width = shape[2], shape[3]

    def detect(self, pixels):
        """Detections scoring above SCORE_THRESHOLD, by falling score: (class, score, [x1, y1, x2, y2] float64 in the
        image's pixels)."""
        height, width = pixels.shape[:2]
        # nearest-neighbour resampling to the model's size (none for images of that size)
        rows = (2 * np.arange(self.height) + 1) * height // (2 * self.height)
        cols = (2 * np.arange(self.width) + 1) * width // (2 * self.width)
        image = pixels[rows][:, cols].transpose(2, 0, 1)[None].astype(np.float32) / 255
        if self.in_graph_nms:
            boxes, scores, classes, _ = self.session.run(None, {"image": image})
        else:
            all_boxes, all_scores = self.session.run(["boxes", "scores"], {"image": image})
            cells, count = all_scores.shape[1:]
            # every (cell, class) pair is a candidate: its cell's box, its class's score
            boxes = np.repeat(all_boxes[0], count, axis=0)
            scores = all_scores[0].reshape(-1)
            classes = np.tile(np.arange(count), cells)
            keep = dlinfer.nms(boxes, scores, IOU_THRESHOLD, classes=classes, score_threshold=SCORE_THRESHOLD)
            boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        scale = np.array([width / self.width, height / self.height] * 2)
        return [(int(c), float(s), b.astype(np.float64) * scale) for b, s, c in zip(boxes, scores, classes)]


def draw(pixels, detections, threshold):
    """A copy of the image with a 2-pixel frame in its class's colour around each detection above threshold."""
    out = pixels.copy()
    height, width = out.shape[:2]
    for c, score, box in detections:
        if score <= threshold:
            continue
        x1, y1, x2, y2 = (int(np.clip(np.floor(v), 0, n - 1)) for v, n in zip(box, (width, height) * 2))
        colour = COLOURS[c % len(COLOURS)]
        for t in range(2):
            out[max(y1 - t, 0), x1:x2 + 1] = out[min(y2 + t, height - 1), x1:x2 + 1] = colour
            out[y1:y2 + 1, max(x1 - t, 0)] = out[y1:y2 + 1, min(x2 + t, width - 1)] = colour
    return out


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(detections, truths, c):
    """VOC's AP of class c at IoU 0.5 (all-point interpolated precision-recall area). detections and truths: per
    image, lists of (class, score, box) and (class, box). Each detection, by falling score, is a true positive when
    the ground-truth box it overlaps most (IoU >= 0.5) is of its image and class and not taken yet."""
    found = sorted(((s, i, k) for i, dets in enumerate(detections) for k, (cls, s, _) in enumerate(dets) if cls == c),
                   key=lambda d: (-d[0], d[1], d[2]))
    gt = [[b for cls, b in t if cls == c] for t in truths]
    used = [[False] * len(g) for g in gt]
    total = sum(len(g) for g in gt)
    if total == 0:
        return 0.0
    recall, precision, tp = [0.0], [0.0], 0
    for n, (_, i, k) in enumerate(found):
        box = detections[i][k][2]
        best, best_iou = -1, 0.0
        for j, g in enumerate(gt[i]):
            o = iou(box, g)
            if o > best_iou:
                best, best_iou = j, o
        if best >= 0 and best_iou >= 0.5 and not used[i][best]:
            used[i][best] = True
            tp += 1
        recall.append(tp / total)
        precision.append(tp / (n + 1))
    recall.append(1.0)
    precision.append(0.0)
    for j in range(len(precision) - 2, -1, -1):
        precision[j] = max(precision[j], precision[j + 1])
    ap = 0.0
    for j in range(1, len(recall)):
        ap += (recall[j] - recall[j - 1]) * precision[j]
    return ap


def report(name, detections, classes, threshold):
    shown = [d for d in detections if d[1] > threshold]
    for c, score, (x1, y1, x2, y2) in shown:
        print(f"{name}: {classes[c]} {score:.3f} ({x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f})")
    if not shown:
        print(f"{name}: nothing above {threshold:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default="raw", help="raw, nms or an ONNX file of either kind (default: raw)")
    parser.add_argument("--classes", default=os.path.join(EXAMPLES, "data", "detector_classes.txt"))
    parser.add_argument("--threshold", type=float, default=0.5, help="the score above which detections are shown")
    parser.add_argument("--out", help="the annotated image (several images: an existing folder for them)")
    parser.add_argument("--labels", help="a labels file (default, without images: the bundled held-out set)")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    if args.labels and args.images:
        parser.error("give either --labels or images")
    model = args.model
    if model in ("raw", "nms"):
        model = os.path.join(EXAMPLES, "models", f"detector_{model}.onnx")

    with open(args.classes) as f:
        classes = [line.strip() for line in f if line.strip()]
    truths = None
    if args.images:
        paths = args.images
    else:
        labels = args.labels or os.path.join(EXAMPLES, "data", "detector", "labels.txt")
        folder = os.path.dirname(labels)
        names, truths = [], []
        with open(labels) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fields = line.split()
                if len(fields) != 6 or fields[1] not in classes:
                    print(f"{labels}:{number}: not FILE CLASS X1 Y1 X2 Y2 with a class of {args.classes}",
                          file=sys.stderr)
                    return 1
                if fields[0] not in names:
                    names.append(fields[0])
                    truths.append([])
                truths[names.index(fields[0])].append((classes.index(fields[1]), [float(v) for v in fields[2:]]))
        paths = [os.path.join(folder, n) for n in names]
    several = len(paths) > 1
    if args.out and several and not os.path.isdir(args.out):
        print(f"{args.out}: not a folder (the annotated images of several images go into one)", file=sys.stderr)
        return 1
    try:
        detector = Detector(model, args.device, classes)
        print(f"device: {detector.session.device}")
        failures = 0
        detections = []
        for k, path in enumerate(paths):
            name = names[k] if truths is not None else path
            try:
                pixels = read_image(path)
                found = detector.detect(pixels)
            except (OSError, ValueError) as e:
                print(e, file=sys.stderr)
                failures += 1
                detections.append([])
                continue
            if any(c >= len(classes) for c, _, _ in found):
                print(f"{model}: a class beyond the {len(classes)} of {args.classes}", file=sys.stderr)
                return 1
            detections.append(found)
            report(name, found, classes, args.threshold)
            if args.out:
                out = os.path.join(args.out, os.path.basename(path)) if several else args.out
                write_ppm(out, draw(pixels, found, args.threshold))
        if truths is not None:
            aps = [average_precision(detections, truths, c) for c in range(len(classes))]
            mean = 0.0
            for ap in aps:
                mean += ap
            mean /= len(aps)
            print(f"mAP@0.5: {mean:.4f} (" + ", ".join(f"{n} {ap:.4f}" for n, ap in zip(classes, aps)) +
                  f") over {len(paths)} images")
        return 1 if failures else 0
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
