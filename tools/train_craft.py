#!/usr/bin/env python3
"""Trains the CRAFT-style text detector examples/models/craft_text.onnx on synthetic scene text
(tools/textdet_synth.py) and writes the held-out images examples/data/textdet/ (shared with tools/train_east.py: both
write the same files).

The model (a VGG-like backbone whose deepest stage uses dilated convolutions, and a decoder that upsamples and
concatenates the shallower stages, as CRAFT's) maps a grey image [N, 1, H, W] (grey level / 255, H and W multiples
of 8) to CRAFT's two heatmaps at half the input resolution:
  region   [N, 1, H/2, W/2]  character-region score: a 2-D Gaussian over each character's box
  affinity [N, 1, H/2, W/2]  affinity score: a Gaussian over the box between two neighbouring characters of a word
(CRAFT's labels: the affinity box joins the centres of the upper and lower triangles of the two character boxes).
Cell (x, y) stands for the input point (2x, 2y). Boxes: dlinfer.heatmap_boxes(region, affinity) with CRAFT's
defaults (text 0.7, link 0.4, low_text 0.4, min_size 10, scale 2).

Since the renderer knows every character's box, the label maps come straight from them (no weak supervision).
After training, onnxruntime's maps go through CRAFT's reference post-processing (getDetBoxes_core, with OpenCV,
as CRAFT's craft_utils.py) and are scored on held-out images the training never saw (other seeds): precision,
recall and F1 of the word boxes at polygon IoU 0.5.

Needs torch, Pillow, numpy, opencv (cv2), onnx, onnxruntime. Seeds are fixed and training is single-threaded, so a
rerun on the same versions reproduces the files. Takes about 6 minutes on one (shared) core: data half a minute,
training 5.5.
Usage: python3 tools/train_craft.py [--epochs N] [--no-write]
"""
import argparse
import math
import os
import sys
import time

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import textdet_synth as synth  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_PATH = os.path.join(ROOT, "examples", "models", "craft_text.onnx")
HELDOUT_DIR = os.path.join(ROOT, "examples", "data", "textdet")
TRAIN_SEED, VALID_SEED, HELDOUT_SEED = 1201, 1102, 1103  # validation and held-out images as tools/train_east.py
HELDOUT_COUNT = 32
SCALE = 2
SIGMA = 0.5  # the Gaussian's standard deviation in units of the box's half sides
TEXT_THRESHOLD, LINK_THRESHOLD, LOW_TEXT = 0.7, 0.4, 0.4
OPSET = 17
nn = torch.nn
F = torch.nn.functional


# ---- labels ------------------------------------------------------------------------------------------------------

