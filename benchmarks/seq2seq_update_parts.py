"""Parts of a seq2seq training update, each timed two ways in one process on the same real batches, alternating:
what leaving out the padding's work saves, in CPU milliseconds per update.

    python benchmarks/seq2seq_update_parts.py /tmp/g2p/train.jsonl --extra "--target-level word --max-steps 100000" \\
        --updates 60 --rounds 7 [--parts update]

The pairs, each on the batches of the network ``rnn-train --task seq2seq`` builds from ``--extra`` (as
``seq2seq_update_cost.py``):

- attention: its forward and backward over every decoder position, and with ``tgt_mask`` (padded target
  positions left out, the training default);
- gru backward: each recurrent stack's backward time loop (``seq_backward``) on a table input writing all of
  dAx, and keeping none of it (the per-id sums only, the default);
- dropout masks: a Generator's uniform draw per unit, ``(draws < keep) * float32(1 / keep)``, and the
  counter-based hash (``nn.hashed_dropout_mask``, the default): another stream, so not the same bits;
- update: a whole ``train_step`` as before (a Generator's draw per dropout unit, every position in the weight
  gradients, the gradients scaled in place by the clip) and as now (the hashed masks; ``Net.skip_padding``:
  the weight gradients over the real positions only, a GRU's dAh written compact; the clip's coefficient
  applied by Adam as it reads each gradient), two copies of the task on the same batches; not the same bits
  (other masks, the weight gradients' sums in another order).

The first two pairs are checked to give the same bits before they are timed. At ``--threads 1`` (the default)
every product runs in this thread, so CPU time is the cost however loaded the machine is. Medians over rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def attention_pair(task, batch, drops):
    """Two callables (every position, padding left out) over one batch's real attention inputs."""
    from rnntools.nn import attention as att

    net = task.net
    He, final, _ = net.encode(batch.src, batch.src_mask, drops)
    Hd, _, _ = net._run(net.dec_embed, net.decoder, "dec", batch.dec_in, batch.tgt_mask, final, drops)
    Hd = Hd * drops["top"] if drops else Hd
    p = net.attention._p()
    rng = np.random.default_rng(0)
    dout = (rng.normal(size=Hd.shape) * batch.tgt_mask[:, :, None]).astype(Hd.dtype)

    def run(tgt_mask):
        def go():
            K = att.keys(p, He, None if tgt_mask is None else batch.src_mask)
            out, _, cache = att.attention_forward(p, Hd, He, K, batch.src_mask, tgt_mask)
            return out, att.attention_backward(p, cache, dout)
        return go

    full, part = run(None), run(batch.tgt_mask)
    a, b = full(), part()
    real = batch.tgt_mask > 0
    assert np.array_equal(a[0][real], b[0][real]) and np.array_equal(a[1][0], b[1][0])
    assert np.array_equal(a[1][1], b[1][1]) and all(np.array_equal(a[1][2][k], b[1][2][k]) for k in a[1][2])
    return full, part


def gru_backward_pair(task, batch, drops):
    """Two callables running the backward time loops of every stack (table input): dAx kept, not kept."""
    from rnntools.nn import recurrent as rec
    from rnntools.nn.gates import K

    net = task.net
    loops = []
    He, final, (cache_f, cache_b, perm) = net.encode(batch.src, batch.src_mask, drops)
    _, _, dec_cache = net._run(net.dec_embed, net.decoder, "dec", batch.dec_in, batch.tgt_mask, final, drops)
    stacks = [(net.encoder, cache_f), (net.encoder_b, cache_b), (net.decoder, dec_cache)]
    rng = np.random.default_rng(1)
    for rnn, cache in stacks:
        c = cache.layers[0]
        W = rnn._p(0, "W")
        T, B = c.mask.shape
        H = W.shape[0] - c.x.shape[1]
        GH = W.shape[1]
        dY = (rng.normal(size=(T, B, H)) * c.mask[:, :, None]).astype(W.dtype)
        loops.append((rnn.kind, W[:H], c, dY, np.zeros((B, H), W.dtype), T, B, H, GH))

    def run(keep):
        def go():
            got = []
            for kind, Wh, c, dY, dhT, T, B, H, GH in loops:
                dAx = np.empty((T, B, GH) if keep else (0, 1, GH), Wh.dtype)
                dAh = np.empty((T, B, GH), Wh.dtype)
                dh0, dc0 = np.empty((B, H), Wh.dtype), np.zeros((B, H), Wh.dtype)
                S = np.zeros((c.x.shape[0], GH), Wh.dtype)
                K.seq_backward(kind, Wh, c.h0, c.c0, c.mask, c.Hs, c.Cs, c.G, c.Rn, dY, dhT, dhT, 0, B, dAx,
                               dAh.reshape(-1, GH), rec.step_rows(T, B), dh0, dc0, c.ids, S)
                got.append((dAh, S, dh0))
            return got
        return go

    assert rec.get_threads() == 1, "the gru pair calls the row loop over the whole batch: --threads 1"
    kept, not_kept = run(True), run(False)
    for x, y in zip(kept(), not_kept()):
        assert all(np.array_equal(u, v) for u, v in zip(x, y))
    return kept, not_kept


