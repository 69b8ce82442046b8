"""Recurrent cells and multi-layer stacks: forward over (T, B, D), backward through time, fused single step."""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from rnntools.nn.gates import CELLS, GATES, GRU, LSTM, RNN, K  # noqa: F401  (CELLS: re-exported)
from rnntools.nn.layers import add_grads, check_param
from rnntools.nn.parallel import (  # noqa: F401
    can_run_parts,
    column_sums,
    column_sums_job,
    get_threads,
    matmul,
    matmul_job,
    matmul_tn,
    matmul_tn_job,
    row_ranges,
    run_parts,
    run_rows,
    run_together,
    set_threads,
)


def _fwd(kind, P, pidx, Wh, bn, h0, c0, mask, Y, Hs, Cs, G, Rn, b0, b1):
    K.seq_forward(kind, P, pidx, Wh, bn, h0, c0, mask, b0, b1, Y, Hs, Cs, G, Rn)


def _infer(kind, P, pidx, Wh, bn, h0, c0, mask, Y, hT, cT, Mx, ties_last, b0, b1):
    K.seq_infer(kind, P, pidx, Wh, bn, h0, c0, mask, b0, b1, Y, hT, cT, Mx, ties_last)


def _bwd(kind, Wh, h0, c0, mask, Hs, Cs, G, Rn, dY, dhT, dcT, dAx, dAh, apos, dh0, dc0, sidx, S, b0, b1):
    K.seq_backward(kind, Wh, h0, c0, mask, Hs, Cs, G, Rn, dY, dhT, dcT, b0, b1, dAx, dAh, apos, dh0, dc0, sidx, S)


def _unit_edges(H: int, part: int, parts: int) -> tuple[int, int]:
    return H * part // parts, H * (part + 1) // parts


def _fwd_units(kind, P, pidx, Wh, bn, c0, mask, Hfull, Y, Cs, G, Rn, flags, part, parts):
    u0, u1 = _unit_edges(Wh.shape[0], part, parts)
    K.seq_forward_units(kind, P, pidx, Wh, bn, c0, mask, u0, u1, Hfull, Y, Cs, G, Rn, flags, part, parts)


def _bwd_units(kind, Wh, c0, mask, Hfull, Cs, G, Rn, dY, dhT, dcT, dAx, dAh, apos, dh0, dc0, sidx, S, srange,
               flags, part, parts):
    u0, u1 = _unit_edges(Wh.shape[0], part, parts)
    K.seq_backward_units(kind, Wh, c0, mask, Hfull, Cs, G, Rn, dY, dhT, dcT, u0, u1, dAx, dAh, apos, dh0, dc0,
                         sidx, S, srange, flags, part, parts)


# How the training time loops share the workers: "rows" (each worker runs its slice of the batch, all the
# hidden units) or "units" (each its slice of the hidden units, all batch rows, meeting once per step). Both
# give the same bits, so the choice is made by timing: which one is faster depends on the CPU's caches (the
# unit split streams a part of the recurrent weights per worker: a half of LSTM-512's 4 MB fits a 2 MB L2, the
# whole does not) and on the machine's load (a barrier per step waits for a descheduled partner).
UNITS_MIN_HIDDEN = 128       # units per worker below which the unit split is not tried
SPLIT_SAMPLES = 3            # timed calls of each split compared (after one untimed warm-up call each)
SPLIT_RECHECK = 50           # then the other split is timed again every this many calls: load changes
_SPLIT: dict = {"force": None, "times": {}}


@contextmanager
def time_loop_split(mode: str | None):
    """Inside this block the training time loops use the split ``mode`` ("rows" or "units"; None: chosen
    by timing) where the unit split can run at all: for tests and A/B benchmarks."""
    if mode not in (None, "rows", "units"):
        raise ValueError(f"unknown split {mode!r}")
    before = _SPLIT["force"]
    _SPLIT["force"] = mode
    try:
        yield
    finally:
        _SPLIT["force"] = before


def _choose_split(key: tuple, H: int) -> str:
    """The split for one time-loop call of shape ``key``: always "rows" where units cannot run or are too
    few per worker; else forced, or the one whose last ``SPLIT_SAMPLES`` timed calls had the lower median,
    the other one tried again now and then."""
    parts = get_threads()
    if not can_run_parts(parts) or H // parts < UNITS_MIN_HIDDEN:
        return "rows"
    if _SPLIT["force"] is not None:
        return _SPLIT["force"]
    rec = _SPLIT["times"].setdefault(key, {"rows": [], "units": [], "calls": 0})
    rec["calls"] += 1
    short = [s for s in ("rows", "units") if len(rec[s]) < SPLIT_SAMPLES + 1]
    if short:
        return min(short, key=lambda s: len(rec[s]))
    # statistics.median, not numpy's: the same value for a few floats at ~2 us instead of ~40 (eight calls a
    # step of a two-layer network, in the calling thread while the workers wait)
    best = min(("rows", "units"), key=lambda s: statistics.median(rec[s][-SPLIT_SAMPLES:]))
    if rec["calls"] % SPLIT_RECHECK == 0:
        return "units" if best == "rows" else "rows"
    return best


def _barrier_flags(parts: int) -> np.ndarray:
    from rnntools.nn.barrier import SLOT  # numba: imported only when the kernels are

    return np.zeros(SLOT * parts, np.int64)


def _timed_split(key: tuple, split: str, seconds: float) -> None:
    rec = _SPLIT["times"].get(key)
    if rec is not None and _SPLIT["force"] is None:
        times = rec[split]
        times.append(float("inf") if not times else seconds)   # the first call of each is a warm-up
        del times[:-SPLIT_SAMPLES - 1]


