"""Forecasts from a trained model for many series at once: the network batched over series, the statistical
methods batched over series of equal length, each series by its chosen method (choose.py), intervals from
that method's table, and the JSONL records ``predict`` writes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, UsageError, check_memory
from rnntools.tasks.forecast.data import _need, check_inputs, tails
from rnntools.tasks.forecast.model import Model
from rnntools.tasks.forecast.series import Series


def forecast(model: Model, series: list[Series], horizon: int, levels: Sequence[int] | None = None,
             cut: list[int] | None = None) -> list[dict]:
    """Forecasts for every series in one batched pass: ``forecast``, per-level ``lower``/``upper`` in
    original units, the future timestamps and (models with a per-series choice) the ``method`` used.

    ``cut``: use only ``values[:cut]`` of each series (backtests)."""
    levels = list(model.levels if levels is None else levels)
    fc, bounds, methods, stamps = _forecast_arrays(model, series, horizon, levels, cut)
    out = []
    for i, s in enumerate(series):
        rec = {"id": s.id, "forecast": fc[i], "timestamps": stamps[i]}
        for j, lev in enumerate(levels):
            rec[f"lower_{lev}"], rec[f"upper_{lev}"] = bounds[j][0][i], bounds[j][1][i]
        if methods is not None:
            rec["method"] = methods[i]
        out.append(rec)
    return out


def _forecast_arrays(model: Model, series: list[Series], horizon: int, levels: list, cut: list[int] | None):
    """:func:`forecast` as arrays: fc (B, horizon), [(lower, upper)] per level, the methods (or None) and
    each series' future timestamps."""
    check_memory(len(series) * horizon * _bytes_per_step(len(levels)),
                 f"forecasting {len(series):,} series {horizon:,} steps ahead", "--horizon")
    with np.errstate(all="ignore"):
        if model.selection is None:   # models from before the per-series choice: the network alone
            fc, bounds = _rnn_forecast(model, series, horizon, levels, cut)
            methods = None
        else:
            fc, bounds, methods = _chosen_forecast(model, series, horizon, levels, cut)
    # a value that overflowed is an error naming the series and the first such step, not a null: the network's
    # chained blocks (or an interval's sqrt(h) growth through a log transform) diverge from that step on, so
    # the numbers before it in the same list are already not to be trusted (docs/forecast.md)
    columns = [("forecast", fc)] + [(f"{side} {lev}% bound", a) for lev, pair in zip(levels, bounds)
                                    for side, a in zip(("lower", "upper"), pair)]
    bad = np.zeros(len(series), bool)
    for _, a in columns:
        bad |= ~np.isfinite(a).all(1)
    if bad.any():
        i = int(np.argmax(bad))
        name, step = min(((name, int(np.argmax(~np.isfinite(a[i])))) for name, a in columns
                          if not np.isfinite(a[i]).all()), key=lambda c: c[1])
        what = "forecast" if name == "forecast" else f"forecast's {name}"
        raise InputError(f"the {what} of series {series[i].id!r} is not finite from step {step + 1} on (values "
                         f"far outside what the model was trained on, or a --horizon too far for it?)",
                         series[i].source or None)
    stamps, by_end = [], {}
    for i, s in enumerate(series):
        n = len(s.values) if cut is None else cut[i]
        key = (s.axis, s.start, n)
        if key not in by_end:  # series that end together share their future timestamps
            by_end[key] = [s.timestamp(n + k) for k in range(horizon)]
        stamps.append(by_end[key])
    return fc, bounds, methods, stamps


def _bytes_per_step(levels: int) -> int:
    """What one forecast step of one series costs at its peak, an upper estimate: the candidate methods'
    and the network's float64 paths with their bounds (about 8 + 2 per level arrays), its timestamp and the
    output record's numbers and strings. Why estimate: a horizon of 10^8 ran for half a minute into 9 GB
    before numpy's MemoryError; checked first, it is a usage error at once."""
    return 8 * (8 + 2 * levels) + 40 + 24 * (1 + 2 * levels)


SERIES_PER_BLOCK = 512
# forecasting in worker processes pays from about this many blocks on (predict_text)
BLOCKS_FOR_WORKERS = 8


