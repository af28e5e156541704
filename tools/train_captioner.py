#!/usr/bin/env python3
"""Trains an image captioner with additive attention on synthetic scenes and writes its three ONNX models, the
held-out scenes the examples caption, and the vocabulary:

  scenes    64x64 RGB: two shapes (circle, square, triangle) in five colours (red, green, blue, yellow, white) on a
            dark, noisy background of random tint, placed side by side or one over the other. The caption names the
            left (or upper) shape first: "a red circle left of a blue square", "a green triangle above a white
            circle" (so every scene has exactly one caption).
  model     CNN encoder (three Conv-ReLU-MaxPool blocks, 64x64 -> an 8x8 grid of 64 regions, plus a learned
            embedding of each region's position) -> regions [N, 64, 64] and the initial LSTM state
            h0 = tanh(Linear(mean region)), c0 likewise. Decoder (Show, Attend and Tell): each step scores every
            region against the previous state, e_r = v . tanh(W_k region_r + W_q h), attention = softmax(e), the
            context is the attended mean of the regions; the LSTM cell takes [word embedding, context], and
            Linear([h, context]) gives the next word's logits. Trained with teacher forcing and cross-entropy.

  -> examples/models/caption_encoder.onnx       image [N,3,64,64] -> regions [N,64,64], h0 [N,128], c0 [N,128]
     examples/models/caption_decoder_step.onnx  token [N] int64, h, c, regions -> logits [N,V], attention [N,64],
                                                h_next, c_next (one step; the host carries the state)
     examples/models/caption_greedy.onnx        image [1,3,64,64] -> tokens [T] int64, attention [T,64]: the encoder
                                                and a greedy decoder inside the graph (ONNX Loop, at most 16 steps,
                                                stopping after <eos>), the Loop body assembled with onnx.helper from
                                                the trained weights (LSTM as MatMul/Sigmoid/Tanh gates)
     examples/data/captioner_vocab.txt          the words, one a line, id = line number (<pad> 0, <bos> 1, <eos> 2)
     examples/data/captioner/                   32 held-out scenes (scene_NNN.ppm, binary PPM) and captions.txt

The encoder and the step decoder are exported with torch.onnx.export (TorchScript exporter, dynamo=False, opset 17);
the Loop model is checked against PyTorch's greedy decoding (the same tokens, attention within 1e-4) and against
the step decoder run by the host through onnxruntime. Training scenes come from seed 1, the held-out ones from
seed 2 (1000 scenes: the accuracy is printed; the first 32 are bundled).

Needs torch, onnx, onnxruntime (only to regenerate). Seeds are fixed and training is single-threaded, so a rerun on
the same versions reproduces the files. Takes about 4 minutes on one core (6 on a busy machine).
Usage: nice -n 10 /opt/torchenv/bin/python tools/train_captioner.py [--steps 1600]
"""
import argparse
import io
import os
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "examples", "models")
DATA = os.path.join(ROOT, "examples", "data")
OPSET = 17
nn = torch.nn
F = torch.nn.functional

SIZE = 64
GRID = 8  # the encoder's grid: GRID x GRID regions
COLOURS = {"red": (0.95, 0.12, 0.1), "green": (0.15, 0.8, 0.2), "blue": (0.2, 0.35, 1.0),
           "yellow": (0.95, 0.9, 0.15), "white": (0.95, 0.95, 0.95)}
SHAPES = ["circle", "square", "triangle"]
VOCAB = ["<pad>", "<bos>", "<eos>", "a", "left", "of", "above"] + list(COLOURS) + SHAPES
PAD, BOS, EOS = 0, 1, 2
MAX_STEPS = 16  # the decoders' longest caption, <eos> included
HELD_OUT = 1000
BUNDLED = 32


# ---- scenes -------------------------------------------------------------------------------------------------------

YY, XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5


def shape_mask(shape, cx, cy, r):
    if shape == "circle":
        return (XX - cx) ** 2 + (YY - cy) ** 2 <= r * r
    if shape == "square":
        s = 0.85 * r
        return (np.abs(XX - cx) <= s) & (np.abs(YY - cy) <= s)
    # An upright triangle: apex at (cx, cy - r), base at y = cy + 0.8 r from cx - r to cx + r.
    top, base = cy - r, cy + 0.8 * r
    return (YY >= top) & (YY <= base) & (np.abs(XX - cx) <= (YY - top) / (base - top) * r)


