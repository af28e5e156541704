"""InferenceSession: an onnxruntime-like wrapper over a dlinfer model and session."""
import ctypes
import os
import threading
import weakref
from collections import namedtuple

import numpy as np

from . import _capi
from ._capi import Error, check, lib
from ._types import DTYPES, code_of

NodeArg = namedtuple("NodeArg", "name shape type dtype")
NodeArg.__doc__ = """A model input or output: `shape` has None for dims known only at run time (None when even the
rank is unknown), `type` is onnxruntime's string ("tensor(float)"), `dtype` the numpy dtype."""

Device = namedtuple("Device", "index kind name")


def _options(device, fallback):
    """A dlinfer_options handle (caller destroys it), or None when nothing is set."""
    if device is None and fallback is None:
        return None
    handle = ctypes.c_void_p()
    check(lib.dlinfer_options_create(ctypes.byref(handle)))
    try:
        if device is not None:
            check(lib.dlinfer_options_set(handle, b"device", str(device).encode()))
        if fallback is not None:
            check(lib.dlinfer_options_set(handle, b"fallback", str(fallback).encode()))
    except Error:
        lib.dlinfer_options_destroy(handle)
        raise
    return handle


def devices():
    """Every device this process can use; index 0 is the CPU."""
    count = ctypes.c_int32()
    check(lib.dlinfer_device_count(ctypes.byref(count)))
    out = []
    for i in range(count.value):
        kind, name = ctypes.c_int32(), ctypes.c_char_p()
        check(lib.dlinfer_device_info(i, ctypes.byref(kind), ctypes.byref(name)))
        out.append(Device(i, "cpu" if kind.value == _capi.DEVICE_CPU else "opencl", name.value.decode()))
    return out


def get_device(device=None, fallback=None):
    """The name of the device a session would use (e.g. "CPU"): `device`, else $DLINFER_DEVICE, else auto.
    Raises Error when that device cannot be used."""
    options = _options(device, fallback)
    try:
        kind, index = ctypes.c_int32(), ctypes.c_int32()
        check(lib.dlinfer_resolve_device(options, ctypes.byref(kind), ctypes.byref(index)))
    finally:
        lib.dlinfer_options_destroy(options)
    return devices()[index.value].name


def _io_info(model, is_output, count):
    args = []
    for i in range(count):
        name = ctypes.c_char_p()
        check(lib.dlinfer_model_io_name(model, is_output, i, ctypes.byref(name)))
        dtype, rank = ctypes.c_int32(), ctypes.c_int32()
        check(lib.dlinfer_model_io_type(model, is_output, i, ctypes.byref(dtype), ctypes.byref(rank), None, 0))
        shape = None
        if rank.value >= 0:
            dims = (ctypes.c_int64 * max(rank.value, 1))()
            check(lib.dlinfer_model_io_type(model, is_output, i, ctypes.byref(dtype), ctypes.byref(rank), dims, rank.value))
            shape = [d if d >= 0 else None for d in dims[: rank.value]]
        np_dtype, type_name = DTYPES.get(dtype.value, (None, f"tensor(code {dtype.value})"))
        args.append(NodeArg(name.value.decode(), shape, type_name, np_dtype))
    return args


def _physical_memory():
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


# The largest input view the package copies: three quarters of physical memory (the library's own default limit).
_COPY_LIMIT = _physical_memory() // 4 * 3


