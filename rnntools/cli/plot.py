"""``rnntools plot``: pictures of forecasts, training logs, word vectors and confusion matrices."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, GroupedCommand, SourceHelpGroup, inputs_argument, option


def _output(f):
    f = option("--height", type=click.FloatRange(min=1, max=300), default=None, group="Output",
               help="Height: inches for pictures, lines for text [default: fits the content].")(f)
    f = option("--width", type=click.FloatRange(min=1, max=300), default=None, group="Output",
               help="Width: inches for pictures, characters for text [default: 8 in, or 72 characters].")(f)
    f = option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
               help="Picture file: .png, .svg or .pdf (needs matplotlib: pip install 'rnntools[plot]'); "
                    ".txt or none: plain text on stdout.  [default: text on stdout]")(f)
    return f


@click.group(name="plot", cls=SourceHelpGroup, context_settings=CONTEXT)
def plot():
    """Draw pictures: forecasts, training curves, maps of word vectors, confusion matrices.

    \b
        rnntools predict f.npz samples/airline.csv | rnntools plot forecast --history samples/airline.csv
        rnntools plot log train-log.jsonl -o curves.png
        rnntools plot words vectors.npz whale ship -o words.svg
        rnntools plot confusion scores.json

    Without -o (or with a .txt file) the picture is plain text, with nothing to install; .png, .svg and
    .pdf files need matplotlib (pip install 'rnntools[plot]').
    """


@plot.command(name="forecast", cls=GroupedCommand, context_settings=CONTEXT)
@inputs_argument()
@option("--history", multiple=True, type=click.Path(allow_dash=True, dir_okay=False), group="Input",
        help="The series the forecasts continue (CSV or JSONL, as given to predict); repeatable.")
@option("--series", "series_ids", multiple=True, group="Input",
        help="Draw only this series (by id); repeatable.  [default: every series]")
@option("--last", type=click.IntRange(1), default=None, group="Input",
        help="History steps to show before the forecast [default: all, or five horizons of a long series].")
@option("--target", default=None, group="Input", help="History CSV column, as for predict.")
@option("--timestamp-column", default=None, group="Input", help="History CSV timestamp column, as for predict.")
@option("--id-column", default=None, group="Input", help="History CSV id column, as for predict.")
@_output
def forecast(inputs, history, series_ids, last, target, timestamp_column, id_column, output, width, height):
    """Forecasts from `rnntools predict` (JSONL): history, forecast and intervals; one panel per series.

    \b
        rnntools predict f.npz samples/airline.csv > fc.jsonl
        rnntools plot forecast fc.jsonl --history samples/airline.csv -o forecast.png
        rnntools predict f.npz samples/airline.csv | rnntools plot forecast --history samples/airline.csv
    """
    from rnntools import plot as lib
    from rnntools.cli.common import default_inputs

    lib.forecast(default_inputs(inputs), output, history=list(history), series=list(series_ids) or None,
                 last=last, size=(width, height), target=target, timestamp_column=timestamp_column,
                 id_column=id_column)


@plot.command(name="log", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("log", type=click.Path(allow_dash=True, dir_okay=False), default="-")
@option("--metric", "metrics", multiple=True, group="Input",
        help="Validation metric to draw beside the loss (e.g. val_accuracy, val_bpc); repeatable.  "
             "[default: every metric the log has, perplexity left out]")
@_output
def log(log, metrics, output, width, height):
    """Training curves from a --log file: training and validation loss, and validation metrics.

    \b
        rnntools rnn-train --task classify train.jsonl -o m.npz --log log.jsonl
        rnntools plot log log.jsonl -o curves.png
    """
    from rnntools import plot as lib

    lib.curves(log, output, metrics=list(metrics) or None, size=(width, height))


@plot.command(name="words", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("model", type=click.Path(allow_dash=True, dir_okay=False))
@click.argument("words", nargs=-1)
@option("--neighbors", type=click.IntRange(0), default=5, show_default=True, group="Input",
        help="Nearest neighbours drawn with each chosen word.")
@_output
def words(model, words, neighbors, output, width, height):
    """A 2-D map (PCA) of chosen words and their nearest neighbours in a vectors file.

    \b
        rnntools plot words vectors.npz whale ship sea -o words.png
        rnntools plot words vectors.npz elizabeth darcy --neighbors 8

    Without words, a few frequent words spread over the vocabulary are chosen.
    """
    from rnntools import plot as lib

    lib.words(model, list(words), output, neighbors=neighbors, size=(width, height))


@plot.command(name="confusion", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("scores", type=click.Path(allow_dash=True, dir_okay=False), default="-")
@_output
def confusion(scores, output, width, height):
    """A classifier's confusion matrix from the JSON `rnntools evaluate` writes.

    \b
        rnntools evaluate clf.npz test.jsonl > scores.json
        rnntools plot confusion scores.json -o confusion.png
    """
    from rnntools import plot as lib

    lib.confusion(scores, output, size=(width, height))
