"""io.decimals: rows of rounded numbers printed by a numba kernel, the same text as ``str(list)`` (their JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnntools.io.decimals import decimal_rows_json, decimal_rows_reference, decimal_text, write_decimal


def _rounded_rows(rng, R, n):
    """Rows rounded to 6 significant digits of their largest value, as the forecaster rounds them, with
    magnitudes from 1e-7 to 1e14 (the small ones beyond what the kernel may print)."""
    x = rng.normal(0, 1, (R, n)) * 10.0 ** rng.integers(-7, 15, (R, 1))
    d = np.clip(5 - np.floor(np.log10(np.abs(x).max(1))), 0, 15).astype(np.int64)
    p = 10.0 ** d[:, None]
    return np.round(x * p) / p, d


def test_the_kernel_prints_what_str_prints_and_leaves_the_rest():
    rng = np.random.default_rng(3)
    x, d = _rounded_rows(rng, 4000, 7)
    x[::37, 1] = -0.0
    x[::41, 2] = 0.0
    x[::43] = np.round(x[::43])           # integral values: "12.0"
    x[::47, 3] = np.inf
    x[::53, 4] = np.nan
    d[::59] = 16                          # more places than the kernel prints
    got = decimal_rows_json(x, d)
    assert got == decimal_rows_reference(x, d)
    printed = [(g, row) for g, row in zip(got, x) if g is not None]
    assert 2000 < len(printed) < 4000     # both kinds of rows are there
    for text, row in printed:
        assert text == str(row.tolist())
        assert json.loads(text) == row.tolist()
    assert "-0.0" in "".join(g for g, _ in printed)


@pytest.mark.parametrize("x, d, expected", [
    ([[0.0001, 1.5, 100.0]], [4], "[0.0001, 1.5, 100.0]"),
    ([[0.00001]], [5], None),                          # repr: 1e-05
    ([[123456789012345.0]], [0], "[123456789012345.0]"),
    ([[1234567890123456.0]], [0], None),               # 16 digits
    ([[-0.0, 0.0, -2.5]], [1], "[-0.0, 0.0, -2.5]"),
    ([[0.1 + 0.2]], [2], None),                        # not a value rounded to 2 places
    ([[]], [3], "[]"),
])
def test_edge_values(x, d, expected):
    got = decimal_rows_json(np.array(x, dtype=np.float64).reshape(len(x), -1), np.array(d))
    assert got == [expected]
    if expected is not None:
        assert expected == str(x[0])


def test_no_rows():
    assert decimal_rows_json(np.zeros((0, 5)), np.zeros(0, np.int64)) == []


def test_one_decimal_is_its_repr_in_both_forms():
    """``write_decimal(k, d)`` and its plain-Python twin ``decimal_text`` print ``repr(k / 10**d)``: the fixed
    form and, below 1e-4, the exponent form (which ``decimal_rows`` leaves to ``str``), for k from 0 to
    10**15 - 1 and d from 0 to 15."""
    rng = np.random.default_rng(4)
    cases = [(0, 0), (0, 7), (1, 15), (10 ** 15 - 1, 15), (10 ** 15 - 1, 0), (99, 6), (100, 6), (10, 6), (40, 6),
             (1, 4), (1, 5), (123, 9), (1000001, 6)]
    cases += [(int(rng.integers(0, 10 ** int(rng.integers(1, 16)))), int(rng.integers(0, 16))) for _ in range(20000)]
    out = np.empty(40, np.uint8)
    for k, d in cases:
        want = repr(k / 10 ** d)
        assert decimal_text(k, d) == want, (k, d)
        end = write_decimal(out, 0, k, d)
        assert out[:end].tobytes().decode("ascii") == want, (k, d)
