#!/usr/bin/env python3
"""Trains the SegNet-style segmenter of the segment_image examples on synthetic images and writes

  examples/models/segnet.onnx          opset 17; input `image` float32 [N,3,H,W] (RGB / 255, H and W multiples of 8);
                                       outputs `logits` float32 [N,4,H,W] and `classes` int64 [N,H,W] (their argmax)
  examples/data/segnet/image_NN.ppm    16 held-out images (binary PPM, 64x64), drawn with a seed training never used
  examples/data/segnet/label_NN.pgm    their label maps (binary PGM, one byte per pixel: the class 0..3)
  examples/data/segnet/labels.txt      one "IMAGE LABELMAP" line per pair, the examples' evaluation list

The images: a noisy two-colour gradient background (class 0) with 2 to 5 overlapping objects, each drawn over the
ones before: striped ellipses ("disc", 1), checkered rotated rectangles ("rectangle", 2) and flat-coloured triangles
("triangle", 3), random sizes, angles and colours, Gaussian noise on every pixel. Training draws fresh images at
every step from one seeded generator; the held-out sets come from other seeds.

The network (SegNet: Badrinarayanan et al. 2015, shrunk): three encoder levels of two Conv3x3+BN+ReLU each followed by
MaxPool 2x2 that returns its argmax indices; the decoder undoes each pool with MaxUnpool at those indices (the
values go back to where the maxima were, zeros elsewhere), then two Conv3x3+BN+ReLU; a 1x1 Conv gives the logits.
Exported with the TorchScript exporter (dynamo=False), which has no symbolic for aten::max_unpool2d: max_unpool2d()
below supplies one. BatchNorm is folded into the Convs by the exporter (eval mode).

Needs torch, onnx, onnxruntime (only to regenerate; the examples' test reads the committed files). Seeds are fixed
and training runs on one thread, so a rerun on the same versions gives the same files. Takes about 10 minutes on
one core (--steps to change the 1800 training steps).
Usage: nice -n 10 python3 tools/train_segnet.py [--steps N] [--weights FILE]
       DLINFER_LIBRARY=... PYTHONPATH=bindings/python python3 tools/train_segnet.py --check-dlinfer cpu opencl
(the second compares dlinfer with onnxruntime on the held-out sets, through the dlinfer Python package)
"""
import argparse
import os
import shutil
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch.onnx import symbolic_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "examples", "models", "segnet.onnx")
DATA = os.path.join(ROOT, "examples", "data", "segnet")
OPSET = 17
CLASSES = ["background", "disc", "rectangle", "triangle"]
SIZE = 64
TRAIN_SEED, HELD_OUT_SEED, BUNDLED_SEED, WIDE_SEED = 0, 1, 2, 3
nn = torch.nn
F = torch.nn.functional


# ---- synthetic data ----------------------------------------------------------------------------------------------

def _colour(rng, avoid=(), distance=0.35):
    """A random RGB colour in [0,1] whose mean absolute difference from each colour in `avoid` is at least
    `distance`."""
    while True:
        c = rng.uniform(0.0, 1.0, 3)
        if all(np.abs(c - a).mean() >= distance for a in avoid):
            return c


