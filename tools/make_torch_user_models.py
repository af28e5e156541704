#!/usr/bin/env python3
"""Trains (or, for the segmentation net, seeds) the PyTorch models users bring, and writes them with onnxruntime's
reference outputs:

  char_rnn      2-layer LSTM character language model trained on GNU, Apache and Mozilla licence texts from
                /usr/share/common-licenses; one call runs one step or a chunk, the LSTM state is an explicit input
                and output.
                -> examples/models/char_rnn.onnx, examples/data/char_rnn_vocab.txt, Tests/Fixtures/models/char_rnn/
  crnn_ctc      conv stack + 2-layer BiLSTM + per-frame Linear + log_softmax, trained with CTC loss on synthetic
                text lines (hexadecimal strings rendered with DejaVu Sans), variable image width.
                -> examples/models/crnn_ctc.onnx, examples/data/crnn_alphabet.txt, examples/data/textlines/
                   (held-out PGM images + labels.txt), Tests/Fixtures/models/crnn_ctc/
  segmentation  encoder-decoder (strided Conv, ConvTranspose, nearest Resize, skip Concat), random seeded weights.
                -> Tests/Fixtures/models/segmentation/

Each fixture folder follows Tests/Fixtures/models' layout (model.onnx, ops.txt, test_data_set_K/{input,output}_J.pb,
two data sets with different dynamic sizes) and its row in Tests/Fixtures/models/README.md is added or replaced.
Exported with the TorchScript exporter (dynamo=False), opset 17; every reference output is onnxruntime's, checked
against PyTorch's own before it is written.

Needs torch, Pillow, onnx, onnxruntime (only to regenerate; CI reads the committed files). Seeds are fixed and
training is single-threaded, so a rerun on the same versions (Pillow's too: it draws the text lines) reproduces the
files. Takes about 20 minutes on one core.
Usage: python3 tools/make_torch_user_models.py [char_rnn] [crnn_ctc] [segmentation]
"""
import os
import shutil
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "models")
MODELS = os.path.join(ROOT, "examples", "models")
DATA = os.path.join(ROOT, "examples", "data")
OPSET = 17
nn = torch.nn
F = torch.nn.functional


# ---- char-RNN ----------------------------------------------------------------------------------------------------

LICENCES = ["GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3", "GFDL-1.3", "Apache-2.0", "MPL-2.0"]  # ASCII, about 140 KB


class CharRNN(nn.Module):
    """Character language model: token ids [N,T] -> Embedding -> 2-layer LSTM (state h0/c0 [2,N,H] in, hn/cn out)
    -> Linear -> logits [N,T,V]."""

    def __init__(self, vocab, embed=32, hidden=160, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens, h0, c0):
        y, (h, c) = self.lstm(self.embed(tokens), (h0, c0))
        return self.head(y), h, c


