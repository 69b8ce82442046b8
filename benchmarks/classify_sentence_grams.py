"""The wide part of two-class sentences (two linear models, ``linear.fit_two_linear`` as training calls it:
the word model plain or on NBSVM's ratios, whichever the out-of-fold loss prefers) on other grams: test
accuracy on the sets' fixed test parts, the out-of-fold log loss of the mix (what the library chooses by),
the words' weight and each model's C.

Variants (``--variants``, comma-separated; ``lib`` is the library's rows as they are, the others add to
them, and may be joined with ``+``):
  * ``negN`` (``neg`` unbounded): negation scope. After a negation word (not, no, never, nothing, ...,
    and ``n't`` as the tokeniser splits it: ``don ' t``) each word up to the next punctuation mark (at
    most N words) also gives the word block a marked unigram (``NOT_word``; Das and Chen 2001, Pang et al.
    2002); the text's other grams stay;
  * ``xw``: character 3..5-grams across word boundaries (of the words joined by one space, those with a
    space inside), added to the character block: "t g", "n't go", what a word's own grams cannot see;
  * ``libneg``: the library's rows "sep+neg" (``features.negation_flags``, scope 3, hashed by its kernel):
    ``neg3`` as the defaults make it;
  * ``cAB`` (e.g. ``c26``): the character grams of lengths A..B (boundary marks included) instead of 3..5;
  * ``but`` (``but2``): contrast. Each word after a contrast word (but, however, yet, though, ...) up to
    the end of its sentence also gives a marked unigram (``but2``: the words before it in that sentence
    too, marked otherwise): the clause after "but" usually carries the verdict;
  * ``hc``: the character model's C grid up to 1000 (it chose the grid's top, 100, on most sets);
  * ``mix3``: the plain and the NB word models both kept (``"choose"`` fits both already), the three
    models' logits mixed with weights on a grid of 0.1 over the simplex, chosen by the out-of-fold loss
    after a temperature: one matrix at prediction, as today (the weights times each model's W, summed).

With ``--dump DIR[,DIR...]`` (``classify_vs_baselines.py --dump DIR``, the same ``--seed``: every
``<set>.*.npz`` there, networks of any variant whose wide part is the default's) and a set
of 8,000 texts or more (the network learns the labels on its own there, so it does not depend on the wide
part), each variant is also scored as the whole model: the dumped network mixed in by the library's rule
(``training.combine``: the share with the lowest validation loss at its temperature) with this variant's
out-of-fold logits on the validation texts and its test logits.

Extra grams are hashed here with ``zlib.crc32`` into the block's buckets (the library's kernel hashes the
rest); the idf is recomputed over the new grams.

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python3 benchmarks/classify_sentence_grams.py \
        --sets rt_large_aside,mr_aside --variants lib,neg,neg3,xw,neg+xw --seed 1
    # where a run's errors are (a dump of classify_vs_baselines.py --dump):
    python3 benchmarks/classify_sentence_grams.py --sets rt_large_aside --slices DIR/rt_large_aside.default.npz
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
NEGATIONS = frozenset("not no never nothing nobody none nowhere neither nor cannot dont doesnt didnt isnt wasnt "
                      "arent werent cant wont couldnt shouldnt wouldnt hasnt havent hadnt aint".split())
APOSTROPHES = frozenset("'\u2019`")
CONTRASTS = frozenset("but however yet though although nevertheless nonetheless whereas".split())
SENTENCE_ENDS = frozenset(".!?;")


def contrasted(words: list[str]) -> tuple[list[str], list[str]]:
    """The words after a contrast word (but, however, yet, though, ...) up to the end of the sentence, and
    the words before it in that sentence: where a review's verdict usually turns."""
    after, before, start, inside = [], [], 0, False
    for i, w in enumerate(words):
        if w in SENTENCE_ENDS:
            start, inside = i + 1, False
        elif w in CONTRASTS:
            if not inside:
                before += [x for x in words[start:i] if x[0].isalnum()]
            inside = True
        elif inside and w[0].isalnum():
            after.append(w)
    return after, before


def negated(words: list[str], limit: int = 0) -> list[str]:
    """The words in a negation's scope: after a negation word (or ``n ' t``), up to the next punctuation
    mark other than an apostrophe, at most ``limit`` words (0: no limit)."""
    out, left, i = [], 0, 0
    while i < len(words):
        w = words[i]
        cue = w in NEGATIONS or (w == "t" and i >= 2 and words[i - 1] in APOSTROPHES and words[i - 2].endswith("n"))
        if cue:
            left = limit or 10 ** 9
        elif not w[0].isalnum():
            if w not in APOSTROPHES:
                left = 0
        elif left > 0:
            out.append(w)
            left -= 1
        i += 1
    return out


def cross_word_grams(words: list[str], lo: int = 3, hi: int = 5) -> list[str]:
    s = " ".join(w for w in words)
    out = []
    for n in range(lo, hi + 1):
        for a in range(0, len(s) - n + 1):
            g = s[a:a + n]
            if " " in g[1:-1]:
                out.append(g)
    return out


