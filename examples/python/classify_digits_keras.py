#!/usr/bin/env python3
"""Classifies the bundled 8x8 handwritten digits with the two Keras-built classifiers, an MLP and a CNN
(examples/models/keras_digits_{mlp,cnn}.onnx), through dlinfer's Python package, and prints the accuracy of each
over the held-out split.

    python3 examples/python/classify_digits_keras.py [--device DEVICE] [--model mlp|cnn|both] [--models DIR] [--data DIR]

Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Model contract: input "image" float32 [N,1,8,8] in [0,1]; output "probabilities" float32 [N,10] (softmax).
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
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--models", default=os.path.join(EXAMPLES, "models"))
    parser.add_argument("--data", default=os.path.join(EXAMPLES, "data"))
    args = parser.parse_args()

    images = np.load(os.path.join(args.data, "digits_test_images.npy"))
    labels = np.load(os.path.join(args.data, "digits_test_labels.npy"))
    for kind in ["mlp", "cnn"] if args.model == "both" else [args.model]:
        path = os.path.join(args.models, f"keras_digits_{kind}.onnx")
        try:
            session = dlinfer.InferenceSession(path, device=args.device)
            print(f"{path} on {session.device}")
            (probs,) = session.run(["probabilities"], {"image": images})
        except dlinfer.Error as e:
            print(f"dlinfer failed: {e}", file=sys.stderr)
            return 1
        predictions = probs.argmax(axis=1)
        for i in range(5):
            print(f"image {i:3d}: predicted {predictions[i]} (p={probs[i, predictions[i]]:.3f}), label {labels[i]}")
        correct = int((predictions == labels).sum())
        print(f"accuracy: {100.0 * correct / len(labels):.2f} % ({correct}/{len(labels)})")
        reference = os.path.join(args.data, f"digits_test_probabilities_keras_{kind}.npy")
        if os.path.exists(reference):
            print(f"max |p - Keras' p|: {np.abs(probs - np.load(reference)).max():.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