def train_char_rnn(ids, vocab, steps=1500, batch=48, seq=96):
    model = CharRNN(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    split = int(len(ids) * 0.95)  # the last 5 % of the text (the end of MPL-2.0) only measures the loss
    train, held = torch.from_numpy(ids[:split]), torch.from_numpy(ids[split:])
    gen = torch.Generator().manual_seed(1)
    layers, hidden = model.lstm.num_layers, model.lstm.hidden_size
    zeros = torch.zeros(layers, batch, hidden)
    start = time.time()
    for step in range(steps):
        offsets = torch.randint(0, len(train) - seq - 1, (batch,), generator=gen)
        chunk = torch.stack([train[o:o + seq + 1] for o in offsets.tolist()])
        logits, _, _ = model(chunk[:, :-1], zeros, zeros)
        loss = F.cross_entropy(logits.reshape(-1, vocab), chunk[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"  step {step}: train loss {loss.item():.3f} ({time.time() - start:.0f} s)")
    model.eval()
    with torch.no_grad():
        z = torch.zeros(layers, 1, hidden)
        logits, _, _ = model(held[None, :-1], z, z)
        held_loss = F.cross_entropy(logits[0], held[1:]).item()
    print(f"  held-out loss {held_loss:.3f} nats/char")
    return model, held_loss


def greedy_sample(step, prompt_ids, n):
    """The greedy continuation of `prompt_ids`: the prompt in one call, then one token per call with the state
    carried. `step(tokens [1,T] int64, h, c) -> (logits [1,T,V], h, c)`; h and c start at None (zeros)."""
    logits, h, c = step(np.array([prompt_ids], dtype=np.int64), None, None)
    out = []
    for _ in range(n):
        out.append(int(np.argmax(logits[0, -1])))
        logits, h, c = step(np.array([[out[-1]]], dtype=np.int64), h, c)
    return out


def char_rnn():
    text = "\n".join(open(f"/usr/share/common-licenses/{name}", encoding="ascii").read() for name in LICENCES)
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}
    ids = np.array([index[ch] for ch in text], dtype=np.int64)
    print(f"  {', '.join(LICENCES)}: {len(text)} characters, vocabulary {len(chars)}")
    model, held_loss = train_char_rnn(ids, len(chars))
    layers, hidden = model.lstm.num_layers, model.lstm.hidden_size

    def torch_step(tokens, h, c):
        if h is None:
            h = c = np.zeros((layers, len(tokens), hidden), np.float32)
        with torch.no_grad():
            return [t.numpy() for t in model(torch.from_numpy(tokens), torch.from_numpy(h), torch.from_numpy(c))]

    # Data sets: one step (batch 1) from a state reached by reading real text, and a chunk of 41 characters for 8
    # sequences that start mid-text with the state their preceding characters left.
    rng = np.random.default_rng(2)

    def state_after(prefixes):
        _, h, c = torch_step(prefixes, None, None)
        return h, c

    o = int(rng.integers(0, len(ids) - 100))
    h1, c1 = state_after(ids[None, o:o + 60])
    offsets = rng.integers(0, len(ids) - 100, 8)
    h8, c8 = state_after(np.stack([ids[k:k + 30] for k in offsets]))
    chunk = np.stack([ids[k + 30:k + 71] for k in offsets])
    data_sets = [[ids[None, o + 60:o + 61].copy(), h1, c1], [chunk, h8, c8]]

    prompt = "This License "
    sample = greedy_sample(torch_step, [index[ch] for ch in prompt], 200)
    print("  greedy sample: " + repr(prompt + "".join(chars[i] for i in sample)))
    with open(os.path.join(DATA, "char_rnn_vocab.txt"), "w", encoding="ascii", newline="") as f:
        f.write("".join(chars))

    def check(sess):
        def ort_step(tokens, h, c):
            if h is None:
                h = c = np.zeros((layers, len(tokens), hidden), np.float32)
            return sess.run(None, {"tokens": tokens, "h0": h, "c0": c})

        sample = greedy_sample(ort_step, [index[ch] for ch in prompt], 200)
        print("  onnxruntime greedy sample: " + repr("".join(chars[i] for i in sample)))

    return dict(
        model=model, example="char_rnn.onnx", check=check,
        inputs=["tokens", "h0", "c0"], outputs=["logits", "hn", "cn"],
        dynamic_axes={"tokens": {0: "N", 1: "T"}, "h0": {1: "N"}, "c0": {1: "N"},
                      "logits": {0: "N", 1: "T"}, "hn": {1: "N"}, "cn": {1: "N"}},
        data_sets=data_sets,
        doc=(f"Character LSTM language model ({layers} layers, hidden {hidden}, vocabulary {len(chars)}) trained on "
             f"licence texts (held-out loss {held_loss:.2f} nats/char): tokens [N,T] int64, h0/c0 "
             f"[{layers},N,{hidden}] -> logits [N,T,{len(chars)}], hn/cn."),
    )


# ---- CRNN with CTC -----------------------------------------------------------------------------------------------

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
ALPHABET = "0123456789ABCDEF"  # class k + 1 is ALPHABET[k]; class 0 is the CTC blank
HEIGHT = 32


class CRNN(nn.Module):
    """Text-line recogniser: [N,1,32,W] grey image in [0,1] (dark text on a light background) -> conv stack that
    collapses the height (each of the W/4 columns is a frame) -> 2-layer BiLSTM -> per-frame Linear -> log_softmax
    -> [T=W/4, N, classes] with class 0 the CTC blank."""

    def __init__(self, classes=len(ALPHABET) + 1, hidden=64):
        super().__init__()

        def block(cin, cout, pool):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                    nn.MaxPool2d(pool)]

        self.cnn = nn.Sequential(
            *block(1, 16, (2, 2)),   # 32 x W   -> 16 x W/2
            *block(16, 32, (2, 2)),  # -> 8 x W/4
            *block(32, 64, (2, 1)),  # -> 4 x W/4
            *block(64, 64, (2, 1)),  # -> 2 x W/4
            nn.Conv2d(64, 64, (2, 1)), nn.ReLU(),  # -> 1 x W/4
        )
        self.rnn = nn.LSTM(64, hidden, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, image):
        f = self.cnn(image).squeeze(2).permute(2, 0, 1)  # [T, N, C]
        y, _ = self.rnn(f)
        return F.log_softmax(self.fc(y), dim=2)


