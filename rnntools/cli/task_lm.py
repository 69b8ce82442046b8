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

_field = option("--field", default=None, group="Language model",
                help="Inputs are JSONL records; score this text field and copy the record "
                     "[default: plain text, one line per record].")

PREDICT_OPTIONS = [_field]
EVALUATE_OPTIONS = [_field]
