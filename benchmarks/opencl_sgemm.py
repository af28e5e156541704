#!/usr/bin/env python3
"""SGEMM on one OpenCL device: dlinfer's OpenCL GEMM next to CLBlast's, TFLOP/s at n x n x n, measured in one run.

  swift build -c release && python3 benchmarks/opencl_sgemm.py --device nvidia --clblast /path/libclblast.so.1

dlinfer runs through the Python package (bindings/python; DLINFER_LIBRARY, default .build/release/libdlinfer.so),
on graphs that keep everything on the device: A and B are constant initializers (uploaded once per session), x is a
scalar input, and
    full:  Y = (((A + x) B) B ... B) v      (--chain products by B, then a product by a constant n x 1 vector v)
    base:  Y = (A + x) v
so a run uploads 4 bytes and downloads n floats. The GEMM time is (median(full) - median(base)) / chain: the
subtraction removes the Add, the matrix-vector product, the transfers and the session's own overhead, the chain
spreads the remaining noise. CLBlast (libclblast through ctypes, row-major CLBlastSgemm, buffers and queue made
through libOpenCL with ctypes) runs --chain products back to back, then clFinish; its time is that over chain.
Both sides get --warmup untimed runs, then --runs timed ones; the tables show medians, TFLOP/s = 2 n^3 / t, and
dlinfer/CLBlast (above 1: dlinfer is faster). Results are checked against numpy (float64, computed right to left
as matrix-vector products), so a fast wrong answer does not pass unnoticed.

--tilings tries tiled-kernel parameter sets for dlinfer (each a DLINFER_OPENCL_GEMM value: a profile name such as
"nvidia", or "MWG=128,NWG=128,KWG=16,..." with ';' between alternatives, largest first), one table row each: how
the GEMM is tuned on a device we cannot run at build time. Needs only numpy and onnx (no pyopencl).
"""
import argparse
import ctypes
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CL_DEVICE_TYPE_ALL = 0xFFFFFFFF
CL_PLATFORM_NAME = 0x0902
CL_DEVICE_NAME = 0x102B
CL_DEVICE_TYPE = 0x1000
CL_DEVICE_TYPE_GPU = 4
CL_MEM_READ_WRITE = 1
CLBLAST_ROW_MAJOR = 101
CLBLAST_NO_TRANSPOSE = 111


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, nargs="+", default=[1024, 2048, 4096], help="n (default 1024 2048 4096)")
    p.add_argument("--device", default="", help="OpenCL device: index, or part of 'platform device' name "
                   "(default: the first GPU, else the first device)")
    p.add_argument("--clblast", default="libclblast.so.1", help="path of libclblast (default: libclblast.so.1); "
                   "'none' skips CLBlast")
    p.add_argument("--opencl", default="libOpenCL.so.1", help="path of the OpenCL ICD loader")
    p.add_argument("--runs", type=int, default=10, help="timed runs per measurement (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs per measurement (default 3)")
    p.add_argument("--chain", type=int, default=4, help="products per timed run (default 4)")
    p.add_argument("--tilings", nargs="*", default=[], help="DLINFER_OPENCL_GEMM values to compare (default: the "
                   "device's built-in table only)")
    return p.parse_args()


def median_seconds(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


class OpenCL:
    """The few libOpenCL entry points CLBlast's caller needs: devices, a context and queue, buffers."""

    def __init__(self, path):
        self.lib = cl = ctypes.CDLL(path)
        vp, u32, sz = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t
        i32p = ctypes.POINTER(ctypes.c_int32)
        for name, res, args in [
            ("clGetPlatformIDs", ctypes.c_int32, [u32, ctypes.POINTER(vp), ctypes.POINTER(u32)]),
            ("clGetPlatformInfo", ctypes.c_int32, [vp, u32, sz, vp, ctypes.POINTER(sz)]),
            ("clGetDeviceIDs", ctypes.c_int32, [vp, ctypes.c_uint64, u32, ctypes.POINTER(vp), ctypes.POINTER(u32)]),
            ("clGetDeviceInfo", ctypes.c_int32, [vp, u32, sz, vp, ctypes.POINTER(sz)]),
            ("clCreateContext", vp, [vp, u32, ctypes.POINTER(vp), vp, vp, i32p]),
            ("clCreateCommandQueue", vp, [vp, vp, ctypes.c_uint64, i32p]),
            ("clCreateBuffer", vp, [vp, ctypes.c_uint64, sz, vp, i32p]),
            ("clEnqueueWriteBuffer", ctypes.c_int32, [vp, vp, u32, sz, sz, vp, u32, vp, vp]),
            ("clEnqueueReadBuffer", ctypes.c_int32, [vp, vp, u32, sz, sz, vp, u32, vp, vp]),
            ("clFinish", ctypes.c_int32, [vp]),
            ("clReleaseMemObject", ctypes.c_int32, [vp]),
            ("clReleaseCommandQueue", ctypes.c_int32, [vp]),
            ("clReleaseContext", ctypes.c_int32, [vp]),
        ]:
            f = getattr(cl, name)
            f.restype, f.argtypes = res, args

    @staticmethod
    def check(rc, what):
        if rc != 0:
            sys.exit(f"{what} failed: OpenCL error {rc}")

    def _string(self, getter, obj, what):
        size = ctypes.c_size_t()
        self.check(getter(obj, what, 0, None, ctypes.byref(size)), "clGet*Info")
        buf = ctypes.create_string_buffer(size.value + 1)
        self.check(getter(obj, what, size.value, buf, None), "clGet*Info")
        return buf.value.decode(errors="replace").strip()

    def is_gpu(self, device):
        kind = ctypes.c_uint64()
        self.check(self.lib.clGetDeviceInfo(device, CL_DEVICE_TYPE, 8, ctypes.byref(kind), None), "clGetDeviceInfo")
        return bool(kind.value & CL_DEVICE_TYPE_GPU)

    def devices(self):
        """(platform name, device name, platform id, device id) in platform order: dlinfer's opencl:N indexes this."""
        count = ctypes.c_uint32()
        if self.lib.clGetPlatformIDs(0, None, ctypes.byref(count)) != 0 or count.value == 0:
            return []
        platforms = (ctypes.c_void_p * count.value)()
        self.check(self.lib.clGetPlatformIDs(count.value, platforms, None), "clGetPlatformIDs")
        out = []
        for p in platforms:
            pname = self._string(self.lib.clGetPlatformInfo, p, CL_PLATFORM_NAME)
            n = ctypes.c_uint32()
            if self.lib.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, None, ctypes.byref(n)) != 0 or n.value == 0:
                continue
            ids = (ctypes.c_void_p * n.value)()
            self.check(self.lib.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n.value, ids, None), "clGetDeviceIDs")
            out += [(pname, self._string(self.lib.clGetDeviceInfo, d, CL_DEVICE_NAME), p, d) for d in ids]
        return out


