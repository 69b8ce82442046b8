"""``rnntools phrases``: join frequent word pairs (new_york) in text, as word2vec's word2phrase."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, GroupedCommand, encoding_errors_option, finite_float, option


@click.command(name="phrases", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("corpus", nargs=-1, type=click.Path(allow_dash=True, dir_okay=False))
@option("--threshold", type=finite_float(0), default=100.0, show_default=True, group="Phrases",
        help="Join a pair whose word2phrase score, (count(a b) - min-count) / count(a) / count(b) * words, is "
             "above this.")
@option("--min-count", type=click.IntRange(1), default=5, show_default=True, group="Phrases",
        help="Pairs seen this many times or fewer never join.")
@option("--passes", type=click.IntRange(1, 10), default=1, show_default=True, group="Phrases",
        help="Passes over the joined text: 2 can form three- and four-word phrases.")
@option("--table", "table_path", type=click.Path(dir_okay=False, allow_dash=False), default=None, group="Phrases",
        help="Apply this phrase table (from --save-table) instead of learning one; streams line by line.")
@option("--keep-case", is_flag=True, group="Data", help="Do not lowercase the text.")
@encoding_errors_option
@option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
        help="Write the joined text here (atomically) instead of stdout.")
@option("--save-table", type=click.Path(dir_okay=False), default=None, group="Output",
        help="Write the phrases found as JSONL (phrase, a, b, count, score, pass), best first per pass.")
def phrases(corpus, threshold, min_count, passes, table_path, keep_case, encoding_errors, output, save_table):
    """Join frequent collocations into single tokens (new york -> new_york) for w2v-train.

    \b
        rnntools phrases corpus.txt | rnntools w2v-train - -o vectors.npz
        rnntools phrases --passes 2 corpus.txt --save-table phrases.jsonl > joined.txt
        rnntools phrases --table phrases.jsonl new.txt > new-joined.txt

    Output: the text tokenized as w2v-train does (lowercased unless --keep-case), one line per input line
    with words, tokens separated by spaces. Learning reads the whole input first (it needs the counts);
    with --table, lines stream through one at a time.
    """
    from rnntools import console
    from rnntools.errors import UsageError
    from rnntools.io import iter_lines, open_output
    from rnntools.w2v import phrases as ph

    inputs = list(corpus) or ["-"]
    if save_table == "-" and output in (None, "-"):
        raise UsageError("--save-table - and the joined text would both go to standard output, mixed; give one "
                         "of them a file (-o FILE or --save-table FILE)")
    for path in filter(None, (output, save_table)):
        if path != "-" and path in inputs:
            raise UsageError(f"{path} is an input; write the output elsewhere")
    if table_path is not None:
        if save_table:
            raise UsageError("--table applies a saved table; --save-table goes with learning one")
        table = ph.read_table(table_path)

        def lines():
            for path in inputs:
                for _, line in iter_lines(path, encoding_errors):
                    yield line

        with open_output(output) as stream:
            for text in ph.apply_lines(lines(), table, not keep_case):
                stream.write(text + "\n")
        return
    params = ph.PhraseParams(threshold=threshold, min_count=min_count, passes=passes, lowercase=not keep_case)
    ids, tokens = ph.read_ids(inputs, params.lowercase, encoding_errors)
    joined, tokens, table = ph.learn(ids, tokens, params)
    console.info(f"{len(table):,} phrases in {max([r['pass'] for r in table], default=0)} pass(es); "
                 f"{int((ids >= 0).sum()):,} words -> {int((joined >= 0).sum()):,} tokens")
    if save_table:
        with open_output(save_table) as stream:
            ph.write_table(table, stream)
    with open_output(output) as stream:
        for text in ph.iter_lines_of(joined, tokens):
            stream.write(text + "\n")
