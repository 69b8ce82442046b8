"""``rnntools export`` and ``rnntools import``: word2vec text and binary vector files."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, GroupedCommand, option

FORMATS = ["word2vec-text", "word2vec-binary"]


@click.command(name="export", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False))
@option("--format", "fmt", type=click.Choice(FORMATS), default="word2vec-text", show_default=True,
        group="Output", help="word2vec.c's text or binary format (gensim's load_word2vec_format reads both).")
@option("--words", "words_path", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
        help="Write only these words (one per line), in that order; a subword model (w2v-train --subword) "
             "also gives words it never saw vectors from their n-grams.")
@option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
        help="Write here (atomically) instead of stdout.")
def export(model, fmt, words_path, output):
    """Write a vectors file in word2vec's text or binary format.

    \b
        rnntools export vectors.npz > vectors.txt
        rnntools export vectors.npz --format word2vec-binary -o vectors.bin
        printf 'colour\\ncolourful\\n' | rnntools export subword.npz --words -

    Words come most frequent first; text values are written with 9 significant digits, so float32
    vectors read back exactly.
    """
    from rnntools import console
    from rnntools.errors import InputError
    from rnntools.io import iter_lines, open_output
    from rnntools.w2v.formats import write_word2vec
    from rnntools.w2v.vectors import load

    vectors = load(model)
    tokens, rows = vectors.tokens, vectors.vectors
    if words_path is not None:
        words = list(dict.fromkeys(line.strip() for _, line in iter_lines(words_path) if line.strip()))
        if any(" " in w or "\t" in w for w in words):
            raise InputError("one word per line, without spaces (word2vec files cannot hold them)", words_path)
        rows, source = vectors.vectors_for(words)
        unknown = [w for w, src in zip(words, source) if src == 0]
        if unknown:
            console.warn(f"{len(unknown)} unknown word{'s' if len(unknown) > 1 else ''} left out "
                         f"(first: {unknown[0]!r})"
                         f"{'' if vectors.subword else '; a --subword model gives any word a vector'}")
        tokens = [w for w, src in zip(words, source) if src != 0]
        rows = rows[source != 0]
    with open_output(output) as stream:
        stream.flush()
        write_word2vec(tokens, rows, stream.buffer, binary=fmt == "word2vec-binary", path=model)
        stream.buffer.flush()


@click.command(name="import", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("source", type=click.Path(allow_dash=True, dir_okay=False))
@option("--format", "fmt", type=click.Choice(["auto", *FORMATS, "glove-text"]), default="auto",
        show_default=True, group="Input", help="Input format; auto tells binary from text. A text file's first line "
        "decides between word2vec's text (a 'V D' header) and GloVe's (none), whichever text format is named.")
@option("-o", "--output", type=click.Path(dir_okay=False), required=True, group="Output",
        help="Vectors file to write (.npz), atomically.")
def import_(source, fmt, output):
    """Read word2vec (text or binary) or GloVe vectors into a vectors file for neighbors and evaluate.

    \b
        rnntools import vectors.bin -o vectors.npz
        gzip -dc glove.6B.100d.txt.gz | rnntools import - -o glove.npz

    Words keep the file's order (word2vec files are sorted by frequency, which --restrict relies on);
    counts are unknown. The vocabulary is lowercase (queries get lowercased) only if every word is.
    """
    from rnntools import console
    from rnntools.w2v.formats import read_word2vec, vocab_for_tokens
    from rnntools.w2v.vectors import save

    binary = {"auto": None, "word2vec-binary": True}.get(fmt, False)
    tokens, vectors, found = read_word2vec(source, binary)
    vocab = vocab_for_tokens(tokens, source)
    save(output, vocab, vectors, source={"format": found, "file": source})
    console.info(f"imported {len(tokens):,} vectors of size {vectors.shape[1]} ({found}) to {output}")
