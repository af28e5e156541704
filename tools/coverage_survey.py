#!/usr/bin/env python3
"""Runs every model of a zoo (tools/export_model_zoo.py) through dlinfer and compares with onnxruntime's outputs.

    python3 tools/coverage_survey.py ZOO_DIR [--device cpu] [--lib PATH] [--only REGEX] [--timeout S] [--jobs N]
                                             [--json PATH] [--refresh-lib] [--reuse ZOO_DIR/survey.json]

Each ZOO_DIR/<model>__<exporter>/ with a model.onnx and test_data_set_0 is loaded with dlinfer's Python package
(bindings/python, found from this file) in its own subprocess with a timeout (default 600 s), so a crash or a hang
of the library is reported as such; the inputs input_K.pb are fed by their names and every output is compared with
output_K.pb in order: float outputs with rtol 1e-3, atol 1e-4 (NaNs equal), integer/bool outputs exactly; shapes and
dtypes are compared first (detection outputs whose size depends on the data differ in shape when dlinfer keeps a
different number of boxes).

The library: --lib PATH, else $DLINFER_LIBRARY, else a copy of .build/release/libdlinfer.so taken once into
/tmp/survey-lib/ (so that rebuilds by others during the survey do not change it; --refresh-lib copies it again).

--reuse takes the results of an earlier run (same library file and mtime, same device) for the folders whose
meta.json is older than that result, so a survey of a growing zoo only runs the new exports.

Prints a markdown table (model, exporter, status, load/run seconds) and a summary; writes ZOO_DIR/survey.json
(or --json). Statuses:
  passed                       every output within tolerance
  mismatch                     max |diff| (and which output), or a shape/dtype difference
  rejected                     dlinfer refused the model at load (first line of its error)
  run error                    loaded, but the run failed (first line of its error)
  crashed / timed out          the worker died (signal) or exceeded the timeout
  ORT failed / export failed   onnxruntime could not load or run the export, or the exporter failed: not
                               dlinfer's, counted apart
Needs numpy and onnx (the system python3 here).
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB_COPY = "/tmp/survey-lib/libdlinfer.so"


def first_line(s):
    s = (s or "").strip()
    return s.splitlines()[0][:240] if s else ""


def worker(folder, device):
    """Runs in the subprocess; prints one JSON line."""
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import numpy as np
    import onnx
    from onnx import numpy_helper
    import dlinfer

    res = dict(status=None)

    def done():
        print("SURVEY-RESULT " + json.dumps(res), flush=True)

    ds = os.path.join(folder, "test_data_set_0")
    ins = [onnx.load_tensor(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")),
                                                 key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))]
    outs = [numpy_helper.to_array(onnx.load_tensor(p)) for p in sorted(
        glob.glob(os.path.join(ds, "output_*.pb")), key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))]
    feed = {t.name: numpy_helper.to_array(t) for t in ins}
    t0 = time.time()
    try:
        s = dlinfer.InferenceSession(os.path.join(folder, "model.onnx"), device=device)
    except Exception as e:  # noqa: BLE001
        res.update(status="rejected", error=str(e)[:4000], load_s=round(time.time() - t0, 2))
        return done()
    res["load_s"] = round(time.time() - t0, 2)
    try:
        res["cpu_nodes"] = s.cpu_node_count
    except Exception:  # noqa: BLE001
        pass
    t0 = time.time()
    try:
        got = s.run(None, feed)
    except Exception as e:  # noqa: BLE001
        res.update(status="run error", error=str(e)[:4000], run_s=round(time.time() - t0, 2))
        return done()
    res["run_s"] = round(time.time() - t0, 2)
    if len(got) != len(outs):
        res.update(status="mismatch", error=f"{len(got)} outputs vs onnxruntime's {len(outs)}")
        return done()
    worst, problems = 0.0, []
    for k, (g, w) in enumerate(zip(got, outs)):
        g = np.asarray(g)
        if g.shape != w.shape:
            problems.append(f"output {k}: shape {list(g.shape)} vs {list(w.shape)}")
            continue
        if g.dtype != w.dtype:
            problems.append(f"output {k}: dtype {g.dtype} vs {w.dtype}")
            continue
        if w.dtype.kind in "fc":
            if w.size:
                d = np.abs(g.astype(np.float64) - w.astype(np.float64))
                d = d[~(np.isnan(g) & np.isnan(w))] if np.isnan(w).any() or np.isnan(g).any() else d
                worst = max(worst, float(np.nanmax(d, initial=0)) if d.size else 0.0)
            if not np.allclose(g, w, rtol=1e-3, atol=1e-4, equal_nan=True):
                dd = float(np.nanmax(np.abs(g.astype(np.float64) - w.astype(np.float64)), initial=0))
                problems.append(f"output {k}: max|diff| {dd:.3g}")
        elif not np.array_equal(g, w):
            problems.append(f"output {k}: {int(np.sum(g != w))} of {w.size} {w.dtype} values differ")
    res["max_abs_diff"] = worst
    res.update(status="mismatch", error="; ".join(problems)) if problems else res.update(status="passed")
    return done()


def survey_one(folder, device, timeout, env):
    meta_p = os.path.join(folder, "meta.json")
    meta = json.load(open(meta_p)) if os.path.exists(meta_p) else {}
    key = os.path.basename(folder)
    model, _, exporter = key.rpartition("__")
    base = dict(key=key, model=model, exporter=meta.get("exporter", exporter), opset=meta.get("opset"))
    if meta.get("export_error") or not os.path.exists(os.path.join(folder, "model.onnx")):
        return dict(base, status="export failed", error=first_line(meta.get("export_error", "no model.onnx")))
    if not meta.get("ort_run", True) or not os.path.isdir(os.path.join(folder, "test_data_set_0")):
        return dict(base, status="ORT failed", error=first_line(meta.get("ort_error") or "no reference outputs"))
    t0 = time.time()
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--_worker", folder, device or ""],
                           capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return dict(base, status="timed out", error=f"no result after {timeout} s", wall_s=timeout)
    wall = round(time.time() - t0, 1)
    line = next((x for x in p.stdout.splitlines() if x.startswith("SURVEY-RESULT ")), None)
    if line is None:
        why = f"signal {-p.returncode}" if p.returncode < 0 else f"exit status {p.returncode}"
        return dict(base, status="crashed", error=f"{why}: {first_line(p.stderr[-2000:].strip().splitlines()[-1] if p.stderr.strip() else '')}",
                    wall_s=wall)
    r = json.loads(line[len("SURVEY-RESULT "):])
    tv = meta.get("ort_vs_torch_max_abs")
    if r["status"] == "mismatch" and isinstance(tv, list) and tv and all(isinstance(x, float) for x in tv) \
            and max(tv) >= 0.1 * r.get("max_abs_diff", 0) > 0:
        # Random weights can make activations explode (deep nets, default BatchNorm statistics): then onnxruntime
        # is as far from PyTorch as dlinfer is from onnxruntime, and the difference is float32 rounding.
        r["error"] += f" (ill-conditioned: onnxruntime vs PyTorch differ by {max(tv):.3g} too)"
        r["ill_conditioned"] = True
    return dict(base, **r, wall_s=wall)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("zoo", nargs="?")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--lib")
    ap.add_argument("--refresh-lib", action="store_true")
    ap.add_argument("--only", help="regular expression over '<model>__<exporter>' (re.search)")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--reuse", metavar="JSON", help="take results from an earlier survey.json (same library) for "
                    "folders not exported again since")
    ap.add_argument("--_worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._worker:
        worker(a._worker[0], a._worker[1] or None)
        return
    if not a.zoo:
        ap.error("ZOO_DIR is required")
    lib = a.lib or os.environ.get("DLINFER_LIBRARY")
    if not lib:
        if a.refresh_lib or not os.path.exists(LIB_COPY):
            os.makedirs(os.path.dirname(LIB_COPY), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, ".build", "release", "libdlinfer.so"), LIB_COPY + ".tmp")
            os.replace(LIB_COPY + ".tmp", LIB_COPY)
        lib = LIB_COPY
    env = dict(os.environ, DLINFER_LIBRARY=os.path.abspath(lib),
               PYTHONPATH=os.path.join(ROOT, "bindings", "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    folders = sorted(d for d in glob.glob(os.path.join(a.zoo, "*__*")) if os.path.isdir(d)
                     and (not a.only or re.search(a.only, os.path.basename(d))))
    st = os.stat(lib)
    print(f"dlinfer library {lib} ({st.st_size} bytes, modified {time.ctime(st.st_mtime)}), device {a.device}, "
          f"{len(folders)} models\n", file=sys.stderr)
    old = {}
    if a.reuse and os.path.exists(a.reuse):
        prev = json.load(open(a.reuse))
        if prev.get("library") == lib and prev.get("device") == a.device and prev.get("library_mtime") == st.st_mtime:
            old = {r["key"]: r for r in prev["results"] if r.get("surveyed_at", 0) > os.path.getmtime(
                os.path.join(a.zoo, r["key"], "meta.json")) if os.path.exists(os.path.join(a.zoo, r["key"], "meta.json"))}
        print(f"reusing {len(old)} results from {a.reuse}", file=sys.stderr)

    def one(f):
        key = os.path.basename(f)
        if key in old:
            return old[key]
        return dict(survey_one(f, a.device, a.timeout, env), surveyed_at=time.time())
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        futs = {ex.submit(one, f): f for f in folders}
        for f in concurrent.futures.as_completed(futs):
            r = f.result()
            print(f"  {r['key']}: {r['status']} {first_line(r.get('error'))}", file=sys.stderr, flush=True)
    results = sorted((f.result() for f in futs), key=lambda r: (r["model"], r["exporter"]))
    print("| model | exporter | opset | status | detail | load s | run s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        detail = (f"max-abs-diff {r['max_abs_diff']:.2e}" if r["status"] == "passed"
                  else first_line(r.get("error")).replace("|", "\\|"))
        print(f"| {r['model']} | {r['exporter']} | {r.get('opset')} | {r['status']} | {detail} | "
              f"{r.get('load_s', '')} | {r.get('run_s', '')} |")
    counts = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    counted = [r for r in results if r["status"] not in ("export failed", "ORT failed")]
    print(f"\n{len(results)} models: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))
    print(f"dlinfer: {counts.get('passed', 0)} passed of {len(counted)} that onnxruntime ran")
    ill = [r["key"] for r in results if r.get("ill_conditioned")]
    if ill:
        print(f"  of the mismatches, {len(ill)} are ill-conditioned (onnxruntime as far from PyTorch): {', '.join(ill)}")
    for exn in sorted({r["exporter"] for r in counted}):
        sub = [r for r in counted if r["exporter"] == exn]
        print(f"  {exn}: {sum(r['status'] == 'passed' for r in sub)} passed of {len(sub)}")
    # Which missing ops block how many models (from dlinfer's "operators dlinfer does not support: X (node ...)").
    missing, other = {}, {}
    for r in results:
        if r["status"] not in ("rejected", "run error", "crashed", "timed out"):
            continue
        err = r.get("error") or ""
        ops = re.findall(r"(?:support: |\), )([A-Za-z0-9_.:]+) \(node", err)
        if r["status"] == "rejected" and ops:
            r["missing_ops"] = ops
            for op in ops:
                missing[op] = missing.get(op, 0) + 1
        else:
            msg = re.sub(r"'[^']*'", "'…'", first_line(err))[:160]
            other[(r["status"], msg)] = other.get((r["status"], msg), 0) + 1
    if missing:
        print("\nunsupported ops, by number of models they block:")
        print("  " + ", ".join(f"{op} {n}" for op, n in sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))))
        one = {}
        for r in results:
            if len(r.get("missing_ops", [])) == 1:
                one[r["missing_ops"][0]] = one.get(r["missing_ops"][0], 0) + 1
        if one:
            print("  the only missing op of: " + ", ".join(f"{op} {n}" for op, n in sorted(one.items(), key=lambda kv: -kv[1])))
    if other:
        print("\nother failures (names elided):")
        for (stt, msg), n in sorted(other.items(), key=lambda kv: -kv[1]):
            print(f"  {n:4}  {stt}: {msg}")
    with open(a.json or os.path.join(a.zoo, "survey.json"), "w") as f:
        json.dump(dict(library=lib, library_mtime=st.st_mtime, device=a.device, results=results), f, indent=1)


if __name__ == "__main__":
    main()
