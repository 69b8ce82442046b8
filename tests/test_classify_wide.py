"""The classifier's wide part (hashed n-grams), calibration, and how a model reads its inputs."""

import json

import numpy as np
import pytest
from gradcheck import assert_grad

from rnntools.tasks.classify import data as D
from rnntools.tasks.classify import features as F
from rnntools.tasks.classify.model import (
    NetConfig,
    Network,
    expected_calibration_error,
    fit_temperature,
    init_params,
    softmax,
)


def reference_ids(text: str, lo: int, hi: int, buckets: int, char_offset: int) -> list[int]:
    """The distinct n-gram ids of ``text`` by the plain-Python reference hasher (word grams, and character
    lo..hi-grams, offset by ``char_offset``, when hi >= lo)."""
    words = F._wide_tokens(text)
    cps = np.frombuffer("".join(words).encode("utf-32-le"), np.uint32).astype(np.int64)
    lengths = np.array([len(w) for w in words], np.int64)
    ends = np.cumsum(lengths)
    out = np.empty(4 * len(words) + max(hi - lo + 1, 3) * int((lengths + 2).sum()), np.int64)
    k = F._ngram_hashes_py(cps, ends - lengths, ends, lo, hi, buckets, out, char_offset)
    return np.unique(out[:k]).tolist()


def test_hash_kernel_matches_the_python_reference():
    for text in ["The movie was great!", "naïve café, 東京 x", "a", "", "one two  three\tfour"]:
        words = F._wide_tokens(text)
        ids = F.ngram_ids(text, 1 << 16)
        if not words:
            assert ids.size == 0
            continue
        assert ids.tolist() == reference_ids(text, 3, 5, 1 << 16, 0)
        assert F.ngram_ids(text, 1 << 16, blocks=True).tolist() == reference_ids(text, 3, 5, 1 << 16, 1 << 16)


@pytest.mark.parametrize("block", [None, 40])
def test_hash_kernel_over_many_texts_equals_one_text_at_a_time(monkeypatch, block):
    """The batched kernel (several texts per call, blocks of a bounded size) gives each text the ids it
    gets alone, for any text order and block size (40 slots: most blocks hold one or two texts)."""
    if block:
        monkeypatch.setattr(F, "_HASH_BLOCK", block)
    texts = ["The movie was great!", "", "naïve café, 東京 x", "a", "one two  three\tfour", "!!", "good film " * 9]
    for chars in (True, False):
        for blocks in (False, True):
            many = F.ngram_ids_of_texts(texts, 1 << 16, chars, blocks=blocks)
            assert len(many) == len(texts)
            for text, ids in zip(texts, many):
                want = reference_ids(text, 3, 5 if chars else 2, 1 << 16, (1 << 16) if blocks else 0)
                assert ids.dtype == np.int64 and ids.tolist() == want
    assert F.ngram_ids_of_texts([], 1 << 16) == []


def test_other_character_gram_lengths_match_the_reference():
    """``char_range`` (the benchmark's row variants): the kernel's ids equal the reference's for 2..5 and
    2..4, and the 3..5-grams keep their ids whatever other lengths are added."""
    texts = ["The movie was great!", "a", "naïve café"]
    for lo, hi in ((2, 5), (2, 4)):
        many = F.ngram_ids_of_texts(texts, 1 << 16, blocks=True, char_range=(lo, hi))
        for text, ids in zip(texts, many):
            assert ids.tolist() == reference_ids(text, lo, hi, 1 << 16, 1 << 16)
    wider = F.ngram_ids_of_texts(texts, 1 << 16, char_range=(2, 5))
    assert all(set(a) < set(b) for a, b in zip(F.ngram_ids_of_texts(texts, 1 << 16), wider))


def test_negation_scopes_and_their_marked_unigrams():
    """``negation=True``: each word in a negation's scope (up to ``NEGATION_SCOPE`` words after not, no,
    never, n't..., ended by punctuation other than an apostrophe) also gives a marked unigram of its own,
    the kernel's ids equal the reference hasher's, and the text's other ids stay."""
    words = F._wide_tokens("It is not very good at all, but I don't hate it. Never boring")
    flags = F.negation_flags(words)
    assert [w for w, f in zip(words, flags) if f] == ["very", "good", "at", "hate", "it", "boring"]
    assert F.negation_flags(["no", "'", "fun"]) == [0, 0, 1]          # an apostrophe does not end the scope
    assert F.negation_flags(["it", "'", "s", "good"]) == [0, 0, 0, 0]  # "'s" is no "n't"
    texts = ["not good", "The movie was not great, just fine!", "", "nothing at all", "didn't like it"]
    B = 1 << 16
    plain = F.ngram_ids_of_texts(texts, B, blocks=True)
    for chars in (True, False):
        many = F.ngram_ids_of_texts(texts, B, chars, blocks=True, negation=True, tf=True)
        for text, ids, tf, base in zip(texts, many, many.tf, plain):
            w = F._wide_tokens(text)
            cps = np.frombuffer("".join(w).encode("utf-32-le"), np.uint32).astype(np.int64)
            lengths = np.array([len(x) for x in w], np.int64)
            ends = np.cumsum(lengths)
            out = np.empty(5 * len(w) + 3 * int((lengths + 2).sum()), np.int64)
            neg = np.array(F.negation_flags(w), np.int8)
            k = F._ngram_hashes_py(cps, ends - lengths, ends, 3, 5 if chars else 2, B, out, B, neg)
            want, counts = np.unique(out[:k], return_counts=True)
            assert ids.tolist() == want.tolist() and tf.tolist() == counts.tolist()
            if chars:
                assert set(base.tolist()) <= set(ids.tolist())
                assert (len(ids) > len(base)) == bool(neg.any())
    marked = F.ngram_ids_of_texts(["not good"], B, False, negation=True)[0]
    assert len(marked) == 4          # "not", "good", the bigram, and "good" marked


def test_sentence_rows_with_negation_train_and_predict_as_recorded(tmp_path, run_cli, monkeypatch):
    """Rows "sep+neg" (``NEGATION`` on; not the default): ``rows_options`` asks for the marked unigrams
    and the other rows do not; a model trained so records them, and predict reads its texts that way
    (a negated word's marked column counts; the plain rows would leave it out)."""
    from rnntools.io import load_model
    from rnntools.tasks.classify import load

    assert F.rows_options("sep+neg") == {"blocks": True, "tf": False, "separate": True, "negation": True}
    assert not F.rows_options("sep")["negation"] and not F.rows_options(None)["negation"]
    assert F.rows_for(["a short sentence"] * 3, 2) == "sep"
    monkeypatch.setattr(F, "NEGATION", True)
    assert F.rows_for(["a short sentence"] * 3, 2) == "sep+neg"
    assert F.rows_for(["a short sentence"] * 3, 3) == "blocks"
    rng = np.random.default_rng(5)
    lines = []
    for _ in range(120):
        good = rng.random() < 0.5
        lines.append(f"{'pos' if good else 'neg'}\t{' '.join(rng.choice(['film', 'plot', 'scene'], 2))} "
                     f"{'good' if good else 'not good'}")
    (tmp_path / "t.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(["rnn-train", "--task", "classify", tmp_path / "t.tsv", "-o", tmp_path / "m.npz",
                      "--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--threads", "1", "--wide-buckets", "1024"])
    assert result.exit_code == 0, result.stderr
    assert load_model(tmp_path / "m.npz").meta["wide_fit"]["rows"] == "sep+neg"
    monkeypatch.setattr(F, "NEGATION", False)           # the file decides, not the switch
    model = load(str(tmp_path / "m.npz"))
    texts = ["film not good", "film good"]
    got = model.wide_features(texts).toarray()
    grams = F.ngram_ids_of_texts(texts, 1024, blocks=True, negation=True)
    np.testing.assert_array_equal(got, F.wide_matrix(grams, model.net.params["wide.idf"], separate=True).toarray())
    assert (got[0] != 0).sum() > (F.wide_matrix(F.ngram_ids_of_texts(texts, 1024, blocks=True),
                                                model.net.params["wide.idf"], separate=True).toarray()[0] != 0).sum()


def test_ngram_features_share_subwords_and_rows_have_unit_length():
    a, b = F.ngram_ids("unbelievable", 1 << 18), F.ngram_ids("believable", 1 << 18)
    assert len(set(a) & set(b)) >= 5                       # "bel", "eli", "liev", ... shared
    assert len(F.ngram_ids("good film", 1 << 18, chars=False)) == 3     # two words and their bigram
    docs = [F.ngram_ids(t, 1 << 12) for t in ["good film", "bad film", ""]]
    idf = F.idf_weights(docs[:2], 1 << 12)
    X = F.wide_matrix(docs, idf)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms, [1, 1, 0], atol=1e-6)
    assert idf[F.ngram_ids("film", 1 << 12, chars=False)[0]] < idf[F.ngram_ids("good", 1 << 12, chars=False)[0]]


def test_word_and_character_blocks_are_normalised_apart():
    B = 1 << 12
    texts = ["good film", "bad film", "a very long and rather tedious film indeed", ""]
    docs = [F.ngram_ids(t, B, blocks=True) for t in texts]
    words = [F.ngram_ids(t, B, chars=False) for t in texts]
    for d, w, t in zip(docs, words, texts):
        assert d[d < B].tolist() == w.tolist()                       # the word block is the words' ids
        assert (np.unique(d % B) == F.ngram_ids(t, B)).all()         # the same buckets as one block
    idf = F.idf_weights(docs[:3], B)
    np.testing.assert_array_equal(idf, F.idf_weights([F.ngram_ids(t, B) for t in texts[:3]], B))
    X = F.wide_matrix(docs, idf).toarray().astype(np.float64)
    for i, (d, w) in enumerate(zip(docs, words)):
        if len(d) == 0:
            assert not X[i].any()
            continue
        wv = np.zeros(B)
        wv[w] = idf[w]
        cv = np.zeros(B)
        np.add.at(cv, d[d >= B] - B, idf[d[d >= B] - B])
        expect = (wv / np.linalg.norm(wv) + cv / np.linalg.norm(cv)) / np.sqrt(2)
        np.testing.assert_allclose(X[i], expect, atol=1e-6)


def reference_tf(text: str, buckets: int, char_offset: int) -> tuple[list[int], list[int]]:
    """Each distinct id of ``text`` (word grams, character 3..5-grams) and how often the reference hasher
    makes it."""
    words = F._wide_tokens(text)
    cps = np.frombuffer("".join(words).encode("utf-32-le"), np.uint32).astype(np.int64)
    lengths = np.array([len(w) for w in words], np.int64)
    ends = np.cumsum(lengths)
    out = np.empty(4 * len(words) + 3 * int((lengths + 2).sum()), np.int64)
    k = F._ngram_hashes_py(cps, ends - lengths, ends, 3, 5, buckets, out, char_offset)
    ids, counts = np.unique(out[:k], return_counts=True)
    return ids.tolist(), counts.tolist()


@pytest.mark.parametrize("block", [None, 40])
def test_hash_kernel_counts_each_ids_term_frequency(monkeypatch, block):
    """``tf=True``: the same ids, and each one's count in its text equals the reference hasher's."""
    if block:
        monkeypatch.setattr(F, "_HASH_BLOCK", block)
    texts = ["good good film film film", "", "the cat and the hat, the end", "banana banana", "a"]
    grams = F.ngram_ids_of_texts(texts, 1 << 16, blocks=True, tf=True)
    assert [g.tolist() for g in grams] == [g.tolist() for g in F.ngram_ids_of_texts(texts, 1 << 16, blocks=True)]
    for text, ids, tf in zip(texts, grams, grams.tf):
        want_ids, want_tf = reference_tf(text, 1 << 16, 1 << 16)
        assert ids.tolist() == want_ids and tf.tolist() == want_tf
    assert max(grams.tf[0]) >= 3                            # "film" three times (and its character grams)
    sub = grams.take([2, 0])
    assert sub[1] is grams[0] and sub.tf[0] is grams.tf[2]


