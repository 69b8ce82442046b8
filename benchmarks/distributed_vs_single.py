"""`--scheduler local:N` against one process: `predict` on a few thousand records and `vocab` on a large text.

    flock /tmp/rnntools-bench.lock python benchmarks/distributed_vs_single.py
    flock /tmp/rnntools-bench.lock python benchmarks/distributed_vs_single.py --words 10 --reps 3

Every side is a fresh process (`python -m rnntools ...`, output to a file), all sides alternating in each
repetition, medians of wall time; each side's output is checked to be the same bytes as the single process's.
A local cluster's time includes starting it (its worker processes import numpy, numba and the model).

  predict classify: tests/data/contract/classify.npz on samples/glosses.jsonl twice (4,000 records)
  predict lm:       tests/data/contract/lm.npz on samples/book.txt four times (2,312 lines)
  vocab:            benchmarks/datasets.py's English text (Austen, Moby Dick, GCIDE), about --words million words
  overhead:         vocab of samples/corpus.txt (46,000 words): what starting a cluster costs a small job
  --series N:       predict of N synthetic monthly series of 200 points (forecast_vs_ets.synthetic), horizon
                    18 with intervals, by a forecaster trained on 200 of them (the issue's 200,000-series job)
  --lines N:        predict lm (tests/data/contract/lm.npz) on book.txt repeated to N lines (scoring lines)
The per-record seconds of each side are printed for docs/scale.md's cluster sizing.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

SIDES = {
    "one process": [],
    "one process --threads 1": ["--threads", "1"],
    "local:1": ["--scheduler", "local:1"],
    "local:2": ["--scheduler", "local:2"],
}


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": ROOT, "RNNTOOLS_SCHEDULER": "none"})
    return time.perf_counter() - t


def repeated(sources: list[str], times: int, path: str) -> str:
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(times):
            for source in sources:
                with open(source, encoding="utf-8") as f:
                    out.write(f.read())
    return path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", type=float, default=10, help="millions of words for vocab (default 10)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--series", type=int, default=0, help="also forecast this many series (0: skip)")
    ap.add_argument("--lines", type=int, default=0, help="also score this many lines with the lm (0: skip)")
    ap.add_argument("--only-extra", action="store_true", help="run only the --series and --lines jobs")
    args = ap.parse_args(argv)
    import isa
    from cli_text import corpus_of

    print("cpu:", isa.cpu_model(), "; numba:", isa.numba_isa(), "; cores:", len(os.sched_getaffinity(0)),
          "; load:", os.getloadavg(), flush=True)
    py = [sys.executable, "-m", "rnntools", "-q"]
    contract = os.path.join(ROOT, "tests", "data", "contract")
    samples = os.path.join(ROOT, "samples")
    with tempfile.TemporaryDirectory() as tmp:
        glosses = repeated([os.path.join(samples, "glosses.jsonl")], 2, os.path.join(tmp, "glosses2.jsonl"))
        book = repeated([os.path.join(samples, "book.txt")], 4, os.path.join(tmp, "book4.txt"))
        corpus, n = corpus_of(args.words, tmp)
        jobs = {} if args.only_extra else {
            "predict classify, 4,000 records": ["predict", os.path.join(contract, "classify.npz"), glosses],
            "predict lm, 2,312 lines": ["predict", os.path.join(contract, "lm.npz"), book],
            f"vocab, {n / 1e6:.1f}M words ({os.path.getsize(corpus) / 1e6:.0f} MB)": ["vocab", corpus],
            "vocab, 46,000 words (overhead)": ["vocab", os.path.join(samples, "corpus.txt")],
        }
        records: dict[str, int] = {}
        if args.series:
            model, series = forecast_job(args.series, tmp, py)
            job = f"predict forecast, {args.series:,} series"
            jobs[job], records[job] = ["predict", model, series], args.series
        if args.lines:
            job = f"predict lm, {args.lines:,} lines"
            jobs[job], records[job] = ["predict", os.path.join(contract, "lm.npz"),
                                       lines_of(os.path.join(samples, "book.txt"), args.lines, tmp)], args.lines
        for job, command in jobs.items():
            times: dict[str, list[float]] = {side: [] for side in SIDES}
            outputs = {side: os.path.join(tmp, f"out-{i}.jsonl") for i, side in enumerate(SIDES)}
            timed([*py, *command, "-o", outputs["one process"]])  # warm: file cache, numba's cache
            for _ in range(args.reps):
                for side, extra in SIDES.items():
                    times[side].append(timed([*py, *command, *extra, "-o", outputs[side]]))
            base = statistics.median(times["one process"])
            print(f"\n{job} ({args.reps} reps, load {os.getloadavg()[0]:.1f})")
            for side in SIDES:
                t = statistics.median(times[side])
                same = filecmp.cmp(outputs[side], outputs["one process"], shallow=False)
                per = f"   {t / records[job] * 1e3:.4f} ms/record" if job in records else ""
                print(f"  {side:<24} {t:7.2f} s   one process / this {base / t:5.2f}x   "
                      f"{'same bytes' if same else 'DIFFERENT OUTPUT'}{per}", flush=True)
    print("\nload:", os.getloadavg())


def forecast_job(n: int, tmp: str, py: list[str]) -> tuple[str, str]:
    """N synthetic monthly series (JSONL) and a forecaster trained on the first 200 of them."""
    from forecast_vs_ets import synthetic, write_series

    series, train = os.path.join(tmp, "series.jsonl"), os.path.join(tmp, "train.jsonl")
    write_series(synthetic(n, 200, seed=0), series, train, 200)
    model = os.path.join(tmp, "forecast.npz")
    subprocess.run([*py, "rnn-train", "--task", "forecast", train, "-o", model, "--horizon", "18",
                    "--max-time", "60", "--seed", "1"], check=True, env={**os.environ, "PYTHONPATH": ROOT})
    return model, series


def lines_of(source: str, n: int, tmp: str) -> str:
    """``source``'s non-blank lines repeated to n lines."""
    with open(source, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    path = os.path.join(tmp, f"lines-{n}.txt")
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            out.write(lines[i % len(lines)])
    return path


if __name__ == "__main__":
    main()