def make_image(rng, height=SIZE, width=SIZE):
    """One image (uint8 [H,W,3]) and its label map (uint8 [H,W], values 0..3)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    # Background: a linear gradient between two colours in a random direction, plus a faint wave per channel.
    c0, c1 = _colour(rng), _colour(rng)
    a = rng.uniform(0, 2 * np.pi)
    t = ((xx - width / 2) * np.cos(a) + (yy - height / 2) * np.sin(a)) / max(height, width) + 0.5
    image = c0 + (c1 - c0) * np.clip(t, 0, 1)[..., None]
    image += 0.06 * np.sin(xx[..., None] * rng.uniform(0.05, 0.2) + yy[..., None] * rng.uniform(0.05, 0.2)
                           + rng.uniform(0, 6.3, 3))
    label = np.zeros((height, width), np.uint8)
    background = image.reshape(-1, 3).mean(0)
    for _ in range(rng.integers(2, 6)):
        cls = int(rng.integers(1, 4))
        cx, cy = rng.uniform(4, width - 4), rng.uniform(4, height - 4)
        rot = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(rot) + (yy - cy) * np.sin(rot)
        v = -(xx - cx) * np.sin(rot) + (yy - cy) * np.cos(rot)
        if cls == 1:  # ellipse, stripes of period 3.5..6 px at any angle
            rx, ry = rng.uniform(5, 15), rng.uniform(5, 15)
            mask = (u / rx) ** 2 + (v / ry) ** 2 <= 1
            period, sa = rng.uniform(3.5, 6), rng.uniform(0, np.pi)
            pattern = np.sin(2 * np.pi * (xx * np.cos(sa) + yy * np.sin(sa)) / period + rng.uniform(0, 6.3)) > 0
        elif cls == 2:  # rectangle, checkerboard of 2.5..4.5 px cells aligned with its sides
            w, h = rng.uniform(5, 15), rng.uniform(5, 15)
            mask = (np.abs(u) <= w) & (np.abs(v) <= h)
            cell = rng.uniform(2.5, 4.5)
            pattern = (np.floor(u / cell) + np.floor(v / cell)) % 2 == 0
        else:  # triangle, one flat colour
            r = rng.uniform(8, 18)
            angles = rot + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(-0.4, 0.4, 3)
            px, py = cx + r * np.cos(angles), cy + r * np.sin(angles)
            mask = np.ones_like(xx, bool)
            for i in range(3):
                j = (i + 1) % 3
                mask &= (px[j] - px[i]) * (yy - py[i]) - (py[j] - py[i]) * (xx - px[i]) >= 0
            pattern = np.zeros_like(mask)
        ca = _colour(rng, [background])
        cb = _colour(rng, [ca]) if cls != 3 else ca
        fill = np.where(pattern[..., None], ca, cb)
        image[mask] = fill[mask]
        label[mask] = cls
    image += rng.normal(0, 0.05, image.shape)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), label


def make_set(rng, n, height=SIZE, width=SIZE):
    images, labels = zip(*(make_image(rng, height, width) for _ in range(n)))
    return np.stack(images), np.stack(labels)


def to_input(images):
    """uint8 [N,H,W,3] -> the model's float32 [N,3,H,W] in [0,1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255)


def confusion(predicted, labels, classes=len(CLASSES)):
    return np.bincount(labels.ravel().astype(np.int64) * classes + predicted.ravel(),
                       minlength=classes * classes).reshape(classes, classes)


def iou(conf):
    """Per-class IoU from a confusion matrix (rows: labels, columns: predictions)."""
    tp = np.diag(conf).astype(np.float64)
    return tp / (conf.sum(0) + conf.sum(1) - tp)


# ---- the network ---------------------------------------------------------------------------------------------------

def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class SegNet(nn.Module):
    """[N,3,H,W] -> encoder levels of 16, 32, 64 channels (2 Conv+BN+ReLU, MaxPool 2 with indices) -> decoder levels
    (MaxUnpool 2 at the matching pool's indices, 2 Conv+BN+ReLU: 64->64->32, 32->32->16, 16->16->16) -> 1x1 Conv ->
    logits [N,4,H,W]. H and W must be multiples of 8."""

    def __init__(self, channels=(16, 32, 64), classes=len(CLASSES)):
        super().__init__()
        self.encoder = nn.ModuleList()
        cin = 3
        for c in channels:
            self.encoder.append(nn.Sequential(*conv_bn_relu(cin, c), *conv_bn_relu(c, c)))
            cin = c
        self.decoder = nn.ModuleList()
        for c, cout in zip(channels[::-1], list(channels[-2::-1]) + [channels[0]]):
            self.decoder.append(nn.Sequential(*conv_bn_relu(c, c), *conv_bn_relu(c, cout)))
        self.head = nn.Conv2d(channels[0], classes, 1)

    def forward(self, image):
        x, indices = image, []
        for level in self.encoder:
            x, i = F.max_pool2d(level(x), 2, 2, return_indices=True)
            indices.append(i)
        for level in self.decoder:
            # torch._C._nn.max_unpool2d directly: F.max_unpool2d's size check fails under the tracer. The output
            # size is twice the input's, which is also what ONNX MaxUnpool infers without an output_shape.
            x = level(torch._C._nn.max_unpool2d(x, indices.pop(), [2 * int(x.shape[2]), 2 * int(x.shape[3])]))
        return self.head(x)


