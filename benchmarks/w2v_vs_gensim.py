"""rnntools w2v-train against gensim 4.x Word2Vec: speed, memory and quality, side by side.

    flock /tmp/rnntools-bench.lock python benchmarks/w2v_vs_gensim.py [--reps 3] [--arch sg cbow]
        [--loss ns|hs] [--isa native|avx2]

Data: benchmarks/datasets.py's English corpus (~5.8M words; Austen, Melville, GCIDE) and gensim's own
questions-words.txt and wordsim353.tsv. The corpus is tokenized once with rnntools' tokenizer and written
as space-separated lowercase tokens, one paragraph a line; gensim reads it with LineSentence (its streamed
iterable path) and rnntools reads the same file, so both see exactly the same words.

Hyperparameters, both sides: dim 100, window 5, negative 5, sample 1e-3, min-count 5, epochs 5, 2 threads,
alpha 0.025 (sg) / 0.05 (cbow), min_alpha 0.0001. --loss hs: hierarchical softmax on both sides (gensim hs=1,
negative=0; rnntools --loss hs). Skip-gram with negative sampling: rnntools shares a centre's noise words
among its pairs (w2v-train's default, docs/word2vec.md); --no-share-negatives draws them per pair, as gensim.

Instruction sets: --isa avx2 restricts both sides to AVX2 on an AVX-512 machine: numba compiles for
NUMBA_CPU_NAME=haswell with NUMBA_CPU_FEATURES=-avx512f (the CPU name alone is not enough: numba passes the
host's feature list, and with it "haswell" compiled 512-bit code), and gensim's BLAS calls (sdot/saxpy
from scipy's OpenBLAS, where its inner loops spend their time) run OpenBLAS's Haswell kernels
(OPENBLAS_CORETYPE=Haswell); gensim's own compiled Cython is what its wheel shipped.
The header prints what each side used.

Each training runs in its own process (peak RSS per process); sides alternate within each repetition and
the order flips between repetitions. Repetition r uses seed r on both sides unless --seed fixes one: with
one fixed seed, every repetition of a side starts from the same initial vectors, and the medians compare
two single draws of a quantity (analogy accuracy) that moves by about a point from run to run.
words/s = corpus words x epochs / training seconds (gensim: the train() call; rnntools: the training loop
after its reading pass), plus an end-to-end rate that includes vocabulary building (gensim's build_vocab;
rnntools' read-and-count pass). Quality: gensim's KeyedVectors.evaluate_word_analogies
(restrict_vocab=30000) and evaluate_word_pairs on wordsim353, on the vectors each side exported in word2vec
text format. Words per CPU-second (all threads, training only) is printed too: on a shared, overloaded
machine it moves less with the load than wall-clock rates do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from w2v_scoring import QUALITY_CHILD, add_rates, paired_ratios  # noqa: E402

HYPER = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, threads=2)
ALPHA = {"sg": 0.025, "cbow": 0.05}

GENSIM_CHILD = r"""
import json, resource, sys, time
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
corpus, arch, alpha, out, h = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5])
seed = int(sys.argv[6])
sentences = LineSentence(corpus)
t0 = time.perf_counter()
hs = h.get("loss") == "hs"
model = Word2Vec(vector_size=h["dim"], window=h["window"], negative=0 if hs else h["negative"], hs=int(hs),
                 sample=h["sample"],
                 min_count=h["min_count"], sg=1 if arch == "sg" else 0, cbow_mean=1, workers=h["threads"],
                 alpha=alpha, min_alpha=0.0001, seed=seed)
