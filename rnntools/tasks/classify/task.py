"""Many-to-one classification: the task contract's names. ``DEFAULTS`` and ``STRUCTURAL``; ``train`` writes
a model file (``training.py``); ``load`` reads one (old layouts migrated); ``read`` turns input files into
records; ``predict`` and ``evaluate`` (``evaluation.py``) take a loaded model and records and never open
outputs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnntools.errors import check_meta_bools, check_meta_ints, check_meta_level, check_meta_numbers, model_loader
from rnntools.io import stdin_idle
from rnntools.tasks.classify.data import encode_texts, iter_records, label_key, record_text
from rnntools.tasks.classify.evaluation import (  # noqa: F401 (the task contract's names)
    evaluate,
    evaluate_combine,
    evaluate_partial,
    summary_table,
)
from rnntools.tasks.classify.features import KNOWN_ROWS, rows_options, wide_rows
from rnntools.tasks.classify.model import NetConfig, Network, migrate_arrays, param_names, predict_probs

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
    residual=None,  # None: on the wide part's residual below RESIDUAL_BELOW labelled texts, on its own from there
    # without --embeddings, at the word level: the embedding starts from word2vec on the labelled texts; None:
    # from OWN_VECTORS_FROM labelled texts (where the network learns the labels on its own) or
    # OWN_VECTORS_FROM_WORDS words in them
    own_vectors=None,
)
# from this many labelled texts the network learns the labels on its own beside the wide part; below, the
# wide part's residual (measured in docs/classify.md: on its own it gained 1.2-1.6 points on sets of
# 8,539 and 10,000 texts, and lost up to 2.5 on sets of 1,600-5,485)
RESIDUAL_BELOW = 8000
# from this many labelled texts the network's embedding starts from word2vec on those texts (own_vectors None):
# measured in docs/classify.md ("The network's start: word2vec on the labelled texts"): from 8,000 texts, where
# the network learns on its own, it was better alone by 0.9-4.1 points and the whole model by -0.1 to +0.5; below,
# as the residual's learner, it cost a choosing set 2.3 points in one run of three
OWN_VECTORS_FROM = RESIDUAL_BELOW
# ... and below it from this many words in the labelled texts (the tokens word2vec trains on, every text whole):
# measured in docs/classify.md ("Own vectors below 8,000 texts: from 70,000 words"): where the network learns the
# wide part's residual, the seven sets of 72,000 words or more tied or gained with them on the mean of 4-7 runs
# (within a text in 2,000 to +1.4 points), while four of the seven of 32,000-66,000 words lost (one choosing set
# 2.3 points in a run)
OWN_VECTORS_FROM_WORDS = 70_000

# Options that decide the network's shape or how text becomes arrays: on --resume the saved value holds,
# and a different value given on the command line is a usage error.
STRUCTURAL = frozenset({"level", "cell", "hidden", "layers", "embed_dim", "pooling", "bidirectional",
                        "seq_len", "min_count", "max_vocab", "vocab_path", "wide", "wide_buckets", "residual"})

# the task's own options (the rest of DEFAULTS are the engine's, rnntools.tasks.trainer.EngineConfig)
TASK_OPTIONS = ("pooling", "bidirectional", "class_weight", "text_field", "label_field", "wide", "wide_buckets",
                "calibrate", "residual", "own_vectors")


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

    def wide_rows(self, texts: Sequence[str]):
        """The texts' n-gram rows for the wide part (``features.WideRows``), made as the model file says
        its rows were trained (``meta["wide_fit"]["rows"]``), or None without a wide part."""
        return wide_rows(texts, self.config, self.net.params.get("wide.idf"),
                         **rows_options(self.meta.get("wide_fit", {}).get("rows")))

    def wide_features(self, texts: Sequence[str]):
        """The texts' sparse n-gram rows for the wide part (scipy CSR), or None without one."""
        rows = self.wide_rows(texts)
        return None if rows is None else rows.matrix()

    def probs(self, texts: Sequence[str], keep: list | None = None) -> tuple[np.ndarray, int]:
        """Calibrated class probabilities (N, C) and how many texts had no known token. ``keep``: a list that
        holds the network's projections of the embedding rows used, for the next call (``predict_logits``)."""
        from rnntools.nn.parallel import submit

        # the wide part's product made on a worker (with more than one thread) while this thread encodes
        # the texts; that worker then joins the network's batches (predict_logits adds it at the end)
        product = submit(self.wide_product, texts) if self.net.wide is not None else None
        seqs, empty, _ = encode_texts(self.vocab, texts, self.config["seq_len"])
        return predict_probs(self.net, seqs, temperature=self.temperature, keep=keep,
                             wide_product=product), empty

    def wide_product(self, texts: Sequence[str]) -> np.ndarray | None:
        """The texts' wide rows times the wide part's weights (N, C) float32 (before its scale and bias),
        or None without a wide part."""
        rows = self.wide_rows(texts)
        return None if rows is None else rows.times(self.net.params["wide.W"])


