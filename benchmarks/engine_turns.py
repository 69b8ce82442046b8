"""rnntools' training step alone, turn by turn: how steady is it? (no PyTorch in the process)

    python benchmarks/engine_turns.py --config lstm-512 --turns 8 --steps 5

Each turn waits ``--pause`` seconds (as rnn_vs_torch.py does before each timed turn), then runs ``--steps``
training steps of the benchmark's char LM and prints chars/s and every step's milliseconds. A step that
takes much longer than its neighbours lost its core for a while (another process, or two of our own
threads sharing one core): see docs/performance.md, "Threads kept on their own cores".
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import rnn_vs_torch as bench  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="lstm-512", choices=sorted(bench.CONFIGS))
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--pause", type=float, default=bench.SETTLE)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import isa

    from rnntools import nn

    nn.set_threads(args.threads)
    cell, hidden, layers = bench.CONFIGS[args.config]
    ids, V = bench.load_text(os.path.join(os.path.dirname(HERE), "samples", "book.txt"))
    model = bench.Ours(cell, hidden, layers, V)
    batches = bench.batches(ids, bench.BATCH, bench.SEQ)
    bench.time_train(model, batches, 2)   # warm-up
    print("cpu:", isa.report(torch_side=False))
    for turn in range(args.turns):
        time.sleep(args.pause)
        ms = []
        for _ in range(args.steps):
            t = time.perf_counter()
            model.train_step(*next(batches))
            ms.append(1e3 * (time.perf_counter() - t))
        rate = args.steps * bench.BATCH * bench.SEQ / (sum(ms) / 1e3)
        print(f"{args.config} turn {turn}: {rate:,.0f} chars/s; step ms {' '.join(f'{x:.1f}' for x in ms)}",
              flush=True)
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