class WithClasses(nn.Module):
    """The exported graph: the logits and their argmax over the classes."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        logits = self.net(image)
        return logits, logits.argmax(1)


@symbolic_helper.parse_args("v", "v", "is")
def max_unpool2d(g, values, indices, output_size):
    """aten::max_unpool2d(values, indices, output_size) as ONNX MaxUnpool (kernel 2, stride 2).

    The two index conventions differ: ONNX MaxPool's Indices output (and MaxUnpool's input) counts over the whole
    flattened N,C,H,W tensor, whereas PyTorch's counts within each (n, c) plane; the exporter's MaxPool symbolic
    already converts ONNX's to PyTorch's by subtracting each plane's first index. So this adds the plane offsets
    back, computed the same way: the indices of a kernel-1 MaxPool over a tensor of the unpooled shape, at [.., 0, 0].
    The unpooled shape is [N, C, 2h, 2w] (ONNX MaxUnpool's default output); the traced output_size must agree."""
    sizes = symbolic_helper._get_tensor_sizes(values)
    if sizes and all(isinstance(s, int) for s in sizes[2:]):
        assert list(output_size) == [2 * s for s in sizes[2:]], (output_size, sizes)
    shape = g.op("Mul", g.op("Shape", indices), g.op("Constant", value_t=torch.tensor([1, 1, 2, 2])))
    zeros = g.op("ConstantOfShape", shape)
    _, positions = g.op("MaxPool", zeros, outputs=2, kernel_shape_i=[1, 1], strides_i=[1, 1])
    offsets = g.op("Slice", positions, g.op("Constant", value_t=torch.tensor([0, 0])),
                   g.op("Constant", value_t=torch.tensor([1, 1])), g.op("Constant", value_t=torch.tensor([2, 3])))
    return g.op("MaxUnpool", values, g.op("Add", indices, offsets), kernel_shape_i=[2, 2], strides_i=[2, 2])


# ---- training, export, files ---------------------------------------------------------------------------------------

def train(steps, batch=16):
    model = SegNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    rng = np.random.default_rng(TRAIN_SEED)
    start = time.time()
    model.train()
    for step in range(steps):
        images, labels = make_set(rng, batch)
        loss = F.cross_entropy(model(torch.from_numpy(to_input(images))), torch.from_numpy(labels).long())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"  step {step}: loss {loss.item():.4f} ({time.time() - start:.0f} s)", flush=True)
    return model.eval()


def write_ppm(path, image):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (image.shape[1], image.shape[0]) + image.tobytes())


def write_pgm(path, image):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (image.shape[1], image.shape[0]) + image.tobytes())


def report(name, predicted, labels):
    per_class = iou(confusion(predicted, labels))
    print(f"  {name}: IoU " + ", ".join(f"{c} {v:.4f}" for c, v in zip(CLASSES, per_class))
          + f"; mean IoU {per_class.mean():.4f}; pixel accuracy {(predicted == labels).mean():.4f}")
    return per_class.mean()


