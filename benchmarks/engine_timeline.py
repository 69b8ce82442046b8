"""Where a two-thread training step's wall time goes: each worker's busy time, hand-off latency, imbalance.

    python benchmarks/engine_timeline.py --config lstm-256x2 --steps 20
    # with the AVX2 environment of docs/performance.md for the other instruction set

The step is rnn_vs_torch.py's (no PyTorch in the process). Every piece of work handed to the engine's
workers is timed on the worker that runs it (start and end, ``time.perf_counter``), and every hand-off
(``run_rows``, ``run_parts``, ``run_together``: the calls that wait for their futures) from the calling thread's
submit to its last result. Per step, in milliseconds of wall time:

- **busy**: each worker's time inside handed-off work;
- **serial**: the calling thread between hand-offs (Python, numpy, OpenBLAS calls made there, Adam), when
  no worker has work;
- **start**: from a hand-off's submit to its first piece starting (the queue and the wake-up);
- **imbalance**: inside a hand-off, the time one worker finished before the other, summed;
- **tail**: from the last piece's end to the calling thread having every result.

Wall = busy of the busier worker + its idle; only an otherwise idle machine (or a ``chrt`` window) gives
wall times that mean something: beside other jobs a descheduled worker shows up as imbalance. The table
lists the hand-offs by the function handed off, with their summed imbalance.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import rnn_vs_torch as bench  # noqa: E402  (imports rnntools before numpy, as the commands do)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="lstm-256x2", choices=sorted(bench.CONFIGS))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", choices=["auto", "rows", "units"], default="auto")
    args = ap.parse_args(argv)

    import isa
    import numpy as np

    from rnntools import nn
    from rnntools.nn import parallel, recurrent

    nn.set_threads(args.threads)
    pool = parallel._pool()
    pieces: list = []                       # (name, thread, start, end) of every piece of handed-off work
    handoffs: list = []                     # (name, submit, done, first piece index, last piece index + 1)
    submit = pool.submit
    lock = threading.Lock()

    def timed_submit(fn, *a, **k):
        name = getattr(fn, "__name__", "?")

        def run():
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                t1 = time.perf_counter()
                with lock:
                    pieces.append((name, threading.get_ident(), t0, t1))
        return submit(run)

    pool.submit = timed_submit

    def wrap(module, fname):
        fn = getattr(module, fname)

        def timed(*a, **k):
            first = len(pieces)
            t0 = time.perf_counter()
            result = fn(*a, **k)
            t1 = time.perf_counter()
            if len(pieces) > first:
                if fname == "run_together":
                    inner = "+".join(job.fn.__name__ for job in a[0])
                elif fname in ("run_rows", "run_parts"):
                    inner = a[0].__name__
                else:
                    inner = fname
                handoffs.append((inner, t0, t1, first, len(pieces)))
            return result
        setattr(module, fname, timed)
        return timed

    # the callers' names for these functions: recurrent and layers import them from parallel; matmul,
    # matmul_tn and column_sums hand off through parallel's own (run_together, or in older checkouts
    # run_rows and, for matmul_tn, the pool itself: wrapped whole there)
    names = ("run_rows", "run_parts", "run_together") if hasattr(parallel, "run_together") else \
        ("run_rows", "run_parts", "matmul_tn")
    for fname in names:
        wrapped = wrap(parallel, fname)
        for module in (recurrent, nn.layers):
            if getattr(module, fname, None) is not None:
                setattr(module, fname, wrapped)

    cell, hidden, layers = bench.CONFIGS[args.config]
    ids, V = bench.load_text(os.path.join(os.path.dirname(HERE), "samples", "book.txt"))
    model = bench.Ours(cell, hidden, layers, V)
    batches = bench.batches(ids, bench.BATCH, bench.SEQ)
    per_step = defaultdict(list)
    by_name: dict = defaultdict(lambda: [0.0, 0.0, 0.0, 0])   # busy, imbalance, start latency, count
    by_thread: dict = defaultdict(list)                        # each worker's busy time a step
    with recurrent.time_loop_split(None if args.split == "auto" else args.split):
        bench.time_train(model, batches, bench.WARMUP_STEPS)
        for _ in range(args.steps):
            pieces.clear()
            handoffs.clear()
            x_ids, y_ids = next(batches)
            t0 = time.perf_counter()
            model.train_step(x_ids, y_ids)
            t1 = time.perf_counter()
            threads = sorted({p[1] for p in pieces})
            busy = {th: sum(p[3] - p[2] for p in pieces if p[1] == th) for th in threads}
            # hand-offs nested in another (matmul inside run_rows) would count twice: keep the outermost
            outer = []
            for h in sorted(handoffs, key=lambda h: (h[1], -h[2])):
                if outer and h[1] >= outer[-1][1] and h[2] <= outer[-1][2]:
                    continue
                outer.append(h)
            start = imbalance = tail = 0.0
            for name, s, d, i0, i1 in outer:
                ps = pieces[i0:i1]
                ends = {}
                for p in ps:
                    ends[p[1]] = max(ends.get(p[1], 0.0), p[3])
                first = min(p[2] for p in ps)
                last = max(p[3] for p in ps)
                lat = first - s
                imb = (last - min(ends.values())) if len(ends) > 1 else (last - first if args.threads > 1 else 0.0)
                start += lat
                imbalance += imb
                tail += d - last
                e = by_name[name]
                e[0] += sum(p[3] - p[2] for p in ps)
                e[1] += imb
                e[2] += lat
                e[3] += 1
            inside = sum(d - s for _, s, d, _, _ in outer)
            per_step["wall"].append(t1 - t0)
            per_step["serial"].append((t1 - t0) - inside)
            per_step["start"].append(start)
            per_step["imbalance"].append(imbalance)
            per_step["tail"].append(tail)
            per_step["busiest"].append(max(busy.values()) if busy else 0.0)
            per_step["least busy"].append(min(busy.values()) if len(busy) == args.threads else 0.0)
            per_step["hand-offs"].append(len(outer))
            for th, b in busy.items():
                by_thread[th].append(b)
    n = args.steps
    print("cpu:", isa.report(torch_side=False))
    print(f"{args.config}, {args.threads} threads, {n} steps: median wall {1e3 * np.median(per_step['wall']):.1f} ms")
    print(f"  {'per step (ms)':<34} {'median':>8} {'mean':>8}")
    for k, v in per_step.items():
        scale = 1 if k == "hand-offs" else 1e3
        print(f"  {k:<34} {scale * np.median(v):8.2f} {scale * np.mean(v):8.2f}")
    names = {t.ident: t.name for t in threading.enumerate()}
    print("  busy by worker (median ms a step; worker i is pinned to the i-th allowed core when all are used): "
          + ", ".join(f"{names.get(th, th)} {1e3 * np.median(v):.2f}" for th, v in sorted(
              by_thread.items(), key=lambda kv: str(names.get(kv[0], kv[0])))))
    print(f"  {'by hand-off (ms a step)':<34} {'busy':>8} {'imbal.':>8} {'start':>8} {'calls':>6}")
    for k, (b, imb, lat, cnt) in sorted(by_name.items(), key=lambda kv: -kv[1][0]):
        print(f"    {k:<32} {1e3 * b / n:8.2f} {1e3 * imb / n:8.2f} {1e3 * lat / n:8.2f} {cnt / n:6g}")
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
