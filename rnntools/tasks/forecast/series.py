"""Time series data for forecasting: reading CSV/JSONL into series on a regular time axis (timeaxis.py),
missing values.

Nothing here knows about neural networks. A :class:`Series` is one univariate target (float64, NaN for a
missing value) on a regular :class:`TimeAxis`, with optional past covariates.

Inputs:

* CSV with a header: a timestamp column (``--timestamp-column``, default: a column named like
  ``timestamp``/``date``/``time``/``ds``/``month``..., else the first column) and one or more value columns;
  the target is ``--target`` (default: the first value column). An ``--id-column`` splits long-format files
  (``id,timestamp,value``) into many series.
* JSONL, one series per record: ``{"id": "a", "start": "2020-01-01", "freq": "D", "values": [1, 2, null]}``;
  ``start``/``freq`` optional (an integer index from 0).

Frequencies are inferred from the timestamps (timeaxis.py); gaps (missing timestamps) become missing
values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from rnntools.errors import InputError, UsageError
from rnntools.tasks.forecast.timeaxis import (  # noqa: F401 - the time-axis names were imported from here
    TimeAxis,
    _add_months,
    _month_end,
    _user_freq,
    format_timestamp,
    infer_axis,
    ordinal,
    parse_freq,
    parse_timestamp,
)

MISSING_TEXT = {"", "na", "nan", "n/a", "null", "none", "nil", "-", "?"}
TIME_COLUMN_NAMES = ("timestamp", "time", "date", "datetime", "ds", "period", "month", "year", "week",
                     "day", "hour", "quarter")
ID_COLUMN_NAMES = ("id", "series", "series_id", "unique_id", "item_id")
# the largest magnitude a value may have: squares and sums of millions of such values stay finite in float64,
# so scaling, errors and intervals never overflow (1e308 is a valid double but not a forecastable quantity)
MAX_ABS = 1e150


# --- series -------------------------------------------------------------------------------------------

@dataclass
class Series:
    """One target series; ``values`` float64 with NaN for missing, ``start`` an int or datetime."""

    id: str
    values: np.ndarray
    axis: TimeAxis
    start: object = 0
    covariates: np.ndarray | None = None  # (T, C) float64, past covariates aligned with values
    source: str = ""                      # file:line for messages
    missing: int = 0                      # how many values were missing before the policy was applied
    season: int | None = None             # a JSONL record's own "season", if it has one

    def __len__(self) -> int:
        return len(self.values)

    @property
    def phase0(self) -> int:
        return ordinal(self.axis, self.start)

    def timestamp(self, k: int):
        try:
            return format_timestamp(self.axis, self.start, k)
        except (ValueError, OverflowError):
            raise InputError(f"series {self.id!r}: {k} steps of {self.axis.freq} from its start run past the "
                             f"years a timestamp can hold (9999); forecast a shorter --horizon",
                             self.source or None) from None

    def future_timestamps(self, horizon: int) -> list:
        n = len(self.values)
        return [self.timestamp(n + k) for k in range(horizon)]


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return text.strip().lower() in MISSING_TEXT


def _number(text: str, column: str, path, line: int) -> float:
    s = text.strip()
    if s.lower() in MISSING_TEXT:
        return math.nan
    try:
        value = float(s.replace("_", "x"))  # reject 1_000, which float() would accept
    except ValueError:
        raise InputError(f"column {column!r}: {text.strip()!r} is not a number (missing values may be "
                         f"empty, NA or NaN)", path, line) from None
    if math.isinf(value):
        raise InputError(f"column {column!r}: {text.strip()!r} is infinite", path, line)
    if abs(value) > MAX_ABS:
        raise InputError(f"column {column!r}: {text.strip()!r} is too large to forecast (the limit is "
                         f"{MAX_ABS:g}; rescale the column)", path, line)
    return value


def read_csv_series(path: str, *, target: str | None = None, timestamp_column: str | None = None,
                    id_column: str | None = None, covariates: Iterable[str] = (), freq: str | None = None,
                    encoding_errors: str = "strict") -> list[Series]:
    """Series from a CSV file (one, or one per id with ``id_column``)."""
    from rnntools.io import iter_csv

    rows = iter_csv(path, encoding_errors)
    groups: dict[str, list] = {}
    header = None
    covariates = list(covariates)
    for line_no, row in rows:
        if header is None:
            header = list(row)
            timestamp_column, id_column, target = csv_columns(row, path, target=target, id_column=id_column,
                                                              timestamp_column=timestamp_column, line=line_no)
            value_columns = [h for h in header if h not in (timestamp_column, id_column)]
            for c in covariates:
                if c == target:
                    raise UsageError(f"covariate {c!r} is the target column of {_w(path)}: its past is what the "
                                     "network reads already; a covariate is another value column")
                if c not in header or c in (timestamp_column, id_column):
                    raise UsageError(f"covariate {c!r} is not a value column of {_w(path)} "
                                     f"(columns: {', '.join(v for v in value_columns if v != target)})")
        # one series per file is named after its target column, so predict finds it again whatever the
        # file is called (or when it comes on stdin)
        sid = row[id_column].strip() if id_column else target
        stamp = row[timestamp_column]
        try:
            kind, t, style = parse_timestamp(stamp)
        except ValueError:
            raise InputError(f"column {timestamp_column!r}: {stamp.strip()!r} is not a timestamp (expected "
                             f"ISO dates like 2024-01-31, 2024-01, 2024-01-31T12:00, 2024/01/31 or integers)",
                             path, line_no) from None
        y = _number(row[target], target, path, line_no)
        cov = [_number(row[c], c, path, line_no) for c in covariates]
        groups.setdefault(sid, []).append((t, style, y, cov, line_no))
    if header is None:
        raise InputError("no data rows after the header", path)
    return [_assemble(sid, recs, path, freq, bool(covariates)) for sid, recs in groups.items()]


def csv_columns(row: dict[str, str], path, *, target: str | None = None, id_column: str | None = None,
                timestamp_column: str | None = None, line: int | None = None) -> tuple[str, str | None, str]:
    """The timestamp, id (None: the file is one series) and target columns of a CSV file, from its header
    and its first data row ``row`` (a header name -> text dict, on ``line``), the ones given taken as they
    are."""
    header = list(row)
    timestamp_column = _pick_time_column(header, timestamp_column, path)
    guessed_id = id_column is None
    if id_column is None:
        # a column named like an id, else the first text column (long format: store,date,sales)
        id_column = next((h for h in header if h.lower() in ID_COLUMN_NAMES and h != timestamp_column), None)
        if id_column is None:
            id_column = next((h for h in header if h not in (timestamp_column, target)
                              and not _is_number(row[h])), None)
    elif id_column not in header:
        raise UsageError(f"--id-column {id_column!r} is not a column of {_w(path)} "
                         f"(columns: {', '.join(header)})")
    value_columns = [h for h in header if h not in (timestamp_column, id_column)]
    if target is None:
        if not value_columns:
            if guessed_id and id_column is not None:
                # the only other column held text on the first row, so it was read as a long-format id
                raise InputError(f"no value column besides the timestamp column: column {id_column!r} holds "
                                 f"{row[id_column].strip()!r} on the first row, not a number (write numbers "
                                 f"like 1234.5, without thousands separators)", path, line)
            raise InputError("no value column besides the timestamp column", path, 1)
        # the first column that holds a number (or a missing value) on the first row
        target = next((h for h in value_columns if _is_number(row[h])), value_columns[0])
    elif target not in header:
        raise UsageError(f"--target {target!r} is not a column of {_w(path)} "
                         f"(columns: {', '.join(header)})")
    return timestamp_column, id_column, target


def partitioning(path: str, **columns) -> dict | None:
    """How a cluster may cut ``path`` into byte ranges (rnntools.distributed) so that every range reads as
    its part of the whole file: ``{"cut": "lines"}`` for JSONL (one series per record), ``{"cut": "key",
    "key": column, "options": {...}}`` for a CSV of many series (cut only where the id changes, the header
    carried, the columns resolved from the whole file given to every range), None for a CSV of one series
    (or one that cannot be read: the whole file then gives the error). ``columns``: target, id_column,
    timestamp_column, as the run's reader gets them."""
    from rnntools.errors import RnnToolsError
    from rnntools.io import iter_csv

    if _sniff(path, "strict") == "jsonl":
        return {"cut": "lines"}
    try:
        first = next(iter(iter_csv(path, "replace")), None)
        if first is None:
            return None
        timestamp_column, id_column, target = csv_columns(first[1], path, **columns)
    except (RnnToolsError, OSError):
        return None
    if id_column is None:
        return None
    return {"cut": "key", "key": id_column,
            "options": {"timestamp_column": timestamp_column, "id_column": id_column, "target": target}}


