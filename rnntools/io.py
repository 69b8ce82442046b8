"""Streaming input and output, in one place: text, JSONL and CSV readers, the JSONL writer and model files.

Readers take a path or ``-`` (stdin), decompress ``.gz``/``.bz2``/``.xz`` (by extension, or by magic bytes
on stdin), decode UTF-8 and never hold more than a bounded buffer of the input. Every error names the file
and line (and byte offset for bad encodings).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import math
import os
import stat
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, OutputError, UsageError, where

STDIN = "-"
CHUNK_BYTES = 1 << 20  # lines are read and decoded in batches of about this many bytes

def _gzip(raw):
    return gzip.GzipFile(fileobj=raw)


# wrap a raw binary stream in a decompressor
_MAGIC = {b"\x1f\x8b": _gzip, b"BZh": bz2.BZ2File, b"\xfd7zXZ": lzma.LZMAFile}
_SUFFIX = {".gz": _gzip, ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}


def display_name(path: str | os.PathLike) -> str:
    return where(path)


@contextmanager
def open_binary(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary stream of the (decompressed) input; ``-`` is stdin."""
    path = os.fspath(path)
    if path == STDIN:
        if sys.stdin.isatty():
            console.info("reading from standard input (end with Ctrl-D)")
        raw = sys.stdin.buffer
        opener = None
        if hasattr(raw, "peek"):
            head = raw.peek(6)[:6]
            opener = next((o for magic, o in _MAGIC.items() if head.startswith(magic)), None)
        yield opener(raw) if opener else raw
        return
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path) from None
    except PermissionError:
        raise InputError("permission denied", path) from None
    try:
        opener = _SUFFIX.get(os.path.splitext(path)[1].lower())
        yield opener(raw) if opener else raw
    finally:
        raw.close()


def _decode_chunk(lines: list[bytes], path, first_line: int, first_offset: int, errors: str) -> str:
    data = b"".join(lines)
    try:
        text = data.decode("utf-8", errors)
    except UnicodeDecodeError:
        pass
    else:
        return text.replace("\r\n", "\n") if b"\r" in data else text
    offset = first_offset
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"invalid UTF-8 at byte {offset + exc.start} ({exc.reason}); "
                "convert the file to UTF-8 (iconv) or pass --encoding-errors replace",
                path, first_line + i) from None
        offset += len(line)
    raise AssertionError("unreachable")  # pragma: no cover


# The longest line (or JSONL record) read whole, in bytes; `--max-line-bytes` raises it. Lines are held in
# memory (and a model's work on a line grows with it), so without a bound one newline-free file
# (/dev/zero, a 50 MB JSON array) would take all the memory there is.
MAX_LINE_BYTES = 1 << 20


def set_max_line_bytes(limit: int | None) -> None:
    """Set the line-length bound of every reader (the commands' ``--max-line-bytes``)."""
    global MAX_LINE_BYTES
    if limit is not None:
        MAX_LINE_BYTES = int(limit)


def _long_line(path, line_no: int) -> InputError:
    return InputError(f"line longer than {MAX_LINE_BYTES:,} bytes (the limit); is this a text file? "
                      "Raise the limit with --max-line-bytes if the line is meant to be read whole",
                      path, line_no)


def _split_long(line: bytes, limit: int) -> list[bytes]:
    """A line over ``limit`` bytes as pieces of at most ``limit`` bytes, cut after a space when there is one
    (else before a UTF-8 continuation byte), so no word or character is split when it can be helped."""
    pieces = []
    while len(line) > limit:
        cut = max(line.rfind(b" ", 0, limit), line.rfind(b"\t", 0, limit)) + 1
        if cut <= 0:
            cut = limit
            while cut > 1 and (line[cut] & 0xC0) == 0x80:
                cut -= 1
        pieces.append(line[:cut] + b"\n")
        line = line[cut:]
    pieces.append(line)
    return pieces


