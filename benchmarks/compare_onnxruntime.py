#!/usr/bin/env python3
"""dlinfer CPU vs onnxruntime CPU: latency side by side in one process at the same thread count, and peak memory.

Models (batch 1; the default is the twelve of issue #12, --models picks some, `lstm` is extra):
  torchvision, random weights (seed 0), eval mode, image [1,3,224,224], exported on first use into benchmarks/.cache/
  (TorchScript exporter, opset 17, so BatchNorm is folded into Conv as in typical user exports) when torch and
  torchvision import, else skipped with a note:
    resnet18, mobilenet_v2, squeezenet1_1, shufflenet_v2 (shufflenet_v2_x1_0), googlenet (aux_logits=False,
    init_weights=True: the plain eval graph, no auxiliary heads), densenet121, vgg11_bn
  committed fixtures (Tests/Fixtures/models/NAME/model.onnx; see its README.md and KERAS.md):
    crnn_ctc         CRNN text-line reader: conv stack + 2-layer BiLSTM + per-frame Linear + log_softmax, trained
                     (= examples/models/crnn_ctc.onnx); image [1,1,32,128] -> 32 frames
    keras_sentiment  Embedding(81,16) + Bidirectional(LSTM(24)) + Dense sentiment scorer, trained in Keras, tf2onnx
                     (= examples/models/keras_sentiment.onnx); tokens [1,12] (its sentences have 3 to 14 words)
    gru_regressor    GRU sequence regressor: 2-layer GRU (hidden 32) over series [1,32,5] -> one value, random weights
    char_rnn         char-RNN, one generation step: 2-layer LSTM 160 over a vocabulary of 84, trained
                     (= examples/models/char_rnn.onnx); tokens [1,1], h0 and c0 [2,1,160]
    segmentation     encoder-decoder segmenter: Conv+BN+ReLU, two stride-2 Convs, ConvTranspose up + skip Concat,
                     nearest Resize up + skip Concat, 1x1 Conv to 4 classes, random weights; image [1,3,128,128]
  extra, not in the default set:
    lstm             2 stacked LSTM layers, input 512, hidden 512, 100 steps, [100,1,512], written with onnx.helper
Inputs (seed 1): float inputs standard normal; integer inputs (token ids) uniform in [1, rows) where rows is the
smallest embedding (a 2-D initializer that a Gather reads) in the model, else all 1; symbolic dimensions as listed above.

Latency: one subprocess per (model, thread count) imports both engines (DLINFER_NUM_THREADS=T set before dlinfer is
loaded; onnxruntime CPUExecutionProvider with intra_op_num_threads=T, inter_op_num_threads=1, sequential execution,
default graph optimisations and thread spinning). It checks the outputs once (rtol 1e-3, atol 1e-4), gives each engine
--warmup untimed runs, then --blocks blocks; a block is --runs calls of one engine's session.run, then --runs of the
other (the first engine alternates from block to block), with a --pause sleep at every switch so that the engine
just timed parks its spinning worker threads before the other one runs. By default --runs is chosen per model and
thread count from the warm-up runs so that a block lasts about --block-seconds (0.5 s). Each call is timed with
time.perf_counter around session.run (feeds in, numpy outputs back). Latency = median (and p90) over all timed calls
of that engine; dlinfer/ORT = ratio of the medians (below 1: dlinfer is faster); the geometric mean of the ratios
is over the models where both engines ran. numpy/BLAS threads are limited to 1 in the subprocesses.

Peak RSS: one more subprocess per (model, engine, thread count) imports numpy and that engine only, notes its peak
RSS (the baseline: interpreter + numpy + engine library), loads the model, runs it --rss-runs times (default 5) and
notes the peak RSS again. "peak" is the process's whole peak RSS in MiB; "+model" is peak minus baseline: what
loading and running the model added. The peak is VmHWM from /proc/self/status (the same counter as
getrusage(RUSAGE_SELF).ru_maxrss, but Linux carries ru_maxrss over fork and exec, so a worker would inherit this
script's own peak, which holds the exported models; ru_maxrss is the fallback where /proc is missing, and is in the
JSON too). "+model" includes shared libraries an engine maps only when its first session is created: for a dlinfer
built with OpenCL on a machine with PoCL that is PoCL's LLVM and libclang, about 55 MiB of file-backed pages.

Output: per thread count a table (model, median and p90 ms of each engine, the ratio, runs per block, peak and
+model RSS of each engine, the output check: "ok" with the largest absolute difference, or MISMATCH / the error),
the geometric mean of the ratios, the machine (CPU model, cores), date, load average and versions. --json PATH writes
every raw number (each timed call, block by block).

Run from anywhere (torchvision models need an interpreter with torch and torchvision):
  swift build -c release
  python3 benchmarks/compare_onnxruntime.py [--threads 1,2] [--models resnet18 char_rnn ...] [--json out.json]
  nice python3 benchmarks/compare_onnxruntime.py --blocks 2 --runs 3          # quick check that everything runs
dlinfer is the Python package in bindings/python over DLINFER_LIBRARY (default <repo>/.build/release/libdlinfer.so).
"""
import argparse
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.abspath(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(REPO, "benchmarks", ".cache")
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "models")
OPSET = 17
RESULT_TAG = "@@compare_onnxruntime@@ "


