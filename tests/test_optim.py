"""The shared optimisers' options used by seq2seq: PyTorch's clipping with a folded-in loss scale, and
"doubled" slices (one array standing for the sum of two parameters, as PyTorch's b_ih + b_hh)."""

import math

import numpy as np
import pytest

from rnntools import nn


def test_adam_with_scaled_clipped_gradients_is_pytorchs_recipe():
    """Against torch.optim.Adam and clip_grad_norm_ written out in numpy (float64)."""
    rng = np.random.default_rng(6)
    p = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    ref = {k: v.copy() for k, v in p.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v2 = {k: np.zeros_like(v) for k, v in p.items()}
    opt = nn.Adam(p, lr=0.01)
    for t in range(1, 4):
        grads = {k: rng.normal(size=v.shape) * 3 for k, v in p.items()}
        scale = 0.5
        norm = math.sqrt(sum(float(((g * scale) ** 2).sum()) for g in grads.values()))
        coef = min(1.0, 1.0 / (norm + 1e-6))
        for k, g in grads.items():
            g = g * scale * coef
            m[k] = 0.9 * m[k] + 0.1 * g
            v2[k] = 0.999 * v2[k] + 0.001 * g * g
            denom = np.sqrt(v2[k]) / math.sqrt(1 - 0.999 ** t) + 1e-8
            ref[k] -= (0.01 / (1 - 0.9 ** t)) * m[k] / denom
        assert nn.clip_grad_norm(grads, 1.0, scale=scale) == pytest.approx(norm)
        opt.step(grads)
        for k in p:
            np.testing.assert_allclose(p[k], ref[k], rtol=1e-12, atol=1e-14)


def test_clip_without_scale_is_unchanged():
    g = {"a": np.array([3.0, 4.0])}
    assert nn.clip_grad_norm(g, 10.0) == 5.0 and g["a"].tolist() == [3.0, 4.0]  # under the limit: untouched
    assert nn.clip_grad_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g["a"], np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
    g = {"a": np.array([np.inf, 1.0])}
    assert nn.clip_grad_norm(g, 1.0) == np.inf  # reported, not clipped: the caller stops


@pytest.mark.parametrize("make", [lambda p, d: nn.Adam(p, lr=0.05, doubled=d),
                                  lambda p, d: nn.SGD(p, lr=0.1, momentum=0.9, doubled=d)],
                         ids=["adam", "sgd"])
def test_doubled_slices_train_as_the_sum_of_two_parameters(make):
    """b[:2] stands for u + w, two parameters of the other formulation that receive the same gradient:
    norms and updates must be those of training u and w separately."""
    rng = np.random.default_rng(3)
    b0 = rng.normal(size=5)
    u0 = rng.normal(size=2)
    ours = {"b": b0.copy(), "c": rng.normal(size=3)}
    theirs = {"b": b0.copy(), "u": u0, "w": b0[:2] - u0, "c": ours["c"].copy()}
    theirs["b"][:2] = 0  # their b carries the rest only
    opt_ours = make(ours, {"b": slice(0, 2)})
    opt_theirs = make(theirs, None)
    for _ in range(4):
        gb, gc = rng.normal(size=5) * 4, rng.normal(size=3) * 4
        g_ours = {"b": gb.copy(), "c": gc.copy()}
        g_theirs = {"b": np.concatenate([[0, 0], gb[2:]]), "u": gb[:2].copy(), "w": gb[:2].copy(), "c": gc.copy()}
        n1 = nn.clip_grad_norm(g_ours, 2.0, scale=0.5, doubled={"b": slice(0, 2)})
        n2 = nn.clip_grad_norm(g_theirs, 2.0, scale=0.5)
        assert n1 == pytest.approx(n2, rel=1e-12)
        opt_ours.step(g_ours)
        opt_theirs.step(g_theirs)
        np.testing.assert_allclose(ours["b"][:2], theirs["u"] + theirs["w"], rtol=1e-12)
        np.testing.assert_allclose(ours["b"][2:], theirs["b"][2:], rtol=1e-12)
        np.testing.assert_allclose(ours["c"], theirs["c"], rtol=1e-12)


def test_doubled_must_name_parameters():
    with pytest.raises(ValueError, match="nope"):
        nn.Adam({"a": np.zeros(2)}, doubled={"nope": slice(0, 1)})


def test_init_state_creates_zero_moments_and_changes_no_update():
    rng = np.random.default_rng(1)
    a, b = {"w": rng.normal(size=4)}, None
    b = {"w": a["w"].copy()}
    eager, lazy = nn.Adam(a), nn.Adam(b)
    eager.init_state()
    assert set(eager.m) == {"w"} and not eager.m["w"].any() and not lazy.m
    for _ in range(3):
        g = rng.normal(size=4)
        eager.step({"w": g.copy()})
        lazy.step({"w": g.copy()})
    np.testing.assert_array_equal(a["w"], b["w"])


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0, 0.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_with_the_clip_coefficient_is_clipping_in_place_bit_for_bit(opt_name, max_norm, dtype):
    """``clip_coefficient`` + ``step(grads, scale=coef)`` (the gradients scaled as they are read) gives the
    bits of ``clip_grad_norm`` (scaled in place) + ``step(grads)``, parameters and moments, clipped or not,
    with and without weight decay and doubled slices; and leaves the gradients as they were."""
    rng = np.random.default_rng(3)
    start = {"a": rng.normal(size=(7, 9)).astype(dtype), "b": rng.normal(size=11).astype(dtype)}
    kwargs = {"lr": 0.01, "weight_decay": 0.01, "doubled": {"b": slice(0, 4)}}
    if opt_name == "sgd":
        kwargs["momentum"] = 0.9
    pa, pb = ({k: v.copy() for k, v in start.items()} for _ in range(2))
    oa, ob = nn.make_optimizer(opt_name, pa, **kwargs), nn.make_optimizer(opt_name, pb, **kwargs)
    for _ in range(4):
        grads = {k: (rng.normal(size=v.shape) * 7).astype(dtype) for k, v in start.items()}
        kept = {k: g.copy() for k, g in grads.items()}
        scaled = {k: g.copy() for k, g in grads.items()}
        norm_a = nn.clip_grad_norm(scaled, max_norm, scale=1 / 37, doubled=kwargs["doubled"])
        oa.step(scaled)
        norm_b, coef = nn.clip_coefficient(grads, max_norm, scale=1 / 37, doubled=kwargs["doubled"])
        ob.step(grads, scale=coef)
        assert norm_a == norm_b
        assert all(np.array_equal(grads[k], kept[k]) for k in grads)
        assert (coef < 1 / 37) == (0 < max_norm < norm_b)
    for k in start:
        assert pa[k].tobytes() == pb[k].tobytes()
    state_a, state_b = oa.state_arrays(), ob.state_arrays()
    assert all(state_a[k].tobytes() == state_b[k].tobytes() for k in state_a)