def grams_of(texts, variant: str):
    """Each text's distinct ids (sorted int64; words below B, characters from B) for ``variant``."""
    from rnntools.tasks.classify import features as F

    parts = variant.split("+")
    char_range = (3, 5)
    for p in parts:
        if p.startswith("c") and p[1:].isdigit():
            char_range = (int(p[1]), int(p[2]))
    docs = F.ngram_ids_of_texts(texts, B, True, blocks=True, char_range=char_range, negation="libneg" in parts)
    neg = [p for p in parts if p.startswith("neg")]
    xw = "xw" in parts
    but = [p for p in parts if p.startswith("but")]
    if not neg and not xw and not but:
        return docs
    out = []
    for ids, text in zip(docs, texts):
        words = F._wide_tokens(text)[:5000]
        extra = []
        if neg:
            limit = int(neg[0][3:] or 0)
            extra += [zlib.crc32(("\x01NOT " + w).encode()) % B for w in negated(words, limit)]
        if but:
            after, before = contrasted(words)
            extra += [zlib.crc32(("\x03BUT " + w).encode()) % B for w in after]
            if but[0] == "but2":
                extra += [zlib.crc32(("\x04PRE " + w).encode()) % B for w in before]
        if xw:
            extra += [zlib.crc32(("\x02" + g).encode()) % B + B for g in cross_word_grams(words)]
        out.append(np.unique(np.concatenate([ids, np.array(extra, np.int64)])))
    return out


def chosen_share(z_lin, z_net, y_val) -> float:
    """The network's share as ``training.combine`` chooses it: the lowest validation loss at each share's
    temperature, ties to the smaller share."""
    from rnntools.tasks.classify.linear import val_loss
    from rnntools.tasks.classify.model import fit_temperature
    from rnntools.tasks.classify.training import lowest_share

    w = np.ones(len(y_val))
    losses = []
    for s in np.linspace(0.0, 1.0, 11):
        z = z_lin + s * z_net
        losses.append(val_loss(z / fit_temperature(z, y_val), y_val, w))
    return lowest_share(losses)[0] / 10


def whole_model(dump: str, y_all, oof, Z, seed: int):
    """The test accuracy and share of the dumped network mixed with a wide part whose out-of-fold logits
    on the labelled texts (``y_all``: their class ids) are ``oof`` and test logits ``Z``, the share chosen
    as ``training.combine`` chooses it; and how far this variant's validation logits are from the dump's."""
    from rnntools.tasks.classify.data import stratified_split
    from rnntools.tasks.classify.task import DEFAULTS

    d = np.load(dump)
    y_val = d["y_val"]
    _, val_idx = stratified_split(y_all, DEFAULTS["val_fraction"], np.random.default_rng([seed, 3]))
    assert np.array_equal(y_all[val_idx], y_val), "another split: the dump is of another seed"
    z_lin = oof[val_idx]
    share = chosen_share(z_lin, d["val_net"], y_val)
    acc = float(np.mean((Z + share * d["test_net"]).argmax(1) == d["y_test"]))
    return acc, share, float(np.abs(z_lin - d["val_wide"]).max())


def run_set(name: str, variants: list[str], seed: int, dump_dir: str | None = None) -> None:
    from classify_vs_baselines import load_set
    from datasets import label_ids

    from rnntools.tasks.classify import features as F
    from rnntools.tasks.classify import linear as L

    tr_x, tr_y, te_x, te_y = load_set(name)
    labels, y, gold = label_ids(tr_y, te_y)
    K = len(labels)
    import glob

    dumps = sorted(f for d in (dump_dir.split(",") if dump_dir else [])
                   for f in glob.glob(os.path.join(d, f"{name}.*npz")))
    for v in variants:
        start = time.process_time()
        g_tr, g_te = grams_of(tr_x, v), grams_of(te_x, v)
        idf = F.idf_weights(g_tr, B)
        X = F.wide_values(g_tr, idf, None, separate=True).matrix()
        Xt = F.wide_values(g_te, idf, None, separate=True).matrix()
        fit = L.fit_linear
        if "hc" in v.split("+"):
            def fit(*a, _f=L.fit_linear, **kw):
                return _f(*a, **({} if kw.get("nb") else {"Cs": L.CS + (300.0, 1000.0)}), **kw)
        saved, L.fit_linear = L.fit_linear, fit
        try:
            if "mix3" in v.split("+"):
                Z, loss, note, oof = mix3(X, Xt, y, K, seed)
            else:
                W, b, info, oof = L.fit_two_linear(X, y, np.ones(K), K, seed=seed)
                Z = np.asarray(Xt @ W) + b
                a = info["word_weight"]
                loss = info["oof_loss_by_word_weight"].get(f"{a:.1f}")
                note = f"a {a:.1f}  nb {int(info['nb_words'])}  C {info['C']:g}/{info['C_chars']:g}"
        finally:
            L.fit_linear = saved
        if dumps:
            scored = [whole_model(f, y, oof, Z, seed) for f in dumps]
            note += (f"  whole: mean of {len(dumps)} networks {np.mean([a for a, _, _ in scored]):.4f} ("
                     + " ".join(f"{a:.4f}/{sh:.1f}" for a, sh, _ in scored)
                     + f"; val wide vs dumps <= {max(d for _, _, d in scored):.1e})")
        print(f"{name:15s} {v:14s} test {np.mean(Z.argmax(1) == gold):.4f}  oof loss {loss:.4f}  {note}  "
              f"cpu {time.process_time() - start:.1f}s", flush=True)