def _read_lines(stream, path, first_line: int, long_lines: str) -> Iterator[list[bytes]]:
    """Batches of about CHUNK_BYTES of whole lines, never holding more than MAX_LINE_BYTES of one line
    (plus one block)."""
    # a pipe or terminal on stdin: read1 returns what has arrived, so each line is answered as it comes
    live = _live_stdin(path, stream)
    read = stream.read1 if live else stream.read
    carry: list[bytes] = []  # the start of a line still without its end (a list: no quadratic joins)
    carry_len = 0
    line_no = first_line
    while True:
        block = read(CHUNK_BYTES)
        if not block:
            rest = b"".join(carry)
            if len(rest) > MAX_LINE_BYTES:
                if long_lines != "split":
                    raise _long_line(path, line_no)
                yield _split_long(rest, MAX_LINE_BYTES)
            elif rest:
                yield [rest]
            return
        end = block.rfind(b"\n") + 1
        if end == 0:
            carry.append(block)
            carry_len += len(block)
            if carry_len > MAX_LINE_BYTES:
                if long_lines != "split":
                    raise _long_line(path, line_no)
                *pieces, rest = _split_long(b"".join(carry), MAX_LINE_BYTES)
                carry, carry_len = [rest], len(rest)
                line_no += len(pieces)
                yield pieces
            continue
        data = b"".join([*carry, block[:end]]) if carry else block[:end]
        carry = [block[end:]] if end < len(block) else []
        carry_len = len(block) - end
        lines = io.BytesIO(data).readlines()  # splits on \n only, as a text file's lines
        if max(map(len, lines)) > MAX_LINE_BYTES:
            if long_lines != "split":
                raise _long_line(path, line_no + next(i for i, x in enumerate(lines) if len(x) > MAX_LINE_BYTES))
            lines = [piece for line in lines for piece in _split_long(line, MAX_LINE_BYTES)]
        line_no += len(lines)
        if live:
            _stdin["chunk_idle"] = not _readable(sys.stdin.fileno())
        yield lines


def iter_text_chunks(path: str | os.PathLike, errors: str = "strict",
                     long_lines: str = "error") -> Iterator[tuple[int, int, str]]:
    """The input as ``(number of the first line, number of lines, text)`` chunks of whole lines.

    The fastest way through a corpus (vocab, w2v-train): about a megabyte of decoded text at a time, line
    ends normalised to ``\n`` (the last line of the input may lack one). ``errors`` is ``strict`` (an
    error naming file, line and byte offset) or ``replace``. A line longer than ``MAX_LINE_BYTES`` is an
    error naming it (``long_lines="error"``) or is cut into pieces of at most that size at spaces
    (``"split"``: for corpora where a line is only a run of words, as word2vec cuts long sentences).
    """
    if errors not in ("strict", "replace"):
        raise ValueError(errors)
    line_no, offset = 1, 0
    try:
        with open_binary(path) as stream:
            for lines in _read_lines(stream, path, 1, long_lines):
                if line_no == 1 and lines[0].startswith(b"\xef\xbb\xbf"):
                    lines[0] = lines[0][3:]
                    offset = 3
                yield line_no, len(lines), _decode_chunk(lines, path, line_no, offset, errors)
                line_no += len(lines)
                offset += sum(map(len, lines))
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise InputError(f"cannot read ({_os_reason(exc)})", path, line_no) from None


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{exc.__class__.__name__}: {exc}"


# --- answers as you type -------------------------------------------------------------------------------
# A pipe or a terminal on stdin is read as its lines arrive (`tail -f log | rnntools predict m.npz`), not a
# megabyte at a time; after the last line of what has arrived, `stdin_idle()` is true until more comes, so a
# command that batches its work answers what it has and flushes instead of waiting for a full batch.
_stdin = {"idle": False, "chunk_idle": False}


def _live_stdin(path, stream) -> bool:
    if os.fspath(path) != STDIN or stream is not sys.stdin.buffer:
        return False
    try:
        return not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _readable(fd: int) -> bool:
    import select

    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def stdin_idle() -> bool:
    """True when every line that has arrived on a live stdin has been handed out: answer and flush now."""
    return _stdin["idle"]


def iter_line_batches(path: str | os.PathLike, errors: str = "strict") -> Iterator[tuple[int, list[str]]]:
    """Batches of decoded lines (without line ends) as ``(number of the first line, lines)``."""
    for first, _, text in iter_text_chunks(path, errors):
        # split on \n only: str.splitlines would also split on \x85, \u2028 and friends inside JSON strings
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        yield first, lines


def iter_lines(path: str | os.PathLike, errors: str = "strict") -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for every line of a text input, line ends removed."""
    for first, lines in iter_line_batches(path, errors):
        idle, _stdin["chunk_idle"], _stdin["idle"] = _stdin["chunk_idle"], False, False
        last = first + len(lines) - 1
        for line_no, line in enumerate(lines, first):
            if line_no == last:
                _stdin["idle"] = idle
            yield line_no, line


def iter_jsonl(path: str | os.PathLike, errors: str = "strict") -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line of a JSONL input; anything but an object is an error."""
    for line_no, text in iter_lines(path, errors):
        if text.strip():
            yield line_no, parse_json_object(text, path, line_no)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON (JSON has no NaN or Infinity; use null)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]}{'...' if len(text) > 20 else ''} is too large for a float")
    return value