def test_sublinear_tf_rows():
    """With ``tf`` a feature's value is ``(1 + log tf) idf`` before each block is normalised; without, the
    idf alone (files written before the option read their rows that way)."""
    B = 1 << 12
    texts = ["good good good film", "bad film film", ""]
    grams = F.ngram_ids_of_texts(texts, B, blocks=True, tf=True)
    idf = F.idf_weights(grams, B)
    X = F.wide_matrix(grams, idf, grams.tf).toarray().astype(np.float64)
    binary = F.wide_matrix(grams, idf).toarray().astype(np.float64)
    for i, (d, tf) in enumerate(zip(grams, grams.tf)):
        if len(d) == 0:
            assert not X[i].any()
            continue
        blocks = []
        for part in (d < B, d >= B):
            v = np.zeros(B)
            np.add.at(v, d[part] % B, idf[d[part] % B] * (1 + np.log(tf[part])))
            blocks.append(v / np.linalg.norm(v))
        np.testing.assert_allclose(X[i], (blocks[0] + blocks[1]) / np.sqrt(2), atol=1e-6)
    assert not np.allclose(X[:2], binary[:2], atol=1e-3)     # repeated words weigh more
    word = F.ngram_ids("good", B, chars=False)[0]
    film = F.ngram_ids("film", B, chars=False)[0]
    assert X[0, word] / X[0, film] > binary[0, word] / binary[0, film]


