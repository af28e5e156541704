#!/usr/bin/env python3
"""Writes the LSTM/GRU/RNN fixtures under Tests/Fixtures/recurrent/<case>/, in the ONNX node-test layout:

  model.onnx                                   one recurrent node, made with onnx.helper; weights are initializers
                                               unless the case says otherwise
  test_data_set_0/input_K.pb, output_K.pb      TensorProto files: the graph inputs and onnxruntime's (CPU) outputs
                                               (for layout 1, which onnxruntime rejects, those of the same node in
                                               layout 0 on transposed inputs, transposed back)

They cover what the official node tests do not: bidirectional and reverse directions, ragged sequence_lens
(including a 0 length, and all shorter than X), initial states, peepholes, clip, input_forget, GRU linear_before_reset 0 and 1, layout 1,
non-default activations with alpha/beta, batch 1 and 3, hidden sizes that are not multiples of the vector width or
span several of the kernel's unit chunks, symbolic dims, weights given as graph inputs, and an opset-9 model.
Before a case is written, onnxruntime's outputs are checked against the numpy reference below, so a fixture never
records an onnxruntime quirk unknowingly.

Combinations onnxruntime rejects, hence left out here (beyond layout 1, handled as said above): a bidirectional node listing activations for one direction
only; a node without hidden_size; ThresholdedRelu, Affine or ScaledTanh without explicit alpha/beta (onnxruntime
then uses 0 where the spec's defaults are 1 / 1,0 / none), so every case gives them explicitly.

Needs numpy, onnx, onnxruntime (only to regenerate; the tests read the committed files). Seeded: a rerun on the same
versions reproduces the files. Usage: python3 tools/make_recurrent_fixtures.py
"""
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "recurrent")
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
INPUTS = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
ALPHA_BETA = {  # name -> (takes alpha, takes beta, default alpha, default beta)
    "affine": (True, True, 1.0, 0.0), "leakyrelu": (True, False, 0.01, None), "thresholdedrelu": (True, False, 1.0, None),
    "scaledtanh": (True, True, None, None), "hardsigmoid": (True, True, 0.2, 0.5), "elu": (True, False, 1.0, None),
}

CASES = [
    dict(name="lstm_bidirectional_ragged", op="LSTM", direction="bidirectional", seq=5, batch=3, input=4, hidden=5,
         lens=[5, 2, 0], bias=True, initial=True, peepholes=True, symbolic=True),
    dict(name="lstm_reverse_clip_input_forget_batch1", op="LSTM", direction="reverse", seq=6, batch=1, input=3,
         hidden=7, bias=True, clip=0.8, input_forget=1, peepholes=True, scale=2.0),
    dict(name="lstm_layout1_bidirectional", op="LSTM", direction="bidirectional", seq=4, batch=3, input=5, hidden=6,
         lens=[4, 1, 3], bias=True, initial=True, layout=1),
    dict(name="lstm_activations_alpha_beta", op="LSTM", direction="bidirectional", seq=4, batch=2, input=3, hidden=4,
         bias=True, initial=True,
         activations=["HardSigmoid", "ScaledTanh", "Softsign", "Sigmoid", "Affine", "Elu"],
         alpha=[0.3, 1.5, 0.9, 0.8], beta=[0.4, 0.7, 0.1]),
    dict(name="lstm_only_yh_gemv_tail", op="LSTM", seq=3, batch=1, input=7, hidden=13, bias=True, outputs=["", "Y_h"]),
    dict(name="lstm_multichunk_batch3", op="LSTM", seq=3, batch=3, input=5, hidden=70, bias=True, initial=True,
         lens=[3, 3, 2], scale=0.3),
    dict(name="lstm_weights_as_inputs_reverse_short", op="LSTM", direction="reverse", seq=5, batch=2, input=3,
         hidden=4, bias=True, lens=[2, 4], initial=True, weights_as_inputs=True),
    dict(name="gru_lbr0_bidirectional_ragged", op="GRU", direction="bidirectional", seq=5, batch=3, input=4, hidden=5,
         lens=[3, 5, 1], bias=True, initial=True, symbolic=True),
    dict(name="gru_lbr1_reverse_clip_batch1", op="GRU", direction="reverse", seq=5, batch=1, input=3, hidden=6,
         bias=True, initial=True, clip=0.7, linear_before_reset=1, scale=2.0),
    dict(name="gru_lbr1_bidirectional_ragged", op="GRU", direction="bidirectional", seq=4, batch=3, input=3, hidden=5,
         lens=[1, 4, 0], bias=True, initial=True, linear_before_reset=1),
    dict(name="gru_layout1_activations", op="GRU", direction="bidirectional", seq=4, batch=3, input=3, hidden=5,
         lens=[4, 2, 3], bias=True, initial=True, layout=1,
         activations=["HardSigmoid", "Softsign", "Sigmoid", "ThresholdedRelu"], alpha=[0.25, 0.1], beta=[0.45]),
    dict(name="gru_multichunk_batch1", op="GRU", seq=3, batch=1, input=4, hidden=67, bias=True, initial=True, scale=0.3),
    dict(name="gru_opset9_lbr0", op="GRU", seq=3, batch=2, input=3, hidden=4, bias=True, opset=9),
    dict(name="rnn_bidirectional_ragged", op="RNN", direction="bidirectional", seq=5, batch=3, input=4, hidden=5,
         lens=[5, 0, 2], bias=True, initial=True),
    dict(name="rnn_layout1_reverse_relu_clip", op="RNN", direction="reverse", seq=4, batch=3, input=3, hidden=6,
         lens=[2, 4, 3], bias=True, initial=True, layout=1, activations=["Relu"], clip=1.5),
    dict(name="rnn_activations_batch1", op="RNN", direction="bidirectional", seq=4, batch=1, input=3, hidden=9,
         bias=True, activations=["LeakyRelu", "Softplus"], alpha=[0.2]),
]


