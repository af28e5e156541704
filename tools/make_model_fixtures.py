#!/usr/bin/env python3
"""Writes the whole-model differential fixtures under Tests/Fixtures/models/<name>/:

  model.onnx                                    exported with torch.onnx.export, opset 17, dynamic axes
  test_data_set_K/input_J.pb, output_J.pb       TensorProto files, the ONNX node-test layout; K = data sets with
                                                different dynamic sizes (batch 1 and 3, two sequence lengths/widths)
  ops.txt                                       the op types the model uses
  README.md (in models/)                        one line per model: architecture, ops, size

The outputs are onnxruntime's (CPU), checked against PyTorch's own outputs before they are written, so a fixture is
never a wrong export. Weights are random but seeded; every BatchNorm gets non-trivial running statistics (collected
in train mode over random batches) and a random affine, and the models are exported in eval mode with
TrainingMode.PRESERVE so BatchNormalization stays a node instead of being folded into Conv by the exporter.

Needs torch, torchvision, onnx, onnxruntime (only to regenerate; CI reads the committed files). A rerun on the same
versions reproduces the files. Usage: python3 tools/make_model_fixtures.py [name ...]
"""
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from onnx import numpy_helper
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.models.squeezenet import SqueezeNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
OPSET = 17

# dlinfer's op list (the scope every fixture is checked against).
DLINFER_OPS = {
    "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul",
    "LSTM", "GRU", "RNN", "BatchNormalization", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "Clip", "Elu",
    "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Sum", "Max", "Min", "Flatten",
    "Reshape", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Gather", "Shape", "Cast",
    "ConstantOfShape", "Expand", "Pad", "Resize", "ReduceMean", "ReduceSum", "ReduceMax", "ArgMax", "LRN",
    "Identity", "Dropout", "Constant",
}


def calibrate_batchnorm(model, make_batch, batches=4):
    """Gives every BatchNorm real running statistics and a random affine, then puts the model in eval mode."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(*make_batch())
    return model.eval()


# ---- architectures ---------------------------------------------------------------------------------------------

def resnet():
    """torchvision ResNet with BasicBlock, [1,1,1,1] blocks at widths 16/32/64/128 (ResNet-18's layout, narrower)."""
    model = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
    # Rebuild the stem and stages narrower with torchvision's own _make_layer so the block wiring is unchanged.
    model.inplanes = 16
    model.conv1 = torch.nn.Conv2d(3, 16, kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = torch.nn.BatchNorm2d(16)
    model.layer1 = model._make_layer(BasicBlock, 16, 1)
    model.layer2 = model._make_layer(BasicBlock, 32, 1, stride=2)
    model.layer3 = model._make_layer(BasicBlock, 64, 1, stride=2)
    model.layer4 = model._make_layer(BasicBlock, 128, 1, stride=2)
    model.fc = torch.nn.Linear(128, 10)
    model = calibrate_batchnorm(model, lambda: (torch.randn(8, 3, 64, 64),))
    return dict(
        model=model, input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}},
        data_sets=[[torch.randn(1, 3, 64, 64)], [torch.randn(3, 3, 48, 80)]],
    )


def mobilenet_v2():
    """torchvision MobileNetV2 with width_mult 0.25 (depthwise convs, ReLU6 as Clip, inverted residuals)."""
    model = MobileNetV2(num_classes=10, width_mult=0.25)
    model = calibrate_batchnorm(model, lambda: (torch.randn(8, 3, 96, 96),))
    return dict(
        model=model, input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}},
        data_sets=[[torch.randn(1, 3, 96, 96)], [torch.randn(3, 3, 64, 96)]],
    )


def squeezenet():
    """torchvision SqueezeNet 1.1 (fire modules: Concat of 1x1 and 3x3 expands, ceil-mode MaxPool)."""
    model = SqueezeNet(version="1_1", num_classes=10).eval()
    return dict(
        model=model, input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}},
        data_sets=[[torch.randn(1, 3, 96, 96)], [torch.randn(3, 3, 80, 112)]],
    )