def loads(text: str) -> Any:
    """``json.loads`` for untrusted input: NaN, Infinity and numbers that overflow a float are errors, as
    they are in JSON, so they never reach a model or an output (``ValueError`` or ``RecursionError``)."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def parse_json_object(text: str, path, line_no: int) -> dict:
    """One JSONL line as an object, or an error naming the line (for readers that sniff their format)."""
    try:
        record = loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})", path, line_no) from None
    except ValueError as exc:  # NaN, 1e999, integers of more than 4,300 digits
        raise InputError(f"invalid JSON ({exc})", path, line_no) from None
    except RecursionError:
        raise InputError("invalid JSON (nested too deeply)", path, line_no) from None
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {_json_type(record)}", path, line_no)
    return record


def _json_type(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def iter_csv(path: str | os.PathLike, errors: str = "strict") -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every data row of a CSV input with a header line."""
    lines = iter_lines(path, errors)
    numbers: list[int] = []

    def texts():
        for line_no, text in lines:
            if text.strip():
                numbers.append(line_no)
                yield text

    reader = csv.reader(texts())
    header = next(reader, None)
    if header is None:
        raise InputError("empty CSV file, expected a header line", path)
    header = [h.strip() for h in header]
    for row in reader:
        line_no = numbers[-1]
        if len(row) != len(header):
            raise InputError(f"expected {len(header)} fields as in the header, got {len(row)}", path, line_no)
        yield line_no, dict(zip(header, row))
        del numbers[:-1]


def read_text_field(record: dict, field: str, path, line_no: int) -> str:
    """``record[field]`` as text, or an error naming the line."""
    if field not in record:
        raise InputError(f"record has no field {field!r} (fields: {', '.join(map(str, record)) or 'none'})",
                         path, line_no)
    value = record[field]
    if not isinstance(value, str):
        raise InputError(f"field {field!r} should be a string, got {_json_type(value)}", path, line_no)
    return value


class JsonlWriter:
    """Writes one JSON object per line, UTF-8, keys in insertion order; flushes when asked or when done."""

    def __init__(self, stream: IO[str] | None = None):
        self._stream = stream if stream is not None else sys.stdout

    def write(self, record: dict) -> None:
        try:
            text = json.dumps(record, ensure_ascii=False, separators=(", ", ": "), allow_nan=False,
                              default=_json_default)
        except ValueError:
            # JSON has no NaN or Infinity: such a value (a diverged score) is written as null
            text = json.dumps(_nulls_for_non_finite(record), ensure_ascii=False, separators=(", ", ": "),
                              allow_nan=False, default=_json_default)
        self._stream.write(text)
        self._stream.write("\n")
        if _stdin["idle"]:
            self._stream.flush()  # the input is waiting for the answer (a terminal, `tail -f ... |`)

    def write_text(self, text: str) -> None:
        """Write lines already formatted as this writer would (for bulk writers that format faster)."""
        self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()


def _nulls_for_non_finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _nulls_for_non_finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulls_for_non_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _nulls_for_non_finite(value.tolist())
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


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


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_outputs(outputs: Iterable[str | os.PathLike | None], inputs: Iterable[str | os.PathLike | None] = (),
                  *, appended: Iterable[str | os.PathLike | None] = ()) -> None:
    """Check a command's outputs before any work starts (a 40-epoch run must not fail at the save).

    Each output's folder must exist and take a new file (a temporary file is created and removed, which
    catches read-only file systems and permissions even for root); an output may not be a folder, one of
    the command's ``inputs`` (its model, vocabulary, data: writing there would destroy it) or another of
    its outputs. ``appended`` outputs (``--log``) are appended to, so only their folder and overlaps are
    checked. Usage errors exit 2; a folder that cannot be written exits 1.
    """
    inputs = [os.fspath(i) for i in inputs if not is_stdio(i)]
    seen: dict[str, str] = {}
    for path, append in [*((o, False) for o in outputs), *((o, True) for o in appended)]:
        if is_stdio(path):
            continue
        path = os.fspath(path)
        if path == "":
            raise UsageError("an output file name is empty")
        if _written_in_place(path):
            continue
        target = os.path.realpath(path)
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
        yield stream.buffer if binary else stream
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
        with stream:
            yield stream
        return
    target = os.path.realpath(path)
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
        _fsync_folder(folder)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise OutputError(f"cannot write ({_os_reason(exc)}); the previous file, if any, is unchanged",
                          path) from None
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except OSError:
                pass


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