@dataclass
class CellCache:
    """What one layer's backward needs from its forward."""

    x: np.ndarray
    ids: np.ndarray | None
    h0: np.ndarray
    c0: np.ndarray
    mask: np.ndarray
    Hs: np.ndarray
    Cs: np.ndarray
    G: np.ndarray
    Rn: np.ndarray
    Hfull: np.ndarray


def step_rows(T: int, B: int) -> np.ndarray:
    """The ``pidx`` of ``seq_forward`` when P holds one projection per position: (T, B) -> t * B + b."""
    return np.arange(T * B, dtype=np.int64).reshape(T, B)


def _input_projections(W: np.ndarray, b: np.ndarray, x: np.ndarray, ids: np.ndarray | None,
                       kept: bool = False):
    """The input side of one layer, made before its time loop: ``x (T, B, D)`` projected at every position
    (ONE product, ``P (T*B, GH)``, ``pidx = step_rows``), or a ``(V, D)`` table's rows projected and read at
    ``ids`` (T, B). ``kept``: inside ``table_projections()`` the rows are the block's kept projections (in the
    order first read, ``pidx`` their places there); else every row, at its id. Returns ``x, P, pidx, T, B, H``."""
    if ids is None:
        T, B, D = x.shape
    else:
        (T, B), D = ids.shape, x.shape[1]
    H = W.shape[0] - D
    x = np.ascontiguousarray(x, dtype=W.dtype)
    if ids is None:
        # all time steps' input projections x_t Wx + b: (T*B, GH), ONE product
        P = matmul(x.reshape(T * B, D), W[H:], bias=b)
        pidx = step_rows(T, B)
    elif kept and _PROJECTIONS:
        P, pidx = _project_table(x, W, H, b, ids)      # (rows made, GH), each id's place there
    else:
        P = matmul(x, W[H:], bias=b)      # (V, GH)
        pidx = np.ascontiguousarray(ids, dtype=np.int64)
    return x, P, pidx, T, B, H


def cell_forward(cell: str, W: np.ndarray, b: np.ndarray, bn: np.ndarray | None, x: np.ndarray,
                 h0: np.ndarray, c0: np.ndarray | None = None, mask: np.ndarray | None = None,
                 ids: np.ndarray | None = None, split: str | None = None):
    """One recurrent layer over a whole sequence.

    W: (H+D, G*H) with rows ``[h_{t-1}, x_t]``; b: (G*H,); bn: (H,) GRU only; x: (T, B, D); h0, c0: (B, H);
    mask: (T, B) or None. Returns ``y (T, B, H), (h_T, c_T), cache``; c is None except for LSTM.

    ``ids`` (T, B) int: x is then a (V, D) table (an embedding) and the input at (t, b) is ``x[ids[t, b]]``.
    The input projections are then the V rows of ``x W_x + b``, read by id inside the time loop, and the
    backward pass sums the gradient per id first (see ``cell_backward``): for a character vocabulary
    (V ~ 100 against T*B ~ 3,000 positions) that removes the three (T*B, D, G*H) products of the input
    side, about 40% of an LSTM-256 training step's arithmetic. ``cell_backward`` then returns the gradient
    of the table (V, D) as dx.
    """
    s = _forward_setup(cell, W, b, bn, x, h0, c0, mask, ids)
    split = _choose_split(s.key, s.H) if split is None else split   # split: the caller asked already
    start = time.perf_counter()
    if split == "units":
        parts = get_threads()
        flags = _barrier_flags(parts)
        run_parts(_fwd_units, parts, s.kind, s.P, s.pidx, s.Wh, s.bn, s.c0, s.m, s.Hfull, s.Y, s.Cs, s.G, s.Rn,
                  flags)
    else:
        run_rows(_fwd, s.B, *s.loop_args())
    if s.T > 0:
        _timed_split(s.key, split, (time.perf_counter() - start) / s.T)
    return _forward_finish(s)


@dataclass
class _Forward:
    """One layer's forward arrays (``cell_forward``'s, or one layer of ``Recurrent.forward``'s stack)."""

    kind: int
    key: tuple
    T: int
    B: int
    H: int
    x: np.ndarray
    ids: np.ndarray | None
    P: np.ndarray
    pidx: np.ndarray
    Wh: np.ndarray
    bn: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    m: np.ndarray
    Hfull: np.ndarray
    Hs: np.ndarray
    Y: np.ndarray
    Cs: np.ndarray
    G: np.ndarray
    Rn: np.ndarray

    def loop_args(self) -> tuple:
        """``_fwd``'s arguments but the row range."""
        return (self.kind, self.P, self.pidx, self.Wh, self.bn, self.h0, self.c0, self.m, self.Y, self.Hs,
                self.Cs, self.G, self.Rn)


def _forward_setup(cell, W, b, bn, x, h0, c0, mask, ids, project: bool = True,
                   P: np.ndarray | None = None) -> _Forward:
    """The arrays of one layer's forward; the input projections made now (``project``), or only allocated,
    ``P (T*B, GH)`` at ``step_rows`` (or the ``P`` given), for the workers to make row block by row block
    (``_fwd_stack``): then x is the layer below's output, which need not be computed yet."""
    kind = CELLS[cell]
    dt = W.dtype
    if project:
        x, P, pidx, T, B, H = _input_projections(W, b, x, ids)
    else:
        T, B, D = x.shape
        H = W.shape[0] - D
        if x.dtype != dt or not x.flags.c_contiguous:
            raise ValueError("the layer below's output: C-contiguous, of the weights' dtype")
        P = np.empty((T * B, W.shape[1]), dt) if P is None else P
        pidx = step_rows(T, B)
    ids = pidx if ids is not None else None
    GH = W.shape[1]
    m = np.ones((T, B), dt) if mask is None else np.ascontiguousarray(mask, dtype=dt)
    h0 = np.ascontiguousarray(h0, dtype=dt)
    c0 = np.zeros((B, H), dt) if c0 is None or kind != LSTM else np.ascontiguousarray(c0, dtype=dt)
    Hfull = np.empty((T + 1, B, H), dt)          # [h0, h_1..h_T]: h_{t-1} for all t is one contiguous block
    Hfull[0] = h0
    Hs = Hfull[1:]
    Y = Hs if mask is None else np.empty((T, B, H), dt)
    Cs = np.empty((T, B, H), dt) if kind == LSTM else np.empty((1, 1, 1), dt)
    G = np.empty((T, B, GH), dt)
    Rn = np.empty((T, B, H), dt) if kind == GRU else np.empty((1, 1, 1), dt)
    bnv = bn if bn is not None else np.zeros(H, dt)
    return _Forward(kind, ("forward", kind, H, B, dt.str), T, B, H, x, ids, P, pidx, W[:H], bnv, h0, c0, m,
                    Hfull, Hs, Y, Cs, G, Rn)