class LineRenderer:
    """Synthetic text lines: random hexadecimal strings of 3-10 characters, font size 18-25 px, grey levels,
    position jitter and noise; 8-bit grey images of height 32 whose width is a multiple of 4."""

    def __init__(self, seed):
        from PIL import ImageFont
        self.rng = np.random.default_rng(seed)
        self.fonts = {s: ImageFont.truetype(FONT, s) for s in range(18, 26)}

    def text(self):
        return "".join(self.rng.choice(list(ALPHABET), int(self.rng.integers(3, 11))))

    def layout(self, text):
        """Random style for `text` and the width it needs."""
        font = self.fonts[int(self.rng.integers(18, 26))]
        left, _, right, _ = font.getbbox(text)
        margin = self.rng.integers(2, 13, 2)
        return dict(text=text, font=font, x=int(margin[0]) - left, width=right - left + int(margin.sum()))

    def render(self, style, width):
        """The line drawn on a canvas `width` pixels wide (at least style's width), as uint8 [32, width]."""
        from PIL import Image, ImageDraw
        r = self.rng
        bg, ink = int(r.integers(150, 256)), int(r.integers(0, 90))
        img = Image.new("L", (width, HEIGHT), bg)
        font = style["font"]
        _, top, _, bottom = font.getbbox(style["text"])
        y = (HEIGHT - (bottom - top)) // 2 - top + int(r.integers(-2, 3))
        x = style["x"] + int(r.integers(0, width - style["width"] + 1))
        ImageDraw.Draw(img).text((x, y), style["text"], fill=ink, font=font)
        a = np.asarray(img, dtype=np.float32) + r.normal(0, r.uniform(0, 10), (HEIGHT, width))
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)

    def line(self):
        """(text, image) at the text's own width."""
        style = self.layout(self.text())
        return style["text"], self.render(style, -(-style["width"] // 4) * 4)

    def batch(self, n):
        """n lines on one canvas width (the widest line's, rounded up to a multiple of 4), as in a padded batch."""
        styles = [self.layout(self.text()) for _ in range(n)]
        width = -(-max(s["width"] for s in styles) // 4) * 4
        return [s["text"] for s in styles], np.stack([self.render(s, width) for s in styles])


def to_input(images):
    """uint8 [N,32,W] -> the model's float32 [N,1,32,W] in [0,1]."""
    return (images.astype(np.float32) / 255.0)[:, None]


def greedy_ctc(log_probs):
    """Best path per batch item of [T,N,C] scores: argmax per frame, repeats collapsed, blanks (0) dropped."""
    best = log_probs.argmax(axis=2)
    out = []
    for n in range(best.shape[1]):
        path = best[:, n]
        keep = (path != 0) & np.concatenate([[True], path[1:] != path[:-1]])
        out.append("".join(ALPHABET[k - 1] for k in path[keep]))
    return out


def train_crnn(steps=2500, batch=32):
    model = CRNN()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    lines = LineRenderer(seed=11)
    start = time.time()
    model.train()
    for step in range(steps):
        texts, images = lines.batch(batch)
        x = torch.from_numpy(to_input(images))
        log_probs = model(x)
        targets = torch.tensor([ALPHABET.index(ch) + 1 for t in texts for ch in t])
        loss = ctc(log_probs, targets, torch.full((batch,), log_probs.shape[0], dtype=torch.long),
                   torch.tensor([len(t) for t in texts]))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps - 1:
            print(f"  step {step}: CTC loss {loss.item():.3f} ({time.time() - start:.0f} s)")
    return model.eval()


def write_pgm(path, image):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (image.shape[1], image.shape[0]) + image.tobytes())


def crnn_ctc():
    import PIL
    print(f"  lines drawn by Pillow {PIL.__version__}")
    model = train_crnn()
    # Held-out lines from a generator seeded apart from training's, each at its own width.
    held = LineRenderer(seed=12)
    lines = [held.line() for _ in range(200)]
    with torch.no_grad():
        decoded = [greedy_ctc(model(torch.from_numpy(to_input(img[None]))).numpy())[0] for _, img in lines]
    accuracy = np.mean([d == t for d, (t, _) in zip(decoded, lines)])
    print(f"  torch exact-string accuracy on {len(lines)} held-out lines: {accuracy:.3f}")

    folder = os.path.join(DATA, "textlines")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with open(os.path.join(folder, "labels.txt"), "w") as f:
        for k, (text, img) in enumerate(lines):
            write_pgm(os.path.join(folder, f"line_{k:03d}.pgm"), img)
            f.write(f"line_{k:03d}.pgm {text}\n")
    with open(os.path.join(DATA, "crnn_alphabet.txt"), "w", encoding="ascii", newline="") as f:
        f.write(ALPHABET)

    def check(sess):
        decoded = [greedy_ctc(sess.run(None, {"image": to_input(img[None])})[0])[0] for _, img in lines]
        print(f"  onnxruntime exact-string accuracy: {np.mean([d == t for d, (t, _) in zip(decoded, lines)]):.3f}")

    one = to_input(lines[0][1][None])
    _, eight = LineRenderer(seed=13).batch(8)
    return dict(
        model=model, example="crnn_ctc.onnx", check=check, inputs=["image"], outputs=["log_probs"],
        dynamic_axes={"image": {0: "N", 3: "W"}, "log_probs": {0: "T", 1: "N"}},
        data_sets=[[one], [to_input(eight)]],
        doc=(f"{' '.join(CRNN.__doc__.split())} Trained with CTC loss on synthetic hexadecimal text lines "
             f"(DejaVu Sans); {accuracy * 100:.1f} % exact strings on {len(lines)} held-out lines."),
    )


# ---- segmentation ------------------------------------------------------------------------------------------------

class SegNet(nn.Module):
    """Encoder-decoder segmenter: [N,3,H,W] (H, W multiples of 4) -> Conv+BN+ReLU, two stride-2 Convs down to H/4,
    ConvTranspose (stride 2) up to H/2 concatenated with the encoder's H/2 features, nearest 2x Resize up to H
    concatenated with the first features, 1x1 Conv -> class logits [N,4,H,W]. Random seeded weights."""

    def __init__(self, classes=4):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.enc3 = nn.Sequential(nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU())
        self.up2 = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)
        self.dec2 = nn.Sequential(nn.Conv2d(64, 32, 3, padding=1), nn.ReLU())
        self.dec1 = nn.Sequential(nn.Conv2d(48, 16, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(16, classes, 1)

    def forward(self, image):
        e1 = self.enc1(image)
        e2 = self.enc2(e1)
        d2 = self.dec2(torch.cat([self.up2(self.enc3(e2)), e2], dim=1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0, mode="nearest"), e1], dim=1))
        return self.head(d1)


def segmentation():
    model = SegNet()
    bn = model.enc1[1]
    # Real running statistics and a non-trivial affine, so the exported BatchNormalization does something.
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    bn.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, 64, 64))
    model.eval()
    return dict(
        model=model, inputs=["image"], outputs=["logits"],
        dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N", 2: "H", 3: "W"}},
        data_sets=[[torch.randn(1, 3, 64, 64).numpy()], [torch.randn(8, 3, 48, 80).numpy()]],
        doc=" ".join(SegNet.__doc__.split()),
    )


