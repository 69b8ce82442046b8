"""rnntools' recurrent engine vs PyTorch CPU: char-LM training and batch-1 generation throughput.

Both sides in one process, same text, same hyperparameters, alternating repetitions, medians.

    flock /tmp/rnntools-bench.lock python benchmarks/rnn_vs_torch.py                 # all configs
    flock /tmp/rnntools-bench.lock python benchmarks/rnn_vs_torch.py --config lstm-256 --reps 5

The training step measured on both sides: embedding + recurrent stack + dense + softmax cross-entropy +
backward + gradient clipping + Adam, on consecutive real-text batches (truncated BPTT, state carried).
Text: samples/book.txt (see samples/SOURCES.md). PyTorch runs with torch.set_num_threads(THREADS); rnntools
with nn.set_threads(THREADS) and OpenBLAS limited to one thread per engine thread inside the time loops.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rnntools  # noqa: E402,F401,I001  (before numpy: OpenBLAS's kernels chosen as the commands choose them)

import numpy as np  # noqa: E402

CONFIGS = {   # name: (cell, hidden, layers)
    "lstm-128": ("lstm", 128, 1),
    "lstm-256": ("lstm", 256, 1),
    "lstm-512": ("lstm", 512, 1),
    "lstm-256x2": ("lstm", 256, 2),
    "gru-256": ("gru", 256, 1),
    "rnn-256": ("rnn", 256, 1),
}
EMBED, BATCH, SEQ = 64, 32, 100
WARMUP_STEPS = 10


def load_text(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.fromiter((index[c] for c in text), np.int32, len(text))
    return ids, len(chars)


def batches(ids, batch, seq):
    """Consecutive (seq, batch) input/target windows of `batch` parallel streams, cycled forever."""
    n = (len(ids) - 1) // batch
    streams = np.stack([ids[i * n:(i + 1) * n + 1] for i in range(batch)], axis=1)  # (n+1, B)
    while True:
        for s in range(0, n - seq, seq):
            yield np.ascontiguousarray(streams[s:s + seq]), np.ascontiguousarray(streams[s + 1:s + seq + 1])


# --- rnntools ---------------------------------------------------------------------------------------------

class Ours:
    def __init__(self, cell, hidden, layers, V, seed=0):
        from rnntools import nn
        self.nn = nn
        rng = np.random.default_rng(seed)
        self.params = {}
        self.emb = nn.Embedding(self.params, "embed", V, EMBED, rng=rng)
        self.rnn = nn.Recurrent(self.params, "rnn", cell, EMBED, hidden, layers=layers, rng=rng)
        self.out = nn.Dense(self.params, "out", hidden, V, rng=rng)
        self.opt = nn.Adam(self.params, lr=2e-3)
        self.V = V
        self.state = None
        self.sampler = None

    def train_step(self, x_ids, y_ids):
        nn = self.nn
        # as rnntools.tasks.lm does it: the stack reads the embedding table by id
        y, self.state, rc = self.rnn.forward(self.emb.table, self.state, ids=x_ids)
        grads = {}
        loss, dy = self.out.softmax_cross_entropy(y, y_ids, grads)
        dtable, _ = self.rnn.backward(dy, rc, grads)
        self.emb.backward(dtable, None, grads)
        nn.clip_grad_norm(grads, 5.0)
        self.opt.step(grads)
        return loss

    def generate(self, n, seed=0):
        """Batch-1 sampling at temperature 1 the way `rnntools sample` does it: the LM task's Sampler, whose
        numba calls each run a stretch of tokens (embedding row, whole stack, projection, sampling)."""
        from rnntools.tasks.lm.sample import Sampler

        sampler = self.sampler
        if sampler is None:
            sampler = self.sampler = Sampler.of_params(self.params, self.rnn.cell, self.rnn.hidden,
                                                       self.rnn.layers, self.V)
        sampler.h[...] = 0
        sampler.c[...] = 0
        return list(sampler._tokens(0, n, 1.0, 0, -1, np.random.default_rng(seed)))


# --- PyTorch ----------------------------------------------------------------------------------------------

class Torch:
    def __init__(self, cell, hidden, layers, V, seed=0):
        import torch
        self.torch = torch
        torch.manual_seed(seed)
        rnn_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        self.emb = torch.nn.Embedding(V, EMBED)
        self.rnn = rnn_cls(EMBED, hidden, num_layers=layers)
        self.out = torch.nn.Linear(hidden, V)
        self.params = [*self.emb.parameters(), *self.rnn.parameters(), *self.out.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=2e-3)
        self.V = V
        self.state = None

    def train_step(self, x_ids, y_ids):
        torch = self.torch
        x = self.emb(torch.from_numpy(x_ids).long())
        if self.state is not None:
            self.state = tuple(s.detach() for s in self.state) if isinstance(self.state, tuple) \
                else self.state.detach()
        y, self.state = self.rnn(x, self.state)
        logits = self.out(y)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, self.V), torch.from_numpy(y_ids).long().reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 5.0)
        self.opt.step()
        return float(loss.detach())

    def generate(self, n, seed=0):
        torch = self.torch
        g = torch.Generator().manual_seed(seed)
        out, state = [], None
        tok = torch.zeros((1, 1), dtype=torch.long)
        with torch.no_grad():
            for _ in range(n):
                y, state = self.rnn(self.emb(tok), state)
                p = torch.softmax(self.out(y[0, 0]), -1)
                t = int(torch.multinomial(p, 1, generator=g))
                out.append(t)
                tok = torch.tensor([[t]])
        return out


def time_train(model, gen, steps):
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = next(gen)
        loss = model.train_step(x, y)
    dt = time.perf_counter() - t0
    return steps * BATCH * SEQ / dt, loss


# Seconds to wait before each timed turn: PyTorch's OpenMP threads keep spinning for a while after its
# turn (and took a core from the engine's next turn when it followed at once); neither side is timed then.
SETTLE = 0.3


def time_generate(model, n):
    time.sleep(SETTLE)
    t0 = time.perf_counter()
    model.generate(n)
    return n / (time.perf_counter() - t0)


def profile(model, gen, steps):
    """Where rnntools' training step spends its time, stage by stage (ms per step)."""
    nn, acc = model.nn, {}

    def timed(name, fn, *args, **kwargs):
        t = time.perf_counter()
        result = fn(*args, **kwargs)
        acc[name] = acc.get(name, 0.0) + time.perf_counter() - t
        return result

    for _ in range(steps):
        x_ids, y_ids = next(gen)
        y, model.state, rc = timed("recurrent fwd", model.rnn.forward, model.emb.table, model.state, ids=x_ids)
        grads = {}
        _, dy = timed("dense + softmax CE", model.out.softmax_cross_entropy, y, y_ids, grads)
        dtable, _ = timed("recurrent bwd", model.rnn.backward, dy, rc, grads)
        timed("embedding bwd", model.emb.backward, dtable, None, grads)
        timed("clip", nn.clip_grad_norm, grads, 5.0)
        timed("adam", model.opt.step, grads)
    total = sum(acc.values())
    return "; ".join(f"{k} {v / steps * 1e3:.1f} ms ({100 * v / total:.0f}%)" for k, v in acc.items())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", action="append", choices=sorted(CONFIGS), help="repeatable; default all")
    ap.add_argument("--reps", type=int, default=5, help="alternating repetitions per side")
    ap.add_argument("--steps", type=int, default=5, help="training steps per repetition")
    ap.add_argument("--gen-chars", type=int, default=500, help="characters per generation repetition")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--text", default=os.path.join(ROOT, "samples", "book.txt"))
    ap.add_argument("--no-generate", action="store_true")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--profile", action="store_true", help="also print where rnntools' step spends its time")
    ap.add_argument("--split", choices=["auto", "rows", "units"], default="auto",
                    help="how rnntools' workers share the training time loops (default: chosen by timing)")
    args = ap.parse_args(argv)

    import torch

    from rnntools import nn
    torch.set_num_threads(args.threads)
    nn.set_threads(args.threads)
    ids, V = load_text(args.text)
    print(f"text {args.text}: {len(ids):,} chars, vocabulary {V}; embed {EMBED}, batch {BATCH}, seq {SEQ}; "
          f"threads {args.threads}; torch {torch.__version__}")
    import isa
    print("cpu:", isa.report())
    print(f"{'config':<12} {'what':<10} {'rnntools/s':>12} {'torch/s':>12} {'ratio':>7}   loss (ours / torch)")
    with nn.recurrent.time_loop_split(None if args.split == "auto" else args.split):
        for name in args.config or list(CONFIGS):
            cell, hidden, layers = CONFIGS[name]
            ours, theirs = Ours(cell, hidden, layers, V), Torch(cell, hidden, layers, V)
            gens = {"ours": batches(ids, BATCH, SEQ), "torch": batches(ids, BATCH, SEQ)}
            if not args.no_train:
                # warm-up: compilation, allocator, caches, and the engine's choice of how its workers split the
                # time loops (by batch rows or hidden units: it times a few calls of each, nn.recurrent)
                time_train(ours, gens["ours"], WARMUP_STEPS)
                time_train(theirs, gens["torch"], WARMUP_STEPS)
                rates = {"ours": [], "torch": []}
                losses = {}
                for _ in range(args.reps):
                    for side, model in (("ours", ours), ("torch", theirs)):
                        time.sleep(SETTLE)
                        r, losses[side] = time_train(model, gens[side], args.steps)
                        rates[side].append(r)
                mo, mt = statistics.median(rates["ours"]), statistics.median(rates["torch"])
                print(f"{name:<12} {'train':<10} {mo:>12,.0f} {mt:>12,.0f} {mo / mt:>6.2f}x   "
                      f"{losses['ours']:.3f} / {losses['torch']:.3f}", flush=True)
            if args.profile:
                time.sleep(SETTLE)    # after PyTorch's last turn, as before a timed one
                print(f"{'':<12} profile    {profile(ours, gens['ours'], args.steps)}", flush=True)
            if not args.no_generate:
                ours.generate(args.gen_chars)    # warm-up: kernels loaded, the sampler's first timing probe done
                theirs.generate(args.gen_chars)
                g = {"ours": [], "torch": []}
                for _ in range(args.reps):
                    g["ours"].append(time_generate(ours, args.gen_chars))
                    g["torch"].append(time_generate(theirs, args.gen_chars))
                mo, mt = statistics.median(g["ours"]), statistics.median(g["torch"])
                print(f"{name:<12} {'generate':<10} {mo:>12,.0f} {mt:>12,.0f} {mo / mt:>6.2f}x   (batch 1)",
                      flush=True)
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
