"""JSON arrays of numbers rounded to a few decimals, printed by a numba kernel: the same bytes as Python's
``str(list)`` / ``json.dumps`` give for such values, about ten times faster.

Why: a batch forecast writes 90 numbers per series (the forecast and four bounds over 18 steps); for 10,000
series, ``float.__repr__`` (the shortest string that reads back as the same double) took 0.4-0.5 s of CPU,
as long as the forecasts themselves. The values are already rounded: each is ``k / 10**d`` for an integer k
and the row's decimals d, the double nearest to that decimal. For such a value with at most 15 significant
digits the shortest round-trip string *is* the decimal's digits (two different decimals of 15 digits or fewer
never share a double), so printing k with its point d places from the right, trailing zeros dropped and at
least one digit after the point, is what ``repr`` prints. The kernel checks that premise for every value
(``k / 10**d`` gives back the value exactly, ``|k| < 10**15``, and the value is 0 or at least 1e-4, below
which ``repr`` switches to an exponent) and leaves any row where it fails to ``str(list)``.
"""

from __future__ import annotations

import math

import numpy as np

from rnntools.jit import njit

MAX_DECIMALS = 15
# exact doubles 10**0 .. 10**15
_POW10_F = np.array([10.0 ** i for i in range(MAX_DECIMALS + 1)])
_LIMIT = 10 ** 15   # at most 15 significant digits: a value's decimal is then its shortest repr
# one value at most: sign, 15 digits, point, a leading "0." of a pure fraction, and ", "
_BYTES_PER_VALUE = 24


@njit(cache=True, nogil=True, error_model="numpy")
def _write_int(out, pos, v):
    """The decimal digits of v >= 0 at out[pos:]; returns the position after them."""
    n = 1
    t = v
    while t >= 10:
        t //= 10
        n += 1
    end = pos + n
    for j in range(end - 1, pos - 1, -1):
        out[j] = 48 + v % 10
        v //= 10
    return end


@njit(cache=True, nogil=True, error_model="numpy")
def write_decimal(out, pos, k, d):
    """``repr(k / 10**d)`` at out[pos:] for integers 0 <= k < 10**15 and 0 <= d <= 15 (that value's digits,
    see the module docstring); returns the position after them. From the point: the places without their
    trailing zeros, at least one ("2.0"); below 1e-4 ``repr``'s exponent form: the significant digits with a
    point after the first, "e-" and two or more digits ("1e-05", "9.9e-05")."""
    p = 1
    for _ in range(d):
        p *= 10
    if k == 0 or k >= p // 10000:
        pos = _write_int(out, pos, k // p)
        out[pos] = 46  # .
        pos += 1
        frac = k % p
        places = d
        while places > 0 and frac % 10 == 0:
            frac //= 10
            places -= 1
        if places == 0:
            out[pos] = 48  # "x.0"
            return pos + 1
        end = pos + places
        for q in range(end - 1, pos - 1, -1):
            out[q] = 48 + frac % 10
            frac //= 10
        return end
    exponent = d           # k / 10**d = m.mmm * 10**-exponent, with m the first digit of k
    t = k
    while t >= 10:
        t //= 10
        exponent -= 1
    while k % 10 == 0:
        k //= 10
    end = _write_int(out, pos, k)
    if end - pos > 1:      # the point after the first digit
        for q in range(end, pos + 1, -1):
            out[q] = out[q - 1]
        out[pos + 1] = 46  # .
        end += 1
    out[end] = 101  # e
    out[end + 1] = 45  # -
    end += 2
    if exponent < 10:
        out[end] = 48
        end += 1
    return _write_int(out, end, exponent)


def decimal_text(k: int, d: int) -> str:
    """:func:`write_decimal` in plain Python (its reference): ``repr(k / 10**d)``, written from the digits."""
    p = 10 ** d
    if k == 0 or k >= p // 10000:
        places = f"{k % p:0{d}d}".rstrip("0") if d else ""
        return f"{k // p}.{places or '0'}"
    digits = str(k).rstrip("0")
    exponent = d - (len(str(k)) - 1)
    return digits[0] + ("." + digits[1:] if len(digits) > 1 else "") + f"e-{exponent:02d}"


@njit(cache=True, nogil=True, error_model="numpy")
def decimal_rows(x, decimals, pow10_f, out, ends, ok):
    """Row r of x (R, n) as the JSON array ``[a, b, ...]`` (", " between values) of its values printed with
    ``decimals[r]`` places, trailing zeros dropped, written at ``out`` after row r-1's text; ``ends[r]`` is
    where row r's text ends. ``ok[r]`` is False (and nothing written) when some value of the row is not
    ``k / 10**d`` exactly as the module docstring requires."""
    pos = 0
    R, n = x.shape
    for r in range(R):
        start = pos
        d = decimals[r]
        good = 0 <= d <= 15
        if good:
            p = pow10_f[d]
            out[pos] = 91  # [
            pos += 1
            for j in range(n):
                v = x[r, j]
                if not (abs(v) < _LIMIT) or (v != 0.0 and abs(v) < 1e-4):
                    good = False
                    break
                k = np.int64(math.floor(v * p + 0.5))   # not np.round: its module imports scipy.linalg
                if abs(k) >= _LIMIT or k / p != v:
                    good = False
                    break
                if j:
                    out[pos] = 44  # ,
                    out[pos + 1] = 32
                    pos += 2
                if k < 0 or (k == 0 and math.copysign(1.0, v) < 0.0):
                    out[pos] = 45  # -
                    pos += 1
                pos = write_decimal(out, pos, abs(k), d)
        if good:
            out[pos] = 93  # ]
            pos += 1
        else:
            pos = start
        ends[r] = pos
        ok[r] = good


def decimal_rows_json(x: np.ndarray, decimals: np.ndarray) -> list[str | None]:
    """Each row of ``x`` (R, n) as the text ``str(row.tolist())`` gives (which is its JSON), for rows of
    values rounded to ``decimals`` (R,) places; None for a row of other values (the caller prints those its
    own way: ``str`` of a row with a non-finite value is not JSON)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    R, n = x.shape
    out = np.empty(R * (n * _BYTES_PER_VALUE + 2), dtype=np.uint8)
    ends = np.empty(R, dtype=np.int64)
    ok = np.empty(R, dtype=np.bool_)
    decimal_rows(x, np.ascontiguousarray(decimals, dtype=np.int64), _POW10_F, out, ends, ok)
    text = out[:ends[-1]].tobytes().decode("ascii") if R else ""
    rows: list[str | None] = []
    start = 0
    for end, good in zip(ends.tolist(), ok.tolist()):
        rows.append(text[start:end] if good else None)
        start = end
    return rows


def decimal_rows_reference(x: np.ndarray, decimals: np.ndarray) -> list[str | None]:
    """:func:`decimal_rows_json` in plain Python: the rows the kernel may print, printed by ``str``."""
    rows: list[str | None] = []
    for row, d in zip(np.asarray(x, dtype=np.float64), np.asarray(decimals).tolist()):
        good = 0 <= d <= MAX_DECIMALS
        for v in row.tolist():
            if not good:
                break
            if not abs(v) < _LIMIT or (v != 0.0 and abs(v) < 1e-4):
                good = False
                break
            k = math.floor(v * 10.0 ** d + 0.5)
            good = abs(k) < _LIMIT and k / 10.0 ** d == v
        rows.append(str(row.tolist()) if good else None)
    return rows
