"""Numba kernels of the forecaster's statistical methods (methods.py holds the numpy forms they must match;
the tests hold each pair together).

The damped trend fits a grid of (alpha, beta, phi) to every series: for 10,000 series of 200 points that is
168 million recursion steps, which numpy can only run as 200 passes over (series, grid) arrays, memory-bound;
here each series runs its whole grid side by side in cache, one pass over its values. The scans forecast
one series from many origins (the per-series choice's history origins): in numpy each step of the series
was a dozen small array operations.
"""

from __future__ import annotations

import numpy as np

from rnntools.jit import njit


@njit(cache=True, nogil=True)
def _argmin(v):
    """np.argmin of a 1-D array: the first NaN if there is one, else the first of the least values."""
    j = 0
    for g in range(v.shape[0]):
        if np.isnan(v[g]):
            return g
        if v[g] < v[j]:
            j = g
    return j


@njit(inline="always", nogil=True)
def _ses_step(x, alphas, level, sse):
    """One step of simple exponential smoothing for every alpha of the grid, with the next value x: the
    one-step error e = x - level is added to sse (squared), then level += alpha e (Theta's recursion)."""
    for g in range(alphas.shape[0]):
        e = x - level[g]
        sse[g] += e * e
        level[g] += alphas[g] * e


@njit(inline="always", nogil=True)
def _damped_step(x, alpha, beta, phi, level, slope, sse):
    """One step of the damped trend for every grid point g, with the next value x: the one-step error of
    pred = level + phi slope is added to sse (squared), then level = pred + alpha e, slope = phi slope +
    beta e (error-correction form). Inlined into both kernels (one definition of the recursion)."""
    for g in range(alpha.shape[0]):
        pred = level[g] + phi[g] * slope[g]
        e = x - pred
        sse[g] += e * e
        level[g] = pred + alpha[g] * e
        slope[g] = phi[g] * slope[g] + beta[g] * e


@njit(cache=True, nogil=True)
def damped_batch(X, alpha, beta, phi, out):
    """Damped-trend forecasts from the end of every row of X (B, n), fitted on all of it.

    alpha, beta, phi: (G,) the grid; per row, the grid point of least one-step squared error (the first
    of equals) forecasts ``l + (phi + ... + phi^k) b`` into out (B, h). Initial level X[b, 0], slope the mean
    step of the first min(n - 1, 4); the recursion is _damped_step's (methods._damped_scan in numpy)."""
    B, n = X.shape
    G = alpha.shape[0]
    h = out.shape[1]
    k = min(n - 1, 4)
    # the grid is the inner loop: its G recursions are independent, so they run side by side (SIMD), where
    # one recursion at a time waits on each step's result
    lv = np.empty(G)
    sl = np.empty(G)
    sse = np.empty(G)
    for r in range(B):
        l0 = X[r, 0]
        b0 = (X[r, k] - X[r, 0]) / k if k > 0 else 0.0
        for g in range(G):
            lv[g] = l0
            sl[g] = b0
            sse[g] = 0.0
        for i in range(1, n):
            _damped_step(X[r, i], alpha, beta, phi, lv, sl, sse)
        j = _argmin(sse)
        bl, bb, bp = lv[j], sl[j], phi[j]
        acc, pw = 0.0, 1.0
        for q in range(h):
            pw *= bp
            acc += pw
            out[r, q] = bl + acc * bb


