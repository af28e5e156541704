#!/usr/bin/env python3
"""Single Conv (or pooling) layers, dlinfer against onnxruntime: the shapes where the twelve-model comparison loses most.

Each layer is a one-node model (Conv + bias, optionally fused Relu) with random weights (seed 0), run by both engines
in one process at --threads threads, alternating in blocks of --runs calls, --blocks blocks each. Before each block
the process sleeps --pause seconds, so that the other engine's worker threads stop spinning (at 2 threads, without
the pause dlinfer / onnxruntime read 1.88-2.36 on 576 -> 96 channels at 14x14, with it 1.23-1.33), then warms up for
at least --warmup calls and --warmup-seconds (the VM's core is slow for a few milliseconds after a pause). It
prints the median per engine and the ratio dlinfer / onnxruntime, after checking that both agree (atol 1e-3 relative
to the output's scale). A layer is written as CIN:COUT:HxW:K:S[:G] (input channels, output channels, input size,
square kernel, stride, groups); padding keeps "same" size for odd kernels. Pooling layers are written as
maxpool:C:HxW:K:S:P[:ceil] or avgpool:C:HxW:K:S:P[:ceil] (channels, input size, square window, stride, padding on
every side, ceil_mode 1; AveragePool counts the padding), e.g. googlenet's maxpool:832:14x14:2:2:0:ceil; their MMAC
column counts window taps.

    swift build -c release
    DLINFER_LIBRARY=.build/release/libdlinfer.so python3 benchmarks/conv_layers.py [--threads 1] [LAYER ...]
"""
import argparse
import os
import pathlib
import sys
import tempfile
import time

# Layers from the comparison's slowest models: segmentation (small M, large images), densenet121 (1x1 and 3x3 with
# 128 -> 32 channels), mobilenet_v2 (pointwise with small K), crnn_ctc (3x3 on a 32x128 strip).
DEFAULT_LAYERS = [
    "3:16:128x128:3:1", "16:32:128x128:3:2", "32:64:64x64:3:2", "64:32:64x64:3:1", "48:16:128x128:3:1",
    "16:4:128x128:1:1", "128:32:28x28:3:1", "256:128:28x28:1:1", "32:16:112x112:1:1", "24:144:56x56:1:1",
    "1:64:32x128:3:1", "64:128:16x64:3:1",
]


def parse(a):
    parts = [int(p) if "x" not in p else p for p in a.split(":")]
    cin, cout, hw, k, s = parts[:5]
    g = parts[5] if len(parts) > 5 else 1
    h, w = (int(v) for v in hw.split("x"))
    return cin, cout, h, w, k, s, g


def pool_model(path, layer):
    """A one-node MaxPool or AveragePool model (`maxpool:C:HxW:K:S:P[:ceil]`); returns its input and its taps (M)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    kind, c, hw, k, s, p, *rest = layer.split(":")
    c, k, s, p, ceil = int(c), int(k), int(s), int(p), int(rest == ["ceil"])
    h, w = (int(v) for v in hw.split("x"))
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, ceil_mode=ceil)
    if kind == "avgpool":
        attrs["count_include_pad"] = 1
    node = helper.make_node({"maxpool": "MaxPool", "avgpool": "AveragePool"}[kind], ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    out = [((n + 2 * p - k + (s - 1 if ceil else 0)) // s) + 1 for n in (h, w)]
    return np.random.default_rng(0).standard_normal((1, c, h, w)).astype(np.float32), c * out[0] * out[1] * k * k / 1e6


def conv_model(path, layer):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    cin, cout, h, w, k, s, g = parse(layer)
    rng = np.random.default_rng(0)
    wt = (rng.standard_normal((cout, cin // g, k, k)) / np.sqrt(cin // g * k * k)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32) * 0.1
    p = k // 2
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4,
                              group=g),
             helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, h, w])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(wt, "w"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return rng.standard_normal((1, cin, h, w)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layers", nargs="*", default=DEFAULT_LAYERS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--pause", type=float, default=0.05)
    ap.add_argument("--warmup-seconds", type=float, default=0.05)
    a = ap.parse_args()
    os.environ["DLINFER_NUM_THREADS"] = str(a.threads)
    import numpy as np
    import onnxruntime as ort
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bindings" / "python"))
    import dlinfer

    print(f"threads {a.threads}; median ms over {a.blocks} blocks of {a.runs} runs")
    print(f"{'layer':<30}{'MMAC':>8}{'onnxruntime':>13}{'dlinfer':>10}{'ratio':>8}")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for layer in a.layers:
            path = os.path.join(tmp, "layer.onnx")
            if layer.split(":")[0] in ("maxpool", "avgpool"):
                x, macs = pool_model(path, layer)
            else:
                x = conv_model(path, layer)
                cin, cout, h, w, k, s, g = parse(layer)
                macs = cout * (cin // g) * k * k * ((h + s - 1) // s) * ((w + s - 1) // s) / 1e6
            so = ort.SessionOptions()
            so.intra_op_num_threads = a.threads
            so.inter_op_num_threads = 1
            engines = {"onnxruntime": ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]),
                       "dlinfer": dlinfer.InferenceSession(path, device="cpu")}
            outs = [s.run(None, {"x": x})[0] for s in engines.values()]
            scale = float(np.abs(outs[0]).max()) or 1.0
            np.testing.assert_allclose(outs[1], outs[0], atol=1e-3 * scale, rtol=1e-3)
            times = {k: [] for k in engines}
            for _ in range(a.blocks):
                for name, s in engines.items():
                    time.sleep(a.pause)
                    start, calls = time.perf_counter(), 0
                    while calls < a.warmup or time.perf_counter() - start < a.warmup_seconds:
                        s.run(None, {"x": x})
                        calls += 1
                    t = time.perf_counter()
                    for _ in range(a.runs):
                        s.run(None, {"x": x})
                    times[name].append((time.perf_counter() - t) / a.runs * 1e3)
            med = {k: float(np.median(v)) for k, v in times.items()}
            r = med["dlinfer"] / med["onnxruntime"]
            ratios.append(r)
            print(f"{layer:<30}{macs:>8.1f}{med['onnxruntime']:>13.3f}{med['dlinfer']:>10.3f}{r:>8.2f}")
    print(f"geometric mean ratio {float(np.exp(np.mean(np.log(ratios)))):.2f}")


if __name__ == "__main__":
    main()