def gaussian_box(target, box, sigma=SIGMA):
    """Raises `target` [H, W] (cell (x, y) = point (2x, 2y)) to a Gaussian over the rotated box (cx, cy, w, h, a),
    1 at its centre, exp(-1 / (2 sigma^2)) at the middle of its sides (CRAFT warps one isotropic Gaussian onto each
    box; on a rectangle that is this)."""
    cx, cy, w, h, a = box
    c, s = np.cos(a), np.sin(a)
    r = max(w, h) * 0.5 * 3 * sigma + 2  # the cells worth computing
    x0, x1 = max(0, int((cx - r) // SCALE)), min(target.shape[1], int((cx + r) // SCALE) + 2)
    y0, y1 = max(0, int((cy - r) // SCALE)), min(target.shape[0], int((cy + r) // SCALE) + 2)
    if x0 >= x1 or y0 >= y1:
        return
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float64) * SCALE
    u = ((px - cx) * c - (py - cy) * s) / (w / 2)
    v = ((px - cx) * s + (py - cy) * c) / (h / 2)
    g = np.exp(-(u ** 2 + v ** 2) / (2 * sigma ** 2)).astype(np.float32)
    np.maximum(target[y0:y1, x0:x1], g, out=target[y0:y1, x0:x1])


def affinity_box(a, b):
    """CRAFT's affinity box between neighbouring character boxes a and b of a word: the quadrilateral through the
    centroids of the upper and lower triangles (centre and top or bottom side) of each. The boxes share angle and
    height, so it is a rectangle: between the centres, 2/3 of the height."""
    (ax, ay, _, h, ang), (bx, by, _, _, _) = a, b
    return ((ax + bx) / 2, (ay + by) / 2, math.hypot(bx - ax, by - ay), 2 * h / 3, ang)


def craft_labels(words, size, sigma=SIGMA):
    region = np.zeros((size[0] // SCALE, size[1] // SCALE), np.float32)
    affinity = np.zeros_like(region)
    for wd in words:
        chars = wd["chars"]
        for ch in chars:
            gaussian_box(region, ch, sigma)
        for a, b in zip(chars, chars[1:]):
            gaussian_box(affinity, affinity_box(a, b), sigma)
    return region, affinity


# ---- CRAFT's reference post-processing (craft_utils.getDetBoxes_core), with OpenCV -------------------------------

def get_det_boxes(textmap, linkmap, text_threshold=TEXT_THRESHOLD, link_threshold=LINK_THRESHOLD,
                  low_text=LOW_TEXT, min_size=10):
    img_h, img_w = textmap.shape
    _, text_score = cv2.threshold(textmap, low_text, 1, 0)
    _, link_score = cv2.threshold(linkmap, link_threshold, 1, 0)
    text_score_comb = np.clip(text_score + link_score, 0, 1)
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(text_score_comb.astype(np.uint8), connectivity=4)
    boxes, scores = [], []
    for k in range(1, n_labels):
        size = stats[k, cv2.CC_STAT_AREA]
        if size < min_size:
            continue
        peak = np.max(textmap[labels == k])
        if peak < text_threshold:
            continue
        segmap = np.zeros(textmap.shape, dtype=np.uint8)
        segmap[labels == k] = 255
        segmap[np.logical_and(link_score == 1, text_score == 0)] = 0
        x, y = stats[k, cv2.CC_STAT_LEFT], stats[k, cv2.CC_STAT_TOP]
        w, h = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT]
        niter = int(math.sqrt(size * min(w, h) / (w * h)) * 2)
        sx, ex = max(0, x - niter), min(img_w, x + w + niter + 1)
        sy, ey = max(0, y - niter), min(img_h, y + h + niter + 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1 + niter, 1 + niter))
        segmap[sy:ey, sx:ex] = cv2.dilate(segmap[sy:ey, sx:ex], kernel)
        contours = np.roll(np.array(np.where(segmap != 0)), 1, axis=0).transpose().reshape(-1, 2)
        if len(contours) == 0:
            continue
        box = cv2.boxPoints(cv2.minAreaRect(contours))
        bw, bh = np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[1] - box[2])
        if abs(1 - max(bw, bh) / (min(bw, bh) + 1e-5)) <= 0.1:
            left, right = min(contours[:, 0]), max(contours[:, 0])
            top, bottom = min(contours[:, 1]), max(contours[:, 1])
            box = np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float32)
        start = box.sum(axis=1).argmin()
        boxes.append(np.roll(box, 4 - start, 0) * SCALE)
        scores.append(peak)
    return np.array(boxes, np.float32).reshape(-1, 4, 2), np.array(scores, np.float32)


# ---- the model ---------------------------------------------------------------------------------------------------

def conv(cin, cout, k=3, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, 1, dilation * (k // 2), dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CRAFT(nn.Module):
    """VGG-like stages at strides 1, 2, 4, 8 (3x3 conv + BN + ReLU, max pooling between), the last with dilated
    convolutions (dilation 2 and 4, like CRAFT's fc6/fc7); CRAFT's U-net decoder: upsample (bilinear), concatenate
    the stage of that stride, 1x1 then 3x3 convolution; a head at stride 2 gives region and affinity (sigmoid)."""

    def __init__(self):
        super().__init__()
        self.stage1 = conv(1, 16)
        self.stage2 = conv(16, 24)
        self.stage3 = nn.Sequential(conv(24, 48), conv(48, 48))
        self.stage4 = nn.Sequential(conv(48, 64), conv(64, 64, dilation=2), conv(64, 64, dilation=4))
        self.up3 = nn.Sequential(conv(64 + 48, 48, 1), conv(48, 32))
        self.up2 = nn.Sequential(conv(32 + 24, 32, 1), conv(32, 16))
        self.head = nn.Sequential(conv(16, 16), nn.Conv2d(16, 2, 1))

    def forward(self, image):
        x = image - 0.5
        s1 = self.stage1(x)
        s2 = self.stage2(F.max_pool2d(s1, 2))
        s3 = self.stage3(F.max_pool2d(s2, 2))
        s4 = self.stage4(F.max_pool2d(s3, 2))
        y = self.up3(torch.cat([F.interpolate(s4, scale_factor=2.0, mode="bilinear", align_corners=False), s3], 1))
        y = self.up2(torch.cat([F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False), s2], 1))
        y = torch.sigmoid(self.head(y))
        return y[:, 0:1], y[:, 1:2]


def craft_loss(region, affinity, gt_region, gt_affinity):
    # Mean squared error, text cells weighted up (CRAFT balances them with hard negatives instead).
    wr = 1 + 4 * (gt_region > 0.1).float()
    wa = 1 + 4 * (gt_affinity > 0.1).float()
    lr = (wr * (region - gt_region) ** 2).mean()
    la = (wa * (affinity - gt_affinity) ** 2).mean()
    return lr + la, (lr.item(), la.item())


# ---- training and evaluation -------------------------------------------------------------------------------------

def make_data(seed, count):
    images, words = synth.make_set(seed, count)
    maps = [craft_labels(ws, images.shape[1:]) for ws in words]
    return images, words, np.stack([m[0] for m in maps])[:, None], np.stack([m[1] for m in maps])[:, None]


def evaluate(maps, images, words, **thresholds):
    """maps(k) -> (region, affinity) of image k; precision, recall, F1 of the word boxes at IoU 0.5."""
    tp = n_pred = n_gt = 0
    for k, ws in enumerate(words):
        region, affinity = maps(k)
        quads, scores = get_det_boxes(region, affinity, **thresholds)
        gt = [synth.box_corners(wd["box"]) for wd in ws]
        tp += synth.match(quads, scores, gt)
        n_pred += len(quads)
        n_gt += len(gt)
    return synth.f1(tp, n_pred, n_gt)


def mean_iou(maps, words):
    """The mean IoU of each ground-truth word box with the best detected box: how well the boxes fit."""
    ious = []
    for k, ws in enumerate(words):
        quads, _ = get_det_boxes(*maps(k))
        for wd in ws:
            g = synth.box_corners(wd["box"])
            ious.append(max([synth.quad_iou(q, g) for q in quads], default=0.0))
    return float(np.mean(ious))


def torch_maps(model, images):
    def run(k):
        with torch.no_grad():
            r, a = model(torch.from_numpy(images[k][None, None].astype(np.float32) / 255))
        return r[0, 0].numpy(), a[0, 0].numpy()
    return run


def train(model, data, epochs, batch=16):
    images, _, region, affinity = data
    x_all = torch.from_numpy(images[:, None].astype(np.float32) / 255)
    r_all, a_all = torch.from_numpy(region), torch.from_numpy(affinity)
    n = len(images)
    steps = epochs * (n // batch)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(7)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        totals = np.zeros(3)
        for b in range(n // batch):
            idx = perm[b * batch:(b + 1) * batch]
            x = x_all[idx]
            # Photometric augmentation: random inversion and contrast (the maps are unchanged).
            flip = (torch.rand(len(idx), 1, 1, 1, generator=gen) < 0.5).float()
            x = flip * (1 - x) + (1 - flip) * x
            gain = 0.6 + 0.6 * torch.rand(len(idx), 1, 1, 1, generator=gen)
            x = ((x - 0.5) * gain + 0.5).clamp(0, 1)
            r, a = model(x)
            loss, parts = craft_loss(r, a, r_all[idx], a_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            totals += [loss.item(), *parts]
        totals /= n // batch
        print(f"epoch {epoch + 1}/{epochs}: loss {totals[0]:.5f} (region {totals[1]:.5f}, affinity "
              f"{totals[2]:.5f}), {time.time() - start:.0f} s", flush=True)
    model.eval()


def export(model, path):
    model.eval()
    x = torch.zeros(1, 1, 128, 128)
    torch.onnx.export(model, (x,), path, opset_version=OPSET, dynamo=False, input_names=["image"],
                      output_names=["region", "affinity"],
                      dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "region": {0: "N", 2: "H/2", 3: "W/2"},
                                    "affinity": {0: "N", 2: "H/2", 3: "W/2"}},
                      training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    m.doc_string = ("dlinfer example 'craft_text': CRAFT-style text detector (VGG-like backbone with dilated "
                    "convolutions, U-net decoder) trained on synthetic rotated words by tools/train_craft.py. image "
                    "[N,1,H,W] grey/255 (H, W multiples of 8) -> region, affinity [N,1,H/2,W/2] (sigmoid): "
                    "character-region and affinity heatmaps; cell (x, y) is the input point (2x, 2y)")
    onnx.save(m, path)
    return sorted({n.op_type for n in m.graph.node})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-images", type=int, default=3000)
    parser.add_argument("--no-write", action="store_true", help="train and evaluate, write nothing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    start = time.time()
    data = make_data(TRAIN_SEED, args.train_images)
    print(f"{args.train_images} training images, {sum(map(len, data[1]))} words, {time.time() - start:.0f} s",
          flush=True)
    valid = synth.make_set(VALID_SEED, 100)
    if args.no_write:
        heldout = synth.make_set(HELDOUT_SEED, HELDOUT_COUNT)
    else:
        heldout = synth.write_heldout(HELDOUT_DIR, HELDOUT_SEED, HELDOUT_COUNT)
    # The oracle: the label maps themselves through the same post-processing.
    oracle = lambda k: craft_labels(valid[1][k], valid[0].shape[1:])  # noqa: E731
    print("oracle (label maps) on the validation images: P %.3f R %.3f F1 %.3f" % evaluate(oracle, *valid),
          "mean IoU %.3f" % mean_iou(oracle, valid[1]), flush=True)

    model = CRAFT()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    t = time.time()
    train(model, data, args.epochs)
    print(f"training: {time.time() - t:.0f} s")
    print("validation (torch): P %.3f R %.3f F1 %.3f" % evaluate(torch_maps(model, valid[0]), *valid),
          "mean IoU %.3f" % mean_iou(torch_maps(model, valid[0]), valid[1]))
    path = MODEL_PATH if not args.no_write else "/tmp/craft_text.onnx"
    ops = export(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = heldout[0][:, None].astype(np.float32) / 255
    r, a = sess.run(["region", "affinity"], {"image": x})
    with torch.no_grad():
        tr, ta = model(torch.from_numpy(x))
    np.testing.assert_allclose(r, tr.numpy(), atol=1e-4)
    np.testing.assert_allclose(a, ta.numpy(), atol=1e-4)
    p, rc, f = evaluate(lambda k: (r[k, 0], a[k, 0]), *heldout)
    print(f"onnxruntime on the {HELDOUT_COUNT} held-out images: P {p:.3f} R {rc:.3f} F1 {f:.3f}")
    print(f"ops: {' '.join(ops)}; {os.path.getsize(path)} bytes; total {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
