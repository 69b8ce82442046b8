"""The forecaster's recurrent layer: plain-numpy reference forward and float64 gradient checks."""

import numpy as np
import pytest
from gradcheck import assert_grad

from rnntools.tasks import forecast_net as net

T, B, D, H, O = 3, 2, 4, 5, 3


def _reference_gru(p, X):
    """Step-by-step GRU written from the equations, one row at a time."""
    out = np.zeros((T, B, O))
    for b in range(B):
        h = np.zeros(H)
        for t in range(T):
            a = X[t, b] @ p["Wx"] + p["b"]
            c = h @ p["Wh"]
            r = 1 / (1 + np.exp(-(a[:H] + c[:H])))
            z = 1 / (1 + np.exp(-(a[H:2 * H] + c[H:2 * H])))
            n = np.tanh(a[2 * H:] + r * (c[2 * H:] + p["bn"]))
            h = (1 - z) * n + z * h
            out[t, b] = h @ p["Wo"] + p["bo"]
    return out


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_forward_matches_reference_and_step(cell):
    rng = np.random.default_rng(0)
    p = net.init_params(cell, D, H, O, rng, np.float64)
    p["Wo"] *= 10
    X = rng.normal(size=(T, B, D))
    Y, _ = net.forward(cell, p, X)
    if cell == "gru":
        np.testing.assert_allclose(Y, _reference_gru(p, X), atol=1e-12)
    h = np.zeros((B, H))
    for t in range(T):  # the fused single step used for recursive forecasting gives the same outputs
        y, h = net.step(cell, p, X[t], h)
        np.testing.assert_allclose(y, Y[t], atol=1e-12)
    last, _ = net.forward(cell, p, X, last_only=True)
    np.testing.assert_allclose(last, Y[-1], atol=1e-12)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_gradients(cell):
    rng = np.random.default_rng(1)
    p = net.init_params(cell, D, H, O, rng, np.float64)
    p["Wo"] *= 10
    X = rng.normal(size=(T, B, D))
    W = rng.normal(size=(T, B, O))  # a smooth loss sum(W * Y) checks every path

    def loss():
        return float(np.sum(W * net.forward(cell, p, X)[0]))

    _, cache = net.forward(cell, p, X)
    g = net.backward(cell, p, cache, W)
    for name in ["Wx", "Wh", "b", "bn", "Wo", "bo"]:
        if p[name].size:
            assert_grad(loss, p[name], g[name], name=name)
    assert_grad(loss, X, g["X"], name="X")


def test_masked_l1_gradient():
    rng = np.random.default_rng(2)
    Y, R = rng.normal(size=(T, B, O)), rng.normal(size=(T, B, O))
    M = (rng.random((T, B, O)) > 0.3).astype(float)
    total, count, dY = net.masked_l1(Y, R, M)
    assert count == M.sum()
    assert total == pytest.approx(np.sum(np.abs(Y - R) * M))
    assert_grad(lambda: net.masked_l1(Y, R, M)[0], Y, dY, name="Y")


def test_adam_lowers_a_quadratic_and_lr_zero_changes_nothing():
    p = {"w": np.array([3.0, -2.0])}
    opt = net.Adam(p)
    for _ in range(200):
        opt.update(p, {"w": 2 * p["w"]}, 0.05)
    assert np.all(np.abs(p["w"]) < 0.1)
    before = p["w"].copy()
    opt.update(p, {"w": 2 * p["w"]}, 0.0)
    np.testing.assert_array_equal(p["w"], before)
