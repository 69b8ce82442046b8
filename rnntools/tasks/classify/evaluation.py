"""``evaluate`` of a classifier: accuracy, macro-F1, log loss, expected calibration error, per-class scores
and the confusion matrix, computed from sums that add up exactly over partitions of the input (so a cluster,
``--scheduler``, combines its partitions' statistics to the same numbers as one process)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from rnntools.tasks.classify.data import label_key, metrics_from_confusion, read_label, record_text


def evaluate(model, records: Iterable[dict], *, text_field: str | None = None,
             label_field: str | None = None, **_options) -> dict:
    """Accuracy, macro-F1, log loss, ECE, per-class precision/recall/F1 and the confusion matrix of labelled
    records. Labels the model never saw count as errors (with a warning) and get their own row.

    The summary of the records' sufficient statistics (``evaluate_partial``, ``evaluate_combine``): a
    cluster (``--scheduler``) sums the statistics of its partitions instead, to the same numbers."""
    stats = evaluate_partial(model, records, text_field=text_field, label_field=label_field)
    return evaluate_combine(model, [stats])


ECE_BINS = 15


def evaluate_partial(model, records: Iterable[dict], *, text_field: str | None = None,
                     label_field: str | None = None, **_options) -> dict:
    """What ``evaluate`` needs of some records, as sums that add up exactly over partitions of the input:
    counts of (gold label, predicted class), the exact sum of the log-loss terms of the labels the model
    knows, and per confidence bin (ECE) its count, correct count and exact sum of confidences."""
    from collections import Counter

    from rnntools.tasks.classify.data import check_fields_apart, exact_sum

    tf = text_field or model.config.get("text_field", "text")
    lf = label_field or model.config.get("label_field", "label")
    check_fields_apart(tf, lf)
    texts, gold = [], []
    first = None
    for record in records:
        path, line_no = record.get("_place", (None, 0))
        first = first or path
        texts.append(record_text(record, tf))
        gold.append(read_label(record, lf, path, line_no))
    stats = {"examples": len(texts), "first": first, "empty": 0, "pairs": Counter(), "seen": 0, "loss": 0,
             "bins": [(0, 0, 0)] * ECE_BINS}
    if not texts:
        return stats
    # a label is its name (label_key, as the output shows it): the string "1" of a TSV file is the class a
    # model trained on JSONL's 1 calls "1" (matched by type, it was an unseen label beside a class of that name)
    index = {label_key(lab): i for i, lab in enumerate(model.labels)}
    probs, stats["empty"] = model.probs(texts)
    pred = probs.argmax(axis=1)
    y = np.fromiter((index.get(label_key(lab), -1) for lab in gold), np.int64, len(gold))
    seen = np.flatnonzero(y >= 0)
    stats["pairs"] = Counter(zip(((type(lab), lab) for lab in gold), pred.tolist()))
    stats["seen"] = len(seen)
    stats["loss"] = exact_sum(-np.log(np.maximum(probs[seen, y[seen]].astype(np.float64), 1e-15)))
    conf = probs.max(axis=1).astype(np.float64)
    correct = pred == y
    which = np.minimum((conf * ECE_BINS).astype(np.int64), ECE_BINS - 1)
    stats["bins"] = [(int(sel.sum()), int(correct[sel].sum()), exact_sum(conf[sel]))
                     for sel in (which == b for b in range(ECE_BINS))]
    return stats


def evaluate_combine(model, parts: Sequence[dict], **_options) -> dict:
    """The ``evaluate`` summary of the statistics of ``evaluate_partial`` over parts of the input, summed."""
    from rnntools import console
    from rnntools.errors import InputError
    from rnntools.tasks.classify.data import exact_mean

    examples = sum(p["examples"] for p in parts)
    if not examples:
        raise InputError("no labelled records to evaluate", next((p["first"] for p in parts if p["first"]), None))
    labels = model.labels
    index = {label_key(lab): i for i, lab in enumerate(labels)}
    pairs = {}
    for p in parts:
        for key, count in p["pairs"].items():
            pairs[key] = pairs.get(key, 0) + count
    unseen = []
    for lab in sorted({lab for (_, lab), _ in pairs if label_key(lab) not in index},
                      key=lambda v: (isinstance(v, int), v)):
        if label_key(lab) not in index:  # "3" and 3, both unseen: one class, as they have one name
            index[label_key(lab)] = len(index)
            unseen.append(lab)
    all_labels = list(labels) + unseen
    cm = np.zeros((len(all_labels), len(all_labels)), np.int64)
    for ((_, lab), predicted), count in pairs.items():
        cm[index[label_key(lab)], predicted] += count
    m = metrics_from_confusion(cm)
    seen = sum(p["seen"] for p in parts)
    log_loss = exact_mean(sum(p["loss"] for p in parts), seen) if seen else None
    ece = 0.0
    for b in range(ECE_BINS):
        n = sum(p["bins"][b][0] for p in parts)
        if n:
            accuracy = sum(p["bins"][b][1] for p in parts) / n
            ece += n * abs(accuracy - exact_mean(sum(p["bins"][b][2] for p in parts), n))
    ece /= examples
    unseen_count = examples - seen
    if unseen:
        console.warn(f"{unseen_count} records have labels the model was not trained on "
                     f"({', '.join(label_key(v) for v in unseen[:5])}{', ...' if len(unseen) > 5 else ''}); "
                     "they count as errors")
    empty = sum(p["empty"] for p in parts)
    if empty:
        console.warn(f"{empty} of {examples} texts had no known tokens; they were predicted from <unk> alone")
    keys = [label_key(v) for v in all_labels]
    return {
        "examples": examples, "accuracy": round(m["accuracy"], 6), "macro_f1": round(m["macro_f1"], 6),
        "log_loss": None if log_loss is None else round(log_loss, 6),
        "ece": round(ece, 6), "unseen_labels": unseen_count,
        "per_class": {key: {"precision": round(float(m["precision"][i]), 6),
                            "recall": round(float(m["recall"][i]), 6), "f1": round(float(m["f1"][i]), 6),
                            "support": int(m["support"][i])} for i, key in enumerate(keys)},
        "labels": keys,
        "confusion": cm.tolist(),
    }


def summary_table(summary: dict) -> tuple[str, list[str], list[list]]:
    """The per-class table ``evaluate`` shows on stderr: (title, headers, rows)."""
    rows = [[key, v["precision"], v["recall"], v["f1"], v["support"]] for key, v in summary["per_class"].items()]
    return (f"{summary['examples']} examples: accuracy {summary['accuracy']:.4f}, macro-F1 "
            f"{summary['macro_f1']:.4f}, ECE {summary['ece']:.4f}"), ["label", "precision", "recall", "f1",
                                                                     "support"], rows
