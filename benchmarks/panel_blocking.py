"""GFLOP/s of the time loops' product (``nn.kernels.panel_matmul``) under other register blockings, one core.

Each blocking runs in its own process with its own numba cache (the blocking is read at compile time), on
the per-worker shapes of the time loops (16 rows: batch 32 split by rows; 32 rows: split by units):

    python benchmarks/panel_blocking.py --blocking 4,4 --blocking 8,3 --rounds 2     # AVX-512 blockings
    NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=-avx512f python benchmarks/panel_blocking.py \\
        --blocking 4,3 --blocking 6,2                                                   # AVX2 blockings

MR,NV: MR rows by NV vectors of accumulators (``kernels.vector_blocking``). Pin and prioritise it yourself
(``taskset -c 1 chrt -f 10 ...``); best of 5 repetitions per shape; rounds alternate the blockings.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

SHAPES = [(16, 512, 2048), (16, 2048, 512), (16, 256, 1024), (16, 1024, 256), (16, 256, 768), (16, 128, 512),
          (16, 512, 128), (32, 512, 1024), (32, 2048, 256)]


def child(mr: int, nv: int) -> None:
    import numpy as np

    from rnntools.nn import kernels as K

    vbytes = K.vector_bytes(*_target())
    base = K.vector_blocking
    K.vector_blocking = lambda vb, itemsize, *rest: ((mr, max(1, vb // itemsize), nv) if vb == vbytes
                                                    else base(vb, itemsize, *rest))
    rng = np.random.default_rng(0)
    cells = []
    for M, Kd, N in SHAPES:
        a = rng.normal(size=(M, Kd)).astype(np.float32)
        W = rng.normal(size=(Kd, N)).astype(np.float32)
        wp = K.pack_weights(W)
        out = np.empty((M, wp.shape[0] * wp.shape[2]), np.float32)
        K.panel_matmul(a, wp, out)
        assert np.allclose(out[:, :N], a @ W, rtol=1e-3, atol=1e-2)
        reps = max(20, int(2e9 / (2 * M * Kd * N)))
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps):
                K.panel_matmul(a, wp, out)
            best = min(best, (time.perf_counter() - t) / reps)
        cells.append(f"{2 * M * Kd * N / best / 1e9:11.1f}")
    print(f"{mr} x {nv:<3}" + " ".join(cells), flush=True)


def _target() -> tuple[str, str]:
    import llvmlite.binding as llb
    from numba.core import config

    name = config.CPU_NAME or llb.get_host_cpu_name()
    return name, config.CPU_FEATURES if config.CPU_FEATURES is not None else llb.get_host_cpu_features().flatten()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocking", action="append", required=True, help="MR,NV (repeatable)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*map(int, args.child.split(",")))
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import isa

    print("cpu:", isa.report())
    print("GFLOP/s, one core, float32; columns M x K x N:")
    print("MR x NV " + " ".join(f"{f'{m}x{k}x{n}':>11}" for m, k, n in SHAPES))
    with tempfile.TemporaryDirectory() as caches:
        for _ in range(args.rounds):
            for b in args.blocking:
                env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(caches, b.replace(",", "x")))
                subprocess.run([sys.executable, __file__, "--blocking", b, "--child", b], env=env, check=True)


if __name__ == "__main__":
    main()
