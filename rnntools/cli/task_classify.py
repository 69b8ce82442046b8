"""``rnn-train --task classify``, and ``predict``/``evaluate`` for ``classifier`` models (click + stdlib only).

The work is done by ``rnntools.tasks.classify``; this module only declares options and passes them on.
"""

from __future__ import annotations

import click

from rnntools.cli.common import option

_text_field = option("--text-field", default="text", show_default=True, group="Classifier",
                     help="JSONL field holding the text (plain `label<TAB>text` lines need none).")
_label_field = option("--label-field", default="label", show_default=True, group="Classifier",
                      help="JSONL field holding the label (a string or an integer).")

TRAIN_OPTIONS = [
    _text_field,
    _label_field,
    option("--class-weight", type=click.Choice(["none", "balanced"]), default="none", show_default=True,
           group="Classifier",
           help="balanced: weight each class's loss by n / (classes * n_class), for imbalanced data."),
    option("--pooling", type=click.Choice(["last", "mean", "max"]), default=None, group="Classifier",
           help="Sentence vector: the state after the last real token, or the mean/max over the "
                "real tokens [default: max, measured; see README]."),
    option("--bidirectional/--no-bidirectional", default=None, group="Classifier",
           help="Also read the text right to left and join both directions' states "
                "[default: bidirectional, measured; see README]."),
]

PREDICT_OPTIONS = [
    _text_field,
    option("--top-k", type=click.IntRange(1), default=None, group="Classifier",
           help="Keep only the K most probable labels in \"probs\" [default: all, most probable first]."),
]

EVALUATE_OPTIONS = [_text_field, _label_field]


def train(inputs, output, engine, text_field, label_field, class_weight, pooling, bidirectional):
    from rnntools.tasks.classify import train_classifier

    train_classifier(inputs, output, engine, text_field=text_field, label_field=label_field,
                     class_weight=class_weight, pooling=pooling, bidirectional=bidirectional)


def predict(model, inputs, output, text_field, top_k):
    from rnntools.tasks.classify import predict_records

    predict_records(model, inputs, output, text_field=text_field, top_k=top_k)


def evaluate(model, inputs, output, text_field, label_field):
    from rnntools.errors import UsageError
    from rnntools.tasks.classify import evaluate_classifier

    if not inputs:
        inputs = ["-"]
    if any(i == "-" for i in inputs) and model == "-":
        raise UsageError("the model and the test data cannot both come from stdin")
    evaluate_classifier(model, inputs, output, text_field=text_field, label_field=label_field)