def predict_records(model: Model, series: Iterable[Series], horizon: int, levels: Sequence[int]) -> Iterator[dict]:
    """The records ``predict`` writes (:func:`output_records` of :func:`forecast`), in the input's order, a
    block of ``SERIES_PER_BLOCK`` series at a time.

    Why blocks: ``series`` may be a lazy reader, so a file of millions of series is forecast in the memory
    of a few thousand, and records reach stdout while the input is still being read; a block is large enough
    that the batched network and methods cost what one batch of the whole input did. A series' forecast is
    computed on its own rows, so it is the same bits in any block (tests/test_forecast.py). (Forecasting one
    block on a worker thread while this one reads and writes the next was measured: no faster, since the
    forecasts hold the interpreter's lock about half their time; docs/performance.md.)"""
    levels = list(levels)
    for block in _blocks(series, SERIES_PER_BLOCK):
        yield from _block_records(model, block, horizon, levels)


def predict_text(model: Model, series: Iterable[Series], horizon: int, levels: Sequence[int],
                 workers: int = 1) -> Iterator[str]:
    """:func:`predict_records` as JSONL text (``io.jsonl_text``), one string per block of series, in the
    input's order.

    With ``workers`` > 1 and at least ``BLOCKS_FOR_WORKERS`` blocks in the input, the blocks are forecast
    and formatted in forked worker processes (``parallel.ordered_map``), one thread each, while this process
    reads and parses the next blocks and writes: the three stages hold the interpreter's lock most of their
    time, so threads could not overlap them, and each worker's numba import and kernel loading overlap
    this process's reading (docs/performance.md). Each series' forecast is computed on its own rows, so the
    text is the same bytes as in one process (tests/test_forecast.py). Below that many blocks a second
    process's start-up (its own numba import and kernel loading, ~0.5 s of CPU) costs more than it saves."""
    levels = list(levels)
    blocks = _blocks(series, SERIES_PER_BLOCK)
    ahead = list(itertools.islice(blocks, BLOCKS_FOR_WORKERS if workers > 1 else 1))
    if len(ahead) < BLOCKS_FOR_WORKERS:
        for block in itertools.chain(ahead, blocks):
            yield _block_text(model, block, horizon, levels)
        return
    from rnntools.parallel import ordered_map

    def block_text(block: list[Series]) -> str:
        _one_thread()
        return _block_text(model, block, horizon, levels)

    yield from ordered_map(block_text, itertools.chain(ahead, blocks), workers)


def _one_thread() -> None:
    """Keep a worker process to one thread (numba, BLAS, the engine's pool): the processes share the cores."""
    from rnntools.parallel import configure_threads, configured_threads

    if configured_threads() != 1:
        configure_threads(1)


def _blocks(items: Iterable, size: int) -> Iterator[list]:
    items = iter(items)
    while block := list(itertools.islice(items, size)):
        yield block


def _block_records(model: Model, series: list[Series], horizon: int, levels: list) -> list[dict]:
    """The output records of one block of series."""
    if not series:
        return []
    fc, bounds, methods, stamps = _forecast_arrays(model, series, horizon, levels, None)
    recs = [{"id": s.id, "timestamps": stamps[i]} for i, s in enumerate(series)]
    if methods is not None:
        for rec, meth in zip(recs, methods):
            rec["method"] = meth
    return list(_rounded_records(recs, fc, [(lo, hi) for lo, hi in bounds], levels))