def scene(rng):
    """One scene: (uint8 image [64,64,3], caption words)."""
    objects = [(rng.choice(list(COLOURS)), rng.choice(SHAPES), rng.uniform(6.0, 10.0)) for _ in range(2)]
    r1, r2 = objects[0][2], objects[1][2]
    horizontal = rng.random() < 0.5
    while True:  # the first object left of (above) the second, clearly apart on that axis and not on the other
        x1, y1 = rng.uniform(r1 + 1, SIZE - r1 - 1, 2)
        x2, y2 = rng.uniform(r2 + 1, SIZE - r2 - 1, 2)
        along, across = (x2 - x1, y2 - y1) if horizontal else (y2 - y1, x2 - x1)
        if along >= r1 + r2 + 4 and abs(across) <= 0.5 * along:
            break
    image = rng.uniform(0.0, 0.3, 3)[None, None, :] + rng.normal(0.0, 0.04, (SIZE, SIZE, 3))
    for (colour, shape, r), (cx, cy) in zip(objects, [(x1, y1), (x2, y2)]):
        tint = np.clip(np.array(COLOURS[colour]) * rng.uniform(0.75, 1.0) + rng.uniform(-0.08, 0.08, 3), 0, 1)
        m = shape_mask(shape, cx, cy, r)
        image[m] = tint + rng.normal(0.0, 0.04, (int(m.sum()), 3))
    words = ["a", objects[0][0], objects[0][1]] + (["left", "of"] if horizontal else ["above"])
    words += ["a", objects[1][0], objects[1][1]]
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), words


def scenes(seed, n):
    rng = np.random.default_rng(seed)
    images, captions = zip(*(scene(rng) for _ in range(n)))
    return np.stack(images), list(captions)


def to_input(images):
    """uint8 [N,64,64,3] -> float32 [N,3,64,64] in [0,1] (the models' input)."""
    return torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)


def to_tokens(captions):
    """[N, L+2] int64: <bos> words <eos> <pad>..."""
    length = max(len(c) for c in captions) + 2
    out = np.full((len(captions), length), PAD, np.int64)
    for i, c in enumerate(captions):
        ids = [BOS] + [VOCAB.index(w) for w in c] + [EOS]
        out[i, :len(ids)] = ids
    return torch.from_numpy(out)


# ---- model --------------------------------------------------------------------------------------------------------

class Encoder(nn.Module):
    """image [N,3,64,64] -> regions [N,64,D] (conv features of each 8x8-pixel cell, row-major, plus a learned
    position embedding), h0, c0 [N,H]."""

    def __init__(self, features=64, hidden=128):
        super().__init__()

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]

        self.cnn = nn.Sequential(*block(3, 16), *block(16, 32), *block(32, features),
                                 nn.Conv2d(features, features, 1), nn.ReLU())
        self.position = nn.Parameter(torch.randn(GRID * GRID, features) * 0.1)
        self.init_h = nn.Linear(features, hidden)
        self.init_c = nn.Linear(features, hidden)

    def forward(self, image):
        f = self.cnn(image)  # [N,D,8,8]
        regions = f.flatten(2).transpose(1, 2) + self.position
        mean = regions.mean(1)
        return regions, torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))


class DecoderStep(nn.Module):
    """One step: previous token [N], h, c [N,H], regions [N,R,D] -> logits [N,V], attention [N,R], h, c."""

    def __init__(self, vocab=len(VOCAB), features=64, hidden=128, embed=32, attend=64):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.key = nn.Linear(features, attend)
        self.query = nn.Linear(hidden, attend)
        self.score = nn.Linear(attend, 1)
        self.cell = nn.LSTMCell(embed + features, hidden)
        self.out = nn.Linear(hidden + features, vocab)

    def forward(self, token, h, c, regions):
        e = self.score(torch.tanh(self.key(regions) + self.query(h).unsqueeze(1))).squeeze(2)
        attention = torch.softmax(e, dim=1)
        context = torch.bmm(attention.unsqueeze(1), regions).squeeze(1)
        h, c = self.cell(torch.cat([self.embed(token), context], 1), (h, c))
        return self.out(torch.cat([h, context], 1)), attention, h, c


