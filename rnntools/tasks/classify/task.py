"""Many-to-one classification: the glue between records (``data.py``), the network (``model.py``) and the
trainer. ``train`` writes a model file; ``load`` reads one (old layouts migrated); ``read`` turns input files
into records; ``predict`` and ``evaluate`` take a loaded model and records and never open outputs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnntools.errors import check_meta_ints, model_loader
from rnntools.io import stdin_idle
from rnntools.tasks.classify.data import (
    Label,
    bucket_batches,
    class_weights,
    confusion_matrix,
    encode_texts,
    idf_weights,
    iter_records,
    label_set,
    metrics_from_confusion,
    ngram_ids,
    pad_batch,
    read_label,
    read_labelled,
    stratified_split,
    wide_matrix,
)
from rnntools.tasks.classify.model import (
    NetConfig,
    Network,
    expected_calibration_error,
    fit_temperature,
    init_params,
    migrate_arrays,
    predict_logits,
    predict_probs,
    softmax,
    weighted_xent,
)
from rnntools.tasks.config import TrainableTask

KIND = "classifier"

# THE defaults of rnn-train --task classify (engine options included); the network's were measured on
# WordNet noun glosses (26 classes), the wide part on the benchmark sets of docs/classify.md.
DEFAULTS: dict[str, Any] = dict(
    level="word", cell="gru", hidden=128, layers=1, embed_dim=128, batch=32, epochs=30, patience=2,
    val_fraction=0.1, min_count=1, max_vocab=None, vocab_path=None, seq_len=200, dropout=0.0, optimizer="adam",
    clip=5.0,
    lr=None,  # None: the optimiser's own (rnntools.tasks.trainer.DEFAULT_LR: adam 2e-3, sgd 0.5)
    pooling="max", bidirectional=True, class_weight="none", text_field="text", label_field="label",
    wide="words+chars", wide_buckets=1 << 18, calibrate=True,
)

# Options that decide the network's shape or how text becomes arrays: on --resume the saved value holds,
# and a different value given on the command line is a usage error.
STRUCTURAL = frozenset({"level", "cell", "hidden", "layers", "embed_dim", "pooling", "bidirectional",
                        "seq_len", "min_count", "max_vocab", "vocab_path", "wide", "wide_buckets"})

# the task's own options (the rest of DEFAULTS are the engine's, rnntools.tasks.trainer.EngineConfig)
TASK_OPTIONS = ("pooling", "bidirectional", "class_weight", "text_field", "label_field", "wide", "wide_buckets",
                "calibrate")


@dataclass
class Model:
    """A loaded classifier: the network, its vocabulary and labels, and the options it was trained with."""

    net: Network
    vocab: Any
    labels: list
    config: dict
    meta: dict

    @property
    def keys(self) -> list[str]:
        return [label_key(v) for v in self.labels]

    @property
    def temperature(self) -> float:
        return float(self.meta.get("temperature", 1.0))

    def wide_features(self, texts: Sequence[str]):
        """The texts' sparse n-gram rows for the wide part, or None without one."""
        return wide_features(texts, self.config, self.net.params.get("wide.idf"))

    def probs(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Calibrated class probabilities (N, C) and how many texts had no known token."""
        seqs, empty, _ = encode_texts(self.vocab, texts, self.config["seq_len"])
        return predict_probs(self.net, seqs, self.wide_features(texts), temperature=self.temperature), empty


def wide_features(texts: Sequence[str], config: dict, idf: np.ndarray | None, docs=None):
    """Sparse n-gram rows (``data.wide_matrix``) of ``texts``, or None when the model has no wide part."""
    if config.get("wide", "none") == "none" or idf is None:
        return None
    if docs is None:
        docs = [ngram_ids(t, len(idf), config["wide"] == "words+chars") for t in texts]
    return wide_matrix(docs, idf)


def label_key(label: Label) -> str:
    """The JSON object key of a label (``probs``, per-class tables): strings as they are, integers as JSON."""
    return label if isinstance(label, str) else json.dumps(label)


# --- loading -----------------------------------------------------------------------------------------------

def _config_from_old_meta(meta: dict) -> dict:
    """``meta["config"]`` of a file written before the task contract (options spread over several keys)."""
    net, data = meta.get("net", {}), meta.get("data", {})
    training = meta.get("training", {}).get("config", {})
    config = {**DEFAULTS, **{k: v for k, v in training.items() if k in DEFAULTS}}
    config.update({k: net[k] for k in ("cell", "hidden", "layers", "embed_dim") if k in net})
    config.update({k: data[k] for k in ("level", "seq_len", "text_field", "label_field", "class_weight") if k in data})
    config.update(pooling=meta.get("pooling", "last"), bidirectional=bool(meta.get("bidirectional", False)),
                  wide="none", calibrate=False)      # neither existed then
    return config


@model_loader("classifier")
def load(source) -> Model:
    """A classifier from a path, the bytes of a file, or a loaded ``rnntools.io.ModelFile``. Files written
    before the task contract are migrated (parameter and optimiser-state names, configuration)."""
    from rnntools.io import ModelFile, load_model
    from rnntools.text import Vocab

    if isinstance(source, ModelFile):
        model = source
        if model.kind != KIND:
            from rnntools.errors import ModelFileError

            raise ModelFileError(f"is a {model.kind!r} model, expected {KIND!r}", model.path)
    elif isinstance(source, (bytes, bytearray)):
        import io as _io

        model = load_model(_io.BytesIO(bytes(source)), KIND)
    else:
        model = load_model(source, KIND)
    meta = model.meta
    config = meta["config"] if "config" in meta else _config_from_old_meta(meta)
    arrays = migrate_arrays(model.arrays, config["cell"])
    if "optim.t" not in arrays and any(k.startswith("optim.") for k in arrays):
        task_meta = meta.get("training", {}).get("task", {})
        arrays["optim.t"] = np.array(int(task_meta.get("adam_t", 0)), np.int64)
    model.arrays = arrays
    vocab = Vocab.from_meta(meta["vocab"])
    config = {**config, "wide": config.get("wide", "none")}
    check_meta_ints(config, ("embed_dim", "hidden", "layers"))
    cfg = NetConfig(cell=config["cell"], vocab_size=len(vocab), n_classes=len(meta["labels"]),
                    embed_dim=config["embed_dim"], hidden=config["hidden"], layers=config["layers"],
                    pooling=config["pooling"], bidirectional=bool(config["bidirectional"]),
                    wide_buckets=int(config["wide_buckets"]) if config["wide"] != "none" else 0,
                    wide_lr=float(config.get("wide_lr", 1.0)),
                    share=float(meta.get("wide_fit", {}).get("share", 1.0)))
    names = list(init_params(cfg, np.random.default_rng(0)).keys())
    if cfg.wide_buckets:
        names += ["wide.W", "wide.idf"] + (["wide.b"] if "wide.b" in arrays else [])
    params = {name: arrays[name] for name in names}
    return Model(Network(cfg, params), vocab, list(meta["labels"]), config, meta)


# --- records -----------------------------------------------------------------------------------------------

def read(inputs: Sequence[str], model: Model | None = None, *, text_field: str | None = None,
         label_field: str | None = None, errors: str = "strict", **_options) -> Iterator[dict]:
    """Records of ``inputs`` (JSONL, or plain lines: ``label<TAB>text`` when a tab is present, else the whole
    line is the text). Field names default to the model's. Each record carries where it came from in
    ``_place`` (file, line) for messages; ``predict`` and ``evaluate`` drop it."""
    text_field = text_field or (model.config.get("text_field") if model else None) or "text"
    label_field = label_field or (model.config.get("label_field") if model else None) or "label"
    for path in inputs:
        for line_no, record in iter_records(path, errors, tsv_fields=(label_field, text_field), plain_text=True):
            record["_place"] = (path, line_no)
            yield record


def _text(record: dict, field: str) -> str:
    from rnntools.io import read_text_field

    path, line_no = record.get("_place", (None, 0))
    return read_text_field(record, field, path, line_no)


def predict(model: Model, records: Iterable[dict], *, text_field: str | None = None, top_k: int | None = None,
            chunk: int = 512, warn: bool = True, **_options) -> Iterator[dict]:
    """Each record (its fields kept) with ``label`` (the most probable) and ``probs`` (label -> probability,
    most probable first, ``top_k`` of them) added."""
    from rnntools import console

    field = text_field or model.config.get("text_field", "text")
    label_field = model.config.get("label_field", "label")
    keys = model.keys
    k = len(keys) if top_k is None else min(top_k, len(keys))
    count = empty_total = replaced = 0

    def flush(batch: list[dict]):
        nonlocal empty_total
        probs, empty = model.probs([_text(r, field) for r in batch])
        empty_total += empty
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        for record, p, o in zip(batch, probs, order):
            record.pop("_place", None)
            record["label"] = model.labels[o[0]]
            record["probs"] = {keys[j]: round(float(p[j]), 6) for j in o}
            yield record

    batch: list[dict] = []
    for record in records:
        if "label" in record or label_field in record:
            replaced += 1
        batch.append(record)
        if len(batch) >= chunk or stdin_idle():
            count += len(batch)
            yield from flush(batch)
            batch = []
    if batch:
        count += len(batch)
        yield from flush(batch)
    if warn and replaced:
        console.warn(f"{replaced} input records had a \"label\" field; it was replaced by the prediction "
                     "(score a labelled file with `rnntools evaluate`)")
    if warn and empty_total:
        console.warn(f"{empty_total} of {count} texts had no known tokens; they were predicted from <unk> alone")


def evaluate(model: Model, records: Iterable[dict], *, text_field: str | None = None,
             label_field: str | None = None, **_options) -> dict:
    """Accuracy, macro-F1, log loss, ECE, per-class precision/recall/F1 and the confusion matrix of labelled
    records. Labels the model never saw count as errors (with a warning) and get their own row.

    The summary of the records' sufficient statistics (``evaluate_partial``, ``evaluate_combine``): a
    cluster (``--scheduler``) sums the statistics of its partitions instead, to the same numbers."""
    stats = evaluate_partial(model, records, text_field=text_field, label_field=label_field)
    return evaluate_combine(model, [stats])


ECE_BINS = 15


def evaluate_partial(model: Model, records: Iterable[dict], *, text_field: str | None = None,
                     label_field: str | None = None, **_options) -> dict:
    """What ``evaluate`` needs of some records, as sums that add up exactly over partitions of the input:
    counts of (gold label, predicted class), the exact sum of the log-loss terms of the labels the model
    knows, and per confidence bin (ECE) its count, correct count and exact sum of confidences."""
    from collections import Counter

    from rnntools.tasks.classify.data import exact_sum

    tf = text_field or model.config.get("text_field", "text")
    lf = label_field or model.config.get("label_field", "label")
    texts, gold = [], []
    first = None
    for record in records:
        path, line_no = record.get("_place", (None, 0))
        first = first or path
        texts.append(_text(record, tf))
        gold.append(read_label(record, lf, path, line_no))
    stats = {"examples": len(texts), "first": first, "empty": 0, "pairs": Counter(), "seen": 0, "loss": 0,
             "bins": [(0, 0, 0)] * ECE_BINS}
    if not texts:
        return stats
    index = {(type(lab), lab): i for i, lab in enumerate(model.labels)}
    probs, stats["empty"] = model.probs(texts)
    pred = probs.argmax(axis=1)
    y = np.fromiter((index.get((type(lab), lab), -1) for lab in gold), np.int64, len(gold))
    seen = np.flatnonzero(y >= 0)
    stats["pairs"] = Counter(zip(((type(lab), lab) for lab in gold), pred.tolist()))
    stats["seen"] = len(seen)
    stats["loss"] = exact_sum(-np.log(np.maximum(probs[seen, y[seen]].astype(np.float64), 1e-15)))
    conf = probs.max(axis=1).astype(np.float64)
    correct = pred == y
    which = np.minimum((conf * ECE_BINS).astype(np.int64), ECE_BINS - 1)
    stats["bins"] = [(int(sel.sum()), int(correct[sel].sum()), exact_sum(conf[sel]))
                     for sel in (which == b for b in range(ECE_BINS))]
    return stats


def evaluate_combine(model: Model, parts: Sequence[dict], **_options) -> dict:
    """The ``evaluate`` summary of the statistics of ``evaluate_partial`` over parts of the input, summed."""
    from rnntools import console
    from rnntools.errors import InputError
    from rnntools.tasks.classify.data import exact_mean

    examples = sum(p["examples"] for p in parts)
    if not examples:
        raise InputError("no labelled records to evaluate", next((p["first"] for p in parts if p["first"]), None))
    labels = model.labels
    index = {(type(lab), lab): i for i, lab in enumerate(labels)}
    pairs = {}
    for p in parts:
        for key, count in p["pairs"].items():
            pairs[key] = pairs.get(key, 0) + count
    unseen = sorted({lab for (_, lab), _ in pairs if (type(lab), lab) not in index},
                    key=lambda v: (isinstance(v, int), v))
    all_labels = list(labels) + unseen
    for lab in unseen:
        index[(type(lab), lab)] = len(index)
    cm = np.zeros((len(all_labels), len(all_labels)), np.int64)
    for ((kind, lab), predicted), count in pairs.items():
        cm[index[(kind, lab)], predicted] += count
    m = metrics_from_confusion(cm)
    seen = sum(p["seen"] for p in parts)
    log_loss = exact_mean(sum(p["loss"] for p in parts), seen) if seen else None
    ece = 0.0
    for b in range(ECE_BINS):
        n = sum(p["bins"][b][0] for p in parts)
        if n:
            accuracy = sum(p["bins"][b][1] for p in parts) / n
            ece += n * abs(accuracy - exact_mean(sum(p["bins"][b][2] for p in parts), n))
    ece /= examples
    unseen_count = examples - seen
    if unseen:
        console.warn(f"{unseen_count} records have labels the model was not trained on "
                     f"({', '.join(label_key(v) for v in unseen[:5])}{', ...' if len(unseen) > 5 else ''}); "
                     "they count as errors")
    empty = sum(p["empty"] for p in parts)
    if empty:
        console.warn(f"{empty} of {examples} texts had no known tokens; they were predicted from <unk> alone")
    keys = [label_key(v) for v in all_labels]
    return {
        "examples": examples, "accuracy": round(m["accuracy"], 6), "macro_f1": round(m["macro_f1"], 6),
        "log_loss": None if log_loss is None else round(log_loss, 6),
        "ece": round(ece, 6), "unseen_labels": unseen_count,
        "per_class": {key: {"precision": round(float(m["precision"][i]), 6),
                            "recall": round(float(m["recall"][i]), 6), "f1": round(float(m["f1"][i]), 6),
                            "support": int(m["support"][i])} for i, key in enumerate(keys)},
        "labels": keys,
        "confusion": cm.tolist(),
    }


def summary_table(summary: dict) -> tuple[str, list[str], list[list]]:
    """The per-class table ``evaluate`` shows on stderr: (title, headers, rows)."""
    rows = [[key, v["precision"], v["recall"], v["f1"], v["support"]] for key, v in summary["per_class"].items()]
    return (f"{summary['examples']} examples: accuracy {summary['accuracy']:.4f}, macro-F1 "
            f"{summary['macro_f1']:.4f}, ECE {summary['ece']:.4f}"), ["label", "precision", "recall", "f1",
                                                                     "support"], rows


# --- training ----------------------------------------------------------------------------------------------

class ClassifierTask(TrainableTask):
    """The classifier as a ``rnntools.tasks.trainer`` task; the optimiser is ``rnntools.nn``'s."""

    kind = KIND
    unit = "texts"
    optimizer = None  # set by the trainer, which owns it

    def __init__(self, net: Network, meta: dict, train_seqs, y_train, val_seqs, y_val, weights,
                 batch: int, clip: float, offset_train=None, offset_val=None):
        self.net, self.meta = net, meta
        self.train_seqs, self.y_train = train_seqs, y_train
        self.val_seqs, self.y_val = val_seqs, y_val
        self.train_len = np.fromiter(map(len, train_seqs), np.int64, len(train_seqs))
        self.weights = weights  # (C,) float32
        self.batch, self.clip = batch, clip
        # the wide part's out-of-fold logits (N, C): the network learns what the linear model gets wrong
        self.offset_train, self.offset_val = offset_train, offset_val
        self._per_epoch = (len(train_seqs) + batch - 1) // batch

    def steps_per_epoch(self) -> int:
        return self._per_epoch

    def epoch_batches(self, epoch, rng):
        return bucket_batches(self.train_len, self.batch, rng)

    def start_epoch(self, epoch) -> None:
        pass

    def train_step(self, idx, rng, lr):
        from rnntools.nn import clip_grad_norm

        ids, lengths = pad_batch([self.train_seqs[i] for i in idx])
        y = self.y_train[idx]
        if self.offset_train is None:
            loss, grads = self.net.loss_and_grads(ids, lengths, y, self.weights[y], rng)
        else:
            logits, cache = self.net.forward(ids, lengths, rng)
            loss, dlogits = weighted_xent(logits + self.offset_train[idx], y, self.weights[y])
            grads = self.net.backward(dlogits, cache)
        clip_grad_norm(grads, self.clip)
        self.optimizer.step(grads)
        return loss * len(idx), len(idx)

    def evaluate(self):
        if len(self.val_seqs) == 0:
            return None
        logits = predict_logits(self.net, self.val_seqs)
        probs = softmax(logits if self.offset_val is None else logits + self.offset_val)
        y = self.y_val
        w = self.weights[y]
        nll = -np.log(np.maximum(probs[np.arange(len(y)), y], 1e-30))
        m = metrics_from_confusion(confusion_matrix(y, probs.argmax(axis=1), self.net.cfg.n_classes))
        return {"val_loss": float((w * nll).sum() / w.sum()), "val_accuracy": m["accuracy"],
                "val_macro_f1": m["macro_f1"]}

    def params(self):
        return self.net.params

    def trainable(self):
        return {name: self.net.params[name] for name in self.net.names()}

    def chance_loss(self) -> float:
        return float(np.log(self.net.cfg.n_classes))

    def save(self, path, arrays, meta):
        from rnntools.io import save_model

        save_model(path, KIND, arrays, {**self.meta, **meta})


def train(inputs: Sequence[str], output: str, options: dict) -> dict:
    """Read labelled texts, build the vocabulary and label set, split off a stratified validation set and
    train until early stopping; the best model (by validation loss) is written to ``output``.

    ``options``: any of ``DEFAULTS``' names and the engine's run options (``resume``, ``embeddings``,
    ``freeze_embeddings``, ``seed``, ``threads``, ``log_path``, ...); None means not given."""
    from rnntools import console
    from rnntools.errors import UsageError, where
    from rnntools.io import load_model
    from rnntools.tasks.trainer import EngineConfig, fit, resolve, resume_options
    from rnntools.text import Vocab

    given = dict(options)
    resume = None
    if given.get("resume"):
        resume = load_model(given["resume"], KIND)
        load(resume)                    # migrates a pre-contract file's names in place
        saved = resume.meta["config"] if "config" in resume.meta else _config_from_old_meta(resume.meta)
        given = resume_options(saved, given, STRUCTURAL, given["resume"])
    options = resolve(DEFAULTS, given)
    if given.get("threads") is not None:
        from rnntools.parallel import configure_threads

        configure_threads(given["threads"])     # the CLI has done it already; library callers need it
    config = EngineConfig.from_options({k: v for k, v in options.items() if k not in TASK_OPTIONS})
    text_field, label_field = options["text_field"], options["label_field"]
    data = read_labelled(inputs, text_field, label_field, config.encoding_errors)
    if resume is not None:
        labels = resume.meta["labels"]
        vocab = Vocab.from_meta(resume.meta["vocab"])
    else:
        labels = label_set(data.labels, inputs)
        mixed = {str(v) for v in labels if isinstance(v, int)} & {v for v in labels if isinstance(v, str)}
        if mixed:
            name = sorted(mixed)[0]
            at = next(where(*data.places[i]) for i, v in enumerate(data.labels)
                      if isinstance(v, int) and str(v) == name)
            raise UsageError(f"{at}: the training data has the label {name} both as a number and as a string "
                             f"(\"{name}\"); they would be two classes with one name: use one type")
    index = {(type(lab), lab): i for i, lab in enumerate(labels)}
    unknown = [lab for lab in data.labels if (type(lab), lab) not in index]
    if unknown:
        raise UsageError(f"cannot --resume: the data has labels the model does not know ({unknown[0]!r})")
    y = np.fromiter((index[(type(lab), lab)] for lab in data.labels), np.int64, len(data))
    rng = np.random.default_rng([config.seed, 3])
    train_idx, val_idx = (stratified_split(y, config.val_fraction, rng) if config.val_fraction > 0
                          else (np.arange(len(y)), np.arange(0)))
    if len(val_idx) == 0:
        console.warn("no validation data (too few records or --val-fraction 0): training runs for "
                     f"--epochs {config.epochs} without early stopping")
    if resume is None:
        if config.vocab_path:
            vocab = Vocab.read(config.vocab_path)
        else:
            vocab = Vocab.from_texts((data.texts[i] for i in train_idx), level=config.level,
                                     min_count=config.min_count, max_size=config.max_vocab)
        if vocab.n_special == 0:
            raise UsageError(f"{config.vocab_path}: the classifier needs a vocabulary with the special "
                             "tokens (<pad>, <unk>); build it without --no-specials")
    seqs, empty, truncated = encode_texts(vocab, data.texts, config.seq_len)
    if empty:
        console.warn(f"{empty} of {len(seqs)} texts have no known tokens; each is read as one <unk>")
    if truncated:
        console.info(f"{truncated} texts longer than {config.seq_len} tokens were cut (--seq-len)")
    pretrained = None
    if config.embeddings and resume is None:
        pretrained = read_vectors(config.embeddings)
        if given.get("embed_dim") is None:  # the vectors decide the size unless --embed-dim says otherwise
            config.embed_dim = options["embed_dim"] = int(pretrained[0].shape[1])
    wide = options.get("wide") or "none"
    buckets = int(options["wide_buckets"]) if wide != "none" else 0
    cfg = NetConfig(cell=config.cell, vocab_size=len(vocab), n_classes=len(labels), embed_dim=config.embed_dim,
                    hidden=config.hidden, layers=config.layers, pooling=options["pooling"],
                    bidirectional=bool(options["bidirectional"]), dropout=config.dropout, wide_buckets=buckets)
    params = init_params(cfg, np.random.default_rng([config.seed, 4]))
    weights = class_weights(y[train_idx], len(labels), options["class_weight"])
    linear = offsets = None
    if buckets:
        from rnntools.tasks.classify.linear import fit_linear

        docs = [ngram_ids(t, buckets, wide == "words+chars") for t in data.texts]
        labelled = np.sort(np.concatenate([train_idx, val_idx]))     # the linear part learns from every text
        params["wide.idf"] = (resume.arrays["wide.idf"] if resume is not None
                              else idf_weights([docs[i] for i in labelled], buckets))
        wide_all = wide_features(None, {"wide": wide}, params["wide.idf"], docs)
        W_lin, b_lin, info, oof = fit_linear(wide_all[labelled], y[labelled], weights, len(labels),
                                             seed=config.seed)
        if oof is None:         # too few texts for folds: the fitted model's own logits
            oof = np.asarray(wide_all[labelled] @ W_lin, np.float64) + b_lin
        # each text's logits from the folds that did not see it: honest residuals for the network to learn
        offsets = [oof[np.searchsorted(labelled, idx)].astype(np.float32) for idx in (train_idx, val_idx)]
        linear = info
        console.info(f"wide part: logistic regression on {info['features']} n-gram features, "
                     f"C = {info['C']:g} (3-fold cross-validated loss by C: {info['cv_loss_by_C']})")
        params["wide.W"], params["wide.b"] = W_lin, b_lin   # fixed: the network learns on top (offsets)
    if pretrained is not None:
        load_embeddings(params["embed.W"], vocab, *pretrained, config.embeddings)
    options.update(level=vocab.level, embed_dim=cfg.embed_dim)
    meta = {"labels": labels, "vocab": vocab.to_meta(),
            "data": {"train": int(len(train_idx)), "validation": int(len(val_idx))},
            "class_weights": weights.tolist()}
    console.info(f"{len(train_idx)} training and {len(val_idx)} validation texts, {len(labels)} classes, "
                 f"{len(vocab)} tokens; {cfg.cell} {cfg.layers}x{cfg.hidden}"
                 f"{' bidirectional' if cfg.bidirectional else ''}, {cfg.pooling} pooling")
    net = Network(cfg, params, freeze_embeddings=config.freeze_embeddings, train_wide=False)
    val_seqs = [seqs[i] for i in val_idx]
    task = ClassifierTask(net, meta, [seqs[i] for i in train_idx], y[train_idx], val_seqs,
                          y[val_idx], weights, config.batch, config.clip, *(offsets or ()))
    summary = fit(task, config, output, resume=resume, options=options)
    if linear is not None:
        summary["wide"] = combine(output, val_seqs, y[val_idx], weights, linear, offsets[1],
                                  calibrate=bool(options.get("calibrate")))
    elif options.get("calibrate") and len(val_idx) > 0:
        summary["calibration"] = calibrate(output, val_seqs, None, y[val_idx])
    return summary


def combine(path: str, val_seqs, y_val: np.ndarray, weights: np.ndarray, info: dict, z_lin: np.ndarray,
            calibrate: bool = True) -> dict:
    """Put the fitted wide part under the saved (best) network: the logits become
    ``X W + b + s * network``, with the network's share ``s`` (0, 0.1, ..., 1) and, with ``calibrate``, the
    temperature T that give the lowest validation log loss, the wide part's logits on the validation
    texts being the out-of-fold ones (``z_lin``) the network was trained against. s = 0 is the logistic
    regression alone: the network only counts as far as it helps on held-out texts. Without validation
    texts s = 1, T = 1. ``s`` is stored as ``meta["wide_fit"]["share"]``, T as ``meta["temperature"]``; the
    arrays stay the trained ones, so ``--resume`` continues from them."""
    from rnntools import console
    from rnntools.io import load_model, save_model
    from rnntools.tasks.classify.linear import val_loss

    saved = load_model(path, KIND)
    model = load(saved)
    share, t, before, after, scores = 1.0, 1.0, None, None, {}
    if len(y_val) > 0:
        z_net = predict_logits(model.net, val_seqs, None)
        w = weights[y_val].astype(np.float64)
        best = None
        for s in np.linspace(0.0, 1.0, 11):
            z = z_lin + s * z_net
            temp = fit_temperature(z, y_val) if calibrate else 1.0
            loss = val_loss(z / temp, y_val, w)
            scores[f"{s:.1f}"] = round(loss, 5)
            if best is None or loss < best[0] - 1e-9:
                best = (loss, float(s), temp, z)
        _, share, t, z = best
        before = expected_calibration_error(softmax(z), y_val)
        after = expected_calibration_error(softmax(z / t), y_val)
    meta = {k: v for k, v in saved.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    chosen = {"C": info["C"], "features": info["features"], "share": round(share, 2),
              "cv_loss_by_C": info["cv_loss_by_C"], "val_loss_by_share": scores}
    meta["wide_fit"] = chosen
    if calibrate:
        meta["temperature"] = t
        if before is not None:
            meta["calibration"] = {"val_ece_before": round(before, 6), "val_ece_after": round(after, 6)}
    save_model(path, KIND, saved.arrays, meta)
    console.info(f"wide part + {share:.1f} x network" + (f", temperature {t:.3f}" if calibrate else "")
                 + " (lowest validation loss)")
    return {**chosen, "temperature": t}


def calibrate(path: str, val_seqs, wide_val, y_val: np.ndarray) -> dict:
    """Temperature scaling on the validation split: fit T on the saved (best) model's validation logits and
    store it in the file's meta (``temperature``), which ``predict``/``evaluate`` divide the logits by.
    Returns the validation ECE before and after."""
    from rnntools import console
    from rnntools.io import load_model, save_model

    saved = load_model(path, KIND)
    model = load(saved)
    logits = predict_logits(model.net, val_seqs, wide_val)
    t = fit_temperature(logits, y_val)
    before = expected_calibration_error(softmax(logits), y_val)
    after = expected_calibration_error(softmax(logits / t), y_val)
    meta = {k: v for k, v in saved.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    meta["temperature"] = t
    meta["calibration"] = {"val_ece_before": round(before, 6), "val_ece_after": round(after, 6)}
    save_model(path, KIND, saved.arrays, meta)
    console.info(f"temperature scaling on the validation split: T = {t:.3f}, ECE {before:.4f} -> {after:.4f}")
    return {"temperature": t, **meta["calibration"]}


def read_vectors(path: str):
    """(vectors (V, D), vocabulary) of a ``w2v-train`` vectors file (kind "vectors")."""
    from rnntools.errors import ModelFileError
    from rnntools.io import load_model
    from rnntools.text import Vocab

    model = load_model(path, "vectors")
    if "vectors" not in model.arrays or "vocab" not in model.meta:
        raise ModelFileError("no 'vectors' array and vocabulary in this vectors file", path)
    return model.arrays["vectors"], Vocab.from_meta(model.meta["vocab"])


def load_embeddings(embed: np.ndarray, vocab, vectors: np.ndarray, words, path: str) -> None:
    """Copy the vectors of the words ``vocab`` shares with ``words`` into ``embed``'s rows (specials keep
    their random start); a different size is an error."""
    from rnntools import console
    from rnntools.errors import UsageError

    if vectors.shape[1] != embed.shape[1]:
        raise UsageError(f"{path}: the vectors have {vectors.shape[1]} dimensions but --embed-dim is "
                         f"{embed.shape[1]}; leave --embed-dim out to take the vectors' size")
    found = 0
    for i, token in enumerate(vocab.tokens):
        j = words.index.get(token)
        if j is not None and i >= vocab.n_special:
            embed[i] = vectors[j]
            found += 1
    console.info(f"pretrained vectors for {found} of {len(vocab) - vocab.n_special} words from {path}")
    if found == 0:
        console.warn(f"{path}: none of the vocabulary's words has a vector (another language or level?)")
