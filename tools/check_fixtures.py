#!/usr/bin/env python3
"""Runs every whole-model fixture (Tests/Fixtures/models/*: model.onnx + test_data_set_K) through the dlinfer Python
package on one device and compares each output with the stored onnxruntime output (rtol 1e-3, atol 1e-4). Needs only
numpy and onnx, so it runs where pytest and Swift are not installed (the GPU machine):

  DLINFER_LIBRARY=.build/release/libdlinfer.so python3 tools/check_fixtures.py --device opencl:nvidia
Prints one line per model (device, nodes on the CPU, worst difference); exits 1 if any output differs.
With --precision fp16 (float32 stored as half on the OpenCL device) the outputs are held to what the Swift test
OpenCLHalfStorageModelTests asks: the classifiers' top-1 equal to onnxruntime's, no NaN where onnxruntime has none,
error within 5% of the output's largest magnitude (detections, whose count may change, are reported only); the line
then gives that relative error. --time adds the median of 20 steady-state runs."""
import argparse
import os
import pathlib
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
os.environ.setdefault("DLINFER_LIBRARY", str(ROOT / ".build" / "release" / "libdlinfer.so"))
import dlinfer  # noqa: E402


def read(path):
    return numpy_helper.to_array(onnx.load_tensor(str(path)))


# As in Tests/DLInferTests/OpenCL/OpenCLHalfStorageModelTests.swift.
CLASSIFIERS = {"resnet_basic", "mobilenet_v2", "squeezenet1_1", "bilstm_classifier", "keras_digits_mlp", "keras_digits_cnn",
               "keras_sentiment", "resnet_qdq", "mobilenet_v3_small", "mobilenet_v3_small_dynamo", "convnext_tiny_cfg",
               "vit_tiny", "vit_tiny_dynamo", "vit_tiny_opset23", "swin_tiny_cfg", "efficientnet_fp16", "video_resnet_small"}
DETECTORS = {"ssdlite_small", "fasterrcnn_small", "yolov8_tiny_nms"}


def median_ms(session, feed, runs=20):
    session.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="dlinfer device (default: $DLINFER_DEVICE, else auto)")
    p.add_argument("--fixtures", default=str(ROOT / "Tests" / "Fixtures" / "models"))
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    p.add_argument("--time", action="store_true", help="also print the median of 20 steady-state runs")
    a = p.parse_args()
    half = a.precision == "fp16"
    so = dlinfer.SessionOptions()
    so.add_session_config_entry("dlinfer.precision", a.precision)
    failed = 0
    for model in sorted(pathlib.Path(a.fixtures).glob("*/model.onnx")):
        name = model.parent.name
        if half and name == "convnet_dynamic":
            continue  # refused under fp16: its int32 accumulators exceed half's range
        s = dlinfer.InferenceSession(str(model), so, device=a.device)
        names = [i.name for i in s.get_inputs()]
        worst, bad = 0.0, []
        for ds in sorted(model.parent.glob("test_data_set_*")):
            feed = {n: read(ds / f"input_{k}.pb") for k, n in enumerate(names)}
            for k, (got, want) in enumerate(zip(s.run(None, feed), [read(f) for f in sorted(ds.glob("output_*.pb"))])):
                if got.shape != want.shape or got.dtype != want.dtype:
                    if not (half and name in DETECTORS):
                        bad.append(f"{ds.name} output {k}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}")
                    continue
                if want.dtype.kind != "f":
                    if not np.array_equal(got, want) and not (half and name in DETECTORS):
                        bad.append(f"{ds.name} output {k}")
                    continue
                g, w = got.astype(np.float64), want.astype(np.float64)
                finite = np.isfinite(w)
                diff = float(np.max(np.abs(g - w)[finite], initial=0))
                if half:
                    scale = float(np.max(np.abs(w[finite]), initial=0))
                    worst = max(worst, diff / scale if scale > 0 else diff)
                    if np.any(np.isnan(g) & ~np.isnan(w)):
                        bad.append(f"{ds.name} output {k}: NaN")
                    if k == 0 and name in CLASSIFIERS and w.size and np.any(g.argmax(-1) != w.argmax(-1)):
                        bad.append(f"{ds.name}: top-1 differs")
                else:
                    worst = max(worst, diff)
                    if not np.allclose(got, want, rtol=1e-3, atol=1e-4, equal_nan=True):
                        bad.append(f"{ds.name} output {k}")
        if half and worst > 0.05 and name not in DETECTORS:
            bad.append(f"error {worst:.2e} of the largest magnitude")
        failed += bool(bad)
        status = "FAIL " + "; ".join(bad) if bad else "ok"
        timing = f"  median {median_ms(s, feed):.3f} ms" if a.time else ""
        what = "max|diff|/max|out|" if half else "max|diff|"
        print(f"{name:26} {s.device} {a.precision}  {s.cpu_node_count} nodes on the CPU  {what} {worst:.2e}{timing}  {status}")
    agree = "is within the fp16 bounds above" if half else "matches onnxruntime"
    print(f"{failed} of the fixtures differ" if failed else f"every fixture {agree}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
