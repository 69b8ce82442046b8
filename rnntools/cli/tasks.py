"""The task registry behind the polymorphic commands ``rnn-train``, ``predict`` and ``evaluate``.

Every task is served through its package ``rnntools.tasks.<task>`` (the task contract, docs/tasks.md): the
command loads the model ONCE (``rnntools.io.load_model``, from a path or ``-`` for stdin), calls the
package's ``load``/``read``/``predict``/``evaluate`` and writes every output itself. A model kind that is not
a task (``vectors``) is served by its CLI module's function of the command's name, given the loaded file.

Each task's CLI module (click and the standard library only at import time) declares the
options only that task takes: ``TRAIN_OPTIONS``, ``PREDICT_OPTIONS``, ``EVALUATE_OPTIONS``. An option that
belongs to another task is a usage error (exit 2) naming the option and the task.
"""

from __future__ import annotations

import functools
import importlib
from contextlib import contextmanager
from types import ModuleType

import click

from rnntools.errors import UsageError

# rnn-train --task NAME -> its CLI module
TASKS: dict[str, str] = {
    "lm": "rnntools.cli.task_lm",
    "classify": "rnntools.cli.task_classify",
    "forecast": "rnntools.cli.task_forecast",
    "seq2seq": "rnntools.cli.task_seq2seq",
}

# model kind (meta["kind"]) -> CLI module
KINDS: dict[str, str] = {
    "lm": "rnntools.cli.task_lm",
    "classifier": "rnntools.cli.task_classify",
    "forecaster": "rnntools.cli.task_forecast",
    "seq2seq": "rnntools.cli.task_seq2seq",
    "vectors": "rnntools.cli.task_vectors",
}

# model kind -> the task whose package reads it
KIND_TASK: dict[str, str] = {"lm": "lm", "classifier": "classify", "forecaster": "forecast", "seq2seq": "seq2seq"}

# model kinds whose inputs a cluster (--scheduler) may cut into byte ranges: at any line (lm, classifier,
# seq2seq: independent lines), or where the task's `partitioning` says (forecaster: where a series ends)
SPLIT_KINDS = frozenset({"lm", "classifier", "seq2seq", "forecaster"})

# what a task package exposes (docs/tasks.md)
CONTRACT = ("KIND", "DEFAULTS", "STRUCTURAL", "train", "load", "read", "predict", "evaluate")


def package(task: str | None) -> ModuleType | None:
    """The task's package when it follows the contract, else None. Its ``__init__`` imports nothing heavy,
    so asking costs little."""
    if task is None:
        return None
    name = f"rnntools.tasks.{task}"
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:  # absent, or a pre-contract module
        return None
    module = importlib.import_module(name)
    names = set(vars(module)) | set(getattr(module, "__all__", ()))  # no hasattr: it may import lazily
    return module if all(attr in names for attr in CONTRACT) else None


def available(table: dict[str, str]) -> dict[str, ModuleType]:
    """The modules of ``table`` that exist (tasks land one at a time), imported."""
    out = {}
    for name, module_name in table.items():
        if importlib.util.find_spec(module_name) is not None:
            out[name] = importlib.import_module(module_name)
    return out


def collect_options(modules: dict[str, ModuleType], attribute: str) -> tuple[list, dict[str, set[str]]]:
    """All option decorators named ``attribute`` across modules, once per option name, and which
    names belong to which modules."""
    decorators, owners, seen = [], {}, {}
    for name, module in modules.items():
        for decorator in getattr(module, attribute, []):
            probe = decorator(lambda: None)
            param = probe.__click_params__[-1]
            owners.setdefault(param.name, set()).add(name)
            if param.name not in seen:
                seen[param.name] = param
                decorators.append(decorator)
    return decorators, owners


def reject_foreign_options(ctx: click.Context, owners: dict[str, set[str]], chosen: str, what: str) -> None:
    """A usage error for options given on the command line that ``chosen`` does not take."""
    for name, tasks in owners.items():
        if chosen in tasks:
            continue
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            param = next((p for p in ctx.command.params if p.name == name), None)
            longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
            flag = longs[0] if longs else "--" + name.replace("_", "-")
            raise UsageError(f"{flag} does not apply to {what} (it is for {', '.join(sorted(tasks))})")


