"""io.decimals: rows of rounded numbers printed by a numba kernel, the same text as ``str(list)`` (their JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnntools.io.decimals import decimal_rows_json, decimal_rows_reference


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
