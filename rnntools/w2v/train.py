"""Training word vectors: one pass to count and encode the corpus, then lock-free threads over it.

The plan, and why:

1. **One tokenizing pass.** The corpus is read once (files or stdin), tokenized, and every token gets a
   provisional id as it is first seen; the ids go to an unnamed temporary file as int32 (4 bytes a word,
   plus one per line for the line break) while the counts accumulate. Tokenizing is the slowest thing Python does
   here (CBOW trains faster than a regex splits text), so doing it once instead of once per epoch is the
   biggest single speed-up, and it makes stdin work with no extra spooling of text.
2. **Vocabulary.** Counts become a ``Vocab`` (no specials: ordered by count, then token), pruned by
   ``min_count``/``max_vocab`` or taken from ``--vocab``; a lookup table maps provisional ids to final ids
   (-2 = dropped, -1 = sentence break).
3. **Training.** Each epoch re-reads the int32 file in batches of ``batch_words``; worker threads take
   batches under a lock (the only shared Python state), map them through the table (numpy) and call a
   numba kernel that releases the GIL for the whole batch: subsampling, the dynamic window, noise draws
   and the updates all happen inside it. Threads update the shared matrices without locks (Hogwild, as
   word2vec and gensim do). Memory: the two (V, D) matrices, the vocabulary and a few batches.
4. **Learning rate** falls linearly from ``alpha`` to ``min_alpha`` over all words of all epochs, set per
   batch from the words handed out so far (word2vec and gensim semantics).
5. **Ctrl-C** sets a flag; workers finish their batch, the vectors trained so far are saved atomically,
   and KeyboardInterrupt goes up to the CLI (exit 130).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, TrainingError, UsageError
from rnntools.io import save_model
from rnntools.w2v.corpus import PHRASE_WORD_RE, SEP, Spool, build_vocab, read_corpus  # noqa: F401
from rnntools.w2v.layout import (  # noqa: F401  (re-exported: their home before the split)
    Layout,
    _check_memory,
    huffman,
    init_vectors,
    keep_thresholds,
    noise_table,
    seed_states,
)

BATCH_WORDS = 10000  # corpus items per kernel call (as gensim's MAX_WORDS_IN_BATCH)


@dataclass
class Params:
    """Hyperparameters; defaults are word2vec's and gensim's (alpha None: 0.025 for sg, 0.05 for cbow)."""

    arch: str = "sg"
    dim: int = 100
    window: int = 5
    negative: int = 5
    sample: float = 1e-3
    min_count: int = 5
    max_vocab: int | None = None
    alpha: float | None = None
    min_alpha: float = 0.0001
    epochs: int = 5
    threads: int | None = None
    seed: int = 1
    lowercase: bool = True
    loss: str = "ns"  # "ns" negative sampling, "hs" hierarchical softmax
    subword: tuple[int, int] | None = None  # (MIN, MAX) character n-gram lengths, fastText-style
    buckets: int | None = None  # n-gram hash buckets (None: subword.default_buckets)
    batch_words: int = BATCH_WORDS
    share_negatives: bool = True  # skip-gram with negative sampling: a centre's pairs share its noise words

    def resolved(self, resuming: bool = False) -> Params:
        """The settings with their defaults filled in, checked. ``resuming``: the rates are checked after the
        resumed file's own are taken (``_load_resume``): a ``--min-alpha`` above the default alpha is valid
        beside a file trained with a larger one."""
        p = Params(**asdict(self))
        if p.alpha is None:
            p.alpha = 0.05 if p.arch == "cbow" else 0.025
        if p.threads is None:
            p.threads = _cpu_count()
        if p.arch not in ("sg", "cbow"):
            raise UsageError(f"unknown architecture {p.arch!r}; use sg or cbow")
        if p.min_alpha > p.alpha and not resuming:
            raise UsageError(f"--min-alpha {p.min_alpha} is above --alpha {p.alpha}")
        if p.loss not in ("ns", "hs"):
            raise UsageError(f"unknown loss {p.loss!r}; use ns or hs")
        for name in ("sample", "alpha", "min_alpha"):
            if not math.isfinite(getattr(p, name)):
                raise UsageError(f"--{name.replace('_', '-')} must be a finite number, not {getattr(p, name)}")
        if p.subword is not None:
            p.subword = (int(p.subword[0]), int(p.subword[1]))
            if not 1 <= p.subword[0] <= p.subword[1]:
                raise UsageError(f"--subword {p.subword[0]}-{p.subword[1]}: expected MIN-MAX with 1 <= MIN <= MAX")
        return p


def _cpu_count() -> int:
    """The cores --threads allowed (``rnntools.parallel.configure_threads``; all of them by default)."""
    from rnntools.parallel import configured_threads

    return configured_threads()


# --- pass 2..: the training loop -----------------------------------------------------------------------


class _Feeder:
    """Hands out batches of final ids with their learning rate, epoch after epoch, under one lock."""

    def __init__(self, spool: Spool, table: np.ndarray, params: Params, total_words: int, start: float = 0.0):
        self.spool, self.table, self.p = spool, table, params
        self.total = total_words * params.epochs  # in-vocabulary words over all epochs
        self.lock = threading.Lock()
        # resuming at a fraction ``start`` of the schedule: that epoch, that far into the corpus
        self.epoch = min(int(start * params.epochs), params.epochs - 1)
        self.items_left = 0
        self.handed = int(start * self.total)  # in-vocabulary words handed out so far
        self.handed_at_start = self.handed
        self.batches = [0] * params.epochs  # batches handed out per epoch (an epoch ends when all are done)
        self._start_epoch(start * params.epochs - self.epoch)

    def _start_epoch(self, fraction: float = 0.0) -> None:
        skip = min(int(fraction * self.spool.items), self.spool.items)
        self.spool.file.seek(4 * skip)
        self.items_left = self.spool.items - skip

    def next(self):
        with self.lock:
            if self.items_left == 0:
                if self.epoch + 1 >= self.p.epochs:
                    return None
                self.epoch += 1
                self._start_epoch()
            n = min(self.p.batch_words, self.items_left)
            raw = np.empty(n, np.int32)
            got = self.spool.file.readinto(memoryview(raw).cast("B"))
            if got != 4 * n:  # pragma: no cover - the spool is ours
                raise TrainingError("the temporary corpus file was truncated")
            self.items_left -= n
            words = self.table[raw]
            words = words[words != -2]
            n_words = int(np.count_nonzero(words >= 0))
            progress = self.handed / self.total
            lr = self.p.alpha - (self.p.alpha - self.p.min_alpha) * progress
            self.handed += n_words
            self.batches[self.epoch] += 1
            return words, max(lr, self.p.min_alpha), self.epoch, n_words

    def finished(self, epoch: int, batches_done: int) -> bool:
        """Whether every batch of ``epoch`` has been handed out and ``batches_done`` of them trained."""
        with self.lock:
            handed_all = self.epoch > epoch or (self.items_left == 0 and self.epoch + 1 >= self.p.epochs)
            return handed_all and batches_done == self.batches[epoch]


# options that decide the model's shape or how text becomes training data: fixed by a resumed file
STRUCTURE = ("arch", "dim", "window", "negative", "sample", "lowercase", "min_count", "max_vocab", "loss",
             "subword", "buckets")
TRAINING = ("alpha", "min_alpha", "epochs", "share_negatives")  # taken from a resumed file unless given again


# the Ctrl-C handler to put back when train() ends: from the first Ctrl-C on, later ones are held (_hold_interrupts)
_held: list = []


def _hold_interrupts() -> None:
    """The first Ctrl-C stops the workers; the vectors are saved next. A second one while the workers finished
    their batches or before the save began (``saving_through_interrupts`` holds those during it) went up as a
    KeyboardInterrupt: nothing saved, every word trained lost. Later ones now wait; the run is ending anyway."""
    import signal

    if threading.current_thread() is threading.main_thread() and not _held:
        _held.append(signal.signal(signal.SIGINT, lambda signum, frame: None))


def _releasing_interrupts(function):
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            if _held:
                import signal

                signal.signal(signal.SIGINT, _held.pop())
    return wrapper


@_releasing_interrupts
def train(inputs: list[str], output: str, params: Params, *, vocab_path: str | None = None,
          errors: str = "strict", log=None, resume: str | None = None, explicit: frozenset = frozenset(),
          resumable: bool = False) -> dict:
    """Train word vectors on ``inputs`` (paths or ``-``) and save them to ``output`` (kind "vectors").

    ``resume``: continue a vectors file saved with its output weights (``resumable``, or interrupted): an
    interrupted run goes on where its schedule stopped; a finished one trains ``params.epochs`` more on
    ``inputs`` with a new schedule. Its vocabulary and model settings are kept (``explicit`` names the
    params the user set: a conflicting one is a usage error).
    Returns the training summary (also stored in the file's meta). Raises KeyboardInterrupt after saving
    the vectors trained so far (with the output weights, so it can be resumed) when interrupted.
    """
    from rnntools.text import Vocab, tokenize_words
    from rnntools.text.tokenize import phrase_tokenizer

    p = params.resolved(resuming=resume is not None)
    _check_memory(p, 1, 0)  # a --dim no machine could hold fails before reading the corpus
    state = _load_resume(resume, p, explicit, vocab_path) if resume else None
    # an option the chosen model does not use is a usage error, as in rnn-train (they were ignored, silently)
    if "negative" in explicit and p.loss == "hs":
        raise UsageError("--negative is for --loss ns (negative sampling); --loss hs draws no noise words")
    if "share_negatives" in explicit and (p.arch, p.loss, p.subword) != ("sg", "ns", None):
        raise UsageError("--share-negatives/--no-share-negatives is for plain skip-gram with --loss ns: CBOW, "
                         "hierarchical softmax and --subword draw noise words per prediction or none")
    if "buckets" in explicit and not p.subword:
        raise UsageError("--buckets is the number of hash buckets of --subword n-grams; give --subword too")
    given = Vocab.read(vocab_path) if vocab_path else None
    if given is not None:
        if given.level != "word":
            raise InputError("--vocab must be a word vocabulary (it has level 'char')", vocab_path)
        if "lowercase" in explicit and p.lowercase != given.lowercase:
            raise UsageError(f"--keep-case: {vocab_path} holds lowercased words (build it with `rnntools vocab "
                             "--keep-case`)")
        p.lowercase = given.lowercase
    # rnntools.text.tokenize_words plus phrase tokens, bound once for the hot loop
    tokenize = phrase_tokenizer(p.lowercase)
    assert tokenize("A b") == tokenize_words("A b", p.lowercase)

    t0 = time.perf_counter()
    spool = read_corpus(inputs, tokenize, errors)
    try:
        if state is not None:
            vocab, table = build_vocab(spool, inputs, p, state["vocab"], keep_counts=True)
        else:
            vocab, table = build_vocab(spool, inputs, p, given)
        t_read = time.perf_counter() - t0
        counts = vocab.counts
        train_words = int(counts.sum())
        console.info(f"{spool.words():,} words, {len(spool.index) - 1:,} distinct; vocabulary {len(vocab):,} "
                     f"words covering {train_words:,} ({t_read:.1f}s); training {p.arch} dim {p.dim}, "
                     f"{p.epochs} epochs, {p.threads} thread{'s' if p.threads > 1 else ''}")
        if log is not None:
            log.write("vocab", words=spool.words(), distinct=len(spool.index) - 1, vocab=len(vocab),
                      retained=train_words, seconds=round(t_read, 3))
        layout = Layout(vocab, p)
        _check_memory(p, len(vocab), layout.buckets, layout.out_rows)
        if state is not None:
            w_in, w_out = state["w_in"], state["w_out"]
            start = state["position"] / p.epochs
            if w_in.shape[0] != layout.in_rows or w_out.shape[0] != layout.out_rows:
                raise UsageError(f"{resume}: its arrays ({w_in.shape[0]} input rows, {w_out.shape[0]} output "
                                 f"rows) do not match its settings ({layout.in_rows}, {layout.out_rows})")
        else:
            w_in, w_out = init_vectors(layout.in_rows, p.dim, p.seed, layout.out_rows)
            start = 0.0
        summary = _run(spool, table, vocab, w_in, w_out, p, train_words, log, start, layout)
    finally:
        spool.close()
    summary["read_seconds"] = round(t_read, 3)
    summary["corpus_words"] = spool.words()
    if state is not None:
        summary["resumed_from"] = {"file": resume, "progress": start, "epochs_done": state["position"],
                                   "training": state["training"]}
    if summary["interrupted"]:
        from rnntools.io import saving_through_interrupts

        with saving_through_interrupts():  # a second Ctrl-C now would lose the vectors trained so far
            _save(output, vocab, w_in, p, summary, w_out, layout)
    else:
        _save(output, vocab, w_in, p, summary, w_out if resumable else None, layout)
    if summary["interrupted"]:
        # said even when stderr is not a terminal: the user must know the file is a partial model
        console.warn(f"interrupted: saved the vectors after {summary['progress']:.0%} of training to {output}")
        raise KeyboardInterrupt
    console.info(f"trained {summary['words_per_second']:,.0f} words/s, final loss "
                 f"{summary['loss']:.4f}; saved {output}")
    return summary


@_releasing_interrupts
def train_lines(lines: list[str], params: Params) -> tuple:
    """Word vectors of ``lines`` held in memory (each a text; tokenised as ``train`` tokenises a corpus),
    for a library caller that needs the vectors, not a file: ``(vocab, vectors (V, D) float32)``, trained as
    ``train`` trains them (the same vectors as ``train`` on a file of these lines, with no subwords). The
    spool of token ids still goes to a temporary file (``corpus.Spool``). Raises KeyboardInterrupt when
    interrupted (nothing is kept), ``InputError`` when no word occurs ``min_count`` times."""
    from rnntools.text.tokenize import phrase_tokenizer

    p = params.resolved()
    if p.subword is not None:
        raise UsageError("train_lines learns plain word vectors; subwords need train")
    spool = Spool(phrase_tokenizer(p.lowercase))
    try:
        spool.add_lines(lines)
        vocab, table = build_vocab(spool, ["the texts"], p)
        layout = Layout(vocab, p)
        w_in, w_out = init_vectors(layout.in_rows, p.dim, p.seed, layout.out_rows)
        summary = _run(spool, table, vocab, w_in, w_out, p, int(vocab.counts.sum()), None, 0.0, layout)
    finally:
        spool.close()
    if summary["interrupted"]:
        raise KeyboardInterrupt
    if not np.all(np.isfinite(w_in)):
        raise TrainingError("training diverged (the vectors have NaN or infinite values): lower alpha")
    return vocab, w_in


def _flag(name: str) -> str:
    return "--keep-case" if name == "lowercase" else "--" + name.replace("_", "-")


def _shown(name: str, value) -> str:
    if name == "subword":
        return "off" if value is None else f"{value[0]}-{value[1]}"
    if name == "lowercase":
        return "lowercase" if value else "kept case"
    return "none" if value is None else str(value)  # (--max-vocab: no limit; "None" read as Python's)


def _norm(name: str, value):
    return tuple(value) if name == "subword" and value is not None else value


def _load_resume(path: str, p: Params, explicit: frozenset, vocab_path: str | None) -> dict:
    """Vectors, output weights, vocabulary and schedule position of a file to resume; updates ``p``.

    The one resume rule (docs/tasks.md): the saved structure wins, a structural option given with another
    value is a usage error naming both, training options (alpha, min-alpha, epochs) may change and
    otherwise keep their saved values; the position in the schedule (epochs done, and so the learning
    rate) continues, never restarts.
    """
    from rnntools.io import load_model
    from rnntools.text import Vocab

    if vocab_path:
        raise UsageError("--vocab and --resume do not go together: a resumed model keeps its vocabulary")
    model = load_model(path, "vectors")
    if "output_weights" not in model.arrays:
        raise UsageError(f"{path} has no output weights to continue from; train it with --resumable "
                         "(interrupted runs always keep them)")
    from rnntools.w2v.vectors import config_of

    saved, training = config_of(model.meta), model.meta.get("training", {})
    for name in STRUCTURE:
        default = getattr(Params(), name) if name != "buckets" else None
        value = _norm(name, saved.get(name, default))
        if name in explicit and _norm(name, getattr(p, name)) != value:
            raise UsageError(f"{path}: {_flag(name)} {_shown(name, getattr(p, name))} differs from the saved "
                             f"model's {_shown(name, value)} (structural options cannot change on --resume)")
        setattr(p, name, value)
    for name in TRAINING:
        if name not in explicit and name in saved:
            setattr(p, name, saved[name])
    if p.min_alpha > p.alpha:
        # a fresh run refuses this (Params.resolved); taken from an edited file, the rate rose to 5 and training
        # crawled through minutes of overflowing arithmetic to a NaN loss
        if {"alpha", "min_alpha"} & explicit:
            raise UsageError(f"--min-alpha {p.min_alpha} is above --alpha {p.alpha} (one of them saved in {path})")
        raise ModelFileError(f"corrupt model file (its min_alpha {p.min_alpha} is above its alpha {p.alpha}); "
                             f"cannot --resume it", path)
    position = training.get("epochs_done")
    if position is None:  # files from before epochs_done: the fraction of their own schedule
        position = training.get("progress", 1.0)
        position = position * saved.get("epochs", p.epochs) if _number(position) else position
    if not _number(position) or not 0 <= position < 1e9:
        raise ModelFileError(f"corrupt model file (the epochs done are {position!r}, expected a number of at "
                             f"least 0); cannot --resume it", path)
    position = float(position)
    if position >= p.epochs:
        raise UsageError(f"{path} has been trained for {position:g} epochs already; give --epochs above "
                         f"{position:g} to train it further (the schedule continues where it stopped)")
    w_in, w_out = model.arrays["vectors"], model.arrays["output_weights"]
    if p.subword is not None:
        if "word_rows" not in model.arrays or "ngram_vectors" not in model.arrays:
            raise UsageError(f"{path} is a subword model without its word rows and n-gram vectors")
        w_in = np.concatenate([model.arrays["word_rows"], model.arrays["ngram_vectors"]])
    if w_in.shape[1] != w_out.shape[1]:
        raise UsageError(f"{path}: output weights {w_out.shape} do not match the vectors {w_in.shape}")
    if w_in.shape[1] != p.dim:
        # the kernels take the row length from dim: a "dim": 16 beside rows of 8 read and wrote past each row
        raise ModelFileError(f"corrupt model file (its vectors have {w_in.shape[1]} values a row, its dim is "
                             f"{p.dim}); cannot --resume it", path)
    return {"vocab": Vocab.from_meta(model.meta["vocab"]), "w_in": np.array(w_in, np.float32),
            "w_out": np.array(w_out, np.float32), "position": position, "training": training}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _run(spool, table, vocab, w_in, w_out, p: Params, train_words: int, log, start: float, layout: Layout) -> dict:
    from rnntools.w2v import kernels

    feeder = _Feeder(spool, table, p, train_words, start)
    keep = keep_thresholds(vocab.counts, p.sample)
    alias_prob, alias_idx = noise_table(vocab.counts) if p.loss == "ns" else (np.zeros(1, np.uint64),
                                                                              np.zeros(1, np.int32))
    L = layout
    extra = (L.hs_off, L.hs_codes, L.hs_points, L.sub_off, L.sub_ids)
    states = seed_states(p.seed if not start else hash((p.seed, start)) & (2**63 - 1), p.threads)
    sig, logsig = kernels.sigmoid_tables()
    stop = threading.Event()
    stats_lock = threading.Lock()
    stats = {"loss": np.zeros(p.epochs), "pred": np.zeros(p.epochs), "batches": np.zeros(p.epochs, np.int64),
             "words": 0, "errors": []}

    def worker(state):
        D = p.dim
        buf = np.empty(p.batch_words, np.int32)
        targets = np.empty(p.negative + 1, np.int32)
        work = np.empty(D, np.float32)
        hidden = np.empty((2, D), np.float32)
        rows = np.empty(max(L.max_rows, 2 * p.window * L.max_rows), np.int32)
        kernel = kernels.train_batch_sg if p.arch == "sg" else kernels.train_batch_cbow
        try:
            while not stop.is_set():
                item = feeder.next()
                if item is None:
                    return
                words, lr, epoch, n_words = item
                loss, pred, _ = kernel(words, w_in, w_out, keep, alias_prob, alias_idx, p.window, lr, state, buf,
                                       targets, work, sig, logsig, *extra, rows, hidden, p.share_negatives)
                if not math.isfinite(loss):
                    raise TrainingError(f"the loss became {loss} in epoch {epoch + 1}; lower --alpha")
                with stats_lock:
                    stats["loss"][epoch] += loss
                    stats["pred"][epoch] += pred
                    stats["batches"][epoch] += 1
                    stats["words"] += n_words
        except BaseException as exc:  # surfaced in the main thread
            stats["errors"].append(exc)
            stop.set()

    threads = [threading.Thread(target=worker, args=(s,), daemon=True, name=f"w2v-{i}")
               for i, s in enumerate(states)]
    # load the compiled kernel (numba's cache) before the clock starts: a one-off start-up cost, not
    # training speed (it is in the command's total time either way)
    _warm = (np.empty(0, np.int32), w_in, w_out, keep, alias_prob, alias_idx, p.window, 0.0, states[0].copy(),
             np.empty(1, np.int32), np.empty(p.negative + 1, np.int32), np.empty(p.dim, np.float32), sig, logsig,
             *extra, np.empty(1, np.int32), np.empty((2, p.dim), np.float32), p.share_negatives)
    (kernels.train_batch_sg if p.arch == "sg" else kernels.train_batch_cbow)(*_warm)
    total, base = feeder.total, feeder.handed_at_start
    interrupted = False
    t0 = time.perf_counter()
    with console.progress("training", total=total - base) as bar:
        # epochs before a resumed one were logged then; read before the workers start, which on a small
        # corpus can finish an epoch before this thread looks again (its line was then never written)
        done_before, last_log, logged = 0, t0, feeder.epoch
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                alive = [t for t in threads if t.is_alive()]
                if alive:
                    alive[0].join(0.2)
                with stats_lock:
                    done, epoch = stats["words"], feeder.epoch
                    # the newest epoch with a prediction trained (a new epoch's first batches may be in flight)
                    shown = next((e for e in range(epoch, -1, -1) if stats["pred"][e] > 0), None)
                    # no loss to show before the first batch comes back
                    seen = {} if shown is None else {"loss": stats["loss"][shown] / stats["pred"][shown]}
                    batches_done = stats["batches"].tolist()
                    epoch_loss_now = (stats["loss"] / np.maximum(stats["pred"], 1)).tolist()
                if log is not None:
                    while logged < p.epochs and feeder.finished(logged, batches_done[logged]):
                        log.write("epoch", epoch=logged + 1, loss=round(epoch_loss_now[logged], 6))
                        logged += 1
                now = time.perf_counter()
                rate = done / max(now - t0, 1e-9)
                lr = p.alpha - (p.alpha - p.min_alpha) * min((base + done) / total, 1.0)
                bar.update(done - done_before, epoch=epoch + 1, lr=lr, **seen, **{"words/s": f"{rate:,.0f}"})
                done_before = done
                if log is not None and now - last_log >= 1.0:
                    log.write("progress", epoch=epoch + 1, words=done, lr=round(lr, 6),
                              **{k: round(v, 5) for k, v in seen.items()}, words_per_second=round(rate))
                    last_log = now
        except KeyboardInterrupt:
            _hold_interrupts()
            interrupted = True
            stop.set()
            for t in threads:
                t.join()
    seconds = time.perf_counter() - t0
    if stats["errors"]:
        raise stats["errors"][0]
    pred = stats["pred"]
    epoch_loss = [float(stats["loss"][e] / pred[e]) for e in range(p.epochs) if pred[e] > 0]
    summary = {
        "words": int(stats["words"]),
        "seconds": round(seconds, 3),
        "words_per_second": round(stats["words"] / max(seconds, 1e-9)),
        "epochs_completed": (feeder.epoch + 1) if not interrupted else feeder.epoch,
        "loss": epoch_loss[-1] if epoch_loss else float("nan"),
        "epoch_loss": epoch_loss,
        "progress": min((feeder.handed_at_start + stats["words"]) / total, 1.0) if interrupted else 1.0,
        "interrupted": interrupted,
    }
    summary["epochs_done"] = summary["progress"] * p.epochs
    if not epoch_loss:
        summary["loss"] = 0.0
    if log is not None:
        for e in range(logged, p.epochs):  # epochs that ended after the last look (or all, with no threads)
            if pred[e] > 0 and (not interrupted or e < feeder.epoch):
                log.write("epoch", epoch=e + 1, loss=round(float(stats["loss"][e] / pred[e]), 6))
        log.write("done", **{k: v for k, v in summary.items() if k != "epoch_loss"})
    return summary


def _save(output: str, vocab, w_in: np.ndarray, p: Params, summary: dict, w_out: np.ndarray | None,
          layout: Layout) -> None:
    """The vectors file: ``vectors`` (V, D) are what queries read (for a subword model, each word's mean
    of its own row and its n-gram rows, so readers that know nothing of subwords get the right vectors);
    a subword model adds ``ngram_vectors`` (B, D) for words never seen. ``output_weights`` (and for
    subword models ``word_rows``, the words' own rows) only when the file must be resumable."""
    from rnntools.w2v import subword

    hyper = asdict(p)
    hyper.pop("batch_words")
    meta = {"vocab": vocab.to_meta(), "config": hyper, "training": summary}
    V = len(vocab)
    if p.subword is not None:
        arrays = {"vectors": subword.compose(w_in, layout.sub_off, layout.sub_ids), "ngram_vectors": w_in[V:]}
        if w_out is not None:
            arrays["word_rows"] = w_in[:V]
    else:
        arrays = {"vectors": w_in}
    if w_out is not None:
        arrays["output_weights"] = w_out  # only for --resume; queries never read it
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise TrainingError(f"training diverged ({name} has NaN or infinite values); nothing was saved: "
                                "lower --alpha")
    save_model(output, "vectors", arrays, meta)
