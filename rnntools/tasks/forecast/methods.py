"""The statistical candidates the network is measured against, per series: naive, seasonal naive, drift and
the Theta method, each forecasting from any origin using only the values up to it.

Why these: seasonal naive is the yardstick of MASE; naive and drift are what trending, non-seasonal
series (GDP, population) need; Theta (Assimakopoulos & Nikolopoulos 2000; Hyndman & Billah's
SES-with-drift form, R's ``thetaf``) won M3 and is a strong, cheap baseline on monthly, quarterly and yearly
data. The forecaster picks, per series, whichever of these and the network (or their average) forecast its
validation origins best, so it is never beaten by a baseline it could have used.

Theta here: when the series is seasonal (autocorrelation at lag m beyond the 90% band, as thetaf tests), a
classical decomposition's seasonal indices (multiplicative for positive series, else additive) are taken
off; then simple exponential smoothing (alpha on a grid, chosen by the one-step squared error up to the
origin) plus half the least-squares slope: ``l_t + b/2 * (k - 1 + (1 - (1 - a)^n) / a)``; the indices go
back on. All origins of a series come from one pass over it: the level, the error sums and the regression
sums up to every t are running sums.
"""

from __future__ import annotations

import numpy as np

METHODS = ("naive", "snaive", "drift", "theta", "damped")
# seasonal naive one week back, for data with a daily season (24 hours, 48 half-hours): electricity demand
# and traffic repeat the day of the week, which neither the daily season nor its calendar phase sees; and
# one day back, for the same data given its weekly season (168 hours, 336 half-hours): yesterday's profile
# follows a change of weather or a holiday week that last week's does not yet show
EXTRA = ("weekly", "daily")
# Theta and the damped trend on the logarithms of a positive series (a Box-Cox step with lambda 0): growth
# in percent rather than in units (population, prices, passengers); candidates for positive series only,
# and on the values themselves for a series that is not positive at forecast time
LOGS = {"ltheta": "theta", "ldamped": "damped"}
# Holt-Winters with a damped trend and seasonal states that keep learning (ETS(A,Ad,A); on the logarithms
# of a positive series, close to ETS(M,Ad,M)): the classical decomposition of Theta and the damped trend
# holds the seasonal shape fixed over the last cycles, these states follow it. Candidates for m > 1 and
# series of at least two seasons and one value; the damped trend stands in for it where a series is
# shorter at forecast time
SEASONAL = ("hw",)
# ARIMA(p,1,0) without a constant: an autoregression on the first differences, p in 0..ARIMA_P by AICc,
# fitted by least squares on the values up to the origin (the ARIMA family's simplest trend model). Its
# forecast carries the recent growth and lets it die out at the rate the differences' own dynamics show
# (a damped trend whose damping is estimated, with the cycles of growth rates: unemployment, production,
# sunspots); p = 0 is naive. Without the constant: the drift, Theta and the damped trend already
# extrapolate a mean growth, and the constant's form did worse on the benchmark of docs/forecast.md, as did
# the AR on the values themselves. Only stationary fits are taken (see _arima_fit). A candidate for every
# series.
ARIMA = ("arima",)
ARIMA_P = 8
# the ETS family with its member chosen by AICc at each origin, as R's ets() and statsforecast's AutoETS
# choose: ETS(A,N,N), ETS(A,Ad,N), and for seasonal series ETS(A,N,A) and ETS(A,Ad,A), each on its grid by
# one-step squared error; ``lets`` the same on the logarithms of a positive series (close to the
# multiplicative-error members). The other candidates always carry a trend (Theta's half slope, the damped
# trends, Holt-Winters, the drift, the autoregression's recent growth); the likelihood's penalty lets this
# one drop the trend where the data do not pay for it (growth rates, interest rates, unemployment: a level
# that wanders, docs/forecast.md "The failing kinds"). On the series as they are (no seasonal
# adjustment first: the seasonal members hold their own states). A candidate for every series (``lets``
# for positive ones).
ETS = {"ets": False, "lets": True}


def long_season(m: int) -> int | None:
    """The weekly season of data whose season ``m`` is a day (hourly, half-hourly), else None."""
    return 7 * m if m in (24, 48) else None


def short_season(m: int) -> int | None:
    """The daily season of data whose season ``m`` is a week (hourly, half-hourly), else None."""
    return m // 7 if m in (168, 336) else None


def _lag_of(method: str, m: int) -> int:
    """The lag of a seasonal-naive method: ``weekly`` a week, ``daily`` a day, ``snaive`` the season."""
    if method == "weekly":
        return long_season(m) or m
    if method == "daily":
        return short_season(m) or m
    return max(m, 1)


def methods_for(m: int, n: int, positive: bool = False) -> tuple[str, ...]:
    """The statistical methods for a series of n values with season m: METHODS, plus ``weekly`` when the
    series is daily-seasonal and holds at least three weeks, ``daily`` when it is weekly-seasonal, the LOGS
    forms when it is ``positive``, ``hw`` when it is seasonal (m > 1) and holds two seasons and one value,
    ``arima``, ``ets``, and ``lets`` when it is ``positive``."""
    w = long_season(m)
    return (METHODS + (("weekly",) if w and n >= 3 * w else ()) + (("daily",) if short_season(m) else ())
            + (tuple(LOGS) if positive else ())
            + (("hw",) if _hw_fits(m, n) else ()) + ARIMA + ("ets",) + (("lets",) if positive else ()))


