"""``rnntools bow``: one-hot ids, bag-of-words, binary or tf-idf vectors for each document."""

from __future__ import annotations

import click

from rnntools.cli.common import (
    CONTEXT,
    GroupedCommand,
    default_inputs,
    encoding_errors_option,
    inputs_argument,
    option,
    scheduler_option,
    threads_option,
)


@click.command(name="bow", cls=GroupedCommand, context_settings=CONTEXT)
@inputs_argument()
@option("--vocab", "vocab_path", type=click.Path(dir_okay=False), required=True, group="Input",
        help="Vocabulary file from `rnntools vocab`.")
@option("--text-field", "field", default=None, group="Input", old_names=("--field",),
        help="Inputs are JSONL: encode this field and pass every other field through.")
@encoding_errors_option
@option("--mode", type=click.Choice(["ids", "onehot", "counts", "binary", "tfidf"]), default="counts",
        show_default=True, group="Representation",
        help="ids: word ids in order; onehot: sparse one-hot rows; counts: bag of words; binary: presence; "
             "tfidf: counts x smoothed idf, L2-normalised.")
@option("--format", "output_format", type=click.Choice(["jsonl", "npz"]), default="jsonl", show_default=True,
        group="Output", help="JSONL records, or one CSR matrix (data, indices, indptr, shape) in an .npz.")
@option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
        help="Write here instead of stdout (required with --format npz).")
@threads_option
@scheduler_option
def bow(inputs, vocab_path, field, encoding_errors, mode, output_format, output, threads, scheduler):
    """Encode each line (or JSONL record) as word ids or a sparse vector over the vocabulary.

    JSONL out, one record per input line, in order: {"ids": [...]} for ids; {"shape", "indices"} for
    onehot; {"size", "indices", "values"} for counts, binary and tfidf.

    \b
        rnntools bow --vocab vocab.jsonl --mode counts < docs.txt > bow.jsonl
        rnntools bow --vocab vocab.jsonl --mode ids --text-field text < records.jsonl
        rnntools bow --vocab vocab.jsonl --mode tfidf --format npz -o tfidf.npz docs.txt
    """
    from rnntools.distributed import scheduler_address
    from rnntools.io import open_output
    from rnntools.text.pipeline import encode_documents

    inputs = default_inputs(inputs)
    if scheduler_address(scheduler):
        if output_format == "npz":
            from rnntools.errors import UsageError

            raise UsageError("--format npz is one matrix written by one process; with --scheduler write JSONL "
                             "(-o out/part-{n}.jsonl for one file per partition)")
        from rnntools.distributed import encode_documents as encode_on_cluster

        encode_on_cluster(inputs, vocab_path, mode, scheduler_address(scheduler), threads, field=field,
                          errors=encoding_errors, output=output)
        return
    if output_format == "npz":
        encode_documents(inputs, vocab_path, mode, field=field, output_format="npz", output=output,
                         errors=encoding_errors, workers=threads)
        return
    with open_output(output) as stream:
        encode_documents(inputs, vocab_path, mode, field=field, stream=stream, errors=encoding_errors,
                         workers=threads)