# --- loading -----------------------------------------------------------------------------------------------

def config_from_old_meta(meta: dict) -> dict:
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
    config = meta["config"] if "config" in meta else config_from_old_meta(meta)
    arrays = migrate_arrays(model.arrays, config["cell"])
    if "optim.t" not in arrays and any(k.startswith("optim.") for k in arrays):
        task_meta = meta.get("training", {}).get("task", {})
        arrays["optim.t"] = np.array(int(task_meta.get("adam_t", 0)), np.int64)
    model.arrays = arrays
    vocab = Vocab.from_meta(meta["vocab"], specials=True)
    config = {**config, "wide": config.get("wide", "none")}
    rows = meta.get("wide_fit", {}).get("rows")     # how the wide part's rows are made (features.rows_options)
    # seq_len cuts every text predict reads: a tampered one was an internal error there, not at loading
    check_meta_ints(config, ("embed_dim", "hidden", "layers", "seq_len"))
    check_meta_level(config, "level", vocab.level)
    check_meta_bools(config, ("bidirectional", "calibrate"))
    _check_labels(meta["labels"])
    # divides the logits: training fits it within [1/20, 20]; 5e-324 overflowed them (numpy's warning, raw)
    check_meta_numbers(meta, ("temperature",), 1e-3, 1e3, low_open=False)
    _check_choices(config)
    check_meta_numbers(meta.get("wide_fit", {}), ("share",), 0.0, 1.0, low_open=False)  # the mix's weight
    check_meta_numbers(config, ("wide_lr",))
    wide_buckets = 0
    if config["wide"] != "none":
        if rows is not None and rows not in KNOWN_ROWS:
            from rnntools.errors import ModelFileError

            raise ModelFileError(f"corrupt model file (unknown wide rows {rows!r}; written by a newer rnntools?)",
                                 model.path)
        wide_buckets = int(config["wide_buckets"]) * (2 if rows_options(rows)["separate"] else 1)
    cfg = NetConfig(cell=config["cell"], vocab_size=len(vocab), n_classes=len(meta["labels"]),
                    embed_dim=config["embed_dim"], hidden=config["hidden"], layers=config["layers"],
                    pooling=config["pooling"], bidirectional=bool(config["bidirectional"]),
                    wide_buckets=wide_buckets, wide_lr=float(config.get("wide_lr", 1.0)),
                    share=float(meta.get("wide_fit", {}).get("share", 1.0)))
    names = param_names(cfg)
    if cfg.wide_buckets:
        names += ["wide.W", "wide.idf"] + (["wide.b"] if "wide.b" in arrays else [])
    params = {name: arrays[name] for name in names}
    if cfg.wide_buckets:
        from rnntools.nn.layers import check_param

        # one idf weight per hash bucket (both blocks of "separate" rows share them): another length was an
        # internal error at the first text's n-grams
        check_param(params, "wide.idf", (int(config["wide_buckets"]),))
    return Model(Network(cfg, params), vocab, list(meta["labels"]), config, meta)


def _check_choices(config: dict) -> None:
    """The saved options that choose how texts are read and pooled: an edited ``"pooling": "x"`` was an
    internal error at the first text, ``"wide": "x"`` read as ``words``, ``"text_field": 5`` blamed the
    input ("record has no field 5")."""
    from rnntools.nn.sequence import POOLINGS

    for name, allowed in (("pooling", POOLINGS), ("wide", ("words+chars", "words", "none"))):
        if config.get(name) not in allowed:
            raise ValueError(f"{name} is {config.get(name)!r}, expected one of {', '.join(allowed)}")
    for name in ("text_field", "label_field"):
        if name in config and not (isinstance(config[name], str) and config[name]):
            raise ValueError(f"{name} is {config[name]!r}, expected a field name")


def _check_labels(labels) -> None:
    """A model's labels as training writes them: distinct strings or integers. A label twice (a hand-edited
    file) made ``probs`` give one class's probability under both names, the other lost, with exit 0."""
    if not isinstance(labels, list) or not labels or not all(
            isinstance(v, (str, int)) and not isinstance(v, bool) for v in labels):
        raise ValueError(f"labels should be a list of strings or integers, got {str(labels)[:60]}")
    keys = [label_key(v) for v in labels]
    if len(set(keys)) != len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"label {twice!r} appears twice")