def greedy(encoder, decoder, image):
    """PyTorch's greedy captions: (token lists with <eos> when reached, attention [steps, R] per image)."""
    with torch.no_grad():
        regions, h, c = encoder(image)
        token = torch.full((image.shape[0],), BOS, dtype=torch.int64)
        tokens, attentions = [], []
        for _ in range(MAX_STEPS):
            logits, attention, h, c = decoder(token, h, c, regions)
            token = logits.argmax(1)
            tokens.append(token)
            attentions.append(attention)
        tokens, attentions = torch.stack(tokens, 1).numpy(), torch.stack(attentions, 1).numpy()
    out = []
    for i in range(image.shape[0]):
        t = list(tokens[i])
        n = t.index(EOS) + 1 if EOS in t else MAX_STEPS
        out.append((t[:n], attentions[i, :n]))
    return out


def words_of(tokens):
    return [VOCAB[t] for t in tokens if t != EOS]


def train(steps, batch=64):
    torch.manual_seed(1)
    encoder, decoder = Encoder(), DecoderStep()
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(1)
    start = time.time()
    for step in range(steps):
        images, captions = zip(*(scene(rng) for _ in range(batch)))
        image, tokens = to_input(np.stack(images)), to_tokens(captions)
        regions, h, c = encoder(image)
        losses = []
        for t in range(tokens.shape[1] - 1):
            logits, _, h, c = decoder(tokens[:, t], h, c, regions)
            losses.append(F.cross_entropy(logits, tokens[:, t + 1], ignore_index=PAD, reduction="sum"))
        loss = torch.stack(losses).sum() / (tokens[:, 1:] != PAD).sum()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.time() - start:.0f} s", flush=True)
    return encoder.eval(), decoder.eval()


# ---- export -------------------------------------------------------------------------------------------------------

def export_torch(module, args, input_names, output_names, dynamic_axes):
    buffer = io.BytesIO()
    torch.onnx.export(module, args, buffer, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False, do_constant_folding=True)
    model = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(model, full_check=True)
    return model


def export_encoder(encoder):
    image = torch.zeros(1, 3, SIZE, SIZE)
    model = export_torch(encoder, (image,), ["image"], ["regions", "h0", "c0"],
                         {"image": {0: "N"}, "regions": {0: "N"}, "h0": {0: "N"}, "c0": {0: "N"}})
    # The exporter leaves the regions' fixed dims symbolic (after the position embedding's broadcasting Add).
    regions = next(o for o in model.graph.output if o.name == "regions")
    for dim, value in zip(regions.type.tensor_type.shape.dim[1:], (GRID * GRID, encoder.position.shape[1])):
        dim.Clear()
        dim.dim_value = value
    onnx.checker.check_model(model, full_check=True)
    return model


def export_step(decoder):
    hidden = decoder.cell.hidden_size
    args = (torch.tensor([BOS]), torch.zeros(1, hidden), torch.zeros(1, hidden),
            torch.zeros(1, GRID * GRID, decoder.key.in_features))
    names = ["token", "h", "c", "regions"]
    outputs = ["logits", "attention", "h_next", "c_next"]
    return export_torch(decoder, args, names, outputs, {n: {0: "N"} for n in names + outputs})


