#!/usr/bin/env python3
"""Captions 64x64 scenes with the attention captioner (examples/models/caption_*.onnx) through dlinfer's Python
package, and prints for each word the region (grid cell row,col) the decoder attended to most when it chose it.

    python3 examples/python/caption_image.py [--device DEVICE] [--mode step|loop] [--models DIR] [--vocab FILE]
                                             [--out FILE.ppm] [--captions FILE | IMAGE.ppm ...]

--mode step (default): the encoder runs once, then the host runs caption_decoder_step.onnx once per word, feeding
back the chosen word and the LSTM state (h, c). --mode loop: caption_greedy.onnx decodes the whole caption in one
run, greedily, inside the graph (an ONNX Loop). Both stop after <eos> or 16 words and give the same captions.
Without images, --captions defaults to examples/data/captioner/captions.txt, the bundled held-out scenes: one
"FILE WORDS..." line per scene, FILE relative to the captions file's folder; each caption is printed with its
reference, then the exact-caption accuracy. Images are binary PPM (P6, maxval 255), 64x64. --out writes the first
image enlarged 4 times, each word's most-attended cell outlined (word k in colour k, inset 2k pixels).
Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Model contract: caption_encoder: "image" float32 [N,3,64,64] (RGB / 255) -> "regions" [N,R,D], "h0", "c0" [N,H];
caption_decoder_step: "token" int64 [N], "h", "c", "regions" -> "logits" [N,V], "attention" [N,R], "h_next",
"c_next"; caption_greedy: "image" [1,3,64,64] -> "tokens" int64 [T] (ending with <eos> when reached), "attention"
[T,R]. The R regions are a square grid, row-major; the vocabulary file holds one word a line, id = line number.
"""
import argparse
import math
import os
import re
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_STEPS = 16
SIZE = 64
SCALE = 4  # --out enlarges the image this many times
PALETTE = [(255, 255, 255), (255, 64, 64), (64, 255, 64), (80, 128, 255), (255, 255, 64), (255, 64, 255),
           (64, 255, 255), (255, 160, 32)]


def read_ppm(path):
    """uint8 [height, width, 3] from a binary PPM (P6, maxval 255)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise ValueError(f"{path}: cannot open") from None
    m = re.match(rb"P6(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)\s", data)
    if not m or int(m.group(3)) != 255:
        raise ValueError(f"{path}: not a binary PPM (P6) with maxval 255")
    width, height = int(m.group(1)), int(m.group(2))
    if len(data) - m.end() < width * height * 3:
        raise ValueError(f"{path}: truncated")
    if (width, height) != (SIZE, SIZE):
        raise ValueError(f"{path}: the image is {width}x{height}, the captioner reads {SIZE}x{SIZE}")
    return np.frombuffer(data, np.uint8, width * height * 3, m.end()).reshape(height, width, 3)


def write_annotated(path, pixels, cells, grid):
    """The image enlarged SCALE times with each word's cell outlined, as a binary PPM."""
    image = pixels.repeat(SCALE, axis=0).repeat(SCALE, axis=1).copy()
    side = SIZE * SCALE // grid
    for k, cell in enumerate(cells):
        inset = 2 * (k % 8)
        top, left = (cell // grid) * side + inset, (cell % grid) * side + inset
        bottom, right = top + side - 1 - 2 * inset, left + side - 1 - 2 * inset
        colour = PALETTE[k % len(PALETTE)]
        image[top, left:right + 1] = image[bottom, left:right + 1] = colour
        image[top:bottom + 1, left] = image[top:bottom + 1, right] = colour
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (image.shape[1], image.shape[0]) + image.tobytes())


