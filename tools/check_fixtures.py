#!/usr/bin/env python3
"""Runs every whole-model fixture (Tests/Fixtures/models/*: model.onnx + test_data_set_K) through the dlinfer Python
package on one device and compares each output with the stored onnxruntime output (rtol 1e-3, atol 1e-4). Needs only
numpy and onnx, so it runs where pytest and Swift are not installed (the GPU machine):

  DLINFER_LIBRARY=.build/release/libdlinfer.so python3 tools/check_fixtures.py --device opencl:nvidia
Prints one line per model (device, nodes on the CPU, worst difference); exits 1 if any output differs."""
import argparse
import os
import pathlib
import sys

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
os.environ.setdefault("DLINFER_LIBRARY", str(ROOT / ".build" / "release" / "libdlinfer.so"))
import dlinfer  # noqa: E402


def read(path):
    return numpy_helper.to_array(onnx.load_tensor(str(path)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="dlinfer device (default: $DLINFER_DEVICE, else auto)")
    p.add_argument("--fixtures", default=str(ROOT / "Tests" / "Fixtures" / "models"))
    a = p.parse_args()
    failed = 0
    for model in sorted(pathlib.Path(a.fixtures).glob("*/model.onnx")):
        s = dlinfer.InferenceSession(str(model), device=a.device)
        names = [i.name for i in s.get_inputs()]
        worst, bad = 0.0, []
        for ds in sorted(model.parent.glob("test_data_set_*")):
            feed = {n: read(ds / f"input_{k}.pb") for k, n in enumerate(names)}
            for k, (got, want) in enumerate(zip(s.run(None, feed), [read(f) for f in sorted(ds.glob("output_*.pb"))])):
                if got.shape != want.shape or got.dtype != want.dtype:
                    bad.append(f"{ds.name} output {k}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}")
                    continue
                if want.dtype.kind == "f":
                    worst = max(worst, float(np.max(np.abs(got - want), initial=0)))
                if not np.allclose(got, want, rtol=1e-3, atol=1e-4, equal_nan=True):
                    bad.append(f"{ds.name} output {k}")
        failed += bool(bad)
        status = "FAIL " + "; ".join(bad) if bad else "ok"
        print(f"{model.parent.name:22} {s.device}  {s.cpu_node_count} nodes on the CPU  max|diff| {worst:.2e}  {status}")
    print(f"{failed} of the fixtures differ" if failed else "every fixture matches onnxruntime")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
