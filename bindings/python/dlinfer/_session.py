"""InferenceSession: an onnxruntime-like wrapper over a dlinfer model and session."""
import ctypes
import os
import threading
import weakref
from collections import namedtuple

import numpy as np

from . import _capi
from ._capi import Error, check, lib
from ._iobinding import IOBinding
from ._types import DTYPES, code_of

NodeArg = namedtuple("NodeArg", "name shape type dtype")
NodeArg.__doc__ = """A model input or output, as onnxruntime describes one: `shape` holds an int per fixed dim, the
dim's name (a str, e.g. "batch") for a symbolic one, None for an unnamed one known only at run time (`shape` is None
when even the rank is unknown); `type` is onnxruntime's string ("tensor(float)"), `dtype` the numpy dtype."""

Device = namedtuple("Device", "index kind name")

ModelMetadata = namedtuple("ModelMetadata", "producer_name graph_name domain description graph_description version "
                                            "custom_metadata_map")
ModelMetadata.__doc__ = """What the model file says of itself (onnxruntime's ModelMetadata): strings, `version` an
int (2**63 - 1 when the file sets none, as onnxruntime reports it), `custom_metadata_map` a dict of the model's
metadata_props."""


class GraphOptimizationLevel:
    """onnxruntime's levels. dlinfer's load-time passes (folding, fusion) all belong to ORT_ENABLE_BASIC and above;
    ORT_DISABLE_ALL is refused (DLINFER_DISABLE_PASSES turns passes off by name)."""
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class ExecutionMode:
    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class SessionOptions:
    """onnxruntime's SessionOptions, with what dlinfer does with each:

    intra_op_num_threads  CPU threads for this session's runs (0: all the process has; the C option "threads")
    inter_op_num_threads  nodes run one after another; any value is accepted
    execution_mode        ORT_SEQUENTIAL (ORT_PARALLEL is accepted and runs sequentially)
    graph_optimization_level  see GraphOptimizationLevel
    log_severity_level, log_verbosity_level, logid  accepted; dlinfer reports through errors, not a log
    plan_cache_size       plans kept for distinct input shapes (the C option "plan_cache", default 16)
    max_memory            host memory a session may hold, in bytes (the C option "max_memory"; None: the default)

    dlinfer's own session options go through add_session_config_entry("dlinfer.<key>", value) with the keys of
    include/dlinfer.h, e.g. ("dlinfer.precision", "fp16") to store float32 tensors as half on an OpenCL device (an
    unknown dlinfer key or value fails when the session is created). Other keys are onnxruntime's tuning entries:
    kept for get_session_config_entry and otherwise ignored, as onnxruntime ignores keys it does not know.
    """

    def __init__(self):
        self.intra_op_num_threads = 0
        self.inter_op_num_threads = 0
        self.execution_mode = ExecutionMode.ORT_SEQUENTIAL
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.log_severity_level = 2
        self.log_verbosity_level = 0
        self.logid = ""
        self.plan_cache_size = None
        self.max_memory = None
        self._config = {}

    def add_session_config_entry(self, key, value):
        if not isinstance(key, str) or not isinstance(value, str):
            raise Error(_capi.ERR_INVALID_ARG, "session config entries are strings")
        self._config[key] = value

    def get_session_config_entry(self, key):
        if key not in self._config:
            raise Error(_capi.ERR_INVALID_ARG, f"no session config entry {key!r}")
        return self._config[key]

    def _c_options(self):
        if self.graph_optimization_level == GraphOptimizationLevel.ORT_DISABLE_ALL:
            raise Error(_capi.ERR_INVALID_ARG, "graph_optimization_level ORT_DISABLE_ALL is not supported: dlinfer always "
                        "folds constants; DLINFER_DISABLE_PASSES turns its optional passes off by name")
        out = {}
        if self.intra_op_num_threads:
            out["threads"] = self.intra_op_num_threads
        if self.plan_cache_size is not None:
            out["plan_cache"] = self.plan_cache_size
        if self.max_memory is not None:
            out["max_memory"] = self.max_memory
        for key, value in self._config.items():
            if key.startswith("dlinfer."):
                out[key[len("dlinfer."):]] = value
        return out


