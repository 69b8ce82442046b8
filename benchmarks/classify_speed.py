"""Training time on 10k sentences and prediction speed: rnntools' classifier with its defaults against
TF-IDF (word 1-2-grams) + logistic regression, side by side, alternating, medians (issue 14's targets:
training on 10k sentences within 60 s on 2 cores, prediction at 5,000 sentences/s or more).

The data: a benchmark set of benchmarks/datasets.py (default ``glosses``: 10,000 WordNet definitions,
26 classes, 4,000 to predict). Both sides get the same --threads (rnntools through its own option, the
baseline through threadpoolctl); the baseline is timed with C fixed (one fit) and with C chosen by 3-fold
cross-validation over 5 values, as the accuracy benchmark runs it.

    flock /tmp/rnntools-bench.lock python3 benchmarks/classify_speed.py --threads 2 --reps 3

``--predict-only MODEL`` skips training: a classifier trained on the set's training texts is timed
predicting its test texts in this process (after one warm call: numba's start is paid once per process)
and as whole ``rnntools predict`` processes (start-up, model load, JSONL in and out; wall and CPU
seconds), alternating with the baseline (fitted once, C = 10). The processes run as an installed copy
does, with bytecode cached (``cli_text.installed_env``); ``--from-source`` keeps the environment's
``PYTHONDONTWRITEBYTECODE``, under which every start of a checkout compiles the modules it imports:

    cd /tmp && PYTHONPATH=<checkout> flock /tmp/rnntools-bench.lock python3 <checkout>/benchmarks/classify_speed.py \
        --predict-only g.npz --threads 2 --reps 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def rnntools_side(train_path, te_x, threads, seed, out_dir):
    from rnntools.tasks import classify

    model = os.path.join(out_dir, "clf.npz")
    start, cpu = time.perf_counter(), time.process_time()
    summary = classify.train([train_path], model, {"threads": threads, "seed": seed})
    train_s, train_cpu = time.perf_counter() - start, time.process_time() - cpu
    loaded = classify.load(model)
    start, cpu = time.perf_counter(), time.process_time()
    n = sum(1 for _ in classify.predict(loaded, ({"text": t} for t in te_x), warn=False))
    predict_s, predict_cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"train_s": train_s, "train_cpu_s": train_cpu, "epochs": summary["epochs"],
            "predict_per_s": n / predict_s, "predict_per_cpu_s": n / predict_cpu}


def predict_only(model_path, tr_x, tr_y, te_x, threads, reps, tmp, from_source=False):
    """Library and whole-process prediction speed of a trained model, alternating with the baseline's."""
    import resource
    import subprocess

    from cli_text import installed_env
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    from rnntools.tasks import classify

    texts_path = os.path.join(tmp, "texts.jsonl")
    with open(texts_path, "w", encoding="utf-8") as f:
        for t in te_x:
            f.write(json.dumps({"text": t}) + "\n")
    loaded = classify.load(model_path)
    list(classify.predict(loaded, ({"text": t} for t in te_x[:64]), warn=False))   # numba's start, once
    with threadpool_limits(threads):
        pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                             LogisticRegression(C=10.0, max_iter=2000)).fit(tr_x, tr_y)
    cmd = [sys.executable, "-m", "rnntools", "-q", "predict", os.path.abspath(model_path), texts_path,
           "--threads", str(threads), "-o", os.path.join(tmp, "out.jsonl")]
    env = None if from_source else installed_env(os.path.join(tmp, "pycache"))
    subprocess.run(cmd, check=True, cwd=tmp, env=env)      # bytecode written, kernels' cache checked
    lib, proc, proc_cpu, base = [], [], [], []
    for _ in range(reps):
        start = time.perf_counter()
        n = sum(1 for _ in classify.predict(loaded, ({"text": t} for t in te_x), warn=False))
        lib.append(n / (time.perf_counter() - start))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=tmp, env=env)
        proc.append(len(te_x) / (time.perf_counter() - start))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        with threadpool_limits(threads):
            start = time.perf_counter()
            pipe.predict(te_x)
            base.append(len(te_x) / (time.perf_counter() - start))
    for name, rates in (("rnntools library", lib), ("rnntools predict process", proc),
                        ("tfidf_lr_C10 library", base)):
        print(f"  {name:25s} {statistics.median(rates):9.0f} texts/s (median of {reps}; "
              f"{min(rates):.0f}-{max(rates):.0f})")
    print(f"  rnntools predict process: {statistics.median(len(te_x) / r for r in proc):.3f} s wall, "
          f"{statistics.median(proc_cpu):.3f} CPU s (medians; bytecode "
          f"{'as the environment says' if from_source else 'cached, as installed'})")


