"""dlinfer's Python package against onnxruntime on small models built here."""
import numpy as np
import pytest
from onnx import TensorProto, helper

import dlinfer
from conftest import make_model, reference, tensor


def test_matches_onnxruntime(save, activations_model, rng):
    s = dlinfer.InferenceSession(save(activations_model))  # DLINFER_DEVICE: the suite runs on cpu and opencl
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    got = s.run(None, {"x": x})
    want = reference(activations_model, {"x": x})
    assert len(got) == 2
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_dynamic_batch_and_sequence_through_one_session(save, activations_model, rng):
    s = dlinfer.InferenceSession(save(activations_model))
    for shape in [(1, 1, 4), (3, 7, 4), (2, 5, 4), (1, 1, 4), (8, 33, 4), (0, 3, 4)]:
        x = rng.standard_normal(shape).astype(np.float32)
        y, z = s.run(["y", "z"], {"x": x})
        ry, rz = reference(activations_model, {"x": x})
        assert y.shape == shape and z.shape == shape
        np.testing.assert_allclose(y, ry, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(z, rz, rtol=1e-6, atol=1e-6)


def test_output_names_select_and_order(save, activations_model, rng):
    s = dlinfer.InferenceSession(save(activations_model))
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    z_only = s.run(["z"], {"x": x})
    assert len(z_only) == 1
    np.testing.assert_allclose(z_only[0], reference(activations_model, {"x": x}, ["z"])[0], rtol=1e-6)
    z, y = s.run(["z", "y"], {"x": x})
    np.testing.assert_allclose(y, reference(activations_model, {"x": x}, ["y"])[0], rtol=1e-6, atol=1e-6)


def test_io_metadata(save, activations_model):
    s = dlinfer.InferenceSession(save(activations_model))
    (x,) = s.get_inputs()
    assert x.name == "x" and x.shape == ["batch", "seq", 4] and x.type == "tensor(float)" and x.dtype == np.float32
    assert [o.name for o in s.get_outputs()] == ["y", "z"]
    assert all(o.shape == ["batch", "seq", 4] for o in s.get_outputs())


@pytest.mark.parametrize("layout", ["transposed", "strided", "fortran", "big_endian", "list"])
def test_non_contiguous_inputs(save, rng, layout):
    f = TensorProto.FLOAT
    model = make_model([helper.make_node("Mul", ["a", "b"], ["c"])],
                       [tensor("a", f, [3, 4]), tensor("b", f, [3, 4])], [tensor("c", f, [3, 4])])
    s = dlinfer.InferenceSession(save(model))
    base = rng.standard_normal((8, 9)).astype(np.float32)
    a = {
        "transposed": base[:4, :3].T,
        "strided": base[::2, ::2][:3, :4],
        "fortran": np.asfortranarray(base[:3, :4]),
        "big_endian": base[:3, :4].astype(">f4"),
        "list": base[:3, :4].tolist(),
    }[layout]
    b = rng.standard_normal((3, 4)).astype(np.float32)
    (c,) = s.run(None, {"a": a, "b": b})
    np.testing.assert_allclose(c, np.asarray(a, dtype=np.float32) * b, rtol=1e-6)
    np.testing.assert_allclose(c, reference(model, {"a": np.ascontiguousarray(a, dtype=np.float32), "b": b})[0], rtol=1e-6)


@pytest.mark.parametrize("np_type,onnx_type", [(np.int64, TensorProto.INT64), (np.int32, TensorProto.INT32),
                                               (np.float64, TensorProto.DOUBLE)])
def test_other_dtypes(save, rng, np_type, onnx_type):
    model = make_model([helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Mul", ["s", "a"], ["c"])],
                       [tensor("a", onnx_type, ["n"]), tensor("b", onnx_type, [1])], [tensor("c", onnx_type, ["n"])])
    s = dlinfer.InferenceSession(save(model))
    assert s.get_inputs()[0].dtype == np_type
    a = (rng.standard_normal(7) * 100).astype(np_type)
    b = np.array([3], dtype=np_type)
    (c,) = s.run(None, {"a": a, "b": b})
    (want,) = reference(model, {"a": a, "b": b})
    assert c.dtype == want.dtype
    np.testing.assert_allclose(c, want, rtol=1e-12)


def test_four_bit_types_through_ml_dtypes(save, rng):
    # int4 in and uint4 / float4e2m1 out, one element per byte as ml_dtypes holds them; numpy is the reference.
    ml_dtypes = pytest.importorskip("ml_dtypes")
    f = TensorProto.FLOAT
    scale = helper.make_tensor("scale", f, [], [0.25])
    zero = helper.make_tensor("zero", TensorProto.INT4, [], [3])
    qscale = helper.make_tensor("qscale", f, [], [0.5])
    qzero = helper.make_tensor("qzero", TensorProto.UINT4, [], [4])
    model = make_model([helper.make_node("DequantizeLinear", ["x", "scale", "zero"], ["y"]),
                        helper.make_node("QuantizeLinear", ["v", "qscale", "qzero"], ["q"]),
                        helper.make_node("Cast", ["v"], ["c"], to=TensorProto.FLOAT4E2M1)],
                       [tensor("x", TensorProto.INT4, [9]), tensor("v", f, [11])],
                       [tensor("y", f, [9]), tensor("q", TensorProto.UINT4, [11]),
                        tensor("c", TensorProto.FLOAT4E2M1, [11])], [scale, zero, qscale, qzero], opset=23)
    s = dlinfer.InferenceSession(save(model))
    assert s.get_inputs()[0].dtype == np.dtype(ml_dtypes.int4)
    x = rng.integers(-8, 8, 9).astype(ml_dtypes.int4)
    v = (rng.standard_normal(11) * 5).astype(np.float32)
    y, q, c = s.run(None, {"x": x, "v": v})
    np.testing.assert_array_equal(y, (x.astype(np.float32) - 3) * np.float32(0.25))
    assert q.dtype == np.dtype(ml_dtypes.uint4) and c.dtype == np.dtype(ml_dtypes.float4_e2m1fn)
    np.testing.assert_array_equal(q.astype(np.int32), np.clip(np.rint(v / np.float32(0.5)) + 4, 0, 15))
    np.testing.assert_array_equal(c.view(np.uint8), v.astype(ml_dtypes.float4_e2m1fn).view(np.uint8))


@pytest.mark.parametrize("onnx_type,lo,hi", [(TensorProto.INT4, -8, 8), (TensorProto.UINT4, 0, 16)])
def test_blocked_four_bit_weights_match_onnxruntime(save, rng, onnx_type, lo, hi):
    # Weight-only quantization: packed 4-bit weights (an odd row length, so rows share bytes), blocks of 16 along K,
    # then MatMul. onnxruntime without graph optimisations (which fuse this into an approximate kernel) is the reference.
    import onnxruntime as ort
    from onnx import numpy_helper
    w = helper.make_tensor("w", onnx_type, [64, 33], rng.integers(lo, hi, (64, 33)).ravel().tolist())
    z = helper.make_tensor("z", onnx_type, [4, 33], rng.integers(lo, hi, (4, 33)).ravel().tolist())
    scale = numpy_helper.from_array(rng.uniform(0.01, 0.1, (4, 33)).astype(np.float32), "s")
    model = make_model([helper.make_node("DequantizeLinear", ["w", "s", "z"], ["wf"], axis=0, block_size=16),
                        helper.make_node("MatMul", ["x", "wf"], ["y"])],
                       [tensor("x", TensorProto.FLOAT, [2, 64])], [tensor("y", TensorProto.FLOAT, [2, 33])],
                       [w, scale, z], opset=21)
    x = rng.standard_normal((2, 64)).astype(np.float32)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    (want,) = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    (y,) = dlinfer.InferenceSession(save(model)).run(None, {"x": x})
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_outputs_do_not_alias_inputs(save):
    # A graph input fed straight to an output: the output must be a copy, not a view of the caller's array.
    f = TensorProto.FLOAT
    model = make_model([helper.make_node("Identity", ["x"], ["y"])], [tensor("x", f, [3])], [tensor("y", f, [3])])
    s = dlinfer.InferenceSession(save(model))
    x = np.array([1, 2, 3], dtype=np.float32)
    (y,) = s.run(None, {"x": x})
    x[:] = 0
    np.testing.assert_array_equal(y, [1, 2, 3])


def test_load_from_bytes(activations_model, rng):
    s = dlinfer.InferenceSession(activations_model.SerializeToString())
    x = rng.standard_normal((1, 2, 4)).astype(np.float32)
    np.testing.assert_allclose(s.run(["z"], {"x": x})[0], reference(activations_model, {"x": x}, ["z"])[0])


def test_device_queries(save, activations_model):
    s = dlinfer.InferenceSession(save(activations_model), device="cpu")
    assert s.device == "cpu"
    assert s.cpu_node_count == 6
    assert dlinfer.get_device(device="cpu") == "cpu"
    devices = dlinfer.devices()
    assert devices[0].index == 0 and devices[0].kind == "cpu"
    assert all(d.kind == "opencl" for d in devices[1:])
    assert dlinfer.library_version() == dlinfer.__version__


def expect_error(status, fn, *args, **kwargs):
    with pytest.raises(dlinfer.Error) as info:
        fn(*args, **kwargs)
    assert info.value.status == status, str(info.value)
    assert info.value.message
    return info.value


def test_load_errors(tmp_path, save):
    expect_error(2, dlinfer.InferenceSession, str(tmp_path / "missing.onnx"))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    expect_error(4, dlinfer.InferenceSession, str(garbage))
    expect_error(4, dlinfer.InferenceSession, b"")
    u8 = TensorProto.UINT8
    decoder = make_model([helper.make_node("ImageDecoder", ["a"], ["b"])],
                         [tensor("a", u8, [64])], [tensor("b", u8, [None, None, 3])], opset=20)
    e = expect_error(5, dlinfer.InferenceSession, save(decoder))
    assert "ImageDecoder" in e.message
    assert e.status_name == "DLINFER_ERR_UNSUPPORTED_OP"


def test_run_errors(save, activations_model):
    s = dlinfer.InferenceSession(save(activations_model))
    good = np.zeros((1, 2, 4), np.float32)
    expect_error(2, s.run, None, {"x": good, "nope": good})
    expect_error(1, s.run, None, {})
    expect_error(2, s.run, ["nope"], {"x": good})
    expect_error(1, s.run, None, {"x": good.astype(np.float64)})
    expect_error(6, s.run, None, {"x": np.zeros((2, 4), np.float32)})
    expect_error(6, s.run, None, {"x": np.zeros((1, 2, 5), np.float32)})
    expect_error(1, s.run, None, {"x": np.zeros((1, 2, 4), np.complex64)})
    # The session still works after every failure.
    assert s.run(["z"], {"x": good})[0].shape == (1, 2, 4)


def test_device_selection(save, activations_model, monkeypatch):
    path = save(activations_model)
    expect_error(1, dlinfer.InferenceSession, path, device="tpu")
    expect_error(1, dlinfer.InferenceSession, path, fallback="sometimes")
    e = expect_error(7, dlinfer.InferenceSession, path, device="opencl:no-such-device")
    assert "fallback" in e.message and "no-such-device" in e.message
    assert dlinfer.InferenceSession(path, device="opencl:no-such-device", fallback="cpu").device == "cpu"
    expect_error(7, dlinfer.InferenceSession, path, device="opencl:99")
    # DLINFER_DEVICE applies when no device is given, and an explicit device overrides it.
    monkeypatch.setenv("DLINFER_DEVICE", "opencl:no-such-device")
    expect_error(7, dlinfer.InferenceSession, path)
    expect_error(7, dlinfer.get_device)
    assert dlinfer.InferenceSession(path, device="cpu").device == "cpu"
    assert dlinfer.get_device(device="cpu") == "cpu"


def test_opencl_session(save, activations_model, rng):
    """Every OpenCL device runs the model with all its nodes on the device and matches onnxruntime."""
    gpus = [d for d in dlinfer.devices() if d.kind == "opencl"]
    if not gpus:
        pytest.skip("no OpenCL device")
    s = dlinfer.InferenceSession(save(activations_model), device="opencl")
    assert s.device.startswith("opencl:0") and s.cpu_node_count == 0
    assert dlinfer.get_device(device="opencl") == s.device
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    for g, w in zip(s.run(None, {"x": x}), reference(activations_model, {"x": x})):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    name = gpus[0].name.split()[0].lower()
    assert dlinfer.InferenceSession(save(activations_model), device=f"opencl:{name}").device.startswith("opencl:")


def test_precision_fp16(save, activations_model, rng):
    """precision=fp16 (a dlinfer config entry) stores float32 as half on OpenCL: results within half's precision of
    onnxruntime's; on the CPU it is refused, or runs in fp32 with fallback=cpu; bad values are refused."""
    path = save(activations_model)
    so = dlinfer.SessionOptions()
    so.add_session_config_entry("dlinfer.precision", "fp16")
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # onnxruntime's: kept, ignored
    assert so.get_session_config_entry("dlinfer.precision") == "fp16"
    with pytest.raises(dlinfer.Error, match="precision=fp16 needs an OpenCL device"):
        dlinfer.InferenceSession(path, so, device="cpu")
    assert dlinfer.InferenceSession(path, so, device="cpu", fallback="cpu").device == "cpu"
    bad = dlinfer.SessionOptions()
    bad.add_session_config_entry("dlinfer.precision", "fp8")
    with pytest.raises(dlinfer.Error, match="fp32' or 'fp16"):
        dlinfer.InferenceSession(path, bad)
    if not [d for d in dlinfer.devices() if d.kind == "opencl"]:
        pytest.skip("no OpenCL device")
    s = dlinfer.InferenceSession(path, so, device="opencl")
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    for g, w in zip(s.run(None, {"x": x}), reference(activations_model, {"x": x})):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=4e-3, atol=4e-3 * max(1.0, float(np.abs(w).max())))


def test_without_opencl_library(save, activations_model, tmp_path):
    """With no loadable libOpenCL.so.1 the library still loads, runs on the CPU, and says why OpenCL is unavailable."""
    import os
    import subprocess
    import sys
    script = f"""
import numpy as np, dlinfer
assert [d.kind for d in dlinfer.devices()] == ["cpu"]
s = dlinfer.InferenceSession({save(activations_model)!r})
assert s.device == "cpu"
print(s.run(None, {{"x": np.ones((1, 2, 4), np.float32)}})[0].shape)
try:
    dlinfer.InferenceSession({save(activations_model)!r}, device="opencl")
except dlinfer.Error as e:
    print(e.status, e.message)
"""
    env = dict(os.environ, DLINFER_OPENCL_LIBRARY=str(tmp_path / "libOpenCL.so.1"), DLINFER_DEVICE="auto")
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "(1, 2, 4)"
    assert lines[1].startswith("7 ") and "cannot load" in lines[1] and "libOpenCL.so.1" in lines[1], lines[1]


def test_cpu_session_loads_no_opencl_driver(save, activations_model):
    """device="cpu" never looks for OpenCL: a driver (PoCL maps LLVM, tens of MB) stays out of the process."""
    import os
    import subprocess
    import sys
    script = f"""
import numpy as np, dlinfer
s = dlinfer.InferenceSession({save(activations_model)!r}, device="cpu")
s.run(None, {{"x": np.ones((1, 2, 4), np.float32)}})
assert s.device == "cpu"
maps = open("/proc/self/maps").read()
print("libOpenCL" in maps)
"""
    r = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_huge_broadcast_view_is_a_dlinfer_error(save, activations_model):
    """A stride-0 view is tiny in memory but must be copied whole: refused with dlinfer's status, not MemoryError."""
    s = dlinfer.InferenceSession(save(activations_model))
    view = np.broadcast_to(np.zeros((1, 1, 4), np.float32), (1 << 22, 1 << 20, 4))
    e = expect_error(9, s.run, None, {"x": view})
    assert "view" in e.message


def test_providers_map_to_devices(save, activations_model):
    path = save(activations_model)
    cpu = dlinfer.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert cpu.device == "cpu" and cpu.get_providers() == ["CPUExecutionProvider"]
    # A GPU provider means the OpenCL device; with the CPU provider after it, the CPU when there is none.
    gpu = dlinfer.InferenceSession(path, providers=[("CUDAExecutionProvider", {}), "CPUExecutionProvider"])
    has_opencl = "OpenCLExecutionProvider" in dlinfer.get_available_providers()
    assert gpu.device.startswith("opencl") == has_opencl
    assert gpu.get_providers() == (["OpenCLExecutionProvider"] if has_opencl else []) + ["CPUExecutionProvider"]
    for bad, text in ((["NoSuchExecutionProvider"], "unknown provider"), ([], "empty")):
        with pytest.raises(dlinfer.Error, match=text):
            dlinfer.InferenceSession(path, providers=bad)
    with pytest.raises(dlinfer.Error, match="not both"):
        dlinfer.InferenceSession(path, providers=["CPUExecutionProvider"], device="cpu")


def test_session_options(save, activations_model, rng):
    path = save(activations_model)
    so = dlinfer.SessionOptions()
    so.intra_op_num_threads = 1
    so.plan_cache_size = 2
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    got = dlinfer.InferenceSession(path, so).run(None, {"x": x})
    for g, w in zip(got, reference(activations_model, {"x": x})):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    for attr, value, text in (("intra_op_num_threads", -1, "threads"), ("plan_cache_size", 0, "plan_cache"),
                              ("graph_optimization_level", dlinfer.GraphOptimizationLevel.ORT_DISABLE_ALL, "ORT_DISABLE_ALL")):
        bad = dlinfer.SessionOptions()
        setattr(bad, attr, value)
        with pytest.raises(dlinfer.Error, match=text):
            dlinfer.InferenceSession(path, bad)


def test_run_options_terminate(save):
    # Thirty 512x512 products: long enough to be stopped part-way from another thread.
    import threading
    w = helper.make_tensor("w", TensorProto.FLOAT, [512, 512], np.full(512 * 512, 1e-3, np.float32).tolist())
    nodes = [helper.make_node("MatMul", ["x" if i == 0 else f"h{i}", "w"], [f"h{i + 1}" if i < 29 else "y"]) for i in range(30)]
    model = make_model(nodes, [tensor("x", TensorProto.FLOAT, [512, 512])], [tensor("y", TensorProto.FLOAT, [512, 512])], [w])
    s = dlinfer.InferenceSession(save(model))
    x = np.ones((512, 512), np.float32)
    options = dlinfer.RunOptions()
    options.terminate = True
    with pytest.raises(dlinfer.Error) as e:
        s.run(None, {"x": x}, options)
    assert e.value.status_name == "DLINFER_ERR_CANCELLED"
    options.terminate = False
    assert s.run(None, {"x": x}, options)[0].shape == (512, 512)
    stopper = threading.Timer(0.005, lambda: setattr(options, "terminate", True))
    stopper.start()
    with pytest.raises(dlinfer.Error) as e:
        for _ in range(100):  # one run may finish before the timer fires; a later one is stopped
            s.run(None, {"x": x}, options)
    stopper.join()
    assert e.value.status_name == "DLINFER_ERR_CANCELLED"


def test_outputs_into_caller_arrays(save, activations_model, rng):
    s = dlinfer.InferenceSession(save(activations_model))
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    y = np.full((2, 5, 4), np.nan, np.float32)
    got = s.run(["y", "z"], {"x": x}, out={"y": y})
    assert got[0] is y
    for g, w in zip(got, reference(activations_model, {"x": x}, ["y", "z"])):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    for bad in (np.zeros((2, 5, 3), np.float32), np.zeros((2, 5, 4), np.float64), np.zeros((4, 5, 2), np.float32).T):
        with pytest.raises(dlinfer.Error, match="out\\['y'\\] must be"):
            s.run(None, {"x": x}, out={"y": bad})
    with pytest.raises(dlinfer.Error, match="not an output"):
        s.run(None, {"x": x}, out={"nope": y})


def test_repeated_runs_through_input_buffers(save, rng):
    # Small inputs are copied into session-owned buffers kept between runs, large ones bound in place: every run must
    # see its own inputs whatever the layout, and earlier results must stay as they were. Outputs are copied out of
    # the session's memory through views that a new shape (a new place) must replace.
    f = TensorProto.FLOAT
    model = make_model([helper.make_node("Mul", ["a", "b"], ["c"]), helper.make_node("Identity", ["a"], ["d"])],
                       [tensor("a", f, ["n", 4]), tensor("b", f, [1, 4])], [tensor("c", f, ["n", 4]),
                                                                            tensor("d", f, ["n", 4])])
    s = dlinfer.InferenceSession(save(model))
    b = rng.standard_normal((1, 4)).astype(np.float32)
    base = rng.standard_normal((4096, 8)).astype(np.float32)
    read_only = rng.standard_normal((3, 4)).astype(np.float32)
    read_only.flags.writeable = False
    feeds = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32),
             base[:6:2, ::2], read_only, base[:, :4].copy(), rng.standard_normal((3, 4)).astype(np.float32),
             np.zeros((0, 4), np.float32), base[:2, :4].astype(">f4")]
    kept = []
    for a in feeds:
        c, d = s.run(None, {"a": a, "b": b})
        want_c, want_d = reference(model, {"a": np.ascontiguousarray(a, dtype=np.float32), "b": b})
        np.testing.assert_array_equal(c, want_c)
        np.testing.assert_array_equal(d, want_d)
        kept.append((c, d, want_c, want_d))
    for c, d, want_c, want_d in kept:
        np.testing.assert_array_equal(c, want_c)
        np.testing.assert_array_equal(d, want_d)


