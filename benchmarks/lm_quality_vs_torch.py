"""Validation bits per character after the same wall-clock training budget: rnntools vs a PyTorch twin.

Same text (Jane Austen's six novels, Debian r-cran-janeaustenr, via benchmarks/datasets.py), same vocabulary,
same split (the last 200,000 characters held out), same model (char LSTM: embedding 64, 1 layer, hidden 256,
softmax), same optimiser (Adam lr 2e-3, global-norm clip 5), same layout (32 parallel streams, truncated BPTT
of 100 steps with carried state), same evaluation (the held-out stream in the same layout). Each side trains
for BUDGET seconds of wall-clock time in its own process with 2 threads, then is evaluated; sides alternate,
repetitions give medians.

    flock /tmp/rnntools-bench.lock python benchmarks/lm_quality_vs_torch.py               # 120 s, 3 reps
    flock /tmp/rnntools-bench.lock python benchmarks/lm_quality_vs_torch.py --budget 60 --reps 1
    python benchmarks/lm_quality_vs_torch.py --steps 300 --reps 1     # quality per update, no time limit

``--steps N`` trains each side for exactly N updates instead (no time budget): it separates the quality of
an update from the speed of the engine, and needs no lock (the result does not depend on the load).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONFIG = dict(embed_dim=64, hidden=256, layers=1, batch=32, seq_len=100, lr=2e-3, clip=5.0, val_fraction=0.05)


def corpus_path() -> str:
    sys.path.insert(0, HERE)
    import datasets

    path = os.path.join(str(datasets.cache_dir()), "austen-lm.txt")
    if not os.path.exists(path):
        paragraphs = [p for _, p in datasets.austen_paragraphs()]
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(p + "\n" for p in paragraphs)
        os.replace(tmp, path)
    return path


def data(path: str):
    """The shared vocabulary and split, built with rnntools' data code (not part of the timing)."""
    sys.path.insert(0, ROOT)
    from rnntools.tasks import lm

    lines = lm.read_lines([path])
    vocab = lm.build_vocab(lines, "char")
    ids = lm.encode_lines(vocab, lines)
    train, val = lm.split_stream(ids, CONFIG["val_fraction"])
    return vocab, train, val


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_rnntools(path: str, budget: float, threads: int, steps: int = 0) -> dict:
    sys.path.insert(0, ROOT)
    from rnntools.tasks import lm

    out = os.path.join("/tmp", f"lm-quality-{os.getpid()}.npz")
    engine = dict(level="char", cell="lstm", epochs=1000, max_time=None if steps else budget, threads=threads,
                  optimizer="adam", eval_every=10**9, seed=1, **CONFIG)
    if steps:
        engine["max_steps"] = steps
    summary = lm.train([path], out, engine)
    os.remove(out)
    return {"val_bpc": summary["last_eval"]["val_bpc"], "steps": summary["steps"],
            "chars_per_s": summary["chars_per_s"], "train_seconds": summary["seconds"]}


def run_torch(path: str, budget: float, threads: int, steps: int = 0) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    vocab, train, val = data(path)
    V, B, T = len(vocab), CONFIG["batch"], CONFIG["seq_len"]

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(V, CONFIG["embed_dim"])
            self.rnn = torch.nn.LSTM(CONFIG["embed_dim"], CONFIG["hidden"], CONFIG["layers"])
            self.out = torch.nn.Linear(CONFIG["hidden"], V)

        def forward(self, x, state):
            y, state = self.rnn(self.embed(x), state)
            return self.out(y), state

    def layout(ids, batch):
        S = (len(ids) - 1) // batch
        x = torch.from_numpy(np.ascontiguousarray(ids[: batch * S].reshape(batch, S).T)).long()
        y = torch.from_numpy(np.ascontiguousarray(ids[1: batch * S + 1].reshape(batch, S).T)).long()
        return x, y, S

    model = Twin()
    opt = torch.optim.Adam(model.parameters(), lr=CONFIG["lr"])
    x, y, S = layout(train, B)
    n_steps, chars = 0, 0

    start = time.perf_counter()
    done = False
    while not done:
        state = None
        for a in range(0, S, T):
            if (steps and n_steps >= steps) or (not steps and time.perf_counter() - start >= budget):
                done = True
                break
            xb, yb = x[a:a + T], y[a:a + T]
            logits, state = model(xb, state)
            state = tuple(s.detach() for s in state)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), yb.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CONFIG["clip"])
            opt.step()
            n_steps += 1
            chars += yb.numel()
    seconds = time.perf_counter() - start
    vb = max(1, min(B, (len(val) - 1) // T))
    vx, vy, vS = layout(val, vb)
    total, n = 0.0, 0
    with torch.no_grad():
        state = None
        for a in range(0, vS, T):
            logits, state = model(vx[a:a + T], state)
            total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, V), vy[a:a + T].reshape(-1),
                                                             reduction="sum"))
            n += vy[a:a + T].numel()
    return {"val_bpc": total / n / math.log(2), "steps": n_steps, "chars_per_s": chars / seconds,
            "train_seconds": seconds}


def child(args) -> None:
    fn = run_rnntools if args.side == "rnntools" else run_torch
    result = fn(args.text, args.budget, args.threads, args.steps)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds per side and repetition")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=0, help="train N updates per side instead of --budget")
    parser.add_argument("--side", choices=["rnntools", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--text", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args)
        return
    path = corpus_path()
    vocab, train, val = data(path)
    print(f"text: {path} (Austen, 6 novels): {len(train):,} training and {len(val):,} validation characters, "
          f"{len(vocab)} symbols; char LSTM E{CONFIG['embed_dim']} H{CONFIG['hidden']} B{CONFIG['batch']} "
          f"T{CONFIG['seq_len']} Adam {CONFIG['lr']}; " + (f"{args.steps} updates per side" if args.steps else
                                                          f"budget {args.budget:.0f} s per side")
          + f", {args.threads} threads")
    env = {**os.environ, "PYTHONPATH": ROOT}
    results: dict[str, list[dict]] = {"rnntools": [], "torch": []}
    for rep in range(args.reps):
        order = ["rnntools", "torch"] if rep % 2 == 0 else ["torch", "rnntools"]
        for side in order:
            out = subprocess.run([sys.executable, __file__, "--side", side, "--text", path, "--budget",
                                  str(args.budget), "--threads", str(args.threads), "--steps", str(args.steps)],
                                 capture_output=True,
                                 text=True, env=env)
            if out.returncode != 0:
                sys.exit(f"{side} failed:\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[side].append(r)
            print(f"rep {rep + 1} {side:8s}: val bpc {r['val_bpc']:.4f}  steps {r['steps']}  "
                  f"{r['chars_per_s']:,.0f} chars/s  peak {r['peak_mb']:.0f} MB", flush=True)
    med = {side: {k: statistics.median(r[k] for r in rs) for k in ("val_bpc", "chars_per_s", "steps", "peak_mb")}
           for side, rs in results.items()}
    a, b = med["rnntools"], med["torch"]
    print(f"median val bpc: rnntools {a['val_bpc']:.4f}  torch {b['val_bpc']:.4f}  "
          f"difference {a['val_bpc'] - b['val_bpc']:+.4f} (target <= +0.05)")
    print(f"median training chars/s: rnntools {a['chars_per_s']:,.0f}  torch {b['chars_per_s']:,.0f}  "
          f"ratio {a['chars_per_s'] / b['chars_per_s']:.2f}x")
    print(f"median peak memory: rnntools {a['peak_mb']:.0f} MB  torch {b['peak_mb']:.0f} MB")
    print("load:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
