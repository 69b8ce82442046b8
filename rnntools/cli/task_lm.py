"""The options only ``lm`` takes: ``rnn-train --task lm``, and ``predict``/``evaluate`` of ``lm`` models
(click + stdlib only). The work is done by the package ``rnntools.tasks.lm`` (the task contract)."""

from __future__ import annotations

import click

from rnntools.cli.common import option

TRAIN_OPTIONS = [
    option("--eval-every", type=click.IntRange(1), default=None, group="Language model",
           help="Also evaluate on the validation text every N updates [default: each epoch, and every "
                "1000 updates when an epoch is longer]."),
]

# one --text-field for every model kind (the classifier declares the same name): its help says both
_field = option("--text-field", default=None, group="Input", old_names=("--field",),
                help="Inputs are JSONL records: read the text from this field; every field is copied to the "
                     "output [default: a language model reads plain text, one line per record; a classifier "
                     "the field it was trained with, else text].")

PREDICT_OPTIONS = [_field]
EVALUATE_OPTIONS = [_field]
