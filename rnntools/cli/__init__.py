"""The ``rnntools`` command: a click group whose subcommands are imported only when run.

Each subcommand lives in its own module under ``rnntools.cli`` and imports only click and the standard
library at module level; heavy imports (numpy-heavy code, numba) happen inside the command function, so
``rnntools --help`` stays instant.
"""

from __future__ import annotations

import importlib
import os
import resource as _resource
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
    "plot": ("rnntools.cli.plot", "plot"),
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
    "plot": "Draw forecasts, training curves, word maps, confusion matrices (PNG/SVG or text).",
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
        return _with_global_options(getattr(importlib.import_module(module_name), attr))

    def format_help_text(self, ctx, formatter):
        from rnntools.cli.common import help_from_source  # python -OO dropped the docstring

        help_from_source(self)
        super().format_help_text(ctx, formatter)

    def format_commands(self, ctx, formatter):
        # short help from a table, so listing the commands imports none of them
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _set_quiet(ctx, param, value):
    if value:
        from rnntools import console

        console.configure(quiet=True, command=console.command_name())


def _set_debug(ctx, param, value):
    from rnntools.cli.common import set_debug

    set_debug(ctx, param, value)


def _with_global_options(command: click.Command) -> click.Command:
    """-q/--quiet and --debug work after the subcommand too (`rnntools predict m.npz -q`), as people type
    them; added once per command object, to groups' subcommands as well."""
    if getattr(command, "_rnntools_global_options", False):
        return command
    from rnntools.cli.common import GroupedOption

    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    if not taken & {"-q", "--quiet"}:
        command.params.append(GroupedOption(["-q", "--quiet"], is_flag=True, expose_value=False, is_eager=True,
                                            callback=_set_quiet, group="Global",
                                            help="No progress, messages or warnings on stderr."))
    if "--debug" not in taken:
        command.params.append(GroupedOption(["--debug"], is_flag=True, expose_value=False, callback=_set_debug,
                                            is_eager=True, group="Global", help="Show tracebacks on errors."))
    command._rnntools_global_options = True
    for sub in getattr(command, "commands", {}).values():
        _with_global_options(sub)
    return command


def _available(name: str) -> bool:
    module_name = COMMANDS[name][0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="rnntools")
@click.option("-q", "--quiet", is_flag=True, help="No progress, messages or warnings on stderr.")
@click.option("--debug", is_flag=True, is_eager=True, callback=_set_debug,
              help="Show tracebacks on errors (also RNNTOOLS_DEBUG=1).")
@click.pass_context
def cli(ctx, quiet, debug):
    """Word vectors and recurrent neural networks from the shell.

    \b
        rnntools vocab corpus.txt > vocab.jsonl
        rnntools w2v-train corpus.txt -o vectors.npz
        echo 'king - man + woman' | rnntools neighbors vectors.npz
        rnntools rnn-train --task lm book.txt -o lm.npz && rnntools sample lm.npz --prime 'In the'

    Exit status: 0 success, 1 data or runtime error, 2 usage error, 130 interrupted (143 by SIGTERM, 129 by
    SIGHUP).
    """
    from rnntools import console

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug or ctx.obj.get("debug", False)
    console.configure(quiet=quiet, command=f"rnntools {ctx.invoked_subcommand or ''}".strip())