@pytest.mark.parametrize("rows", [None, "blocks", "blocks+tf"])
def test_rows_times_weights_equals_scipys_product_to_the_byte(rows):
    """``WideRows.times`` (the product ``predict`` makes, without scipy) gives scipy's ``X @ W`` bytes for
    every kind of rows a model file may have, buckets shared by a word and a character gram included, and
    the float64 product of the dense rows to float32 rounding."""
    B = 64                                          # few buckets: words and character grams collide
    texts = ["good good film", "bad film", "", "an unbelievably tedious plot, and yet", "x",
             "Ünïcode wörds ünïcode"] * 3
    blocks, tf = rows is not None, rows == "blocks+tf"
    grams = F.ngram_ids_of_texts(texts, B, blocks=blocks, tf=True)
    idf = F.idf_weights(grams, B)
    W = np.random.default_rng(4).normal(size=(B, 3)).astype(np.float32)
    r = F.wide_rows(texts, {"wide": "words+chars"}, idf, **F.rows_options(rows))
    X = F.wide_matrix(grams, idf, grams.tf if tf else None)
    assert X.shape == (len(texts), B) and (X.nnz < len(r.vals)) == blocks    # buckets shared by both blocks
    got = r.times(W)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.asarray(X @ W))
    np.testing.assert_allclose(got, X.toarray().astype(np.float64) @ W.astype(np.float64), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(r.matrix().toarray(), X.toarray())
    with pytest.raises(ValueError, match="65 rows"):
        r.times(np.zeros((B + 1, 3), np.float32))


@pytest.mark.parametrize("rows", ["blocks", "blocks+tf", "sep", "sep+tf", None])
@pytest.mark.parametrize("idf_dtype", [np.float32, np.float64])
def test_row_values_kernel_equals_numpy_to_the_byte(rows, idf_dtype):
    """``wide_values`` (a numba kernel) gives ``wide_values_numpy``'s arrays byte for byte: rows with both
    blocks, words only (a batch without character grams: no 1/sqrt 2), empty texts, shared buckets."""
    B = 64
    texts = ["good good film", "", "an unbelievably tedious plot, and yet", "x", "Ünïcode wörds ünïcode"] * 3
    opts = F.rows_options(rows)
    for chars in (True, False):
        grams = F.ngram_ids_of_texts(texts, B, chars, blocks=opts["blocks"] and chars, tf=True)
        idf = F.idf_weights(grams, B).astype(idf_dtype)
        tf = grams.tf if opts["tf"] else None
        got = F.wide_values(grams, idf, tf, opts["separate"])
        want = F.wide_values_numpy(grams, idf, tf, opts["separate"])
        assert got.width == want.width
        for name in ("indptr", "cols", "vals", "split"):
            a, b = getattr(got, name), getattr(want, name)
            assert a.dtype == b.dtype, name
            np.testing.assert_array_equal(a, b, err_msg=name)
    empty = F.wide_values([], np.ones(B, np.float32))
    assert len(empty.indptr) == 1 and len(empty.vals) == 0


def test_prediction_projects_each_used_row_once_and_changes_no_logit(tiny, monkeypatch):
    """``predict_logits`` projects only the embedding rows the texts use, each once, and with ``keep`` once
    across calls (``table_projections``); the logits are the same bytes as each batch's tokens projected
    on their own (no memo: the rows gathered per batch) and as the whole vocabulary projected at once."""
    from rnntools.nn import recurrent as R
    from rnntools.tasks.classify import load
    from rnntools.tasks.classify import model as M

    _, path = tiny
    model = load(str(path))
    texts = ["great film", "awful plot", "", "zzz", "scene scene actor great"] * 30 + ["actor", "plot plot"] * 20
    seqs, _, _ = D.encode_texts(model.vocab, texts, 50)
    rows = model.wide_rows(texts)
    V = model.net.cfg.vocab_size
    made = []
    project = R.matmul

    def counting(a, b, out=None, bias=None):
        if a.shape[1] == b.shape[0] == model.net.cfg.embed_dim:    # a table's projection
            made.append(a.shape[0])
        return project(a, b, out=out, bias=bias)

    monkeypatch.setattr(R, "matmul", counting)
    keep: list = []
    first = M.predict_logits(model.net, seqs[:150], rows.matrix()[:150], batch=16, keep=keep)
    used = np.unique(np.concatenate(seqs[:150] + [np.zeros(1, np.int64)]))     # + the padding id
    assert len(used) < V and sum(made) == 2 * len(used)                         # two directions, once each
    assert [entry[5] for entry in keep] == [len(used)] * 2 and all((e[4] >= 0).sum() == len(used) for e in keep)
    made.clear()
    rest = M.predict_logits(model.net, seqs[150:], rows.matrix()[150:], batch=16, keep=keep)
    new = np.setdiff1d(np.unique(np.concatenate(seqs[150:])), used)
    assert sum(made) == 2 * len(new)                                             # only rows not made before
    got = np.concatenate([first, rest])
    monkeypatch.setattr(R, "matmul", project)
    np.testing.assert_array_equal(got, M.predict_logits(model.net, seqs, rows))
    # no memo: each batch projects the whole table (batch 16) or gathers its tokens' rows (batch 1: fewer
    # positions than twice the rows)
    import contextlib

    monkeypatch.setattr(R, "table_projections", lambda keep=None: contextlib.nullcontext())
    for batch in (16, 1):
        np.testing.assert_array_equal(got, M.predict_logits(model.net, seqs, rows.matrix(), batch=batch))
    monkeypatch.undo()
    # the whole vocabulary projected at once
    whole: list = []
    p = model.net.params
    with R.table_projections(whole):
        for d in "fb":
            R._project_table(p["embed.W"], p[f"enc.{d}0.0.W"], model.net.cfg.hidden, p[f"enc.{d}0.0.b"])
    assert len(whole) == 2 and all((entry[4] >= 0).all() for entry in whole)
    np.testing.assert_array_equal(got, M.predict_logits(model.net, seqs, rows, keep=whole))


def test_encode_texts_equals_encoding_each_text():
    """``encode_texts`` (all texts at once) gives what ``Vocab.encode`` gives text by text: unknown words,
    non-ASCII text, line breaks, apostrophes, empty and all-unknown texts, texts cut at ``max_len``."""
    from rnntools.text import Vocab

    vocab = Vocab.from_texts(["the film was great", "don't go", "Über café naïve", "a b c d e f g"])
    texts = ["The film was GREAT", "", "zzz qqq", "don't 'go' there''", "über\ncafé film", "a b c d e f g a b",
             "a\tb", "Naïve the end"]
    seqs, empty, truncated = D.encode_texts(vocab, texts, 6)
    for text, seq in zip(texts, seqs):
        ids = vocab.encode(text)
        want = ids[:6] if len(ids) else [vocab.unk_id]
        assert seq.dtype == np.int32 and seq.tolist() == list(want), text
    assert (empty, truncated) == (2, 1)


def test_predicting_without_scipy_gives_the_same_logits(tiny):
    """``predict_logits`` on ``WideRows`` (one product for all texts) equals the scipy rows' batches."""
    from rnntools.tasks.classify import load
    from rnntools.tasks.classify.model import predict_logits

    _, path = tiny
    model = load(str(path))
    texts = ["great film", "awful plot scene", "", "film film film great great awful"] * 70
    seqs, _, _ = D.encode_texts(model.vocab, texts, 50)
    rows = model.wide_rows(texts)
    assert isinstance(rows, F.WideRows)
    np.testing.assert_array_equal(predict_logits(model.net, seqs, rows),
                                  predict_logits(model.net, seqs, rows.matrix()))


def test_a_wide_product_made_elsewhere_gives_the_same_logits(tiny):
    """``predict_logits(wide_product=...)``, the rows' product made beforehand or on a worker (a future, as
    ``Model.probs`` makes it with two threads) and added after the network's batches, gives the bits of
    the rows added batch by batch, at one and two threads, at a network share other than 1; and
    ``Model.probs`` at two threads the probabilities of one."""
    from concurrent.futures import Future

    from rnntools import nn
    from rnntools.tasks.classify import load
    from rnntools.tasks.classify.model import predict_logits

    _, path = tiny
    model = load(str(path))
    texts = ["great film", "awful plot scene", "", "film film film great great awful"] * 70
    seqs, _, _ = D.encode_texts(model.vocab, texts, 50)
    rows = model.wide_rows(texts)
    product = model.wide_product(texts)
    np.testing.assert_array_equal(product, rows.matrix() @ model.net.params["wide.W"])
    before = nn.get_threads()
    try:
        for share in (model.net.cfg.share, 0.3):
            model.net.cfg.share = share
            want = predict_logits(model.net, seqs, rows.matrix(), batch=16)
            for threads in (1, 2):
                nn.set_threads(threads)
                future: Future = Future()
                future.set_result(product)
                for made in (product, future):
                    np.testing.assert_array_equal(predict_logits(model.net, seqs, batch=16, wide_product=made), want)
        nn.set_threads(1)
        one = model.probs(texts)[0]
        nn.set_threads(2)
        np.testing.assert_array_equal(model.probs(texts)[0], one)
    finally:
        nn.set_threads(before)


def test_predict_and_evaluate_leave_the_trainers_state_unread(tiny, run_cli, tmp_path):
    """The classifier's ``UNUSED_TO_PREDICT`` arrays (copies for --resume, optimiser state) are not read
    by ``predict``/``evaluate``: a file whose state is damaged still predicts, the same as before."""
    from rnntools.io import load_model, save_model
    from rnntools.tasks import classify

    d, path = tiny
    saved = load_model(str(path))
    unused = [n for n in saved.arrays if n.startswith(classify.UNUSED_TO_PREDICT)]
    assert any(n.startswith("optim.") for n in unused)
    meta = {k: v for k, v in saved.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    arrays = dict(saved.arrays)
    for name in unused:
        arrays[name] = np.full_like(arrays[name], np.nan) if arrays[name].dtype.kind == "f" else arrays[name]
    save_model(tmp_path / "damaged.npz", "classifier", arrays, meta)
    (tmp_path / "t.txt").write_text("great film\nawful plot\n", encoding="utf-8")
    good = run_cli(["predict", path, tmp_path / "t.txt"])
    damaged = run_cli(["predict", tmp_path / "damaged.npz", tmp_path / "t.txt"])
    assert good.exit_code == 0 and damaged.exit_code == 0, damaged.stderr
    assert damaged.stdout == good.stdout
    resumed = run_cli(["rnn-train", "--task", "classify", d / "train.tsv", "-o", tmp_path / "r.npz",
                       "--resume", tmp_path / "damaged.npz", "--epochs", "1"])
    assert resumed.exit_code == 1 and "holds NaN" in resumed.stderr        # training still reads them all


def test_param_names_are_init_params_names():
    from rnntools.tasks.classify.model import param_names

    for cell, layers, bidirectional in (("gru", 1, True), ("lstm", 2, False), ("rnn", 2, True)):
        cfg = NetConfig(cell=cell, vocab_size=7, n_classes=3, embed_dim=4, hidden=5, layers=layers,
                        bidirectional=bidirectional)
        assert param_names(cfg) == list(init_params(cfg, np.random.default_rng(0)))


def test_a_model_reads_its_rows_the_way_it_was_trained(tiny, tmp_path):
    """Each file is scored with the rows it says it was trained on: ``sep`` two blocks in columns of their
    own, ``blocks`` binary tf, ``blocks+tf`` sublinear tf, no ``rows`` one normalisation (older files),
    whatever the code would choose for the texts now."""
    from rnntools.io import load_model, save_model
    from rnntools.tasks.classify import load

    d, path = tiny
    saved = load_model(str(path))
    assert saved.meta["wide_fit"]["rows"] == "sep"              # 4-word texts: two linear models
    texts = ["great great film", "awful plot plot plot scene"]
    idf = saved.arrays["wide.idf"]
    B = len(idf)
    grams = F.ngram_ids_of_texts(texts, B, blocks=True, tf=True)
    sep = load(str(path)).wide_features(texts).toarray()
    np.testing.assert_array_equal(sep, F.wide_matrix(grams, idf, separate=True).toarray())
    meta = {k: v for k, v in saved.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    arrays = {**saved.arrays, "wide.W": saved.arrays["wide.W"][:B]}      # one model's weights
    got = {}
    for rows in ("blocks", "blocks+tf", None):
        fit = {k: v for k, v in meta["wide_fit"].items() if k != "rows"}
        save_model(tmp_path / "r.npz", "classifier", arrays, {**meta, "wide_fit": fit if rows is None
                                                              else {**fit, "rows": rows}})
        got[rows] = load(str(tmp_path / "r.npz")).wide_features(texts).toarray()
    np.testing.assert_array_equal(got["blocks"], F.wide_matrix(grams, idf).toarray())
    np.testing.assert_array_equal(got["blocks+tf"], F.wide_matrix(grams, idf, grams.tf).toarray())
    one = F.ngram_ids_of_texts(texts, B)
    np.testing.assert_array_equal(got[None], F.wide_matrix(one, idf).toarray())
    assert not np.allclose(got["blocks"], got["blocks+tf"], atol=1e-3)
    assert not np.allclose(got["blocks"], got[None], atol=1e-3)
    save_model(tmp_path / "x.npz", "classifier", arrays, {**meta, "wide_fit": {**meta["wide_fit"], "rows": "x"}})
    with pytest.raises(Exception, match="unknown wide rows 'x'"):
        load(str(tmp_path / "x.npz"))


def test_rows_by_the_training_texts_length(tmp_path, run_cli, monkeypatch):
    """Sublinear tf from ``TF_FROM_WORDS`` words a text on average (documents), two linear models below
    with two classes, one with more;
    ``ROWS`` set overrides the length; the model file keeps what was used."""
    from rnntools.io import load_model

    assert F.rows_for(["a b c"] * 3) == "sep" and F.rows_for(["a b c"] * 3, 2) == "sep"
    assert F.rows_for(["a b c"] * 3, 3) == "blocks"                # sentences, more than two classes
    assert F.rows_for(["w " * F.TF_FROM_WORDS] * 2 + ["w " * (F.TF_FROM_WORDS - 1)]) == "sep"
    assert F.rows_for(["w " * F.TF_FROM_WORDS] * 3) == "blocks+tf"
    assert F.rows_for(["w " * F.TF_FROM_WORDS] * 3, 5) == "blocks+tf"
    assert F.rows_for([]) == "sep"
    monkeypatch.setattr(F, "ROWS", "blocks+tf")
    assert F.rows_for(["a b c"]) == "blocks+tf"
    monkeypatch.setattr(F, "ROWS", None)
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(40):
        words = list(rng.choice(["oil", "price", "bank", "rate", "share"], F.TF_FROM_WORDS + 5))
        lines.append(f"{'oil' if 'oil' in words[:3] else 'other'}\t{' '.join(words)}")
    (tmp_path / "docs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(["rnn-train", "--task", "classify", tmp_path / "docs.tsv", "-o", tmp_path / "m.npz",
                      "--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--threads", "1"])
    assert result.exit_code == 0, result.stderr
    assert load_model(tmp_path / "m.npz").meta["wide_fit"]["rows"] == "blocks+tf"


def test_documents_linear_model_searches_the_documents_grid(tmp_path, run_cli, monkeypatch):
    """One linear model on the documents' sublinear-tf rows searches ``DOCUMENT_CS``, on any other rows
    ``CS`` (``cs_for``); training passes that grid, and the model file's C is one of it."""
    from rnntools.io import load_model
    from rnntools.tasks.classify import linear as L

    assert L.cs_for("blocks+tf") == L.DOCUMENT_CS
    assert L.cs_for("blocks") == L.cs_for("sep") == L.cs_for(None) == L.CS
    grid = (0.5, 700.0)
    monkeypatch.setattr(L, "DOCUMENT_CS", grid)
    assert L.cs_for("blocks+tf") == grid and L.cs_for("blocks") == L.CS
    seen = []
    fit = L.fit_linear

    def spy(*args, **kw):
        seen.append(tuple(kw.get("Cs", L.CS)))
        return fit(*args, **kw)

    monkeypatch.setattr(L, "fit_linear", spy)
    rng = np.random.default_rng(5)
    for name, n_words, classes in (("docs", F.TF_FROM_WORDS + 5, 2), ("sents", 4, 3)):
        lines = []
        for i in range(60):
            words = list(rng.choice(["oil", "price", "bank", "rate", "share"], n_words))
            lines.append(f"{i % classes}\t{' '.join(words)}")
        (tmp_path / f"{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = run_cli(["rnn-train", "--task", "classify", tmp_path / f"{name}.tsv", "-o", tmp_path / f"{name}.npz",
                          "--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--threads", "1"])
        assert result.exit_code == 0, result.stderr
    assert seen == [grid, L.CS]
    assert load_model(tmp_path / "docs.npz").meta["wide_fit"]["C"] in grid


def test_min_df_leaves_grams_of_fewer_texts_out_of_the_rows(monkeypatch):
    """``idf_weights(min_df=2)``: a bucket in fewer than two texts (or none) weighs 0, the others keep the
    plain idf; such grams then count in no row's length (training's and prediction's rows alike). Below
    ``MIN_DF_BELOW`` labelled texts training uses 2, from there 1; ``MIN_DF`` set overrides the count."""
    B = 1 << 18
    texts = ["the cat sat", "the cat ran", "a dog ran far"]
    docs = [F.ngram_ids(t, B, blocks=True) for t in texts]
    plain, two = F.idf_weights(docs, B), F.idf_weights(docs, B, min_df=2)
    df = np.zeros(B, np.int64)
    for ids in docs:
        df[np.unique(ids % B)] += 1
    assert (df >= 2).any() and (df == 1).any()
    np.testing.assert_array_equal(two, np.where(df >= 2, plain, 0))
    np.testing.assert_array_equal(F.idf_weights(docs, B, min_df=1), plain)
    unseen = F.ngram_ids("zebra", B, blocks=True)
    rows = F.wide_values([docs[0], unseen], two)
    X = rows.matrix().toarray()
    cat_sat = X[0]
    kept = np.unique(docs[0] % B)[df[np.unique(docs[0] % B)] >= 2]
    assert set(np.nonzero(cat_sat)[0]) == set(kept)            # "sat" and its grams left out
    np.testing.assert_allclose(np.linalg.norm(cat_sat), 1.0, rtol=1e-6)  # the kept grams make the length
    assert not X[1].any()                                        # nothing known: an empty row, no NaN
    assert F.min_df_for(F.MIN_DF_BELOW - 1) == 2 and F.min_df_for(F.MIN_DF_BELOW) == 1
    monkeypatch.setattr(F, "MIN_DF", 3)
    assert F.min_df_for(10) == F.min_df_for(10 ** 6) == 3


def test_a_small_training_set_keeps_its_min_df_in_the_model(tmp_path, run_cli):
    """A model trained on fewer than ``MIN_DF_BELOW`` texts records min_df 2, its idf is 0 for the grams
    of one text, and a text of unseen words still gets probabilities that sum to 1."""
    from rnntools.io import load_model
    from rnntools.tasks.classify import load, predict

    rng = np.random.default_rng(4)
    lines = []
    for i in range(60):
        good = rng.random() < 0.5
        once = "once" + chr(97 + i % 26) + chr(97 + i // 26)     # a word of this text alone
        words = list(rng.choice(["film", "plot", "actor"], 3)) + ["great" if good else "awful", once]
        lines.append(f"{'pos' if good else 'neg'}\t{' '.join(words)}")
    (tmp_path / "s.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(["rnn-train", "--task", "classify", tmp_path / "s.tsv", "-o", tmp_path / "m.npz",
                      "--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--threads", "1"])
    assert result.exit_code == 0, result.stderr
    assert 60 < F.MIN_DF_BELOW
    assert load_model(tmp_path / "m.npz").meta["wide_fit"]["min_df"] == 2
    model = load(str(tmp_path / "m.npz"))
    idf = model.net.params["wide.idf"]
    B = len(idf)
    (once,) = F.ngram_ids("oncehb", B, chars=False)        # the unigram of a word in one text
    (great,) = F.ngram_ids("great", B, chars=False)
    assert idf[once] == 0 and idf[great] > 0
    out = list(predict(model, [{"text": "zzzq xxyv"}, {"text": "great film"}], warn=False))
    for r in out:
        assert abs(sum(r["probs"].values()) - 1) < 1e-5
    assert out[1]["label"] == "pos"


def test_gradients_with_the_wide_part():
    cfg = NetConfig(cell="gru", vocab_size=9, n_classes=3, embed_dim=4, hidden=3, pooling="max",
                    bidirectional=True, wide_buckets=64)
    rng = np.random.default_rng(0)
    params = init_params(cfg, rng, dtype=np.float64)
    params["wide.W"] = rng.normal(size=(64, 3))
    net = Network(cfg, params)
    ids, lengths = D.pad_batch([np.array([1, 2, 3], np.int32), np.array([4], np.int32)])
    docs = [F.ngram_ids(t, 64) for t in ["good film", "bad"]]
    X = F.wide_matrix(docs, F.idf_weights(docs, 64)).astype(np.float64)
    y, w = np.array([0, 2]), np.array([1.0, 2.0])
    _, grads = net.loss_and_grads(ids, lengths, y, w, wide=X)
    assert "wide.W" in grads
    for name in ("wide.W", "out.W", "enc.b0.0.W"):
        assert_grad(lambda: net.loss_and_grads(ids, lengths, y, w, wide=X)[0], params[name], grads[name], name=name)


def test_temperature_scaling_fixes_overconfidence():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 3000)
    logits = rng.normal(size=(3000, 3))
    logits[np.arange(3000), y] += 1.0            # right 2/3 of the time or so ...
    logits *= 4.0                                # ... but far too sure of itself
    t = fit_temperature(logits, y)
    assert 3.0 < t < 5.0
    assert expected_calibration_error(softmax(logits / t), y) < 0.5 * expected_calibration_error(softmax(logits), y)
    perfect = np.eye(3)[y] * 50
    assert expected_calibration_error(softmax(perfect), y) < 1e-6


