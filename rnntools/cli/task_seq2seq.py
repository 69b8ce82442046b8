"""``rnn-train --task seq2seq``, and ``predict``/``evaluate`` for ``seq2seq`` models (click + stdlib only).

The work is done by ``rnntools.tasks.seq2seq``; this module only declares options and passes them on.
Option names are seq2seq-specific where another task could want the same word with another meaning.
"""

from __future__ import annotations

import click

from rnntools.cli.common import option

_source_field = option("--source-field", default="source", show_default=True, group="Seq2seq",
                       help="JSONL field holding the input sequence.")
_target_field = option("--target-field", default="target", show_default=True, group="Seq2seq",
                       help="JSONL field holding the output sequence.")
_beam = option("--beam", type=click.IntRange(1), default=1, show_default=True, group="Seq2seq",
               help="Beam width; 1 is greedy decoding.")
_max_length = option("--max-length", type=click.IntRange(1), default=None, group="Seq2seq",
                     help="Longest output in tokens [default: twice the longest training target + 2].")
_length_norm = option("--length-norm", type=click.FloatRange(0), default=1.0, show_default=True,
                      group="Seq2seq",
                      help="Rank finished hypotheses by log-probability / length**ALPHA (0: raw).")

TRAIN_OPTIONS = [
    _source_field,
    _target_field,
    option("--attention", type=click.Choice(["none", "dot", "general"]), default=None, group="Seq2seq",
           help="Luong attention over the encoder's outputs [default: general, measured, see README]."),
    option("--teacher-forcing", type=click.FloatRange(0, 1), default=1.0, show_default=True, group="Seq2seq",
           help="Share of decoder inputs that are the true previous token; below 1 the rest are the "
                "model's own greedy choices (scheduled sampling)."),
    option("--max-target-length", type=click.IntRange(1), default=None, group="Seq2seq",
           help="Reject pairs whose target has more tokens than this (an error naming the line)."),
    option("--target-level", type=click.Choice(["char", "word"]), default=None, group="Seq2seq",
           help="Tokens of the target, if not those of --level (e.g. letters to phonemes: --level char "
                "--target-level word)."),
    option("--shared-vocab", is_flag=True, group="Seq2seq",
           help="One vocabulary (and embedding) for sources and targets."),
]

PREDICT_OPTIONS = [
    _source_field,
    _beam,
    option("--nbest", type=click.IntRange(1), default=1, show_default=True, group="Seq2seq",
           help="Also add \"nbest\": the N best outputs with their scores (beam search of width "
                "max(--beam, N))."),
    _max_length,
    _length_norm,
]

EVALUATE_OPTIONS = [_source_field, _target_field, _beam, _max_length, _length_norm]


def train(inputs, output, engine, source_field, target_field, attention, teacher_forcing, max_target_length,
          target_level, shared_vocab):
    from rnntools.tasks.seq2seq import train as train_seq2seq

    train_seq2seq(inputs, output, engine, source_field=source_field, target_field=target_field,
                  attention=attention, teacher_forcing=teacher_forcing, max_length=max_target_length,
                  target_level=target_level, shared_vocab=shared_vocab)


def predict(model, inputs, output, source_field, beam, nbest, max_length, length_norm):
    from rnntools.io import JsonlWriter, open_output
    from rnntools.tasks.seq2seq import load, predict_records

    loaded = load(model)
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        for record in predict_records(loaded, inputs, source_field=source_field, beam=beam, nbest=nbest,
                                      max_length=max_length, alpha=length_norm):
            writer.write(record)
        writer.flush()


def evaluate(model, inputs, output, source_field, target_field, beam, max_length, length_norm):
    from rnntools import console
    from rnntools.io import JsonlWriter, open_output
    from rnntools.tasks.seq2seq import evaluate_pairs, load

    loaded = load(model)
    summary = evaluate_pairs(loaded, inputs or ["-"], source_field=source_field, target_field=target_field,
                             beam=beam, max_length=max_length, alpha=length_norm)
    console.print_table(f"seq2seq {model}", ["metric", "value"], [[k, v] for k, v in summary.items()])
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        writer.write({"model": model, **summary})
        writer.flush()
