"""Optimisers over a named-parameter dict, global-norm clipping; state exportable as plain arrays."""

from __future__ import annotations

import numpy as np

from rnntools.nn.gates import K


def global_norm(grads: dict, doubled: dict | None = None) -> float:
    """The L2 norm over all gradients. ``doubled`` (name -> slice): parts that stand for two parameters with
    equal gradients (see ``Adam``), so they count twice, as they would in PyTorch's norm over both."""
    sq = sum(float(np.dot(g.ravel(), g.ravel())) for g in grads.values())
    if doubled:
        sq += sum(float(np.dot(grads[k][sl].ravel(), grads[k][sl].ravel())) for k, sl in doubled.items()
                  if k in grads)
    return float(np.sqrt(sq))


def clip_coefficient(grads: dict, max_norm: float, *, scale: float = 1.0,
                     doubled: dict | None = None) -> tuple[float, float]:
    """``clip_grad_norm``'s norm and coefficient without scaling anything: ``(norm, coef)``, the gradients
    times ``coef`` being the clipped ones. Hand ``coef`` to the optimiser's ``step(grads, scale=coef)``, which
    multiplies each gradient as it reads it, as the in-place scaling would have (one rounding to the
    gradients' dtype): the same update without a pass that reads and writes every gradient once more."""
    norm = global_norm(grads, doubled) * scale
    coef = scale
    if max_norm > 0 and np.isfinite(norm) and norm > max_norm:
        coef = scale * (max_norm / (norm + 1e-6))
    return norm, float(coef)


def clip_grad_norm(grads: dict, max_norm: float, *, scale: float = 1.0, doubled: dict | None = None) -> float:
    """Scales all gradients in place so that their global L2 norm is at most ``max_norm`` (<= 0: no clip),
    with PyTorch's coefficient (``clip_grad_norm_``: max_norm / (norm + 1e-6)). Returns the norm before
    clipping (NaN/inf tells the caller that training diverged).

    ``scale``: the gradients are first multiplied by it (a loss summed over tokens becomes a mean), folded
    into the one in-place multiplication so that the scaled gradients are rounded once, not twice.
    ``doubled``: see ``global_norm``."""
    norm, coef = clip_coefficient(grads, max_norm, scale=scale, doubled=doubled)
    if coef != 1.0:
        for g in grads.values():
            g *= coef
    return norm


def _flat(a: np.ndarray) -> np.ndarray:
    if not a.flags.c_contiguous:
        raise ValueError("parameters must be C-contiguous arrays (updated in place)")
    return a.reshape(-1)


def _check_doubled(params: dict, doubled: dict | None) -> dict:
    doubled = dict(doubled or {})
    unknown = set(doubled) - set(params)
    if unknown:
        raise ValueError(f"doubled names no parameter: {', '.join(sorted(unknown))}")
    return doubled


