#!/usr/bin/env python3
"""Fits the rational approximation of erf used by the CPU kernels (Sources/CDLInferKernels/vmath_impl.h):
erf(x) = x * P(x^2) / Q(x^2) on [0, 4], P of degree 6, Q of degree 5 with Q(0) = 1, by least squares on the
relative error, reweighted towards the worst points; then evaluates it in float32 as the kernel does (Horner,
x clamped to [-4, 4]) and prints the coefficients and the largest error in ulps over [-6, 6].
Run: python3 tools/fit_erf.py (needs numpy and scipy)."""
import numpy as np
from scipy.special import erf

P_DEGREE, Q_DEGREE = 6, 5


def fit():
    x = np.concatenate([np.linspace(0, 4, 20001)[1:], [1e-6]])
    t, f = x * x, erf(x) / x
    w = np.ones_like(t)
    for _ in range(30):
        # P(t) - f * (Q(t) - 1) = f, relative: divided by f.
        a = np.concatenate([np.vander(t, P_DEGREE + 1, increasing=True),
                            -f[:, None] * np.vander(t, Q_DEGREE + 1, increasing=True)[:, 1:]], axis=1)
        coef, *_ = np.linalg.lstsq(a * (w / f)[:, None], w, rcond=None)
        p, q = coef[:P_DEGREE + 1], np.concatenate([[1.0], coef[P_DEGREE + 1:]])
        r = np.polyval(p[::-1], t) / np.polyval(q[::-1], t) / f - 1
        w = w * (1 + 0.5 * np.abs(r) / np.abs(r).max())
    return p, q


def float32_erf(x, p, q):
    c = np.clip(x, np.float32(-4), np.float32(4))
    t = c * c
    num, den = np.zeros_like(t), np.zeros_like(t)
    for k in p[::-1]:
        num = num * t + np.float32(float(f"{k:.8e}"))
    for k in q[::-1]:
        den = den * t + np.float32(float(f"{k:.8e}"))
    return c * num / den


if __name__ == "__main__":
    p, q = fit()
    print("P (t^0 first):", ", ".join(f"{k:.8e}" for k in p))
    print("Q (t^0 first):", ", ".join(f"{k:.8e}" for k in q))
    x = np.linspace(-6, 6, 400001).astype(np.float32)
    got, want = float32_erf(x, p, q).astype(np.float64), erf(x.astype(np.float64))
    ulps = np.abs(got - want) / np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    print(f"largest error in float32: {ulps.max():.2f} ulp")
