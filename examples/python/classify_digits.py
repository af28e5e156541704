#!/usr/bin/env python3
"""Classifies the bundled 8x8 handwritten digits with examples/models/digits_cnn.onnx through dlinfer's Python
package, printing some predictions and the accuracy over all test images.

    python3 examples/python/classify_digits.py [--device DEVICE] [--model MODEL] [--data DATA_DIR]

Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Model contract: input "image" float32 [N,1,8,8] in [0,1]; output "logits" float32 [N,10].
"""
import argparse
import os
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default=os.path.join(EXAMPLES, "models", "digits_cnn.onnx"))
    parser.add_argument("--data", default=os.path.join(EXAMPLES, "data"))
    args = parser.parse_args()

    images = np.load(os.path.join(args.data, "digits_test_images.npy"))
    labels = np.load(os.path.join(args.data, "digits_test_labels.npy"))
    try:
        session = dlinfer.InferenceSession(args.model, device=args.device)
        print(f"device: {session.device} ({session.cpu_node_count} nodes on the CPU)")
        (logits,) = session.run(["logits"], {"image": images})
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1

    predictions = logits.argmax(axis=1)
    for i in range(10):
        print(f"image {i:3d}: predicted {predictions[i]}, label {labels[i]}")
    correct = int((predictions == labels).sum())
    print(f"accuracy: {100.0 * correct / len(labels):.2f} % ({correct}/{len(labels)})")
    reference = os.path.join(args.data, "digits_test_logits_onnxruntime.npy")
    if os.path.exists(reference):
        print(f"max |logit - onnxruntime's|: {np.abs(logits - np.load(reference)).max():.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
