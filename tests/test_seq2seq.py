"""seq2seq: batches, gradients (float64 central differences), masking, decoding, metrics, CLI."""

import json
import math

import numpy as np
import pytest
from gradcheck import numeric_grad, rel_error

from rnntools.errors import InputError
from rnntools.nn import attention as att
from rnntools.tasks import seq2seq as s2s

START, EOS = 2, 3


def _model(cell="gru", attention="general", layers=2, H=5, E=4, Vs=7, Vt=6, shared=False, seed=0, noise=0.5):
    cfg = s2s.Config(cell=cell, hidden=H, layers=layers, embed_dim=E, attention=attention, shared_vocab=shared,
                     src_vocab_size=Vs, tgt_vocab_size=Vs if shared else Vt)
    p = s2s.init_params(cfg, 1, np.float64)
    rng = np.random.default_rng(seed)
    for k in p:  # larger weights than at init: every path carries gradient worth checking
        p[k] += rng.normal(0, noise, p[k].shape)
    return cfg, p


def _pairs():
    srcs = [np.array([4, 5, 6]), np.array([5]), np.array([6, 4])]
    tgts = [np.array([4, 5]), np.array([5, 5, 4]), np.array([], dtype=np.int32)]
    return srcs, tgts


def _batch():
    """``_pairs`` as one float64 teacher-forced batch (lengths 3/1/2 and 2/3/0: every mask path)."""
    srcs, tgts = _pairs()
    return s2s.make_batch(srcs, tgts, START, EOS, dtype=np.float64)


def _assert_gradients(p, cfg, batch, names=None, eps=1e-6, drops=None, what="", smoothing=0.0):
    """The teacher-forced loss's gradient of each parameter in ``names`` (default: all, and the analytic
    gradients name exactly the parameters) against central differences: relative error < 1e-6."""
    _, grads = s2s.loss_and_grads(p, cfg, batch, drops=drops, smoothing=smoothing)
    if names is None:
        assert set(grads) == set(p)
        names = list(p)
    for name in names:
        numeric = numeric_grad(lambda: s2s.loss_and_grads(p, cfg, batch, grad=False, drops=drops,
                                                          smoothing=smoothing)[0], p[name], eps=eps)
        assert np.abs(numeric).max() > 0, f"{what} {name}: no gradient to check"
        err = rel_error(grads[name], numeric)
        assert err < 1e-6, f"{what} {name}: relative error {err:.2e}"


def test_make_batch_teacher_forcing_layout():
    b = s2s.make_batch([np.array([7, 8]), np.array([9])], [np.array([4, 5, 6]), np.array([4])], START, EOS)
    assert b.src.T.tolist() == [[7, 8], [9, 0]]
    assert b.src_mask.T.tolist() == [[1, 1], [1, 0]]
    assert b.dec_in.T.tolist() == [[START, 4, 5, 6], [START, 4, 0, 0]]
    assert b.dec_out.T.tolist() == [[4, 5, 6, EOS], [4, EOS, 0, 0]]
    assert b.tgt_mask.T.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert b.tokens == 6


def test_padded_pairs_gather_the_same_batches_as_make_batch():
    rng = np.random.default_rng(5)
    srcs = [rng.integers(4, 9, rng.integers(1, 6)).astype(np.int32) for _ in range(20)]
    tgts = [rng.integers(4, 9, rng.integers(0, 5)).astype(np.int32) for _ in range(20)]
    padded = s2s.PaddedPairs(srcs, tgts, START, EOS)
    for idx in (np.arange(20), np.array([3, 17, 0]), np.array([5])):
        got = padded.batch(idx)
        want = s2s.make_batch([srcs[i] for i in idx], [tgts[i] for i in idx], START, EOS)
        for field in ("src", "src_mask", "dec_in", "dec_out", "tgt_mask"):
            a, b = getattr(got, field), getattr(want, field)
            assert a.dtype == b.dtype and a.flags.c_contiguous, field
            np.testing.assert_array_equal(a, b, err_msg=field)


@pytest.mark.parametrize("cell,attention", [("gru", "general"), ("lstm", "dot"), ("rnn", "none"),
                                            ("gru", "none"), ("lstm", "general")])
def test_gradients_of_teacher_forced_loss(cell, attention):
    """Encoder, decoder, attention, embeddings and output layer: every parameter, float64."""
    cfg, p = _model(cell, attention)
    # eps 1e-5: some gradients here are ~1e-3 (att.Wa with lstm), where eps 1e-6 leaves round-off of a few
    # 1e-6 relative (measured: the error scales as 1/eps, 2.6e-6 at 1e-6, 1.8e-7 at 1e-5, 2e-8 at 1e-4)
    _assert_gradients(p, cfg, _batch(), eps=1e-5, what=f"{cell}/{attention}")


