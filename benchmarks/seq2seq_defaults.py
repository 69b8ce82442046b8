"""seq2seq with default settings, as a user runs it: train, then score on held-out pairs.

    python benchmarks/seq2seq_data.py addition /tmp/add && python benchmarks/seq2seq_data.py dates /tmp/dates
    python benchmarks/seq2seq_defaults.py /tmp/add --seeds 1,2,3,4,5 --threads 2
    python benchmarks/seq2seq_defaults.py /tmp/dates --seeds 1 --threads 2 --beam 1,5

For each seed: ``rnntools rnn-train --task seq2seq DIR/train.jsonl -o model.npz --seed S --threads T``
(nothing else unless ``--extra`` says so), timed; then ``rnntools evaluate model.npz DIR/test.jsonl`` with each
``--beam``. Prints per run: training seconds, updates, why it stopped, the validation error the trainer saw,
test exact match (and word/char error rates), and from the training log the first time the validation
exact match reached 99% and 99.5%. Run under ``flock /tmp/rnntools-bench.lock`` for timings.
When DIR has ``references.jsonl`` (G2P: every pronunciation of each test word, ``seq2seq_data.py g2p``), each
beam's row also has ``exact_match_any`` and ``wer_any``: every output scored against the closest of its
word's pronunciations (``rnntools predict``'s output, scored as Sequitur G2P's evaluation scores), the
convention of the published G2P error rates; ``exact_match`` and ``wer`` are against the first pronunciation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # rnntools' metrics score the outputs against several references


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "rnntools", *cmd], env=env, capture_output=True, text=True)


def first_time(log: str, threshold: float):
    """(seconds of training, step) when the validation error first fell to 1 - threshold, from --log (the first
    network's, for an ensemble)."""
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            if (r.get("event") == "eval" and r.get("network", 1) == 1 and r.get("val_error") is not None
                    and r["val_error"] <= 1 - threshold + 1e-12):
                return r.get("time"), r.get("step")
    return None, None


def read_references(path: str) -> dict[str, list[str]] | None:
    """``{source: [every valid target]}`` from a references file, or None when there is none."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return {r["source"]: r["references"] for r in map(json.loads, f) if r}


def closest_reference_scores(model: str, data: str, beam: str, references: dict[str, list[str]]) -> dict:
    """``exact_match_any`` and ``wer_any`` of the model's test outputs, each against the closest reference."""
    from rnntools.tasks.seq2seq.metrics import score_against_references

    out = run(["predict", model, os.path.join(data, "test.jsonl"), "--beam", beam])
    if out.returncode != 0:
        print(f"predict failed: {out.stderr.strip()[-300:]}", flush=True)
        return {}
    records = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    scores = score_against_references([r["prediction"] for r in records],
                                      [references[r["source"]] for r in records], "word", False)
    return {"exact_match_any": round(scores["exact_match"], 5), "wer_any": round(scores["wer"], 5)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="folder with train.jsonl and test.jsonl (benchmarks/seq2seq_data.py)")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beam", default="1", help="comma-separated beam widths for the test evaluation")
    ap.add_argument("--extra", default="", help="more rnn-train options (default: none, the defaults)")
    ap.add_argument("--keep", default=None, help="keep models and logs in this folder")
    args = ap.parse_args()
    import isa  # the CPU model and the instruction set numba and OpenBLAS use

    print(f"CPU {isa.report(torch_side=False)}; load {os.getloadavg()[0]:.2f}; data {args.dir}; "
          f"threads {args.threads}", flush=True)
    references = read_references(os.path.join(args.dir, "references.jsonl"))
    work = args.keep or tempfile.mkdtemp(prefix="s2s-defaults-")
    os.makedirs(work, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        model, log = os.path.join(work, f"m{seed}.npz"), os.path.join(work, f"log{seed}.jsonl")
        if os.path.exists(log):
            os.remove(log)
        cmd = ["rnn-train", "--task", "seq2seq", os.path.join(args.dir, "train.jsonl"), "-o", model, "--seed",
               str(seed), "--threads", str(args.threads), "--log", log, *args.extra.split()]
        t0 = time.perf_counter()
        result = run(cmd)
        seconds = time.perf_counter() - t0
        if result.returncode != 0:
            print(f"seed {seed}: training failed: {result.stderr.strip()[-500:]}", flush=True)
            continue
        # an ensemble's networks all write to the log, each record marked "network": k; one value per network
        ends = sorted((r for r in map(json.loads, open(log)) if r.get("event") == "end"),
                      key=lambda r: r.get("network", 1))
        row = {"seed": seed, "seconds": round(seconds, 1)}
        for key in ("steps", "stopped", "best_val_error"):
            values = [end.get(key) for end in ends]
            row[key] = values[0] if len(values) == 1 else values
        for th in (0.99, 0.995):
            row[f"val_{th}"] = first_time(log, th)
        for beam in args.beam.split(","):
            t1 = time.perf_counter()
            ev = run(["evaluate", model, os.path.join(args.dir, "test.jsonl"), "--beam", beam])
            if ev.returncode != 0:
                print(f"seed {seed}: evaluate failed: {ev.stderr.strip()[-300:]}", flush=True)
                continue
            summary = json.loads(ev.stdout)
            row[f"beam{beam}"] = {k: round(v, 5) for k, v in summary.items() if k in ("exact_match", "cer", "wer")}
            if references is not None:
                row[f"beam{beam}"].update(closest_reference_scores(model, args.dir, beam, references))
            row[f"beam{beam}"]["seconds"] = round(time.perf_counter() - t1, 1)
        row["load"] = round(os.getloadavg()[0], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if rows:
        ex = [r["beam" + args.beam.split(",")[0]]["exact_match"] for r in rows if "beam" + args.beam.split(",")[0] in r]
        print(f"median seconds {statistics.median(r['seconds'] for r in rows):.1f}; test exact match min "
              f"{min(ex):.4f} median {statistics.median(ex):.4f} over {len(ex)} seeds")


if __name__ == "__main__":
    main()