def _hw_fits(m: int, n: int) -> bool:
    return m > 1 and n >= 2 * m + 1
ALPHAS = np.array([0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])


def _damped_grid(phis=(0.8, 0.9, 0.95, 0.98)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (alpha, beta, phi) grid of the damped trend: beta as a fraction of alpha (ETS's beta <= alpha),
    phi in R's ets() range (``phis``: other values, for benchmarks' variants)."""
    a, f, p = np.meshgrid([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9], [0.02, 0.1, 0.3], list(phis), indexing="ij")
    return a.ravel(), (a * f).ravel(), p.ravel()


DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI = _damped_grid()


def swing_grows(Y: np.ndarray, m: int) -> np.ndarray:
    """(B,) whether each row of Y (B, n) is seasonal multiplicatively: positive, and the seasonal swing grows
    with the level (per-cycle range against per-cycle mean correlate above 0.5 over at least 3 cycles
    spanning a level change of 30%; data.multiplicative's rule, batched). Otherwise the decomposition is
    additive: multiplicative indices on a series whose swing stays put overshoot it more as the level
    rises (thetaf's positive-means-multiplicative rule did that on trending series)."""
    B, n = Y.shape
    k = n // m
    if m < 2 or k < 3:
        return np.zeros(B, bool)
    cycles = Y[:, n - k * m:].reshape(B, k, m)
    level, swing = cycles.mean(2), cycles.max(2) - cycles.min(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = level - level.mean(1, keepdims=True)
        b = swing - swing.mean(1, keepdims=True)
        den = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
        corr = np.where(den > 0, np.einsum("ij,ij->i", a, b) / np.where(den > 0, den, 1.0), 0.0)
        rises = level.max(1) / level.min(1) > 1.3
    return np.all(Y > 0, 1) & rises & (corr > 0.5)


# The seasonal indices are each phase's mean detrended ratio over the last SEASON_CYCLES cycles, not the
# whole history: seasonal patterns drift (beer, electrical equipment, CO2's cycle), and the average over
# every cycle forecast an old shape. Five cycles: the middle of the range (4-6) that did best on the
# benchmark of docs/forecast.md (three were noisier, ten and all of them staler).
SEASON_CYCLES = 5


def seasonal_indices(y: np.ndarray, m: int, differences: bool = True) -> tuple[np.ndarray, bool] | None:
    """(m,) indices by phase (phase 0 = the first value of ``y``) and whether they are multiplicative, or None
    when ``y`` shows no seasonality at lag m or is shorter than two seasons.

    The test is thetaf's (autocorrelation at lag m beyond its 90% limit) on the first differences: on the
    values themselves (``differences=False``, thetaf's own form, kept for the benchmark's comparison) every
    trending series is autocorrelated at lag m, and its "seasonal" indices were noise added to a trend
    (seasonally adjusted GDP, interest rates, share prices)."""
    n = len(y)
    if m < 2 or n < 2 * m + 1:
        return None
    d = np.diff(y) if differences else y
    x = d - d.mean()
    den = float(np.dot(x, x))
    if den <= 0:
        return None
    acf = np.array([np.dot(x[k:], x[:-k]) / den for k in range(1, m + 1)])
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[:-1] ** 2)) / len(x))
    if abs(acf[-1]) <= limit:
        return None
    mult = bool(swing_grows(y[None, :], m)[0])
    # centred moving average of order m (2 x m when m is even)
    if m % 2:
        w = np.ones(m) / m
    else:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    trend = np.convolve(y, w, mode="valid")
    off = (len(w) - 1) // 2
    part = y[off:off + len(trend)]
    ratio = part / trend if mult else part - trend
    phase = (np.arange(len(trend)) + off) % m
    start = max(0, len(trend) - SEASON_CYCLES * m)       # the last SEASON_CYCLES of each phase
    idx = np.array([ratio[start:][phase[start:] == p].mean() for p in range(m)])
    if mult:
        if np.any(idx <= 0) or not np.all(np.isfinite(idx)):
            return None
        idx = idx / idx.mean()
    else:
        idx = idx - idx.mean()
    return idx, mult


def _theta_scan(x: np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
    """(len(origins), h) Theta forecasts of the (seasonally adjusted) series x from each origin (an index
    into x; the forecast uses x[:origin + 1]). The numpy reference of kernels.theta_scan, which
    :func:`forecasts` runs."""
    n = len(x)
    A = ALPHAS
    level = np.full(len(A), x[0])
    sse = np.zeros(len(A))
    out = np.empty((len(origins), h))
    want = np.zeros(n, bool)
    want[origins] = True
    row = {int(o): i for i, o in enumerate(origins)}
    t = np.arange(n, dtype=np.float64)
    # running sums for the least-squares slope of x on t over x[:o+1]
    st, stt, sx, stx = np.cumsum(t), np.cumsum(t * t), np.cumsum(x), np.cumsum(t * x)
    k = np.arange(h, dtype=np.float64)
    for i in range(n):
        if i:
            err = x[i] - level
            sse += err * err
            level = level + A * err
        if want[i]:
            j = int(np.argmin(sse)) if i else len(A) - 1
            a = A[j]
            cnt = i + 1
            den = cnt * stt[i] - st[i] ** 2
            b = (cnt * stx[i] - st[i] * sx[i]) / den if den > 0 else 0.0
            out[row[i]] = level[j] + b / 2 * (k + (1 - (1 - a) ** cnt) / a)
    return out


def _hw_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The (alpha, beta, phi, gamma) grid of Holt-Winters: beta a fraction of alpha, gamma <= 1 - alpha (ETS's
    bounds); 66 points, small because every point carries m seasonal states."""
    a, f, p, g = np.meshgrid([0.05, 0.2, 0.5, 0.9], [0.05, 0.3], [0.85, 0.95, 0.98], [0.02, 0.1, 0.3],
                             indexing="ij")
    a, f, p, g = a.ravel(), f.ravel(), p.ravel(), g.ravel()
    keep = g <= 1 - a + 1e-9
    return a[keep], (a * f)[keep], p[keep], g[keep]


HW_ALPHA, HW_BETA, HW_PHI, HW_GAMMA = _hw_grid()


def _hwn_grid() -> tuple[np.ndarray, np.ndarray]:
    """The (alpha, gamma) grid of ETS(A,N,A) (Holt-Winters without a trend): gamma <= 1 - alpha."""
    a, g = np.meshgrid([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9], [0.01, 0.05, 0.1, 0.2, 0.3], indexing="ij")
    a, g = a.ravel(), g.ravel()
    keep = g <= 1 - a + 1e-9
    return a[keep], g[keep]


HWN_ALPHA, HWN_GAMMA = _hwn_grid()


def _aicc(sse: float, N: int, k: int) -> float:
    if N - k - 1 <= 0:
        return np.inf
    return N * np.log(max(sse, 1e-300) / N) + 2 * k + 2 * k * (k + 1) / (N - k - 1)


ETS_MEMBERS = ("ANN", "AAdN", "ANA", "AAdA")


def _ets_scan(x: np.ndarray, origins: np.ndarray, h: int, m: int, members: tuple = ETS_MEMBERS) -> np.ndarray:
    """(len(origins), h) forecasts of x from each origin by the member of the ETS family with the least AICc
    up to it: the numpy reference of kernels.ets_scan.

    Members: ETS(A,N,N) (simple exponential smoothing on Theta's alpha grid, level started at x[0]),
    ETS(A,Ad,N) (the damped trend's grid and start, on the values as they are), and where m > 1 and x holds
    two seasons and one value, ETS(A,N,A) (HWN_ALPHA, HWN_GAMMA) and ETS(A,Ad,A) (Holt-Winters' grid and
    start); each member's grid point by one-step squared error, every member's errors counted from the same
    step t0 (2m for a seasonal x, else 2) so that their AICc = N log(SSE / N) + 2k + 2k(k + 1) / (N - k - 1)
    compare (k: 2, 5, m + 2, m + 5: the smoothing parameters and the initial states). The first of equal
    AICcs wins; an origin with fewer than 4 errors counted forecasts its own value. ``members``: some of
    ETS_MEMBERS only (benchmarks' variants; the kernel runs all four)."""
    n = len(x)
    seasonal = m > 1 and n >= 2 * m + 1
    t0 = 2 * m if seasonal else 2
    A1 = ALPHAS
    l1, s1 = np.full(len(A1), x[0]), np.zeros(len(A1))
    A2, B2, P2 = DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI
    i0, j0 = _damped_init(x)
    l2, b2, s2 = np.full(len(A2), i0), np.full(len(A2), j0), np.zeros(len(A2))
    d2 = np.cumsum(P2[:, None] ** np.arange(1, h + 1)[None, :], axis=1)
    if seasonal:
        A3, G3 = HWN_ALPHA, HWN_GAMMA
        c1, c2 = x[:m].mean(), x[m:2 * m].mean()
        l3, st3, s3 = np.full(len(A3), c1), np.tile(x[:m] - c1, (len(A3), 1)), np.zeros(len(A3))
        A4, B4, P4, G4 = HW_ALPHA, HW_BETA, HW_PHI, HW_GAMMA
        b4 = np.full(len(A4), (c2 - c1) / m)
        l4, st4, s4 = c1 + b4 * (m - 1) / 2, np.tile(x[:m] - c1, (len(A4), 1)), np.zeros(len(A4))
        d4 = _hw_damp(h)
    rows: dict[int, list] = {}
    for i, o in enumerate(origins):
        rows.setdefault(int(o), []).append(i)
    out = np.empty((len(origins), h))
    steps = np.arange(1, h + 1)
    for t in range(n):
        if t:
            e1 = x[t] - l1
            l1 = l1 + A1 * e1
            p2 = l2 + P2 * b2
            e2 = x[t] - p2
            l2 = p2 + A2 * e2
            b2 = P2 * b2 + B2 * e2
            if t >= t0:
                s1 = s1 + e1 * e1
                s2 = s2 + e2 * e2
        if seasonal and t >= m:
            ph = t % m
            e3 = x[t] - (l3 + st3[:, ph])
            l3 = l3 + A3 * e3
            st3[:, ph] += G3 * e3
            e4 = x[t] - (l4 + P4 * b4 + st4[:, ph])
            l4 = l4 + P4 * b4 + A4 * e4
            b4 = P4 * b4 + B4 * e4
            st4[:, ph] += G4 * e4
            if t >= t0:
                s3 = s3 + e3 * e3
                s4 = s4 + e4 * e4
        if t not in rows:
            continue
        N = t - t0 + 1
        best, f = np.inf, x[t] + 0 * steps
        if N >= 4:
            cands = []
            if "ANN" in members:
                j = int(np.argmin(s1))
                cands.append((_aicc(s1[j], N, 2), l1[j] + 0 * steps))
            if "AAdN" in members:
                j = int(np.argmin(s2))
                cands.append((_aicc(s2[j], N, 5), l2[j] + d2[j] * b2[j]))
            if seasonal and t >= 2 * m and "ANA" in members:
                j = int(np.argmin(s3))
                cands.append((_aicc(s3[j], N, m + 2), l3[j] + st3[j, (t + steps) % m]))
            if seasonal and t >= 2 * m and "AAdA" in members:
                j = int(np.argmin(s4))
                cands.append((_aicc(s4[j], N, m + 5), l4[j] + d4[j] * b4[j] + st4[j, (t + steps) % m]))
            for c, fc in cands:
                if c < best:
                    best, f = c, fc
        out[rows[t]] = f
    return out


def _ets_args(h: int) -> tuple:
    """The grids of kernels.ets_scan / ets_batch after (x, pos, m)."""
    return (ALPHAS, DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI,
            np.cumsum(DAMPED_PHI[:, None] ** np.arange(1, h + 1)[None, :], axis=1),
            HWN_ALPHA, HWN_GAMMA, HW_ALPHA, HW_BETA, HW_PHI, HW_GAMMA, _hw_damp(h))


def _ets_scan_kernel(x: np.ndarray, origins: np.ndarray, h: int, m: int) -> np.ndarray:
    """:func:`_ets_scan` by its numba kernel."""
    from rnntools.tasks.forecast import kernels

    u, inv, pos = _scan_positions(len(x), origins)
    out = np.empty((len(u), h))
    kernels.ets_scan(np.ascontiguousarray(x, dtype=np.float64), pos, m, *_ets_args(h), out)
    return out[inv]


def _hw_scan(x: np.ndarray, origins: np.ndarray, h: int, m: int) -> np.ndarray:
    """(len(origins), h) additive damped Holt-Winters forecasts of x (n >= 2m + 1) from each origin, each with
    the grid point of least one-step squared error up to the origin (errors counted from the third season
    on, after the states' first cycle of learning): the numpy reference of kernels.hw_scan.

    Start: level the mean of the first season plus (m - 1) / 2 slopes, slope the step between the first two
    seasons' means over m, seasonal states the first season minus its mean; the recursion runs from t = m:
    pred = l + phi b + s[t % m], e = x_t - pred, l += phi b + alpha e, b = phi b + beta e,
    s[t % m] += gamma e. Forecast k steps ahead: l + (phi + ... + phi^k) b + s[(t + k) % m]. An origin
    before m forecasts its own value."""
    A, Bt, P, Gm = HW_ALPHA, HW_BETA, HW_PHI, HW_GAMMA
    n = len(x)
    c1, c2 = x[:m].mean(), x[m:2 * m].mean()
    slope = np.full(len(A), (c2 - c1) / m)
    level = c1 + slope * (m - 1) / 2
    season = np.tile(x[:m] - c1, (len(A), 1))
    sse = np.zeros(len(A))
    damp = _hw_damp(h)
    out = np.empty((len(origins), h))
    rows = {}
    for i, o in enumerate(origins):
        rows.setdefault(int(o), []).append(i)
    steps = np.arange(1, h + 1)
    for o in rows:
        if o < m:
            out[rows[o]] = x[o]
    for t in range(m, n):
        ph = t % m
        pred = level + P * slope + season[:, ph]
        e = x[t] - pred
        if t >= 2 * m:
            sse += e * e
        level = level + P * slope + A * e
        slope = P * slope + Bt * e
        season[:, ph] += Gm * e
        if t in rows:
            j = int(np.argmin(sse))
            out[rows[t]] = level[j] + damp[j] * slope[j] + season[j, (t + steps) % m]
    return out


def _hw_damp(h: int) -> np.ndarray:
    """(grid, h) phi + ... + phi^k of every Holt-Winters grid point."""
    return np.cumsum(HW_PHI[:, None] ** np.arange(1, h + 1)[None, :], axis=1)


def _hw_batch(X: np.ndarray, h: int, m: int) -> np.ndarray:
    """(B, h) Holt-Winters forecasts from the end of every row of X (B, n >= 2m + 1): :func:`_hw_scan`
    batched, in numpy (the reference of kernels.hw_batch)."""
    return np.stack([_hw_scan(x, np.array([len(x) - 1]), h, m)[0] for x in X])


def _damped_init(x: np.ndarray) -> tuple[float, float]:
    """Initial level and slope: the first value and the mean step of the first few."""
    k = min(len(x) - 1, 4)
    return float(x[0]), float((x[k] - x[0]) / k) if k > 0 else 0.0


def _damped_scan(x: np.ndarray, origins: np.ndarray, h: int, grid: tuple | None = None) -> np.ndarray:
    """(len(origins), h) additive damped-trend (Holt, Gardner & McKenzie) forecasts of x from each origin:
    error-correction form l += phi b + alpha e, b = phi b + beta e, with (alpha, beta, phi) the grid point of
    least one-step squared error up to the origin; forecast l + (phi + ... + phi^k) b. The numpy reference of
    kernels.damped_scan, which :func:`forecasts` runs; ``grid``: another (alpha, beta, phi) grid
    (:func:`_damped_grid`'s, for benchmarks' variants)."""
    n = len(x)
    A, Bt, P = (DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI) if grid is None else grid
    l0, b0 = _damped_init(x)
    level, slope = np.full(len(A), l0), np.full(len(A), b0)
    sse = np.zeros(len(A))
    out = np.empty((len(origins), h))
    want = np.zeros(n, bool)
    want[origins] = True
    row = {int(o): i for i, o in enumerate(origins)}
    damp = np.cumsum(P[:, None] ** np.arange(1, h + 1)[None, :], axis=1)     # (grid, h)
    for i in range(n):
        if i:
            pred = level + P * slope
            err = x[i] - pred
            sse += err * err
            level = pred + A * err
            slope = P * slope + Bt * err
        if want[i]:
            j = int(np.argmin(sse)) if i else 0
            out[row[i]] = level[j] + damp[j] * slope[j]
    return out


def _scan_positions(n: int, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct origins, each origin's row among them, and (n,) every position's row or -1."""
    u, inv = np.unique(origins, return_inverse=True)
    pos = np.full(n, -1, np.int64)
    pos[u] = np.arange(len(u))
    return u, inv.reshape(-1), pos


def _theta_scan_kernel(x: np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
    """:func:`_theta_scan` by its numba kernel."""
    from rnntools.tasks.forecast import kernels

    u, inv, pos = _scan_positions(len(x), origins)
    out = np.empty((len(u), h))
    kernels.theta_scan(np.ascontiguousarray(x, dtype=np.float64), pos, ALPHAS, out)
    return out[inv]


def _damped_scan_kernel(x: np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
    """:func:`_damped_scan` by its numba kernel."""
    from rnntools.tasks.forecast import kernels

    u, inv, pos = _scan_positions(len(x), origins)
    out = np.empty((len(u), h))
    damp = np.cumsum(DAMPED_PHI[:, None] ** np.arange(1, h + 1)[None, :], axis=1)     # (grid, h)
    kernels.damped_scan(np.ascontiguousarray(x, dtype=np.float64), pos, DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI,
                        damp, out)
    return out[inv]


def _hw_scan_kernel(x: np.ndarray, origins: np.ndarray, h: int, m: int) -> np.ndarray:
    """:func:`_hw_scan` by its numba kernel."""
    from rnntools.tasks.forecast import kernels

    u, inv, pos = _scan_positions(len(x), origins)
    out = np.empty((len(u), h))
    kernels.hw_scan(np.ascontiguousarray(x, dtype=np.float64), pos, m, HW_ALPHA, HW_BETA, HW_PHI, HW_GAMMA,
                    _hw_damp(h), out)
    return out[inv]


def logged(y: np.ndarray) -> tuple[np.ndarray, bool]:
    """(the series a LOGS method or ``hw`` runs on, whether that is the logarithm): log y when y is positive."""
    if len(y) and np.all(y > 0):
        return np.log(y), True
    return y, False


def forecasts(method: str, y: np.ndarray, origins: np.ndarray, h: int, m: int,
              indices: tuple[np.ndarray, bool] | None = None) -> np.ndarray:
    """(len(origins), h) forecasts of ``method`` for one series y (original units) from each origin o (the
    forecast uses y[:o + 1]). ``indices``: Theta's seasonal indices (of log y for the LOGS methods), computed
    on the part of the series before the first origin when not given (so no origin sees its future)."""
    origins = np.asarray(origins, np.int64)
    if method == "arima":
        return _arima_scan(y, origins, h)
    if method in ETS:
        x, log = logged(y) if ETS[method] else (y, False)
        f = _ets_scan_kernel(x, origins, h, m)
        return np.exp(f) if log else f
    if method in LOGS or method == "hw":
        x, log = logged(y)
        if method == "hw":
            f = _hw_scan_kernel(x, origins, h, m) if _hw_fits(m, len(x)) else forecasts("damped", x, origins, h, m)
        else:
            f = forecasts(LOGS[method], x, origins, h, m, indices)
        return np.exp(f) if log else f
    steps = np.arange(1, h + 1)
    last = y[origins]
    if method == "naive":
        return np.repeat(last[:, None], h, axis=1)
    if method in ("snaive", "weekly", "daily"):
        mm = _lag_of(method, m)
        back = (steps - 1) % mm - mm + 1                       # -m+1 .. 0
        idx = np.clip(origins[:, None] + back[None, :], 0, None)
        return y[idx]
    if method == "drift":
        slope = np.where(origins > 0, (last - y[0]) / np.maximum(origins, 1), 0.0)
        return last[:, None] + slope[:, None] * steps[None, :]
    if method in ("theta", "damped"):
        scan = _theta_scan_kernel if method == "theta" else _damped_scan_kernel
        if indices is None and m > 1:
            indices = seasonal_indices(y[:int(origins.min()) + 1], m)
        if indices is None:
            return scan(y, origins, h)
        idx, mult = indices
        season = idx[np.arange(len(y)) % m]
        x = y / season if mult else y - season
        f = scan(x, origins, h)
        future = idx[(origins[:, None] + steps[None, :]) % m]
        return f * future if mult else f + future
    raise ValueError(method)


def forecast_last(method: str, y: np.ndarray, h: int, m: int) -> np.ndarray:
    """(h,) forecast of ``method`` from the end of y, fitted on all of it."""
    o = np.array([len(y) - 1])
    indices = None
    if method in ("theta", "damped", *LOGS) and m > 1:
        indices = seasonal_indices(logged(y)[0] if method in LOGS else y, m)
    return forecasts(method, y, o, h, m, indices)[0]


def _indices_batch(Y: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`seasonal_indices` for every row of Y (B, n) at once: (B, m) indices, (B,) multiplicative,
    (B,) seasonal (rows without seasonality get neutral indices)."""
    B, n = Y.shape
    neutral = np.zeros((B, m))
    if m < 2 or n < 2 * m + 1:
        return neutral, np.zeros(B, bool), np.zeros(B, bool)
    D = np.diff(Y, axis=1)
    X = D - D.mean(1, keepdims=True)
    den = np.einsum("ij,ij->i", X, X)
    ok = den > 0
    den = np.where(ok, den, 1.0)
    acf = np.stack([np.einsum("ij,ij->i", X[:, k:], X[:, :-k]) / den for k in range(1, m + 1)], 1)   # (B, m)
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[:, :-1] ** 2, 1)) / (n - 1))
    seasonal = ok & (np.abs(acf[:, -1]) > limit)
    mult = swing_grows(Y, m)
    w = np.ones(m) / m if m % 2 else np.r_[0.5, np.ones(m - 1), 0.5] / m
    L = len(w)
    c = np.concatenate([np.zeros((B, 1)), np.cumsum(Y, 1)], 1)
    if m % 2:
        trend = (c[:, L:] - c[:, :-L]) / m
    else:  # 2 x m: the mean of two adjacent m-means
        mm = (c[:, m:] - c[:, :-m]) / m
        trend = (mm[:, 1:] + mm[:, :-1]) / 2
    off = (L - 1) // 2
    part = Y[:, off:off + trend.shape[1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mult[:, None], part / trend, part - trend)
    start = max(0, ratio.shape[1] - SEASON_CYCLES * m)   # the last SEASON_CYCLES of each phase
    idx = _phase_means(ratio[:, start:], off + start, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        idx = np.where(mult[:, None], idx / idx.mean(1, keepdims=True), idx - idx.mean(1, keepdims=True))
    bad = ~np.all(np.isfinite(idx), 1) | (mult & np.any(idx <= 0, 1))
    seasonal &= ~bad
    idx = np.where(seasonal[:, None], idx, np.where(mult[:, None], 1.0, 0.0))
    return idx, mult, seasonal


def _phase_means(R: np.ndarray, off: int, m: int) -> np.ndarray:
    """(B, m) means of the columns of R (B, T) by phase, column j having phase (j + off) % m: each sum runs
    over its columns in order, one cycle of columns at a time. Why not ``R[:, phase == p].mean(1)``: numpy
    sums a strided axis in order but a contiguous one pairwise, so that form gave one row alone other bits
    than the same row among others (blocks of rows must not change a forecast); this is the in-order sum
    it gave every batch of two or more rows."""
    T = R.shape[1]
    k = min(m, T)
    S = R[:, :k].copy()
    for c in range(m, T, m):
        w = min(m, T - c)
        S[:, :w] += R[:, c:c + w]
    count = np.array([len(range(r, T, m)) for r in range(k)], np.float64)
    out = np.empty((R.shape[0], m))
    out[:, (np.arange(k) + off) % m] = S / count
    return out


def forecast_batch(method: str, Y: np.ndarray, h: int, m: int,
                   indices: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(B, h) forecasts of ``method`` from the end of every row of Y (B, n) (equal-length series), fitted on
    all of each row: the batched form of :func:`forecast_last`, for predict over many series. ``indices``:
    ``_indices_batch(Y, m)`` when the caller has it (Theta and the damped trend share it; the LOGS methods
    take those of :func:`logged_batch`'s rows)."""
    B, n = Y.shape
    if method == "arima":
        return _arima_batch(Y, h)
    if method in ETS:
        from rnntools.tasks.forecast import kernels

        X, log = logged_batch(Y) if ETS[method] else (Y, np.zeros(B, bool))
        f = np.empty((B, h))
        kernels.ets_batch(np.ascontiguousarray(X, dtype=np.float64), m, *_ets_args(h), f)
        return np.where(log[:, None], np.exp(np.where(log[:, None], f, 0.0)), f)
    if method in LOGS or method == "hw":
        X, log = logged_batch(Y)
        if method == "hw" and _hw_fits(m, n):
            from rnntools.tasks.forecast import kernels

            f = np.empty((B, h))
            kernels.hw_batch(np.ascontiguousarray(X), m, HW_ALPHA, HW_BETA, HW_PHI, HW_GAMMA, _hw_damp(h), f)
        else:
            f = forecast_batch("damped" if method == "hw" else LOGS[method], X, h, m,
                               indices if method in LOGS else None)
        return np.where(log[:, None], np.exp(np.where(log[:, None], f, 0.0)), f)
    steps = np.arange(1, h + 1)
    last = Y[:, -1]
    if method == "naive":
        return np.repeat(last[:, None], h, 1)
    if method in ("snaive", "weekly", "daily"):
        mm = max(1, min(_lag_of(method, m), n))
        return Y[:, n - mm + (steps - 1) % mm]
    if method == "drift":
        slope = (last - Y[:, 0]) / max(n - 1, 1)
        return last[:, None] + slope[:, None] * steps[None, :]
    if method not in ("theta", "damped"):
        raise ValueError(method)
    if m < 2:
        idx, mult, seasonal = None, None, np.zeros(B, bool)
    else:
        idx, mult, seasonal = _indices_batch(Y, m) if indices is None else indices
    if seasonal.any():
        season = idx[:, np.arange(n) % m]
        X = np.where(mult[:, None], Y / np.where(mult[:, None], season, 1.0), Y - season)
    else:
        X = Y
    from rnntools.tasks.forecast import kernels

    f = np.empty((B, h))
    X = np.ascontiguousarray(X, dtype=np.float64)
    if method == "damped":
        kernels.damped_batch(X, DAMPED_ALPHA, DAMPED_BETA, DAMPED_PHI, f)
    else:
        kernels.theta_batch(X, ALPHAS, f)   # _theta_batch is its numpy reference
    if seasonal.any():
        future = idx[:, (n - 1 + steps) % m]
        f = np.where(mult[:, None], f * future, f + future)
    return f


def logged_batch(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`logged` of every row of Y (B, n): (B, n) the rows a LOGS method runs on, (B,) which are logs."""
    log = np.all(Y > 0, 1) if Y.shape[1] else np.zeros(len(Y), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(log[:, None], np.log(np.where(log[:, None], Y, 1.0)), Y), log


def _theta_batch(X: np.ndarray, h: int) -> np.ndarray:
    """(B, h) Theta forecasts from the end of every row of X (B, n): :func:`_theta_scan` batched, in numpy
    (the reference of kernels.theta_batch, which forecast_batch runs: one row's grid in registers instead
    of n passes over (B, grid) arrays)."""
    B, n = X.shape
    A = ALPHAS[None, :]
    level = np.repeat(X[:, :1], len(ALPHAS), 1)
    sse = np.zeros_like(level)
    for i in range(1, n):
        err = X[:, i:i + 1] - level
        sse += err * err
        level += A * err
    j = np.argmin(sse, 1)
    a = ALPHAS[j]
    lv = level[np.arange(B), j]
    t = np.arange(n, dtype=np.float64)
    tc = t - t.mean()
    b = (X - X.mean(1, keepdims=True)) @ tc / np.dot(tc, tc) if n > 1 else np.zeros(B)
    k = np.arange(h, dtype=np.float64)
    return lv[:, None] + (b / 2)[:, None] * (k[None, :] + ((1 - (1 - a) ** n) / a)[:, None])


def _arima_order(n: int) -> int:
    """The largest p for a series of n values: ARIMA_P, fewer where the n - 1 differences cannot fit it with
    four rows to spare."""
    return max(0, min(ARIMA_P, n - 1 - 4))


def _stationary(coef: np.ndarray) -> np.ndarray:
    """(U,) whether each autoregression w_t = coef[0] w_(t-1) + ... (U, p) is stationary (every root of its
    characteristic polynomial inside the unit circle): the step-down (Schur-Cohn) recursion to the partial
    autocorrelations, all of which must lie strictly inside (-1, 1); batched over units in p vector steps."""
    a = np.array(coef, np.float64)
    ok = np.all(np.isfinite(a), 1)
    a[~ok] = 0.0
    for p in range(a.shape[1], 0, -1):
        k = a[:, p - 1]
        ok &= np.abs(k) < 1
        k = np.where(ok, k, 0.0)
        a = (a[:, :p - 1] + k[:, None] * a[:, p - 2::-1][:, :p - 1]) / (1 - k * k)[:, None]
    return ok


def _arima_fit(G: np.ndarray, N: np.ndarray) -> np.ndarray:
    """(U, P) coefficients (zero past each unit's p) of the autoregressions whose cross-products are G (U,
    P + 1, P + 1) over N (U,) rows: row t is (w[t-1], ..., w[t-P], w[t]). p in 0..P by AICc (the
    least-squares variance, p + 1 parameters), the smallest p on a tie, among the fits that are stationary
    (least squares on a short or trending stretch can give an explosive one, whose forecast grows without
    bound over a long horizon); p = 0 where N < 4."""
    U, P = len(G), G.shape[1] - 1
    best = np.full(U, np.inf)
    coef = np.zeros((U, P))
    Nf = np.maximum(N, 1).astype(np.float64)
    for p in range(P + 1):
        ok = (N - p - 1 > 0) & (N >= 4) if p else np.ones(U, bool)
        if not ok.any():
            break
        if p:
            A = G[:, :p, :p]
            c = G[:, :p, P]
            d = np.einsum("uii->u", A) / p
            # a tiny ridge keeps a constant stretch of differences (a singular A) solvable
            A = A + (1e-10 * d + (d <= 0))[:, None, None] * np.eye(p)
            try:
                b = np.linalg.solve(A, c[..., None])[..., 0]
            except np.linalg.LinAlgError:    # singular even so: the least-norm solutions
                b = (np.linalg.pinv(A) @ c[..., None])[..., 0]
            sse = G[:, P, P] - np.einsum("up,up->u", b, c)
        else:
            b, sse = np.zeros((U, 0)), G[:, P, P].copy()
        sse = np.maximum(sse, 1e-300 + 1e-12 * G[:, P, P])
        k = p + 1
        with np.errstate(divide="ignore", invalid="ignore"):
            ic = Nf * np.log(sse / Nf) + 2 * k + 2 * k * (k + 1) / np.maximum(Nf - k - 1, 1)
        take = ok & np.isfinite(ic) & (ic < best)
        if p and take.any():
            take[take] = _stationary(b[take])
        best = np.where(take, ic, best)
        coef[take] = 0.0
        coef[take, :p] = b[take]
    return coef


def _arima_path(coef: np.ndarray, tail: np.ndarray, last: np.ndarray, h: int) -> np.ndarray:
    """(U, h) forecasts: the differences continued by the autoregressions ``coef`` (U, P) from ``tail`` (U,
    P), the last P differences, most recent first, summed onto ``last`` (U,)."""
    U, P = coef.shape
    hist = tail.copy()
    out = np.empty((U, h))
    level = last.astype(np.float64).copy()
    for k in range(h):
        v = np.einsum("up,up->u", coef, hist) if P else np.zeros(U)
        level = level + v
        out[:, k] = level
        if P:
            hist = np.concatenate([v[:, None], hist[:, :-1]], 1)
    return out


def _arima_scan(y: np.ndarray, origins: np.ndarray, h: int) -> np.ndarray:
    """(len(origins), h) ARIMA(p,1,0) forecasts of y from each origin o, fitted on y[:o + 1]: the
    cross-products of every origin are running sums, and the fits of all origins run side by side."""
    y = np.asarray(y, np.float64)
    origins = np.asarray(origins, np.int64)
    n = len(y)
    P = _arima_order(n)
    w = np.diff(y)
    nw = len(w)
    rows = np.arange(P, nw)
    Z = np.empty((len(rows), P + 1))
    for j in range(P):
        Z[:, j] = w[rows - 1 - j]
    Z[:, P] = w[rows]
    C = np.cumsum(Z[:, :, None] * Z[:, None, :], axis=0)
    N = np.clip(origins - P, 0, len(rows))             # rows t = P .. o - 1 are known at origin o
    G = np.zeros((len(origins), P + 1, P + 1))
    has = N > 0
    G[has] = C[N[has] - 1]
    coef = _arima_fit(G, N)
    tail = np.zeros((len(origins), P))
    for j in range(P):
        at = origins - 1 - j
        tail[:, j] = np.where(at >= 0, w[np.clip(at, 0, max(nw - 1, 0))] if nw else 0.0, 0.0)
    return _arima_path(coef, tail, y[origins], h)


def _arima_batch(Y: np.ndarray, h: int) -> np.ndarray:
    """(B, h) ARIMA(p,1,0) forecasts from the end of every row of Y (B, n): :func:`_arima_scan` at the last
    origin, batched over rows (the cross-products summed directly, pair by pair)."""
    B, n = Y.shape
    P = _arima_order(n)
    W = np.diff(Y, axis=1)
    nw = n - 1
    cols = [W[:, P - 1 - j:nw - 1 - j] for j in range(P)] + [W[:, P:nw]]
    G = np.empty((B, P + 1, P + 1))
    for a in range(P + 1):
        for b in range(a, P + 1):
            G[:, a, b] = G[:, b, a] = np.einsum("ij,ij->i", cols[a], cols[b])
    coef = _arima_fit(G, np.full(B, max(nw - P, 0)))
    tail = W[:, ::-1][:, :P] if P else np.zeros((B, 0))
    return _arima_path(coef, tail, Y[:, -1], h)
