#!/usr/bin/env python3
"""Scores sentences with the Keras-built sentiment model (Embedding + Bidirectional(LSTM) + Dense + Dense(sigmoid),
examples/models/keras_sentiment.onnx) through dlinfer's Python package: prints the score (probability of
positive) and the verdict for each sentence.

    python3 examples/python/score_sentiment.py [--device DEVICE] [--model MODEL] [--vocab FILE] [--sentences FILE] [SENTENCE ...]

Without SENTENCE arguments the sentences are the lines of --sentences (default data/sentiment_sentences.txt).
Without --device the library uses $DLINFER_DEVICE, else picks automatically.
Tokens: runs of ASCII letters and apostrophes, lower-cased; the id of a token is its line number (from 0) in the
vocabulary file, unknown words get the id of "<unk>". Model contract: input "tokens" int64 [N,T] (both dynamic:
each sentence is scored on its own, without padding); output "score" float32 [N,1].
"""
import argparse
import os
import re
import sys

import numpy as np

import dlinfer

EXAMPLES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tokenize(text, ids):
    """The C example's rule: ASCII letters and apostrophes, lower-cased."""
    return np.array([ids.get(w, ids["<unk>"]) for w in re.findall(r"[a-z']+", text.lower(), flags=re.ASCII)],
                    np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="auto, cpu, opencl, opencl:N (default: $DLINFER_DEVICE, else auto)")
    parser.add_argument("--model", default=os.path.join(EXAMPLES, "models", "keras_sentiment.onnx"))
    parser.add_argument("--vocab", default=os.path.join(EXAMPLES, "data", "sentiment_vocab.txt"))
    parser.add_argument("--sentences", default=os.path.join(EXAMPLES, "data", "sentiment_sentences.txt"))
    parser.add_argument("sentence", nargs="*")
    args = parser.parse_args()

    with open(args.vocab) as f:
        ids = {line.rstrip("\r\n"): k for k, line in enumerate(f)}
    sentences = args.sentence
    if not sentences:
        with open(args.sentences) as f:
            sentences = [line.rstrip("\r\n") for line in f]
    try:
        session = dlinfer.InferenceSession(args.model, device=args.device)
        print(f"device: {session.device}")
        status = 0
        for text in sentences:
            tokens = tokenize(text, ids)
            if len(tokens) == 0:
                print(f'no words in "{text}"', file=sys.stderr)
                status = 1
                continue
            # One sentence per run, [1, T]: a new T is a new shape, which the session plans for and caches.
            (score,) = session.run(["score"], {"tokens": tokens[None, :]})
            score = float(score[0, 0])
            print(f"{score:.6f} {'positive' if score >= 0.5 else 'negative'}: {text}")
    except dlinfer.Error as e:
        print(f"dlinfer failed: {e}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