@pytest.mark.parametrize("attention", ["general", "none"])
def test_embedding_read_by_id_equals_gathered(attention, monkeypatch):
    """Small vocabularies go to the engine as (table, ids); the gathered (T, B, E) input gives the same."""
    cfg, p = _model("gru", attention)
    batch = _batch()
    assert p["enc.embed.W"].shape[0] < batch.src.size and p["dec.embed.W"].shape[0] < batch.dec_in.size
    loss, grads = s2s.loss_and_grads(p, cfg, batch)
    import rnntools.nn.recurrent

    monkeypatch.setattr(rnntools.nn.recurrent, "reads_table_by_id", lambda V, n: False)
    loss2, grads2 = s2s.loss_and_grads(p, cfg, batch)
    assert loss == pytest.approx(loss2, rel=1e-12)
    for k in p:
        np.testing.assert_allclose(grads[k], grads2[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_gradients_with_shared_vocabulary():
    cfg, p = _model("gru", "dot", layers=1, shared=True)
    assert "embed.W" in p and "enc.embed.W" not in p
    _assert_gradients(p, cfg, _batch(), names=["embed.W"])


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_layer_gradients_into_inputs_and_both_states(cell):
    """The engine layer as seq2seq uses it: masked (T, B) input, gradients into x, the initial state (the
    encoder -> decoder hand-over) and from the final state, every parameter."""
    from rnntools.nn import Recurrent, cell_backward, cell_forward

    rng = np.random.default_rng(1)
    T, B, D, H = 3, 2, 4, 5
    params = {}
    Recurrent(params, "x", cell, D, H, rng=rng, dtype=np.float64)
    p = {k[4:]: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    X = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(B, H)) * 0.5
    c0 = rng.normal(size=(B, H)) * 0.5 if cell == "lstm" else None
    mask = np.array([[1, 1], [1, 0], [1, 0]], np.float64)
    wy, wh = rng.normal(size=(T, B, H)), rng.normal(size=(B, H))
    wc = rng.normal(size=(B, H)) if cell == "lstm" else None

    def f():
        y, (hT, cT), _ = cell_forward(cell, p["W"], p["b"], p.get("bn"), X, h0, c0, mask)
        return float((y * wy).sum() + (hT * wh).sum() + (0.0 if cT is None else (cT * wc).sum()))

    _, (hT, _), cache = cell_forward(cell, p["W"], p["b"], p.get("bn"), X, h0, c0, mask)
    # the final state of the padded row is the state after its last real token
    alone = cell_forward(cell, p["W"], p["b"], p.get("bn"), X[:1, 1:], h0[1:], None if c0 is None else c0[1:])[1][0]
    np.testing.assert_allclose(hT[1:], alone, atol=1e-12)
    dX, (dh0, dc0), g = cell_backward(cell, p["W"], cache, wy, wh, wc)
    assert rel_error(dX, numeric_grad(f, X)) < 1e-6
    assert rel_error(dh0, numeric_grad(f, h0)) < 1e-6
    if cell == "lstm":
        assert rel_error(dc0, numeric_grad(f, c0)) < 1e-6
    for name in p:
        assert rel_error(g[name], numeric_grad(f, p[name])) < 1e-6, name


def test_attention_gradients_and_masking():
    """Time-major, as the engine's layers: Hd (T, B, H), He (S, B, H), mask (S, B)."""
    rng = np.random.default_rng(2)
    B, T, S, H = 2, 3, 4, 5
    params = {}
    att.Attention(params, "att", "general", H, rng=rng, dtype=np.float64)
    p = {k[4:]: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    Hd, He = rng.normal(size=(T, B, H)), rng.normal(size=(S, B, H))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], np.float64).T
    w = rng.normal(size=(T, B, H))

    def f():
        out, _, _ = att.attention_forward(p, Hd, He, att.keys(p, He), mask)
        return float((out * w).sum())

    out, weights, cache = att.attention_forward(p, Hd, He, att.keys(p, He), mask)
    assert np.allclose(weights.sum(axis=2), 1) and np.all(weights[:, 1, 2:] == 0)
    dHd, dHe, g = att.attention_backward(p, cache, w)
    assert rel_error(dHd, numeric_grad(f, Hd)) < 1e-6
    assert rel_error(dHe, numeric_grad(f, He)) < 1e-6
    assert np.all(dHe[2:, 1] == 0)  # padding gets no gradient
    for name in p:
        assert rel_error(g[name], numeric_grad(f, p[name])) < 1e-6, name


def test_attention_leaves_out_padded_target_positions():
    """tgt_mask: the padded decoder positions are not computed (h~ and weights 0) and give no gradient.
    Float64: gradients against central differences. Float32, as training runs: every real position's
    output and every gradient are the same bits as computing all positions with zero gradient at the padded
    ones (what the teacher-forced loss gives them), dot and general, one and two threads."""
    from rnntools.nn.parallel import get_threads, set_threads
    rng = np.random.default_rng(5)
    B, T, S, H = 3, 4, 5, 6
    params = {}
    att.Attention(params, "att", "general", H, rng=rng, dtype=np.float64)
    p = {k[4:]: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    Hd, He = rng.normal(size=(T, B, H)), rng.normal(size=(S, B, H))
    mask = np.ones((S, B))
    mask[3:, 1] = 0
    tmask = np.ones((T, B))
    tmask[2:, 0] = 0
    tmask[3, 2] = 0
    w = rng.normal(size=(T, B, H))

    def f():
        out, _, _ = att.attention_forward(p, Hd, He, att.keys(p, He, mask), mask, tmask)
        return float((out * w).sum())

    out, weights, cache = att.attention_forward(p, Hd, He, att.keys(p, He, mask), mask, tmask)
    assert (out[tmask == 0] == 0).all() and (weights[tmask == 0] == 0).all()
    dHd, dHe, g = att.attention_backward(p, cache, w)
    assert (dHd[tmask == 0] == 0).all()
    assert rel_error(dHd, numeric_grad(f, Hd)) < 1e-6
    assert rel_error(dHe, numeric_grad(f, He)) < 1e-6
    for name in p:
        assert rel_error(g[name], numeric_grad(f, p[name])) < 1e-6, name

    B, T, S, H = 40, 9, 11, 64
    lengths_s, lengths_t = rng.integers(1, S + 1, B), rng.integers(1, T + 1, B)
    lengths_s[0], lengths_t[0] = S, T
    mask = (np.arange(S)[:, None] < lengths_s).astype(np.float32)
    tmask = (np.arange(T)[:, None] < lengths_t).astype(np.float32)
    He = (rng.normal(size=(S, B, H)) * mask[:, :, None]).astype(np.float32)
    Hd = (rng.normal(size=(T, B, H)) * tmask[:, :, None]).astype(np.float32)
    dout = (rng.normal(size=(T, B, H)) * tmask[:, :, None]).astype(np.float32)
    before = get_threads()
    try:
        for mode in ("dot", "general"):
            params = {}
            att.Attention(params, "att", mode, H, rng=rng, dtype=np.float32)
            p = {k[4:]: v for k, v in params.items()}
            for threads in (1, 2):
                set_threads(threads)
                full, _, c_full = att.attention_forward(p, Hd, He, att.keys(p, He), mask)
                part, _, c_part = att.attention_forward(p, Hd, He, att.keys(p, He, mask), mask, tmask)
                np.testing.assert_array_equal(part[tmask > 0], full[tmask > 0])
                r_full, r_part = att.attention_backward(p, c_full, dout), att.attention_backward(p, c_part, dout)
                np.testing.assert_array_equal(r_part[0], r_full[0])     # dHd (0 at padding in both)
                np.testing.assert_array_equal(r_part[1], r_full[1])     # dHe
                for name in r_full[2]:
                    np.testing.assert_array_equal(r_part[2][name], r_full[2][name], err_msg=name)
    finally:
        set_threads(before)


@pytest.mark.parametrize("attention", ["none", "general"])
def test_masked_batch_equals_one_by_one(attention):
    cfg, p = _model("lstm", attention)
    srcs, tgts = _pairs()
    batch = s2s.make_batch(srcs, tgts, START, EOS, dtype=np.float64)
    loss, grads = s2s.loss_and_grads(p, cfg, batch)
    total, summed = 0.0, {k: np.zeros_like(v) for k, v in p.items()}
    for src, tgt in zip(srcs, tgts):
        one = s2s.make_batch([src], [tgt], START, EOS, dtype=np.float64)
        l1, g1 = s2s.loss_and_grads(p, cfg, one)
        total += l1
        for k in g1:
            summed[k] += g1[k]
    assert loss == pytest.approx(total, rel=1e-12)
    for k in p:
        np.testing.assert_allclose(grads[k], summed[k], rtol=1e-10, atol=1e-12)


def test_decoder_steps_match_teacher_forced_forward():
    """The step-by-step decoder (inference) computes the same log-probabilities as training."""
    cfg, p = _model("gru", "general")
    src, tgt = np.array([4, 5, 6]), np.array([4, 5])
    batch = s2s.make_batch([src], [tgt], START, EOS, dtype=np.float64)
    loss, _ = s2s.loss_and_grads(p, cfg, batch, grad=False)
    dec = s2s.Decoder(p, cfg, [src])
    step_loss = 0.0
    for token, nxt in zip(batch.dec_in[:, 0], batch.dec_out[:, 0]):
        step_loss -= dec.step(np.array([token], np.int32))[0, nxt]
    assert step_loss == pytest.approx(loss, rel=1e-10)


@pytest.mark.parametrize("attention", ["none", "dot"])
def test_beam_one_equals_greedy_and_wider_beams_score_higher(attention):
    cfg, p = _model("gru", attention, layers=1, H=8, Vs=9, Vt=9, noise=1.0, seed=3)
    rng = np.random.default_rng(4)
    sources = [rng.integers(4, 9, rng.integers(1, 6)) for _ in range(12)]
    greedy = s2s.greedy(p, cfg, sources, START, EOS, max_length=8, alpha=1.0)
    raw_greedy = s2s.greedy(p, cfg, sources, START, EOS, max_length=8, alpha=0.0)
    for src, (seq, score), (_, raw) in zip(sources, greedy, raw_greedy):
        (bseq, bscore), = s2s.beam_search(p, cfg, src, START, EOS, max_length=8, beam=1)
        assert bseq == seq and bscore == pytest.approx(score, abs=1e-12)
        best = s2s.beam_search(p, cfg, src, START, EOS, max_length=8, beam=5, nbest=5, alpha=0.0)
        assert best[0][1] >= raw - 1e-12
        assert [b[1] for b in best] == sorted((b[1] for b in best), reverse=True)
    assert any(len(seq) > 0 for seq, _ in greedy)


@pytest.mark.parametrize("bidirectional,networks", [(False, 1), (True, 1), (True, 2)])
def test_beam_search_of_many_sources_gives_each_what_it_gets_alone(bidirectional, networks):
    """Beam search over many sources at once (their hypotheses rows of one decoder, sources of different
    lengths padded together) gives each source the outputs and scores, to the bit, of a search of it alone:
    float32, general attention, one network and the mean of two, every beam width and n-best kept."""
    cfg = s2s.Config(hidden=16, embed_dim=8, src_vocab_size=9, tgt_vocab_size=9, bidirectional=bidirectional)
    rng = np.random.default_rng(7)
    nets = []
    for k in range(networks):
        p = s2s.init_params(cfg, 3 + k)
        for name in p:
            p[name] += rng.normal(0, 0.7, p[name].shape).astype(np.float32)
        nets.append(s2s.Net(cfg, p))
    sources = [rng.integers(4, 9, rng.integers(1, 9)).astype(np.int32) for _ in range(23)]
    for beam, nbest, alpha in ((1, 1, 1.0), (3, 2, 1.0), (5, 5, 0.0), (8, 1, 0.6)):
        many = s2s.beam_search_many(nets[0].params, cfg, sources, START, EOS, 10, beam, nbest, alpha, net=nets)
        alone = [s2s.beam_search(nets[0].params, cfg, src, START, EOS, 10, beam, nbest, alpha, net=nets)
                 for src in sources]
        assert many == alone
        assert all(found for found in many)
    assert len({tuple(found[0][0]) for found in many}) > 3   # the outputs differ: the test can see a mix-up


@pytest.mark.parametrize("networks", [1, 2])
def test_translate_decodes_sources_by_length_and_answers_in_their_order(networks):
    """``translate`` decodes chunks of sources of similar length (less padding, fewer steps) and returns each
    source's outputs in the order given, the same bits as decoding it alone: greedy and beam, sources of
    lengths 1-9 shuffled, chunks smaller than the input."""
    cfg = s2s.Config(hidden=16, embed_dim=8, src_vocab_size=10, tgt_vocab_size=10, bidirectional=True)
    letters = "abcdef"
    pairs = [s2s.Pair(list(letters), list(letters), {}, "", 0)]
    src_vocab, tgt_vocab = s2s.build_vocabs(pairs, level="char", lowercase=False, shared=False)
    rng = np.random.default_rng(11)
    nets = []
    for k in range(networks):
        p = s2s.init_params(cfg, 5 + k)
        for name in p:
            p[name] += rng.normal(0, 0.7, p[name].shape).astype(np.float32)
        nets.append(p)
    model = s2s.Seq2SeqModel(cfg, src_vocab, tgt_vocab, nets[0], 6, members=nets[1:])
    sources = ["".join(rng.choice(list(letters), rng.integers(1, 10))) for _ in range(29)]
    assert sorted(sources, key=len) != sources
    for beam, nbest in ((1, 1), (3, 2)):
        many = model.translate(sources, beam=beam, nbest=nbest, chunk=5)
        alone = [model.translate([s], beam=beam, nbest=nbest)[0] for s in sources]
        assert many == alone
    assert len({found[0][0] for found in many}) > 3   # the outputs differ: the test can see a mix-up


def test_metrics():
    assert s2s.edit_distance("kitten", "sitting") == 3
    assert s2s.edit_distance([], ["a"]) == 1
    ref = "the cat sat on the mat".split()
    assert s2s.corpus_bleu([ref], [ref]) == pytest.approx(100.0)
    # clipped n-gram precisions counted by hand
    hyp = "the cat sat on mat".split()  # 5/5, 3/4, 2/3, 1/2; shorter: brevity penalty exp(1 - 6/5)
    expected = 100 * math.exp(1 - 6 / 5) * math.exp(sum(map(math.log, [1, 3 / 4, 2 / 3, 1 / 2])) / 4)
    assert s2s.corpus_bleu([hyp], [ref]) == pytest.approx(expected)
    hyp2 = "the cat sat on the red mat".split()  # 6/7, 4/6, 3/5, 2/4; longer: no penalty
    expected = 100 * math.exp(sum(map(math.log, [6 / 7, 4 / 6, 3 / 5, 2 / 4])) / 4)
    assert s2s.corpus_bleu([hyp2], [ref]) == pytest.approx(expected)
    assert s2s.corpus_bleu([["mat", "on"]], [ref]) == 0.0  # no matching 4-gram, no smoothing
    m = s2s.score_predictions(["abc", "abd"], ["abc", "abc"], "char", False)
    assert m["exact_match"] == 0.5 and m["cer"] == pytest.approx(1 / 6)
    w = s2s.score_predictions(["a b c"], ["a b d"], "word", False)
    assert w["wer"] == pytest.approx(1 / 3) and "bleu" in w


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.mark.parametrize("records,message", [
    ([{"source": "ab", "target": "ba"}, {"source": "ab"}], "x.jsonl:2: record has no field 'target'"),
    ([{"target": "ba"}], "x.jsonl:1: record has no field 'source'"),
    ([{"source": "", "target": "ba"}], "x.jsonl:1: empty source"),
    ([{"source": "ab", "target": 5}], "x.jsonl:1: field 'target' should be a string"),
    ([{"source": "ab", "target": "abcdefg"}], "x.jsonl:1: the target has 7 chars, more than the limit of 5"),
])
def test_bad_pairs_name_the_line(tmp_path, records, message):
    path = _write(tmp_path / "x.jsonl", records)
    with pytest.raises(InputError) as exc:
        list(s2s.read_pairs([path], max_length=5))
    assert message in str(exc.value)


def _copy_data(tmp_path, n, seed, name):
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(n):
        text = "".join(rng.choice(list("abcde"), rng.integers(1, 6)))
        records.append({"id": len(records), "source": text, "target": text[::-1]})
    return _write(tmp_path / name, records), records


ENGINE = {"hidden": 32, "embed_dim": 16, "batch": 32, "seed": 1}


@pytest.mark.slow
def test_reversal_task_learnt_perfectly(tmp_path):
    train_path, _ = _copy_data(tmp_path, 1500, 0, "train.jsonl")
    test_path, test = _copy_data(tmp_path, 100, 1, "test.jsonl")
    out = str(tmp_path / "rev.npz")
    s2s.train([train_path], out, {**ENGINE, "epochs": 40, "patience": 4, "attention": "dot"})
    model = s2s.load(out)
    summary = s2s.evaluate(model, s2s.read([test_path], model, targets=True))
    assert summary["exact_match"] == 1.0, summary
    assert s2s.evaluate(model, s2s.read([test_path], model, targets=True), beam=4)["exact_match"] == 1.0


def test_cli_train_predict_evaluate(tmp_path, run_cli):
    train_path, _ = _copy_data(tmp_path, 200, 0, "train.jsonl")
    test_path, test = _copy_data(tmp_path, 20, 1, "test.jsonl")
    model = tmp_path / "m.npz"
    result = run_cli(["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--hidden", "16",
                      "--embed-dim", "8", "--max-steps", "15", "--attention", "dot"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    result = run_cli(["predict", model, test_path, "--beam", "3", "--nbest", "2"])
    assert result.exit_code == 0, result.stderr
    predicted = result.stdout
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(test)
    assert lines[0]["id"] == 0 and lines[0]["source"] == test[0]["source"]
    assert isinstance(lines[0]["prediction"], str) and len(lines[0]["nbest"]) <= 2
    assert lines[0]["nbest"][0]["prediction"] == lines[0]["prediction"]
    result = run_cli(["evaluate", model, test_path])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["pairs"] == 20 and 0 <= summary["exact_match"] <= 1 and summary["cer"] >= 0
    # the same seed gives the same predictions
    model2 = tmp_path / "m2.npz"
    run_cli(["rnn-train", "--task", "seq2seq", train_path, "-o", model2, "--hidden", "16", "--embed-dim", "8",
             "--max-steps", "15", "--attention", "dot"])
    again = run_cli(["predict", model2, test_path, "--beam", "3", "--nbest", "2"])
    assert again.stdout == predicted


def test_cli_errors(tmp_path, run_cli):
    bad = _write(tmp_path / "bad.jsonl", [{"source": "ab", "target": "ba"}, {"src": "x", "target": "y"}])
    result = run_cli(["rnn-train", "--task", "seq2seq", bad, "-o", tmp_path / "m.npz"])
    assert result.exit_code == 1
    assert "bad.jsonl:2: record has no field 'source'" in result.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = run_cli(["rnn-train", "--task", "seq2seq", str(empty), "-o", tmp_path / "m.npz"])
    assert result.exit_code == 1 and "no pairs" in result.stderr
    result = run_cli(["rnn-train", "--task", "seq2seq", bad, "-o", tmp_path / "m.npz", "--pooling", "max"])
    assert result.exit_code == 2


def test_resume_continues(tmp_path, run_cli):
    train_path, _ = _copy_data(tmp_path, 100, 0, "train.jsonl")
    model = tmp_path / "m.npz"
    args = ["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--hidden", "8", "--embed-dim", "4",
            "--attention", "none"]
    assert run_cli([*args, "--max-steps", "4"]).exit_code == 0
    result = run_cli([*args, "--max-steps", "8", "--resume", model])
    assert result.exit_code == 0, result.stderr
    from rnntools.io import load_model

    meta = load_model(str(model)).meta
    assert meta["training"]["counters"]["step"] == 8


def test_resume_from_a_file_with_the_old_names(tmp_path, run_cli):
    """Files written before seq2seq used the shared optimiser (rnntools.nn.optim) hold the same Adam state as
    ``state.adam.<param>.m``/``.v`` and ``adam_t``, and before the task contract the embeddings were
    ``enc.embed``/``dec.embed`` (now nn.Embedding's ``enc.embed.W``). Such a file (rebuilt here from a new one:
    the same values under the old names) resumes exactly as the uninterrupted run goes on."""
    from rnntools.io import load_model, save_model

    train_path, _ = _copy_data(tmp_path, 100, 0, "train.jsonl")
    args = ["rnn-train", "--task", "seq2seq", train_path, "--hidden", "8", "--embed-dim", "4",
            "--attention", "none", "--threads", "1"]
    assert run_cli([*args, "-o", tmp_path / "full.npz", "--max-steps", "8"]).exit_code == 0
    assert run_cli([*args, "-o", tmp_path / "half.npz", "--max-steps", "4"]).exit_code == 0
    half = load_model(str(tmp_path / "half.npz"))
    arrays = {}
    for key, value in half.arrays.items():
        key = key.replace("embed.W", "embed")
        if key.startswith("state.optim."):
            _, _, slot, name = key.split(".", 3)
            key = f"state.adam.{name}.{slot}"
        arrays[key] = value
    assert {"state.adam.enc.0.W.m", "state.adam.dec.embed.v", "state.adam.out.b.m"} <= set(arrays)
    meta = {k: v for k, v in half.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    meta["training"]["task"] = {"adam_t": meta["training"]["task"]["t"]}
    del meta["config"]  # older files have no stored options: they are read from the model's entries
    old = tmp_path / "old.npz"
    save_model(old, "seq2seq", arrays, meta)

    result = run_cli([*args, "-o", old, "--max-steps", "8", "--resume", old])
    assert result.exit_code == 0, result.stderr
    resumed, full = load_model(str(old)), load_model(str(tmp_path / "full.npz"))
    assert resumed.meta["training"]["task"] == {"optimizer": "adam", "t": 8}
    assert set(resumed.arrays) == set(full.arrays)
    for key, value in full.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[key], value, err_msg=key)


def test_gradients_with_dropout_masks():
    cfg, p = _model("gru", "general", layers=2)
    batch = _batch()
    drops = s2s.dropout_masks(cfg, batch, 0.3, np.random.default_rng(5), np.float64)
    assert {v.min() for v in drops.values()} == {0.0}
    _assert_gradients(p, cfg, batch, names=["enc.embed.W", "enc.1.W", "dec.0.bn", "att.Wc", "out.W"], drops=drops)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rate", [0.2, 0.3, 1 / 3])
def test_dropout_masks_are_inverted_bernoulli_draws_in_order(dtype, rate):
    """Every mask, in the order drawn (each side's layers, then the top), is ``nn.hashed_dropout_mask`` of the
    next draw of the generator: 0 or 1 / (1 - rate) rounded to the dtype."""
    from rnntools import nn

    cfg = s2s.Config(cell="gru", hidden=5, layers=2, embed_dim=4, attention="general", bidirectional=True,
                     src_vocab_size=7, tgt_vocab_size=6)
    batch = _batch()
    for table in (False, True):
        drops = s2s.dropout_masks(cfg, batch, rate, np.random.default_rng(3), dtype, table=table)
        draws = np.random.default_rng(3)
        for key, got in drops.items():
            want = nn.hashed_dropout_mask(draws, got.shape, rate, dtype)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8), err_msg=str(key))
            assert set(np.unique(got)) <= {0, dtype(1 / (1 - rate))}


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradients_with_table_dropout_masks(bidirectional):
    """Dropout of the embedding table's rows for the whole batch (``table=True``: (V, E) masks for the first
    layers, read by id): every parameter against central differences, and the loss equals the per-position
    masks that repeat each token's row mask at its positions."""
    cfg = s2s.Config(cell="gru", hidden=5, layers=2, embed_dim=4, attention="general", bidirectional=bidirectional,
                     src_vocab_size=7, tgt_vocab_size=6)
    p = s2s.init_params(cfg, 1, np.float64)
    rng = np.random.default_rng(0)
    for k in p:
        p[k] += rng.normal(0, 0.5, p[k].shape)
    batch = _batch()
    drops = s2s.dropout_masks(cfg, batch, 0.3, np.random.default_rng(5), np.float64, table=True)
    assert drops[("enc", 0)].shape == (cfg.src_vocab_size, cfg.embed_dim)
    assert drops[("dec", 0)].shape == (cfg.tgt_vocab_size, cfg.embed_dim)
    assert {v.min() for v in drops.values()} == {0.0}
    _assert_gradients(p, cfg, batch, drops=drops)
    spread = dict(drops)
    backwards = batch.src[s2s.reversal(batch.src_mask), np.arange(batch.src.shape[1])[None, :]]  # encb's reading
    for side, ids in (("enc", batch.src), ("encb", backwards), ("dec", batch.dec_in)):
        if (side, 0) in drops:
            spread[(side, 0)] = drops[(side, 0)][ids]
    table_loss, _ = s2s.loss_and_grads(p, cfg, batch, grad=False, drops=drops)
    spread_loss, _ = s2s.loss_and_grads(p, cfg, batch, grad=False, drops=spread)
    assert table_loss == pytest.approx(spread_loss, rel=1e-12)


@pytest.mark.parametrize("cell,bidirectional,layers", [("gru", True, 1), ("lstm", True, 1), ("gru", False, 2)])
def test_deeper_encoder_gradients(cell, bidirectional, layers):
    """--encoder-layers above --layers: the decoder starts from the encoder's top layers' final states, the
    lower layers reach the loss only through attention; every parameter against central differences."""
    cfg = s2s.Config(cell=cell, hidden=5, layers=layers, encoder_layers=layers + 1, embed_dim=4,
                     attention="general", bidirectional=bidirectional, src_vocab_size=7, tgt_vocab_size=6)
    p = s2s.init_params(cfg, 1, np.float64)
    rng = np.random.default_rng(3)
    for k in p:
        p[k] += rng.normal(0, 0.5, p[k].shape)
    assert f"enc.{layers}.W" in p and f"dec.{layers}.W" not in p
    assert ("encb.1.W" in p) == bidirectional
    He, state, _ = s2s.Net(cfg, p).encode(_batch().src, _batch().src_mask)
    assert state[0].shape == (layers, 3, 5)
    _assert_gradients(p, cfg, _batch(), eps=1e-5, what=f"encoder {layers + 1} layers, {cell}")
    with pytest.raises(ValueError):
        s2s.Config(layers=2, encoder_layers=1)


def test_gradients_with_label_smoothing():
    """The smoothed loss: every parameter against central differences, and a loss that differs from the
    unsmoothed one (the option reaches the output layer)."""
    cfg, p = _model("gru", "general", layers=1)
    batch = _batch()
    plain = s2s.loss_and_grads(p, cfg, batch, grad=False)[0]
    smoothed = s2s.loss_and_grads(p, cfg, batch, grad=False, smoothing=0.1)[0]
    assert abs(smoothed - plain) > 1e-3
    _assert_gradients(p, cfg, batch, eps=1e-5, what="label smoothing", smoothing=0.1)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_init_matches_pytorch_distributions(cell):
    """Each parameter's spread equals PyTorch's for the twin layers (nn.GRU/LSTM/RNN with b_ih + b_hh,
    nn.Linear for attention and output): U(+-a) has variance a^2/3, a sum of two such draws 2a^2/3."""
    H, E, V = 128, 16, 50
    cfg = s2s.Config(cell=cell, hidden=H, layers=2, embed_dim=E, attention="general",
                     src_vocab_size=V, tgt_vocab_size=V)
    p = s2s.init_params(cfg, 3, np.float64)
    k, kc = 1 / math.sqrt(H), 1 / math.sqrt(2 * H)

    def check(x, bound, draws=1):
        x = np.asarray(x).ravel()
        assert np.abs(x).max() <= draws * bound
        # relative standard error of a variance estimate is sqrt((kurtosis - 1) / n) <= sqrt(1.4 / n) here;
        # a single draw where two belong (or a zero bias, or identity Wa) is off by a factor >= 2
        tol = 4.5 * math.sqrt(1.4 / x.size)
        assert abs(x.var() / (draws * bound**2 / 3) - 1) < tol, (x.var(), draws * bound**2 / 3, tol)
        assert abs(x.mean()) < 4 * math.sqrt(draws * bound**2 / 3 / x.size)

    for side in ("enc", "dec"):
        for layer in range(2):
            check(p[f"{side}.{layer}.W"], k)
            b = p[f"{side}.{layer}.b"]
            if cell == "gru":
                check(b[:2 * H], k, draws=2)  # r, z: b_ih + b_hh
                check(b[2 * H:], k)           # candidate: b_in; its b_hn is bn
                check(p[f"{side}.{layer}.bn"], k)
            elif cell == "lstm":
                assert np.all(b[:H] == 1.0)   # forget bias 1 kept on purpose
                check(b[H:], k, draws=2)
            else:
                check(b, k, draws=2)
    check(p["att.Wa"], k)  # nn.Linear(H, H, bias=False): no identity
    check(p["att.Wc"], kc)
    check(p["att.bc"], kc)
    check(p["out.W"], k)
    check(p["out.b"], k)


def test_resume_rule(tmp_path, run_cli):
    """docs/tasks.md: structural options not given take the saved value, a differing one is exit 2 naming
    both values, training options may change and are used, counters continue."""
    from rnntools.io import load_model

    train_path, _ = _copy_data(tmp_path, 100, 0, "train.jsonl")
    model = tmp_path / "m.npz"
    base = ["rnn-train", "--task", "seq2seq", train_path, "-o", model]
    assert run_cli([*base, "--hidden", "8", "--embed-dim", "4", "--attention", "dot", "--max-steps", "3"]).exit_code == 0
    # nothing structural repeated: the saved structure is used
    result = run_cli([*base, "--max-steps", "5", "--resume", model, "--lr", "0.001"])
    assert result.exit_code == 0, result.stderr
    meta = load_model(str(model)).meta
    assert meta["training"]["counters"]["step"] == 5
    assert meta["config"]["hidden"] == 8 and meta["config"]["attention"] == "dot" and meta["config"]["lr"] == 0.001
    # the same value again: fine
    assert run_cli([*base, "--max-steps", "6", "--resume", model, "--hidden", "8"]).exit_code == 0
    for option, value, saved in (("--hidden", "16", "8"), ("--attention", "general", "dot"),
                                 ("--source-field", "src", "source")):
        result = run_cli([*base, "--max-steps", "7", "--resume", model, option, value])
        assert result.exit_code == 2, (option, result.stderr)
        assert f"{option} {value} differs from the saved model's {saved}" in result.stderr


def test_sizes_chosen_from_the_data(tmp_path, monkeypatch):
    """--hidden and --batch left off are chosen from the number of training pairs (validation split off):
    the 43,000-pair sets keep the 128 units they were measured with, CMUdict's 111,447 words get 256. The
    chosen values are stored as plain numbers, and --resume keeps them."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq import options, task

    hidden = [options.default_hidden(n) for n in (1, 43_000, 79_999, 80_001, 111_447, 10**7)]
    assert hidden == [128, 128, 128, 256, 256, 256]
    assert [options.default_batch(n) for n in (1, 3_000, 20_000, 43_000, 111_447)] == [16, 16, 64, 128, 128]
    seen = []
    monkeypatch.setattr(task, "default_hidden", lambda pairs: seen.append(pairs) or 6)
    train_path, _ = _copy_data(tmp_path, 100, 0, "train.jsonl")
    model = str(tmp_path / "m.npz")
    s2s.train([train_path], model, {"embed_dim": 4, "max_steps": 2})
    meta = load_model(model).meta
    assert seen == [90] and meta["model"]["hidden"] == 6
    assert (meta["config"]["hidden"], meta["config"]["batch"]) == (6, 16)
    s2s.train([train_path], model, {"max_steps": 3, "resume": model})
    assert seen == [90] and load_model(model).meta["config"]["hidden"] == 6


def test_learning_rate_chosen_from_the_hidden_size(tmp_path):
    """--lr left off: Adam starts at 3e-3 below 256 units (the rate addition and dates were measured with),
    at 1e-3 from 256 (3e-3 stalled CMUdict's 256-unit network); SGD 0.5. The chosen rate is stored, a given
    one wins, and --resume goes on with the saved rate."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq import options

    assert [options.default_lr("adam", h) for h in (8, 128, 255, 256, 512)] == [3e-3, 3e-3, 3e-3, 1e-3, 1e-3]
    assert options.default_lr("sgd", 256) == 0.5
    assert str(options.DEFAULTS["lr"]) == "adam 3e-3, or 1e-3 from 256 units; sgd 0.5"
    train_path, _ = _copy_data(tmp_path, 40, 0, "train.jsonl")
    model = str(tmp_path / "m.npz")
    for given, hidden, expected in (({}, 8, 3e-3), ({}, 256, 1e-3), ({"lr": 2e-3}, 256, 2e-3),
                                    ({"optimizer": "sgd"}, 256, 0.5)):
        s2s.train([train_path], model, {"hidden": hidden, "embed_dim": 4, "max_steps": 1, **given})
        meta = load_model(model).meta
        assert meta["config"]["lr"] == expected and meta["training"]["config"]["lr"] == expected, (given, hidden)
    s2s.train([train_path], model, {"max_steps": 2, "resume": model})
    assert load_model(model).meta["config"]["lr"] == 0.5


def _check_chosen_option(tmp_path, name, cases, kept):
    """Train with each (given options, hidden, expected): the value of option ``name`` reaches the training
    step (the task's attribute of that name) and is stored; then --resume keeps a given value ``kept``."""
    from rnntools.io import load_model

    train_path, _ = _copy_data(tmp_path, 40, 0, "train.jsonl")
    model = str(tmp_path / "m.npz")
    seen = []

    def record(task, config):
        seen.append(getattr(task, name))

    for given, hidden, expected in cases:
        seen.clear()
        s2s.train([train_path], model, {"hidden": hidden, "embed_dim": 4, **given}, callback=record)
        assert seen == [expected] and load_model(model).meta["config"][name] == expected, given
    s2s.train([train_path], model, {"hidden": 256, "embed_dim": 4, "max_steps": 1, name: kept})
    seen.clear()
    s2s.train([train_path], model, {"max_steps": 2, "resume": model}, callback=record)
    assert seen == [kept] and load_model(model).meta["config"][name] == kept


def test_label_smoothing_chosen_from_the_hidden_size(tmp_path):
    """--label-smoothing left off: 0 below 256 units (addition and dates keep the loss their targets were
    measured with), 0.1 from 256; a given value wins; the value is stored, reaches the training step, and
    --resume keeps it."""
    from rnntools.tasks.seq2seq import options

    assert [options.default_label_smoothing(h) for h in (8, 128, 255, 256, 512)] == [0, 0, 0, 0.1, 0.1]
    assert str(options.DEFAULTS["label_smoothing"]) == "0, or 0.1 from 256 units"
    one = {"max_steps": 1}
    _check_chosen_option(tmp_path, "label_smoothing", (
        (one, 8, 0.0), (one, 256, 0.1), ({**one, "label_smoothing": 0.05}, 8, 0.05),
        ({**one, "label_smoothing": 0.0}, 256, 0.0)), kept=0.2)


def test_embedding_dropout_chosen_from_the_hidden_size_and_the_budget(tmp_path):
    """--embedding-dropout left off: ``table`` (one (V, E) mask per batch, the table read by id) from 256
    units with a budget, where dropout is on by default; ``position`` elsewhere and for files from before the
    option (their --resume continues as they trained); a given value wins, is stored, reaches the training
    step, and --resume keeps it."""
    from rnntools.tasks.seq2seq import options

    assert [options.default_embedding_dropout(h, True) for h in (8, 128, 255, 256, 512)] == \
        ["position"] * 3 + ["table"] * 2
    assert [options.default_embedding_dropout(h, False) for h in (8, 256)] == ["position"] * 2
    assert options.saved_options({"config": {"hidden": 256}})["embedding_dropout"] == "position"
    assert options.saved_options({"config": {"embedding_dropout": "table"}})["embedding_dropout"] == "table"
    one = {"max_steps": 1}
    _check_chosen_option(tmp_path, "embedding_dropout", (
        (one, 8, "position"), (one, 256, "table"), ({"epochs": 1}, 256, "position"),
        ({**one, "embedding_dropout": "position"}, 256, "position"),
        ({**one, "embedding_dropout": "table", "dropout": 0.1}, 8, "table")), kept="position")


def test_weight_gradients_skip_padding_from_256_units_with_a_budget(tmp_path):
    """The weight gradients over the real positions only where they were checked (256 units or more with a
    budget); every position elsewhere (addition, dates: their bits as measured)."""
    from rnntools.tasks.seq2seq import options

    assert [options.weight_gradients_skip_padding(h, True) for h in (8, 128, 255, 256, 512)] == [False] * 3 + [True] * 2
    assert not options.weight_gradients_skip_padding(256, False)
    train_path, _ = _copy_data(tmp_path, 40, 0, "train.jsonl")
    seen = []

    def record(task, config):
        seen.append(task.net.skip_padding)

    for given, hidden, expected in (({"max_steps": 1}, 8, False), ({"max_steps": 1}, 256, True),
                                    ({"epochs": 1}, 256, False)):
        seen.clear()
        s2s.train([train_path], str(tmp_path / "m.npz"), {"hidden": hidden, "embed_dim": 4, **given},
                  callback=record)
        assert seen == [expected], given


def test_ensemble_chosen_from_the_hidden_size_the_budget_and_the_threads(tmp_path, run_cli):
    """--ensemble left off: one network per thread, up to 2, from 256 units with a budget; 1 below 256 units
    (addition and dates keep their measured settings) or without a budget; what the run chose is stored."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq import options

    assert [options.default_ensemble(h, True, 2) for h in (8, 128, 255, 256, 512)] == [1, 1, 1, 2, 2]
    assert [options.default_ensemble(256, True, t) for t in (1, 2, 3, 8)] == [1, 2, 2, 2]
    assert [options.default_ensemble(h, False, 2) for h in (8, 256)] == [1, 1]
    train_path, _ = _copy_data(tmp_path, 60, 0, "train.jsonl")
    for hidden, steps, threads, want in ((8, 2, 2, 1), (256, 1, 2, 2), (256, 1, 1, 1)):
        out = tmp_path / f"m{hidden}-{threads}.npz"
        args = ["rnn-train", "--task", "seq2seq", train_path, "-o", out, "--hidden", hidden, "--embed-dim", 4,
                "--max-steps", steps, "--threads", threads]
        assert run_cli(args).exit_code == 0
        meta = load_model(str(out)).meta
        assert meta["config"]["ensemble"] == want and meta.get("ensemble", 1) == want


def test_dropout_chosen_from_the_hidden_size_and_the_budget(tmp_path):
    """--dropout left off: 0.2 from 256 units when a budget (--max-steps, --max-time) sets the schedule, 0
    below 256 units (addition and dates keep their measured settings) or without a budget; a given value
    wins; the value is stored, reaches the training step, and --resume keeps it."""
    from rnntools.tasks.seq2seq import options

    assert [options.default_dropout(h, True) for h in (8, 128, 255, 256, 512)] == [0, 0, 0, 0.2, 0.2]
    assert [options.default_dropout(h, False) for h in (8, 256, 512)] == [0, 0, 0]
    assert str(options.DEFAULTS["dropout"]) == "0, or 0.2 from 256 units with a budget (--max-time, --max-steps)"
    one = {"max_steps": 1}
    _check_chosen_option(tmp_path, "dropout", (
        (one, 8, 0.0), (one, 256, 0.2), ({"max_time": 600, "epochs": 1}, 256, 0.2), ({"epochs": 1}, 256, 0.0),
        ({**one, "dropout": 0.05}, 8, 0.05), ({**one, "dropout": 0.0}, 256, 0.0)), kept=0.1)


def _recording_rates(rates):
    """A ``train`` callback that appends the learning rate of each update to ``rates``."""

    def record(task, config):
        step = task.train_step

        def recorded(batch, rng, lr):
            rates.append(lr)
            return step(batch, rng, lr)

        task.train_step = recorded

    return record


def test_a_budget_makes_the_rate_fall_linearly_from_256_units(tmp_path):
    """From 256 units, with --max-steps, the rate of each update falls linearly from --lr to 0 over the
    budget; below 256 units, or without a budget, the plateau schedule keeps --lr until an evaluation
    disappoints. The choice is stored and --resume keeps it."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq import options

    assert [options.default_budget_decay(h) for h in (8, 128, 255, 256, 512)] == [False] * 3 + [True] * 2
    assert options.DEFAULTS["budget_decay"] is None and options.DEFAULTS["plateau_decay"] == 0.5
    train_path, _ = _copy_data(tmp_path, 40, 0, "train.jsonl")
    model = str(tmp_path / "m.npz")
    rates = []
    record = _recording_rates(rates)

    small = {"embed_dim": 4, "batch": 4, "lr": 0.01, "ensemble": 1}  # one network: its updates run here
    for hidden, budget, expected in ((256, 8, 0.01 * (8 - np.arange(8)) / 8), (8, 8, [0.01] * 8),
                                     (256, None, [0.01] * 9)):  # 36 training pairs, batch 4: 9 an epoch
        rates.clear()
        limit = {"max_steps": budget} if budget else {"epochs": 1}
        s2s.train([train_path], model, {**small, "hidden": hidden, **limit}, callback=record)
        np.testing.assert_allclose(rates, expected, rtol=1e-12, err_msg=f"{hidden} {budget}")
        assert load_model(model).meta["config"]["budget_decay"] == (hidden >= 256)
    rates.clear()
    s2s.train([train_path], model, {"max_steps": 12, "resume": model}, callback=record)
    np.testing.assert_allclose(rates, 0.01 * (12 - np.arange(9, 12)) / 12, rtol=1e-12)


def test_scores_against_the_closest_of_several_references():
    """A source with several valid targets (a word's pronunciations) is right when the output equals any of
    them, and its edits count against the closest (fewest edits; ties: the smallest token sequence), as
    Sequitur G2P scores; with one reference each it is score_predictions."""
    from rnntools.tasks.seq2seq.metrics import score_against_references, score_predictions

    predictions = ["T AH M EY T OW", "T AH M AA T OW", "R IY D", "K AE T"]
    references = [["T AH M EY T OW", "T AH M AA T OW"], ["T AH M EY T OW", "T AH M AA T OW"],
                  ["R EH D", "R IY D"], ["K AA T S", "K AE T S"]]
    got = score_against_references(predictions, references, "word", False)
    assert got["pairs"] == 4 and got["exact_match"] == 0.75
    assert got["wer"] == 1 / (6 + 6 + 3 + 4)  # "K AE T" is 1 edit from "K AE T S" (2 from the first listed)
    firsts = [r[0] for r in references]
    one = score_against_references(predictions, [[r] for r in firsts], "word", False)
    plain = score_predictions(predictions, firsts, "word", False)
    assert one["exact_match"] == plain["exact_match"] == 0.25 and one["wer"] == plain["wer"]
    tie = score_against_references(["A B"], [["A B C D", "A"]], "word", False)  # 2 edits from "A B C D", 1 from "A"
    assert tie["wer"] == 1 / 1
    with pytest.raises(ValueError):
        score_against_references(["A"], [[]], "word", False)


def test_budget_warmup_rises_to_the_rate_then_falls_and_resume_continues_it(tmp_path, run_cli):
    """--budget-warmup W (when a budget sets the schedule, from 256 units): the rate rises linearly over the
    first share W of the budget to --lr (the first update at one step's share, not 0), then falls linearly to 0
    over the rest; stored, and --resume with the same budget continues exactly. Off (0) by default, and a
    usage error where no budget sets the schedule."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq import options

    assert options.DEFAULTS["budget_warmup"] == 0.0
    train_path, _ = _copy_data(tmp_path, 40, 0, "train.jsonl")
    model = str(tmp_path / "m.npz")
    args = ["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--hidden", "256", "--embed-dim", "4",
            "--batch", "4", "--lr", "0.01", "--ensemble", "1"]  # one network: its updates run here
    assert run_cli(args + ["--max-steps", "10", "--budget-warmup", "1"]).exit_code == 2  # a share: below 1
    result = run_cli(args + ["--epochs", "1", "--budget-warmup", "0.2"])  # no budget: nothing to warm up
    assert result.exit_code == 2 and "--budget-warmup 0.2 shapes the budget schedule" in result.stderr
    result = run_cli(args + ["--max-steps", "10", "--budget-warmup", "0.5", "--budget-average", "0.5"])
    assert result.exit_code == 2 and "take the whole budget" in result.stderr
    rates = []
    record = _recording_rates(rates)
    small = {"hidden": 256, "embed_dim": 4, "batch": 4, "lr": 0.01, "ensemble": 1}
    s2s.train([train_path], model, {**small, "max_steps": 10, "budget_warmup": 0.2}, callback=record)
    # steps 0, 1 of 10 rise (0.1 + 0.1) / 0.2, (0.1 + 0.1) / 0.2 ... then (1 - step / 10) / 0.8 falls to 0
    expected = [0.01 * 0.5, 0.01 * 1.0] + [0.01 * (1 - k / 10) / 0.8 for k in range(2, 10)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    assert max(rates) == 0.01 and load_model(model).meta["config"]["budget_warmup"] == 0.2
    whole = rates.copy()
    s2s.train([train_path], model, {**small, "max_steps": 4, "budget_warmup": 0.2}, callback=record)
    rates.clear()
    s2s.train([train_path], model, {"max_steps": 10, "resume": model}, callback=record)
    # the rate is a function of the step counter: a run planned for 10 steps from the start ends as the whole
    # one did (the first 4 steps were planned for a budget of 4: resuming with 10 plans as if from the start)
    np.testing.assert_allclose(rates, whole[4:], rtol=1e-12)


def test_budget_average_holds_the_rate_and_keeps_the_average(tmp_path, run_cli):
    """--budget-average A (when a budget sets the schedule, from 256 units): the rate falls to A * --lr and stays
    there for the last share A of the budget, over which the weights are averaged (the trainer's test checks
    the mean itself); the value is stored and --resume keeps it. Off (0) by default."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq import options

    assert options.DEFAULTS["budget_average"] == 0.0
    train_path, _ = _copy_data(tmp_path, 40, 0, "train.jsonl")
    model = str(tmp_path / "m.npz")
    args = ["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--hidden", "256", "--embed-dim", "4",
            "--batch", "4", "--lr", "0.01", "--max-steps", "8", "--ensemble", "1"]  # one network: updates run here
    assert run_cli(args + ["--budget-average", "1"]).exit_code == 2  # a share of the budget: below 1
    result = run_cli(args + ["--budget-average", "0.5"])
    assert result.exit_code == 0, result.stderr
    saved = load_model(model)
    assert saved.meta["config"]["budget_average"] == 0.5
    assert saved.meta["training"]["counters"]["averaged"] == 4  # updates 5..8 of 8
    assert saved.arrays["state.average.out.W"].dtype == np.float64 and saved.arrays["out.W"].dtype == np.float32
    rates = []
    record = _recording_rates(rates)

    s2s.train([train_path], model, {"max_steps": 12, "resume": model}, callback=record)
    np.testing.assert_allclose(rates, [0.005] * 4, rtol=1e-12)  # 4/12 of the budget left: held at 0.5 * lr
    saved = load_model(model)
    # the rate never left the floor: the mean goes on over the 4 updates before and the 4 after
    assert saved.meta["config"]["budget_average"] == 0.5 and saved.meta["training"]["counters"]["averaged"] == 8


def test_predict_plain_text_lines_and_limits(tmp_path, run_cli):
    train_path, _ = _copy_data(tmp_path, 60, 0, "train.jsonl")
    model = tmp_path / "m.npz"
    args = ["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--hidden", "8", "--embed-dim", "4"]
    assert run_cli([*args, "--max-steps", "2"]).exit_code == 0
    plain = tmp_path / "plain.txt"
    plain.write_text("abc\n\nde\n")
    as_jsonl = _write(tmp_path / "same.jsonl", [{"source": "abc"}, {"source": "de"}])
    result = run_cli(["predict", model, str(plain)])
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"] for r in lines] == ["abc", "de"]
    assert result.stdout == run_cli(["predict", model, as_jsonl]).stdout
    # decoding length is bounded: a request or a model file cannot ask for endless work
    assert run_cli(["predict", model, str(plain), "--max-length", "100000000"]).exit_code == 2
    from rnntools.io import load_model, save_model

    loaded = load_model(str(model))
    meta = {k: v for k, v in loaded.meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    meta["max_target"] = 100000000
    save_model(tmp_path / "bad.npz", "seq2seq", loaded.arrays, meta)
    result = run_cli(["predict", tmp_path / "bad.npz", str(plain)])
    assert result.exit_code == 1 and "max_target" in result.stderr


def test_vocab_file_needs_one_level(tmp_path, run_cli):
    train_path, _ = _copy_data(tmp_path, 30, 0, "train.jsonl")
    vocab = tmp_path / "v.txt"
    vocab.write_text("a\n")
    result = run_cli(["rnn-train", "--task", "seq2seq", train_path, "-o", tmp_path / "m.npz", "--vocab", str(vocab),
                      "--target-level", "word"])
    assert result.exit_code == 2 and "--vocab" in result.stderr and "--target-level word" in result.stderr


def test_vocab_file_decides_how_pairs_are_read(tmp_path, run_cli, monkeypatch):
    """A --vocab of another level is a usage error (as for a language model); a lowercased one reads the
    pairs lowercased, as predict and evaluate do (both turned every token into <unk>, silently)."""
    from rnntools.tasks.seq2seq import task as T

    records = [{"source": w, "target": w[::-1]} for w in ("ABC", "BAD", "CAB", "DEAD", "ACE") * 6]
    train_path = _write(tmp_path / "train.jsonl", records)
    text = tmp_path / "letters.txt"
    text.write_text("abcde\n")
    words, chars = tmp_path / "words.jsonl", tmp_path / "chars.jsonl"
    assert run_cli(["vocab", text, "-o", words]).exit_code == 0
    assert run_cli(["vocab", "--level", "char", "--lowercase", text, "-o", chars]).exit_code == 0
    args = ["rnn-train", "--task", "seq2seq", train_path, "-o", tmp_path / "m.npz", "--hidden", "8", "--embed-dim",
            "4", "--max-steps", "1", "--threads", "1"]
    result = run_cli([*args, "--vocab", words])
    assert result.exit_code == 2 and result.stderr.strip().endswith(
        f"error: {words} is a word-level vocabulary, but --level is char")
    seen = {}

    class Spy(T.Seq2SeqTask):
        def __init__(self, model, train, *rest, **kw):
            seen["train"] = train
            super().__init__(model, train, *rest, **kw)

    monkeypatch.setattr(T, "Seq2SeqTask", Spy)
    result = run_cli([*args, "--vocab", chars])
    assert result.exit_code == 0, result.stderr
    sources, targets = seen["train"]
    unk = 1
    assert not any((ids == unk).any() for ids in [*sources, *targets])
    result = run_cli(["predict", tmp_path / "m.npz", train_path])
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[0])["source"] == "ABC"


@pytest.mark.parametrize("cell,attention,layers", [("gru", "general", 1), ("lstm", "dot", 2)])
def test_bidirectional_encoder_gradients_and_reversal(cell, attention, layers):
    """The backward encoder reads each row's real tokens in reverse (padding stays at the end); gradients of
    every parameter, both encoders included, against central differences."""
    cfg, p = _model(cell, attention, layers=layers)
    cfg.bidirectional = True
    p = {**p, **{k: v for k, v in s2s.init_params(cfg, 1, np.float64).items() if k.startswith("encb.")}}
    rng = np.random.default_rng(7)
    for k in p:
        if k.startswith("encb."):
            p[k] += rng.normal(0, 0.5, p[k].shape)
    mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0]], np.float64).T
    perm = s2s.reversal(mask)
    src = np.array([[4, 5, 6], [7, 8, 0], [9, 0, 0]]).T
    cols = np.arange(3)[None, :]
    assert src[perm, cols].T.tolist() == [[6, 5, 4], [8, 7, 0], [9, 0, 0]]
    _assert_gradients(p, cfg, _batch(), eps=1e-5, what="bidirectional")