# Malformed or unsupported nodes dlinfer must refuse at load, each with a substring of the message it must give.
# Written to Tests/Fixtures/recurrent/rejected/<name>/{model.onnx,error.txt}; not checked by onnx (some are invalid).
REJECTS = [
    dict(name="unknown_activation", op="LSTM", attrs=dict(activations=["Sigmoid", "Swish", "Tanh"]),
         error="'Swish' is not one of"),
    dict(name="bidirectional_one_direction_of_activations", op="LSTM",
         attrs=dict(direction="bidirectional", activations=["Sigmoid", "Tanh", "Tanh"]), error="takes 6"),
    dict(name="surplus_alpha", op="GRU", attrs=dict(activations=["Sigmoid", "Tanh"], activation_alpha=[0.5]),
         error="take only 0"),
    dict(name="scaled_tanh_without_beta", op="RNN", attrs=dict(activations=["ScaledTanh"], activation_alpha=[1.0]),
         error="ScaledTanh has no default beta"),
    dict(name="alpha_without_activations", op="RNN", attrs=dict(activation_alpha=[1.0]), error="without activations"),
    dict(name="layout_before_opset14", op="GRU", attrs=dict(layout=0), opset=13, error="only from opset 14"),
    dict(name="layout_2", op="GRU", attrs=dict(layout=2), error="neither 0 nor 1"),
    dict(name="unknown_direction", op="RNN", attrs=dict(direction="sideways"), error="'sideways' is not one of"),
    dict(name="negative_clip", op="LSTM", attrs=dict(clip=-1.0), error="clip is -1.0"),
    dict(name="hidden_size_mismatch", op="LSTM", attrs=dict(hidden_size=4), error="expected [num_directions, 4·hidden_size, input_size] = [1,16,3]"),
    dict(name="w_input_size_mismatch", op="GRU", w_input=2, error="W has shape"),
    dict(name="float64_x", op="RNN", x_type=TensorProto.DOUBLE, error="W has element type float32; supported: float64"),
    dict(name="int64_sequence_lens", op="RNN", lens_type=TensorProto.INT64, error="sequence_lens has element type int64"),
    dict(name="gru_three_outputs", op="GRU", outputs=["Y", "Y_h", "Y_c"], error="at most 6 inputs and 2 outputs"),
    dict(name="gru_input_forget", op="GRU", attrs=dict(input_forget=1), error="attribute 'input_forget' is not supported"),
    dict(name="initial_h_batch_mismatch", op="LSTM", h_batch=3, error="initial_h's batch dimension is 3"),
]

