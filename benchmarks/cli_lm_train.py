"""`rnntools rnn-train --task lm` through the command line against the engine's own training step and a plain
PyTorch loop: is the CLI's loop as fast as the library?

    flock /tmp/rnntools-bench.lock python benchmarks/cli_lm_train.py                      # lstm-256
    flock /tmp/rnntools-bench.lock python benchmarks/cli_lm_train.py --config lstm-128 --steps 100 --reps 3

The CLI side is timed as the difference of two whole runs (--max-steps S0 and S0 + steps), so process start,
data preparation and the final save cancel out and what remains is the loop: updates, the per-epoch
validation and its save, progress, the JSONL log (--log). The engine side is benchmarks/rnn_vs_torch.py's
step (the same model, data and hyperparameters, in process); PyTorch's is its plain loop. All three
alternate in one run; medians. Text: samples/book.txt (char level, 45 updates per epoch at batch 32 x 100).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import isa  # noqa: E402
import rnn_vs_torch as rvt  # noqa: E402


def cli_run(args, steps: int, out_dir: str) -> float:
    cell, hidden, layers = rvt.CONFIGS[args.config]
    cmd = [sys.executable, "-m", "rnntools", "--quiet", "rnn-train", "--task", "lm", "--level", "char",
           "--cell", cell, "--hidden", str(hidden), "--layers", str(layers), "--embed-dim", str(rvt.EMBED),
           "--batch", str(rvt.BATCH), "--seq-len", str(rvt.SEQ), "--threads", str(args.threads),
           "--max-steps", str(steps), "--dropout", "0", args.text, "-o", os.path.join(out_dir, "lm.npz"),
           "--log", os.path.join(out_dir, "log.jsonl")]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": ROOT})
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="lstm-256", choices=sorted(rvt.CONFIGS))
    ap.add_argument("--steps", type=int, default=100, help="updates timed per repetition")
    ap.add_argument("--base-steps", type=int, default=5, help="updates of the shorter CLI run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--text", default=os.path.join(ROOT, "samples", "book.txt"))
    args = ap.parse_args(argv)

    from rnntools import nn
    nn.set_threads(args.threads)
    ids, V = rvt.load_text(args.text)
    cell, hidden, layers = rvt.CONFIGS[args.config]
    sides = {"engine": rvt.Ours(cell, hidden, layers, V)}
    if not args.no_torch:
        import torch
        torch.set_num_threads(args.threads)
        sides["torch"] = rvt.Torch(cell, hidden, layers, V)
    print("cpu:", isa.report(torch_side=not args.no_torch))
    gens = {name: rvt.batches(ids, rvt.BATCH, rvt.SEQ) for name in sides}
    for name, model in sides.items():
        rvt.time_train(model, gens[name], 2)
    chars = args.steps * rvt.BATCH * rvt.SEQ
    rates: dict[str, list[float]] = {"cli": [], **{name: [] for name in sides}}
    with tempfile.TemporaryDirectory() as tmp:
        cli_run(args, args.base_steps, tmp)   # warm-up: numba cache, file cache
        for _ in range(args.reps):
            short = cli_run(args, args.base_steps, tmp)
            for name, model in sides.items():
                rates[name].append(rvt.time_train(model, gens[name], args.steps)[0])
            long = cli_run(args, args.base_steps + args.steps, tmp)
            rates["cli"].append(chars / (long - short))
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{args.config}, {args.steps} updates of batch {rvt.BATCH} x {rvt.SEQ}, threads {args.threads}, "
          f"{args.reps} reps (chars/s, median)")
    for name, value in med.items():
        print(f"  {name:<7} {value:>10,.0f}   " + " ".join(f"{r:,.0f}" for r in rates[name]))
    print(f"  cli / engine {med['cli'] / med['engine']:.3f}"
          + (f"; cli / torch {med['cli'] / med['torch']:.2f}; engine / torch {med['engine'] / med['torch']:.2f}"
             if "torch" in med else ""))
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
