"""Option bundles and help formatting shared by the commands (click and the standard library only)."""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class GroupedOption(click.Option):
    """An option that belongs to a section of ``--help`` (torch-rnn style: data, model, training...)."""

    def __init__(self, *args, group: str = "Options", **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group


class GroupedCommand(click.Command):
    """Shows options under their section headings, in the order the sections first appear."""

    def format_options(self, ctx, formatter):
        sections: dict[str, list] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(getattr(param, "group", "Options"), []).append(record)
        for name, rows in sections.items():
            with formatter.section(name):
                formatter.write_dl(rows)


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

seed_option = option("--seed", type=int, default=1, show_default=True, group="Options",
                     help="Random seed; the same seed gives the same result with --threads 1.")

def _configure_threads(ctx, param, value):
    """Applies --threads once, while the command line is parsed (before the command runs), in this one
    place; the command still receives the value as given (None: not given)."""
    from rnntools.parallel import configure_threads

    configure_threads(value)
    return value


THREADS_HELP = "Cores this command may use (worker threads and processes, numba, BLAS) [default: all available]."

threads_option = option("--threads", type=click.IntRange(1), default=None, group="Options",
                        callback=_configure_threads, help=THREADS_HELP)
