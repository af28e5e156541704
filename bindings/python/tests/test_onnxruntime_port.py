"""Code written for onnxruntime runs unchanged against dlinfer apart from the import: the same script (below) runs
once with `import onnxruntime as ort` and once with `import dlinfer as ort`, on a BERT fixture and a small model
with metadata, and what it reports must agree."""
import os

import numpy as np
import onnx

from conftest import make_model, tensor

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
BERT = os.path.join(REPO, "Tests", "Fixtures", "models", "bert_tiny", "model.onnx")

# Written for onnxruntime; `IMPORT` is replaced by the import line.
SCRIPT = '''
IMPORT
import numpy as np

def report(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
    inputs = [(i.name, i.shape, i.type) for i in sess.get_inputs()]
    outputs = [(o.name, o.type) for o in sess.get_outputs()]
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 3 for d in i.shape]
        if i.type == "tensor(int64)":
            feeds[i.name] = rng.integers(0, 2, shape).astype(np.int64)
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    results = sess.run(None, feeds)
    first = sess.run([outputs[0][0]], feeds, ort.RunOptions())[0]
    meta = sess.get_modelmeta()

    # IOBinding: inputs bound as arrays and as raw buffers, one output allocated per run, one written into an OrtValue.
    io = sess.io_binding()
    for name, value in feeds.items():
        io.bind_cpu_input(name, value)
    io.bind_output(outputs[0][0])
    sess.run_with_iobinding(io)
    bound = io.copy_outputs_to_cpu()[0]
    target = ort.OrtValue.ortvalue_from_shape_and_type(bound.shape, bound.dtype, "cpu", 0)
    io2 = sess.io_binding()
    for name, value in feeds.items():
        v = ort.OrtValue.ortvalue_from_numpy(value, "cpu", 0)
        io2.bind_input(name, v.device_name(), 0, value.dtype, v.shape(), v.data_ptr())
    io2.bind_ortvalue_output(outputs[0][0], target)
    sess.run_with_iobinding(io2, ort.RunOptions())
    got = io2.get_outputs()[0]
    written = (target.numpy().copy(), got.numpy().copy(), got.shape(), got.data_type(), got.element_type(),
               got.device_name(), got.data_ptr() == target.data_ptr())
    return {"inputs": inputs, "outputs": outputs, "results": results, "first": first, "bound": bound,
            "written": written,
            "meta": (meta.producer_name, meta.graph_name, meta.version, meta.custom_metadata_map),
            "providers": sess.get_providers()}
'''


def run_script(import_line, path):
    scope = {}
    exec(SCRIPT.replace("IMPORT", import_line), scope)
    return scope["report"](path)


def check_same(path):
    ours, theirs = run_script("import dlinfer as ort", path), run_script("import onnxruntime as ort", path)
    for key in ("inputs", "outputs", "meta", "providers"):
        assert ours[key] == theirs[key], key
    assert ours["written"][2:] == theirs["written"][2:]
    for a, b in [(ours["bound"], theirs["bound"]), (ours["written"][0], theirs["written"][0]),
                 (ours["written"][1], theirs["written"][1])]:
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    assert len(ours["results"]) == len(theirs["results"])
    for a, b in zip(ours["results"] + [ours["first"]], theirs["results"] + [theirs["first"]]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    return ours


def test_bert_script_runs_unchanged():
    ours = check_same(BERT)
    assert ours["inputs"][0][1] == ["batch", "seq"]


def test_metadata_script_runs_unchanged(save, activations_model):
    activations_model.producer_name = "port-test"
    activations_model.model_version = 7
    onnx.helper.set_model_props(activations_model, {"labels": "a,b,c", "author": "tests"})
    ours = check_same(save(activations_model))
    assert ours["meta"] == ("port-test", "test", 7, {"labels": "a,b,c", "author": "tests"})