def _forward_finish(s: _Forward):
    """``cell_forward``'s results from its arrays once the time loop ran."""
    if s.T > 0:
        hT = s.Hs[-1].copy()
        cT = s.Cs[-1].copy() if s.kind == LSTM else None
    else:
        hT, cT = s.h0.copy(), (s.c0.copy() if s.kind == LSTM else None)
    return s.Y, (hT, cT), CellCache(s.x, s.ids, s.h0, s.c0, s.m, s.Hs, s.Cs, s.G, s.Rn, s.Hfull)


def _fwd_stack(layers, b0, b1):
    """Every layer's forward over the batch rows b0..b1, bottom to top, in one piece of work: a layer fed by
    the one below makes its input projections of these rows first (``proj``: the input, its packed weights,
    the bias), after the dropout mask (``drop``: the layer below's output, the mask) when there is one. Each
    row's projection is the same bits as in the whole product (``matmul_packed``), and the rows of a time
    loop depend on no other rows, so the results are those of the layers run one by one. Returns each
    time loop's seconds."""
    took = []
    for s, proj, drop in layers:
        if drop is not None:
            below, dm = drop
            np.multiply(below[:, b0:b1], dm[:, b0:b1], out=s.x[:, b0:b1])
        if proj is not None:
            wp, bias = proj
            K.matmul_packed_steps(s.x, wp, bias, s.P.reshape(s.T, s.B, -1), b0, b1)
        start = time.perf_counter()
        _fwd(*s.loop_args(), b0, b1)
        took.append(time.perf_counter() - start)
    return took


def cell_infer(cell: str, W: np.ndarray, b: np.ndarray, bn: np.ndarray | None, x: np.ndarray,
               h0: np.ndarray, c0: np.ndarray | None = None, mask: np.ndarray | None = None,
               ids: np.ndarray | None = None, outputs: bool = True, max_pool: bool = False,
               ties_last: bool = False):
    """``cell_forward`` for inference: the same outputs and final state, the same bits (one kernel,
    ``seq_infer``, does the same arithmetic in the same order), with nothing kept for a backward pass.

    Returns ``y (T, B, H) or None, (h_T, c_T), m (B, H) or None``: y when ``outputs``; with ``max_pool``,
    m the elementwise maximum of y over each row's unmasked steps (``max_over_time``'s values; a row
    with none gets 0), made inside the time loop, so that a pooled reader need not write y at all.
    ``ties_last``: the rows were reversed (a backward direction), so that ties go to the earlier position
    of the original row, as ``max_over_time`` over the un-reversed outputs gives them."""
    kind = CELLS[cell]
    x, P, pidx, T, B, H = _input_projections(W, b, x, ids, kept=True)
    dt = W.dtype
    m = np.ones((T, B), dt) if mask is None else np.ascontiguousarray(mask, dtype=dt)
    h0 = np.ascontiguousarray(h0, dtype=dt)
    c0 = np.zeros((B, H), dt) if c0 is None or kind != LSTM else np.ascontiguousarray(c0, dtype=dt)
    Y = np.empty((T, B, H) if outputs else (0, 1, H), dt)
    hT = np.empty((B, H), dt)
    cT = np.empty((B, H), dt) if kind == LSTM else hT
    Mx = np.empty((B, H) if max_pool else (0, H), dt)
    bnv = bn if bn is not None else np.zeros(H, dt)
    run_rows(_infer, B, kind, P, pidx, W[:H], bnv, h0, c0, m, Y, hT, cT, Mx, bool(ties_last))
    return (Y if outputs else None), (hT, cT if kind == LSTM else None), (Mx if max_pool else None)


def cell_backward(cell: str, W: np.ndarray, cache: CellCache, dy: np.ndarray | None,
                  dhT: np.ndarray | None = None, dcT: np.ndarray | None = None, need_dx: bool = True,
                  skip_padding: bool = False, split: str | None = None):
    """Backward of ``cell_forward``. dy: (T, B, H) or None; dhT, dcT: (B, H) gradient into the final state.

    Returns ``dx (T, B, D) or None, (dh0, dc0), {"W": dW, "b": db, "bn": dbn}`` (dbn GRU only); dx is the
    gradient of the (V, D) table when the forward pass had ``ids``.

    ``skip_padding``: the weight gradients' products take the real (unmasked) positions only, gathered
    into compact operands (``matmul_tn(rows=)``); a masked position's pre-activation gradient is 0, so this
    is the same gradient summed in another order (not the same bits, hence an option: a task turns it on
    after checking its training). Why: with 10-20% of a length-sorted batch padded, those products
    multiplied that many zero rows.
    """
    s = _backward_setup(cell, W, cache, dy, dhT, dcT, skip_padding)
    split = _choose_split(s.key, s.H) if split is None else split
    start = time.perf_counter()
    if split == "units":
        parts = get_threads()
        srange = np.zeros(s.B, np.int64)       # each row's range of the batch split: its per-id sums' order
        for i, (r0, r1) in enumerate(s.ranges):
            srange[r0:r1] = i
        flags = _barrier_flags(parts)
        run_parts(_bwd_units, parts, s.kind, W[:s.H], cache.c0, cache.mask, cache.Hfull, cache.Cs, cache.G,
                  cache.Rn, s.dY, s.dhT, s.dcT, s.dAx, s.dAh2, s.apos, s.dh0, s.dc0, s.sidx, s.S, srange, flags)
    else:
        run_rows(_bwd, s.B, *s.loop_args(), ranges=s.ranges, each=[(part,) for part in s.S])
    if s.T > 0:
        _timed_split(s.key, split, (time.perf_counter() - start) / s.T)
    return _backward_finish(s, _run_jobs(_backward_jobs(s, need_dx))[0])


