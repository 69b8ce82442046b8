"""The word2vec formats: text and binary vector files, read (detecting which) and written."""

from __future__ import annotations

import re
from typing import IO

import numpy as np

from rnntools.errors import InputError


def write_word2vec(tokens: list[str], vectors: np.ndarray, stream: IO[bytes], binary: bool) -> None:
    """word2vec's formats: a ``V D`` header line, then per word its token, a space and the vector,
    as text (space separated, shortest float32 repr round-trips exactly) or as D little-endian float32
    followed by a newline (binary, as word2vec.c writes it)."""
    V, D = vectors.shape
    stream.write(f"{V} {D}\n".encode())
    if binary:
        data = np.ascontiguousarray(vectors, "<f4")
        for token, row in zip(tokens, data):
            stream.write(token.encode("utf-8") + b" " + row.tobytes() + b"\n")
        return
    lines = []
    for token, row in zip(tokens, vectors.astype(np.float32)):
        # %.9g is the shortest format that always reads back the same float32
        lines.append(token + " " + " ".join(map("%.9g".__mod__, row.tolist())) + "\n")
        if len(lines) >= 1000:
            stream.write("".join(lines).encode("utf-8"))
            lines = []
    stream.write("".join(lines).encode("utf-8"))


def read_word2vec(path: str, binary: bool | None = None) -> tuple[list[str], np.ndarray, str]:
    """Read word2vec text or binary vectors (or GloVe's headerless text); returns (tokens, vectors, format).
    ``binary=None`` detects the format."""
    from rnntools.io import open_binary

    try:
        with open_binary(path) as stream:
            data = stream.read()
    except (EOFError, OSError, ValueError) as exc:  # a truncated or corrupt .gz/.bz2/.xz
        if isinstance(exc, BrokenPipeError):
            raise
        raise InputError(f"cannot read ({exc.__class__.__name__}: {exc})", path) from None
    if not data.strip():
        raise InputError("empty vectors file", path)
    end = data.find(b"\n")
    header = data[:end if end >= 0 else len(data)].split()
    has_header = len(header) == 2 and all(h.isdigit() for h in header)
    if binary is None:
        binary = has_header and _looks_binary(data[end + 1:end + 4097])
    if has_header and int(header[1]) == 0:
        raise InputError("the header says the vectors have 0 dimensions", path, 1)
    if binary:
        if not has_header:
            raise InputError("a binary word2vec file starts with a 'V D' line", path, 1)
        V, D = int(header[0]), int(header[1])
        if V * (4 * D + 2) > len(data) - end:  # checked before allocating what a header claims
            raise InputError(f"truncated binary vectors file: the header says {V} words of {D} floats "
                             f"({V * 4 * D:,} bytes), the file has {len(data):,} bytes", path, 1)
        tokens, vectors = _read_binary(data, end + 1, V, D, path)
        found = "word2vec-binary"
    else:
        tokens, vectors = _read_text(data, path, has_header, header)
        found = "word2vec-text" if has_header else "glove-text"
    if vectors.shape[1] == 0:
        raise InputError("the vectors have 0 dimensions (each line needs a word and at least one number)", path)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"the vector of {tokens[i]!r} has NaN or infinite values ({len(bad)} such word"
                         f"{'s' if len(bad) > 1 else ''})", path, None if binary else i + 1 + has_header)
    return tokens, vectors, found


def _looks_binary(sample: bytes) -> bool:
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)


def _read_binary(data: bytes, pos: int, V: int, D: int, path) -> tuple[list[str], np.ndarray]:
    tokens, vectors = [], np.empty((V, D), np.float32)
    width = 4 * D
    for i in range(V):
        while pos < len(data) and data[pos:pos + 1] in (b"\n", b" "):
            pos += 1
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + width > len(data):
            raise InputError(f"truncated binary vectors file: the header says {V} words, found {i}", path)
        try:
            tokens.append(data[pos:space].decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError(f"word {i + 1} is not valid UTF-8 (byte offset {pos})", path) from None
        vectors[i] = np.frombuffer(data, "<f4", D, space + 1)
        pos = space + 1 + width
    return tokens, vectors


def _read_text(data: bytes, path, has_header: bool, header: list[bytes]) -> tuple[list[str], np.ndarray]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"invalid UTF-8 at byte {exc.start}; is it a binary file? (--format word2vec-binary)",
                         path, line) from None
    # lines end at "\n" only: str.splitlines also breaks at U+0085, U+2028 and other separators, which
    # real vocabularies have inside tokens
    lines = text.split("\n")
    first = 1 if has_header else 0
    V = int(header[0]) if has_header else None
    D = int(header[1]) if has_header else None
    tokens, rows = [], []
    for n, line in enumerate(lines[first:], first + 1):
        line = line.rstrip(" \t\r")
        if not line:
            continue
        parts = line.split(" ")
        if D is None or len(parts) != D + 1 or "\t" in line:
            parts = _fields(line, D)
        if D is None:
            D = len(parts) - 1
        if len(parts) != D + 1:
            raise InputError(f"expected a word and {D} numbers, got {len(parts)} fields", path, n)
        try:
            rows.append(np.array(parts[1:], np.float32))
        except ValueError:
            raise InputError("a vector value is not a number", path, n) from None
        tokens.append(parts[0])
    if V is not None and len(tokens) != V:
        raise InputError(f"the header says {V} words, found {len(tokens)}", path)
    if not tokens:
        raise InputError("no vectors in the file", path)
    return tokens, np.vstack(rows)


def _fields(line: str, D: int | None) -> list[str]:
    """A vector line's word and numbers when single spaces do not split it into D + 1: fields apart by runs
    of spaces or tabs, and with D known, every field before the last D is the word (GloVe's large files
    have words with spaces in them, ". . ."). Not str.split(): it would also split at no-break spaces
    inside words."""
    parts = [f for f in re.split(r"[ \t]+", line.strip(" \t")) if f]
    if D is not None and len(parts) > D + 1:
        parts = [" ".join(parts[:len(parts) - D])] + parts[len(parts) - D:]
    return parts


def vocab_for_tokens(tokens: list[str], path: str):
    """A Vocab (no specials) for imported tokens, kept in file order (word2vec files are sorted by
    frequency); counts are unknown (zero). Case is kept unless every token is lowercase."""
    from rnntools.text import Vocab

    seen: dict[str, int] = {}
    for i, t in enumerate(tokens):
        if t in seen:
            raise InputError(f"the word {t!r} appears twice (entries {seen[t] + 1} and {i + 1})", path)
        seen[t] = i
    lowercase = all(t == t.lower() for t in tokens)
    return Vocab(tokens, None, None, level="word", lowercase=lowercase, n_special=0)
