"""The cost of one seq2seq training update, A/B in one process: CPU seconds per update of option sets.

    python benchmarks/seq2seq_update_cost.py /tmp/g2p/train.jsonl --extra "--target-level word --max-steps 100000" \\
        --variants "defaults;dropout=0;hidden=384" --block 30 --rounds 7
    python benchmarks/seq2seq_update_cost.py /tmp/g2p/train.jsonl --extra "--target-level word --max-steps 100000" \\
        --profile 150

Each variant is the network and trainer task that ``rnn-train --task seq2seq`` would build from the ``--extra``
options plus the variant's (``name=value`` pairs, ``;`` between variants; ``defaults`` adds nothing), at
``--threads`` (default 1: then every product runs in this thread, so CPU time is the update's cost however
loaded the machine is). Each round draws ``--block`` batches and every variant trains on those same batches,
in alternating order; the median over rounds of CPU milliseconds per update is printed with the ratio to
the first variant. ``--profile N``: cProfile (CPU time) of N updates of the first variant instead.
Why CPU time: on a shared machine wall time measures the other jobs (blocks of the same updates took
150-300 ms at load 11), while one thread's CPU time moved by a few percent.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shlex
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


class _Built(Exception):
    pass


def build_task(data: str, options: dict):
    """The trainer task ``rnn-train --task seq2seq DATA`` builds with ``options`` (stopped before training)."""
    from rnntools.tasks.seq2seq import task as s2s_task
    from rnntools.tasks.seq2seq.options import DEFAULTS

    got = {}

    def keep(task, config):
        got["task"] = task
        raise _Built

    given = {k: None for k in DEFAULTS}
    given.update(options)
    try:
        s2s_task.train([data], os.devnull, given, callback=keep)
    except _Built:
        pass
    return got["task"]


def parse_options(text: str) -> dict:
    """``--target-level word --max-steps 100`` or ``target_level=word`` pairs -> option dict (typed by DEFAULTS)."""
    from rnntools.tasks.seq2seq.options import DEFAULTS

    out: dict = {}
    words = shlex.split(text.replace(";", " "))
    pairs = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("--"):
            pairs.append((w[2:].replace("-", "_"), words[i + 1]))
            i += 2
        elif "=" in w:
            pairs.append(tuple(w.split("=", 1)))
            i += 1
        elif w == "defaults":
            i += 1
        else:
            raise SystemExit(f"cannot read option {w!r}")
    for key, value in pairs:
        if key not in DEFAULTS:
            raise SystemExit(f"unknown option {key!r}")
        default = DEFAULTS[key]
        if isinstance(default, bool):
            out[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(default, int):
            out[key] = int(value)
        elif isinstance(default, float):
            out[key] = float(value)
        else:
            try:
                out[key] = int(value)
            except ValueError:
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="training pairs (JSONL), e.g. benchmarks/seq2seq_data.py's train.jsonl")
    ap.add_argument("--extra", default="", help="rnn-train options for every variant")
    ap.add_argument("--variants", default="defaults", help="';'-separated option sets, name=value pairs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--block", type=int, default=30, help="updates per variant per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", type=int, default=0, help="profile this many updates of the first variant")
    a = ap.parse_args()

    from rnntools.parallel import configure_threads

    configure_threads(a.threads)
    base = {"ensemble": 1, "seed": a.seed, **parse_options(a.extra)}
    names = [v.strip() for v in a.variants.split(";") if v.strip()]
    tasks = {name: build_task(a.data, {**base, **parse_options(name)}) for name in names}
    first = tasks[names[0]]
    import isa  # the CPU model and the instruction set numba and OpenBLAS use

    print(f"CPU {isa.report(torch_side=False)}; load {os.getloadavg()[0]:.2f}; threads {a.threads}; "
          + "; ".join(f"{n}: dropout {t.dropout} hidden {t.cfg.hidden} batch {t.batch}" for n, t in tasks.items()),
          flush=True)
    rng = np.random.default_rng([a.seed, 11])
    batches: list = []
    need = a.warmup + max(a.profile, a.block * a.rounds)
    while len(batches) < need:
        batches.extend(first.epoch_batches(0, rng))
    lr = 1e-4
    for task in tasks.values():
        for idx in batches[:a.warmup]:
            task.train_step(idx, rng, lr)
    work = batches[a.warmup:]
    if a.profile:
        prof = cProfile.Profile(time.process_time)
        t = time.process_time()
        prof.enable()
        for idx in work[:a.profile]:
            first.train_step(idx, rng, lr)
        prof.disable()
        dt = time.process_time() - t
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        print(f"{names[0]}: {1000 * dt / a.profile:.1f} CPU ms per update (profiled)")
        return
    res: dict = {n: [] for n in names}
    for r in range(a.rounds):
        same = work[r * a.block:(r + 1) * a.block]
        for name in (names if r % 2 == 0 else names[::-1]):
            t = time.process_time()
            for idx in same:
                tasks[name].train_step(idx, rng, lr)
            res[name].append(1000 * (time.process_time() - t) / a.block)
        print(f"round {r + 1}: " + ", ".join(f"{n} {v[-1]:.1f}" for n, v in res.items())
              + f" CPU ms/update; load {os.getloadavg()[0]:.2f}", flush=True)
    ref = statistics.median(res[names[0]])
    for name in names:
        med = statistics.median(res[name])
        print(f"{name}: median {med:.1f} CPU ms per update ({1000 / med:.1f} updates per CPU second), "
              f"{med / ref:.3f}x {names[0]}")


if __name__ == "__main__":
    main()
