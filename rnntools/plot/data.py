"""What a picture shows, read from rnntools' own outputs; no drawing here, so both renderers share it.

* forecasts: ``predict`` records of a forecaster (``id``, ``timestamps``, ``forecast``, ``lower``/``upper``
  with ``level``, ``lower_95``/``upper_95``...) and, optionally, the history they continue (the CSV or
  JSONL the model read), matched by series id and placed by timestamp;
* training curves: a ``--log`` JSONL file (``step``/``eval`` events of ``rnn-train``, ``progress``/``epoch``
  events of ``w2v-train``);
* word maps: a vectors file, chosen words and their nearest neighbours, projected to 2-D by PCA;
* confusion matrices: the JSON summary ``evaluate`` writes for a classifier (``labels``, ``confusion``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from rnntools.errors import InputError, UsageError

# --- forecasts ----------------------------------------------------------------------------------------

@dataclass
class Band:
    level: int
    lower: list[float]
    upper: list[float]


@dataclass
class ForecastPanel:
    """One series: x positions are steps on its own axis; labels are the timestamps as written."""

    id: str
    history_x: list[int] = field(default_factory=list)
    history_y: list[float] = field(default_factory=list)
    forecast_x: list[int] = field(default_factory=list)
    forecast_y: list[float] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)  # widest first
    labels: dict[int, str] = field(default_factory=dict)  # x -> timestamp text


def _bands(rec: dict, path=None, line=None) -> list[Band]:
    """Interval pairs of a forecast record: lower/upper at ``level``, then lower_NN/upper_NN."""
    out = []
    if "lower" in rec and "upper" in rec:
        level = rec.get("level", 80)
        if isinstance(level, bool) or not isinstance(level, int) or not 0 < level < 100:
            raise InputError(f"\"level\" should be a whole percentage like 80, got {json.dumps(level)[:40]}", path,
                             line)
        out.append(Band(level, rec["lower"], rec["upper"]))
    for key in rec:
        if key.startswith("lower_") and key[6:].isdigit() and f"upper_{key[6:]}" in rec:
            # lower_00, lower_100 or lower_999... were drawn as a 0%, 100% or 999...% interval
            if not (key[6:].isascii() and 0 < int(key[6:]) < 100 and str(int(key[6:])) == key[6:]):
                raise InputError(f"\"{key[:40]}\" should name a whole percentage like lower_95", path, line)
            out.append(Band(int(key[6:]), rec[key], rec[f"upper_{key[6:]}"]))
    return sorted(out, key=lambda b: -b.level)


def _timestamps(rec: dict, length: int, path, line) -> list[str]:
    """A forecast record's timestamps as labels: a number was an internal error, and a string ("2024")
    was read as one label per character; a list of another length than the forecast labelled the wrong
    steps."""
    stamps = rec.get("timestamps", [])
    if (not isinstance(stamps, list) or stamps and len(stamps) != length
            or not all(isinstance(t, str | int) and not isinstance(t, bool) for t in stamps)):
        raise InputError(f"\"timestamps\" should be a list of {length} timestamps (strings or whole numbers), as "
                         "`rnntools predict` writes", path, line)
    return [str(t) for t in stamps]


def forecast_panels(records: list[tuple[str, int, dict]], history: list | None, last: int | None,
                    only: list[str] | None = None) -> list[ForecastPanel]:
    """Panels from forecast records ((path, line, record)) and the history series they continue.

    A forecast whose first timestamp is inside its history (a backtest) is drawn there, over the actual
    values; otherwise it follows the history's end. ``last`` keeps that many history steps before the
    forecast (None: about five horizons for long series, everything for short ones)."""
    by_id = {str(s.id): s for s in history or []}
    panels = []
    for path, line, rec in records:
        if "forecast" not in rec:
            raise InputError("not a forecast record (no \"forecast\" field): give the output of "
                             "`rnntools predict` on a forecaster", path, line)
        sid = str(rec.get("id", f"series {len(panels) + 1}"))
        if only and sid not in only:
            continue
        fc = _numbers(rec["forecast"], "forecast", path, line)
        stamps = _timestamps(rec, len(fc), path, line)
        panel = ForecastPanel(sid)
        start = 0
        series = by_id.get(sid)
        if series is not None:
            values = [float(v) for v in series.values]
            hstamps = [str(series.timestamp(k)) for k in range(len(values))]
            start = len(values)
            if stamps and stamps[0] in hstamps:
                start = hstamps.index(stamps[0])
            keep = last if last is not None else (len(values) if len(values) <= 10 * len(fc) else 5 * len(fc))
            first = max(0, min(start, len(values)) - keep)
            end = min(len(values), start + len(fc))
            panel.history_x = list(range(first, end))
            panel.history_y = values[first:end]
            panel.labels.update({k: hstamps[k] for k in range(first, end)})
        elif history is not None:
            names = ", ".join(repr(k) for k in list(by_id)[:5]) + (", ..." if len(by_id) > 5 else "")
            source = next((str(h.source).rsplit(":", 1)[0] for h in history if h.source), None)
            raise InputError(f"series {sid!r} is not in the history given with --history"
                             + (f" {source}" if source else "") + f" (it has {names or 'no series'})", path, line)
        panel.forecast_x = list(range(start, start + len(fc)))
        panel.forecast_y = fc
        panel.bands = _bands(rec, path, line)
        for b in panel.bands:
            b.lower, b.upper = (_numbers(b.lower, "lower", path, line, len(fc)),
                                _numbers(b.upper, "upper", path, line, len(fc)))
        for k, t in enumerate(stamps):
            panel.labels[start + k] = t
        panels.append(panel)
    if not panels:
        raise InputError("no forecasts to plot" + (f" for {', '.join(only)}" if only else ""))
    return panels


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def _numbers(values, name: str, path, line, length: int | None = None) -> list[float]:
    """A record's list of numbers (null: a gap) as floats, or an error naming the line: a string, an empty
    list or a list of another length than the forecast's were internal errors."""
    if (not isinstance(values, list) or not values or (length is not None and len(values) != length)
            or not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)):
        want = f"a list of {length} numbers" if length is not None else "a non-empty list of numbers"
        raise InputError(f"\"{name}\" should be {want} (null for a gap), as `rnntools predict` writes", path, line)
    out = [_num(v) for v in values]
    big = next((v for v in out if abs(v) > PLOT_LIMIT), None)
    if big is not None:
        raise InputError(f"\"{name}\" holds {big:g}, too large to plot (forecasts stay within {PLOT_LIMIT:g})", path,
                         line)
    return out


