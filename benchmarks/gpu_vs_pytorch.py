#!/usr/bin/env python3
"""dlinfer on an OpenCL device vs PyTorch fp32 on the same GPU (TF32 off), and vs dlinfer's own CPU backend,
measured in one run: resnet18 and mobilenet_v2 (3x224x224) and a 2-layer 512-wide LSTM over 100 steps, at batch 1
and batch 32.

The models are written in plain PyTorch (benchmarks/torch_nets.py; random seeded weights), exported to ONNX with
torch.onnx.export (dynamic batch) into --cache, and run by both engines on the same inputs; outputs are compared so
a fast wrong answer fails the run. dlinfer's latency is a whole session.run: input upload, every kernel, output
download. PyTorch's is the forward pass on inputs already on the GPU, synchronised (torch.cuda.synchronize).

  python3 benchmarks/gpu_vs_pytorch.py --device opencl:nvidia
Targets (issue #3): resnet18 batch 1 under 2x PyTorch's time; no model slower on the GPU than on dlinfer's CPU.
Needs torch (CUDA for the PyTorch column; without CUDA that column is skipped) and the dlinfer Python package
(bindings/python; DLINFER_LIBRARY picks the library, default <repo>/.build/release/libdlinfer.so).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
os.environ.setdefault("DLINFER_LIBRARY", os.path.join(REPO, ".build", "release", "libdlinfer.so"))
import dlinfer  # noqa: E402
import torch_nets  # noqa: E402


def build(name):
    torch.manual_seed(0)
    if name == "resnet18":
        return torch_nets.randomize_batchnorm(torch_nets.ResNet18()), lambda b: torch.randn(b, 3, 224, 224)
    if name == "mobilenet_v2":
        return torch_nets.randomize_batchnorm(torch_nets.MobileNetV2()), lambda b: torch.randn(b, 3, 224, 224)
    return torch_nets.StackedLSTM().eval(), lambda b: torch.randn(100, b, 512)


def export(name, model, make_input, cache):
    path = os.path.join(cache, f"{name}.onnx")
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        batch_axis = 1 if name == "lstm" else 0
        torch.onnx.export(model, (make_input(1),), path + ".tmp", opset_version=17, dynamo=False,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {batch_axis: "batch"}, "y": {batch_axis: "batch"}})
        os.replace(path + ".tmp", path)
    return path


def timed(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="opencl", help="dlinfer device for the GPU column (default: opencl)")
    p.add_argument("--models", default="resnet18,mobilenet_v2,lstm")
    p.add_argument("--batches", default="1,32")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--cpu-runs", type=int, default=3, help="timed runs on dlinfer's CPU backend (slow at batch 32)")
    p.add_argument("--cache", default=os.path.join(REPO, "benchmarks", ".cache", "gpu"))
    a = p.parse_args()

    cuda = torch.cuda.is_available()
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    print(f"dlinfer {dlinfer.library_version()} on {a.device}; torch {torch.__version__}, "
          f"{'CUDA ' + torch.cuda.get_device_name(0) + ', TF32 off' if cuda else 'no CUDA: PyTorch column skipped'}")
    header = f"{'model':14}{'batch':>6}{'dlinfer GPU ms':>16}{'PyTorch ms':>12}{'GPU/PyTorch':>13}{'dlinfer CPU ms':>16}{'GPU/CPU':>9}  max |diff|"
    print(header)
    print("-" * len(header))
    failures = []
    for name in a.models.split(","):
        model, make_input = build(name)
        path = export(name, model, make_input, a.cache)
        gpu = dlinfer.InferenceSession(path, device=a.device)
        cpu = dlinfer.InferenceSession(path, device="cpu")
        if name == "resnet18" or name == a.models.split(",")[0]:
            print(f"(dlinfer device: {gpu.device}; {gpu.cpu_node_count} nodes of {name} on the CPU)")
        for batch in [int(b) for b in a.batches.split(",")]:
            x = make_input(batch)
            feed = {"x": x.numpy()}
            (ours,) = gpu.run(None, feed)
            t_gpu = timed(lambda: gpu.run(None, feed), a.warmup, a.runs)
            t_cpu = timed(lambda: cpu.run(None, feed), 1, a.cpu_runs)
            with torch.no_grad():
                ref = model(x).numpy()
                t_torch = float("nan")
                if cuda:
                    m, xc = model.cuda(), x.cuda()

                    def step():
                        m(xc)
                        torch.cuda.synchronize()
                    t_torch = timed(step, a.warmup, a.runs)
                    model.cpu()
            diff = float(np.max(np.abs(ours - ref)))
            if not np.allclose(ours, ref, rtol=1e-3, atol=1e-3):
                failures.append(f"{name} batch {batch}: max |diff| {diff}")
            print(f"{name:14}{batch:>6}{t_gpu:>16.3f}{t_torch:>12.3f}{t_gpu / t_torch:>13.2f}{t_cpu:>16.2f}{t_gpu / t_cpu:>9.2f}  {diff:.2e}")
    if failures:
        print("MISMATCH: " + "; ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