def parse_activations(names, alphas, betas):
    ai, bi, out = iter(alphas), iter(betas), []
    for n in names:
        a = b = None
        uses = ALPHA_BETA.get(n.lower())
        if uses:
            if uses[0]:
                a = next(ai, uses[2])
            if uses[1]:
                b = next(bi, uses[3])
        out.append((n.lower(), a, b))
    return out


def act(f, x):
    name, a, b = f
    with np.errstate(over="ignore"):
        return {
            "sigmoid": lambda: 1 / (1 + np.exp(-x)), "tanh": lambda: np.tanh(x), "relu": lambda: np.maximum(x, 0),
            "softsign": lambda: x / (1 + np.abs(x)), "softplus": lambda: np.log1p(np.exp(x)),
            "leakyrelu": lambda: np.where(x >= 0, x, a * x), "thresholdedrelu": lambda: np.where(x > a, x, 0),
            "hardsigmoid": lambda: np.clip(a * x + b, 0, 1), "scaledtanh": lambda: a * np.tanh(b * x),
            "affine": lambda: a * x + b, "elu": lambda: np.where(x >= 0, x, a * (np.exp(x) - 1)),
        }[name]()


def reference(c, feeds):
    """The ONNX equations in float64 (layout 0), with onnxruntime's choices where the spec is silent: steps past a sequence's
    length give zeros in Y and keep the state; a 0-length sequence gives zero Y_h/Y_c; clip bounds only the gates'
    pre-activations."""
    op, H, g = c["op"], c["hidden"], GATES[c["op"]]
    dirs = 2 if c.get("direction") == "bidirectional" else 1
    get = lambda k: feeds[k].astype(np.float64) if k in feeds else None
    X, W, R, B, h0, c0, P = (get(k) for k in ["X", "W", "R", "B", "initial_h", "initial_c", "P"])
    S, N = X.shape[:2]
    lens = feeds["sequence_lens"] if "sequence_lens" in feeds else np.full(N, S)
    acts = parse_activations(c.get("activations") or DEFAULT_ACTS[op] * dirs, c.get("alpha", []), c.get("beta", []))
    k = len(DEFAULT_ACTS[op])
    clip = c.get("clip")
    cl = (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)
    Y = np.zeros((S, dirs, N, H))
    Yh = np.zeros((dirs, N, H))
    Yc = np.zeros((dirs, N, H))
    for d in range(dirs):
        f = acts[d * k:(d + 1) * k]
        reverse = d == 1 or c.get("direction") == "reverse"
        Wb, Rb = (B[d, :g * H], B[d, g * H:]) if B is not None else (np.zeros(g * H), np.zeros(g * H))
        for n in range(N):
            h = h0[d, n] if h0 is not None else np.zeros(H)
            cs = c0[d, n] if c0 is not None else np.zeros(H)
            steps = range(lens[n] - 1, -1, -1) if reverse else range(lens[n])
            for t in steps:
                xw = X[t, n] @ W[d].T + Wb
                if op == "LSTM":
                    gates = xw + h @ R[d].T + Rb
                    i, o, fg, cc = np.split(gates, 4)
                    p = P[d] if P is not None else np.zeros(3 * H)
                    i = act(f[0], cl(i + p[:H] * cs))
                    fg = 1 - i if c.get("input_forget") else act(f[0], cl(fg + p[2 * H:] * cs))
                    cs = fg * cs + i * act(f[1], cl(cc))
                    o = act(f[0], cl(o + p[H:2 * H] * cs))
                    h = o * act(f[2], cs)
                elif op == "GRU":
                    Rz, Rr, Rh = np.split(R[d], 3)
                    rbz, rbr, rbh = np.split(Rb, 3)
                    xz, xr, xh = np.split(xw, 3)
                    z = act(f[0], cl(xz + h @ Rz.T + rbz))
                    r = act(f[0], cl(xr + h @ Rr.T + rbr))
                    if c.get("linear_before_reset"):
                        hh = act(f[1], cl(xh + r * (h @ Rh.T + rbh)))
                    else:
                        hh = act(f[1], cl(xh + (r * h) @ Rh.T + rbh))
                    h = (1 - z) * hh + z * h
                else:
                    h = act(f[0], cl(xw + h @ R[d].T + Rb))
                Y[t, d, n] = h
            if lens[n] > 0:
                Yh[d, n], Yc[d, n] = h, cs
    return [Y, Yh, Yc]


