"""Writers: the JSONL writer and the one policy for every file a command writes (atomic replace)."""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from rnntools import console
from rnntools.errors import OutputError, UsageError, where
from rnntools.io.inputs import STDIN, _os_reason, _stdin


class JsonlWriter:
    """Writes one JSON object per line, UTF-8, keys in insertion order; flushes when asked or when done."""

    def __init__(self, stream: IO[str] | None = None):
        self._stream = stream if stream is not None else sys.stdout

    def write(self, record: dict) -> None:
        self._stream.write(_encode(record))
        self._stream.write("\n")
        if _stdin["idle"]:
            self._stream.flush()  # the input is waiting for the answer (a terminal, `tail -f ... |`)

    def write_text(self, text: str) -> None:
        """Write lines already formatted as this writer would (:func:`jsonl_text`, or bulk writers that
        format faster)."""
        self._stream.write(text)
        if _stdin["idle"]:
            self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()


def jsonl_text(records: Iterable[dict]) -> str:
    """The lines :class:`JsonlWriter` writes for ``records``, as one string: for worker processes that
    format their part of the output for the one process that writes it."""
    return "".join(_encode(record) + "\n" for record in records)


def _encode(record: dict) -> str:
    try:
        text = _ENCODER.encode(record)
    except ValueError:
        # JSON has no NaN or Infinity: such a value (a diverged score) is written as null
        text = _ENCODER.encode(_nulls_for_non_finite(record))
    if console.has_surrogates(text):  # a file name that is not UTF-8 (evaluate's "model"): shown as \xff
        text = _encode(console.printable_strings(record))
    return text


def _numpy():
    """numpy if this process has imported it: otherwise no value can be one of its types, and commands that
    never need it (vocab, bow) do not pay its import."""
    return sys.modules.get("numpy")


def _nulls_for_non_finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _nulls_for_non_finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulls_for_non_finite(v) for v in value]
    np = _numpy()
    if np is not None and isinstance(value, np.ndarray):
        return _nulls_for_non_finite(value.tolist())
    if isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
        return None if not math.isfinite(value) else value
    return value


def _json_default(value: Any) -> Any:
    np = _numpy()
    if np is not None:
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# one encoder for every record (json.dumps with options builds one per call: a quarter of the time of
# writing a classifier's predictions with their probabilities)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), allow_nan=False, default=_json_default)


# --- outputs: one policy for every file a command writes -------------------------------------------------
#
# A regular file is replaced atomically: the data goes to a temporary file created exclusively (O_EXCL,
# a unique name, O_NOFOLLOW so a planted symlink is never written through) in the target's folder, is
# fsynced and renamed over the target. Readers see the old file or the new one, never half of one; two
# commands writing the same file each write their own temporary file and the last complete one wins.
# A symlink's target is what gets replaced (the link stays). A device, FIFO or socket, and the names of
# descriptors (/dev/stdout, /dev/fd/N, /proc/self/fd/N) are written in place, appending: renaming over a
# device node would turn /dev/stdout into a regular file. `-` is stdout.

def is_stdio(path: str | os.PathLike | None) -> bool:
    return path is None or os.fspath(path) == STDIN


def _written_in_place(path: str) -> bool:
    absolute = os.path.abspath(path)
    if absolute in ("/dev/stdout", "/dev/stderr", "/dev/tty") or absolute.startswith(("/dev/fd/", "/proc/")):
        return True  # another name for a descriptor this process holds: never replace what it points at
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _identity(path: str | int) -> tuple[int, int] | None:
    """A regular file's (device, inode), following links (``/dev/fd/N`` too); a descriptor number's
    (``fstat``); None for anything else: a terminal or ``/dev/null`` that is both standard input and standard
    output is the usual case, not an output onto an input (a second definition of this name, for any kind of
    file, had replaced this one: `neighbors vectors.npz king` typed at a terminal, or run with `< /dev/null >
    /dev/null`, was "standard output and standard input are one file", exit 2)."""
    try:
        st = os.fstat(path) if isinstance(path, int) else os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def repeated_file(paths: Iterable[str | os.PathLike]) -> tuple[str, str] | None:
    """The first regular file given twice among ``paths`` under any names (same device and inode: the same
    path, a link, ``./name``, ``-`` with standard input redirected from it), as (first name, second name);
    None when each is given once."""
    seen: dict[tuple[int, int], str] = {}
    for path in paths:
        path = os.fspath(path)
        key = _identity(0) if path == "-" else None if is_stdio(path) else _identity(path)
        path = where(path)
        if key is not None:
            if key in seen:
                return seen[key], path
            seen[key] = path
    return None