class CLBlast:
    """Row-major SGEMM C = A B through libclblast on one device, with its own context and queue."""

    def __init__(self, cl, path, platform, device):
        self.cl, self.lib = cl, ctypes.CDLL(path)
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        f = self.lib.CLBlastSgemm
        f.restype = ctypes.c_int32
        f.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, sz, sz, sz, ctypes.c_float, vp, sz, sz, vp, sz,
                      sz, ctypes.c_float, vp, sz, sz, ctypes.POINTER(vp), vp]
        rc = ctypes.c_int32()
        props = (ctypes.c_ssize_t * 3)(0x1084, platform, 0)  # CL_CONTEXT_PLATFORM
        dev = (ctypes.c_void_p * 1)(device)
        self.context = cl.lib.clCreateContext(ctypes.cast(props, vp), 1, dev, None, None, ctypes.byref(rc))
        cl.check(rc.value, "clCreateContext")
        self.queue = ctypes.c_void_p(cl.lib.clCreateCommandQueue(self.context, device, 0, ctypes.byref(rc)))
        cl.check(rc.value, "clCreateCommandQueue")

    def buffer(self, array=None, nbytes=None):
        rc = ctypes.c_int32()
        nbytes = array.nbytes if array is not None else nbytes
        mem = self.cl.lib.clCreateBuffer(self.context, CL_MEM_READ_WRITE, nbytes, None, ctypes.byref(rc))
        self.cl.check(rc.value, "clCreateBuffer")
        if array is not None:
            self.cl.check(self.cl.lib.clEnqueueWriteBuffer(self.queue, mem, 1, 0, nbytes, array.ctypes.data, 0, None,
                                                           None), "clEnqueueWriteBuffer")
        return mem

    def read(self, mem, out):
        self.cl.check(self.cl.lib.clEnqueueReadBuffer(self.queue, mem, 1, 0, out.nbytes, out.ctypes.data, 0, None,
                                                      None), "clEnqueueReadBuffer")

    def sgemm(self, n, a, b, c):
        rc = self.lib.CLBlastSgemm(CLBLAST_ROW_MAJOR, CLBLAST_NO_TRANSPOSE, CLBLAST_NO_TRANSPOSE, n, n, n, 1.0, a, 0, n,
                                   b, 0, n, 0.0, c, 0, n, ctypes.byref(self.queue), None)
        if rc != 0:
            sys.exit(f"CLBlastSgemm failed with status {rc}")

    def finish(self):
        self.cl.check(self.cl.lib.clFinish(self.queue), "clFinish")

    def release(self, *mems):
        for m in mems:
            self.cl.lib.clReleaseMemObject(m)