def check_dlinfer(devices):
    """Compares dlinfer on each device with onnxruntime on the held-out sets of main(): the logits, the classes
    and the IoU."""
    import dlinfer
    sets = {"256 64x64": make_set(np.random.default_rng(HELD_OUT_SEED), 256),
            "32 48x96": make_set(np.random.default_rng(WIDE_SEED), 32, 48, 96)}
    sess = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    for device in devices:
        session = dlinfer.InferenceSession(MODEL, device=device)
        for name, (images, labels) in sets.items():
            x = to_input(images)
            want = sess.run(["logits"], {"image": x})[0]
            runs = [session.run(["logits", "classes"], {"image": x[k:k + 32]}) for k in range(0, len(x), 32)]
            logits, classes = (np.concatenate(parts) for parts in zip(*runs))
            top2 = np.sort(want, 1)[:, -2:]
            untied = top2[:, 1] > top2[:, 0]
            print(f"  dlinfer on {session.device}, {name} held-out images: logits within "
                  f"{np.abs(logits - want).max():.2g} of onnxruntime's; {(classes != want.argmax(1)).sum()} pixels' "
                  f"classes differ from onnxruntime's argmax ({(~untied).sum()} exact ties)")
            report(f"dlinfer on {session.device}, {name}", classes, labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1800)
    parser.add_argument("--weights", help="a state_dict file: loaded if it exists (no training), else written")
    parser.add_argument("--check-dlinfer", nargs="+", metavar="DEVICE",
                        help="no training: compare dlinfer on these devices with onnxruntime on the held-out sets")
    args = parser.parse_args()
    if args.check_dlinfer:
        check_dlinfer(args.check_dlinfer)
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)

    if args.weights and os.path.exists(args.weights):
        model = SegNet()
        model.load_state_dict(torch.load(args.weights))
        model.eval()
    else:
        model = train(args.steps)
        if args.weights:
            torch.save(model.state_dict(), args.weights)
    held_images, held_labels = make_set(np.random.default_rng(HELD_OUT_SEED), 256)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(to_input(held_images))).numpy()
    report("torch, 256 held-out 64x64 images", torch_logits.argmax(1), held_labels)

    torch.onnx.register_custom_op_symbolic("aten::max_unpool2d", max_unpool2d, OPSET)
    # The wrapper must be in eval mode too: the exporter puts the whole module back into the mode it found it in.
    torch.onnx.export(
        WithClasses(model).eval(), (torch.from_numpy(to_input(held_images[:2])),), MODEL,
        opset_version=OPSET, dynamo=False, input_names=["image"], output_names=["logits", "classes"],
        dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N", 2: "H", 3: "W"},
                      "classes": {0: "N", 1: "H", 2: "W"}},
    )
    m = onnx.load(MODEL)
    onnx.checker.check_model(m, full_check=True)
    m.doc_string = ("dlinfer example model 'segnet': " + " ".join(SegNet.__doc__.split())
                    + " Classes: " + ", ".join(f"{k} {c}" for k, c in enumerate(CLASSES))
                    + ". Trained on synthetic shapes by tools/train_segnet.py.")
    onnx.save(m, MODEL)
    print(f"  {MODEL}: {os.path.getsize(MODEL)} bytes, ops {' '.join(sorted({n.op_type for n in m.graph.node}))}")

    sess = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    logits, classes = sess.run(None, {"image": to_input(held_images)})
    # An export that disagrees with PyTorch would make wrong references: refuse it.
    np.testing.assert_allclose(logits, torch_logits, rtol=1e-4, atol=1e-4, err_msg="onnxruntime vs torch")
    assert (classes == logits.argmax(1)).all()
    report("onnxruntime, the same images", classes, held_labels)
    wide_images, wide_labels = make_set(np.random.default_rng(WIDE_SEED), 32, 48, 96)
    with torch.no_grad():
        wide_torch = model(torch.from_numpy(to_input(wide_images))).numpy()
    wide_logits, wide_classes = sess.run(None, {"image": to_input(wide_images)})
    np.testing.assert_allclose(wide_logits, wide_torch, rtol=1e-4, atol=1e-4, err_msg="48x96: onnxruntime vs torch")
    report("onnxruntime, 32 held-out 48x96 images", wide_classes, wide_labels)

    images, labels = make_set(np.random.default_rng(BUNDLED_SEED), 16)
    shutil.rmtree(DATA, ignore_errors=True)
    os.makedirs(DATA)
    with open(os.path.join(DATA, "labels.txt"), "w") as f:
        for k, (image, label) in enumerate(zip(images, labels)):
            write_ppm(os.path.join(DATA, f"image_{k:02d}.ppm"), image)
            write_pgm(os.path.join(DATA, f"label_{k:02d}.pgm"), label)
            f.write(f"image_{k:02d}.ppm label_{k:02d}.pgm\n")
    report("onnxruntime, the 16 bundled images", sess.run(["classes"], {"image": to_input(images)})[0], labels)


if __name__ == "__main__":
    main()
