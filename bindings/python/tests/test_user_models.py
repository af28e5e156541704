"""The trained PyTorch models of the examples (written by tools/make_torch_user_models.py) used the way their users
use them, through the Python package on the default device: the CRNN's exact-string accuracy on the held-out text
lines, and the char-RNN's greedy text generated step by step against onnxruntime's."""
import pathlib
import re
from collections import defaultdict

import numpy as np
import onnxruntime as ort
import pytest

import dlinfer

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODELS = ROOT / "examples" / "models"
DATA = ROOT / "examples" / "data"


def read_pgm(path):
    data = path.read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    width, height = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data, np.uint8, width * height, m.end()).reshape(height, width)


def reference_decode(log_probs, alphabet):
    """numpy's best path per item, repeats collapsed, blanks (0) dropped."""
    out = []
    for path in log_probs.argmax(axis=2).T:
        out.append("".join(alphabet[c - 1] for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])))
    return out


@pytest.fixture(scope="module")
def textlines():
    """(name, label, image float32 [32, W]) for every held-out line."""
    folder = DATA / "textlines"
    out = []
    for line in (folder / "labels.txt").read_text().split("\n"):
        if line.strip():
            name, label = line.split()
            out.append((name, label, read_pgm(folder / name).astype(np.float32) / 255.0))
    return out


def test_crnn_reads_held_out_lines(textlines):
    alphabet = (DATA / "crnn_alphabet.txt").read_text()
    session = dlinfer.InferenceSession(str(MODELS / "crnn_ctc.onnx"))
    reference = ort.InferenceSession(str(MODELS / "crnn_ctc.onnx"), providers=["CPUExecutionProvider"])
    # Lines of one width go as one batch: both the batch and the width vary between runs.
    by_width = defaultdict(list)
    for name, label, image in textlines:
        by_width[image.shape[1]].append((name, label, image))
    assert len(by_width) > 5 and max(len(v) for v in by_width.values()) > 1
    correct = 0
    for width, lines in sorted(by_width.items()):
        batch = np.stack([image for _, _, image in lines])[:, None]
        (log_probs,) = session.run(None, {"image": batch})
        (want,) = reference.run(None, {"image": batch})
        np.testing.assert_allclose(log_probs, want, rtol=1e-3, atol=1e-4, err_msg=f"width {width}")
        decoded = ["".join(alphabet[k - 1] for k in labels) for labels in dlinfer.ctc_greedy_decode(log_probs)]
        assert decoded == reference_decode(want, alphabet)
        correct += sum(text == label for text, (_, label, _) in zip(decoded, lines))
    accuracy = correct / len(textlines)
    print(f"crnn_ctc: exact-string accuracy {accuracy:.4f} ({correct}/{len(textlines)})")
    assert accuracy >= 0.90


def greedy_sample(run, prompt_ids, count, layers, hidden):
    """`count` greedy tokens after the prompt: the prompt in one call, then one token per call, state carried."""
    h = c = np.zeros((layers, 1, hidden), np.float32)
    tokens = np.array([prompt_ids], np.int64)
    out = []
    for _ in range(count):
        logits, h, c = run({"tokens": tokens, "h0": h, "c0": c})
        out.append(int(np.argmax(logits[0, -1])))
        tokens = np.array([[out[-1]]], np.int64)
    return out


@pytest.mark.parametrize("prompt", ["This License ", "The "])
def test_char_rnn_greedy_text_matches_onnxruntime(prompt):
    vocab = (DATA / "char_rnn_vocab.txt").read_text()
    path = str(MODELS / "char_rnn.onnx")
    session = dlinfer.InferenceSession(path)
    reference = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    layers, _, hidden = next(a.shape for a in session.get_inputs() if a.name == "h0")
    ids = [vocab.index(ch) for ch in prompt]
    ours = greedy_sample(lambda feed: session.run(None, feed), ids, 200, layers, hidden)
    theirs = greedy_sample(lambda feed: reference.run(None, feed), ids, 200, layers, hidden)
    text = "".join(vocab[i] for i in ours)
    print(f"char_rnn greedy after {prompt!r}: {text!r}")
    assert text == "".join(vocab[i] for i in theirs)