class Captioner:
    def __init__(self, models, vocab, mode, device):
        self.vocab, self.mode = vocab, mode
        self.bos, self.eos = vocab.index("<bos>"), vocab.index("<eos>")
        if mode == "step":
            self.encoder = dlinfer.InferenceSession(os.path.join(models, "caption_encoder.onnx"), device=device)
            self.decoder = dlinfer.InferenceSession(os.path.join(models, "caption_decoder_step.onnx"), device=device)
            self.device = self.encoder.device
        else:
            self.greedy = dlinfer.InferenceSession(os.path.join(models, "caption_greedy.onnx"), device=device)
            self.device = self.greedy.device

    def caption(self, pixels):
        """(words, the most-attended region of each word, the grid's side)."""
        image = (pixels.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
        if self.mode == "step":
            regions, h, c = self.encoder.run(["regions", "h0", "c0"], {"image": image})
            token = np.array([self.bos], np.int64)
            tokens, attentions = [], []
            for _ in range(MAX_STEPS):
                logits, attention, h, c = self.decoder.run(
                    ["logits", "attention", "h_next", "c_next"], {"token": token, "h": h, "c": c, "regions": regions})
                token = logits.argmax(axis=1)  # the first of equal maxima, as ArgMax
                tokens.append(int(token[0]))
                attentions.append(attention[0])
                if tokens[-1] == self.eos:
                    break
        else:
            tokens, attentions = self.greedy.run(["tokens", "attention"], {"image": image})
            tokens = [int(t) for t in tokens]
        grid = math.isqrt(len(attentions[0]))
        if grid * grid != len(attentions[0]):
            raise ValueError(f"the attention covers {len(attentions[0])} regions, not a square grid")
        words, cells = [], []
        for t, a in zip(tokens, attentions):
            if t == self.eos:
                break
            if not 0 <= t < len(self.vocab):
                raise ValueError(f"token {t} is not in the vocabulary")
            words.append(self.vocab[t])
            cells.append(int(np.argmax(a)))
        return words, cells, grid


def regions_line(words, cells, grid):
    return " " + "".join(f" {w}({c // grid},{c % grid})" for w, c in zip(words, cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--mode", choices=["step", "loop"], default="step",
                        help="step: the host runs one decoder step per word; loop: the ONNX Loop decodes in-graph")
    parser.add_argument("--models", default=os.path.join(EXAMPLES, "models"),
                        help="the folder holding caption_encoder.onnx, caption_decoder_step.onnx, caption_greedy.onnx")
    parser.add_argument("--vocab", default=os.path.join(EXAMPLES, "data", "captioner_vocab.txt"))
    parser.add_argument("--captions", help="a captions file (default, without images: the bundled held-out scenes)")
    parser.add_argument("--out", help="write the first image, enlarged, with each word's region outlined (PPM)")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    if args.captions and args.images:
        parser.error("give either --captions or images")

    try:
        with open(args.vocab) as f:
            vocab = f.read().split()
    except OSError as e:
        print(f"{args.vocab}: cannot read ({e.strerror})", file=sys.stderr)
        return 1
    if "<bos>" not in vocab or "<eos>" not in vocab:
        print(f"{args.vocab}: the vocabulary lacks <bos> or <eos>", file=sys.stderr)
        return 1
    if args.images:
        jobs = [(path, path, None) for path in args.images]
    else:
        captions = args.captions or os.path.join(EXAMPLES, "data", "captioner", "captions.txt")
        folder = os.path.dirname(captions)
        try:
            with open(captions) as f:
                lines = [line.split() for line in f]
        except OSError as e:
            print(f"{captions}: cannot read ({e.strerror})", file=sys.stderr)
            return 1
        jobs = [(fields[0], os.path.join(folder, fields[0]), " ".join(fields[1:])) for fields in lines if fields]
    try:
        captioner = Captioner(args.models, vocab, args.mode, args.device)
        print(f"device: {captioner.device}")
        print(f"mode: {args.mode}")
        failures = correct = total = 0
        for name, path, reference in jobs:
            try:
                pixels = read_ppm(path)
                words, cells, grid = captioner.caption(pixels)
            except (OSError, ValueError) as e:
                print(e, file=sys.stderr)
                failures += 1
                continue
            text = " ".join(words)
            if reference is None:
                print(f"{name}: {text}")
            else:
                total += 1
                correct += text == reference
                print(f"{name}: {text} (reference {reference}){'' if text == reference else ' WRONG'}")
            print(regions_line(words, cells, grid))
            if args.out:
                write_annotated(args.out, pixels, cells, grid)
                print(f"wrote {args.out}")
                args.out = None
        if total:
            print(f"accuracy: {100.0 * correct / total:.2f} % ({correct}/{total})")
        return 1 if failures else 0
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