PLOT_LIMIT = 1e150   # the forecaster's own bound on values; beyond it the axes' arithmetic overflows


# --- training curves ----------------------------------------------------------------------------------

@dataclass
class Curve:
    name: str
    x: list[float]
    y: list[float]
    panel: str  # "loss" or "metric"


@dataclass
class Curves:
    x_label: str
    curves: list[Curve]
    title: str = ""


# validation metrics drawn beside the loss; perplexity is left out where bits per character say the same
_METRIC_ORDER = ["val_accuracy", "val_macro_f1", "val_exact", "val_bpc", "val_mase", "val_smape"]


def _point(event: dict, key: str, path: str, line: int, gap: bool = True) -> float:
    """One number of a --log event, checked: a missing key, a string, a boolean or an object (a hand-edited
    or foreign log) were internal errors or were drawn ("3" as 3, true as 1), and values beyond PLOT_LIMIT
    overflowed the axes' arithmetic. ``gap``: null is a gap in the curve (a non-finite loss is logged as
    null); the x coordinate has none."""
    value = event.get(key)
    if value is None and gap and key in event:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) <= PLOT_LIMIT:
        got = "nothing" if key not in event else json.dumps(value)[:40]
        raise InputError(f"the \"{event.get('event')}\" event's \"{key}\" should be a number"
                         f"{' (null for a gap)' if gap else ''} between -{PLOT_LIMIT:g} and {PLOT_LIMIT:g}, "
                         f"got {got}", path, line)
    return float(value)


def _curve(name: str, points: list[tuple[int, dict]], x: str, y: str, panel: str, path: str) -> Curve:
    return Curve(name, [_point(e, x, path, ln, gap=False) for ln, e in points],
                 [_point(e, y, path, ln) for ln, e in points], panel)


