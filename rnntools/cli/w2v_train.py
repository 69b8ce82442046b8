"""``rnntools w2v-train``: learn word vectors from raw text."""

from __future__ import annotations

import click

from rnntools.cli.common import (
    CONTEXT,
    GroupedCommand,
    check_resumed_options,
    encoding_errors_option,
    finite_float,
    option,
    seed_option,
    threads_option,
)


class SubwordRange(click.ParamType):
    name = "MIN-MAX"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            lo, hi = (int(x) for x in str(value).split("-"))
        except ValueError:
            self.fail(f"{value!r} is not MIN-MAX (for example 3-6).", param, ctx)
        if not 1 <= lo <= hi <= 30:
            self.fail(f"{value!r}: expected 1 <= MIN <= MAX <= 30.", param, ctx)
        return (lo, hi)


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
@option("--window", type=click.IntRange(1, 1000), default=5, show_default=True, group="Model",
        help="Maximum context words on each side (each position draws 1..N, as word2vec).")
@option("--loss", type=click.Choice(["ns", "hs"]), default="ns", show_default=True, group="Model",
        help="Negative sampling, or hierarchical softmax (a Huffman tree over the counts, as word2vec -hs 1).")
@option("--negative", type=click.IntRange(1, 1000), default=5, show_default=True, group="Model",
        help="Noise words per prediction, drawn from counts**0.75 (--loss ns).")
@option("--share-negatives/--no-share-negatives", default=True, show_default=True, group="Model",
        help="Skip-gram with --loss ns: the context words of a centre word share its noise words (about twice "
             "as fast on two cores, same accuracy); --no-share-negatives draws new ones for every pair, as "
             "word2vec and gensim do.")
@option("--subword", type=SubwordRange(), default=None, group="Model",
        help="Character n-grams of MIN-MAX letters (fastText's 3-6) add to each word's vector; words never "
             "seen get vectors from theirs.")
@option("--buckets", type=click.IntRange(1, 100_000_000), default=None, group="Model",
        help="Hash buckets for --subword n-grams [default: twice the vocabulary's distinct n-grams, at most "
             "2,000,000].")
@option("--sample", type=finite_float(0), default=1e-3, show_default=True, group="Model",
        help="Subsampling threshold for frequent words (0: off).")
@option("--alpha", type=finite_float(0, 1000, min_open=True), default=None, group="Optimisation",
        help="Initial learning rate [default: 0.025 for sg, 0.05 for cbow].")
@option("--min-alpha", type=finite_float(0, 1000), default=0.0001, show_default=True, group="Optimisation",
        help="Learning rate at the end; it falls linearly over all words of all epochs.")
@option("--epochs", type=click.IntRange(1, 100_000), default=5, show_default=True, group="Optimisation",
        help="Passes over the corpus (with --resume: the total, counting the epochs already done).")
@threads_option
@seed_option
@option("-o", "--output", type=click.Path(dir_okay=False), required=True, group="Output",
        help="Vectors file to write (.npz), atomically.")
@option("--resumable", is_flag=True, group="Output",
        help="Also save the output weights (doubling the file) so that --resume can continue training.")
@option("--resume", type=click.Path(dir_okay=False), default=None, group="Optimisation",
        help="Continue training a vectors file saved with --resumable or interrupted by Ctrl-C: its "
             "vocabulary and model settings are kept, the schedule goes on where it stopped.")
@option("--log", "log_path", type=click.Path(dir_okay=False), default=None, group="Output",
        help="Append training progress as JSONL to this file.")
def w2v_train(corpus, min_count, max_vocab, vocab_path, keep_case, encoding_errors, arch, dim, window, loss,
              negative, share_negatives, subword, buckets, sample, alpha, min_alpha, epochs, threads, seed, output,
              resumable, resume, log_path):
    """Learn word vectors from raw text (skip-gram or CBOW; negative sampling or hierarchical softmax).

    \b
        rnntools w2v-train corpus.txt -o vectors.npz
        rnntools w2v-train --arch cbow --dim 300 --window 8 big.txt.gz -o v.npz
        rnntools phrases corpus.txt | rnntools w2v-train - -o vectors.npz
        rnntools w2v-train --subword 3-6 corpus.txt -o vectors.npz

    One line is one sentence; words are runs of letters and digits, lowercased. The corpus is read once
    (into a temporary file of 4 bytes a word) and streamed from there each epoch. Ctrl-C saves the
    vectors trained so far (resumable with --resume) and exits 130.
    """
    from rnntools.console import JsonlLog
    from rnntools.w2v.train import Params, train

    params = Params(arch=arch, dim=dim, window=window, negative=negative, sample=sample, min_count=min_count,
                    loss=loss, share_negatives=share_negatives, subword=subword, buckets=buckets,
                    max_vocab=max_vocab, alpha=alpha, min_alpha=min_alpha, epochs=epochs, threads=threads,
                    seed=seed, lowercase=not keep_case)
    ctx = click.get_current_context()
    if resume:
        check_resumed_options(ctx, resume)
    given = {name for name in ctx.params
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    explicit = frozenset({"keep_case": "lowercase"}.get(name, name) for name in given)
    with JsonlLog(log_path) as log:
        train(list(corpus) or ["-"], output, params, vocab_path=vocab_path, errors=encoding_errors, log=log,
              resume=resume, explicit=explicit, resumable=resumable)