# --- model files --------------------------------------------------------------------------------------

FORMAT = "rnntools"
FORMAT_VERSION = 1
META_KEY = "meta"


@dataclass
class ModelFile:
    """A loaded model file: its kind, its JSON metadata and its named arrays."""

    kind: str
    meta: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    path: str = ""


def save_model(path: str | os.PathLike, kind: str, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and ``meta`` to one ``.npz``, atomically (temporary file, fsync, rename).

    ``meta`` must be JSON-serialisable; it gets ``format``, ``format_version``, ``kind`` and the arrays'
    shapes and dtypes so that loading can check them.
    """
    path = os.fspath(path)
    if META_KEY in arrays:
        raise ValueError(f"array name {META_KEY!r} is reserved")
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    full_meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, **meta,
                 "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()}}
    meta_text = json.dumps(full_meta, ensure_ascii=False, allow_nan=False, default=_json_default)
    with open_output(path, binary=True) as stream:
        np.savez(stream, **{META_KEY: np.array(meta_text)}, **arrays)


def _open_npz(path: str):
    if path == STDIN:
        # np.load seeks: a model read from stdin is read into memory first
        stdin = sys.stdin
        if stdin is None or getattr(stdin, "rnntools_closed", False):
            raise ModelFileError("standard input is closed", path)
        data = stdin.buffer.read()
        if not data:
            raise ModelFileError("not an rnntools model file (standard input is empty)", path)
        source: Any = io.BytesIO(data)
    else:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise ModelFileError("no such model file", path) from None
        except OSError as exc:
            raise ModelFileError(f"cannot read ({_os_reason(exc)})", path) from None
        if stat.S_ISDIR(st.st_mode):
            raise ModelFileError("is a folder, not a model file", path)
        if not stat.S_ISREG(st.st_mode):
            # a FIFO would block until a writer came, a device would never end: a model is a regular file
            raise ModelFileError("not an rnntools model file (not a regular file; to read a model from a "
                                 "pipe, give - and pipe it to standard input)", path)
        try:
            source = open(path, "rb")
        except OSError as exc:
            raise ModelFileError(f"cannot read ({_os_reason(exc)})", path) from None
    head = source.read(6)
    source.seek(0)
    if head.startswith(b"\x93NUMPY"):
        source.close()
        raise ModelFileError("not an rnntools model file (a plain .npy array, not an .npz)", path)
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        source.close()
        what = "empty" if not head else "not a zip archive"
        raise ModelFileError(f"not an rnntools model file ({what}; a model file is an .npz written by "
                             "rnntools)", path)
    try:
        return np.load(source, allow_pickle=False), source
    except BaseException:
        source.close()
        raise


def read_model_meta(path: str | os.PathLike) -> dict:
    """The checked metadata of a model file, without reading its arrays."""
    return load_model(path, arrays=False).meta


def _plain_dtype(text: str) -> bool:
    """A numpy dtype string of plain data (numbers, bytes, text): never objects, which would unpickle."""
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        return False
    return not dtype.hasobject and dtype.str == text


def _check_meta(meta: Any, path: str) -> dict:
    """The generic entries every model file has: format, version, kind and the table of arrays."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError("not an rnntools model file (foreign metadata)", path)
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"corrupt model file (format_version {json.dumps(version)[:40]} is not a "
                             "positive whole number)", path)
    if version > FORMAT_VERSION:
        raise ModelFileError(f"format version {version} is newer than this rnntools reads (up to "
                             f"{FORMAT_VERSION}); upgrade rnntools", path)
    kind = meta.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ModelFileError("corrupt model file (no model kind in its metadata)", path)
    spec = meta.get("arrays", {})
    if not isinstance(spec, dict):
        raise ModelFileError("corrupt model file (its table of arrays is not a JSON object)", path)
    for name, entry in spec.items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if (not isinstance(shape, list) or len(shape) > 32
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
                or not isinstance(dtype, str) or not _plain_dtype(dtype)):
            if isinstance(dtype, str) and dtype.endswith("O"):
                raise ModelFileError(f"corrupt model file (array {name!r} unreadable: it holds pickled Python "
                                     "objects, which rnntools never loads)", path)
            raise ModelFileError(f"corrupt model file (array {name!r}: bad shape or dtype in its metadata)",
                                 path)
    return meta