@dataclass
class _Backward:
    """One layer's backward arrays (``cell_backward``'s, or one layer of ``Recurrent.backward``'s stack)."""

    kind: int
    key: tuple
    T: int
    B: int
    H: int
    W: np.ndarray
    cache: CellCache
    dY: np.ndarray
    dhT: np.ndarray
    dcT: np.ndarray
    dAx: np.ndarray
    dAh2: np.ndarray
    apos: np.ndarray
    dh0: np.ndarray
    dc0: np.ndarray
    ranges: list
    S: np.ndarray
    sidx: np.ndarray
    real: np.ndarray | None
    dW: np.ndarray

    def loop_args(self) -> tuple:
        """``_bwd``'s arguments but the per-id sums and the row range."""
        c = self.cache
        return (self.kind, self.W[:self.H], c.h0, c.c0, c.mask, c.Hs, c.Cs, c.G, c.Rn, self.dY, self.dhT,
                self.dcT, self.dAx, self.dAh2, self.apos, self.dh0, self.dc0, self.sidx)


def _backward_setup(cell, W, cache, dy, dhT, dcT, skip_padding) -> _Backward:
    """The arrays of one layer's backward. dy may be an array the workers have not written yet (the layer
    above's input gradient in ``Recurrent._backward_stack``): it is then used as it is, never copied."""
    kind = CELLS[cell]
    x = cache.x
    T, B = cache.mask.shape
    D = x.shape[-1]
    H = W.shape[0] - D
    GH = W.shape[1]
    dt = W.dtype
    dY = np.zeros((T, B, H), dt) if dy is None else np.ascontiguousarray(dy, dtype=dt)
    dhT = np.zeros((B, H), dt) if dhT is None else np.ascontiguousarray(dhT, dtype=dt)
    dcT = np.zeros((B, H), dt) if dcT is None or kind != LSTM else np.ascontiguousarray(dcT, dtype=dt)
    # a GRU reading a table by id needs dAx only as per-id sums (S): the kernels then keep none of it
    dAx = np.empty((0, 1, GH) if kind == GRU and cache.ids is not None else (T, B, GH), dt)
    # skip_padding: the weight gradients take the real positions only; a GRU's dAh (apart from dAx) is then
    # written compact, the real positions' rows in (t, b) order (``seq_backward``'s apos), else gathered
    real = None
    if skip_padding:
        real = np.flatnonzero(cache.mask.reshape(-1))
        real = None if len(real) == T * B else real
    if kind == GRU and real is not None:
        dAh = np.empty((len(real), GH), dt)
        apos = np.full(T * B, -1, np.int64)
        apos[real] = np.arange(len(real))
        apos = apos.reshape(T, B)
    else:
        dAh = np.empty((T, B, GH), dt) if kind == GRU else dAx
        apos = step_rows(T, B)
    ranges = row_ranges(B)
    # with a table input: each worker's per-id sums of dAx (V, GH), made inside the time loop
    S = np.zeros((len(ranges), x.shape[0] if cache.ids is not None else 0, GH), dt)
    sidx = cache.ids if cache.ids is not None else np.zeros((1, 1), np.int64)
    return _Backward(kind, ("backward", kind, H, B, dt.str), T, B, H, W, cache, dY, dhT, dcT, dAx,
                     dAh.reshape(-1, GH), apos, np.empty((B, H), dt), np.zeros((B, H), dt), ranges, S, sidx, real,
                     np.empty_like(W))


def _backward_jobs(s: _Backward, need_dx: bool) -> dict:
    """The products after one layer's time loop, as ``run_together`` jobs (``matmul_tn_job``'s pairs) by
    name: the weight gradients (``dW``'s two blocks), the bias's sums ("b") and the input gradient ("x",
    ``need_dx``); what a table input needs beside them (per-id sums) made here. Why jobs: all of them go
    to the workers in ONE hand-off (``_run_jobs``), even those of every layer of a stack."""
    cache, W, H, T, B = s.cache, s.W, s.H, s.T, s.B
    x = cache.x
    D, GH = x.shape[-1], W.shape[1]
    dW, real = s.dW, s.real
    jobs = {}
    if cache.ids is None:
        dAx2 = s.dAx.reshape(T * B, GH)
        jobs["Wx"] = matmul_tn_job(x.reshape(T * B, D), dAx2, dW[H:], real)
        jobs["b"] = column_sums_job(dAx2)
    else:
        # the input at (t, b) is the table row ids[t, b], so with S (V, GH) the per-id sums of dAx:
        # dWx = table^T S, db = the column sums of S, dtable = S Wx^T
        dAx2 = s.S.sum(axis=0)
        matmul(x.T, dAx2, out=dW[H:])
        db = dAx2.sum(axis=0)
        jobs["b"] = (None, lambda _: db)
    Hprev = cache.Hfull[:T].reshape(T * B, H)      # h_{t-1} of every position
    if s.dAh2.shape[0] < T * B:
        # compact: the states before the real positions, gathered, against dAh's rows as they are
        jobs["Wh"] = matmul_tn_job(np.take(Hprev, real, axis=0), s.dAh2, dW[:H])
    else:
        jobs["Wh"] = matmul_tn_job(Hprev, s.dAh2, dW[:H], real)
    if need_dx:
        jobs["x"] = matmul_job(dAx2, W[H:].T)
    return jobs


