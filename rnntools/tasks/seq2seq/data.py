"""seq2seq data: records -> tokenised pairs -> id arrays -> padded time-major batches.

Inputs are JSONL (``{"source": ..., "target": ...}``; field names are options) or plain text: the first
non-blank line of each input decides (``{`` starts JSONL). Plain lines are one source per line, or for
training ``source<TAB>target``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rnntools.errors import InputError
from rnntools.text import Vocab, tokenize_chars, tokenize_words


@dataclass
class Pair:
    source: list[str]
    target: list[str] | None
    record: dict
    path: str
    line: int


def tokenizer(level: str, lowercase: bool):
    if level == "char":
        return lambda text: tokenize_chars(text, lowercase)
    return lambda text: tokenize_words(text, lowercase)


def iter_records(path: str, errors: str = "strict", source_field: str = "source",
                 target_field: str | None = None) -> Iterator[tuple[int, dict]]:
    """``(line number, record)`` for every non-blank line of a JSONL or plain-text input (see the module
    docstring). Plain lines become ``{source_field: line}``, or with ``target_field``
    ``{source_field: ..., target_field: ...}`` split at the first tab."""
    from rnntools.io import iter_lines, parse_json_object

    fmt = None
    for line_no, text in iter_lines(path, errors):
        if not text.strip():
            continue
        if fmt is None:
            fmt = "jsonl" if text.lstrip().startswith("{") else "plain"
        if fmt == "jsonl":
            # line by line rather than iter_jsonl: the format is sniffed, and stdin cannot be read twice
            yield line_no, parse_json_object(text, path, line_no)
        elif target_field is None:
            yield line_no, {source_field: text}
        else:
            source, tab, target = text.partition("\t")
            if not tab:
                raise InputError("expected 'source<TAB>target' (no tab on this line; the input's first line was "
                                 "not JSON, so every line is read as source<TAB>target)", path, line_no)
            yield line_no, {source_field: source, target_field: target}


def read_pairs(paths: Sequence[str], *, level: str = "char", target_level: str | None = None,
               lowercase: bool = False, source_field: str = "source", target_field: str | None = "target",
               max_length: int | None = None, errors: str = "strict") -> Iterator[Pair]:
    """Tokenised pairs from the inputs; ``target_field=None`` reads sources only (prediction).
    ``level`` is the source's (char or word), ``target_level`` the target's (default: the same).

    Errors name the file and line: a missing field, a source with no tokens, a target longer than
    ``max_length`` tokens.
    """
    from rnntools.io import read_text_field

    split = tokenizer(level, lowercase)
    target_level = target_level or level
    split_target = tokenizer(target_level, lowercase)
    for path in paths:
        for line_no, record in iter_records(path, errors, source_field, target_field):
            source = split(read_text_field(record, source_field, path, line_no))
            if not source:
                raise InputError(f"empty source in field {source_field!r} (no {level}s to read)", path, line_no)
            target = None
            if target_field is not None:
                target = split_target(read_text_field(record, target_field, path, line_no))
                if max_length is not None and len(target) > max_length:
                    raise InputError(f"the target has {len(target)} {target_level}s, more than the limit of "
                                     f"{max_length} (--max-target-length); raise the limit or drop the pair",
                                     path, line_no)
            yield Pair(source, target, record, path, line_no)


def build_vocabs(pairs: Sequence[Pair], *, level: str, lowercase: bool, shared: bool, min_count: int = 1,
                 max_size: int | None = None, target_level: str | None = None) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies with specials (<pad> <unk> <s> </s>); one object when ``shared``."""
    src, tgt = Counter(), Counter()
    for p in pairs:
        src.update(p.source)
        tgt.update(p.target)
    kw = dict(lowercase=lowercase, min_count=min_count, max_size=max_size, specials=True)
    if shared:
        vocab = Vocab.build(src + tgt, level=level, **kw)
        return vocab, vocab
    return Vocab.build(src, level=level, **kw), Vocab.build(tgt, level=target_level or level, **kw)


def encode_pairs(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab | None):
    sources = [src_vocab.encode(p.source) for p in pairs]
    targets = None if tgt_vocab is None else [tgt_vocab.encode(p.target) for p in pairs]
    return sources, targets


