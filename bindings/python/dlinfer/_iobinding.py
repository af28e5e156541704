"""onnxruntime's IOBinding and OrtValue, for host memory: code that binds inputs and outputs to its own buffers (to
reuse them across runs, or to skip a copy) runs unchanged. dlinfer's device memory is not exposed, so the only
device_type is "cpu"; an input is read in place during the run and an output bound to a buffer is written into it."""
import ctypes

import numpy as np

from . import _capi
from ._capi import Error
from ._types import CODES, DTYPES


def _host_only(device_type, device_id):
    if str(device_type).lower() != "cpu" or device_id != 0:
        raise Error(_capi.ERR_INVALID_ARG, f"dlinfer binds host memory only (device_type 'cpu', device_id 0), not "
                    f"{device_type!r}:{device_id}; a session on OpenCL moves its inputs and outputs itself")


def _element_dtype(element_type):
    dtype = np.dtype(element_type)
    if dtype.newbyteorder("=") not in CODES:
        raise Error(_capi.ERR_INVALID_ARG, f"element_type {dtype} is not a dlinfer element type")
    return dtype


def _array_at(buffer_ptr, element_type, shape):
    """A numpy view of caller memory: `shape` elements of `element_type` at address `buffer_ptr`."""
    dtype = _element_dtype(element_type)
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise Error(_capi.ERR_INVALID_ARG, f"shape {list(shape)} has a negative dimension")
    if not buffer_ptr:
        raise Error(_capi.ERR_INVALID_ARG, "buffer_ptr is NULL")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = (ctypes.c_char * nbytes).from_address(buffer_ptr)
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


class OrtValue:
    """A tensor in host memory, as onnxruntime's OrtValue for device "cpu"."""

    def __init__(self, array):
        self._array = array

    @staticmethod
    def ortvalue_from_numpy(numpy_obj, device_type="cpu", device_id=0):
        """Wraps a C-contiguous array (not copied: keep it alive and unchanged while the value is bound)."""
        _host_only(device_type, device_id)
        array = np.asarray(numpy_obj)
        if not array.flags.c_contiguous:
            raise Error(_capi.ERR_INVALID_ARG, "ortvalue_from_numpy needs a C-contiguous array")
        _element_dtype(array.dtype)
        return OrtValue(array)

    @staticmethod
    def ortvalue_from_shape_and_type(shape, element_type, device_type="cpu", device_id=0):
        _host_only(device_type, device_id)
        return OrtValue(np.empty(tuple(shape), dtype=_element_dtype(element_type)))

    def numpy(self):
        return self._array

    def shape(self):
        return list(self._array.shape)

    def element_type(self):
        """The ONNX element type code (1 for float32), as onnxruntime returns."""
        return CODES[self._array.dtype.newbyteorder("=")]

    def data_type(self):
        return DTYPES[CODES[self._array.dtype.newbyteorder("=")]][1]

    def device_name(self):
        return "cpu"

    def data_ptr(self):
        return self._array.ctypes.data

    def is_tensor(self):
        return True

    def has_value(self):
        return True


class IOBinding:
    """Inputs and outputs bound to a session by name (InferenceSession.io_binding()); run it with
    InferenceSession.run_with_iobinding. Outputs come back in the order they were bound."""

    def __init__(self, session):
        self._session = session
        self._inputs = {}
        self._outputs = {}  # name -> array to write into, or None to allocate one per run
        self._results = []

    def _check_name(self, name, outputs):
        names = self._session._output_index if outputs else self._session._input_index
        if name not in names:
            kind = "output" if outputs else "input"
            raise Error(_capi.ERR_NOT_FOUND, f"the model has no {kind} named {name!r}; its {kind}s are "
                        + ", ".join(repr(n) for n in names))

    def bind_cpu_input(self, name, arr_on_cpu):
        self._check_name(name, False)
        self._inputs[name] = arr_on_cpu

    def bind_input(self, name, device_type, device_id, element_type, shape, buffer_ptr):
        self._check_name(name, False)
        _host_only(device_type, device_id)
        self._inputs[name] = _array_at(buffer_ptr, element_type, shape)

    def bind_ortvalue_input(self, name, ortvalue):
        self.bind_cpu_input(name, ortvalue.numpy())

    def bind_output(self, name, device_type="cpu", device_id=0, element_type=None, shape=None, buffer_ptr=None):
        """Without buffer_ptr, each run allocates the output; with it (and element_type and shape), each run writes
        the output there, and fails if the output's dtype or shape differs."""
        self._check_name(name, True)
        _host_only(device_type, device_id)
        if buffer_ptr is None:
            self._outputs[name] = None
        else:
            if element_type is None or shape is None:
                raise Error(_capi.ERR_INVALID_ARG, "bind_output with buffer_ptr needs element_type and shape")
            self._outputs[name] = _array_at(buffer_ptr, element_type, shape)

    def bind_ortvalue_output(self, name, ortvalue):
        self._check_name(name, True)
        self._outputs[name] = ortvalue.numpy()

    def clear_binding_inputs(self):
        self._inputs = {}

    def clear_binding_outputs(self):
        self._outputs = {}
        self._results = []

    def synchronize_inputs(self):
        """Nothing to wait for: runs are synchronous."""

    def synchronize_outputs(self):
        """Nothing to wait for: runs are synchronous."""

    def get_outputs(self):
        return [OrtValue(a) for a in self._results]

    def copy_outputs_to_cpu(self):
        return [a.copy() for a in self._results]

    def _run(self, run_options):
        names = list(self._outputs)
        targets = {n: a for n, a in self._outputs.items() if a is not None}
        self._results = self._session.run(names, self._inputs, run_options, out=targets)
