"""Runs the char-RNN and text-line examples, C and Python, on the default device (DLINFER_DEVICE) and checks what
they print against onnxruntime: the greedy text the same model gives through onnxruntime, and the strings numpy's
best-path decoding reads from onnxruntime's log-probabilities. The C programs must be built first (make examples);
the Python package must be importable (PYTHONPATH=bindings/python, DLINFER_LIBRARY)."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "examples" / "models"
DATA = ROOT / "examples" / "data"
PROMPT = "This License "


def c_example(name):
    path = ROOT / "examples" / "c" / name
    if not path.exists():
        pytest.fail(f"{path} is not built: run `make examples` first")
    return [str(path)]


def py_example(name):
    return [sys.executable, str(ROOT / "examples" / "python" / f"{name}.py")]


EXAMPLES = {"c": c_example, "python": py_example}


def run(command, *args, expect_rc=0):
    r = subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == expect_rc, f"{command} {args} exited {r.returncode}: {r.stderr}"
    return r


@pytest.fixture(scope="module")
def onnxruntime_greedy_text():
    """200 greedy characters after PROMPT from onnxruntime, the prompt in one call and then one character per call."""
    vocab = (DATA / "char_rnn_vocab.txt").read_text()
    sess = ort.InferenceSession(str(MODELS / "char_rnn.onnx"), providers=["CPUExecutionProvider"])
    layers, _, hidden = next(i.shape for i in sess.get_inputs() if i.name == "h0")
    h = c = np.zeros((layers, 1, hidden), np.float32)
    tokens = np.array([[vocab.index(ch) for ch in PROMPT]], np.int64)
    text = ""
    for _ in range(200):
        logits, h, c = sess.run(None, {"tokens": tokens, "h0": h, "c0": c})
        token = int(np.argmax(logits[0, -1]))
        text += vocab[token]
        tokens = np.array([[token]], np.int64)
    return text


@pytest.mark.parametrize("lang", EXAMPLES)
def test_generate_text_greedy_matches_onnxruntime(lang, onnxruntime_greedy_text):
    example = EXAMPLES[lang]("generate_text")
    r = run(example, "--temperature", "0", "-n", "200", "--prompt", PROMPT)
    assert r.stdout == PROMPT + onnxruntime_greedy_text + "\n"
    assert r.stderr.startswith("device: ")


@pytest.mark.parametrize("lang", EXAMPLES)
def test_generate_text_sampling(lang):
    example = EXAMPLES[lang]("generate_text")
    vocab = set((DATA / "char_rnn_vocab.txt").read_text())
    device = os.environ.get("DLINFER_DEVICE") or "auto"
    first = run(example, "--device", device, "--temperature", "0.8", "--seed", "7", "-n", "120", "--prompt", "The ")
    again = run(example, "--temperature", "0.8", "--seed", "7", "-n", "120", "--prompt", "The ")
    other = run(example, "--temperature", "0.8", "--seed", "8", "-n", "120", "--prompt", "The ")
    text = first.stdout[:-1]
    assert first.stdout.endswith("\n") and text.startswith("The ") and len(text) == 4 + 120
    assert set(text) <= vocab
    assert again.stdout == first.stdout, "the same seed gives the same sample"
    assert other.stdout != first.stdout, "another seed gives another sample"


@pytest.mark.parametrize("lang", EXAMPLES)
def test_generate_text_errors(lang):
    example = EXAMPLES[lang]("generate_text")
    r = run(example, "--prompt", "\u00e9t\u00e9", expect_rc=1)
    assert "vocabulary" in r.stderr
    r = run(example, "--model", str(DATA / "no_such_model.onnx"), expect_rc=1)
    assert "DLINFER_ERR_NOT_FOUND" in r.stderr


@pytest.fixture(scope="module")
def onnxruntime_readings():
    """file name -> (label, the string decoded from onnxruntime's log-probabilities by numpy's best path)."""
    alphabet = (DATA / "crnn_alphabet.txt").read_text()
    sess = ort.InferenceSession(str(MODELS / "crnn_ctc.onnx"), providers=["CPUExecutionProvider"])
    out = {}
    for line in (DATA / "textlines" / "labels.txt").read_text().split("\n"):
        if not line.strip():
            continue
        name, label = line.split()
        data = (DATA / "textlines" / name).read_bytes()
        m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
        w, h = int(m.group(1)), int(m.group(2))
        image = np.frombuffer(data, np.uint8, w * h, m.end()).reshape(1, 1, h, w).astype(np.float32) / 255
        path = sess.run(None, {"image": image})[0][:, 0].argmax(axis=1)
        out[name] = (label, "".join(alphabet[c - 1] for i, c in enumerate(path)
                                    if c != 0 and (i == 0 or c != path[i - 1])))
    return out


@pytest.mark.parametrize("lang", EXAMPLES)
def test_read_textlines_with_labels(lang, onnxruntime_readings):
    r = run(EXAMPLES[lang]("read_textlines"))
    lines = r.stdout.rstrip("\n").split("\n")
    assert lines[0].startswith("device: ")
    seen = {}
    for line in lines[1:-1]:
        m = re.fullmatch(r"(\S+): (\S*) \(label (\S+)\)( WRONG)?", line)
        assert m, f"unexpected line {line!r}"
        name, text, label, wrong = m.groups()
        assert (label, text) == onnxruntime_readings[name], name
        assert bool(wrong) == (text != label)
        seen[name] = text
    assert seen.keys() == onnxruntime_readings.keys()
    correct = sum(seen[n] == label for n, (label, _) in onnxruntime_readings.items())
    total = len(onnxruntime_readings)
    assert lines[-1] == f"accuracy: {100 * correct / total:.2f} % ({correct}/{total})"
    assert correct >= 0.9 * total


@pytest.mark.parametrize("lang", EXAMPLES)
def test_read_textlines_images(lang, onnxruntime_readings):
    names = ["line_000.pgm", "line_001.pgm"]
    paths = [str(DATA / "textlines" / n) for n in names]
    r = run(EXAMPLES[lang]("read_textlines"), *paths)
    assert r.stdout.split("\n")[1:] == [f"{p}: {onnxruntime_readings[n][1]}" for p, n in zip(paths, names)] + [""]
    r = run(EXAMPLES[lang]("read_textlines"), str(MODELS / "crnn_ctc.onnx"), expect_rc=1)
    assert "PGM" in r.stderr
