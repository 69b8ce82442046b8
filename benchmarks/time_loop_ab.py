"""The training time loops of another checkout's kernels against this tree's, in ONE process, and their products.

    git archive main | (mkdir /tmp/before && tar -x -C /tmp/before)
    python benchmarks/time_loop_ab.py /tmp/before --hidden 512 --rows 16 --reps 25
    # and with the AVX2 environment of docs/performance.md; --cell gru / rnn; --rows 32 for one thread's batch

One worker's rows (``--rows`` of a batch of twice as many, the rows split of two workers) of a character
LM's first layer (a 74-symbol table read by id, 100 steps, float32): ``kernels.seq_forward`` and
``kernels.seq_backward`` of both checkouts, the calls alternating (the order swapped every round), CPU ms
best / first quartile / median; then the same rows' 100 per-step products alone (``panel_matmul`` on the
packed weights, forward and backward shapes), which is what the loops cost beyond their gate math, stores
and passes. The old ``kernels.py`` is loaded from the other checkout's file under another module name, so
both run on the same arrays in the same process: differences of 1-2% that alternating processes at a
shared machine's load cannot show. The two checkouts' outputs must be the same bits (checked first).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rnntools  # noqa: E402,F401,I001  (before numpy, as the commands do)

import numpy as np  # noqa: E402

from rnntools.jit import njit  # noqa: E402
from rnntools.nn import kernels as K  # noqa: E402
from rnntools.nn.gates import GATES, GRU, LSTM, RNN  # noqa: E402

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


@njit(cache=True, nogil=True, error_model="numpy")
def products(rows, W, transposed, T):
    """The time loops' T per-step products alone: rows @ W (forward), or rows @ W.T (backward, W (H, GH))."""
    Wp = K.pack_panels(W) if transposed else K.pack_weights(W)
    out = np.empty((rows.shape[0], Wp.shape[0] * Wp.shape[2]), rows.dtype)
    for _ in range(T):
        K.panel_matmul(rows, Wp, out)
    return out[0, 0]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", help="the other checkout (its rnntools/nn/kernels.py is loaded)")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--cell", choices=sorted(CELLS), default="lstm")
    ap.add_argument("--reps", type=int, default=25)
    args = ap.parse_args(argv)
    path = os.path.join(os.path.abspath(args.before), "rnntools", "nn", "kernels.py")
    spec = importlib.util.spec_from_file_location("kernels_before", path)
    KB = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(KB)
    mods = {"before": KB, "after": K}

    kind = CELLS[args.cell]
    H, nb, T, V = args.hidden, args.rows, 100, 74
    B = 2 * nb
    GH = GATES[kind] * H
    f32 = np.float32
    rng = np.random.default_rng(0)
    Wh = (rng.standard_normal((H, GH)) / np.sqrt(H)).astype(f32)
    P = (rng.standard_normal((V, GH)) * 0.5).astype(f32)
    pidx = rng.integers(0, V, (T, B)).astype(np.int64)
    bn = np.zeros(H, f32)
    h0 = np.zeros((B, H), f32)
    c0 = np.zeros((B, H), f32)
    mask = np.ones((T, B), f32)
    dY = (rng.standard_normal((T, B, H)) * 0.01).astype(f32)
    apos = np.arange(T * B, dtype=np.int64).reshape(T, B)

    def arrays():
        return {"Y": np.empty((T, B, H), f32), "Cs": np.empty((T, B, H), f32), "G": np.empty((T, B, GH), f32),
                "Rn": np.empty((T, B, H), f32), "dAx": np.empty((T, B, GH), f32),
                "dAh": np.empty((T * B, GH), f32), "dh0": np.zeros((B, H), f32), "dc0": np.zeros((B, H), f32),
                "S": np.zeros((V, GH), f32)}

    ar = {"before": arrays(), "after": arrays()}

    def forward(name):
        a = ar[name]
        mods[name].seq_forward(kind, P, pidx, Wh, bn, h0, c0, mask, 0, nb, a["Y"], a["Y"], a["Cs"], a["G"], a["Rn"])

    def backward(name):
        a = ar[name]
        dAh = a["dAh"] if kind == GRU else a["dAx"].reshape(T * B, GH)
        mods[name].seq_backward(kind, Wh, h0, c0, mask, a["Y"], a["Cs"], a["G"], a["Rn"], dY, h0, c0, 0, nb,
                                a["dAx"], dAh, apos, a["dh0"], a["dc0"], pidx, a["S"])

    for name in mods:
        forward(name)
        backward(name)
    for key in ("Y", "Cs", "G", "dAx", "dh0", "S"):
        if not np.array_equal(ar["before"][key][..., :nb, :] if ar["before"][key].ndim == 3 else ar["before"][key],
                              ar["after"][key][..., :nb, :] if ar["after"][key].ndim == 3 else ar["after"][key]):
            print(f"note: {key} differs between the checkouts")
    hrows = (rng.standard_normal((nb, H)) * 0.5).astype(f32)
    drows = (rng.standard_normal((nb, GH)) * 0.01).astype(f32)
    calls = {("forward", n): (lambda n=n: forward(n)) for n in mods}
    calls.update({("backward", n): (lambda n=n: backward(n)) for n in mods})
    calls[("forward", "products")] = lambda: products(hrows, Wh, False, T)
    calls[("backward", "products")] = lambda: products(drows, Wh, True, T)
    for f in calls.values():
        f()
    res: dict = {k: [] for k in calls}
    order = list(calls)
    for r in range(args.reps):
        for k in (order if r % 2 == 0 else order[::-1]):
            c = time.process_time()
            calls[k]()
            res[k].append(time.process_time() - c)
    print(f"{args.cell} H {H}, {nb} of {B} rows, {T} steps, float32; CPU ms over {args.reps} calls each")
    for (what, name), v in sorted(res.items()):
        v.sort()
        print(f"{what:9s} {name:9s} best {v[0] * 1e3:7.2f}  q1 {v[len(v) // 4] * 1e3:7.2f}  "
              f"median {v[len(v) // 2] * 1e3:7.2f}")
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
