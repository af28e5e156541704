#!/usr/bin/env python3
"""Cold start on OpenCL: the first session creation in a fresh process with an empty program cache (every kernel
compiled from source) vs with a warm cache (binaries loaded from DLINFER_CACHE_DIR). Each measurement is a new
process; the driver's own caches are disabled (CUDA_CACHE_DISABLE=1, POCL_KERNEL_CACHE=0) so only dlinfer's counts.

  python3 benchmarks/opencl_cold_start.py --device opencl [--model PATH] [--repeat 3]
Default model: Tests/Fixtures/models/resnet_basic/model.onnx.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = """
import sys, time
sys.path.insert(0, {pkg!r})
import dlinfer
t = time.perf_counter()
s = dlinfer.InferenceSession({model!r}, device={device!r})
print((time.perf_counter() - t) * 1e3, s.device)
"""


def create_ms(model, device, cache):
    env = dict(os.environ, DLINFER_CACHE_DIR=cache, CUDA_CACHE_DISABLE="1", POCL_KERNEL_CACHE="0")
    env.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
    code = CHILD.format(pkg=os.path.join(REPO, "bindings", "python"), model=model, device=device)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"session creation failed: {r.stderr}")
    ms, name = r.stdout.split(" ", 1)
    return float(ms), name.strip()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="opencl")
    p.add_argument("--model", default=os.path.join(REPO, "Tests", "Fixtures", "models", "resnet_basic", "model.onnx"))
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    cold, warm = [], []
    for _ in range(a.repeat):
        cache = tempfile.mkdtemp(prefix="dlinfer-cache-")
        try:
            ms, name = create_ms(a.model, a.device, cache)
            cold.append(ms)
            warm.append(create_ms(a.model, a.device, cache)[0])
        finally:
            shutil.rmtree(cache)
    print(f"model {os.path.relpath(a.model, REPO)} on {name}")
    print(f"first session, empty cache: {statistics.median(cold):9.1f} ms (median of {a.repeat}: {', '.join(f'{x:.0f}' for x in cold)})")
    print(f"first session, warm cache:  {statistics.median(warm):9.1f} ms (median of {a.repeat}: {', '.join(f'{x:.0f}' for x in warm)})")
    print(f"speed-up: {statistics.median(cold) / statistics.median(warm):.1f}x")


if __name__ == "__main__":
    main()
