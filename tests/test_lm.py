"""Language-model task: data layout, sampling kernels against plain numpy, training, resume, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnntools.errors import InputError, ModelFileError, TrainingError
from rnntools.io import load_model, save_model
from rnntools.tasks import lm
from rnntools.tasks.lm import data as D
from rnntools.tasks.lm import model as M
from rnntools.tasks.lm import sample as S
from rnntools.tasks.lm.kernels import pick_token
from rnntools.text import Vocab

# --- data ---------------------------------------------------------------------------------------------------


def test_char_stream_has_line_breaks_and_matches_vocab_encode():
    lines = ["Café au lait", "naïve ünïcode ✓"]
    vocab = D.build_vocab(lines, "char")
    ids = D.encode_lines(vocab, lines)
    text = "\n".join(lines) + "\n"
    np.testing.assert_array_equal(ids, vocab.encode(list(text)))
    assert vocab.decode(ids) == text
    # unknown characters (here: a letter never seen) map to <unk>, not out of range
    unknown = D.encode_chars(vocab, "Zé")
    assert unknown.tolist() == [vocab.unk_id, vocab.index["é"]]


def test_word_stream_ends_lines_with_eos():
    vocab = D.build_vocab(["the cat sat", "the mat"], "word")
    ids = D.encode_lines(vocab, ["the cat sat", "the mat"])
    assert ids.tolist() == [vocab.index["the"], vocab.index["cat"], vocab.index["sat"], vocab.eos_id,
                            vocab.index["the"], vocab.index["mat"], vocab.eos_id]


def test_stream_batches_layout_and_carry_continuity():
    ids = np.arange(103, dtype=np.int32)
    b = D.StreamBatches(ids, batch=4, seq_len=10)  # S = 25 per row: windows 10, 10, 5
    assert len(b) == 3
    x0, y0 = b[0]
    x2, y2 = b[2]
    assert x0.shape == (10, 4) and x2.shape == (5, 4)
    np.testing.assert_array_equal(y0, x0 + 1)
    # row r is the contiguous stream r*25 .. r*25+24 across the windows: state carries along it
    row = np.concatenate([b[k][0][:, 1] for k in range(3)])
    np.testing.assert_array_equal(row, np.arange(25, 50))
    with pytest.raises(IndexError):
        b[3]


def test_split_stream_holds_out_the_end():
    ids = np.arange(1000)
    train, val = D.split_stream(ids, 0.1)
    assert len(val) == 100 and val[0] == 900 and len(train) == 900
    train, val = D.split_stream(ids, 0.0)
    assert len(val) == 0 and len(train) == 1000


def test_unescape():
    assert S.unescape(r"a\nb\t\\") == "a\nb\t\\"
    assert S.unescape("plain é") == "plain é"


# --- kernels against plain numpy ----------------------------------------------------------------------------


def pick_reference(logits, temperature, top_k, u):
    logits = np.asarray(logits, np.float64)
    if temperature <= 0:
        return int(np.argmax(logits))
    keep = np.ones_like(logits, bool)
    if 0 < top_k < len(logits):
        keep = logits >= np.sort(logits)[len(logits) - top_k]
    p = np.where(keep, np.exp((logits - logits.max()) / temperature), 0.0)
    c = np.cumsum(p)
    return int(min(np.searchsorted(c, u * c[-1], side="right"), np.flatnonzero(keep)[-1]))


@pytest.mark.parametrize("temperature,top_k", [(1.0, 0), (0.5, 0), (2.0, 3), (1.0, 1), (0.0, 0), (0.7, 20)])
def test_pick_token_matches_numpy(temperature, top_k):
    rng = np.random.default_rng(7)
    probs = np.zeros(12)
    for _trial in range(50):
        logits = rng.normal(size=12) * 3
        u = rng.random()
        assert pick_token(logits, temperature, top_k, u, probs) == pick_reference(logits, temperature, top_k, u)


def test_pick_token_frequencies_follow_softmax():
    logits = np.log(np.array([0.5, 0.3, 0.2]))
    probs = np.zeros(3)
    rng = np.random.default_rng(0)
    draws = np.array([pick_token(logits, 1.0, 0, rng.random(), probs) for _ in range(4000)])
    freq = np.bincount(draws, minlength=3) / len(draws)
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.2], atol=0.03)
    top2 = np.array([pick_token(logits, 1.0, 2, rng.random(), probs) for _ in range(4000)])
    assert not (top2 == 2).any()


def numpy_step(model, token, h, c):
    """One step of the stack and the projection in plain numpy (float64), the equations of rnntools.nn."""
    p, H = model.params, model.hidden
    x = p["embed.W"][token]
    h, c = h.copy(), c.copy()
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for l in range(model.layers):  # noqa: E741
        W, b = p[f"rnn.{l}.W"], p[f"rnn.{l}.b"]
        a_h, a_x = h[l] @ W[:H], x @ W[H:]
        if model.cell == "lstm":
            a = a_h + a_x + b
            f, i, o, g = sig(a[:H]), sig(a[H:2 * H]), sig(a[2 * H:3 * H]), np.tanh(a[3 * H:])
            c[l] = f * c[l] + i * g
            h[l] = o * np.tanh(c[l])
        elif model.cell == "gru":
            r = sig(a_h[:H] + a_x[:H] + b[:H])
            z = sig(a_h[H:2 * H] + a_x[H:2 * H] + b[H:2 * H])
            n = np.tanh(a_x[2 * H:] + b[2 * H:] + r * (a_h[2 * H:] + p[f"rnn.{l}.bn"]))
            h[l] = (1 - z) * n + z * h[l]
        else:
            h[l] = np.tanh(a_h + a_x + b)
        x = h[l]
    return x @ p["out.W"] + p["out.b"], h, c


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_generate_step_matches_numpy(cell):
    V, E, H, L = 7, 3, 4, 2
    model = M.LanguageModel(V, cell=cell, hidden=H, layers=L, embed_dim=E, seed=5, dtype=np.float64)
    vocab = Vocab.build({"a": 3, "b": 2, "\n": 1}, level="char", lowercase=False)
    sampler = S.Sampler(M.LoadedLM(model, vocab, {}))
    h = np.zeros((L, H))
    c = np.zeros((L, H))
    token = 4
    for _ in range(4):
        logits, h, c = numpy_step(model, token, h, c)
        u = 0.37
        got = sampler._step(token, 0.9, 0, u)
        np.testing.assert_allclose(sampler.logits, logits, rtol=0, atol=1e-12)
        np.testing.assert_allclose(sampler.h, h, rtol=0, atol=1e-12)
        if cell == "lstm":
            np.testing.assert_allclose(sampler.c, c, rtol=0, atol=1e-12)
        assert got == pick_reference(logits, 0.9, 0, u)
        token = got


def step_forward_reference(sampler, token, h, c):
    """The engine's batch-1 step (rnntools.nn.kernels.step_forward) on (L, 1, H) copies of the state."""
    from rnntools.nn.kernels import step_forward

    L, H = h.shape
    h3, c3 = h.reshape(L, 1, H).copy(), c.reshape(L, 1, H).copy()
    h_out, c_out = np.zeros_like(h3), np.zeros_like(c3)
    out = np.zeros((1, sampler.projW.shape[1]), h.dtype)
    x = sampler.embed[token][None, :].copy()
    step_forward(sampler.kind, x, sampler.Whs, sampler.Wxs, sampler.bs, sampler.bns, h3, c3, sampler.projW,
                 sampler.projb, h_out, c_out, out)
    return out[0], h_out[:, 0], (c_out[:, 0] if sampler.c is not sampler.h else h_out[:, 0])


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_sample_step_matches_the_engine_step(cell, dtype, tol):
    """The BLAS-free sampling kernels, on packed weights, compute what the engine's step_forward computes."""
    V, E, H, L = 9, 5, 6, 2  # E, H not multiples of 4: the remainder rows of matvec run too
    model = M.LanguageModel(V, cell=cell, hidden=H, layers=L, embed_dim=E, seed=11, dtype=dtype)
    rng = np.random.default_rng(4)
    for a in model.params.values():  # biases nonzero too, so that every term is checked
        a[...] = rng.normal(0, 0.6, a.shape)
    vocab = Vocab.build({"a": 3, "b": 2, "c": 2, "d": 1, "\n": 1}, level="char", lowercase=False)
    sampler = S.Sampler(M.LoadedLM(model, vocab, {}))
    other = S.Sampler(M.LoadedLM(model, vocab, {}))
    token = 5
    for t in range(6):
        want_logits, want_h, want_c = step_forward_reference(sampler, token, sampler.h, sampler.c)
        u = (t + 0.5) / 6
        got = sampler._step(token, 0.8, 3 if t % 2 else 0, u)
        np.testing.assert_allclose(sampler.logits, want_logits, rtol=tol, atol=tol)
        np.testing.assert_allclose(sampler.h, want_h, rtol=tol, atol=tol)
        np.testing.assert_allclose(sampler.c, want_c, rtol=tol, atol=tol)
        token = got
    # reading a prime in one call equals stepping through it
    ids = np.array([1, 4, 5, 6, 8, 0], np.int32)
    other._feed(ids)
    sampler.h[...] = 0
    sampler.c[...] = 0
    for token in ids:
        sampler._step(int(token), 1.0, 0, 0.5)
    np.testing.assert_array_equal(other.h, sampler.h)
    np.testing.assert_array_equal(other.c, sampler.c)