class _ClosedStream:
    """Stands for a standard stream that was closed when rnntools started (``<&-``, ``>&-``): its file
    descriptor now holds /dev/null (so no file opened later takes its number), and using it is a
    one-line error, not an AttributeError on None."""

    rnntools_closed = True
    closed = False
    encoding = "utf-8"

    def __init__(self, name: str, error):
        self._name, self._error = name, error

    def _fail(self, *args, **kwargs):
        raise self._error(f"standard {self._name} is closed")

    read = readline = readlines = write = writelines = fileno = _fail

    @property
    def buffer(self):
        self._fail()

    def isatty(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _QuietStderr:
    """stderr that never fails the command: a closed stderr or one whose reader went away (EPIPE) loses
    the messages, not the work (a successful run stays exit 0)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self._to_devnull()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._to_devnull()

    def _to_devnull(self):
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 2)
            os.close(fd)
        except OSError:
            pass
        self._stream = open(os.devnull, "w")

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _guard_standard_streams() -> None:
    from rnntools.errors import InputError, OutputError

    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed = True
        else:
            closed = False
        if closed:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if fd == 0:
                sys.stdin = _ClosedStream("input", InputError)
            elif fd == 1:
                sys.stdout = _ClosedStream("output", lambda m: OutputError(m + "; give an output file with -o"))
            else:
                sys.stderr = open(os.devnull, "w")
    _blocking_standard_streams()
    _utf8_stdout()
    if sys.stderr is not None and not isinstance(sys.stderr, _QuietStderr):
        sys.stderr = _QuietStderr(sys.stderr)


_made_blocking: dict[int, int] = {}   # fd -> its file status flags when rnntools started


def _blocking_standard_streams() -> None:
    """Standard streams that another program left non-blocking (O_NONBLOCK on a shared pipe or terminal: node,
    some ssh and terminal multiplexers) are made blocking for the run and put back at exit, as bash does with
    its input. Python's own file objects lose data on them without an error: a read that finds the pipe empty
    for a moment is the end of the input (`vocab` found no words, `predict` wrote nothing, exit 0), and a write
    that finds it full drops what did not fit (`sample --length 200000 | slow-reader` delivered 64 KiB, exit 0)."""
    import atexit
    import fcntl

    for fd in (0, 1, 2):
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            if flags & os.O_NONBLOCK:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
                _made_blocking.setdefault(fd, flags)
        except OSError:
            pass
    if _made_blocking and not getattr(_restore_nonblocking, "registered", False):
        _restore_nonblocking.registered = True
        atexit.register(_restore_nonblocking)


def _restore_nonblocking() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    import fcntl

    for fd, flags in _made_blocking.items():
        try:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)
        except OSError:
            pass


def _utf8_stdout() -> None:
    """Write standard output as UTF-8 whatever the locale or PYTHONIOENCODING say, as jq does: JSONL is
    UTF-8 by definition and a text output must read back into the next command; with an ASCII or Latin-1
    stdout every non-ASCII token was an internal error (UnicodeEncodeError) halfway through the output.
    Standard error keeps its encoding (its messages escape what it cannot show)."""
    import codecs
    import io

    out = sys.stdout
    if isinstance(out, io.TextIOWrapper) and codecs.lookup(out.encoding).name != "utf-8":
        try:
            out.reconfigure(encoding="utf-8")
        except (ValueError, OSError):   # pragma: no cover - already written to, or detached
            pass


_signals = {"by": 0, "pid": 0}   # "by": the signal (SIGTERM, SIGHUP) that interrupted the run, else 0;
# "caught": main() is in the try that turns a KeyboardInterrupt into the interruption's status


def _on_sigterm(signum, frame):
    # SIGTERM, and SIGHUP (the terminal or ssh session went away), are interruptions like Ctrl-C: training
    # saves what it has, outputs are left as they were, nothing half-written is left behind
    import signal

    if os.getpid() != _signals["pid"]:  # a forked worker not yet past its own set-up: just die
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    handler = signal.getsignal(signal.SIGINT)
    if getattr(handler, "rnntools_at_start", False):  # still importing: nothing begun
        handler(signum, frame)
    _signals["by"] = signum
    if callable(handler):  # the trainer's (save, then stop) or Python's own (KeyboardInterrupt)
        handler(signal.SIGINT, frame)
    elif not _signals.get("caught"):  # SIGINT ignored, and main() not yet in the try that catches the
        _interrupted_before_the_command(signum)  # KeyboardInterrupt (it was a traceback, exit 130)
    else:  # SIGINT ignored, as in a job a script started with `&`: SIGTERM must still stop the run
        raise KeyboardInterrupt


def _interrupted_before_the_command(signum: int) -> None:
    # nothing has begun and nothing is open: end as rnntools.__main__ does while the modules are imported
    import signal

    try:
        os.write(2, f"rnntools: interrupted ({signal.Signals(signum).name})\n".encode())
    except OSError:
        pass
    os._exit(128 + signum)


def _default_or_at_start(signum, default) -> bool:
    """Whether the handler of ``signum`` is ``default`` or the start-up one standing for it (``rnntools.__main__``)."""
    import signal

    handler = signal.getsignal(signum)
    return handler == default or getattr(handler, "rnntools_at_start", False)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the group and turns library errors into one-line messages and exit statuses."""
    import signal

    from rnntools.errors import RnnToolsError

    _guard_standard_streams()
    # `python -m rnntools` set handlers for the imports (rnntools.__main__); they stand for the defaults here
    if argv is None and _default_or_at_start(signal.SIGTERM, signal.SIG_DFL):  # a real process, not a test
        _signals["pid"] = os.getpid()
        signal.signal(signal.SIGTERM, _on_sigterm)
        if _default_or_at_start(signal.SIGHUP, signal.SIG_DFL):  # under nohup it stays ignored
            signal.signal(signal.SIGHUP, _on_sigterm)
    args = list(argv) if argv is not None else sys.argv[1:]
    from rnntools.cli.common import DEBUG

    # --debug is known once click has parsed it (its callback sets DEBUG): read at the time of an error
    DEBUG["on"] = _debug_from_environment(args)
    _numba_environment(args)
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL),
                            (signal.SIGHUP, signal.SIG_DFL)):
        if getattr(signal.getsignal(signum), "rnntools_at_start", False):  # from here on, Ctrl-C is the
            signal.signal(signum, default)                                  # KeyboardInterrupt caught below
    _signals["caught"] = True
    try:
        cli.main(args=args, prog_name="rnntools", standalone_mode=False)
    except click.exceptions.Exit as exc:
        _exit(exc.exit_code)
    except click.ClickException as exc:
        _click_error(exc)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        # click turns Ctrl-C and EOF at a prompt into Abort; an EOFError from a reader (a truncated .gz) is
        # a data error, not an interruption
        if isinstance(exc, click.exceptions.Abort) and isinstance(exc.__context__, EOFError):
            if DEBUG["on"]:
                raise
            _error(f"unexpected end of input ({exc.__context__}); is a compressed file truncated?", 1)
        if DEBUG["on"] and isinstance(exc, KeyboardInterrupt):
            raise
        _interrupted()
    except (BrokenPipeError, _PipeClosed):
        _quiet_broken_pipe()
    except RnnToolsError as exc:
        if DEBUG["on"]:
            raise
        _error(str(exc), exc.exit_code)
    except MemoryError:
        if DEBUG["on"]:
            raise
        _error(_OUT_OF_MEMORY + _address_limit_reached(), 1)
    except OSError as exc:
        if DEBUG["on"]:
            raise
        _error(_OUT_OF_MEMORY + limit if (limit := _address_limit_reached()) else _os_message(exc), 1)
    except RecursionError:
        if DEBUG["on"]:
            raise
        _error("input nested too deeply", 1)
    except Exception as exc:  # a bug: still one line, with the way to the traceback
        if DEBUG["on"]:
            raise
        from rnntools.errors import interrupted_within

        if interrupted_within(exc):  # a Ctrl-C that Python wrapped (in a class body, an import)
            _interrupted()
        if limit := _address_limit_reached():  # C code that failed to allocate: a shared library that
            _error(_OUT_OF_MEMORY + limit, 1)  # would not map, a thread that would not start, NULL returns
        _error(f"internal error ({exc.__class__.__name__}: {str(exc)[:300]}); run with --debug for the "
               "traceback and report it", 1)
    else:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_broken_pipe()
        except OSError as exc:   # the last of the output, buffered until now (`> /dev/full`)
            _error(f"standard output: cannot write ({exc.strerror or exc})", 1)
        _exit(0)


