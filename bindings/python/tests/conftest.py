"""Small models built with onnx.helper for the binding tests; onnxruntime is the reference."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper


def make_model(nodes, inputs, outputs, initializers=(), opset=13):
    graph = helper.make_graph(nodes, "test", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def tensor(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def reference(model, feed, output_names=None):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(output_names, feed)


@pytest.fixture
def save(tmp_path):
    """Writes a model to a temporary file and returns its path."""
    def _save(model, name="model.onnx"):
        path = tmp_path / name
        onnx.save(model, str(path))
        return str(path)
    return _save


@pytest.fixture
def activations_model():
    """x[batch, seq, 4] -> y = Tanh(Sigmoid(x) * w + b), z = Relu(x - 0.5): batch and seq are symbolic."""
    f = TensorProto.FLOAT
    w = helper.make_tensor("w", f, [4], [0.5, -1.5, 2.0, 0.25])
    b = helper.make_tensor("b", f, [4], [0.1, 0.2, -0.3, 0.0])
    half = helper.make_tensor("half", f, [], [0.5])
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"]),
        helper.make_node("Mul", ["s", "w"], ["sw"]),
        helper.make_node("Add", ["sw", "b"], ["a"]),
        helper.make_node("Tanh", ["a"], ["y"]),
        helper.make_node("Sub", ["x", "half"], ["d"]),
        helper.make_node("Relu", ["d"], ["z"]),
    ]
    return make_model(nodes, [tensor("x", f, ["batch", "seq", 4])],
                      [tensor("y", f, ["batch", "seq", 4]), tensor("z", f, ["batch", "seq", 4])], [w, b, half])


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