class BiLSTMClassifier(torch.nn.Module):
    """Token ids -> Embedding -> 2-layer bidirectional LSTM -> last layer's final states (both directions) -> Linear."""

    def __init__(self, vocab=200, embed=24, hidden=32, classes=3):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, embed)
        self.lstm = torch.nn.LSTM(embed, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = torch.nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.embed(tokens))
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))


def bilstm_classifier():
    model = BiLSTMClassifier().eval()
    return dict(
        model=model, input_names=["tokens"], output_names=["logits"],
        dynamic_axes={"tokens": {0: "N", 1: "T"}, "logits": {0: "N"}},
        data_sets=[[torch.randint(0, 200, (1, 7))], [torch.randint(0, 200, (3, 19))]],
    )


class GRURegressor(torch.nn.Module):
    """Float features [N,T,F] -> 2-layer GRU -> output at the last step -> Linear -> one value per sequence."""

    def __init__(self, features=5, hidden=32):
        super().__init__()
        self.gru = torch.nn.GRU(features, hidden, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, series):
        out, _ = self.gru(series)
        return self.head(out[:, -1])


def gru_regressor():
    model = GRURegressor().eval()
    return dict(
        model=model, input_names=["series"], output_names=["value"],
        dynamic_axes={"series": {0: "N", 1: "T"}, "value": {0: "N"}},
        data_sets=[[torch.randn(1, 10, 5)], [torch.randn(3, 23, 5)]],
    )


class CRNN(torch.nn.Module):
    """Text-line recogniser: conv stack over a [N,1,32,W] image collapses the height to 1, each of the W/4 columns is
    a frame; a 2-layer BiLSTM over the frames, a per-frame Linear and log_softmax give [T, N, classes] for CTC."""

    def __init__(self, classes=37, hidden=48):
        super().__init__()

        def block(cin, cout, pool):
            return [torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False), torch.nn.BatchNorm2d(cout),
                    torch.nn.ReLU(), torch.nn.MaxPool2d(pool)]

        self.cnn = torch.nn.Sequential(
            *block(1, 16, (2, 2)),    # 32 x W   -> 16 x W/2
            *block(16, 32, (2, 2)),   # 16 x W/2 -> 8 x W/4
            *block(32, 48, (2, 1)),   # -> 4 x W/4
            *block(48, 64, (2, 1)),   # -> 2 x W/4
            torch.nn.Conv2d(64, 64, (2, 1)), torch.nn.ReLU(),  # -> 1 x W/4
        )
        self.rnn = torch.nn.LSTM(64, hidden, num_layers=2, bidirectional=True)
        self.fc = torch.nn.Linear(2 * hidden, classes)

    def forward(self, image):
        f = self.cnn(image).squeeze(2).permute(2, 0, 1)  # [T, N, C]
        y, _ = self.rnn(f)
        return torch.nn.functional.log_softmax(self.fc(y), dim=2)


def crnn():
    model = calibrate_batchnorm(CRNN(), lambda: (torch.randn(8, 1, 32, 100),))
    with torch.no_grad():
        # Peaked per-frame distributions, as a trained recogniser gives, rather than near-uniform log-probabilities.
        model.fc.weight.mul_(8)
    return dict(
        model=model, input_names=["image"], output_names=["log_probs"],
        dynamic_axes={"image": {0: "N", 3: "W"}, "log_probs": {0: "T", 1: "N"}},
        data_sets=[[torch.rand(1, 1, 32, 64)], [torch.rand(3, 1, 32, 100)]],
    )


# name -> (seed, builder); each builder runs right after torch.manual_seed(seed), so fixtures are independent.
FIXTURES = {
    "resnet_basic": (101, resnet),
    "mobilenet_v2": (102, mobilenet_v2),
    "squeezenet1_1": (103, squeezenet),
    "bilstm_classifier": (104, bilstm_classifier),
    "gru_regressor": (105, gru_regressor),
    "crnn": (106, crnn),
}


# ---- export and reference data ---------------------------------------------------------------------------------