def task_kwargs(kwargs: dict, owners: dict[str, set[str]], chosen: str) -> dict:
    """The options ``chosen`` takes, out of all the parsed ones."""
    return {name: value for name, value in kwargs.items() if chosen in owners.get(name, ())}


@contextmanager
def naming_the_input(inputs: list[str]):
    """An input error about the whole input ("no text to evaluate", "no labelled records") names no file
    where the task sees only records; with one input file, the message names it."""
    from rnntools.errors import InputError

    try:
        yield
    except InputError as exc:
        if exc.path is not None or exc.line is not None or len(inputs) != 1:
            raise
        raise InputError(exc.reason, inputs[0]) from None


def _arrays_used(meta: dict, name: str) -> bool:
    """Whether ``predict``/``evaluate`` read array ``name``: not those whose prefix the task's package
    lists in ``UNUSED_TO_PREDICT`` (the trainer's state for --resume, a third to two thirds of a file)."""
    return not name.startswith(_unused_to_predict(meta.get("kind")))


@functools.cache
def _unused_to_predict(kind) -> tuple[str, ...]:
    return tuple(getattr(package(KIND_TASK.get(kind)), "UNUSED_TO_PREDICT", ()))


def small_pages_for_numpy() -> None:
    """Let numpy's arrays live on ordinary 4 KiB pages in this process (``predict`` and ``evaluate``), unless the
    user chose otherwise with numpy's own ``NUMPY_MADVISE_HUGEPAGE``.

    Why: on Linux numpy asks the kernel for transparent huge pages for every large array (``madvise``), and
    each 2 MiB page, at its first write, must be found whole (compacting memory on a busy machine) and zeroed
    whole. A short command's arrays are mostly written once (the model's, read from its file): a fresh process
    filling 36 MB took 5-237 ms of CPU that way against 20-24 ms on small pages, and a classifier's
    ``predict`` of 4,000 glosses spent a quarter of its samples in the kernel's page zeroing under the copy of
    the model's arrays (``perf``; docs/classify.md, "Prediction: small pages for a short process"). Training
    keeps numpy's choice: its arrays are reused for minutes."""
    import os
    import sys

    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    if "numpy" not in sys.modules:
        os.environ["NUMPY_MADVISE_HUGEPAGE"] = "0"     # read once, by numpy's import
        return
    import numpy  # already imported (a command run in-process): numpy's switch, where this numpy has it

    multiarray = getattr(getattr(numpy, "_core", None), "multiarray", None)
    getattr(multiarray, "_set_madvise_hugepage", lambda enabled: None)(False)


