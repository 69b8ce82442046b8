"""rnntools' sentence classifier vs a TF-IDF + logistic-regression baseline (scikit-learn) and the same
network in PyTorch, on real data: WordNet 3.0 noun glosses -> their lexicographer class (26 classes such
as noun.animal, noun.artifact; Debian ``wordnet-base``, see benchmarks/datasets.py).

Same run, same data, same split: rnntools and the PyTorch twin train alternately ``--reps`` times each;
medians of the training time and the test accuracy are printed with the ratio. The twin is the same
network (embedding -> GRU, both directions -> max over the real tokens -> dense -> softmax, or whatever
--pooling/--bidirectional say) started from the SAME initial
weights, fed the SAME length-bucketed batches, with the same Adam, clipping, validation split and early
stopping (patience, best model kept), so only the implementation differs. Both use one thread.

    flock /tmp/rnntools-bench.lock python3 benchmarks/classify_vs_baselines.py --train 20000 --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def load(n_train: int, n_test: int):
    from datasets import classification_set

    tr_x, tr_y, te_x, te_y = classification_set(split=True, test_fraction=0.2, seed=0)
    return tr_x[:n_train], tr_y[:n_train], te_x[:n_test], te_y[:n_test]


def tfidf_baseline(tr_x, tr_y, te_x, te_y):
    """Word 1-2 grams, sublinear tf, L2 logistic regression with C=10 (the best of {1, 3, 10, 30} on a
    validation split of 3,000 training glosses; a search per run cost minutes on the shared machine).
    solver saga: same accuracy as lbfgs on 20k glosses (0.7604 vs 0.7598) in 53 s instead of 353 s."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        start = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        clf = LogisticRegression(C=10, solver="saga", max_iter=1000).fit(vec.fit_transform(tr_x), tr_y)
        seconds = time.perf_counter() - start
        acc = float(np.mean(clf.predict(vec.transform(te_x)) == np.array(te_y)))
    return {"accuracy": acc, "seconds": seconds, "C": 10}


def write_jsonl(path, texts, labels):
    with open(path, "w", encoding="utf-8") as f:
        for t, y in zip(texts, labels):
            f.write(json.dumps({"text": t, "label": y}) + "\n")


def run_rnntools(train_path, te_x, te_y, engine, pooling, bidirectional, out_dir):
    from rnntools.tasks import classify

    model = os.path.join(out_dir, "clf.npz")
    start = time.perf_counter()
    summary = classify.train([train_path], model, {**engine, "pooling": pooling, "bidirectional": bidirectional})
    seconds = time.perf_counter() - start
    loaded = classify.load(model)
    pred = [r["label"] for r in classify.predict(loaded, ({"text": t} for t in te_x), warn=False)]
    acc = float(np.mean(np.array(pred, dtype=object) == np.array(te_y, dtype=object)))
    return {"accuracy": acc, "seconds": seconds, "epochs": summary["epochs"], "steps": summary["steps"]}


