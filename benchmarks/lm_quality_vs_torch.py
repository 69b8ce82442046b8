"""Validation bits per character after the same wall-clock training budget: rnntools vs a PyTorch twin.

Same text (Jane Austen's six novels, Debian r-cran-janeaustenr, via benchmarks/datasets.py), same vocabulary,
same split (the last 200,000 characters held out), same model (char LSTM: embedding 64, 1 layer, hidden 256,
softmax), same optimiser (Adam lr 2e-3, global-norm clip 5), same layout (32 parallel streams, truncated BPTT
of 100 steps with carried state), same evaluation (the held-out stream in the same layout). Each side trains
for BUDGET seconds of wall-clock time in its own process with 2 threads, then is evaluated; sides alternate,
repetitions give medians.

    flock /tmp/rnntools-bench.lock python benchmarks/lm_quality_vs_torch.py               # 120 s, 3 reps
    flock /tmp/rnntools-bench.lock python benchmarks/lm_quality_vs_torch.py --budget 60 --reps 1
    python benchmarks/lm_quality_vs_torch.py --steps 700 --reps 3 --threads 1   # quality per update, no clock
    python benchmarks/lm_quality_vs_torch.py --steps 700 --reps 3 --threads 1 --sides torch --recipe torch-ours
    python benchmarks/lm_quality_vs_torch.py --study twin --steps 200

``--steps N`` trains each side for exactly N updates instead (no time budget): it separates the quality of
an update from the speed of the engine, and needs no lock (the result does not depend on the load).

Seeds: repetition r uses seed ``--seed`` + r on both sides (rnntools' ``--seed``, ``torch.manual_seed``). The
training layout has no randomness (the stream is cut into 32 rows and walked in order, as torch-rnn does), so
the seed changes the initial weights only; both sides see the same windows in the same order.

Initialisation recipes (``--recipe``, benchmark-only, to find where a per-update gap comes from):
    own            each side its own (default; the issue's comparison): rnntools one bias per gate, forget-gate
                   bias 1, other biases and all weights U(+-1/sqrt(H)); PyTorch b_ih and b_hh, both U(+-1/sqrt(H))
    torch-forget1  PyTorch with forget-gate b_ih = 1, b_hh = 0 (the other biases as PyTorch draws them)
    torch-ours     PyTorch with rnntools' recipe: b_hh fixed at 0 (not trained), b_ih U(+-1/sqrt(H)), forget 1
    ours-forget0   rnntools with the forget-gate bias drawn U(+-1/sqrt(H)) like the other biases
    ours-torch     rnntools with PyTorch's summed bias: b = two U(+-1/sqrt(H)) draws added, no forget-gate 1
    ours-summed    rnntools as seq2seq trains its LSTM (rnntools/tasks/seq2seq.py): b stands for b_ih + b_hh, so
                   the i, o, g biases get a second U(+-1/sqrt(H)) draw (forget bias stays 1) and the whole b
                   counts twice in the clipping norm and moves twice the Adam step, as PyTorch's two do
``--sides torch`` (or ``rnntools``) runs one side only, to test a recipe that changes one side.

``--study twin``: one process, one thread: the PyTorch twin's initial weights copied into rnntools (b = b_ih +
b_hh, b_hh then held at 0 so both have one bias), both trained on the same windows; prints both losses and the
largest parameter difference along the way. It checks that the two sides compute the same update. With
``--recipe ours-summed`` PyTorch keeps its two biases and rnntools trains their sum as two parameters.
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
    lm = _lm()

    lines = lm.read_lines([path])
    vocab = lm.build_vocab(lines, "char")
    ids = lm.encode_lines(vocab, lines)
    train, val = lm.split_stream(ids, CONFIG["val_fraction"])
    return vocab, train, val


def _lm():
    """rnntools' language-model modules (rnntools.tasks.lm: data, model, task) under one name."""
    import types

    from rnntools.tasks.lm import data, model, task

    names: dict = {}
    for module in (data, model, task):
        names.update(vars(module))
    return types.SimpleNamespace(**names)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


RECIPES = ["own", "torch-forget1", "torch-ours", "ours-forget0", "ours-torch", "ours-summed"]