def _block_text(model: Model, series: list[Series], horizon: int, levels: list) -> str:
    """``io.jsonl_text(_block_records(...))``, the same bytes, with the rounded numbers printed by
    ``io.decimals`` (their ``repr`` was as costly as the forecasts: 0.45 s of CPU per 10,000 series)."""
    from rnntools.io.decimals import decimal_rows_json
    from rnntools.io.outputs import _ENCODER, jsonl_text

    if not series:
        return ""
    fc, bounds, methods, stamps = _forecast_arrays(model, series, horizon, levels, None)
    B = len(series)
    ref = np.asarray(fc, np.float64).reshape(B, -1)
    d = row_decimals(ref)
    columns = [ref] + [np.asarray(a, np.float64).reshape(B, -1) for pair in bounds for a in pair]
    F = len(columns)
    rounded = np.stack([_round_to(a, d) for a in columns], axis=1)        # (B, F, horizon)
    rows = decimal_rows_json(rounded.reshape(B * F, -1), np.repeat(d, F))
    encode = _ENCODER.encode
    stamp_text: dict[int, str] = {}     # series that end together share one timestamps list
    names = [f'"{name}": ' for pair in bound_fields(levels) for name in pair]
    out = []
    for i, s in enumerate(series):
        texts = rows[i * F:(i + 1) * F]
        try:
            if None in texts:
                raise ValueError
            st = stamps[i]
            if (st_text := stamp_text.get(id(st))) is None:
                st_text = stamp_text[id(st)] = encode(st)
            parts = ['{"id": ', encode(s.id), ', "timestamps": ', st_text, ', "forecast": ', texts[0]]
            if methods is not None:
                parts += [', "method": ', encode(methods[i])]
            if levels:
                parts.append(f', "level": {encode(levels[0])}')
                for name, text in zip(names, texts[1:]):
                    parts += [", ", name, text]
            parts.append("}\n")
            out.append("".join(parts))
        except ValueError:   # a value the fast path does not print (non-finite, an exponent): as JSONL does
            rec = {"id": s.id, "timestamps": stamps[i]}
            if methods is not None:
                rec["method"] = methods[i]
            out.append(jsonl_text(_rounded_records([rec], fc[i:i + 1], [(lo[i:i + 1], hi[i:i + 1])
                                                                          for lo, hi in bounds], levels)))
    return "".join(out)


def _rnn_point(model: Model, series: list[Series], horizon: int, cut):
    """The network's forecasts in scaled units (B, horizon) and the inverse of each row's scaling."""
    Z, pe, scalers, C = tails(series, model, cut)
    F = model.forecast_scaled(Z, pe, horizon, C=C)
    # undo the scaling for all rows at once: (B, 1) columns of every series' scaler
    sc = np.array([x.to_list() for x in scalers]).reshape(-1, 4)
    shift, scale, log, floor = sc[:, :1], sc[:, 1:2], sc[:, 2:3] > 0, sc[:, 3:]

    def inverse(z):
        y = z * scale + shift
        return np.where(log, np.expm1(np.where(log, y, 0.0)) + floor, y)

    return F, inverse


def _rnn_forecast(model: Model, series: list[Series], horizon: int, levels: list, cut):
    F, inverse = _rnn_point(model, series, horizon, cut)
    Q = interval_widths(model, levels, horizon)
    return inverse(F), [(inverse(F - Q[j]), inverse(F + Q[j])) for j in range(len(levels))]