# --- records -----------------------------------------------------------------------------------------------

def read(inputs: Sequence[str], model: Model | None = None, *, text_field: str | None = None,
         label_field: str | None = None, errors: str = "strict", targets: bool = False,
         **_options) -> Iterator[dict]:
    """Records of ``inputs`` (JSONL, or plain lines: ``label<TAB>text`` when a tab is present, else the whole
    line is the text; with ``targets``, for ``evaluate``, every plain line must be ``label<TAB>text``, as
    training reads it). Field names default to the model's. Each record carries where it came from in
    ``_place`` (file, line) for messages; ``predict`` and ``evaluate`` drop it."""
    text_field = text_field or (model.config.get("text_field") if model else None) or "text"
    label_field = label_field or (model.config.get("label_field") if model else None) or "label"
    for path in inputs:
        for line_no, record in iter_records(path, errors, tsv_fields=(label_field, text_field),
                                            plain_text=not targets):
            record["_place"] = (path, line_no)
            yield record



def predict(model: Model, records: Iterable[dict], *, text_field: str | None = None, top_k: int | None = None,
            chunk: int = 4096, warn: bool = True, **_options) -> Iterator[dict]:
    """Each record (its fields kept) with ``label`` (the most probable) and ``probs`` (label -> probability,
    most probable first, ``top_k`` of them) added. Records are scored ``chunk`` at a time (sooner when
    stdin waits); the network projects each vocabulary row the texts use once for all chunks, instead of
    every token (``model.predict_logits``).

    With more than one thread (``--threads``) each chunk after the first is scored in a helper thread
    while the records of the chunk before are handed out and the next ones read: the scoring is mostly
    compiled kernels that run without the interpreter's lock, the rest (reading, the records' dicts,
    writing them as JSON) is Python, about a third of the time of 10,000 glosses, which one thread did
    before or after the kernels. The records, their order and the numbers are the same either way."""
    labels, keys = model.labels, model.keys

    def lists(probs: np.ndarray, order: np.ndarray):
        return rounded(probs, 6), order.tolist()     # Python floats and ints at once

    for batch, (probs, order) in _scored_chunks(model, records, text_field, top_k, chunk, warn, lists):
        for record, p, o in zip(batch, probs, order):
            record.pop("_place", None)
            record["label"] = labels[o[0]]
            record["probs"] = {keys[j]: p[j] for j in o}
            yield record


def predict_text(model: Model, records: Iterable[dict], *, text_field: str | None = None,
                 top_k: int | None = None, chunk: int = 4096, warn: bool = True, **_options) -> Iterator[str]:
    """:func:`predict`'s records as the JSONL text ``io.JsonlWriter`` writes for them, one string per chunk
    (the ``predict`` command writes this).

    Why: formatting 26 probabilities a record with Python's float repr and the JSON encoder took a tenth of
    a process predicting 4,000 glosses. Here each record's own fields are encoded as before and what
    ``predict`` adds, ``"label"`` and ``"probs"``, is written by a kernel (``output.label_probs_text``) from
    the probabilities rounded to millionths, digit by digit as ``repr`` writes them (with two threads, in
    the helper thread that scored the chunk). A record that already has a ``label`` or ``probs`` field
    (which keeps its place among the fields) is encoded whole, as ``predict``'s record."""
    from rnntools.io.outputs import _encode
    from rnntools.tasks.classify.output import LabelProbsText

    text = LabelProbsText(model.labels, model.keys)
    for batch, suffixes in _scored_chunks(model, records, text_field, top_k, chunk, warn, text.suffixes):
        lines = []
        for i, (record, suffix) in enumerate(zip(batch, suffixes)):
            record.pop("_place", None)
            if "label" in record or "probs" in record or not record:
                lines.append(_encode(text.record(record, suffixes, i)) + "\n")
            else:
                lines.append(_encode(record)[:-1] + suffix)
        yield "".join(lines)