def run_torch(train_path, te_x, te_y, engine, pooling, bidirectional, out_dir):
    """The PyTorch twin: rebuilt from rnntools' own data preparation and initial weights."""
    import torch
    from torch import nn

    from rnntools.tasks import classify
    from rnntools.tasks.classify import data as C
    from rnntools.tasks.classify.model import NetConfig, init_params
    from rnntools.tasks.trainer import EngineConfig, epoch_rng
    from rnntools.text import Vocab

    torch.set_num_threads(1)
    defaults = {k: v for k, v in classify.DEFAULTS.items() if k not in classify.task.TASK_OPTIONS}
    config = EngineConfig.from_options(engine, **defaults)
    start = time.perf_counter()
    data = C.read_labelled([train_path])
    labels = C.label_set(data.labels)
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[v] for v in data.labels])
    train_idx, val_idx = C.stratified_split(y, config.val_fraction, np.random.default_rng([config.seed, 3]))
    vocab = Vocab.from_texts((data.texts[i] for i in train_idx), level=config.level, min_count=config.min_count)
    seqs, _, _ = C.encode_texts(vocab, data.texts, config.seq_len)
    cfg = NetConfig(cell="gru", vocab_size=len(vocab), n_classes=len(labels), embed_dim=config.embed_dim,
                    hidden=config.hidden, pooling=pooling or classify.DEFAULTS["pooling"],
                    bidirectional=classify.DEFAULTS["bidirectional"] if bidirectional is None else bidirectional)
    p = init_params(cfg, np.random.default_rng([config.seed, 4]))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim)
            self.rnn = nn.GRU(cfg.embed_dim, cfg.hidden, bidirectional=cfg.bidirectional)
            self.out = nn.Linear(cfg.features, cfg.n_classes)
            H = cfg.hidden
            with torch.no_grad():  # the same numbers: gate order r, z, n in both
                self.embed.weight.copy_(torch.from_numpy(p["embed.W"]))
                for d, suffix in (("f", ""), ("b", "_reverse"))[:len(cfg.directions)]:
                    W = p[f"enc.{d}0.0.W"]      # rows [h; x]
                    getattr(self.rnn, f"weight_ih_l0{suffix}").copy_(torch.from_numpy(W[H:].T.copy()))
                    getattr(self.rnn, f"weight_hh_l0{suffix}").copy_(torch.from_numpy(W[:H].T.copy()))
                    getattr(self.rnn, f"bias_ih_l0{suffix}").copy_(torch.from_numpy(p[f"enc.{d}0.0.b"]))
                    bhh = np.zeros(3 * H, np.float32)
                    bhh[2 * H:] = p[f"enc.{d}0.0.bn"]
                    getattr(self.rnn, f"bias_hh_l0{suffix}").copy_(torch.from_numpy(bhh))
                self.out.weight.copy_(torch.from_numpy(p["out.W"].T.copy()))
                self.out.bias.copy_(torch.from_numpy(p["out.b"]))

        def forward(self, ids, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(ids), lengths, enforce_sorted=False)
            out, h = self.rnn(packed)
            if cfg.pooling == "last":  # h: (directions, B, H); backward's final state is after the first token
                return self.out(torch.cat(list(h), dim=1))
            fill = float("-inf") if cfg.pooling == "max" else 0.0
            Y, _ = nn.utils.rnn.pad_packed_sequence(out, padding_value=fill)  # (T, B, F)
            feats = Y.max(0).values if cfg.pooling == "max" else Y.sum(0) / lengths[:, None].to(Y.dtype)
            return self.out(feats)

    model = Twin()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.CrossEntropyLoss()
    tr_seqs = [seqs[i] for i in train_idx]
    tr_len = np.array([len(s) for s in tr_seqs])
    y_tr, y_val = y[train_idx], y[val_idx]
    val_seqs = [seqs[i] for i in val_idx]

    def batch_tensors(ss):
        ids, lens = C.pad_batch(ss)
        return torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(lens.astype(np.int64))

    def val_loss():
        model.eval()
        total = 0.0
        with torch.no_grad():
            for idx in C.bucket_batches(np.array([len(s) for s in val_seqs]), 256, None):
                ids, lens = batch_tensors([val_seqs[i] for i in idx])
                total += float(loss_fn(model(ids, lens), torch.from_numpy(y_val[idx])) * len(idx))
        model.train()
        return total / len(val_seqs)

    best, best_state, bad, epochs = None, None, 0, 0
    for epoch in range(config.epochs):
        for idx in C.bucket_batches(tr_len, config.batch, epoch_rng(config.seed, epoch)):
            ids, lens = batch_tensors([tr_seqs[i] for i in idx])
            opt.zero_grad()
            loss = loss_fn(model(ids, lens), torch.from_numpy(y_tr[idx]))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            opt.step()
        epochs += 1
        v = val_loss()
        if best is None or v < best:
            best, bad = v, 0
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
            if bad >= config.patience:
                break
    model.load_state_dict(best_state)
    seconds = time.perf_counter() - start
    te_seqs, _, _ = C.encode_texts(vocab, te_x, config.seq_len)
    model.eval()
    correct = 0
    with torch.no_grad():
        for idx in C.bucket_batches(np.array([len(s) for s in te_seqs]), 256, None):
            ids, lens = batch_tensors([te_seqs[i] for i in idx])
            pred = model(ids, lens).argmax(1).numpy()
            correct += int(sum(labels[k] == te_y[i] for k, i in zip(pred, idx)))
    return {"accuracy": correct / len(te_x), "seconds": seconds, "epochs": epochs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--test", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--pooling", default=None)
    ap.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--engine", default="{}", help='JSON of engine options, e.g. {"hidden": 64}')
    args = ap.parse_args()
    from rnntools import console

    console.configure(quiet=True)
    tr_x, tr_y, te_x, te_y = load(args.train, args.test)
    engine = {"threads": 1, **json.loads(args.engine)}
    print(f"data: WordNet noun glosses, {len(tr_x)} train / {len(te_x)} test, {len(set(tr_y))} classes", flush=True)
    base = tfidf_baseline(tr_x, tr_y, te_x, te_y)
    print(f"tfidf+logreg: accuracy {base['accuracy']:.4f}  time {base['seconds']:.1f}s  (C={base['C']})", flush=True)
    results = {"rnntools": [], "torch": []}
    with tempfile.TemporaryDirectory() as tmp:
        train_path = os.path.join(tmp, "train.jsonl")
        write_jsonl(train_path, tr_x, tr_y)
        for rep in range(args.reps):
            r = run_rnntools(train_path, te_x, te_y, engine, args.pooling, args.bidirectional, tmp)
            results["rnntools"].append(r)
            print(f"rep {rep} rnntools: {r}", flush=True)
            if not args.skip_torch:
                t = run_torch(train_path, te_x, te_y, engine, args.pooling, args.bidirectional, tmp)
                results["torch"].append(t)
                print(f"rep {rep} torch:    {t}", flush=True)
    for side, rs in results.items():
        if rs:
            print(f"{side:9s} median: accuracy {statistics.median(r['accuracy'] for r in rs):.4f}  "
                  f"time {statistics.median(r['seconds'] for r in rs):.1f}s  "
                  f"epochs {[r['epochs'] for r in rs]}")
    if results["torch"]:
        ratio = (statistics.median(r["seconds"] for r in results["rnntools"])
                 / statistics.median(r["seconds"] for r in results["torch"]))
        print(f"time ratio rnntools/torch: {ratio:.2f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (both sides, one process)")
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
