#!/usr/bin/env python3
"""dlinfer's SGEMM vs numpy's BLAS: GFLOP/s of an n x n x n float32 matrix product, same thread count, same run.

dlinfer is measured through the library, as users call it: a one-node MatMul ONNX model (A and B are graph inputs,
so nothing is pre-packed) run by the Python package in bindings/python over the release library:
  swift build -c release && python3 benchmarks/sgemm.py --threads 4
DLINFER_LIBRARY overrides the library path (default <repo>/.build/release/libdlinfer.so).

The two sides alternate in --blocks blocks, each block untimed runs (at least --warmup, for at least
--warmup-seconds) then --runs timed ones, after a pause of --pause seconds: both libraries keep their worker threads
spinning for a while after a product, and a side measured right after the other one ran on fewer cores (OpenBLAS's
threads, still spinning, took dlinfer's second core: n = 256 at 2 threads read 0.53, and 1.0 with the pause). The
table shows the median GFLOP/s over all timed runs (2 n^3 flops per product) and the ratio dlinfer/numpy (above 1:
dlinfer is faster). dlinfer's time includes binding the inputs and copying the output back; numpy's includes
allocating its result. The results are compared, so that a fast wrong answer does not pass unnoticed.

Threads: DLINFER_NUM_THREADS and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS = --threads, set before
either library is loaded. On a machine shared with other work, run it a few times: both sides suffer, unequally.
"""
import argparse
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, nargs="+", default=[1024], help="matrix sizes n (default 1024)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    p.add_argument("--runs", type=int, default=10, help="timed runs per side (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs per side and block, at least (default 3)")
    p.add_argument("--warmup-seconds", type=float, default=0.05,
                   help="untimed runs per side and block go on for at least this long (default 0.05)")
    p.add_argument("--blocks", type=int, default=3, help="blocks per side, alternating (default 3)")
    p.add_argument("--pause", type=float, default=0.3, help="seconds of rest before each block (default 0.3)")
    return p.parse_args()


def median_seconds(sides, args):
    """Median seconds per call of each function in `sides`, the functions taking turns in blocks."""
    times = [[] for _ in sides]
    for _ in range(args.blocks):
        for fn, out in zip(sides, times):
            time.sleep(args.pause)
            # After the pause the core runs slow for a while (on the 2-core VM, n = 256 took 2.5 times as long on
            # the first call and 1.4 times on the fourth, for both sides): warm up for a time, not a few calls.
            start, calls = time.perf_counter(), 0
            while calls < args.warmup or time.perf_counter() - start < args.warmup_seconds:
                fn()
                calls += 1
            for _ in range(args.runs):
                t = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t)
    return [sorted(t)[len(t) // 2] for t in times]


def matmul_model(n):
    from onnx import TensorProto, helper
    a = helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n])
    b = helper.make_tensor_value_info("B", TensorProto.FLOAT, [n, n])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["Y"])], "sgemm", [a, b], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main():
    args = parse()
    threads = str(args.threads)
    # Both libraries read these when they are loaded.
    for var in ("DLINFER_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads
    os.environ.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
    sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
    import numpy as np
    import onnx
    import dlinfer

    print(f"threads {args.threads}, median of {args.blocks} blocks of {args.runs} runs, each after {args.warmup}+ "
          f"warm-up runs ({args.warmup_seconds} s at least) and a {args.pause} s pause; "
          f"numpy {np.__version__}, library {os.environ['DLINFER_LIBRARY']}")
    print(f"{'n':>6} {'dlinfer GFLOP/s':>16} {'numpy GFLOP/s':>14} {'dlinfer/numpy':>14}")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.size:
            path = os.path.join(tmp, f"matmul_{n}.onnx")
            onnx.save(matmul_model(n), path)
            session = dlinfer.InferenceSession(path, device="cpu")
            a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
            b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
            ours = session.run(None, {"A": a, "B": b})[0]
            theirs = a @ b
            # Sums of n products of values in [-1, 1]: float32 rounding grows like sqrt(n).
            err = float(np.max(np.abs(ours - theirs)))
            if not err <= 1e-5 * n:
                sys.exit(f"n={n}: dlinfer and numpy differ by {err}")
            flops = 2.0 * n ** 3
            t_ours, t_numpy = median_seconds([lambda: session.run(None, {"A": a, "B": b}), lambda: a @ b], args)
            g_ours, g_numpy = flops / t_ours / 1e9, flops / t_numpy / 1e9
            print(f"{n:>6} {g_ours:>16.1f} {g_numpy:>14.1f} {g_ours / g_numpy:>14.2f}")


if __name__ == "__main__":
    main()
