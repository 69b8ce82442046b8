"""Words as data: tokenizers, vocabularies and the classic encodings (one-hot ids, bag of words, tf-idf)."""

from rnntools.text.tokenize import WORD_RE, tokenize_chars, tokenize_words
from rnntools.text.vocab import EOS, PAD, SPECIALS, START, UNK, Vocab

__all__ = ["WORD_RE", "tokenize_chars", "tokenize_words", "Vocab", "PAD", "UNK", "START", "EOS", "SPECIALS"]