def _run_jobs(*layer_jobs: dict) -> list[dict]:
    """The jobs of ``_backward_jobs`` (of one layer or several) in one hand-off; each layer's results by name."""
    handed = [(k, name) for k, jobs in enumerate(layer_jobs) for name, (job, _) in jobs.items() if job is not None]
    results = run_together([layer_jobs[k][name][0] for k, name in handed]) if handed else []
    got = dict(zip(handed, results))
    return [{name: finish(got.get((k, name))) for name, (_, finish) in jobs.items()}
            for k, jobs in enumerate(layer_jobs)]


def _backward_finish(s: _Backward, done: dict, dx: np.ndarray | None = None):
    """``cell_backward``'s results from a layer's finished jobs (by name); ``dx`` when the workers made it."""
    grads = {"W": s.dW, "b": done["b"]}
    if s.kind == GRU:
        grads["bn"] = s.dAh2[:, 2 * s.H:].sum(axis=0)
    if "x" in done:
        dx = done["x"].reshape(s.cache.x.shape)
    return dx, (s.dh0, s.dc0 if s.kind == LSTM else None), grads


def _bwd_stack(layers, S_parts, b0, b1):
    """Every layer's backward over the batch rows b0..b1, top to bottom, in one piece of work: after a layer's
    time loop, its input gradient of these rows (``dx``: the gate gradients' input side times Wx^T in
    panels, into the layer below's output gradient), times the dropout mask between them when there is
    one. A row's product is the same bits in any set of rows (``matmul_packed``) and the rows of a time
    loop depend on no other rows: the results are those of the layers run one by one. Returns each time
    loop's seconds."""
    took = []
    for (s, dx), S in zip(layers, S_parts):
        start = time.perf_counter()
        _bwd(*s.loop_args(), S, b0, b1)
        took.append(time.perf_counter() - start)
        if dx is not None:
            out, wp, dm = dx
            K.matmul_packed_steps(s.dAx, wp, wp[:0, 0, 0], out, b0, b1)
            if dm is not None:
                np.multiply(out[:, b0:b1], dm[:, b0:b1], out=out[:, b0:b1])
    return took


def reads_table_by_id(vocab_size: int, positions: int) -> bool:
    """Whether a layer fed from a (V, D) table at ``positions`` (T*B) places should read it by id
    (``cell_forward(..., ids=)``: V projected rows, gradients summed per id) rather than gather the rows
    first: only while the table has at most half as many rows as there are positions, since reading by id
    projects every row, used or not; always inside ``table_projections()``, where only the rows read are
    projected, once for every batch."""
    return bool(_PROJECTIONS) or 2 * vocab_size <= positions


# the outermost table_projections() block's projections: [table, Wx, b, kept (V, GH), place (V,) int64, made]:
# kept[:made] the rows projected so far in the order first read, place[i] row i's place there (-1: not yet)
_PROJECTIONS: list[list] = []


@contextmanager
def table_projections(keep: list | None = None):
    """Inside this block a table's input projections ``table Wx + b`` are made once per table, layer and
    row, when an inference pass (``cell_infer``) first reads the row, and reused by every later pass: for
    inference over many batches with weights that do not change (a classifier's predict projects the
    vocabulary rows its texts use once, instead of every batch's tokens, and never the rows no text uses).
    Never while training: the weights change between steps (``cell_forward`` projects the whole table).

    ``keep``: a list that holds the projections made, given again to a later block (over the same arrays)
    to go on from them: a reader that scores its input in chunks projects each row once in all. A block
    inside another uses the outer block's projections."""
    if _PROJECTIONS:
        yield
        return
    _PROJECTIONS.append([] if keep is None else keep)
    try:
        yield
    finally:
        _PROJECTIONS.pop()


