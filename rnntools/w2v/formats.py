"""The word2vec formats: text and binary vector files, read (detecting which) and written."""

from __future__ import annotations

import codecs
import lzma
import re
import zlib
from typing import IO

import numpy as np

from rnntools.errors import InputError


def write_word2vec(tokens: list[str], vectors: np.ndarray, stream: IO[bytes], binary: bool, path=None) -> None:
    """word2vec's formats: a ``V D`` header line, then per word its token, a space and the vector,
    as text (space separated, shortest float32 repr round-trips exactly) or as D little-endian float32
    followed by a newline (binary, as word2vec.c writes it).

    A word the format cannot hold is an error (``path``, the vectors file, named) before anything is written: a
    line break in a text file's word (a binary file's words may hold one) made a file no reader reads back, and a
    space in a binary file's word (a text file's words may hold one, as GloVe's do) one that read back as garbage
    vectors, with exit 0 both times."""
    _check_words(tokens, binary, path)
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


def _check_words(tokens: list[str], binary: bool, path) -> None:
    # binary: readers end a word at a space (word2vec.c also drops a newline, gensim only a leading one);
    # text: readers end a line at a newline
    stops, other = (" \n", "\n") if binary else ("\n", " \n")
    for i, token in enumerate(tokens):
        bad = next((ch for ch in token if ch in stops), None)
        if bad is not None:
            what = {" ": "a space", "\n": "a line break"}[bad]
            instead = "" if any(ch in other for ch in token) else \
                f"export --format word2vec-{'text' if binary else 'binary'}, or "
            raise InputError(f"word {i + 1} ({token!r}) holds {what}, which word2vec's "
                             f"{'binary' if binary else 'text'} format cannot hold (its readers would split the "
                             f"word there); {instead}leave the word out with --words", path)


def read_word2vec(path: str, binary: bool | None = None) -> tuple[list[str], np.ndarray, str]:
    """Read word2vec text or binary vectors (or GloVe's headerless text); returns (tokens, vectors, format).
    ``binary=None`` detects the format."""
    from rnntools.io import open_binary

    try:
        with open_binary(path) as stream:
            reader = _Blocks(stream, path)
            tokens, vectors, found, has_header = _read_vectors(reader, path, binary)
    except (EOFError, OSError, ValueError, zlib.error, lzma.LZMAError) as exc:  # a truncated or corrupt .gz/.bz2/.xz
        if isinstance(exc, BrokenPipeError):
            raise
        raise InputError(f"cannot read ({exc.__class__.__name__}: {exc})", path) from None
    if vectors.shape[1] == 0:
        raise InputError("the vectors have 0 dimensions (each line needs a word and at least one number)", path)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"the vector of {tokens[i]!r} has NaN or infinite values ({len(bad)} such word"
                         f"{'s' if len(bad) > 1 else ''})", path, None if found == "word2vec-binary"
                         else i + 1 + has_header)
    return tokens, vectors, found


class _Blocks:
    """A stream read in blocks of BLOCK bytes: ``data[pos:]`` is what is read and not yet parsed. The
    readers hold no more than a line (--max-line-bytes) or a word and its vector beyond what they keep,
    so an endless input (/dev/zero, /dev/urandom, a binary dump) is an error, not all the memory there is."""

    BLOCK = 1 << 20

    def __init__(self, stream, path):
        self.stream, self.path = stream, path
        self.data, self.pos, self.eof = b"", 0, False

    def more(self) -> bool:
        """Read one more block (dropping what was parsed); False at the end of the input."""
        if self.eof:
            return False
        block = self.stream.read(self.BLOCK)
        if not block:
            self.eof = True
            return False
        self.data = self.data[self.pos:] + block
        self.pos = 0
        return True


def _read_vectors(reader: _Blocks, path, binary: bool | None):
    from rnntools.io import inputs

    limit = inputs.MAX_LINE_BYTES
    # the first line: word2vec's "V D" header, or GloVe's first vector
    while reader.data.find(b"\n") < 0 and len(reader.data) <= limit and reader.more():
        pass
    if reader.data.startswith(b"\xef\xbb\xbf"):   # a UTF-8 byte-order mark (Windows editors): not the header's
        reader.data = reader.data[3:]
    end = reader.data.find(b"\n")
    if end < 0 and len(reader.data) > limit:
        raise inputs._long_line(path, 1)
    if not reader.data.strip() and reader.eof:
        raise InputError("empty vectors file", path)
    while len(reader.data) < end + 4097 and reader.more():  # enough to tell binary from text
        pass
    data = reader.data
    end = data.find(b"\n")
    header = data[:end if end >= 0 else len(data)].split()
    has_header = len(header) == 2 and all(h.isdigit() for h in header)
    if binary is None:
        binary = has_header and _looks_binary(data[end + 1:end + 4097], int(header[1]))
    if has_header and int(header[1]) == 0:
        raise InputError("the header says the vectors have 0 dimensions", path, 1)
    if binary:
        if not has_header:
            raise InputError("a binary word2vec file starts with a 'V D' line", path, 1)
        reader.pos = end + 1
        tokens, vectors = _read_binary(reader, int(header[0]), int(header[1]), path, limit)
        return tokens, vectors, "word2vec-binary", has_header
    text = _read_text_whole(reader, path, limit)
    if not text.strip():
        raise InputError("empty vectors file", path)
    tokens, vectors = _read_text(text, path, has_header, header)
    return tokens, vectors, "word2vec-text" if has_header else "glove-text", has_header


