"""Time series data for forecasting: reading, time axes, missing values, scaling, differencing, metrics.

Nothing here knows about neural networks. A :class:`Series` is one univariate target (float64, NaN for a
missing value) on a regular :class:`TimeAxis`, with optional past covariates.

Inputs:

* CSV with a header: a timestamp column (``--timestamp-column``, default: a column named like
  ``timestamp``/``date``/``time``/``ds``/``month``..., else the first column) and one or more value columns;
  the target is ``--target`` (default: the first value column). An ``--id-column`` splits long-format files
  (``id,timestamp,value``) into many series.
* JSONL, one series per record: ``{"id": "a", "start": "2020-01-01", "freq": "D", "values": [1, 2, null]}``;
  ``start``/``freq`` optional (an integer index from 0).

Time axes are one of: an integer index (timestamps are plain integers, e.g. years 1700..1988), a fixed
step in seconds (seconds ... weeks), or a step in calendar months (months, quarters, years). Frequencies are
inferred from the timestamps; gaps (missing timestamps) become missing values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from rnntools.errors import InputError, UsageError

MISSING_TEXT = {"", "na", "nan", "n/a", "null", "none", "nil", "-", "?"}
TIME_COLUMN_NAMES = ("timestamp", "time", "date", "datetime", "ds", "period", "month", "year", "week",
                     "day", "hour", "quarter")
ID_COLUMN_NAMES = ("id", "series", "series_id", "unique_id", "item_id")
# the largest magnitude a value may have: squares and sums of millions of such values stay finite in float64,
# so scaling, errors and intervals never overflow (1e308 is a valid double but not a forecastable quantity)
MAX_ABS = 1e150


# --- time axes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeAxis:
    """A regular time axis. ``kind``: ``int`` (step in index units), ``fixed`` (step in seconds) or
    ``month`` (step in calendar months). ``style`` says how timestamps are written back
    (``int``, ``date``, ``month``, ``datetime``); ``month_end``: monthly dates sit on the last day."""

    kind: str
    step: int
    style: str = "int"
    month_end: bool = False
    tz: str | None = None  # kept only as the isoformat suffix of datetimes

    @property
    def freq(self) -> str:
        """A short human frequency name: ``1`` (index), ``15min``, ``h``, ``D``, ``W``, ``M``, ``Q``, ``Y``."""
        if self.kind == "int":
            return str(self.step)
        if self.kind == "month":
            return {1: "M", 3: "Q", 12: "Y"}.get(self.step, f"{self.step}M")
        for unit, seconds in (("W", 604800), ("D", 86400), ("h", 3600), ("min", 60), ("s", 1)):
            if self.step % seconds == 0:
                n = self.step // seconds
                return unit if n == 1 else f"{n}{unit}"
        raise AssertionError(self.step)  # pragma: no cover

    def default_season(self) -> int:
        """The seasonal period people expect for this frequency (1 means no seasonality)."""
        if self.kind == "int":
            return 1
        if self.kind == "month":
            return {1: 12, 3: 4, 6: 2}.get(self.step, 1)
        per_day = 86400 / self.step
        if self.step >= 604800:
            return 52 if self.step == 604800 else 1
        if self.step >= 86400:
            return 7 if self.step == 86400 else 1
        # sub-daily: one day (24 hourly, 48 half-hourly, 96 quarter-hourly); finer steps are rarely seasonal
        # at a lag that short windows could see
        return int(per_day) if per_day == int(per_day) and per_day <= 288 else 1

    def to_meta(self) -> dict:
        return {"kind": self.kind, "step": self.step, "style": self.style, "month_end": self.month_end,
                "tz": self.tz}

    @staticmethod
    def from_meta(d: dict) -> TimeAxis:
        return TimeAxis(d["kind"], int(d["step"]), d.get("style", "int"), bool(d.get("month_end")), d.get("tz"))


_FREQ_RE = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)(?:-[A-Za-z]+)?\s*$")
_FREQ_UNITS = {
    "s": ("fixed", 1), "S": ("fixed", 1), "sec": ("fixed", 1),
    "min": ("fixed", 60), "T": ("fixed", 60),
    "h": ("fixed", 3600), "H": ("fixed", 3600),
    "D": ("fixed", 86400), "d": ("fixed", 86400),
    "W": ("fixed", 604800), "w": ("fixed", 604800),
    "M": ("month", 1), "MS": ("month", 1), "ME": ("month", 1),
    "Q": ("month", 3), "QS": ("month", 3), "QE": ("month", 3),
    "Y": ("month", 12), "A": ("month", 12), "YS": ("month", 12), "AS": ("month", 12), "YE": ("month", 12),
}


def parse_freq(text) -> tuple[str, int]:
    """``(kind, step)`` from a frequency name (``D``, ``15min``, ``2H``, ``MS``, ``Q``, ``W-SUN``) or an
    integer (an integer index with that step)."""
    if isinstance(text, bool):
        raise ValueError(text)
    if isinstance(text, int):
        if text < 1:
            raise ValueError(text)
        return "int", text
    text = str(text)
    if text.strip().isdigit():
        return "int", max(1, int(text))
    m = _FREQ_RE.match(text)
    if not m or m.group(2) not in _FREQ_UNITS:
        raise ValueError(text)
    kind, unit = _FREQ_UNITS[m.group(2)]
    n = int(m.group(1) or 1)
    if n < 1:
        raise ValueError(text)
    return kind, n * unit


_YM_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
_YQ_RE = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.I)


def parse_timestamp(text: str):
    """``(kind, value, style)``: ``("int", n, "int")`` or ``("dt", datetime, style)``; ValueError if neither."""
    s = text.strip()
    if re.fullmatch(r"[+-]?\d+", s) and not re.fullmatch(r"\d{8}", s):
        return "int", int(s), "int"
    m = _YM_RE.match(s)
    if m:
        return "dt", datetime(int(m.group(1)), int(m.group(2)), 1), "month"
    m = _YQ_RE.match(s)
    if m:
        return "dt", datetime(int(m.group(1)), 3 * int(m.group(2)) - 2, 1), "quarter"
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    value = datetime.fromisoformat(s)
    style = "date" if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", text.strip()) else "datetime"
    return "dt", value, style


def _months(d: datetime) -> int:
    return d.year * 12 + d.month - 1


def _month_end(d: datetime) -> bool:
    return (d + timedelta(days=1)).month != d.month


def _add_months(d: datetime, k: int, month_end: bool) -> datetime:
    total = _months(d) + k
    year, month = divmod(total, 12)
    month += 1
    if month_end:
        nxt = datetime(year + (month == 12), month % 12 + 1, 1, d.hour, d.minute, d.second, tzinfo=d.tzinfo)
        return nxt - timedelta(days=1)
    last = (datetime(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return d.replace(year=year, month=month, day=min(d.day, last))


_EPOCH = datetime(1970, 1, 5)  # a Monday: weekly ordinals count weeks that start on Mondays


def _seconds(d: datetime) -> float:
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return (d - _EPOCH).total_seconds()


def infer_axis(values: list, styles: set[str], where_: str, freq: str | None = None) -> tuple[TimeAxis, np.ndarray]:
    """The time axis of sorted, distinct timestamps and each timestamp's position on it (int64, from 0).

    ``values``: ints, or datetimes; ``freq`` forces the step instead of inferring it. Positions may skip
    (gaps, which become missing values).
    """
    if all(isinstance(v, int) for v in values):
        if freq is not None:
            kind, step = _user_freq(freq)
            if kind != "int":
                raise UsageError(f"--freq {freq} needs date timestamps; {where_} has an integer index")
        else:
            diffs = np.diff(np.asarray(values, np.int64))
            step = int(np.gcd.reduce(diffs)) if len(diffs) else 1
        pos = (np.asarray(values, np.int64) - values[0])
        if np.any(pos % step):
            raise InputError(f"timestamps are not on a regular step of {step}", where_)
        return TimeAxis("int", step, "int"), pos // step
    if any(isinstance(v, int) for v in values):
        raise InputError("timestamps mix plain numbers and dates", where_)
    style = "month" if styles == {"month"} else "quarter" if styles == {"quarter"} else \
        "date" if styles <= {"date", "month", "quarter"} else "datetime"
    tz = values[0].strftime("%z") or None
    same_day = all(v.day == values[0].day and v.time() == values[0].time() for v in values)
    month_end = len(values) > 1 and all(_month_end(v) for v in values) and not same_day
    if freq is not None:
        kind, step = _user_freq(freq)
        if kind == "int":
            raise UsageError(f"--freq {freq} is an index step but {where_} has date timestamps")
    elif len(values) < 2:
        kind, step = "fixed", 86400
    elif same_day or month_end:
        months = np.array([_months(v) for v in values], np.int64)
        kind, step = "month", int(np.gcd.reduce(np.diff(months)))
    else:
        kind = "fixed"
        secs = np.array([_seconds(v) for v in values])
        step = int(round(np.min(np.diff(secs))))
    if kind == "month":
        months = np.array([_months(v) for v in values], np.int64)
        off = months - months[0]
        if np.any(off % step) or not (same_day or month_end or len(values) < 2):
            raise InputError(f"timestamps are not on a regular step of {TimeAxis(kind, step).freq}", where_)
        pos = off // step
    else:
        secs = np.array([_seconds(v) for v in values])
        off = secs - secs[0]
        pos = np.round(off / step).astype(np.int64)
        if np.any(np.abs(off - pos * step) > 1e-6):
            bad = int(np.argmax(np.abs(off - pos * step) > 1e-6))
            raise InputError(f"timestamp {values[bad].isoformat()} is not on the regular "
                             f"{TimeAxis(kind, step).freq} step of the others (pass --freq?)", where_)
    if freq is not None and len(pos) > 1 and pos[-1] + 1 > 2 * len(pos):
        # a --freq finer than the data (D on monthly dates) would invent most of the series by filling gaps
        raise UsageError(f"--freq {freq} puts the {len(pos)} timestamps of {where_} on {int(pos[-1]) + 1} steps: "
                         f"most values would be made up; the timestamps look like another frequency (drop "
                         f"--freq to infer it)")
    if style == "quarter" and not (kind == "month" and step % 3 == 0):
        style = "month"
    if style == "month" and not (kind == "month"):
        style = "date"
    return TimeAxis(kind, step, style, month_end, tz), pos


def format_timestamp(axis: TimeAxis, start, k: int):
    """The timestamp ``k`` steps after ``start`` (an int or a datetime), in the axis's style."""
    if axis.kind == "int":
        return int(start) + k * axis.step
    if axis.kind == "month":
        d = _add_months(start, k * axis.step, axis.month_end)
    else:
        d = start + timedelta(seconds=k * axis.step)
    if axis.style == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if axis.style == "year":
        return f"{d.year:04d}"
    if axis.style == "quarter":
        return f"{d.year:04d}Q{(d.month - 1) // 3 + 1}"
    if axis.style == "date":
        return d.strftime("%Y-%m-%d")
    return d.isoformat()