def ours_recipe(params: dict, recipe: str, H: int, seed: int) -> None:
    """Redraws rnntools' LSTM bias (gate order f, i, o, g) for the ``ours-*`` recipes, in place."""
    import numpy as np

    if not recipe.startswith("ours-"):
        return
    b = params["rnn.0.b"]
    rng = np.random.default_rng([seed, 17])
    scale = 1.0 / math.sqrt(H)
    if recipe == "ours-forget0":
        b[:H] = rng.uniform(-scale, scale, H)
    elif recipe == "ours-torch":
        b[:] = rng.uniform(-scale, scale, b.shape) + rng.uniform(-scale, scale, b.shape)
    elif recipe == "ours-summed":
        b[H:] += rng.uniform(-scale, scale, b[H:].shape)


def doubled_bias_step(self, batch, rng, lr):
    """LMTask.train_step with rnn.0.b trained as two equal parameters (the ``ours-summed`` recipe)."""
    import numpy as np

    from rnntools import nn

    x, y = batch
    self.optimizer.lr = lr
    loss, grads, state = self.model.loss_and_grads(x, y, self.carry, rng=rng, train=True)
    g = grads["rnn.0.b"]
    norm = math.sqrt(nn.global_norm(grads) ** 2 + float(np.dot(g, g)))
    if norm > self.config.clip:
        for v in grads.values():
            v *= self.config.clip / (norm + 1e-6)
    b = self.model.params["rnn.0.b"]
    before = b.copy()
    self.optimizer.step(grads)
    b += b - before
    for live, new in zip(self.carry, state):
        live[...] = new
    return loss * y.size, y.size


def run_rnntools(path: str, budget: float, threads: int, steps: int = 0, seed: int = 1,
                 recipe: str = "own") -> dict:
    sys.path.insert(0, ROOT)
    lm = _lm()

    if recipe.startswith("ours-"):
        init = lm.LanguageModel.__init__

        def patched(self, *a, **kw):   # benchmark-only: the recipe applied to a freshly built model
            init(self, *a, **kw)
            ours_recipe(self.params, recipe, self.hidden, seed)

        lm.LanguageModel.__init__ = patched
        if recipe == "ours-summed":
            lm.LMTask.train_step = doubled_bias_step
    out = os.path.join("/tmp", f"lm-quality-{os.getpid()}.npz")
    engine = dict(level="char", cell="lstm", epochs=1000, max_time=None if steps else budget, threads=threads,
                  optimizer="adam", eval_every=10**9, seed=seed, **CONFIG)
    if steps:
        engine["max_steps"] = steps
    from rnntools.parallel import configure_threads

    configure_threads(threads)  # as --threads does: tasks never set threads themselves
    summary = lm.train([path], out, engine)
    os.remove(out)
    return {"val_bpc": summary["last_eval"]["val_bpc"], "steps": summary["steps"],
            "chars_per_s": summary["chars_per_s"], "train_seconds": summary["seconds"]}


def torch_twin(V: int, recipe: str = "own"):
    """The PyTorch model; ``recipe`` changes its LSTM biases (gate order i, f, g, o) in place."""
    import torch

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(V, CONFIG["embed_dim"])
            self.rnn = torch.nn.LSTM(CONFIG["embed_dim"], CONFIG["hidden"], CONFIG["layers"])
            self.out = torch.nn.Linear(CONFIG["hidden"], V)

        def forward(self, x, state):
            y, state = self.rnn(self.embed(x), state)
            return self.out(y), state

    model = Twin()
    H = CONFIG["hidden"]
    with torch.no_grad():
        if recipe in ("torch-forget1", "torch-ours"):
            model.rnn.bias_ih_l0[H:2 * H] = 1.0
            model.rnn.bias_hh_l0[H:2 * H] = 0.0
        if recipe == "torch-ours":
            model.rnn.bias_hh_l0.zero_()
            model.rnn.bias_hh_l0.requires_grad_(False)
    return model


def stream_layout(ids, batch):
    """(S, B) inputs and targets of B parallel streams, as rnntools' StreamBatches cuts them."""
    import numpy as np
    import torch

    S = (len(ids) - 1) // batch
    x = torch.from_numpy(np.ascontiguousarray(ids[: batch * S].reshape(batch, S).T)).long()
    y = torch.from_numpy(np.ascontiguousarray(ids[1: batch * S + 1].reshape(batch, S).T)).long()
    return x, y, S


def run_torch(path: str, budget: float, threads: int, steps: int = 0, seed: int = 1, recipe: str = "own") -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    vocab, train, val = data(path)
    V, B, T = len(vocab), CONFIG["batch"], CONFIG["seq_len"]
    model = torch_twin(V, recipe)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=CONFIG["lr"])
    x, y, S = stream_layout(train, B)
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
    return {"val_bpc": torch_val_bpc(model, val, V), "steps": n_steps, "chars_per_s": chars / seconds,
            "train_seconds": seconds}


