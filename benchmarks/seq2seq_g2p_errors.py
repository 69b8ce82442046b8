"""Where a G2P model's word errors are: by word length, by how many pronunciations a word has, English
dictionary words against names and foreign words, letters, and the phones it gets wrong.

    rnntools predict m.npz /tmp/g2p/test.jsonl --threads 2 > pred.jsonl
    python benchmarks/seq2seq_g2p_errors.py pred.jsonl /tmp/g2p/references.jsonl --train /tmp/g2p/train.jsonl \\
        [--compare pred2.jsonl pred3.jsonl]

A word is right when the output is any of its CMUdict pronunciations (stress removed), the published
convention (docs/seq2seq.md); a wrong word's phone errors are counted against its closest pronunciation.
"In a dictionary": the word (without a final 's) is a WordNet lemma or a GCIDE headword (Debian packages
``wordnet-base`` and ``dict-gcide``), which leaves mostly names (surnames, places, brands) and foreign words
outside. With ``--train``: whether the word's stem (the word without a final 's or s) is a training word, and
how often the output is the stem's training pronunciation plus a plausible ending. With ``--compare``: other
models' predictions of the same words (other runs of the same settings), each group's WER for each of them
beside the first's, and every pair word by word (words right in only one of the two, McNemar's z).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def english_words() -> set[str]:
    """Lowercase WordNet lemmas and GCIDE headwords (single words), or an empty set if neither is installed."""
    words: set[str] = set()
    for part in ("noun", "verb", "adj", "adv"):
        path = f"/usr/share/wordnet/index.{part}"
        if os.path.exists(path):
            with open(path, encoding="latin-1") as f:
                words.update(line.split(" ", 1)[0].lower() for line in f if not line.startswith(" "))
        exc = f"/usr/share/wordnet/{part[:3]}.exc"
        if os.path.exists(exc):
            with open(exc, encoding="latin-1") as f:
                words.update(line.split(" ", 1)[0].lower() for line in f)
    path = "/usr/share/dictd/gcide.index"
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            words.update(line.split("\t", 1)[0].lower() for line in f)
    return {w for w in words if "_" not in w and " " not in w}


def alignment(hyp: list[str], ref: list[str]) -> list[tuple[str | None, str | None]]:
    """A minimal edit alignment of two phone lists: (ref phone or None, hyp phone or None) pairs."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    out = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            out.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and d[i][j] == d[i - 1][j] + 1:
            out.append((ref[i - 1], None))
            i -= 1
        else:
            out.append((None, hyp[j - 1]))
            j -= 1
    return out[::-1]


def read_jsonl(path: str) -> list[dict]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def right_any(preds: list[dict], refs: dict) -> dict[str, bool]:
    """Each word: whether its prediction is one of its pronunciations."""
    return {rec["source"]: rec["prediction"].split() in refs[rec["source"]] for rec in preds}


