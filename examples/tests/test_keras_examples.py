"""Runs the C and Python examples for the Keras-built models (`make test-examples` builds the C programs first) and
checks what they print against Keras' own predictions stored in examples/data by tools/make_keras_models.py.
The C programs run without --device (the library reads $DLINFER_DEVICE), the Python ones with --device set to
$DLINFER_DEVICE (else auto), so both ways of choosing the device are exercised."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"


def run(language, program, *args, ok=True):
    """The program's stdout; it must exit 0 (or, with ok=False, exit non-zero with a message and no crash)."""
    if language == "c":
        binary = ROOT / "examples" / "c" / program
        assert binary.exists(), f"{binary} is not built: make examples"
        cmd = [str(binary), *args]
    else:
        device = ["--device", os.environ.get("DLINFER_DEVICE", "auto")]
        cmd = [sys.executable, str(ROOT / "examples" / "python" / f"{program}.py"), *device, *args]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if ok:
        assert done.returncode == 0, f"{cmd} exited {done.returncode}: {done.stderr}"
    else:
        assert done.returncode == 1 and done.stderr.strip(), f"{cmd}: {done.returncode} {done.stderr}"
    return done.stdout


LANGUAGES = ["c", "python"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_classify_digits_keras(language):
    out = run(language, "classify_digits_keras")
    labels = np.load(DATA / "digits_test_labels.npy")
    for kind in ["mlp", "cnn"]:
        m = re.search(rf"keras_digits_{kind}\.onnx on .*?\naccuracy: [\d.]+ % \((\d+)/(\d+)\)", out, re.S)
        assert m, f"no accuracy for the {kind} in:\n{out}"
        correct, n = int(m.group(1)), int(m.group(2))
        keras = int((np.load(DATA / f"digits_test_probabilities_keras_{kind}.npy").argmax(1) == labels).sum())
        assert n == len(labels) and correct >= 0.95 * n
        # Probabilities agree to 1e-4, so at most a near-tie could flip one prediction.
        assert abs(correct - keras) <= 1, f"{kind}: {correct}/{n}, Keras {keras}/{n}"


def scores(out):
    return [(float(s), verdict, text) for s, verdict, text in
            re.findall(r"^(\d\.\d+) (positive|negative): (.*)$", out, re.M)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_score_sentiment_default_sentences(language):
    got = scores(run(language, "score_sentiment"))
    sentences = (DATA / "sentiment_sentences.txt").read_text().splitlines()
    keras = np.load(DATA / "sentiment_sentences_keras.npy")
    assert [text for _, _, text in got] == sentences
    np.testing.assert_allclose([s for s, _, _ in got], keras, rtol=1e-3, atol=1e-4)
    assert [v for _, v, _ in got] == ["positive" if k >= 0.5 else "negative" for k in keras]


@pytest.mark.parametrize("language", LANGUAGES)
def test_score_sentiment_command_line(language):
    sentences = (DATA / "sentiment_sentences.txt").read_text().splitlines()
    keras = np.load(DATA / "sentiment_sentences_keras.npy")
    # Upper case and punctuation tokenize away: the same ids as the stored sentences.
    got = scores(run(language, "score_sentiment", sentences[3].upper() + "!", f"{sentences[1]}, {sentences[1]}"))
    assert len(got) == 2 and got[0][2] == sentences[3].upper() + "!"
    np.testing.assert_allclose(got[0][0], keras[3], rtol=1e-3, atol=1e-4)
    assert 0.0 <= got[1][0] <= 1.0


@pytest.mark.parametrize("language", LANGUAGES)
def test_forecast_series(language):
    keras = np.load(DATA / "forecast_series_keras.npy")
    out = run(language, "forecast_series")
    steps = re.findall(r"^step (\d+): (-?\d+\.\d+)$", out, re.M)
    assert [int(k) for k, _ in steps] == list(range(1, len(keras) + 1))
    np.testing.assert_allclose([float(v) for _, v in steps], keras, rtol=1e-3, atol=1e-4)
    short = re.findall(r"^step \d+: (-?\d+\.\d+)$", run(language, "forecast_series", "--steps", "3"), re.M)
    assert [float(v) for v in short] == [float(v) for _, v in steps[:3]]


@pytest.mark.parametrize("language", LANGUAGES)
def test_missing_model_is_an_error_not_a_crash(language, tmp_path):
    run(language, "forecast_series", "--model", str(tmp_path / "absent.onnx"), ok=False)
