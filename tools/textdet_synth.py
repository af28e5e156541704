"""Synthetic scene-text images for the text detectors (tools/train_east.py, tools/train_craft.py): words of random
letters and digits rendered with Pillow in Debian's DejaVu fonts, turned by -45..45 degrees, several per image, of
varied sizes and grey levels, on cluttered grey backgrounds (gradients, lines, rectangles, ellipses, blobs, noise).

Each word comes with its rotated box and each character with its own: a box is (cx, cy, w, h, angle), a w x h
rectangle about (cx, cy) turned by `angle` radians counter-clockwise as seen in the image (x right, y down), the
convention of dlinfer's DLINFER_BOX_CENTER_ANGLE (in radians here) and of EAST's geometry maps. Coordinates are
continuous: pixel (i, j) covers [j, j+1] x [i, i+1]. A word's box is its ink's extent along and across the text
direction; a character's box spans its advance along the text (the first and last cut to the ink) and the word's
height across it.

Everything is drawn from numpy Generators seeded by the caller, so a seed gives the same images on every run (with
the same Pillow and FreeType: they draw the glyphs). Needs numpy, Pillow and Debian's fonts-dejavu-core and
fonts-dejavu-extra.
"""
import glob
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
# Upright and oblique faces of the text families (the math font has no ASCII of its own).
FONT_FILES = sorted(f for f in glob.glob(os.path.join(FONT_DIR, "DejaVu*.ttf")) if "MathTeX" not in f
                    and "ExtraLight" not in f)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
MAX_ANGLE = np.pi / 4

_font_cache = {}


def font(path, size):
    key = (path, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(path, size)
    return _font_cache[key]


def box_corners(box):
    """The 4 corners [4, 2] of a box (cx, cy, w, h, angle): top-left, top-right, bottom-right, bottom-left in the
    box's own frame, whose x axis is (cos a, -sin a) and y axis (sin a, cos a) in the image."""
    cx, cy, w, h, a = box
    c, s = np.cos(a), np.sin(a)
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return np.stack([cx + local[:, 0] * c + local[:, 1] * s, cy - local[:, 0] * s + local[:, 1] * c], axis=1)


def random_word(rng):
    n = int(rng.integers(2, 8))
    style = rng.random()
    if style < 0.15:
        chars = "0123456789"
    elif style < 0.35:
        chars = ALPHABET[:26] + "0123456789"
    else:
        chars = ALPHABET
    word = "".join(chars[int(i)] for i in rng.integers(0, len(chars), n))
    if style >= 0.35 and rng.random() < 0.5:
        word = word.capitalize()
    return word


def render_word(word, face):
    """The word's ink as an 'L' patch with a margin, the word's box in patch coordinates (x0, y0, x1, y1) and each
    character's span along the text [(x0, x1)]."""
    left, top, right, bottom = face.getbbox(word)
    pad = 4
    patch = Image.new("L", (int(np.ceil(right)) + 2 * pad, int(np.ceil(bottom)) + 2 * pad), 0)
    ImageDraw.Draw(patch).text((pad, pad), word, fill=255, font=face)
    # The ink's exact extent (the font's bbox is the glyph outline's; take the drawn pixels with any coverage).
    ink = np.asarray(patch) > 40
    cols, rows = np.nonzero(ink.any(axis=0))[0], np.nonzero(ink.any(axis=1))[0]
    x0, x1, y0, y1 = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
    spans = []
    for i in range(len(word)):
        a = pad + face.getlength(word[:i])
        b = pad + face.getlength(word[:i + 1])
        spans.append((max(a, x0) if i == 0 else a, min(b, x1) if i == len(word) - 1 else b))
    return patch, (float(x0), float(y0), float(x1), float(y1)), spans


def background(rng, size):
    h, w = size
    base = rng.uniform(30, 225)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = rng.uniform(-1, 1, 2) * rng.uniform(0, 60) / max(h, w)
    img = base + g[0] * (xx - w / 2) + g[1] * (yy - h / 2)
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(3, 12))):
        kind = rng.integers(0, 5)
        tone = int(np.clip(base + rng.choice([-1, 1]) * rng.uniform(15, 110), 0, 255))
        x = rng.uniform(-10, w + 10, 2)
        y = rng.uniform(-10, h + 10, 2)
        box = [float(min(x)), float(min(y)), float(max(x)), float(max(y))]
        if kind == 0:
            draw.line([(x[0], y[0]), (x[1], y[1])], fill=tone, width=int(rng.integers(1, 4)))
        elif kind == 1:
            draw.rectangle(box, outline=tone, width=int(rng.integers(1, 3)))
        elif kind == 2:
            draw.ellipse(box, outline=tone, width=int(rng.integers(1, 3)))
        elif kind == 3:
            fill = int(np.clip(base + rng.uniform(-40, 40), 0, 255))
            pts = [(float(px), float(py)) for px, py in zip(rng.uniform(-10, w + 10, 4), rng.uniform(-10, h + 10, 4))]
            draw.polygon(pts, fill=fill)
        else:  # a few dots and short dashes: texture at the scale of glyph strokes
            for _ in range(int(rng.integers(3, 10))):
                px, py = rng.uniform(0, w), rng.uniform(0, h)
                r = rng.uniform(1, 3)
                draw.ellipse([px - r, py - r, px + r, py + r], fill=tone)
    if rng.random() < 0.5:
        canvas = canvas.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.5))))
    return np.asarray(canvas, dtype=np.float32)