def test_temperature_prior_bounds_a_separated_validation_split_and_leaves_a_large_one():
    """On validation texts that are all classified right the plain fit goes to its bound (1/20); under
    the prior log T ~ N(0, 1) it stops where the penalised loss is lowest (checked on a grid). With 3,000
    texts with errors the prior moves T by under a percent."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 17)
    logits = rng.normal(size=(17, 2))
    logits[np.arange(17), y] += 3.0 + np.abs(logits).max()           # every text right, by a margin
    assert fit_temperature(logits, y) == pytest.approx(1 / 20, rel=1e-3)
    t = fit_temperature(logits, y, prior_sd=1.0)
    assert 0.1 < t < 1.0

    def penalised(log_t):
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(17), y]) + log_t ** 2 / (2 * 17)

    grid = np.linspace(np.log(0.05), np.log(20), 4001)
    assert abs(np.log(t) - grid[np.argmin([penalised(g) for g in grid])]) < 2e-3
    y = rng.integers(0, 3, 3000)
    logits = rng.normal(size=(3000, 3))
    logits[np.arange(3000), y] += 1.0
    logits *= 4.0
    assert fit_temperature(logits, y, prior_sd=1.0) == pytest.approx(fit_temperature(logits, y), rel=1e-2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small model trained from label<TAB>text lines with integer-looking labels."""
    from click.testing import CliRunner
    from conftest import _Main

    from rnntools.cli import main

    d = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(2)
    lines = []
    for _ in range(300):
        good = rng.random() < 0.5
        words = list(rng.choice(["film", "plot", "actor", "scene"], 3)) + ["great" if good else "awful"]
        rng.shuffle(words)
        lines.append(f"{'pos' if good else 'neg'}\t{' '.join(words)}")
    (d / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = d / "m.npz"
    result = CliRunner().invoke(_Main(main), ["rnn-train", "--task", "classify", str(d / "train.tsv"), "-o", str(model),
                                       "--hidden", "8", "--embed-dim", "8", "--epochs", "6", "--threads", "1",
                                       "--text-field", "body", "--label-field", "y"])
    assert result.exit_code == 0, result.stderr
    return d, model


def test_a_process_start_collects_rarely_until_the_first_chunk_is_scored(tiny):
    """``rnntools.collector``: ``start`` (the first thing a process does) raises the young generation's
    threshold; the classifier's first scored chunk ends the start-up (``started``): what was made so far is
    frozen and the thresholds are what they were; later calls change nothing."""
    import gc

    from rnntools import collector
    from rnntools.tasks import classify

    _, model = tiny
    before = gc.get_threshold()
    collector.start()
    try:
        assert gc.get_threshold() == (max(collector.START_THRESHOLD, before[0]), *before[1:])
        collector.start()      # once: a second call keeps the first one's thresholds to go back to
        loaded = classify.load(str(model))
        frozen = gc.get_freeze_count()
        lines = list(classify.predict_text(loaded, [{"body": "great film"}, {"body": "awful plot"}], warn=False))
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() > frozen
        assert "".join(lines).count("\n") == 2
    finally:
        collector.started()
        gc.set_threshold(*before)
    assert not collector.started() and gc.get_threshold() == before


def test_training_ends_the_start_ups_rare_collections(tmp_path, run_cli):
    """The trainer's first epoch ends the start-up (``rnntools.collector.started``): a training process
    collects as usual from there."""
    import gc

    from rnntools import collector

    lines = [f"{'pos' if i % 2 else 'neg'}\t{'great' if i % 2 else 'awful'} film {i}" for i in range(40)]
    (tmp_path / "t.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = gc.get_threshold()
    collector.start()
    try:
        result = run_cli(["rnn-train", "--task", "classify", tmp_path / "t.tsv", "-o", tmp_path / "m.npz",
                          "--hidden", "4", "--embed-dim", "4", "--max-steps", "1", "--threads", "1"])
        assert result.exit_code == 0, result.stderr
        assert gc.get_threshold() == before
    finally:
        collector.started()
        gc.set_threshold(*before)


@pytest.mark.parametrize("chosen", [None, "1"])
def test_predict_and_evaluate_keep_numpys_arrays_on_small_pages(tiny, run_cli, monkeypatch, chosen):
    """``predict``/``evaluate`` turn off numpy's transparent huge pages (``cli.tasks.small_pages_for_numpy``):
    through ``NUMPY_MADVISE_HUGEPAGE=0`` before numpy's import, or numpy's switch when it is imported
    already (here); a value the user set is theirs."""
    import subprocess
    import sys

    from numpy._core import multiarray

    d, model = tiny
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    if chosen is not None:
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", chosen)
    before = multiarray._get_madvise_hugepage()
    multiarray._set_madvise_hugepage(True)
    try:
        for command in ("predict", "evaluate"):
            multiarray._set_madvise_hugepage(True)
            result = run_cli([command, model, d / "train.tsv", "--threads", "1"])
            assert result.exit_code == 0, result.stderr
            assert multiarray._get_madvise_hugepage() is (chosen is not None)
        code = ("import os, sys; from rnntools.cli.tasks import small_pages_for_numpy as f; f(); "
                "print(os.environ.get('NUMPY_MADVISE_HUGEPAGE'), 'numpy' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.split() == [chosen or "0", "False"]
    finally:
        multiarray._set_madvise_hugepage(before)


def test_model_remembers_fields_and_reads_tsv_and_plain_lines_alike(tiny, run_cli):
    d, model = tiny
    (d / "mixed.txt").write_text("pos\tgreat film\nawful plot\n", encoding="utf-8")
    result = run_cli(["predict", model, d / "mixed.txt"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["body"] == "great film" and records[1]["body"] == "awful plot"   # the model's text field
    assert records[0]["label"] == "pos" and records[1]["label"] == "neg"
    (d / "test.jsonl").write_text(json.dumps({"body": "awful scene", "y": "neg"}) + "\n", encoding="utf-8")
    result = run_cli(["evaluate", model, d / "test.jsonl"])          # no --text-field / --label-field needed
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["accuracy"] == 1.0 and 0 <= summary["ece"] <= 1


def test_calibration_is_stored_and_wide_none_has_no_wide_part(tiny, run_cli, tmp_path):
    from rnntools.io import load_model

    d, model = tiny
    meta = load_model(model).meta
    assert meta["temperature"] > 0 and "val_ece_after" in meta["calibration"]
    assert meta["config"]["wide"] == "words+chars" and "wide.W" in load_model(model).arrays
    out = tmp_path / "n.npz"
    result = run_cli(["rnn-train", "--task", "classify", d / "train.tsv", "-o", out, "--wide", "none", "--hidden", "4",
                      "--embed-dim", "4", "--epochs", "1", "--no-calibrate", "--threads", "1"])
    assert result.exit_code == 0, result.stderr
    saved = load_model(out)
    assert "wide.W" not in saved.arrays and "temperature" not in saved.meta


def test_labels_keep_their_json_type(run_cli, tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"text": "a b", "label": 3}, {"text": "c d", "label": "3"}, {"text": "e f", "label": 4}] * 5
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "m.npz", "--epochs", "1"])
    assert result.exit_code == 2 and "both as a number and as a string" in result.stderr
    assert "t.jsonl:1: " in result.stderr  # the first record whose label is the number
    rows = [{"text": "a b", "label": 3}, {"text": "e f", "label": 4}] * 8
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "m.npz", "--epochs", "2",
                      "--hidden", "4", "--embed-dim", "4", "--threads", "1"])
    assert result.exit_code == 0, result.stderr
    out = run_cli(["predict", tmp_path / "m.npz", path])
    first = json.loads(out.stdout.splitlines()[0])
    assert isinstance(first["label"], int) and set(first["probs"]) == {"3", "4"}


def _linear_problem(n=60, buckets=32, k=3, seed=5):
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    dense = (rng.random((n, buckets)) < 0.2) * rng.random((n, buckets))
    dense[np.arange(n), y] += 1.0                       # feature y predicts class y
    return csr_matrix(dense), y


def test_linear_objective_gradient_matches_finite_differences():
    from rnntools.tasks.classify.linear import _loss_grad

    X, y = _linear_problem(n=12, buckets=6, k=3)
    Y = np.eye(3)[y]
    w = np.linspace(1.0, 2.0, 12)
    w /= w.sum()
    theta = np.random.default_rng(1).normal(size=(6 + 1) * 3)
    _, grad = _loss_grad(theta, X, X.T.tocsr(), Y, w, 0.7)
    assert_grad(lambda: _loss_grad(theta, X, X.T.tocsr(), Y, w, 0.7)[0], theta, grad, name="theta")
    R = np.random.default_rng(2).uniform(0.2, 3.0, (6, 3))          # per-class feature scales (NB weighting)
    _, grad = _loss_grad(theta, X, X.T.tocsr(), Y, w, 0.7, R)
    assert_grad(lambda: _loss_grad(theta, X, X.T.tocsr(), Y, w, 0.7, R)[0], theta, grad, name="theta, scaled")


def test_fit_kernels_match_their_numpy_forms_for_any_thread_count():
    import numba

    from rnntools.tasks.classify.linear import _loss_grad, _loss_grad_fast, kernels

    X, y = _linear_problem(n=50, buckets=20, k=4)
    X32 = X.astype(np.float32)
    Y = np.eye(4)[y]
    w = np.full(50, 1.0 / 50)
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(20 + 1) * 4)
    D = rng.normal(size=(20, 4))
    a, b = rng.normal(size=1001), rng.normal(size=1001)
    H = rng.normal(size=(5, 1001))
    k = kernels()
    before = numba.get_num_threads()
    got = []
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            out = np.empty((50, 4))
            k.csr_dense(X32.indptr, X32.indices, X32.data, D, out)
            np.testing.assert_allclose(out, X32.astype(np.float64) @ D, rtol=1e-12, atol=1e-12)
            c = b.copy()
            k.axpy(0.5, a, c)
            np.testing.assert_array_equal(c, b + 0.5 * a)
            assert abs(k.dot(a, b) - float(a @ b)) < 1e-10
            rows, targets = np.array([4, 0, 2]), np.array([2, 3])
            products = np.empty((3, 2))
            k.gram(H, rows, targets, products)
            np.testing.assert_allclose(products, H[rows] @ H[targets].T, rtol=1e-12)
            comb = np.empty(1001)
            k.combine(H, rows, np.array([0.5, -2.0, 3.0]), comb)
            # each entry summed over the rows in order: numpy's row after row, to the last bit
            np.testing.assert_array_equal(comb, 0.5 * H[4] + -2.0 * H[0] + 3.0 * H[2])
            for R in (None, rng.uniform(0.2, 3.0, (20, 4))):
                f0, g0 = _loss_grad(theta, X32, X32.T.tocsr(), Y, w, 0.7, R)
                f1, g1 = _loss_grad_fast(theta, X32, X32.T.tocsr(), Y, w, 0.7, R)
                assert abs(f1 - f0) < 1e-12 and np.allclose(g1, g0, rtol=1e-12, atol=1e-14)
            got.append((out, k.dot(a, b), products, comb))
    finally:
        numba.set_num_threads(before)
    assert all(all(np.array_equal(u, v) for u, v in zip(run, got[0])) for run in got)   # the thread count changes nothing