# ---- export and references ---------------------------------------------------------------------------------------

BUILDERS = {"char_rnn": (401, char_rnn), "crnn_ctc": (402, crnn_ctc), "segmentation": (403, segmentation)}


def export(name, spec, path):
    model = spec["model"]
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    args = tuple(torch.from_numpy(a) for a in spec["data_sets"][0])
    torch.onnx.export(
        model, args, path, opset_version=OPSET, dynamo=False,
        input_names=spec["inputs"], output_names=spec["outputs"], dynamic_axes=spec["dynamic_axes"],
        # BatchNormalization stays a node (dlinfer folds it) rather than being folded by the exporter.
        training=torch.onnx.TrainingMode.PRESERVE if has_bn else torch.onnx.TrainingMode.EVAL,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    m.doc_string = f"dlinfer model '{name}': {spec['doc']}"
    onnx.save(m, path)
    return sorted({n.op_type for n in m.graph.node})


def write_fixture(name):
    seed, build = BUILDERS[name]
    torch.manual_seed(seed)
    print(f"{name}:")
    spec = build()
    folder = os.path.join(FIXTURES, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, "model.onnx")
    ops = export(name, spec, path)
    with open(os.path.join(folder, "ops.txt"), "w") as f:
        f.write(" ".join(ops) + "\n")
    if "example" in spec:
        shutil.copyfile(path, os.path.join(MODELS, spec["example"]))

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    shapes = []
    for k, inputs in enumerate(spec["data_sets"]):
        with torch.no_grad():
            want = spec["model"](*(torch.from_numpy(a) for a in inputs))
        want = [want] if isinstance(want, torch.Tensor) else list(want)
        got = sess.run(spec["outputs"], dict(zip(spec["inputs"], inputs)))
        for g, w in zip(got, want):
            # An export that disagrees with PyTorch would make a wrong reference: refuse it.
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5, err_msg=f"{name} set {k}: ORT vs torch")
        d = os.path.join(folder, f"test_data_set_{k}")
        os.makedirs(d)
        for j, (n, a) in enumerate(zip(spec["inputs"], inputs)):
            onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(d, f"input_{j}.pb"))
        for j, (n, a) in enumerate(zip(spec["outputs"], got)):
            onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(d, f"output_{j}.pb"))
        shapes.append(", ".join(f"{n} {list(a.shape)}" for n, a in zip(spec["inputs"], inputs))
                      + " -> " + ", ".join(f"{list(a.shape)}" for a in got))

    if "check" in spec:  # the model's own measure through onnxruntime: accuracy, greedy text
        spec["check"](sess)

    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
    model_mb = f"{os.path.getsize(path) / 1e6:.2f} MB"
    print(f"  {model_mb} model, {total / 1e6:.2f} MB in all; ops: {' '.join(ops)}")
    for k, s in enumerate(shapes):
        print(f"  set {k}: {s}")
    return f"| `{name}` | {spec['doc']} | {' '.join(ops)} | {model_mb} | {'; '.join(shapes)} |"


def update_readme(rows):
    """Adds or replaces this script's rows in the fixtures' README table."""
    path = os.path.join(FIXTURES, "README.md")
    lines = open(path).read().rstrip("\n").split("\n")
    for name, row in rows.items():
        at = [i for i, line in enumerate(lines) if line.startswith(f"| `{name}` |")]
        if at:
            lines[at[0]] = row
        else:
            lines.append(row)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    names = argv or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {list(BUILDERS)}")
    torch.set_num_threads(1)
    update_readme({n: write_fixture(n) for n in names})
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")


if __name__ == "__main__":
    main(sys.argv[1:])