def test_outputs_of_one_size_in_other_shapes(save, rng):
    # Outputs of the same byte count land in the buffers earlier runs used; the copy out must take each run's own
    # shape, not the one an earlier run left at that place.
    f = TensorProto.FLOAT
    model = make_model([helper.make_node("Relu", ["a"], ["y"])], [tensor("a", f, ["n", "m"])],
                       [tensor("y", f, ["n", "m"])])
    s = dlinfer.InferenceSession(save(model))
    for shape in [(3, 4), (4, 3), (2, 6), (6, 2), (12, 1), (3, 4), (1, 12), (4, 3)]:
        a = rng.standard_normal(shape).astype(np.float32)
        (y,) = s.run(None, {"a": a})
        assert y.shape == shape
        np.testing.assert_array_equal(y, np.maximum(a, 0))


def test_bool_input_buffer_reads_any_nonzero_byte_as_true(save):
    # Through the C API directly: a host writes bytes into dlinfer_session_input_buffer's memory, reads the output
    # through dlinfer_session_output_views.
    import ctypes

    from dlinfer._capi import TensorView, check, lib

    model = make_model([helper.make_node("Not", ["x"], ["y"])], [tensor("x", TensorProto.BOOL, [6])],
                       [tensor("y", TensorProto.BOOL, [6])])
    s = dlinfer.InferenceSession(save(model))
    data = ctypes.c_void_p()
    check(lib.dlinfer_session_input_buffer(s._session, 0, 9, (ctypes.c_int64 * 1)(6), 1, ctypes.byref(data)))
    ctypes.memmove(data.value, bytes([0, 1, 2, 7, 255, 0]), 6)
    check(lib.dlinfer_session_run(s._session))
    views = ctypes.POINTER(TensorView)()
    check(lib.dlinfer_session_output_views(s._session, ctypes.byref(views)))
    view = views[0]
    assert view.dtype == 9 and view.rank == 1 and view.dims[0] == 6 and view.nbytes == 6
    assert list(ctypes.string_at(view.data, 6)) == [1, 0, 0, 0, 0, 1]
