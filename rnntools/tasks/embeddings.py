"""Pretrained word vectors (a ``w2v-train`` or ``import`` vectors file) into a task's embedding table.

Every task with ``--embeddings FILE`` uses these: ``read_vectors`` opens the file, ``copy_vectors`` copies
the rows of the tokens both vocabularies share (looked up as the vectors file cased them), and
``pretrained_table`` builds a whole initial table, the rows without a vector drawn at random.
"""

from __future__ import annotations

import numpy as np

from rnntools import console
from rnntools.errors import InputError, UsageError

# the largest magnitude pretrained vectors may hold: trained word vectors are of order 1 (word2vec's and
# GloVe's within about 10), and inputs beyond this overflow a network's float32 arithmetic (a tampered or
# foreign file of 3e38 trained to a NaN loss, with numpy's overflow warnings printed on the way)
VECTOR_LIMIT = 1e6


def read_vectors(path: str):
    """``(Vocab, vectors (W, D) float32)`` of a vectors file, checked (rnntools.w2v.vectors.load), with
    values within VECTOR_LIMIT."""
    from rnntools.w2v.vectors import load_vectors

    words, vectors = load_vectors(path)
    big = max(float(vectors.max(initial=0.0)), -float(vectors.min(initial=0.0)))  # no copy of the table
    if big > VECTOR_LIMIT:
        raise InputError(f"the vectors hold values as large as {big:g}; word vectors are of order 1, and values "
                         f"beyond {VECTOR_LIMIT:g} overflow the network's arithmetic (rescale them)", path)
    return words, vectors


def check_dim(path: str, vectors: np.ndarray, embed_dim: int | None) -> int:
    """The embedding size: the vectors' own; a different ``--embed-dim`` given by the user is an error."""
    E = vectors.shape[1]
    if embed_dim is not None and embed_dim != E:
        raise UsageError(f"--embed-dim {embed_dim} differs from the {E} dimensions of {path}; leave it out")
    return E


def copy_vectors(table: np.ndarray, vocab, words, vectors: np.ndarray, path: str, *,
                 required: bool = True) -> int:
    """Copy into ``table`` (V, D) the vector of every token of ``vocab`` that ``words`` (the vectors
    file's vocabulary) knows; the specials' rows are left alone. Returns how many rows were copied; none
    is an error when ``required`` (another language or level?), else a warning."""
    if vectors.shape[1] != table.shape[1]:
        raise UsageError(f"{path}: the vectors have {vectors.shape[1]} dimensions but --embed-dim is "
                         f"{table.shape[1]}; leave --embed-dim out to take the vectors' size")
    hits = 0
    for i in range(vocab.n_special, len(vocab)):
        token = vocab.tokens[i]
        j = words.index.get(token.lower() if words.lowercase else token)
        if j is not None:
            table[i] = vectors[j]
            hits += 1
    if hits == 0:
        what = "no token of the vocabulary has a vector in this file (another language or level?)"
        if required:
            raise InputError(what, path)
        console.warn(f"{path}: {what}")
    else:
        console.info(f"{hits} of {len(vocab) - vocab.n_special} tokens initialised from {path}")
    return hits


def pretrained_table(path: str, vocab, embed_dim: int | None = None, seed: int = 0) -> np.ndarray:
    """(V, D) float32 initial embedding rows: the vectors of known tokens, the others (and the specials)
    drawn from N(0, (0.1 * the vectors' spread)^2) -- small beside the trained vectors, but not zero, so
    that they train. ``embed_dim``: the size the user asked for (None: the file's)."""
    words, vectors = read_vectors(path)
    E = check_dim(path, vectors, embed_dim)
    rng = np.random.default_rng(seed)
    out = rng.normal(0.0, 0.1 * float(np.std(vectors)) or 0.1, (len(vocab), E)).astype(np.float32)
    copy_vectors(out, vocab, words, vectors, path)
    return out




# own_vectors_table's word budget: at most this many words trained (epochs x the texts' words), so that a large
# set pays seconds, not minutes (about 0.5M words a CPU second: 15 epochs of 10,000 glosses' 115k words took 2.1
# CPU s); every set measured (at most 830k words) got its 15 epochs
OWN_VECTORS_WORDS = 20_000_000


def own_vectors_table(texts, vocab, embed_dim: int, seed: int = 1, epochs: int = 15,
                      min_count: int = 2) -> np.ndarray | None:
    """(V, D) float32 initial embedding rows learnt from ``texts`` themselves (the ``w2v-train`` recipe with
    the labelled texts as the unlabelled ones; no label is read): skip-gram word2vec (``rnntools.w2v``'s
    defaults but ``epochs``, ``min_count`` and ``embed_dim`` dimensions) on one thread, so that a seed gives
    the same table every run (fewer epochs where ``epochs`` passes would train more than
    ``OWN_VECTORS_WORDS`` words); the rows of the words it learnt are its vectors, the others drawn as
    ``pretrained_table`` draws them. None when no word of ``vocab`` occurs ``min_count`` times (nothing to
    learn from), or when the temporary folder cannot hold the texts' ids (a warning says so)."""
    import collections

    from rnntools.errors import OutputError
    from rnntools.text import tokenize_words
    from rnntools.w2v.train import Params, train_lines

    lines = [" ".join(tokenize_words(text, vocab.lowercase)) for text in texts]
    counts = collections.Counter(w for line in lines for w in line.split())
    if not any(counts[t] >= min_count for t in vocab.tokens[vocab.n_special:]):
        return None
    epochs = max(1, min(epochs, OWN_VECTORS_WORDS // max(1, sum(counts.values()))))
    try:
        words, vectors = train_lines(lines, Params(dim=embed_dim, epochs=epochs, min_count=min_count, threads=1,
                                                   seed=seed, lowercase=vocab.lowercase))
    except OutputError as exc:
        console.warn(f"{exc}: the embedding starts at random instead of from the texts' own vectors")
        return None
    rng = np.random.default_rng(seed)
    out = rng.normal(0.0, 0.1 * float(np.std(vectors)) or 0.1, (len(vocab), embed_dim)).astype(np.float32)
    copy_vectors(out, vocab, words, vectors, "the training texts' own word2vec vectors")
    return out
