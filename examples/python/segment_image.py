#!/usr/bin/env python3
"""Segments RGB images with the SegNet-style model examples/models/segnet.onnx through dlinfer's Python package:
every pixel gets one of the classes background, disc, rectangle, triangle. Prints each image's pixel count per class
and, with --out, writes a colour-coded mask (binary PPM), optionally blended with the image. Given a labels file (the
default without images: the bundled held-out images), also compares with their label maps and prints each class's
IoU (intersection over union, summed over all the images) and the mean IoU over the classes.

    python3 examples/python/segment_image.py [--device DEVICE] [--model MODEL] [--out PATH] [--blend F]
                                             [--labels FILE | IMAGE ...]

Images are binary PPM files (read here with numpy), or any format Pillow reads (PNG, ...) when Pillow is installed,
of any size; the model reads sizes that are multiples of 8, so each image is padded by repeating its last row and
column, and the result is cut back. --out: with one IMAGE, the mask file; with several or with --labels, an existing
folder that receives NAME_mask.ppm per image (NAME: the image's file name without its extension). --blend F (0 to
1, default 0) mixes that fraction of the image into the class colours. A labels file has one "IMAGE LABELMAP" line
per image, both relative to the labels file's folder; a label map is a binary PGM holding the class number of each
pixel. Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Model contract: input "image" float32 [N,3,H,W] (RGB / maxval, H and W multiples of 8); outputs "logits" float32
[N,4,H,W] and "classes" int64 [N,H,W], the argmax of the logits over the classes.
"""
import argparse
import os
import re
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASS_NAMES = ["background", "disc", "rectangle", "triangle"]
PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200]], np.float64)
MULTIPLE = 8  # the model pools three times by 2
HEADER = rb"P%d(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)\s"


def read_pnm(path, channels):
    """A binary 8-bit PPM (channels 3) or PGM (channels 1): (uint8 [H,W,channels], maxval), or None if the file is
    not one."""
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(HEADER % (6 if channels == 3 else 5), data)
    if not m:
        return None
    width, height, maxval = (int(g) for g in m.groups())
    if not 0 < maxval < 256 or len(data) - m.end() < width * height * channels:
        raise ValueError(f"{path}: not an 8-bit {'PPM' if channels == 3 else 'PGM'}, or truncated")
    return np.frombuffer(data, np.uint8, width * height * channels, m.end()).reshape(height, width, channels), maxval


def read_image(path):
    """(uint8 [H,W,3], maxval)."""
    image = read_pnm(path, 3)
    if image is not None:
        return image
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: not a binary PPM (P6), and Pillow (for other formats) is not installed") from None
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB")), 255
    except OSError as e:
        raise ValueError(f"{path}: not a binary PPM (P6), nor an image Pillow reads ({e})") from None


