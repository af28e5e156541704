#!/usr/bin/env python3
"""Trains the bundled example model: a small CNN on scikit-learn's handwritten digits (8x8, shipped with
scikit-learn, nothing downloaded), and writes

  examples/models/digits_cnn.onnx         opset 17; input `image` [N,1,8,8] float32 in [0,1]; output `logits` [N,10]
  examples/data/digits_test_images.npy    the held-out images, float32 [N,1,8,8]
  examples/data/digits_test_labels.npy    their labels, int64 [N]
  examples/data/digits_test_logits_onnxruntime.npy   onnxruntime's logits for those images, float32 [N,10]

Needs torch, scikit-learn, onnx, onnxruntime (only to regenerate; nothing in CI runs this). Seeds are fixed and
training runs single-threaded with deterministic algorithms, so a rerun on the same versions gives the same files.
Run from anywhere: python3 tools/make_digits_model.py
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "examples", "models", "digits_cnn.onnx")
DATA = os.path.join(ROOT, "examples", "data")
SEED = 0
TEST_FRACTION = 0.2
EPOCHS = 60


class DigitsCNN(torch.nn.Module):
    """Conv-ReLU-MaxPool twice (8x8 -> 4x4 -> 2x2), then two Linear layers."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        )
        self.classifier = torch.nn.Sequential(
            torch.nn.Linear(32 * 2 * 2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10),
        )

    def forward(self, image):
        return self.classifier(torch.flatten(self.features(image), 1))


def load_split():
    digits = load_digits()
    # Pixel values are integers 0..16; the model contract is [0,1].
    images = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    return train_test_split(images, labels, test_size=TEST_FRACTION, random_state=SEED, stratify=labels)


def train(x_train, y_train):
    torch.manual_seed(SEED)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for k in range(0, len(x), 32):
            idx = perm[k:k + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return model.eval()


def export(model):
    os.makedirs(os.path.dirname(MODEL), exist_ok=True)
    # The TorchScript exporter (dynamo=False) emits plain ONNX ops with dynamic_axes; the dynamo exporter would
    # need onnxscript and produces the same graph for this model.
    torch.onnx.export(
        model, (torch.zeros(1, 1, 8, 8),), MODEL, opset_version=17, dynamo=False,
        input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
    )
    m = onnx.load(MODEL)
    onnx.checker.check_model(m, full_check=True)
    m.doc_string = "Digits CNN trained on sklearn load_digits; input image [N,1,8,8] float32 in [0,1]; output logits [N,10]"
    onnx.save(m, MODEL)
    return sorted({n.op_type for n in m.graph.node})


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, x_test, y_train, y_test = load_split()
    model = train(x_train, y_train)
    with torch.no_grad():
        torch_acc = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    ops = export(model)
    os.makedirs(DATA, exist_ok=True)
    np.save(os.path.join(DATA, "digits_test_images.npy"), np.ascontiguousarray(x_test))
    np.save(os.path.join(DATA, "digits_test_labels.npy"), y_test)

    sess = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    logits = sess.run(["logits"], {"image": x_test})[0]
    ort_acc = (logits.argmax(1) == y_test).mean()
    np.save(os.path.join(DATA, "digits_test_logits_onnxruntime.npy"), logits)
    one = sess.run(["logits"], {"image": x_test[:1]})[0]
    assert logits.shape == (len(x_test), 10) and one.shape == (1, 10)
    print(f"ops: {', '.join(ops)}")
    print(f"train {len(x_train)}, test {len(x_test)}; accuracy torch {torch_acc:.4f}, onnxruntime {ort_acc:.4f} "
          f"({int((logits.argmax(1) == y_test).sum())}/{len(y_test)})")
    print(f"model {os.path.getsize(MODEL)} bytes; torch {torch.__version__}, onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__}")


if __name__ == "__main__":
    sys.exit(main())