def repeated_id(sid: str, first: str, again: str) -> InputError:
    """A series id read twice: at ``again`` after ``first`` (``file:line`` each) in one file, or in two
    inputs (different files, or not known where)."""
    (a, _, first_line), (b, _, line) = first.rpartition(":"), again.rpartition(":")
    if a and a == b:
        return InputError(f"series id {sid!r} appears again (first on line {first_line})", a, int(line))
    return InputError(f"series id {sid!r} appears in more than one input; give the files distinct names "
                      f"or an id column")


def _json_name(value) -> str:
    return "null" if value is None else "a list" if isinstance(value, list) else \
        "an object" if isinstance(value, dict) else type(value).__name__


def _basename(path: str) -> str:
    import os

    if path == "-":
        return "stdin"
    name = os.path.basename(path)
    for ext in (".gz", ".bz2", ".xz", ".csv", ".jsonl", ".tsv"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name


def _w(path) -> str:
    return "<stdin>" if path == "-" else str(path)


def _pick_time_column(header: list[str], chosen: str | None, path) -> str:
    if chosen is not None:
        if chosen not in header:
            raise UsageError(f"--timestamp-column {chosen!r} is not a column of {_w(path)} "
                             f"(columns: {', '.join(header)})")
        return chosen
    for h in header:
        if h.lower() in TIME_COLUMN_NAMES:
            return h
    return header[0]


def _assemble(sid: str, recs: list, path, freq, with_cov: bool) -> Series:
    stamps = [r[0] for r in recs]
    for i in range(1, len(recs)):
        a, b = stamps[i - 1], stamps[i]
        try:
            order = (b > a) - (b < a)
        except TypeError:
            raise InputError("timestamps mix plain numbers and dates", path, recs[i][4]) from None
        if order == 0:
            raise InputError(f"duplicate timestamp {_show(b)} (also on line {recs[i - 1][4]}) in series "
                             f"{sid!r}; several series in one file need --id-column", path, recs[i][4])
        if order < 0:
            raise InputError(f"timestamp {_show(b)} comes after {_show(a)} in series {sid!r}; sort the rows "
                             f"by time (several series in one file need --id-column)", path, recs[i][4])
    axis, pos = infer_axis(stamps, {r[1] for r in recs}, f"{_w(path)}:{recs[0][4]}", freq,
                           where_at=lambda i: f"{_w(path)}:{recs[i][4]}")
    n = int(pos[-1]) + 1
    values = np.full(n, np.nan)
    values[pos] = [r[2] for r in recs]
    cov = None
    if with_cov:
        cov = np.full((n, len(recs[0][3])), np.nan)
        cov[pos] = [r[3] for r in recs]
    return Series(sid, values, axis, stamps[0], cov, f"{_w(path)}:{recs[0][4]}")


def _show(t) -> str:
    if isinstance(t, datetime):
        return t.date().isoformat() if t.time() == datetime.min.time() and t.tzinfo is None else t.isoformat()
    return str(t)


def read_jsonl_series(path: str, encoding_errors: str = "strict") -> list[Series]:
    """Series from JSONL records ``{"id", "start", "freq", "values"}`` (``start``/``freq`` optional)."""
    return list(iter_jsonl_series(path, encoding_errors))


def iter_jsonl_series(path: str, encoding_errors: str = "strict") -> Iterator[Series]:
    """:func:`read_jsonl_series` one series at a time, as the file is read."""
    from rnntools.io import iter_jsonl

    seen, axes = {}, {}
    for line_no, rec in iter_jsonl(path, encoding_errors):
        if "values" not in rec:
            raise InputError(f"record has no field 'values' (fields: {', '.join(rec) or 'none'}); expected "
                             '{"id": ..., "start": ..., "freq": ..., "values": [...]}', path, line_no)
        vals = rec["values"]
        if not isinstance(vals, list):
            raise InputError("field 'values' should be a list of numbers", path, line_no)
        sid = rec["id"] if "id" in rec else f"{_basename(path)}:{line_no}"
        if isinstance(sid, bool) or not isinstance(sid, (str, int, float)):
            raise InputError(f"field 'id' should be a string or a number, got {_json_name(sid)}", path, line_no)
        sid = str(sid)
        if sid in seen:
            raise repeated_id(sid, f"{_w(path)}:{seen[sid]}", f"{_w(path)}:{line_no}")
        seen[sid] = line_no
        arr = _fast_values(vals)
        for i, v in enumerate(vals if arr is None else ()):
            if i == 0:
                arr = np.empty(len(vals))
            if v is None:
                arr[i] = np.nan
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                if isinstance(v, str):
                    arr[i] = _number(v, f"values[{i}]", path, line_no)
                    continue
                raise InputError(f"values[{i}] is not a number: {json.dumps(v)[:40]}", path, line_no)
            else:
                arr[i] = float(v)
                if math.isinf(arr[i]):
                    raise InputError(f"values[{i}] is infinite", path, line_no)
        big = np.nonzero(np.abs(arr) > MAX_ABS)[0]
        if len(big):
            raise InputError(f"values[{int(big[0])}] = {arr[big[0]]:g} is too large to forecast (the limit is "
                             f"{MAX_ABS:g}; rescale the series)", path, line_no)
        freq = rec.get("freq")
        start = rec.get("start", 0)
        key = (type(freq), freq, type(start), start)
        try:
            axis, start = axes[key]   # a file of many series: most share their start and freq
        except KeyError:
            axis, parsed = _jsonl_axis(rec, freq, start, path, line_no)
            axes[key] = (axis, parsed)
            start = parsed
        except TypeError:             # an unhashable start or freq (a list): the parser names it
            axis, start = _jsonl_axis(rec, freq, start, path, line_no)
        season = rec.get("season")
        if season is not None and (isinstance(season, bool) or not isinstance(season, int) or season < 1):
            raise InputError(f"'season' should be a positive integer, got {season!r}", path, line_no)
        yield Series(sid, arr, axis, start, None, f"{_w(path)}:{line_no}", season=season)


def _jsonl_axis(rec: dict, freq, start, path, line_no: int) -> tuple[TimeAxis, object]:
    """The time axis and the parsed start of a JSONL record with these ``freq`` and ``start`` fields."""
    try:
        if freq is None:
            kind, step = ("int", 1) if not isinstance(start, str) or parse_timestamp(start)[0] == "int" \
                else ("fixed", 86400)
            if kind == "fixed":
                raise InputError("field 'freq' is needed with a date 'start' (e.g. \"D\", \"h\", \"M\")",
                                 path, line_no)
        else:
            kind, step = parse_freq(freq)
    except ValueError:
        raise InputError(f"unknown freq {freq!r} (try s, min, h, D, W, M, Q, Y, optionally with a "
                         f"multiple like 15min)", path, line_no) from None
    if kind == "int":
        if isinstance(start, str):
            try:
                start = int(start)
            except ValueError:
                raise InputError(f"freq {freq!r} is an index step; 'start' should be an integer",
                                 path, line_no) from None
        if not isinstance(start, int) or isinstance(start, bool):
            raise InputError("'start' should be an integer or an ISO date", path, line_no)
        axis = TimeAxis("int", step, "int")
    else:
        if not isinstance(start, str):
            raise InputError("'start' should be an ISO date like 2024-01-31 for a calendar freq",
                             path, line_no)
        try:
            skind, start, style = parse_timestamp(start)
            if skind == "int" and kind == "month" and re.fullmatch(r"\d{4}", rec["start"].strip()):
                skind, start, style = "dt", datetime(start, 1, 1), "year"   # "start": "1821"
        except ValueError:
            skind = "bad"
        if skind != "dt":
            raise InputError(f"'start' {rec['start']!r} is not a date", path, line_no)
        month_end = kind == "month" and _month_end(start) and start.day > 1
        if style == "year" and step % 12:
            style = "month"
        axis = TimeAxis(kind, step, style if kind == "month" or style != "month" else "date", month_end,
                        start.strftime("%z") or None)
    return axis, start


_PLAIN = {int, float, type(None)}


def _fast_values(vals: list):
    """float64 (None -> NaN) when every value is a plain number or null, else None (the slow path then
    checks each value and names the bad one)."""
    types = set(map(type, vals))
    if not types <= _PLAIN:
        return None
    try:
        arr = np.array(vals, dtype=np.float64) if vals else np.empty(0)
    except OverflowError:
        return None
    return None if np.isinf(arr).any() else arr


def read_series(paths: list[str], *, fmt: str | None = None, **csv_options) -> list[Series]:
    """Series from CSV or JSONL inputs (by extension, or by the first character on stdin)."""
    return list(iter_series(paths, fmt=fmt, **csv_options))


def iter_series(paths: list[str], *, fmt: str | None = None, **csv_options) -> Iterator[Series]:
    """:func:`read_series` one series at a time: a JSONL series as soon as its line is read (a CSV file is
    grouped by id, so its series come when the file is read), so that a batch ``predict`` forecasts while it
    reads. An id in two inputs is an error when the second is read."""
    files: dict[str, int] = {}       # series id -> the input it came from
    encoding_errors = csv_options.get("encoding_errors", "strict")
    for k, path in enumerate(paths):
        kind = fmt or _sniff(path, encoding_errors)
        if kind == "jsonl":
            if csv_options.get("covariates"):
                raise UsageError(f"covariates are read from CSV columns; {_w(path)} is JSONL")
            series = iter_jsonl_series(path, encoding_errors)
        else:
            # a range of a file cut for a cluster reads with the columns resolved from the whole file
            series = read_csv_series(path, **{**csv_options, **(getattr(path, "options", None) or {})})
        for s in series:
            if files.setdefault(s.id, k) != k:
                raise repeated_id(s.id, "", "")
            yield s
    if not files:
        raise InputError("no series in the input", paths[0] if paths else None)


def _sniff(path: str, encoding_errors: str) -> str:
    lower = path.lower()
    for ext in (".gz", ".bz2", ".xz"):
        if lower.endswith(ext):
            lower = lower[: -len(ext)]
    if lower.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if lower.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if path == "-":
        import sys

        raw = sys.stdin.buffer
        try:
            head = raw.peek(64)[:64] if hasattr(raw, "peek") else b""
        except OSError as exc:  # standard input open only for writing (`0> FILE`): was blamed on standard output
            from rnntools.io.inputs import _os_reason

            raise InputError(f"cannot read ({_os_reason(exc)})", path, 1) from None
        return "jsonl" if head.lstrip().startswith(b"{") else "csv"
    return "csv"


# --- missing values -----------------------------------------------------------------------------------

def apply_missing(series: Series, policy: str) -> int:
    """Fill NaNs in place by ``policy`` (``error``, ``interpolate``, ``ffill``); returns how many were missing.

    Leading and trailing missing values are dropped (nothing to interpolate from; a forecast should start
    after the last real observation); the start moves with them. ``error`` names the series and the first
    missing timestamp.
    """
    v = series.values
    if series.covariates is None and len(v) and not np.isnan(v).any():   # the usual case, one check
        series.missing = 0
        return 0
    ok = ~np.isnan(v)
    if not ok.any():
        raise InputError(f"series {series.id!r} has no values", series.source or None)
    first, last = int(np.argmax(ok)), len(v) - 1 - int(np.argmax(ok[::-1]))
    missing = int((~ok).sum())
    if missing and policy == "error":
        stamp = series.timestamp(int(np.argmax(~ok)))
        stamp = stamp if isinstance(stamp, str) else _show(stamp)
        raise InputError(f"series {series.id!r} has {missing} missing value(s), the first at {stamp}; "
                         f"pass --missing interpolate or --missing ffill", series.source or None)
    if first or last < len(v) - 1:
        series.start = _shift_start(series, first)
        v = v[first:last + 1]
        if series.covariates is not None:
            series.covariates = series.covariates[first:last + 1]
    v = v.copy()
    gaps = np.isnan(v)
    if gaps.any():
        idx = np.arange(len(v))
        if policy == "interpolate":
            v[gaps] = np.interp(idx[gaps], idx[~gaps], v[~gaps])
        elif policy == "ffill":
            keep = np.where(~gaps, idx, 0)
            v = v[np.maximum.accumulate(keep)]
        else:
            raise ValueError(policy)
    if series.covariates is not None:
        c = series.covariates
        for j in range(c.shape[1]):
            col = c[:, j]
            bad = np.isnan(col)
            if bad.all():
                c[:, j] = 0.0
            elif bad.any():
                idx = np.arange(len(col))
                c[bad, j] = np.interp(idx[bad], idx[~bad], col[~bad])
    series.values = v
    series.missing = missing
    return missing


def _shift_start(series: Series, k: int):
    if k == 0:
        return series.start
    if series.axis.kind == "int":
        return int(series.start) + k * series.axis.step
    if series.axis.kind == "month":
        return _add_months(series.start, k * series.axis.step, series.axis.month_end)
    return series.start + timedelta(seconds=k * series.axis.step)
