"""Classifier prediction speed, two checkouts side by side: whole ``rnntools predict`` processes of one model.

    git archive 00111fc | (mkdir /tmp/before && tar -x -C /tmp/before)
    # any classifier and input; docs/classify.md's: glosses (benchmarks/datasets.py), 10,000 to train
    cd /tmp && rnntools rnn-train --task classify glosses_train.jsonl -o g.npz --seed 1
    cd /tmp && chrt -f 10 python3 <checkout>/benchmarks/classify_predict_ab.py /tmp/before <checkout> g.npz \
        glosses_train.jsonl --threads 1,2 --reps 5

Per ``--threads`` value the two sides alternate ``--reps`` times (one untimed warm-up each first: numba's cache
and the bytecode, which are then as an installed copy has them), each a whole process
``python -m rnntools -q predict MODEL INPUT --threads T -o out.jsonl`` from a folder outside both checkouts
(``python -m`` puts the working directory first on the path). Printed: wall and CPU seconds (user + system of
the child), medians and ranges, texts/s, the ratio after / before, whether the outputs are the same bytes,
the load, the CPU and the instruction set. ``chrt -f 10`` in front gives near-idle timings on a shared
machine for short runs (its children inherit it).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE]


def main() -> None:
    from forecast_batch_ab import report, timed
    from isa import cpu_model, numba_isa

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("model", help="a classifier model file (.npz)")
    ap.add_argument("input", help="JSONL or plain text to predict")
    ap.add_argument("--threads", default="1,2", help="comma-separated --threads values")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    model, data = os.path.abspath(args.model), os.path.abspath(args.input)
    with open(data, "rb") as f:
        texts = sum(1 for line in f if line.strip())
    sides = {"before": args.before, "after": args.after}
    print(f"{texts} texts; before {os.path.abspath(args.before)}, after {os.path.abspath(args.after)}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        env_cache = {side: os.path.join(tmp, f"pyc-{side}") for side in sides}
        for threads in args.threads.split(","):
            runs: dict[str, list] = {"before": [], "after": []}
            outs = {side: os.path.join(tmp, f"out-{side}.jsonl") for side in sides}
            cmds = {side: [[sys.executable, "-m", "rnntools", "-q", "predict", model, data, "--threads", threads,
                            "-o", outs[side]]] for side in sides}
            for side, src in sides.items():   # warm-up: numba's cache checked, bytecode written
                os.environ["PYTHONPYCACHEPREFIX"] = env_cache[side]
                timed(cmds[side], src, subprocess.DEVNULL, tmp)
            for _ in range(args.reps):
                for side, src in sides.items():
                    os.environ["PYTHONPYCACHEPREFIX"] = env_cache[side]
                    runs[side].append(timed(cmds[side], src, subprocess.DEVNULL, tmp))
            report(f"--threads {threads}", runs)
            for side in sides:
                wall = statistics.median(r[0] for r in runs[side])
                print(f"{'':22s} {side:6s} {texts / wall:9,.0f} texts/s (median wall)")
            same = filecmp.cmp(outs["before"], outs["after"], shallow=False)
            print(f"{'':22s} outputs {'the same bytes' if same else 'DIFFER'}", flush=True)
    print("CPU:", cpu_model(), "|", numba_isa())
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)   # the children run as an installed copy does: bytecode cached
    main()