def table(title: str, groups: dict, total_wrong: int, others: list[dict] | None = None) -> None:
    others = others or []
    extra = "".join(f" WER run {i + 2} |" for i in range(len(others)))
    print(f"\n| {title} | words | share of words | WER (any) | share of the errors |{extra}")
    print("|---|---|---|---|---|" + "---|" * len(others))
    n_all = sum(len(v) for v in groups.values())
    for name, rows in groups.items():
        if not rows:
            continue
        wrong = sum(not r["right"] for r in rows)
        cols = "".join(f" {sum(not o[r['word']] for r in rows) / len(rows):.2%} |" for o in others)
        print(f"| {name} | {len(rows):,} | {len(rows) / n_all:.1%} | {wrong / len(rows):.2%} | "
              f"{wrong / max(total_wrong, 1):.1%} |{cols}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("predictions", help="`rnntools predict` output on the test pairs (source, prediction)")
    ap.add_argument("references", help="references.jsonl of benchmarks/seq2seq_data.py g2p")
    ap.add_argument("--train", help="train.jsonl: stems seen in training")
    ap.add_argument("--top", type=int, default=12, help="phone confusions listed")
    ap.add_argument("--compare", nargs="+", default=[], help="other models' predictions of the same words")
    a = ap.parse_args()
    refs = {r["source"]: [p.split() for p in r["references"]] for r in read_jsonl(a.references)}
    preds = read_jsonl(a.predictions)
    dictionary = english_words()
    train = {}
    if a.train:
        train = {r["source"]: r["target"].split() for r in read_jsonl(a.train)}
    rows = []
    confusions: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    edits_per_word: collections.Counter = collections.Counter()
    for rec in preds:
        word = rec["source"]
        hyp = rec["prediction"].split()
        options = refs[word]
        dist, ref = min((sum(x != y for x, y in alignment(hyp, r)), r) for r in options)
        right = dist == 0
        base = word[:-2] if word.endswith("'s") else word
        stem = word[:-2] if word.endswith("'s") else (word[:-1] if word.endswith("s") else None)
        seen = stem is not None and stem in train
        # wrong, though a pronunciation starts with the stem's training one and the output does not: the
        # network has not learnt a word it trained on
        known = seen and not right and hyp[:len(train[stem])] != train[stem] and any(
            r[:len(train[stem])] == train[stem] for r in options)
        row = {"word": word, "right": right, "len": len(word.replace("'", "")), "prons": len(options),
               "dict": base in dictionary, "apostrophe": "'" in word, "stem_seen": seen, "known_stem_wrong": known}
        rows.append(row)
        if not right:
            edits_per_word[min(dist, 3)] += 1
            for r_ph, h_ph in alignment(hyp, ref):
                if r_ph != h_ph:
                    confusions[(r_ph or "-", h_ph or "-")] += 1
                    ph = r_ph or h_ph
                    kinds["vowel" if ph in VOWELS else "consonant"] += 1
                    kinds["substitution" if r_ph and h_ph else ("deletion" if r_ph else "insertion")] += 1
    n = len(rows)
    wrong = sum(not r["right"] for r in rows)
    print(f"{n:,} test words; {wrong:,} wrong against any pronunciation: WER {wrong / n:.2%}")
    others = [right_any(read_jsonl(path), refs) for path in a.compare]
    for o in others:
        if set(o) != {r["word"] for r in rows}:
            raise SystemExit("--compare: the predictions are not of the same words")
    if others:
        runs = [{r["word"]: r["right"] for r in rows}, *others]
        names = [a.predictions, *a.compare]
        for i, (name, run) in enumerate(zip(names, runs)):
            print(f"run {i + 1} ({name}): WER {sum(not v for v in run.values()) / n:.2%}")
        for i in range(len(runs)):
            for j in range(i + 1, len(runs)):
                only_i = sum(runs[i][w] and not runs[j][w] for w in runs[i])
                only_j = sum(runs[j][w] and not runs[i][w] for w in runs[i])
                z = (only_i - only_j) / max((only_i + only_j) ** 0.5, 1e-9)
                print(f"runs {i + 1} and {j + 1}: right only in {i + 1}: {only_i:,}, only in {j + 1}: {only_j:,} "
                      f"(McNemar z {z:+.2f})")
        words = list(runs[0])
        all_wrong = sum(not any(run[w] for run in runs) for w in words)
        all_right = sum(all(run[w] for run in runs) for w in words)
        print(f"wrong in every run: {all_wrong:,} ({all_wrong / n:.2%}); right in every run: {all_right:,} "
              f"({all_right / n:.2%}); right in some, not all: {n - all_wrong - all_right:,}")

    def by(key, buckets):
        out = {name: [] for name, _ in buckets}
        for r in rows:
            for name, test in buckets:
                if test(r[key]):
                    out[name].append(r)
                    break
        return out

    table("letters", by("len", [("1-4", lambda v: v <= 4), ("5-6", lambda v: v <= 6), ("7-8", lambda v: v <= 8),
                                ("9-10", lambda v: v <= 10), ("11+", lambda v: True)]), wrong, others)
    table("pronunciations in CMUdict", by("prons", [("one", lambda v: v == 1), ("two or more", lambda v: True)]),
          wrong, others)
    if dictionary:
        table("the word (without 's)", by("dict", [("an English dictionary word (WordNet, GCIDE)", bool),
                                                    ("not in either: names, foreign words", lambda v: True)]), wrong,
              others)
    table("apostrophe", by("apostrophe", [("with an apostrophe", bool), ("without", lambda v: True)]), wrong, others)
    if train:
        table("stem (the word without a final 's or s)",
              {"a training word": [r for r in rows if r["stem_seen"]],
               "not (or no such ending)": [r for r in rows if not r["stem_seen"]]}, wrong, others)
        known = sum(r["known_stem_wrong"] for r in rows)
        print(f"\nwrong with the stem's training pronunciation left out of the output (a reference starts with it): "
              f"{known:,} words, {known / n:.2%} of the test words")
    print(f"\nwrong words by phone edits to the closest pronunciation: 1: {edits_per_word[1]:,} "
          f"({edits_per_word[1] / max(wrong, 1):.1%}), 2: {edits_per_word[2]:,} "
          f"({edits_per_word[2] / max(wrong, 1):.1%}), 3 or more: {edits_per_word[3]:,} "
          f"({edits_per_word[3] / max(wrong, 1):.1%})")
    edits = sum(confusions.values())
    print(f"phone edits {edits:,}: vowels {kinds['vowel'] / edits:.1%}, consonants {kinds['consonant'] / edits:.1%}; "
          f"substitutions {kinds['substitution'] / edits:.1%}, deletions {kinds['deletion'] / edits:.1%}, "
          f"insertions {kinds['insertion'] / edits:.1%}")
    print("most frequent (reference -> output): " + ", ".join(
        f"{r}->{h} {c}" for (r, h), c in confusions.most_common(a.top)))


if __name__ == "__main__":
    main()