def generate(c, rng):
    """The node's input values, in layout 0."""
    op, H, I, S, N, g = c["op"], c["hidden"], c["input"], c["seq"], c["batch"], GATES[c["op"]]
    dirs = 2 if c.get("direction") == "bidirectional" else 1
    scale = c.get("scale", 1.0)
    rand = lambda *s, k=1.0: (rng.standard_normal(s) * (scale * k)).astype(np.float32)
    values = {"X": rand(S, N, I), "W": rand(dirs, g * H, I, k=I ** -0.5), "R": rand(dirs, g * H, H, k=H ** -0.5)}
    if c.get("bias"):
        values["B"] = rand(dirs, 2 * g * H, k=0.5)
    if "lens" in c:
        values["sequence_lens"] = np.array(c["lens"], np.int32)
    if c.get("initial"):
        values["initial_h"] = rand(dirs, N, H)
        if op == "LSTM":
            values["initial_c"] = rand(dirs, N, H)
    if c.get("peepholes"):
        values["P"] = rand(dirs, 3 * H, k=0.5)
    return values


def to_layout1(name, v):
    """X [seq, batch, input] -> [batch, seq, input]; states [dirs, batch, hidden] -> [batch, dirs, hidden];
    Y [seq, dirs, batch, hidden] -> [batch, seq, dirs, hidden]."""
    if name == "Y":
        return np.ascontiguousarray(v.transpose(2, 0, 1, 3))
    if name in ("X", "initial_h", "initial_c", "Y_h", "Y_c"):
        return np.ascontiguousarray(v.transpose(1, 0, 2))
    return v


