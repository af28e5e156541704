#!/usr/bin/env python3
"""Writes Tests/Fixtures/passes/: a small CNN on which FoldBatchNormIntoConv and FuseActivations must fire, an input,
and onnxruntime's output for it (graph optimisations off, so the reference computes the unfused graph).

Graph (N symbolic):
  conv1 3x3 pad 1 + bias -> BN -> Relu                  (fold + fuse)
  conv2 depthwise 3x3 stride 2, no bias -> BN -> Clip(0,6)  (fold + fuse Clip with constant bounds)
  conv3 1x1 + bias -> BN -> t; LeakyRelu(t) + t          (fold; no fuse: t has two readers)
  MaxPool 2x2 -> conv4 3x3 pad 1 -> Relu -> GlobalAveragePool -> Flatten -> f   (fuse)
  f -> Gemm -> Relu -> Gemm -> y                          (fuse into the first Gemm)
  f -> MatMul -> Sigmoid -> z                             (fuse into MatMul)
Run: python3 tools/make_pass_fixtures.py (needs onnx, onnxruntime, numpy)."""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "passes")
rng = np.random.default_rng(20240611)
inits = []


def const(name, a):
    inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32), name))
    return name


def bn(prefix, c, x, y):
    const(prefix + "_s", rng.uniform(0.5, 1.5, c))
    const(prefix + "_b", rng.normal(0, 0.5, c))
    const(prefix + "_m", rng.normal(0, 0.5, c))
    const(prefix + "_v", rng.uniform(0.2, 2.0, c))
    return helper.make_node("BatchNormalization", [x, prefix + "_s", prefix + "_b", prefix + "_m", prefix + "_v"], [y],
                            epsilon=1e-3, name=prefix)


nodes = [
    helper.make_node("Conv", ["x", const("w1", rng.normal(0, 0.3, (8, 3, 3, 3))), const("b1", rng.normal(0, 0.1, 8))],
                     ["c1"], pads=[1, 1, 1, 1], name="conv1"),
    bn("bn1", 8, "c1", "n1"),
    helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
    helper.make_node("Conv", ["r1", const("w2", rng.normal(0, 0.3, (8, 1, 3, 3)))], ["c2"], group=8, strides=[2, 2],
                     pads=[1, 1, 1, 1], name="conv2"),
    bn("bn2", 8, "c2", "n2"),
    helper.make_node("Clip", ["n2", const("lo", 0.0), const("hi", 6.0)], ["r2"], name="clip2"),
    helper.make_node("Conv", ["r2", const("w3", rng.normal(0, 0.3, (16, 8, 1, 1))), const("b3", rng.normal(0, 0.1, 16))],
                     ["c3"], name="conv3"),
    bn("bn3", 16, "c3", "t"),
    helper.make_node("LeakyRelu", ["t"], ["u"], alpha=0.1, name="leaky3"),
    helper.make_node("Add", ["u", "t"], ["a3"], name="add3"),
    helper.make_node("MaxPool", ["a3"], ["p3"], kernel_shape=[2, 2], strides=[2, 2], name="pool3"),
    helper.make_node("Conv", ["p3", const("w4", rng.normal(0, 0.3, (4, 16, 3, 3))), const("b4", rng.normal(0, 0.1, 4))],
                     ["c4"], pads=[1, 1, 1, 1], name="conv4"),
    helper.make_node("Relu", ["c4"], ["r4"], name="relu4"),
    helper.make_node("GlobalAveragePool", ["r4"], ["g4"], name="gap"),
    helper.make_node("Flatten", ["g4"], ["f"], name="flatten"),
    helper.make_node("Gemm", ["f", const("g1w", rng.normal(0, 0.5, (6, 4))), const("g1b", rng.normal(0, 0.1, 6))],
                     ["h1"], transB=1, name="gemm1"),
    helper.make_node("Relu", ["h1"], ["h1r"], name="relu5"),
    helper.make_node("Gemm", ["h1r", const("g2w", rng.normal(0, 0.5, (6, 3))), const("g2b", rng.normal(0, 0.1, 3))],
                     ["y"], name="gemm2"),
    helper.make_node("MatMul", ["f", const("mw", rng.normal(0, 0.5, (4, 5)))], ["mm"], name="matmul"),
    helper.make_node("Sigmoid", ["mm"], ["z"], name="sigmoid"),
]
graph = helper.make_graph(nodes, "passes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 5])], initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)

x = rng.normal(0, 1, (2, 3, 16, 16)).astype(np.float32)
opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
y, z = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, {"x": x})

os.makedirs(OUT, exist_ok=True)
onnx.save(model, os.path.join(OUT, "model.onnx"))
with open(os.path.join(OUT, "input_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(x, "x").SerializeToString())
for k, (name, v) in enumerate((("y", y), ("z", z))):
    with open(os.path.join(OUT, f"output_{k}.pb"), "wb") as f:
        f.write(numpy_helper.from_array(v, name).SerializeToString())
print("wrote", OUT, "y[0] =", y[0], "z[0] =", z[0])
