"""`--scheduler local:N` against one process: the issue's two jobs (forecasting 200,000 series, scoring 1M lines
with a classifier) and smaller ones (predict of a few thousand records, vocab of a large text).

    flock /tmp/rnntools-bench.lock python benchmarks/distributed_vs_single.py --only-extra \
        --series 200000 --lines 1000000 --reps 3
    flock /tmp/rnntools-bench.lock python benchmarks/distributed_vs_single.py --words 10 --reps 3

Every side is a fresh process (output to a file), all sides alternating in each repetition, medians of wall
time; each side's output is checked to be the same bytes as the single process's. Each run's wall time is
printed with the cores other processes kept busy during it (from /proc/stat, less the run's own CPU time):
on a machine shared with other work, a cluster side that needs every core loses most when others run (two
workers and two other busy processes on two cores get half a core each, one process a whole one), so only
runs beside little other work show what the cluster gives. A local cluster's time includes starting it
(its worker processes import numpy, numba and the model). The sides:

  one process                 the command as without --scheduler: default --threads (every core: numba and
                              BLAS threads, vocab's forked counters)
  one process --threads 1     the same on one core
  local:1, local:2            a local cluster of 1 or 2 worker processes; each task may use cores/N threads

Beside the wall time each side's CPU seconds are printed: the client's own (planning, receiving the
partitions' results and writing them in order: the serial part of a cluster run) and the total with its
children (the workers). Records per client CPU second bound what one client can write in order, however
many workers feed it (docs/scale.md).

  predict classify: tests/data/contract/classify.npz on samples/glosses.jsonl twice (4,000 records)
  predict lm:       tests/data/contract/lm.npz on samples/book.txt four times (2,312 lines)
  vocab:            benchmarks/datasets.py's English text (Austen, Moby Dick, GCIDE), about --words million words
  overhead:         vocab of samples/corpus.txt (46,000 words): what starting a cluster costs a small job
  --series N:       predict of N synthetic monthly series of 200 points (forecast_vs_ets.synthetic, JSONL),
                    horizon 18 with intervals, by a forecaster trained on 200 of them
  --lines N:        predict of tests/data/contract/classify.npz on samples/glosses.jsonl repeated to N lines
  --vocab M:        vocab of M million words of the vocab job's text (records: words)
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


# runs `rnntools ARGS` as `python -m rnntools` does, then writes its own CPU seconds and its children's
RUNNER = """import json, resource, sys
out = sys.argv[1]
sys.argv = ["rnntools", *sys.argv[2:]]
try:
    from rnntools.cli import main
    main()
finally:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        json.dump([me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime], f)
"""


def busy_seconds() -> float:
    """CPU seconds every process of the machine has used since boot (/proc/stat; nan where there is none)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], cpu_file: str | None = None) -> tuple[float, float, float, float]:
    """Wall seconds, the client's CPU seconds, the CPU seconds of it and its children (the workers), and the
    cores other processes kept busy meanwhile (the machine's CPU seconds less this run's, over its wall)."""
    import json
    import resource

    if cpu_file is not None:
        cmd = [cmd[0], "-c", RUNNER, cpu_file, *cmd[cmd.index("rnntools") + 1:]]
    busy, ours = busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
                   env={**os.environ, "PYTHONPATH": ROOT, "RNNTOOLS_SCHEDULER": "none"})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    mine = (after.ru_utime + after.ru_stime) - (ours.ru_utime + ours.ru_stime)
    others = max(0.0, busy_seconds() - busy - mine) / wall
    if cpu_file is None:
        return wall, float("nan"), float("nan"), others
    with open(cpu_file) as f:
        me, kids = json.load(f)
    return wall, me, me + kids, others


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
    ap.add_argument("--lines", type=int, default=0, help="also score this many lines with the classifier (0: skip)")
    ap.add_argument("--vocab", type=float, default=0,
                    help="also count this many million words with vocab among the --only-extra jobs (0: skip)")
    ap.add_argument("--sides", default=",".join(SIDES), help="the sides to run, comma-separated (default: all)")
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
            job = f"predict classify, {args.lines:,} lines"
            jobs[job], records[job] = ["predict", os.path.join(contract, "classify.npz"),
                                       lines_of(os.path.join(samples, "glosses.jsonl"), args.lines, tmp)], args.lines
        if args.vocab:
            text, words = corpus_of(args.vocab, tmp)
            job = f"vocab, {words / 1e6:.1f}M words ({os.path.getsize(text) / 1e6:.0f} MB)"
            jobs[job], records[job] = ["vocab", text], words
        sides = {side: SIDES[side] for side in args.sides.split(",")}
        base_side = next(iter(sides))
        for job, command in jobs.items():
            runs: dict[str, list[tuple[float, float, float, float]]] = {side: [] for side in sides}
            outputs = {side: os.path.join(tmp, f"out-{i}.jsonl") for i, side in enumerate(sides)}
            cpu_file = os.path.join(tmp, "cpu.json")
            timed([*py, *command, "-o", outputs[base_side]])  # warm: file cache, numba's cache
            load = [os.getloadavg()[0]]
            for _ in range(args.reps):
                for side, extra in sides.items():
                    runs[side].append(timed([*py, *command, *extra, "-o", outputs[side]], cpu_file))
                load.append(os.getloadavg()[0])
            base = statistics.median(r[0] for r in runs[base_side])
            print(f"\n{job} ({args.reps} reps; load average {min(load):.1f}-{max(load):.1f} during the job)")
            print(f"  {'side':<24} {'wall s':>7}  {base_side[:11]:>11}/this  {'client CPU s':>12}  {'all CPU s':>9}"
                  f"  output")
            for side in sides:
                wall, me, total = (statistics.median(r[i] for r in runs[side]) for i in range(3))
                same = filecmp.cmp(outputs[side], outputs[base_side], shallow=False)
                per = ""
                if job in records:
                    per = (f"   {wall / records[job] * 1e3:.4f} ms/record wall, {total / records[job] * 1e3:.4f} "
                           f"CPU; client {records[job] / me:,.0f} records/CPU s")
                print(f"  {side:<24} {wall:7.2f}  {base / wall:15.2f}x  {me:12.2f}  {total:9.2f}  "
                      f"{'same bytes' if same else 'DIFFERENT OUTPUT'}{per}", flush=True)
                print(f"  {'':<24} runs (cores other processes used meanwhile): " + ", ".join(
                    f"{w:.2f} ({o:.2f})" for w, _, _, o in runs[side]), flush=True)
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