def _chosen_forecast(model: Model, series: list[Series], horizon: int, levels: list, cut):
    """Each series by its chosen candidate (choose.py), intervals from that candidate's table."""
    from rnntools.tasks.forecast import choose as CH

    sel, m = model.selection, model.cfg.season
    for lev in levels:
        if lev not in model.levels:
            raise UsageError(f"--intervals {lev} was not computed at training time (the model has "
                             f"{', '.join(map(str, model.levels)) or 'none'}); retrain with --intervals")
    hist = [s.values if cut is None else s.values[:cut[i]] for i, s in enumerate(series)]
    methods = [sel["choice"].get(s.id, sel["default"]) for s in series]
    fallback = _short_fallbacks(model, series, hist, methods)
    floor = min(max(m, 2) + 2, _need(model.cfg) + model.cfg.lookback)   # (never more than the network's window)
    for i, h in enumerate(hist):
        if len(h) < floor:
            raise InputError(f"series {series[i].id!r} has {len(h)} values; it needs at least {floor} to be forecast "
                             f"(a season of {m} and 2 more)", series[i].source or None)
    check_inputs(series, model, cut, windows=[i for i, meth in enumerate(methods) if "rnn" in CH.bases_of(meth)])
    B = len(series)
    need: dict[str, list[int]] = {}       # base method -> the rows that need it
    for i, meth in enumerate(methods):
        for b in CH.bases_of(meth):
            need.setdefault(b, []).append(i)
    base = {b: np.full((B, horizon), np.nan) for b in need}
    if "rnn" in need:
        rows = need["rnn"]
        F, inverse = _rnn_point(model, [series[i] for i in rows], horizon,
                                None if cut is None else [cut[i] for i in rows])
        base["rnn"][rows] = inverse(F)
    stats = {b: rows for b, rows in need.items() if b != "rnn"}
    for b, f in CH.stat_forecasts(stats, hist, horizon, m).items():
        base[b][stats[b]] = f
    fc = np.empty((B, horizon))
    by_method: dict[str, list[int]] = {}
    for i, meth in enumerate(methods):
        by_method.setdefault(meth, []).append(i)
    for meth, rows in by_method.items():
        fc[rows] = CH.combine(meth, {b: base[b][rows] for b in CH.bases_of(meth)})
    # the series too short for validation origins at training time have interval tables of their own
    short = set(sel.get("short", ()))
    by_table: dict[tuple, list[int]] = {(meth, False): rows for meth, rows in by_method.items()}
    if short or fallback:
        by_table = {}
        for meth, rows in by_method.items():
            for i in rows:
                by_table.setdefault((meth, series[i].id in short or i in fallback), []).append(i)
    scale = CH.series_scales(hist, m)
    nonneg = np.array([bool(len(h)) for h in hist])
    for _, rows in CH.by_length(hist).items():
        if len(hist[rows[0]]):
            nonneg[rows] = np.stack([hist[i] for i in rows]).min(1) >= 0
    half = np.zeros((len(levels), B, horizon))
    for (meth, is_short), rows in by_table.items():
        if not levels:
            break
        table = CH.table_of(model.tables, meth, is_short)
        if table is None:
            # training keeps a table for every method it chooses when it calibrates intervals at all
            raise ModelFileError(f"corrupt model file (the method {meth!r} chosen for series {series[rows[0]].id!r} "
                                 f"has no interval table)", model.path or None)
        W = CH.widths(table[[model.levels.index(lev) for lev in levels]], horizon)   # (levels, horizon)
        half[:, rows, :] = W[:, None, :] * scale[rows][None, :, None]
    bounds = []
    for j in range(len(levels)):
        lo = fc - half[j]
        # a series that never went below zero is not forecast below it
        lo = np.where(nonneg[:, None], np.maximum(lo, 0.0), lo)
        bounds.append((lo, fc + half[j]))
    return fc, bounds, methods


def _short_fallbacks(model: Model, series: list[Series], hist: list[np.ndarray], methods: list[str]) -> set[int]:
    """The rows of series too short for the network's window whose method needs it (series the model has not
    seen, given its default): each takes the statistical method the model chose most often for its own short
    series, or theta+damped, with a warning; ``methods`` is changed in place. Without a short series' interval
    table to calibrate such a forecast (and intervals asked for), the rows are left to check_inputs' error."""
    from rnntools.tasks.forecast import choose as CH

    window = _need(model.cfg) + model.cfg.lookback
    rows = [i for i, meth in enumerate(methods) if len(hist[i]) < window and "rnn" in CH.bases_of(meth)]
    if not rows:
        return set()
    sel = model.selection
    counts: dict[str, int] = {}
    for i in sel.get("short", ()):
        if sel["choice"].get(i) is not None:
            counts[sel["choice"][i]] = counts.get(sel["choice"][i], 0) + 1
    method = max(counts, key=counts.get) if counts else CH.COMB
    if model.levels and CH.table_of(model.tables, method, True) is None:
        return set()
    floor = max(model.cfg.season, 2) + 2
    rows = [i for i in rows if len(hist[i]) >= floor]
    for i in rows:
        methods[i] = method
    if rows:
        first = series[rows[0]]
        more = f" and {len(rows) - 1} other series" if len(rows) > 1 else ""
        console.warn(f"series {first.id!r}{more} shorter than the network's window of {window} values: forecast by "
                     f"{method} alone")
    return set(rows)


