"""``rnntools neighbors``: nearest words and analogies from a vectors file (numpy only: starts fast)."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, GroupedCommand, option


@click.command(name="neighbors", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("queries", nargs=-1)
@option("-k", "--top-k", "k", type=click.IntRange(1), default=10, show_default=True, group="Query",
        old_names=("--top",), help="Neighbours per query.")
@option("--method", type=click.Choice(["add", "cosmul"]), default="add", show_default=True, group="Query",
        help="Analogies by 3CosAdd (cosine to b - a + c) or 3CosMul (Levy & Goldberg).")
@option("--restrict", type=click.IntRange(1), default=None, group="Query",
        help="Search only the N most frequent words.")
@option("--input", "input_path", type=click.Path(allow_dash=True, dir_okay=False), default="-",
        show_default=True, group="Input", help="Queries, one per line, when none are given as arguments.")
@option("--text-field", "field", default=None, group="Input", old_names=("--field",),
        help="Read JSONL records and take the query from this field; the record is copied to the output.")
@option("--strict", is_flag=True, group="Input", help="Stop with exit status 1 at the first unknown word.")
@option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
        help="Write the JSONL here instead of stdout.")
def neighbors(model, queries, k, method, restrict, input_path, field, strict, output):
    """Nearest words by cosine similarity, and analogies such as 'king - man + woman'.

    \b
        rnntools neighbors vectors.npz king queen -k 5
        echo 'king - man + woman' | rnntools neighbors vectors.npz
        rnntools neighbors vectors.npz --text-field word < words.jsonl

    Output: one JSON object per query, {"query", "neighbors": [{"token", "score"}]}; query words are left
    out of their own answers. A query with an unknown word gets an "error" field instead and the stream
    goes on (--strict: exit 1).
    """
    from rnntools.io import JsonlWriter, open_output
    from rnntools.w2v.query import run_neighbors

    if model == "-" and not queries and input_path == "-":   # the queries found stdin empty: no output
        from rnntools.errors import UsageError

        raise UsageError("standard input (-) can be read once, but MODEL and the queries (none given as "
                         "arguments: --input, stdin) both ask for it; give one of them as a file")

    if queries:   # queries on the command line: an --input or --text-field given too was ignored, silently
        ctx = click.get_current_context()
        given = [flag for name, flag in (("input_path", "--input"), ("field", "--text-field"))
                 if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
        if given:
            from rnntools.errors import UsageError

            raise UsageError(f"{' and '.join(given)} read{'s' if len(given) == 1 else ''} queries from a file, but "
                             f"queries are given as arguments ({queries[0]!r}...); give one or the other")

    with open_output(output) as stream:
        run_neighbors(model, list(queries), k=k, method=method, restrict=restrict, input_path=input_path,
                      field=field, strict=strict, writer=JsonlWriter(stream))
