"""`rnntools vocab` and `rnntools bow` as whole processes against the ten-line Python scripts people write
(collections.Counter over the same regex), at 1M and 50M words.

    flock /tmp/rnntools-bench.lock python benchmarks/cli_text.py                 # 1M and 50M words
    flock /tmp/rnntools-bench.lock python benchmarks/cli_text.py --words 1 --reps 5

Corpus: benchmarks/datasets.py's English text (Austen, Moby Dick, GCIDE; 5.85M words), its first lines for
1M words, repeated for 50M. Each side is a fresh process (python -m rnntools ... vs python script.py),
output to a file, both sides alternating, medians of wall time (and of CPU time, user + system with the
helper processes, the steadier measure beside other jobs); the rnntools side uses its defaults (one process
per core for inputs of 4 MB or more).
  vocab: ours `vocab CORPUS -o vocab.jsonl`; script: Counter of regex words per line and per document, written
         as JSONL sorted by count.
  bow:   ours `bow --vocab V CORPUS -o bow.jsonl` (counts); script: per line, Counter of the regex words'
         ids, written as {"indices": [...], "values": [...]} JSON lines.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

VOCAB_SCRIPT = r"""
import json, re, sys
from collections import Counter
word = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
counts, df = Counter(), Counter()
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        words = word.findall(line.lower())
        counts.update(words)
        df.update(set(words))
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for i, (w, c) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))):
        out.write(json.dumps({"token": w, "id": i, "count": c, "df": df[w]}) + "\n")
"""

BOW_SCRIPT = r"""
import json, re, sys
from collections import Counter
word = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
with open(sys.argv[2], encoding="utf-8") as f:
    ids = {r["token"]: r["id"] for r in map(json.loads, list(f)[1:])}
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[3], "w", encoding="utf-8") as out:
    for line in f:
        c = Counter(ids.get(w, 1) for w in word.findall(line.lower()))
        keys = sorted(c)
        out.write(json.dumps({"size": len(ids), "indices": keys, "values": [c[k] for k in keys]}) + "\n")
"""


def corpus_of(words_m: float, tmp: str) -> tuple[str, int]:
    """A file of about ``words_m`` million words cut from (or repeating) the benchmark corpus."""
    import datasets

    src = str(datasets.text_corpus_path())
    with open(src, encoding="utf-8") as f:
        lines = f.readlines()
    target = int(words_m * 1e6)
    path = os.path.join(tmp, f"corpus-{words_m:g}M.txt")
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        while n < target:
            for line in lines:
                out.write(line)
                n += len(line.split())
                if n >= target:
                    break
    return path, n


ENV = {**os.environ, "PYTHONPATH": ROOT}


def installed_env(cache: str) -> dict:
    """The children's environment as an installed package runs: bytecode cached (pip compiles a package's
    modules when it installs it). With PYTHONDONTWRITEBYTECODE set, a checkout run as ``python -m`` compiles
    every module it imports from source at each start (~0.03 s for the vocab command), a cost no installed
    copy pays; the one-file script pays nothing either way (a main script is never cached)."""
    env = {k: v for k, v in ENV.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the command's helper processes included) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", type=float, action="append", help="millions of words (repeatable; default 1, 50)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--from-source", action="store_true",
                    help="keep the environment's bytecode setting (PYTHONDONTWRITEBYTECODE makes every start of "
                         "the checkout compile its modules) instead of running as an installed copy does")
    args = ap.parse_args(argv)
    import isa

    # neither side runs numba or BLAS: the CPU's instruction set is what there is to report
    print("cpu:", isa.cpu_model(), f"({isa.cpu_isa()}; no numba on either side)", "; load:", os.getloadavg())
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        if not args.from_source:
            ENV.clear()
            ENV.update(installed_env(os.path.join(tmp, "pycache")))
        print("bytecode:", "as the environment says" if args.from_source else "cached, as installed")
        vocab_script = os.path.join(tmp, "vocab_counter.py")
        bow_script = os.path.join(tmp, "bow_counter.py")
        with open(vocab_script, "w") as f:
            f.write(VOCAB_SCRIPT)
        with open(bow_script, "w") as f:
            f.write(BOW_SCRIPT)
        for words_m in args.words or [1, 50]:
            corpus, n = corpus_of(words_m, tmp)
            vocab = os.path.join(tmp, "vocab.jsonl")
            cmds = {
                "vocab": ([py, "-m", "rnntools", "-q", "vocab", corpus, "-o", vocab],
                          [py, vocab_script, corpus, os.path.join(tmp, "vocab-script.jsonl")]),
                "bow": ([py, "-m", "rnntools", "-q", "bow", "--vocab", vocab, corpus, "-o",
                         os.path.join(tmp, "bow.jsonl")],
                        [py, bow_script, corpus, vocab, os.path.join(tmp, "bow-script.jsonl")]),
            }
            timed(cmds["vocab"][0])  # warm: file cache, bytecode, and the vocabulary bow reads
            for ours_cmd, script_cmd in cmds.values():
                timed(ours_cmd)
                timed(script_cmd)
            reps = args.reps if words_m <= 10 else max(1, args.reps // 2)
            for what, (ours_cmd, script_cmd) in cmds.items():
                ours, script = [], []
                for _ in range(reps):
                    ours.append(timed(ours_cmd))
                    script.append(timed(script_cmd))
                a, b = (statistics.median(w for w, _ in runs) for runs in (ours, script))
                ca, cb = (statistics.median(c for _, c in runs) for runs in (ours, script))
                print(f"{what:<6} {n / 1e6:6.2f}M words: rnntools {a:7.2f} s ({n / a / 1e6:.2f}M words/s), "
                      f"Counter+regex {b:7.2f} s ({n / b / 1e6:.2f}M words/s), ratio {b / a:.2f}x "
                      f"({reps} reps); CPU s (user+sys, helpers included) {ca:.3f} / {cb:.3f}", flush=True)
            os.remove(corpus)
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
