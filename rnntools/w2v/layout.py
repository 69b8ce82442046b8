"""What the w2v kernels get besides the corpus: the noise distribution (alias tables), subsampling
thresholds, the Huffman tree (hs), subword rows, the initial matrices, and the memory check before
allocating them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from rnntools.errors import UsageError

if TYPE_CHECKING:
    from rnntools.w2v.train import Params

def noise_table(counts: np.ndarray, power: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """Walker alias tables for P(w) ∝ count(w)**power: (thresholds as uint64 in [0, 2**32], aliases int32).

    O(1) per draw with two memory reads of (V,) arrays, exact, and V*12 bytes instead of word2vec's 1e8-entry
    unigram table (400 MB) or gensim's binary search over a cumulative table.
    """
    p = np.asarray(counts, np.float64) ** power
    V = len(p)
    if p.sum() <= 0:
        p = np.ones(V)
    q = p * (V / p.sum())  # mean 1
    alias = np.arange(V, dtype=np.int32)
    prob = np.ones(V)
    small = [i for i in range(V) if q[i] < 1.0]
    large = [i for i in range(V) if q[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s] = q[s]
        alias[s] = g
        q[g] -= 1.0 - q[s]
        (small if q[g] < 1.0 else large).append(g)
    thresholds = np.minimum(np.round(prob * 2.0**32), 2.0**32).astype(np.uint64)
    return thresholds, alias


def keep_thresholds(counts: np.ndarray, sample: float) -> np.ndarray:
    """Subsampling as word2vec.c and gensim: keep a word of frequency f with probability
    (sqrt(f / (sample * total)) + 1) * (sample * total) / f, capped at 1; as uint64 thresholds on 2**32."""
    counts = np.asarray(counts, np.float64)
    if sample <= 0:
        return np.full(len(counts), 2**32, np.uint64)
    # --sample 1e308 times the total overflows to infinity, which keeps every word (probability 1), as any
    # threshold above the total does; numpy's overflow warning was printed raw
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = sample * counts.sum()
        prob = (np.sqrt(counts / t) + 1.0) * t / counts
    prob = np.where(counts > 0, np.minimum(prob, 1.0), 1.0)
    return np.round(prob * 2.0**32).astype(np.uint64)


def huffman(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """word2vec.c's Huffman tree over word counts, as the kernels read it: (offsets (V+1,) int64,
    codes (L,) uint8, points (L,) int32); word w's path from the root is points[offsets[w]:offsets[w+1]]
    (inner nodes 0..V-2, the root is V-2) with the branch taken at each, codes (1: the second-smaller child).

    Frequent words get short paths, so the average prediction costs about log2 of the perplexity of the
    unigram distribution rather than log2(V). Built as word2vec.c does (two pointers over counts sorted
    most frequent first, no heap): ties go the same way, so the same counts give word2vec.c's tree.
    A one-word vocabulary gets a one-node path (the model is then a bias, but training does not break).
    """
    counts = np.asarray(counts, np.int64)
    V = len(counts)
    if V == 1:
        return np.array([0, 1], np.int64), np.zeros(1, np.uint8), np.zeros(1, np.int32)
    order = np.argsort(-counts, kind="stable")  # the vocabulary is already sorted; this makes sure
    count = np.concatenate([counts[order], np.full(V - 1, 10**15, np.int64)]).tolist()
    parent = [0] * (2 * V - 1)
    binary = [0] * (2 * V - 1)
    pos1, pos2 = V - 1, V
    for a in range(V - 1):
        mins = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                mins.append(pos1)
                pos1 -= 1
            else:
                mins.append(pos2)
                pos2 += 1
        count[V + a] = count[mins[0]] + count[mins[1]]
        parent[mins[0]] = parent[mins[1]] = V + a
        binary[mins[1]] = 1
    parent_a, binary_a = np.array(parent, np.int64), np.array(binary, np.uint8)
    root = 2 * V - 2
    depth = np.zeros(2 * V - 1, np.int64)
    for node in range(root - 1, -1, -1):  # parents come after their children
        depth[node] = depth[parent_a[node]] + 1
    lengths = np.empty(V, np.int64)
    lengths[order] = depth[:V]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    codes = np.empty(offsets[-1], np.uint8)
    points = np.empty(offsets[-1], np.int32)
    # walk every word up to the root at once; step k fills position length - 1 - k of its path
    cur = np.arange(V)
    end = offsets[order] + depth[:V] - 1  # position of the leaf's own branch, per sorted word
    k = 0
    active = np.ones(V, bool)
    while active.any():
        at = end[active] - k
        codes[at] = binary_a[cur[active]]
        points[at] = parent_a[cur[active]] - V
        cur[active] = parent_a[cur[active]]
        k += 1
        active &= cur != root
    return offsets, codes, points


def seed_states(seed: int, n: int) -> list[np.ndarray]:
    """A nonzero (1,) uint64 xorshift state per thread, from numpy's SeedSequence."""
    raw = np.random.SeedSequence(seed).generate_state(n, np.uint64)
    return [np.array([s if s else np.uint64(0x9E3779B97F4A7C15)], np.uint64) for s in raw]