def chain_model(n, a, b, v, chain):
    """Y = (((A + x) B) ... B) v with `chain` products by B (chain 0: the baseline (A + x) v)."""
    from onnx import TensorProto, helper, numpy_helper
    inits = [numpy_helper.from_array(a, "A"), numpy_helper.from_array(v, "v")]
    if chain:
        inits.append(numpy_helper.from_array(b, "B"))
    nodes = [helper.make_node("Add", ["A", "x"], ["t0"])]
    for i in range(chain):
        nodes.append(helper.make_node("MatMul", [f"t{i}", "B"], [f"t{i + 1}"]))
    nodes.append(helper.make_node("MatMul", [f"t{chain}", "v"], ["Y"]))
    graph = helper.make_graph(nodes, "sgemm_chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, 1])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def expected(a, b, v, x, chain):
    """(A + x) B^chain v in float64, right to left: matrix-vector products only."""
    y = v.astype(np.float64)
    for _ in range(chain):
        y = b.astype(np.float64) @ y
    return a.astype(np.float64) @ y + x * y.sum(axis=0)


def close(got, want):
    return float(np.max(np.abs(got - want))) <= 1e-3 * float(np.max(np.abs(want))) + 1e-4


def measure_dlinfer(dlinfer, device, n, a, b, v, args):
    """Median seconds of one n x n x n product, or an error string."""
    x = np.array(0.25, dtype=np.float32)
    times = {}
    for chain in (args.chain, 0):
        try:
            session = dlinfer.InferenceSession(chain_model(n, a, b, v, chain), device=device)
        except dlinfer.Error as e:
            print(f"dlinfer: {e}", file=sys.stderr)
            return "session failed"
        if session.cpu_node_count:
            return f"{session.cpu_node_count} node(s) ran on the CPU"
        got = session.run(None, {"x": x})[0]
        if not close(got, expected(a, b, v, 0.25, chain)):
            return f"wrong result (chain {chain})"
        times[chain] = median_seconds(lambda: session.run(None, {"x": x}), args.runs, args.warmup)
        del session
    return (times[args.chain] - times[0]) / args.chain


def measure_clblast(blast, n, a, b, args):
    ma, mb, mc = blast.buffer(a), blast.buffer(b), blast.buffer(nbytes=a.nbytes)
    try:
        blast.sgemm(n, ma, mb, mc)
        c = np.empty_like(a)
        blast.read(mc, c)
        rows = np.linspace(0, n - 1, 8).astype(int)
        if not close(c[rows], a[rows].astype(np.float64) @ b.astype(np.float64)):
            return "wrong result"

        def run():
            for _ in range(args.chain):
                blast.sgemm(n, ma, mb, mc)
            blast.finish()
        return median_seconds(run, args.runs, args.warmup) / args.chain
    finally:
        blast.release(ma, mb, mc)


def main():
    args = parse()
    os.environ.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
    sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
    import dlinfer

    cl = OpenCL(args.opencl)
    devices = cl.devices()
    if not devices:
        sys.exit("no OpenCL device")
    if args.device.isdigit():
        index = int(args.device)
    elif args.device:
        index = next((i for i, d in enumerate(devices) if args.device.lower() in f"{d[0]} {d[1]}".lower()), None)
    else:
        index = next((i for i, d in enumerate(devices) if cl.is_gpu(d[3])), 0)
    if index is None or index >= len(devices):
        sys.exit(f"no OpenCL device matches '{args.device}': " + "; ".join(f"{d[0]} {d[1]}" for d in devices))
    platform_name, device_name, platform, device = devices[index]
    dl_device = f"opencl:{index}"
    try:
        blast = None if args.clblast == "none" else CLBlast(cl, args.clblast, platform, device)
    except OSError as e:
        sys.exit(f"cannot load CLBlast ({e}): install libclblast1, or pass --clblast PATH (or none to skip it)")
    tilings = args.tilings or [""]

    print(f"device {index}: {device_name} [{platform_name}]; dlinfer {dl_device}: {dlinfer.devices()[index + 1].name}")
    print(f"median of {args.runs} runs after {args.warmup} warm-up runs, {args.chain} products per run; "
          f"numpy {np.__version__}, library {os.environ['DLINFER_LIBRARY']}, CLBlast {args.clblast}")
    print(f"{'n':>6} {'dlinfer TFLOP/s':>16} {'CLBlast TFLOP/s':>16} {'dlinfer/CLBlast':>16}  tiling")
    rng = np.random.default_rng(0)
    for n in args.size:
        # B keeps the chain's values of the same size: entries of variance 1/n.
        a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        b = (rng.uniform(-1, 1, (n, n)) * np.sqrt(3.0 / n)).astype(np.float32)
        v = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
        flops = 2.0 * n ** 3
        theirs = measure_clblast(blast, n, a, b, args) if blast else "skipped"
        theirs_text = f"{flops / theirs / 1e12:16.3f}" if isinstance(theirs, float) else f"{theirs:>16}"
        for tiling in tilings:
            if tiling:
                os.environ["DLINFER_OPENCL_GEMM"] = tiling
            else:
                os.environ.pop("DLINFER_OPENCL_GEMM", None)
            ours = measure_dlinfer(dlinfer, dl_device, n, a, b, v, args)
            ours_text = f"{flops / ours / 1e12:16.3f}" if isinstance(ours, float) else f"{ours:>16}"
            ratio = f"{theirs / ours:16.2f}" if isinstance(ours, float) and isinstance(theirs, float) else f"{'-':>16}"
            print(f"{n:>6} {ours_text} {theirs_text} {ratio}  {tiling or 'built-in'}", flush=True)


if __name__ == "__main__":
    main()