def torch_val_bpc(model, val, V: int) -> float:
    """Bits per character of the held-out stream in the training layout, state carried (as lm.stream_nll)."""
    import torch

    B, T = CONFIG["batch"], CONFIG["seq_len"]
    vb = max(1, min(B, (len(val) - 1) // T))
    vx, vy, vS = stream_layout(val, vb)
    total, n = 0.0, 0
    with torch.no_grad():
        state = None
        for a in range(0, vS, T):
            logits, state = model(vx[a:a + T], state)
            total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, V), vy[a:a + T].reshape(-1),
                                                             reduction="sum"))
            n += vy[a:a + T].numel()
    return total / n / math.log(2)


def twin_check(path: str, steps: int, seed: int, recipe: str = "own") -> None:
    """Both sides from the same weights on the same windows, one thread each, in this process.

    ``recipe`` own: PyTorch's two biases summed into b_ih, b_hh held at 0, so both sides have one bias.
    ours-summed: PyTorch keeps both biases and rnntools trains b = b_ih + b_hh as two (``doubled_bias_step``).
    """
    import numpy as np
    import torch

    sys.path.insert(0, ROOT)
    from rnntools import nn
    lm = _lm()

    torch.set_num_threads(1)
    nn.set_threads(1)
    torch.manual_seed(seed)
    vocab, train, val = data(path)
    V, B, T, H = len(vocab), CONFIG["batch"], CONFIG["seq_len"], CONFIG["hidden"]
    summed = recipe == "ours-summed"
    twin = torch_twin(V, "own")
    if not summed:
        with torch.no_grad():   # one bias on both sides: PyTorch's two summed into b_ih, b_hh held at 0
            twin.rnn.bias_ih_l0 += twin.rnn.bias_hh_l0
            twin.rnn.bias_hh_l0.zero_()
        twin.rnn.bias_hh_l0.requires_grad_(False)
    opt_t = torch.optim.Adam([p for p in twin.parameters() if p.requires_grad], lr=CONFIG["lr"])
    perm = np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])

    def as_ours() -> dict:   # PyTorch gates i, f, g, o -> rnntools f, i, o, g; W rows [h; x]
        r = twin.rnn
        return {"embed.W": twin.embed.weight.detach().numpy(),
                "rnn.0.W": np.concatenate([r.weight_hh_l0.detach().numpy()[perm].T,
                                           r.weight_ih_l0.detach().numpy()[perm].T]),
                "rnn.0.b": (r.bias_ih_l0 + r.bias_hh_l0).detach().numpy()[perm],
                "out.W": twin.out.weight.detach().numpy().T, "out.b": twin.out.bias.detach().numpy()}

    model = lm.LanguageModel(V, cell="lstm", hidden=H, layers=1, embed_dim=CONFIG["embed_dim"], seed=seed)
    for k, v in as_ours().items():
        model.params[k][...] = v
    names = model.trainable()

    class Task:   # what doubled_bias_step / LMTask.train_step read
        pass

    task = Task()
    task.model, task.carry = model, model.rnn.zero_state(B)
    task.optimizer = nn.make_optimizer("adam", {n: model.params[n] for n in names}, lr=CONFIG["lr"])
    task.config = argparse.Namespace(clip=CONFIG["clip"])
    step_ours = doubled_bias_step if summed else lm.LMTask.train_step
    batches = lm.StreamBatches(train, B, T)
    x, y, _ = stream_layout(train, B)
    state_t = None
    print(f"twin check ({recipe}): {steps} updates from the same weights, same windows, one thread each")
    print(" update  loss torch  loss rnntools  |difference|  max |param difference|")
    for k in range(steps):
        xb, yb = x[k * T:(k + 1) * T], y[k * T:(k + 1) * T]
        logits, state_t = twin(xb, state_t)
        state_t = tuple(s.detach() for s in state_t)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), yb.reshape(-1))
        opt_t.zero_grad()
        loss.backward()
        loss_t = float(loss.detach())
        torch.nn.utils.clip_grad_norm_(twin.parameters(), CONFIG["clip"])
        opt_t.step()
        loss_sum, count = step_ours(task, batches[k], None, CONFIG["lr"])
        loss_o = loss_sum / count
        if k + 1 in (1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 700, 1000) or k + 1 == steps:
            diff = max(float(np.abs(model.params[n] - v).max()) for n, v in as_ours().items())
            print(f"{k + 1:7d}  {loss_t:10.5f}  {loss_o:12.5f}  {abs(loss_t - loss_o):12.2e}  {diff:.2e}",
                  flush=True)
    nll_o, n_o = lm.stream_nll(model, val, B, T)
    print(f"val bpc after {steps} updates: torch {torch_val_bpc(twin, val, V):.4f}  rnntools "
          f"{nll_o / n_o / math.log(2):.4f}")


