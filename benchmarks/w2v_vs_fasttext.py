"""rnntools w2v-train --subword against the fastText command-line tool: speed and quality, side by side.

    flock /tmp/rnntools-bench.lock python benchmarks/w2v_vs_fasttext.py [--reps 3] [--isa native|avx2]

fastText: Debian package ``fasttext`` (0.9.2; ``apt-get install -y fasttext``), benchmark-only.
Data: benchmarks/datasets.py's English corpus (~5.7M words), tokenized once with rnntools' tokenizer and
written one paragraph a line, so both sides see the same words; gensim's questions-words.txt (analogies),
wordsim353.tsv and simlex999.txt (word similarity).

Hyperparameters, both sides (fastText's skip-gram defaults): dim 100, window 5, negative 5, sample 1e-4,
min-count 5, epochs 5, lr 0.05 falling linearly to 0, character n-grams 3-6, 2 threads; the bucket count is
rnntools' default for this vocabulary (twice its distinct n-grams) and fastText is given the same.
rnntools' min_alpha is 0.0001 (fastText goes to 0).

Speed: words/s = corpus words x epochs / training seconds. fastText's training seconds are its own
words/sec/thread (the last progress line) times threads turned into seconds; the end-to-end rate divides by
the whole process's wall time (reading, counting, training, saving its .bin and .vec) and rnntools' by
its whole train() call (reading, counting, training, saving the .npz). Each run is its own process; sides
alternate within each repetition and the order flips between repetitions.

Quality: analogy accuracy (gensim's evaluate_word_analogies, restrict_vocab=30000) on each side's
vectors in word2vec text format; Spearman correlation on wordsim353 + simlex999 pairs, all of them and
those with a word that is rare in the corpus (seen fewer than --rare times, or never: then its vector comes
from its n-grams). A plain skip-gram run of rnntools (no subwords, same settings) is the baseline for the
rare-word target: on pairs it cannot score (a word it never kept), its similarity is taken as 0, as
the fastText paper does for word2vec's missing words; the table also gives the pairs both can score.

--isa avx2: numba compiles for NUMBA_CPU_NAME=haswell, NUMBA_CPU_FEATURES=-avx512f (ISA_ENV); fastText's
Debian build is what it is (its binary is compiled for the distribution's baseline x86-64, SSE2) and is
printed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from w2v_scoring import QUALITY_CHILD, add_rates, paired_ratios  # noqa: E402
from w2v_vs_gensim import ISA_ENV, isa_report, prepare_corpus  # noqa: E402

HYPER = dict(dim=100, window=5, negative=5, sample=1e-4, min_count=5, epochs=5, threads=2, alpha=0.05,
             minn=3, maxn=6)

RNNTOOLS_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from rnntools.w2v.train import Params, train
from rnntools.w2v.vectors import load, write_word2vec
corpus, out, h, seed, subword, words = sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]), \
    sys.argv[6] == "1", sys.argv[7]
model = out + ".npz"
t0 = time.perf_counter()
s = train([corpus], model, Params(arch="sg", dim=h["dim"], window=h["window"], negative=h["negative"],
          sample=h["sample"], min_count=h["min_count"], epochs=h["epochs"], threads=h["threads"], alpha=h["alpha"],
          min_alpha=0.0001, seed=seed, subword=(h["minn"], h["maxn"]) if subword else None))
t1 = time.perf_counter()
r = resource.getrusage(resource.RUSAGE_SELF)
peak = r.ru_maxrss / 1024
cpu = r.ru_utime + r.ru_stime
v = load(model)
with open(out, "wb") as f:
    write_word2vec(v.tokens, v.vectors, f, binary=False)
ws = [w.strip() for w in open(words, encoding="utf-8")]
vecs, src = v.vectors_for(ws)
np.save(out + ".words.npy", vecs)
print(json.dumps({"train_seconds": s["seconds"], "total_seconds": t1 - t0, "vocab": len(v.tokens), "peak_mb": peak,
                  "cpu_seconds": cpu,
                  "buckets": v.meta["config"].get("buckets")}))
"""

def read_pairs(paths: list[str]) -> list[tuple[str, str, float]]:
    pairs = []
    for path in paths:
        for line in open(path, encoding="utf-8"):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            try:
                pairs.append((parts[0].lower(), parts[1].lower(), float(parts[2])))
            except (ValueError, IndexError):
                continue  # simlex999's header line
    return pairs


def spearman(pred: list[float], gold: list[float]) -> float | None:
    from scipy.stats import spearmanr

    return float(spearmanr(pred, gold).statistic) if len(pred) > 2 else None


