"""``rnntools evaluate``: score any model on held-out data; the model file's kind picks the task."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, GroupedCommand, inputs_argument, option
from rnntools.cli.tasks import KINDS, available, collect_options, reject_foreign_options, task_kwargs

_modules = {kind: m for kind, m in available(KINDS).items() if hasattr(m, "evaluate")}
_options, _owners = collect_options(_modules, "EVALUATE_OPTIONS")


def _command(model, inputs, output, **kwargs):
    from rnntools.io import read_model_meta

    kind = read_model_meta(model)["kind"]
    if kind not in _modules:
        from rnntools.errors import ModelFileError

        raise ModelFileError(f"cannot evaluate a {kind!r} model; `evaluate` takes "
                             f"{', '.join(sorted(_modules))} models", model)
    reject_foreign_options(click.get_current_context(), _owners, kind, f"a {kind} model")
    _modules[kind].evaluate(model, list(inputs), output, **task_kwargs(kwargs, _owners, kind))


def _build():
    command = _command
    for decorator in reversed(_options):
        command = decorator(command)
    command = option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
                     group="Output", help="Write the JSONL summary here instead of stdout.")(command)
    command = inputs_argument()(command)
    command = click.argument("model", type=click.Path(dir_okay=False))(command)
    return click.command(name="evaluate", cls=GroupedCommand, context_settings=CONTEXT, help=HELP)(command)


HELP = """Score a model: JSONL summary on stdout, a table on stderr.

\b
    rnntools evaluate vectors.npz --analogies questions-words.txt --similarity wordsim353.tsv
    rnntools evaluate clf.npz test.jsonl
    rnntools evaluate f.npz sales.csv --backtest 5
    rnntools evaluate s2s.npz test.jsonl
"""

evaluate = _build()
