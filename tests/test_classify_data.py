"""Classification data: readers, label sets, stratified splits, batches and metrics (no network)."""

import json

import numpy as np
import pytest

from rnntools.errors import InputError
from rnntools.tasks.classify import data as C


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_reads_jsonl_and_tsv_with_custom_fields(tmp_path):
    j = write(tmp_path, "a.jsonl", '{"body": "good film", "topic": "pos", "id": 1}\n\n{"body": "bad", "topic": 3}\n')
    t = write(tmp_path, "b.tsv", "neg\tawful, really\tawful\npos\t\n")
    data = C.read_labelled([j], text_field="body", label_field="topic")
    assert data.texts == ["good film", "bad"] and data.labels == ["pos", 3]
    assert data.places == [(j, 1), (j, 3)]
    data = C.read_labelled([t])
    # split at the first tab only; an empty text is still a record
    assert data.texts == ["awful, really\tawful", ""] and data.labels == ["neg", "pos"]


@pytest.mark.parametrize("content, message", [
    ('{"text": "x"}\n', "a.jsonl:1: record has no field 'label'"),
    ('{"label": "x"}\n{"text": "y"}\n', "a.jsonl:1: record has no field 'text'"),
    ('{"text": "x", "label": null}\n', "label field 'label' should be a string or an integer, got null"),
    ('{"text": "x", "label": 1.5}\n', "should be a string or an integer, got a number"),
    ('{"text": "x", "label": " "}\n', "a.jsonl:1: label field 'label' is empty"),
    ('{"text": 3, "label": "a"}\n', "field 'text' should be a string"),
    ('{"text": "x", "label": "a"}\n[1]\n', "a.jsonl:2: expected a JSON object, got a list"),
    ('{"text": "x", "label": "a"}\n{oops\n', "a.jsonl:2: invalid JSON"),
    ('pos\tfine\nno tab here\n', "a.jsonl:2: expected 'label<TAB>text'"),
])
def test_bad_records_name_the_line(tmp_path, content, message):
    path = write(tmp_path, "a.jsonl", content)
    with pytest.raises(InputError) as err:
        C.read_labelled([path])
    assert message in str(err.value)


def test_label_set_needs_two_classes():
    assert C.label_set(["b", 2, "a", "b", 1]) == ["a", "b", 1, 2]
    with pytest.raises(InputError, match=r"^train\.jsonl: only one label"):
        C.label_set(["pos", "pos"], ["train.jsonl"])
    with pytest.raises(InputError, match=r"^a\.jsonl, b\.jsonl: no labelled records"):
        C.label_set([], ["a.jsonl", "b.jsonl"])


def test_stratified_split_keeps_class_shares():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [100, 30, 1])
    train, val = C.stratified_split(y, 0.1, rng)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(y)
    assert np.bincount(y[val], minlength=3).tolist() == [10, 3, 0]  # the singleton stays in training
    assert np.bincount(y[train], minlength=3).tolist() == [90, 27, 1]


def test_class_weights_balanced_average_one():
    y = np.array([0] * 90 + [1] * 10)
    w = C.class_weights(y, 2, "balanced")
    assert np.isclose(w[y].mean(), 1.0) and np.isclose(w[1] / w[0], 9.0)
    assert C.class_weights(y, 2, "none").tolist() == [1.0, 1.0]


def test_pad_batch_and_mask():
    ids, lengths = C.pad_batch([np.array([5, 6, 7], np.int32), np.array([8], np.int32)], pad_id=0)
    assert ids.shape == (3, 2) and ids[:, 0].tolist() == [5, 6, 7] and ids[:, 1].tolist() == [8, 0, 0]
    assert C.length_mask(lengths, 3).T.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_bucket_batches_cover_everything_once_and_group_lengths():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 100, size=1000)
    batches = C.bucket_batches(lengths, 32, rng, pool=10)
    allidx = np.concatenate(batches)
    assert sorted(allidx.tolist()) == list(range(1000))
    # padding within buckets is far below padding of random batches
    waste = sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches)
    random_batches = np.array_split(rng.permutation(1000), len(batches))
    random_waste = sum(lengths[b].max() * len(b) - lengths[b].sum() for b in random_batches)
    assert waste < 0.2 * random_waste
    ordered = C.bucket_batches(lengths, 32, None)
    assert all(lengths[a].max() <= lengths[b].min() for a, b in zip(ordered, ordered[1:]))


def test_metrics_match_scikit_learn_definitions():
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, 200))
    y_pred[y_pred == 3] = 2  # class 3 never predicted: precision 0 by convention
    cm = C.confusion_matrix(y_true, y_pred, 4)
    m = C.metrics_from_confusion(cm)
    assert cm.sum() == 200 and cm[1, 2] == np.sum((y_true == 1) & (y_pred == 2))
    assert m["accuracy"] == pytest.approx(np.mean(y_true == y_pred))
    f1s = []
    for c in range(4):
        tp = np.sum((y_true == c) & (y_pred == c))
        p = tp / max(np.sum(y_pred == c), 1)
        r = tp / max(np.sum(y_true == c), 1)
        assert m["precision"][c] == pytest.approx(p) and m["recall"][c] == pytest.approx(r)
        f1s.append(0 if p + r == 0 else 2 * p * r / (p + r))
    assert m["macro_f1"] == pytest.approx(np.mean(f1s))
    try:
        from sklearn.metrics import f1_score
    except ImportError:  # scikit-learn is a benchmark extra
        return
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))


def test_plain_lines_for_predict(tmp_path):
    path = write(tmp_path, "p.txt", "just text\twith a tab\n\nmore\n")
    assert list(C.iter_records(path)) == [(1, {"text": "just text\twith a tab"}), (3, {"text": "more"})]
    path = write(tmp_path, "p.jsonl", json.dumps({"text": "é"}, ensure_ascii=False) + "\n")
    assert list(C.iter_records(path)) == [(1, {"text": "é"})]