def init_vectors(V: int, D: int, seed: int, out_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's initialisation: inputs uniform in [-0.5/D, 0.5/D), output weights zero. V input rows
    (words, then n-gram buckets), ``out_rows`` output rows (default V)."""
    rng = np.random.default_rng(seed)
    w_in = np.empty((V, D), np.float32)
    for a in range(0, V, 65536):  # in chunks: no float64 temporary the size of the matrix
        b = min(V, a + 65536)
        w_in[a:b] = (rng.random((b - a, D), dtype=np.float32) - np.float32(0.5)) / np.float32(D)
    return w_in, np.zeros((V if out_rows is None else out_rows, D), np.float32)


class Layout:
    """How a vocabulary maps onto the matrices: Huffman paths (hs) and subword rows, as kernel arrays
    (empty when unused), and the matrices' row counts."""

    def __init__(self, vocab, p: Params):
        from rnntools.w2v import subword

        V = len(vocab)
        empty64, empty8, empty32 = np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int32)
        if p.loss == "hs":
            self.hs_off, self.hs_codes, self.hs_points = huffman(vocab.counts)
            self.out_rows = max(V - 1, 1)
        else:
            self.hs_off, self.hs_codes, self.hs_points = empty64, empty8, empty32
            self.out_rows = V
        self.buckets = 0
        self.sub_off, self.sub_ids = empty64, empty32
        self.max_rows = 1
        if p.subword is not None:
            if p.buckets is None:
                p.buckets = subword.default_buckets(vocab.tokens, *p.subword)
            self.buckets = p.buckets
            self.sub_off, self.sub_ids = subword.subword_table(vocab.tokens, *p.subword, p.buckets)
            self.max_rows = int(np.diff(self.sub_off).max())
        self.in_rows = V + self.buckets


def _available_memory() -> int | None:
    """Bytes this process could still allocate: MemAvailable, or less under an address-space limit."""
    import resource

    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            avail = soft - used if avail is None else min(avail, soft - used)
    except (OSError, ValueError):  # pragma: no cover - not Linux
        pass
    return avail


def _check_memory(p: Params, V: int, buckets: int, out_rows: int | None = None) -> None:
    """Refuse sizes that cannot fit before allocating them, naming what to lower."""
    out_rows = V if out_rows is None else out_rows
    # input rows + output rows + the (V, D) vectors composed or copied when saving
    need = 4 * p.dim * (V + buckets + out_rows + V)
    avail = _available_memory()
    if avail is None or need <= avail:
        return
    what = "--dim" + (", --buckets" if buckets else "") + (" or the vocabulary (--min-count, --max-vocab)"
                                                            if V > 1 else "")
    raise UsageError(f"--dim {p.dim} with {V:,} words{f' and {buckets:,} n-gram buckets' if buckets else ''} "
                     f"needs about {_gib(need)} of memory and {_gib(avail)} is available; lower {what}")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"
