"""What an LSTM forward time loop spends besides its products: one worker's batch slice, one thread.

    python benchmarks/time_loop_parts.py --hidden 512 --rows 16

Five variants of the forward loop over 100 steps (the code of ``kernels.seq_forward``'s LSTM path, compiled
here): the whole loop; without the stores of gates, cells and states the backward pass reads; the products
plus the input projections added; the products alone; and the input projections added inside the gate loop
instead of in a loop of their own (LLVM then vectorises neither). CPU ms per loop, best and median of 9,
the variants alternating.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rnntools  # noqa: E402,F401,I001  (before numpy, as the commands do)

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from rnntools.nn.kernels import _sigmoid, _tanh, pack_weights, panel_matmul  # noqa: E402

NAMES = ["whole loop", "no gate/cell/state stores", "products + inputs added", "products only",
         "inputs added in the gate loop"]


@njit(cache=True, nogil=True, error_model="numpy")
def forward(P, pidx, Wh, h0, c0, Hs, Cs, G, mode):
    H = Wh.shape[0]
    nb = h0.shape[0]
    h = h0.copy()
    c = c0.copy()
    Wp = pack_weights(Wh)
    A = np.empty((nb, Wp.shape[0] * Wp.shape[2]), P.dtype)
    gs = np.empty(4 * H, P.dtype)
    for t in range(pidx.shape[0]):
        panel_matmul(h, Wp, A)
        if mode == 3:
            continue
        for j in range(nb):
            a = A[j]
            p = P[pidx[t, j]]
            hj = h[j]
            cj = c[j]
            if mode == 4:
                gt = G[t, j]
                for k in range(H):
                    f = _sigmoid(a[k] + p[k])
                    i = _sigmoid(a[H + k] + p[H + k])
                    o = _sigmoid(a[2 * H + k] + p[2 * H + k])
                    g = _tanh(a[3 * H + k] + p[3 * H + k])
                    gt[k] = f
                    gt[H + k] = i
                    gt[2 * H + k] = o
                    gt[3 * H + k] = g
                    cn = f * cj[k] + i * g
                    cj[k] = cn
                    hj[k] = o * _tanh(cn)
                Cs[t, j, :] = cj
                Hs[t, j, :] = hj
                continue
            for q in range(4 * H):
                a[q] += p[q]
            if mode == 2:
                continue
            gt = G[t, j] if mode == 0 else gs
            for k in range(H):
                f = _sigmoid(a[k])
                i = _sigmoid(a[H + k])
                o = _sigmoid(a[2 * H + k])
                g = _tanh(a[3 * H + k])
                gt[k] = f
                gt[H + k] = i
                gt[2 * H + k] = o
                gt[3 * H + k] = g
                cn = f * cj[k] + i * g
                cj[k] = cn
                hj[k] = o * _tanh(cn)
            if mode == 0:
                Cs[t, j, :] = cj
                Hs[t, j, :] = hj


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--rows", type=int, default=16)
    args = ap.parse_args(argv)
    H, nb, T, V = args.hidden, args.rows, 100, 74
    rng = np.random.default_rng(0)
    f32 = np.float32
    Wh = (rng.standard_normal((H, 4 * H)) * 0.05).astype(f32)
    P = (rng.standard_normal((V, 4 * H)) * 0.5).astype(f32)
    pidx = rng.integers(0, V, (T, nb)).astype(np.int64)
    h0, c0 = np.zeros((nb, H), f32), np.zeros((nb, H), f32)
    Hs, Cs, G = np.empty((T, nb, H), f32), np.empty((T, nb, H), f32), np.empty((T, nb, 4 * H), f32)
    res: dict = {m: [] for m in range(len(NAMES))}
    for m in res:
        forward(P, pidx, Wh, h0, c0, Hs, Cs, G, m)
    for _ in range(9):
        for m in res:
            c = time.process_time()
            forward(P, pidx, Wh, h0, c0, Hs, Cs, G, m)
            res[m].append(time.process_time() - c)
    for m, v in res.items():
        v.sort()
        print(f"hidden {H}, {nb} rows: {NAMES[m]:<32} best {v[0] * 1e3:7.2f}  median {v[4] * 1e3:7.2f} ms")
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
