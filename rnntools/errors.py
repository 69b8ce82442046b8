"""Errors the library raises for the CLI to print as one line.

A message says what is wrong, where (file:line when there is one) and, when it helps, what to try.
The CLI prints ``rnntools CMD: error: MESSAGE`` and exits with ``exit_code``; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import math
import os

EXIT_OK = 0
EXIT_ERROR = 1  # bad data, bad model file, runtime failure
EXIT_USAGE = 2  # click's own usage errors
EXIT_INTERRUPTED = 130  # Ctrl-C, after saving what can be saved


class RnnToolsError(Exception):
    """An error with a message fit for the user; no traceback needed."""

    exit_code = EXIT_ERROR


def interrupted_within(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt (Ctrl-C, or SIGTERM/SIGHUP, which rnntools turns into one) is among the
    exceptions ``exc`` was raised from or while handling. Python wraps one that lands in some places: in a class
    body's ``__set_name__`` it becomes a RuntimeError ("Error calling __set_name__"), and a library's
    ``except ImportError`` around a half-done import turns it into an ImportError. A Ctrl-C while matplotlib was
    imported was "internal error (RuntimeError ...)" or "pictures need matplotlib: pip install", exit 1."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def where(path: str | os.PathLike | None, line: int | None = None) -> str:
    """``name:line`` for messages; stdin is shown as ``<stdin>``."""
    name = "<stdin>" if path in (None, "-") else os.fspath(path)
    return f"{name}:{line}" if line is not None else name


class InputError(RnnToolsError):
    """Bad input data; the message names the file and, when known, the line."""

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.path, self.line, self.reason = path, line, message
        super().__init__(f"{where(path, line)}: {message}" if path is not None or line is not None else message)


class ModelFileError(RnnToolsError):
    """A model file that is missing, truncated, foreign, of another kind or of a newer format."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = path
        super().__init__(f"{where(path)}: {message}" if path is not None else message)


class TrainingError(RnnToolsError):
    """Training cannot go on (NaN loss, nothing to learn from, ...)."""


class UsageError(RnnToolsError):
    """Options that parse but do not make sense together; exits 2 like click's usage errors."""

    exit_code = EXIT_USAGE


class OutputError(RnnToolsError):
    """An output that cannot be written: missing or read-only folder, full disk, closed stdout."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = path
        super().__init__(f"{where(path)}: {message}" if path is not None else message)


def _size(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def available_memory() -> int:
    """Bytes this process may still allocate: the smallest of the memory the system has available, the
    cgroup's limit and the address-space limit (``ulimit -v``) less what is mapped already."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
                elif line.startswith("SwapFree:"):
                    swap = int(line.split()[1]) * 1024
                    if limits:
                        limits[0] += swap
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            text = f.read().strip()
        if text != "max":
            with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
                limits.append(int(text) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            used = 0
            with open("/proc/self/statm", encoding="ascii") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limits.append(soft - used)
    except (OSError, ValueError, ImportError):
        pass
    return max(0, min(limits)) if limits else 1 << 62


def check_memory(nbytes: float, what: str, lower: str) -> None:
    """Stop before allocating when ``nbytes`` (an estimate of what ``what`` needs: parameters, optimiser
    state, activations...) cannot fit in the memory available; ``lower`` names the options to lower.

    Raises a usage error (exit 2): the sizes come from options, and failing at once beats a MemoryError
    (or the kernel's OOM killer) after the data has been read.
    """
    available = available_memory()
    if nbytes > available:
        raise UsageError(f"{what} would need about {_size(nbytes)} of memory, more than the "
                         f"{_size(available)} available; lower {lower}")


# what a tampered or foreign metadata entry raises while a task builds its model from it
_META_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, ZeroDivisionError)


def _model_source(source) -> str | None:
    path = getattr(source, "path", source)
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else None


def model_loader(what: str):
    """Decorates a task's ``load(source, ...)``: a metadata entry of the wrong type, range or length (a
    tampered or hand-edited file) becomes one ``ModelFileError`` naming the file, never an internal error.

    Loading builds the network from the metadata and checks every array's shape against it (the layers
    do), so what goes wrong there is the file's fault, whatever exception Python raises for it."""
    import functools

    def wrap(load):
        @functools.wraps(load)
        def checked(source, *args, **kwargs):
            try:
                return load(source, *args, **kwargs)
            except _META_ERRORS as exc:
                reason = f"missing entry {exc}" if isinstance(exc, KeyError) else f"{exc.__class__.__name__}: {exc}"
                raise ModelFileError(f"corrupt {what} model file ({reason[:200]})", _model_source(source)) from None

        return checked

    return wrap


def check_meta_ints(values: dict, names, low: int = 1, high: int = 1 << 31) -> None:
    """Sizes read from a model's metadata must be integers in [low, high]; a ValueError otherwise (which
    ``model_loader`` reports as a corrupt file)."""
    for name in names:
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} is {value!r}, expected an integer from {low} to {high}")


def check_meta_numbers(values: dict, names, low: float = 0.0, high: float = math.inf, *,
                       low_open: bool = True) -> None:
    """Real numbers read from a model's metadata (a classifier's temperature) must be finite and in range
    (above ``low``, or from it with ``low_open=False``, up to ``high``); absent ones keep their defaults. A
    ValueError otherwise (which ``model_loader`` reports as a corrupt file): a temperature of 0 divided
    every logit by zero, a negative one turned the probabilities upside down, silently."""
    for name in names:
        if name not in values:
            continue
        value = values[name]
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
              and (value > low if low_open else value >= low) and value <= high)
        if not ok:
            raise ValueError(f"{name} is {value!r}, expected a number {'above' if low_open else 'from'} {low:g}"
                             + (f" up to {high:g}" if high != math.inf else ""))



def check_built_from(saved, params: dict) -> None:
    """A network built from a model file must have found every parameter it has among the file's arrays
    (``saved``: their names), and used them all: the layers create the parameters they miss, randomly, so a
    ``"layers": 2`` edited into a one-layer language model or forecaster sampled and forecast through a
    random second layer, exit 0. A ValueError otherwise (which ``model_loader`` reports as a corrupt file)."""
    missing, unused = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
    if missing:
        raise ValueError(f"the metadata asks for arrays the file does not hold: {', '.join(missing[:3])}"
                         + (" ..." if len(missing) > 3 else ""))
    if unused:
        raise ValueError(f"arrays the metadata's network does not use: {', '.join(unused[:3])}"
                         + (" ..." if len(unused) > 3 else ""))


def check_meta_level(config: dict, name: str, level: str, vocabulary: str = "vocabulary") -> None:
    """A model's saved ``config[name]`` (``level``, ``target_level``) must be its vocabulary's level: the
    vocabulary decides how texts are split, and the option --resume takes from the file (a ValueError otherwise;
    a classifier saved as "char" beside a word vocabulary was taken silently). Absent or null: not checked."""
    if config.get(name) is not None and config[name] != level:
        raise ValueError(f"config.{name} is {config[name]!r}, but the {vocabulary} is {level}-level")


def check_meta_bools(values: dict, names) -> None:
    """Switches read from a model's metadata must be true or false (a ValueError otherwise): ``"no"`` was
    read as true. Absent ones keep their defaults."""
    for name in names:
        if name in values and not isinstance(values[name], bool):
            raise ValueError(f"{name} is {values[name]!r}, expected true or false")
