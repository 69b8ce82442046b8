"""Numba kernels of the forecaster's statistical methods (methods.py holds the numpy forms they must match).

The damped trend fits a grid of (alpha, beta, phi) to every series: for 10,000 series of 200 points that is
168 million recursion steps, which numpy can only run as 200 passes over (series, grid) arrays, memory-bound;
here each series' recursion runs in registers.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def damped_batch(X, alpha, beta, phi, out):
    """Damped-trend forecasts from the end of every row of X (B, n), fitted on all of it.

    alpha, beta, phi: (G,) the grid; per row, the grid point of least one-step squared error (the first
    of equals) forecasts ``l + (phi + ... + phi^k) b`` into out (B, h). Initial level X[b, 0], slope the mean
    step of the first min(n - 1, 4). Error-correction form: pred = l + phi b, e = x - pred,
    l = pred + alpha e, b = phi b + beta e (methods._damped_scan)."""
    B, n = X.shape
    G = alpha.shape[0]
    h = out.shape[1]
    k = min(n - 1, 4)
    for r in range(B):
        l0 = X[r, 0]
        b0 = (X[r, k] - X[r, 0]) / k if k > 0 else 0.0
        best = np.inf
        bl, bb, bp = l0, b0, phi[0]
        for g in range(G):
            a, be, p = alpha[g], beta[g], phi[g]
            lv, sl, sse = l0, b0, 0.0
            for i in range(1, n):
                pred = lv + p * sl
                e = X[r, i] - pred
                sse += e * e
                lv = pred + a * e
                sl = p * sl + be * e
            if g == 0 or sse < best:
                best, bl, bb, bp = sse, lv, sl, p
        acc, pw = 0.0, 1.0
        for j in range(h):
            pw *= bp
            acc += pw
            out[r, j] = bl + acc * bb
