#!/usr/bin/env python3
"""Writes the C test's fixtures into the folder given as argv[1]: small ONNX models built with onnx.helper (only
elementwise ops, which dlinfer runs today), inputs, and onnxruntime's outputs as raw little-endian float32 files.

    addmul.onnx        x[batch,3], y[batch,3] -> z = Sigmoid(x * w + y), r = Relu(x)   (w a constant [3]);
                       producer 'dlinfer-test', metadata author=tests
    unsupported.onnx   Einsum, an ONNX op dlinfer does not implement
    truncated.onnx     the first half of addmul.onnx
    garbage.onnx       random bytes
    b{N}.{x,y,z,r}.bin inputs and reference outputs for batch N in 1, 2, 5
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def addmul_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 3])
    r = helper.make_tensor_value_info("r", TensorProto.FLOAT, ["batch", 3])
    w = helper.make_tensor("w", TensorProto.FLOAT, [3], [0.5, -1.0, 2.0])
    nodes = [
        helper.make_node("Mul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "y"], ["s"]),
        helper.make_node("Sigmoid", ["s"], ["z"]),
        helper.make_node("Relu", ["x"], ["r"]),
    ]
    graph = helper.make_graph(nodes, "addmul", [x, y], [z, r], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8,
                              producer_name="dlinfer-test")
    helper.set_model_props(model, {"author": "tests"})
    return model


def unsupported_model():
    """ImageDecoder: an op of the default domain dlinfer does not run (image file decoding is out of its scope)."""
    a = helper.make_tensor_value_info("a", TensorProto.UINT8, [64])
    c = helper.make_tensor_value_info("c", TensorProto.UINT8, [None, None, 3])
    node = helper.make_node("ImageDecoder", ["a"], ["c"])
    graph = helper.make_graph([node], "unsupported", [a], [c])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=9)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model = addmul_model()
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    with open(os.path.join(out, "addmul.onnx"), "wb") as f:
        f.write(data)
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(out, "garbage.onnx"), "wb") as f:
        f.write(np.random.default_rng(7).integers(0, 256, 512, dtype=np.uint8).tobytes())
    bad = unsupported_model()
    onnx.checker.check_model(bad)
    onnx.save(bad, os.path.join(out, "unsupported.onnx"))

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for n in (1, 2, 5):
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y = rng.standard_normal((n, 3)).astype(np.float32)
        z, r = sess.run(["z", "r"], {"x": x, "y": y})
        for name, a in (("x", x), ("y", y), ("z", z), ("r", r)):
            np.ascontiguousarray(a, dtype="<f4").tofile(os.path.join(out, f"b{n}.{name}.bin"))


if __name__ == "__main__":
    main()