# ---- models (parent process) --------------------------------------------------------------------------------------

TORCHVISION = {  # our name: (torchvision builder, extra keyword arguments)
    "resnet18": ("resnet18", {}),
    "mobilenet_v2": ("mobilenet_v2", {}),
    "squeezenet1_1": ("squeezenet1_1", {}),
    "shufflenet_v2": ("shufflenet_v2_x1_0", {}),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": True}),
    "densenet121": ("densenet121", {}),
    "vgg11_bn": ("vgg11_bn", {}),
}

FIXTURE_DIMS = {  # fixture: values of its symbolic dimensions
    "crnn_ctc": {"N": 1, "W": 128},
    "keras_sentiment": {"N": 1, "T": 12},
    "gru_regressor": {"N": 1, "T": 32},
    "char_rnn": {"N": 1, "T": 1},
    "segmentation": {"N": 1, "H": 128, "W": 128},
}

DEFAULT_MODELS = list(TORCHVISION) + list(FIXTURE_DIMS)


def torchvision_model(name, builder=None, kwargs=None):
    """Exports torchvision's `builder` (random weights, eval mode, as users export: BN folded by the exporter)."""
    builder = builder or name
    path = os.path.join(CACHE, f"{name}.onnx")
    if os.path.exists(path):
        return path, None
    try:
        import torch
        import torchvision
    except ImportError:
        return None, "torch/torchvision not installed (pip install torch torchvision) and no cached export"
    torch.manual_seed(0)
    model = getattr(torchvision.models, builder)(weights=None, **(kwargs or {})).eval()
    os.makedirs(CACHE, exist_ok=True)
    tmp = path + ".tmp"
    # TorchScript exporter (dynamo=False): plain ONNX ops, the form most deployed models have.
    with torch.no_grad():
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), tmp, opset_version=OPSET, dynamo=False,
                          input_names=["image"], output_names=["logits"])
    os.replace(tmp, path)
    return path, None


def lstm_model(layers=2, input_size=512, hidden=512, steps=100):
    """A stacked unidirectional LSTM over [steps, 1, input_size] (time-major), seeded uniform weights as PyTorch
    initialises them; output Y of the last layer, [steps, 1, hidden]."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
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


def model_path(name):
    """(path, None) or (None, why it is skipped)."""
    if name in TORCHVISION:
        builder, kwargs = TORCHVISION[name]
        return torchvision_model(name, builder, kwargs)
    if name in FIXTURE_DIMS:
        path = os.path.join(FIXTURES, name, "model.onnx")
        return (path, None) if os.path.exists(path) else (None, f"fixture {path} missing")
    if name == "lstm":
        return lstm_model()
    raise ValueError(name)


def input_spec(name, path):
    """[{name, shape, dtype, high}] for the model's inputs: shapes with the symbolic dimensions filled in, and for
    integer inputs the exclusive upper bound of the ids (the smallest embedding's row count)."""
    import onnx
    from onnx import helper
    model = onnx.load(path, load_external_data=False)
    g = model.graph
    inits = {t.name: list(t.dims) for t in g.initializer}
    rows = [inits[n.input[0]][0] for n in g.node
            if n.op_type == "Gather" and n.input[0] in inits and len(inits[n.input[0]]) == 2]
    dims = FIXTURE_DIMS.get(name, {})
    spec = []
    for i in g.input:
        if i.name in inits:
            continue
        tt = i.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else dims.get(d.dim_param, 1) for d in tt.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type).name
        spec.append({"name": i.name, "shape": shape, "dtype": dtype, "high": min(rows) if rows else 2})
    return spec