def baseline_side(tr_x, tr_y, te_x, threads, cv):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        start, cpu = time.perf_counter(), time.process_time()
        pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                             LogisticRegression(C=10.0, max_iter=2000))
        if cv:
            pipe = GridSearchCV(pipe, {"logisticregression__C": (0.3, 1.0, 3.0, 10.0, 30.0)}, cv=3, n_jobs=1)
        pipe.fit(tr_x, tr_y)
        train_s, train_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        pipe.predict(te_x)
        predict_s, predict_cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"train_s": train_s, "train_cpu_s": train_cpu, "predict_per_s": len(te_x) / predict_s,
            "predict_per_cpu_s": len(te_x) / predict_cpu}


def main():
    from datasets import text_classification_set
    from isa import cpu_model, numba_isa

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="glosses")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--predict-only", metavar="MODEL", help="time prediction with this trained model only")
    ap.add_argument("--from-source", action="store_true",
                    help="with --predict-only: keep the environment's bytecode setting instead of running the "
                         "processes as an installed copy does")
    args = ap.parse_args()
    from rnntools import console
    from rnntools.parallel import configure_threads

    console.configure(quiet=True)
    configure_threads(args.threads)
    tr_x, tr_y, te_x, _ = text_classification_set(args.set)
    print(f"{args.set}: {len(tr_x)} training texts, {len(te_x)} to predict, {len(set(tr_y))} classes, "
          f"--threads {args.threads}", flush=True)
    if args.predict_only:
        with tempfile.TemporaryDirectory() as tmp:
            predict_only(args.predict_only, tr_x, tr_y, te_x, args.threads, args.reps, tmp, args.from_source)
        print("CPU:", cpu_model(), "|", numba_isa())
        print("uptime:", os.popen("uptime").read().strip())
        return
    runs: dict[str, list[dict]] = {"rnntools": [], "tfidf_lr_C10": [], "tfidf_lr_cv": []}
    with tempfile.TemporaryDirectory() as tmp:
        train_path = os.path.join(tmp, "train.jsonl")
        with open(train_path, "w", encoding="utf-8") as f:
            for t, y in zip(tr_x, tr_y):
                f.write(json.dumps({"text": t, "label": y}) + "\n")
        for rep in range(args.reps):
            for name in runs:
                r = (rnntools_side(train_path, te_x, args.threads, args.seed, tmp) if name == "rnntools"
                     else baseline_side(tr_x, tr_y, te_x, args.threads, name.endswith("cv")))
                runs[name].append(r)
                print(f"  rep {rep} {name:13s} {json.dumps(r)}", flush=True)
    print("\nmedians:")
    med = {name: {k: statistics.median(r[k] for r in rs)
                  for k in ("train_s", "train_cpu_s", "predict_per_s", "predict_per_cpu_s")}
           for name, rs in runs.items()}
    for name, m in med.items():
        print(f"  {name:13s} train {m['train_s']:7.1f} s ({m['train_cpu_s']:7.1f} CPU s)   predict "
              f"{m['predict_per_s']:9.0f} texts/s ({m['predict_per_cpu_s']:9.0f} per CPU s)")
    base = med["tfidf_lr_cv"]
    print(f"  rnntools / tfidf_lr_cv: train time x{med['rnntools']['train_s'] / base['train_s']:.2f}, "
          f"prediction speed x{med['rnntools']['predict_per_s'] / base['predict_per_s']:.2f}")
    print("CPU:", cpu_model(), "|", numba_isa())
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