@pytest.mark.parametrize("cell,hidden,layers,encoder_layers,table", [("gru", 5, 1, 1, False), ("lstm", 6, 1, 2, False),
                                                                    ("gru", 7, 2, 2, True)])
def test_concatenated_directions_gradients_and_layout(cell, hidden, layers, encoder_layers, table):
    """``merge="concat"``: the forward direction has hidden - hidden // 2 units, the backward hidden // 2, and
    their outputs and final states sit side by side (the forward's first), ``hidden`` wide as the decoder and
    attention expect; every parameter's gradient against central differences (with dropout masks of the
    table and of the narrower layers, and a deeper encoder: the decoder starts from the top layers)."""
    cfg = s2s.Config(cell=cell, hidden=hidden, layers=layers, encoder_layers=encoder_layers, embed_dim=4,
                     attention="general", bidirectional=True, merge="concat", src_vocab_size=7, tgt_vocab_size=6)
    p = s2s.init_params(cfg, 1, np.float64)
    hf, hb = hidden - hidden // 2, hidden // 2
    assert p["enc.0.W"].shape[0] == hf + 4 and p["encb.0.W"].shape[0] == hb + 4
    rng = np.random.default_rng(11)
    for k in p:
        p[k] += rng.normal(0, 0.5, p[k].shape)
    batch = _batch()
    net = s2s.Net(cfg, p)
    He, state, _ = net.encode(batch.src, batch.src_mask)
    assert He.shape == batch.src.shape + (hidden,) and state[0].shape == (layers, 3, hidden)
    # each half is its own direction: the forward half does not change when the backward stack does
    q = {**p, **{k: v + 1.0 for k, v in p.items() if k.startswith("encb.")}}
    He2, state2, _ = s2s.Net(cfg, q).encode(batch.src, batch.src_mask)
    assert np.array_equal(He[..., :hf], He2[..., :hf]) and not np.allclose(He[..., hf:], He2[..., hf:])
    assert np.array_equal(state[0][..., :hf], state2[0][..., :hf])
    drops = None
    if table:
        drops = s2s.dropout_masks(cfg, batch, 0.3, np.random.default_rng(5), np.float64, table=True)
        assert drops[("enc", 1)].shape[-1] == hf and drops[("encb", 1)].shape[-1] == hb
    _assert_gradients(p, cfg, batch, eps=1e-5, drops=drops, what=f"concat {cell} {hidden}")
    with pytest.raises(ValueError):
        s2s.Config(hidden=1, bidirectional=True, merge="concat")
    with pytest.raises(ValueError):
        s2s.Config(merge="mean")


