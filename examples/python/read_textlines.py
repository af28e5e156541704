#!/usr/bin/env python3
"""Reads text-line images with the CRNN examples/models/crnn_ctc.onnx through dlinfer's Python package: each image
(height 32, any width) is one run, and dlinfer.ctc_greedy_decode turns the per-frame log-probabilities into a
string. Given a labels file, prints each decoded string with its label and the exact-string accuracy.

    python3 examples/python/read_textlines.py [--device DEVICE] [--model MODEL] [--alphabet FILE]
                                              [--labels FILE | IMAGE ...]

Images are 8-bit PGM files (read here with numpy), or any format Pillow reads (PNG, ...) when Pillow is installed.
Without images, --labels defaults to examples/data/textlines/labels.txt: one "FILE TEXT" line per image, FILE relative
to the labels file's folder. Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Model contract: input "image" float32 [N,1,32,W] (grey level / 255, dark text on a light background); output
"log_probs" float32 [W/4, N, classes], class 0 the CTC blank and class k the alphabet file's byte k-1.
"""
import argparse
import os
import re
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_image(path):
    """Grey levels scaled to [0,1], float32 [height, width]."""
    with open(path, "rb") as f:
        data = f.read()
    # Binary PGM: "P5", width, height, maxval (whitespace and # comments between them), one whitespace byte, pixels.
    m = re.match(rb"P5(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)\s", data)
    if m:
        width, height, maxval = (int(g) for g in m.groups())
        if not 0 < maxval < 256 or len(data) - m.end() < width * height:
            raise ValueError(f"{path}: not an 8-bit PGM, or truncated")
        pixels = np.frombuffer(data, np.uint8, width * height, m.end()).reshape(height, width)
        return pixels.astype(np.float32) / maxval
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: not a binary PGM, and Pillow (for other formats) is not installed") from None
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except OSError as e:
        raise ValueError(f"{path}: not a binary PGM, nor an image Pillow reads ({e})") from None


def read_line(session, alphabet, path):
    image = read_image(path)
    height = session.get_inputs()[0].shape[2]
    if height is not None and image.shape[0] != height:
        raise ValueError(f"{path}: the image is {image.shape[0]} pixels high, the model reads {height}")
    (log_probs,) = session.run(["log_probs"], {"image": image[None, None]})
    (labels,) = dlinfer.ctc_greedy_decode(log_probs, blank=0)
    return "".join(alphabet[k - 1] for k in labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default=os.path.join(EXAMPLES, "models", "crnn_ctc.onnx"))
    parser.add_argument("--alphabet", default=os.path.join(EXAMPLES, "data", "crnn_alphabet.txt"))
    parser.add_argument("--labels", help="a labels file (default, without images: the bundled held-out lines)")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    if args.labels and args.images:
        parser.error("give either --labels or images")

    with open(args.alphabet, "rb") as f:
        alphabet = f.read().decode("latin-1")
    try:
        session = dlinfer.InferenceSession(args.model, device=args.device)
        print(f"device: {session.device}")
        failures = 0
        if args.images:
            for path in args.images:
                try:
                    print(f"{path}: {read_line(session, alphabet, path)}")
                except (OSError, ValueError) as e:
                    print(e, file=sys.stderr)
                    failures += 1
            return 1 if failures else 0
        labels = args.labels or os.path.join(EXAMPLES, "data", "textlines", "labels.txt")
        folder = os.path.dirname(labels)
        correct = total = 0
        with open(labels) as f:
            for line in f:
                if not line.strip():
                    continue
                name, label = line.split()
                try:
                    text = read_line(session, alphabet, os.path.join(folder, name))
                except (OSError, ValueError) as e:
                    print(e, file=sys.stderr)
                    failures += 1
                    continue
                total += 1
                correct += text == label
                print(f"{name}: {text} (label {label}){'' if text == label else ' WRONG'}")
        if total:
            print(f"accuracy: {100.0 * correct / total:.2f} % ({correct}/{total})")
        return 1 if failures else 0
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
