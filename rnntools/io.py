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
import os
import sys
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from rnntools import console
from rnntools.errors import InputError, ModelFileError, where

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


def iter_text_chunks(path: str | os.PathLike, errors: str = "strict") -> Iterator[tuple[int, int, str]]:
    """The input as ``(number of the first line, number of lines, text)`` chunks of whole lines.

    The fastest way through a corpus (vocab, w2v-train): about a megabyte of decoded text at a time, line
    ends normalised to ``\n`` (the last line of the input may lack one). ``errors`` is ``strict`` (an
    error naming file, line and byte offset) or ``replace``.
    """
    if errors not in ("strict", "replace"):
        raise ValueError(errors)
    line_no, offset = 1, 0
    try:
        with open_binary(path) as stream:
            while True:
                lines = stream.readlines(CHUNK_BYTES)
                if not lines:
                    break
                if line_no == 1 and lines[0].startswith(b"\xef\xbb\xbf"):
                    lines[0] = lines[0][3:]
                    offset = 3
                yield line_no, len(lines), _decode_chunk(lines, path, line_no, offset, errors)
                line_no += len(lines)
                offset += sum(map(len, lines))
    except (OSError, EOFError, lzma.LZMAError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise InputError(f"cannot read ({exc.__class__.__name__}: {exc})", path, line_no) from None


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
        yield from enumerate(lines, first)


def iter_jsonl(path: str | os.PathLike, errors: str = "strict") -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line of a JSONL input; anything but an object is an error."""
    for line_no, text in iter_lines(path, errors):
        if text.strip():
            yield line_no, parse_json_object(text, path, line_no)


def parse_json_object(text: str, path, line_no: int) -> dict:
    """One JSONL line as an object, or an error naming the line (for readers that sniff their format)."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})", path, line_no) from None
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
        self._stream.write(json.dumps(record, ensure_ascii=False, separators=(", ", ": "), allow_nan=False,
                                      default=_json_default))
        self._stream.write("\n")

    def flush(self) -> None:
        self._stream.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@contextmanager
def open_output(path: str | os.PathLike | None) -> Iterator[IO[str]]:
    """A text stream for results: stdout for ``None``/``-``, else a file written atomically."""
    if path in (None, STDIN):
        yield sys.stdout
        return
    path = os.fspath(path)
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as stream:
            yield stream
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


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
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ModelFileError("the output folder does not exist", path)
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "wb") as stream:
            np.savez(stream, **{META_KEY: np.array(meta_text)}, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _open_npz(path: str):
    if path == STDIN:
        # np.load seeks: a model read from stdin is read into memory first
        return np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False)
    return np.load(path, allow_pickle=False)


def read_model_meta(path: str | os.PathLike) -> dict:
    """The checked metadata of a model file, without reading its arrays."""
    return load_model(path, arrays=False).meta


def load_model(path: str | os.PathLike, kinds: str | Iterable[str] | None = None,
               arrays: bool = True) -> ModelFile:
    """Load a model file, checking format, version, kind and the arrays' shapes; never unpickles."""
    path = os.fspath(path)
    if isinstance(kinds, str):
        kinds = [kinds]
    if path != STDIN and not os.path.exists(path):
        raise ModelFileError("no such model file", path)
    try:
        npz = _open_npz(path)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"not an rnntools model file (cannot read it as .npz: {exc})", path) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ModelFileError("not an rnntools model file (a plain .npy array, not an .npz)", path)
    with npz:
        if META_KEY not in npz.files:
            raise ModelFileError("not an rnntools model file (no 'meta' entry; written by another program?)",
                                 path)
        try:
            meta = json.loads(str(npz[META_KEY]))
        except (ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ModelFileError(f"corrupt model file (metadata unreadable: {exc})", path) from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError("not an rnntools model file (foreign metadata)", path)
        version = meta.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelFileError(f"format version {version} is newer than this rnntools reads "
                                 f"({FORMAT_VERSION}); upgrade rnntools", path)
        kind = meta.get("kind")
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
                    value = npz[name]
                except (ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise ModelFileError(f"corrupt model file (array {name!r} unreadable: {exc})", path) from None
                if list(value.shape) != spec["shape"] or value.dtype.str != spec["dtype"]:
                    raise ModelFileError(f"corrupt model file (array {name!r} is {value.dtype.str}"
                                         f"{list(value.shape)}, metadata says {spec['dtype']}{spec['shape']})",
                                         path)
                loaded[name] = value
    return ModelFile(kind=kind, meta=meta, arrays=loaded, path=path)
