"""``rnn-train --task seq2seq``, and ``predict``/``evaluate`` for ``seq2seq`` models (click + stdlib only).

The work is done by the package ``rnntools.tasks.seq2seq`` (the task contract); this module declares the
options only seq2seq takes. Option names are seq2seq-specific where another task could want the same word with another
meaning. Defaults live in ``rnntools.tasks.seq2seq.options.DEFAULTS``; an option left off the command line
reaches the task as None (so ``--resume`` can tell "not given" from "given the default").
"""

from __future__ import annotations

import click

from rnntools.cli.common import option
from rnntools.tasks.seq2seq.options import DEFAULTS, MAX_DECODE_LENGTH, PREDICT_DEFAULTS

_source_field = option("--source-field", default=None, group="Seq2seq",
                       help=f"JSONL field holding the input sequence [default: the model's, else "
                            f"{DEFAULTS['source_field']}]. Plain-text input: one source per line.")
_target_field = option("--target-field", default=None, group="Seq2seq",
                       help=f"JSONL field holding the output sequence [default: the model's, else "
                            f"{DEFAULTS['target_field']}].")
_beam = option("--beam", type=click.IntRange(1, 100), default=None, group="Seq2seq",
               help=f"Beam width; 1 is greedy decoding [default: {PREDICT_DEFAULTS['beam']}].")
_max_length = option("--max-length", type=click.IntRange(1, MAX_DECODE_LENGTH), default=None, group="Seq2seq",
                     help="Longest output in tokens [default: twice the longest training target + 2].")
# length**ALPHA must stay a float for lengths up to --max-length's ceiling: 100 keeps it far from overflow
_length_norm = option("--length-norm", type=click.FloatRange(0, 100), default=None, group="Seq2seq",
                      help="Rank finished hypotheses by log-probability / length**ALPHA (0: raw) "
                           f"[default: {PREDICT_DEFAULTS['length_norm']}].")

TRAIN_OPTIONS = [
    _source_field,
    _target_field,
    option("--attention", type=click.Choice(["none", "dot", "general"]), default=None, group="Seq2seq",
           help=f"Luong attention over the encoder's outputs [default: {DEFAULTS['attention']}]."),
    option("--bidirectional/--no-bidirectional", default=None, group="Seq2seq",
           help="Also read each source backwards (a second encoder; outputs and states are summed, or "
                f"concatenated: --encoder-merge) [default: {'on' if DEFAULTS['bidirectional'] else 'off'}]."),
    option("--encoder-merge", type=click.Choice(["sum", "concat"]), default=None, group="Seq2seq",
           help="How the bidirectional encoder's directions meet: sum (each direction --hidden units, added) "
                "or concat (each direction half of --hidden, side by side; cheaper) "
                f"[default: {DEFAULTS['encoder_merge']}]."),
    option("--encoder-layers", type=click.IntRange(1), default=None, group="Seq2seq",
           help="Layers of the encoder (each direction), at least --layers; the decoder's layers start from "
                f"the encoder's top ones [default: {DEFAULTS['encoder_layers']}]."),
    option("--ensemble", type=click.IntRange(1, 1000), default=None, group="Seq2seq",
           help="Train this many networks side by side, one per thread (each from its own seed), and decode by "
                f"the mean of their log-probabilities [default: {DEFAULTS['ensemble']}]."),
    option("--embedding-dropout", type=click.Choice(["position", "table"]), default=None, group="Seq2seq",
           help="How --dropout masks the embeddings: a mask per position, or one per row of the embedding "
                "table for the whole batch (cheaper: the first layers read the table by id) "
                f"[default: {DEFAULTS['embedding_dropout']}]."),
    option("--teacher-forcing", type=click.FloatRange(0, 1), default=None, group="Seq2seq",
           help="Share of decoder inputs that are the true previous token; below 1 the rest are the "
                f"model's own greedy choices (scheduled sampling) [default: {DEFAULTS['teacher_forcing']}]."),
    option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True), default=None, group="Seq2seq",
           help="Train towards (1 - EPS) on the true token and EPS spread over the target vocabulary "
                f"(the validation loss stays unsmoothed) [default: {DEFAULTS['label_smoothing']}]."),
    option("--budget-average", type=click.FloatRange(0, 1, max_open=True), default=None, group="Seq2seq",
           help="When a budget (--max-time, --max-steps) sets the schedule (from 256 units): the rate stops "
                "falling at SHARE x --lr for the last SHARE of the budget, and the model is the mean of the "
                "weights over those updates (stochastic weight averaging); 0: off "
                f"[default: {DEFAULTS['budget_average']}]."),
    option("--budget-warmup", type=click.FloatRange(0, 1, max_open=True), default=None, group="Seq2seq",
           help="When a budget (--max-time, --max-steps) sets the schedule (from 256 units): the rate rises "
                "linearly from 0 to --lr over the first SHARE of the budget, then falls linearly to 0; 0: no "
                f"warm-up [default: {DEFAULTS['budget_warmup']}]."),
    option("--max-target-length", type=click.IntRange(1), default=None, group="Seq2seq",
           help="Reject pairs whose target has more tokens than this (an error naming the line)."),
    option("--target-level", type=click.Choice(["char", "word"]), default=None, group="Seq2seq",
           help="Tokens of the target, if not those of --level (e.g. letters to phonemes: --level char "
                "--target-level word)."),
    option("--shared-vocab/--no-shared-vocab", default=None, group="Seq2seq",
           help="One vocabulary (and embedding) for sources and targets [default: separate]."),
]

PREDICT_OPTIONS = [
    _source_field,
    _beam,
    option("--nbest", type=click.IntRange(1, 100), default=None, group="Seq2seq",
           help="Also add \"nbest\": the N best outputs with their scores (beam search of width "
                "max(--beam, N))."),
    _max_length,
    _length_norm,
]

EVALUATE_OPTIONS = [_source_field, _target_field, _beam, _max_length, _length_norm]

