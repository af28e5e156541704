"""dlinfer: run ONNX models through libdlinfer's C API.

    import dlinfer
    s = dlinfer.InferenceSession("model.onnx", device="cpu")
    outputs = s.run(None, {"x": x})
"""
from ._capi import Error, library_path, lib as _lib
from ._decoding import ctc_greedy_decode
from ._session import Device, InferenceSession, NodeArg, devices, get_device

__version__ = "1.0.0"
__all__ = ["Error", "InferenceSession", "NodeArg", "Device", "devices", "get_device", "library_version", "library_path",
           "ctc_greedy_decode"]


def library_version():
    """The version string of the loaded libdlinfer, e.g. "1.0.0"."""
    return _lib.dlinfer_version_string().decode()