def _read_text_whole(reader: _Blocks, path, limit: int) -> str:
    """The whole text, decoded and checked block by block as it comes: UTF-8 and no line longer than
    ``limit``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    texts: list[str] = []
    size, lines, since_newline = 0, 0, 0
    block = reader.data[reader.pos:]
    while True:
        try:
            texts.append(decoder.decode(block, final=not block))
        except UnicodeDecodeError as exc:
            offset = size + len(block) - len(exc.object) + exc.start
            line = lines + block[:max(0, offset - size)].count(b"\n") + 1   # a split character holds no newline
            raise InputError(f"invalid UTF-8 at byte {offset}; is it a binary file? (--format word2vec-binary)",
                             path, line) from None
        if not block:
            break
        last = block.rfind(b"\n")
        if last < 0:
            since_newline += len(block)
        else:
            lines += block.count(b"\n")
            since_newline = len(block) - last - 1
        if since_newline > limit:
            raise InputError(f"line longer than {limit:,} bytes (the limit); is this a vectors file? Raise the "
                             "limit with --max-line-bytes if the line is meant to be read whole", path, lines + 1)
        size += len(block)
        reader.data, reader.pos = b"", 0
        block = reader.data if reader.more() else b""
    return "".join(texts)


def _looks_binary(sample: bytes, dim: int) -> bool:
    """Whether the first bytes after a ``V D`` header are binary vectors rather than text lines.

    Text when the first line is a word and ``dim`` numbers (or, longer than the sample, starts as one): then a
    word holding a control character (a vertical tab, a form feed, U+001C-U+001F, which str.split takes for
    spaces) is a word, not a sign of binary data. A character cut by the sample's end is text too: a vectors file
    with a non-ASCII word at byte 4,096 was read as binary (garbage vectors, or "truncated binary vectors
    file")."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample)  # a cut character at the end is held back
    except UnicodeDecodeError:
        return True
    line, newline, _ = text.partition("\n")
    fields = _fields(line.rstrip("\r"), dim if newline else None)
    numbers = fields[1:dim + 1] if newline else fields[1:-1]  # a line cut by the sample: its last field may be cut
    if numbers and (len(fields) == dim + 1 or not newline and len(fields) <= dim + 1):
        try:
            [float(x) for x in numbers]
            return False
        except ValueError:
            pass
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)


def _read_binary(reader: _Blocks, V: int, D: int, path, limit: int) -> tuple[list[str], np.ndarray]:
    """V words, each a token, a space and D little-endian float32 (newlines between entries optional), read
    as they come: a header that claims more than the file holds is an error at its end, not an allocation."""
    tokens: list[str] = []
    rows: list[np.ndarray] = []
    width = 4 * D
    chunk = np.empty((min(V, 1 << 16), D), np.float32)
    k = 0
    for i in range(V):
        while True:  # separators between entries
            data, pos = reader.data, reader.pos
            while pos < len(data) and data[pos] in (10, 32):
                pos += 1
            reader.pos = pos
            if pos < len(data) or not reader.more():
                break
        while True:
            data, pos = reader.data, reader.pos
            space = data.find(b" ", pos)
            if space >= 0 and space + 1 + width <= len(data):
                break
            if space < 0 and len(data) - pos > limit:
                raise InputError(f"word {i + 1} is longer than {limit:,} bytes (no space after it); is this a "
                                 "binary word2vec file?", path)
            if not reader.more():
                raise InputError(f"truncated binary vectors file: the header says {V} words, found {i}", path)
        try:
            tokens.append(data[pos:space].decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError(f"word {i + 1} is not valid UTF-8", path) from None
        chunk[k] = np.frombuffer(data, "<f4", D, space + 1)
        k += 1
        if k == len(chunk):
            rows.append(chunk)
            chunk, k = np.empty((min(V - i - 1, 1 << 16) or 1, D), np.float32), 0
        reader.pos = space + 1 + width
    rows.append(chunk[:k])
    return tokens, np.concatenate(rows) if len(rows) > 1 else rows[0]


def _read_text(text: str, path, has_header: bool, header: list[bytes]) -> tuple[list[str], np.ndarray]:
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
        # a word holding a tab (as export writes it) is still one word when single spaces give D + 1 fields
        if D is None or len(parts) != D + 1 or any("\t" in x for x in parts[1:]):
            parts = _fields(line, D)
        if D is None:
            D = len(parts) - 1
        if len(parts) != D + 1:
            raise InputError(f"expected a word and {D} numbers, got {len(parts)} fields", path, n)
        try:
            # a value beyond float32's range becomes inf, which read_word2vec reports with the word; numpy's
            # overflow warning would print raw first
            with np.errstate(over="ignore"):
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
