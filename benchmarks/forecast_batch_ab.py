"""Batch forecasting speed, two checkouts side by side: `predict` of many series, and one monthly fit+forecast.

    git archive a347e9e | (mkdir /tmp/before && tar -x -C /tmp/before)
    flock /tmp/rnntools-bench.lock python benchmarks/forecast_batch_ab.py /tmp/before . --reps 5

``--own-models``: each side trains its own model (a change to the methods that the before side's code
cannot read in the after side's file); the outputs then differ by design.

Data: ``forecast_vs_ets.synthetic`` (monthly-like series: level, trend, seasonal amplitude and phase, AR(1)
noise), 10,000 series of 200 points as JSONL; one global model trained on the first 500 by the AFTER
checkout (``--threads 1 --seed 3 --max-steps 100``), so both sides forecast from the same file. Then,
alternating, each side's ``rnntools -q predict model.npz many.jsonl --threads 1`` as a whole process, and
``rnn-train`` + ``predict`` of ``samples/airline.csv`` (two processes). Wall and CPU seconds (user + system
of the child processes), medians and ranges, the ratio after / before, the load, the CPU and the instruction
set numba and OpenBLAS use (the environment's: benchmarks/isa.py says how to restrict both to AVX2); the
two sides' predict outputs are compared byte for byte. One untimed warm-up per side fills numba's cache. Last,
the after side's predict step by step inside one process (CPU seconds): where the whole process's time goes.
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE]


def timed(cmds: list[list[str]], src: str, stdout, cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds of running ``cmds`` one after another with ``src`` on PYTHONPATH. ``cwd`` must
    hold no rnntools: ``python -m`` puts the working directory before PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, check=True, env=env, stdout=stdout, cwd=cwd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def report(label: str, runs: dict) -> None:
    def fmt(xs):
        return f"{statistics.median(xs):6.2f} ({min(xs):.2f}-{max(xs):.2f})"

    for k, name in ((0, "wall s"), (1, "CPU s")):
        b = [r[k] for r in runs["before"]]
        a = [r[k] for r in runs["after"]]
        print(f"{label:22s} {name:7s} before {fmt(b)}  after {fmt(a)}  after/before "
              f"{statistics.median(a) / statistics.median(b):.2f}", flush=True)


def stages(model_path: str, input_path: str) -> None:
    """CPU seconds of each step of ``predict`` in this process, in the CLI's order (run in a child with
    PYTHONPATH set to the checkout measured): where a whole process's time goes."""
    t0 = time.process_time()
    last = [t0]

    def mark(step: str) -> None:
        now = time.process_time()
        print(f"  {step:66s} {now - last[0]:6.3f}", flush=True)
        last[0] = now

    import rnntools.cli  # noqa: F401
    from rnntools.io import JsonlWriter, load_model
    from rnntools.tasks import forecast as P
    from rnntools.tasks.forecast import choose as CH
    from rnntools.tasks.forecast import data as D

    mark("imports (rnntools, click, numpy)")
    model = P.load(load_model(model_path))
    mark("load the model")
    series = list(P.read([input_path], model))
    mark(f"read {len(series)} series (JSONL)")
    from rnntools.nn.gates import K

    K.seq_forward
    mark("import numba and the engine's kernels")
    list(P.predict(model, series[:2]))
    mark("first forecasts (numba's target set-up, kernels from its cache)")
    Z, pe, _, C = D.tails(series, model)
    mark("  then, warm: scalers and scaled tails of every series")
    model.forecast_scaled(Z, pe, model.cfg.horizon, C=C)
    mark("  the network over every series")
    CH.stat_forecasts({b: list(range(len(series))) for b in ("snaive", "theta", "damped")},
                      [s.values for s in series], model.cfg.horizon, model.cfg.season)
    mark("  seasonal naive, Theta, damped trend of every series")
    recs = list(P.predict(model, series))
    mark("predict's records (the above once more, the choice, intervals, rounding)")
    with open(os.devnull, "w") as devnull:
        writer = JsonlWriter(devnull)
        for rec in recs:
            writer.write(rec)
    mark("write the JSONL")
    print(f"  {'total':66s} {time.process_time() - t0:6.3f}")


def main():
    if sys.argv[1:2] == ["--stages-of"]:
        stages(*sys.argv[2:4])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--own-models", action="store_true",
                    help="each side trains its own global model (when the before side cannot read the after "
                         "side's file, e.g. methods it does not know)")
    args = ap.parse_args()
    from forecast_vs_ets import synthetic
    py = [sys.executable, "-m", "rnntools", "-q"]
    airline = os.path.join(ROOT, "samples", "airline.csv")
    from isa import report as isa_report

    # numba's target and OpenBLAS's kernels as the environment sets them (NUMBA_CPU_NAME... for AVX2)
    print(f"{isa_report(torch_side=False)}; load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        many, train = os.path.join(tmp, "many.jsonl"), os.path.join(tmp, "train.jsonl")
        Y = synthetic(args.series, args.length, seed=0)
        with open(many, "w") as f, open(train, "w") as g:
            for i, y in enumerate(Y):
                line = json.dumps({"id": f"s{i}", "start": "2000-01", "freq": "M",
                                   "values": [round(float(v), 3) for v in y]}) + "\n"
                f.write(line)
                if i < args.train:
                    g.write(line)
        sides = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
        models = {side: os.path.join(tmp, f"global-{side}.npz" if args.own_models else "global.npz")
                  for side in sides}
        for side in (sides if args.own_models else ["after"]):
            timed([[*py, "rnn-train", "--task", "forecast", train, "-o", models[side], "--threads", "1", "--seed",
                    "3", "--max-steps", "100"]], sides[side], subprocess.DEVNULL, tmp)
        model = models["after"]
        outs = {side: os.path.join(tmp, f"{side}.jsonl") for side in sides}
        predict = {side: [*py, "predict", models[side], many, "--threads", "1"] for side in sides}
        for side, src in sides.items():   # warm-up: numba's cache for each checkout
            timed([predict[side]], src, subprocess.DEVNULL, tmp)
        runs = {side: [] for side in sides}
        for _ in range(args.reps):
            for side, src in sides.items():
                with open(outs[side], "w") as out:
                    runs[side].append(timed([predict[side]], src, out, tmp))
        report(f"predict {args.series} series", runs)
        with open(outs["before"], "rb") as fb, open(outs["after"], "rb") as fa:
            print("predict outputs " + ("identical" if fb.read() == fa.read() else "DIFFER"), flush=True)
        runs = {side: [] for side in sides}
        for _ in range(args.reps):
            for side, src in sides.items():
                m = os.path.join(tmp, f"air-{side}.npz")
                runs[side].append(timed([[*py, "rnn-train", "--task", "forecast", airline, "-o", m, "--threads", "1"],
                                         [*py, "predict", m, airline, "--threads", "1"]], src, subprocess.DEVNULL,
                                        tmp))
        report("airline fit+predict", runs)
        print("the after side's predict, step by step (CPU s, one process):", flush=True)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--stages-of", model, many], check=True,
                       env={**os.environ, "PYTHONPATH": sides["after"]}, cwd=tmp)
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