@njit(cache=True, nogil=True)
def theta_batch(X, alphas, out):
    """Theta forecasts from the end of every row of X (B, n), fitted on all of it (methods._theta_batch).

    Per row: simple exponential smoothing for every alpha of the grid (level starts at X[b, 0]), the alpha of
    least one-step squared error (the first of equals) gives the level l; plus half the least-squares slope
    b of the row on time: out (B, h) = l + b/2 (k + (1 - (1 - a)^n) / a), k = 0..h-1."""
    B, n = X.shape
    G = alphas.shape[0]
    h = out.shape[1]
    level = np.empty(G)
    sse = np.empty(G)
    tm = (n - 1) / 2.0
    tt = 0.0
    for i in range(n):
        tt += (i - tm) * (i - tm)
    for r in range(B):
        for g in range(G):
            level[g] = X[r, 0]
            sse[g] = 0.0
        mean = 0.0
        for i in range(n):
            mean += X[r, i]
        mean /= n
        tx = (0.0 - tm) * (X[r, 0] - mean)
        for i in range(1, n):
            x = X[r, i]
            tx += (i - tm) * (x - mean)
            _ses_step(x, alphas, level, sse)
        j = _argmin(sse)
        a = alphas[j]
        b = tx / tt if n > 1 else 0.0
        c = (1.0 - (1.0 - a) ** float(n)) / a
        for k in range(h):
            out[r, k] = level[j] + b / 2.0 * (k + c)


@njit(cache=True, nogil=True)
def theta_scan(x, pos, alphas, out):
    """Theta forecasts of one series x (n,) from every origin i with pos[i] >= 0 into out[pos[i]] (h values
    each), each using x[:i + 1] only: methods._theta_scan, whose running sums this repeats in the same order.
    At the first value every alpha has zero error and the last (1.0) is taken."""
    n = x.shape[0]
    G = alphas.shape[0]
    h = out.shape[1]
    level = np.empty(G)
    sse = np.zeros(G)
    for g in range(G):
        level[g] = x[0]
    st = stt = sx = stx = 0.0
    for i in range(n):
        t = float(i)
        st += t
        stt += t * t
        sx += x[i]
        stx += t * x[i]
        if i:
            _ses_step(x[i], alphas, level, sse)
        if pos[i] >= 0:
            j = _argmin(sse) if i else G - 1
            a = alphas[j]
            cnt = i + 1
            den = cnt * stt - st ** 2
            b = (cnt * stx - st * sx) / den if den > 0 else 0.0
            c = (1 - (1 - a) ** float(cnt)) / a
            for k in range(h):
                out[pos[i], k] = level[j] + b / 2 * (k + c)


@njit(cache=True, nogil=True)
def damped_scan(x, pos, alpha, beta, phi, damp, out):
    """Damped-trend forecasts of one series x (n,) from every origin i with pos[i] >= 0 into out[pos[i]],
    each with the grid point of least one-step squared error up to i: methods._damped_scan. damp (G, h):
    phi + ... + phi^k per grid point."""
    n = x.shape[0]
    G = alpha.shape[0]
    h = out.shape[1]
    k0 = min(n - 1, 4)
    l0 = x[0]
    b0 = (x[k0] - x[0]) / k0 if k0 > 0 else 0.0
    level = np.empty(G)
    slope = np.empty(G)
    sse = np.zeros(G)
    for g in range(G):
        level[g] = l0
        slope[g] = b0
    for i in range(n):
        if i:
            _damped_step(x[i], alpha, beta, phi, level, slope, sse)
        if pos[i] >= 0:
            j = _argmin(sse) if i else 0
            for k in range(h):
                out[pos[i], k] = level[j] + damp[j, k] * slope[j]


@njit(inline="always", nogil=True)
def _hw_start(x, m, level, slope, season, sse):
    """Holt-Winters' starting states for every grid point: level the mean of the first season plus (m - 1) / 2
    slopes, slope the step between the first two seasons' means over m, seasonal states the first season
    minus its mean (methods._hw_scan)."""
    c1 = 0.0
    c2 = 0.0
    for i in range(m):
        c1 += x[i]
        c2 += x[m + i]
    c1 /= m
    c2 /= m
    b0 = (c2 - c1) / m
    for g in range(level.shape[0]):
        slope[g] = b0
        level[g] = c1 + b0 * (m - 1) / 2
        sse[g] = 0.0
        for p in range(m):
            season[g, p] = x[p] - c1