def _identities(inputs: list[str], stdin: bool) -> dict[tuple[int, int], str]:
    found = {key: path for path in inputs if (key := _identity(path)) is not None}
    if stdin and (key := _identity(0)) is not None:
        found.setdefault(key, "standard input")
    return found


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_outputs(outputs: Iterable[str | os.PathLike | None], inputs: Iterable[str | os.PathLike | None] = (),
                  *, appended: Iterable[str | os.PathLike | None] = (), stdout: bool = False,
                  stdin: bool = False) -> None:
    """Check a command's outputs before any work starts (a 40-epoch run must not fail at the save).

    Each output's folder must exist and take a new file (a temporary file is created and removed, which
    catches read-only file systems and permissions even for root); an output may not be a folder, one of
    the command's ``inputs`` (its model, vocabulary, data: writing there would destroy it) or another of
    its outputs. ``appended`` outputs (``--log``) are appended to, so only their folder and overlaps are
    checked. Usage errors exit 2; a folder that cannot be written exits 1.

    Files are also compared by identity (device and inode), which catches the names a path comparison
    misses: ``stdout`` (the command writes standard output) redirected onto an input (``bow f >> f`` grew f
    for as long as it ran, as ``cat f >> f``), ``-o /dev/stdin`` with ``stdin`` (the command reads standard
    input) redirected from a file (replaced it), ``-o /dev/fd/N`` or ``/proc/self/fd/N`` open on an input
    (appended to it).
    """
    inputs = [os.fspath(i) for i in inputs if not is_stdio(i)]
    identities = _identities(inputs, stdin)
    if stdout:
        name = identities.get(_identity(1))
        if name is not None:
            same = "standard output and standard input are one file" if name == "standard input" else \
                f"standard output is {name}, an input of this command"
            raise UsageError(f"{same}: writing it would destroy that input (or grow it for as long as it is "
                             "read); redirect the output elsewhere")
    outputs, appended = list(outputs), list(appended)
    _check_one_stream_each([*outputs, *appended], stdout)
    seen: dict[str, str] = {}
    for path, append in [*((o, False) for o in outputs), *((o, True) for o in appended)]:
        if is_stdio(path):
            continue
        path = os.fspath(path)
        if path == "":
            raise UsageError("an output file name is empty")
        if path.endswith(("/", "/.", "/..")) or path in (".", ".."):
            # `-o out/` wrote a file named out, where cp and the shell's > refuse a name that ends as a folder's
            raise UsageError(f"{where(path)}: the name ends with '/', as a folder's does; give a file name for the "
                             "output")
        name = identities.get(_identity(path))
        if name is not None:
            raise UsageError(f"{where(path)}: the output is also an input of this command ({name}); "
                             "writing it would destroy that input: choose another output file")
        if _written_in_place(path):
            continue
        target = _resolve(path)
        if os.path.isdir(target):
            raise UsageError(f"{where(path)}: is a folder; give a file name for the output")
        for other in inputs:
            if os.path.realpath(other) == target or _same_file(other, target):
                raise UsageError(f"{where(path)}: the output is also an input of this command ({other}); "
                                 "writing it would destroy that input: choose another output file")
        if target in seen:
            raise UsageError(f"{where(path)}: the same file is given for two outputs ({seen[target]} and {path})")
        seen[target] = path
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            raise OutputError(f"the output folder {folder} does not exist", path)
        if append and os.path.exists(target):
            if not os.access(target, os.W_OK):
                raise OutputError("cannot append to it (permission denied)", path)
            continue
        try:
            fd, tmp = _create_temp(target)
        except OSError as exc:
            raise OutputError(f"cannot create a file in {folder} ({_os_reason(exc)})", path) from None
        os.close(fd)
        os.unlink(tmp)


def _check_one_stream_each(outputs: list, stdout: bool) -> None:
    """Two outputs may not be one stream under two names: ``-o - --log /dev/stdout``, ``-o /dev/stderr --log
    /dev/stderr``, ``--log /proc/self/fd/1`` with the results on standard output wrote a model and JSONL lines
    into one stream, mixed, exit 0 (standard output redirected to a file too). ``/dev/null`` takes anything."""
    def stream(path):
        try:
            st = os.fstat(1) if is_stdio(path) else os.stat(path)
        except (OSError, ValueError):
            return None
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISCHR(st.st_mode) and st.st_rdev == null):
            return None
        return st.st_dev, st.st_ino, st.st_rdev

    try:
        null = os.stat(os.devnull).st_rdev
    except OSError:  # pragma: no cover
        null = None
    names = [os.fspath(o) if o is not None else "-" for o in outputs]
    if stdout and not any(is_stdio(o) for o in outputs):
        names.append("-")
    seen: dict = {}
    for name in names:
        key = stream(name)
        if key is None:
            continue
        if key in seen:
            first, second = ("standard output (-)" if n == "-" else n for n in (seen[key], name))
            both = "" if first == second else f" ({first} and {second})"
            raise UsageError(f"{'standard output' if name == '-' else where(name)}: the same file is given for two "
                             f"outputs{both}: they would be written into each other; give each its own file")
        seen[key] = name