def round_rows(a: np.ndarray, ref: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round each row of ``a`` to ``digits`` significant digits of the row's largest |ref| (vectorised;
    dividing an integer by a power of ten gives the double nearest the decimal, so JSON stays short)."""
    return _round_to(a, row_decimals(ref, digits))


def row_decimals(ref: np.ndarray, digits: int = 6) -> np.ndarray:
    """The decimal places (int64, one per row of ``ref``, in [0, 15]) that keep ``digits`` significant
    digits of the row's largest |value|."""
    top = np.max(np.abs(ref), axis=-1) if ref.shape[-1] else np.zeros(ref.shape[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(top > 0, digits - 1 - np.floor(np.log10(np.where(top > 0, top, 1.0))), digits)
    return np.clip(np.nan_to_num(d, nan=digits), 0, 15).astype(np.int64)


def _round_to(a: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    p = 10.0 ** decimals.astype(np.float64)[..., None]
    return np.round(a * p) / p


def interval_widths(model: Model, levels: Sequence[int], horizon: int) -> np.ndarray:
    """(len(levels), horizon) half-widths in scaled units; past the validated horizon they grow like
    sqrt(h) (a random-walk error), the usual honest extrapolation."""
    if model.qtable is None or not len(model.levels):
        if levels:
            raise UsageError("this model has no interval table (trained without validation data)")
        return np.zeros((0, horizon))
    Hq = model.qtable.shape[1]
    out = np.empty((len(levels), horizon))
    for j, lev in enumerate(levels):
        if lev in model.levels:
            q = model.qtable[model.levels.index(lev)]
        else:
            raise UsageError(f"--intervals {lev} was not computed at training time "
                             f"(the model has {', '.join(map(str, model.levels))}); retrain with --intervals")
        for h in range(horizon):
            out[j, h] = q[h] if h < Hq else q[-1] * math.sqrt((h + 1) / Hq)
    return out


def bound_fields(levels: Sequence[int]) -> list[tuple[str, str]]:
    """The names of the (lower, upper) fields of each level in a ``predict`` record: ``lower``/``upper``
    for the first level (its value in ``level``), ``lower_L``/``upper_L`` for every further level. One
    definition for the records, their fast text and the CSV reader of them."""
    return [("lower", "upper") if j == 0 else (f"lower_{lev}", f"upper_{lev}") for j, lev in enumerate(levels)]


def output_record(rec: dict, levels: Sequence[int]) -> dict:
    """The JSONL record of ``predict``: id, timestamps, forecast, then ``lower``/``upper`` of the first
    level (with ``level``), then ``lower_L``/``upper_L`` for every further level."""
    return next(output_records([rec], levels))


def output_records(recs: list[dict], levels: Sequence[int]) -> Iterator[dict]:
    """:func:`output_record` of every record, rounded as one (records, horizon) array per field: row by row
    the rounding cost more than the forecasts of 10,000 series."""
    if not recs:
        return

    def column(key):
        return np.array([r[key] for r in recs], np.float64).reshape(len(recs), -1)

    bounds = [(column(f"lower_{lev}"), column(f"upper_{lev}")) for lev in levels]
    yield from _rounded_records(recs, column("forecast"), bounds, levels)


def _rounded_records(recs: list[dict], fc: np.ndarray, bounds: list, levels: Sequence[int]) -> Iterator[dict]:
    """Output records from ``recs`` (id, timestamps, method) and the arrays fc (B, h) and [(lower, upper)]
    per level, each rounded to 6 significant digits of its row's forecast."""
    if not recs:
        return
    ref = np.asarray(fc, np.float64).reshape(len(recs), -1)
    cols = {"forecast": round_rows(ref, ref).tolist()}
    for lev, (lo, hi) in zip(levels, bounds):
        cols[f"lower_{lev}"] = round_rows(np.asarray(lo, np.float64).reshape(len(recs), -1), ref).tolist()
        cols[f"upper_{lev}"] = round_rows(np.asarray(hi, np.float64).reshape(len(recs), -1), ref).tolist()
    fields = bound_fields(levels)
    for i, rec in enumerate(recs):
        out = {"id": rec["id"], "timestamps": rec["timestamps"], "forecast": cols["forecast"][i]}
        if "method" in rec:
            out["method"] = rec["method"]
        if levels:
            out["level"] = levels[0]
        for lev, (lo_name, hi_name) in zip(levels, fields):
            out[lo_name], out[hi_name] = cols[f"lower_{lev}"][i], cols[f"upper_{lev}"][i]
        yield out
