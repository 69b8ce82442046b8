"""``rnntools rnn-train``: one command for every recurrent task; the task modules add their own options."""

from __future__ import annotations

import click

from rnntools.cli.common import (
    CONTEXT,
    GroupedCommand,
    check_resumed_options,
    inputs_argument,
    option,
    seed_option,
    threads_option,
)
from rnntools.cli.tasks import (
    TASKS,
    available,
    collect_options,
    naming_the_input,
    package,
    reject_foreign_options,
    task_kwargs,
)

# Shared engine options. None means "not given": the task's DEFAULTS decide (shown by
# `rnn-train --task T --help`), and on --resume the saved model's values (docs/tasks.md).
ENGINE_OPTIONS = [
    option("--level", type=click.Choice(["char", "word"]), default=None, group="Data",
           help="Tokens are characters or words."),
    option("--vocab", "vocab_path", type=click.Path(dir_okay=False), default=None, group="Data",
           help="Vocabulary file from `rnntools vocab` [default: built from the training data]."),
    option("--min-count", type=click.IntRange(1), default=None, group="Data",
           help="Drop tokens seen fewer times when building the vocabulary."),
    option("--max-vocab", type=click.IntRange(1), default=None, group="Data",
           help="Keep at most this many tokens (the most frequent)."),
    option("--val-fraction", type=click.FloatRange(0, 0.5), default=None, group="Data",
           help="Share of the data held out for validation and early stopping."),
    option("--encoding-errors", type=click.Choice(["strict", "replace"]), default=None, group="Data",
           help="On invalid UTF-8: stop with an error, or replace the bytes."),
    option("--cell", type=click.Choice(["rnn", "lstm", "gru"]), default=None, group="Model",
           help="Recurrent cell."),
    option("--hidden", type=click.IntRange(1), default=None, group="Model", help="Hidden state size."),
    option("--layers", type=click.IntRange(1), default=None, group="Model", help="Stacked recurrent layers."),
    option("--embed-dim", type=click.IntRange(1), default=None, group="Model", help="Embedding size."),
    option("--embeddings", type=click.Path(dir_okay=False), default=None, group="Model",
           help="Initialise the embedding from a `w2v-train` vectors file."),
    option("--freeze-embeddings/--train-embeddings", default=None, group="Model",
           help="Keep pretrained embeddings fixed, or train them."),
    option("--dropout", type=click.FloatRange(0, 0.95), default=None, group="Model",
           help="Dropout between layers."),
    option("--epochs", type=click.IntRange(1), default=None, group="Optimisation",
           help="At most this many passes over the data (early stopping may end sooner)."),
    option("--max-steps", type=click.IntRange(1), default=None, group="Optimisation",
           help="Stop after this many updates."),
    option("--max-time", type=click.FloatRange(0, min_open=True), default=None, group="Optimisation",
           help="Stop after this many seconds of training."),
    option("--patience", type=click.IntRange(1), default=None, group="Optimisation",
           help="Stop after this many evaluations without a better validation loss (seq2seq from 256 units "
                "with --max-time or --max-steps: the budget ends training instead)."),
    option("--batch", type=click.IntRange(1), default=None, group="Optimisation", help="Sequences per batch."),
    option("--seq-len", type=click.IntRange(1), default=None, group="Optimisation",
           help="Time steps per truncated-BPTT segment."),
    option("--optimizer", type=click.Choice(["adam", "sgd"]), default=None, group="Optimisation",
           help="Update rule."),
    option("--lr", type=click.FloatRange(0, 1000, min_open=True), default=None, group="Optimisation",
           help="Learning rate."),
    option("--clip", type=click.FloatRange(0), default=None, group="Optimisation",
           help="Clip the global gradient norm to this (0: no clipping)."),
    option("--resume", type=click.Path(dir_okay=False), default=None, group="Optimisation",
           help="Continue training a saved model, with its optimiser state: its structural options win, "
                "others may change."),
    option("--checkpoint-every", type=click.IntRange(1), default=None, group="Output",
           help="Also save the model every N updates."),
    option("--log", "log_path", type=click.Path(dir_okay=False), default=None, group="Output",
           help="Append training progress as JSONL to this file."),
]

_modules = available(TASKS)
_task_options, _owners = collect_options(_modules, "TRAIN_OPTIONS")
_engine_names = set()
for _decorator in ENGINE_OPTIONS:
    _engine_names.add(_decorator(lambda: None).__click_params__[-1].name)


def _command(**kwargs):
    ctx = click.get_current_context()
    task = kwargs.pop("task")
    inputs = list(kwargs.pop("inputs")) or ["-"]
    output = kwargs.pop("output")
    reject_foreign_options(ctx, _owners, task, f"--task {task}")
    engine = {name: kwargs[name] for name in _engine_names}
    engine["seed"], engine["threads"] = kwargs["seed"], kwargs["threads"]
    _check_combinations(ctx, task, engine)
    if engine.get("resume"):
        check_resumed_options(ctx, engine["resume"])
    _check_sizes({**engine, "layers": max(engine.get("layers") or 1, kwargs.get("encoder_layers") or 1)})
    with naming_the_input(inputs):
        package(task).train(inputs, output, {**engine, **task_kwargs(kwargs, _owners, task)})