@dataclass
class Batch:
    """Time-major padded arrays for one teacher-forced update.

    src (S, B) int32 and src_mask (S, B); dec_in (T, B) = <s> + target; dec_out (T, B) = target + </s>;
    tgt_mask (T, B); T = longest target + 1. Padding ids are <pad> (0) with mask 0."""

    src: np.ndarray
    src_mask: np.ndarray
    dec_in: np.ndarray
    dec_out: np.ndarray
    tgt_mask: np.ndarray

    @property
    def tokens(self) -> int:
        return int(self.tgt_mask.sum())


def make_batch(sources: Sequence[np.ndarray], targets: Sequence[np.ndarray], start_id: int, eos_id: int,
               pad_id: int = 0, dtype=np.float32) -> Batch:
    B = len(sources)
    S = max(len(s) for s in sources)
    T = max(len(t) for t in targets) + 1
    src = np.full((S, B), pad_id, np.int32)
    src_mask = np.zeros((S, B), dtype)
    dec_in = np.full((T, B), pad_id, np.int32)
    dec_out = np.full((T, B), pad_id, np.int32)
    tgt_mask = np.zeros((T, B), dtype)
    for b, (s, t) in enumerate(zip(sources, targets)):
        src[:len(s), b] = s
        src_mask[:len(s), b] = 1
        dec_in[0, b] = start_id
        dec_in[1:len(t) + 1, b] = t
        dec_out[:len(t), b] = t
        dec_out[len(t), b] = eos_id
        tgt_mask[:len(t) + 1, b] = 1
    return Batch(src, src_mask, dec_in, dec_out, tgt_mask)


class PaddedPairs:
    """All pairs padded once: ``batch(idx)`` gathers the same ``Batch`` as ``make_batch`` with array indexing
    instead of a Python loop over rows (that loop was ~3% of an update at batch 128)."""

    def __init__(self, sources: Sequence[np.ndarray], targets: Sequence[np.ndarray], start_id: int,
                 eos_id: int, pad_id: int = 0, dtype=np.float32):
        self.start_id, self.eos_id, self.pad_id, self.dtype = start_id, eos_id, pad_id, dtype
        self.src_len = np.array([len(s) for s in sources], np.int64)
        self.tgt_len = np.array([len(t) for t in targets], np.int64)
        self.src = np.full((len(sources), max(self.src_len, default=0)), pad_id, np.int32)
        self.tgt = np.full((len(targets), max(self.tgt_len, default=0) + 1), pad_id, np.int32)
        for i, (s, t) in enumerate(zip(sources, targets)):
            self.src[i, :len(s)] = s
            self.tgt[i, :len(t)] = t

    def batch(self, idx: np.ndarray) -> Batch:
        idx = np.asarray(idx)
        B = len(idx)
        sl, tl = self.src_len[idx], self.tgt_len[idx]
        S, T = int(sl.max()), int(tl.max()) + 1
        src = np.ascontiguousarray(self.src[idx, :S].T)
        src_mask = (np.arange(S)[:, None] < sl[None, :]).astype(self.dtype)
        dec_out = np.ascontiguousarray(self.tgt[idx, :T].T)
        dec_out[tl, np.arange(B)] = self.eos_id
        dec_in = np.empty((T, B), np.int32)
        dec_in[0] = self.start_id
        dec_in[1:] = self.tgt[idx, :T - 1].T
        tgt_mask = (np.arange(T)[:, None] <= tl[None, :]).astype(self.dtype)
        return Batch(src, src_mask, dec_in, dec_out, tgt_mask)


def make_source_batch(sources: Sequence[np.ndarray], pad_id: int = 0, dtype=np.float32):
    S = max(len(s) for s in sources)
    src = np.full((S, len(sources)), pad_id, np.int32)
    mask = np.zeros((S, len(sources)), dtype)
    for b, s in enumerate(sources):
        src[:len(s), b] = s
        mask[:len(s), b] = 1
    return src, mask


def length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Index batches of similar lengths (less padding): shuffle, sort within pools of 50 batches, split,
    shuffle the batches. Without ``rng`` the order is by length (evaluation)."""
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch] for i in range(0, n, batch)]
    order = rng.permutation(n)
    pool = batch * 50
    out = []
    for i in range(0, n, pool):
        chunk = order[i:i + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out.extend(chunk[j:j + batch] for j in range(0, len(chunk), batch))
    return [out[i] for i in rng.permutation(len(out))]
