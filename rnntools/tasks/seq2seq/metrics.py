"""Scores of decoded outputs against references: exact match, character and word error rates, BLEU."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from rnntools.tasks.seq2seq.data import tokenizer


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]], n: int = 4) -> float:
    """Corpus BLEU-4 (Papineni et al. 2002): clipped n-gram precisions summed over the corpus, geometric
    mean, brevity penalty; one reference per hypothesis; 0..100. No smoothing, as in multi-bleu.perl."""
    matches, totals = [0] * n, [0] * n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        hyp_len += len(hyp)
        ref_len += len(ref)
        for k in range(1, n + 1):
            h = Counter(tuple(hyp[i:i + k]) for i in range(len(hyp) - k + 1))
            r = Counter(tuple(ref[i:i + k]) for i in range(len(ref) - k + 1))
            matches[k - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[k - 1] += max(len(hyp) - k + 1, 0)
    if min(matches) == 0 or hyp_len == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals)) / n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100.0 * bp * math.exp(log_p)


def score_predictions(predictions: Sequence[str], references: Sequence[str], level: str,
                      lowercase: bool) -> dict:
    """Exact match (token sequences equal), character error rate (edit distance over characters / reference
    characters), and for word level word error rate and corpus BLEU."""
    split = tokenizer(level, lowercase)
    hyp_tokens = [split(h) for h in predictions]
    ref_tokens = [split(r) for r in references]
    n = len(references)
    exact = sum(h == r for h, r in zip(hyp_tokens, ref_tokens))
    join = "".join if level == "char" else " ".join
    ref_chars = [join(r) for r in ref_tokens]
    hyp_chars = [join(h) for h in hyp_tokens]
    char_errors = sum(edit_distance(h, r) for h, r in zip(hyp_chars, ref_chars))
    out = {"pairs": n, "exact_match": exact / n if n else 0.0,
           "cer": char_errors / max(sum(len(r) for r in ref_chars), 1)}
    if level == "word":
        word_errors = sum(edit_distance(h, r) for h, r in zip(hyp_tokens, ref_tokens))
        out["wer"] = word_errors / max(sum(len(r) for r in ref_tokens), 1)
        out["bleu"] = corpus_bleu(hyp_tokens, ref_tokens)
    return out




def score_against_references(predictions: Sequence[str], reference_lists: Sequence[Sequence[str]], level: str,
                             lowercase: bool) -> dict:
    """Scores where a source has several valid targets (a word's pronunciations): each output is scored
    against its closest reference, the one with the fewest token edits (ties: the smallest token sequence), as
    Sequitur G2P's evaluation does (``Evaluation.py``: ``collateSample``, then the reference with the fewest
    errors). ``exact_match`` is the share of outputs equal to one of their references; ``wer`` (word level) the
    edits to the closest references over those references' tokens. With one reference per source these are
    ``score_predictions``' exact match and word error rate."""
    split = tokenizer(level, lowercase)
    exact = edits = tokens = 0
    for prediction, references in zip(predictions, reference_lists, strict=True):
        if not references:
            raise ValueError("every source needs at least one reference")
        hyp = split(prediction)
        refs = [split(r) for r in references]
        errors, ref = min((edit_distance(hyp, r), r) for r in refs)
        exact += errors == 0
        edits += errors
        tokens += len(ref)
    n = len(reference_lists)
    out = {"pairs": n, "exact_match": exact / n if n else 0.0}
    if level == "word":
        out["wer"] = edits / max(tokens, 1)
    return out
