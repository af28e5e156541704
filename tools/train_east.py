#!/usr/bin/env python3
"""Trains the EAST-style text detector examples/models/east_text.onnx on synthetic scene text (tools/textdet_synth.py)
and writes the held-out images examples/data/textdet/ (shared with tools/train_craft.py: both write the same files).

The model (a small U-Net) maps a grey image [N, 1, H, W] (grey level / 255, H and W multiples of 16) to EAST's RBOX
maps at output stride 4, as dlinfer_east_decode reads them:
  score    [N, 1, H/4, W/4]  sigmoid: the cell's point (x*4, y*4) lies in the shrunk core of a word
  geometry [N, 5, H/4, W/4]  distances (pixels) from that point to the top, right, bottom and left edges of the
                             word's rotated box, then the box's angle in radians, counter-clockwise as seen in the
                             image (its corner (cx,cy) + (w/2 cos a + h/2 sin a, h/2 cos a - w/2 sin a) is the
                             bottom-right one)
Boxes: dlinfer.east_decode(score, geometry, 4.0, SCORE_THRESHOLD) then dlinfer.nms(..., NMS_IOU, box_format="quad").

Labels are checked before training: decoding the label maps with this script's numpy decoder (dlinfer's documented
convention) gives back every ground-truth box. After training, onnxruntime's maps, decoded and suppressed in numpy,
are scored on held-out images the training never saw (other seeds): precision, recall and F1 at polygon IoU 0.5.

Needs torch, Pillow, numpy, onnx, onnxruntime. Seeds are fixed and training is single-threaded, so a rerun on the
same versions reproduces the files (checked: a rerun wrote the same bytes). Takes about 6 minutes on one core
(data 1 minute, training 5; 11 minutes on a core shared with other jobs).
Usage: python3 tools/train_east.py [--epochs N] [--no-write]
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textdet_synth as synth  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_PATH = os.path.join(ROOT, "examples", "models", "east_text.onnx")
HELDOUT_DIR = os.path.join(ROOT, "examples", "data", "textdet")
TRAIN_SEED, VALID_SEED, HELDOUT_SEED = 1101, 1102, 1103
HELDOUT_COUNT = 32
STRIDE = 4
MAX_DIST = 128.0  # the geometry head's range: sigmoid * MAX_DIST pixels
SHRINK = 0.25  # the score map's positive core: the box shrunk by SHRINK * its height on every side
SCORE_THRESHOLD = 0.8
NMS_IOU = 0.2
OPSET = 17
nn = torch.nn
F = torch.nn.functional


# ---- labels and the numpy reference decoder ----------------------------------------------------------------------

def east_labels(words, size):
    """score [H/4, W/4], geometry [5, H/4, W/4] and a mask of the cells whose geometry is trained (the positives)."""
    gh, gw = size[0] // STRIDE, size[1] // STRIDE
    score = np.zeros((gh, gw), np.float32)
    geometry = np.zeros((5, gh, gw), np.float32)
    py, px = np.mgrid[0:gh, 0:gw].astype(np.float64) * STRIDE
    for wd in words:
        cx, cy, w, h, a = wd["box"]
        c, s = np.cos(a), np.sin(a)
        # The cell's point in the box's frame: x axis (cos a, -sin a), y axis (sin a, cos a).
        du = (px - cx) * c - (py - cy) * s
        dv = (px - cx) * s + (py - cy) * c
        core = (np.abs(du) <= w / 2 - SHRINK * h) & (np.abs(dv) <= h / 2 - SHRINK * h)
        if not core.any():  # a very short or thin word: at least the cell nearest its centre
            k = np.argmin(du ** 2 + dv ** 2)
            core.flat[k] = True
        score[core] = 1
        geometry[0][core] = (h / 2 + dv)[core]  # top
        geometry[1][core] = (w / 2 - du)[core]  # right
        geometry[2][core] = (h / 2 - dv)[core]  # bottom
        geometry[3][core] = (w / 2 + du)[core]  # left
        geometry[4][core] = a
    return score, geometry


def east_decode(score, geometry, scale=4.0, threshold=0.5):
    """dlinfer_east_decode as its documentation states it: quads [K, 4, 2] (top-left, top-right, bottom-right,
    bottom-left) and scores [K] for the cells above the threshold, in row-major order."""
    ys, xs = np.nonzero(score > threshold)
    top, right, bottom, left, angle = (geometry[k, ys, xs].astype(np.float64) for k in range(5))
    c, s = np.cos(angle), np.sin(angle)
    px, py = xs * scale, ys * scale
    quads = []
    for u, v in ((-left, -top), (right, -top), (right, bottom), (-left, bottom)):
        quads.append(np.stack([px + u * c + v * s, py - u * s + v * c], axis=1))
    return np.stack(quads, axis=1), score[ys, xs]


def nms_quads(quads, scores, iou):
    """Greedy NMS with exact polygon IoU, by falling score (ties: lower index)."""
    order = sorted(range(len(scores)), key=lambda k: (-scores[k], k))
    keep = []
    for k in order:
        if all(synth.quad_iou(quads[k], quads[j]) <= iou for j in keep):
            keep.append(k)
    return keep


def detect(score, geometry, threshold=SCORE_THRESHOLD, iou=NMS_IOU):
    quads, scores = east_decode(score, geometry, STRIDE, threshold)
    keep = nms_quads(quads, scores, iou)
    return quads[keep], scores[keep]


def check_labels(words_list, size):
    worst = 0.0
    for words in words_list:
        score, geometry = east_labels(words, size)
        quads, _ = east_decode(score, geometry, STRIDE, 0.5)
        ys, xs = np.nonzero(score > 0.5)
        for q, y, x in zip(quads, ys, xs):
            # The cell's box must be one of the words' boxes, corner for corner.
            err = min(np.abs(q - synth.box_corners(wd["box"])).max() for wd in words)
            worst = max(worst, err)
    assert worst < 1e-3, f"decoded labels miss the ground truth by {worst} pixels"
    print(f"labels: decoding the label maps gives back the ground-truth boxes (worst corner error {worst:.1e} px)")


# ---- the model ---------------------------------------------------------------------------------------------------

def conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class EAST(nn.Module):
    """U-Net: encoder at strides 2, 4, 8, 16; decoder back to stride 4 by bilinear upsampling and skip concatenation;
    heads: score (sigmoid), 4 distances (sigmoid * MAX_DIST), angle ((sigmoid - 0.5) * pi / 2)."""

    def __init__(self):
        super().__init__()
        self.enc1 = conv(1, 16, 2)
        self.enc2 = nn.Sequential(conv(16, 32, 2), conv(32, 32))
        self.enc3 = nn.Sequential(conv(32, 48, 2), conv(48, 48))
        self.enc4 = nn.Sequential(conv(48, 64, 2), conv(64, 64), conv(64, 64))
        self.dec3 = nn.Sequential(conv(64 + 48, 48), conv(48, 48))
        self.dec2 = nn.Sequential(conv(48 + 32, 32), conv(32, 32))
        self.head = nn.Conv2d(32, 6, 1)

    def forward(self, image):
        x = image - 0.5
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        d3 = self.dec3(torch.cat([F.interpolate(e4, scale_factor=2.0, mode="bilinear", align_corners=False), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, scale_factor=2.0, mode="bilinear", align_corners=False), e2], 1))
        h = self.head(d2)
        score = torch.sigmoid(h[:, 0:1])
        distances = torch.sigmoid(h[:, 1:5]) * MAX_DIST
        angle = (torch.sigmoid(h[:, 5:6]) - 0.5) * (np.pi / 2)
        return score, torch.cat([distances, angle], 1)


def east_loss(score, geometry, gt_score, gt_geometry):
    pos = gt_score
    # Dice loss on the score map (EAST's class-balanced loss in its common form).
    inter = (score * pos).sum()
    dice = 1 - 2 * inter / (score.sum() + pos.sum() + 1e-6)
    d_t, d_r, d_b, d_l, theta = geometry.unbind(1)
    g_t, g_r, g_b, g_l, g_theta = gt_geometry.unbind(1)
    area_p = (d_t + d_b) * (d_r + d_l)
    area_g = (g_t + g_b) * (g_r + g_l)
    w_i = torch.min(d_r, g_r) + torch.min(d_l, g_l)
    h_i = torch.min(d_t, g_t) + torch.min(d_b, g_b)
    inter_area = w_i * h_i
    iou = (inter_area + 1.0) / (area_p + area_g - inter_area + 1.0)
    mask = pos[:, 0]
    n = mask.sum() + 1e-6
    iou_loss = (-torch.log(iou) * mask).sum() / n
    angle_loss = ((1 - torch.cos(theta - g_theta)) * mask).sum() / n
    return dice + iou_loss + 10 * angle_loss, (dice.item(), iou_loss.item(), angle_loss.item())


# ---- training and evaluation -------------------------------------------------------------------------------------

def make_data(seed, count):
    images, words = synth.make_set(seed, count)
    maps = [east_labels(ws, images.shape[1:]) for ws in words]
    score = np.stack([m[0] for m in maps])[:, None]
    geometry = np.stack([m[1] for m in maps])
    return images, words, score, geometry


def evaluate(run_maps, images, words, threshold=SCORE_THRESHOLD, iou=NMS_IOU):
    tp = n_pred = n_gt = 0
    for img, ws in zip(images, words):
        score, geometry = run_maps(img)
        quads, scores = detect(score, geometry, threshold, iou)
        gt = [synth.box_corners(wd["box"]) for wd in ws]
        tp += synth.match(quads, scores, gt)
        n_pred += len(quads)
        n_gt += len(gt)
    return synth.f1(tp, n_pred, n_gt)


def torch_maps(model):
    def run(img):
        with torch.no_grad():
            s, g = model(torch.from_numpy(img[None, None].astype(np.float32) / 255))
        return s[0, 0].numpy(), g[0].numpy()
    return run


def train(model, data, epochs, batch=16):
    images, _, score, geometry = data
    x_all = torch.from_numpy(images[:, None].astype(np.float32) / 255)
    s_all, g_all = torch.from_numpy(score), torch.from_numpy(geometry)
    n = len(images)
    steps = epochs * (n // batch)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(7)
    start = time.time()
    step = 0
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        totals = np.zeros(4)
        for b in range(n // batch):
            idx = perm[b * batch:(b + 1) * batch]
            x = x_all[idx]
            # Photometric augmentation: random inversion and contrast (the geometry is unchanged).
            flip = (torch.rand(len(idx), 1, 1, 1, generator=gen) < 0.5).float()
            x = flip * (1 - x) + (1 - flip) * x
            gain = 0.6 + 0.6 * torch.rand(len(idx), 1, 1, 1, generator=gen)
            x = ((x - 0.5) * gain + 0.5).clamp(0, 1)
            s, g = model(x)
            loss, parts = east_loss(s, g, s_all[idx], g_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            totals += [loss.item(), *parts]
        totals /= n // batch
        print(f"epoch {epoch + 1}/{epochs}: loss {totals[0]:.4f} (dice {totals[1]:.4f}, iou {totals[2]:.4f}, "
              f"angle {totals[3]:.4f}), {time.time() - start:.0f} s", flush=True)
    model.eval()


def export(model, path):
    model.eval()
    x = torch.zeros(1, 1, 128, 128)
    torch.onnx.export(model, (x,), path, opset_version=OPSET, dynamo=False, input_names=["image"],
                      output_names=["score", "geometry"],
                      dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "score": {0: "N", 2: "H/4", 3: "W/4"},
                                    "geometry": {0: "N", 2: "H/4", 3: "W/4"}},
                      training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    m.doc_string = ("dlinfer example 'east_text': EAST-style text detector (small U-Net) trained on synthetic rotated "
                    "words by tools/train_east.py. image [N,1,H,W] grey/255 (H, W multiples of 16) -> score "
                    "[N,1,H/4,W/4] (sigmoid), geometry [N,5,H/4,W/4] (distances to the top, right, bottom, left "
                    "edges from the point (x*4, y*4), angle in radians counter-clockwise as seen in the image)")
    onnx.save(m, path)
    return sorted({n.op_type for n in m.graph.node})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--train-images", type=int, default=4000)
    parser.add_argument("--no-write", action="store_true", help="train and evaluate, write nothing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    start = time.time()
    data = make_data(TRAIN_SEED, args.train_images)
    print(f"{args.train_images} training images, {sum(map(len, data[1]))} words, {time.time() - start:.0f} s")
    check_labels(data[1][:200], data[0].shape[1:])
    valid = synth.make_set(VALID_SEED, 100)
    if args.no_write:
        heldout = synth.make_set(HELDOUT_SEED, HELDOUT_COUNT)
    else:
        heldout = synth.write_heldout(HELDOUT_DIR, HELDOUT_SEED, HELDOUT_COUNT)
    # The oracle: the label maps themselves through the same post-processing.
    oracle = evaluate(lambda img, it=iter(heldout[1]): east_labels(next(it), img.shape), *heldout)
    print("oracle (label maps) on the held-out images: P %.3f R %.3f F1 %.3f" % oracle)

    model = EAST()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    t = time.time()
    train(model, data, args.epochs)
    print(f"training: {time.time() - t:.0f} s")
    for thr, iou in ((0.5, NMS_IOU), (SCORE_THRESHOLD, 0.1), (SCORE_THRESHOLD, NMS_IOU), (0.9, NMS_IOU)):
        print(f"validation (torch), score > {thr}, NMS IoU {iou}: P %.3f R %.3f F1 %.3f"
              % evaluate(torch_maps(model), *valid, thr, iou))
    path = MODEL_PATH if not args.no_write else "/tmp/east_text.onnx"
    ops = export(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = heldout[0][:, None].astype(np.float32) / 255
    s, g = sess.run(["score", "geometry"], {"image": x})
    with torch.no_grad():
        ts, tg = model(torch.from_numpy(x))
    np.testing.assert_allclose(s, ts.numpy(), atol=1e-4)
    np.testing.assert_allclose(g, tg.numpy(), atol=1e-3)
    it = iter(range(len(x)))
    p, r, f = evaluate(lambda img: (lambda k: (s[k, 0], g[k]))(next(it)), *heldout)
    print(f"onnxruntime on the {HELDOUT_COUNT} held-out images: P {p:.3f} R {r:.3f} F1 {f:.3f}")
    print(f"ops: {' '.join(ops)}; {os.path.getsize(path)} bytes; total {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