def test_encoder_merge_option_is_stored_structural_and_needs_two_directions(tmp_path, run_cli):
    """--encoder-merge concat trains, is stored in the file (config and model), predicts, and --resume keeps
    it; a different value on --resume and concat without --bidirectional are usage errors; files from before
    the option read as sum."""
    from rnntools.io import load_model
    from rnntools.tasks.seq2seq import options

    assert options.saved_options({"config": {"hidden": 256}})["encoder_merge"] == "sum"
    assert options.saved_options({"model": {"hidden": 8}})["encoder_merge"] == "sum"
    train_path, _ = _copy_data(tmp_path, 40, 0, "train.jsonl")
    model = tmp_path / "m.npz"
    args = ["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--hidden", 7, "--embed-dim", 4,
            "--max-steps", 2]
    result = run_cli([*args, "--encoder-merge", "concat"])
    assert result.exit_code == 0, result.stderr
    meta = load_model(str(model)).meta
    assert meta["config"]["encoder_merge"] == "concat" and meta["model"]["merge"] == "concat"
    assert s2s.load(str(model)).params["encb.0.W"].shape == (3 + 4, 3 * 3)
    result = run_cli(["predict", model, train_path])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 40
    result = run_cli(["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--resume", model, "--max-steps", 3])
    assert result.exit_code == 0, result.stderr
    assert load_model(str(model)).meta["config"]["encoder_merge"] == "concat"
    result = run_cli(["rnn-train", "--task", "seq2seq", train_path, "-o", model, "--resume", model,
                      "--encoder-merge", "sum"])
    assert result.exit_code == 2 and "--encoder-merge sum differs from the saved model's concat" in result.stderr
    result = run_cli([*args, "--encoder-merge", "concat", "--no-bidirectional"])
    assert result.exit_code == 2 and "needs --bidirectional" in result.stderr