def greedy_loop_model(encoder, decoder):
    """The encoder (exported by torch) followed by a Loop that decodes greedily, assembled with onnx.helper. The
    weights are initializers of the main graph, read by the body from the outer scope."""
    enc = export_torch(encoder, (torch.zeros(1, 3, SIZE, SIZE),), ["image"], ["regions", "h0", "c0"], None)
    graph = enc.graph
    hidden, features, attend = decoder.cell.hidden_size, decoder.key.in_features, decoder.key.out_features
    regions_count = GRID * GRID

    def weight(name, value):
        graph.initializer.append(numpy_helper.from_array(np.array(value, order="C"), name))  # 0-d stays 0-d
        return name

    sd = {k: v.detach().numpy() for k, v in decoder.state_dict().items()}
    weight("dec.embed", sd["embed.weight"])
    weight("dec.key_w", sd["key.weight"].T)
    weight("dec.key_b", sd["key.bias"])
    weight("dec.query_w", sd["query.weight"].T)
    weight("dec.query_b", sd["query.bias"])
    weight("dec.score_w", sd["score.weight"].T)  # [A,1]
    weight("dec.score_b", sd["score.bias"])
    weight("dec.w_ih", sd["cell.weight_ih"].T)  # [E+D, 4H], gates i, f, g, o
    weight("dec.w_hh", sd["cell.weight_hh"].T)  # [H, 4H]
    weight("dec.b", sd["cell.bias_ih"] + sd["cell.bias_hh"])
    weight("dec.out_w", sd["out.weight"].T)  # [H+D, V]
    weight("dec.out_b", sd["out.bias"])
    weight("max_steps", np.array(MAX_STEPS, np.int64))
    weight("start", np.array(True))
    weight("bos", np.array([BOS], np.int64))
    weight("eos", np.array([EOS], np.int64))
    weight("axes_0", np.array([0], np.int64))
    weight("axes_1", np.array([1], np.int64))
    weight("axes_2", np.array([2], np.int64))

    # Before the loop: the keys W_k region + b_k, computed once.
    graph.node.extend([
        helper.make_node("MatMul", ["regions", "dec.key_w"], ["keys_mm"], name="keys_matmul"),
        helper.make_node("Add", ["keys_mm", "dec.key_b"], ["keys"], name="keys_add"),
    ])
    n = helper.make_node
    body_nodes = [
        n("Gather", ["dec.embed", "token_in"], ["emb"], axis=0),  # [1,E]
        n("MatMul", ["h_in", "dec.query_w"], ["q_mm"]),
        n("Add", ["q_mm", "dec.query_b"], ["q"]),  # [1,A]
        n("Unsqueeze", ["q", "axes_1"], ["q3"]),  # [1,1,A]
        n("Add", ["keys", "q3"], ["kq"]),  # [1,R,A]
        n("Tanh", ["kq"], ["kq_t"]),
        n("MatMul", ["kq_t", "dec.score_w"], ["e_mm"]),  # [1,R,1]
        n("Add", ["e_mm", "dec.score_b"], ["e3"]),
        n("Squeeze", ["e3", "axes_2"], ["e"]),  # [1,R]
        n("Softmax", ["e"], ["alpha"], axis=1),
        n("Unsqueeze", ["alpha", "axes_1"], ["alpha3"]),  # [1,1,R]
        n("MatMul", ["alpha3", "regions"], ["ctx3"]),  # [1,1,D]
        n("Squeeze", ["ctx3", "axes_1"], ["ctx"]),  # [1,D]
        n("Concat", ["emb", "ctx"], ["x"], axis=1),  # [1,E+D]
        n("MatMul", ["x", "dec.w_ih"], ["gx"]),
        n("MatMul", ["h_in", "dec.w_hh"], ["gh"]),
        n("Add", ["gx", "gh"], ["g_sum"]),
        n("Add", ["g_sum", "dec.b"], ["gates"]),  # [1,4H]
        n("Split", ["gates"], ["gi", "gf", "gg", "go"], axis=1),
        n("Sigmoid", ["gi"], ["i"]),
        n("Sigmoid", ["gf"], ["f"]),
        n("Tanh", ["gg"], ["g"]),
        n("Sigmoid", ["go"], ["o"]),
        n("Mul", ["f", "c_in"], ["fc"]),
        n("Mul", ["i", "g"], ["ig"]),
        n("Add", ["fc", "ig"], ["c_out"]),
        n("Tanh", ["c_out"], ["c_t"]),
        n("Mul", ["o", "c_t"], ["h_out"]),
        n("Concat", ["h_out", "ctx"], ["hc"], axis=1),
        n("MatMul", ["hc", "dec.out_w"], ["logits_mm"]),
        n("Add", ["logits_mm", "dec.out_b"], ["logits"]),  # [1,V]
        n("ArgMax", ["logits"], ["token_out"], axis=1, keepdims=0),  # [1] int64
        n("Equal", ["token_out", "eos"], ["is_eos"]),
        n("Not", ["is_eos"], ["going"]),
        n("Squeeze", ["going", "axes_0"], ["cond_out"]),  # bool scalar
        n("Squeeze", ["token_out", "axes_0"], ["token_scan"]),  # int64 scalar
        n("Squeeze", ["alpha", "axes_0"], ["alpha_scan"]),  # [R]
    ]
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    vi = helper.make_tensor_value_info
    body = helper.make_graph(
        body_nodes, "greedy_step",
        [vi("iteration", i64, []), vi("cond_in", TensorProto.BOOL, []), vi("token_in", i64, [1]),
         vi("h_in", f32, [1, hidden]), vi("c_in", f32, [1, hidden])],
        [vi("cond_out", TensorProto.BOOL, []), vi("token_out", i64, [1]), vi("h_out", f32, [1, hidden]),
         vi("c_out", f32, [1, hidden]), vi("token_scan", i64, []), vi("alpha_scan", f32, [regions_count])])
    graph.node.append(helper.make_node(
        "Loop", ["max_steps", "start", "bos", "h0", "c0"],
        ["last_token", "last_h", "last_c", "tokens", "attention"], name="greedy_decode", body=body))
    del graph.output[:]
    graph.output.extend([vi("tokens", i64, ["T"]), vi("attention", f32, ["T", regions_count])])
    graph.name = "caption_greedy"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tools/train_captioner.py")
    model.ir_version = enc.ir_version
    onnx.checker.check_model(model, full_check=True)
    return model


