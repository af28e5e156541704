#!/usr/bin/env python3
"""Forecasts the next values of a time series with the Keras-built GRU forecaster (GRU(32) + Dense(1), trained on
an AR(2) series; examples/models/keras_gru_forecaster.onnx) through dlinfer's Python package. The model predicts
one step; each prediction is appended to the series and fed back for the next.

    python3 examples/python/forecast_series.py [--device DEVICE] [--model MODEL] [--steps K] [SERIES_FILE]

SERIES_FILE holds one value per line (default data/forecast_series.txt, 48 held-out values of the training
process); K defaults to 12. Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Model contract: input "series" float32 [N,T,1] (N and T dynamic); output "next" float32 [N,1].
"""
import argparse
import os
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default=os.path.join(EXAMPLES, "models", "keras_gru_forecaster.onnx"))
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("series", nargs="?", default=os.path.join(EXAMPLES, "data", "forecast_series.txt"))
    args = parser.parse_args()
    if not 1 <= args.steps <= 100000:
        parser.error("--steps takes a count from 1 to 100000")

    series = np.loadtxt(args.series, dtype=np.float32, ndmin=1)
    if series.size == 0:
        print(f"{args.series} holds no values", file=sys.stderr)
        return 1
    try:
        session = dlinfer.InferenceSession(args.model, device=args.device)
        print(f"device: {session.device}")
        print(f"{len(series)} values, last {series[-1]:.6f}; forecasting {args.steps} steps")
        for k in range(args.steps):
            # The whole history each time: T grows by one per step, and each new T gets its own cached plan.
            (step,) = session.run(["next"], {"series": series[None, :, None]})
            series = np.append(series, step[0, 0])
            print(f"step {k + 1}: {step[0, 0]:.6f}")
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
