"""The classic word representations of one document at a time: one-hot ids, bag of words, binary, tf-idf.

Sparse vectors are ``(indices, values)`` with indices ascending. tf-idf follows scikit-learn's defaults
(raw counts times smoothed idf, ``ln((1 + N) / (1 + df)) + 1``, then each row scaled to unit L2 norm), so the
numbers can be checked against ``TfidfVectorizer`` and people get what they expect.
"""

from __future__ import annotations

from itertools import repeat
from typing import TYPE_CHECKING

from rnntools.text.vocab import Vocab, _count_elements

if TYPE_CHECKING:
    import numpy as np

MODES = ("ids", "onehot", "counts", "binary", "tfidf")


class BowEncoder:
    """Turns texts into one of the representations of ``MODES`` using ``vocab``."""

    def __init__(self, vocab: Vocab, mode: str):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.vocab, self.mode = vocab, mode
        self.size = len(vocab)
        self.unknown = 0  # tokens not in the vocabulary, over all documents
        self._unk = vocab.unk_id if vocab.n_special > 1 else None
        self._idf = None
        if mode == "tfidf":
            if vocab.documents <= 0:
                raise ValueError("tf-idf needs document frequencies: the vocabulary file has none "
                                 "(build it with `rnntools vocab`, which counts them)")
            import numpy as np

            self._idf = (np.log((1.0 + vocab.documents) / (1.0 + vocab.doc_freq)) + 1.0).tolist()

    def ids(self, text: str) -> list[int]:
        """Token ids in order; unknown words map to ``<unk>`` (or are dropped when there is none)."""
        return self._ids(self.vocab.tokenize(text))

    def _ids(self, tokens: list[str]) -> list[int]:
        ids = list(map(self.vocab.index.get, tokens, repeat(self._unk)))
        if self._unk is not None:
            self.unknown += ids.count(self._unk)
            return ids
        known = [i for i in ids if i is not None]
        self.unknown += len(ids) - len(known)
        return known

    def sparse(self, text: str) -> tuple[list[int], list[float]]:
        """The document as a sparse vector of the vocabulary's size (counts, binary or tf-idf)."""
        return self._sparse(self.vocab.tokenize(text))

    def _sparse(self, tokens: list[str]) -> tuple[list[int], list[float]]:
        # count the tokens first, then look up each distinct token once; all C loops but the sort's key
        counts: dict[str, int] = {}
        _count_elements(counts, tokens)
        ids = list(map(self.vocab.index.get, counts))
        if None in ids:
            by_id, unknown = {}, 0
            for i, count in zip(ids, counts.values()):
                if i is None:
                    unknown += count
                else:
                    by_id[i] = count
            self.unknown += unknown
            if self._unk is not None:
                by_id[self._unk] = unknown
            indices = sorted(by_id)
            values = [by_id[i] for i in indices]
        else:
            # sorting plain ints and looking the counts up is faster than sorting (id, count) pairs
            by_id = dict(zip(ids, counts.values()))
            indices = sorted(by_id)
            values = list(map(by_id.__getitem__, indices))
        if self.mode == "counts":
            return indices, values
        if self.mode == "binary":
            return indices, [1] * len(indices)
        idf = self._idf
        weights = [c * idf[i] for i, c in zip(indices, values)]
        norm = sum(w * w for w in weights) ** 0.5
        return indices, [w / norm for w in weights] if norm > 0 else weights

    def record(self, text: str) -> dict:
        """The JSONL fields for one document."""
        if self.mode == "ids":
            return {"ids": self.ids(text)}
        if self.mode == "onehot":
            ids = self.ids(text)
            # row t is the one-hot vector of token t: a COO matrix with ones at (t, ids[t])
            return {"shape": [len(ids), self.size], "indices": ids}
        indices, values = self.sparse(text)
        return {"size": self.size, "indices": indices, "values": values}

    def sparse_rows(self, lines: list[str]) -> tuple[list[int], list[float], list[int], int]:
        """The documents' sparse vectors as CSR pieces (indices, values, row lengths) and how many unknown
        tokens they had (for worker processes, whose counter is lost)."""
        before = self.unknown
        indices: list[int] = []
        values: list[float] = []
        lengths: list[int] = []
        for tokens in self.vocab.tokenize_lines(lines):
            row_indices, row_values = self._sparse(tokens)
            indices += row_indices
            values += row_values
            lengths.append(len(row_indices))
        unknown, self.unknown = self.unknown - before, before
        return indices, values, lengths, unknown

    def jsonl_counting_unknown(self, lines: list[str]) -> tuple[str, int]:
        """``jsonl(lines)`` and how many unknown tokens it met (for worker processes, whose counter is lost)."""
        before = self.unknown
        text = self.jsonl(lines)
        unknown, self.unknown = self.unknown - before, before
        return text, unknown

    def jsonl(self, lines: list[str]) -> str:
        """JSONL for plain-text documents, formatted directly: the same bytes ``JsonlWriter`` would write
        for ``record()``, several times faster (this is the hot path of ``bow`` on a corpus). ``str`` of a
        list of ints, or of finite floats (``float.__repr__``), is its JSON with ``", "`` separators."""
        out = []
        if self.mode in ("ids", "onehot"):
            for tokens in self.vocab.tokenize_lines(lines):
                ids = self._ids(tokens)
                if self.mode == "ids":
                    out.append(f'{{"ids": {ids}}}\n')
                else:
                    out.append(f'{{"shape": [{len(ids)}, {self.size}], "indices": {ids}}}\n')
            return "".join(out)
        for tokens in self.vocab.tokenize_lines(lines):
            indices, values = self._sparse(tokens)
            out.append(f'{{"size": {self.size}, "indices": {indices}, "values": {values}}}\n')
        return "".join(out)


class CsrBuilder:
    """Accumulates sparse rows into CSR arrays (data, indices, indptr, shape) for ``--format npz``."""

    def __init__(self, n_columns: int, dtype=None):
        import numpy as np

        self.n_columns, self.dtype = n_columns, dtype or np.float32
        self._indices: list[np.ndarray] = []
        self._data: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self.rows = 0

    def add_rows(self, indices: list[int], values: list[float], lengths: list[int]) -> None:
        """Rows given as their concatenated indices and values and each row's length."""
        import numpy as np

        self._indices.append(np.asarray(indices, dtype=np.int32))
        self._data.append(np.asarray(values, dtype=self.dtype))
        self._lengths.append(np.asarray(lengths, dtype=np.int64))
        self.rows += len(lengths)

    def arrays(self) -> dict[str, np.ndarray]:
        import numpy as np

        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        empty_i, empty_d = np.zeros(0, np.int32), np.zeros(0, self.dtype)
        return {"data": np.concatenate(self._data) if self._data else empty_d,
                "indices": np.concatenate(self._indices) if self._indices else empty_i,
                "indptr": indptr, "shape": np.array([len(lengths), self.n_columns], dtype=np.int64)}
