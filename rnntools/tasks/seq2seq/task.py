"""The seq2seq task's glue: the model object, the trainer plug-in, and train/load/read/predict/evaluate
(the options of a run and the resume rule are in ``options.py``).

Nothing here knows click or opens an output: ``predict`` and ``evaluate`` yield records and return a summary,
the CLI writes them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, UsageError, model_loader
from rnntools.io import stdin_idle
from rnntools.nn import clip_coefficient, make_optimizer
from rnntools.tasks.seq2seq.data import (
    Batch,
    PaddedPairs,
    Pair,
    build_vocabs,
    encode_pairs,
    length_batches,
    make_batch,
    read_pairs,
    tokenizer,
)
from rnntools.tasks.seq2seq.decode import Decoder, beam_search_many, greedy
from rnntools.tasks.seq2seq.metrics import score_predictions
from rnntools.tasks.seq2seq.model import Config, Net, dropout_masks, init_params, summed_bias_slices
from rnntools.tasks.seq2seq.options import (
    KIND,
    LARGE,
    LONG_EPOCH,
    MAX_DECODE_LENGTH,
    MAX_VAL,
    PREDICT_DEFAULTS,
    check_max_length,
    check_options,
    default_batch,
    default_budget_decay,
    default_dropout,
    default_embedding_dropout,
    default_ensemble,
    default_hidden,
    default_label_smoothing,
    default_lr,
    from_data,
    run_options,
    weight_gradients_skip_padding,
)
from rnntools.text import Vocab

# --- the model ---------------------------------------------------------------------------------------------

@dataclass
class Seq2SeqModel:
    """Everything ``predict`` and ``evaluate`` need: configuration, vocabularies and parameters (``params``
the first network's; ``members`` the others' of an ensemble, which decodes by their mean log-probability)."""

    cfg: Config
    src_vocab: Vocab
    tgt_vocab: Vocab
    params: dict
    max_target: int = 0  # the longest training target (tokens): the default --max-length comes from it
    extra: dict = field(default_factory=dict)
    path: str = ""
    members: list = field(default_factory=list)

    def __post_init__(self):
        self.net = Net(self.cfg, self.params)
        self.nets = [self.net] + [Net(self.cfg, p) for p in self.members]

    def default_max_length(self) -> int:
        return min(max(2 * self.max_target + 2, 10), MAX_DECODE_LENGTH)

    def meta(self) -> dict:
        vocab = {"vocab": self.src_vocab.to_meta(counts=False)} if self.cfg.shared_vocab else {
            "source_vocab": self.src_vocab.to_meta(counts=False),
            "target_vocab": self.tgt_vocab.to_meta(counts=False)}
        return {"model": self.cfg.to_meta(), **vocab, "max_target": self.max_target, **self.extra}

    @classmethod
    def from_file(cls, model) -> Seq2SeqModel:
        from rnntools.tasks.seq2seq import ensemble

        migrate_names(model)
        parts = ensemble.split(model)
        meta = model.meta
        try:
            cfg = Config(**meta["model"])
            if cfg.shared_vocab:
                src = tgt = Vocab.from_meta(meta["vocab"], specials=True)
            else:
                src = Vocab.from_meta(meta["source_vocab"], specials=True)
                tgt = Vocab.from_meta(meta["target_vocab"], specials=True)
            max_target = meta.get("max_target", 0)
            if isinstance(max_target, bool) or not isinstance(max_target, int):
                raise ValueError(f"max_target is {max_target!r}, expected a whole number")
            if cfg.src_vocab_size != len(src) or cfg.tgt_vocab_size != len(tgt):
                raise ValueError("the vocabulary sizes differ from the model's")
            _check_saved(meta, cfg, src, tgt)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt seq2seq model metadata ({exc.__class__.__name__}: {exc})",
                                 model.path) from None
        if not 0 <= max_target <= MAX_DECODE_LENGTH:
            raise ModelFileError(f"corrupt seq2seq model metadata (max_target {max_target} outside "
                                 f"0..{MAX_DECODE_LENGTH})", model.path)
        networks = []
        for k, part in enumerate(parts):
            params = {name: np.array(v, dtype=np.float32) for name, v in part.arrays.items()
                      if not name.startswith(("state.", "resume."))}
            which = f"network {k + 1} of {len(parts)}: " if len(parts) > 1 else ""
            read = _Read(params)
            try:
                Net(cfg, read, rng=_NoDraw())  # checks every parameter's presence and shape
            except _Missing as exc:
                raise ModelFileError(f"corrupt seq2seq model ({which}parameter {exc} missing)", model.path) from None
            except ValueError as exc:
                raise ModelFileError(f"corrupt seq2seq model ({which}{exc})", model.path) from None
            unused = sorted(set(params) - read.names)
            if unused:
                # a bidirectional file edited to "bidirectional": false decoded without its backward encoder
                raise ModelFileError(f"corrupt seq2seq model ({which}parameters its configuration does not use: "
                                     f"{', '.join(unused[:4])}{' ...' if len(unused) > 4 else ''})", model.path)
            networks.append(params)
        extra = {k: meta[k] for k in ("data", "config") if k in meta}
        return cls(cfg, src, tgt, networks[0], max_target, extra, model.path, networks[1:])

    def translate(self, sources: Sequence, *, beam: int = 1, nbest: int = 1, max_length: int | None = None,
                  alpha: float = 1.0, chunk: int = 256) -> list[list[tuple[str, float]]]:
        """Decode texts (or token lists): per source, the n-best (text, normalised log-probability), best first."""
        ids = [self.src_vocab.encode(s) if isinstance(s, str) else self.src_vocab.encode(list(s))
               for s in sources]
        return self.translate_ids(ids, beam=beam, nbest=nbest, max_length=max_length, alpha=alpha, chunk=chunk)

    def translate_ids(self, ids, *, beam, nbest, max_length=None, alpha=1.0, chunk=256):
        if max_length is None:
            max_length = self.default_max_length()
        check_max_length(max_length)
        tv = self.tgt_vocab
        # chunks of sources of similar length: a chunk is decoded until its longest output ends and its
        # sources are padded to the longest one, so in the given order (random lengths) a chunk of 256
        # G2P words took 1.4x the decoder steps and 1.8x the encoder positions of sorted ones. A source's
        # outputs and scores are the same bits whatever sources are decoded beside it (decode.py), so the
        # order changes the time only
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        results: list = [None] * len(ids)
        for c in range(0, len(ids), chunk):
            part = order[c:c + chunk]
            sources = [ids[i] for i in part]
            if beam <= 1 and nbest <= 1:
                found = [[(seq, score)] for seq, score in greedy(self.params, self.cfg, sources, tv.start_id,
                                                                 tv.eos_id, max_length, alpha, net=self.nets)]
            else:
                found = beam_search_many(self.params, self.cfg, sources, tv.start_id, tv.eos_id, max_length,
                                         max(beam, nbest), nbest, alpha, net=self.nets)
            for i, best in zip(part, found):
                results[i] = [(tv.decode(seq), score) for seq, score in best]
        return results


class _Missing(Exception):
    pass


class _Read(dict):
    """The parameters given to a ``Net`` while loading, with the names its layers looked up (``names``)."""

    def __init__(self, params: dict):
        super().__init__(params)
        self.names: set[str] = set()

    def __contains__(self, name) -> bool:
        self.names.add(name)
        return super().__contains__(name)

    def __getitem__(self, name):
        self.names.add(name)
        return super().__getitem__(name)

    def get(self, name, default=None):
        self.names.add(name)
        return super().get(name, default)


def _check_saved(meta: dict, cfg: Config, src: Vocab, tgt: Vocab) -> None:
    """The saved entries that say how a model reads and decodes, as training writes them (a ValueError
    otherwise): a ``"bidirectional": "no"`` was read as true, a ``"source_field": 7`` blamed the input ("record
    has no field 7") and an empty one read ``source``, a ``"target_level"`` that is not the target vocabulary's
    was taken silently (by ``--resume``)."""
    from rnntools.errors import check_meta_bools, check_meta_ints, check_meta_level

    check_meta_bools(vars(cfg), ("shared_vocab", "bidirectional"))
    check_meta_ints(vars(cfg), ("hidden", "layers", "embed_dim", "src_vocab_size", "tgt_vocab_size"))
    check_meta_ints(vars(cfg), ("encoder_layers",), low=0)
    for part in ("data", "config"):
        if not isinstance(meta.get(part, {}), dict):
            raise ValueError(f"{part} is {str(meta[part])[:40]}, expected an object")
        for name in ("source_field", "target_field"):
            value = meta.get(part, {}).get(name)
            if value is not None and not (isinstance(value, str) and value):
                raise ValueError(f"{part}.{name} is {value!r}, expected a field name")
    check_meta_level(meta.get("config", {}), "level", src.level, "source vocabulary")
    check_meta_level(meta.get("config", {}), "target_level", tgt.level, "target vocabulary")


class _NoDraw:
    """The generator given to the layers when loading: a parameter they would have to draw is missing."""

    def uniform(self, low, high, shape):
        raise _Missing(f"of shape {shape}")

    normal = uniform


OLD_NAMES = {"embed": "embed.W", "enc.embed": "enc.embed.W", "dec.embed": "dec.embed.W"}


def migrate_names(model) -> None:
    """Renames, in place, what files from before the task contract call otherwise:
    - the embeddings ``embed``/``enc.embed``/``dec.embed`` are now ``nn.Embedding``'s ``<name>.W``, in the
      parameters, their ``resume.`` copies and their optimiser state;
    - optimiser state from before seq2seq used the shared optimiser: ``state.adam.<param>.m``/``.v`` become
      ``state.optim.m.<param>``/``state.optim.v.<param>``, and the step count ``adam_t`` becomes ``t``.
    The values are the same, so such a file predicts the same and resumes exactly where it stopped."""
    arrays = model.arrays
    moved = 0
    for key in [k for k in arrays if k.startswith("state.adam.")]:
        name, slot = key[len("state.adam."):].rsplit(".", 1)
        if slot in ("m", "v"):
            arrays[f"state.optim.{slot}.{name}"] = arrays.pop(key)
            moved += 1
    task = model.meta.get("training", {}).get("task") if isinstance(model.meta.get("training"), dict) else None
    if isinstance(task, dict) and "adam_t" in task:
        if moved:  # an old SGD run saved its step count under the same name, but no moments
            task.setdefault("optimizer", "adam")
        task["t"] = task.pop("adam_t")
    for key in list(arrays):
        for prefix in ("", "resume.", "state.optim.m.", "state.optim.v.", "state.optim.buf."):
            if key.startswith(prefix) and key[len(prefix):] in OLD_NAMES:
                arrays[prefix + OLD_NAMES[key[len(prefix):]]] = arrays.pop(key)
                break


# --- the trainer plug-in ------------------------------------------------------------------------------------

class Seq2SeqTask:
    """The seq2seq model as a ``rnntools.tasks.trainer`` task."""

    kind = KIND

    def __init__(self, model: Seq2SeqModel, train: tuple[list, list], val: tuple[list, list] | None,
                 batch: int, clip: float, optimizer: str = "adam", teacher_forcing: float = 1.0,
                 dropout: float = 0.0, options: dict | None = None, label_smoothing: float = 0.0,
                 embedding_dropout: str = "position"):
        self.model, self.cfg, self.p, self.net = model, model.cfg, model.params, model.net
        self.train_src, self.train_tgt = train
        self.val = val
        self.batch = batch
        self.teacher_forcing = teacher_forcing
        self.dropout = dropout
        self.embedding_dropout = embedding_dropout  # position: (T, B, E) masks; table: (V, E) ones, read by id
        self.label_smoothing = label_smoothing
        self.options = options or {}
        # PyTorch's recipe, so that the benchmark's twin and this side follow one reading of the paper:
        # torch.optim.Adam's update and clip_grad_norm_'s coefficient (both the shared optimiser's), with
        # the summed biases stepped as the two parameters they stand for
        self.clip, self.optimizer = clip, optimizer
        self.doubled = summed_bias_slices(self.cfg)
        self.opt = make_optimizer(optimizer, self.p, doubled=self.doubled)
        self.opt.init_state()  # the moments exist from the start, so --resume can load into them
        self.unit = "tokens"
        self._lengths = np.array([len(t) + len(s) for s, t in zip(self.train_src, self.train_tgt)])
        tv = model.tgt_vocab
        self.start_id, self.eos_id = tv.start_id, tv.eos_id
        self.padded = PaddedPairs(self.train_src, self.train_tgt, self.start_id, self.eos_id,
                                  dtype=self.p["out.W"].dtype)

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_src) / self.batch)

    def epoch_batches(self, epoch: int, rng: np.random.Generator):
        return length_batches(self._lengths, self.batch, rng)

    def start_epoch(self, epoch: int) -> None:
        pass

    def _batch(self, idx, sources, targets) -> Batch:
        return make_batch([sources[i] for i in idx], [targets[i] for i in idx], self.start_id, self.eos_id)

    def train_step(self, idx, rng: np.random.Generator, lr: float) -> tuple[float, int]:
        batch = self.padded.batch(idx)
        if self.teacher_forcing < 1.0:
            scheduled_sampling(self.net, batch, self.teacher_forcing, rng)
        drops = None
        if self.dropout > 0:
            drops = dropout_masks(self.cfg, batch, self.dropout, rng, self.p["out.W"].dtype,
                                  table=self.embedding_dropout == "table")
        loss, grads = self.net.loss_and_grads(batch, drops=drops, smoothing=self.label_smoothing)
        n = batch.tokens
        # the loss is summed over tokens: its mean's gradients are these times 1/n (folded into the clip's
        # coefficient, which the optimiser applies as it reads each gradient: clip_grad_norm's update, the
        # same bits, without a pass that scales every gradient in place first)
        norm, coef = clip_coefficient(grads, self.clip, scale=1.0 / n, doubled=self.doubled)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            return float("nan"), n  # the trainer stops; the parameters stay as they were
        self.opt.lr = lr
        self.opt.step(grads, scale=coef)
        return loss, n

    def evaluate(self) -> dict | None:
        if not self.val:
            return None
        sources, targets = self.val
        total, count = 0.0, 0
        for idx in length_batches(np.array([len(t) for t in targets]), 256, None):
            batch = self._batch(idx, sources, targets)
            loss, _ = self.net.loss_and_grads(batch, grad=False)
            total += loss
            count += batch.tokens
        out = {"val_loss": total / max(count, 1)}
        # the task's own metric, what users ask of a seq2seq model: the share of outputs not exactly right
        # (greedy decoding); the trainer keeps the model with the fewest and stops when they stop falling
        max_len = min(max(len(t) for t in targets) + 2, MAX_DECODE_LENGTH)
        found = self.model.translate_ids(sources, beam=1, nbest=1, max_length=max_len)
        tv = self.model.tgt_vocab
        out["val_error"] = 1.0 - float(np.mean([f[0][0] == tv.decode(t) for f, t in zip(found, targets)]))
        return out

    def params(self) -> dict:
        return self.p

    def chance_loss(self) -> float:
        return math.log(len(self.model.tgt_vocab))

    def train_state(self) -> dict:
        if self.optimizer != "adam":
            return {}
        out = {}
        for k in self.p:
            out[f"optim.m.{k}"] = self.opt.m[k]
            out[f"optim.v.{k}"] = self.opt.v[k]
        return out

    def train_meta(self) -> dict:
        return {"optimizer": self.optimizer, "t": self.opt.t}

    def load_train_meta(self, meta: dict) -> None:
        if meta.get("optimizer", self.optimizer) != self.optimizer:
            raise UsageError(f"cannot --resume with --optimizer {self.optimizer}: the model was trained with "
                             f"{meta['optimizer']}")
        self.opt.t = int(meta.get("t", 0))

    def save(self, path: str, arrays: dict, meta: dict) -> None:
        from rnntools.io import save_model

        save_model(path, KIND, arrays, {**self.model.meta(), "config": self.options, **meta})


def scheduled_sampling(net: Net, batch: Batch, ratio: float, rng: np.random.Generator) -> None:
    """Scheduled sampling (Bengio et al. 2015): each decoder input after <s> is, with probability
    1 - ratio, the model's own greedy choice at the previous step instead of the true token. The choices
    are made in a forward pass without gradients and then treated as given inputs (as in the paper)."""
    dec = Decoder(net.params, net.cfg, [batch.src[: int(batch.src_mask[:, b].sum()), b]
                                        for b in range(batch.src.shape[1])], net=net)
    T = batch.dec_in.shape[0]
    tokens = batch.dec_in[0].copy()
    for t in range(1, T):
        lp = dec.step(tokens)
        own = lp.argmax(axis=1).astype(np.int32)
        use_own = (rng.random(len(own)) >= ratio) & (batch.tgt_mask[t] > 0)
        batch.dec_in[t] = np.where(use_own, own, batch.dec_in[t])
        tokens = batch.dec_in[t]


# --- the contract's entry points ------------------------------------------------------------------------

def train(inputs: Sequence[str], output: str, options: dict, callback=None) -> dict:
    """Read pairs, build vocabularies and the network, train with early stopping, save ``output``.
    ``options``: any of DEFAULTS' names, None meaning not given."""
    from rnntools.io import load_model
    from rnntools.parallel import configured_threads
    from rnntools.tasks.seq2seq import ensemble
    from rnntools.tasks.trainer import EngineConfig, fit

    asked_average = options.get("budget_average")  # given on this command line (a resumed run's is not)
    asked_warmup = options.get("budget_warmup")
    resume = resumes = None
    if options.get("resume"):
        resume = load_model(options["resume"], KIND)
        ensemble.size(resume.meta, resume.path)
        migrate_names(resume)
        resumes = ensemble.split(resume)  # one file per network, as its single run wrote it
    options = run_options(options, resume.meta if resume is not None else None, options.get("resume") or "")
    check_options(options)
    config = EngineConfig.from_options({k: options[k] for k in options if k in EngineConfig.__dataclass_fields__})
    level, target_level = options["level"], options["target_level"]
    priors = [Seq2SeqModel.from_file(part) for part in resumes] if resumes is not None else None
    prior = priors[0] if priors is not None else None
    networks = len(priors) if priors is not None else options["ensemble"]  # None: chosen below
    threads = configured_threads()
    if networks is not None and networks > threads:
        raise UsageError(f"--ensemble {networks} trains one network per thread: give --threads {networks} or more "
                         f"(this run may use {threads})")
    # Case is kept on both sides: what a seq2seq model writes is returned to the user as is (a spelling,
    # a pronunciation, a reply), so lowercasing would change the answer, not just the statistics. A
    # vocabulary file (or the resumed model's) says how its tokens were read: the pairs are read the same
    # way, as predict and evaluate read them (a word-level or lowercased --vocab turned every token of
    # character-level or capitalised data into <unk>, silently).
    lowercase = False
    given_vocab = None
    if prior is not None:
        lowercase = prior.src_vocab.lowercase
    elif options["vocab_path"]:
        given_vocab = Vocab.read(options["vocab_path"])
        if given_vocab.level != level:
            raise UsageError(f"{options['vocab_path']} is a {given_vocab.level}-level vocabulary, but --level is "
                             f"{level}")
        lowercase = given_vocab.lowercase
    source_field, target_field = options["source_field"], options["target_field"]
    pairs = list(read_pairs(inputs, level=level, target_level=target_level, lowercase=lowercase,
                            source_field=source_field, target_field=target_field,
                            max_length=options["max_target_length"], errors=config.encoding_errors))
    if not pairs:
        raise InputError("no pairs to learn from (the input is empty)", inputs[0] if len(inputs) == 1 else None)
    # validation split: a seeded shuffle, at most MAX_VAL pairs
    n = len(pairs)
    n_val = min(int(round(n * config.val_fraction)), MAX_VAL) if n >= 20 else 0
    order = np.random.default_rng([config.seed, 3]).permutation(n)
    val_idx, train_idx = order[:n_val], order[n_val:]
    if n_val == 0:
        console.warn(f"only {n} pairs: no validation split, training for --epochs {config.epochs} "
                     "without early stopping")
    if prior is not None:
        model = prior
        options["hidden"] = config.hidden = model.cfg.hidden  # the saved network's, whatever the file says
        options["encoder_layers"] = model.cfg.enc_layers
        options["encoder_merge"] = model.cfg.merge
    else:
        if from_data(options["hidden"]):
            options["hidden"] = config.hidden = default_hidden(len(train_idx))
        shared_vocab = options["shared_vocab"]
        if given_vocab is not None:
            src_vocab = tgt_vocab = given_vocab
            if src_vocab.n_special < 4:
                raise InputError("the vocabulary needs the specials <pad> <unk> <s> </s> (build it with "
                                 "`rnntools vocab` without --no-specials)", options["vocab_path"])
            shared_vocab = True
        else:
            src_vocab, tgt_vocab = build_vocabs(pairs, level=level, lowercase=lowercase, shared=shared_vocab,
                                                min_count=options["min_count"], max_size=options["max_vocab"],
                                                target_level=target_level)
        if from_data(options["encoder_layers"]):
            options["encoder_layers"] = options["layers"]
        cfg = Config(cell=options["cell"], hidden=options["hidden"], layers=options["layers"],
                     encoder_layers=options["encoder_layers"],
                     embed_dim=options["embed_dim"], attention=options["attention"],
                     bidirectional=options["bidirectional"], merge=options["encoder_merge"],
                     shared_vocab=shared_vocab,
                     src_vocab_size=len(src_vocab), tgt_vocab_size=len(tgt_vocab))
        if networks is None:
            decay = options["budget_decay"]
            decay = default_budget_decay(options["hidden"]) if decay is None else decay
            networks = default_ensemble(options["hidden"], bool(decay) and (config.max_time is not None
                                                                            or config.max_steps is not None), threads)
        longest = min(max(len(p.target) for p in pairs), MAX_DECODE_LENGTH)
        priors = [Seq2SeqModel(cfg, src_vocab, tgt_vocab, init_params(cfg, ensemble.member_seed(config.seed, k)),
                               longest) for k in range(networks)]
        model = priors[0]
    if options["lr"] is None:
        options["lr"] = config.lr = default_lr(options["optimizer"], model.cfg.hidden)
    if options["label_smoothing"] is None:
        options["label_smoothing"] = default_label_smoothing(model.cfg.hidden)
    if options["budget_decay"] is None:
        options["budget_decay"] = default_budget_decay(model.cfg.hidden)
    config.budget_decay = options["budget_decay"]
    budgeted = options["budget_decay"] and (config.max_time is not None or config.max_steps is not None)
    for name, asked in (("--budget-average", asked_average), ("--budget-warmup", asked_warmup)):
        if asked and not budgeted:
            # an option the run would ignore is a usage error (it trained with the plateau schedule, silently)
            why = "no budget (--max-time, --max-steps)" if options["budget_decay"] else f"{model.cfg.hidden} units"
            raise UsageError(f"{name} {asked:g} shapes the budget schedule, which a budget (--max-time, "
                             f"--max-steps) sets from {LARGE} units; this run has {why}, so it would be ignored")
    if options["budget_warmup"] and options["budget_average"] and (
            options["budget_warmup"] + options["budget_average"] >= 1):
        raise UsageError(f"--budget-warmup {options['budget_warmup']:g} and --budget-average "
                         f"{options['budget_average']:g} together take the whole budget; keep their sum below 1")
    if options["dropout"] is None:
        options["dropout"] = default_dropout(model.cfg.hidden, budgeted)
    config.dropout = options["dropout"]
    if options["embedding_dropout"] is None:
        options["embedding_dropout"] = default_embedding_dropout(model.cfg.hidden, budgeted)
    sources, targets = encode_pairs(pairs, model.src_vocab, model.tgt_vocab)
    if from_data(options["batch"]):
        options["batch"] = config.batch = default_batch(len(train_idx))
    if options["eval_every"] is None and math.ceil(len(train_idx) / config.batch) > LONG_EPOCH:
        options["eval_every"] = config.eval_every = LONG_EPOCH // 2
    train_data = ([sources[i] for i in train_idx], [targets[i] for i in train_idx])
    val_data = ([sources[i] for i in val_idx], [targets[i] for i in val_idx]) if n_val else None
    for member in priors:
        member.extra["data"] = {"pairs": n, "train_pairs": len(train_idx), "val_pairs": n_val,
                                "source_field": source_field, "target_field": target_field}
    options["ensemble"] = networks
    stored = {k: v for k, v in options.items() if k not in ("resume", "threads", "log_path")}
    tasks = [Seq2SeqTask(member, train_data, val_data, config.batch, config.clip, config.optimizer,
                         options["teacher_forcing"], dropout=config.dropout, options=stored,
                         label_smoothing=options["label_smoothing"],
                         embedding_dropout=options["embedding_dropout"]) for member in priors]
    for each in tasks:
        each.net.skip_padding = weight_gradients_skip_padding(model.cfg.hidden, budgeted)
    task = tasks[0]
    if callback is not None:
        callback(task, config)
    console.info(f"{n} pairs ({len(train_idx)} training, {n_val} validation, batch {config.batch}); vocabularies "
                 f"{len(model.src_vocab)} source {level}s, {len(model.tgt_vocab)} target {target_level}s; "
                 f"{model.cfg.cell} {model.cfg.enc_layers}x{model.cfg.hidden} encoder, {model.cfg.layers}x"
                 f"{model.cfg.hidden} decoder"
                 f"{' bidirectional encoder' if model.cfg.bidirectional else ''}"
                 f"{' (directions concatenated)' if model.cfg.bidirectional and model.cfg.merge == 'concat' else ''}"
                 f", attention {model.cfg.attention}"
                 + (f"; {networks} networks side by side" if networks > 1 else ""))
    if networks == 1:
        return fit(task, config, output, resume=resume)

    def run(k):
        # network k: its own seed (weights, batch order, dropout), the common validation split; each one
        # appends to the --log, its records marked "network": k + 1 (ensemble._member)
        member_config = replace(config, seed=ensemble.member_seed(config.seed, k))
        return lambda path: fit(tasks[k], member_config, path, resume=None if resumes is None else resumes[k],
                                shown=output)

    summaries = ensemble.fit_members([run(k) for k in range(networks)], output, KIND, threads // networks)
    return {**summaries[0], "ensemble": networks, "networks": summaries}


@model_loader("seq2seq")
def load(source) -> Seq2SeqModel:
    """A model from a path (``-``: stdin) or a loaded ``rnntools.io.ModelFile``."""
    from rnntools.io import ModelFile, load_model

    if not isinstance(source, ModelFile):
        source = load_model(source, KIND)
    elif source.kind != KIND:
        raise ModelFileError(f"is a {source.kind!r} model, expected {KIND!r}", source.path)
    return Seq2SeqModel.from_file(source)


def read(inputs: Sequence[str], model: Seq2SeqModel | None = None, *, source_field: str | None = None,
         target_field: str | None = None, targets: bool = False, errors: str | None = None,
         encoding_errors: str | None = None, **_) -> Iterator[dict]:
    """Records from JSONL or plain-text inputs (one source per line; ``source<TAB>target`` with ``targets``,
    which the CLI sets for ``evaluate``), each checked to hold a source (and with ``targets`` a target) that
    tokenises to something, errors naming file and line. Field names: the options, else the model's, else
    ``source``/``target``."""
    errors = errors or encoding_errors or "strict"
    data = model.extra.get("data", {}) if model is not None else {}
    source_field = source_field or data.get("source_field") or "source"
    target_field = (target_field or data.get("target_field") or "target") if targets else None
    level = model.src_vocab.level if model is not None else "char"
    target_level = model.tgt_vocab.level if model is not None else None
    for pair in read_pairs(inputs, level=level, target_level=target_level, source_field=source_field,
                           target_field=target_field, errors=errors):
        yield pair.record


def _source_tokens(model: Seq2SeqModel, record: dict, source_field: str) -> list[str]:
    from rnntools.io import read_text_field

    split = tokenizer(model.src_vocab.level, model.src_vocab.lowercase)
    tokens = split(read_text_field(record, source_field, None, None))
    if not tokens:
        raise InputError(f"empty source in field {source_field!r}")
    return tokens


def _decoding(beam: int | None, length_norm: float | None, alpha: float | None) -> tuple[int, float]:
    """(beam, alpha): the options given (``length_norm`` is the CLI's name of ``alpha``), else the defaults."""
    alpha = length_norm if length_norm is not None else alpha
    return (beam if beam is not None else PREDICT_DEFAULTS["beam"],
            alpha if alpha is not None else PREDICT_DEFAULTS["length_norm"])


def predict(model: Seq2SeqModel, records: Iterable[dict], *, source_field: str | None = None,
            beam: int | None = None, nbest: int | None = None, max_length: int | None = None,
            length_norm: float | None = None, alpha: float | None = None, chunk: int = 256,
            **_) -> Iterator[dict]:
    """Each record with ``prediction`` (and ``score``; ``nbest`` when more than one is asked) added.
    ``length_norm`` (or ``alpha``): rank finished hypotheses by log-probability / length**alpha."""
    check_max_length(max_length)
    beam, alpha = _decoding(beam, length_norm, alpha)
    nbest = nbest if nbest is not None else PREDICT_DEFAULTS["nbest"]
    source_field = source_field or model.extra.get("data", {}).get("source_field") or "source"
    buffer: list[dict] = []
    from rnntools import console

    replaced = console.ReplacedFields()
    added = ("prediction", "score", "nbest") if nbest > 1 else ("prediction", "score")

    def flush():
        found = model.translate([_source_tokens(model, r, source_field) for r in buffer], beam=beam, nbest=nbest,
                                max_length=max_length, alpha=alpha, chunk=chunk)
        for record, best in zip(buffer, found):
            replaced.check(record, added)
            out = dict(record)
            out["prediction"], out["score"] = best[0][0], round(best[0][1], 6)
            if nbest > 1:
                out["nbest"] = [{"prediction": t, "score": round(s, 6)} for t, s in best]
            yield out
        buffer.clear()

    for record in records:
        buffer.append(record)
        if len(buffer) >= chunk or stdin_idle():
            yield from flush()
    if buffer:
        yield from flush()
    replaced.warn()


def evaluate(model: Seq2SeqModel, records: Iterable[dict], *, source_field: str | None = None,
             target_field: str | None = None, beam: int | None = None, max_length: int | None = None,
             length_norm: float | None = None, alpha: float | None = None, **_) -> dict:
    """Decode held-out pairs and score them (``metrics.score_predictions``); also the teacher-forced loss.
    The summary starts with ``model``: the model file as given (its path, or ``-``)."""
    from rnntools.io import read_text_field

    check_max_length(max_length)
    beam, alpha = _decoding(beam, length_norm, alpha)
    data = model.extra.get("data", {})
    source_field = source_field or data.get("source_field") or "source"
    target_field = target_field or data.get("target_field") or "target"
    split_target = tokenizer(model.tgt_vocab.level, model.tgt_vocab.lowercase)
    pairs = [Pair(_source_tokens(model, r, source_field), split_target(read_text_field(r, target_field, None, None)),
                  r, "", 0) for r in records]
    if not pairs:
        raise InputError("no pairs to evaluate (the input is empty)")
    found = model.translate([p.source for p in pairs], beam=beam, nbest=1, max_length=max_length, alpha=alpha)
    predictions = [f[0][0] for f in found]
    target_level = model.tgt_vocab.level
    join = "".join if target_level == "char" else " ".join
    references = [join(p.target) for p in pairs]
    summary = score_predictions(predictions, references, target_level, model.src_vocab.lowercase)
    sources, targets = encode_pairs(pairs, model.src_vocab, model.tgt_vocab)
    tv = model.tgt_vocab
    total = count = 0.0
    for idx in length_batches(np.array([len(t) for t in targets]), 256, None):
        batch = make_batch([sources[i] for i in idx], [targets[i] for i in idx], tv.start_id, tv.eos_id)
        # an ensemble's: the mean of its networks' teacher-forced losses
        total += sum(net.loss_and_grads(batch, grad=False)[0] for net in model.nets) / len(model.nets)
        count += batch.tokens
    summary["loss"] = total / count
    summary["beam"] = beam
    if len(model.nets) > 1:
        summary["networks"] = len(model.nets)
    return {"model": model.path, **summary}


def summary_table(summary: dict) -> tuple[str, list[str], list[list]]:
    """The table ``evaluate`` prints on stderr."""
    return (f"seq2seq {summary.get('model', '')}", ["metric", "value"],
            [[k, v] for k, v in summary.items() if k != "model"])
