"""Model files: one ``.npz`` of named arrays plus a JSON ``meta``, saved atomically, loaded without pickle."""

from __future__ import annotations

import io
import json
import lzma
import math
import os
import stat
import sys
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnntools.errors import ModelFileError
from rnntools.io.inputs import STDIN, _os_reason, loads
from rnntools.io.outputs import _json_default, open_output

# --- model files --------------------------------------------------------------------------------------

FORMAT = "rnntools"
FORMAT_VERSION = 1
META_KEY = "meta"
# the kinds whose every array is numbers (parameters, optimiser state, tables): a boolean or text array there is an
# edited file, which the tasks' float32 conversion would have read as weights of 0 and 1, or parsed from text
NUMERIC_KINDS = ("vectors", "lm", "classifier", "seq2seq", "forecaster")

# what reading a damaged or foreign zip archive raises: besides the usual, an encrypted entry
# (RuntimeError), a compression method zipfile lacks (NotImplementedError), corrupt LZMA data
_ARCHIVE_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, RuntimeError,
                   NotImplementedError)


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
        if _regular_file(stream):
            np.savez(stream, **{META_KEY: np.array(meta_text)}, **arrays)
        else:
            # a device, FIFO or pipe: zipfile's offsets come from tell(), which /dev/null answers with 0
            # (a negative offset, struct.error) and a pipe not at all, so the archive is built in memory
            buffer = io.BytesIO()
            np.savez(buffer, **{META_KEY: np.array(meta_text)}, **arrays)
            stream.write(buffer.getbuffer())


def _regular_file(stream) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


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
        if not _model_dtype(dtype):
            raise ModelFileError(f"corrupt model file (array {name!r} is {dtype}: rnntools writes float32, "
                                 "float64 and integer arrays in this machine's byte order)", path)
    return meta


def _model_dtype(text: str) -> bool:
    """A dtype rnntools writes and its kernels take: no float16, complex or byte-swapped arrays, which
    would reach numba only to fail there (the meta text is the one string array)."""
    dtype = np.dtype(text)
    if dtype.byteorder not in ("=", "|"):
        return False
    return (dtype.kind == "f" and dtype.itemsize in (4, 8)) or dtype.kind in "iubU"


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
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError, TypeError,
            tokenize.TokenError):
        # (an encrypted entry, or one compressed by a method zipfile lacks: the caller says so); a damaged
        # header is any of numpy's parser's errors (a flipped bit in its dict: tokenize's TokenError)
        return False
    if dtype.hasobject:
        return False
    nbytes = dtype.itemsize * math.prod(shape)
    return nbytes <= info.file_size


def load_model(path: str | os.PathLike, kinds: str | Iterable[str] | None = None,
               arrays: bool | Callable[[dict, str], bool] = True) -> ModelFile:
    """Load a model file, checking format, version, kind and the arrays' shapes; never unpickles.

    The file is read only if it is a regular file (or ``-``, stdin) that starts as a zip archive; its
    generic metadata is checked for types and ranges, and every array's header against its entry's size
    before numpy allocates it. ``arrays``: False reads the metadata only; a function ``(meta, name) ->
    bool`` reads (and checks) only the arrays it keeps (``predict`` leaves out the trainer's state).
    """
    path = os.fspath(path)
    if isinstance(kinds, str):
        kinds = [kinds]
    try:
        npz, source = _open_npz(path)
    except _ARCHIVE_ERRORS as exc:
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
            # the safe reader: rnntools writes no NaN or Infinity (allow_nan=False), so one there is tampering
            # that would reach a model as a number (a classifier's temperature: every probability null)
            meta = loads(str(raw))
        except _ARCHIVE_ERRORS as exc:  # RecursionError is a RuntimeError
            raise ModelFileError(f"corrupt model file (metadata unreadable: {_os_reason(exc)})", path) from None
        meta = _check_meta(meta, path)
        kind = meta["kind"]
        if kinds is not None and kind not in kinds:
            raise ModelFileError(f"is a {kind!r} model, expected {' or '.join(repr(k) for k in kinds)}", path)
        loaded: dict[str, np.ndarray] = {}
        if arrays:
            expected = meta.get("arrays", {})
            if callable(arrays):
                expected = {name: spec for name, spec in expected.items() if arrays(meta, name)}
            missing = sorted(set(expected) - set(npz.files))
            if missing:
                raise ModelFileError(f"corrupt model file (missing arrays: {', '.join(missing)})", path)
            for name, spec in expected.items():
                try:
                    if not _array_size_ok(npz, name, npz.zip, file_size):
                        raise ValueError("its header asks for more data than the file holds")
                    value = npz[name]
                except _ARCHIVE_ERRORS as exc:
                    raise ModelFileError(f"corrupt model file (array {name!r} unreadable: {_os_reason(exc)})",
                                         path) from None
                if list(value.shape) != spec["shape"] or value.dtype.str != spec["dtype"]:
                    raise ModelFileError(f"corrupt model file (array {name!r} is {value.dtype.str}"
                                         f"{list(value.shape)}, metadata says {spec['dtype']}{spec['shape']})",
                                         path)
                if value.dtype.kind in "bU" and kind in NUMERIC_KINDS:
                    raise ModelFileError(f"corrupt model file (array {name!r} holds "
                                         f"{'booleans' if value.dtype.kind == 'b' else 'text'}, where rnntools "
                                         "writes numbers)", path)
                if value.dtype.kind == "f" and not np.isfinite(value).all():
                    raise ModelFileError(f"corrupt model file (array {name!r} holds NaN or infinite values)",
                                         path)
                loaded[name] = value
    return ModelFile(kind=kind, meta=meta, arrays=loaded, path=path)
