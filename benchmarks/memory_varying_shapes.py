#!/usr/bin/env python3
"""Resident memory over many runs whose input shapes keep changing (the CRNN text-line reader at random widths):
after warm-up it must stay flat, i.e. plans, pooled buffers and scratch must not pile up with every new shape.

    python3 benchmarks/memory_varying_shapes.py [--runs 10000] [--warmup 1000] [--model examples/models/crnn_ctc.onnx]

Prints RSS every `--every` runs and the ratio of the largest to the smallest RSS after warm-up (target <= 1.10).
Needs the Python package (PYTHONPATH=bindings/python, DLINFER_LIBRARY=.build/release/libdlinfer.so). With
--onnxruntime it measures onnxruntime the same way, in a separate process, for comparison."""
import argparse
import os
import subprocess
import sys
import time

import numpy as np


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(engine, model, runs, warmup, every, seed):
    if engine == "onnxruntime":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(os.environ.get("DLINFER_NUM_THREADS", "0") or 0)
        session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    else:
        import dlinfer

        session = dlinfer.InferenceSession(model, device=os.environ.get("DLINFER_DEVICE", "cpu"))
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(seed)
    widths = rng.integers(32, 4097, runs)
    after = []
    start = time.time()
    for i, w in enumerate(widths):
        x = rng.random((1, 1, 32, int(w)), dtype=np.float32)
        session.run(None, {name: x})
        if (i + 1) % every == 0:
            r = rss_mb()
            print(f"{engine}: run {i + 1:6d}  width {int(w):5d}  RSS {r:8.1f} MB", flush=True)
            if i + 1 > warmup:
                after.append(r)
    ratio = max(after) / min(after) if after else float("nan")
    print(f"{engine}: {runs} runs in {time.time() - start:.0f} s; RSS after warm-up {min(after):.1f} .. {max(after):.1f} MB, "
          f"max/min {ratio:.3f}", flush=True)
    return ratio


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "examples", "models", "crnn_ctc.onnx"))
    p.add_argument("--runs", type=int, default=10000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--engine", default="dlinfer", choices=["dlinfer", "onnxruntime"])
    p.add_argument("--onnxruntime", action="store_true", help="also measure onnxruntime (in its own process)")
    a = p.parse_args()
    ratio = measure(a.engine, a.model, a.runs, a.warmup, a.every, a.seed)
    if a.onnxruntime:
        subprocess.run([sys.executable, __file__, "--engine", "onnxruntime", "--model", a.model, "--runs", str(a.runs),
                        "--warmup", str(a.warmup), "--every", str(a.every), "--seed", str(a.seed)], check=True)
    sys.exit(0 if ratio <= 1.10 else 1)


if __name__ == "__main__":
    main()
