"""IOBinding and OrtValue beyond what the onnxruntime port script covers: a buffer reused across runs, outputs left
unbound, and what must be refused."""
import numpy as np
import pytest

import dlinfer
from conftest import reference


def test_bound_output_buffer_is_rewritten_by_each_run(save, activations_model, rng):
    s = dlinfer.InferenceSession(save(activations_model))
    y = np.full((2, 5, 4), np.nan, np.float32)
    io = s.io_binding()
    io.bind_output("y", "cpu", 0, np.float32, y.shape, y.ctypes.data)
    for _ in range(2):
        x = rng.standard_normal((2, 5, 4)).astype(np.float32)
        io.bind_cpu_input("x", x)
        s.run_with_iobinding(io)
        np.testing.assert_allclose(y, reference(activations_model, {"x": x}, ["y"])[0], rtol=1e-5, atol=1e-6)
        assert io.get_outputs()[0].data_ptr() == y.ctypes.data
    # Only the bound output comes back.
    assert len(io.get_outputs()) == 1


def test_refusals(save, activations_model):
    s = dlinfer.InferenceSession(save(activations_model))
    io = s.io_binding()
    x = np.zeros((1, 3, 4), np.float32)
    with pytest.raises(dlinfer.Error, match="host memory only"):
        io.bind_input("x", "cuda", 0, np.float32, x.shape, x.ctypes.data)
    with pytest.raises(dlinfer.Error, match="no input named 'q'"):
        io.bind_cpu_input("q", x)
    with pytest.raises(dlinfer.Error, match="no output named 'q'"):
        io.bind_output("q")
    with pytest.raises(dlinfer.Error, match="needs element_type and shape"):
        io.bind_output("y", buffer_ptr=x.ctypes.data)
    with pytest.raises(dlinfer.Error, match="not a dlinfer element type"):
        dlinfer.OrtValue.ortvalue_from_shape_and_type([2], np.complex64)
    # A bound buffer whose shape is not the output's: the run fails instead of writing past it.
    small = np.zeros((1, 1, 4), np.float32)
    io.bind_cpu_input("x", x)
    io.bind_output("y", "cpu", 0, np.float32, small.shape, small.ctypes.data)
    with pytest.raises(dlinfer.Error, match="shape"):
        s.run_with_iobinding(io)
    other = dlinfer.InferenceSession(save(activations_model))
    with pytest.raises(dlinfer.Error, match="this session's io_binding"):
        other.run_with_iobinding(io)
    io.clear_binding_inputs()
    io.clear_binding_outputs()
    with pytest.raises(dlinfer.Error, match="not given"):
        s.run_with_iobinding(io)
