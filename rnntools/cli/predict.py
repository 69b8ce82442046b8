"""``rnntools predict``: apply any trained model; the model file's kind picks the task."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, GroupedCommand, inputs_argument, option
from rnntools.cli.tasks import KINDS, available, collect_options, reject_foreign_options, task_kwargs

_modules = {kind: m for kind, m in available(KINDS).items() if hasattr(m, "predict")}
_options, _owners = collect_options(_modules, "PREDICT_OPTIONS")


def _command(model, inputs, output, **kwargs):
    from rnntools.io import read_model_meta

    kind = read_model_meta(model)["kind"]
    if kind not in _modules:
        from rnntools.errors import ModelFileError

        raise ModelFileError(f"a {kind!r} model has nothing to predict; `predict` takes "
                             f"{', '.join(sorted(_modules))} models", model)
    reject_foreign_options(click.get_current_context(), _owners, kind, f"a {kind} model")
    _modules[kind].predict(model, list(inputs) or ["-"], output, **task_kwargs(kwargs, _owners, kind))


def _build():
    command = _command
    for decorator in reversed(_options):
        command = decorator(command)
    command = option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
                     group="Output", help="Write JSONL here instead of stdout.")(command)
    command = inputs_argument()(command)
    command = click.argument("model", type=click.Path(dir_okay=False, allow_dash=True))(command)
    return click.command(name="predict", cls=GroupedCommand, context_settings=CONTEXT, help=HELP)(command)


HELP = """Apply a trained model to input records; each record comes back with the prediction added.

\b
    rnntools predict lm.npz < sentences.txt           # log-likelihood, perplexity
    rnntools predict clf.npz < new.jsonl > labelled.jsonl
    rnntools predict f.npz --horizon 12 < sales.csv
    echo '{"source": "535+61"}' | rnntools predict add.npz
"""

predict = _build()
