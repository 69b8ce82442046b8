"""Readers: text lines, JSONL and CSV from a path or ``-`` (stdin), decompressed, decoded and bounded.

Readers decompress ``.gz``/``.bz2``/``.xz`` (by extension, or by magic bytes on stdin), decode UTF-8 and never
hold more than a bounded buffer of the input. Every error names the file and line (and byte offset for bad
encodings).
"""

from __future__ import annotations

import bz2
import csv
import errno
import gzip
import io
import itertools
import json
import lzma
import math
import os
import re
import stat
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from rnntools import console
from rnntools.errors import InputError, where

STDIN = "-"
CHUNK_BYTES = 1 << 20  # lines are read and decoded in batches of about this many bytes

def _gzip(raw):
    return gzip.GzipFile(fileobj=raw)


# wrap a raw binary stream in a decompressor
_MAGIC = {b"\x1f\x8b": _gzip, b"BZh": bz2.BZ2File, b"\xfd7zXZ": lzma.LZMAFile}
_SUFFIX = {".gz": _gzip, ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}
_DECOMPRESSORS = (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile)


def display_name(path: str | os.PathLike) -> str:
    return where(path)


class FileRange(str):
    """Part of a file as an input path: bytes ``[start, end)`` of ``real``, cut at line starts (``end`` None:
    to the end). Its text is the name as the user gave it, so messages read as for the whole file, and the
    readers number its lines from ``first_line`` and its bytes from ``start`` (rnntools.distributed hands
    these to cluster workers, which may see the file under another path).

    ``head``: the file's bytes ``[0, head)`` (a CSV header line) are read first, as lines 1..., before the
    range, so a range of a CSV file parses with the file's own header. ``options``: reader options resolved
    from the whole file (columns a reader would otherwise guess from the range's first row); the readers
    that take such options (forecast's) let them override the run's."""

    def __new__(cls, name: str = "", real: str | None = None, start: int = 0, end: int | None = None,
                first_line: int = 1, head: int = 0, options: dict | None = None):
        self = super().__new__(cls, name)
        self.real, self.start, self.end, self.first_line = real or name, start, end, first_line
        self.head, self.options = head, options
        return self

    def __reduce__(self):
        return FileRange, (str(self), self.real, self.start, self.end, self.first_line, self.head, self.options)


