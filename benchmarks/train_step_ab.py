"""The engine's training step of two checkouts side by side: alternating processes, CPU and wall per step.

    git archive main | (mkdir /tmp/before && tar -x -C /tmp/before)
    python benchmarks/train_step_ab.py /tmp/before . --config lstm-256x2 --config lstm-512 --rounds 3
    # and with the AVX2 environment of docs/performance.md

Each process runs ``rnn_vs_torch.py``'s rnntools side alone (no PyTorch in the process: its char LM on
samples/book.txt, batch 32, 100 steps, the checkout's own code) for two warm-up steps, then ``--steps``
steps, and prints the CPU time per step (every thread of the process: ``time.process_time``), the median
step's wall time and the chars/s of the whole run. CPU time is what to compare on a machine shared with
other jobs; the wall times only on an idle one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import os, sys, time
tree, bench_dir, config, steps, threads = sys.argv[1:6]
sys.path[:0] = [tree, bench_dir]
import rnntools  # noqa: F401  (before numpy, as the commands do)
import numpy as np
import rnn_vs_torch as bench
from rnntools import nn
assert os.path.dirname(os.path.abspath(nn.__file__)).startswith(os.path.abspath(tree))
nn.set_threads(int(threads))
cell, hidden, layers = bench.CONFIGS[config]
ids, V = bench.load_text(os.path.join(os.path.dirname(bench_dir), "samples", "book.txt"))
model = bench.Ours(cell, hidden, layers, V)
gen = bench.batches(ids, bench.BATCH, bench.SEQ)
for _ in range(2):
    model.train_step(*next(gen))
ws = []
c0, w0 = time.process_time(), time.perf_counter()
for _ in range(int(steps)):
    t = time.perf_counter()
    loss = model.train_step(*next(gen))
    ws.append(time.perf_counter() - t)
c1, w1 = time.process_time(), time.perf_counter()
n = int(steps)
rate = n * bench.BATCH * bench.SEQ / (w1 - w0)
print(f"{1e3 * (c1 - c0) / n:.1f} {1e3 * float(np.median(ws)):.1f} {rate:.0f} {float(loss):.6f}")
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--config", action="append", help="rnn_vs_torch.py configuration (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    sys.path[:0] = [HERE, os.path.dirname(HERE)]
    import rnntools  # noqa: F401, I001  (before isa's numpy: the OpenBLAS kernels the children load, reported)
    import isa

    print("cpu:", isa.report(torch_side=False), flush=True)
    trees = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    for config in args.config or ["lstm-256x2"]:
        for r in range(args.rounds):
            for name in (("before", "after") if r % 2 == 0 else ("after", "before")):
                bench_dir = os.path.join(trees[name], "benchmarks")
                out = subprocess.run([sys.executable, "-c", CHILD, trees[name], bench_dir, config, str(args.steps),
                                      str(args.threads)], capture_output=True, text=True, check=True).stdout.split()
                cpu, wall, rate, loss = out
                print(f"{config} round {r} {name:6s}: CPU {cpu} ms/step, median step {wall} ms, {int(rate):,} chars/s, "
                      f"last loss {loss}; load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