class Adam:
    """Adam (Kingma & Ba; PyTorch's update) over ``params``; ``step(grads)`` updates the parameters named in
    ``grads`` in place. ``state_arrays()``/``load_state()`` round-trip its state through a model file.

    ``doubled`` (name -> slice or index): parts of a parameter that stand for the SUM of two parameters of
    another formulation, e.g. PyTorch's b_ih + b_hh where the engine has one bias. Trained as two, each gets
    the same gradient, so the same moments and the same step, and their sum moves twice as far: these parts
    take their step twice. (Pair with ``clip_grad_norm(..., doubled=...)``, where they count twice.)"""

    kind = "adam"

    def __init__(self, params: dict, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, doubled: dict | None = None):
        self.params, self.lr, self.betas, self.eps, self.weight_decay = params, lr, betas, eps, weight_decay
        self.doubled = _check_doubled(params, doubled)
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def init_state(self) -> None:
        """Create the (zero) moments of every parameter now rather than at its first step, so that
        ``--resume`` has arrays to load into. Changes no update."""
        for name, p in self.params.items():
            if name not in self.m:
                self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)

    def step(self, grads: dict, scale: float = 1.0) -> None:
        """One update from ``grads``; ``scale``: the gradients are read times it (``clip_coefficient``), each
        product rounded to the gradient's dtype, as ``g *= scale`` in numpy would round it first."""
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        for name, g in grads.items():
            p = self.params[name]
            if name not in self.m:
                self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)
            sl = self.doubled.get(name)
            before = None if sl is None else p[sl].copy()
            g = np.ascontiguousarray(g, dtype=p.dtype).reshape(-1)
            K.adam_update(_flat(p), g, _flat(self.m[name]), _flat(self.v[name]), self.lr, b1, b2, self.eps, bc1,
                          bc2, self.weight_decay, g.dtype.type(scale))
            if sl is not None:
                p[sl] += p[sl] - before

    def state_arrays(self, prefix: str = "optim.") -> dict[str, np.ndarray]:
        out = {f"{prefix}t": np.array(self.t, np.int64)}
        for name in self.m:
            out[f"{prefix}m.{name}"] = self.m[name]
            out[f"{prefix}v.{name}"] = self.v[name]
        return out

    def load_state(self, arrays: dict, prefix: str = "optim.") -> None:
        self.t = int(np.asarray(arrays[f"{prefix}t"]).item())  # saved 0-d, read back (1,) from an npz
        for key, value in arrays.items():
            for slot, table in (("m.", self.m), ("v.", self.v)):
                if key.startswith(prefix + slot):
                    name = key[len(prefix + slot):]
                    table[name] = np.array(value, dtype=self.params[name].dtype)

    def config(self) -> dict:
        return {"optimizer": "adam", "lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay}


class SGD:
    """Plain SGD with optional momentum; same interface as ``Adam`` (``doubled`` included)."""

    kind = "sgd"

    def __init__(self, params: dict, lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0,
                 doubled: dict | None = None):
        self.params, self.lr, self.momentum, self.weight_decay = params, lr, momentum, weight_decay
        self.doubled = _check_doubled(params, doubled)
        self.t = 0
        self.buf: dict[str, np.ndarray] = {}

    def step(self, grads: dict, scale: float = 1.0) -> None:
        """As ``Adam.step``."""
        self.t += 1
        for name, g in grads.items():
            p = self.params[name]
            if name not in self.buf:
                self.buf[name] = np.zeros_like(p) if self.momentum else np.zeros(1, p.dtype)
            sl = self.doubled.get(name)
            before = None if sl is None else p[sl].copy()
            g = np.ascontiguousarray(g, dtype=p.dtype).reshape(-1)
            K.sgd_update(_flat(p), g, _flat(self.buf[name]), self.lr, self.momentum, self.weight_decay,
                         g.dtype.type(scale))
            if sl is not None:
                p[sl] += p[sl] - before

    def init_state(self) -> None:
        """As ``Adam.init_state`` (momentum buffers)."""
        for name, p in self.params.items():
            if name not in self.buf:
                self.buf[name] = np.zeros_like(p) if self.momentum else np.zeros(1, p.dtype)

    def state_arrays(self, prefix: str = "optim.") -> dict[str, np.ndarray]:
        out = {f"{prefix}t": np.array(self.t, np.int64)}
        if self.momentum:
            out.update({f"{prefix}buf.{name}": b for name, b in self.buf.items()})
        return out

    def load_state(self, arrays: dict, prefix: str = "optim.") -> None:
        self.t = int(np.asarray(arrays[f"{prefix}t"]).item())  # saved 0-d, read back (1,) from an npz
        for key, value in arrays.items():
            if key.startswith(prefix + "buf."):
                name = key[len(prefix + "buf."):]
                self.buf[name] = np.array(value, dtype=self.params[name].dtype)

    def config(self) -> dict:
        return {"optimizer": "sgd", "lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}


def make_optimizer(name: str, params: dict, **kwargs):
    return {"adam": Adam, "sgd": SGD}[name](params, **kwargs)