def _array_size_ok(npz, name: str, zip_file: zipfile.ZipFile, file_size: int) -> bool:
    """Whether array ``name``'s header asks for no more bytes than its zip entry holds, so that a small
    file cannot make numpy allocate gigabytes before it finds the data missing."""
    try:
        info = zip_file.getinfo(f"{name}.npy")
    except KeyError:
        return True
    if info.compress_size > file_size or (info.compress_type == zipfile.ZIP_STORED
                                          and info.file_size != info.compress_size):
        return False
    if info.file_size > 1100 * max(info.compress_size, 1):  # more than deflate can expand to
        return False
    try:
        with zip_file.open(info) as member:
            version = np.lib.format.read_magic(member)
            shape, _, dtype = (np.lib.format.read_array_header_1_0(member) if version == (1, 0)
                               else np.lib.format.read_array_header_2_0(member))
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        return False
    if dtype.hasobject:
        return False
    nbytes = dtype.itemsize * math.prod(shape)
    return nbytes <= info.file_size


def load_model(path: str | os.PathLike, kinds: str | Iterable[str] | None = None,
               arrays: bool = True) -> ModelFile:
    """Load a model file, checking format, version, kind and the arrays' shapes; never unpickles.

    The file is read only if it is a regular file (or ``-``, stdin) that starts as a zip archive; its
    generic metadata is checked for types and ranges, and every array's header against its entry's size
    before numpy allocates it.
    """
    path = os.fspath(path)
    if isinstance(kinds, str):
        kinds = [kinds]
    try:
        npz, source = _open_npz(path)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ModelFileError(f"not an rnntools model file (not a readable .npz: {_os_reason(exc)})",
                             path) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # pragma: no cover - excluded by the magic check
        source.close()
        raise ModelFileError("not an rnntools model file (not an .npz)", path)
    try:
        file_size = os.fstat(source.fileno()).st_size if path != STDIN else len(source.getbuffer())
    except (OSError, AttributeError):
        file_size = 1 << 62
    with npz, source:
        if META_KEY not in npz.files:
            raise ModelFileError("not an rnntools model file (no 'meta' entry; written by another program?)",
                                 path)
        try:
            if not _array_size_ok(npz, META_KEY, npz.zip, file_size):
                raise ValueError("its header does not match its size")
            raw = npz[META_KEY]
            if raw.dtype.kind != "U" or raw.shape != ():
                raise ValueError("not a text entry")
            meta = json.loads(str(raw))
        except (ValueError, zipfile.BadZipFile, OSError, EOFError, zlib.error, RecursionError) as exc:
            raise ModelFileError(f"corrupt model file (metadata unreadable: {_os_reason(exc)})", path) from None
        meta = _check_meta(meta, path)
        kind = meta["kind"]
        if kinds is not None and kind not in kinds:
            raise ModelFileError(f"is a {kind!r} model, expected {' or '.join(repr(k) for k in kinds)}", path)
        loaded: dict[str, np.ndarray] = {}
        if arrays:
            expected = meta.get("arrays", {})
            missing = sorted(set(expected) - set(npz.files))
            if missing:
                raise ModelFileError(f"corrupt model file (missing arrays: {', '.join(missing)})", path)
            for name, spec in expected.items():
                try:
                    if not _array_size_ok(npz, name, npz.zip, file_size):
                        raise ValueError("its header asks for more data than the file holds")
                    value = npz[name]
                except (ValueError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                    raise ModelFileError(f"corrupt model file (array {name!r} unreadable: {_os_reason(exc)})",
                                         path) from None
                if list(value.shape) != spec["shape"] or value.dtype.str != spec["dtype"]:
                    raise ModelFileError(f"corrupt model file (array {name!r} is {value.dtype.str}"
                                         f"{list(value.shape)}, metadata says {spec['dtype']}{spec['shape']})",
                                         path)
                if value.dtype.kind == "f" and not np.isfinite(value).all():
                    raise ModelFileError(f"corrupt model file (array {name!r} holds NaN or infinite values)",
                                         path)
                loaded[name] = value
    return ModelFile(kind=kind, meta=meta, arrays=loaded, path=path)
