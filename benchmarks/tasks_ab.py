"""Training speed of every recurrent task, two checkouts side by side (before and after a change).

Each run is one ``rnn-train`` process with its checkout on PYTHONPATH and ``--log``; the sides alternate
``--reps`` times per task and the medians and their ratio (after / before) are printed, with the load and
the CPU. Per task (``forecast``: ``predict`` of many series, wall and cpu only):

- ``updates/s``: updates over the seconds of the training loop, from the trainer's ``end`` event (steps /
  seconds: evaluations inside the loop included, start-up and the final save not);
- ``steady``: updates/s between the first and the last ``step`` event of the log (no evaluation falls in
  between for the seq2seq and lm runs below: their epochs are longer than the run);
- ``wall``: the whole process, seconds;
- ``cpu``: the whole process's CPU seconds (user + system, all threads): the same work on both sides, and on
  a loaded machine much steadier than the rates above, which count the seconds other jobs took.

The commands are the same on both sides except ``SIDE_ARGS`` (options the older code lacks, passed to the
newer side only to give it the older defaults: seq2seq's one-way encoder, classify without its wide part and
calibration).

    git worktree add --detach /tmp/before dcb4668
    python benchmarks/seq2seq_data.py addition /tmp/addition
    flock /tmp/rnntools-bench.lock python benchmarks/tasks_ab.py /tmp/before . --threads 1 --reps 3
    python benchmarks/tasks_ab.py /tmp/before . --make-forecast-data /tmp/forecast     # then --tasks forecast
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every child runs in a temporary folder: ``python -m`` puts the working directory first on sys.path, ahead
# of PYTHONPATH, so a child started inside a checkout would import that checkout whatever PYTHONPATH says.
SAMPLES = os.path.join(ROOT, "samples")

TASKS = {
    # the LM of docs/tasks.md's table: defaults (LSTM-256, batch 32, seq-len 100) on the book, 40 updates
    "lm": ["--task", "lm", os.path.join(SAMPLES, "book.txt"), "--max-steps", "40", "--seed", "1"],
    # the classifier of docs/classify.md's table: its network on the glosses, 4 epochs
    "classify": ["--task", "classify", os.path.join(SAMPLES, "glosses.jsonl"), "--epochs", "4", "--patience", "9",
                 "--seed", "1"],
    # the seq2seq of docs/seq2seq.md's table: GRU 128, general attention, batch 64, 20,000+ addition pairs
    "seq2seq": ["--task", "seq2seq", "{addition}", "--cell", "gru", "--hidden", "128", "--attention", "general",
                "--batch", "64", "--max-steps", "200", "--seed", "1"],
}
# options only the newer side has, giving it the older side's defaults
SIDE_ARGS = {"classify": ["--wide", "none", "--no-calibrate"], "seq2seq": ["--no-bidirectional"]}
# `predict` of many series with one model file (written by the older code, so both sides do the same work:
# the newer code forecasts an old file with the network alone); the older predict has no --threads, so both
# sides run with their default, every core
FORECAST = ["predict", "{forecast_model}", "{forecast_series}"]


def run_forecast(code: str, tmp: str, data: dict) -> dict:
    cmd = [sys.executable, "-m", "rnntools", "-q", *[a.format(**data) for a in FORECAST],
           "-o", os.path.join(tmp, "forecasts.jsonl")]
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.path.abspath(code)},
                   stderr=subprocess.DEVNULL, cwd=tmp)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)}


def run(code: str, task: str, threads: int, tmp: str, data: dict, newer: bool) -> dict:
    if task == "forecast":
        return run_forecast(code, tmp, data)
    log = os.path.join(tmp, "log.jsonl")
    if os.path.exists(log):
        os.remove(log)
    args = [a.format(**data) for a in TASKS[task]] + (SIDE_ARGS.get(task, []) if newer else [])
    cmd = [sys.executable, "-m", "rnntools", "-q", "rnn-train", *args, "-o", os.path.join(tmp, "m.npz"),
           "--threads", str(threads), "--log", log]
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.path.abspath(code)},
                   stderr=subprocess.DEVNULL, cwd=tmp)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    events = [json.loads(line) for line in open(log)]
    end = [e for e in events if e["event"] == "end"][-1]
    steps = [e for e in events if e["event"] == "step"]
    steady = None
    if len(steps) >= 2 and steps[-1]["time"] > steps[0]["time"]:
        steady = (steps[-1]["step"] - steps[0]["step"]) / (steps[-1]["time"] - steps[0]["time"])
    return {"updates/s": end["steps"] / end["seconds"], "steady": steady, "wall": wall, "cpu": cpu_s}


def make_forecast_data(folder: str, before: str) -> None:
    """docs/forecast.md's batch-predict data: 10,000 synthetic monthly series of 200 points (many.jsonl) and a
    model trained by the ``before`` checkout on the first 500 (old.npz, --threads 1 --seed 3 --max-steps 100)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from forecast_vs_ets import synthetic

    os.makedirs(folder, exist_ok=True)
    many, train = os.path.join(folder, "many.jsonl"), os.path.join(folder, "train.jsonl")
    with open(many, "w") as f, open(train, "w") as g:
        for i, y in enumerate(synthetic(10_000, 200, seed=0)):
            line = json.dumps({"id": f"s{i}", "start": "2000-01", "freq": "M",
                               "values": [round(float(v), 3) for v in y]}) + "\n"
            f.write(line)
            if i < 500:
                g.write(line)
    subprocess.run([sys.executable, "-m", "rnntools", "-q", "rnn-train", "--task", "forecast", train,
                    "-o", os.path.join(folder, "old.npz"), "--threads", "1", "--seed", "3", "--max-steps", "100"],
                   check=True, env={**os.environ, "PYTHONPATH": os.path.abspath(before)}, cwd=folder)


