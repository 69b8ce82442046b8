"""What the word2vec benchmarks (w2v_vs_gensim.py, w2v_vs_fasttext.py) measure the same way: the quality of a
vectors file by gensim's own evaluation, the words/s rates of a run, and the ratio of two sides."""

from __future__ import annotations

import statistics

# argv: vectors file (word2vec text), analogies file[, word-pair similarities file]; prints one JSON line.
# gensim scores both sides' files, so neither side's own evaluation code decides the comparison.
QUALITY_CHILD = r"""
import json, sys, logging
logging.disable(logging.WARNING)
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1])
acc, _ = kv.evaluate_word_analogies(sys.argv[2], restrict_vocab=30000)
out = {"analogy": acc}
if len(sys.argv) > 3:
    pearson, spearman, oov = kv.evaluate_word_pairs(sys.argv[3])
    out.update(spearman=spearman.correlation, oov=oov,
               pearson=pearson.statistic if hasattr(pearson, "statistic") else pearson[0])
print(json.dumps(out))
"""

RATES = ("wps", "wps_total", "wpcpu")


def add_rates(r: dict, words: int) -> dict:
    """``r`` with words/s of training (``wps``), of the whole run (``wps_total``) and per CPU-second of the
    whole process (``wpcpu``), from its ``train_seconds``/``total_seconds``/``cpu_seconds``; ``words``: the
    words trained (corpus words x epochs)."""
    r["wps"] = words / r["train_seconds"]
    r["wps_total"] = words / r["total_seconds"]
    r["wpcpu"] = words / r["cpu_seconds"]
    return r


def paired_ratios(ours: list[dict], theirs: list[dict], keys=RATES) -> dict:
    """The median over repetitions of ours / theirs, each repetition's two runs made back to back: the load
    of a shared machine drifts over minutes, and pairing cancels most of the drift."""
    return {k: statistics.median(o[k] / t[k] for t, o in zip(theirs, ours)) for k in keys}