def _resolve(path: str) -> str:
    """The file an output path names (a symlink's target); a symlink loop is an error, not a link to
    replace with a regular file."""
    try:
        return os.path.realpath(path, strict=True)
    except FileNotFoundError:  # a new file (or a link to one not yet there)
        return os.path.realpath(path)
    except OSError as exc:
        raise OutputError(f"cannot write there ({_os_reason(exc)})", path) from None


def _create_temp(target: str) -> tuple[int, str]:
    """A new file beside ``target``, created exclusively under a unique name, never through a symlink."""
    folder, base = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base[:200]}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")  # pragma: no cover


@contextmanager
def open_output(path: str | os.PathLike | None, binary: bool = False) -> Iterator[IO]:
    """The one way every output is written (results, model files): stdout for ``None``/``-``; a device or
    FIFO in place; a regular file (or a symlink's target) replaced atomically when the block ends without
    an error; on an error or Ctrl-C the old file is left as it was and the temporary file is removed."""
    if is_stdio(path):
        stream = sys.stdout
        if stream is None or getattr(stream, "rnntools_closed", False):
            raise OutputError("standard output is closed; give an output file with -o")
        try:
            yield stream.buffer if binary else stream
        except OSError as exc:  # `> /dev/full`, a full disk: name it, as an -o file is named
            if isinstance(exc, BrokenPipeError) or exc.errno is None:
                raise
            raise OutputError(f"standard output: cannot write ({_os_reason(exc)})") from None
        return
    path = os.fspath(path)
    mode = "wb" if binary else "w"
    encoding = None if binary else "utf-8"
    if _written_in_place(path):
        try:
            # appending: `-o /dev/stdout >> log` must not truncate the log; a device does not care
            stream = open(path, "ab" if binary else "a", encoding=encoding)
        except OSError as exc:
            raise OutputError(f"cannot write ({_os_reason(exc)})", path) from None
        try:
            with stream:
                yield stream
        except OSError as exc:  # `-o /dev/full`: name the output, as for a regular file
            if isinstance(exc, BrokenPipeError) or exc.errno is None:
                raise
            raise OutputError(f"cannot write ({_os_reason(exc)})", path) from None
        return
    target = _resolve(path)
    if os.path.isdir(target):
        raise OutputError("is a folder, not a file", path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise OutputError(f"the output folder {folder} does not exist", path)
    try:
        fd, tmp = _create_temp(target)
    except OSError as exc:
        raise OutputError(f"cannot create a file in {folder} ({_os_reason(exc)})", path) from None
    done = False
    try:
        try:
            old_mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            old_mode = None
        if old_mode is not None:
            os.fchmod(fd, old_mode)  # a replaced file keeps its permissions
        with os.fdopen(fd, mode, encoding=encoding) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
        done = True
        _replaced_here[target] = _identity(target)  # None (not recorded) if it is gone already
        _fsync_folder(folder)
    except OSError as exc:
        # an OSError without an errno is not the file system's (a shared library that would not load while
        # the block ran, under a memory limit): naming the output would send the user to the wrong place
        if isinstance(exc, BrokenPipeError) or exc.errno is None:
            raise
        ours = _replaced_here.get(target)
        kept = ("it keeps what this run saved there before" if ours is not None and ours == _identity(target)
                else "the previous file, if any, is unchanged")
        raise OutputError(f"cannot write ({_os_reason(exc)}); {kept}", path) from None
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# target -> (device, inode) of the file this process last put there: a training run saves its output again
# and again (best model, checkpoints, a forecaster's tables), and when a later save fails the file holds an
# earlier one of this run's, not "the previous file" the user had there before
_replaced_here: dict[str, tuple[int, int] | None] = {}


@contextmanager
def saving_through_interrupts() -> Iterator[None]:
    """Around an interrupted run's last save: a second Ctrl-C (or SIGTERM/SIGHUP, which rnntools turns into one)
    that comes while the model is written waits until the file is whole; the run is ending anyway.

    Why: people press Ctrl-C twice. The first asks training to stop and save; a second during that save (a few
    milliseconds to seconds) aborted it, and a new output was never written: every step since the last checkpoint
    lost, with "rnntools: interrupted" as the only message. Outside the main thread nothing is held."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _fsync_folder(folder: str) -> None:
    # the rename itself survives a crash only once the folder is on disk too
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
