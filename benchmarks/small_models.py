#!/usr/bin/env python3
"""Per-run latency of small models, dlinfer CPU against onnxruntime CPU, through each engine's Python API.

Small models (one recurrent step, a tiny CNN) are dominated by per-run and per-node overhead, which this measures.
Both engines run in one process with one thread (DLINFER_NUM_THREADS=1, intra_op_num_threads=1), alternating in
blocks of --runs calls after --warmup calls, for --blocks blocks each; the median over blocks is printed with the
ratio dlinfer / onnxruntime. Symbolic dimensions are 1; float inputs uniform in [0, 1), integer inputs 1. The
outputs of the two engines are compared so that a fast wrong answer does not pass unnoticed.

    swift build -c release
    DLINFER_LIBRARY=.build/release/libdlinfer.so python3 benchmarks/small_models.py [MODEL.onnx ...]
(default: the bundled char_rnn, keras_sentiment, keras_gru_forecaster and digits_cnn examples)
"""
import argparse
import os
import pathlib
import sys
import time

os.environ["DLINFER_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bindings" / "python"))
import dlinfer  # noqa: E402

DEFAULT = [REPO / "examples" / "models" / f"{m}.onnx" for m in
           ["char_rnn", "keras_sentiment", "keras_gru_forecaster", "digits_cnn"]]


def feeds(inputs):
    rng = np.random.default_rng(0)
    out = {}
    for i in inputs:
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        if "int" in i.type:
            out[i.name] = np.ones(shape, np.int64 if "64" in i.type else np.int32)
        else:
            out[i.name] = rng.random(shape, dtype=np.float32)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="*", default=DEFAULT)
    p.add_argument("--blocks", type=int, default=6)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    a = p.parse_args()
    print(f"{'model':24} {'onnxruntime us':>15} {'dlinfer us':>11} {'ratio':>6}")
    for path in a.models:
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        engines = {"ort": ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]),
                   "dlinfer": dlinfer.InferenceSession(str(path), device="cpu")}
        f = feeds(engines["ort"].get_inputs())
        want, got = engines["ort"].run(None, f), engines["dlinfer"].run(None, f)
        for w, g in zip(want, got):
            np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)
        times = {k: [] for k in engines}
        for _ in range(a.blocks):
            for name, s in engines.items():
                for _ in range(a.warmup):
                    s.run(None, f)
                t = time.perf_counter()
                for _ in range(a.runs):
                    s.run(None, f)
                times[name].append((time.perf_counter() - t) / a.runs * 1e6)
        o, d = np.median(times["ort"]), np.median(times["dlinfer"])
        print(f"{pathlib.Path(path).stem:24} {o:15.1f} {d:11.1f} {d / o:6.2f}")


if __name__ == "__main__":
    main()