def run_model_command(name: str, model: str, inputs: list[str], output: str | None, options: dict,
                      modules: dict[str, ModuleType], owners: dict[str, set[str]],
                      scheduler: str | None = None, threads: int | None = None) -> None:
    """``predict``/``evaluate`` once the command line is parsed: load the model once, pick its task."""
    small_pages_for_numpy()     # before numpy's import (rnntools.io's model loading)
    from rnntools.errors import ModelFileError
    from rnntools.io import load_model

    def stdin_check(inputs: list[str]) -> list[str]:
        if model == "-" and "-" in inputs:
            raise UsageError("the model is read from stdin (-), so the inputs cannot be: give them as files")
        return inputs

    stdin_check(inputs)
    model_file = load_model(model, arrays=_arrays_used)
    kind = model_file.kind
    if kind not in modules:
        raise ModelFileError(f"`{name}` does not take a {kind!r} model; it takes "
                             f"{', '.join(sorted(modules))} models", model)
    reject_foreign_options(click.get_current_context(), owners, kind, f"a {kind} model")
    options = task_kwargs(options, owners, kind)
    pkg = package(KIND_TASK.get(kind))
    if pkg is None:  # a model kind that is not a task (vectors): its CLI module works on the loaded file
        if scheduler:
            raise UsageError(f"--scheduler does not run `{name}` of {kind} models (only of the tasks' models); "
                             "leave it out to run in this process")
        getattr(modules[kind], name)(model_file, inputs, output, **options)
        return
    inputs = stdin_check(inputs or ["-"])
    from rnntools.io import JsonlWriter, open_output

    if scheduler:
        from rnntools.distributed import run_model

        if options.pop("output_format", "jsonl") != "jsonl":
            raise UsageError("--format csv is one table written by one process; with --scheduler write JSONL")
        from functools import cache

        loaded = cache(lambda: pkg.load(model_file))  # the model on the client, loaded if needed, once
        combine, pieces, rule = None, None, None
        if name == "evaluate" and getattr(pkg, "evaluate_pieces", None) is not None:
            # independent pieces of work (forecast's backtest folds), each a task on the whole input
            pieces = pkg.evaluate_pieces(loaded(), **options)

            def combine(parts: list) -> dict:
                return pkg.combine_pieces(loaded(), parts, **options)
        elif name == "evaluate" and getattr(pkg, "evaluate_combine", None) is not None:
            def combine(parts: list) -> dict:
                return pkg.evaluate_combine(loaded(), parts, **options)
        if name == "predict" and getattr(pkg, "partitioning", None) is not None:
            def rule(path: str) -> dict | None:
                return pkg.partitioning(loaded(), path, **options)

        with naming_the_input(inputs):
            summary = run_model(name, KIND_TASK[kind], model, inputs, output, options, scheduler, threads,
                                split=kind in SPLIT_KINDS, combine=combine, rule=rule,
                                repeated=getattr(pkg, "repeated_key", None), pieces=pieces)
        if summary is not None:
            _write_summary(pkg, summary, output)
        return
    loaded = pkg.load(model_file)
    # `targets`: evaluate's records carry the expected outputs too (seq2seq's plain text: source<TAB>target)
    records = pkg.read(inputs, loaded, targets=name == "evaluate", **options)
    if name == "predict":
        output_format = options.pop("output_format", "jsonl")
        with open_output(output) as stream:
            if output_format != "jsonl":  # a format only some tasks offer: their CLI module writes it
                getattr(modules[kind], f"write_{output_format}")(pkg.predict(loaded, records, **options), stream)
                return
            writer = JsonlWriter(stream)
            predict_text = getattr(pkg, "predict_text", None)
            if predict_text is not None:  # a task that formats its JSONL itself (in worker processes)
                for text in predict_text(loaded, records, **options):
                    writer.write_text(text)
                return
            for record in pkg.predict(loaded, records, **options):
                writer.write(record)
        return
    with naming_the_input(inputs):
        summary = pkg.evaluate(loaded, records, **options)
    _write_summary(pkg, summary, output)


def _write_summary(pkg: ModuleType, summary: dict, output: str | None) -> None:
    from rnntools.io import JsonlWriter, open_output

    with open_output(output) as stream:
        JsonlWriter(stream).write(summary)
    if hasattr(pkg, "summary_table"):
        from rnntools import console

        console.print_table(*pkg.summary_table(summary))


def model_command(name: str, help: str, output_help: str) -> click.Command:
    """``predict`` or ``evaluate``: ``MODEL [INPUTS]...``; the model file's kind picks the task, with the
    options its CLI module declares in ``NAME_OPTIONS``."""
    from rnntools.cli.common import (
        CONTEXT,
        GroupedCommand,
        inputs_argument,
        option,
        scheduler_option,
        threads_option,
    )

    modules = {kind: m for kind, m in available(KINDS).items() if hasattr(m, name)
               or package(KIND_TASK.get(kind)) is not None}
    options, owners = collect_options(modules, f"{name.upper()}_OPTIONS")

    def command(model, inputs, output, threads, scheduler, **kwargs):
        from rnntools.distributed import scheduler_address

        run_model_command(name, model, list(inputs), output, kwargs, modules, owners, scheduler_address(scheduler),
                          threads)

    for decorator in reversed(options):
        command = decorator(command)
    command = threads_option(command)
    command = scheduler_option(command)
    command = option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
                     group="Output", help=output_help)(command)
    command = inputs_argument()(command)
    command = click.argument("model", type=click.Path(dir_okay=False, allow_dash=True))(command)
    return click.command(name=name, cls=GroupedCommand, context_settings=CONTEXT, help=help)(command)
