"""Batch-1 generation speed, two checkouts side by side (rnntools only; `rnn_vs_torch.py` has PyTorch).

    git archive 43588b0 | (mkdir /tmp/before && tar -x -C /tmp/before)
    flock /tmp/rnntools-bench.lock python benchmarks/generate_ab.py /tmp/before . --reps 5

Each repetition starts one process per side, alternating; the process builds every model of
``rnn_vs_torch.CONFIGS`` with that checkout's own benchmark class (``rnn_vs_torch.Ours``: random weights,
seed 0, the char LM's 74 symbols), generates 200 untimed tokens (numba's cache loaded, the weights packed),
then times ``--tokens`` tokens at temperature 1 the way `rnntools sample` does (the LM task's ``Sampler``)
and keeps the best of 3. Prints chars/s per side (medians and ranges over the repetitions), the ratio
after / before, the load, and the CPU and instruction set numba compiles for (restrict it to AVX2 with the
environment of benchmarks/isa.py). Both sides draw the same tokens: the script checks it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE]

CHILD = r"""
import json, os, sys, time
root = sys.argv[1]
sys.path[:0] = [root, os.path.join(root, "benchmarks")]
import rnn_vs_torch as B
out = {}
for name in sys.argv[2].split(","):
    cell, hidden, layers = B.CONFIGS[name]
    model = B.Ours(cell, hidden, layers, 74)
    model.generate(200)
    n = int(sys.argv[3])
    best, tokens = float("inf"), None
    for rep in range(3):
        t = time.perf_counter()
        tokens = model.generate(n, seed=rep)
        best = min(best, time.perf_counter() - t)
    out[name] = [n / best, tokens[:50]]
print(json.dumps(out))
"""


def run(tree: str, configs: str, tokens: int, cwd: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", CHILD, os.path.abspath(tree), configs, str(tokens)],
                            env=env, cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main(argv=None) -> None:
    import isa
    import rnn_vs_torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=2000)
    ap.add_argument("--config", action="append", choices=sorted(rnn_vs_torch.CONFIGS))
    args = ap.parse_args(argv)
    configs = ",".join(args.config or rnn_vs_torch.CONFIGS)
    print(f"cpu: {isa.report(torch_side=False)}; load {os.getloadavg()}", flush=True)
    speeds: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory() as cwd:   # python -c puts the working directory first on sys.path
        for rep in range(args.reps):
            got = {side: run(getattr(args, side), configs, args.tokens, cwd) for side in ("before", "after")}
            for name in got["after"]:
                if got["before"][name][1] != got["after"][name][1]:
                    sys.exit(f"{name}: the two sides drew different tokens")
                for side in got:
                    speeds[side].setdefault(name, []).append(got[side][name][0])
            print(f"repetition {rep + 1}: load {os.getloadavg()}", flush=True)
    print(f"{'config':12} {'before chars/s':>24} {'after chars/s':>24} {'after/before':>12}")
    for name in speeds["after"]:
        b, a = speeds["before"][name], speeds["after"][name]
        print(f"{name:12} {statistics.median(b):>10,.0f} ({min(b):,.0f}-{max(b):,.0f}) "
              f"{statistics.median(a):>10,.0f} ({min(a):,.0f}-{max(a):,.0f}) "
              f"{statistics.median(a) / statistics.median(b):>11.2f}x")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
