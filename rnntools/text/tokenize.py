"""Tokenizers: words (Unicode letters and digits, apostrophes inside words) and characters.

Words are lowercased by default: for word vectors, bags of words and small-data classifiers, "The" and
"the" are better counted as one word (word2vec's text8 and gensim's analogy evaluation are lowercase, and
lowercasing roughly halves the rare-word tail). ``--keep-case`` turns it off where case carries meaning.
"""

from __future__ import annotations

import re

# a run of letters/digits (any script), optionally joined by apostrophes: don't, l'homme, rock'n'roll
WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def tokenize_words(text: str, lowercase: bool = True) -> list[str]:
    """Words of ``text``: ``"We like TensorLayer, do we?"`` -> ``['we', 'like', 'tensorlayer', 'do', 'we']``."""
    return WORD_RE.findall(text.lower() if lowercase else text)


def tokenize_chars(text: str, lowercase: bool = False) -> list[str]:
    """Characters of ``text`` (code points), case kept unless asked."""
    return list(text.lower() if lowercase else text)
