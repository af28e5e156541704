#!/usr/bin/env python3
"""Before/after for one change: two builds of libdlinfer (each with the Python package of its own tree) on one model,
median latency of --runs runs per block, blocks alternating between the builds (each block a fresh process, so the
two never share worker threads), on the CPU.

    python3 benchmarks/compare_builds.py OLD_TREE NEW_TREE MODEL [--runs 2000] [--blocks 4] [--threads 1] [--dim 16]

A TREE is a checkout with a release build (TREE/.build/release/libdlinfer.so, TREE/bindings/python); symbolic input
dimensions are set to --dim, inputs are ones. Prints each block's median (ms) and the ratio of the medians of all
blocks, new/old."""
import argparse
import os
import statistics
import subprocess
import sys

WORKER = r'''
import sys, time
import numpy as np
import dlinfer
s = dlinfer.InferenceSession(sys.argv[1], device="cpu")
dim = int(sys.argv[3])
feeds = {i.name: np.ones([d if isinstance(d, int) else dim for d in i.shape], dtype=i.dtype) for i in s.get_inputs()}
for _ in range(50):
    s.run(None, feeds)
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    s.run(None, feeds)
    times.append(time.perf_counter() - t0)
print(sorted(times)[len(times) // 2] * 1e3)
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("model")
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dim", type=int, default=16, help="size of every symbolic input dimension (default 16)")
    args = ap.parse_args()
    medians = {"old": [], "new": []}
    for _ in range(args.blocks):
        for name in ("old", "new"):
            tree = os.path.abspath(getattr(args, name))
            env = dict(os.environ, DLINFER_LIBRARY=os.path.join(tree, ".build", "release", "libdlinfer.so"),
                       DLINFER_NUM_THREADS=str(args.threads), PYTHONPATH=os.path.join(tree, "bindings", "python"))
            r = subprocess.run([sys.executable, "-c", WORKER, args.model, str(args.runs), str(args.dim)], env=env,
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"{name}: {r.stderr.strip()}")
            medians[name].append(float(r.stdout))
    for name, values in medians.items():
        print(f"{name}: " + " ".join(f"{v:.3f}" for v in values) + " ms")
    print(f"new/old: {statistics.median(medians['new']) / statistics.median(medians['old']):.2f}")


if __name__ == "__main__":
    main()
