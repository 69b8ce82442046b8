"""Files for measuring the pretrained-vectors recipe of the classifier (docs/classify.md, "Pretrained
vectors"): labelled train/test JSONL of ``mr_aside``, ``rt_aside`` and ``rt_large_aside`` and one
unlabelled in-domain corpus for all three, one text a line: the 1,500 long movie reviews of ``reviews``,
the training part of the Rotten Tomatoes split (``rt_aside``'s and ``rt_large_aside``'s training quotes)
and ``mr_aside``'s training sentences, without any line equal to a test text of ``mr_aside`` or
``rt_aside``; shuffled.

    python3 benchmarks/classify_vectors_data.py /tmp/vec
    cd /tmp/vec && rnntools w2v-train unlabelled.txt -o v.npz --threads 1 --seed 1
    rnntools rnn-train --task classify --embeddings v.npz mr_train.jsonl -o c.npz --threads 1 --seed 1
    rnntools evaluate c.npz mr_test.jsonl
"""

from __future__ import annotations

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    import datasets as D

    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rt_all = D._split(*D._rotten_tomatoes(), 1 / 3)        # rt_large_aside; rt_aside samples it
    sets = {"mr": D.text_classification_set("mr_aside"), "rt": D.text_classification_set("rt_aside"),
            "rtl": rt_all}
    reviews = D.text_classification_set("reviews")
    test = set(sets["mr"][2]) | set(sets["rt"][2])
    lines = [t for t in reviews[0] + reviews[2] + rt_all[0] + sets["mr"][0] if t not in test]
    random.Random(0).shuffle(lines)
    with open(os.path.join(out, "unlabelled.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"unlabelled.txt: {len(lines)} lines, {sum(len(t.split()) for t in lines)} words; "
          f"{len(set(rt_all[2]) & set(lines))} of rt_large_aside's test quotes among them")
    for name, (tr_x, tr_y, te_x, te_y) in sets.items():
        for part, xs, ys in (("train", tr_x, tr_y), ("test", te_x, te_y)):
            with open(os.path.join(out, f"{name}_{part}.jsonl"), "w", encoding="utf-8") as f:
                for x, y in zip(xs, ys):
                    f.write(json.dumps({"text": x, "label": y}) + "\n")


if __name__ == "__main__":
    main()