class RunOptions:
    """onnxruntime's RunOptions: setting `terminate` to True (from another thread) cancels the runs using this
    object, which then raise Error with status ERR_CANCELLED; a run started while it is True fails at once. Tags
    and log levels are accepted."""

    def __init__(self):
        self._terminate = False
        self._sessions = set()
        self._lock = threading.Lock()
        self.log_severity_level = 2
        self.log_verbosity_level = 0
        self.logid = ""
        self.run_tag = ""

    @property
    def terminate(self):
        return self._terminate

    @terminate.setter
    def terminate(self, value):
        self._terminate = bool(value)
        if self._terminate:
            with self._lock:
                for session in list(self._sessions):
                    session.cancel()


# onnxruntime provider names and the device each means here; every GPU provider means the OpenCL device.
_GPU_PROVIDERS = {"CUDAExecutionProvider", "ROCMExecutionProvider", "TensorrtExecutionProvider", "MIGraphXExecutionProvider",
                  "DmlExecutionProvider", "OpenVINOExecutionProvider", "CoreMLExecutionProvider", "OpenCLExecutionProvider",
                  "QNNExecutionProvider", "WebGpuExecutionProvider"}


def _device_from_providers(providers):
    """(device, fallback) for an onnxruntime providers list, in its order of preference: the CPU provider means the
    CPU; any GPU provider means the OpenCL device, and falls back to the CPU only when the CPU provider is listed after
    it (as onnxruntime falls back). dlinfer device strings ("cpu", "opencl:1") are accepted too."""
    names = [p[0] if isinstance(p, (tuple, list)) else p for p in providers]
    if not names:
        raise Error(_capi.ERR_INVALID_ARG, "providers is empty")
    devices = []
    for n in names:
        if not isinstance(n, str):
            raise Error(_capi.ERR_INVALID_ARG, f"provider {n!r} is not a string")
        if n == "CPUExecutionProvider":
            devices.append("cpu")
        elif n in _GPU_PROVIDERS:
            devices.append("opencl")
        elif n.endswith("ExecutionProvider"):
            raise Error(_capi.ERR_INVALID_ARG, f"unknown provider {n!r}: dlinfer maps CPUExecutionProvider to the CPU and "
                        f"the GPU providers ({', '.join(sorted(_GPU_PROVIDERS))}) to its OpenCL device")
        else:
            devices.append(n)
    first = devices[0]
    fallback = "cpu" if first != "cpu" and "cpu" in devices[1:] else None
    return first, fallback


def _options(device, fallback, extra=None):
    """A dlinfer_options handle (caller destroys it), or None when nothing is set."""
    settings = {}
    if device is not None:
        settings["device"] = device
    if fallback is not None:
        settings["fallback"] = fallback
    settings.update(extra or {})
    if not settings:
        return None
    handle = ctypes.c_void_p()
    check(lib.dlinfer_options_create(ctypes.byref(handle)))
    try:
        for key, value in settings.items():
            check(lib.dlinfer_options_set(handle, key.encode(), str(value).encode()))
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


def get_available_providers():
    """onnxruntime-style: "OpenCLExecutionProvider" first when an OpenCL device exists, then "CPUExecutionProvider"."""
    return (["OpenCLExecutionProvider"] if any(d.kind == "opencl" for d in devices()) else []) + ["CPUExecutionProvider"]


def get_device(device=None, fallback=None):
    """The device a session would use, named as InferenceSession.device names it ("cpu", or "opencl:N (name)"):
    `device`, else $DLINFER_DEVICE, else auto. Raises Error when that device cannot be used."""
    options = _options(device, fallback)
    try:
        kind, index = ctypes.c_int32(), ctypes.c_int32()
        check(lib.dlinfer_resolve_device(options, ctypes.byref(kind), ctypes.byref(index)))
    finally:
        lib.dlinfer_options_destroy(options)
    if kind.value == _capi.DEVICE_CPU:
        return "cpu"
    return f"opencl:{index.value - 1} ({devices()[index.value].name})"


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
        if shape is not None:
            for axis, d in enumerate(shape):
                if d is None:
                    dim = ctypes.c_char_p()
                    check(lib.dlinfer_model_io_dim_name(model, is_output, i, axis, ctypes.byref(dim)))
                    shape[axis] = dim.value.decode() or None
        np_dtype, type_name = DTYPES.get(dtype.value, (None, f"tensor(code {dtype.value})"))
        args.append(NodeArg(name.value.decode(), shape, type_name, np_dtype))
    return args