def mix3(X, Xt, y, K, seed):
    """The chars, plain words and NB words models, mixed by weights on the simplex (grid 0.1) with the
    lowest out-of-fold loss after a temperature: (test logits, that loss, a note)."""
    from rnntools.tasks.classify import linear as L
    from rnntools.tasks.classify.model import fit_temperature

    half = X.shape[1] // 2
    fits = [L.fit_linear(X[:, half:], y, np.ones(K), K, seed=seed),
            L.fit_linear(X[:, :half], y, np.ones(K), K, seed=seed),
            L.fit_linear(X[:, :half], y, np.ones(K), K, seed=seed, nb=True, Cs=L.NB_CS)]
    tests = [np.asarray(Xt[:, half:] @ fits[0][0]) + fits[0][1]] + [np.asarray(Xt[:, :half] @ f[0]) + f[1]
                                                                    for f in fits[1:]]
    best = None
    w = np.ones(len(y))
    for i in range(11):
        for j in range(11 - i):
            c = np.array([i, j, 10 - i - j]) / 10.0
            z = sum(ci * f[3] for ci, f in zip(c, fits))
            loss = L.val_loss(z / fit_temperature(z, y), y, w)
            if best is None or loss < best[0] - 1e-12:
                best = (loss, c)
    loss, c = best
    Z = sum(ci * t for ci, t in zip(c, tests))
    oof = sum(ci * f[3] for ci, f in zip(c, fits))
    Cs = "/".join(f"{f[2]['C']:g}" for f in fits)
    return Z, loss, f"chars/words/nb {c[0]:.1f}/{c[1]:.1f}/{c[2]:.1f}  C {Cs}", oof


def slices(name: str, dump: str) -> None:
    """Test accuracy of the dumped run's wide part, network and mix (at the run's share) on slices of the
    test texts: with a negation, with a contrast word, by length, by the share of words unseen in training."""
    from classify_vs_baselines import load_set

    from rnntools.tasks.classify.features import _wide_tokens

    tr_x, _, te_x, _ = load_set(name)
    d = np.load(dump)
    y, zw, zn = d["y_test"], d["test_wide"], d["test_net"]
    share = chosen_share(d["val_wide"], d["val_net"], d["y_val"])
    words = [_wide_tokens(t) for t in te_x]
    seen = {w for t in tr_x for w in _wide_tokens(t)}
    length = np.array([len(w) for w in words])
    unseen = np.array([np.mean([x not in seen for x in ws if x[0].isalnum()] or [0.0]) for ws in words])
    rows = [("all", np.ones(len(y), bool)),
            ("a negation", np.array([bool(negated(w)) for w in words])),
            ("a contrast word", np.array([any(x in CONTRASTS for x in w) for w in words])),
            ("under 10 tokens", length < 10), ("10-19 tokens", (length >= 10) & (length < 20)),
            ("20-29 tokens", (length >= 20) & (length < 30)), ("30 tokens or more", length >= 30),
            ("no unseen word", unseen == 0), ("up to 10% unseen", (unseen > 0) & (unseen <= 0.1)),
            ("over 10% unseen", unseen > 0.1)]
    print(f"{name}: share {share:.1f}")
    for label, m in rows:
        accs = [float(np.mean(z[m].argmax(1) == y[m])) for z in (zw, zn, zw + share * zn)]
        print(f"  {label:18s} {int(m.sum()):5d} texts  wide {accs[0]:.4f}  network {accs[1]:.4f}  mix {accs[2]:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="tweets,amazon,nyt,mr_aside,rt_aside,rt_large_aside")
    ap.add_argument("--variants", default="lib,neg,neg3,xw")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dump", default=None, help="folder of classify_vs_baselines.py --dump (defaults, same seed)")
    ap.add_argument("--slices", default=None, help="a dump (.npz) of --sets' one set: accuracy by slices")
    args = ap.parse_args()
    if args.slices:
        slices(args.sets, args.slices)
        return
    import isa  # every benchmark says what it ran on: CPU model and instruction set
    print("cpu:", isa.report(torch_side=False), flush=True)
    for name in args.sets.split(","):
        run_set(name, args.variants.split(","), args.seed, args.dump)
    print("uptime:", os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