def make_model(c, values, layout):
    """The one-node model and its feeds (values already in `layout`)."""
    op, H, S, N = c["op"], c["hidden"], c["seq"], c["batch"]
    dirs = 2 if c.get("direction") == "bidirectional" else 1
    attrs = {"hidden_size": H}
    for key in ["direction", "clip", "input_forget", "linear_before_reset", "activations"]:
        if key in c:
            attrs[key] = c[key]
    if layout:
        attrs["layout"] = 1
    if "alpha" in c:
        attrs["activation_alpha"] = c["alpha"]
    if "beta" in c:
        attrs["activation_beta"] = c["beta"]
    names = INPUTS[:8 if op == "LSTM" else 6]
    node_inputs = [n if n in values else "" for n in names]
    while node_inputs and node_inputs[-1] == "":
        node_inputs.pop()
    outputs = c.get("outputs", ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"])
    node = helper.make_node(op, node_inputs, outputs, **attrs)

    runtime = {"X", "sequence_lens", "initial_h", "initial_c"}
    if c.get("weights_as_inputs"):
        runtime |= {"W", "R", "B", "P"}
    feeds = {k: v for k, v in values.items() if k in runtime}
    inits = [numpy_helper.from_array(v, k) for k, v in values.items() if k not in runtime]

    def info(k, v):
        dims = list(v.shape)
        if c.get("symbolic"):
            # Batch and sequence stay symbolic; every other dim is fixed.
            if k == "X":
                dims[:2] = ["batch", "seq"] if layout else ["seq", "batch"]
            elif k == "sequence_lens":
                dims[0] = "batch"
            elif k in ("initial_h", "initial_c"):
                dims[0 if layout else 1] = "batch"
        elem = TensorProto.INT32 if v.dtype == np.int32 else TensorProto.FLOAT
        return helper.make_tensor_value_info(k, elem, dims)

    graph_inputs = [info(k, feeds[k]) for k in names if k in feeds]
    nb, ns = ("batch", "seq") if c.get("symbolic") else (N, S)
    out_shapes = {"Y": [nb, ns, dirs, H] if layout else [ns, dirs, nb, H]}
    out_shapes["Y_h"] = out_shapes["Y_c"] = [nb, dirs, H] if layout else [dirs, nb, H]
    graph_outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, out_shapes[o]) for o in outputs if o]
    graph = helper.make_graph([node], c["name"], graph_inputs, graph_outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", c.get("opset", 14 if layout else 13))])
    onnx.checker.check_model(model, full_check=True)
    return model, feeds


def onnxruntime_outputs(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    rng = np.random.default_rng(20240611)
    for c in CASES:
        values = generate(c, rng)
        out_names = [o for o in c.get("outputs", ["Y", "Y_h", "Y_c"]) if o]
        layout = c.get("layout", 0)
        model, feeds = make_model(c, {k: to_layout1(k, v) for k, v in values.items()} if layout else values, layout)
        # onnxruntime does not run layout 1 ("Batchwise recurrent operations are not supported"): its outputs for the
        # same node in layout 0, transposed, stand in.
        got = onnxruntime_outputs(*make_model(c, values, 0))
        want = reference(c, values)
        for name, g in zip(out_names, got):
            w = want[["Y", "Y_h", "Y_c"].index(name)]
            if not np.allclose(g, w, rtol=1e-4, atol=1e-5):
                raise SystemExit(f"{c['name']}: onnxruntime's {name} differs from the reference by {np.abs(g - w).max()}")
        if layout:
            got = [to_layout1(n, g) for n, g in zip(out_names, got)]
        d = os.path.join(OUT, c["name"])
        ds = os.path.join(d, "test_data_set_0")
        os.makedirs(ds)
        onnx.save(model, os.path.join(d, "model.onnx"))
        for k, i in enumerate(model.graph.input):
            with open(os.path.join(ds, f"input_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(feeds[i.name], i.name).SerializeToString())
        for k, (name, g) in enumerate(zip(out_names, got)):
            with open(os.path.join(ds, f"output_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(g, name).SerializeToString())
        print(f"{c['name']}: ok")
    write_rejected()


def write_rejected():
    """One tiny node per REJECTS entry: seq 2, batch 2, input 3, hidden 5 unless the entry bends one of them."""
    for r in REJECTS:
        op, g, H, I = r["op"], GATES[r["op"]], 5, 3
        attrs = dict(hidden_size=H)
        attrs.update(r.get("attrs", {}))
        dirs = 2 if attrs.get("direction") == "bidirectional" else 1
        w = np.zeros((dirs, g * H, r.get("w_input", I)), np.float32)
        rr = np.zeros((dirs, g * H, H), np.float32)
        inputs = [helper.make_tensor_value_info("X", r.get("x_type", TensorProto.FLOAT), [2, 2, I]),
                  helper.make_tensor_value_info("sequence_lens", r.get("lens_type", TensorProto.INT32), [2])]
        node_inputs = ["X", "W", "R", "", "sequence_lens"]
        if "h_batch" in r:
            inputs.append(helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [dirs, r["h_batch"], H]))
            node_inputs.append("initial_h")
        outputs = r.get("outputs", ["Y", "Y_h"])
        node = helper.make_node(op, node_inputs, outputs, **attrs)
        graph = helper.make_graph([node], r["name"], inputs,
                                  [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                                  initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(rr, "R")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", r.get("opset", 14))])
        d = os.path.join(OUT, "rejected", r["name"])
        os.makedirs(d)
        onnx.save(model, os.path.join(d, "model.onnx"))
        with open(os.path.join(d, "error.txt"), "w") as f:
            f.write(r["error"] + "\n")
        print(f"rejected/{r['name']}: written")


if __name__ == "__main__":
    main()