def segment(session, image, maxval):
    """The class of each pixel, uint8 [H,W]."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, -h % MULTIPLE), (0, -w % MULTIPLE), (0, 0)), mode="edge")
    x = padded.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(maxval)
    (classes,) = session.run(["classes"], {"image": x})
    if classes.shape != (1,) + padded.shape[:2] or classes.min() < 0 or classes.max() >= len(CLASS_NAMES):
        raise RuntimeError(f"the output 'classes' is not int64 [1, {padded.shape[0]}, {padded.shape[1]}] "
                           f"holding 0..{len(CLASS_NAMES) - 1}")
    return classes[0, :h, :w].astype(np.uint8)


def write_mask(path, image, maxval, labels, blend):
    """The colour-coded mask, `blend` of the image mixed in, as a binary PPM."""
    mixed = (1.0 - blend) * PALETTE[labels] + blend * (image.astype(np.float64) * 255.0 / maxval)
    rgb = np.floor(mixed + 0.5).astype(np.uint8)
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (labels.shape[1], labels.shape[0]) + rgb.tobytes())


def counts_line(name, labels):
    counts = np.bincount(labels.ravel(), minlength=len(CLASS_NAMES))
    return f"{name}: " + ", ".join(f"{c} {n}" for c, n in zip(CLASS_NAMES, counts))


def mask_path(out, image_path):
    return os.path.join(out, os.path.splitext(os.path.basename(image_path))[0] + "_mask.ppm")


def blend_fraction(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("not between 0 and 1")
    return value


def evaluate(session, labels_path, out, blend):
    """Segments the images of a labels file; prints each image's counts, then the IoU per class and their mean.
    Returns the number of failures."""
    folder = os.path.dirname(labels_path)
    classes = len(CLASS_NAMES)
    confusion = np.zeros((classes, classes), np.int64)  # [label, prediction]
    images = failures = 0
    with open(labels_path) as f:
        for line in f:
            if not line.strip():
                continue
            name, label_name = line.split()
            try:
                image, maxval = read_image(os.path.join(folder, name))
                path = os.path.join(folder, label_name)
                truth = read_pnm(path, 1)
                if truth is None:
                    raise ValueError(f"{path}: not an 8-bit binary PGM (P5)")
                truth = truth[0][..., 0]
                if truth.shape != image.shape[:2]:
                    raise ValueError(f"{path}: not the size of {name}")
                if truth.max() >= classes:
                    raise ValueError(f"{path}: a class outside 0..{classes - 1}")
            except (OSError, ValueError) as e:
                print(e, file=sys.stderr)
                failures += 1
                continue
            labels = segment(session, image, maxval)
            print(counts_line(name, labels))
            confusion += np.bincount(truth.ravel().astype(np.int64) * classes + labels.ravel(),
                                     minlength=classes * classes).reshape(classes, classes)
            images += 1
            if out:
                try:
                    write_mask(mask_path(out, name), image, maxval, labels, blend)
                except OSError as e:
                    print(f"{mask_path(out, name)}: cannot write ({e.strerror})", file=sys.stderr)
                    failures += 1
    if images:
        # IoU of class k: pixels labelled and predicted k / pixels labelled or predicted k.
        parts, ious = [], []
        for k in range(classes):
            both = int(confusion[k, k])
            either = int(confusion[k].sum() + confusion[:, k].sum()) - both
            if either == 0:
                parts.append(f"{CLASS_NAMES[k]} n/a")
                continue
            ious.append(both / either)
            parts.append(f"{CLASS_NAMES[k]} {ious[-1]:.4f}")
        print("IoU: " + ", ".join(parts))
        print(f"mean IoU: {sum(ious) / len(ious):.4f} ({images} images)")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default=os.path.join(EXAMPLES, "models", "segnet.onnx"))
    parser.add_argument("--out", help="the mask file (one image), else an existing folder for NAME_mask.ppm files")
    parser.add_argument("--blend", type=blend_fraction, default=0.0, help="fraction of the image mixed in (0 to 1)")
    parser.add_argument("--labels", help="a labels file (default, without images: the bundled held-out images)")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    if args.labels and args.images:
        parser.error("give either --labels or images")

    try:
        session = dlinfer.InferenceSession(args.model, device=args.device)
        logits = next((o for o in session.get_outputs() if o.name == "logits"), None)
        if logits is None or len(logits.shape) != 4 or logits.shape[1] != len(CLASS_NAMES):
            print(f"{args.model}: the logits are not [N, {len(CLASS_NAMES)}, H, W]", file=sys.stderr)
            return 1
        print(f"device: {session.device}")
        if not args.images:
            labels = args.labels or os.path.join(EXAMPLES, "data", "segnet", "labels.txt")
            return 1 if evaluate(session, labels, args.out, args.blend) else 0
        failures = 0
        for path in args.images:
            try:
                image, maxval = read_image(path)
            except (OSError, ValueError) as e:
                print(e, file=sys.stderr)
                failures += 1
                continue
            labels = segment(session, image, maxval)
            print(counts_line(path, labels))
            if args.out:
                target = args.out if len(args.images) == 1 else mask_path(args.out, path)
                try:
                    write_mask(target, image, maxval, labels, args.blend)
                except OSError as e:
                    print(f"{target}: cannot write ({e.strerror})", file=sys.stderr)
                    failures += 1
        return 1 if failures else 0
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
