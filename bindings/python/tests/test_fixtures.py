"""The committed whole-model fixtures (models exported from PyTorch/torchvision, Tests/Fixtures/models) and the
digits example through the Python package, against the onnxruntime outputs stored with them."""
import pathlib

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import dlinfer

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = sorted(p for p in (ROOT / "Tests" / "Fixtures" / "models").iterdir() if (p / "model.onnx").exists())


def read(path):
    return numpy_helper.to_array(onnx.load_tensor(str(path)))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_fixture_matches_onnxruntime(fixture):
    session = dlinfer.InferenceSession(str(fixture / "model.onnx"))  # the device comes from DLINFER_DEVICE
    names = [i.name for i in session.get_inputs()]
    sets = sorted(fixture.glob("test_data_set_*"))
    assert len(sets) >= 2, "each fixture has two dynamic sizes"
    for ds in sets:  # one session, several input shapes: re-planned implicitly
        feed = {n: read(ds / f"input_{k}.pb") for k, n in enumerate(names)}
        outputs = session.run(None, feed)
        expected = [read(p) for p in sorted(ds.glob("output_*.pb"))]
        assert len(outputs) == len(expected)
        for got, want in zip(outputs, expected):
            assert got.dtype == want.dtype and got.shape == want.shape
            # Half-precision outputs are compared at half precision's own resolution (2^-10 relative).
            tol = 1e-2 if want.dtype == np.float16 else None
            np.testing.assert_allclose(got, want, rtol=tol or 1e-3, atol=tol or 1e-4)


def test_digits_example_accuracy():
    data = ROOT / "examples" / "data"
    session = dlinfer.InferenceSession(str(ROOT / "examples" / "models" / "digits_cnn.onnx"))
    images = np.load(data / "digits_test_images.npy")
    (logits,) = session.run(None, {"image": images})
    np.testing.assert_allclose(logits, np.load(data / "digits_test_logits_onnxruntime.npy"), rtol=1e-3, atol=1e-4)
    accuracy = float((logits.argmax(axis=1) == np.load(data / "digits_test_labels.npy")).mean())
    assert accuracy >= 0.95