def _lbfgs_two_loop(fun, x0, args, max_iter, memory=10, gtol=1e-5, ftol=1e-10):
    """The textbook L-BFGS (two-loop recursion over the stored vectors, plain numpy): the reference of the
    library's vector-free form."""
    x = x0.copy()
    f, g = fun(x, *args)
    S, Yd, rho = [], [], []
    for _ in range(max_iter):
        if np.max(np.abs(g)) < gtol:
            break
        q, alpha = g.copy(), []
        for s_, y_, r in zip(reversed(S), reversed(Yd), reversed(rho)):
            alpha.append(r * (s_ @ q))
            q -= alpha[-1] * y_
        q *= (S[-1] @ Yd[-1]) / (Yd[-1] @ Yd[-1]) if S else 1.0 / max(np.linalg.norm(g), 1e-12)
        for (s_, y_, r), a in zip(zip(S, Yd, rho), reversed(alpha)):
            q += (a - r * (y_ @ q)) * s_
        d = -q
        slope = g @ d
        if slope >= 0:
            S, Yd, rho = [], [], []
            d = -g / max(np.linalg.norm(g), 1e-12)
            slope = g @ d
        step = 1.0
        for _ls in range(30):
            x_new = x + step * d
            f_new, g_new = fun(x_new, *args)
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_, y_ = x_new - x, g_new - g
        if s_ @ y_ > 1e-12:
            S.append(s_), Yd.append(y_), rho.append(1.0 / (s_ @ y_))
            if len(S) > memory:
                S.pop(0), Yd.pop(0), rho.pop(0)
        done = abs(f - f_new) <= ftol * max(abs(f), abs(f_new), 1.0)
        x, f, g = x_new, f_new, g_new
        if done:
            break
    return x


def test_vector_free_lbfgs_takes_the_two_loop_recursions_steps():
    from rnntools.tasks.classify.linear import _loss_grad, lbfgs

    X, y = _linear_problem()
    Y = np.eye(3)[y]
    w = np.full(len(y), 1.0 / len(y))
    args = (X, X.T.tocsr(), Y, w, 3.0)
    x0 = np.zeros((32 + 1) * 3)
    for iters, memory in ((1, 10), (4, 10), (25, 10), (25, 3)):     # memory 3: the oldest pairs are replaced
        ref = _lbfgs_two_loop(_loss_grad, x0, args, iters, memory=memory, gtol=0.0, ftol=0.0)
        got = lbfgs(_loss_grad, x0, args, max_iter=iters, memory=memory, gtol=0.0, ftol=0.0)
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)
    assert np.max(np.abs(_loss_grad(got, *args)[1])) < np.max(np.abs(_loss_grad(x0, *args)[1])) / 100
    # with a scale, the textbook recursion on the rescaled variables u = x / scale
    scale = np.random.default_rng(4).uniform(0.05, 1.0, x0.shape[0])

    def scaled(u, *a):
        f, g = _loss_grad(u * scale, *a)
        return f, g * scale

    x0 = np.random.default_rng(5).normal(size=x0.shape[0]) * 0.1
    ref = _lbfgs_two_loop(scaled, x0 / scale, args, 25, gtol=0.0, ftol=0.0) * scale
    got = lbfgs(_loss_grad, x0, args, max_iter=25, gtol=0.0, ftol=0.0, scale=scale)
    np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)


def test_lbfgs_rows_given_by_the_caller_change_nothing_whatever_they_held():
    """``lbfgs(..., work=)`` keeps its pairs in the caller's rows (one set for all of a fit's runs): what
    the rows held before is never read, so rows full of NaN give the same bits as fresh ones, and the
    rows can go from one run to the next (``fit_linear`` passes one set through its folds and C path)."""
    from rnntools.tasks.classify.linear import _loss_grad_fast, fit_linear, lbfgs, lbfgs_rows

    X, y = _linear_problem()
    X = X.astype(np.float32)
    Y = np.eye(3)[y]
    w = np.full(len(y), 1.0 / len(y))
    args = (X, X.T.tocsr(), Y, w, 3.0)
    x0 = np.zeros((32 + 1) * 3)
    scale = np.random.default_rng(4).uniform(0.05, 1.0, x0.shape[0])
    for memory, iters in ((10, 30), (3, 12)):
        fresh = lbfgs(_loss_grad_fast, x0, args, max_iter=iters, memory=memory, gtol=0.0, ftol=0.0, scale=scale)
        work = lbfgs_rows(len(x0), memory)
        work[:] = np.nan
        got = lbfgs(_loss_grad_fast, x0, args, max_iter=iters, memory=memory, gtol=0.0, ftol=0.0, scale=scale,
                    work=work)
        np.testing.assert_array_equal(got, fresh)
        again = lbfgs(_loss_grad_fast, x0, args, max_iter=iters, memory=memory, gtol=0.0, ftol=0.0, scale=scale,
                      work=work)                        # the rows as the last run left them
        np.testing.assert_array_equal(again, fresh)
    first = fit_linear(X, y, np.ones(3, np.float32), 3, seed=1)
    second = fit_linear(X, y, np.ones(3, np.float32), 3, seed=1)
    for a, b in zip(first[:2] + first[3:], second[:2] + second[3:]):
        np.testing.assert_array_equal(a, b)


def test_gram_sums_each_product_in_its_documented_order():
    """``kernels().gram`` to the last bit: per product, 64 chunks; in a chunk, element i into partial sum
    i mod 8 in order, the eight sums added as a fixed tree, the chunk's last elements (beyond its last
    multiple of 8) added one by one; then the chunks in order. Rows long enough for several of the
    kernel's cache blocks (``GRAM_BLOCK``) in each chunk, and lengths that leave tails and empty chunks."""
    from rnntools.tasks.classify.linear import GRAM_BLOCK, kernels

    def reference(u, v):
        n = len(u)
        size = (n + 63) // 64
        total = 0.0
        for c in range(64):
            lo, hi = c * size, min((c + 1) * size, n)
            full = lo + (max(hi - lo, 0) // 8) * 8
            lanes = [np.cumsum(u[lo + j:full:8] * v[lo + j:full:8])[-1] if full > lo else 0.0 for j in range(8)]
            s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
            for j in range(full, hi):
                s += u[j] * v[j]
            total += s
        return total

    rng = np.random.default_rng(7)
    for n in (5, 100, 1001, 64 * (2 * GRAM_BLOCK + 8) + 13):
        H = rng.normal(size=(5, n)) * rng.uniform(0.001, 1000.0, size=(5, 1))
        rows, targets = np.array([4, 0, 2, 3]), np.array([2, 1])
        out = np.empty((4, 2))
        kernels().gram(H, rows, targets, out)
        expect = np.array([[reference(H[a], H[b]) for b in targets] for a in rows])
        np.testing.assert_array_equal(out, expect)


def test_jacobi_scale_is_the_inverse_root_of_the_estimated_hessian_diagonal():
    from rnntools.tasks.classify.linear import jacobi_scale

    X, y = _linear_problem(n=30, buckets=8, k=4)
    w = np.linspace(1.0, 3.0, 30)
    w /= w.sum()
    R = np.random.default_rng(6).uniform(0.5, 2.0, (8, 4))
    for r in (None, R):
        got = jacobi_scale(X.astype(np.float32), w, 0.5, 4, r).reshape(9, 4)
        Xd = X.toarray()
        h = np.empty((9, 4))
        for j in range(8):
            for c in range(4):
                h[j, c] = 0.25 * 0.75 * np.sum(w * Xd[:, j] ** 2) * (1.0 if r is None else r[j, c] ** 2) + 1 / (0.5 * 30)
        h[8] = 0.25 * 0.75
        expect = 1 / np.sqrt(h)
        np.testing.assert_allclose(got, expect / expect.max(), rtol=1e-6)


def test_lbfgs_stops_at_the_first_window_without_enough_progress():
    from rnntools.tasks.classify.linear import _loss_grad, lbfgs

    X, y = _linear_problem()
    Y = np.eye(3)[y]
    w = np.full(len(y), 1.0 / len(y))
    args = (X, X.T.tocsr(), Y, w, 30.0)
    seen = []

    def fun(x, *a):
        f, g = _loss_grad(x, *a)
        seen.append((x.copy(), f))
        return f, g

    x0 = np.zeros((32 + 1) * 3)
    full = lbfgs(_loss_grad, x0, args, max_iter=60, gtol=0.0, ftol=0.0)
    got = lbfgs(fun, x0, args, max_iter=60, gtol=0.0, ftol=0.0, rtol=1e-3, window=3)
    assert not np.allclose(got, full)                   # it did stop early ...
    accepted = [f for _, f in seen]
    assert all(b < a for a, b in zip(accepted, accepted[1:]))     # no step was halved: every trial accepted
    drops = [(accepted[i - 3] - accepted[i]) / abs(accepted[i]) for i in range(3, len(accepted))]
    assert drops[-1] <= 1e-3 and all(d > 1e-3 for d in drops[:-1])


def test_nb_scales_are_the_log_count_ratios_of_each_class_against_the_rest():
    from scipy.sparse import csr_matrix

    from rnntools.tasks.classify.linear import nb_scales

    X = csr_matrix(np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.5]]))
    Y = np.eye(2)[[0, 0, 1]]
    R = nb_scales(X, Y)
    B = (X.toarray() > 0).astype(float)
    p, q = B[:2].sum(0) + 1, B[2:].sum(0) + 1
    r = np.abs(np.log(p / p.sum()) - np.log(q / q.sum()))
    np.testing.assert_allclose(R, np.stack([r, r], 1) / r.mean(), rtol=1e-12)   # two classes: one ratio


def test_lbfgs_reaches_the_optimum_and_fit_linear_chooses_c_by_folds():
    from rnntools.tasks.classify.linear import _loss_grad, fit_linear, lbfgs

    X, y = _linear_problem()
    Y = np.eye(3)[y]
    w = np.full(len(y), 1.0 / len(y))
    theta = lbfgs(_loss_grad, np.zeros((32 + 1) * 3), (X, X.T.tocsr(), Y, w, 3.0), max_iter=500, gtol=1e-9, ftol=0.0)
    assert np.max(np.abs(_loss_grad(theta, X, X.T.tocsr(), Y, w, 3.0)[1])) < 1e-7      # a stationary point
    W, b, info, oof = fit_linear(X, y, np.ones(3, np.float32), 3, Cs=(0.1, 1.0, 10.0))
    assert W.shape == (32, 3) and b.shape == (3,) and oof.shape == (60, 3)
    assert info["C"] in (0.1, 1.0, 10.0) and set(info["cv_loss_by_C"]) <= {0.1, 1.0, 10.0}
    assert np.mean((X @ W + b).argmax(1) == y) > 0.9 and np.mean(oof.argmax(1) == y) > 0.7
    unused = np.flatnonzero(np.asarray(X.sum(axis=0)).ravel() == 0)
    assert not W[unused].any()                          # features never seen keep weight 0
    # the refit starts from the folds' mean solution: it still reaches the optimum at the chosen C
    used = np.flatnonzero(np.asarray(X.sum(axis=0)).ravel() > 0)
    Xu = X[:, used].tocsr()
    theta = lbfgs(_loss_grad, np.zeros((len(used) + 1) * 3), (Xu, Xu.T.tocsr(), Y, w, info["C"]), max_iter=1000,
                  gtol=1e-10, ftol=0.0)
    Wb = theta.reshape(-1, 3)
    np.testing.assert_allclose(X @ W + b, Xu @ Wb[:-1] + Wb[-1], atol=0.05)     # the fit's stopping rule
    args = (Xu, Xu.T.tocsr(), Y, w, info["C"])
    fitted = np.vstack([W[used], b[None]]).astype(np.float64).ravel()
    best = _loss_grad(theta, *args)[0]
    assert 0 <= _loss_grad(fitted, *args)[0] - best < 1e-3 * best


