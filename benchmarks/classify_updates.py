"""Classifier training speed, updates/s, of two checkouts side by side (e.g. before and after a change).

Each side trains the default classifier on ``samples/glosses.jsonl`` through the CLI (``rnn-train --task
classify --epochs 4 --threads N``) in its own process with its checkout on PYTHONPATH; the sides alternate
``--reps`` times and the medians and their ratio are printed. Updates/s is the trainer's own count: steps
over the seconds of the training loop (validation included, start-up not).

    git worktree add /tmp/before dcb4668
    flock /tmp/rnntools-bench.lock python3 benchmarks/classify_updates.py /tmp/before . --reps 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(code: str, threads: int, tmp: str) -> float:
    log = os.path.join(tmp, "log.jsonl")
    if os.path.exists(log):
        os.remove(log)
    cmd = [sys.executable, "-m", "rnntools", "rnn-train", "--task", "classify",
           os.path.join(ROOT, "samples", "glosses.jsonl"), "-o", os.path.join(tmp, "m.npz"), "--epochs", "4",
           "--patience", "9", "--seed", "1", "--threads", str(threads), "--log", log]
    # cwd outside the checkouts: python -m puts the working directory ahead of PYTHONPATH
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.path.abspath(code)},
                   stderr=subprocess.DEVNULL, cwd=tmp)
    end = [json.loads(line) for line in open(log) if '"end"' in line][-1]
    return end["steps"] / end["seconds"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and instruction set
    print("cpu:", isa.report(torch_side=False), flush=True)
    rates: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.reps):
            for side in ("before", "after"):
                rates[side].append(run(getattr(args, side), args.threads, tmp))
                print(f"{side}: {rates[side][-1]:.2f} updates/s", flush=True)
    b, a = statistics.median(rates["before"]), statistics.median(rates["after"])
    print(f"median updates/s: before {b:.2f}  after {a:.2f}  ratio after/before {a / b:.3f}  "
          f"(--threads {args.threads})")
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
