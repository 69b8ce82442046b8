"""``rnntools vocab``: count tokens into a vocabulary file."""

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


@click.command(name="vocab", cls=GroupedCommand, context_settings=CONTEXT)
@inputs_argument()
@option("--level", type=click.Choice(["word", "char"]), default="word", show_default=True, group="Tokens",
        help="Count words or characters.")
@option("--keep-case", is_flag=True, group="Tokens",
        help="Keep upper and lower case apart [default: words are lowercased, characters keep case].")
@option("--lowercase", is_flag=True, group="Tokens", help="Lowercase characters too (with --level char).")
@option("--text-field", "field", default=None, group="Input", old_names=("--field",),
        help="Inputs are JSONL; count the text of this field.")
@encoding_errors_option
@option("--min-count", type=click.IntRange(1), default=1, show_default=True, group="Vocabulary",
        help="Drop tokens seen fewer times.")
@option("--max-vocab", "max_size", type=click.IntRange(1), default=None, group="Vocabulary", old_names=("--max-size",),
        help="Keep at most this many tokens, the most frequent (specials not counted).")
@option("--no-specials", is_flag=True, group="Vocabulary",
        help="Leave out <pad>, <unk>, <s>, </s> (ids 0-3 by default).")
@option("--merge", is_flag=True, group="Vocabulary",
        help="Inputs are vocabulary files counted on shards: sum their counts.")
@option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
        help="Write here instead of stdout.")
@threads_option
@scheduler_option
def vocab(inputs, level, keep_case, lowercase, field, encoding_errors, min_count, max_size, no_specials, merge,
          output, threads, scheduler):
    """Count the tokens of text (one document per line) into a vocabulary, as JSONL.

    The first line is a header (level, case, number of documents); then one record per token,
    {"token", "id", "count", "df"}, ids by count then token.

    \b
        rnntools vocab corpus.txt > vocab.jsonl
        cat a.txt b.txt | rnntools vocab --min-count 5 --max-vocab 50000 > vocab.jsonl
        rnntools vocab --level char book.txt > chars.jsonl
        rnntools vocab --merge shard1.jsonl shard2.jsonl > vocab.jsonl
        rnntools vocab --scheduler local:2 big.txt > vocab.jsonl
    """
    from rnntools.distributed import scheduler_address
    from rnntools.io import JsonlWriter, open_output
    from rnntools.text.pipeline import build_vocab, count_vocab, merge_vocabs

    inputs = default_inputs(inputs)
    if keep_case and lowercase:   # one of them was ignored, silently (which one depended on --level)
        from rnntools.errors import UsageError

        raise UsageError("--keep-case and --lowercase contradict each other; give one")
    if merge:
        ctx = click.get_current_context()
        given = [{"field": "--text-field"}.get(name, f"--{name.replace('_', '-')}")
                 for name in ("level", "keep_case", "lowercase", "field", "encoding_errors")
                 if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
        if given:
            from rnntools.errors import UsageError

            raise UsageError(f"--merge sums vocabulary files as they were counted; {', '.join(given)} "
                             "does not apply to it")
        result = merge_vocabs(inputs, min_count=min_count, max_size=max_size, specials=not no_specials)
    else:
        case_folded = (not keep_case) if level == "word" else lowercase
    if not merge and scheduler_address(scheduler):
        from rnntools.distributed import count_vocab as count_on_cluster

        counter = count_on_cluster(inputs, scheduler_address(scheduler), threads, level=level, lowercase=case_folded,
                                   field=field, errors=encoding_errors)
        result = build_vocab(counter, inputs, min_count=min_count, max_size=max_size, specials=not no_specials)
    elif not merge:
        result = count_vocab(inputs, level=level, lowercase=case_folded, min_count=min_count, max_size=max_size,
                             specials=not no_specials, field=field, errors=encoding_errors, workers=threads)
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        result.write(writer)
        writer.flush()