def make_image(rng, size=(128, 128), words=(2, 5), font_sizes=(14, 26)):
    """One grey image (uint8 [H, W]) and its words: a list of dicts with 'text', 'box' (cx, cy, w, h, angle) and
    'chars' (one box per character)."""
    h, w = size
    img = background(rng, size)
    occupied = Image.new("L", (w, h), 0)
    occ_draw = ImageDraw.Draw(occupied)
    result = []
    target = int(rng.integers(words[0], words[1] + 1))
    tries = 0
    while len(result) < target and tries < 60:
        tries += 1
        text = random_word(rng)
        path = FONT_FILES[int(rng.integers(0, len(FONT_FILES)))]
        face = font(path, int(rng.integers(font_sizes[0], font_sizes[1] + 1)))
        patch, (x0, y0, x1, y1), spans = render_word(text, face)
        bw, bh = x1 - x0, y1 - y0
        angle = rng.uniform(-MAX_ANGLE, MAX_ANGLE) if rng.random() < 0.75 else rng.uniform(-0.05, 0.05)
        c, s = np.cos(angle), np.sin(angle)
        # The rotated box's half extents on the image axes; keep it 2 pixels inside the image.
        ex, ey = (abs(c) * bw + abs(s) * bh) / 2, (abs(s) * bw + abs(c) * bh) / 2
        if 2 * ex > w - 4 or 2 * ey > h - 4:
            continue
        cx, cy = rng.uniform(ex + 2, w - ex - 2), rng.uniform(ey + 2, h - ey - 2)
        box = (cx, cy, bw, bh, angle)
        corners = box_corners(box)
        # No overlap with the words already placed, grown by a few pixels.
        probe = Image.new("L", (w, h), 0)
        grown = box_corners((cx, cy, bw + 6, bh + 6, angle))
        ImageDraw.Draw(probe).polygon([tuple(p) for p in grown], fill=255)
        if (np.asarray(probe) & np.asarray(occupied)).any():
            continue
        occ_draw.polygon([tuple(p) for p in grown], fill=255)
        # Patch point (u, v) goes to (cx, cy) + R (u - u0, v - v0), (u0, v0) the box's centre in the patch, R the
        # rotation by `angle`; Pillow's affine transform wants the inverse map, output point -> patch point.
        u0, v0 = (x0 + x1) / 2, (y0 + y1) / 2
        inverse = (c, -s, u0 - c * cx + s * cy, s, c, v0 - s * cx - c * cy)
        mask = np.asarray(patch.transform((w, h), Image.AFFINE, inverse, resample=Image.BILINEAR),
                          dtype=np.float32) / 255
        local = img[mask > 0.3].mean() if (mask > 0.3).any() else img.mean()
        tone = rng.uniform(0, 255)
        for _ in range(20):
            if abs(tone - local) >= 80:
                break
            tone = rng.uniform(0, 255)
        else:
            tone = 0.0 if local > 127 else 255.0
        img = img * (1 - mask) + tone * mask
        chars = []
        for a, b in spans:
            du = (a + b) / 2 - u0  # the character's centre along the text, from the word's centre
            chars.append((cx + du * c, cy - du * s, b - a, bh, angle))
        result.append({"text": text, "box": box, "chars": chars})
    img = img + rng.normal(0, rng.uniform(2, 8), img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), result


