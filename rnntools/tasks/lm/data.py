"""Language-model data: text lines -> one id stream -> consecutive (T, B) windows of B parallel streams.

Char level: every character including the line breaks. Word level: the words of each line (``rnntools.text``
tokenizer) followed by ``</s>`` standing for the line break. The vocabulary (with the four specials: unknown
tokens map to ``<unk>``) is built from the training text unless ``--vocab`` gives one. Validation is the END
of the stream (a contiguous split, so no training window overlaps it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from rnntools import console
from rnntools.errors import InputError

MAX_VAL_TOKENS = 200_000  # validation cost stays bounded on big corpora


def read_lines(inputs: Sequence[str], errors: str = "strict") -> list[str]:
    from rnntools.io import iter_line_batches

    lines: list[str] = []
    for path in inputs:
        for _, batch in iter_line_batches(path, errors):
            lines.extend(batch)
    return lines


def read_records(inputs: Sequence[str], field: str | None = None, errors: str = "strict") -> Iterator[dict]:
    """Records to score: ``{"text": line}`` per line of plain text, or (``field``) the JSONL records, their
    ``field`` checked to be a string (an error names the file and line)."""
    from rnntools.io import iter_jsonl, iter_lines, read_text_field

    for path in inputs:
        if field is None:
            for _, line in iter_lines(path, errors):
                yield {"text": line}
        else:
            for line_no, record in iter_jsonl(path, errors):
                read_text_field(record, field, path, line_no)
                yield record


def line_end_id(vocab) -> int:
    """The id that stands for a line break: ``\\n`` at char level, ``</s>`` at word level."""
    if vocab.level == "char":
        if "\n" not in vocab.index:
            raise InputError("the character vocabulary has no line break '\\n'")
        return vocab.index["\n"]
    if vocab.n_special < 4:
        raise InputError("a word-level language model needs a vocabulary with the specials (<pad> <unk> <s> </s>)")
    return vocab.eos_id


def build_vocab(lines: Sequence[str], level: str, *, min_count: int = 1, max_size: int | None = None):
    from rnntools.text.vocab import TokenCounter

    counter = TokenCounter(level, lowercase=level == "word")
    counter.add_lines(list(lines))  # char level counts one '\n' per line
    return counter.vocab(min_count=min_count, max_size=max_size, specials=True)


def encode_lines(vocab, lines: Sequence[str]) -> np.ndarray:
    """The id stream of ``lines`` (int32), a line-break id after every line."""
    end = line_end_id(vocab)
    if vocab.level == "char":
        return encode_chars(vocab, "\n".join(lines) + "\n" if lines else "")
    parts = []
    for line in lines:
        ids = vocab.encode(line)
        parts.append(ids)
        parts.append(np.array([end], np.int32))
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)


def encode_chars(vocab, text: str) -> np.ndarray:
    """Character ids of ``text`` through a code-point lookup table (no Python loop per character). A
    lowercased vocabulary (``vocab --level char --lowercase``) reads the text lowercased, as ``vocab`` counted
    it: its capitals were all ``<unk>`` in training, in a prime and in evaluation."""
    if vocab.lowercase:
        text = text.lower()
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    unk = vocab.unk_id if vocab.n_special > 1 else -1
    singles = [(ord(t), i) for i, t in enumerate(vocab.tokens) if len(t) == 1 and i >= vocab.n_special]
    top = max((cp for cp, _ in singles), default=0)
    table = np.full(top + 2, unk, np.int32)
    for cp, i in singles:
        table[cp] = i
    ids = table[np.minimum(points, top + 1)]
    if unk < 0:
        ids = ids[ids >= 0]
    return ids.astype(np.int32)


def split_stream(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    n_val = min(int(len(ids) * val_fraction), MAX_VAL_TOKENS) if val_fraction > 0 else 0
    if n_val < 2:
        return ids, ids[:0]
    return ids[: len(ids) - n_val], ids[len(ids) - n_val:]


class StreamBatches:
    """(inputs, targets), each (T, B) int32, for consecutive windows of B parallel streams.

    ids (N,) -> B streams of S = (N - 1) // B tokens: row b holds ids[b*S : (b+1)*S], targets shifted by
    one. Window k covers columns [k*T, (k+1)*T); the last window may be shorter. The hidden state at the end
    of one window is the initial state of the next (truncated BPTT with carried state; torch-rnn, char-rnn).
    """

    def __init__(self, ids: np.ndarray, batch: int, seq_len: int):
        S = (len(ids) - 1) // batch
        self.batch, self.seq_len, self.stream_len = batch, seq_len, S
        ids = np.asarray(ids, np.int32)
        self.x = np.ascontiguousarray(ids[: batch * S].reshape(batch, S).T)  # (S, B) time-major
        self.y = np.ascontiguousarray(ids[1: batch * S + 1].reshape(batch, S).T)

    def __len__(self) -> int:
        return -(-self.stream_len // self.seq_len) if self.stream_len > 0 else 0

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= k < len(self):
            raise IndexError(k)
        a, b = k * self.seq_len, min((k + 1) * self.seq_len, self.stream_len)
        return self.x[a:b], self.y[a:b]


def fit_batch(n_tokens: int, batch: int, seq_len: int, path_hint: str | None) -> int:
    """The batch size to use: smaller than asked when the text is too short for ``batch`` full windows."""
    if n_tokens - 1 < seq_len:
        raise InputError(f"the training text has {n_tokens} tokens, too few for --seq-len {seq_len} "
                         f"(needs at least {seq_len + 1}); lower --seq-len or give more text", path_hint)
    fitted = min(batch, (n_tokens - 1) // seq_len)
    if fitted < batch:
        console.warn(f"the training text has {n_tokens} tokens: using --batch {fitted} instead of {batch} "
                     f"so that every row gets at least one window of {seq_len}")
    return fitted


def chars_per_token(vocab, ids: np.ndarray) -> float:
    """Average characters per token, for bits per character (1 at char level)."""
    if vocab.level == "char":
        return 1.0
    lengths = np.array([len(t) + 1 for t in vocab.tokens], np.float64)  # a word and its space (or line break)
    lengths[: vocab.n_special] = 1.0
    sample = ids[: 1_000_000]
    return float(lengths[sample].mean()) if len(sample) else 1.0