@njit(inline="always", nogil=True)
def _hw_step(x, t, m, alpha, beta, phi, gamma, level, slope, season, sse):
    """One Holt-Winters step at time t >= m for every grid point: e = x - (l + phi b + s[t % m]), counted in sse
    from t = 2m on; l += phi b + alpha e, b = phi b + beta e, s[t % m] += gamma e."""
    ph = t % m
    count = t >= 2 * m
    for g in range(alpha.shape[0]):
        pb = phi[g] * slope[g]
        e = x - (level[g] + pb + season[g, ph])
        if count:
            sse[g] += e * e
        level[g] = level[g] + pb + alpha[g] * e
        slope[g] = pb + beta[g] * e
        season[g, ph] += gamma[g] * e


@njit(inline="always", nogil=True)
def _hw_run(x, pos, m, alpha, beta, phi, gamma, damp, out, level, slope, season, sse):
    """hw_scan's body on states allocated by the caller (hw_batch reuses them from row to row)."""
    n = x.shape[0]
    h = out.shape[1]
    _hw_start(x, m, level, slope, season, sse)
    for i in range(min(m, n)):
        if pos[i] >= 0:
            for k in range(h):
                out[pos[i], k] = x[i]
    for t in range(m, n):
        _hw_step(x[t], t, m, alpha, beta, phi, gamma, level, slope, season, sse)
        if pos[t] >= 0:
            j = _argmin(sse)
            for k in range(h):
                out[pos[t], k] = level[j] + damp[j, k] * slope[j] + season[j, (t + k + 1) % m]


@njit(cache=True, nogil=True)
def hw_scan(x, pos, m, alpha, beta, phi, gamma, damp, out):
    """Holt-Winters forecasts of one series x (n >= 2m + 1) from every origin i with pos[i] >= 0 into
    out[pos[i]], each with the grid point of least one-step squared error up to i: methods._hw_scan. damp
    (G, h): phi + ... + phi^k per grid point. An origin before m forecasts its own value."""
    G = alpha.shape[0]
    _hw_run(x, pos, m, alpha, beta, phi, gamma, damp, out, np.empty(G), np.empty(G), np.empty((G, m)),
            np.empty(G))


@njit(cache=True, nogil=True)
def hw_batch(X, m, alpha, beta, phi, gamma, damp, out):
    """Holt-Winters forecasts from the end of every row of X (B, n >= 2m + 1), fitted on all of it, into
    out (B, h): hw_scan with one origin, the last (methods._hw_batch), its states reused from row to row."""
    B, n = X.shape
    G = alpha.shape[0]
    level, slope, sse, season = np.empty(G), np.empty(G), np.empty(G), np.empty((G, m))
    pos = np.full(n, -1, np.int64)
    pos[n - 1] = 0
    for r in range(B):
        _hw_run(X[r], pos, m, alpha, beta, phi, gamma, damp, out[r:r + 1], level, slope, season, sse)


@njit(inline="always", nogil=True)
def _aicc(sse, N, k):
    """AICc of a Gaussian fit with sum of squared errors sse over N errors and k parameters (inf without
    room for the correction)."""
    if N - k - 1 <= 0:
        return np.inf
    return N * np.log(max(sse, 1e-300) / N) + 2 * k + 2 * k * (k + 1) / (N - k - 1)


