#!/usr/bin/env python3
"""Writes Tests/Fixtures/residual/: a small residual CNN on which FuseResidualAdd must fire where a skip connection's
Add may be moved into the Conv feeding it and must not where it may not, an input, and onnxruntime's output for it
(graph optimisations off, so the reference computes the unfused graph). BatchNormalizations fold into their Convs
first, as in exported ResNets and MobileNets.

Graph (N symbolic), from x [N, 8, 12, 12]:
  conv0 3x3 -> BN -> Relu -> a
  conv1 3x3 -> BN -> Relu -> conv2 3x3 -> BN -> Add(., a) -> Relu -> b1        (fuse, Relu after the residual)
  conv3 3x3 s2 -> BN -> Relu -> conv4 3x3 -> BN -> c4; conv5 1x1 s2 (b1) -> BN -> Add(c4, .) -> Relu -> b2
                                                                              (fuse the later Conv, conv5)
  1x1 expand -> Clip(0,6) -> dw 3x3 -> Clip(0,6) -> 1x1 project -> BN -> Add(b2, .) -> b3   (fuse, no activation)
  conv6 1x1 -> Relu -> Add(., b3) -> b4                                       (no fuse: Relu comes before the Add)
  conv7 1x1 -> Add(., k [1, 32, 1, 1]) -> b5                                  (no fuse: the Add broadcasts)
  conv8 1x1 -> c8; Add(c8, b5) -> s; Mul(c8, s) -> m                          (no fuse: c8 has two readers)
  conv9 3x3 (m) -> Add(m, .) -> y                                             (fuse into a graph output)
Run: python3 tools/make_residual_fixtures.py (needs onnx, onnxruntime, numpy)."""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "residual")
rng = np.random.default_rng(20261206)
inits, nodes = [], []


def const(name, a):
    inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32), name))
    return name


def node(op, ins, out, **attrs):
    nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
    return out


def conv(name, x, cin, cout, k, stride=1, group=1, bn=True):
    w = const(name + "_w", rng.normal(0, (2.0 / (cin // group * k * k)) ** 0.5, (cout, cin // group, k, k)))
    b = [const(name + "_b", rng.normal(0, 0.1, cout))] if not bn else []
    y = node("Conv", [x, w] + b, name, pads=[k // 2] * 4, strides=[stride, stride], group=group)
    if not bn:
        return y
    params = [const(name + "_bn" + p, v) for p, v in (("s", rng.uniform(0.5, 1.5, cout)), ("b", rng.normal(0, 0.3, cout)),
                                                        ("m", rng.normal(0, 0.3, cout)), ("v", rng.uniform(0.3, 2, cout)))]
    return node("BatchNormalization", [y] + params, name + "_bn", epsilon=1e-5)


def clip6(x):
    return node("Clip", [x, const(x + "_lo", 0.0), const(x + "_hi", 6.0)], x + "_clip")


a = node("Relu", [conv("conv0", "x", 8, 16, 3)], "a")
t = node("Relu", [conv("conv1", a, 16, 16, 3)], "t1")
b1 = node("Relu", [node("Add", [conv("conv2", t, 16, 16, 3), a], "add1")], "b1")
t = node("Relu", [conv("conv3", b1, 16, 32, 3, stride=2)], "t3")
c4 = conv("conv4", t, 32, 32, 3)
b2 = node("Relu", [node("Add", [c4, conv("conv5", b1, 16, 32, 1, stride=2)], "add2")], "b2")
t = clip6(conv("expand", b2, 32, 64, 1))
t = clip6(conv("dw", t, 64, 64, 3, group=64))
b3 = node("Add", [b2, conv("project", t, 64, 32, 1)], "b3")
b4 = node("Add", [node("Relu", [conv("conv6", b3, 32, 32, 1, bn=False)], "r6"), b3], "b4")
b5 = node("Add", [conv("conv7", b4, 32, 32, 1, bn=False), const("k", rng.normal(0, 0.5, (1, 32, 1, 1)))], "b5")
c8 = conv("conv8", b5, 32, 32, 1, bn=False)
m = node("Mul", [c8, node("Add", [c8, b5], "s")], "m")
node("Add", [m, conv("conv9", m, 32, 32, 3, bn=False)], "y")

graph = helper.make_graph(nodes, "residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 12, 12])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 32, 6, 6])], initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)

x = rng.normal(0, 1, (2, 8, 12, 12)).astype(np.float32)
opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
(y,) = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, {"x": x})

os.makedirs(OUT, exist_ok=True)
onnx.save(model, os.path.join(OUT, "model.onnx"))
with open(os.path.join(OUT, "input_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(x, "x").SerializeToString())
with open(os.path.join(OUT, "output_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(y, "y").SerializeToString())
print("wrote", OUT, "|y| max", float(np.abs(y).max()), "mean", float(np.abs(y).mean()))
