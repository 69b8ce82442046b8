"""rnntools phrases against gensim's Phrases: the phrases found (overlap) and the time, side by side.

    flock /tmp/rnntools-bench.lock python benchmarks/w2v_phrases_vs_gensim.py [--reps 3] [--passes 1]

Data: benchmarks/datasets.py's English corpus (~5.7M words), tokenized once with rnntools' tokenizer and
written one paragraph a line; gensim reads it with LineSentence and rnntools reads the same file.

Settings, both sides: word2phrase's score (count(a b) - min_count) / count(a) / count(b) * corpus words
(gensim: a scoring function written the same way, since its "default" scorer multiplies by the vocabulary
size instead), min_count 5, threshold 100, delimiter "_". Work timed, both sides: learn the phrases from
the corpus, then write the corpus with them joined to a file. rnntools is timed as the whole command
(``rnntools phrases corpus.txt --save-table t.jsonl -o out.txt``, process start included); gensim as
Phrases(...) plus writing ``" ".join(phrases[sentence])`` for each sentence (and, separately, with
phrases.freeze(), gensim's faster applier). --passes 2: both sides run a second pass on the joined text.

Overlap: the phrase types each side found (gensim: export_phrases() of each pass; rnntools: its table),
as Jaccard |A & B| / |A | B|, and the share of output lines that are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from w2v_vs_gensim import isa_report, prepare_corpus  # noqa: E402

GENSIM_CHILD = r"""
import json, sys, time, logging
logging.disable(logging.WARNING)
from gensim.models.phrases import Phrases
from gensim.models.word2vec import LineSentence
corpus, out, min_count, threshold, passes, freeze = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), \
    int(sys.argv[5]), sys.argv[6] == "1"

def word2phrase(worda_count, wordb_count, bigram_count, len_vocab, min_count, corpus_word_count):
    return (bigram_count - min_count) / worda_count / wordb_count * corpus_word_count

t0 = time.perf_counter()
found = []
src = corpus
for n in range(passes):
    phrases = Phrases(LineSentence(src), min_count=min_count, threshold=threshold, scoring=word2phrase,
                      delimiter="_")
    found += list(phrases.export_phrases())
    applier = phrases.freeze() if freeze else phrases
    dst = out if n == passes - 1 else out + f".pass{n}"
    with open(dst, "w", encoding="utf-8") as f:
        for sentence in LineSentence(src):
            f.write(" ".join(applier[sentence]) + "\n")
    src = dst
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "phrases": found}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=100.0)
    parser.add_argument("--corpus", default=None)
    args = parser.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=False), flush=True)
    import datasets

    source = args.corpus or str(datasets.text_corpus_path())
    tmp = tempfile.mkdtemp(prefix="w2v-phrases-bench-")
    corpus = os.path.join(tmp, "corpus.txt")
    words = prepare_corpus(source, corpus)
    print(f"corpus: {source}: {words:,} words; min_count {args.min_count}, threshold {args.threshold}, "
          f"passes {args.passes}")
    print(isa_report("native").split(";")[0])
    print(f"load at start: {os.getloadavg()}")
    env = {**os.environ, "PYTHONPATH": ROOT}
    times: dict[str, list[float]] = {"gensim": [], "gensim-frozen": [], "rnntools": []}
    found = {}
    for rep in range(args.reps):
        order = ["gensim", "gensim-frozen", "rnntools"] if rep % 2 == 0 else ["rnntools", "gensim-frozen", "gensim"]
        for side in order:
            out = os.path.join(tmp, f"{side}.txt")
            if side.startswith("gensim"):
                r = subprocess.run([sys.executable, "-c", GENSIM_CHILD, corpus, out, str(args.min_count),
                                    str(args.threshold), str(args.passes), "1" if side == "gensim-frozen" else "0"],
                                   capture_output=True, text=True, check=True)
                res = json.loads(r.stdout.strip().splitlines()[-1])
                seconds = res["seconds"]
                found[side] = set(res["phrases"])
            else:
                table = os.path.join(tmp, "table.jsonl")
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "rnntools", "phrases", corpus, "--min-count", str(args.min_count),
                                "--threshold", str(args.threshold), "--passes", str(args.passes), "--save-table",
                                table, "-o", out], check=True, env=env, capture_output=True)
                seconds = time.perf_counter() - t0
                found[side] = {json.loads(line)["phrase"] for line in open(table, encoding="utf-8")}
            times[side].append(seconds)
            print(f"  rep {rep + 1} {side:13s}: {seconds:7.2f} s, {words / seconds / 1e6:.3f}M words/s, "
                  f"{len(found[side])} phrases  (load {os.getloadavg()[0]:.2f})", flush=True)
    ours, theirs = found["rnntools"], found["gensim"]
    same_lines = total = 0
    with open(os.path.join(tmp, "rnntools.txt"), encoding="utf-8") as a, \
            open(os.path.join(tmp, "gensim.txt"), encoding="utf-8") as b:
        for x, y in zip(a, b):
            total += 1
            same_lines += x == y
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"medians (load now {os.getloadavg()})")
    for side, sec in med.items():
        print(f"{side:13s} {sec:7.2f} s  {words / sec:12,.0f} words/s")
    print(f"speed rnntools/gensim: {med['gensim'] / med['rnntools']:.2f}x (gensim with freeze(): "
          f"{med['gensim-frozen'] / med['rnntools']:.2f}x)")
    print(f"phrases: rnntools {len(ours)}, gensim {len(theirs)}, both {len(ours & theirs)}, Jaccard "
          f"{len(ours & theirs) / max(1, len(ours | theirs)):.4f}; only rnntools: {sorted(ours - theirs)[:5]}, only "
          f"gensim: {sorted(theirs - ours)[:5]}; identical output lines {same_lines}/{total}")


if __name__ == "__main__":
    main()