class InferenceSession:
    """Loads a model (a path, or the model's bytes) and runs it on one device.

    device: "auto", "cpu", "opencl", "opencl:N" or "opencl:NAME"; default $DLINFER_DEVICE, else auto.
    fallback: "cpu" to run on the CPU when the requested device cannot be used; default "none" (raise Error).
    """

    def __init__(self, path_or_bytes, device=None, fallback=None):
        model = ctypes.c_void_p()
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data = bytes(path_or_bytes)
            check(lib.dlinfer_model_load_buffer(data, len(data), ctypes.byref(model)))
        else:
            check(lib.dlinfer_model_load_file(os.fsencode(path_or_bytes), ctypes.byref(model)))
        try:
            n_in, n_out = ctypes.c_int32(), ctypes.c_int32()
            check(lib.dlinfer_model_io_count(model, ctypes.byref(n_in), ctypes.byref(n_out)))
            self._inputs = _io_info(model, 0, n_in.value)
            self._outputs = _io_info(model, 1, n_out.value)
            options = _options(device, fallback)
            session = ctypes.c_void_p()
            try:
                check(lib.dlinfer_session_create(model, options, ctypes.byref(session)))
            finally:
                lib.dlinfer_options_destroy(options)
        finally:
            # The session holds its own reference to the model.
            lib.dlinfer_model_release(model)
        self._session = session
        self._finalizer = weakref.finalize(self, lib.dlinfer_session_destroy, session)
        self._lock = threading.Lock()
        self._input_index = {a.name: i for i, a in enumerate(self._inputs)}
        self._output_index = {a.name: i for i, a in enumerate(self._outputs)}

        name = ctypes.c_char_p()
        check(lib.dlinfer_session_device_name(session, ctypes.byref(name)))
        self.device = name.value.decode()
        """The device the session runs on, e.g. "cpu"."""
        kind, index, cpu_nodes = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
        check(lib.dlinfer_session_device(session, ctypes.byref(kind), ctypes.byref(index), ctypes.byref(cpu_nodes)))
        self.cpu_node_count = cpu_nodes.value
        """How many graph nodes run on the CPU (all of them on a CPU session)."""

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def run(self, output_names, input_feed):
        """Runs the model. `input_feed` maps every input name to an array; returns the outputs named in
        `output_names` (all of them, in model order, when None) as numpy arrays."""
        unknown = [n for n in input_feed if n not in self._input_index]
        if unknown:
            raise Error(_capi.ERR_NOT_FOUND, f"the model has no input named {unknown[0]!r}; its inputs are "
                        + ", ".join(repr(a.name) for a in self._inputs))
        missing = [a.name for a in self._inputs if a.name not in input_feed]
        if missing:
            raise Error(_capi.ERR_INVALID_ARG, f"input {missing[0]!r} was not given")
        if output_names is None:
            wanted = list(range(len(self._outputs)))
        else:
            wanted = []
            for n in output_names:
                if n not in self._output_index:
                    raise Error(_capi.ERR_NOT_FOUND, f"the model has no output named {n!r}; its outputs are "
                                + ", ".join(repr(a.name) for a in self._outputs))
                wanted.append(self._output_index[n])

        with self._lock:
            # The arrays stay referenced here until the run returns, so binding them without a copy is safe.
            arrays = [self._prepare(a, input_feed[a.name]) for a in self._inputs]
            for i, arr in enumerate(arrays):
                dims = (ctypes.c_int64 * max(arr.ndim, 1))(*arr.shape)
                check(lib.dlinfer_session_bind_input(self._session, i, code_of(arr.dtype), dims, arr.ndim,
                                                     arr.ctypes.data, arr.nbytes))
            check(lib.dlinfer_session_run(self._session))
            return [self._output(k) for k in wanted]

    def cancel(self):
        """Asks a run in progress on another thread to stop; it raises Error with status ERR_CANCELLED."""
        check(lib.dlinfer_session_cancel(self._session))

    @staticmethod
    def _prepare(arg, value):
        """A C-contiguous, aligned, native-byte-order array for input `arg` (copied only when needed)."""
        if not isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=arg.dtype)
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        if code_of(value.dtype) is None:
            raise Error(_capi.ERR_INVALID_ARG, f"input {arg.name!r} has numpy dtype {value.dtype}, which dlinfer "
                        f"does not support; the model expects {arg.type}")
        if value.flags.c_contiguous and value.flags.aligned:
            return value
        # A view (a broadcast one may be tiny in memory and huge once copied) must be copied into one block first.
        if value.nbytes > _COPY_LIMIT:
            raise Error(_capi.ERR_OUT_OF_MEMORY, f"input {arg.name!r} is a non-contiguous view of {value.nbytes} bytes; "
                        "copying it would need more memory than this machine has")
        try:
            return np.ascontiguousarray(value)
        except MemoryError:
            raise Error(_capi.ERR_OUT_OF_MEMORY, f"input {arg.name!r}: no memory to copy {value.nbytes} bytes") from None

    def _output(self, k):
        dtype, rank = ctypes.c_int32(), ctypes.c_int32()
        dims = (ctypes.c_int64 * 64)()
        check(lib.dlinfer_session_output_type(self._session, k, ctypes.byref(dtype), ctypes.byref(rank), dims, 64))
        if dtype.value not in DTYPES:
            raise Error(_capi.ERR_INTERNAL, f"output {self._outputs[k].name!r} has dtype code {dtype.value}, "
                        "unknown to this version of the Python package")
        out = np.empty(tuple(dims[: rank.value]), dtype=DTYPES[dtype.value][0])
        check(lib.dlinfer_session_copy_output(self._session, k, out.ctypes.data, out.nbytes))
        return out