def test_two_linear_models_are_each_blocks_own_fit_mixed_by_out_of_fold_loss():
    """``fit_two_linear``: the first B columns (words) and the last B (characters) each fitted by
    ``fit_linear`` on their own, then mixed ``a z_words + (1 - a) z_chars`` with the a of the lowest
    out-of-fold loss (after a temperature); the weights, intercept and out-of-fold logits are that mix."""
    from scipy.sparse import hstack

    from rnntools.tasks.classify.linear import fit_linear, fit_two_linear, val_loss

    Xw, y = _linear_problem(seed=5)
    Xc, _ = _linear_problem(seed=6)              # other features, unrelated to y
    X = hstack([Xw, Xc]).tocsr()
    ones = np.ones(3, np.float32)
    W, b, info, oof = fit_two_linear(X, y, ones, 3, seed=2, nb_words=False)
    Ww, bw, iw, ow = fit_linear(Xw, y, ones, 3, seed=2)
    Wc, bc, ic, oc = fit_linear(Xc, y, ones, 3, seed=2)
    a = info["word_weight"]
    assert W.shape == (64, 3) and W.dtype == np.float32 and b.dtype == np.float32
    np.testing.assert_array_equal(W[:32], np.float32(a) * Ww)
    np.testing.assert_array_equal(W[32:], np.float32(1 - a) * Wc)
    np.testing.assert_allclose(b, a * bw + (1 - a) * bc, rtol=1e-6)
    np.testing.assert_allclose(oof, a * ow + (1 - a) * oc)
    assert (info["C"], info["C_chars"]) == (iw["C"], ic["C"])
    losses = info["oof_loss_by_word_weight"]
    assert len(losses) == 11 and losses[f"{a:.1f}"] == min(losses.values())
    assert a >= 0.5                                  # the informative block weighs more
    z = a * ow + (1 - a) * oc
    assert abs(val_loss(z / fit_temperature(z, y), y, np.ones(len(y))) - losses[f"{a:.1f}"]) < 1e-6


def test_two_linear_models_with_nb_words_fit_the_word_block_on_log_count_ratios():
    """``fit_two_linear(nb_words=True)``: the word block is ``fit_linear(nb=True)`` over ``NB_CS`` (NBSVM's
    ratios scale each weight's penalty, each fold its own); the character block is fitted as without."""
    from scipy.sparse import csr_matrix, hstack

    from rnntools.tasks.classify.linear import NB_CS, fit_linear, fit_two_linear

    Xw, y = _linear_problem(seed=5)
    Xc, _ = _linear_problem(seed=6)
    X = hstack([Xw, Xc]).tocsr()
    ones = np.ones(3, np.float32)
    W, b, info, oof = fit_two_linear(X, y, ones, 3, seed=2, nb_words=True)
    Ww, bw, iw, ow = fit_linear(Xw, y, ones, 3, seed=2, nb=True, Cs=NB_CS)
    Wc, bc, ic, oc = fit_linear(Xc, y, ones, 3, seed=2)
    a = info["word_weight"]
    np.testing.assert_array_equal(W[:32], np.float32(a) * Ww)
    np.testing.assert_array_equal(W[32:], np.float32(1 - a) * Wc)
    np.testing.assert_allclose(oof, a * ow + (1 - a) * oc)
    assert info["nb_words"] is True and (info["C"], info["C_chars"]) == (iw["C"], ic["C"])
    assert set(info["cv_loss_by_C"]) <= set(NB_CS)
    plain = fit_two_linear(X, y, ones, 3, seed=2, nb_words=False)
    assert plain[2]["nb_words"] is False and not np.array_equal(plain[0][:32], W[:32])
    # "choose": both word models fitted, the mix with the lower out-of-fold loss kept (plain on a tie)
    picked = []
    dense = np.random.default_rng(0).random((60, 32))
    dense[np.arange(60), y] += 0.5          # every word feature in every text: no ratios, NB loses
    for words in (Xw, csr_matrix(dense)):
        X = hstack([words, Xc]).tocsr()
        fits = {nb: fit_two_linear(X, y, ones, 3, seed=2, nb_words=nb) for nb in (False, True, "choose")}
        loss = {nb: min(fits[nb][2]["oof_loss_by_word_weight"].values()) for nb in (False, True)}
        pick = loss[True] < loss[False] - 1e-6
        got = fits["choose"]
        assert got[2]["nb_words"] is pick
        picked.append(pick)
        np.testing.assert_array_equal(got[0], fits[pick][0])
        np.testing.assert_array_equal(got[3], fits[pick][3])
    assert picked == [True, False]


def test_separate_rows_keep_each_block_unit_length_in_its_own_columns():
    B = 1 << 10
    texts = ["good film", "a rather tedious film", ""]
    grams = F.ngram_ids_of_texts(texts, B, blocks=True)
    idf = F.idf_weights(grams, B)
    X = F.wide_matrix(grams, idf, separate=True).toarray().astype(np.float64)
    assert X.shape == (3, 2 * B)
    for i, d in enumerate(grams):
        for cols, ids in ((slice(0, B), d[d < B]), (slice(B, 2 * B), d[d >= B])):
            expect = np.zeros(B)
            expect[ids % B] = idf[ids % B]
            if len(ids):
                expect /= np.linalg.norm(expect)
            np.testing.assert_allclose(X[i, cols], expect, atol=1e-6)
    r = F.wide_rows(texts, {"wide": "words+chars"}, idf, **F.rows_options("sep"))
    W = np.random.default_rng(1).normal(size=(2 * B, 2)).astype(np.float32)
    np.testing.assert_array_equal(r.times(W), np.asarray(r.matrix() @ W))
    assert F.rows_options("sep+tf") == {"blocks": True, "tf": True, "separate": True, "negation": False}


def test_a_model_with_two_linear_models_records_and_predicts_them(tmp_path, run_cli, monkeypatch):
    """``rows: "sep"`` (two linear models): the file keeps the rows, both Cs and the words' weight, and
    wide.W (2 buckets, classes); predict reads it back as trained (an older file keeps its one model)."""
    from rnntools.io import load_model
    from rnntools.tasks.classify import load
    from rnntools.tasks.classify.model import predict_logits

    monkeypatch.setattr(F, "ROWS", "sep")
    rng = np.random.default_rng(2)
    lines = []
    for _ in range(200):
        good = rng.random() < 0.5
        words = list(rng.choice(["film", "plot", "actor", "scene"], 3)) + ["great" if good else "awful"]
        lines.append(f"{'pos' if good else 'neg'}\t{' '.join(words)}")
    (tmp_path / "t.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(["rnn-train", "--task", "classify", tmp_path / "t.tsv", "-o", tmp_path / "m.npz",
                      "--hidden", "4", "--embed-dim", "4", "--epochs", "2", "--threads", "1", "--wide-buckets", "1024"])
    assert result.exit_code == 0, result.stderr
    saved = load_model(tmp_path / "m.npz")
    fit = saved.meta["wide_fit"]
    assert fit["rows"] == "sep" and 0 <= fit["word_weight"] <= 1 and fit["C_chars"] > 0
    assert isinstance(fit["nb_words"], bool)           # the word model on NB's ratios or not (chosen)
    assert saved.arrays["wide.W"].shape == (2048, 2) and saved.arrays["wide.idf"].shape == (1024,)
    model = load(str(tmp_path / "m.npz"))
    texts = ["great film", "awful plot"]
    seqs, _, _ = D.encode_texts(model.vocab, texts, 50)
    X = model.wide_features(texts)
    assert X.shape == (2, 2048)
    wide = np.asarray(X @ saved.arrays["wide.W"]) + saved.arrays["wide.b"]
    np.testing.assert_allclose(predict_logits(model.net, seqs, model.wide_rows(texts)),
                               predict_logits(model.net, seqs, None) + wide, rtol=1e-5, atol=1e-5)
    result = run_cli(["predict", tmp_path / "m.npz"], input="great film\nawful plot\n")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["label"] for line in result.stdout.splitlines()] == ["pos", "neg"]
    monkeypatch.setattr(F, "ROWS", None)
    result = run_cli(["rnn-train", "--task", "classify", tmp_path / "t.tsv", "-o", tmp_path / "w.npz", "--wide",
                      "words", "--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--threads", "1"])
    assert result.exit_code == 0, result.stderr
    assert load_model(tmp_path / "w.npz").meta["wide_fit"]["rows"] == "blocks"     # one block: one model


def test_model_is_the_wide_part_plus_a_share_of_the_network(tiny):
    from rnntools.tasks.classify import load
    from rnntools.tasks.classify.model import predict_logits

    d, path = tiny
    model = load(str(path))
    share = model.meta["wide_fit"]["share"]
    assert 0.0 <= share <= 1.0 and model.net.cfg.share == share
    texts = ["great film", "awful plot scene"]
    seqs, _, _ = D.encode_texts(model.vocab, texts, 50)
    X = model.wide_features(texts)
    both = predict_logits(model.net, seqs, X)
    alone = predict_logits(model.net, seqs, None)       # share x network
    wide = np.asarray(X @ model.net.params["wide.W"]) + model.net.params["wide.b"]
    np.testing.assert_allclose(both, alone + wide, rtol=1e-5, atol=1e-5)


def test_share_ties_go_to_the_smaller_share():
    """The share with the lowest validation loss, except that losses within SHARE_TIE of it are a tie that the
    smaller share wins: spam's perfectly separated 17 validation texts gave every share a loss of 1e-5 to
    1e-9 (these numbers), where the last bits of the logits used to decide."""
    from rnntools.tasks.classify.training import SHARE_TIE, lowest_share

    assert lowest_share([0.52, 0.50, 0.49, 0.495, 0.51])[0] == 2
    assert lowest_share([0.5, 0.49, 0.49 + SHARE_TIE / 2, 0.49 - SHARE_TIE / 2])[0] == 1
    assert lowest_share([0.49 - 2 * SHARE_TIE, 0.49, 0.48])[0] == 2
    spam = [2.322e-05, 6.056e-07, 1.734e-08, 1.102e-09, 9.532e-10, 1.617e-09, 2.812e-09, 4.894e-09, 8.518e-09,
            1.482e-08, 2.580e-08]
    assert lowest_share(spam)[0] == 1                                     # was 3 or 4, by the last bits
    assert lowest_share([0.3] * 11)[0] == 0


def test_on_documents_the_network_counts_only_with_a_nat_of_evidence():
    """On documents (sublinear-tf rows) the lowest share stands only if it lowers the validation texts'
    summed log loss by more than SHARE_EVIDENCE nats below share 0 (the wide part alone); else 0. The long
    reviews' 112 validation texts fell from 0.3593 to 0.3573 between shares 0 and 1 (0.22 nats in all: the
    wide part alone); the same fall over 854 texts is 1.7 nats and keeps share 1; spam's perfectly separated
    split, 4e-4. Sentences keep the lowest loss alone."""
    from rnntools.tasks.classify.training import SHARE_EVIDENCE, SHARE_TIE, lowest_share, share_evidence

    assert SHARE_EVIDENCE == 1.0
    assert share_evidence("blocks+tf") == SHARE_EVIDENCE
    assert share_evidence("sep+neg") == share_evidence("blocks") == share_evidence(None) == 0.0
    one = share_evidence("blocks+tf")
    reviews = list(np.linspace(0.3593, 0.3573, 11))
    assert lowest_share(reviews)[0] == 10                                 # the lowest loss alone
    assert lowest_share(reviews, 112.0, one)[0] == 0
    assert lowest_share(reviews, 854.0, one)[0] == 10
    assert lowest_share(reviews)[1] is None                            # no split's weight: no gain
    assert lowest_share(reviews, 112.0, one)[1] == pytest.approx(112 * 0.002)   # the gain, in nats, either way
    assert lowest_share(reviews, 854.0, one)[1] == pytest.approx(854 * 0.002)
    assert lowest_share(reviews, 112.0, share_evidence("sep"))[0] == 10   # sentences: as before
    spam = [2.322e-05, 6.056e-07, 1.734e-08, 1.102e-09, 9.532e-10, 1.617e-09, 2.812e-09, 4.894e-09, 8.518e-09,
            1.482e-08, 2.580e-08]
    assert lowest_share(spam, 17.0, one)[0] == 0
    assert lowest_share([0.5, 0.375, 0.4], 8.0, one)[0] == 0             # exactly one nat is not more than one
    assert lowest_share([0.5, 0.375, 0.4], 8.5, one)[0] == 1
    assert lowest_share([0.5, 0.375 + SHARE_TIE / 2, 0.375], 100.0, one)[0] == 1   # ties still go to the smaller share


