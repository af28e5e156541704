"""Loads libdlinfer and declares the argument and result types of every function in dlinfer.h."""
import ctypes
import os

API_MAJOR = 1

# Status codes (dlinfer.h).
OK = 0
ERR_INVALID_ARG = 1
ERR_NOT_FOUND = 2
ERR_IO = 3
ERR_MODEL_INVALID = 4
ERR_UNSUPPORTED_OP = 5
ERR_SHAPE = 6
ERR_DEVICE_UNAVAILABLE = 7
ERR_DEVICE = 8
ERR_OUT_OF_MEMORY = 9
ERR_CANCELLED = 10
ERR_BUFFER_TOO_SMALL = 11
ERR_INTERNAL = 99

DEVICE_CPU = 1
DEVICE_OPENCL = 2

_c_int32_p = ctypes.POINTER(ctypes.c_int32)
_c_int64_p = ctypes.POINTER(ctypes.c_int64)
_c_char_pp = ctypes.POINTER(ctypes.c_char_p)
_handle_p = ctypes.POINTER(ctypes.c_void_p)
_status = ctypes.c_int32


class TensorView(ctypes.Structure):
    """dlinfer_tensor_view: a tensor the session holds, described in place."""
    _fields_ = [("data", ctypes.c_void_p), ("dims", _c_int64_p), ("nbytes", ctypes.c_uint64), ("dtype", ctypes.c_int32),
                ("rank", ctypes.c_int32)]


# name: (restype, argtypes)
_PROTOTYPES = {
    "dlinfer_api_version": (ctypes.c_uint32, []),
    "dlinfer_version_string": (ctypes.c_char_p, []),
    "dlinfer_last_error": (ctypes.c_char_p, []),
    "dlinfer_status_name": (ctypes.c_char_p, [_status]),
    "dlinfer_device_count": (_status, [_c_int32_p]),
    "dlinfer_device_info": (_status, [ctypes.c_int32, _c_int32_p, _c_char_pp]),
    "dlinfer_resolve_device": (_status, [ctypes.c_void_p, _c_int32_p, _c_int32_p]),
    "dlinfer_options_create": (_status, [_handle_p]),
    "dlinfer_options_set": (_status, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]),
    "dlinfer_options_destroy": (None, [ctypes.c_void_p]),
    "dlinfer_model_load_file": (_status, [ctypes.c_char_p, _handle_p]),
    "dlinfer_model_load_buffer": (_status, [ctypes.c_void_p, ctypes.c_size_t, _handle_p]),
    "dlinfer_model_release": (None, [ctypes.c_void_p]),
    "dlinfer_model_io_count": (_status, [ctypes.c_void_p, _c_int32_p, _c_int32_p]),
    "dlinfer_model_io_name": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, _c_char_pp]),
    "dlinfer_model_io_index": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p, _c_int32_p]),
    "dlinfer_model_io_type": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, _c_int32_p, _c_int32_p,
                                        _c_int64_p, ctypes.c_int32]),
    "dlinfer_model_io_dim_name": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, _c_char_pp]),
    "dlinfer_model_metadata_count": (_status, [ctypes.c_void_p, _c_int32_p]),
    "dlinfer_model_metadata": (_status, [ctypes.c_void_p, ctypes.c_int32, _c_char_pp, _c_char_pp]),
    "dlinfer_session_create": (_status, [ctypes.c_void_p, ctypes.c_void_p, _handle_p]),
    "dlinfer_session_destroy": (None, [ctypes.c_void_p]),
    "dlinfer_session_device": (_status, [ctypes.c_void_p, _c_int32_p, _c_int32_p, _c_int32_p]),
    "dlinfer_session_device_name": (_status, [ctypes.c_void_p, _c_char_pp]),
    "dlinfer_session_set_input": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, _c_int64_p, ctypes.c_int32,
                                            ctypes.c_void_p, ctypes.c_size_t]),
    "dlinfer_session_bind_input": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, _c_int64_p, ctypes.c_int32,
                                             ctypes.c_void_p, ctypes.c_size_t]),
    "dlinfer_session_input_buffer": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, _c_int64_p,
                                               ctypes.c_int32, _handle_p]),
    "dlinfer_session_run": (_status, [ctypes.c_void_p]),
    "dlinfer_session_output_views": (_status, [ctypes.c_void_p, ctypes.POINTER(ctypes.POINTER(TensorView))]),
    "dlinfer_session_output_type": (_status, [ctypes.c_void_p, ctypes.c_int32, _c_int32_p, _c_int32_p, _c_int64_p,
                                              ctypes.c_int32]),
    "dlinfer_session_copy_output": (_status, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_size_t]),
    "dlinfer_session_cancel": (_status, [ctypes.c_void_p]),
    "dlinfer_ctc_greedy_decode": (_status, [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                            ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]),
    "dlinfer_nms": (_status, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32,
                              ctypes.c_float, ctypes.c_float, ctypes.c_int64, ctypes.c_void_p, _c_int64_p]),
    "dlinfer_east_decode": (_status, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_float,
                                      ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, _c_int64_p]),
    "dlinfer_heatmap_boxes": (_status, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_float,
                                        ctypes.c_float, ctypes.c_float, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p,
                                        ctypes.c_void_p, ctypes.c_int64, _c_int64_p]),
}


class Error(Exception):
    """A failed dlinfer call: `status` is the C status code, `status_name` its name, `message` the library's text."""

    def __init__(self, status, message):
        self.status = status
        self.status_name = _status_name(status)
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


def _candidates():
    env = os.environ.get("DLINFER_LIBRARY")
    if env:
        # An explicit choice is the only one tried, so a wrong path is an error rather than a silent fallback.
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    own = [os.path.join(here, n) for n in ("libdlinfer.so.1", "libdlinfer.so") if os.path.exists(os.path.join(here, n))]
    return own + ["libdlinfer.so.1"]


def _load():
    tried = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            tried.append(f"{path}: {e}")
    else:
        raise ImportError("dlinfer: cannot load libdlinfer (set DLINFER_LIBRARY to its path, or install it with "
                          "`make install`):\n  " + "\n  ".join(tried))
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    major = lib.dlinfer_api_version() >> 16
    if major != API_MAJOR:
        raise ImportError(f"dlinfer: {path} has API major version {major}; this package needs {API_MAJOR}")
    return lib, path


lib, library_path = _load()


def _status_name(status):
    return lib.dlinfer_status_name(status).decode()


def check(status):
    """Raises Error for a non-OK status, with this thread's last error message."""
    if status != OK:
        raise Error(status, lib.dlinfer_last_error().decode("utf-8", "replace"))
