"""`vocab` and `bow --mode counts` throughput and peak memory against the usual Python baselines.

    python benchmarks/text_throughput.py [--repeat 3] [--corpus PATH]

Baselines, same corpus, same run, alternating, medians of --repeat runs:
  vocab  vs  collections.Counter over a regex tokenizer, line by line (the idiom people write)
  bow    vs  scikit-learn CountVectorizer(vocabulary=...).transform (the lines already in a list)
Each measurement runs in a fresh subprocess so that its peak RSS (ru_maxrss) is its own. "Flat memory" is
checked by counting the corpus once and four times over: peak memory must not grow with the input.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

RNNTOOLS_VOCAB = """
import sys, time
from rnntools.text.pipeline import count_vocab
t = time.perf_counter()
vocab = count_vocab(sys.argv[1:], min_count=1)
print(time.perf_counter() - t, int(vocab.counts.sum()))
"""

COUNTER_VOCAB = """
import re, sys, time
from collections import Counter
t = time.perf_counter()
word = re.compile(r"[^\\W_]+(?:['\\u2019][^\\W_]+)*")
counts = Counter()
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            counts.update(word.findall(line.lower()))
print(time.perf_counter() - t, sum(counts.values()))
"""

RNNTOOLS_BOW = """
import sys, time, os
from rnntools.text.pipeline import encode_documents
out = open(os.devnull, "w")
t = time.perf_counter()
encode_documents([sys.argv[1]], sys.argv[2], "counts", stream=out)
print(time.perf_counter() - t, 0)
"""

RNNTOOLS_BOW_NPZ = """
import sys, time, os
from rnntools.text.pipeline import encode_documents
t = time.perf_counter()
encode_documents([sys.argv[1]], sys.argv[2], "counts", output_format="npz", output=sys.argv[3])
print(time.perf_counter() - t, 0)
"""

SKLEARN_BOW = """
import sys, time, json
from sklearn.feature_extraction.text import CountVectorizer
tokens = [json.loads(l)["token"] for l in list(open(sys.argv[2], encoding="utf-8"))[1:]]
lines = open(sys.argv[1], encoding="utf-8").read().split("\\n")
vec = CountVectorizer(vocabulary=tokens, token_pattern=r"(?u)[^\\W_]+(?:['\\u2019][^\\W_]+)*")
t = time.perf_counter()
m = vec.transform(lines)
print(time.perf_counter() - t, m.nnz)
"""


def run(script: str, *args: str) -> tuple[float, int, float]:
    """(seconds, result, peak RSS MiB) of ``script`` in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout.split()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: only trust it when it grows
    return float(out[0]), int(out[1]), max(peak, before) / 1024


def peak_rss(script: str, *args: str) -> float:
    """Peak RSS (MiB) of one run, measured with /usr/bin/time-like wait4."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": ROOT})
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", default=None)
    args = parser.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=False), flush=True)
    if args.corpus is None:
        sys.path.insert(0, HERE)
        import datasets

        args.corpus = str(datasets.text_corpus_path())
    corpus = args.corpus
    print(f"corpus: {corpus} ({os.path.getsize(corpus) / 1e6:.1f} MB); load: {os.getloadavg()[0]:.2f}")

    ours, base = [], []
    words = 0
    for _ in range(args.repeat):
        t, words, _ = run(RNNTOOLS_VOCAB, corpus)
        ours.append(t)
        t, base_words, _ = run(COUNTER_VOCAB, corpus)
        base.append(t)
    assert words == base_words, (words, base_words)
    a, b = statistics.median(ours), statistics.median(base)
    print(f"vocab: {words / 1e6:.2f}M words  rnntools {words / a / 1e6:.2f}M words/s  "
          f"Counter+regex {words / b / 1e6:.2f}M words/s  ratio {b / a:.2f}x")
    once = peak_rss(RNNTOOLS_VOCAB, corpus)
    four = peak_rss(RNNTOOLS_VOCAB, corpus, corpus, corpus, corpus)
    base_once = peak_rss(COUNTER_VOCAB, corpus)
    print(f"vocab peak RSS: rnntools {once:.0f} MiB (corpus x1), {four:.0f} MiB (corpus x4); "
          f"Counter+regex {base_once:.0f} MiB")

    with tempfile.TemporaryDirectory() as tmp:
        vocab = os.path.join(tmp, "vocab.jsonl")
        subprocess.run([sys.executable, "-m", "rnntools", "-q", "vocab", "--min-count", "5", corpus, "-o", vocab],
                       check=True, env={**os.environ, "PYTHONPATH": ROOT})
        npz = os.path.join(tmp, "bow.npz")
        ours, ours_npz, base = [], [], []
        for _ in range(args.repeat):
            ours.append(run(RNNTOOLS_BOW, corpus, vocab)[0])
            ours_npz.append(run(RNNTOOLS_BOW_NPZ, corpus, vocab, npz)[0])
            base.append(run(SKLEARN_BOW, corpus, vocab)[0])
        a, a2, b = statistics.median(ours), statistics.median(ours_npz), statistics.median(base)
        print(f"bow --mode counts: rnntools JSONL {words / a / 1e6:.2f}M words/s ({a:.1f} s), "
              f"rnntools npz {words / a2 / 1e6:.2f}M words/s ({a2:.1f} s), "
              f"CountVectorizer.transform {words / b / 1e6:.2f}M words/s ({b:.1f} s); "
              f"ratio JSONL {b / a:.2f}x, npz {b / a2:.2f}x")
        print(f"bow peak RSS: rnntools JSONL {peak_rss(RNNTOOLS_BOW, corpus, vocab):.0f} MiB, "
              f"CountVectorizer {peak_rss(SKLEARN_BOW, corpus, vocab):.0f} MiB")

    # start-up: `rnntools --help` wall time, median of 10
    times = []
    for _ in range(10):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnntools", "--help"], capture_output=True, check=True,
                       env={**os.environ, "PYTHONPATH": ROOT})
        times.append(time.perf_counter() - t)
    print(f"rnntools --help: {statistics.median(times) * 1000:.0f} ms wall (median of 10)")
    print(json.dumps({"load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
