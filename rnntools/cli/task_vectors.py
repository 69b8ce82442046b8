"""``rnntools evaluate`` for vectors files: analogy accuracy and word-pair similarity correlation."""

from __future__ import annotations

import click

from rnntools.cli.common import option

EVALUATE_OPTIONS = [
    option("--analogies", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Vectors",
           help="Analogy questions in questions-words format (': section', then 'a b c d')."),
    option("--similarity", type=click.Path(dir_okay=False, allow_dash=True), multiple=True, group="Vectors",
           help="Word pairs with human scores (wordsim353/simlex999: 'w1<TAB>w2<TAB>score'); repeatable."),
    option("--restrict", type=click.IntRange(1), default=30000, show_default=True, group="Vectors",
           help="Analogies: answer among the N most frequent words; questions outside them are skipped."),
    option("--case-sensitive", is_flag=True, group="Vectors",
           help="Match words with their case (default: case-insensitive, as gensim's evaluators)."),
]


def evaluate(model, inputs, output, analogies=None, similarity=(), restrict=30000, case_sensitive=False):
    from rnntools import console
    from rnntools.errors import UsageError
    from rnntools.io import JsonlWriter, open_output
    from rnntools.w2v.evaluate import evaluate_analogies, evaluate_similarity
    from rnntools.w2v.vectors import load

    if inputs:
        raise UsageError("a vectors model is evaluated with --analogies FILE and/or --similarity FILE, "
                         f"not input files ({inputs[0]})")
    if not analogies and not similarity:
        raise UsageError("give --analogies FILE and/or --similarity FILE to evaluate a vectors model")
    vectors = load(model)  # the loaded file (rnntools.io.ModelFile)
    records = []
    if analogies:
        records += evaluate_analogies(vectors, analogies, restrict=restrict, case_insensitive=not case_sensitive)
    for path in similarity:
        records.append(evaluate_similarity(vectors, path, case_insensitive=not case_sensitive))
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        for record in records:
            writer.write(record)
    rows = []
    for r in records:
        if r["task"] == "analogies":
            rows.append([f"analogies: {r['section']}", r["accuracy"], f"{r['correct']}/{r['questions']}",
                         r["skipped"]])
        else:
            rows.append([f"similarity: {r['file']}", r["spearman"], f"pearson {r['pearson']}", r["skipped"]])
    console.print_table(f"evaluation of {model.path}", ["test", "score", "detail", "skipped"], rows)
