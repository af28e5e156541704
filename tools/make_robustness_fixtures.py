#!/usr/bin/env python3
"""Writes the malformed models under Tests/Fixtures/robustness/, each of which once crashed dlinfer (found by
tools/fuzz_models.py) and must now be refused with an error. RobustnessTests.swift loads and runs them."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests/Fixtures/robustness")
F = TensorProto.FLOAT


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    m = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, list(inits)),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def main():
    os.makedirs(OUT, exist_ok=True)
    relu = helper.make_node("Relu", ["x"], ["y"])
    # The same graph output twice: the named-output dictionary trapped on the duplicate key after the run.
    save("duplicate_graph_output", [relu], [vi("x", [2])], [vi("y", None), vi("y", None)])
    # A node declaring more outputs than its op has: the run indexed past the inferred output types (segfault).
    save("extra_node_output", [helper.make_node("Relu", ["x"], ["y", "extra"])], [vi("x", [2])], [vi("y", None)])
    # Two nodes defining the same value: the second silently rewired the first one's readers.
    save("value_defined_twice", [relu, helper.make_node("Sigmoid", ["x"], ["y"])], [vi("x", [2])], [vi("y", None)])
    # Dims that claim far more data than the tensor holds: a terabyte was allocated before the size was checked.
    raw = numpy_helper.from_array(np.zeros([4], np.uint8), "w")
    del raw.dims[:]
    raw.dims.extend([1 << 40])
    save("huge_initializer_raw", [helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1], TensorProto.UINT8)],
         [vi("y", None, TensorProto.UINT8)], [raw])
    typed = helper.make_tensor("w", F, [2], [1.0, 2.0])
    del typed.dims[:]
    typed.dims.extend([1 << 38])
    save("huge_initializer_typed", [helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1])], [vi("y", None)], [typed])


if __name__ == "__main__":
    main()