def _scored_chunks(model: Model, records: Iterable[dict], text_field: str | None, top_k: int | None,
                   chunk: int, warn: bool, finish) -> Iterator[tuple[list[dict], Any]]:
    """``(records, finish(probs, order))`` chunk by chunk, in order: probs (n, C) float64, order (n, k) the
    classes from the most probable (``predict``'s helper thread and warnings: see there)."""
    from concurrent.futures import ThreadPoolExecutor

    from rnntools import console
    from rnntools.nn.parallel import get_threads

    field = text_field or model.config.get("text_field", "text")
    label_field = model.config.get("label_field", "label")
    C = len(model.labels)
    k = C if top_k is None else min(top_k, C)
    count = empty_total = replaced = 0
    projections: list = []     # each embedding row's projection, made once for all chunks

    def score(texts: list[str], first: bool):
        with _collector_paused(freeze=first):
            probs, empty = model.probs(texts, projections)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return finish(probs, order), empty

    helper = ThreadPoolExecutor(1, thread_name_prefix="rnntools-predict") if get_threads() > 1 else None

    def hand_out(batch: list[dict], scored):
        nonlocal empty_total
        out, empty = scored.result() if hasattr(scored, "result") else scored
        empty_total += empty
        return batch, out

    waiting: list = []      # chunks submitted and not handed out yet, in order

    def submit(batch: list[dict], depth: int):
        """Score ``batch`` (in the helper, if any) and hand out the chunks before it until ``depth`` wait."""
        try:
            texts = [record_text(r, field) for r in batch]
        except BaseException:
            while waiting:          # a bad record's error comes after every record before its chunk
                yield hand_out(*waiting.pop(0))
            raise
        first = count == len(batch)     # scored here: numba's start is paid once, and one chunk needs no helper
        waiting.append((batch, score(texts, first) if helper is None or first else helper.submit(score, texts, first)))
        while len(waiting) > depth:
            yield hand_out(*waiting.pop(0))

    batch: list[dict] = []
    try:
        for record in records:
            if "label" in record or label_field in record:
                replaced += 1
            batch.append(record)
            idle = len(batch) < chunk and stdin_idle()
            if len(batch) >= chunk or idle:
                count += len(batch)
                # the chunk before is handed out while this one is scored; stdin waiting, this one too
                yield from submit(batch, 1 if helper is not None and not idle else 0)
                batch = []
        if batch:
            count += len(batch)
            yield from submit(batch, 0)
        while waiting:
            yield hand_out(*waiting.pop(0))
    finally:
        if helper is not None:
            helper.shutdown(wait=False, cancel_futures=True)
    if warn and replaced:
        console.warn(f"{replaced} input records had a \"label\" field; it was replaced by the prediction "
                     "(score a labelled file with `rnntools evaluate`)")
    if warn and empty_total:
        console.warn(f"{empty_total} of {count} texts had no known tokens; they were predicted from <unk> alone")


@contextmanager
def _collector_paused(freeze: bool):
    """Python's garbage collector paused while a chunk is scored (work of a bounded size), and with
    ``freeze`` (the first chunk, which imports numba and loads the kernels) what was made then frozen.

    Why: the first chunk makes ~100k objects (numba's modules, typing and loaded kernels) that live until
    the process ends; the collector walked them again and again while the chunk's own objects were made
    (4,000 glosses: ~200 collections, 40-50 ms of a 0.8 s process; paused and frozen: 11 ms). A chunk
    makes no cyclic garbage of its own to speak of, and what it makes is collected once the collector runs
    again; only the first chunk's is frozen with numba's objects."""
    import gc

    from rnntools import collector

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze and not collector.started():   # a process's start-up ends here (rnntools.collector)
            gc.freeze()
        if enabled:
            gc.enable()


def rounded(values: np.ndarray, digits: int) -> list:
    """``[[round(v, digits) for v in row] for row in values]`` for float64 ``values`` (N, K) in [0, 1] (or
    NaN), the same floats, made by numpy: Python's ``round`` (a correctly rounded decimal string read back)
    cost 26 ms of 4,000 glosses' 104,000 probabilities. ``rint(v 10^d) / 10^d`` is that float unless the
    product was rounded across a half (its fraction within 1e-6 of one half): those entries take ``round``."""
    scale = 10.0 ** digits
    y = values * scale
    out = (np.rint(y) / scale).tolist()
    for i, j in zip(*np.nonzero(np.abs(y - np.floor(y) - 0.5) < 1e-6)):
        out[i][j] = round(float(values[i, j]), digits)
    return out


def train(inputs: Sequence[str], output: str, options: dict) -> dict:
    """Train a classifier on labelled ``inputs`` and save it to ``output`` (``training.train``: imported
    here on first use, so that ``predict`` and ``evaluate`` never load the training code)."""
    from rnntools.tasks.classify.training import train as _train

    return _train(inputs, output, options)
