#!/usr/bin/env python3
"""Where fusing the exporters' decomposed attention pays: dlinfer with the FuseAttention pass, dlinfer without it
(DLINFER_DISABLE_PASSES=fuse-attention), and onnxruntime (all its graph optimisations on), in one run, same threads.

Each model is one self-attention core in the form the TorchScript exporter writes for BERT (Reshape and Transpose
of Q, K, V with K by [0,2,3,1], sqrt-scale on Q and K, Add of a [1,1,1,S] padding mask, Softmax,
Where(IsNaN(P), 0, P), MatMul V, Transpose and Reshape back), written with onnx.helper; inputs Q, K, V are
[1, S, hidden] (the projections are left out: they are plain GEMMs either way). `--block` adds the four projection
GEMMs, for the share attention has in a whole encoder layer.

Engines alternate in blocks of --runs runs (not call by call: each keeps worker threads spinning after a run),
--rounds times; the medians over all runs are reported with the ratios unfused/fused (above 1: fusing pays) and
fused/ORT. Outputs are checked against onnxruntime's.

  swift build -c release --product dlinfer && python3 benchmarks/attention_fusion.py --threads 1
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(REPO, "benchmarks", ".cache")

# name: (hidden, heads, sequence)
CONFIGS = {
    "tiny-S32": (64, 2, 32),
    "vit-s-S197": (384, 6, 197),
    "bert-base-S128": (768, 12, 128),
    "bert-base-S512": (768, 12, 512),
}


def attention_model(hidden, heads, seq, block):
    path = os.path.join(CACHE, f"attention_h{hidden}_n{heads}_s{seq}{'_block' if block else ''}.onnx")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(0)
    d = hidden // heads
    nodes, inits = [], []

    def const(name, a, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(a, dtype=dtype), name))
        return name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    split = const("split_shape", [1, seq, heads, d], np.int64)
    root = const("root", np.float32(1 / np.sqrt(np.sqrt(d))))
    inputs = []
    operands = {}
    for name, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        x = name if not block else "x"
        if not block:
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, seq, hidden]))
        else:
            w = const(f"w{name}", rng.normal(0, hidden ** -0.5, (hidden, hidden)))
            x = node("MatMul", ["x", w], f"p{name}")
        operands[name] = node("Transpose", [node("Reshape", [x, split], f"r{name}")], f"t{name}", perm=perm)
    if block:
        inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, hidden]))
    inputs.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 1, seq]))
    scores = node("MatMul", [node("Mul", [operands["q"], root], "sq"), node("Mul", [operands["k"], root], "sk")], "scores")
    p = node("Softmax", [node("Add", [scores, "mask"], "masked")], "p", axis=-1)
    guarded = node("Where", [node("IsNaN", [p], "isnan"), const("zero", np.float32(0)), p], "guarded")
    ctx = node("Transpose", [node("MatMul", [guarded, operands["v"]], "ctx")], "tctx", perm=[0, 2, 1, 3])
    out = node("Reshape", [ctx, const("merged", [1, seq, hidden], np.int64)], "y" if not block else "merged_ctx")
    if block:
        node("MatMul", [out, const("wo", rng.normal(0, hidden ** -0.5, (hidden, hidden)))], "y")
    graph = helper.make_graph(nodes, "attention", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, hidden])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="dlinfer-bench")
    onnx.checker.check_model(model)
    os.makedirs(CACHE, exist_ok=True)
    onnx.save(model, path)
    return path


def feeds_for(path, seq):
    rng = np.random.default_rng(1)
    feeds = {}
    for i in onnx.load(path).graph.input:
        shape = [dim.dim_value for dim in i.type.tensor_type.shape.dim]
        feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    mask = np.zeros((1, 1, 1, seq), np.float32)
    mask[..., seq - seq // 8:] = -np.inf  # padding at the end, as a batch of unequal sentences has
    feeds["mask"] = mask
    return feeds


def timed(run, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20, help="runs per engine per block (default 20)")
    ap.add_argument("--rounds", type=int, default=3, help="blocks per engine (default 3)")
    ap.add_argument("--block", action="store_true", help="include the Q, K, V and output projections")
    ap.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    args = ap.parse_args()
    os.environ["DLINFER_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
    sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
    import dlinfer

    print(f"threads {args.threads}, {args.rounds} blocks of {args.runs} runs per engine, "
          f"{'attention block with projections' if args.block else 'attention core only'}; "
          f"onnxruntime {ort.__version__}; host {os.cpu_count()} logical cores")
    print("| model | fused ms | unfused ms | ORT ms | unfused/fused | fused/ORT | max abs diff vs ORT |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.configs:
        hidden, heads, seq = CONFIGS[name]
        path = attention_model(hidden, heads, seq, args.block)
        feeds = feeds_for(path, seq)
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        ort_sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        ref = ort_sess.run(None, feeds)[0]
        fused = dlinfer.InferenceSession(path, device="cpu")
        os.environ["DLINFER_DISABLE_PASSES"] = "fuse-attention"
        unfused = dlinfer.InferenceSession(path, device="cpu")
        del os.environ["DLINFER_DISABLE_PASSES"]
        diff = 0.0
        for s in (fused, unfused):
            got = s.run(None, feeds)[0]
            if not np.allclose(got, ref, rtol=1e-3, atol=1e-4):
                sys.exit(f"{name}: dlinfer's output differs from onnxruntime's")
            diff = max(diff, float(np.max(np.abs(got - ref))))
        engines = {"fused": lambda: fused.run(None, feeds), "unfused": lambda: unfused.run(None, feeds),
                   "ort": lambda: ort_sess.run(None, feeds)}
        times = {k: [] for k in engines}
        for run in engines.values():
            for _ in range(3):
                run()
        for _ in range(args.rounds):
            for k, run in engines.items():
                times[k] += timed(run, args.runs)
        med = {k: float(np.median(v)) for k, v in times.items()}
        print(f"| {name} | {med['fused']:.3f} | {med['unfused']:.3f} | {med['ort']:.3f} | "
              f"{med['unfused'] / med['fused']:.2f} | {med['fused'] / med['ort']:.2f} | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