def ordinal(axis: TimeAxis, start) -> int:
    """Whole steps from a fixed epoch to ``start``: its position modulo the season is the calendar phase
    (month of year, hour of day, weekday...), the same for every series on the same axis."""
    if axis.kind == "int":
        return int(start) // axis.step
    if axis.kind == "month":
        return _months(start) // axis.step
    return int(math.floor(_seconds(start) / axis.step + 1e-9))


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
            timestamp_column = _pick_time_column(header, timestamp_column, path)
            if id_column is None:
                # a column named like an id, else the first text column (long format: store,date,sales)
                id_column = next((h for h in header if h.lower() in ID_COLUMN_NAMES and h != timestamp_column),
                                 None)
                if id_column is None:
                    id_column = next((h for h in header if h not in (timestamp_column, target)
                                      and not _is_number(row[h])), None)
            elif id_column not in header:
                raise UsageError(f"--id-column {id_column!r} is not a column of {_w(path)} "
                                 f"(columns: {', '.join(header)})")
            value_columns = [h for h in header if h not in (timestamp_column, id_column)]
            if target is None:
                if not value_columns:
                    raise InputError("no value column besides the timestamp column", path, 1)
                # the first column that holds a number (or a missing value) on the first row
                target = next((h for h in value_columns if _is_number(row[h])), value_columns[0])
            elif target not in header:
                raise UsageError(f"--target {target!r} is not a column of {_w(path)} "
                                 f"(columns: {', '.join(header)})")
            for c in covariates:
                if c not in header or c in (timestamp_column, target, id_column):
                    raise UsageError(f"covariate {c!r} is not a value column of {_w(path)} "
                                     f"(columns: {', '.join(value_columns)})")
        # one series per file is named after its target column, so predict finds it again whatever the
        # file is called (or when it comes on stdin)
        sid = row[id_column].strip() if id_column else target
        stamp = row[timestamp_column]
        try:
            kind, t, style = parse_timestamp(stamp)
        except ValueError:
            raise InputError(f"column {timestamp_column!r}: {stamp.strip()!r} is not a timestamp (expected "
                             f"ISO dates like 2024-01-31, 2024-01, 2024-01-31T12:00 or integers)",
                             path, line_no) from None
        y = _number(row[target], target, path, line_no)
        cov = [_number(row[c], c, path, line_no) for c in covariates]
        groups.setdefault(sid, []).append((t, style, y, cov, line_no))
    if header is None:
        raise InputError("no data rows after the header", path)
    return [_assemble(sid, recs, path, freq, bool(covariates)) for sid, recs in groups.items()]