# --- ensembles (--ensemble K) -----------------------------------------------------------------------------

def _ensemble_args(train_path, *extra):
    return ["rnn-train", "--task", "seq2seq", train_path, "--hidden", "8", "--embed-dim", "4", "--attention",
            "general", *[str(e) for e in extra]]


@pytest.mark.slow
def test_the_first_network_of_an_ensemble_is_the_single_network(tmp_path, run_cli):
    """Network 1 of ``--ensemble 2 --threads 2`` (one thread each) is, array for array and counter for counter,
    the single network of the same command with ``--threads 1``; network 2 is another one (its own seed)."""
    from rnntools.io import load_model

    train_path, _ = _copy_data(tmp_path, 100, 0, "train.jsonl")
    single, pair = tmp_path / "one.npz", tmp_path / "two.npz"
    logs = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run_cli([*_ensemble_args(train_path, "--max-steps", 6, "--threads", 1), "-o", single,
                    "--log", logs[0]]).exit_code == 0
    result = run_cli([*_ensemble_args(train_path, "--max-steps", 6, "--threads", 2, "--ensemble", 2), "-o", pair,
                      "--log", logs[1]])
    assert result.exit_code == 0, result.stderr
    # the --log: every network's records, marked by network; network 1's evaluations are the single network's
    one, two = ([json.loads(line) for line in path.read_text().splitlines()] for path in logs)
    assert not any("network" in r for r in one)
    assert sorted({r["network"] for r in two}) == [1, 2] and all(list(r)[:3] == ["event", "time", "network"]
                                                                  for r in two)
    for k in (1, 2):
        assert [r["event"] for r in two if r["network"] == k and r["event"] in ("start", "end")] == ["start", "end"]
    assert ({r["path"] for r in two if r["event"] == "save"} == {str(pair)}
            and {r["path"] for r in one if r["event"] == "save"} == {str(single)})
    evals = [[(r["step"], r["val_loss"]) for r in log if r["event"] == "eval" and r.get("network", 1) == 1]
             for log in (one, two)]
    assert evals[0] and evals[0] == evals[1]
    one, two = load_model(str(single)), load_model(str(pair))
    assert two.meta["ensemble"] == 2 and "ensemble" not in one.meta
    firsts = {k: v for k, v in two.arrays.items() if not k.startswith("m1.")}
    assert set(firsts) == set(one.arrays)
    for name, array in one.arrays.items():
        np.testing.assert_array_equal(firsts[name], array, err_msg=name)
    timeless = [{k: v for k, v in f.meta["training"]["counters"].items() if k != "elapsed"} for f in (one, two)]
    assert timeless[0] == timeless[1]
    second = {k[3:]: v for k, v in two.arrays.items() if k.startswith("m1.")}
    assert set(second) == set(one.arrays)
    assert not np.array_equal(second["enc.0.W"], one.arrays["enc.0.W"])
    assert two.meta["members"][0]["training"]["counters"]["step"] == 6