def test_greedy_sampling_agrees_with_the_training_forward():
    """The fused step and the sequence forward used in training are the same function."""
    vocab = D.build_vocab(["abcabc", "cab"], "char")
    model = M.LanguageModel(len(vocab), cell="lstm", hidden=8, layers=2, embed_dim=4, seed=2,
                             dtype=np.float64)
    sampler = S.Sampler(M.LoadedLM(model, vocab, {}))
    tokens = [t for t, _ in sampler.generate("ab", 12, temperature=0.0, rng=np.random.default_rng(0))]
    seq = np.array([sampler.end] + sampler.prime_ids("ab").tolist() + tokens, np.int32)
    e, _ = model.embed.forward(seq[:-1, None])
    y, _, _ = model.rnn.forward(e)
    logits, _ = model.out.forward(y)
    greedy = logits[:, 0].argmax(axis=1)[-len(tokens):]
    np.testing.assert_array_equal(greedy, tokens)


# --- training -----------------------------------------------------------------------------------------------

TEXT = ["the cat sat on the mat.", "a dog ate my hat!"] * 6


def write(tmp_path, lines, name="text.txt"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def tiny(**kw):
    base = dict(level="char", hidden=32, embed_dim=16, batch=4, seq_len=16, val_fraction=0.0, epochs=1,
                threads=1, lr=1e-2, seed=3)
    base.update(kw)
    return base


def test_tiny_lm_memorises_a_short_text(tmp_path):
    src = write(tmp_path, TEXT)
    out = str(tmp_path / "lm.npz")
    summary = lm.train([src], out, tiny(epochs=150, batch=2))
    assert summary["steps"] > 100
    loaded = lm.load(out)
    total, n = M.stream_nll(loaded.model, D.encode_lines(loaded.vocab, TEXT), 1, 50)
    assert total / n < 0.35  # nats per char; the untrained model is at ~ln(21) = 3.0
    sampler = S.Sampler(loaded)
    text = "".join(t for _, t in sampler.generate("the cat ", 15, temperature=0.0,
                                                     rng=np.random.default_rng(0)))
    assert text == "sat on the mat."


def test_resume_equals_uninterrupted_training(tmp_path):
    src = write(tmp_path, TEXT * 2)
    a, b = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    options = dict(layers=2, dropout=0.2, val_fraction=0.1, cell="gru")
    lm.train([src], a, tiny(epochs=3, **options))
    lm.train([src], b, tiny(epochs=1, **options))
    lm.train([src], b, tiny(epochs=3, resume=b, **options))
    ma, mb = load_model(a), load_model(b)
    assert sorted(ma.arrays) == sorted(mb.arrays)
    for name in ma.arrays:
        np.testing.assert_array_equal(ma.arrays[name], mb.arrays[name], err_msg=name)
    assert ma.meta["training"]["counters"] == {**mb.meta["training"]["counters"],
                                               "elapsed": ma.meta["training"]["counters"]["elapsed"]}


def test_validation_metrics_are_consistent(tmp_path):
    src = write(tmp_path, TEXT * 4)
    summary = lm.train([src], str(tmp_path / "m.npz"), tiny(epochs=2, val_fraction=0.2))
    ev = summary["last_eval"]
    assert ev["val_perplexity"] == pytest.approx(math.exp(ev["val_loss"]))
    assert ev["val_bpc"] == pytest.approx(ev["val_loss"] / math.log(2))


def test_word_level_training_and_scoring(tmp_path):
    src = write(tmp_path, TEXT * 2)
    out = str(tmp_path / "w.npz")
    lm.train([src], out, tiny(level="word", epochs=3, seq_len=5, min_count=1))
    loaded = lm.load(out)
    assert loaded.vocab.level == "word" and "cat" in loaded.vocab
    scores = M.score_lines(loaded, ["the cat sat on the mat.", "zebra"])
    assert scores[0]["tokens"] == 7 and scores[1]["tokens"] == 2  # words + </s>
    for s in scores:
        assert s["perplexity"] == pytest.approx(math.exp(-s["log_likelihood"] / s["tokens"]))


def test_score_lines_batched_equals_one_by_one(tmp_path):
    vocab = D.build_vocab(TEXT, "char")
    model = M.LanguageModel(len(vocab), cell="lstm", hidden=8, layers=1, embed_dim=4, seed=1)
    loaded = M.LoadedLM(model, vocab, {})
    lines = ["the cat", "a dog ate my hat and more", "", "mat"]
    together = M.score_lines(loaded, lines)
    for line, score in zip(lines, together):
        alone = M.score_lines(loaded, [line])[0]
        assert score["log_likelihood"] == pytest.approx(alone["log_likelihood"], rel=1e-5)


def test_a_long_line_is_scored_in_pieces_with_the_same_result(monkeypatch):
    """Lines longer than the logits budget go through in pieces of time steps with the state carried:
    memory stays bounded and the log-likelihood is the same."""
    vocab = D.build_vocab(TEXT, "char")
    model = M.LanguageModel(len(vocab), cell="gru", hidden=8, layers=2, embed_dim=4, seed=1)
    loaded = M.LoadedLM(model, vocab, {})
    lines = ["the cat sat on the mat " * 40, "a dog"]
    whole = M.score_lines(loaded, lines)
    monkeypatch.setattr(M, "TOKEN_BUDGET", 20 * len(vocab))  # pieces of 20 steps
    pieces = M.score_lines(loaded, lines)
    for a, b in zip(whole, pieces):
        assert a["tokens"] == b["tokens"]
        assert b["log_likelihood"] == pytest.approx(a["log_likelihood"], rel=1e-5)


# --- bad inputs ---------------------------------------------------------------------------------------------


def test_empty_text_is_a_clear_error(tmp_path):
    src = write(tmp_path, ["", "   "])
    with pytest.raises(InputError, match="no text to learn from"):
        lm.train([src], str(tmp_path / "m.npz"), tiny())


def test_seq_len_longer_than_the_data(tmp_path):
    src = write(tmp_path, ["short"])
    with pytest.raises(InputError, match=r"6 tokens, too few for --seq-len 50"):
        lm.train([src], str(tmp_path / "m.npz"), tiny(seq_len=50))


def test_nan_loss_stops_with_a_clear_error(tmp_path, monkeypatch):
    src = write(tmp_path, TEXT)
    out = str(tmp_path / "m.npz")
    original = M.LanguageModel.loss_and_grads
    calls = {"n": 0}

    def poisoned(self, *args, **kwargs):
        loss, grads, state = original(self, *args, **kwargs)
        calls["n"] += 1
        return (float("nan") if calls["n"] > 8 else loss), grads, state

    monkeypatch.setattr(M.LanguageModel, "loss_and_grads", poisoned)
    with pytest.raises(TrainingError, match="loss became nan at step 9; .* keeps the model of step 8"):
        lm.train([src], out, tiny(epochs=50, batch=2))
    assert np.isfinite(load_model(out).arrays["out.W"]).all()  # the last good model is kept


def test_corrupt_and_wrong_kind_models(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip file")
    with pytest.raises(ModelFileError, match="not an rnntools model file"):
        lm.load(str(bad))
    other = str(tmp_path / "vectors.npz")
    save_model(other, "vectors", {"vectors": np.zeros((2, 2), np.float32)}, {})
    with pytest.raises(ModelFileError, match="is a 'vectors' model, expected 'lm'"):
        lm.load(other)


def test_pretrained_embeddings_initialise_and_freeze(tmp_path):
    from rnntools.w2v.vectors import save as save_vectors

    src = write(tmp_path, TEXT)
    wv = Vocab.build({"cat": 5, "mat": 4, "zebra": 3}, level="word", specials=False)
    vectors = np.arange(15, dtype=np.float32).reshape(3, 5)
    vec_path = str(tmp_path / "vec.npz")
    save_vectors(vec_path, wv, vectors)
    out = str(tmp_path / "w.npz")
    lm.train([src], out, tiny(level="word", seq_len=5, embeddings=vec_path, freeze_embeddings=True, epochs=2,
                                    embed_dim=None))
    loaded = lm.load(out)
    assert loaded.model.embed_dim == 5
    E = loaded.model.params["embed.W"]
    np.testing.assert_array_equal(E[loaded.vocab.index["cat"]], vectors[0])
    np.testing.assert_array_equal(E[loaded.vocab.index["mat"]], vectors[1])
    with pytest.raises(InputError, match="no token of the vocabulary has a vector"):
        lm.train([src], out, tiny(level="char", embeddings=vec_path, embed_dim=None))


@pytest.mark.parametrize("until", [None, 2])
def test_runs_of_tokens_equal_one_token_per_call(until):
    """Sampler._tokens (a run of tokens per numba call) draws the same tokens as one call per token with
    one uniform each, stops after ``until`` and leaves the generator where one-per-token would."""
    V, E, H, L = 9, 5, 6, 1
    model = M.LanguageModel(V, cell="lstm", hidden=H, layers=L, embed_dim=E, seed=11, dtype=np.float32)
    vocab = Vocab.build({"a": 3, "b": 2, "c": 2, "d": 1, "\n": 1}, level="char", lowercase=False)
    one, run = S.Sampler(M.LoadedLM(model, vocab, {})), S.Sampler(M.LoadedLM(model, vocab, {}))
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    want, token = [], 1
    for _ in range(50):
        token = one._step(token, 1.0, 0, float(rng1.random()))
        want.append(token)
        if token == until:
            break
    got = list(run._tokens(1, 50, 1.0, 0, -1 if until is None else until, rng2, chunk=7))
    assert got == want
    assert until is None or (got[-1] == until and len(got) < 50)
    assert rng1.random() == rng2.random()


# --- the numpy twin of the sampler (short runs skip numba's start-up) --------------------------------------


def random_float32_lm(cell, E=6, H=10, L=2, seed=3):
    vocab = Vocab.build({ch: 5 - i % 4 for i, ch in enumerate("abcdefgh")} | {"\n": 1}, level="char",
                        lowercase=False)
    model = M.LanguageModel(len(vocab), cell=cell, hidden=H, layers=L, embed_dim=E, seed=seed, dtype=np.float32)
    rng = np.random.default_rng(seed)
    for a in model.params.values():  # large enough that gates saturate and tanh's clamp is reached
        a[...] = rng.normal(0, 0.9, a.shape)
    return M.LoadedLM(model, vocab, {})


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("temperature,top_k,table", [(1.0, 0, True), (0.7, 3, True), (0.0, 0, True),
                                                     (1.0, 0, False)])
def test_numpy_sampler_is_the_compiled_sampler_bit_for_bit(cell, temperature, top_k, table, monkeypatch):
    """E, H not multiples of 4 (matvec's remainder rows); the same states, logits and tokens to the bit,
    with the compiled kernels reading the first layer's input products from their table or computing them."""
    if not table:
        monkeypatch.setattr(S, "INPUT_TABLE_BYTES", 0)
    loaded = random_float32_lm(cell)
    twin, compiled = S.Sampler(loaded, numpy_macs=10**12), S.Sampler(loaded, numpy_macs=0)
    runs = [[t for t, _ in s.generate("abc", 300, temperature=temperature, top_k=top_k,
                                      rng=np.random.default_rng(9))] for s in (twin, compiled)]
    assert runs[0] == runs[1] and len(runs[0]) == 300
    assert twin.numpy_tokens > 0 and compiled.numpy_tokens == 0
    for name in ("h", "c", "logits"):
        np.testing.assert_array_equal(getattr(twin, name), getattr(compiled, name))
    assert (compiled._packed()[2].shape[0] > 0) == table


def test_sampler_moves_to_the_compiled_kernels_when_the_budget_is_spent():
    loaded = random_float32_lm("lstm")
    probe = S.Sampler(loaded)
    per_token = sum(W.size for W in probe.Whs + probe.Wxs) + probe.projW.size
    mixed = S.Sampler(loaded, numpy_macs=per_token * 60)  # the first sample in numpy, the others not
    want = list(S.sample_records(loaded, length=50, count=3, seed=4, sampler=S.Sampler(loaded, numpy_macs=0)))
    assert list(S.sample_records(loaded, length=50, count=3, seed=4, sampler=mixed)) == want
    assert mixed.numpy_tokens == 0


def test_a_short_sample_does_not_import_numba(tmp_path):
    """The point of the twin: a warm `sample --length 200` never pays numba's start-up."""
    import os
    import subprocess
    import sys

    import rnntools

    code = ("import sys, numpy as np\n"
            "from rnntools.tasks.lm import model as M, sample as S\n"
            "from rnntools.text import Vocab\n"
            "v = Vocab.build({'a': 3, 'b': 2, '\\n': 1}, level='char', lowercase=False)\n"
            "m = M.LanguageModel(len(v), cell='lstm', hidden=16, layers=1, embed_dim=8, seed=1, dtype=np.float32)\n"
            "text = ''.join(S.sample_text(M.LoadedLM(m, v, {}), length=200, seed=1))\n"
            "print(len(text), 'numba' in sys.modules)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(rnntools.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": root}).stdout.split()
    assert out[1] == "False" and int(out[0]) > 0


# --- generation shared by two threads (SplitRun) ------------------------------------------------------------


def forced_split(sampler, parts):
    split = S.SplitRun(sampler)
    split.parts = lambda: parts
    sampler._split = split
    return split


@pytest.mark.parametrize("cell,H,L,table", [("lstm", 10, 2, True), ("gru", 9, 2, True), ("rnn", 7, 1, False),
                                            ("lstm", 13, 1, False)])
def test_two_threads_generate_the_one_thread_tokens_bit_for_bit(cell, H, L, table, monkeypatch):
    """Odd H and V (parts of unequal width, panels padded), with and without the input table, temperature
    and top-k, stopping at ``until`` mid-run: the same tokens, states, logits and generator as one thread."""
    if not table:
        monkeypatch.setattr(S, "INPUT_TABLE_BYTES", 0)
    loaded = random_float32_lm(cell, H=H, L=L)
    runs = []
    for parts in (1, 2):
        sampler = S.Sampler(loaded, numpy_macs=0)
        split = forced_split(sampler, parts)
        rng = np.random.default_rng(5)
        tokens = [t for t, _ in sampler.generate("abc", 700, temperature=0.8, top_k=5, rng=rng)]
        tokens += [t for t, _ in sampler.generate("", 400, until="\n", rng=rng)]
        runs.append((tokens, sampler.h.copy(), sampler.c.copy(), sampler.logits.copy(), rng.random()))
        assert (split.seq > 0) == (parts == 2)
    (t1, h1, c1, l1, r1), (t2, h2, c2, l2, r2) = runs
    assert t1 == t2 and len(t1) > 700
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(l1, l2)
    assert r1 == r2


def test_split_is_chosen_by_timing_and_timed_again():
    """Untimed loading runs, then both kinds timed; the kind with the lower moving average is used and the
    other explored (two runs, the first not counted) after 16, 32, ... runs while the choice stands, and
    after 16 again when it flips."""
    loaded = random_float32_lm("lstm")
    split = S.SplitRun(S.Sampler(loaded, numpy_macs=0))

    def run(n, speed):
        used = []
        for _ in range(n):
            parts = split.parts()
            used.append(parts)
            split.timed(parts, speed[parts])
        return used

    idle, busy = {1: 2.0, 2: 1.0}, {1: 1.0, 2: 3.0}
    assert tuple(run(len(split.FIRST), idle)) == split.FIRST
    assert run(16 + 2 + 32 + 2, idle) == [2] * 16 + [1, 1] + [2] * 32 + [1, 1]   # explorations of one thread
    used = run(70, busy)               # the machine got busy: split runs are slow now
    flip = used.index(1)
    assert 0 < flip <= 5 and set(used[flip:flip + 16]) == {1}                     # one thread within a few runs
    assert used[flip + 16:flip + 18] == [2, 2]                                    # the split explored after 16
    assert set(used[flip + 18:flip + 18 + 32]) == {1}                             # then after 32
    one_thread = split.estimate[1]
    split.timed(1, 1e9)                # one wild run moves the average, not the whole choice history
    assert split.estimate[1] < 1e9 and split.estimate[1] > one_thread


def test_split_only_for_large_weights_and_two_cores(monkeypatch):
    import rnntools.parallel as P

    loaded = random_float32_lm("lstm")
    assert S.Sampler(loaded)._split_run() is None                  # a few KB of weights
    monkeypatch.setattr(S, "SPLIT_BYTES", 0)
    monkeypatch.setattr(P, "configured_threads", lambda: 2)
    assert isinstance(S.Sampler(loaded)._split_run(), S.SplitRun)
    monkeypatch.setattr(P, "configured_threads", lambda: 1)
    assert S.Sampler(loaded)._split_run() is None


def test_a_failing_part_releases_the_other_and_splitting_stops(monkeypatch):
    """A part that fails before its kernel must not leave the other waiting at a meeting for ever."""
    import rnntools.tasks.lm.kernels as K

    loaded = random_float32_lm("lstm")
    sampler = S.Sampler(loaded, numpy_macs=0)
    split = forced_split(sampler, 2)
    real = K.sample_tokens_part

    def fail_in_worker(part, *args):
        if part == 1:
            raise MemoryError("worker")
        return real(part, *args)

    monkeypatch.setattr(K, "sample_tokens_part", fail_in_worker)
    with pytest.raises(MemoryError):
        list(sampler.generate("", 100, rng=np.random.default_rng(1)))
    assert split.broken
    monkeypatch.setattr(K, "sample_tokens_part", real)
    del split.parts                                                  # the schedule again: broken means one thread
    assert split.parts() == 1
    assert len(list(sampler.generate("", 100, rng=np.random.default_rng(1)))) == 100
