"""``nn.parallel.matmul`` of two checkouts side by side: alternating processes, wall and CPU time per shape.

    git archive b7c7396 | (mkdir /tmp/before && tar -x -C /tmp/before)
    python benchmarks/matmul_ab.py /tmp/before . --rounds 3 --threads 2

Shapes: a char LM's per-step products of all time steps at batch 32 x 100 steps (the second layer's input
projection with its bias, and the input gradient through the same weights), and an embedding-sized
projection. Each process prints the median of ``--reps`` calls after three warm-up calls.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

SHAPES = [(3200, 256, 1024, True), (3200, 1024, 256, False), (3200, 512, 2048, True), (3200, 64, 1024, True)]

CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import rnntools  # noqa: F401  (before numpy, as the commands do)
import numpy as np
from rnntools import nn
from rnntools.nn.parallel import matmul
nn.set_threads(int(sys.argv[2]))
reps = int(sys.argv[3])
SHAPES = eval(sys.argv[4])
rng = np.random.default_rng(0)
out = []
for M, K, N, bias in SHAPES:
    a = rng.standard_normal((M, K), dtype=np.float32)
    W = rng.standard_normal((K, N), dtype=np.float32)
    b = rng.standard_normal(N, dtype=np.float32) if bias else None
    o = np.empty((M, N), np.float32)
    for _ in range(3):
        matmul(a, W, out=o, bias=b)
    ws, cs = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        matmul(a, W, out=o, bias=b)
        ws.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    ws.sort()
    cs.sort()
    out.append(f"{M}x{K}x{N}{' + bias' if bias else ''}: wall {ws[reps // 2] * 1e3:.2f} CPU {cs[reps // 2] * 1e3:.2f}")
print(" | ".join(out), f"| load {os.getloadavg()[0]:.1f}", flush=True)
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs=2, help="two checkouts: before, after")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    for _ in range(args.rounds):
        for tree in args.trees:
            tree = os.path.abspath(tree)
            res = subprocess.run([sys.executable, "-c", CHILD, tree, str(args.threads), str(args.reps), repr(SHAPES)],
                                 capture_output=True, text=True, cwd="/", check=True)
            print(f"{tree}: {res.stdout.strip()}", flush=True)


if __name__ == "__main__":
    main()
