#!/usr/bin/env python3
"""Generates text one character at a time with the character-level LSTM examples/models/char_rnn.onnx through
dlinfer's Python package: the prompt goes through the model in one call, then each sampled character is fed back in
a call of its own, with the LSTM state (hn, cn) of one call passed as the next call's h0, c0.

    python3 examples/python/generate_text.py [--device DEVICE] [--model MODEL] [--vocab FILE] [--prompt TEXT]
                                             [-n COUNT] [--temperature T] [--seed S]

Temperature 0 is greedy (the most likely character every step, deterministic); otherwise each character is drawn
from softmax(logits / temperature) with numpy's generator seeded by --seed (so the same seed gives another sample
than the C example's generator). Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Prints the prompt and its continuation on stdout, the device on stderr.
Model contract: inputs "tokens" int64 [N,T], "h0" and "c0" float32 [layers,N,hidden]; outputs "logits" float32
[N,T,vocab], "hn" and "cn" like h0. The vocabulary file holds the characters in token order, byte i = token i.
"""
import argparse
import os
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pick(logits, temperature, rng):
    """The next token: argmax when temperature is 0 (lowest index on ties), else a draw from softmax(logits / T)."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = (logits.astype(np.float64) - logits.max()) / temperature
    p = np.exp(z)
    return int(rng.choice(len(p), p=p / p.sum()))


def generate(session, prompt_ids, count, temperature, rng):
    """Yields `count` token ids following the prompt, carrying the LSTM state from call to call."""
    layers, _, hidden = next(a.shape for a in session.get_inputs() if a.name == "h0")
    h = c = np.zeros((layers, 1, hidden), np.float32)
    tokens = np.array([prompt_ids], np.int64)
    for _ in range(count):
        logits, h, c = session.run(["logits", "hn", "cn"], {"tokens": tokens, "h0": h, "c0": c})
        # Only the last step's logits predict the next character, which is the next call's only token.
        token = pick(logits[0, -1], temperature, rng)
        tokens = np.array([[token]], np.int64)
        yield token


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default=os.path.join(EXAMPLES, "models", "char_rnn.onnx"))
    parser.add_argument("--vocab", default=os.path.join(EXAMPLES, "data", "char_rnn_vocab.txt"))
    parser.add_argument("--prompt", default="This License ")
    parser.add_argument("-n", type=int, default=200, help="characters to generate (default 200)")
    parser.add_argument("--temperature", type=float, default=0.7, help="0 = greedy (default 0.7)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.n < 0 or args.temperature < 0 or not args.prompt:
        parser.error("the count and temperature must not be negative, and the prompt not empty")

    with open(args.vocab, "rb") as f:
        vocab = f.read().decode("latin-1")
    missing = sorted(set(args.prompt) - set(vocab))
    if missing:
        print(f"the prompt's characters {missing} are not in the vocabulary", file=sys.stderr)
        return 1
    try:
        session = dlinfer.InferenceSession(args.model, device=args.device)
        print(f"device: {session.device}", file=sys.stderr)
        sys.stdout.write(args.prompt)
        rng = np.random.default_rng(args.seed)
        for token in generate(session, [vocab.index(ch) for ch in args.prompt], args.n, args.temperature, rng):
            sys.stdout.write(vocab[token])
    except dlinfer.Error as e:
        print(f"\ndlinfer failed: {e}", file=sys.stderr)
        return 1
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
