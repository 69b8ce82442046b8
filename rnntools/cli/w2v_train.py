"""``rnntools w2v-train``: learn word vectors from raw text."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, GroupedCommand, encoding_errors_option, option, seed_option, threads_option


@click.command(name="w2v-train", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("corpus", nargs=-1, type=click.Path(allow_dash=True, dir_okay=False))
@option("--min-count", type=click.IntRange(1), default=5, show_default=True, group="Data",
        help="Ignore words seen fewer times.")
@option("--max-vocab", type=click.IntRange(1), default=None, group="Data",
        help="Keep at most this many words (the most frequent).")
@option("--vocab", "vocab_path", type=click.Path(dir_okay=False), default=None, group="Data",
        help="Use this vocabulary file from `rnntools vocab` instead of counting one.")
@option("--keep-case", is_flag=True, group="Data", help="Do not lowercase the text.")
@encoding_errors_option
@option("--arch", type=click.Choice(["sg", "cbow"]), default="sg", show_default=True, group="Model",
        help="Skip-gram (better for rare words) or CBOW (several times faster).")
@option("--dim", type=click.IntRange(1), default=100, show_default=True, group="Model", help="Vector size.")
@option("--window", type=click.IntRange(1), default=5, show_default=True, group="Model",
        help="Maximum context words on each side (each position draws 1..N, as word2vec).")
@option("--negative", type=click.IntRange(1), default=5, show_default=True, group="Model",
        help="Noise words per prediction, drawn from counts**0.75.")
@option("--sample", type=click.FloatRange(0), default=1e-3, show_default=True, group="Model",
        help="Subsampling threshold for frequent words (0: off).")
@option("--alpha", type=click.FloatRange(0, min_open=True), default=None, group="Optimisation",
        help="Initial learning rate [default: 0.025 for sg, 0.05 for cbow].")
@option("--min-alpha", type=click.FloatRange(0), default=0.0001, show_default=True, group="Optimisation",
        help="Learning rate at the end; it falls linearly over all words of all epochs.")
@option("--epochs", type=click.IntRange(1), default=5, show_default=True, group="Optimisation",
        help="Passes over the corpus.")
@threads_option
@seed_option
@option("-o", "--output", type=click.Path(dir_okay=False), required=True, group="Output",
        help="Vectors file to write (.npz), atomically.")
@option("--resumable", is_flag=True, group="Output",
        help="Also save the output weights (doubling the file) so that --resume can continue training.")
@option("--resume", type=click.Path(dir_okay=False), default=None, group="Optimisation",
        help="Continue training a vectors file saved with --resumable or interrupted by Ctrl-C (its "
             "vocabulary and model settings are kept).")
@option("--log", "log_path", type=click.Path(dir_okay=False), default=None, group="Output",
        help="Append training progress as JSONL to this file.")
def w2v_train(corpus, min_count, max_vocab, vocab_path, keep_case, encoding_errors, arch, dim, window, negative,
              sample, alpha, min_alpha, epochs, threads, seed, output, resumable, resume, log_path):
    """Learn word vectors from raw text (skip-gram or CBOW with negative sampling).

    \b
        rnntools w2v-train corpus.txt -o vectors.npz
        rnntools w2v-train --arch cbow --dim 300 --window 8 big.txt.gz -o v.npz
        cat *.txt | rnntools w2v-train - -o vectors.npz

    One line is one sentence; words are runs of letters and digits, lowercased. The corpus is read once
    (into a temporary file of 4 bytes a word) and streamed from there each epoch. Ctrl-C saves the
    vectors trained so far (resumable with --resume) and exits 130.
    """
    from rnntools.console import JsonlLog
    from rnntools.w2v.train import Params, train

    params = Params(arch=arch, dim=dim, window=window, negative=negative, sample=sample, min_count=min_count,
                    max_vocab=max_vocab, alpha=alpha, min_alpha=min_alpha, epochs=epochs, threads=threads,
                    seed=seed, lowercase=not keep_case)
    ctx = click.get_current_context()
    given = {name for name in ctx.params
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    explicit = frozenset({"keep_case": "lowercase"}.get(name, name) for name in given)
    with JsonlLog(log_path) as log:
        train(list(corpus) or ["-"], output, params, vocab_path=vocab_path, errors=encoding_errors, log=log,
              resume=resume, explicit=explicit, resumable=resumable)
