"""Where the engine's training step goes: wall and CPU time (all threads) per stage and per hand-off.

    python benchmarks/engine_profile.py --config lstm-512 --steps 10 --threads 2
    # with the AVX2 environment of docs/performance.md for the other instruction set

The step is rnn_vs_torch.py's (embedding read by id + recurrent stack + dense + softmax cross-entropy +
backward + clipping + Adam, no PyTorch in the process). Stages are the step's calls; inside them every call
of ``run_rows``/``run_parts`` (a hand-off to the workers, named by the function handed off), ``matmul`` and
``matmul_tn`` (named by shapes) is timed too. CPU time is the process's (``time.process_time``: every thread),
so it means something beside other jobs, where wall time does not; a spinning barrier (the unit split) counts
as CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import rnn_vs_torch as bench  # noqa: E402  (imports rnntools before numpy, as the commands do)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="lstm-512", choices=sorted(bench.CONFIGS))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--split", choices=["auto", "rows", "units"], default="auto")
    ap.add_argument("--work", action="store_true",
                    help="also each piece of work the workers run, by kind: their thread CPU time (all workers)")
    args = ap.parse_args(argv)

    import isa

    from rnntools import nn
    from rnntools.nn import recurrent

    nn.set_threads(args.threads)
    calls: dict = {}

    def wrap(module, name):
        fn = getattr(module, name)

        def timed(*a, **k):
            if name in ("run_rows", "run_parts"):
                key = f"{name}:{a[0].__name__}"
            elif name in ("matmul", "matmul_tn"):
                key = f"{name} {a[0].shape} x {a[1].shape}"
            else:
                key = name
            t, c = time.perf_counter(), time.process_time()
            result = fn(*a, **k)
            e = calls.setdefault(key, [0.0, 0.0, 0])
            e[0] += time.perf_counter() - t
            e[1] += time.process_time() - c
            e[2] += 1
            return result
        setattr(module, name, timed)

    for name in ("run_rows", "run_parts", "matmul", "matmul_tn", "column_sums"):
        wrap(recurrent, name)
    wrap(nn.layers, "run_rows")
    work: dict = {}
    if args.work:
        import functools
        import threading

        from rnntools.nn import parallel
        from rnntools.nn.gates import K

        def on_workers(module, name, label):
            fn = getattr(module, name)

            @functools.wraps(fn)
            def timed(*a, **k):
                if not threading.current_thread().name.startswith("rnntools-nn"):
                    return fn(*a, **k)
                c = time.thread_time()
                try:
                    return fn(*a, **k)
                finally:
                    key = label(a) if callable(label) else label
                    work[key] = work.get(key, 0.0) + time.thread_time() - c
            setattr(module, name, timed)

        for module, name, label in (
                (recurrent, "_fwd", "forward time loops"), (recurrent, "_bwd", "backward time loops"),
                (recurrent, "_fwd_units", "forward time loops (unit split)"),
                (recurrent, "_bwd_units", "backward time loops (unit split)"),
                (K, "matmul_packed_steps", lambda a: "stack's input projections" if a[2].shape[0] else
                 "stack's input gradients"),
                (parallel, "_dot_tn_part", "weight gradients (OpenBLAS)"), (parallel, "_sum_rows", "bias sums"),
                (parallel, "_packed_rows", "other products (engine's kernel)"),
                (nn.layers, "_dense_xent_rows", "dense + softmax CE")):
            on_workers(module, name, label)

    cell, hidden, layers = bench.CONFIGS[args.config]
    ids, V = bench.load_text(os.path.join(os.path.dirname(HERE), "samples", "book.txt"))
    m = bench.Ours(cell, hidden, layers, V)
    batches = bench.batches(ids, bench.BATCH, bench.SEQ)
    stages: dict = {}

    def stage(name, fn, *a, **k):
        t, c = time.perf_counter(), time.process_time()
        result = fn(*a, **k)
        e = stages.setdefault(name, [0.0, 0.0])
        e[0] += time.perf_counter() - t
        e[1] += time.process_time() - c
        return result

    with recurrent.time_loop_split(None if args.split == "auto" else args.split):
        bench.time_train(m, batches, bench.WARMUP_STEPS)
        calls.clear()
        work.clear()
        total = [0.0, 0.0]
        for _ in range(args.steps):
            x_ids, y_ids = next(batches)
            t, c = time.perf_counter(), time.process_time()
            y, m.state, rc = stage("recurrent forward", m.rnn.forward, m.emb.table, m.state, ids=x_ids)
            grads: dict = {}
            _, dy = stage("dense + softmax CE", m.out.softmax_cross_entropy, y, y_ids, grads)
            dtable, _ = stage("recurrent backward", m.rnn.backward, dy, rc, grads)
            stage("embedding backward", m.emb.backward, dtable, None, grads)
            stage("clip", nn.clip_grad_norm, grads, 5.0)
            stage("adam", m.opt.step, grads)
            total[0] += time.perf_counter() - t
            total[1] += time.process_time() - c
    n = args.steps
    print("cpu:", isa.report(torch_side=False))
    print(f"{args.config}, {args.threads} thread(s): step wall {total[0] / n * 1e3:.1f} ms, "
          f"CPU {total[1] / n * 1e3:.1f} ms ({n * bench.BATCH * bench.SEQ / total[0]:,.0f} chars/s)")
    print(f"  {'stage':<58} {'wall ms':>8} {'CPU ms':>8}")
    for k, (w, c) in stages.items():
        print(f"  {k:<58} {w / n * 1e3:8.2f} {c / n * 1e3:8.2f}")
    print(f"  {'inside them':<58} {'wall ms':>8} {'CPU ms':>8}  calls/step")
    for k, (w, c, cnt) in sorted(calls.items(), key=lambda kv: -kv[1][1]):
        print(f"    {k:<56} {w / n * 1e3:8.2f} {c / n * 1e3:8.2f}  {cnt / n:g}")
    if work:
        print(f"  {'on the workers (their thread CPU), by piece of work':<58} {'CPU ms':>17}")
        for k, c in sorted(work.items(), key=lambda kv: -kv[1]):
            print(f"    {k:<56} {c / n * 1e3:17.2f}")
        print(f"    {'sum':<56} {sum(work.values()) / n * 1e3:17.2f}")
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