def make_set(seed, count, size=(128, 128)):
    rng = np.random.default_rng(seed)
    images, words = [], []
    for _ in range(count):
        img, ws = make_image(rng, size)
        images.append(img)
        words.append(ws)
    return np.stack(images), words


# ---- evaluation --------------------------------------------------------------------------------------------------

def cross(a, b):
    return a[0] * b[1] - a[1] * b[0]


def polygon_area(p):
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def clip_convex(subject, clip):
    """Sutherland-Hodgman: the part of polygon `subject` inside the convex polygon `clip` (either orientation)."""
    sign = 1.0 if cross(clip[1] - clip[0], clip[2] - clip[1]) >= 0 else -1.0
    out = [np.asarray(p, dtype=np.float64) for p in subject]
    for i in range(len(clip)):
        a, b = clip[i], clip[(i + 1) % len(clip)]
        inside = lambda p: sign * cross(b - a, p - a) >= 0
        points, out = out, []
        for j in range(len(points)):
            p, q = points[j], points[(j + 1) % len(points)]
            if inside(q):
                if not inside(p):
                    out.append(intersect(p, q, a, b))
                out.append(q)
            elif inside(p):
                out.append(intersect(p, q, a, b))
        if not out:
            return np.zeros((0, 2))
    return np.array(out)


def intersect(p, q, a, b):
    d1, d2 = q - p, b - a
    t = cross(d2, a - p) / cross(d2, d1)
    return p + t * d1


def quad_iou(p, q):
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    inter = clip_convex(p, q)
    i = polygon_area(inter) if len(inter) >= 3 else 0.0
    u = polygon_area(p) + polygon_area(q) - i
    return i / u if u > 0 else 0.0


def match(pred_quads, pred_scores, gt_quads, iou=0.5):
    """Greedy matching by falling score: each prediction takes the unmatched ground-truth box it overlaps most, if
    by at least `iou`. Returns the number of matches."""
    taken = set()
    tp = 0
    for k in np.argsort(-np.asarray(pred_scores), kind="stable"):
        best, best_j = iou, -1
        for j, g in enumerate(gt_quads):
            if j not in taken:
                v = quad_iou(pred_quads[k], g)
                if v >= best:
                    best, best_j = v, j
        if best_j >= 0:
            taken.add(best_j)
            tp += 1
    return tp


def f1(tp, n_pred, n_gt):
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gt if n_gt else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def write_pgm(path, img):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (img.shape[1], img.shape[0]))
        f.write(np.ascontiguousarray(img, dtype=np.uint8).tobytes())


def write_heldout(folder, seed, count):
    """Writes `count` held-out images (img_NNN.pgm) and boxes.txt: one line per word, `FILE x1 y1 x2 y2 x3 y3 x4 y4
    TEXT`, the word box's top-left, top-right, bottom-right and bottom-left corners (in the text's own frame)."""
    images, words = make_set(seed, count)
    os.makedirs(folder, exist_ok=True)
    for old in glob.glob(os.path.join(folder, "img_*.pgm")):
        os.remove(old)
    lines = []
    for i, (img, ws) in enumerate(zip(images, words)):
        name = f"img_{i:03d}.pgm"
        write_pgm(os.path.join(folder, name), img)
        for wd in ws:
            corners = box_corners(wd["box"])
            lines.append(name + " " + " ".join(f"{v:.2f}" for v in corners.reshape(-1)) + " " + wd["text"])
    with open(os.path.join(folder, "boxes.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return images, words