def _json_name(value) -> str:
    return "null" if value is None else "a list" if isinstance(value, list) else \
        "an object" if isinstance(value, dict) else type(value).__name__


def _user_freq(freq: str) -> tuple[str, int]:
    """parse_freq for a --freq the user typed: an unknown name is a usage error."""
    try:
        return parse_freq(freq)
    except ValueError:
        raise UsageError(f"--freq {freq!r} is not a frequency (try s, min, h, D, W, M, Q, Y, optionally with a "
                         f"multiple like 15min)") from None


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
    axis, pos = infer_axis(stamps, {r[1] for r in recs}, f"{_w(path)}:{recs[0][4]}", freq)
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
    from rnntools.io import iter_jsonl

    out, seen = [], {}
    for line_no, rec in iter_jsonl(path, encoding_errors):
        if "values" not in rec:
            raise InputError(f"record has no field 'values' (fields: {', '.join(rec) or 'none'}); expected "
                             '{"id": ..., "start": ..., "freq": ..., "values": [...]}', path, line_no)
        vals = rec["values"]
        if not isinstance(vals, list):
            raise InputError("field 'values' should be a list of numbers", path, line_no)
        sid = rec.get("id", f"{_basename(path)}:{line_no}")
        if isinstance(sid, bool) or not isinstance(sid, (str, int, float)):
            raise InputError(f"field 'id' should be a string or a number, got {_json_name(sid)}", path, line_no)
        sid = str(sid)
        if sid in seen:
            raise InputError(f"series id {sid!r} appears again (first on line {seen[sid]})", path, line_no)
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
                raise InputError(f"values[{i}] is not a number: {v!r}", path, line_no)
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
        season = rec.get("season")
        if season is not None and (isinstance(season, bool) or not isinstance(season, int) or season < 1):
            raise InputError(f"'season' should be a positive integer, got {season!r}", path, line_no)
        out.append(Series(sid, arr, axis, start, None, f"{_w(path)}:{line_no}", season=season))
    return out


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
    out: list[Series] = []
    encoding_errors = csv_options.get("encoding_errors", "strict")
    for path in paths:
        kind = fmt or _sniff(path, encoding_errors)
        if kind == "jsonl":
            if csv_options.get("covariates"):
                raise UsageError(f"covariates are read from CSV columns; {_w(path)} is JSONL")
            out.extend(read_jsonl_series(path, encoding_errors))
        else:
            out.extend(read_csv_series(path, **csv_options))
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"series id {dup!r} appears in more than one input; give the files distinct names "
                         f"or an id column")
    if not out:
        raise InputError("no series in the input", paths[0] if paths else None)
    return out


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
        head = raw.peek(64)[:64] if hasattr(raw, "peek") else b""
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
