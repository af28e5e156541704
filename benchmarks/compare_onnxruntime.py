#!/usr/bin/env python3
"""dlinfer CPU vs onnxruntime CPU latency, measured in the same run with the same thread count.

Models (batch 1):
  resnet18      torchvision resnet18, 3x224x224, random weights   } exported into benchmarks/.cache/ when torch and
  mobilenet_v2  torchvision mobilenet_v2, 3x224x224, random weights } torchvision are installed, else skipped
  lstm          2-layer LSTM, input 512, hidden 512, 100 steps, written with onnx.helper (needs no torch)

Each engine gets warm-up runs, then --runs timed runs of session.run; the table shows median and p90 latency and the
ratio dlinfer/onnxruntime of the medians (below 1: dlinfer is faster). Outputs of both engines are compared, so a
fast wrong answer does not pass unnoticed.

Threads: onnxruntime intra_op_num_threads = --threads and inter_op_num_threads = 1 (sequential execution);
DLINFER_NUM_THREADS = --threads, set before the library is loaded.

dlinfer is the Python package in bindings/python (imported from there) over the release library:
  swift build -c release && python3 benchmarks/compare_onnxruntime.py --threads 4
DLINFER_LIBRARY overrides the library path (default <repo>/.build/release/libdlinfer.so).
"""
import argparse
import os
import platform
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(REPO, "benchmarks", ".cache")
OPSET = 17


# ---- models ------------------------------------------------------------------------------------------------------

def torchvision_model(name):
    """Exports torchvision's `name` (random weights, eval mode, as users export: BN folded by the exporter)."""
    path = os.path.join(CACHE, f"{name}.onnx")
    if os.path.exists(path):
        return path, None
    try:
        import torch
        import torchvision
    except ImportError:
        return None, "torch/torchvision not installed (pip install torch torchvision) and no cached export"
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    os.makedirs(CACHE, exist_ok=True)
    tmp = path + ".tmp"
    # TorchScript exporter (dynamo=False): plain ONNX ops, the form most deployed models have.
    torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), tmp, opset_version=OPSET, dynamo=False,
                      input_names=["image"], output_names=["logits"])
    os.replace(tmp, path)
    return path, None


def lstm_model(layers=2, input_size=512, hidden=512, steps=100):
    """A stacked unidirectional LSTM over [steps, 1, input_size] (time-major), seeded uniform weights as PyTorch
    initialises them; output Y of the last layer, [steps, 1, hidden]."""
    path = os.path.join(CACHE, f"lstm{layers}x{hidden}_t{steps}.onnx")
    if os.path.exists(path):
        return path, None
    rng = np.random.default_rng(0)
    k = 1 / np.sqrt(hidden)
    nodes, inits = [], []
    x = "x"
    for layer in range(layers):
        size = input_size if layer == 0 else hidden
        for name, shape in (("W", (1, 4 * hidden, size)), ("R", (1, 4 * hidden, hidden)), ("B", (1, 8 * hidden))):
            inits.append(numpy_helper.from_array(rng.uniform(-k, k, shape).astype(np.float32), f"{name}{layer}"))
        y = f"y{layer}"
        nodes.append(helper.make_node("LSTM", [x, f"W{layer}", f"R{layer}", f"B{layer}"], [y], hidden_size=hidden))
        out = "y" if layer == layers - 1 else f"h{layer}"
        inits.append(numpy_helper.from_array(np.array([1], np.int64), f"axis{layer}"))
        nodes.append(helper.make_node("Squeeze", [y, f"axis{layer}"], [out]))  # drop num_directions
        x = out
    graph = helper.make_graph(
        nodes, "lstm_benchmark",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, input_size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [steps, 1, hidden])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="dlinfer-bench")
    onnx.checker.check_model(model)
    os.makedirs(CACHE, exist_ok=True)
    onnx.save(model, path)
    return path, None


MODELS = {
    "resnet18": lambda: torchvision_model("resnet18"),
    "mobilenet_v2": lambda: torchvision_model("mobilenet_v2"),
    "lstm": lstm_model,
}


def feeds_for(path):
    rng = np.random.default_rng(1)
    feeds = {}
    for i in onnx.load(path, load_external_data=False).graph.input:
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in i.type.tensor_type.shape.dim]
        feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