# ---- subprocess workers -------------------------------------------------------------------------------------------

def make_feeds(spec):
    import numpy as np
    rng = np.random.default_rng(1)
    feeds = {}
    for s in spec:
        dt = np.dtype(s["dtype"])
        if dt.kind in "iu":
            feeds[s["name"]] = rng.integers(1, max(2, s["high"]), size=s["shape"]).astype(dt)
        elif dt.kind == "b":
            feeds[s["name"]] = np.ones(s["shape"], dt)
        else:
            feeds[s["name"]] = rng.standard_normal(s["shape"]).astype(dt)
    return feeds


def import_dlinfer():
    os.environ.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
    sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
    import dlinfer
    return dlinfer


def ort_session(ort, path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def error_text(e):
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:300]


def worker_latency(job):
    """Both engines in this process, alternating blocks; returns every timed call."""
    import numpy as np
    import onnxruntime as ort
    feeds = make_feeds(job["spec"])
    out = {"versions": {"numpy": np.__version__, "onnxruntime": ort.__version__}, "ort": None, "dlinfer": None,
           "check": None, "dlinfer_error": None}
    sessions = {"ort": ort_session(ort, job["path"], job["threads"])}
    ref = sessions["ort"].run(None, feeds)
    if job["dlinfer"]:
        try:
            dlinfer = import_dlinfer()
            out["versions"]["dlinfer"] = f"{dlinfer.__version__} (library {dlinfer.library_version()})"
            dsess = dlinfer.InferenceSession(job["path"], device="cpu")
            got = dsess.run(None, feeds)
            sessions["dlinfer"] = dsess
        except Exception as e:  # report, still time onnxruntime
            out["dlinfer_error"] = error_text(e)
        else:
            diffs, ok = [], True
            for g, r in zip(got, ref):
                g = np.asarray(g)
                if g.shape != r.shape:
                    diffs.append(float("inf"))
                    ok = False
                    continue
                d = np.abs(g.astype(np.float64) - r.astype(np.float64))
                diffs.append(float(np.max(d)) if d.size else 0.0)
                ok = ok and bool(np.allclose(g, r, rtol=1e-3, atol=1e-4))
            ok = ok and len(got) == len(ref)
            out["check"] = {"ok": ok, "max_abs_diff": max(diffs) if diffs else 0.0,
                            "shapes": [list(np.shape(g)) for g in got], "ref_shapes": [list(r.shape) for r in ref]}
    engines = list(sessions)
    calls = {e: (lambda s=sessions[e]: s.run(None, feeds)) for e in engines}
    warm = {}
    for e in engines:
        ts = []
        for _ in range(job["warmup"]):
            t0 = time.perf_counter()
            calls[e]()
            ts.append(time.perf_counter() - t0)
        warm[e] = ts
        time.sleep(job["pause"])
    runs = job["runs"]
    if runs is None:  # a block of about block_seconds for the average engine, from the later warm-up calls
        per = []
        for e in engines:
            ts = warm[e][1:] or warm[e]
            if not ts:
                t0 = time.perf_counter()
                calls[e]()
                ts = [time.perf_counter() - t0]
            per.append(float(np.median(ts)))
        runs = max(1, int(round(job["block_seconds"] / max(1e-6, float(np.mean(per))))))
    times = {e: [] for e in engines}
    for b in range(job["blocks"]):
        for e in (engines if b % 2 == 0 else engines[::-1]):
            block = []
            for _ in range(runs):
                t0 = time.perf_counter()
                calls[e]()
                block.append((time.perf_counter() - t0) * 1e3)
            times[e].append(block)
            time.sleep(job["pause"])
    for e in engines:
        flat = np.array([t for block in times[e] for t in block])
        out[e] = {"median_ms": float(np.median(flat)), "p90_ms": float(np.percentile(flat, 90)),
                  "block_medians_ms": [float(np.median(b)) for b in times[e]], "calls_ms": times[e],
                  "warmup_ms": [t * 1e3 for t in warm[e]]}
    out["runs_per_block"] = runs
    return out


