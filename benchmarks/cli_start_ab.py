"""Short whole commands, two checkouts side by side: the CPU a process spends around a little work.

    git archive 0b1b5b2 | (mkdir /tmp/before && tar -x -C /tmp/before)
    python benchmarks/cli_start_ab.py /tmp/before . --reps 7

Models are trained once, with the AFTER checkout, from the shipped samples (a few updates each: the
commands time loading and start-up, not accuracy); then each command runs ``--reps`` times per side, the
sides alternating, every child in a temporary folder (``python -m`` puts the working directory first on
sys.path). Prints per command the median CPU seconds (user + system of the child) of each side, their
ratio after / before, and whether both sides wrote the same bytes; then the load and the CPU. Numba's
cache is warmed by one untimed run per side first, as an installed copy's is.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TRAIN = {   # model name -> rnn-train arguments
    "classify.npz": ["--task", "classify", f"{SAMPLES}/glosses.jsonl", "--max-steps", "20"],
    "seq2seq.npz": ["--task", "seq2seq", f"{SAMPLES}/pairs.jsonl", "--max-steps", "20"],
    "forecast.npz": ["--task", "forecast", f"{SAMPLES}/airline.csv", "--season", "12", "--horizon", "12",
                     "--max-steps", "20"],
    "lm.npz": ["--task", "lm", f"{SAMPLES}/book.txt", "--max-steps", "5"],
}
COMMANDS = {   # name -> arguments (the output file is added; one thread where the command has threads)
    "classify predict": ["predict", "classify.npz", f"{SAMPLES}/glosses.jsonl", "--threads", "1"],
    "classify evaluate": ["evaluate", "classify.npz", f"{SAMPLES}/glosses.jsonl", "--threads", "1"],
    "seq2seq predict": ["predict", "seq2seq.npz", f"{SAMPLES}/pairs.jsonl", "--threads", "1"],
    "forecast predict": ["predict", "forecast.npz", f"{SAMPLES}/airline.csv", "--threads", "1"],
    "lm sample 3000": ["sample", "lm.npz", "--length", "3000", "--seed", "3"],
    "w2v-train 1 epoch": ["w2v-train", f"{SAMPLES}/corpus.txt", "--epochs", "1", "--seed", "1", "--threads", "1"],
}


def run(checkout: str, args: list[str], folder: str) -> float:
    """CPU seconds of one ``python -m rnntools -q ARGS`` child of ``checkout``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": checkout}
    done = subprocess.run([sys.executable, "-m", "rnntools", "-q", *args], cwd=folder,
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{checkout}: rnntools {' '.join(args)}: exit {done.returncode}: {done.stderr[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--commands", default=",".join(COMMANDS), help="comma-separated names of COMMANDS")
    args = ap.parse_args()
    sides = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    from isa import report  # the CPU and the instruction set numba compiles for

    with tempfile.TemporaryDirectory() as folder:
        for model, train in TRAIN.items():
            run(sides["after"], ["rnn-train", *train, "-o", model, "--seed", "1", "--threads", "1"], folder)
        print(f"{'command':<20} {'before s':>9} {'after s':>9} {'after/before':>13}  same output")
        for name in args.commands.split(","):
            times: dict[str, list[float]] = {side: [] for side in sides}
            outputs = {}
            for side, checkout in sides.items():   # warm numba's cache, keep the output
                out = os.path.join(folder, f"{side}.out")
                run(checkout, [*COMMANDS[name], "-o", out], folder)
                with open(out, "rb") as f:
                    outputs[side] = f.read()
            for rep in range(args.reps):
                order = list(sides.items()) if rep % 2 == 0 else list(sides.items())[::-1]
                for side, checkout in order:
                    times[side].append(run(checkout, [*COMMANDS[name], "-o", os.path.join(folder, "x.out")],
                                           folder))
            b, a = statistics.median(times["before"]), statistics.median(times["after"])
            same = outputs["before"] == outputs["after"] if not name.startswith("w2v") else "(model file)"
            print(f"{name:<20} {b:9.3f} {a:9.3f} {a / b:13.2f}  {same}")
    print(f"load {os.getloadavg()[0]:.1f}; {report(torch_side=False)}")


if __name__ == "__main__":
    main()
