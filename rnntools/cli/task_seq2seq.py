"""``rnn-train --task seq2seq``, and ``predict``/``evaluate`` for ``seq2seq`` models (click + stdlib only).

The work is done by ``rnntools.tasks.seq2seq``; this module declares options, opens the inputs and writes
every output. Option names are seq2seq-specific where another task could want the same word with another
meaning. Defaults live in ``rnntools.tasks.seq2seq.options.DEFAULTS``; an option left off the command line
reaches the task as None (so ``--resume`` can tell "not given" from "given the default").
"""

from __future__ import annotations

import click

from rnntools.cli.common import option
from rnntools.tasks.seq2seq.options import DEFAULTS, MAX_DECODE_LENGTH

PREDICT_DEFAULTS = {"beam": 1, "nbest": 1, "length_norm": 1.0}

_source_field = option("--source-field", default=None, group="Seq2seq",
                       help=f"JSONL field holding the input sequence [default: the model's, else "
                            f"{DEFAULTS['source_field']}]. Plain-text input: one source per line.")
_target_field = option("--target-field", default=None, group="Seq2seq",
                       help=f"JSONL field holding the output sequence [default: the model's, else "
                            f"{DEFAULTS['target_field']}].")
_beam = option("--beam", type=click.IntRange(1), default=None, group="Seq2seq",
               help=f"Beam width; 1 is greedy decoding [default: {PREDICT_DEFAULTS['beam']}].")
_max_length = option("--max-length", type=click.IntRange(1, MAX_DECODE_LENGTH), default=None, group="Seq2seq",
                     help="Longest output in tokens [default: twice the longest training target + 2].")
_length_norm = option("--length-norm", type=click.FloatRange(0), default=None, group="Seq2seq",
                      help="Rank finished hypotheses by log-probability / length**ALPHA (0: raw) "
                           f"[default: {PREDICT_DEFAULTS['length_norm']}].")

TRAIN_OPTIONS = [
    _source_field,
    _target_field,
    option("--attention", type=click.Choice(["none", "dot", "general"]), default=None, group="Seq2seq",
           help=f"Luong attention over the encoder's outputs [default: {DEFAULTS['attention']}]."),
    option("--bidirectional/--no-bidirectional", default=None, group="Seq2seq",
           help="Also read each source backwards (a second encoder; outputs and states are summed) "
                f"[default: {'on' if DEFAULTS['bidirectional'] else 'off'}]."),
    option("--teacher-forcing", type=click.FloatRange(0, 1), default=None, group="Seq2seq",
           help="Share of decoder inputs that are the true previous token; below 1 the rest are the "
                f"model's own greedy choices (scheduled sampling) [default: {DEFAULTS['teacher_forcing']}]."),
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
    option("--nbest", type=click.IntRange(1), default=None, group="Seq2seq",
           help="Also add \"nbest\": the N best outputs with their scores (beam search of width "
                "max(--beam, N))."),
    _max_length,
    _length_norm,
]

EVALUATE_OPTIONS = [_source_field, _target_field, _beam, _max_length, _length_norm]


def _given(**options) -> dict:
    """The options as given on the command line (or in the environment); defaults become None."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return options
    sources = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return {k: (v if ctx.get_parameter_source(k) in sources else None) for k, v in options.items()}


def _decoding(beam, nbest, length_norm) -> dict:
    return {"beam": beam if beam is not None else PREDICT_DEFAULTS["beam"],
            "nbest": nbest if nbest is not None else PREDICT_DEFAULTS["nbest"],
            "alpha": length_norm if length_norm is not None else PREDICT_DEFAULTS["length_norm"]}


def train(inputs, output, engine, **task_options):
    from rnntools.errors import UsageError
    from rnntools.tasks.seq2seq import train as train_seq2seq

    given = _given(**{**engine, **task_options})
    if given.pop("seq_len", None) is not None:
        raise UsageError("--seq-len does not apply to --task seq2seq (whole pairs are one sequence each)")
    train_seq2seq(inputs, output, given)


def predict(model, inputs, output, source_field=None, beam=None, nbest=None, max_length=None, length_norm=None):
    from rnntools.io import JsonlWriter, open_output
    from rnntools.tasks.seq2seq import load, read
    from rnntools.tasks.seq2seq import predict as predict_records

    loaded = load(model)
    records = read(inputs, loaded, source_field=source_field)
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        for record in predict_records(loaded, records, source_field=source_field, max_length=max_length,
                                      **_decoding(beam, nbest, length_norm)):
            writer.write(record)
        writer.flush()


def evaluate(model, inputs, output, source_field=None, target_field=None, beam=None, max_length=None,
             length_norm=None):
    from rnntools import console
    from rnntools.io import JsonlWriter, open_output
    from rnntools.tasks.seq2seq import evaluate as evaluate_records
    from rnntools.tasks.seq2seq import load, read

    loaded = load(model)
    records = read(inputs or ["-"], loaded, source_field=source_field, target_field=target_field, targets=True)
    decoding = _decoding(beam, None, length_norm)
    decoding.pop("nbest")
    summary = evaluate_records(loaded, records, source_field=source_field, target_field=target_field,
                               max_length=max_length, **decoding)
    console.print_table(f"seq2seq {model}", ["metric", "value"], [[k, v] for k, v in summary.items()])
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        writer.write({"model": model, **summary})
        writer.flush()