def _metadata(model):
    count = ctypes.c_int32()
    check(lib.dlinfer_model_metadata_count(model, ctypes.byref(count)))
    fixed, custom = {}, {}
    for i in range(count.value):
        key, value = ctypes.c_char_p(), ctypes.c_char_p()
        check(lib.dlinfer_model_metadata(model, i, ctypes.byref(key), ctypes.byref(value)))
        k, v = key.value.decode(), value.value.decode(errors="replace")
        if k.startswith("custom."):
            custom[k[len("custom."):]] = v
        else:
            fixed[k] = v
    return ModelMetadata(fixed.get("producer_name", ""), fixed.get("graph_name", ""), fixed.get("domain", ""),
                         fixed.get("description", ""), fixed.get("graph_description", ""), int(fixed.get("version") or 2**63 - 1),
                         custom)


def _physical_memory():
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


# The largest input view the package copies: three quarters of physical memory (the library's own default limit).
_COPY_LIMIT = _physical_memory() // 4 * 3


class InferenceSession:
    """Loads a model (a path, or the model's bytes) and runs it on one device; called as onnxruntime's is.

    sess_options: a SessionOptions (threads, plan cache, memory limit).
    providers: onnxruntime provider names in order of preference (see _device_from_providers: CPUExecutionProvider is
        the CPU, any GPU provider the OpenCL device, with a fallback to the CPU when CPUExecutionProvider follows it),
        or dlinfer device strings. Give providers or device, not both.
    device: "auto", "cpu", "opencl", "opencl:N" or "opencl:NAME"; default $DLINFER_DEVICE, else auto.
    fallback: "cpu" to run on the CPU when the requested device cannot be used; default "none" (raise Error).
    provider_options: accepted for onnxruntime's signature; must be empty or a list of empty dicts.
    """

    def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, device=None,
                 fallback=None):
        if providers is not None:
            if device is not None or fallback is not None:
                raise Error(_capi.ERR_INVALID_ARG, "give providers or device/fallback, not both")
            device, fallback = _device_from_providers(providers)
        if provider_options and any(provider_options):
            raise Error(_capi.ERR_INVALID_ARG, "provider_options are not supported: dlinfer's settings are SessionOptions")
        extra = (sess_options or SessionOptions())._c_options()
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
            self._metadata = _metadata(model)
            options = _options(device, fallback, extra)
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
        self._all_outputs = list(range(len(self._outputs)))
        # Per-run scratch, reused under the lock: a small model's run costs less than making these.
        # Per input, the session-owned buffer (dlinfer_session_input_buffer) that small inputs are copied into, as a
        # numpy view; a run whose input has the buffer's shape and dtype then costs no call for it.
        self._buffers = [None] * len(self._inputs)
        views = ctypes.POINTER(_capi.TensorView)()
        check(lib.dlinfer_session_output_views(session, ctypes.byref(views)))
        self._views = ctypes.cast(views, ctypes.POINTER(_capi.TensorView * max(len(self._outputs), 1))).contents
        # Per output, numpy views of the memory where runs left it, by address and dtype (with the dims they were made
        # for): a run that leaves it at a place seen before (the usual case: same shape, same plan, an output kept
        # until the next run taking turns between two buffers) copies it out with no ctypes call.
        self._mirrors = [{} for _ in self._outputs]

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

    def get_modelmeta(self):
        return self._metadata

    def get_providers(self):
        """The providers in use, onnxruntime-style: the OpenCL device's name for it, then the CPU's (nodes the device
        cannot run go there)."""
        return ["CPUExecutionProvider"] if self.device == "cpu" else ["OpenCLExecutionProvider", "CPUExecutionProvider"]

    def run(self, output_names, input_feed, run_options=None, out=None):
        """Runs the model. `input_feed` maps every input name to an array; returns the outputs named in
        `output_names` (all of them, in model order, when None) as numpy arrays. `run_options` (a RunOptions) lets
        another thread cancel the run with `run_options.terminate = True`. `out` (dlinfer's addition) maps output
        names to arrays of the output's dtype and shape that receive the values and are returned, instead of new
        arrays (e.g. to reuse buffers across runs)."""
        if out:
            unknown = [n for n in out if n not in self._output_index]
            if unknown:
                raise Error(_capi.ERR_NOT_FOUND, f"out names {unknown[0]!r}, which is not an output of the model")
        if run_options is None:
            return self._run(output_names, input_feed, out)
        with run_options._lock:
            if run_options.terminate:
                raise Error(_capi.ERR_CANCELLED, "run cancelled: run_options.terminate is set")
            run_options._sessions.add(self)
        try:
            return self._run(output_names, input_feed, out)
        finally:
            with run_options._lock:
                run_options._sessions.discard(self)

    def _run(self, output_names, input_feed, out=None):
        if len(input_feed) != len(self._inputs):
            self._reject_feed(input_feed)
        wanted = self._all_outputs if output_names is None else self._output_indices(output_names)
        buffers = self._buffers
        with self._lock:
            bound = []  # arrays bound in place: referenced here until the run returns
            for i, a in enumerate(self._inputs):
                try:
                    value = input_feed[a.name]
                except KeyError:
                    self._reject_feed(input_feed)
                buffer = buffers[i]
                if buffer is not None and type(value) is np.ndarray and value.dtype is buffer.dtype \
                        and value.shape == buffer.shape:
                    buffer[...] = value
                else:
                    self._give_input(i, a, value, bound)
            status = lib.dlinfer_session_run(self._session)
            if status:
                check(status)
            if out:
                return [self._output(k, out.get(self._outputs[k].name)) for k in wanted]
            views, mirrors, results = self._views, self._mirrors, []
            for k in wanted:
                view = views[k]
                where, dims, seen = (view.data, view.dtype), view.dims[:view.rank], mirrors[k]
                mirror = seen.get(where)
                if mirror is None or mirror[0] != dims:
                    if len(seen) >= _MIRRORS_KEPT:
                        seen.clear()
                    mirror = seen[where] = (dims, self._mirror(k, view))
                results.append(mirror[1].copy())
            return results

    def _mirror(self, k, view):
        """Output k as a numpy view of the session's memory (where the run left it), to be copied out."""
        if view.dtype not in _NUMPY_DTYPES or not view.nbytes:
            return self._output(k)  # raises the error for an unknown dtype; an empty array copies for free
        raw = (ctypes.c_char * view.nbytes).from_address(view.data)
        return np.frombuffer(raw, _NUMPY_DTYPES[view.dtype]).reshape(view.dims[:view.rank])

    def _give_input(self, i, arg, value, bound):
        """Hands input `i` to the session: copied into a session-owned buffer kept for later runs when small (a copy
        costs less than a call), bound in place (no copy) when large."""
        value, code = self._prepare(arg, value)
        dims = (ctypes.c_int64 * max(value.ndim, 1))(*value.shape)
        if value.nbytes > _BUFFER_LIMIT:
            self._buffers[i] = None
            check(lib.dlinfer_session_bind_input(self._session, i, code, dims, value.ndim, _address(value), value.nbytes))
            bound.append(value)
            return
        data = ctypes.c_void_p()
        self._buffers[i] = None
        check(lib.dlinfer_session_input_buffer(self._session, i, code, dims, value.ndim, ctypes.byref(data)))
        raw = (ctypes.c_char * value.nbytes).from_address(data.value) if value.nbytes else bytearray()
        buffer = np.frombuffer(raw, dtype=value.dtype).reshape(value.shape)
        buffer[...] = value
        self._buffers[i] = buffer

    def _reject_feed(self, input_feed):
        unknown = [n for n in input_feed if n not in self._input_index]
        if unknown:
            raise Error(_capi.ERR_NOT_FOUND, f"the model has no input named {unknown[0]!r}; its inputs are "
                        + ", ".join(repr(a.name) for a in self._inputs))
        missing = [a.name for a in self._inputs if a.name not in input_feed]
        raise Error(_capi.ERR_INVALID_ARG, f"input {missing[0]!r} was not given")

    def _output_indices(self, output_names):
        wanted = []
        for n in output_names:
            if n not in self._output_index:
                raise Error(_capi.ERR_NOT_FOUND, f"the model has no output named {n!r}; its outputs are "
                            + ", ".join(repr(a.name) for a in self._outputs))
            wanted.append(self._output_index[n])
        return wanted

    def io_binding(self):
        """An IOBinding for this session (onnxruntime's): bind inputs and outputs to host buffers by name."""
        return IOBinding(self)

    def run_with_iobinding(self, iobinding, run_options=None):
        """Runs with the inputs and outputs bound in `iobinding`; read the results with its get_outputs() or
        copy_outputs_to_cpu()."""
        if not isinstance(iobinding, IOBinding) or iobinding._session is not self:
            raise Error(_capi.ERR_INVALID_ARG, "run_with_iobinding needs an IOBinding made by this session's io_binding()")
        iobinding._run(run_options)

    def cancel(self):
        """Asks a run in progress on another thread to stop; it raises Error with status ERR_CANCELLED."""
        check(lib.dlinfer_session_cancel(self._session))

    @staticmethod
    def _prepare(arg, value):
        """A C-contiguous, aligned, native-byte-order array for input `arg` (copied only when needed), and its dtype
        code."""
        if not isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=arg.dtype)
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        code = code_of(value.dtype)
        if code is None:
            raise Error(_capi.ERR_INVALID_ARG, f"input {arg.name!r} has numpy dtype {value.dtype}, which dlinfer "
                        f"does not support; the model expects {arg.type}")
        if value.flags.c_contiguous and value.flags.aligned:
            return value, code
        # A view (a broadcast one may be tiny in memory and huge once copied) must be copied into one block first.
        if value.nbytes > _COPY_LIMIT:
            raise Error(_capi.ERR_OUT_OF_MEMORY, f"input {arg.name!r} is a non-contiguous view of {value.nbytes} bytes; "
                        "copying it would need more memory than this machine has")
        try:
            return np.ascontiguousarray(value), code
        except MemoryError:
            raise Error(_capi.ERR_OUT_OF_MEMORY, f"input {arg.name!r}: no memory to copy {value.nbytes} bytes") from None

    def _output(self, k, into=None):
        view = self._views[k]
        code, rank = view.dtype, view.rank
        if code not in _NUMPY_DTYPES:
            raise Error(_capi.ERR_INTERNAL, f"output {self._outputs[k].name!r} has dtype code {code}, "
                        "unknown to this version of the Python package")
        shape, np_dtype = tuple(view.dims[:rank]), _NUMPY_DTYPES[code]
        if into is None:
            into = np.empty(shape, dtype=np_dtype)
        elif not isinstance(into, np.ndarray) or into.shape != shape or into.dtype != np_dtype \
                or not into.flags.c_contiguous or not into.flags.writeable:
            raise Error(_capi.ERR_INVALID_ARG, f"out[{self._outputs[k].name!r}] must be a writeable C-contiguous "
                        f"{np_dtype} array of shape {shape}, got "
                        + (f"{into.dtype} {into.shape}" if isinstance(into, np.ndarray) else type(into).__name__))
        if view.nbytes:
            ctypes.memmove(_address(into), view.data, view.nbytes)
        return into


_NUMPY_DTYPES = {code: dtype for code, (dtype, _) in DTYPES.items()}
# Inputs up to this size are copied into session-owned buffers; larger ones are bound in place (no copy).
_BUFFER_LIMIT = 16 << 10
# Places remembered per output; past this (shapes that keep changing) the remembered ones are dropped.
_MIRRORS_KEPT = 4
_NO_BYTES = ctypes.c_char * 0


def _address(array):
    """A C-contiguous array's data pointer as a ctypes argument: a zero-length ctypes array over its buffer (a fifth
    of the cost of array.ctypes.data), or the address itself for a read-only array, whose buffer ctypes cannot map."""
    try:
        return _NO_BYTES.from_buffer(array)
    except TypeError:
        return array.ctypes.data