def similarity(vectors, index, pairs):
    """Cosine per pair, None where a word has no vector (unknown, or a zero row)."""
    import numpy as np

    out = []
    for a, b, _ in pairs:
        va, vb = vectors[index[a]], vectors[index[b]]
        na, nb = float(np.linalg.norm(va)), float(np.linalg.norm(vb))
        out.append(float(va @ vb) / na / nb if na > 0 and nb > 0 else None)
    return out


def run(cmd: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0",
                                                                      **(env or {})})
    if result.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{result.stderr[-3000:]}")
    return result


def fasttext_run(corpus: str, out: str, h: dict, buckets: int, seed: int, words_file: str) -> dict:
    cmd = ["fasttext", "skipgram", "-input", corpus, "-output", out, "-dim", str(h["dim"]), "-ws", str(h["window"]),
           "-neg", str(h["negative"]), "-t", str(h["sample"]), "-minCount", str(h["min_count"]),
           "-epoch", str(h["epochs"]), "-thread", str(h["threads"]), "-lr", str(h["alpha"]), "-minn", str(h["minn"]),
           "-maxn", str(h["maxn"]), "-bucket", str(buckets), "-seed", str(seed), "-verbose", "2"]
    import resource

    t0 = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run(cmd)
    total = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
    rates = re.findall(r"words/sec/thread:\s*(\d+)", result.stderr + result.stdout)
    per_thread = float(rates[-1]) if rates else float("nan")
    with open(words_file, encoding="utf-8") as f:
        vec = subprocess.run(["fasttext", "print-word-vectors", out + ".bin"], stdin=f, capture_output=True,
                             text=True, check=True).stdout
    import numpy as np

    rows = [np.array(line.rstrip().split(" ")[1:], np.float32) for line in vec.splitlines() if line.strip()]
    np.save(out + ".vec.words.npy", np.vstack(rows))
    vocab = int(open(out + ".vec", encoding="utf-8").readline().split()[0])
    return {"rate_per_thread": per_thread, "total_seconds": total, "vocab": vocab, "cpu_seconds": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--corpus", default=None, help="a text file instead of datasets.text_corpus_path()")
    parser.add_argument("--rare", type=int, default=50, help="a word is rare below this many occurrences")
    parser.add_argument("--isa", choices=["native", "avx2"], default="native")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain skip-gram baseline")
    args = parser.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=False), flush=True)
    import datasets
    import numpy as np

    h = dict(HYPER)
    source = args.corpus or str(datasets.text_corpus_path())
    analogies = str(datasets.analogy_path())
    sims = [str(datasets.wordsim_path()), str(datasets.wordsim_path()).replace("wordsim353.tsv", "simlex999.txt")]
    tmp = tempfile.mkdtemp(prefix="w2v-ft-bench-")
    corpus = os.path.join(tmp, "corpus.txt")
    words = prepare_corpus(source, corpus)
    counts = Counter(w for line in open(corpus, encoding="utf-8") for w in line.split())
    pairs = read_pairs(sims)
    vocab_words = sorted({w for a, b, _ in pairs for w in (a, b)})
    words_file = os.path.join(tmp, "words.txt")
    with open(words_file, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab_words) + "\n")
    index = {w: i for i, w in enumerate(vocab_words)}
    rare = [p for p in pairs if min(counts.get(p[0], 0), counts.get(p[1], 0)) < args.rare]
    print(f"corpus: {source}: {words:,} words; {json.dumps(h)}; fastText: "
          f"{subprocess.run(['dpkg-query', '-W', 'fasttext'], capture_output=True, text=True).stdout.strip()}")
    print(isa_report(args.isa).split(", gensim")[0] + "; fastText: Debian's build (baseline x86-64)")
    print(f"similarity pairs: {len(pairs)} (wordsim353 + simlex999), {len(rare)} with a word seen < {args.rare} "
          f"times ({sum(1 for p in rare if min(counts.get(p[0], 0), counts.get(p[1], 0)) < h['min_count'])} "
          f"with a word below min-count)")
    print(f"load at start: {os.getloadavg()}")
    env = ISA_ENV[args.isa].get("rnntools")
    runs: dict[str, list[dict]] = {"fasttext": [], "rnntools": [], "plain": []}
    buckets = None
    for rep in range(args.reps):
        seed = rep + 1
        order = ["rnntools", "fasttext"] if rep % 2 == 0 else ["fasttext", "rnntools"]
        if buckets is None and order[0] == "fasttext":
            order = order[::-1]  # the bucket count comes from rnntools' first run
        if not args.no_plain and rep == 0:
            order.append("plain")
        for side in order:
            out = os.path.join(tmp, f"{side}-{rep}")
            if side == "fasttext":
                r = fasttext_run(corpus, out, h, buckets, seed, words_file)
                r["train_seconds"] = words * h["epochs"] / (r["rate_per_thread"] * h["threads"])
                vec_file, word_vecs = out + ".vec", np.load(out + ".vec.words.npy")
            else:
                r = json.loads(run([sys.executable, "-c", RNNTOOLS_CHILD, ROOT, corpus, out, json.dumps(h), str(seed),
                                    "0" if side == "plain" else "1", words_file], env).stdout.strip().splitlines()[-1])
                if side == "rnntools":
                    buckets = buckets or r["buckets"]
                vec_file, word_vecs = out, np.load(out + ".words.npy")
            r.update(json.loads(run([sys.executable, "-c", QUALITY_CHILD, vec_file, analogies]).stdout.strip()))
            cos = similarity(word_vecs, index, pairs)
            cos_rare = similarity(word_vecs, index, rare)
            r["spearman_all"] = spearman([c or 0.0 for c in cos], [p[2] for p in pairs])
            r["spearman_rare"] = spearman([c or 0.0 for c in cos_rare], [p[2] for p in rare])
            r["rare_scored"] = [c is not None for c in cos_rare]
            r["cos_rare"] = cos_rare
            add_rates(r, words * h["epochs"])
            runs[side].append(r)
            print(f"  rep {rep + 1} seed {seed} {side:8s}: {r['wps'] / 1e6:.3f}M words/s train, "
                  f"{r['wps_total'] / 1e6:.3f}M end-to-end, {r['wpcpu'] / 1e6:.3f}M per CPU-s (whole process), "
                  f"vocab {r['vocab']}, analogy {r['analogy']:.4f}, "
                  f"spearman all {r['spearman_all']:.4f}, rare {r['spearman_rare']:.4f} "
                  f"(scored {sum(r['rare_scored'])}/{len(rare)})  (load {os.getloadavg()[0]:.2f})", flush=True)
    keys = ("wps", "wps_total", "wpcpu", "analogy", "spearman_all", "spearman_rare")
    med = {side: {k: statistics.median(x[k] for x in rs) for k in keys} for side, rs in runs.items() if rs}
    paired = paired_ratios(runs["rnntools"], runs["fasttext"])
    print()
    print(f"medians (2 threads; load now {os.getloadavg()}); buckets {buckets:,}")
    print(f"{'side':9s} {'train w/s':>11s} {'e2e w/s':>11s} {'w/CPU-s':>10s} {'analogy':>8s} {'sp. all':>8s} "
          f"{'sp. rare':>9s}")
    for side, m in med.items():
        print(f"{side:9s} {m['wps']:11,.0f} {m['wps_total']:11,.0f} {m['wpcpu']:10,.0f} {m['analogy']:8.4f} "
              f"{m['spearman_all']:8.4f} {m['spearman_rare']:9.4f}")
    f, r = med["fasttext"], med["rnntools"]
    print(f"ratio rnntools/fastText: train {r['wps'] / f['wps']:.2f}x, "
          f"end-to-end {r['wps_total'] / f['wps_total']:.2f}x, "
          f"per CPU-second {r['wpcpu'] / f['wpcpu']:.2f}x (median of per-repetition ratios: {paired['wps']:.2f}x, "
          f"{paired['wps_total']:.2f}x, {paired['wpcpu']:.2f}x); analogy "
          f"{100 * (r['analogy'] - f['analogy']):+.2f} points")
    if runs["plain"]:
        plain, sub = runs["plain"][0], runs["rnntools"][0]
        both = [i for i, ok in enumerate(plain["rare_scored"]) if ok]
        gold = [rare[i][2] for i in both]
        print(f"rare-word pairs (a word seen < {args.rare} times): plain skip-gram spearman "
              f"{plain['spearman_rare']:.4f} (0 where it has no vector: {len(rare) - len(both)} pairs), subword "
              f"{sub['spearman_rare']:.4f}; on the {len(both)} pairs plain can score: plain "
              f"{spearman([plain['cos_rare'][i] for i in both], gold):.4f}, subword "
              f"{spearman([sub['cos_rare'][i] for i in both], gold):.4f} (seed 1 each)")


if __name__ == "__main__":
    main()
