"""Pass 1 of w2v-train: the corpus tokenized once into provisional int32 ids (spooled to a temporary
file) with their counts, and the vocabulary plus the provisional -> final id table built from them."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

import numpy as np

from rnntools import console
from rnntools.errors import InputError, OutputError
from rnntools.io import iter_line_batches
from rnntools.text.tokenize import PHRASE_WORD_RE  # noqa: F401 - w2v-train's and phrases' words

if TYPE_CHECKING:
    from rnntools.w2v.train import Params

SEP = "\n"  # the provisional token for a line break: the tokenizer never yields it


# --- pass 1: tokenize once, count, spool provisional ids ---------------------------------------------


class Spool:
    """The corpus as provisional int32 ids in an unnamed temporary file, with the counts of each id."""

    def __init__(self, tokenize, directory: str | None = None):
        self._tokenize = tokenize
        self.folder = directory or tempfile.gettempdir()
        try:
            self.file = tempfile.TemporaryFile(prefix="rnntools-w2v-", dir=directory)
        except OSError as exc:
            raise self._cannot(exc) from None
        self.index: dict[str, int] = {SEP: 0}
        self.counts = np.zeros(1, np.int64)
        self.items = 0  # int32 values written (words and line breaks)
        self.lines = 0

    def add_lines(self, lines: list[str]) -> int:
        """Tokenize and spool a batch of lines; returns the number of words."""
        flat: list[str] = []
        extend, append, tokenize = flat.extend, flat.append, self._tokenize
        for line in lines:
            tokens = tokenize(line)
            if tokens:
                extend(tokens)
                append(SEP)
        self.lines += len(lines)
        if not flat:
            return 0
        index = self.index
        new = set(flat).difference(index)
        if new:
            index.update(zip(new, range(len(index), len(index) + len(new))))
        ids = np.fromiter(map(index.__getitem__, flat), np.int32, len(flat))
        try:
            self.file.write(ids.tobytes())
        except OSError as exc:
            raise self._cannot(exc) from None
        self.items += len(ids)
        if len(self.counts) < len(index):
            self.counts = np.concatenate([self.counts, np.zeros(len(index) - len(self.counts), np.int64)])
        self.counts += np.bincount(ids, minlength=len(self.counts))
        return len(ids) - int(np.count_nonzero(ids == 0))

    def _cannot(self, exc: OSError) -> OutputError:
        """A full or unwritable temporary folder (or a file-size limit) named as such: it was "no space left on
        device (nothing was replaced ...)", naming no file, which pointed at the output's disk."""
        return OutputError(f"cannot write the temporary copy of the corpus ({exc.strerror or exc}); "
                           "set TMPDIR to a folder with room (it needs 4 bytes a word)", self.folder)

    def words(self) -> int:
        return int(self.counts.sum() - self.counts[0])

    def tokens_and_counts(self) -> tuple[list[str], np.ndarray]:
        tokens = [""] * len(self.index)
        for token, i in self.index.items():
            tokens[i] = token
        return tokens, self.counts

    def close(self) -> None:
        self.file.close()


def read_corpus(inputs: list[str], tokenize, errors: str = "strict", directory: str | None = None) -> Spool:
    spool = Spool(tokenize, directory)
    try:
        with console.progress("reading") as bar:
            for path in inputs:
                for _, lines in iter_line_batches(path, errors):
                    spool.add_lines(lines)
                    bar.update(len(lines), words=spool.words())
    except BaseException:
        spool.close()
        raise
    return spool


# --- vocabulary, noise distribution, subsampling -----------------------------------------------------


def build_vocab(spool: Spool, inputs: list[str], params: Params, vocab=None, keep_counts: bool = False):
    """The vocabulary (no specials) and the provisional -> final id table (-1 line break, -2 dropped).
    With ``vocab`` given, its words are kept in its order; ``keep_counts`` keeps its counts too (resuming),
    else the corpus counts replace them."""
    from rnntools.text import Vocab

    tokens, counts = spool.tokens_and_counts()
    where = inputs[0] if len(inputs) == 1 else None
    if spool.words() == 0:
        raise InputError("no words in the corpus (empty input, or no letters or digits in it)", where)
    if vocab is None:
        vocab = Vocab.build(dict(zip(tokens[1:], counts[1:].tolist())), level="word",
                            lowercase=params.lowercase, min_count=params.min_count, max_size=params.max_vocab,
                            specials=False, documents=spool.lines)
        if len(vocab) == 0:
            top = int(np.argmax(counts[1:])) + 1
            raise InputError(f"no word occurs at least --min-count {params.min_count} times in "
                             f"{spool.words()} words (the most frequent, {tokens[top]!r}, occurs "
                             f"{int(counts[top])} times); lower --min-count", where)
    elif keep_counts:
        if not any(w in spool.index for w in vocab.tokens):
            raise InputError("no word of the resumed model's vocabulary occurs in the corpus", where)
    else:
        # a given vocabulary: its tokens (specials left out) in its order; the corpus counts drive
        # subsampling and the noise distribution, since they describe the text being trained on
        words = vocab.tokens[vocab.n_special:]
        corpus_counts = [int(counts[spool.index[t]]) if t in spool.index else 0 for t in words]
        vocab = Vocab(words, corpus_counts, None, level="word", lowercase=vocab.lowercase, n_special=0,
                      documents=spool.lines)
        if not any(corpus_counts):
            raise InputError("no word of the --vocab file occurs in the corpus (a different language or "
                             "case setting?)", where)
    table = np.full(len(tokens), -2, np.int32)
    table[0] = -1
    final = vocab.index
    for i, token in enumerate(tokens[1:], 1):
        j = final.get(token)
        if j is not None:
            table[i] = j
    return vocab, table