def _interrupted() -> None:
    import signal

    from rnntools.errors import EXIT_INTERRUPTED

    by = _signals["by"]
    print("rnntools: interrupted" + (f" ({signal.Signals(by).name})" if by else ""), file=sys.stderr)
    _exit(128 + by if by else EXIT_INTERRUPTED)


_OUT_OF_MEMORY = ("out of memory; lower the sizes (--hidden, --embed-dim, --dim, --batch, --max-vocab) or give the "
                  "process more memory")


def _address_limit_reached() -> str:
    """When the process ran into its address-space limit (`ulimit -v`), what to say about it; else "".

    Under such a limit the failures are rarely a MemoryError: numba's compiled library or a numpy module
    fails to map, a thread fails to start, a C function returns NULL without an exception. The process's
    peak address space within a few megabytes of the limit says which it was."""
    try:  # no imports and no text decoding here: there may be no memory left for them
        limit = _resource.getrlimit(_resource.RLIMIT_AS)[0]
        if limit == _resource.RLIM_INFINITY:
            return ""
        with open("/proc/self/status", "rb") as status:
            peak = next((int(line.split()[1]) * 1024 for line in status if line.startswith(b"VmPeak:")), 0)
    except Exception:
        return ""
    if peak < limit - (64 << 20):
        return ""
    return (f" (the address-space limit, `ulimit -v`, is {limit >> 20} MB: numba, BLAS and their threads reserve "
            "several hundred MB more than they use)")