def test_k_identical_networks_decode_as_one():
    """The mean of K copies of one network's log-probabilities is that network's, exactly (float64 mean):
    greedy and beam search give the same outputs and the same scores."""
    cfg = s2s.Config(hidden=6, embed_dim=4, src_vocab_size=7, tgt_vocab_size=6, bidirectional=True)
    p = s2s.init_params(cfg, 3)
    rng = np.random.default_rng(4)
    for k in p:
        p[k] += rng.normal(0, 0.5, p[k].shape).astype(np.float32)
    sources = [rng.integers(4, 7, rng.integers(1, 6)).astype(np.int32) for _ in range(9)]
    one = s2s.Net(cfg, p)
    for k in (2, 3):
        nets = [s2s.Net(cfg, {n: a.copy() for n, a in p.items()}) for _ in range(k)]
        assert s2s.greedy(p, cfg, sources, START, EOS, 8, net=nets) == s2s.greedy(p, cfg, sources, START, EOS, 8,
                                                                                   net=one)
        for source in sources[:4]:
            assert (s2s.beam_search(p, cfg, source, START, EOS, 8, 3, 3, net=nets)
                    == s2s.beam_search(p, cfg, source, START, EOS, 8, 3, 3, net=one))
    # two different networks: the mean of their log-probabilities chooses (decode.MeanDecoder)
    q = s2s.init_params(cfg, 5)
    other = s2s.Net(cfg, q)
    dec = s2s.decode.make_decoder(p, cfg, sources, net=[one, other])
    a, b = s2s.Decoder(p, cfg, sources, net=one), s2s.Decoder(q, cfg, sources, net=other)
    tokens = np.full(len(sources), START, np.int32)
    np.testing.assert_allclose(dec.step(tokens), (a.step(tokens).astype(np.float64) + b.step(tokens)) / 2,
                               rtol=1e-12)


