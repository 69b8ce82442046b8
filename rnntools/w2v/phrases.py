"""Phrases: join frequent collocations (new_york) before training word vectors, as word2vec's word2phrase.

word2phrase's score of a pair of adjacent words a b, with counts over the corpus's lines::

    score(a, b) = (count(a b) - min_count) / count(a) / count(b) * words

(``words``: every word of the corpus). A pair whose score is above ``threshold`` becomes one token, a_b. Pairs
never span lines. Joining goes left to right and a token just joined does not join its right neighbour in
the same pass (word2phrase's and gensim's rule), so in a run of phrase pairs every other pair joins. Each
further pass counts the joined text again, so phrases of three or four words can form (new_york_times).

How: the text is tokenized once (the tokenizer of ``w2v-train``, which keeps underscores inside words, so
joined text can be fed back) into int32 ids in memory, 4 bytes a word; a pass counts unigrams with bincount
and adjacent pairs by sorting their int64 keys, scores every distinct pair at once, and joins with array
operations: the Python work per pass is per distinct pair, never per word. gensim's Phrases counts and
applies in Python, word by word.

The phrase table (JSONL: one record per phrase with its pass, parts, count and score) is what gets applied
to new text: pass by pass, the same left-to-right rule, one line at a time (streaming: nothing is counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from rnntools.errors import InputError

DELIMITER = "_"


@dataclass
class PhraseParams:
    threshold: float = 100.0  # word2phrase's default
    min_count: int = 5  # word2phrase's default
    passes: int = 1
    lowercase: bool = True


def tokenizer(lowercase: bool):
    from rnntools.text.tokenize import phrase_tokenizer

    return phrase_tokenizer(lowercase)


def read_ids(inputs: list[str], lowercase: bool, errors: str = "strict") -> tuple[np.ndarray, list[str]]:
    """The corpus as int32 ids with -1 after each line that has words, and the tokens (id -> string)."""
    from rnntools.w2v.corpus import read_corpus

    spool = read_corpus(inputs, tokenizer(lowercase), errors)
    try:
        spool.file.seek(0)
        ids = np.fromfile(spool.file, np.int32, spool.items)
        tokens, _ = spool.tokens_and_counts()
    finally:
        spool.close()
    # the spool's id 0 is the line break
    ids -= 1
    return ids, tokens[1:]


def find_phrases(ids: np.ndarray, tokens: list[str], threshold: float,
                 min_count: int) -> dict[tuple[int, int], tuple[int, float]]:
    """Every adjacent pair (a, b) of ids whose word2phrase score is above threshold: {(a, b): (count, score)}."""
    V = len(tokens)
    words = ids[ids >= 0]
    total = len(words)
    counts = np.bincount(words, minlength=V).astype(np.float64)
    a, b = ids[:-1].astype(np.int64), ids[1:].astype(np.int64)
    ok = (a >= 0) & (b >= 0)
    keys = a[ok] * V + b[ok]
    if len(keys) == 0:
        return {}
    keys.sort()
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    uniq = keys[starts]
    pair_counts = np.diff(np.concatenate([starts, [len(keys)]]))
    # (count - min_count) > 0 is needed for a positive score: drop the rest before dividing
    keep = pair_counts > min_count
    uniq, pair_counts = uniq[keep], pair_counts[keep]
    pa, pb = uniq // V, uniq % V
    scores = (pair_counts - min_count) / counts[pa] / counts[pb] * total
    hit = scores > threshold
    return {(int(x), int(y)): (int(c), float(s))
            for x, y, c, s in zip(pa[hit], pb[hit], pair_counts[hit], scores[hit])}


def join_ids(ids: np.ndarray, phrase_ids: dict[tuple[int, int], int], V: int) -> np.ndarray:
    """ids with each joined pair replaced by its phrase id, left to right: in a run of consecutive phrase
    pairs the 1st, 3rd, ... join (a word just joined does not join again in the same pass)."""
    if not phrase_ids:
        return ids
    a, b = ids[:-1].astype(np.int64), ids[1:].astype(np.int64)
    ok = (a >= 0) & (b >= 0)
    key = np.where(ok, a * V + b, -1)
    table = np.array(sorted(x * V + y for x, y in phrase_ids), np.int64)
    pos = np.searchsorted(table, key)
    pos[pos >= len(table)] = 0
    cand = ok & (table[pos] == key)
    # position of each candidate within its run of consecutive candidates: even positions join
    idx = np.arange(len(cand))
    run_start = np.where(cand & ~np.concatenate([[False], cand[:-1]]), idx, 0)
    np.maximum.accumulate(run_start, out=run_start)
    join = cand & ((idx - run_start) % 2 == 0)
    values = np.array([phrase_ids[k] for k in sorted(phrase_ids)], np.int32)
    out = ids.copy()
    at = np.flatnonzero(join)
    out[at] = values[np.searchsorted(table, key[at])]
    drop = np.zeros(len(ids), bool)
    drop[at + 1] = True
    return out[~drop]


def learn(ids: np.ndarray, tokens: list[str], params: PhraseParams) -> tuple[np.ndarray, list[str], list[dict]]:
    """Run the passes: (joined ids, tokens grown with the phrases, the phrase table records)."""
    table: list[dict] = []
    tokens = list(tokens)
    for n in range(1, params.passes + 1):
        found = find_phrases(ids, tokens, params.threshold, params.min_count)
        if not found:
            break
        V = len(tokens)
        phrase_ids = {}
        # in score order, best first: the table reads as a ranking; ties in the pair's words (the ids are the
        # corpus spool's, given in set order: by string hashes, which differ from process to process)
        for (a, b), (count, score) in sorted(found.items(),
                                             key=lambda kv: (-kv[1][1], tokens[kv[0][0]], tokens[kv[0][1]])):
            phrase = tokens[a] + DELIMITER + tokens[b]
            phrase_ids[(a, b)] = len(tokens)
            tokens.append(phrase)
            table.append({"phrase": phrase, "a": tokens[a], "b": tokens[b], "count": count,
                          "score": round(score, 4), "pass": n})
        ids = join_ids(ids, phrase_ids, V)
    return ids, tokens, table


def iter_lines_of(ids: np.ndarray, tokens: list[str], chunk: int = 1 << 20) -> Iterator[str]:
    """The joined corpus as text lines (tokens separated by spaces), a chunk of ids at a time."""
    arr = np.array(tokens, dtype=object)
    carry: list[str] = []
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        ends = np.flatnonzero(part < 0)
        prev = 0
        for e in ends:
            words = arr[part[prev:e]].tolist()
            if carry:
                words = carry + words
                carry = []
            yield " ".join(words)
            prev = e + 1
        if prev < len(part):
            carry += arr[part[prev:]].tolist()
    if carry:
        yield " ".join(carry)


# --- applying a phrase table to new text ---------------------------------------------------------------


def read_table(path: str) -> list[dict[tuple[str, str], str]]:
    """A phrase table (JSONL from ``phrases --save-table``) as one {(a, b): phrase} map per pass."""
    from rnntools.io import iter_jsonl

    passes: dict[int, dict[tuple[str, str], str]] = {}
    for line_no, record in iter_jsonl(path):
        try:
            a, b, n = record["a"], record["b"], record["pass"]
        except KeyError as exc:
            raise InputError(f"a phrase record needs 'a', 'b' and 'pass' (missing {exc})", path, line_no) from None
        if not (isinstance(a, str) and isinstance(b, str) and a and b) or type(n) is not int or n < 1:
            raise InputError("a phrase record needs non-empty strings 'a', 'b' and a pass number >= 1",
                             path, line_no)
        passes.setdefault(n, {})[(a, b)] = record.get("phrase") if isinstance(record.get("phrase"), str) \
            else a + DELIMITER + b
    if not passes:
        raise InputError("no phrases in the table", path)
    return [passes[n] for n in sorted(passes)]


def apply_table(tokens: list[str], table: list[dict[tuple[str, str], str]]) -> list[str]:
    """One line's tokens with the table's phrases joined, pass by pass, left to right."""
    for joins in table:
        if len(tokens) < 2:
            break
        out = []
        i, n = 0, len(tokens)
        while i < n:
            if i + 1 < n:
                phrase = joins.get((tokens[i], tokens[i + 1]))
                if phrase is not None:
                    out.append(phrase)
                    i += 2
                    continue
            out.append(tokens[i])
            i += 1
        tokens = out
    return tokens


def apply_lines(lines: Iterable[str], table, lowercase: bool) -> Iterator[str]:
    tokenize = tokenizer(lowercase)
    for line in lines:
        tokens = tokenize(line)
        if tokens:
            yield " ".join(apply_table(tokens, table))


def write_table(records: list[dict], stream) -> None:
    for r in records:
        stream.write(json.dumps(r, ensure_ascii=False) + "\n")
