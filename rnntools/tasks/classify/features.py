"""The wide part's features: a text's hashed word and character n-grams, their idf, and the sparse rows
the linear part (``linear.py``) is fitted on and predicts from. No vocabulary: hashing gives every text,
seen or new, its rows without one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A text becomes the set of its word unigrams and bigrams and the character 3..5-grams of each word (with
# boundary marks, fastText's subwords), each hashed (FNV-1a over code points) into ``buckets`` slots; a
# feature's value is its idf (from the training texts) -- TF-IDF with binary tf, the representation of the
# strong linear baselines. The word block and the character block are each scaled to unit length (then the
# row to unit length): in one normalisation the ~5x more numerous character grams would drown the words.
# Hashing needs no vocabulary, so unseen words still share their subwords with seen ones.

_WIDE_SPLITTERS = None
_BOUNDARY = 0x110000          # beyond Unicode: the word-boundary mark of character n-grams


def _wide_tokens(text: str) -> list[str]:
    """Words (with their combining marks, composed: ``rnntools.text.tokenize``'s) and each other non-space
    character. ASCII text, which has no marks, takes a regex about three times faster."""
    global _WIDE_SPLITTERS
    if _WIDE_SPLITTERS is None:
        import re

        from rnntools.text.tokenize import _WORD, nfc

        _WIDE_SPLITTERS = (re.compile(r"[^\W_]+|[^\w\s]").findall, re.compile(rf"{_WORD}|[^\w\s]").findall, nfc)
    ascii_findall, findall, compose = _WIDE_SPLITTERS
    text = text.lower()
    return ascii_findall(text) if text.isascii() else findall(compose(text))


_NEGATED = 0x5BD1E9955BD1E995   # mixed into a word's hash for its unigram inside a negation's scope


def _ngram_hashes_py(cps, starts, ends, min_n, max_n, buckets, out, char_offset=0, negated=None):
    """The plain-Python reference of the numba kernel below (the tests compare them).
    ``out[:k]`` = bucket ids of a text's n-grams, ``char_offset`` added to the character grams'; returns k.
    cps: (L,) int64 code points of the words joined; word i is cps[starts[i]:ends[i]]; negated: (words,)
    flags, a word with 1 also gives its marked unigram (``negation_flags``), or None."""
    prime, basis = 1099511628211, 14695981039346656037
    mask = (1 << 64) - 1
    k = 0
    prev = 0
    for i in range(starts.shape[0]):
        h = basis ^ 1
        for j in range(starts[i], ends[i]):
            h = ((h ^ int(cps[j])) * prime) & mask
        out[k] = h % buckets
        k += 1
        if negated is not None and negated[i]:
            out[k] = (((h ^ _NEGATED) * prime) & mask) % buckets
            k += 1
        if i > 0:                                     # bigram: the two words' hashes combined
            out[k] = (((prev * 31) ^ h) * prime & mask) % buckets
            k += 1
        prev = h
        n_chars = ends[i] - starts[i] + 2
        for n in range(min_n, max_n + 1):
            for s in range(0, max(n_chars - n + 1, 0)):
                g = basis ^ (n + 7)
                for j in range(s, s + n):
                    c = _BOUNDARY if (j == 0 or j == n_chars - 1) else int(cps[starts[i] + j - 1])
                    g = ((g ^ c) * prime) & mask
                out[k] = g % buckets + char_offset
                k += 1
    return k


def _compiled_once(build):
    """A kernel that ``build()`` compiles (or loads from numba's cache) on its first call, so importing this
    module does not import numba."""
    kernel: list = []

    def call(*args):
        if not kernel:
            kernel.append(build())
        return kernel[0](*args)

    return call


def _compile_hashes():
    from numba import uint64

    from rnntools.jit import njit

    @njit(cache=True, nogil=True)
    def kernel(cps, starts, ends, first, text_ends, min_n, max_n, buckets, out, bounds, char_offset, counts, tf,
               negated):
        """Many texts at once: text t's words are starts/ends[text_ends[t-1]:text_ends[t]] (the first from
        ``first``); its ids are hashed into out[bounds[t]:], sorted and made distinct; then moved down so
        that the texts' ids follow each other from out[0]; counts[t] says how many text t has, and tf[j]
        how often the text has the id out[j] (its term frequency). negated: (words,) int8, a word with 1
        also gives its marked unigram (a negation's scope), or empty (none)."""
        prime, basis = uint64(1099511628211), uint64(14695981039346656037)
        nb = uint64(buckets)
        marked = negated.shape[0] > 0
        w = 0
        for t in range(text_ends.shape[0]):
            o = bounds[t]
            k = o
            prev = uint64(0)
            for i in range(first, text_ends[t]):
                h = basis ^ uint64(1)
                for j in range(starts[i], ends[i]):
                    h = (h ^ uint64(cps[j])) * prime
                out[k] = h % nb
                k += 1
                if marked and negated[i]:
                    out[k] = ((h ^ uint64(_NEGATED)) * prime) % nb
                    k += 1
                if i > first:
                    out[k] = (((prev * uint64(31)) ^ h) * prime) % nb
                    k += 1
                prev = h
                n_chars = ends[i] - starts[i] + 2
                for n in range(min_n, max_n + 1):
                    for s in range(0, max(n_chars - n + 1, 0)):
                        g = basis ^ uint64(n + 7)
                        for j in range(s, s + n):
                            c = _BOUNDARY if (j == 0 or j == n_chars - 1) else cps[starts[i] + j - 1]
                            g = (g ^ uint64(c)) * prime
                        out[k] = g % nb + uint64(char_offset)
                        k += 1
            ids = out[o:k]
            ids.sort()
            m = 0
            for j in range(k - o):
                if m == 0 or ids[j] != out[w + m - 1]:
                    out[w + m] = ids[j]         # w + m <= o + j: never ahead of what is still to be read
                    tf[w + m] = 1
                    m += 1
                else:
                    tf[w + m - 1] += 1
            counts[t] = m
            w += m
            first = text_ends[t]

    return kernel


# How the rows are made, as a model file's meta["wide_fit"]["rows"] says: "blocks" the word and character
# blocks normalised apart, each feature its idf (binary tf), in one linear model; "blocks+tf" the same with
# (1 + log tf) idf (sublinear tf); "sep" (and "sep+tf") the two blocks in columns of their own, each unit
# length, two linear models each with its own C, mixed (linear.fit_two_linear); no "rows": one
# normalisation (files written before the blocks). ROWS None: ``rows_for`` decides (length, classes).
ROWS: str | None = None
TF_FROM_WORDS = 25
# two-class sentences: "sep+neg" (negations' scopes marked) if True, else "sep". Measured on the whole model,
# +0.07 points on the mean of the six two-class sentence sets' runs, within their noise, with a loss on Pang
# and Lee's sentences in one seed (docs/classify.md, "The MR-size proxy"): not the default.
NEGATION = False
KNOWN_ROWS = ("blocks", "blocks+tf", "sep", "sep+tf", "sep+neg")


def rows_options(rows: str | None) -> dict:
    """``wide_rows``' options for a model file's ``meta["wide_fit"]["rows"]`` (None: a file written before
    the blocks, one normalisation)."""
    if rows is not None and rows not in KNOWN_ROWS:
        raise ValueError(f"unknown wide rows {rows!r}")
    return {"blocks": rows is not None, "tf": rows is not None and rows.endswith("+tf"),
            "separate": rows is not None and rows.startswith("sep"),
            "negation": rows is not None and rows.endswith("+neg")}


def rows_for(texts: Sequence[str], n_classes: int = 2) -> str:
    """The rows a model trained on ``texts`` with ``n_classes`` labels uses (``ROWS`` unless it is None):
    "blocks+tf" when the texts average ``TF_FROM_WORDS`` words or more (documents); below, "sep" (two
    linear models) with two classes and "blocks" with more. Measured on the whole model (docs/classify.md):
    sublinear tf gained on every set of documents (spam, long reviews, both news sets, 52-737 words a text)
    and lost or tied on five of the six sets of sentences and tweets (17-21 words), where a repeated gram is
    mostly the same few letters inside different words; two linear models (words, characters) gained
    0.65-1.1 points on four of the six two-class sets of sentences in both seeds (tweets -0.1/-0.2, the
    MR-size set unchanged), lost on both sets of many-class sentences (glosses, 26 and 8 classes: -0.2 and
    -0.75) and on the documents (up to -0.8)."""
    if ROWS is not None:
        return ROWS
    words = sum(len(t.split()) for t in texts)
    if words >= TF_FROM_WORDS * max(len(texts), 1):
        return "blocks+tf"
    return ("sep+neg" if NEGATION else "sep") if n_classes == 2 else "blocks"


# Negation's scope: after a negation word (or "n't", which the tokeniser splits into "n ' t") each word up to
# the next punctuation mark other than an apostrophe, at most NEGATION_SCOPE words, also gives the word
# block a marked unigram ("not ... good" then weighs otherwise than "good"; Das and Chen 2001, Pang et al.
# 2002). Rows "sep+neg" (``rows_for`` with ``NEGATION``).
NEGATIONS = frozenset("not no never nothing nobody none nowhere neither nor cannot dont doesnt didnt isnt wasnt "
                      "arent werent cant wont couldnt shouldnt wouldnt hasnt havent hadnt aint".split())
APOSTROPHES = frozenset("'\u2019`")
NEGATION_SCOPE = 3


def negation_flags(words: Sequence[str], scope: int = NEGATION_SCOPE) -> list[int]:
    """1 for each of ``words`` (``_wide_tokens``) inside a negation's scope, else 0."""
    flags = [0] * len(words)
    left = 0
    for i, w in enumerate(words):
        if w in NEGATIONS or (w == "t" and i >= 2 and words[i - 1] in APOSTROPHES and words[i - 2].endswith("n")):
            left = scope
        elif not w[0].isalnum():
            if w not in APOSTROPHES:
                left = 0
        elif left > 0:
            flags[i] = 1
            left -= 1
    return flags


CHAR_RANGE = (3, 5)     # the character grams' lengths, boundary marks included (fastText's subwords)
_HASH_BLOCK = 1 << 22  # id slots hashed at once (32 MiB): memory stays bounded however many texts


def ngram_ids(text: str, buckets: int, chars: bool = True, max_tokens: int = 5000, blocks: bool = False):
    """The distinct bucket ids (int64, sorted) of a text's word 1-2-grams and, with ``chars``, the
    character 3..5-grams of its words. At most ``max_tokens`` words are read (long documents). With
    ``blocks`` the character grams' ids are offset by ``buckets`` (the two blocks stay apart: ``wide_matrix``
    normalises each on its own)."""
    return ngram_ids_of_texts([text], buckets, chars, max_tokens, blocks)[0]


def ngram_ids_of_texts(texts: Sequence[str], buckets: int, chars: bool = True, max_tokens: int = 5000,
                       blocks: bool = False, char_range: tuple[int, int] = CHAR_RANGE, tf: bool = False,
                       negation: bool = False):
    """``ngram_ids`` of each text, in one kernel call for all of them (per text, the small numpy steps
    cost more than the hashing). ``char_range``: the lengths of the character grams (with the boundary
    marks), smallest and largest. With ``tf``: ``Grams`` (each text's ids and how often it has each).
    With ``negation``: each word in a negation's scope (``negation_flags``) also gives its marked
    unigram, in the word block."""
    words_of = [_wide_tokens(text)[:max_tokens] for text in texts]
    n_words = np.fromiter(map(len, words_of), np.int64, len(texts))
    words = [w for ws in words_of for w in ws]
    cps = np.frombuffer("".join(words).encode("utf-32-le"), np.uint32).astype(np.int64)
    lengths = np.fromiter(map(len, words), np.int64, len(words))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    text_ends = np.cumsum(n_words)
    min_n, max_n = (int(char_range[0]), int(char_range[1])) if chars else (1, 0)
    # per text at most: its words, its bigrams, and per word (len + 2) grams of each length min_n..max_n
    grams = np.zeros(len(words) + 1, np.int64)
    np.cumsum((lengths + 2) * max(max_n - min_n + 1, 0), out=grams[1:])
    room = (3 if negation else 2) * n_words + grams[text_ends] - grams[text_ends - n_words]
    negated = np.zeros(len(words) if negation else 0, np.int8)
    if negation:
        cues = NEGATIONS | {"t"}
        for t in np.flatnonzero(n_words):
            if not cues.isdisjoint(words_of[t]):        # most texts have no negation: nothing to mark
                negated[text_ends[t] - n_words[t]:text_ends[t]] = negation_flags(words_of[t])
    bounds = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(room, out=bounds[1:])
    counts = np.zeros(len(texts), np.int64)
    docs: list[np.ndarray] = []
    freqs: list[np.ndarray] = []
    a = 0
    while a < len(texts):
        # a block of texts whose ids fit in _HASH_BLOCK slots (one long text may need more on its own)
        b = max(int(np.searchsorted(bounds, bounds[a] + _HASH_BLOCK, "right")) - 1, a + 1)
        out = np.empty(int(bounds[b] - bounds[a]), np.int64)
        mult = np.empty(len(out), np.int32)
        _hash_kernel(cps, starts, ends, int(text_ends[a - 1]) if a else 0, text_ends[a:b], min_n, max_n,
                        buckets, out, bounds[a:b] - bounds[a], buckets if blocks else 0, counts[a:b], mult,
                     negated)
        n = int(counts[a:b].sum())
        cuts = np.cumsum(counts[a:b])[:-1]
        docs += np.split(out[:n].copy(), cuts)
        if tf:
            freqs += np.split(mult[:n].copy(), cuts)
        a = b
    return Grams(docs, freqs) if tf else docs


class Grams(list):
    """Texts' n-gram ids (a list of sorted int64 arrays, as ``ngram_ids_of_texts`` returns them) with
    ``tf``: each id's count in its text (int32 arrays, one per text)."""

    def __init__(self, docs, tf):
        super().__init__(docs)
        self.tf = list(tf)

    def take(self, index) -> Grams:
        return Grams([self[i] for i in index], [self.tf[i] for i in index])


def idf_weights(docs: Sequence[np.ndarray], buckets: int, min_df: int = 1) -> np.ndarray:
    """scikit-learn's smooth idf per bucket, ``log((1 + n) / (1 + df)) + 1``, float32 (buckets,). Ids of
    ``ngram_ids(..., blocks=True)`` count as their bucket (once per text). ``min_df`` above 1: a bucket in
    fewer texts (or none) weighs 0, in training and in prediction (scikit-learn's ``min_df``: such grams
    leave the rows and their norms)."""
    df = np.zeros(buckets, np.int64)
    for ids in docs:
        df[np.unique(ids % buckets) if len(ids) and ids[-1] >= buckets else ids] += 1
    idf = (np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0).astype(np.float32)
    if min_df > 1:
        idf[df < min_df] = 0.0
    return idf


# a bucket in fewer labelled texts than min_df weighs 0 (``idf_weights``). MIN_DF None: ``min_df_for``
# decides, 2 below MIN_DF_BELOW labelled texts, else 1 (every gram counts)
MIN_DF: int | None = None
MIN_DF_BELOW = 500


def min_df_for(n_texts: int) -> int:
    """``idf_weights``' ``min_df`` for a model trained on ``n_texts`` labelled texts (``MIN_DF`` unless it
    is None). Why: with a few hundred texts most grams occur in one of them (or in none, at prediction),
    and their idf, the largest, made them most of each row's length: the grams the texts share, which
    carry what a linear model can learn, came out short. Measured on 150 texts drawn from each of 16
    sets, the wide part alone gained on 12 (up to 9 points on 26 classes) and the whole model 1.3 points
    on the mean of the choosing sets; on 400, less (docs/classify.md, "Small training sets")."""
    if MIN_DF is not None:
        return MIN_DF
    return 2 if n_texts < MIN_DF_BELOW else 1


def wide_values(docs: Sequence[np.ndarray], idf: np.ndarray, tf: Sequence[np.ndarray] | None = None,
                separate: bool = False) -> WideRows:
    """The values of ``wide_matrix``'s rows before scipy sums a column's duplicates: each feature its idf
    (times ``1 + log tf`` with ``tf``), each block scaled to unit length, then by 1/sqrt(2) when a row has
    both (a row's word grams come first, each block's ids in increasing order). Ids from
    ``ngram_ids(..., blocks=True)`` fold onto ``len(idf)`` columns, the two blocks adding up where they share
    a bucket; with ``separate`` the character block keeps its own ``len(idf)`` columns after the words' and
    each block is unit length (two linear models side by side: ``rows_for``'s ``sep``)."""
    B = len(idf)
    lengths = np.fromiter(map(len, docs), np.int64, len(docs))
    indptr = np.zeros(len(docs) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    ids = np.concatenate(docs) if len(docs) else np.zeros(0, np.int64)
    factor = np.zeros(0, np.float32)
    if tf is not None and len(docs):
        factor = (1.0 + np.log(np.concatenate(tf).astype(np.float64))).astype(np.float32)
    cols = ids if separate else np.empty_like(ids)
    vals = np.empty(len(ids), np.float32)
    split = np.empty(len(docs), np.int64)
    both = not separate and len(ids) > 0 and int(ids.max()) >= B   # any character gram in these rows
    _row_values(indptr, ids, idf, factor, B, separate, both, cols, vals, split)
    return WideRows(indptr, cols, vals, split, 2 * B if separate else B)


def _compile_row_values():
    from rnntools.jit import njit

    @njit(cache=True, nogil=True, error_model="numpy")
    def row_values(indptr, ids, idf, factor, B, separate, both, cols, vals, split):
        """``wide_values``' rows, one row at a time with no temporary arrays (the numpy version, kept as
        ``wide_values_numpy``, made ten arrays of every gram and spent most of its time in page faults):
        the same operations in the same order, so the same bytes. factor: (nnz,) float32 sublinear tf
        factors, or empty; both: scale every block by 1/sqrt(2) as well (character grams in the batch)."""
        tf = factor.shape[0] > 0
        for i in range(indptr.shape[0] - 1):
            a, e = indptr[i], indptr[i + 1]
            sq_words = 0.0
            sq_chars = 0.0
            words = 0
            for j in range(a, e):
                x = ids[j]
                col = x - B if x >= B else x
                v = np.float32(idf[col])
                if tf:
                    v = v * factor[j]
                vals[j] = v
                if not separate:
                    cols[j] = col
                d = np.float64(v)
                if x >= B:
                    sq_chars += d * d
                else:
                    sq_words += d * d
                    words += 1
            scale_words = 1.0 / np.sqrt(max(sq_words, 1e-30))
            scale_chars = 1.0 / np.sqrt(max(sq_chars, 1e-30))
            if both:
                scale_words /= np.sqrt(2.0)
                scale_chars /= np.sqrt(2.0)
            fw = np.float32(scale_words)
            fc = np.float32(scale_chars)
            for j in range(a, e):
                vals[j] = vals[j] * (fc if ids[j] >= B else fw)
            split[i] = a + words

    return row_values


def wide_values_numpy(docs: Sequence[np.ndarray], idf: np.ndarray, tf: Sequence[np.ndarray] | None = None,
                      separate: bool = False) -> WideRows:
    """``wide_values`` in numpy: the reference its kernel is tested against."""
    B = len(idf)
    lengths = np.fromiter(map(len, docs), np.int64, len(docs))
    indptr = np.zeros(len(docs) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    ids = np.concatenate(docs) if len(docs) else np.zeros(0, np.int64)
    block = (ids >= B).astype(np.int64)
    cols = ids - B * block
    vals = idf[cols].astype(np.float32)
    if tf is not None and len(docs):
        vals *= (1.0 + np.log(np.concatenate(tf).astype(np.float64))).astype(np.float32)
    rowid = np.repeat(np.arange(len(docs)), lengths)
    group = rowid * 2 + block      # (row, block)
    sq = np.bincount(group, vals.astype(np.float64) ** 2, minlength=2 * len(docs))
    scale = 1.0 / np.sqrt(np.maximum(sq, 1e-30))
    if block.any() and not separate:
        scale /= np.sqrt(2.0)
    vals *= scale[group].astype(np.float32)
    # where each row's character block starts (its word grams come first)
    split = indptr[:-1] + np.bincount(rowid[block == 0], minlength=len(docs))
    return WideRows(indptr, ids if separate else cols, vals, split, 2 * B if separate else B)


class WideRows:
    """A batch of texts' wide rows without scipy: CSR-like ``indptr`` (N+1,), ``cols`` and float32 ``vals``
    (nnz,), ``split`` (N,) where each row's character block starts, ``width`` the number of columns."""

    def __init__(self, indptr, cols, vals, split, width: int):
        self.indptr, self.cols, self.vals, self.split, self.width = indptr, cols, vals, split, int(width)

    def matrix(self):
        """scipy CSR (N, width) float32, a column's duplicates summed (a word and a character gram may
        share a bucket)."""
        from scipy.sparse import csr_matrix

        X = csr_matrix((self.vals, self.cols, self.indptr), shape=(len(self.indptr) - 1, self.width))
        X.sum_duplicates()
        return X

    def times(self, W: np.ndarray) -> np.ndarray:
        """``self.matrix() @ W`` (N, K) float32 with the same bytes (each row summed in increasing column
        order, a shared bucket's two values added first, as scipy does), without importing scipy: the
        product ``predict`` needs, where scipy's import took longer than the product."""
        W = np.ascontiguousarray(W, np.float32)
        if W.shape[0] != self.width:
            raise ValueError(f"weights have {W.shape[0]} rows, the rows {self.width} columns")
        out = np.zeros((len(self.indptr) - 1, W.shape[1]), np.float32)
        _rows_times(self.indptr, self.cols, self.vals, self.split, W, out)
        return out


def _compile_rows_times():
    from rnntools.jit import njit

    @njit(cache=True, nogil=True)
    def rows_times(indptr, cols, vals, split, W, out):
        """out (N, K) += the sparse rows times W (F, K), float32. Row i's entries are cols/vals[indptr[i]:
        split[i]] (word grams) then [split[i]:indptr[i+1]] (character grams), each part in increasing
        column order; the two parts are merged in column order and a column in both gets their sum."""
        K = W.shape[1]
        for i in range(indptr.shape[0] - 1):
            p, s, e = indptr[i], split[i], indptr[i + 1]
            q = s
            acc = out[i]
            while p < s or q < e:
                if q >= e or (p < s and cols[p] < cols[q]):
                    j, v = cols[p], vals[p]
                    p += 1
                elif p >= s or cols[q] < cols[p]:
                    j, v = cols[q], vals[q]
                    q += 1
                else:
                    j, v = cols[p], vals[p] + vals[q]
                    p += 1
                    q += 1
                for k in range(K):
                    acc[k] += v * W[j, k]

    return rows_times


def wide_matrix(docs: Sequence[np.ndarray], idf: np.ndarray, tf: Sequence[np.ndarray] | None = None,
                separate: bool = False):
    """scipy CSR (N, buckets) float32: each row the idf of its features, scaled to unit length. Ids from
    ``ngram_ids(..., blocks=True)``: the word block and the character block each scaled to length
    1/sqrt(2) (the row to unit length when both are present), then added. ``tf``: each id's count in its
    text (``Grams.tf``); the value is then ``(1 + log tf) idf`` (sublinear tf) instead of the idf alone.
    ``separate``: (N, 2 buckets), the blocks apart, each unit length (``wide_values``)."""
    return wide_values(docs, idf, tf, separate).matrix()


def wide_rows(texts: Sequence[str] | None, config: dict, idf: np.ndarray | None, docs=None, blocks: bool = False,
              tf: bool = False, separate: bool = False, negation: bool = False) -> WideRows | None:
    """The wide rows (``wide_values``) of ``texts`` (or of their ``docs``), or None when the model has no
    wide part. ``blocks``: the word and character blocks normalised apart (models written since; older
    ones in one); ``tf``: sublinear term frequencies; ``separate``: the blocks in columns of their own
    (``rows_for``); ``negation``: marked unigrams in negations' scopes (``negation_flags``)."""
    if config.get("wide", "none") == "none" or idf is None:
        return None
    if docs is None:
        chars = config["wide"] == "words+chars"
        docs = ngram_ids_of_texts(texts, len(idf), chars, blocks=blocks and chars, tf=tf, negation=negation)
    return wide_values(docs, idf, docs.tf if tf else None, separate)


def wide_features(texts: Sequence[str] | None, config: dict, idf: np.ndarray | None, docs=None, blocks: bool = False,
                  tf: bool = False, separate: bool = False, negation: bool = False):
    """``wide_rows`` as a scipy CSR matrix (``wide_matrix``), or None without a wide part."""
    rows = wide_rows(texts, config, idf, docs, blocks, tf, separate, negation)
    return None if rows is None else rows.matrix()


_hash_kernel = _compiled_once(_compile_hashes)
_row_values = _compiled_once(_compile_row_values)
_rows_times = _compiled_once(_compile_rows_times)