_TRUE, _FALSE = {"1", "true", "yes", "on", "y", "t"}, {"", "0", "false", "no", "off", "n", "f"}


def _debug_from_environment(args: list[str]) -> bool:
    """RNNTOOLS_DEBUG read as click reads a flag's variable, in one place: "0", "false", "no" and "off" are
    off (any value but "" and "0" used to turn tracebacks on, while click refused "abc" naming --debug)."""
    from rnntools import console

    value = os.environ.get("RNNTOOLS_DEBUG", "").strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    command = next((a for a in args if a in COMMANDS), None)
    console.configure(command=f"rnntools {command}" if command else "rnntools")
    _error(f"RNNTOOLS_DEBUG={os.environ['RNNTOOLS_DEBUG']!r} is not a yes or no (use 1 or 0; true/false, yes/no "
           "and on/off also work)", 2)
    return False


def _numba_environment(args: list[str]) -> None:
    """numba's own variables, read before any work. NUMBA_DISABLE_JIT=1 (numba's debugging switch) runs every
    kernel as plain Python: the hand-written vector and atomic kernels cannot run that way at all (training
    was an internal error after the data was read) and the rest thousands of times slower, so it is a usage
    error naming the variable. A value numba cannot parse (NUMBA_OPT=x) is ignored by numba with a warning
    that quotes its parser's traceback: said here in one line instead."""
    import warnings

    value = os.environ.get("NUMBA_DISABLE_JIT", "")
    try:
        disabled = int(value) != 0   # as numba reads it
    except ValueError:
        disabled = False
    if disabled and not {"-h", "--help", "--version"} & set(args):
        from rnntools import console

        command = next((a for a in args if a in COMMANDS), None)
        console.configure(command=f"rnntools {command}" if command else "rnntools")
        _error(f"NUMBA_DISABLE_JIT={value!r} turns numba's compiler off, and rnntools's kernels need it (as plain "
               "Python they are thousands of times slower, and its vector kernels cannot run at all); unset it "
               "or set it to 0", 2)
    shown = warnings.showwarning
    if getattr(shown, "rnntools_numba", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if text.startswith("Environment variable '") and "numba" in str(filename):
            from rnntools import console

            name = text.split("'")[1]
            console.warn(f"{name}={os.environ.get(name, '')!r} is not a value numba understands; numba ignores it")
            return
        shown(message, category, filename, lineno, file, line)

    showwarning.rnntools_numba = True
    warnings.showwarning = showwarning


def _click_error(exc: click.ClickException) -> None:
    """click's errors in the one-line form of every other error (click's own is three lines: usage, a hint,
    the error), naming the command and pointing at its --help for usage errors."""
    ctx = getattr(exc, "ctx", None)
    from rnntools import console

    name = ctx.command_path if ctx is not None else "rnntools"
    try:
        if exc.__class__.__name__ == "NoArgsIsHelpError":  # `rnntools` alone: the help is the message
            exc.show()
        else:
            message = " ".join(exc.format_message().split())
            if isinstance(exc, click.UsageError):
                message = message.rstrip(".") + f" (see '{name} --help')"
            print(console.printable(f"{name}: error: {message}"), file=sys.stderr)
    except (OSError, ValueError):
        pass
    _exit(exc.exit_code)


def _os_message(exc: OSError) -> str:
    import errno
    import re

    reason = exc.strerror or str(exc)
    where = f"{exc.filename}: " if exc.filename else ""
    library = re.search(r"shared object file '([^']+)'", reason) if exc.errno is None else None
    if library:  # ctypes' or llvmlite's dlopen failed: under `ulimit -v`, or a broken install
        return (f"cannot load the shared library {library.group(1)} (too little memory for the process, as "
                "under a `ulimit -v` limit, or a broken installation)")
    if exc.errno == errno.ENOSPC:
        return f"{where}no space left on device (nothing was replaced; free some space and run again)"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{where}{reason} (cannot write there; choose another place)"
    if exc.errno == errno.EMFILE:
        from rnntools.io.inputs import too_many_open_files

        return too_many_open_files()
    if exc.errno == errno.EBADF:
        return f"{where}{reason} (a standard stream is closed?)"
    return f"{where}{reason}"


def _error(message: str, code: int) -> None:
    from rnntools import console

    # a message that does not fit on one line would not be one error line any more
    message = " ".join(message.split("\n"))
    if len(message) > 2000:  # it quotes a value from the input (a 300 KB series name): keep both ends
        message = f"{message[:1000]} ...[{len(message) - 1800} characters]... {message[-800:]}"
    print(console.printable(f"{console.command_name()}: error: {message}"), file=sys.stderr)
    _exit(code)


def _quiet_broken_pipe() -> None:
    # the reader went away (`| head`): stop quietly, as cat and grep do, and keep Python from
    # complaining when it flushes stdout at exit
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    _exit(0)


def _late_signal(signum, frame):
    # the run is over and its outputs are written: a signal that arrives while Python shuts down (joining
    # the engine's threads can take a while on a busy machine) ends the process at once with the
    # interruption's status, instead of a KeyboardInterrupt traceback from the interpreter's exit hooks
    try:
        os.write(2, b"rnntools: interrupted\n")
    except OSError:
        pass
    os._exit(128 + signum)


def forget_unhandled_interrupt() -> None:
    """Clear CPython's record of a KeyboardInterrupt that escaped code run from a string, so that the exit
    status chosen here is the one the process ends with.

    Why: CPython notes a KeyboardInterrupt that leaves a string ``exec``/``eval`` (``PyRun_String``: the
    generated ``__init__`` of every dataclass, every namedtuple's ``__new__``, code numba writes) and, when the
    program was started with ``python -m``, ends the process by SIGINT at exit whatever status it exits with, even
    when the interruption was caught. A Ctrl-C (or SIGTERM, which rnntools turns into it) that came while such
    code ran during the command's imports printed "rnntools: interrupted" and then died by SIGINT: -2 to a
    parent waiting on it instead of 130 or 143. The record is reset at the start of every string ``exec``, so an
    empty one clears it."""
    try:
        exec("", {})
    except BaseException:  # pragma: no cover - a signal handler that raises: it ends the process anyway
        pass


def _ignore_signals_in_teardown() -> None:
    """Ignore SIGINT, SIGTERM and SIGHUP for the rest of the exit, once the engine's threads are joined.

    Why: after the exit functions the interpreter puts every signal's default action back and then frees its
    modules (numba's, llvmlite's, numpy's: a tenth of a second or more on a busy machine), where no Python handler
    runs any more. A Ctrl-C then (pressed twice during training, or once just as a run ended) killed the finished
    run by SIGINT: -2 to a parent waiting on it, a status rnntools does not document. A signal ignored here leaves
    the run's own status; one that came before it (while threads were joined) is handled by ``_late_signal``, which
    ``signal.signal`` runs first."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):  # pragma: no cover - not the main thread
            pass


def _exit(code: int | None) -> None:
    if _signals["pid"] == os.getpid():  # a real process (not a test calling main), in its main thread
        import gc
        import signal

        # the interpreter's last garbage collection walks every object numba and numpy made (0.07-0.12 s
        # after a classifier's predict); frozen, they are left to the exit, which frees them all anyway
        gc.freeze()

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) != signal.SIG_IGN:  # a job started with `&` keeps ignoring SIGINT
                signal.signal(sig, _late_signal)
        import atexit

        atexit.register(_ignore_signals_in_teardown)  # the first exit function to run: after the threads' joins
    forget_unhandled_interrupt()
    try:
        if sys.stdout is not None and not sys.stdout.closed:
            sys.stdout.flush()
    except BrokenPipeError:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        except OSError:
            pass
    except (OSError, ValueError):
        if not code:
            print("rnntools: error: cannot write standard output", file=sys.stderr)
            code = 1
    sys.exit(code or 0)