def child(args) -> None:
    fn = run_rnntools if args.side == "rnntools" else run_torch
    result = fn(args.text, args.budget, args.threads, args.steps, args.seed, args.recipe)
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    return (f"mean {statistics.mean(values):.4f} sd {statistics.stdev(values):.4f} "
            f"(min {min(values):.4f} max {max(values):.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds per side and repetition")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=0, help="train N updates per side instead of --budget")
    parser.add_argument("--seed", type=int, default=1, help="repetition r uses seed SEED + r on both sides")
    parser.add_argument("--recipe", choices=RECIPES, default="own", help="initialisation (see the docstring)")
    parser.add_argument("--sides", choices=["both", "rnntools", "torch"], default="both")
    parser.add_argument("--study", choices=["none", "twin"], default="none")
    parser.add_argument("--side", choices=["rnntools", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--text", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=True), flush=True)
    if args.side:
        child(args)
        return
    path = corpus_path()
    if args.study == "twin":
        twin_check(path, args.steps or 200, args.seed, args.recipe)
        return
    vocab, train, val = data(path)
    print(f"text: {path} (Austen, 6 novels): {len(train):,} training and {len(val):,} validation characters, "
          f"{len(vocab)} symbols; char LSTM E{CONFIG['embed_dim']} H{CONFIG['hidden']} B{CONFIG['batch']} "
          f"T{CONFIG['seq_len']} Adam {CONFIG['lr']}; " + (f"{args.steps} updates per side" if args.steps else
                                                          f"budget {args.budget:.0f} s per side")
          + f", {args.threads} threads, recipe {args.recipe}, seeds {args.seed}..{args.seed + args.reps - 1}")
    env = {**os.environ, "PYTHONPATH": ROOT}
    sides = ["rnntools", "torch"] if args.sides == "both" else [args.sides]
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for rep in range(args.reps):
        seed = args.seed + rep
        order = sides if rep % 2 == 0 else sides[::-1]
        for side in order:
            out = subprocess.run([sys.executable, __file__, "--side", side, "--text", path, "--budget",
                                  str(args.budget), "--threads", str(args.threads), "--steps", str(args.steps),
                                  "--seed", str(seed), "--recipe", args.recipe],
                                 capture_output=True, text=True, env=env)
            if out.returncode != 0:
                sys.exit(f"{side} failed:\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[side].append(r)
            print(f"rep {rep + 1} (seed {seed}) {side:8s}: val bpc {r['val_bpc']:.4f}  steps {r['steps']}  "
                  f"{r['chars_per_s']:,.0f} chars/s  peak {r['peak_mb']:.0f} MB", flush=True)
    for side, rs in results.items():
        print(f"{side:8s} val bpc: {spread([r['val_bpc'] for r in rs])}")
    if len(sides) == 2:
        med = {side: {k: statistics.median(r[k] for r in rs) for k in ("val_bpc", "chars_per_s", "steps", "peak_mb")}
               for side, rs in results.items()}
        a, b = med["rnntools"], med["torch"]
        diffs = [ra["val_bpc"] - rb["val_bpc"] for ra, rb in zip(results["rnntools"], results["torch"])]
        print("per-seed difference (rnntools - torch): " + "  ".join(f"{d:+.4f}" for d in diffs)
              + f"  mean {statistics.mean(diffs):+.4f}")
        print(f"median val bpc: rnntools {a['val_bpc']:.4f}  torch {b['val_bpc']:.4f}  "
              f"difference {a['val_bpc'] - b['val_bpc']:+.4f} (target <= +0.05)")
        print(f"median updates: rnntools {a['steps']:.0f}  torch {b['steps']:.0f}")
        print(f"median training chars/s: rnntools {a['chars_per_s']:,.0f}  torch {b['chars_per_s']:,.0f}  "
              f"ratio {a['chars_per_s'] / b['chars_per_s']:.2f}x")
        print(f"median peak memory: rnntools {a['peak_mb']:.0f} MB  torch {b['peak_mb']:.0f} MB")
    print("load:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
