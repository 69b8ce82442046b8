"""word2vec end to end: training recovers planted structure, reproducibility, queries, evaluation,
word2vec formats, bad inputs and Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import ROOT, interrupting_progress

from rnntools.io import load_model

GROUP_A = [f"apple{c}" for c in "abcdefghijkl"]
GROUP_B = [f"stone{c}" for c in "abcdefghijkl"]


def planted_corpus(path, lines=1200, seed=0):
    """Two vocabularies that never share a line."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(lines):
            group = GROUP_A if i % 2 else GROUP_B
            f.write(" ".join(rng.choice(group, 8)) + "\n")
    return path


def train_args(corpus, out, *extra):
    return ["w2v-train", str(corpus), "-o", str(out), "--dim", "16", "--window", "3", "--min-count", "1",
            "--threads", "1", "--epochs", "3", "--sample", "0", *extra]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return planted_corpus(tmp_path_factory.mktemp("w2v") / "planted.txt")


@pytest.mark.parametrize("arch", ["sg", "cbow"])
def test_training_recovers_two_planted_vocabularies(run_cli, planted, tmp_path, arch):
    out = tmp_path / "v.npz"
    result = run_cli(train_args(planted, out, "--arch", arch))
    assert result.exit_code == 0, result.output
    from rnntools.w2v.vectors import load

    model = load(out)
    assert sorted(model.tokens) == sorted(GROUP_A + GROUP_B)
    unit = model.unit
    group = np.array([t in GROUP_A for t in model.tokens])
    sims = unit @ unit.T
    np.fill_diagonal(sims, np.nan)
    within = np.nanmean(sims[np.ix_(group, group)]) + np.nanmean(sims[np.ix_(~group, ~group)])
    across = np.nanmean(sims[np.ix_(group, ~group)])
    assert within / 2 > across + 0.3, (within / 2, across)
    # every word's nearest neighbour is from its own vocabulary
    nearest = np.nanargmax(sims, axis=1)
    assert (group[nearest] == group).all()
    meta = load_model(out).meta
    assert meta["config"]["arch"] == arch and meta["training"]["epochs_completed"] == 3
    assert meta["training"]["epoch_loss"][-1] < meta["training"]["epoch_loss"][0]


def test_same_seed_same_bytes_with_one_thread(run_cli, planted, tmp_path):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    for out, seed in ((a, 7), (b, 7), (c, 8)):
        assert run_cli(train_args(planted, out, "--seed", seed)).exit_code == 0
    va, vb, vc = (load_model(p).arrays["vectors"] for p in (a, b, c))
    assert va.tobytes() == vb.tobytes()
    assert not np.array_equal(va, vc)


def test_stdin_trains_like_a_file_and_logs_jsonl(run_cli, planted, tmp_path):
    a, b, log = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "log.jsonl"
    assert run_cli(train_args(planted, a)).exit_code == 0
    result = run_cli(train_args("-", b, "--log", log), input=open(planted, encoding="utf-8").read())
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert np.array_equal(load_model(a).arrays["vectors"], load_model(b).arrays["vectors"])
    records = [json.loads(line) for line in open(log)]
    events = [r["event"] for r in records]
    assert events[0] == "vocab" and events[-1] == "done"
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2, 3]
    assert all(r.get("loss", 1) > 0 for r in records if r["event"] in ("epoch", "progress"))