def test_the_model_stores_the_networks_evidence_and_drops_it_without_enough(tiny, run_cli, tmp_path, monkeypatch):
    """combine stores the network's gain over the wide part alone (nats over the validation texts) as
    wide_fit.val_gain; with the evidence needed (here sentences': SENTENCE_SHARE_EVIDENCE) above it the share
    is 0, below it the lowest loss's share."""
    from rnntools.io import load_model
    from rnntools.tasks.classify import training

    d, _ = tiny
    common = ["rnn-train", "--task", "classify", d / "train.tsv", "--hidden", "4", "--embed-dim", "4", "--epochs",
              "2", "--threads", "1"]
    fits = {}
    for evidence in (-1.0, 1e9):
        monkeypatch.setattr(training, "SENTENCE_SHARE_EVIDENCE", evidence)
        result = run_cli([*common, "-o", tmp_path / f"{evidence}.npz"])
        assert result.exit_code == 0, result.stderr
        fits[evidence] = load_model(tmp_path / f"{evidence}.npz").meta["wide_fit"]
    loose, strict = fits[-1.0], fits[1e9]
    by_share = loose["val_loss_by_share"]
    assert loose["val_gain"] == strict["val_gain"] >= 0
    # 30 validation texts, class weights near 1; the losses stored are rounded to 5 decimals
    assert loose["val_gain"] == pytest.approx(30 * (by_share["0.0"] - min(by_share.values())), rel=0.05, abs=1e-3)
    assert strict["share"] == 0.0
    assert by_share[f"{loose['share']:.1f}"] <= min(by_share.values()) + 1e-5