# ---- references ---------------------------------------------------------------------------------------------------

def ort_step_captions(encoder_path, step_path, images):
    """onnxruntime, the host carrying the state: token lists (with <eos> when reached) per image."""
    enc = ort.InferenceSession(encoder_path, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(step_path, providers=["CPUExecutionProvider"])
    out = []
    for image in images:
        regions, h, c = enc.run(None, {"image": image[None]})
        token, tokens = np.array([BOS], np.int64), []
        for _ in range(MAX_STEPS):
            logits, _, h, c = dec.run(None, {"token": token, "h": h, "c": c, "regions": regions})
            token = logits.argmax(1)
            tokens.append(int(token[0]))
            if tokens[-1] == EOS:
                break
        out.append(tokens)
    return out


def write_ppm(path, image):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (image.shape[1], image.shape[0]) + image.tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1600)
    args = parser.parse_args()
    torch.set_num_threads(1)

    start = time.time()
    encoder, decoder = train(args.steps)
    print(f"trained in {time.time() - start:.0f} s")

    images, captions = scenes(2, HELD_OUT)
    x = to_input(images)
    results = greedy(encoder, decoder, x)
    torch_ok = sum(words_of(t) == c for (t, _), c in zip(results, captions))
    print(f"PyTorch held-out exact-caption accuracy: {100 * torch_ok / HELD_OUT:.2f} % ({torch_ok}/{HELD_OUT})")

    os.makedirs(MODELS, exist_ok=True)
    paths = {k: os.path.join(MODELS, f"caption_{k}.onnx") for k in ("encoder", "decoder_step", "greedy")}
    onnx.save(export_encoder(encoder), paths["encoder"])
    onnx.save(export_step(decoder), paths["decoder_step"])
    onnx.save(greedy_loop_model(encoder, decoder), paths["greedy"])
    for p in paths.values():
        print(f"{os.path.relpath(p, ROOT)}: {os.path.getsize(p)} bytes")

    # The Loop model against PyTorch (tokens equal, attention close) and the host-stepped onnxruntime decoding.
    xs = x.numpy()
    step_tokens = ort_step_captions(paths["encoder"], paths["decoder_step"], xs)
    loop = ort.InferenceSession(paths["greedy"], providers=["CPUExecutionProvider"])
    loop_ok = 0
    for i, (tokens, attention) in enumerate(results):
        t, a = loop.run(None, {"image": xs[i:i + 1]})
        assert list(t) == tokens, (i, list(t), tokens)
        assert np.abs(a - attention).max() < 1e-4, (i, np.abs(a - attention).max())
        assert step_tokens[i] == tokens, (i, step_tokens[i], tokens)
        loop_ok += words_of(t) == captions[i]
    print(f"onnxruntime held-out exact-caption accuracy (Loop model and step decoder alike): "
          f"{100 * loop_ok / HELD_OUT:.2f} % ({loop_ok}/{HELD_OUT})")

    with open(os.path.join(DATA, "captioner_vocab.txt"), "w") as f:
        f.write("".join(w + "\n" for w in VOCAB))
    folder = os.path.join(DATA, "captioner")
    os.makedirs(folder, exist_ok=True)
    lines = []
    for i in range(BUNDLED):
        name = f"scene_{i:03d}.ppm"
        write_ppm(os.path.join(folder, name), images[i])
        lines.append(f"{name} {' '.join(captions[i])}\n")
    with open(os.path.join(folder, "captions.txt"), "w") as f:
        f.write("".join(lines))
    ok = sum(words_of(results[i][0]) == captions[i] for i in range(BUNDLED))
    print(f"bundled scenes: {ok}/{BUNDLED} captioned exactly; total {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