def split_files(paths, parts: int) -> list[list[FileRange]] | None:
    """``paths`` cut at line starts into ``parts`` runs of about equal size, in order, each a list of
    ``FileRange``: for processes that each read their own run of the input (``vocab``'s counting). None when
    an input cannot be cut or read by another process (stdin, a pipe or device, a compressed file, a range,
    a folder, a missing file): the caller reads those as a stream.

    A range that starts inside a file starts at a line whose number is not known without reading what comes
    before: it is numbered from 2 (so the first-line checks, a byte-order mark, UTF-16, are not made there,
    as the file's own reader does not make them after line 1). Its errors name a line only after
    ``numbered`` counts that line."""
    sizes = []
    for path in paths:
        if isinstance(path, FileRange) or os.fspath(path) == STDIN or os.path.splitext(path)[1].lower() in _SUFFIX:
            return None
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        sizes.append(st.st_size)
    total = sum(sizes)
    cuts = [total * k // parts for k in range(1, parts)]  # where each run after the first should begin
    runs: list[list[FileRange]] = [[]]
    done = 0  # bytes of the files before this one
    for path, size in zip(paths, sizes):
        start = 0
        while cuts and cuts[0] < done + size:
            at = max(cuts.pop(0) - done, start)
            if at > 0:  # the next line start at or after byte ``at``
                try:
                    with open(path, "rb") as f:
                        f.seek(at - 1)
                        while (piece := f.readline(1 << 16)) and not piece.endswith(b"\n"):
                            pass
                        at = f.tell()
                except OSError:
                    return None
            if at >= size:
                cuts.insert(0, done + size)  # this file's last line reaches the cut: the run starts at the next file
                break
            if at > start:
                runs[-1].append(FileRange(path, path, start, at, first_line=1 if start == 0 else 2))
                start = at
            runs.append([])
        if start < size or size == 0:  # (an empty file is read too: it may be unreadable)
            runs[-1].append(FileRange(path, path, start, None, first_line=1 if start == 0 else 2))
        done += size
    return [run for run in runs if run]  # two cuts in one line make one run


def numbered(part: FileRange) -> FileRange:
    """``part`` (a range of a file) with the number of its first line, counted from the start of the file."""
    if not part.start:
        return part
    lines, left = 0, part.start
    with open(part.real, "rb") as f:
        while left > 0 and (block := f.read(min(left, CHUNK_BYTES))):
            lines += block.count(b"\n")
            left -= len(block)
    return FileRange(str(part), part.real, part.start, part.end, lines + 1, part.head, part.options)


class _Window(io.RawIOBase):
    """At most ``left`` bytes of a raw file, from where it stands."""

    def __init__(self, raw, left: int | None):
        self._raw, self._left = raw, left

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        if self._left is not None:
            view = view[: self._left]
        n = self._raw.readinto(view)
        if self._left is not None:
            self._left -= n
        return n


@contextmanager
def open_binary(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary stream of the (decompressed) input; ``-`` is stdin; a ``FileRange`` is its bytes only."""
    if isinstance(path, FileRange) and (path.start or path.end is not None):
        try:
            raw = open(path.real, "rb")
        except OSError as exc:
            raise InputError(f"cannot read ({_os_reason(exc)})", path) from None
        with raw:
            raw.seek(path.start)
            yield io.BufferedReader(_Window(raw, None if path.end is None else path.end - path.start))
        return
    real = path.real if isinstance(path, FileRange) else os.fspath(path)  # opened; `path` named in messages
    if real == STDIN:
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
        raw = open(real, "rb")
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path) from None
    except PermissionError:
        raise InputError("permission denied", path) from None
    try:
        opener = _SUFFIX.get(os.path.splitext(real)[1].lower())
        yield opener(raw) if opener else raw
    finally:
        raw.close()


# what the running command offers, so that messages suggest only options it has (set by the CLI per run)
_HINTS = {"encoding_errors": True}


def set_option_hints(*, encoding_errors: bool) -> None:
    """Tell the readers whether the running command has ``--encoding-errors`` (for their messages)."""
    _HINTS["encoding_errors"] = encoding_errors


# byte-order marks of the encodings a text file is most often in when it is not UTF-8 (Windows tools write
# UTF-16 with one); UTF-32's first, since UTF-16 LE's is its prefix
_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


def _utf16_without_bom(data: bytes) -> str | None:
    """``UTF-16LE``/``UTF-16BE`` when the start of a file that decoded as UTF-8 looks like UTF-16 without a
    byte-order mark: NUL bytes at most places of one parity and almost none of the other (ASCII letters with a
    zero byte beside each). Read as UTF-8 it is valid, and the tokenizers split it at the NULs into single
    letters, silently."""
    sample = data[:4096]
    half = len(sample) // 2
    if half < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.3 * half and even < 0.05 * half:
        return "UTF-16LE"
    if even > 0.3 * half and odd < 0.05 * half:
        return "UTF-16BE"
    return None


def _decode_chunk(lines: list[bytes], path, first_line: int, first_offset: int, errors: str) -> str:
    data = b"".join(lines)
    try:
        text = data.decode("utf-8", errors)
    except UnicodeDecodeError:
        pass
    else:
        if first_line == 1 and first_offset == 0 and (utf16 := _utf16_without_bom(data)):
            raise InputError(f"this looks like {utf16} text without a byte-order mark (a NUL byte beside every "
                             f"letter), not UTF-8; convert it: iconv -f {utf16} -t UTF-8", path, 1)
        return text.replace("\r\n", "\n") if b"\r" in data else text
    if first_line == 1 and data.startswith((b"PK\x03\x04", b"\x93NUMPY")):
        # a model file where text belongs (`bow --vocab lm.npz`): "invalid UTF-8 at byte 17 ... pass
        # --encoding-errors replace" pointed at the wrong fix
        raise InputError("a zip archive or numpy file (an .npz model?), not a text file; is it the right file?",
                         path, 1)
    bom = next((name for mark, name in _BOMS if data.startswith(mark)), None) if first_line == 1 else None
    if bom and first_offset == 0:
        # "invalid UTF-8 at byte 0" named no encoding, and --encoding-errors replace would read NULs and marks
        raise InputError(f"{bom} text (it starts with a {bom} byte-order mark), not UTF-8; convert it: "
                         f"iconv -f {bom} -t UTF-8", path, 1)
    offset = first_offset
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"invalid UTF-8 at byte {offset + exc.start} ({exc.reason}); "
                "convert the file to UTF-8 (iconv)" + (" or pass --encoding-errors replace"
                                                       if _HINTS["encoding_errors"] else ""),
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
        # a bound beyond any possible line is no bound; above sys.maxsize the csv module's C limit overflows
        MAX_LINE_BYTES = min(int(limit), sys.maxsize)


def _long_line(path, line_no: int) -> InputError:
    return InputError(f"line longer than {MAX_LINE_BYTES:,} bytes (the limit); is this a text file? "
                      "Raise the limit with --max-line-bytes if the line is meant to be read whole",
                      path, line_no)


def _content_length(line: bytes) -> int:
    """A line's length without its line end (``\n`` or ``\r\n``): the bytes ``--max-line-bytes`` bounds. A line of
    exactly the limit was refused when it ended with a newline and read when it was the last, unended one, and a
    CRLF file's lines reached the limit a byte before the same lines with LF."""
    n = len(line) - line.endswith(b"\n")
    return n - (n > 0 and line[n - 1] == 13)


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


class _Gathered:
    """``read(n)`` of a decompressor that keeps what it decoded before an error: the bytes come first, the error
    at the next read. A decompressor's own ``read(n)`` gathers the pieces that pieces of the compressed data
    give, and when one is damaged or missing (a truncated file) drops those it gathered: the error named the
    first line of a 1 MiB block, not the line where the data ends."""

    def __init__(self, stream):
        self._stream, self._error = stream, None

    def read(self, n: int) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        pieces, size = [], 0
        while size < n:
            try:
                piece = self._stream.read1(n - size)
            except Exception as exc:  # noqa: BLE001 - raised at the next read, after the bytes before it
                if not pieces:
                    raise
                self._error = exc
                break
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
        return b"".join(pieces)


def _read_lines(stream, path, first_line: int, long_lines: str) -> Iterator[list[bytes]]:
    """Batches of about CHUNK_BYTES of whole lines, never holding more than MAX_LINE_BYTES of one line
    (plus one block)."""
    # a pipe or terminal on stdin: read1 returns what has arrived, so each line is answered as it comes
    live = _live_stdin(path, stream)
    read = stream.read1 if live else _Gathered(stream).read if isinstance(stream, _DECOMPRESSORS) else stream.read
    carry: list[bytes] = []  # the start of a line still without its end (a list: no quadratic joins)
    carry_len = 0
    line_no = first_line
    while True:
        block = read(CHUNK_BYTES)
        if not block:
            rest = b"".join(carry)
            if _content_length(rest) > MAX_LINE_BYTES:
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
            if carry_len - block.endswith(b"\r") > MAX_LINE_BYTES:  # the \r of a CRLF whose \n is still to come
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
        # (the line end is 1-2 bytes more than a line's content: only then is each line measured without it)
        if max(map(len, lines)) > MAX_LINE_BYTES and max(map(_content_length, lines)) > MAX_LINE_BYTES:
            if long_lines != "split":
                raise _long_line(path, line_no + next(i for i, x in enumerate(lines)
                                                      if _content_length(x) > MAX_LINE_BYTES))
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
    if getattr(path, "head", 0) and path.start > 0:  # a range of a CSV file: its header lines first
        yield from iter_text_chunks(FileRange(str(path), path.real, 0, min(path.head, path.start)), errors,
                                    long_lines)
    line_no, offset = getattr(path, "first_line", 1), getattr(path, "start", 0)
    try:
        with open_binary(path) as stream:
            for lines in _read_lines(stream, path, line_no, long_lines):
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
    if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
        return too_many_open_files()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):  # "Compressed file ended before the end-of-stream marker was reached"
        return "the compressed data ends here, before its end marker: a truncated file?"
    return f"{exc.__class__.__name__}: {exc}"


def too_many_open_files() -> str:
    """EMFILE with the limit that was reached: the file an OSError names then is whatever the process opened
    last (a module of a library under `ulimit -n 5`), not one of the user's."""
    import resource

    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return f"too many open files (the limit on open files, `ulimit -n`, is {limit}; raise it)"


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


# NaN/Infinity literals call parse_constant (rare); every other float is parsed in C. A number that overflows
# a float (1e999) parses as inf, which `_all_finite` finds afterwards; the text is then parsed again through
# `_finite_float` for the message naming the number. Calling a Python function per float instead cost as
# much as parsing the line (a record of 200 values: twice the time of json's own parsing).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_EXACT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _all_finite(value: Any) -> bool:
    """No inf in the floats anywhere inside ``value`` (a parsed JSON value: no NaN can be there)."""
    todo = [value]
    while todo:
        v = todo.pop()
        kind = type(v)
        if kind is float:
            if not math.isfinite(v):
                return False
        elif kind is list:
            try:
                # one pass in C: a sum is finite only if every term is (a finite sum that overflows, or ints
                # too large for a float, fall through to the values one by one)
                if math.isfinite(sum(v)):
                    continue
            except (TypeError, OverflowError):
                pass
            todo.extend(v)
        elif kind is dict:
            todo.extend(v.values())
    return True


# a \uD800-\uDFFF escape: JSON allows it alone, but a lone surrogate is no Unicode character and cannot be
# written back as UTF-8 (every output, the tokenizers' UTF-32 views), so records with one are refused
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any) -> str | None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            found = _SURROGATE.search(v)
            if found:
                return found.group()
        elif isinstance(v, dict):
            stack.extend(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def loads(text: str) -> Any:
    """``json.loads`` for untrusted input: NaN, Infinity, numbers that overflow a float and lone surrogates
    (``"\\ud800"``) are errors, as they are not numbers or text, so they never reach a model or an output
    (``ValueError`` or ``RecursionError``)."""
    if not isinstance(text, str) or text.startswith("\ufeff"):  # json.loads's own checks and messages
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    else:
        value = _DECODER.decode(text)
        if not _all_finite(value):
            value = _EXACT_DECODER.decode(text)  # raises the error naming the number
    if _SURROGATE_ESCAPE.search(text):  # rare: only then walk the value (a valid pair decodes to one character)
        found = _lone_surrogate(value)
        if found is not None:
            raise ValueError(f"a lone surrogate \\u{ord(found):04x} in a string is not valid Unicode")
    return value


def parse_json_object(text: str, path, line_no: int) -> dict:
    """One JSONL line as an object, or an error naming the line (for readers that sniff their format)."""
    try:
        record = loads(text)
    except json.JSONDecodeError as exc:
        msg = exc.msg.removesuffix(" at")  # "Invalid control character at" + " at column 15"
        raise InputError(f"invalid JSON ({msg} at column {exc.colno})", path, line_no) from None
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


CSV_DELIMITERS = ",;\t|"
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*")


def csv_delimiter(header_line: str) -> str:
    """The field separator of a CSV file, from its header line: the most frequent of comma, semicolon, tab
    and bar (comma when there is none, a one-column file). Why guess: spreadsheets in many locales write
    semicolons (their decimal separator is the comma), and tab-separated files are common; read as commas,
    such a file was one column and the error ("no value column") did not say why."""
    counts = [(header_line.count(d), -i, d) for i, d in enumerate(CSV_DELIMITERS)]
    n, _, best = max(counts)
    return best if n else ","


def iter_csv(path: str | os.PathLike, errors: str = "strict") -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every data row of a CSV input with a header line, separated by commas,
    semicolons, tabs or bars (``csv_delimiter``). In a semicolon file a decimal comma is read as a decimal
    point (``3,25`` -> ``3.25``), as the spreadsheets that write such files mean it."""
    lines = iter_lines(path, errors)
    numbers: list[int] = []

    def texts():
        extra = 0   # lines ended by a carriage return alone, so far
        for line_no, text in lines:
            # carriage returns alone end lines too (the readers turned CR LF into LF already): spreadsheets'
            # "CSV (Macintosh)" writes them, and csv stopped at line 1 with its "universal-newline mode?" hint
            # ... and each line keeps its end, so that a quoted field spanning lines keeps its line break (csv
            # joined the lines without one: the series "new<LF>line" was read as "newline")
            parts = text.split("\r")
            pieces = [p + "\r" for p in parts[:-1]] + [parts[-1] + "\n"]
            for k, piece in enumerate(pieces):
                if piece.strip():
                    numbers.append(line_no + extra + k)
                    yield piece
            extra += len(pieces) - 1

    # a quoted field may span lines: bound it like a line, so an unterminated quote is an error, not memory
    csv.field_size_limit(max(MAX_LINE_BYTES, 1 << 17))
    found = texts()
    first = next(found, None)
    delimiter = csv_delimiter(first or "")
    decimal_comma = delimiter == ";"
    reader = csv.reader(itertools.chain([first] if first is not None else [], found), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise InputError("empty CSV file, expected a header line", path)
        header = [h.strip() for h in header]
        seen = set()
        for name in header:
            if name in seen and name:
                raise InputError(f"column {name!r} appears twice in the header; rename one", path, numbers[-1])
            seen.add(name)
        # columns without a name: a spreadsheet's export ends every line with commas for the empty cells beyond
        # the data (`month,passengers,,`); they are one unnamed column as long as they hold nothing
        unnamed = [i for i, name in enumerate(header) if not name] if header.count("") > 1 else []
        for row in reader:
            line_no = numbers[-1]
            if len(row) != len(header):
                raise InputError(f"expected {len(header)} fields as in the header, got {len(row)}", path, line_no)
            if unnamed and any(row[i].strip() for i in unnamed):
                i = next(i for i in unnamed if row[i].strip())
                raise InputError(f"field {i + 1} holds {row[i]!r} but its column has no name in the header (nor do "
                                 f"{len(unnamed) - 1} other column{'s' if len(unnamed) > 2 else ''}); name it",
                                 path, line_no)
            if decimal_comma:
                row = [f.replace(",", ".") if _DECIMAL_COMMA.fullmatch(f) else f for f in row]
            yield line_no, dict(zip(header, row))
            del numbers[:-1]
    except csv.Error as exc:  # a field over the limit (an unterminated quote), a NUL byte
        raise InputError(f"not a readable CSV line ({exc}); check the quotes or raise --max-line-bytes", path,
                         numbers[-1] if numbers else None) from None


def read_text_field(record: dict, field: str, path, line_no: int) -> str:
    """``record[field]`` as text, or an error naming the line."""
    if field not in record:
        fields = ", ".join(str(k) for k in record if k != "_place") or "none"   # not a reader's own bookkeeping
        raise InputError(f"record has no field {field!r} (fields: {fields})", path, line_no)
    value = record[field]
    if not isinstance(value, str):
        raise InputError(f"field {field!r} should be a string, got {_json_type(value)}", path, line_no)
    return value