@njit(inline="always", nogil=True)
def _ets_run(x, pos, m, a1, a2, b2, p2, d2, a3, g3, a4, b4, p4, g4, d4, out):
    """ets_scan's body (methods._ets_scan): the four ETS members side by side, the one of least AICc at each
    origin forecasts."""
    n = x.shape[0]
    h = out.shape[1]
    seasonal = m > 1 and n >= 2 * m + 1
    t0 = 2 * m if seasonal else 2
    G1, G2, G3, G4 = a1.shape[0], a2.shape[0], a3.shape[0], a4.shape[0]
    l1 = np.full(G1, x[0])
    s1 = np.zeros(G1)
    k0 = min(n - 1, 4)
    l2 = np.full(G2, x[0])
    b2s = np.full(G2, (x[k0] - x[0]) / k0 if k0 > 0 else 0.0)
    s2 = np.zeros(G2)
    l3 = np.empty(G3)
    st3 = np.empty((G3, max(m, 1)))
    s3 = np.zeros(G3)
    l4 = np.empty(G4)
    b4s = np.empty(G4)
    st4 = np.empty((G4, max(m, 1)))
    s4 = np.zeros(G4)
    if seasonal:
        _hw_start(x, m, l4, b4s, st4, s4)       # ETS(A,Ad,A) is Holt-Winters, started as hw_scan starts it
        c1 = 0.0
        for i in range(m):
            c1 += x[i]
        c1 /= m
        for g in range(G3):
            l3[g] = c1
            for p in range(m):
                st3[g, p] = x[p] - c1
    for t in range(n):
        count = t >= t0
        if t:
            for g in range(G1):
                e = x[t] - l1[g]
                l1[g] += a1[g] * e
                if count:
                    s1[g] += e * e
            for g in range(G2):
                pred = l2[g] + p2[g] * b2s[g]
                e = x[t] - pred
                l2[g] = pred + a2[g] * e
                b2s[g] = p2[g] * b2s[g] + b2[g] * e
                if count:
                    s2[g] += e * e
        if seasonal and t >= m:
            ph = t % m
            for g in range(G3):
                e = x[t] - (l3[g] + st3[g, ph])
                l3[g] += a3[g] * e
                st3[g, ph] += g3[g] * e
                if count:
                    s3[g] += e * e
            for g in range(G4):
                pb = p4[g] * b4s[g]
                e = x[t] - (l4[g] + pb + st4[g, ph])
                l4[g] = l4[g] + pb + a4[g] * e
                b4s[g] = pb + b4[g] * e
                st4[g, ph] += g4[g] * e
                if count:
                    s4[g] += e * e
        r = pos[t]
        if r < 0:
            continue
        N = t - t0 + 1
        best = np.inf
        which = -1
        j1 = j2 = j3 = j4 = 0
        if N >= 4:
            j1 = _argmin(s1)
            j2 = _argmin(s2)
            c = _aicc(s1[j1], N, 2)
            if c < best:
                best, which = c, 1
            c = _aicc(s2[j2], N, 5)
            if c < best:
                best, which = c, 2
            if seasonal and t >= 2 * m:
                j3 = _argmin(s3)
                j4 = _argmin(s4)
                c = _aicc(s3[j3], N, m + 2)
                if c < best:
                    best, which = c, 3
                c = _aicc(s4[j4], N, m + 5)
                if c < best:
                    best, which = c, 4
        for k in range(h):
            if which == 1:
                out[r, k] = l1[j1]
            elif which == 2:
                out[r, k] = l2[j2] + d2[j2, k] * b2s[j2]
            elif which == 3:
                out[r, k] = l3[j3] + st3[j3, (t + k + 1) % m]
            elif which == 4:
                out[r, k] = l4[j4] + d4[j4, k] * b4s[j4] + st4[j4, (t + k + 1) % m]
            else:
                out[r, k] = x[t]


@njit(cache=True, nogil=True)
def ets_scan(x, pos, m, a1, a2, b2, p2, d2, a3, g3, a4, b4, p4, g4, d4, out):
    """Forecasts of one series x from every origin i with pos[i] >= 0 into out[pos[i]] by the member of the
    ETS family with the least AICc up to i (methods._ets_scan): ETS(A,N,N) on the grid a1, ETS(A,Ad,N) on
    (a2, b2, p2), and for m > 1 with two seasons and one value ETS(A,N,A) on (a3, g3) and ETS(A,Ad,A) on
    (a4, b4, p4, g4); d2, d4 (G, h): phi + ... + phi^k per grid point."""
    _ets_run(x, pos, m, a1, a2, b2, p2, d2, a3, g3, a4, b4, p4, g4, d4, out)


@njit(cache=True, nogil=True)
def ets_batch(X, m, a1, a2, b2, p2, d2, a3, g3, a4, b4, p4, g4, d4, out):
    """ets_scan from the end of every row of X (B, n), fitted on all of it, into out (B, h)."""
    B, n = X.shape
    pos = np.full(n, -1, np.int64)
    pos[n - 1] = 0
    for r in range(B):
        _ets_run(X[r], pos, m, a1, a2, b2, p2, d2, a3, g3, a4, b4, p4, g4, d4, out[r:r + 1])