@pytest.mark.slow
def test_ensemble_resume_continues_exactly(tmp_path, run_cli):
    """Both networks of an ensemble interrupted at 4 updates and resumed to 8 end where the run to 8 ends."""
    from rnntools.io import load_model

    train_path, _ = _copy_data(tmp_path, 100, 0, "train.jsonl")
    full, half = tmp_path / "full.npz", tmp_path / "half.npz"
    args = _ensemble_args(train_path, "--threads", 2, "--ensemble", 2)
    assert run_cli([*args, "--max-steps", 8, "-o", full]).exit_code == 0
    assert run_cli([*args, "--max-steps", 4, "-o", half]).exit_code == 0
    result = run_cli([*_ensemble_args(train_path, "--threads", 2), "--max-steps", 8, "--resume", half, "-o", half])
    assert result.exit_code == 0, result.stderr
    a, b = load_model(str(full)), load_model(str(half))
    assert set(a.arrays) == set(b.arrays) and any(k.startswith("m1.") for k in a.arrays)
    for name in a.arrays:
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name], err_msg=name)
    assert [m["training"]["counters"]["step"] for m in b.meta["members"]] == [8]


@pytest.mark.slow
def test_ensemble_file_round_trip_and_errors(tmp_path, run_cli):
    """An ensemble file loads as its networks (predict and evaluate decode by their mean; the file's arrays
    are the networks' parameters), split and joined it is the same file, and a corrupt one names what is
    wrong; --ensemble asks for a thread per network and cannot change on --resume."""
    from rnntools.errors import ModelFileError
    from rnntools.io import load_model, save_model
    from rnntools.tasks.seq2seq import ensemble

    train_path, records = _copy_data(tmp_path, 100, 0, "train.jsonl")
    model = tmp_path / "e.npz"
    result = run_cli([*_ensemble_args(train_path, "--threads", 2, "--ensemble", 2, "--max-steps", 3), "-o", model])
    assert result.exit_code == 0, result.stderr
    loaded = s2s.load(str(model))
    f = load_model(str(model))
    assert len(loaded.nets) == 2
    for name, array in loaded.members[0].items():
        np.testing.assert_array_equal(array, f.arrays["m1." + name])
    arrays, meta = ensemble.join(ensemble.split(f))
    assert set(arrays) == set(f.arrays) and meta["members"] == f.meta["members"] and meta["ensemble"] == 2
    few = _write(tmp_path / "few.jsonl", records[:8])
    summary = json.loads(run_cli(["evaluate", model, few]).stdout)
    assert summary["networks"] == 2 and 0 <= summary["exact_match"] <= 1
    predicted = [json.loads(line) for line in run_cli(["predict", model, few, "--beam", "2"]).stdout.splitlines()]
    assert [r["id"] for r in predicted] == list(range(8))
    # an ensemble of one network written as a file of one
    arrays1, meta1 = ensemble.join(ensemble.split(f)[:1])
    assert "ensemble" not in meta1 and not any(k.startswith("m1.") for k in arrays1)
    # corrupt files
    bad = tmp_path / "bad.npz"
    for change, message in [(lambda a, m: m.update(ensemble=0), "ensemble 0 is not"),
                            (lambda a, m: a.pop("m1.out.W"), "network 2 of 2: parameter of shape"),
                            (lambda a, m: a.update({"m2.out.W": a["out.W"]}), "a network beyond its 2")]:
        a, m = dict(arrays), json.loads(json.dumps(meta))
        change(a, m)
        save_model(bad, "seq2seq", a, m)
        with pytest.raises(ModelFileError, match=message):
            s2s.load(str(bad))
    result = run_cli([*_ensemble_args(train_path, "--threads", 1, "--ensemble", 2), "-o", tmp_path / "x.npz"])
    assert result.exit_code == 2 and "--ensemble 2 trains one network per thread: give --threads 2" in result.stderr
    result = run_cli([*_ensemble_args(train_path, "--threads", 3, "--ensemble", 3), "--resume", model,
                      "-o", tmp_path / "x.npz"])
    assert result.exit_code == 2 and "--ensemble 3 differs from the saved model's 2" in result.stderr