def training_curves(events: list[tuple[int, dict]], path: str, metrics: list[str] | None = None) -> Curves:
    """Loss and validation curves from a --log file's events ((line, record)). The networks of a seq2seq
    ensemble write to one log, each record marked ``"network": k``: each gets its own curves, named
    "(network k)", instead of one curve zigzagging between them."""
    groups: dict[int, list[tuple[int, dict]]] = {}
    for ln, e in events:
        k = e.get("network", 1)
        if isinstance(k, bool) or not isinstance(k, int):
            raise InputError(f"the \"{e.get('event')}\" event's \"network\" should be a whole number, got "
                             f"{json.dumps(k)[:40]}", path, ln)
        groups.setdefault(k, []).append((ln, e))
    if len(groups) <= 1:
        x_label, curves = _training_curves(events, path, metrics)
    else:
        curves = []
        for k in sorted(groups):
            x_label, theirs = _training_curves(groups[k], path, metrics)
            curves += [Curve(f"{c.name} (network {k})", c.x, c.y, c.panel) for c in theirs]
    start = next((e for _, e in events if e.get("event") == "start"), {})
    title = " ".join(str(start[k]) for k in ("cell", "hidden") if start.get(k) is not None)
    return Curves(x_label, curves, title)


def _training_curves(events: list[tuple[int, dict]], path: str,
                     metrics: list[str] | None) -> tuple[str, list[Curve]]:
    """(x label, curves) of one training run's events."""
    steps = [(ln, e) for ln, e in events if e.get("event") == "step" and "loss" in e]
    evals = [(ln, e) for ln, e in events if e.get("event") == "eval"]
    progress = [(ln, e) for ln, e in events if e.get("event") == "progress" and "loss" in e]
    epochs = [(ln, e) for ln, e in events if e.get("event") == "epoch" and "loss" in e]
    curves: list[Curve] = []
    if steps or evals:
        x_label = "updates"
        if steps:
            curves.append(_curve("training loss", steps, "step", "loss", "loss", path))
        if any("val_loss" in e for _, e in evals):
            curves.append(_curve("validation loss", [(ln, e) for ln, e in evals if "val_loss" in e], "step",
                                 "val_loss", "loss", path))
        names = metrics or [m for m in _METRIC_ORDER if any(m in e for _, e in evals)]
        for name in names:
            pts = [(ln, e) for ln, e in evals if name in e]
            if not pts:
                raise UsageError(f"{path}: no evaluation reports {name!r} (have: "
                                 f"{', '.join(sorted({k for _, e in evals for k in e if k.startswith('val_')}))})")
            curves.append(_curve(name.replace("val_", "validation "), pts, "step", name, "metric", path))
    elif progress or epochs:
        # w2v-train: each epoch's mean loss when the log has them (the running loss of a progress line
        # covers only the words since the previous line), else the running loss by words trained
        if epochs:
            x_label = "epochs"
            curves.append(_curve("training loss", epochs, "epoch", "loss", "loss", path))
        else:
            x_label = "words trained"
            curves.append(_curve("training loss", progress, "words", "loss", "loss", path))
    else:
        raise InputError("no training progress in this file (expected the JSONL of `rnn-train --log` or "
                         "`w2v-train --log`)", path)
    return x_label, curves


# --- word maps ----------------------------------------------------------------------------------------

@dataclass
class WordPoint:
    word: str
    x: float
    y: float
    group: int  # index of the chosen word this point belongs to
    chosen: bool


