"""Whole-process time of a warm `rnntools sample --length 200` (issue 4: under 1 s), optionally beside
another checkout of rnntools (e.g. the commit before a change), alternating, medians.

    flock /tmp/rnntools-bench.lock python3 benchmarks/lm_sample_startup.py lm.npz --runs 10
    flock /tmp/rnntools-bench.lock python3 benchmarks/lm_sample_startup.py lm.npz --baseline /tmp/old-checkout

Wall and CPU (user + system of the child) seconds per run; the first run of each side is a warm-up (numba
cache), not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(root: str, model: str, length: int) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rnntools", "sample", model, "--length", str(length), "--seed", "1"],
                   check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": root}, cwd=root)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--baseline", help="another rnntools checkout to time beside this one")
    args = ap.parse_args()
    model = os.path.abspath(args.model)
    sides = {"this": ROOT}
    if args.baseline:
        sides["baseline"] = os.path.abspath(args.baseline)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for root in sides.values():
        run(root, model, args.length)  # warm-up: compiles or loads the numba cache
    for i in range(args.runs):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name in order:
            results[name].append(run(sides[name], model, args.length))
    for name, rs in results.items():
        walls, cpus = [w for w, _ in rs], [c for _, c in rs]
        print(f"{name:8s} ({sides[name]}): median wall {statistics.median(walls):.3f} s "
              f"(min {min(walls):.3f}, max {max(walls):.3f}), median CPU {statistics.median(cpus):.3f} s, "
              f"{args.runs} runs of sample --length {args.length}")
    if args.baseline:
        a = statistics.median(w for w, _ in results["this"])
        b = statistics.median(w for w, _ in results["baseline"])
        print(f"wall ratio this/baseline: {a / b:.2f}")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import isa

    print("cpu:", isa.report(torch_side=False))
    print("load:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
