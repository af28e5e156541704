#!/usr/bin/env python3
"""Per-run overhead: a one-node model (Relu on 16 floats) run through Python by dlinfer and by onnxruntime, and
through dlinfer's C API. With --nodes N, a chain of N nodes (Relu and Abs by turns, still max(x, 0)) instead: the
per-node cost of the executor, which a 20-node recurrent model pays about as much as for its arithmetic.

Python: both engines in one process with one thread, alternating in blocks of --runs `run(None, feeds)` calls after
--warmup calls, --blocks blocks each; the median over blocks per engine and the ratio dlinfer / onnxruntime.
C: benchmarks/run_overhead.c, compiled here with `cc` against include/dlinfer.h and the library in use, times
bind_input + run + copy_output, and run + copy_output with the input written into dlinfer_session_input_buffer
(median over blocks). Both check their results.

    swift build -c release
    DLINFER_LIBRARY=.build/release/libdlinfer.so python3 benchmarks/run_overhead.py
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

os.environ["DLINFER_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bindings" / "python"))
import dlinfer  # noqa: E402
from dlinfer import _capi  # noqa: E402

ELEMENTS = 16


def relu_model(path, nodes):
    names = ["x"] + [f"v{i}" for i in range(1, nodes)] + ["y"]
    chain = [helper.make_node("Abs" if i % 2 else "Relu", [names[i]], [names[i + 1]]) for i in range(nodes)]
    graph = helper.make_graph(chain, "relu",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [ELEMENTS])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [ELEMENTS])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def python_overhead(path, a):
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    engines = {"onnxruntime": ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]),
               "dlinfer": dlinfer.InferenceSession(path, device="cpu")}
    feeds = {"x": np.random.default_rng(0).standard_normal(ELEMENTS).astype(np.float32)}
    for s in engines.values():
        np.testing.assert_array_equal(s.run(None, feeds)[0], np.maximum(feeds["x"], 0))
    times = {k: [] for k in engines}
    for _ in range(a.blocks):
        for name, s in engines.items():
            for _ in range(a.warmup):
                s.run(None, feeds)
            t = time.perf_counter()
            for _ in range(a.runs):
                s.run(None, feeds)
            times[name].append((time.perf_counter() - t) / a.runs * 1e6)
    return {k: float(np.median(v)) for k, v in times.items()}


def c_overhead(path, a):
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        return None
    lib = pathlib.Path(_capi.lib._name).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        # Linked by its soname, as a C host links it.
        os.symlink(lib, os.path.join(tmp, "libdlinfer.so.1"))
        os.symlink(lib, os.path.join(tmp, "libdlinfer.so"))
        exe = os.path.join(tmp, "run_overhead")
        subprocess.run([cc, "-O2", "-std=c99", f"-I{REPO / 'include'}", str(REPO / "benchmarks" / "run_overhead.c"),
                        "-o", exe, f"-L{tmp}", "-ldlinfer", f"-Wl,-rpath,{tmp}"], check=True)
        out = subprocess.run([exe, path, str(ELEMENTS), str(a.runs * 10), str(a.blocks)], check=True,
                             capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--blocks", type=int, default=7)
    p.add_argument("--runs", type=int, default=20000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--nodes", type=int, default=1, help="nodes in the chain (default 1: one Relu)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "relu16.onnx")
        relu_model(path, a.nodes)
        py = python_overhead(path, a)
        c = c_overhead(path, a)
    model = "Relu" if a.nodes == 1 else f"{a.nodes} nodes (Relu, Abs, ...)"
    print(f"{model} on {ELEMENTS} floats, 1 thread, median of {a.blocks} blocks")
    print(f"  Python run(): onnxruntime {py['onnxruntime']:.2f} us, dlinfer {py['dlinfer']:.2f} us, "
          f"ratio {py['dlinfer'] / py['onnxruntime']:.2f}")
    if c is None:
        print("  C API: no C compiler (cc) found; not measured")
    else:
        print(f"  C API: bind_input + run + copy_output {c[0]:.2f} us; input_buffer write + run + copy_output {c[1]:.2f} us")


if __name__ == "__main__":
    main()
