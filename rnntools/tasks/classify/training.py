"""Training a classifier: the wide part's logistic regression fitted first (``linear.py``), the network
trained by the trainer on its out-of-fold residual (``ClassifierTask``), then the two mixed and the
temperature fitted on the validation split (``combine``; ``calibrate`` without a wide part)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnntools.tasks.classify import features
from rnntools.tasks.classify.data import (
    bucket_batches,
    class_weights,
    confusion_matrix,
    encode_texts,
    label_key,
    label_set,
    metrics_from_confusion,
    pad_batch,
    read_labelled,
    stratified_split,
)
from rnntools.tasks.classify.features import idf_weights, ngram_ids_of_texts, wide_features
from rnntools.tasks.classify.model import (
    TEMPERATURE_PRIOR_SD,
    NetConfig,
    Network,
    expected_calibration_error,
    fit_temperature,
    init_params,
    predict_logits,
    softmax,
    weighted_xent,
)
from rnntools.tasks.classify.task import (
    DEFAULTS,
    KIND,
    OWN_VECTORS_FROM,
    OWN_VECTORS_FROM_WORDS,
    RESIDUAL_BELOW,
    STRUCTURAL,
    TASK_OPTIONS,
    config_from_old_meta,
    load,
)
from rnntools.tasks.config import TrainableTask


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


class WideFit:
    """The wide part's linear fit (``linear.fit_linear``, or ``fit_two_linear`` on "sep" rows) on the rows
    ``labelled`` of ``wide_all`` (CSR), running in a thread of its own from construction on; ``result``
    waits for it, ``cancel`` ends it early (``linear.lbfgs``' stop event) and waits.

    Why a thread: the fit is the largest piece of a training (on 10,000 glosses' 2M weights ~37 of 57 CPU
    seconds) and its kernels run on every core, but between them its L-BFGS steps run on one; word2vec's
    start runs on one core, and the network's epochs leave the other cores idle between their hand-offs.
    Beside each other the two fill those gaps. The fit's numbers do not depend on the thread count or
    on what else runs (its kernels' sums have a fixed order), so the model is the same."""

    def __init__(self, wide_all, labelled: np.ndarray, y: np.ndarray, weights: np.ndarray, n_classes: int,
                 rows: str, separate: bool, seed: int, min_df: int = 1):
        import threading

        from rnntools.tasks.classify.linear import kernels

        kernels()       # loaded before the thread starts: it sets OpenMP's wait policy before libgomp loads
        self.X, self.y, self.labelled = wide_all[labelled], y[labelled], labelled
        self._args, self.min_df = (weights, n_classes, rows, separate, seed), min_df
        self._stop = threading.Event()
        self._out = self._error = None
        self._thread = threading.Thread(target=self._run, name="rnntools-wide-fit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import numba

        from rnntools.parallel import configured_threads
        from rnntools.tasks.classify.linear import cs_for, fit_linear, fit_two_linear

        weights, K, rows, separate, seed = self._args
        try:
            # numba's thread count is each thread's own: this one gets the cores --threads allowed
            numba.set_num_threads(max(1, min(configured_threads(), numba.config.NUMBA_NUM_THREADS)))
            W, b, info, oof = (fit_two_linear(self.X, self.y, weights, K, seed=seed, stop=self._stop) if separate
                               else fit_linear(self.X, self.y, weights, K, Cs=cs_for(rows), seed=seed,
                                               stop=self._stop))
            if oof is None:         # too few texts for folds: the fitted model's own logits
                oof = np.asarray(self.X @ W, np.float64) + b
            self._out = W, b, info, oof
        except BaseException as exc:        # handed to the caller by result()
            self._error = exc

    def result(self, train_idx: np.ndarray, val_idx: np.ndarray) -> tuple[dict, list[np.ndarray]]:
        """Wait for the fit; (its info, the out-of-fold logits of ``train_idx`` and of ``val_idx``, float32).
        The fitted weights are then ``self.W`` (buckets, K) and ``self.b`` (K,), float32."""
        from rnntools import console

        self._thread.join()
        if self._error is not None:
            raise self._error
        self.W, self.b, info, oof = self._out
        # each text's logits from the folds that did not see it: honest residuals for the network to learn
        offsets = [oof[np.searchsorted(self.labelled, idx)].astype(np.float32) for idx in (train_idx, val_idx)]
        console.info(f"wide part: logistic regression on {info['features']} n-gram features"
                     f"{f' (each in {self.min_df} texts or more)' if self.min_df > 1 else ''}, "
                     f"C = {info['C']:g} (3-fold cross-validated loss by C: {info['cv_loss_by_C']})")
        return info, offsets

    def cancel(self) -> None:
        """End the fit at its next objective evaluation (nothing when it has ended) and wait for it."""
        self._stop.set()
        self._thread.join()


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
        saved = resume.meta["config"] if "config" in resume.meta else config_from_old_meta(resume.meta)
        saved = {"residual": True, **saved}     # files written before the option trained on the residual
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
    # a label is its name (label_key): resuming on TSV's "1" continues a model trained on JSONL's 1
    index = {label_key(lab): i for i, lab in enumerate(labels)}
    unknown = next((i for i, lab in enumerate(data.labels) if label_key(lab) not in index), None)
    if unknown is not None:
        # where, and which file: a resume on the wrong data named neither
        raise UsageError(f"{where(*data.places[unknown])}: cannot --resume {given['resume']} on this data: the label "
                         f"{data.labels[unknown]!r} is not one of the model's {len(labels)} ("
                         + ", ".join(map(repr, labels[:5])) + (", ..." if len(labels) > 5 else "") + ")")
    y = np.fromiter((index[label_key(lab)] for lab in data.labels), np.int64, len(data))
    rng = np.random.default_rng([config.seed, 3])
    train_idx, val_idx = (stratified_split(y, config.val_fraction, rng) if config.val_fraction > 0
                          else (np.arange(len(y)), np.arange(0)))
    if len(val_idx) == 0:
        console.warn("no validation data (too few records or --val-fraction 0): training runs for "
                     f"--epochs {config.epochs} without early stopping")
    if resume is None:
        if config.vocab_path:
            vocab = Vocab.read(config.vocab_path)
            if given.get("level") is not None and given["level"] != vocab.level:
                # the file's level decides how texts are read; a --level that says otherwise was ignored
                raise UsageError(f"{config.vocab_path} is a {vocab.level}-level vocabulary, but --level is "
                                 f"{given['level']}")
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
    wide = options.get("wide") or "none"
    buckets = int(options["wide_buckets"]) if wide != "none" else 0
    # residual: the network learns what the linear part gets wrong (its out-of-fold logits added to the
    # network's in training); else it learns the labels on its own and the two are mixed afterwards. The
    # model file keeps the value used, so that --resume goes on the same way.
    if options.get("residual") is None:
        options["residual"] = bool(buckets) and len(y) < RESIDUAL_BELOW
    weights = class_weights(y[train_idx], len(labels), options["class_weight"])
    wide_fit = None
    if buckets:
        # how the rows are made: a resumed model's way, else by the labelled texts (features.rows_for)
        labelled = np.sort(np.concatenate([train_idx, val_idx]))     # the linear part learns from every text
        rows = (resume.meta.get("wide_fit", {}).get("rows", "blocks") if resume is not None
                else features.rows_for([data.texts[i] for i in labelled], len(labels)))
        if wide != "words+chars" and rows.startswith("sep"):
            rows = rows.replace("sep", "blocks").replace("+neg", "")     # one block: nothing to keep apart
        how = features.rows_options(rows)
        docs = ngram_ids_of_texts(data.texts, buckets, wide == "words+chars", blocks=True, tf=how["tf"],
                                  negation=how["negation"])
        min_df = (resume.meta.get("wide_fit", {}).get("min_df", 1) if resume is not None
                  else features.min_df_for(len(labelled)))
        wide_idf = (resume.arrays["wide.idf"] if resume is not None
                    else idf_weights([docs[i] for i in labelled], buckets, min_df))
        wide_all = wide_features(None, {"wide": wide}, wide_idf, docs, **how)
        # the linear fit runs in a thread of its own beside the word2vec start and, when the network does not
        # learn its residual, the network's epochs (each leaves a core idle much of the time)
        wide_fit = WideFit(wide_all, labelled, y, weights, len(labels), rows, how["separate"], config.seed, min_df)
    try:
        pretrained = None
        if config.embeddings and resume is None:
            from rnntools.tasks.embeddings import pretrained_table

            # the vectors decide the size; a different --embed-dim is an error naming both
            pretrained = pretrained_table(config.embeddings, vocab, given.get("embed_dim"), seed=config.seed)
            config.embed_dim = options["embed_dim"] = int(pretrained.shape[1])
        elif resume is None and vocab.level == "word":
            if options.get("own_vectors") is None:
                options["own_vectors"] = (len(y) >= OWN_VECTORS_FROM
                                          or count_words(data.texts, vocab.lowercase) >= OWN_VECTORS_FROM_WORDS)
            if options["own_vectors"]:
                from rnntools.tasks.embeddings import own_vectors_table

                # word2vec on the labelled texts (no label read) as the embedding's start (docs/classify.md,
                # "The network's start: word2vec on the labelled texts")
                pretrained = own_vectors_table(data.texts, vocab, config.embed_dim, seed=config.seed)
        cfg = NetConfig(cell=config.cell, vocab_size=len(vocab), n_classes=len(labels), embed_dim=config.embed_dim,
                        hidden=config.hidden, layers=config.layers, pooling=options["pooling"],
                        bidirectional=bool(options["bidirectional"]), dropout=config.dropout, wide_buckets=buckets)
        params = init_params(cfg, np.random.default_rng([config.seed, 4]))
        linear = offsets = None
        if buckets:
            params["wide.idf"] = wide_idf
            cfg.wide_buckets = wide_all.shape[1]            # the wide layer's inputs: 2 x buckets when "sep"
            # zeros until the fit ends (the files the network's epochs save hold them; combine's has the fit's)
            params["wide.W"] = np.zeros((cfg.wide_buckets, len(labels)), np.float32)
            params["wide.b"] = np.zeros(len(labels), np.float32)
            if options["residual"]:         # the network learns on top of the fitted part (offsets): wait for it
                linear, offsets = wide_fit.result(train_idx, val_idx)
                params["wide.W"], params["wide.b"] = wide_fit.W, wide_fit.b
        if pretrained is not None:
            params["embed.W"] = pretrained
        options.update(level=vocab.level, embed_dim=cfg.embed_dim)
        meta = {"labels": labels, "vocab": vocab.to_meta(),
                "data": {"train": int(len(train_idx)), "validation": int(len(val_idx))},
                "class_weights": weights.tolist()}
        if buckets:     # how the rows are made (features.rows_for; files without "rows" normalise in one)
            meta["wide_fit"] = {"rows": rows, "min_df": min_df}
        console.info(f"{len(train_idx)} training and {len(val_idx)} validation texts, {len(labels)} classes, "
                     f"{len(vocab)} tokens; {cfg.cell} {cfg.layers}x{cfg.hidden}"
                     f"{' bidirectional' if cfg.bidirectional else ''}, {cfg.pooling} pooling")
        net = Network(cfg, params, freeze_embeddings=config.freeze_embeddings, train_wide=False)
        val_seqs = [seqs[i] for i in val_idx]
        task = ClassifierTask(net, meta, [seqs[i] for i in train_idx], y[train_idx], val_seqs,
                              y[val_idx], weights, config.batch, config.clip,
                              *(offsets if offsets and options["residual"] else ()))
        summary = fit(task, config, output, resume=resume, options=options)
        if buckets and linear is None:
            linear, offsets = wide_fit.result(train_idx, val_idx)
        if linear is not None:
            summary["wide"] = combine(output, val_seqs, y[val_idx], weights, linear, offsets[1],
                                      calibrate=bool(options.get("calibrate")),
                                      wide_arrays={"wide.W": wide_fit.W, "wide.b": wide_fit.b})
        elif options.get("calibrate") and len(val_idx) > 0:
            summary["calibration"] = calibrate(output, val_seqs, None, y[val_idx])
    finally:
        if wide_fit is not None:
            wide_fit.cancel()       # the network failed or was interrupted (after a normal end: nothing to do)
    return summary


def count_words(texts: Sequence[str], lowercase: bool) -> int:
    """The words (``tokenize_words``' tokens, every text whole) that word2vec would train on in ``texts``."""
    from rnntools.text import tokenize_words

    return sum(len(tokenize_words(text, lowercase)) for text in texts)


# validation losses closer than this to the lowest are a tie, which the smaller share wins: differences of
# float rounding, not evidence. A validation split the mix separates perfectly (spam's 17 texts) drives the
# temperature to its bound and every share's loss to 1e-5..1e-9 nats, where a tie rule of 1e-9 let the
# last bits of the network's logits (other BLAS kernels, other instruction sets) pick the share.
SHARE_TIE = 1e-6
# the nats (the validation texts' log losses summed, each times its class weight) by which the network's best
# share must beat the wide part alone to be used on documents (texts averaging 25 words or more: rows
# "blocks+tf", ``features.rows_for``): the share is one more parameter fitted on the validation split, and by
# Akaike's criterion one parameter must earn one nat of log-likelihood. In total nats, so a small split asks
# more of each text. On documents the network reads the first ``--seq-len`` tokens of texts that are often
# longer (the long reviews: 200 of ~650, at chance alone), and its share was chosen on 112 reviews whose
# summed loss moved by 0.1-0.5 nats, or on spam's 17 e-mails (under 1e-3): a review or an e-mail moved
# either way. Where it helps (the news leads) it earned 2-14 nats. Sentences keep the lowest loss alone
# (``SENTENCE_SHARE_EVIDENCE`` 0): there the network reads the whole text, and one nat everywhere lost 0.05
# points on the mean of the sentence sets (docs/classify.md, "The network's share: one nat of evidence").
SHARE_EVIDENCE = 1.0
SENTENCE_SHARE_EVIDENCE = 0.0


def share_evidence(rows: str | None) -> float:
    """The nats of evidence the network's share needs (``lowest_share``) on rows ``rows``
    (``features.rows_for``' names): ``SHARE_EVIDENCE`` on the documents' sublinear-tf rows, else
    ``SENTENCE_SHARE_EVIDENCE``."""
    return SHARE_EVIDENCE if rows is not None and rows.endswith("+tf") else SENTENCE_SHARE_EVIDENCE


def lowest_share(losses: Sequence[float], total_weight: float | None = None,
                 evidence: float = 0.0) -> tuple[int, float | None]:
    """The index of the network's share to use, given the validation loss at each share (weighted means, in
    increasing order of share, the first at share 0), and the gain: the nats by which the lowest loss lies
    below share 0's over the whole split (``total_weight``: the sum of the texts' weights the means were
    taken with; None: no gain, and no test of it). The index is the smallest share whose loss is within
    ``SHARE_TIE`` of the lowest, unless the gain is no more than ``evidence`` nats, in which case 0, the
    wide part alone."""
    low = min(losses)
    best = next(i for i, loss in enumerate(losses) if loss <= low + SHARE_TIE)
    gain = None if total_weight is None else total_weight * (losses[0] - low)
    if gain is not None and evidence > 0 and gain <= evidence:
        return 0, gain
    return best, gain


def combine(path: str, val_seqs, y_val: np.ndarray, weights: np.ndarray, info: dict, z_lin: np.ndarray,
            calibrate: bool = True, wide_arrays: dict | None = None) -> dict:
    """Put the fitted wide part under the saved (best) network: the logits become
    ``X W + b + s * network``, with the network's share ``s`` (0, 0.1, ..., 1) and, with ``calibrate``, the
    temperature T that give the lowest validation log loss, the wide part's logits on the validation
    texts being the out-of-fold ones (``z_lin``) the network was trained against. s = 0 is the logistic
    regression alone: the network only counts as far as it helps on held-out texts (losses within
    ``SHARE_TIE`` of the lowest tie, and the smaller share wins), and on documents only if its best share
    lowers the split's summed (class-weighted) log loss by more than ``SHARE_EVIDENCE`` nats
    (``share_evidence``, ``lowest_share``; the gain is stored as ``wide_fit.val_gain``). The temperature then
    stored is the fit at that share under a prior on log T (``fit_temperature(..., prior_sd)``: the same
    T unless the validation texts are too few or all classified right). Without validation texts s = 1,
    T = 1. ``s`` is stored as ``meta["wide_fit"]["share"]``, T as ``meta["temperature"]``; the
    arrays stay the trained ones, so ``--resume`` continues from them; ``wide_arrays`` (the fitted wide
    part's, when the network trained beside its fit: ``WideFit``) replace the saved ones of those names
    (and the trainer's ``resume.`` copies of them)."""
    from rnntools import console
    from rnntools.io import load_model, save_model
    from rnntools.tasks.classify.linear import val_loss

    saved = load_model(path, KIND)
    model = load(saved)
    share, t, before, after, scores, gain = 1.0, 1.0, None, None, {}, None
    if len(y_val) > 0:
        z_net = predict_logits(model.net, val_seqs, None)
        w = weights[y_val].astype(np.float64)
        tried = []
        for s in np.linspace(0.0, 1.0, 11):
            z = z_lin + s * z_net
            temp = fit_temperature(z, y_val) if calibrate else 1.0
            loss = val_loss(z / temp, y_val, w)
            scores[f"{s:.1f}"] = round(loss, 5)
            tried.append((loss, float(s), temp, z))
        evidence = share_evidence(saved.meta.get("wide_fit", {}).get("rows"))
        chosen_at, gain = lowest_share([loss for loss, *_ in tried], float(w.sum()), evidence)
        _, share, t, z = tried[chosen_at]
        if calibrate:       # the stored temperature: the same fit under a prior (fit_temperature)
            t = fit_temperature(z, y_val, prior_sd=TEMPERATURE_PRIOR_SD)
        before = expected_calibration_error(softmax(z), y_val)
        after = expected_calibration_error(softmax(z / t), y_val)
    meta = {k: v for k, v in saved.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    chosen = {"C": info["C"], "features": info["features"], "share": round(share, 2),
              "cv_loss_by_C": info["cv_loss_by_C"], "val_loss_by_share": scores}
    if gain is not None:        # the network's best share against the wide part alone, in nats (lowest_share)
        chosen["val_gain"] = round(gain, 6)
    # two linear models ("sep" rows): the characters' C, the words' weight in their mix, NB ratios or not
    chosen.update({k: info[k] for k in ("C_chars", "cv_loss_by_C_chars", "word_weight", "oof_loss_by_word_weight",
                                        "nb_words")
                   if k in info})
    meta["wide_fit"] = {**meta.get("wide_fit", {}), **chosen}
    if calibrate:
        meta["temperature"] = t
        if before is not None:
            meta["calibration"] = {"val_ece_before": round(before, 6), "val_ece_after": round(after, 6)}
    arrays = dict(saved.arrays)
    for name, array in (wide_arrays or {}).items():     # and the trainer's copy of the last parameters
        arrays.update({key: array for key in (name, f"resume.{name}") if key in arrays})
    save_model(path, KIND, arrays, meta)
    console.info(f"wide part + {share:.1f} x network" + (f", temperature {t:.3f}" if calibrate else "")
                 + (" (lowest validation loss" + ("" if gain is None else
                                                 f"; the network's best share gains {gain:.2f} nats over the "
                                                 f"validation texts") + ")"))
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
    t = fit_temperature(logits, y_val, prior_sd=TEMPERATURE_PRIOR_SD)
    before = expected_calibration_error(softmax(logits), y_val)
    after = expected_calibration_error(softmax(logits / t), y_val)
    meta = {k: v for k, v in saved.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    meta["temperature"] = t
    meta["calibration"] = {"val_ece_before": round(before, 6), "val_ece_after": round(after, 6)}
    save_model(path, KIND, saved.arrays, meta)
    console.info(f"temperature scaling on the validation split: T = {t:.3f}, ECE {before:.4f} -> {after:.4f}")
    return {"temperature": t, **meta["calibration"]}