class _TrainCommand(GroupedCommand):
    """Writes each option's default as the chosen task's ``DEFAULTS`` give it (``--task T --help``), or
    every converted task's when no task is chosen."""

    def format_options(self, ctx, formatter):
        from rnntools.tasks.options import show

        chosen = ctx.params.get("task")
        packages = {chosen: package(chosen)} if chosen else {t: package(t) for t in sorted(_modules)}
        packages = {t: p for t, p in packages.items() if p is not None}
        sections: dict[str, list] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            found = [(t, p.DEFAULTS[param.name]) for t, p in packages.items() if param.name in p.DEFAULTS]
            if found and param.default is None and "[default:" not in record[1]:
                if chosen:
                    shown = show(found[0][1])
                else:
                    shown = "; ".join(f"{t}: {show(v)}" for t, v in found)
                record = (record[0], f"{record[1]}  [default: {shown}]")
            sections.setdefault(getattr(param, "group", "Options"), []).append(record)
        for name, rows in sections.items():
            with formatter.section(name):
                formatter.write_dl(rows)


# engine options every task reads that its DEFAULTS need not list (limits and outputs of the run)
_RUN_OPTIONS = {"seed", "threads", "resume", "checkpoint_every", "log_path", "max_steps", "max_time",
                "encoding_errors", "embeddings",
                "freeze_embeddings"}
# tasks whose networks start from word vectors (`--embeddings`)
_EMBEDDING_TASKS = {"lm", "classify"}


def _check_combinations(ctx: click.Context, task: str, engine: dict) -> None:
    """Usage errors (exit 2) for engine options the chosen task would silently ignore, before any data is read:
    an option the task has no use for, --freeze-embeddings without vectors, word vectors for characters."""
    from rnntools.errors import UsageError
    from rnntools.tasks.options import flag

    defaults = getattr(package(task), "DEFAULTS", None)
    given = {name for name in engine if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    unused = set() if defaults is None else given - set(defaults) - _RUN_OPTIONS
    if task not in _EMBEDDING_TASKS:
        unused |= given & {"embeddings", "freeze_embeddings"}
    if unused:
        raise UsageError(f"{', '.join(sorted(flag(n) for n in unused))} "
                         f"{'does' if len(unused) == 1 else 'do'} not apply to --task {task}")
    if engine.get("resume"):
        return  # the saved model's options decide; the task checks them
    if engine.get("freeze_embeddings") and not engine.get("embeddings"):
        raise UsageError("--freeze-embeddings keeps pretrained vectors fixed: give them with --embeddings FILE "
                         "(or leave the flag out)")
    level = engine.get("level") or (defaults or {}).get("level")
    if engine.get("embeddings") and level == "char":
        raise UsageError(f"--embeddings gives word vectors, but the {task} model reads characters "
                         "(--level char); add --level word or leave --embeddings out")


def _check_sizes(engine: dict) -> None:
    """Refuse sizes that cannot fit in memory before any data is read: a lower bound of what the network
    needs (the recurrent and input weights of every layer with their gradients and two optimiser moments,
    4 float32 copies; the smallest default hidden size of any task stands for an unset one)."""
    from rnntools.errors import check_memory

    hidden = engine.get("hidden") or 16
    embed = engine.get("embed_dim") or 1
    layers = engine.get("layers") or 1
    gates = {"lstm": 4, "gru": 3}.get(engine.get("cell") or "rnn", 1)
    weights = gates * hidden * (hidden + max(embed, 1)) + (layers - 1) * gates * hidden * 2 * hidden
    batch_activations = (engine.get("batch") or 1) * (engine.get("seq_len") or 1) * hidden * gates * layers
    check_memory(16 * weights + 4 * batch_activations, "the network",
                 "--hidden, --embed-dim, --layers (--encoder-layers), --batch or --seq-len")


def _build():
    command = _command
    for decorator in reversed([*ENGINE_OPTIONS, seed_option, threads_option, *_task_options]):
        command = decorator(command)
    command = option("-o", "--output", type=click.Path(dir_okay=False), required=True, group="Output",
                     help="Model file to write (.npz), atomically.")(command)
    command = option("--task", type=click.Choice(sorted(_modules)), required=True, is_eager=True, group="Task",
                     help="lm: language model; classify: many-to-one; forecast: time series; "
                          "seq2seq: encoder-decoder. `--task T --help` shows T's defaults.")(command)
    command = inputs_argument()(command)
    return click.command(name="rnn-train", cls=_TrainCommand, context_settings=CONTEXT,
                         help=HELP)(command)


HELP = """Train a recurrent network (RNN, LSTM or GRU) for one of the four sequence shapes.

\b
    rnntools rnn-train --task lm --level char --cell lstm book.txt -o lm.npz
    rnntools rnn-train --task classify reviews.jsonl -o clf.npz
    rnntools rnn-train --task forecast sales.csv -o f.npz
    rnntools rnn-train --task seq2seq pairs.jsonl -o s2s.npz

Defaults are chosen per task from measurements; training stops on its own when the validation loss
stops improving. Ctrl-C saves the model trained so far and exits 130.
"""

rnn_train = _build()
