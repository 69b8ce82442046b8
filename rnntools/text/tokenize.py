"""Tokenizers: words (Unicode letters and digits with their combining marks, apostrophes inside words, in NFC)
and characters (code points, as written).

Words are lowercased by default: for word vectors, bags of words and small-data classifiers, "The" and
"the" are better counted as one word (word2vec's text8 and gensim's analogy evaluation are lowercase, and
lowercasing roughly halves the rare-word tail). ``--keep-case`` turns it off where case carries meaning.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence

from rnntools.text.marks import _MARKS

# a letter or digit (any script) and the letters, digits and combining marks after it: the vowel signs of
# Devanagari or Tamil, Hebrew points, Arabic harakat and the accents of decomposed (NFD) text belong to their word.
# Between two letters, the invisible joiners do not break a word either (Unicode's word boundaries, UAX #29, rule
# WB4): the zero-width non-joiner inside Persian words (U+200C), the zero-width joiner of Indic conjuncts (U+200D),
# the soft hyphen (U+00AD) and the word joiner (U+2060).
_WORD = rf"[^\W_](?:[^\W_]|[{_MARKS}]|[\u00ad\u200c\u200d\u2060]+(?=[^\W_]))*"
# words, optionally joined by apostrophes: don't, l'homme, rock'n'roll
WORD_RE = re.compile(rf"{_WORD}(?:['\u2019]{_WORD})*")
# w2v-train's and phrases' words: these, plus underscores inside a word, so that the phrases `rnntools phrases`
# joins (new_york) stay one token
PHRASE_WORD_RE = re.compile(rf"{_WORD}(?:['\u2019_]{_WORD})*")
# the same on ASCII text, which has no marks: about three times faster than the alternation above
_ASCII_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_ASCII_PHRASE_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019_][^\W_]+)*")


def nfc(text: str) -> str:
    """``text`` in Unicode's composed form (NFC), so that a word typed as ``e`` + U+0301 and as U+00E9 is one
    word (macOS and some keyboards write the decomposed form). ASCII and text already composed, nearly all
    text, is returned as it is, after a quick check."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def tokenize_words(text: str, lowercase: bool = True) -> list[str]:
    """Words of ``text``: ``"We like TensorLayer, do we?"`` -> ``['we', 'like', 'tensorlayer', 'do', 'we']``.
    Non-ASCII text is put in NFC first (``nfc``)."""
    if lowercase:
        text = text.lower()
    if text.isascii():
        return _ASCII_WORD_RE.findall(text)
    return WORD_RE.findall(nfc(text))


def phrase_tokenizer(lowercase: bool) -> Callable[[str], list[str]]:
    """w2v-train's and phrases' tokenizer: ``tokenize_words`` that keeps underscores inside words."""
    findall, ascii_findall = PHRASE_WORD_RE.findall, _ASCII_PHRASE_WORD_RE.findall

    def split(s: str) -> list[str]:
        if lowercase:
            s = s.lower()
        return ascii_findall(s) if s.isascii() else findall(nfc(s))

    return split


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
    return (words.split() if plain else findall(nfc(line))
            for words, plain, line in zip(cleaned.split("\n"), ascii_lines, lines))