@pytest.mark.slow
def test_ctrl_c_saves_every_network_of_an_ensemble(tmp_path):
    """SIGINT to the command: each network saves, the file holds both (interrupted) and exit 130."""
    import os
    import subprocess
    import sys

    from conftest import interrupt_once_training

    from rnntools.io import load_model

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    train_path, _ = _copy_data(tmp_path, 300, 0, "train.jsonl")
    out, log = str(tmp_path / "int.npz"), str(tmp_path / "int.jsonl")
    args = _ensemble_args(train_path, "--ensemble", 2, "--threads", 2, "--epochs", 100000, "--patience", 1000000)
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", *args, "-o", out, "--log", log],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": root}, cwd=tmp_path)
    err = interrupt_once_training(proc, log)
    assert proc.returncode == 130, err
    assert f"saved to {out}" in err and "--resume" in err
    f = load_model(out, "seq2seq")
    assert f.meta["training"]["counters"]["stopped"] == "interrupted"
    assert f.meta["members"][0]["training"]["counters"]["stopped"] == "interrupted"
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".networks")]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_weight_gradients_over_real_positions_are_those_of_every_position(bidirectional):
    """``Net.skip_padding`` (training's from 256 units with a budget): the recurrent stacks' and attention's
    weight gradients multiply the real positions only; float64, with the table's dropout masks, every gradient
    equals the product over every position (``skip_padding = False``) to round-off, and passes central
    differences, as attention's alone does."""
    cfg = s2s.Config(cell="gru", hidden=5, layers=2, embed_dim=4, attention="general", bidirectional=bidirectional,
                     src_vocab_size=7, tgt_vocab_size=6)
    p = s2s.init_params(cfg, 1, np.float64)
    rng = np.random.default_rng(3)
    for k in p:
        p[k] += rng.normal(0, 0.5, p[k].shape)
    batch = _batch()
    drops = s2s.dropout_masks(cfg, batch, 0.3, np.random.default_rng(5), np.float64, table=True)
    net = s2s.Net(cfg, p)
    assert not net.skip_padding
    loss0, g0 = net.loss_and_grads(batch, drops=drops, smoothing=0.1)
    net.skip_padding = True
    loss1, g1 = net.loss_and_grads(batch, drops=drops, smoothing=0.1)
    assert loss0 == loss1 and set(g0) == set(g1)
    for name in g0:
        assert rel_error(g0[name], g1[name]) < 1e-14, name
    for name in ("enc.0.W", "encb.0.W" if bidirectional else "enc.1.W", "dec.1.W", "att.Wc", "att.Wa"):
        numeric = numeric_grad(lambda: net.loss_and_grads(batch, grad=False, drops=drops, smoothing=0.1)[0],
                               p[name])
        assert rel_error(g1[name], numeric) < 1e-6, name

    B, T, S, H = 3, 4, 5, 6
    params = {}
    att.Attention(params, "att", "general", H, rng=rng, dtype=np.float64)
    q = {k[4:]: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    Hd, He = rng.normal(size=(T, B, H)), rng.normal(size=(S, B, H))
    mask = np.ones((S, B))
    mask[3:, 1] = 0
    He[3:, 1] = 0          # an encoder's output at padding, as the engine gives it
    tmask = np.ones((T, B))
    tmask[2:, 0] = 0
    w = rng.normal(size=(T, B, H))

    def f():
        out, _, _ = att.attention_forward(q, Hd, He, att.keys(q, He, mask), mask, tmask)
        return float((out * w).sum())

    _, _, cache = att.attention_forward(q, Hd, He, att.keys(q, He, mask), mask, tmask)
    _, _, g = att.attention_backward(q, cache, w, skip_padding=True)
    for name in q:
        assert rel_error(g[name], numeric_grad(f, q[name])) < 1e-6, name
