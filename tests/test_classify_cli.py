"""rnn-train --task classify, predict and evaluate: round trip, bad inputs, and a task only an RNN solves."""

import json

import numpy as np
import pytest

from rnntools.tasks.classify import data as C


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def order_task(n, seed):
    """Two words, 'a' and 'b', in random order among fillers; the label is which comes first. Every text
    has the same bag of words, so a bag-of-words model is at chance."""
    rng = np.random.default_rng(seed)
    fillers = ["x", "y", "z", "w"]
    records = []
    for _ in range(n):
        words = list(rng.choice(fillers, rng.integers(2, 6)))
        i, j = sorted(rng.choice(len(words) + 1, 2, replace=False))
        first, second = ("a", "b") if rng.random() < 0.5 else ("b", "a")
        words.insert(i, first)
        words.insert(j + 1, second)
        records.append({"text": " ".join(words), "label": f"{first}-first"})
    return records


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small model trained through the CLI, shared by the tests below."""
    from click.testing import CliRunner

    from rnntools.cli import main

    d = tmp_path_factory.mktemp("clf")
    train = write_jsonl(d / "train.jsonl", order_task(1200, 1))
    test = write_jsonl(d / "test.jsonl", order_task(300, 2))
    model = str(d / "clf.npz")

    class Main:
        name = "rnntools"

        def main(self, args=None, **kw):
            main(list(args))

    result = CliRunner().invoke(Main(), ["rnn-train", "--task", "classify", train, "-o", model,
                                         "--hidden", "16", "--embed-dim", "8", "--epochs", "12",
                                         "--lr", "0.01", "--log", str(d / "log.jsonl")])
    assert result.exit_code == 0, result.stderr
    return {"dir": d, "train": train, "test": test, "model": model, "log": str(d / "log.jsonl")}


def test_learns_an_order_dependent_task_a_bag_of_words_cannot(trained, run_cli):
    result = run_cli(["evaluate", trained["model"], trained["test"]])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["accuracy"] > 0.95 and summary["examples"] == 300
    # a linear model on counts is at chance: both classes have the same bags
    from collections import Counter

    test = [json.loads(line) for line in open(trained["test"])]
    assert Counter(r["text"].split().count("a") for r in test) == Counter({1: 300})


def test_log_has_per_epoch_validation_metrics(trained):
    events = [json.loads(line) for line in open(trained["log"])]
    evals = [e for e in events if e["event"] == "eval"]
    assert evals and {"val_loss", "val_accuracy", "val_macro_f1"} <= set(evals[-1])


def test_predict_keeps_fields_adds_label_and_probs(trained, run_cli):
    lines = '{"id": 7, "text": "x a y b"}\n{"id": 8, "text": ""}\n{"id": 9, "text": "zzz qqq"}\n'
    result = run_cli(["predict", trained["model"], "--top-k", "1"], input=lines)
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in out] == [7, 8, 9]
    assert out[0]["label"] == "a-first" and list(out[0]["probs"]) == ["a-first"]
    assert all(len(r["probs"]) == 1 for r in out)
    assert "2 of 3 texts had no known tokens" in result.stderr
    full = run_cli(["predict", trained["model"]], input=lines)
    probs = json.loads(full.stdout.splitlines()[0])["probs"]
    assert set(probs) == {"a-first", "b-first"} and abs(sum(probs.values()) - 1) < 1e-5
    assert list(probs.values()) == sorted(probs.values(), reverse=True)


def test_predict_plain_lines_and_missing_field(trained, run_cli):
    result = run_cli(["predict", trained["model"]], input="b x a\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout) ["text"] == "b x a"
    result = run_cli(["predict", trained["model"]], input='{"text": "a b"}\n{"body": "a b"}\n')
    assert result.exit_code == 1
    assert "<stdin>:2: record has no field 'text'" in result.stderr


def test_evaluate_unseen_label_counts_as_error(trained, run_cli, tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "a x b", "label": "a-first"},
                                              {"text": "b x a", "label": "neither"}])
    result = run_cli(["evaluate", trained["model"], path])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["unseen_labels"] == 1 and summary["accuracy"] <= 0.5
    assert "neither" in summary["labels"] and summary["per_class"]["neither"]["recall"] == 0
    assert "1 records have labels the model was not trained on (neither)" in result.stderr


@pytest.mark.parametrize("records, message", [
    ([{"text": "a", "label": "x"}, {"text": "b", "label": "x"}], "train.jsonl: only one label (\"x\")"),
    ([], "train.jsonl: no labelled records"),
    ([{"text": "a", "label": "x"}, {"txt": "b", "label": "y"}], "train.jsonl:2: record has no field 'text'"),
    ([{"text": "a", "label": "x"}, {"text": "b"}], "train.jsonl:2: record has no field 'label'"),
])
def test_bad_training_inputs(run_cli, tmp_path, records, message):
    path = write_jsonl(tmp_path / "train.jsonl", records)
    result = run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "m.npz"])
    assert result.exit_code == 1
    assert message in result.stderr
    assert not (tmp_path / "m.npz").exists()


def test_level_other_than_the_vocab_files_is_a_usage_error(run_cli, tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"text": "a b", "label": "x"}, {"text": "b c", "label": "y"}] * 5)
    words = tmp_path / "words.jsonl"
    assert run_cli(["vocab", "--text-field", "text", path, "-o", words]).exit_code == 0
    args = ["rnn-train", "--task", "classify", path, "-o", tmp_path / "m.npz", "--vocab", words, "--hidden", "4",
            "--embed-dim", "4", "--max-steps", "1", "--threads", "1"]
    result = run_cli([*args, "--level", "char"])      # was trained on words, silently
    assert result.exit_code == 2 and result.stderr.strip().endswith(
        f"error: {words} is a word-level vocabulary, but --level is char")
    assert not (tmp_path / "m.npz").exists()
    assert run_cli([*args, "--level", "word"]).exit_code == 0
    assert run_cli(args).exit_code == 0               # no --level: the file's


def test_one_field_for_text_and_label_is_a_usage_error(trained, run_cli, tmp_path):
    # trained (and scored) on the label itself, silently
    path = write_jsonl(tmp_path / "train.jsonl", [{"text": "a b", "label": "x"}, {"text": "b c", "label": "y"}] * 5)
    result = run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "m.npz", "--text-field", "label",
                      "--label-field", "label", "--max-steps", "1"])
    assert result.exit_code == 2 and "--text-field and --label-field both name the field 'label'" in result.stderr
    assert not (tmp_path / "m.npz").exists()
    result = run_cli(["evaluate", trained["model"], path, "--text-field", "label"])
    assert result.exit_code == 2 and "both name the field 'label'" in result.stderr and result.stdout == ""


def test_option_of_another_task_is_a_usage_error(trained, run_cli):
    result = run_cli(["predict", trained["model"], "--label-field", "x"], input="")
    assert result.exit_code == 2 and "--label-field" in result.stderr


def test_tsv_training_and_class_weights(run_cli, tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(300):
        rare = rng.random() < 0.15
        word = "good" if rare else "bad"
        lines.append(f"{'pos' if rare else 'neg'}\t{word} {' '.join(rng.choice(['x', 'y'], 3))}\n")
    path = tmp_path / "train.tsv"
    path.write_text("".join(lines))
    model = tmp_path / "m.npz"
    result = run_cli(["rnn-train", "--task", "classify", path, "-o", model, "--class-weight", "balanced",
                      "--hidden", "8", "--embed-dim", "8", "--epochs", "3", "--lr", "0.02"])
    assert result.exit_code == 0, result.stderr
    from rnntools.io import load_model

    meta = load_model(model, "classifier").meta
    assert meta["labels"] == ["neg", "pos"] and meta["class_weights"][1] > 2 * meta["class_weights"][0]
    result = run_cli(["evaluate", model, path])
    assert json.loads(result.stdout)["accuracy"] == 1.0


def test_same_seed_same_model(run_cli, tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", order_task(100, 3))
    outs = []
    for name in ("a.npz", "b.npz"):
        result = run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / name, "--hidden", "4",
                          "--embed-dim", "4", "--epochs", "2", "--threads", "1"])
        assert result.exit_code == 0, result.stderr
        from rnntools.io import load_model

        outs.append(load_model(tmp_path / name).arrays)
    for name in outs[0]:
        np.testing.assert_array_equal(outs[0][name], outs[1][name], err_msg=name)


def test_encode_empty_text_is_one_unk():
    from rnntools.text import Vocab

    vocab = Vocab.from_texts(["a b c"])
    seqs, empty, truncated = C.encode_texts(vocab, ["", "a b c a", "zzz"], max_len=3)
    empty -= 1  # "zzz" has no known token either
    assert seqs[0].tolist() == [vocab.unk_id] and empty == 1 and truncated == 1 and len(seqs[1]) == 3
    assert seqs[2].tolist() == [vocab.unk_id]
    assert C.encode_texts(vocab, ["zzz qqq"], 5)[1] == 1


def test_resume_continues_exactly(run_cli, tmp_path):
    from rnntools.io import load_model

    path = write_jsonl(tmp_path / "t.jsonl", order_task(120, 4))
    small = ["--hidden", "4", "--embed-dim", "4", "--threads", "1", "--patience", "5"]
    assert run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "full.npz", "--epochs", "2",
                    *small]).exit_code == 0
    assert run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "part.npz", "--epochs", "1",
                    *small]).exit_code == 0
    result = run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "part.npz", "--epochs", "2",
                      "--resume", tmp_path / "part.npz", *small])
    assert result.exit_code == 0, result.stderr
    full, part = load_model(tmp_path / "full.npz").arrays, load_model(tmp_path / "part.npz").arrays
    for name in ("embed.W", "enc.f0.0.W", "out.W"):
        np.testing.assert_array_equal(full[name], part[name], err_msg=name)


def test_own_vectors_start_the_network_from_its_texts_word2vec(tmp_path, monkeypatch):
    """With --own-vectors (by default from OWN_VECTORS_FROM labelled texts or OWN_VECTORS_FROM_WORDS words in them)
    and no --embeddings the embedding starts from word2vec on the labelled texts (``own_vectors_table``:
    skip-gram on one thread, so a seed gives the same table); below that size, or with --no-own-vectors, it is
    drawn at random as before. With the rate at 0 the trained table is the initial one."""
    from rnntools.io import load_model
    from rnntools.tasks import classify
    from rnntools.tasks.classify import training
    from rnntools.tasks.embeddings import own_vectors_table
    from rnntools.text import Vocab
    from rnntools.w2v.train import Params, train
    from rnntools.w2v.vectors import load_vectors

    records = order_task(200, 6)
    texts = [r["text"] for r in records]
    path = write_jsonl(tmp_path / "t.jsonl", records)
    small = {"hidden": 4, "embed_dim": 6, "epochs": 1, "threads": 1, "seed": 3, "lr": 0.0, "wide": "none"}
    for name, options in (("own", {"own_vectors": True}), ("random", {"own_vectors": False}), ("default", {})):
        classify.train([path], str(tmp_path / f"{name}.npz"), {**small, **options})
    # below OWN_VECTORS_FROM texts, from OWN_VECTORS_FROM_WORDS words in the labelled texts (the tokens word2vec
    # trains on); one word more than the texts hold and they stay off
    words = training.count_words(texts, True)
    assert words == sum(len(t.split()) for t in texts)
    monkeypatch.setattr(training, "OWN_VECTORS_FROM_WORDS", words)
    classify.train([path], str(tmp_path / "long.npz"), small)
    monkeypatch.setattr(training, "OWN_VECTORS_FROM_WORDS", words + 1)
    classify.train([path], str(tmp_path / "short.npz"), small)
    monkeypatch.setattr(training, "OWN_VECTORS_FROM", 200)
    classify.train([path], str(tmp_path / "large.npz"), small)
    own, random, default, large, long, short = (load_model(tmp_path / f"{name}.npz") for name in (
        "own", "random", "default", "large", "long", "short"))
    vocab = Vocab.from_meta(own.meta["vocab"])
    table = own_vectors_table(texts, vocab, 6, seed=3)
    np.testing.assert_array_equal(own.arrays["embed.W"], table)
    np.testing.assert_array_equal(large.arrays["embed.W"], table)                       # 200 texts: on by default
    np.testing.assert_array_equal(default.arrays["embed.W"], random.arrays["embed.W"])  # below: off by default
    np.testing.assert_array_equal(long.arrays["embed.W"], table)                        # enough words: on
    np.testing.assert_array_equal(short.arrays["embed.W"], random.arrays["embed.W"])
    assert (long.meta["config"]["own_vectors"], short.meta["config"]["own_vectors"]) == (True, False)
    assert not np.array_equal(random.arrays["embed.W"], table)
    assert (own.meta["config"]["own_vectors"], default.meta["config"]["own_vectors"]) == (True, False)
    np.testing.assert_array_equal(own_vectors_table(texts, vocab, 6, seed=3), table)       # the same bytes
    assert not np.array_equal(own_vectors_table(texts, vocab, 6, seed=4), table)
    # the rows of the words word2vec learnt are its vectors, trained on the same texts with the same settings
    (tmp_path / "c.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    train([str(tmp_path / "c.txt")], str(tmp_path / "v.npz"), Params(dim=6, epochs=15, min_count=2, threads=1, seed=3))
    words, vectors = load_vectors(tmp_path / "v.npz")
    for word in ("a", "b", "x"):
        np.testing.assert_array_equal(table[vocab.index[word]], vectors[words.index[word]])
    assert own_vectors_table(["one two", "three"], Vocab.from_texts(["one two", "three"]), 6) is None  # none twice
    # a word budget (OWN_VECTORS_WORDS) below 15 passes over the texts: fewer epochs, at least one
    from rnntools.tasks import embeddings

    monkeypatch.setattr(embeddings, "OWN_VECTORS_WORDS", 1)
    train([str(tmp_path / "c.txt")], str(tmp_path / "v1.npz"), Params(dim=6, epochs=1, min_count=2, threads=1, seed=3))
    words, vectors = load_vectors(tmp_path / "v1.npz")
    np.testing.assert_array_equal(own_vectors_table(texts, vocab, 6, seed=3)[vocab.index["a"]], vectors[words.index["a"]])


def test_pretrained_frozen_embeddings(run_cli, tmp_path):
    from rnntools.io import load_model, save_model
    from rnntools.text import Vocab

    words = Vocab.from_texts(["a b x y"], specials=False)
    vectors = np.arange(len(words) * 3, dtype=np.float32).reshape(len(words), 3)
    save_model(tmp_path / "v.npz", "vectors", {"vectors": vectors}, {"vocab": words.to_meta()})
    path = write_jsonl(tmp_path / "t.jsonl", order_task(60, 5))
    result = run_cli(["rnn-train", "--task", "classify", path, "-o", tmp_path / "m.npz", "--embeddings",
                      tmp_path / "v.npz", "--freeze-embeddings", "--hidden", "4", "--epochs", "2"])
    assert result.exit_code == 0, result.stderr
    model = load_model(tmp_path / "m.npz")
    vocab = Vocab.from_meta(model.meta["vocab"])
    embed = model.arrays["embed.W"]
    assert embed.shape[1] == 3
    for word in ("a", "b", "x"):
        np.testing.assert_array_equal(embed[vocab.index[word]], vectors[words.index[word]])


@pytest.mark.parametrize("name,edit,says", [
    ("wide.b", lambda a: np.array(a[0]), "wide.b has shape ()"),          # broadcast to every class, exit 0
    ("wide.idf", lambda a: a[:-1], "wide.idf has shape"),                 # internal errors at the first text
    ("wide.idf", lambda a: a[:0], "wide.idf has shape (0,)"),
    ("wide.idf", lambda a: np.array(a[0]), "wide.idf has shape ()"),
    ("wide.idf", lambda a: a[:, None], "wide.idf has shape"),
])
def test_wide_part_of_another_shape_is_a_corrupt_model(trained, run_cli, tmp_path, name, edit, says):
    """The wide part's intercept or idf weights of another shape, the metadata edited to agree: a scalar
    intercept was broadcast to every class (exit 0), idf weights of another length were internal errors; now
    the file is corrupt, as for every other parameter of the wrong shape."""
    with np.load(trained["model"], allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    arrays[name] = edit(arrays[name])
    meta["arrays"][name] = {"shape": list(arrays[name].shape), "dtype": arrays[name].dtype.str}
    arrays["meta"] = np.array(json.dumps(meta))
    path = tmp_path / "m.npz"
    np.savez(path, **arrays)
    result = run_cli(["predict", path, trained["test"]])
    assert result.exit_code == 1 and says in result.stderr and "internal error" not in result.stderr, result.stderr
