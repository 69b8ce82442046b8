"""Option bundles and help formatting shared by the commands (click and the standard library only)."""

from __future__ import annotations

import copy

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class GroupedOption(click.Option):
    """An option that belongs to a section of ``--help`` (torch-rnn style: data, model, training...).

    ``old_names=("--old-name",)`` keeps old spellings working, hidden from ``--help``, with a warning
    that names the new one: scripts written for an earlier release keep running while people move."""

    def __init__(self, *args, group: str = "Options", old_names: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group
        self.old_names = tuple(old_names)

    def add_to_parser(self, parser, ctx) -> None:
        super().add_to_parser(parser, ctx)
        if self.old_names:
            # the old names store under their own key, so handle_parse_result can tell they were used
            action = "append" if self.multiple else "store"
            if self.is_flag:
                parser.add_option(obj=self, opts=self.old_names, dest=self._alias_key, action=f"{action}_const",
                                  const=self.flag_activation_value)
            else:
                parser.add_option(obj=self, opts=self.old_names, dest=self._alias_key, action=action,
                                  nargs=self.nargs)

    @property
    def _alias_key(self) -> str:
        return f"{self.name}:deprecated"

    def handle_parse_result(self, ctx, opts, args):
        if self._alias_key in opts:
            value = opts.pop(self._alias_key)
            opts.setdefault(self.name, value)
            from rnntools import console

            new = max(self.opts, key=len)
            console.warn(f"{' / '.join(self.old_names)} is deprecated and will be removed: use {new}")
        return super().handle_parse_result(ctx, opts, args)


class FiniteFloat(click.ParamType):
    """A float option that must be a finite number: NaN and infinity are usage errors (exit 2) at parse
    time, wherever they would end up (a learning rate, a temperature, a clipping norm...). Wraps another
    float type (``click.FLOAT``, ``click.FloatRange``) whose range checks still apply."""

    name = "float"

    def __init__(self, inner: click.ParamType | None = None):
        self.inner = inner if inner is not None else click.FLOAT

    def convert(self, value, param, ctx):
        import math

        # finiteness first, so that `inf` is "not a finite number" rather than "not in the range"
        number = click.FLOAT.convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{number!r} is not a finite number.", param, ctx)
        return self.inner.convert(value, param, ctx)

    def get_metavar(self, param, *args, **kwargs):
        return self.inner.get_metavar(param, *args, **kwargs)

    def __repr__(self):
        return f"FiniteFloat({self.inner!r})"


INT_LIMIT = 1 << 53  # the largest integer option: what a float holds exactly; no count, size or seed needs more


def bounded_int(inner: click.ParamType) -> click.ParamType:
    """A copy of an integer type (``click.INT``, ``click.IntRange``) that also refuses values larger in
    size than ``INT_LIMIT``: a 23-digit ``--epochs`` or ``--top-k`` is a usage error at parse time, not an
    overflow deep inside numpy or a numba kernel. A copy, not a wrapper, so that ``--help`` still shows
    the range."""
    bounded = copy.copy(inner)
    convert = inner.convert

    def checked(value, param, ctx):
        value = convert(value, param, ctx)
        if value is not None and abs(value) > INT_LIMIT:
            bounded.fail(f"{value} is too large (at most {INT_LIMIT}).", param, ctx)
        return value

    bounded.convert = checked
    return bounded


def finite_float(min=None, max=None, min_open=False, max_open=False) -> FiniteFloat:
    """The type of every float option: ``click.FloatRange`` without NaN or infinity."""
    if min is None and max is None:
        return FiniteFloat()
    return FiniteFloat(click.FloatRange(min, max, min_open=min_open, max_open=max_open))


DEFAULT_MAX_LINE_BYTES = 1 << 20  # the readers' line bound when --max-line-bytes is not given

# options every command takes (they are also options of the `rnntools` group, before the command name)
_COMMON_PARAMS = ("quiet", "debug", "max_line_bytes")
# options naming files a command writes; every other path option is an input
OUTPUT_PARAMS = ("output", "save_table")
APPENDED_PARAMS = ("log_path",)
# inputs that the output may replace: `--resume m.npz -o m.npz` continues training in place
REPLACEABLE_INPUTS = ("resume",)


# whether --debug (or RNNTOOLS_DEBUG) asked for tracebacks: set by the option's callback as click parses it,
# so an option's value that happens to be the text "--debug" (`sample --prime --debug`) is not the flag
DEBUG = {"on": False}


def set_debug(ctx, param, value) -> None:
    if value:
        DEBUG["on"] = True
        if ctx.obj is not None:
            ctx.obj["debug"] = True


def _common_options() -> list[click.Option]:
    return [
        click.Option(["-q", "--quiet"], is_flag=True, help="No progress, messages or warnings on stderr."),
        click.Option(["--debug"], is_flag=True, is_eager=True, callback=set_debug,
                     help="Show tracebacks on errors."),
        click.Option(["--max-line-bytes"], type=click.IntRange(1), default=None, metavar="BYTES",
                     help="Longest input line (or JSONL record) read whole [default: 1 MiB]."),
    ]


def help_from_source(command: click.Command) -> None:
    """Give ``command`` its help text back under ``python -OO`` (PYTHONOPTIMIZE=2), which drops docstrings: the
    commands' summaries and example blocks are their functions' docstrings, so `--help` showed the options
    alone. Read from the function's source file when help is shown (nothing is read otherwise)."""
    import sys

    if command.help is not None or sys.flags.optimize < 2 or command.callback is None:
        return
    import ast
    import inspect

    code = getattr(inspect.unwrap(command.callback), "__code__", None)
    try:
        with open(code.co_filename, "rb") as f:
            tree = ast.parse(f.read())
    except (AttributeError, OSError, SyntaxError, ValueError):  # no source beside the bytecode
        return
    for node in ast.walk(tree):
        if (isinstance(node, ast.FunctionDef) and node.name == code.co_name
                and code.co_firstlineno in (node.lineno, *(d.lineno for d in node.decorator_list))):
            command.help = ast.get_docstring(node)
            return


class SourceHelpGroup(click.Group):
    """A group whose help survives ``python -OO`` (``help_from_source``)."""

    def format_help_text(self, ctx, formatter):
        help_from_source(self)
        super().format_help_text(ctx, formatter)


class GroupedCommand(click.Command):
    """Shows options under their section headings, in the order the sections first appear.

    Also the one place every command passes through before it runs: float options refuse NaN and
    infinity, the common options (``-q``, ``--debug``, ``--max-line-bytes``) are applied, and the outputs
    are checked against the output policy (``rnntools.io.check_outputs``) before any work starts.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param.type, click.types.FloatParamType):
                param.type = FiniteFloat(param.type)
            elif isinstance(param.type, click.types.IntParamType):
                param.type = bounded_int(param.type)
            elif (isinstance(param.type, click.Path) and not param.type.dir_okay
                  and param.name not in OUTPUT_PARAMS + APPENDED_PARAMS):
                # a folder given as an input is a data error (exit 1) that the reader names, like a missing
                # file, not a usage error with click's three-line message
                param.type = copy.copy(param.type)
                param.type.dir_okay = True
        names = {p.name for p in self.params}
        self.params += [p for p in _common_options() if p.name not in names]

    def format_help_text(self, ctx, formatter):
        help_from_source(self)
        super().format_help_text(ctx, formatter)

    def parse_args(self, ctx, args):
        _check_repeated_options(self, ctx, args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            # click's parser raises "Option '-o' requires an argument" without its context, so the message named
            # `rnntools` and pointed at `rnntools --help` instead of the command's own
            if exc.ctx is None:
                exc.ctx = ctx
            raise

    def get_short_help_str(self, limit: int = 45) -> str:
        help_from_source(self)
        return super().get_short_help_str(limit)

    def invoke(self, ctx):
        from rnntools import console

        quiet = ctx.params.pop("quiet", False)
        ctx.params.pop("debug", None)  # its callback set DEBUG, which rnntools.cli.main reads
        max_line = ctx.params.pop("max_line_bytes", None)
        # the full name in messages: a subcommand of a group (`plot log`) was named as the group
        console.configure(quiet=bool(quiet) or console.is_quiet(), command=ctx.command_path)
        from rnntools.io.inputs import set_max_line_bytes, set_option_hints

        set_option_hints(encoding_errors=any(p.name == "encoding_errors" for p in self.params))
        # set on every run, not only when given: a process that runs several commands (tests, a notebook)
        # must not keep one run's raised limit for the next
        set_max_line_bytes(max_line if max_line is not None else DEFAULT_MAX_LINE_BYTES)
        for param in self.params:
            # an empty field or column name would silently mean "the default one" (or no field at all); by
            # the option's name, as `vocab --text-field` keeps its value in a parameter called "field"
            value = ctx.params.get(param.name)
            flag = next((o for o in getattr(param, "opts", ()) if o.endswith(("-field", "-column"))), None)
            if flag and isinstance(value, str) and not value.strip():
                from rnntools.errors import UsageError

                raise UsageError(f"{flag} is empty: give the name of a field or column")
        _check_text_values(self, ctx)
        _check_empty_paths(self, ctx)
        _check_working_folder(self, ctx)
        check_stdin_once(self, ctx)
        check_command_outputs(self, ctx)
        return super().invoke(ctx)

    def format_options(self, ctx, formatter):
        sections: dict[str, list] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is not None:
                sections.setdefault(getattr(param, "group", "Options"), []).append(record)
        for name, rows in sections.items():
            with formatter.section(name):
                formatter.write_dl(rows)


def _values(ctx: click.Context, param: click.Parameter) -> list:
    """A parameter's parsed value as a list: empty for None, the items of a repeated option or nargs=-1
    argument, else the one value."""
    value = ctx.params.get(param.name)
    if value is None:
        return []
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _check_text_values(command: click.Command, ctx: click.Context) -> None:
    """Text options and arguments (not paths) must be Unicode text: bytes that are not UTF-8 on the command
    line (``--prime $'\\xff'``) reach Python as lone surrogates, which no output and no tokenizer can encode."""
    for param in command.params:
        if type(param.type) is not click.types.StringParamType:
            continue
        repaired = False
        for v in _values(ctx, param):
            if isinstance(v, str) and any("\ud800" <= c <= "\udfff" for c in v):
                if _from_utf8_bytes(v) is not None:
                    repaired = True
                    continue
                from rnntools.errors import UsageError

                flag = _param_name(param)
                from rnntools.console import printable

                raise UsageError(f"{flag} {printable(v)}: not valid UTF-8 text (a byte that is not UTF-8, or "
                                 "an escape of a lone surrogate); pass the text in UTF-8")
        if repaired:
            value = ctx.params[param.name]
            fix = _from_utf8_bytes
            ctx.params[param.name] = (type(value)(fix(x) if isinstance(x, str) and fix(x) is not None else x
                                                  for x in value) if isinstance(value, (tuple, list)) else fix(value))


def _param_name(param: click.Parameter) -> str:
    """A parameter as the user names it in a message: an option's long flag, an argument's name."""
    return max(param.opts, key=len) if isinstance(param, click.Option) else param.human_readable_name


def _from_utf8_bytes(value: str) -> str | None:
    """The text of an argument that Python decoded in a locale that is not UTF-8 (``LC_ALL=POSIX`` with
    ``PYTHONUTF8=0``: ASCII, every other byte a surrogate escape), read again as the UTF-8 bytes it was: ``--prime
    café`` was refused as "not valid UTF-8 text". None when the bytes are not UTF-8 either."""
    import os

    try:
        return os.fsencode(value).decode("utf-8")
    except (UnicodeError, ValueError):
        return None


# options whose second appearance would silently drop the first: an output never written (GNU sort refuses two -o
# too), a list of values of which only the last part is used. Every other option given twice takes its last value,
# as in click, argparse and git: wrappers and aliases (`alias t='rnntools rnn-train --threads 2'; t --threads 4`)
# rely on that.
REPEAT_REFUSED = {"output": "a run writes one; give it once", "save_table": "a run writes one; give it once",
                  "log_path": "a run writes one; give it once",
                  "intervals": "give its levels once, separated by commas (--intervals 80,95)",
                  "covariates": "give its columns once, separated by commas (--covariates a,b)"}


def _check_repeated_options(command: click.Command, ctx: click.Context, args: list[str]) -> None:
    """An output (``-o``, ``--log``, ``--save-table``) or a comma-separated list (``--intervals``, ``--covariates``)
    given twice is a usage error: click kept the last value, so ``--intervals 80 --intervals 95`` wrote the 95%
    interval alone and ``-o a.jsonl -o b.jsonl`` never wrote ``a.jsonl``, exit 0 both."""
    try:
        _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    except click.UsageError:
        return   # click's own parse says what is wrong
    if command.get_help_option(ctx) in order:
        return   # --help anywhere shows the help, whatever else the line holds
    seen: dict[str, int] = {}
    for param in order:
        if isinstance(param, click.Option) and not param.multiple and param.name in REPEAT_REFUSED:
            seen[param.name] = seen.get(param.name, 0) + 1
            if seen[param.name] == 2:
                flag = "/".join(param.opts)
                raise click.UsageError(f"{flag} is given twice: {REPEAT_REFUSED[param.name]}", ctx)


def _check_empty_paths(command: click.Command, ctx: click.Context) -> None:
    """An empty input file name (an unset shell variable: ``--resume "$CKPT"``) is a usage error naming its option:
    an empty ``--resume``, ``--vocab``, ``--embeddings`` or ``--analogies`` read as "not given" (training from
    scratch, silently), and an empty input was ``: no such file``, naming nothing. (Outputs: ``io.open_output``.)"""
    for param in command.params:
        if not isinstance(param.type, click.Path) or param.name in OUTPUT_PARAMS + APPENDED_PARAMS:
            continue
        if "" in _values(ctx, param):
            from rnntools.errors import UsageError

            what = (_param_name(param) if isinstance(param, click.Option)
                    else f"an input file name ({param.human_readable_name})")
            raise UsageError(f"{what} is empty (an unset shell variable?); give a file name, or - for standard input")


def _check_working_folder(command: click.Command, ctx: click.Context) -> None:
    """A shell whose current folder was deleted (by another terminal, a cleanup job) has no working folder:
    a relative path cannot be found or made there, and numba's compiler and ``os.path.abspath`` fail with a
    bare "No such file or directory". A relative path is an error naming it; with absolute paths only, the
    command runs from ``/``."""
    import os

    try:
        os.getcwd()
        return
    except OSError:
        pass
    from rnntools.errors import RnnToolsError

    for param in command.params:
        if not isinstance(param.type, click.Path):
            continue
        for path in _values(ctx, param):
            if isinstance(path, str) and path not in ("", "-") and not os.path.isabs(path):
                raise RnnToolsError(f"{path}: a relative path, but the current folder no longer exists (deleted?); "
                                    "cd to a folder that exists, or give absolute paths")
    os.chdir("/")


# nargs=-1 arguments that read standard input when none are given (evaluate's inputs are not read for
# vectors, and its model on stdin with no inputs is its own check)
STDIN_WHEN_EMPTY = ("inputs", "corpus")


def check_stdin_once(command: click.Command, ctx: click.Context) -> None:
    """Standard input can be read once: two inputs that both ask for it (`bow --vocab -` with the texts on
    stdin, `export - --words -`, `evaluate - --analogies -`) left the second one empty, so the command ran on
    nothing, silently, or failed on the other's data."""
    readers = _stdin_readers(command, ctx)
    if len(readers) > 1:
        from rnntools.errors import UsageError

        raise UsageError(f"standard input (-) can be read once, but {' and '.join(readers)} "
                         f"{'both ask' if len(readers) == 2 else 'ask'} for it; give "
                         f"{'one of them as a file' if len(readers) == 2 else 'all but one of them as files'}")


def _stdin_readers(command: click.Command, ctx: click.Context) -> list[str]:
    """The inputs of a parsed command line that read standard input (given as -, or none given)."""
    readers = []
    for param in command.params:
        if not isinstance(param.type, click.Path) or param.name in OUTPUT_PARAMS + APPENDED_PARAMS:
            continue
        values = _values(ctx, param)
        given = ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE
        implicit = (isinstance(param, click.Argument) and param.nargs == -1 and not values
                    and param.name in STDIN_WHEN_EMPTY and command.name != "evaluate")
        if (given and "-" in values) or implicit:
            name = _param_name(param) + (" (none given: stdin)" if implicit else "")
            readers.append(name)
    return readers


def check_command_outputs(command: click.Command, ctx: click.Context) -> None:
    """The output policy's checks for a parsed command line: outputs against inputs, folders writable."""
    outputs, appended, inputs = [], [], []
    stdout = False
    for param in command.params:
        if param.name in REPLACEABLE_INPUTS:
            continue
        values = _values(ctx, param)
        if param.name in OUTPUT_PARAMS:
            outputs += values
            # no -o (or -o -): the results go to standard output, which may be a file redirected by the shell
            stdout = stdout or (param.name == "output" and ctx.params.get("output") in (None, "-"))
        elif param.name in APPENDED_PARAMS:
            appended += values
        elif isinstance(param.type, click.Path):
            inputs += values
    if outputs or appended or stdout:
        from rnntools.io import check_outputs

        check_outputs(outputs, inputs, appended=appended, stdout=stdout,
                      stdin=bool(_stdin_readers(command, ctx)) or "-" in inputs)



def check_resumed_options(ctx: click.Context, path: str) -> None:
    """The options a ``--resume`` run (``rnn-train``, ``w2v-train``) takes from the saved model (those not on the
    command line), checked as click checks them on the command line: an edited model file's ``"seq_len": 0``,
    ``"hidden": "x"`` or ``"window": 0`` went into training as it was (internal errors: ZeroDivisionError,
    TypeError; numba's typing error for a ``"share_negatives": "no"``). Lists (``intervals``,
    ``covariates``) and paths are the task's to check."""
    from rnntools.errors import ModelFileError
    from rnntools.io import read_model_meta
    from rnntools.tasks.options import flag

    if path == "-":
        return  # read once, by the task
    meta = read_model_meta(path)
    training = meta.get("training")
    saved: dict = {}
    for part in (training.get("config") if isinstance(training, dict) else None, meta.get("config")):
        if isinstance(part, dict):
            saved.update(part)
    for param in ctx.command.params:
        value = saved.get(param.name)
        if (value is None or isinstance(value, list | dict) or isinstance(param.type, click.Path | click.File)
                or ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE):
            continue
        try:
            converted = param.type.convert(value, param, ctx)
            # click converts 1.5 to an integer option's 1 and "x" to a text option's "x": the type must match
            if type(converted) is not type(value) and not (type(converted) is float and type(value) is int):
                raise click.BadParameter(f"{value!r} is not of the option's type ({param.type.name})")
        except click.BadParameter as exc:
            raise ModelFileError(f"corrupt model file (its saved {flag(param.name)} {value!r}: {exc.message}); "
                                 f"cannot --resume it", path) from None


def option(*args, group: str = "Options", **kwargs):
    """``click.option`` placed in a help section."""
    return click.option(*args, cls=GroupedOption, group=group, **kwargs)


def inputs_argument(name: str = "inputs"):
    """Zero or more input files; none means stdin (``-``)."""
    return click.argument(name, nargs=-1, type=click.Path(allow_dash=True, dir_okay=False))


def default_inputs(inputs: tuple[str, ...]) -> list[str]:
    return list(inputs) or ["-"]


encoding_errors_option = option(
    "--encoding-errors", type=click.Choice(["strict", "replace"]), default="strict", show_default=True,
    group="Input", help="On invalid UTF-8: stop with an error naming file, line and byte, or replace the bytes.")

# numpy's generators take non-negative seeds only: a negative one is a usage error, not an internal one
SEED = click.IntRange(min=0)

seed_option = option("--seed", type=SEED, default=1, show_default=True, group="Options",
                     help="Random seed; the same seed gives the same result with --threads 1.")

def _configure_threads(ctx, param, value):
    """Applies --threads once, while the command line is parsed (before the command runs), in this one
    place; the command still receives the value as given (None: not given)."""
    from rnntools.parallel import configure_threads

    configure_threads(value)
    return value


THREADS_HELP = "Cores this command may use (worker threads and processes, numba, BLAS) [default: all available]."

threads_option = option("--threads", type=click.IntRange(1, 256), default=None, group="Options",
                        callback=_configure_threads, help=THREADS_HELP)

scheduler_option = option(
    "--scheduler", envvar="RNNTOOLS_SCHEDULER", default=None, metavar="ADDRESS", group="Cluster",
    help="Run on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N to start N worker processes "
         "here; also read from RNNTOOLS_SCHEDULER ('none' runs in this process). Inputs and the model must be "
         "files the workers can read. Needs: pip install 'rnntools[dask]'.")
