"""Time axes of forecast series: frequencies, timestamps (parsing, inference from a column, formatting),
calendar ordinals.

A time axis is one of: an integer index (timestamps are plain integers, e.g. years 1700..1988), a fixed
step in seconds (seconds ... weeks), or a step in calendar months (months, quarters, years). Frequencies are
inferred from the timestamps; gaps (missing timestamps) become missing values (series.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from rnntools.errors import InputError, UsageError

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
        """The axis a model file saved; a ValueError for an entry this module never writes (a hand-edited
        ``"kind"`` or ``"step": 0`` was blamed on the input's timestamps, a ``"month_end": "no"`` read as true)."""
        kind, step, style = d["kind"], d["step"], d.get("style", "int")
        month_end, tz = d.get("month_end", False), d.get("tz")
        if kind not in ("int", "fixed", "month"):
            raise ValueError(f"axis kind is {kind!r}, expected int, fixed or month")
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 1 << 53:
            raise ValueError(f"axis step is {step!r}, expected a whole number of at least 1")
        if style not in STYLES:
            raise ValueError(f"axis style is {style!r}, expected one of {', '.join(STYLES)}")
        if not isinstance(month_end, bool):
            raise ValueError(f"axis month_end is {month_end!r}, expected true or false")
        if tz is not None and not (isinstance(tz, str) and re.fullmatch(r"[+-]\d{4}(\d{2}(\.\d{6})?)?", tz)):
            raise ValueError(f"axis tz is {tz!r}, expected null or a UTC offset like +0100")
        return TimeAxis(kind, step, style, month_end, tz)


# how timestamps are written back (format_timestamp)
STYLES = ("int", "date", "datetime", "month", "quarter", "year")


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
        if int(text) < 1:
            raise ValueError(text)
        return "int", int(text)
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
_YMD_SLASH_RE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})((?:[ T].*)?)$")


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
    m = _YMD_SLASH_RE.match(s)
    if m:  # year first with slashes (2024/01/31, spreadsheets' export): unambiguous, read as ISO
        s = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}{m.group(4)}"
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    value = datetime.fromisoformat(s)
    style = "date" if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", s) else "datetime"
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


# a series whose timestamps span more than this many times its values, and MAX_GAP_SLACK steps more, would
# be mostly made up by filling the gaps (a mistyped timestamp: 1990, ..., 2020, 20100), and a gap of 10**15
# steps would ask for petabytes
MAX_GAP_RATIO, MAX_GAP_SLACK = 10, 10_000


def infer_axis(values: list, styles: set[str], where_: str, freq: str | None = None,
               where_at=None) -> tuple[TimeAxis, np.ndarray]:
    """The time axis of sorted, distinct timestamps and each timestamp's position on it (int64, from 0).

    ``values``: ints, or datetimes; ``freq`` forces the step instead of inferring it. Positions may skip
    (gaps, which become missing values). ``where_at(i)`` names the place of ``values[i]`` (default:
    ``where_``), for a gap so long that most of the series would be made up.
    """
    where_at = where_at or (lambda i: where_)
    if all(isinstance(v, int) for v in values):
        if freq is not None:
            kind, step = _user_freq(freq)
            if kind != "int":
                raise UsageError(f"--freq {freq} needs date timestamps; {where_} has an integer index")
        else:
            step = 0
            for a, b in zip(values, values[1:]):
                step = math.gcd(step, b - a)
            step = step or 1
        # Python integers: timestamps past int64 (a nanosecond clock times 1000) are read exactly
        offsets = [v - values[0] for v in values]
        if any(o % step for o in offsets):
            raise InputError(f"timestamps are not on a regular step of {step}", where_)
        pos = [o // step for o in offsets]
        _check_span(pos, values, TimeAxis("int", step).freq, where_at)
        return TimeAxis("int", step, "int"), np.asarray(pos, np.int64)
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
    _check_span(pos, values, TimeAxis(kind, step).freq, where_at)
    if style == "quarter" and not (kind == "month" and step % 3 == 0):
        style = "month"
    if style == "month" and not (kind == "month"):
        style = "date"
    return TimeAxis(kind, step, style, month_end, tz), pos


def _check_span(pos, values: list, freq: str, where_at) -> None:
    """A series whose gaps would be most of it is an error naming the longest gap's far end."""
    steps, count = int(pos[-1]) + 1, len(pos)
    if steps <= MAX_GAP_RATIO * count + MAX_GAP_SLACK:
        return
    i = max(range(1, count), key=lambda j: pos[j] - pos[j - 1])
    show = [(v.date() if v.time() == datetime.min.time() and v.tzinfo is None else v).isoformat()
            if isinstance(v, datetime) else str(v) for v in (values[i - 1], values[i])]
    raise InputError(f"timestamp {show[1]} comes {int(pos[i] - pos[i - 1])} steps of {freq} after {show[0]}: the "
                     f"series would span {steps} steps for its {count} values, most of them made up by filling "
                     f"the gap; is a timestamp wrong?", where_at(i))


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


def _user_freq(freq: str) -> tuple[str, int]:
    """parse_freq for a --freq the user typed: an unknown name is a usage error."""
    try:
        return parse_freq(freq)
    except ValueError:
        raise UsageError(f"--freq {freq!r} is not a frequency (try s, min, h, D, W, M, Q, Y, optionally with a "
                         f"multiple like 15min)") from None
