"""Tokenizers: words (Unicode letters and digits, apostrophes inside words) and characters.

Words are lowercased by default: for word vectors, bags of words and small-data classifiers, "The" and
"the" are better counted as one word (word2vec's text8 and gensim's analogy evaluation are lowercase, and
lowercasing roughly halves the rare-word tail). ``--keep-case`` turns it off where case carries meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

# a run of letters/digits (any script), optionally joined by apostrophes: don't, l'homme, rock'n'roll
WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# w2v-train's and phrases' words: these, plus underscores inside a word, so that the phrases `rnntools phrases`
# joins (new_york) stay one token
PHRASE_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019_][^\W_]+)*")


def tokenize_words(text: str, lowercase: bool = True) -> list[str]:
    """Words of ``text``: ``"We like TensorLayer, do we?"`` -> ``['we', 'like', 'tensorlayer', 'do', 'we']``."""
    return WORD_RE.findall(text.lower() if lowercase else text)


def tokenize_chars(text: str, lowercase: bool = False) -> list[str]:
    """Characters of ``text`` (code points), case kept unless asked."""
    return list(text.lower() if lowercase else text)


# ASCII bytes that can be inside a word (letters, digits) or that the word scan needs to see (the apostrophe,
# the line break), kept; every other ASCII byte becomes a space
_ASCII_WORD_BYTES = bytes(c if chr(c).isalnum() or c in (0x27, 0x0A) else 0x20 for c in range(128)) + bytes(
    range(128, 256))


def _ascii_word_text(text: str) -> str:
    """``text`` (ASCII) with every character that is not part of a WORD_RE word turned into a space, line
    breaks kept: ``str.split`` then gives each line's words."""
    data = text.encode("ascii").translate(_ASCII_WORD_BYTES)
    if b"'" in data:
        # an apostrophe stays only between two letters or digits: runs of two go first, then any that
        # touches a space, a line break or an end (what is left of an odd run touches a space by then)
        data = (data.replace(b"''", b"  ").replace(b" '", b"  ").replace(b"' ", b"  ")
                .replace(b"\n'", b"\n ").replace(b"'\n", b" \n"))
        if data.startswith(b"'"):
            data = b" " + data[1:]
        if data.endswith(b"'"):
            data = data[:-1] + b" "
    return data.decode("ascii")


def word_lines(lines: Sequence[str], lowercase: bool = False) -> Iterator[list[str]]:
    """``tokenize_words(line, lowercase)`` for each of ``lines``, in order.

    Counting and bag-of-words spend most of their time finding words. Lines of ASCII text, most of most
    corpora, are split without the regex: one byte translation and ``str.split``, several times faster.
    Other lines (any non-ASCII character, whose class needs Unicode's tables) go through the regex.
    """
    text = "\n".join(lines)
    if text.count("\n") != len(lines) - 1:  # a line with a break inside: the join cannot be undone
        return (tokenize_words(line, lowercase) for line in lines)
    if lowercase:
        text = text.lower()  # line by line the same (no case rule looks across a line break)
    if text.isascii():
        return map(str.split, _ascii_word_text(text).split("\n"))
    lines = text.split("\n")
    ascii_lines = list(map(str.isascii, lines))
    cleaned = _ascii_word_text("\n".join([line if plain else "" for line, plain in zip(lines, ascii_lines)]))
    findall = WORD_RE.findall
    return (words.split() if plain else findall(line)
            for words, plain, line in zip(cleaned.split("\n"), ascii_lines, lines))
