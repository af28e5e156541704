#!/usr/bin/env python3
"""Writes Tests/Fixtures/external_data/: a small Gemm+Relu model whose weights live in an external file
(`weights.bin`, ONNX external data with offsets), one input and onnxruntime's output, all as TensorProto files."""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "external_data")


def main() -> None:
    rng = np.random.default_rng(7)
    w = rng.standard_normal((16, 8)).astype(np.float32)
    b = rng.standard_normal((8,)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "external_data",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    os.makedirs(os.path.join(OUT, "test_data_set_0"), exist_ok=True)
    # size_threshold=0 moves both initializers out, so offsets > 0 are exercised.
    onnx.save_model(model, os.path.join(OUT, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    x = rng.standard_normal((3, 16)).astype(np.float32)
    (y,) = ort.InferenceSession(os.path.join(OUT, "model.onnx")).run(None, {"x": x})
    for name, arr in (("input_0", x), ("output_0", y)):
        with open(os.path.join(OUT, "test_data_set_0", name + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
    print("wrote", OUT)


if __name__ == "__main__":
    main()
