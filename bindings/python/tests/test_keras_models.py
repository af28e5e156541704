"""The Keras-built models (tools/make_keras_models.py; Tests/Fixtures/models/KERAS.md) through the Python package
against Keras' own model.predict outputs stored with them, on the device the environment picks. onnxruntime's
outputs are checked by test_fixtures.py; this comparison is the one that fails if the LSTM gate order or the GRU's
reset_after (linear_before_reset) were mishandled anywhere between Keras and our kernels."""
import pathlib

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import dlinfer

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "Tests" / "Fixtures" / "models"
DATA = ROOT / "examples" / "data"
NAMES = ["digits_mlp", "digits_cnn", "sentiment", "gru_forecaster"]


def read(path):
    return numpy_helper.to_array(onnx.load_tensor(str(path)))


def test_every_keras_fixture_is_listed():
    present = sorted(p.name for p in FIXTURES.glob("keras_*") if (p / "model.onnx").exists())
    assert present == sorted(f"keras_{n}" for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_matches_keras_predict(name):
    fixture = FIXTURES / f"keras_{name}"
    session = dlinfer.InferenceSession(str(fixture / "model.onnx"))
    names = [i.name for i in session.get_inputs()]
    sets = sorted(fixture.glob("test_data_set_*"))
    assert len(sets) >= 2, "each fixture has two dynamic sizes"
    for ds in sets:
        feed = {n: read(ds / f"input_{k}.pb") for k, n in enumerate(names)}
        outputs = session.run(None, feed)
        expected = [read(p) for p in sorted(ds.glob("keras_output_*.pb"))]
        assert len(outputs) == len(expected) >= 1
        for got, want in zip(outputs, expected):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4, err_msg=f"{ds.name}")


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_digits_accuracy_on_held_out_split(kind):
    session = dlinfer.InferenceSession(str(ROOT / "examples" / "models" / f"keras_digits_{kind}.onnx"))
    images, labels = np.load(DATA / "digits_test_images.npy"), np.load(DATA / "digits_test_labels.npy")
    (probs,) = session.run(["probabilities"], {"image": images})
    np.testing.assert_allclose(probs, np.load(DATA / f"digits_test_probabilities_keras_{kind}.npy"),
                               rtol=1e-3, atol=1e-4)
    assert float((probs.argmax(axis=1) == labels).mean()) >= 0.95


@pytest.mark.parametrize("name", NAMES)
def test_example_model_is_the_tested_fixture(name):
    example = ROOT / "examples" / "models" / f"keras_{name}.onnx"
    assert example.read_bytes() == (FIXTURES / f"keras_{name}" / "model.onnx").read_bytes()