def peak_rss_kib():
    """This process's peak RSS in KiB: VmHWM of /proc/self/status, else getrusage's ru_maxrss. Linux carries
    ru_maxrss over fork and exec, so a worker started by a parent that holds a big model (the exporter, onnx.load of
    vgg11_bn) would report the parent's peak; VmHWM belongs to the worker's own address space."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker_rss(job):
    """One engine alone: peak RSS after the imports (baseline), then after loading and running the model."""
    feeds = make_feeds(job["spec"])  # imports numpy
    if job["engine"] == "ort":
        import onnxruntime as ort
    else:
        dlinfer = import_dlinfer()
    base = peak_rss_kib()
    if job["engine"] == "ort":
        sess = ort_session(ort, job["path"], job["threads"])
    else:
        sess = dlinfer.InferenceSession(job["path"], device="cpu")
    for _ in range(job["rss_runs"]):
        sess.run(None, feeds)
    peak = peak_rss_kib()
    return {"baseline_kib": base, "peak_kib": peak,
            "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def worker_main(arg):
    job = json.loads(arg)
    try:
        result = worker_latency(job) if job["kind"] == "latency" else worker_rss(job)
    except Exception as e:
        result = {"error": error_text(e)}
    sys.stdout.write(RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_worker(job, threads, timeout):
    """Runs a job in a fresh interpreter (same as this one) with the thread settings in its environment."""
    env = dict(os.environ)
    env["DLINFER_NUM_THREADS"] = str(threads)
    env.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # numpy's BLAS: not timed, keep it idle
        env[k] = "1"
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)], env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"error": f"worker exited with status {p.returncode} ({tail[:300]})", "crashed": True}


# ---- report -------------------------------------------------------------------------------------------------------

def host_info():
    cpu, physical = platform.processor() or "unknown CPU", None
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
        ids = {(line.split(":", 1)[1].strip()) for line in text.splitlines() if line.startswith("core id")}
        pkgs = {(line.split(":", 1)[1].strip()) for line in text.splitlines() if line.startswith("physical id")}
        physical = len(ids) * max(1, len(pkgs)) if ids else None
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) / 1024 ** 2
    except (OSError, StopIteration, ValueError):
        pass
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "physical_cores": physical,
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "memory_gib": round(mem, 1) if mem else None, "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version()}


def fmt(v, spec=".2f"):
    return format(v, spec) if v is not None else "n/a"


def ms(v):
    """Milliseconds: three decimals below 1 ms (the recurrent steps take tens of microseconds), else two."""
    return fmt(v, ".3f" if v is not None and v < 1 else ".2f")


def mib(kib):
    return kib / 1024 if kib is not None else None


def rss_cell(r):
    if r is None:
        return "n/a"
    if "error" in r:
        return "failed"
    return f"{mib(r['peak_kib']):.0f} (+{mib(r['peak_kib'] - r['baseline_kib']):.0f})"


def check_cell(row):
    lat = row["latency"]
    if "error" in lat:
        return f"**worker failed**: {lat['error']}"
    notes = []
    if row.get("dlinfer_crash"):
        notes.append(f"**dlinfer crashed the process**: {row['dlinfer_crash']}; ORT timed alone")
    if lat.get("dlinfer_error"):
        notes.append(f"**dlinfer failed**: {lat['dlinfer_error']}")
    c = lat.get("check")
    if c:
        if c["ok"]:
            notes.append(f"ok (max abs diff {c['max_abs_diff']:.1e})")
        else:
            notes.append(f"**MISMATCH** beyond rtol 1e-3, atol 1e-4: max abs diff {c['max_abs_diff']:.2e}"
                         + ("" if c["shapes"] == c["ref_shapes"] else f", shapes {c['shapes']} vs {c['ref_shapes']}"))
    return "; ".join(notes) or "dlinfer not run"


def ratio(row):
    lat = row["latency"]
    o, d = lat.get("ort"), lat.get("dlinfer")
    return d["median_ms"] / o["median_ms"] if o and d else None


def table(rows, threads):
    lines = [f"### {threads} thread{'s' if threads > 1 else ''} (ORT intra_op {threads}, inter_op 1, sequential; "
             f"DLINFER_NUM_THREADS={threads})", "",
             "| model | ORT ms median | ORT p90 | dlinfer ms median | dlinfer p90 | dlinfer/ORT | runs x blocks "
             "| ORT peak RSS MiB (+model) | dlinfer peak RSS MiB (+model) | outputs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    ratios, mismatched = [], []
    for row in rows:
        lat = row["latency"]
        o, d = lat.get("ort"), lat.get("dlinfer")
        r = ratio(row)
        if r is not None:
            ratios.append(r)
            if lat.get("check") and not lat["check"]["ok"]:
                mismatched.append(row["model"])
        blocks = f"{lat['runs_per_block']} x {len(o['calls_ms'])}" if o else "n/a"
        lines.append(f"| {row['model']} | {ms(o and o['median_ms'])} | {ms(o and o['p90_ms'])} "
                     f"| {ms(d and d['median_ms'])} | {ms(d and d['p90_ms'])} | {fmt(r)} | {blocks} "
                     f"| {rss_cell(row['rss'].get('ort'))} | {rss_cell(row['rss'].get('dlinfer'))} "
                     f"| {check_cell(row)} |")
    gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else None
    lines += ["", f"geometric mean of dlinfer/ORT at {threads} thread{'s' if threads > 1 else ''}: {fmt(gm, '.3f')} "
                  f"over {len(ratios)} model{'s' if len(ratios) != 1 else ''}"
              + (f" (including {', '.join(mismatched)} whose outputs DIFFER)" if mismatched else "")]
    return lines, gm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", choices=DEFAULT_MODELS + ["lstm"], default=DEFAULT_MODELS,
                    help="default: the twelve of issue #12")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--blocks", type=int, default=5, help="blocks per engine (default 5)")
    ap.add_argument("--runs", type=int, default=None,
                    help="calls per block (default: per model, so that a block lasts about --block-seconds)")
    ap.add_argument("--block-seconds", type=float, default=0.5, help="target block length for the default --runs")
    ap.add_argument("--warmup", type=int, default=5, help="untimed calls per engine first (default 5)")
    ap.add_argument("--pause", type=float, default=0.05, help="seconds of sleep at each engine switch (default 0.05)")
    ap.add_argument("--rss-runs", type=int, default=5, help="runs in each peak-RSS process (default 5)")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS processes")
    ap.add_argument("--no-dlinfer", action="store_true", help="time onnxruntime only")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed per subprocess (default 1800)")
    ap.add_argument("--json", metavar="PATH", help="write the raw numbers here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        return worker_main(args.worker)
    try:
        thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        ap.error("--threads takes comma-separated integers, e.g. 1,2")
    if (not thread_counts or min(thread_counts) < 1 or args.blocks < 1 or (args.runs is not None and args.runs < 1)
            or args.warmup < 0 or args.rss_runs < 1 or args.block_seconds <= 0 or args.pause < 0):
        ap.error("--threads, --blocks, --runs, --rss-runs must be >= 1, --warmup and --pause >= 0")

    started = datetime.datetime.now().astimezone()
    load_before = os.getloadavg()
    models = []
    for name in args.models:
        try:
            path, skip = model_path(name)
        except Exception as e:  # an export that fails: skip the model, say why
            path, skip = None, f"export failed: {error_text(e)}"
        if skip:
            print(f"{name}: skipped: {skip}", file=sys.stderr)
            models.append({"model": name, "skipped": skip})
            continue
        spec = input_spec(name, path)
        models.append({"model": name, "path": os.path.relpath(path, REPO), "spec": spec,
                       "size_mb": os.path.getsize(path) / 1e6})
        print(f"{name}: {os.path.relpath(path, REPO)}, " + ", ".join(f"{s['name']} {s['dtype']} {s['shape']}"
                                                                     for s in spec), file=sys.stderr)

    results, versions = [], {}
    for threads in thread_counts:
        for m in models:
            if "skipped" in m:
                continue
            job = {"kind": "latency", "path": os.path.join(REPO, m["path"]), "spec": m["spec"], "threads": threads,
                   "warmup": args.warmup, "blocks": args.blocks, "runs": args.runs, "pause": args.pause,
                   "block_seconds": args.block_seconds, "dlinfer": not args.no_dlinfer}
            t0 = time.perf_counter()
            lat = run_worker(job, threads, args.timeout)
            row = {"model": m["model"], "threads": threads, "latency": lat, "rss": {}}
            if lat.get("crashed") and job["dlinfer"]:  # dlinfer took the process down: time onnxruntime alone
                row["dlinfer_crash"] = lat["error"]
                lat = row["latency"] = run_worker(dict(job, dlinfer=False), threads, args.timeout)
            versions.update(lat.get("versions", {}))
            if not args.no_rss:
                for engine in ["ort"] + ([] if args.no_dlinfer else ["dlinfer"]):
                    row["rss"][engine] = run_worker({"kind": "rss", "engine": engine, "path": job["path"],
                                                     "spec": m["spec"], "threads": threads,
                                                     "rss_runs": args.rss_runs}, threads, args.timeout)
            results.append(row)
            r = ratio(row)
            print(f"{m['model']} at {threads} thread(s): ORT {ms(lat.get('ort') and lat['ort']['median_ms'])} ms, "
                  f"dlinfer {ms(lat.get('dlinfer') and lat['dlinfer']['median_ms'])} ms, ratio {fmt(r)}; "
                  f"{check_cell(row)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    host = host_info()
    try:
        import numpy
        versions.setdefault("numpy", numpy.__version__)
    except ImportError:
        pass
    try:
        import torch
        import torchvision
        versions["torch"] = f"{torch.__version__}, torchvision {torchvision.__version__} (export only)"
    except ImportError:
        pass
    load_after = os.getloadavg()
    out = [f"date: {started.isoformat(timespec='seconds')}",
           f"host: {host['cpu']}, {host['physical_cores'] or '?'} physical / {host['logical_cores']} logical cores "
           f"({host['usable_cores']} usable), {host['memory_gib']} GiB, {host['system']}",
           f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}",
           "versions: " + ", ".join([f"python {host['python']}"] + [f"{k} {v}" for k, v in versions.items()]),
           f"batch 1; {args.warmup} warm-up calls per engine, then {args.blocks} alternating blocks per engine of "
           f"{'--runs ' + str(args.runs) if args.runs else f'about {args.block_seconds} s'} calls; ms = wall time "
           "of session.run; peak RSS = VmHWM of a process running that engine alone, (+model) = peak minus "
           "the same process's peak after importing numpy and the engine", "", "models:"]
    for m in models:
        out.append(f"  {m['model']}: " + (f"skipped ({m['skipped']})" if "skipped" in m else
                                          f"{m['path']} ({m['size_mb']:.1f} MB), " +
                                          ", ".join(f"{s['name']} {s['dtype']} {s['shape']}" for s in m["spec"])))
    geomeans = {}
    for threads in thread_counts:
        lines, gm = table([r for r in results if r["threads"] == threads], threads)
        geomeans[threads] = gm
        out += [""] + lines
    print("\n".join(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": started.isoformat(timespec="seconds"), "host": host, "versions": versions,
                       "load_average": {"before": load_before, "after": load_after}, "args": vars(args),
                       "models": models, "results": results,
                       "geomean_dlinfer_over_ort": {str(k): v for k, v in geomeans.items()}}, f, indent=1)
        print(f"raw numbers: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