def old_dropout_masks(cfg, batch, rate, rng, dtype, table):
    """The masks as they were drawn before the counter-based hash: a Generator's uniform draw per unit."""
    keep = 1.0 - rate
    scale = np.dtype(dtype).type(1.0 / keep)
    S, B = batch.src.shape
    T = batch.dec_in.shape[0]
    out = {}
    sides = (("enc", S), ("encb", S), ("dec", T)) if cfg.bidirectional else (("enc", S), ("dec", T))
    for side, length in sides:
        for layer in range(cfg.layers_of(side)):
            width = cfg.embed_dim if layer == 0 else cfg.width_of(side)
            rows = cfg.tgt_vocab_size if side == "dec" else cfg.src_vocab_size
            shape = (rows, width) if table and layer == 0 else (length, B, width)
            out[(side, layer)] = np.multiply(rng.random(shape) < keep, scale, dtype=dtype)
    out["top"] = np.multiply(rng.random((T, B, cfg.hidden)) < keep, scale, dtype=dtype)
    return out


def dropout_pair(task, batch):
    """A Generator's uniform draw per unit, and the counter-based hash (the default): the same distribution,
    another stream, so the pair is checked for the same keys, shapes and kept value only."""
    from rnntools.tasks.seq2seq.model import dropout_masks

    cfg, rate = task.cfg, task.dropout
    table = task.embedding_dropout == "table"
    dtype = task.p["out.W"].dtype

    def old():
        return old_dropout_masks(cfg, batch, rate, np.random.default_rng(5), dtype, table)

    def new():
        return dropout_masks(cfg, batch, rate, np.random.default_rng(5), dtype, table=table)

    a, b = old(), new()
    assert list(a) == list(b) and all(a[k].shape == b[k].shape and a[k].max() == b[k].max() for k in a)
    return old, new


def old_train_step(task, idx, rng, lr):
    """``train_step`` as it was: a Generator's draw per dropout unit, every position in the weight gradients,
    the gradients clipped in place."""
    from rnntools.nn import clip_grad_norm

    batch = task.padded.batch(idx)
    drops = None
    if task.dropout > 0:
        drops = old_dropout_masks(task.cfg, batch, task.dropout, rng, task.p["out.W"].dtype,
                                  task.embedding_dropout == "table")
    task.net.skip_padding = False
    loss, grads = task.net.loss_and_grads(batch, drops=drops, smoothing=task.label_smoothing)
    clip_grad_norm(grads, task.clip, scale=1.0 / batch.tokens, doubled=task.doubled)
    task.opt.lr = lr
    task.opt.step(grads)
    return loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--extra", default="")
    ap.add_argument("--updates", type=int, default=60, help="batches per round")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--parts", default="attention,gru backward,dropout masks,update",
                    help="comma-separated pairs to time")
    a = ap.parse_args()
    wanted = [w.strip() for w in a.parts.split(",") if w.strip()]
    from seq2seq_update_cost import build_task, parse_options

    from rnntools.parallel import configure_threads
    from rnntools.tasks.seq2seq.model import dropout_masks

    configure_threads(1)
    task = build_task(a.data, {"ensemble": 1, "seed": a.seed, **parse_options(a.extra)})
    import isa

    rng = np.random.default_rng([a.seed, 11])
    batches: list = []
    while len(batches) < a.updates:
        batches.extend(task.epoch_batches(0, rng))
    batch_ids = batches[:a.updates]
    batches = [task.padded.batch(idx) for idx in batch_ids]
    real = sum(float(b.tgt_mask.sum()) for b in batches) / sum(b.tgt_mask.size for b in batches)
    print(f"CPU {isa.report(torch_side=False)}; load {os.getloadavg()[0]:.2f}; threads 1; hidden {task.cfg.hidden} "
          f"batch {task.batch} dropout {task.dropout}; {a.updates} batches, {real:.1%} of decoder positions real",
          flush=True)
    pairs: dict = {w: [] for w in wanted}
    for batch in batches:
        drops = None
        if task.dropout > 0:
            drops = dropout_masks(task.cfg, batch, task.dropout, rng, task.p["out.W"].dtype,
                                  table=task.embedding_dropout == "table")
        if "attention" in pairs:
            pairs["attention"].append(attention_pair(task, batch, drops))
        if "gru backward" in pairs:
            pairs["gru backward"].append(gru_backward_pair(task, batch, drops))
        if "dropout masks" in pairs:
            pairs["dropout masks"].append(dropout_pair(task, batch))
    if "update" in pairs:
        old_task = build_task(a.data, {"ensemble": 1, "seed": a.seed, **parse_options(a.extra)})
        assert all(np.array_equal(old_task.p[k], task.p[k]) for k in task.p)
        for i, idx in enumerate(batch_ids):
            pairs["update"].append((
                lambda i=i, idx=idx: old_train_step(old_task, idx, np.random.default_rng([a.seed, 99, i]), 1e-4),
                lambda i=i, idx=idx: task.train_step(idx, np.random.default_rng([a.seed, 99, i]), 1e-4)))
    names = {"attention": ("every position", "padding left out"), "gru backward": ("dAx kept", "dAx not kept"),
             "dropout masks": ("a draw per unit", "hashed"), "update": ("before", "now")}
    for part, fns in pairs.items():
        res: list[list[float]] = [[], []]
        for r in range(a.rounds):
            for side in ((0, 1) if r % 2 == 0 else (1, 0)):
                t = time.process_time()
                for pair in fns:
                    pair[side]()
                res[side].append(1000 * (time.process_time() - t) / len(fns))
        m0, m1 = statistics.median(res[0]), statistics.median(res[1])
        print(f"{part}: {names[part][0]} {m0:.2f}, {names[part][1]} {m1:.2f} CPU ms per update "
              f"(saves {m0 - m1:.2f}; rounds {', '.join(f'{x:.2f}/{y:.2f}' for x, y in zip(*res))}); "
              f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
