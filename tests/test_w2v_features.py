"""Hierarchical softmax, subword vectors and phrases end to end, and w2v-train's option checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from test_w2v_cli import GROUP_A, GROUP_B, planted_corpus, train_args

from rnntools.io import load_model


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return planted_corpus(tmp_path_factory.mktemp("w2vf") / "planted.txt")


def _separation(path):
    from rnntools.w2v.vectors import load

    model = load(path)
    unit = model.unit
    group = np.array([t in GROUP_A for t in model.tokens])
    sims = unit @ unit.T
    np.fill_diagonal(sims, np.nan)
    nearest = np.nanargmax(sims, axis=1)
    return model, (group[nearest] == group).mean()


@pytest.mark.parametrize("arch", ["sg", "cbow"])
def test_hierarchical_softmax_recovers_two_vocabularies(run_cli, planted, tmp_path, arch):
    out = tmp_path / "v.npz"
    result = run_cli(train_args(planted, out, "--arch", arch, "--loss", "hs", "--resumable"))
    assert result.exit_code == 0, result.output
    model, agree = _separation(out)
    assert agree == 1.0
    saved = load_model(out)
    assert saved.meta["config"]["loss"] == "hs"
    assert saved.arrays["output_weights"].shape == (len(model.tokens) - 1, 16)  # one row per inner node
    loss = saved.meta["training"]["epoch_loss"]
    assert loss[-1] < loss[0]


def test_hs_same_seed_same_bytes(run_cli, planted, tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for out in (a, b):
        assert run_cli(train_args(planted, out, "--loss", "hs", "--seed", "7")).exit_code == 0
    assert np.array_equal(load_model(a).arrays["vectors"], load_model(b).arrays["vectors"])


def test_subword_vectors_for_unseen_words(run_cli, planted, tmp_path):
    out = tmp_path / "v.npz"
    result = run_cli(train_args(planted, out, "--subword", "3-5"))
    assert result.exit_code == 0, result.output
    model, agree = _separation(out)
    assert agree == 1.0
    assert model.subword == (3, 5) and model.ngram_vectors.shape[1] == 16
    # words never seen: their n-grams place them with their group
    vecs, source = model.vectors_for(["applez", "stonez", "applea", "qqqq"])
    assert source.tolist() == [2, 2, 1, 2]
    unit = model.unit
    group = np.array([t in GROUP_A for t in model.tokens])
    for v, in_a in ((vecs[0], True), (vecs[1], False)):
        sims = unit @ (v / np.linalg.norm(v))
        assert group[np.argmax(sims)] == in_a
    # neighbors answers for an unseen word; a plain model says it is unknown
    result = run_cli(["neighbors", out, "stonezz", "-k", "3"])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert all(n["token"] in GROUP_B for n in record["neighbors"])
    # export --words gives unseen words vectors
    result = run_cli(["export", out, "--words", "-"], input="applez\nstonea\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "2 16" and lines[1].startswith("applez ") and lines[2].startswith("stonea ")
    # evaluate scores pairs with unseen words
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("applez\tappleb\t9\nstonez\tstoneb\t8\napplez\tstoneb\t1\nstonezz\tappleq\t0.5\n")
    result = run_cli(["evaluate", out, "--similarity", pairs])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["pairs"] == 4 and summary["skipped"] == 0 and summary["from_subwords"] == 4


def test_plain_model_has_no_vectors_for_unseen_words(run_cli, planted, tmp_path):
    out = tmp_path / "v.npz"
    assert run_cli(train_args(planted, out)).exit_code == 0
    result = run_cli(["neighbors", out, "applez"])
    assert '"error": "unknown word: applez"' in result.stdout
    from rnntools.w2v.vectors import vectors_for

    vecs, source = vectors_for(str(out), ["applea", "applez"])
    assert source.tolist() == [1, 0] and not vecs[1].any()


def test_subword_ngrams_and_composition():
    from rnntools.w2v import subword

    assert subword.ngrams("ab", 1, 3) == ["<", "a", "b", ">", "<a", "ab", "b>", "<ab", "ab>"]
    assert subword.ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    off, rows = subword.subword_table(["ab", "c"], 2, 3, 7)
    assert off.tolist() == [0, 6, 10] and rows[0] == 0 and rows[6] == 1 and rows[1:6].min() >= 2
    w = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    got = subword.compose(w, off, rows, chunk=1)
    np.testing.assert_allclose(got, [w[rows[0:6]].mean(0), w[rows[6:10]].mean(0)], rtol=1e-6)


def test_phrases_join_pairs_and_table_applies_to_new_text(run_cli, tmp_path):
    corpus = tmp_path / "c.txt"
    rng = np.random.default_rng(1)
    filler = [f"w{i}" for i in range(40)]
    lines = []
    for _ in range(300):
        words = list(rng.choice(filler, 6))
        words.insert(int(rng.integers(0, 6)), "new york")
        lines.append(" ".join(words))
    corpus.write_text("\n".join(lines) + "\n")
    table = tmp_path / "t.jsonl"
    result = run_cli(["phrases", corpus, "--threshold", "5", "--save-table", table])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert len(out) == 300 and all("new_york" in line.split() for line in out)
    records = [json.loads(x) for x in table.read_text().splitlines()]
    assert records[0]["phrase"] == "new_york" and records[0]["count"] == 300 and records[0]["pass"] == 1
    assert all(r["score"] > 5 for r in records)
    applied = run_cli(["phrases", "--table", table, "-"], input="I love New York\nnew\n")
    assert applied.exit_code == 0 and applied.stdout == "i love new_york\nnew\n"


def test_phrases_score_is_word2phrase_and_runs_alternate():
    from rnntools.w2v import phrases as ph

    # a b a b a b: (a, b) and (b, a) both phrases; joins go left to right, every other pair
    tokens = ["a", "b", "c"]
    ids = np.array([0, 1, 0, 1, 0, 1, -1, 2, 2, -1], np.int32)
    found = ph.find_phrases(ids, tokens, threshold=0.0, min_count=1)
    words = 8
    assert found[(0, 1)] == (3, pytest.approx((3 - 1) / 3 / 3 * words))
    assert found[(1, 0)] == (2, pytest.approx((2 - 1) / 3 / 3 * words))
    assert (2, 2) not in found  # seen once: not above min-count
    joined = ph.join_ids(ids, {(0, 1): 3, (1, 0): 4}, 3)
    assert joined.tolist() == [3, 3, 3, -1, 2, 2, -1]
    assert ph.apply_table(["a", "b", "a", "b"], [{("a", "b"): "a_b"}, {("a_b", "a_b"): "a_b_a_b"}]) == ["a_b_a_b"]


def test_phrases_in_a_pipeline_with_w2v_train(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("new york is big\nthe new york times\n" * 60)
    out = tmp_path / "v.npz"
    cmd = f"{sys.executable} -m rnntools phrases {corpus} --threshold 1 | {sys.executable} -m rnntools " \
          f"w2v-train - -o {out} --min-count 1 --dim 8 --threads 1 --epochs 1"
    subprocess.run(cmd, shell=True, check=True, cwd=ROOT, capture_output=True)
    from rnntools.w2v.vectors import load

    assert "new_york" in load(out).tokens


@pytest.mark.parametrize("args, needle", [
    (["--sample", "nan"], "is not a finite number"),
    (["--alpha", "inf"], "is not a finite number"),
    (["--negative", "100000"], "100000 is not in the range"),
    (["--subword", "6-3"], "expected 1 <= MIN <= MAX"),
    (["--subword", "x"], "is not MIN-MAX"),
    (["--dim", "1000000000"], "needs about"),
])
def test_bad_options_fail_fast(run_cli, planted, tmp_path, args, needle):
    result = run_cli(["w2v-train", planted, "-o", tmp_path / "v.npz", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "v.npz").exists()


@pytest.mark.parametrize("text, needle", [
    ("2 3\na 1 2 nan\nb 1 2 3\n", "the vector of 'a' has NaN or infinite values"),
    ("a 1 inf\n", "NaN or infinite"),
    ("2 0\na\nb\n", "0 dimensions"),
    ("a\nb\n", "0 dimensions"),
])
def test_import_refuses_non_finite_and_empty_vectors(run_cli, tmp_path, text, needle):
    src = tmp_path / "v.txt"
    src.write_text(text)
    result = run_cli(["import", src, "-o", tmp_path / "v.npz"])
    assert result.exit_code == 1 and needle in result.stderr, result.stderr
    assert not (tmp_path / "v.npz").exists()


def test_import_binary_header_larger_than_file(run_cli, tmp_path):
    src = tmp_path / "v.bin"
    src.write_bytes(b"1000000000 300\nab " + np.zeros(300, "<f4").tobytes() + b"\n")
    result = run_cli(["import", src, "-o", tmp_path / "v.npz"])
    assert result.exit_code == 1 and "truncated binary vectors file" in result.stderr
