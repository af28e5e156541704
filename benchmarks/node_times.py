#!/usr/bin/env python3
"""Per-node time of one model, dlinfer against onnxruntime: where a model's gap between the engines lies.

onnxruntime runs --runs times with profiling on (its per-node kernel times, median over the runs); dlinfer's CLI runs
`bench --profile` (per-node time per run). Nodes are matched by name; onnxruntime's layout-transformed nodes, named
after their output with an `_nchwc` suffix, are traced back through the activations or additions fused into them to
the Conv they came from. Prints both sums and the nodes sorted by dlinfer's excess (dlinfer - onnxruntime, in us),
then the time of onnxruntime's nodes that match none of dlinfer's (its layout reorders).

    swift build -c release --product dlinfer-cli
    python3 benchmarks/node_times.py MODEL [--threads 1] [--runs 200] [--top 25] [--cli .build/release/dlinfer-cli]

Inputs are random floats in [0, 1) (integer inputs zero) with symbolic dimensions 1, as `dlinfer bench` makes them.
"""
import argparse
import collections
import json
import os
import re
import subprocess

import numpy as np
import onnx
import onnxruntime as ort

# Ops onnxruntime fuses into the Conv before them (its fused node keeps the name of the last one's output).
FUSED_AFTER = ("Relu", "Clip", "Add", "Sigmoid", "HardSigmoid", "Mul")


def onnxruntime_times(model, threads, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.enable_profiling = True
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in s.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = (np.random.rand(*shape).astype(np.float32) if "float" in i.type
                         else np.zeros(shape, np.int64))
    warmup = 20
    for _ in range(warmup + runs):
        s.run(None, feeds)
    path = s.end_profiling()
    with open(path) as f:
        events = json.load(f)
    os.remove(path)
    per_node = collections.defaultdict(list)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_node[e["name"][:-len("_kernel_time")]].append(e["dur"])
    # Back to the model's own node names.
    producer = {o: n for n in onnx.load(model, load_external_data=False).graph.node for o in n.output}
    times = collections.defaultdict(float)
    for name, durations in per_node.items():
        if name.endswith("_nchwc") and name[:-6] in producer:
            node = producer[name[:-6]]
            while node.op_type in FUSED_AFTER and node.input[0] in producer \
                    and producer[node.input[0]].op_type in ("Conv",) + FUSED_AFTER:
                node = producer[node.input[0]]
            name = node.name
        times[name] += float(np.median(durations[warmup:])) / 1000
    return times


def dlinfer_times(cli, model, threads, runs):
    env = dict(os.environ, DLINFER_NUM_THREADS=str(threads))
    out = subprocess.run([cli, "bench", model, "--iters", str(runs), "--device", "cpu", "--profile", "--top", "100000"],
                         capture_output=True, text=True, env=env, check=True).stdout
    times, listing = {}, False
    for line in out.splitlines():
        if line.startswith("latency"):
            print("dlinfer", line)
        if line.startswith("slowest nodes"):
            listing = True
            continue
        m = re.match(r"\s+([\d.]+)\s+(\S+)\s+(.*)$", line) if listing else None
        if m:
            times[m.group(3).strip()] = (float(m.group(1)), m.group(2))
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--cli", default=".build/release/dlinfer-cli")
    args = ap.parse_args()
    theirs = onnxruntime_times(args.model, args.threads, args.runs)
    ours = dlinfer_times(args.cli, args.model, args.threads, args.runs)
    print(f"node sums: onnxruntime {sum(theirs.values()):.3f} ms, dlinfer {sum(t for t, _ in ours.values()):.3f} ms")
    rows = sorted(((t - theirs.get(name, 0), name, op, t) for name, (t, op) in ours.items()), reverse=True)
    print(f"{'excess us':>10}  {'dlinfer ms':>10}  {'ORT ms':>8}  op / node")
    for excess, name, op, t in rows[:args.top]:
        other = f"{theirs[name]:.3f}" if name in theirs else "-"
        print(f"{excess * 1000:10.1f}  {t:10.3f}  {other:>8}  {op} {name}")
    unmatched = {k: v for k, v in theirs.items() if k not in ours}
    print(f"onnxruntime nodes matching none of dlinfer's: {sum(unmatched.values()):.3f} ms {sorted(unmatched)[:8]}")


if __name__ == "__main__":
    main()
