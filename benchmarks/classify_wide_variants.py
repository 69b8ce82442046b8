"""The classifier's wide part alone, fitted as training fits it (``linear.fit_linear``: C by the first
fold's held-out loss, out-of-fold logits, refit on every training text), on other rows and as two models:
test accuracy on the sets' fixed test parts and the out-of-fold log loss on the training part.

Variants (``--variants``, comma-separated):
  * ``binary``: the rows with binary tf (``rows: "blocks"``, the sentence sets' default);
  * ``tf``: sublinear tf (``rows: "blocks+tf"``, the document sets' default);
  * ``wordsW`` (e.g. ``words0.7``): binary rows whose word block has squared length W and character block
    1 - W (0.5 is ``binary``): a heavier word block is a weaker penalty on its weights;
  * ``sep``: a word-only and a character-only model, each fitted with its own C, their logits mixed
    ``a z_words + (1 - a) z_chars`` with a in {0, 0.1, ..., 1} and a temperature chosen by the out-of-fold
    log loss (``sep`` also prints the plain sum, a = 0.5); ``septf`` the same on tf rows;
  * ``nb`` suffixes (NBSVM's log-count ratios, ``fit_linear(nb=True)``: each fold's own ratios scale the
    weights' penalty): ``sepnbw`` (``sep``, the word model with NB), ``sepnb`` (both models with NB),
    ``tfnb``/``binarynb`` (one model with NB); a further ``lo`` suffix (``sepnbwlo``) fits the NB models
    over C from 0.1 (NB's scaled rows want a stronger penalty: they choose the grid's smallest C, 1);
  * a ``tri`` suffix (``septri``, ``sepnbwlotri``) adds each text's word trigrams to its word block (hashed
    here with ``zlib.crc32``, not by the library's kernel; the idf recomputed): measured, not adopted.

    nice -n 19 python3 benchmarks/classify_wide_variants.py --sets amazon,nyt --variants binary,tf,sep
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

B = 1 << 18


def rows(grams, idf, tf: bool, word_share: float = 0.5, which: str = "both"):
    """CSR rows as ``features.wide_matrix`` makes them, with the word block's squared length ``word_share``
    (the character block's ``1 - word_share``), or one block alone (``which``: words, chars)."""
    from scipy.sparse import csr_matrix

    lengths = np.fromiter(map(len, grams), np.int64, len(grams))
    ids = np.concatenate(grams)
    rowid = np.repeat(np.arange(len(grams)), lengths)
    block = (ids >= B).astype(np.int64)
    vals = idf[ids - B * block].astype(np.float64)
    if tf:
        vals *= 1.0 + np.log(np.concatenate(grams.tf))
    keep = np.ones(len(ids), bool) if which == "both" else (block == (0 if which == "words" else 1))
    ids, rowid, block, vals = ids[keep], rowid[keep], block[keep], vals[keep]
    group = rowid * 2 + block
    scale = 1.0 / np.sqrt(np.maximum(np.bincount(group, vals ** 2, minlength=2 * len(grams)), 1e-30))
    if which == "both":
        scale *= np.sqrt(np.where(np.arange(2 * len(grams)) % 2 == 0, word_share, 1.0 - word_share))
    indptr = np.zeros(len(grams) + 1, np.int64)
    np.cumsum(np.bincount(rowid, minlength=len(grams)), out=indptr[1:])
    X = csr_matrix(((vals * scale[group]).astype(np.float32), ids - B * block, indptr), shape=(len(grams), B))
    X.sum_duplicates()
    return X


def run_set(name: str, variants: list[str], seed: int = 1, max_train: int = 0, draw: int = 0) -> None:
    from classify_vs_baselines import load_set
    from datasets import label_ids

    from rnntools.tasks.classify import features as F
    from rnntools.tasks.classify import linear as L
    from rnntools.tasks.classify.model import fit_temperature

    tr_x, tr_y, te_x, te_y = load_set(name)
    if 0 < max_train < len(tr_x):        # classify_vs_baselines.py --max-train's draw
        import random

        keep = sorted(random.Random(draw).sample(range(len(tr_x)), max_train))
        tr_x, tr_y = [tr_x[i] for i in keep], [tr_y[i] for i in keep]
    labels, y, gold = label_ids(tr_y, te_y)
    K, ones = len(labels), np.ones(len(y))
    g_tr = F.ngram_ids_of_texts(tr_x, B, blocks=True, tf=True)
    g_te = F.ngram_ids_of_texts(te_x, B, blocks=True, tf=True)
    idf_all = F.idf_weights(g_tr, B)
    # ``min2`` suffix: a bucket in fewer than two training texts weighs 0 (the character baseline's min_df=2)
    idf_min2 = np.where(idf_all < np.log((1.0 + len(tr_x)) / 2.0) + 1.0 - 1e-6, idf_all, 0).astype(np.float32)

    tri = {}

    def with_trigrams(g, texts):
        """``g`` with each text's word trigrams added to its word block (``tri`` suffix)."""
        if id(g) not in tri:
            docs, tfs = [], []
            for ids, tf, text in zip(g, g.tf, texts):
                w = F._wide_tokens(text)[:5000]
                extra = np.array([zlib.crc32(" ".join(w[i:i + 3]).encode()) % B for i in range(len(w) - 2)],
                                 np.int64)
                u, c = np.unique(np.concatenate([ids, extra]), return_counts=True)
                # the trigram's count added to an id it shares with another gram (a hash collision)
                base = dict(zip(ids.tolist(), tf.tolist()))
                tfs.append(np.array([base.get(i, 0) + k - (i in base) for i, k in zip(u.tolist(), c.tolist())],
                                    np.int32))
                docs.append(u)
            tri[id(g)] = F.Grams(docs, tfs)
        return tri[id(g)]

    def acc(Z, truth):
        return float(np.mean(Z.argmax(1) == truth))

    g_tr0, g_te0 = g_tr, g_te
    for v in variants:
        start = time.process_time()
        label = v
        g_tr, g_te = g_tr0, g_te0
        if v.endswith("tri"):
            v = v.removesuffix("tri")
            g_tr, g_te = with_trigrams(g_tr0, tr_x), with_trigrams(g_te0, te_x)
        idf = idf_min2 if v.endswith("min2") else idf_all
        if g_tr is not g_tr0:
            idf = F.idf_weights(g_tr, B)
        v = v.removesuffix("min2")
        lo = {"Cs": (0.1, 0.3) + L.CS} if v.endswith("lo") else {}
        v = v.removesuffix("lo")
        tf = v in ("tf", "septf", "tfnb")
        if v.startswith("sep"):
            parts = []
            for which in ("words", "chars"):
                nb = v == "sepnb" or (v == "sepnbw" and which == "words")
                W, b, info, oof = L.fit_linear(rows(g_tr, idf, tf, which=which), y, np.ones(K), K, seed=seed,
                                               nb=nb, **(lo if nb else {}))
                parts.append((np.asarray(rows(g_te, idf, tf, which=which) @ W) + b, oof, info["C"]))
            best = None
            for a in np.linspace(0.0, 1.0, 11):
                z = a * parts[0][1] + (1 - a) * parts[1][1]
                loss = L.val_loss(z / fit_temperature(z, y), y, ones)
                if best is None or loss < best[0] - 1e-12:
                    best = (loss, a)
            loss, a = best
            Z = a * parts[0][0] + (1 - a) * parts[1][0]
            note = (f"C {parts[0][2]:g}/{parts[1][2]:g} a {a:.1f} sum {acc(parts[0][0] + parts[1][0], gold):.4f} "
                    f"words {acc(parts[0][0], gold):.4f} chars {acc(parts[1][0], gold):.4f}")
        else:
            share = float(v[len("words"):]) if v.startswith("words") else 0.5
            W, b, info, oof = L.fit_linear(rows(g_tr, idf, tf, share), y, np.ones(K), K, seed=seed,
                                           nb=v.endswith("nb"), **lo)
            Z = np.asarray(rows(g_te, idf, tf, share) @ W) + b
            loss, note = L.val_loss(oof, y, ones), f"C {info['C']:g}"
        print(f"{name:15s} {label:9s} test {acc(Z, gold):.4f}  oof loss {loss:.4f}  {note}  "
              f"cpu {time.process_time() - start:.1f}s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="tweets,amazon,nyt,spam,reviews,mr_aside,rt_aside,reuters5_aside,news5_aside")
    ap.add_argument("--variants", default="binary,tf,words0.7,sep")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=0, help="as classify_vs_baselines.py's")
    ap.add_argument("--draw", type=int, default=0, help="as classify_vs_baselines.py's")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and instruction set
    print("cpu:", isa.report(torch_side=False), flush=True)
    for name in args.sets.split(","):
        run_set(name, args.variants.split(","), args.seed, args.max_train, args.draw)
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
