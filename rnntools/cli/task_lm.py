"""``rnn-train --task lm``, and ``predict``/``evaluate`` for ``lm`` models (click + stdlib only).

The work is done by ``rnntools.tasks.lm``; this module only declares options and passes them on.
"""

from __future__ import annotations

import click

from rnntools.cli.common import option

TRAIN_OPTIONS = [
    option("--eval-every", type=click.IntRange(1), default=None, group="Language model",
           help="Also evaluate on the validation text every N updates [default: each epoch, and every "
                "1000 updates when an epoch is longer]."),
]

_field = option("--field", default=None, group="Language model",
                help="Inputs are JSONL records; score this text field and copy the record "
                     "[default: plain text, one line per record].")

PREDICT_OPTIONS = [_field]
EVALUATE_OPTIONS = [_field]


def train(inputs, output, engine, eval_every=None):
    from rnntools.tasks.lm import train as train_lm

    engine = dict(engine)
    if eval_every is not None:
        engine["eval_every"] = eval_every
    train_lm(inputs, output, engine)


def predict(model, inputs, output, field=None):
    from rnntools.tasks.lm import predict_records

    predict_records(model, inputs, output, field=field)


def evaluate(model, inputs, output, field=None):
    from rnntools.tasks.lm import evaluate_text

    evaluate_text(model, inputs or ["-"], output, field=field)
