"""dlinfer: run ONNX models through libdlinfer's C API.

    import dlinfer
    s = dlinfer.InferenceSession("model.onnx", device="cpu")
    outputs = s.run(None, {"x": x})

onnxruntime's API shape is followed, so porting is changing the import: InferenceSession(path, sess_options,
providers=[...]), SessionOptions, RunOptions, get_inputs/get_outputs, get_modelmeta, get_providers,
get_available_providers, run(output_names, feeds, run_options), io_binding()/run_with_iobinding with IOBinding and
OrtValue for host buffers.
"""
from ._capi import Error, library_path, lib as _lib
from ._decoding import ctc_greedy_decode
from ._detection import east_decode, heatmap_boxes, nms
from ._iobinding import IOBinding, OrtValue
from ._session import (Device, ExecutionMode, GraphOptimizationLevel, InferenceSession, ModelMetadata, NodeArg, RunOptions,
                       SessionOptions, devices, get_available_providers, get_device)

__version__ = "1.0.0"
__all__ = ["Error", "InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel", "ExecutionMode",
           "NodeArg", "ModelMetadata", "Device", "IOBinding", "OrtValue", "devices", "get_device", "get_available_providers", "library_version",
           "library_path", "ctc_greedy_decode", "nms", "east_decode", "heatmap_boxes"]


def library_version():
    """The version string of the loaded libdlinfer, e.g. "1.0.0"."""
    return _lib.dlinfer_version_string().decode()