def test_residual_option_decides_what_the_network_learns_and_older_files_resume_residual(tiny, run_cli, tmp_path,
                                                                                           monkeypatch):
    """``--residual`` trains the network with the wide part's out-of-fold logits added to its own,
    ``--no-residual`` on the labels alone (the wide part and the splits the same, the mix chosen after); by
    default the first below ``RESIDUAL_BELOW`` labelled texts. The model keeps the value used. A file
    written before the option (no ``residual`` in its config) resumes as it was trained."""
    from rnntools.io import load_model, save_model
    from rnntools.tasks.classify import training

    d, default = tiny
    assert load_model(default).meta["config"]["residual"] is True          # 300 texts
    seen = {}
    task_class = training.ClassifierTask

    class Spy(task_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen[len(seen)] = self.offset_train

    monkeypatch.setattr(training, "ClassifierTask", Spy)
    common = ["--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--threads", "1"]
    models = {}
    for flag in ("--residual", "--no-residual"):
        models[flag] = tmp_path / f"{flag[2:]}.npz"
        result = run_cli(["rnn-train", "--task", "classify", d / "train.tsv", "-o", models[flag], flag, *common])
        assert result.exit_code == 0, result.stderr
    assert seen[0] is not None and seen[0].shape[1] == 2 and seen[1] is None
    residual, alone = load_model(models["--residual"]), load_model(models["--no-residual"])
    assert residual.meta["config"]["residual"] is True and alone.meta["config"]["residual"] is False
    np.testing.assert_array_equal(residual.arrays["wide.W"], alone.arrays["wide.W"])
    assert not np.array_equal(residual.arrays["out.W"], alone.arrays["out.W"])
    old = tmp_path / "old.npz"          # as written before the option: no "residual" in the config
    meta = {k: v for k, v in residual.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    meta["config"] = {k: v for k, v in meta["config"].items() if k != "residual"}
    save_model(old, "classifier", residual.arrays, meta)
    result = run_cli(["rnn-train", "--task", "classify", d / "train.tsv", "-o", tmp_path / "r.npz", "--resume", old,
                      "--no-residual", *common])
    assert result.exit_code == 2 and "--residual off differs from the saved model's on" in result.stderr
    result = run_cli(["rnn-train", "--task", "classify", d / "train.tsv", "-o", tmp_path / "r.npz", "--resume", old,
                      "--epochs", "2", "--threads", "1"])
    assert result.exit_code == 0, result.stderr
    assert seen[len(seen) - 1] is not None and load_model(tmp_path / "r.npz").meta["config"]["residual"] is True
    monkeypatch.setattr(training, "RESIDUAL_BELOW", 200)                   # 300 texts: on its own by default
    result = run_cli(["rnn-train", "--task", "classify", d / "train.tsv", "-o", tmp_path / "a.npz", *common])
    assert result.exit_code == 0, result.stderr
    assert seen[len(seen) - 1] is None and load_model(tmp_path / "a.npz").meta["config"]["residual"] is False


def _hard_probabilities() -> np.ndarray:
    """Rows of probabilities that rounding to six decimals can get wrong: random ones, softmax outputs near
    zero, values at and next to a half of the sixth decimal, 0, 1 and NaN."""
    rng = np.random.default_rng(0)
    v = rng.random((3000, 13))
    v[0, :6] = [0.0000005, 0.1234565, 0.5, 1.0, 0.0, 0.9999995]
    halves = (np.arange(13) * 7 + 0.5) / 1e6
    v[1], v[2], v[3] = halves, np.nextafter(halves, 1.0), np.nextafter(halves, 0.0)
    e = np.exp(-rng.random((500, 13)) * 40)
    v[4:504] = e / e.sum(axis=1, keepdims=True)
    v[504, 3] = np.nan
    return v


def test_rounded_probabilities_are_pythons_round():
    """``task.rounded`` gives the floats of Python's ``round(v, 6)`` (the same reprs, so the same JSON), on
    random probabilities, softmax outputs near zero, values at and next to a half of the sixth decimal,
    0, 1 and NaN."""
    from rnntools.tasks.classify.task import rounded

    v = _hard_probabilities()
    got = rounded(v, 6)
    want = [[round(x, 6) for x in row] for row in v.tolist()]
    assert [[repr(x) for x in row] for row in got] == [[repr(x) for x in row] for row in want]
    assert all(type(x) is float for x in got[0])


def test_probability_text_is_repr_of_every_millionth():
    """``io.decimals.decimal_text(m, 6)`` (the plain-Python twin of the kernel's numbers) is ``repr(m / 10**6)``
    for every m from 0 to 10^6; the kernel writes the same numbers, keys and labels (non-ASCII and integer
    labels, top-k orders, NaN as null) as the plain-Python reference of a record's added text."""
    from rnntools.io.decimals import decimal_text
    from rnntools.io.outputs import _encode
    from rnntools.tasks.classify import output as O

    def number_text(m):
        return "null" if m < 0 else decimal_text(m, 6)

    assert all(decimal_text(m, 6) == repr(m / 1e6) for m in range(O.MICROS + 1))
    labels, keys = ["pos", "né\"g", 7], ["pos", "né\"g", "7"]
    text = O.LabelProbsText(labels, keys)
    rng = np.random.default_rng(3)
    every = np.arange(O.MICROS + 1)
    m = np.concatenate([every, rng.integers(0, 300, 3 * 4000 - len(every) % 3), [-1, O.MICROS, 0]])
    m = m[:len(m) // 3 * 3].reshape(-1, 3).astype(np.int64)
    order = np.argsort(rng.random(m.shape), axis=1)
    for k in (3, 1):
        out = np.empty(len(m) * (text.label_width + k * text.key_width), np.uint8)
        ends = np.zeros(len(m) + 1, np.int64)
        O.label_probs_text(order[:, :k].copy(), m, text.label_bytes, text.label_starts, text.key_bytes,
                            text.key_starts, out, ends)
        got = out[:ends[-1]].tobytes().decode("utf-8")
        want = "".join(f', "label": {_encode(labels[o[0]])}, "probs": {{'
                       + ", ".join(f"{_encode(keys[j])}: {number_text(int(row[j]))}" for j in o[:k]) + "}}\n"
                       for row, o in zip(m.tolist(), order.tolist()))
        assert got == want


def test_micros_are_the_rounded_probabilities():
    """``output.micros(p) / 10**6`` are ``task.rounded``'s floats (Python's ``round(p, 6)``), at and next to
    halves of the sixth decimal too; NaN gives -1."""
    from rnntools.tasks.classify.output import micros
    from rnntools.tasks.classify.task import rounded

    v = _hard_probabilities()
    m = micros(v)
    want = rounded(v, 6)
    assert m[504, 3] == -1
    got = [[float("nan") if x < 0 else x / 1e6 for x in row] for row in m.tolist()]
    assert [[repr(x) for x in row] for row in got] == [[repr(x) for x in row] for row in want]


def test_predict_text_is_the_jsonl_of_predict(tiny, monkeypatch):
    """``predict_text`` (what the ``predict`` command writes) is ``io.JsonlWriter``'s text for ``predict``'s
    records, to the byte: other fields kept in their order, a ``label`` or ``probs`` field already there
    (replaced in its place), non-ASCII text, ``top_k``, one and two threads, chunks; NaN probabilities as
    null; the same warnings; a bad record's error after the text of every chunk before it."""
    import io

    from rnntools import console, nn
    from rnntools.errors import InputError
    from rnntools.io import JsonlWriter
    from rnntools.tasks.classify import load
    from rnntools.tasks.classify import task as T

    _, path = tiny
    model = load(str(path))
    words = ["film", "plot", "actor", "scene", "great", "awful", "zzz", "été"]

    def records():
        rng = np.random.default_rng(6)
        out = []
        for i in range(60):
            r = {"id": i, "body": " ".join(rng.choice(words, rng.integers(0, 7)))}
            if i % 7 == 3:
                r = {"label": "x", **r}
            if i % 11 == 5:
                r["probs"] = [1]
            if i % 13 == 2:
                r["y"] = "pos"
            if i % 5 == 4:
                r = {"body": r["body"], "meta": {"a": [1.5, None, "ü"]}}
            out.append(r)
        return out

    def jsonl(records, **options):
        stream = io.StringIO()
        writer = JsonlWriter(stream)
        for r in T.predict(model, records, **options):
            writer.write(r)
        return stream.getvalue()

    warned = []
    monkeypatch.setattr(console, "warn", lambda message: warned.append(message))
    before = nn.get_threads()
    try:
        for threads in (1, 2):
            nn.set_threads(threads)
            for options in ({}, {"top_k": 1}, {"chunk": 7}):
                data = records()
                warned.clear()
                want = jsonl([dict(r) for r in data], **options)
                warned_want = list(warned)
                warned.clear()
                got = "".join(T.predict_text(model, [dict(r) for r in data], **options))
                assert got == want and len(got.splitlines()) == 60
                assert warned == warned_want and len(warned) == 2     # label fields; texts with no known token
        nn.set_threads(1)
        probs = T.Model.probs

        def with_nan(self, texts, keep=None):
            p, empty = probs(self, texts, keep)
            p[::3, 0] = np.nan
            return p, empty

        monkeypatch.setattr(T.Model, "probs", with_nan)
        data = records()
        want = jsonl([dict(r) for r in data], warn=False)
        assert "null" in want and "".join(T.predict_text(model, [dict(r) for r in data], warn=False)) == want
        monkeypatch.setattr(T.Model, "probs", probs)
        want = jsonl(records(), warn=False)
        bad = records()
        bad[30]["body"] = 5
        out = []
        with pytest.raises(InputError, match="should be a string"):
            for text in T.predict_text(model, iter(bad), chunk=7, warn=False):
                out.append(text)
        assert "".join(out).splitlines() == want.splitlines()[:28]
    finally:
        nn.set_threads(before)


def test_a_second_predict_process_loads_every_kernel_from_the_cache(tiny, tmp_path):
    """Every kernel ``predict`` runs is found in numba's cache by the next process: no compiler set-up there
    (``numba.np.arraymath`` is imported only by it; a kernel defined in a function that refers to another
    kernel through the function's variables was compiled in every process)."""
    import subprocess
    import sys

    _, path = tiny
    (tmp_path / "in.txt").write_text("great film\nawful plot zzz\n", encoding="utf-8")
    code = ("import atexit, sys\nfrom rnntools.cli import main\n"
            "atexit.register(lambda: print('numba.np.arraymath' in sys.modules))\n"
            f"main(['-q', 'predict', {str(path)!r}, {str(tmp_path / 'in.txt')!r}, '-o', {str(tmp_path / 'o.jsonl')!r},"
            " '--threads', '1'])\n")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr
    assert runs[1].stdout.split() == ["False"]
    assert len((tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_predict_with_two_threads_gives_the_records_of_one(tiny, monkeypatch):
    """With two threads each chunk is scored in a helper thread while the chunk before is handed out (and
    its batches run side by side on the workers, ``run_each``); the records are those of one thread, in
    their order, the same JSON to the byte. With stdin waiting each chunk is handed out before the next
    record is read; a bad record's error comes after every record before its chunk."""
    import threading

    from rnntools import nn
    from rnntools.errors import InputError
    from rnntools.tasks.classify import load
    from rnntools.tasks.classify import task as T

    _, path = tiny
    model = load(str(path))
    words = ["film", "plot", "actor", "scene", "great", "awful", "zzz"]
    rng = np.random.default_rng(5)
    texts = [" ".join(rng.choice(words, rng.integers(0, 9))) for _ in range(100)]

    def records():
        return [{"id": i, "body": t} for i, t in enumerate(texts)]

    scorers = []
    probs = T.Model.probs
    monkeypatch.setattr(T.Model, "probs", lambda self, texts, keep=None: (
        scorers.append(threading.current_thread().name), probs(self, texts, keep))[1])
    before = nn.get_threads()
    try:
        nn.set_threads(1)
        one = [json.dumps(r) for r in T.predict(model, iter(records()), chunk=7, warn=False)]
        assert not any(name.startswith("rnntools-predict") for name in scorers)
        nn.set_threads(2)
        scorers.clear()
        two = [json.dumps(r) for r in T.predict(model, iter(records()), chunk=7, warn=False)]
        assert scorers[0] == threading.current_thread().name     # the first chunk: here, then the helper
        assert len(scorers) == 15 and all(name.startswith("rnntools-predict") for name in scorers[1:])
        assert two == one and len(one) == 100
        # stdin waiting: a chunk is handed out before the next record is read
        read = []

        def arriving():
            for r in records()[:10]:
                read.append(r["id"])
                yield r

        monkeypatch.setattr(T, "stdin_idle", lambda: True)
        for r in T.predict(model, arriving(), chunk=7, warn=False):
            assert read[-1] == r["id"]
        monkeypatch.undo()
        bad = records()
        bad[30]["body"] = 5
        out = []
        with pytest.raises(InputError, match="should be a string"):
            for r in T.predict(model, iter(bad), chunk=7, warn=False):
                out.append(json.dumps(r))
        assert out == one[:28]
    finally:
        nn.set_threads(before)


def test_predict_pauses_the_collector_while_scoring_and_restores_it(tiny, monkeypatch):
    """The garbage collector is off while a chunk is scored and back as it was afterwards (on, or off when
    the caller had turned it off); the first chunk's objects are frozen, later chunks' are not."""
    import gc

    from rnntools.tasks.classify import load
    from rnntools.tasks.classify import task as T

    _, path = tiny
    model = load(str(path))
    seen = []
    probs = T.Model.probs
    monkeypatch.setattr(T.Model, "probs", lambda self, texts, keep=None: (seen.append(gc.isenabled()),
                                                                          probs(self, texts, keep))[1])
    freezes = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(len(seen)))
    records = [{"body": t} for t in ["great film", "awful plot", ""] * 5]     # the model's text field
    assert gc.isenabled()
    out = list(T.predict(model, iter(records), chunk=4, warn=False))
    assert len(out) == 15 and seen == [False] * 4 and freezes == [1] and gc.isenabled()
    gc.disable()
    try:
        list(T.predict(model, iter(records), chunk=8, warn=False))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_wide_tokens_keep_combining_marks_in_their_word():
    """The wide part's words: a Hindi word with its vowel signs, a decomposed accent composed; each mark was a
    token of its own (['ह', 'ि', 'न', '्', 'द', 'ी'])."""
    assert F._wide_tokens("हिन्दी भाषा!") == ["हिन्दी", "भाषा", "!"]
    assert F._wide_tokens("Cafe\u0301, ok") == ["caf\u00e9", ",", "ok"]


def test_lbfgs_ends_with_stopped_once_its_stop_event_is_set():
    """``stop``: unset, the iterates are the same bits as without it; set, the next objective evaluation
    raises ``Stopped`` (a fit beside the network ends when the network fails or is interrupted)."""
    import threading

    from rnntools.tasks.classify.linear import Stopped, _loss_grad, fit_linear, lbfgs

    X, y = _linear_problem()
    args = (X, X.T.tocsr(), np.eye(3)[y], np.full(len(y), 1.0 / len(y)), 3.0)
    stop = threading.Event()
    free = lbfgs(_loss_grad, np.zeros(33 * 3), args, max_iter=50)
    np.testing.assert_array_equal(lbfgs(_loss_grad, np.zeros(33 * 3), args, max_iter=50, stop=stop), free)
    calls = []

    def objective(theta, *a):
        calls.append(1)
        if len(calls) == 3:
            stop.set()
        return _loss_grad(theta, *a)

    with pytest.raises(Stopped):
        lbfgs(objective, np.zeros(33 * 3), args, max_iter=50, stop=stop)
    assert len(calls) == 3
    with pytest.raises(Stopped):
        fit_linear(X, y, np.ones(3, np.float32), 3, Cs=(1.0, 10.0), stop=stop)


@pytest.mark.parametrize("flag", ["--no-residual", "--residual"])
def test_the_wide_fit_in_its_own_thread_gives_the_same_model(tiny, run_cli, tmp_path, monkeypatch, flag):
    """The wide part's fit runs in a thread of its own (``training.WideFit``) beside the word2vec start and,
    without ``--residual``, the network's epochs; the model file is the one the fit run first, alone,
    gives: every array the same bits (the fitted wide weights, also in the trainer's ``resume.`` copies,
    where the network's epochs saved zeros), the meta the same but the elapsed time."""
    import threading

    from rnntools.io import load_model
    from rnntools.tasks.classify import linear, training

    d, _ = tiny
    fitted_in = []
    fit = linear.fit_linear

    def spy(*args, **kwargs):
        fitted_in.append(threading.current_thread().name)
        return fit(*args, **kwargs)

    monkeypatch.setattr(linear, "fit_linear", spy)
    common = [d / "train.tsv", "--hidden", "4", "--embed-dim", "4", "--epochs", "4", "--own-vectors", "--threads",
              "2", flag]
    beside = tmp_path / "beside.npz"
    result = run_cli(["rnn-train", "--task", "classify", "-o", beside, *common])
    assert result.exit_code == 0, result.stderr
    assert fitted_in and set(fitted_in) == {"rnntools-wide-fit"}      # two-class: both blocks, NB words too

    class First(training.WideFit):      # the fit to its end before anything else, as one thread does it
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._thread.join()

    monkeypatch.setattr(training, "WideFit", First)
    alone = tmp_path / "alone.npz"
    result = run_cli(["rnn-train", "--task", "classify", "-o", alone, *common])
    assert result.exit_code == 0, result.stderr
    a, b = load_model(beside), load_model(alone)
    assert list(a.arrays) == list(b.arrays) and "wide.W" in a.arrays and a.arrays["wide.W"].any()
    for name in a.arrays:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name], err_msg=name)
    for name in ("wide.W", "wide.b"):
        if f"resume.{name}" in a.arrays:
            np.testing.assert_array_equal(a.arrays[f"resume.{name}"], a.arrays[name])
    a.meta["training"]["counters"].pop("elapsed")
    b.meta["training"]["counters"].pop("elapsed")
    assert a.meta == b.meta


def test_a_failed_network_ends_the_wide_fit_beside_it(tiny, monkeypatch):
    """When the network's training fails (or is interrupted), the fit running beside it ends at its next
    objective evaluation and ``train`` raises the network's error, leaving no thread behind."""
    import threading
    import time

    from rnntools.tasks import trainer
    from rnntools.tasks.classify import linear, training

    d, _ = tiny
    evaluations = []
    objective = linear._loss_grad_fast

    def slow(*args):
        evaluations.append(1)
        time.sleep(0.05)            # a fit of hundreds of evaluations: tens of seconds
        return objective(*args)

    def failing(*args, **kwargs):
        time.sleep(0.3)
        raise RuntimeError("the network failed")

    monkeypatch.setattr(linear, "_loss_grad_fast", slow)
    monkeypatch.setattr(trainer, "fit", failing)
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="the network failed"):
        training.train([str(d / "train.tsv")], str(d / "failed.npz"),
                       {"hidden": 4, "embed_dim": 4, "residual": False, "threads": 1})
    assert time.perf_counter() - start < 5
    assert evaluations and not any(t.name == "rnntools-wide-fit" for t in threading.enumerate())


def test_lbfgs_vector_kernels_equal_numpy_to_the_bit():
    """The L-BFGS step's vector kernels (``linear.kernels()``: ``multiply``, ``step_point``, ``new_pair``,
    ``max_abs_ratio``) give numpy's numbers to the last bit, for any thread count: each entry is the same
    one or two operations (no reordering, no fused multiply-add), and a maximum has no order."""
    import numba

    from rnntools.tasks.classify.linear import kernels

    k = kernels()
    rng = np.random.default_rng(7)
    n = 1000 * 64 + 13
    a, b, d = rng.normal(size=n) * 1e3, rng.uniform(0.01, 3.0, n), rng.normal(size=n)
    before = numba.get_num_threads()
    try:
        for threads in {1, before}:
            numba.set_num_threads(threads)
            out = np.empty(n)
            k.multiply(a, b, out)
            assert out.tobytes() == (a * b).tobytes()
            inplace = a.copy()
            k.multiply(inplace, b, inplace)
            assert inplace.tobytes() == (a * b).tobytes()
            k.step_point(a, 0.37, d, out)
            x = a.copy()
            x += 0.37 * d
            assert out.tobytes() == x.tobytes()
            H = rng.normal(size=(5, n))
            x_new, g_new = rng.normal(size=n), rng.normal(size=n)
            want = H.copy()
            np.subtract(x_new, a, out=want[1])
            np.subtract(g_new, want[4], out=want[3])
            want[4] = g_new
            k.new_pair(H, 1, 3, 4, x_new, a, g_new)
            assert H.tobytes() == want.tobytes()
            assert k.max_abs_ratio(d, b) == np.max(np.abs(d / b))
            d[n // 2] = np.nan
            assert np.isnan(k.max_abs_ratio(d, b))
            d[n // 2] = 0.0
    finally:
        numba.set_num_threads(before)