# ---- engines -----------------------------------------------------------------------------------------------------

def load_dlinfer(threads):
    """The dlinfer module, or (None, why not)."""
    os.environ["DLINFER_NUM_THREADS"] = str(threads)
    os.environ.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
    sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
    try:
        import dlinfer
    except Exception as e:  # the package or the library is missing or broken: report, still time onnxruntime
        return None, f"cannot import dlinfer ({type(e).__name__}: {e}); DLINFER_LIBRARY={os.environ['DLINFER_LIBRARY']}"
    return dlinfer, None


def time_runs(run, warmup, runs):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 90))


def bench_model(name, path, dlinfer, threads, warmup, runs):
    feeds = feeds_for(path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ref = sess.run(None, feeds)
    row = {"model": name, "ort": time_runs(lambda: sess.run(None, feeds), warmup, runs), "dl": None, "note": ""}
    if dlinfer is None:
        return row
    try:
        dsess = dlinfer.InferenceSession(path, device="cpu")
        got = dsess.run(None, feeds)
    except Exception as e:
        row["note"] = f"dlinfer failed: {type(e).__name__}: {e}"
        return row
    diffs = [float(np.max(np.abs(np.asarray(g, np.float64) - r))) if np.shape(g) == r.shape else float("inf")
             for g, r in zip(got, ref)]
    row["note"] = f"max abs diff vs ORT {max(diffs):.2e}"
    if not all(np.allclose(g, r, rtol=1e-3, atol=1e-4) for g, r in zip(got, ref)):
        row["note"] += " (OUTPUTS DIFFER beyond rtol 1e-3, atol 1e-4)"
    row["dl"] = time_runs(lambda: dsess.run(None, feeds), warmup, runs)
    return row


# ---- report ------------------------------------------------------------------------------------------------------

def host_lines(dlinfer, threads):
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}", f"onnx {onnx.__version__}",
                f"onnxruntime {ort.__version__}"]
    if dlinfer is not None:
        v = getattr(dlinfer, "__version__", None) or (dlinfer.version() if hasattr(dlinfer, "version") else "?")
        versions.append(f"dlinfer {v}")
    try:
        import torch
        versions.append(f"torch {torch.__version__} (export only)")
    except ImportError:
        pass
    return [f"host: {cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
            f"threads: {threads} (ORT intra_op {threads}, inter_op 1; DLINFER_NUM_THREADS={threads})",
            "versions: " + ", ".join(versions)]


def table(rows, warmup, runs):
    def ms(v):
        return f"{v:.2f}" if v is not None else "n/a"

    lines = [f"latency in ms, batch 1, {warmup} warm-up then {runs} timed runs",
             "| model | ORT median | ORT p90 | dlinfer median | dlinfer p90 | dlinfer/ORT | note |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        o, d = r["ort"], r["dl"]
        ratio = f"{d[0] / o[0]:.2f}" if d and o else "n/a"
        lines.append(f"| {r['model']} | {ms(o and o[0])} | {ms(o and o[1])} | {ms(d and d[0])} | {ms(d and d[1])} "
                     f"| {ratio} | {r['note']} |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="threads for both engines (default 1)")
    ap.add_argument("--runs", type=int, default=50, help="timed runs per engine and model (default 50)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed runs first (default 5)")
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    args = ap.parse_args()
    if args.threads < 1 or args.runs < 1 or args.warmup < 0:
        ap.error("--threads and --runs must be >= 1, --warmup >= 0")

    dlinfer, why = load_dlinfer(args.threads)
    if why:
        print(f"dlinfer: {why}; timing onnxruntime only", file=sys.stderr)
    rows = []
    for name in args.models:
        path, skip = MODELS[name]()
        if skip:
            print(f"{name}: skipped: {skip}", file=sys.stderr)
            continue
        print(f"{name}: {os.path.relpath(path, REPO)}", file=sys.stderr)
        rows.append(bench_model(name, path, dlinfer, args.threads, args.warmup, args.runs))
    print("\n".join(host_lines(dlinfer, args.threads) + [""] + table(rows, args.warmup, args.runs)))


if __name__ == "__main__":
    main()
