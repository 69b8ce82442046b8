"""The ``rnntools`` command: a click group whose subcommands are imported only when run.

Each subcommand lives in its own module under ``rnntools.cli`` and imports only click and the standard
library at module level; heavy imports (numpy-heavy code, numba) happen inside the command function, so
``rnntools --help`` stays instant.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from rnntools import __version__

# name -> (module, function); order is the order of `rnntools --help`
COMMANDS: dict[str, tuple[str, str]] = {
    "vocab": ("rnntools.cli.vocab", "vocab"),
    "bow": ("rnntools.cli.bow", "bow"),
    "phrases": ("rnntools.cli.phrases", "phrases"),
    "w2v-train": ("rnntools.cli.w2v_train", "w2v_train"),
    "neighbors": ("rnntools.cli.neighbors", "neighbors"),
    "export": ("rnntools.cli.interop", "export"),
    "import": ("rnntools.cli.interop", "import_"),
    "rnn-train": ("rnntools.cli.rnn_train", "rnn_train"),
    "sample": ("rnntools.cli.sample", "sample"),
    "predict": ("rnntools.cli.predict", "predict"),
    "evaluate": ("rnntools.cli.evaluate", "evaluate"),
}

SHORT_HELP = {
    "vocab": "Count tokens into a vocabulary (JSONL).",
    "bow": "One-hot ids, bag of words, binary or tf-idf vectors per line.",
    "phrases": "Join frequent word pairs (new_york) before w2v-train, as word2phrase.",
    "w2v-train": "Learn word vectors (skip-gram or CBOW; negative sampling or hierarchical softmax; subwords).",
    "neighbors": "Nearest words and analogies from a vectors file.",
    "export": "Write vectors in word2vec text or binary format.",
    "import": "Read word2vec text or binary vectors into a vectors file.",
    "rnn-train": "Train an RNN/LSTM/GRU: language model, classifier, forecaster or seq2seq.",
    "sample": "Generate text from a language model, one token at a time.",
    "predict": "Apply a trained model to records on stdin or files.",
    "evaluate": "Score a model: vectors, language model, classifier, forecaster or seq2seq.",
}


class _PipeClosed(Exception):
    """The reader of stdout went away; carried past click, which would turn it into exit status 1."""


class LazyGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _PipeClosed() from exc

    def list_commands(self, ctx):
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx, name):
        if name not in COMMANDS or not _available(name):
            return None
        module_name, attr = COMMANDS[name]
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx, formatter):
        # short help from a table, so listing the commands imports none of them
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    module_name = COMMANDS[name][0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="rnntools")
@click.option("-q", "--quiet", is_flag=True, help="No progress, messages or warnings on stderr.")
@click.option("--debug", is_flag=True, envvar="RNNTOOLS_DEBUG", help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx, quiet, debug):
    """Word vectors and recurrent neural networks from the shell.

    \b
        rnntools vocab corpus.txt > vocab.jsonl
        rnntools w2v-train corpus.txt -o vectors.npz
        echo 'king - man + woman' | rnntools neighbors vectors.npz
        rnntools rnn-train --task lm book.txt -o lm.npz && rnntools sample lm.npz --prime 'In the'

    Exit status: 0 success, 1 data or runtime error, 2 usage error, 130 interrupted.
    """
    from rnntools import console

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    console.configure(quiet=quiet, command=f"rnntools {ctx.invoked_subcommand or ''}".strip())


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the group and turns library errors into one-line messages and exit statuses."""
    from rnntools.errors import EXIT_INTERRUPTED, RnnToolsError

    debug = os.environ.get("RNNTOOLS_DEBUG", "") not in ("", "0") or "--debug" in (argv or sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="rnntools", standalone_mode=False)
    except click.exceptions.Exit as exc:
        _exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        _exit(exc.exit_code)
    except click.exceptions.Abort:
        # click turns Ctrl-C and EOF at a prompt into Abort
        print("rnntools: interrupted", file=sys.stderr)
        _exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        if debug:
            raise
        print("rnntools: interrupted", file=sys.stderr)
        _exit(EXIT_INTERRUPTED)
    except (BrokenPipeError, _PipeClosed):
        _quiet_broken_pipe()
    except RnnToolsError as exc:
        if debug:
            raise
        from rnntools import console

        print(f"{console.command_name()}: error: {exc}", file=sys.stderr)
        _exit(exc.exit_code)
    else:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_broken_pipe()
        _exit(0)


def _quiet_broken_pipe() -> None:
    # the reader went away (`| head`): stop quietly, as cat and grep do, and keep Python from
    # complaining when it flushes stdout at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    _exit(0)


def _exit(code: int | None) -> None:
    sys.stdout.flush() if not sys.stdout.closed else None
    sys.exit(code or 0)