model.build_vocab(sentences)
t1 = time.perf_counter()
r = resource.getrusage(resource.RUSAGE_SELF)
c1 = r.ru_utime + r.ru_stime
model.train(sentences, total_examples=model.corpus_count, epochs=h["epochs"])
t2 = time.perf_counter()
r = resource.getrusage(resource.RUSAGE_SELF)
cpu = r.ru_utime + r.ru_stime - c1
model.wv.save_word2vec_format(out)
print(json.dumps({"vocab_seconds": t1 - t0, "train_seconds": t2 - t1, "vocab": len(model.wv), "cpu_seconds": cpu,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RNNTOOLS_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from rnntools.w2v.train import Params, train
from rnntools.w2v.vectors import load, write_word2vec
corpus, arch, alpha, out, h = sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], json.loads(sys.argv[6])
seed = int(sys.argv[7])
model = out + ".npz"
t0 = time.perf_counter()
s = train([corpus], model, Params(arch=arch, dim=h["dim"], window=h["window"], negative=h["negative"],
          sample=h["sample"], min_count=h["min_count"], epochs=h["epochs"], threads=h["threads"], alpha=alpha,
          min_alpha=0.0001, seed=seed, loss=h.get("loss", "ns"),
          share_negatives=h.get("share_negatives", arch == "sg" and h.get("loss", "ns") == "ns")))
t1 = time.perf_counter()
r = resource.getrusage(resource.RUSAGE_SELF)
peak = r.ru_maxrss / 1024
# CPU of the training loop: the whole process minus the reading pass (single-threaded, so its CPU time
# is about its wall time)
cpu = r.ru_utime + r.ru_stime - s["read_seconds"]
v = load(model)
with open(out, "wb") as f:
    write_word2vec(v.tokens, v.vectors, f, binary=False)
print(json.dumps({"vocab_seconds": s["read_seconds"], "train_seconds": s["seconds"], "total_seconds": t1 - t0,
                  "vocab": len(v.tokens), "peak_mb": peak, "cpu_seconds": cpu}))
"""

def prepare_corpus(path: str, out: str) -> int:
    """The corpus as rnntools tokens, space-separated, one paragraph a line; returns the word count."""
    sys.path.insert(0, ROOT)
    from rnntools.text import tokenize_words

    words = 0
    with open(path, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            tokens = tokenize_words(line)
            if tokens:
                words += len(tokens)
                dst.write(" ".join(tokens) + "\n")
    return words


ISA_ENV = {"native": {}, "avx2": {"rnntools": {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "-avx512f"},
                                  "gensim": {"OPENBLAS_CORETYPE": "Haswell"}}}


def isa_report(isa: str) -> str:
    """CPU model, its vector extensions, and what each side compiles or dispatches for."""
    model, flags = "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "?":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    cpu_isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    env = ISA_ENV[isa]
    # the target and vector width numba compiles for under this mode's environment (benchmarks/isa.py)
    numba_cpu = subprocess.run([sys.executable, "-c", "import sys; sys.path[:0] = sys.argv[1:]; import isa; "
                                "print(isa.numba_isa())", HERE, ROOT],
                               capture_output=True, text=True, env={**os.environ, **env.get("rnntools", {})})
    blas = subprocess.run([sys.executable, "-c", "import threadpoolctl, scipy.linalg; print(','.join(sorted("
                           "{str(i.get('architecture')) for i in threadpoolctl.threadpool_info()})))"],
                          capture_output=True, text=True, env={**os.environ, **env.get("gensim", {})})
    return (f"CPU: {model} ({cpu_isa}); isa mode {isa}: rnntools "
            f"{numba_cpu.stdout.strip() or '?'}, gensim OpenBLAS kernels {blas.stdout.strip() or '?'}")


def run(code: list[str], env: dict | None = None) -> dict:
    result = subprocess.run([sys.executable, "-c", *code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})})
    if result.returncode != 0:
        sys.exit(f"child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--arch", nargs="+", default=["sg", "cbow"], choices=["sg", "cbow"])
    parser.add_argument("--corpus", default=None, help="a text file instead of datasets.text_corpus_path()")
    parser.add_argument("--epochs", type=int, default=HYPER["epochs"])
    parser.add_argument("--reps-sg", type=int, default=None, help="repetitions for skip-gram (default --reps)")
    parser.add_argument("--loss", choices=["ns", "hs"], default="ns")
    parser.add_argument("--isa", choices=["native", "avx2"], default="native",
                        help="avx2: restrict both sides to AVX2 (see the module docstring)")
    parser.add_argument("--no-share-negatives", action="store_true",
                        help="rnntools skip-gram draws noise words per pair, as gensim (default: per centre, "
                             "w2v-train's default)")
    parser.add_argument("--seed", type=int, default=None,
                        help="one seed for every repetition (default: repetition r uses seed r on both sides)")
    args = parser.parse_args()
    import datasets

    hyper = {**HYPER, "epochs": args.epochs, "loss": args.loss}
    if args.no_share_negatives:
        hyper["share_negatives"] = False
    source = args.corpus or str(datasets.text_corpus_path())
    analogies, wordsim = str(datasets.analogy_path()), str(datasets.wordsim_path())
    tmp = tempfile.mkdtemp(prefix="w2v-bench-")
    corpus = os.path.join(tmp, "corpus.txt")
    words = prepare_corpus(source, corpus)
    print(f"corpus: {source}: {words:,} words (tokenized, {os.path.getsize(corpus) / 1e6:.0f} MB); "
          f"{json.dumps(hyper)}; python {sys.version.split()[0]}")
    print(isa_report(args.isa))
    print(f"load at start: {os.getloadavg()}")
    rows = []
    for arch in args.arch:
        alpha = ALPHA[arch]
        runs: dict[str, list[dict]] = {"gensim": [], "rnntools": []}
        reps = args.reps_sg if arch == "sg" and args.reps_sg else args.reps
        for rep in range(reps):
            order = ["gensim", "rnntools"] if rep % 2 == 0 else ["rnntools", "gensim"]
            seed = str(args.seed if args.seed is not None else rep + 1)
            for side in order:
                out = os.path.join(tmp, f"{side}-{arch}-{rep}.txt")
                h = json.dumps(hyper)
                if side == "gensim":
                    r = run([GENSIM_CHILD, corpus, arch, str(alpha), out, h, seed], ISA_ENV[args.isa].get("gensim"))
                    r["total_seconds"] = r["vocab_seconds"] + r["train_seconds"]
                else:
                    r = run([RNNTOOLS_CHILD, ROOT, corpus, arch, str(alpha), out, h, seed],
                            ISA_ENV[args.isa].get("rnntools"))
                r.update(run([QUALITY_CHILD, out, analogies, wordsim]))
                add_rates(r, words * hyper["epochs"])
                os.remove(out)
                runs[side].append(r)
                print(f"  {arch} rep {rep + 1} seed {seed} {side:8s}: {r['wps'] / 1e6:.3f}M words/s train, "
                      f"{r['wps_total'] / 1e6:.3f}M end-to-end, {r['wpcpu'] / 1e6:.3f}M per CPU-s, "
                      f"peak {r['peak_mb']:.0f} MB, vocab {r['vocab']}, "
                      f"analogy {r['analogy']:.4f}, wordsim353 spearman {r['spearman']:.4f}  "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
        med = {side: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for side, rs in runs.items()}
        med["paired"] = paired_ratios(runs["rnntools"], runs["gensim"])
        rows.append((arch, med))
    print()
    print(f"medians of the alternating runs (2 threads; load now {os.getloadavg()})")
    print(f"{'arch':5s} {'side':9s} {'train w/s':>11s} {'e2e w/s':>11s} {'peak MB':>8s} {'analogy':>8s} "
          f"{'spearman':>9s} {'w/CPU-s':>10s}")
    for arch, med in rows:
        for side in ("gensim", "rnntools"):
            m = med[side]
            print(f"{arch:5s} {side:9s} {m['wps']:11,.0f} {m['wps_total']:11,.0f} {m['peak_mb']:8.0f} "
                  f"{m['analogy']:8.4f} {m['spearman']:9.4f} {m['wpcpu']:10,.0f}")
        g, r, paired = med["gensim"], med["rnntools"], med["paired"]
        print(f"{arch:5s} ratio rnntools/gensim: train {r['wps'] / g['wps']:.2f}x, end-to-end "
              f"{r['wps_total'] / g['wps_total']:.2f}x, per CPU-second {r['wpcpu'] / g['wpcpu']:.2f}x; "
              f"(median of per-repetition ratios: train {paired['wps']:.2f}x, end-to-end "
              f"{paired['wps_total']:.2f}x, per CPU-second {paired['wpcpu']:.2f}x); "
              f"analogy {100 * (r['analogy'] - g['analogy']):+.2f} "
              f"points, spearman {r['spearman'] - g['spearman']:+.4f}")


if __name__ == "__main__":
    main()