def cpu() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 "?")
    flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "")
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model}, {isa}, {os.cpu_count()} cores"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--tasks", default="lm,classify,seq2seq")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--both-new", action="store_true",
                    help="both checkouts have SIDE_ARGS' options (give them to both)")
    ap.add_argument("--addition", default="/tmp/addition/train.jsonl",
                    help="seq2seq training pairs (benchmarks/seq2seq_data.py addition DIR)")
    ap.add_argument("--forecast-model", default="/tmp/forecast/old.npz",
                    help="task forecast: a forecaster written by the older code (see docs/tasks.md)")
    ap.add_argument("--forecast-series", default="/tmp/forecast/many.jsonl",
                    help="task forecast: the series to forecast (JSONL)")
    ap.add_argument("--make-forecast-data", metavar="DIR",
                    help="write DIR/many.jsonl and DIR/old.npz (trained by BEFORE) for --tasks forecast, and stop")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=False), flush=True)
    if args.make_forecast_data:
        make_forecast_data(args.make_forecast_data, args.before)
        return
    data = {"addition": args.addition, "forecast_model": args.forecast_model,
            "forecast_series": args.forecast_series}
    print(cpu(), f"--threads {args.threads}", flush=True)
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks.split(","):
            got: dict[str, list[dict]] = {"before": [], "after": []}
            for side in ("before", "after"):  # untimed: numba's cache, the page cache
                run(getattr(args, side), task, args.threads, tmp, data, side == "after" or args.both_new)
            for rep in range(args.reps):
                # ABBA: on this machine the second run of a back-to-back pair is favoured (by 5-15% in a
                # w2v check), so each side goes first every other time
                for side in ("before", "after") if rep % 2 == 0 else ("after", "before"):
                    got[side].append(run(getattr(args, side), task, args.threads, tmp, data,
                                         side == "after" or args.both_new))
                    loads.append(os.getloadavg()[0])
                    r = got[side][-1]
                    print(f"{task} {side} {rep + 1}: " + "  ".join(f"{k} {v:.3f}" for k, v in r.items()
                                                                  if v is not None), flush=True)
            for key in ("updates/s", "steady", "wall", "cpu"):
                vals = {s: [r[key] for r in got[s] if r.get(key) is not None] for s in got}
                if not all(vals.values()):
                    continue
                b, a = statistics.median(vals["before"]), statistics.median(vals["after"])
                print(f"RESULT {task} {key}: before {b:.3f}  after {a:.3f}  after/before {a / b:.3f}", flush=True)
    print(f"load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f}")


if __name__ == "__main__":
    main()