def export(name, spec, path):
    model = spec["model"]
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    # TorchScript exporter (dynamo=False): plain ONNX ops (LSTM/GRU nodes rather than loops) and dynamic_axes.
    torch.onnx.export(
        model, tuple(spec["data_sets"][0]), path, opset_version=OPSET, dynamo=False,
        input_names=spec["input_names"], output_names=spec["output_names"], dynamic_axes=spec["dynamic_axes"],
        training=torch.onnx.TrainingMode.PRESERVE if has_bn else torch.onnx.TrainingMode.EVAL,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    m.doc_string = f"dlinfer fixture '{name}': " + " ".join((FIXTURES[name][1].__doc__ or model.__doc__ or "").split())
    onnx.save(m, path)
    return m


def write_fixture(name):
    seed, build = FIXTURES[name]
    torch.manual_seed(seed)
    spec = build()
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, "model.onnx")
    m = export(name, spec, path)
    ops = sorted({n.op_type for n in m.graph.node})
    with open(os.path.join(folder, "ops.txt"), "w") as f:
        f.write(" ".join(ops) + "\n")

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    shapes = []
    for k, inputs in enumerate(spec["data_sets"]):
        with torch.no_grad():
            want = spec["model"](*inputs)
        want = [want] if isinstance(want, torch.Tensor) else list(want)
        feeds = {n: t.numpy() for n, t in zip(spec["input_names"], inputs)}
        got = sess.run(spec["output_names"], feeds)
        for g, w in zip(got, want):
            # An export that disagrees with PyTorch would make a wrong reference: refuse it.
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5, err_msg=f"{name} set {k}: ORT vs torch")
        d = os.path.join(folder, f"test_data_set_{k}")
        os.makedirs(d)
        for j, (n, t) in enumerate(zip(spec["input_names"], inputs)):
            onnx.save_tensor(numpy_helper.from_array(t.numpy(), n), os.path.join(d, f"input_{j}.pb"))
        for j, (n, a) in enumerate(zip(spec["output_names"], got)):
            onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(d, f"output_{j}.pb"))
        shapes.append(", ".join(f"{n} {list(t.shape)}" for n, t in zip(spec["input_names"], inputs))
                      + " -> " + ", ".join(f"{list(a.shape)}" for a in got))

    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
    outside = [o for o in ops if o not in DLINFER_OPS]
    print(f"{name}: {os.path.getsize(path) / 1e6:.2f} MB model, {size / 1e6:.2f} MB in all")
    print(f"  ops: {' '.join(ops)}")
    print(f"  OUTSIDE dlinfer's list: {' '.join(outside)}" if outside else "  all ops in dlinfer's list")
    for k, s in enumerate(shapes):
        print(f"  set {k}: {s}")
    doc = " ".join((build.__doc__ or spec["model"].__doc__ or "").split())
    return f"| `{name}` | {doc} | {' '.join(ops)} | {os.path.getsize(path) / 1e6:.2f} MB | {'; '.join(shapes)} |"


def main(argv):
    names = argv or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        sys.exit(f"unknown fixture(s) {unknown}; known: {list(FIXTURES)}")
    torch.set_num_threads(1)
    rows = {n: write_fixture(n) for n in names}
    if argv:
        return  # a partial run leaves the README alone
    readme = os.path.join(OUT, "README.md")
    # Rows of fixtures that other generators write (tools/make_torch_user_models.py) are kept as they are.
    others = [line for line in open(readme).read().split("\n")
              if line.startswith("| `") and line.split("`")[1] not in FIXTURES] if os.path.exists(readme) else []
    with open(readme, "w") as f:
        f.write("# Whole-model fixtures\n\n"
                "Generated by `tools/make_model_fixtures.py` (random seeded weights) and "
                "`tools/make_torch_user_models.py` (trained models, seeded segmenter); do not edit by hand. Checked by "
                "`Tests/DLInferTests/WholeModelTests.swift` with rtol 1e-3, atol 1e-4.\n"
                f"Exported from PyTorch {torch.__version__} / torchvision {torchvision.__version__} "
                f"(TorchScript exporter, opset {OPSET}); reference outputs from onnxruntime {ort.__version__} (CPU), "
                "each checked against PyTorch's.\n\n"
                "| fixture | architecture | ops | model | data sets (inputs -> outputs) |\n|---|---|---|---|---|\n")
        f.write("\n".join([rows[n] for n in names] + others) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