def test_log_numbers_epochs_once_and_never_logs_a_zero_loss(run_cli, monkeypatch, planted, tmp_path):
    """With a clock that advances a second per look, every look writes a progress line: none shows a loss of
    0 (before the first batch there is no loss to show; a new epoch whose first batch has not come back yet shows the previous epoch's), and each epoch's
    line is written once, in order, as the epoch ends."""
    import itertools
    import time

    from rnntools.w2v import kernels
    from rnntools.w2v import train as train_module

    ticks = itertools.count()
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: float(next(ticks)))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))
    slow_sg = kernels.train_batch_sg

    def slow(*args):  # each batch (an epoch of this corpus) takes long enough for the progress loop to look
        time.sleep(0.6 if len(args[0]) else 0)
        return slow_sg(*args)

    monkeypatch.setattr(kernels, "train_batch_sg", slow)
    log = tmp_path / "log.jsonl"
    result = run_cli(["-q", *train_args(planted, tmp_path / "v.npz", "--epochs", "4", "--log", log)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in open(log)]
    epochs = [r["epoch"] for r in records if r["event"] == "epoch"]
    assert epochs == [1, 2, 3, 4]
    progress = [r for r in records if r["event"] == "progress"]
    assert [r for r in progress if "loss" in r] and all(r["loss"] > 0 for r in progress if "loss" in r)
    events = [r["event"] for r in records]
    assert "progress" in events[events.index("epoch"):]  # epoch 1's line came before training ended


def test_vocab_file_restricts_the_words(run_cli, planted, tmp_path):
    vocab = tmp_path / "vocab.jsonl"
    vocab.write_text("".join(json.dumps({"token": t, "count": 1}) + "\n" for t in GROUP_A[:5] + ["unseen"]))
    out = tmp_path / "v.npz"
    result = run_cli(train_args(planted, out, "--vocab", vocab))
    assert result.exit_code == 0, result.output
    from rnntools.w2v.vectors import load

    model = load(out)
    assert model.tokens == GROUP_A[:5] + ["unseen"]
    assert model.vocab.counts[-1] == 0 and model.vocab.counts[0] > 0


@pytest.mark.parametrize("text, needle", [
    ("", "no words in the corpus"),
    ("!!! ...\n\n---\n", "no words in the corpus"),
    ("one two three\n", "no word occurs at least --min-count 5 times"),
])
def test_bad_corpora_get_a_clear_error(run_cli, tmp_path, text, needle):
    corpus = tmp_path / "c.txt"
    corpus.write_text(text)
    result = run_cli(["w2v-train", corpus, "-o", tmp_path / "v.npz"])
    assert result.exit_code == 1
    assert needle in result.stderr and "c.txt" in result.stderr
    assert not (tmp_path / "v.npz").exists()


def test_interrupt_saves_what_was_trained(planted, tmp_path, monkeypatch):
    """Ctrl-C in the training loop: the workers stop, the vectors are saved, KeyboardInterrupt goes on."""
    from rnntools import console
    from rnntools.w2v import train as train_module

    monkeypatch.setattr(console, "progress", interrupting_progress())
    out = tmp_path / "v.npz"
    # far more epochs than can run before the first progress update (0.2 s), so the interrupt lands mid-way
    params = train_module.Params(dim=8, min_count=1, epochs=2000, threads=2, sample=0)
    with pytest.raises(KeyboardInterrupt):
        train_module.train([str(planted)], str(out), params)
    meta = load_model(out).meta
    assert meta["training"]["interrupted"] is True and meta["training"]["progress"] < 1
    assert not os.path.exists(f"{out}.tmp")


# --- queries and evaluation on vectors with known geometry ------------------------------------------------

KNOWN = {  # king - man + woman = queen exactly; paris - france + italy = rome
    "the": [0.1, 0.1, 0.1, 1.0], "man": [1, 0, 0, 0], "woman": [1, 1, 0, 0], "king": [3, 0, 0, 0.2],
    "queen": [3, 1, 0, 0.2], "france": [0, 0, 1, 0], "paris": [0, 0, 1, 1], "italy": [0, 0, 2, 0],
    "rome": [0, 0, 2, 1], "prince": [3, 0.05, 0, 0.2],
}


@pytest.fixture
def known(tmp_path, run_cli):
    text = f"{len(KNOWN)} 4\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in KNOWN.items())
    src = tmp_path / "known.txt"
    src.write_text(text)
    out = tmp_path / "known.npz"
    result = run_cli(["import", src, "-o", out])
    assert result.exit_code == 0, result.output
    return out


def test_neighbors_cosine_analogies_and_unknown_words(run_cli, known):
    result = run_cli(["neighbors", known, "king", "King - man + woman", "paris - france + italy", "nosuch",
                      "-k", "2"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["query"] == "king" and records[0]["neighbors"][0]["token"] == "prince"
    vec = np.array(list(KNOWN.values()), float)
    unit = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    ids = {w: i for i, w in enumerate(KNOWN)}
    assert records[0]["neighbors"][0]["score"] == pytest.approx(unit[ids["king"]] @ unit[ids["prince"]], abs=1e-6)
    assert records[1]["neighbors"][0]["token"] == "queen"
    assert records[2]["neighbors"][0]["token"] == "rome"
    assert all(n["token"] not in ("paris", "france", "italy") for n in records[2]["neighbors"])
    assert records[3] == {"query": "nosuch", "error": "unknown word: nosuch"}
    assert "1 query with unknown words" in result.stderr
    strict = run_cli(["neighbors", known, "--strict"], input="king\nnosuch\n")
    assert strict.exit_code == 1 and "<stdin>:2: unknown word: nosuch" in strict.stderr


def test_neighbors_jsonl_field_cosmul_and_restrict(run_cli, known):
    lines = json.dumps({"id": 7, "q": "king - man + woman"}) + "\n"
    result = run_cli(["neighbors", known, "--field", "q", "--method", "cosmul", "-k", "1"], input=lines)
    record = json.loads(result.stdout)
    assert record["id"] == 7 and record["neighbors"][0]["token"] == "queen"
    result = run_cli(["neighbors", known, "king", "--restrict", "3", "-k", "5"])
    found = json.loads(result.stdout)["neighbors"]
    assert sorted(n["token"] for n in found) == ["man", "the", "woman"]  # only the 3 most frequent
    assert [n["score"] for n in found] == sorted((n["score"] for n in found), reverse=True)


def test_evaluate_analogies_and_similarity(run_cli, known, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text(": family\nman woman king queen\nMAN KING woman queen\n: capitals\n"
                         "france paris italy rome\nfrance paris spain madrid\n")
    pairs = tmp_path / "ws.tsv"
    pairs.write_text("# word1\tword2\tscore\nking\tqueen\t9\nking\tprince\t9.5\nman\tparis\t1\n"
                     "the\tman\t3\nfoo\tbar\t5\n")
    result = run_cli(["evaluate", known, "--analogies", questions, "--similarity", pairs])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    total = records[-2]
    assert total["section"] == "total" and total["questions"] == 3 and total["skipped"] == 1
    assert records[0]["section"] == "family" and records[0]["correct"] >= 1
    assert records[1] == {"task": "analogies", "section": "capitals", "accuracy": 1.0, "correct": 1,
                          "questions": 1, "skipped": 1}
    sim = records[-1]
    assert sim["pairs"] == 4 and sim["skipped"] == 1 and -1 <= sim["spearman"] <= 1
    vec = {w: np.array(v, float) / np.linalg.norm(v) for w, v in KNOWN.items()}
    cos = [vec["king"] @ vec["queen"], vec["king"] @ vec["prince"], vec["man"] @ vec["paris"], vec["the"] @ vec["man"]]
    from scipy.stats import spearmanr

    assert sim["spearman"] == pytest.approx(spearmanr(cos, [9, 9.5, 1, 3]).correlation, abs=1e-6)
    assert "analogies: total" not in result.stderr  # the table is drawn only when stderr is a terminal


@pytest.mark.parametrize("extra,message", [
    (["--loss", "hs", "--negative", "7"], "error: --negative is for --loss ns"),
    (["--buckets", "5"], "error: --buckets is the number of hash buckets of --subword n-grams; give --subword too"),
    (["--keep-case", "--vocab", "VOCAB"], "error: --keep-case: VOCAB holds lowercased words"),
    (["--arch", "cbow", "--share-negatives"], "error: --share-negatives/--no-share-negatives is for plain skip-gram"),
    (["--loss", "hs", "--no-share-negatives"], "error: --share-negatives/--no-share-negatives is for plain"),
    (["--subword", "3-4", "--no-share-negatives"], "error: --share-negatives/--no-share-negatives is for plain"),
])
def test_options_the_model_does_not_use_are_usage_errors(run_cli, tmp_path, extra, message):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat\nthe dog ran\n")
    vocab = tmp_path / "v.jsonl"
    assert run_cli(["vocab", corpus, "-o", vocab]).exit_code == 0
    extra = [str(vocab) if a == "VOCAB" else a for a in extra]
    out = tmp_path / "w.npz"
    result = run_cli(train_args(corpus, out, *extra))     # each was ignored, silently
    assert result.exit_code == 2 and message.replace("VOCAB", str(vocab)) in result.stderr
    assert not out.exists()


def test_analogy_with_no_candidate_left_is_not_correct(run_cli, known, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("the the the the\nthe man woman the\n")
    # --restrict 3 leaves no word but the question's own: no answer (argmax of -inf counted "the" correct)
    result = run_cli(["evaluate", known, "--analogies", questions, "--restrict", "3"])
    assert result.exit_code == 0, result.output
    total = [json.loads(line) for line in result.stdout.splitlines()][-1]
    assert (total["section"], total["questions"], total["correct"]) == ("total", 2, 0)


@pytest.mark.parametrize("fmt", ["word2vec-text", "word2vec-binary"])
def test_export_import_round_trip_is_exact(run_cli, planted, tmp_path, fmt):
    out = tmp_path / "v.npz"
    assert run_cli(train_args(planted, out, "--epochs", "1")).exit_code == 0
    exported = tmp_path / "v.w2v"
    result = run_cli(["export", out, "--format", fmt, "-o", exported])
    assert result.exit_code == 0, result.output
    back = tmp_path / "back.npz"
    assert run_cli(["import", exported, "-o", back]).exit_code == 0
    a, b = load_model(out), load_model(back)
    assert a.meta["vocab"]["tokens"] == b.meta["vocab"]["tokens"]
    assert a.arrays["vectors"].tobytes() == b.arrays["vectors"].tobytes()
    assert b.meta["source"]["format"] == fmt
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(exported), binary=fmt.endswith("binary"))
    assert kv.index_to_key == a.meta["vocab"]["tokens"]
    np.testing.assert_array_equal(kv.vectors, a.arrays["vectors"])


@pytest.mark.parametrize("content, needle", [
    (b"not a zip", "not an rnntools model file"),
    (b"PK\x03\x04truncated", "not an rnntools model file"),
])
def test_corrupt_vectors_file(run_cli, tmp_path, content, needle):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    for args in (["neighbors", bad, "king"], ["export", bad], ["evaluate", bad, "--analogies", bad]):
        result = run_cli(args)
        assert result.exit_code == 1 and needle in result.stderr, (args, result.stderr)


@pytest.mark.parametrize("text, needle", [
    ("2 3\na 1 2 3\n", "the header says 2 words, found 1"),
    ("1 3\na 1 2\n", "expected a word and 3 numbers"),
    ("1 2\na 1 x\n", "not a number"),
    ("2 2\na 1 2\na 3 4\n", "appears twice"),
])
def test_bad_word2vec_files(run_cli, tmp_path, text, needle):
    src = tmp_path / "v.txt"
    src.write_text(text)
    result = run_cli(["import", src, "-o", tmp_path / "v.npz"])
    assert result.exit_code == 1 and needle in result.stderr, result.stderr


def test_query_path_does_not_import_numba(known):
    code = ("import sys\nfrom rnntools.cli import main\n"
            f"try:\n    main(['neighbors', {str(known)!r}, 'king'])\nexcept SystemExit:\n    pass\n"
            "print('NUMBA', 'numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert "NUMBA False" in result.stdout and '"token": "prince"' in result.stdout


def test_load_vectors_for_embeddings(known):
    from rnntools.w2v.vectors import load_vectors

    vocab, vectors = load_vectors(known)
    assert vectors.dtype == np.float32 and vectors.shape == (len(KNOWN), 4)
    assert vocab.n_special == 0 and vocab.lowercase
    np.testing.assert_array_equal(vectors[vocab.index["rome"]], KNOWN["rome"])


def test_resume_continues_an_interrupted_run_and_a_finished_one(run_cli, planted, tmp_path, monkeypatch):
    from rnntools import console
    from rnntools.w2v import train as train_module

    part, rest = tmp_path / "part.npz", tmp_path / "rest.npz"
    params = train_module.Params(dim=8, min_count=1, epochs=1000, threads=1, sample=0)
    with monkeypatch.context() as m:
        m.setattr(console, "progress", interrupting_progress(after=2))
        with pytest.raises(KeyboardInterrupt):
            train_module.train([str(planted)], str(part), params)
    saved = load_model(part)
    assert "output_weights" in saved.arrays and saved.meta["training"]["interrupted"]
    done = saved.meta["training"]["progress"]
    assert 0 <= done < 1  # 0 when the interrupt came before the first batch finished (a loaded machine)
    result = run_cli(["w2v-train", planted, "-o", rest, "--resume", part, "--threads", "1"])
    assert result.exit_code == 0, result.output
    meta = load_model(rest).meta
    # resumed_from is the saved position in epochs over the run's epochs: progress * epochs / epochs, which
    # floating point may round in the last bit
    assert meta["training"]["progress"] == 1.0
    assert meta["training"]["resumed_from"]["progress"] == pytest.approx(done, rel=1e-12)
    assert meta["training"]["words"] < 1000 * 9600 * (1 - done) * 1.05  # only the rest of the schedule
    assert meta["config"]["epochs"] == 1000 and meta["config"]["dim"] == 8
    assert "output_weights" not in load_model(rest).arrays
    # a finished file without output weights cannot be resumed; with them it can, for --epochs more
    refused = run_cli(["w2v-train", planted, "-o", tmp_path / "x.npz", "--resume", rest])
    assert refused.exit_code == 2 and "--resumable" in refused.stderr
    first, more = tmp_path / "first.npz", tmp_path / "more.npz"
    assert run_cli(train_args(planted, first, "--resumable")).exit_code == 0
    conflict = run_cli(["w2v-train", planted, "-o", more, "--resume", first, "--dim", "32"])
    assert conflict.exit_code == 2
    assert "--dim 32 differs from the saved model's 16 (structural options cannot change" in conflict.stderr
    # the schedule continues: a finished 3-epoch file needs --epochs above 3, and goes on from epoch 3
    done = run_cli(["w2v-train", planted, "-o", more, "--resume", first, "--threads", "1"])
    assert done.exit_code == 2 and "trained for 3 epochs already; give --epochs above 3" in done.stderr
    result = run_cli(["w2v-train", planted, "-o", more, "--resume", first, "--epochs", "5", "--threads", "1",
                      "--dim", "16", "--alpha", "0.01"])
    assert result.exit_code == 0, result.output
    a, b = load_model(first), load_model(more)
    assert b.meta["training"]["epochs_completed"] == 5 and b.meta["config"]["dim"] == 16
    assert b.meta["training"]["epochs_done"] == 5 and b.meta["training"]["resumed_from"]["epochs_done"] == 3
    assert b.meta["config"]["alpha"] == 0.01  # a training option may change
    assert a.meta["config"]["share_negatives"] is b.meta["config"]["share_negatives"] is True
    # ... and is kept unless given again: a per-pair file resumes per pair
    pair, pair_more = tmp_path / "pair.npz", tmp_path / "pair_more.npz"
    assert run_cli(train_args(planted, pair, "--resumable", "--no-share-negatives")).exit_code == 0
    result = run_cli(["w2v-train", planted, "-o", pair_more, "--resume", pair, "--epochs", "4", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert load_model(pair_more).meta["config"]["share_negatives"] is False
    assert b.meta["training"]["words"] == 2 * 9600  # two more epochs, not five
    assert not np.array_equal(a.arrays["vectors"], b.arrays["vectors"])


@pytest.mark.parametrize("extra, change, message", [
    (["--loss", "hs"], ["--loss", "ns"], "--loss ns differs from the saved model's hs"),
    (["--subword", "3-4"], ["--subword", "2-5"], "--subword 2-5 differs from the saved model's 3-4"),
    (["--subword", "3-4", "--loss", "hs", "--arch", "cbow"], ["--arch", "sg"], "--arch sg differs"),
])
def test_resume_hs_and_subword_models(run_cli, planted, tmp_path, extra, change, message):
    first, more = tmp_path / "first.npz", tmp_path / "more.npz"
    assert run_cli(train_args(planted, first, "--resumable", *extra)).exit_code == 0
    bad = run_cli(["w2v-train", planted, "-o", more, "--resume", first, *change])
    assert bad.exit_code == 2 and message in bad.stderr
    good = run_cli(["w2v-train", planted, "-o", more, "--resume", first, "--epochs", "4", "--threads", "1", *extra])
    assert good.exit_code == 0, good.output
    a, b = load_model(first), load_model(more)
    assert b.meta["config"]["loss"] == a.meta["config"]["loss"]
    assert b.meta["config"]["subword"] == a.meta["config"]["subword"]
    assert b.meta["training"]["epochs_completed"] == 4
    for name in a.arrays:
        if name != "output_weights" or "--resumable" in extra:
            assert a.arrays[name].shape == b.arrays.get(name, a.arrays[name]).shape


@pytest.mark.parametrize("option, text, code, needle", [
    ("--analogies", "".join(f"w{i}\tv{i}\t{i}\n" for i in range(12)), 1, "expected 4 words per line"),
    ("--similarity", "king\tqueen\thigh\n", 1, "is not a number"),
    ("--similarity", "king queen\n", 1, "expected 'word1<TAB>word2<TAB>score'"),
    ("--similarity", "# only comments\n", 1, "no word pairs"),
    ("--similarity", "foo\tbar\t3\nbaz\tqux\t4\n", 0, '"spearman": null'),
])
def test_bad_evaluation_files(run_cli, known, tmp_path, option, text, code, needle):
    path = tmp_path / "test.txt"
    path.write_text(text)
    result = run_cli(["evaluate", known, option, path])
    assert result.exit_code == code, result.output
    assert needle in (result.stderr if code else result.stdout)
    if code:
        assert "test.txt" in result.stderr


def test_evaluate_needs_a_test_file(run_cli, known, tmp_path):
    result = run_cli(["evaluate", known])
    assert result.exit_code == 2 and "--analogies" in result.stderr


def test_import_reads_glove_text_without_a_header(run_cli, tmp_path):
    src = tmp_path / "glove.txt"
    src.write_text("The 1 0\ncat 0.5 0.5\ndog 0.4 0.6\n")
    out = tmp_path / "g.npz"
    result = run_cli(["import", src, "-o", out])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.meta["vocab"]["tokens"] == ["The", "cat", "dog"] and not model.meta["vocab"]["lowercase"]
    assert model.meta["source"]["format"] == "glove-text"
    nb = run_cli(["neighbors", out, "cat", "-k", "1"])
    assert json.loads(nb.stdout)["neighbors"][0]["token"] == "dog"


@pytest.mark.parametrize("text,tokens", [
    ("the\t1 0\ncat 0.5\t0.5\ndog  0.4 0.6 \n", ["the", "cat", "dog"]),        # tabs, double and trailing spaces
    ("2 2\nnew york 1 0\ncat 0.5 0.5\n", ["new york", "cat"]),                 # a word with a space (D known)
    ("a\u0085b 1 0\nx\u2028y 0.5 0.5\nc\u00a0d 0.4 0.6\n", ["a\u0085b", "x\u2028y", "c\u00a0d"]),  # not line ends
])
def test_import_reads_vector_lines_as_real_files_write_them(run_cli, tmp_path, text, tokens):
    src = tmp_path / "v.txt"
    src.write_bytes(text.encode("utf-8"))
    out = tmp_path / "v.npz"
    result = run_cli(["import", src, "-o", out])
    assert result.exit_code == 0, result.output
    assert load_model(out).meta["vocab"]["tokens"] == tokens


def test_every_epoch_is_logged_when_the_workers_finish_before_the_first_look(run_cli, monkeypatch, planted,
                                                                              tmp_path):
    """Workers that train every epoch before the main thread looks (a small corpus on a busy machine) still
    leave one line per epoch: which epochs were logged before is read before the workers start."""
    from rnntools.w2v import train as train_module

    class EagerThread(threading.Thread):
        def start(self):
            super().start()
            self.join(timeout=30)   # the worker runs to the end before the caller goes on

    monkeypatch.setattr(train_module.threading, "Thread", EagerThread)
    log = tmp_path / "log.jsonl"
    result = run_cli(["-q", *train_args(planted, tmp_path / "v.npz", "--log", log)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in open(log)]
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2, 3]


def test_queries_without_an_answer_say_why(run_cli, known):
    # "- - -" has no words; "king - king" has a zero vector, whose neighbors would be an arbitrary order
    result = run_cli(["neighbors", known, "-k", "2"], input="- - -\nking - king\nking\n")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0] == {"query": "- - -", "error": "no words in the query"}
    assert records[1]["error"].startswith("the query's words cancel out")
    assert len(records[2]["neighbors"]) == 2
    assert "2 queries without an answer" in result.stderr
    cosmul = run_cli(["neighbors", known, "--method", "cosmul"], input="king - king\n")
    assert "error" in json.loads(cosmul.stdout)


def test_words_with_combining_marks_are_whole_and_either_normal_form_finds_them(run_cli, tmp_path):
    """A Hindi word's vowel signs and the accents of decomposed text belong to the word (they cut it into
    letters before), and a query typed composed (NFC) or decomposed (NFD) finds the word either way."""
    import unicodedata

    corpus = tmp_path / "marks.txt"
    line = "हिन्दी भाषा बहुत सुंदर है café naïve résumé\n"
    corpus.write_text(unicodedata.normalize("NFD", line) * 150, encoding="utf-8")
    out = tmp_path / "v.npz"
    assert run_cli(train_args(corpus, out)).exit_code == 0
    tokens = load_model(out).meta["vocab"]["tokens"]
    assert {"हिन्दी", "भाषा", "café", "naïve", "résumé"} <= set(tokens), tokens
    for query in ("café", unicodedata.normalize("NFD", "café"), "हिन्दी"):
        result = run_cli(["neighbors", out, query, "-k", "2"])
        assert result.exit_code == 0, result.stderr
        assert "error" not in json.loads(result.stdout), result.stdout
