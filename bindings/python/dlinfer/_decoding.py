"""Post-processing helpers over the library's decoding functions."""
import operator

import numpy as np

from . import _capi
from ._capi import Error, check, lib


def ctc_greedy_decode(scores, blank=0):
    """CTC greedy (best-path) decoding of a [frames, batch, classes] array of per-frame scores (log-probabilities,
    probabilities or raw scores; converted to float32): for each batch item, each frame's best class (ties go to the
    lowest index), runs of the same class collapsed to one, `blank` dropped. Returns one list of class indices per
    batch item. A [batch, frames, classes] array can be passed as `scores.transpose(1, 0, 2)`.
    Raises Error (ERR_INVALID_ARG) for an array that is not 3-D, a blank outside [0, classes), or a frame whose
    scores are all NaN."""
    blank = operator.index(blank)
    a = np.ascontiguousarray(scores, dtype=np.float32)
    if a.ndim != 3:
        raise Error(_capi.ERR_INVALID_ARG, f"ctc_greedy_decode: scores must be 3-D [frames, batch, classes], "
                    f"got shape {a.shape}")
    frames, batch, classes = a.shape
    labels = np.empty(max(frames * batch, 1), dtype=np.int64)
    lengths = np.empty(max(batch, 1), dtype=np.int64)
    check(lib.dlinfer_ctc_greedy_decode(a.ctypes.data, frames, batch, classes, blank, labels.ctypes.data,
                                        lengths.ctypes.data))
    return [labels[b * frames:b * frames + lengths[b]].tolist() for b in range(batch)]