def word_map(vectors, words: list[str], neighbors: int) -> tuple[list[WordPoint], list[float]]:
    """Chosen words and their nearest neighbours, projected on the two principal components of those
    points (centred; numpy's SVD). Returns the points and the share of variance each axis explains."""
    from rnntools.w2v.vectors import Query, QueryError, nearest

    unknown = [w for w in words if vectors.id(w) is None]
    if unknown:
        raise UsageError(f"not in the vectors' vocabulary: {', '.join(unknown)}")
    chosen = [(w, vectors.id(w)) for w in words]
    seen: dict[int, int] = {}
    order: list[tuple[str, int, int, bool]] = []  # word, row, group, chosen
    for g, (_w, row) in enumerate(chosen):
        if row not in seen:
            seen[row] = g
            order.append((vectors.tokens[row], row, g, True))
    if neighbors > 0:
        answers = nearest(vectors, [Query(w, [w], []) for w, _ in chosen], k=neighbors)
        for g, answer in enumerate(answers):
            if isinstance(answer, QueryError):
                continue
            for token, _score in answer:
                row = vectors.id(token)
                if row is not None and row not in seen:
                    seen[row] = g
                    order.append((token, row, g, False))
    X = vectors.unit[[row for _, row, _, _ in order]].astype(np.float64)
    X -= X.mean(axis=0)
    if len(order) < 2 or not np.any(X):
        coords = np.zeros((len(order), 2))
        explained = [0.0, 0.0]
    else:
        U, S, _ = np.linalg.svd(X, full_matrices=False)
        coords = U[:, :2] * S[:2]
        if coords.shape[1] < 2:
            coords = np.hstack([coords, np.zeros((len(order), 1))])
        var = S**2
        explained = [float(v / var.sum()) for v in var[:2]] + [0.0] * (2 - len(var[:2]))
        # a deterministic orientation: the first chosen word on the positive side of both axes
        for axis in range(2):
            if coords[0, axis] < 0:
                coords[:, axis] *= -1
    points = [WordPoint(w, float(c[0]), float(c[1]), g, ch) for (w, _, g, ch), c in zip(order, coords)]
    return points, explained


def default_words(vectors, count: int = 6) -> list[str]:
    """Words to show when none are chosen: frequent words past the 50 commonest (which are mostly
    function words), spread over the vocabulary so the map has different neighbourhoods."""
    tokens = vectors.tokens
    if len(tokens) <= count:
        return list(tokens)
    lo = min(50, len(tokens) // 4)
    hi = min(len(tokens), max(lo + count, 1000))
    step = max(1, (hi - lo) // count)
    return [tokens[i] for i in range(lo, hi, step)][:count]


# --- confusion matrices -------------------------------------------------------------------------------

@dataclass
class Confusion:
    labels: list[str]
    counts: np.ndarray  # (C, C): rows true, columns predicted
    accuracy: float | None = None


def confusion(summary: dict, path: str, line: int | None = None) -> Confusion:
    labels = summary.get("labels")
    matrix = summary.get("confusion")
    if not isinstance(labels, list) or not isinstance(matrix, list):
        raise InputError("no \"labels\" and \"confusion\" here: give the JSON that `rnntools evaluate` writes for "
                         "a classifier", path, line)
    # labels are what a classifier's labels are, strings or whole numbers, each once: an object or a list was
    # drawn as Python's repr, a label twice as two rows of one name, "1" and 1 as two rows both named 1
    bad = next((v for v in labels if isinstance(v, bool) or not isinstance(v, str | int)), None)
    if bad is not None or not labels:
        raise InputError("\"labels\" should be a non-empty list of strings or whole numbers"
                         + (f"; it holds {json.dumps(bad)[:80]}" if bad is not None else ""), path, line)
    names, seen = [str(v) for v in labels], set()
    twice = next((n for n in names if n in seen or seen.add(n)), None)
    if twice is not None:
        raise InputError(f"the label {twice!r} appears twice in \"labels\"", path, line)
    # counts are whole numbers of at least 0: int64 conversion alone took 1.5 as 1, "3" as 3, true as 1, and
    # drew a -4 as a count (and a row of them a recall above 1)
    bad = next((v for row in matrix for v in (row if isinstance(row, list) else [row])
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**53), None)
    if bad is not None or not all(isinstance(row, list) for row in matrix):
        raise InputError("\"confusion\" is not a square table of counts (rows of equal length, whole numbers of "
                         f"at least 0){'; it holds ' + json.dumps(bad) if bad is not None else ''}", path, line)
    try:
        counts = np.asarray(matrix, dtype=np.int64)
    except (ValueError, TypeError, OverflowError):
        raise InputError("\"confusion\" is not a square table of counts (rows of equal length, whole numbers of "
                         "at least 0)", path, line) from None
    if counts.shape != (len(labels), len(labels)):
        raise InputError(f"confusion matrix of shape {counts.shape} for {len(labels)} labels", path, line)
    acc = summary.get("accuracy")
    if acc is not None and (isinstance(acc, bool) or not isinstance(acc, int | float) or not 0 <= acc <= 1):
        raise InputError(f"\"accuracy\" should be a number from 0 to 1, got {json.dumps(acc)[:80]}", path, line)
    return Confusion(names, counts, None if acc is None else float(acc))
