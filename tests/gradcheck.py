"""Finite-difference gradient checking shared by the test modules (float64 throughout)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every element of ``x`` (changed in place
    and restored)."""
    g = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a-b| / max(|a|+|b|), robust where gradients are tiny."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    denom = max(np.max(np.abs(a) + np.abs(b)), 1e-12)
    return float(np.max(np.abs(a - b)) / denom)


def assert_grad(f: Callable[[], float], x: np.ndarray, analytic: np.ndarray, tol: float = 1e-6,
                name: str = "") -> None:
    numeric = numeric_grad(f, x)
    err = rel_error(analytic, numeric)
    assert err < tol, f"gradient of {name or 'parameter'}: relative error {err:.2e} >= {tol:.0e}"
