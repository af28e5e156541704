"""dlinfer.ctc_greedy_decode against a numpy reference written here, and its errors."""
import numpy as np
import pytest

import dlinfer


def reference(scores, blank):
    """Best path per item (numpy's argmax: lowest index on ties), then repeats removed, then blanks removed."""
    out = []
    for path in scores.argmax(axis=2).T:
        collapsed = [int(c) for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        out.append([c for c in collapsed if c != blank])
    return out


def test_hand_worked_case():
    probs = np.array([[0.1, 0.9, 0], [0.2, 0.7, 0.1], [0.8, 0.1, 0.1], [0, 0.6, 0.4], [0.1, 0.2, 0.7]], np.float32)
    # Best path 1 1 0 1 2: the blank between the 1s keeps both.
    assert dlinfer.ctc_greedy_decode(np.log(probs + 1e-6)[:, None, :]) == [[1, 1, 2]]
    assert dlinfer.ctc_greedy_decode(probs[:, None, :], blank=1) == [[0, 2]]
    # NaN never wins (numpy's argmax would pick it): the best of the other scores does.
    probs[0, 0] = probs[1, 2] = np.nan
    assert dlinfer.ctc_greedy_decode(probs[:, None, :]) == [[1, 1, 2]]


@pytest.mark.parametrize("frames,batch,classes,blank", [(37, 5, 6, 0), (37, 5, 6, 5), (1, 1, 1, 0), (80, 8, 17, 0)])
def test_matches_numpy_reference(rng, frames, batch, classes, blank):
    # Integer-valued scores make ties and repeated labels common.
    scores = rng.integers(-4, 4, (frames, batch, classes)).astype(np.float32)
    assert dlinfer.ctc_greedy_decode(scores, blank=blank) == reference(scores, blank)
    logp = np.log(rng.dirichlet(np.ones(classes), (frames, batch))).astype(np.float32)
    assert dlinfer.ctc_greedy_decode(logp, blank=blank) == reference(logp, blank)


def test_layouts_and_dtypes(rng):
    scores = rng.standard_normal((20, 3, 5))
    want = reference(scores.astype(np.float32), 0)
    assert dlinfer.ctc_greedy_decode(scores) == want  # float64 is converted
    batch_first = np.ascontiguousarray(scores.transpose(1, 0, 2))
    assert dlinfer.ctc_greedy_decode(batch_first.transpose(1, 0, 2)) == want  # a non-contiguous view


def test_empty_sizes():
    assert dlinfer.ctc_greedy_decode(np.zeros((0, 2, 4), np.float32)) == [[], []]
    assert dlinfer.ctc_greedy_decode(np.zeros((5, 0, 4), np.float32)) == []


@pytest.mark.parametrize("scores,blank,words", [
    (np.zeros((4, 1, 3), np.float32), 3, "blank 3"),
    (np.zeros((4, 1, 3), np.float32), -1, "blank -1"),
    (np.zeros((4, 1, 0), np.float32), 0, "classes"),
    (np.full((2, 1, 3), np.nan, np.float32), 0, "NaN"),
    (np.zeros((4, 3), np.float32), 0, "3-D"),
])
def test_bad_input_raises(scores, blank, words):
    with pytest.raises(dlinfer.Error) as e:
        dlinfer.ctc_greedy_decode(scores, blank=blank)
    assert e.value.status_name == "DLINFER_ERR_INVALID_ARG" and words in e.value.message


def test_blank_must_be_an_integer():
    with pytest.raises(TypeError):
        dlinfer.ctc_greedy_decode(np.zeros((2, 1, 3), np.float32), blank=0.5)
