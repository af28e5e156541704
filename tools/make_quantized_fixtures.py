#!/usr/bin/env python3
"""Writes the quantized whole-model fixtures under Tests/Fixtures/models/<name>/ (the layout of
make_model_fixtures.py: model.onnx, ops.txt, test_data_set_K/{input,output}_J.pb), made with onnxruntime's
quantization tool the way users quantize their models:

  resnet_qdq     Tests/Fixtures/models/resnet_basic, pre-processed (BatchNormalization folded into Conv) and
                 statically quantized in the QDQ format: uint8 activations, int8 weights per output channel,
                 MinMax calibration over 16 seeded random images.
  convnet_dynamic  a small conv net + MLP built here with seeded weights, dynamically quantized (QOperator):
                 DynamicQuantizeLinear feeding ConvInteger and MatMulInteger, int8 weights (uint8 for ConvInteger).

Reference outputs are onnxruntime's (CPU) with graph optimizations off, so that it runs the nodes as written (its
optimized sessions fuse DequantizeLinear -> Conv -> QuantizeLinear into integer kernels with their own rounding);
the script prints how far the optimized sessions' outputs are from them.

Needs onnx, onnxruntime (with onnxruntime.quantization) and numpy: /opt/torchenv/bin/python has them. A rerun on the
same versions reproduces the files. Usage: /opt/torchenv/bin/python tools/make_quantized_fixtures.py [name ...]
"""
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")


class RandomImages(CalibrationDataReader):
    """`count` seeded standard-normal images of one shape (the float fixture's inputs are drawn the same way)."""

    def __init__(self, name, shape, count, seed):
        rng = np.random.default_rng(seed)
        self.batches = iter([{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(count)])

    def get_next(self):
        return next(self.batches, None)


def resnet_qdq(path, tmp):
    """resnet_basic (torchvision ResNet, BasicBlock [1,1,1,1] at widths 16/32/64/128) statically quantized in QDQ
    format: uint8 activations, int8 per-channel weights, MinMax calibration on 16 seeded random images."""
    float_model = os.path.join(OUT, "resnet_basic", "model.onnx")
    pre = os.path.join(tmp, "resnet_pre.onnx")
    # The recommended pre-processing: shape inference and ORT's optimizer, which folds BatchNormalization into Conv.
    quant_pre_process(float_model, pre, skip_symbolic_shape=True)
    quantize_static(pre, path, RandomImages("image", (1, 3, 64, 64), 16, 7), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    data = [resnet_input(s) for s in ("test_data_set_0", "test_data_set_1")]
    return ["image"], data


def resnet_input(data_set):
    t = onnx.load_tensor(os.path.join(OUT, "resnet_basic", data_set, "input_0.pb"))
    return [numpy_helper.to_array(t)]


def convnet_dynamic(path, tmp):
    """Small conv net + MLP with seeded weights: [N,1,16,16] -> Conv 3x3 (8) -> Relu -> Conv 3x3 stride 2 (16) ->
    Relu -> Flatten -> MatMul 1024x64 -> Add -> Relu -> MatMul 64x10 -> Add; dynamically quantized (Conv and MatMul
    to ConvInteger and MatMulInteger after DynamicQuantizeLinear, weights int8)."""
    rng = np.random.default_rng(11)

    def init(name, shape, fan_in):
        return numpy_helper.from_array((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), name)

    inits = [init("w1", (8, 1, 3, 3), 9), init("b1", (8,), 9), init("w2", (16, 8, 3, 3), 72), init("b2", (16,), 72),
             init("w3", (1024, 64), 1024), init("b3", (64,), 1024), init("w4", (64, 10), 64), init("b4", (10,), 64)]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"]),
        helper.make_node("MatMul", ["f", "w3"], ["m3"]),
        helper.make_node("Add", ["m3", "b3"], ["a3"]),
        helper.make_node("Relu", ["a3"], ["r3"]),
        helper.make_node("MatMul", ["r3", "w4"], ["m4"]),
        helper.make_node("Add", ["m4", "b4"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "convnet", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 16, 16])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    float_path = os.path.join(tmp, "convnet.onnx")
    onnx.save(model, float_path)
    quantize_dynamic(float_path, path, weight_type=QuantType.QInt8)
    data = [[rng.standard_normal((1, 1, 16, 16)).astype(np.float32)],
            [rng.standard_normal((5, 1, 16, 16)).astype(np.float32)]]
    return ["image"], data


FIXTURES = {"resnet_qdq": resnet_qdq, "convnet_dynamic": convnet_dynamic}


def session(path, optimized):
    options = ort.SessionOptions()
    if not optimized:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def write_fixture(name):
    build = FIXTURES[name]
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, "model.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        input_names, data_sets = build(path, tmp)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    m.doc_string = f"dlinfer fixture '{name}': " + " ".join((build.__doc__ or "").split())
    onnx.save(m, path)
    domains = {n.domain for n in m.graph.node} - {"", "ai.onnx"}
    assert not domains, f"{name}: operators outside the default domain: {domains}"
    ops = sorted({n.op_type for n in m.graph.node})
    with open(os.path.join(folder, "ops.txt"), "w") as f:
        f.write(" ".join(ops) + "\n")

    plain, optimized = session(path, False), session(path, True)
    output_names = [o.name for o in m.graph.output]
    shapes = []
    for k, inputs in enumerate(data_sets):
        feeds = dict(zip(input_names, inputs))
        got = plain.run(output_names, feeds)
        fused = optimized.run(output_names, feeds)
        for g, f in zip(got, fused):
            print(f"  set {k}: optimized onnxruntime differs by up to {np.max(np.abs(g - f)):.4g} (outputs up to "
                  f"{np.max(np.abs(g)):.4g})")
        d = os.path.join(folder, f"test_data_set_{k}")
        os.makedirs(d)
        for j, (n, t) in enumerate(zip(input_names, inputs)):
            onnx.save_tensor(numpy_helper.from_array(t, n), os.path.join(d, f"input_{j}.pb"))
        for j, (n, a) in enumerate(zip(output_names, got)):
            onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(d, f"output_{j}.pb"))
        shapes.append(", ".join(f"{n} {list(t.shape)}" for n, t in zip(input_names, inputs))
                      + " -> " + ", ".join(f"{list(a.shape)}" for a in got))

    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
    print(f"{name}: {os.path.getsize(path) / 1e6:.2f} MB model, {size / 1e6:.2f} MB in all")
    print(f"  ops: {' '.join(ops)}")
    doc = " ".join((build.__doc__ or "").split())
    return f"| `{name}` | {doc} | {' '.join(ops)} | {os.path.getsize(path) / 1e6:.2f} MB | {'; '.join(shapes)} |"


def main(argv):
    names = argv or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        sys.exit(f"unknown fixture(s) {unknown}; known: {list(FIXTURES)}")
    rows = {n: write_fixture(n) for n in names}
    # The rows go into models/README.md in place of older ones of the same fixtures (make_model_fixtures.py keeps
    # rows it does not write).
    readme = os.path.join(OUT, "README.md")
    lines = [line for line in open(readme).read().rstrip("\n").split("\n")
             if not (line.startswith("| `") and line.split("`")[1] in rows)]
    with open(readme, "w") as f:
        f.write("\n".join(lines + [rows[n] for n in names]) + "\n")
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}")


if __name__ == "__main__":
    main(sys.argv[1:])