def _project_table(table: np.ndarray, W: np.ndarray, H: int, b: np.ndarray,
                   ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inside ``table_projections()``: the block's kept projections ``table W[H:] + b`` of the rows read so
    far, the rows ``ids`` (every row when None) made now if they were not (after those, in the order of
    their ids), and the places of ``ids`` among them (int64, the shape of ``ids``; None without ids). An
    entry is found only for the very same arrays.

    The rows are kept one after the other in the order they were first made, rather than at their ids in a
    (V, GH) array: 4,000 glosses read 6,595 of a 15,160-word vocabulary's rows, and every page of a
    vocabulary-sized array held one of them, so all of its 23 MB a direction was zeroed and written, and
    the time loop fetched each token's row from a table twice the size. A row's projection is the same bits
    in any set of rows (``parallel.matmul``), so where it is kept changes no output."""
    memo = _PROJECTIONS[-1]
    for entry in memo:
        if entry[0] is table and entry[1] is W and entry[2] is b:
            break
    else:
        entry = [table, W, b, np.empty((table.shape[0], W.shape[1]), np.result_type(table, W)),
                 np.full(table.shape[0], -1, np.int64), 0]
        memo.append(entry)
    kept, place, made = entry[3], entry[4], entry[5]
    if ids is None:
        need = np.flatnonzero(place < 0)
    else:
        # np.unique's values, in increasing order, without np.unique: numpy's imports numpy.ma (~10 ms
        # of a short predict process) to ask whether the ids are a masked array
        wanted = np.zeros(len(place), np.bool_)
        wanted[ids[place[ids] < 0]] = True
        need = np.flatnonzero(wanted)
    if len(need):
        matmul(table[need], W[H:], out=kept[made:made + len(need)], bias=b)
        place[need] = np.arange(made, made + len(need))
        entry[5] = made + len(need)
    return kept, (None if ids is None else place[ids])


def dropout_mask(rng: np.random.Generator, shape, p: float, dtype=np.float32) -> np.ndarray:
    """Inverted dropout mask: 0 with probability p, else 1/(1-p)."""
    if p <= 0:
        return np.ones(shape, dtype)
    return ((rng.random(shape, dtype=np.float32) >= p) / (1.0 - p)).astype(dtype)


def hashed_dropout_mask(rng: np.random.Generator, shape, p: float, dtype=np.float32) -> np.ndarray:
    """An inverted dropout mask as ``dropout_mask`` gives (0 with probability p, else ``dtype(1 / (1 - p))``),
    its units decided by a counter-based hash (``kernels.dropout_fill``) of one 64-bit draw from ``rng``: the
    same distribution (a unit's keep probability rounded to a multiple of 2**-32), another stream. Why: the
    Generator's uniform floats, a comparison and a product cost ~3 ns a unit, a fifth of a millisecond for a
    (12, 128, 256) mask of a seq2seq batch's decoder outputs, about five times the hash's cost."""
    out = np.empty(shape, dtype)
    keep = 1.0 - p
    if p <= 0:
        out.fill(1)
        return out
    seed = rng.integers(0, 2 ** 64, dtype=np.uint64)
    K.dropout_fill(seed, min(round(keep * 2 ** 32), 2 ** 32), out.dtype.type(1.0 / keep), out.reshape(-1))
    return out


@dataclass
class StackCache:
    layers: list = field(default_factory=list)
    drops: list = field(default_factory=list)
    gathered: tuple | None = None   # (ids, V) when a table input was gathered rather than read by id


class Recurrent:
    """A stack of ``layers`` recurrent layers of one cell type, parameters in a shared flat dict.

    Parameters (in ``params``): ``{name}.{l}.W`` (H+D_l, G*H) rows ``[h; x]``, ``{name}.{l}.b`` (G*H,),
    and for GRU ``{name}.{l}.bn`` (H,). Missing ones are initialised (uniform +-1/sqrt(H), LSTM forget
    bias 1); present ones are checked and used as they are (a loaded model).

    State is a tuple: ``(h,)`` for rnn/gru, ``(h, c)`` for lstm, each (L, B, H).
    """

    def __init__(self, params: dict, name: str, cell: str, input_size: int, hidden: int, layers: int = 1,
                 dropout: float = 0.0, rng: np.random.Generator | None = None, dtype=np.float32):
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r} (rnn, lstm, gru)")
        self.params, self.name, self.cell = params, name, cell
        self.kind = CELLS[cell]
        self.input_size, self.hidden, self.layers, self.dropout = input_size, hidden, layers, dropout
        G = GATES[self.kind]
        rng = rng if rng is not None else np.random.default_rng(0)
        scale = 1.0 / np.sqrt(hidden)
        for li in range(layers):
            D = input_size if li == 0 else hidden
            shapes = {"W": (hidden + D, G * hidden), "b": (G * hidden,)}
            if self.kind == GRU:
                shapes["bn"] = (hidden,)
            for key, shape in shapes.items():
                full = f"{name}.{li}.{key}"
                if full in params:
                    check_param(params, full, shape)
                    continue
                value = rng.uniform(-scale, scale, shape).astype(dtype)
                if key == "b" and self.kind == LSTM:
                    value[:hidden] = 1.0   # forget-gate bias 1 (gate order f, i, o, g)
                params[full] = value

    def names(self) -> list[str]:
        keys = ["W", "b"] + (["bn"] if self.kind == GRU else [])
        return [f"{self.name}.{li}.{k}" for li in range(self.layers) for k in keys]

    def _p(self, li, key):
        return self.params.get(f"{self.name}.{li}.{key}")

    @property
    def dtype(self):
        return self._p(0, "W").dtype

    def zero_state(self, batch: int) -> tuple:
        shape = (self.layers, batch, self.hidden)
        if self.kind == LSTM:
            return (np.zeros(shape, self.dtype), np.zeros(shape, self.dtype))
        return (np.zeros(shape, self.dtype),)

    def forward(self, x: np.ndarray, state: tuple | None = None, mask: np.ndarray | None = None, *,
                train: bool = False, rng: np.random.Generator | None = None,
                dropout_masks: list | None = None, ids: np.ndarray | None = None):
        """x: (T, B, D); state: from ``zero_state``/a previous call (None: zeros); mask: (T, B) or None.

        ``ids`` (T, B) int: x is a (V, D) table (an embedding's weights) and the input at (t, b) is
        ``x[ids[t, b]]``; ``backward`` then returns the gradient of the table. For a small vocabulary the
        first layer works per id (``cell_forward``), which saves most of its input-side arithmetic.

        Dropout (``self.dropout`` when ``train``) applies between layers, with ``dropout_masks[li]`` (T, B, H)
        for li = 0..L-2 when given, else masks drawn from ``rng``. Returns ``y (T, B, H), state, cache``.
        """
        T, B = ids.shape if ids is not None else x.shape[:2]
        if state is None:
            state = self.zero_state(B)
        cache = StackCache()
        if ids is not None and not reads_table_by_id(x.shape[0], T * B):
            # a large vocabulary: gathering the rows and projecting per position is cheaper
            cache.gathered = (ids, x.shape[0])
            x, ids = x[ids], None
        hs, cs = [], []

        def drop(li, inp):     # layer li's input dropout mask (li > 0): drawn in layer order either way
            if train and (dropout_masks is not None or self.dropout > 0):
                return dropout_masks[li - 1] if dropout_masks is not None else dropout_mask(
                    rng if rng is not None else np.random.default_rng(), inp.shape, self.dropout, inp.dtype)
            return None

        splits = self._splits("forward", T, B, ids is None)
        if all(split == "rows" for split in splits):
            inp = self._forward_stack(x, state, mask, ids, drop, cache, hs, cs)
        else:
            inp = x
            for li in range(self.layers):
                if li > 0:
                    dm = drop(li, inp)
                    if dm is not None:
                        inp = inp * dm
                    cache.drops.append(dm)
                c0 = state[1][li] if self.kind == LSTM else None
                y, (hT, cT), lc = cell_forward(self.cell, self._p(li, "W"), self._p(li, "b"), self._p(li, "bn"),
                                               inp, state[0][li], c0, mask, ids if li == 0 else None,
                                               split=splits[li])
                cache.layers.append(lc)
                hs.append(hT)
                cs.append(cT)
                inp = y
        new_state = (np.stack(hs), np.stack(cs)) if self.kind == LSTM else (np.stack(hs),)
        return inp, new_state, cache

    def _splits(self, direction: str, T: int, B: int, input_projected: bool) -> list:
        """Each layer's time-loop split, the chooser asked once per layer as ``cell_forward`` would; all
        "rows" (and more than one hand-off layer by layer): ``_forward_stack``/``_backward_stack`` run every
        layer in one. [None] * layers where that cannot be: ``cell_forward`` then asks."""
        if T == 0 or (self.layers == 1 and (direction == "backward" or not input_projected)):
            return [None] * self.layers
        key = (direction, self.kind, self.hidden, B, self.dtype.str)
        return [_choose_split(key, self.hidden) for _ in range(self.layers)]

    def _forward_stack(self, x, state, mask, ids, drop, cache, hs, cs):
        """``forward``'s layers in ONE hand-off to the workers: each worker runs its batch rows through every
        layer, bottom to top (``_fwd_stack``), making the input projections of its rows itself. The same bits
        as layer by layer: the rows of a time loop depend on no other rows, and a row's projection is the
        same in any set of rows. Why: layer by layer, a two-layer stack made three hand-offs (the first
        layer's loop, the second's projections, its loop), each costing wall time beyond its work: waking
        the workers, the GIL passed from thread to thread, the second worker starting late
        (docs/performance.md, "Where a two-thread step's wall time goes")."""
        runs = []
        inp = x
        dt = self.dtype
        # one array for every layer's projections: a worker makes its rows' projections for a layer after
        # its rows went through the layer below, and no other worker reads them (peak memory as layer by layer)
        shared = None
        for li in range(self.layers):
            W, b, bn = self._p(li, "W"), self._p(li, "b"), self._p(li, "bn")
            c0 = state[1][li] if self.kind == LSTM else None
            dropped = None
            if li > 0:
                dm = drop(li, inp)
                cache.drops.append(dm)
                if dm is not None:
                    # as given (a float64 mask multiplies in float64, as `inp * dm` does), broadcast
                    dropped = (inp, np.broadcast_to(dm, np.broadcast_shapes(inp.shape, np.shape(dm))))
                    inp = np.empty(inp.shape, dt)
            if li == 0 and ids is not None:
                s = _forward_setup(self.cell, W, b, bn, inp, state[0][li], c0, mask, ids)
                proj = None
            else:
                inp = np.ascontiguousarray(inp, dtype=dt)
                s = _forward_setup(self.cell, W, b, bn, inp, state[0][li], c0, mask, None, project=False, P=shared)
                shared = s.P
                proj = (K.pack_weights(W[s.H:]), np.ascontiguousarray(b, dtype=dt))
            runs.append((s, proj, dropped))
            inp = s.Y
        took = run_rows(_fwd_stack, runs[0][0].B, runs)
        for li, (s, _, _) in enumerate(runs):
            _timed_split(s.key, "rows", max(t[li] for t in took) / s.T)
            y, (hT, cT), lc = _forward_finish(s)
            cache.layers.append(lc)
            hs.append(hT)
            cs.append(cT)
        return runs[-1][0].Y

    def _backward_stack(self, dy, cache, grads, dstate, need_dx, skip_padding, dh0s, dc0s):
        """``backward``'s layers in two hand-offs to the workers: every layer's time loop, each worker taking
        its batch rows from the top layer down and making their input gradients itself (``_bwd_stack``);
        then every layer's weight gradients and bias sums at once (``_run_jobs``). The same bits as layer by
        layer (see ``_bwd_stack``), in the same order into ``grads``. Why: layer by layer, a two-layer
        stack made four hand-offs (docs/performance.md, "Where a two-thread step's wall time goes").
        Returns the input gradient (of the table when the first layer read one by id), or None."""
        runs = []
        d = dy
        dt = self.dtype
        for li in range(self.layers - 1, -1, -1):
            lc = cache.layers[li]
            W = self._p(li, "W")
            dhT = dstate[0][li] if dstate is not None else None
            dcT = dstate[1][li] if dstate is not None and self.kind == LSTM else None
            s = _backward_setup(self.cell, W, lc, d, dhT, dcT, skip_padding)
            dx = None
            if li > 0 or (need_dx and lc.ids is None):
                # the input gradient dAx Wx^T of the workers' rows, Wx^T packed as matmul packs it
                out = np.empty(lc.x.shape, dt)
                dm = cache.drops[li - 1] if li > 0 else None
                dx = (out, K.pack_panels(W[s.H:]), None if dm is None else np.broadcast_to(dm, out.shape))
                d = out
            runs.append((s, dx))
        ranges = runs[0][0].ranges
        took = run_rows(_bwd_stack, runs[0][0].B, runs, ranges=ranges,
                        each=[([s.S[i] for s, _ in runs],) for i in range(len(ranges))])
        for k, (s, _) in enumerate(runs):
            _timed_split(s.key, "rows", max(t[k] for t in took) / s.T)
        done = _run_jobs(*[_backward_jobs(s, need_dx=dx is None and need_dx) for s, dx in runs])
        for k, (s, dx) in enumerate(runs):
            li = self.layers - 1 - k
            dxl, (dh0, dc0), g = _backward_finish(s, done[k], None if dx is None else dx[0])
            add_grads(grads, {f"{self.name}.{li}.{key}": value for key, value in g.items()})
            dh0s[li], dc0s[li] = dh0, dc0
            d = dxl
        return d

    def infer(self, x: np.ndarray, state: tuple | None = None, mask: np.ndarray | None = None, *,
              ids: np.ndarray | None = None, outputs: bool = True):
        """``forward`` without training: no dropout and nothing kept for ``backward`` (``cell_infer``); the
        same outputs and state, bit for bit. Returns ``y (T, B, H), state``; y is None without ``outputs``
        (the top layer then writes none: a reader of the final state only)."""
        T, B = ids.shape if ids is not None else x.shape[:2]
        if state is None:
            state = self.zero_state(B)
        if ids is not None and not reads_table_by_id(x.shape[0], T * B):
            x, ids = x[ids], None
        hs, cs = [], []
        inp = x
        for li in range(self.layers):
            c0 = state[1][li] if self.kind == LSTM else None
            inp, (hT, cT), _ = cell_infer(self.cell, self._p(li, "W"), self._p(li, "b"), self._p(li, "bn"),
                                          inp, state[0][li], c0, mask, ids if li == 0 else None,
                                          outputs=outputs or li < self.layers - 1)
            hs.append(hT)
            cs.append(cT)
        return inp, ((np.stack(hs), np.stack(cs)) if self.kind == LSTM else (np.stack(hs),))

    def backward(self, dy: np.ndarray | None, cache: StackCache, grads: dict, dstate: tuple | None = None,
                 need_dx: bool = True, skip_padding: bool = False):
        """Accumulates parameter gradients into ``grads`` (keys created as needed). dy: (T, B, H) or None;
        dstate: gradient into the final state (same structure as the state) or None.
        Returns ``dx (T, B, D) or None, dstate0`` (gradient of the initial state); dx is the gradient of
        the (V, D) table when ``forward`` had ``ids``. ``skip_padding``: see ``cell_backward``."""
        dh0s, dc0s = [None] * self.layers, [None] * self.layers
        T, B = cache.layers[0].mask.shape
        splits = self._splits("backward", T, B, True)
        if all(split == "rows" for split in splits):
            d = self._backward_stack(dy, cache, grads, dstate, need_dx, skip_padding, dh0s, dc0s)
        else:
            d = dy
            for li in range(self.layers - 1, -1, -1):
                dhT = dstate[0][li] if dstate is not None else None
                dcT = dstate[1][li] if dstate is not None and self.kind == LSTM else None
                dx, (dh0, dc0), g = cell_backward(self.cell, self._p(li, "W"), cache.layers[li], d, dhT, dcT,
                                                  need_dx=need_dx or li > 0, skip_padding=skip_padding,
                                                  split=splits[li])
                add_grads(grads, {f"{self.name}.{li}.{key}": value for key, value in g.items()})
                dh0s[li], dc0s[li] = dh0, dc0
                if li > 0 and cache.drops[li - 1] is not None:
                    dx = dx * cache.drops[li - 1]
                d = dx
        if cache.gathered is not None and d is not None:
            ids, V = cache.gathered
            table_grad = np.zeros((V, d.shape[-1]), d.dtype)
            K.scatter_add_rows(table_grad, np.ascontiguousarray(ids).reshape(-1), d.reshape(-1, d.shape[-1]))
            d = table_grad
        dstate0 = (np.stack(dh0s), np.stack(dc0s)) if self.kind == LSTM else (np.stack(dh0s),)
        return d, dstate0

    def step(self, x: np.ndarray, state: tuple | None = None, proj_W: np.ndarray | None = None,
             proj_b: np.ndarray | None = None):
        """One time step of the whole stack (and the output projection when given) in one numba call.

        x: (B, D); state as in ``forward``; proj_W: (H, O), proj_b: (O,). Returns ``out, new_state`` where
        out is (B, O) logits with a projection, else the top layer's output (B, H). No dropout (inference).
        """
        dt = self.dtype
        x = np.ascontiguousarray(x, dtype=dt)
        B = x.shape[0]
        if state is None:
            state = self.zero_state(B)
        H = self.hidden
        Ws = [self._p(li, "W") for li in range(self.layers)]
        Whs = tuple(W[:H] for W in Ws)
        Wxs = tuple(W[H:] for W in Ws)
        bs = tuple(self._p(li, "b") for li in range(self.layers))
        bns = tuple(self._p(li, "bn") for li in range(self.layers)) if self.kind == GRU else bs
        h = np.ascontiguousarray(state[0], dtype=dt)
        c = np.ascontiguousarray(state[1], dtype=dt) if self.kind == LSTM else h
        h_out = np.empty_like(h)
        c_out = np.empty_like(h) if self.kind == LSTM else h_out
        if proj_W is None:
            pW, pb = np.empty((H, 0), dt), np.empty(0, dt)
            out = np.empty((B, H), dt)
        else:
            pW, pb = np.ascontiguousarray(proj_W, dtype=dt), np.ascontiguousarray(proj_b, dtype=dt)
            out = np.empty((B, pW.shape[1]), dt)
        K.step_forward(self.kind, x, Whs, Wxs, bs, bns, h, c, pW, pb, h_out, c_out, out)
        return out, ((h_out, c_out) if self.kind == LSTM else (h_out,))
