"""Tokenizers, vocabularies and the bag-of-words encodings."""

import math
import os
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntools.text import SPECIALS, Vocab, tokenize_chars, tokenize_words
from rnntools.text.encode import BowEncoder
from rnntools.text.tokenize import word_lines
from rnntools.text.vocab import TokenCounter, merge_counts


def test_tokenize_words_curriculum_example():
    assert tokenize_words("We like TensorLayer, do we?") == ["we", "like", "tensorlayer", "do", "we"]


@pytest.mark.parametrize("text,tokens", [
    ("don't stop, l'homme", ["don't", "stop", "l'homme"]),
    ("rock\u2019n\u2019roll 'quoted'", ["rock\u2019n\u2019roll", "quoted"]),
    ("Ünïcödé ЖУК 東京 42nd", ["ünïcödé", "жук", "東京", "42nd"]),
    ("snake_case a-b", ["snake", "case", "a", "b"]),
    ("", []),
])
def test_tokenize_words(text, tokens):
    assert tokenize_words(text) == tokens


@pytest.mark.parametrize("text,tokens", [
    # combining marks belong to their word: vowel signs (Devanagari, Tamil), Hebrew points, Arabic harakat
    ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),              # was ['ह', 'न', 'द', 'भ', 'ष']
    ("தமிழ் மொழி", ["தமிழ்", "மொழி"]),
    ("שָׁלוֹם עוֹלָם", ["שָׁלוֹם", "עוֹלָם"]),
    ("مَرْحَبًا بِالْعَالَمِ", ["مَرْحَبًا", "بِالْعَالَمِ"]),
    # decomposed text (NFD) is read composed (NFC): one word whichever way it was typed
    ("Cafe\u0301 nai\u0308ve", ["caf\u00e9", "na\u00efve"]),
    ("x\u0301y don\u0334't", ["x\u0301y", "don\u0334't"]),  # no composed form: the mark stays in its word
    ("\u0301 a", ["a"]),                                  # a mark with no letter before it is no word
    # joiners between letters do not break a word (UAX #29 WB4); at a word's end they are not part of it
    ("می\u200cخواهم کتاب\u200c", ["می\u200cخواهم", "کتاب"]),
    ("क्\u200dष co\u00adoperate", ["क्\u200dष", "co\u00adoperate"]),
])
def test_tokenize_words_keeps_combining_marks_and_composes(text, tokens):
    assert tokenize_words(text) == tokens
    assert list(word_lines([text], True)) == [tokens]
    assert list(word_lines([text, "plain ascii"], True)) == [tokens, ["plain", "ascii"]]


def test_phrase_tokens_keep_marks_and_underscores():
    from rnntools.text.tokenize import phrase_tokenizer

    assert phrase_tokenizer(True)("New_York हिन्दी_भाषा Cafe\u0301") == ["new_york", "हिन्दी_भाषा", "caf\u00e9"]


def test_marks_class_is_every_combining_mark_of_this_python():
    import re
    import unicodedata

    from rnntools.text.marks import _MARKS

    marks = re.compile(f"[{_MARKS}]")
    wrong = [hex(c) for c in range(0x110000)
             if (unicodedata.category(chr(c))[0] == "M") != bool(marks.match(chr(c)))]
    assert not wrong, wrong[:20]


def test_keep_case():
    assert tokenize_words("The THE the", lowercase=False) == ["The", "THE", "the"]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_unicode_tokenizes_to_clean_words(text):
    for token in tokenize_words(text):
        assert token
        assert not any(c.isspace() for c in token)
        assert token[0] not in "'\u2019" and token[-1] not in "'\u2019"
    assert "".join(tokenize_chars(text)) == text


# the characters where the byte-level word split and the regex could part: apostrophes (straight and curly,
# in runs, at the ends), underscores, ASCII and other whitespace, letters whose lowercase depends on context
# (final sigma) or leaves ASCII (Kelvin sign, dotted I), digits, punctuation; ASCII-only lines take the byte
# path, the others the regex
_ASCII_EDGES = "aZ9'_ -.,\t\r\x0b\x0c\x1c\x00"
_UNICODE_EDGES = _ASCII_EDGES + "\u2019\u00a0\u2003\u00e9\u03a3\u03c3\u039f\u212a\u0130\u2014"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(alphabet=_ASCII_EDGES, max_size=10) | st.text(alphabet=_UNICODE_EDGES, max_size=10),
                max_size=6), st.booleans())
def test_word_lines_equals_the_regex_line_by_line(lines, lowercase):
    assert list(word_lines(lines, lowercase)) == [tokenize_words(line, lowercase) for line in lines]


@pytest.mark.parametrize("lines", [
    ["'tis the dogs' bone", "''a'''b'' c'd", "'", "''", "don't", "rock'n'roll_x", "dogs'", "'x"],  # bytes
    ["caf\u00e9 'x'", "plain 'quoted' text", "\u039f\u0394\u039f\u03a3.ABC \u039f\u03a3"],  # mixed lines
    ["a\nb", "c"],  # a break inside a line: the regex, line by line
    [],
])
def test_word_lines_known_cases(lines):
    for lowercase in (True, False):
        assert list(word_lines(lines, lowercase)) == [tokenize_words(line, lowercase) for line in lines]


def test_vocab_order_is_count_then_token():
    vocab = Vocab.build({"b": 2, "a": 2, "c": 5, "d": 1}, min_count=2)
    assert vocab.tokens == [*SPECIALS, "c", "a", "b"]
    assert (vocab.pad_id, vocab.unk_id, vocab.start_id, vocab.eos_id) == (0, 1, 2, 3)
    assert vocab.counts.tolist() == [0, 0, 0, 0, 5, 2, 2]


def test_vocab_max_size_counts_ordinary_tokens():
    vocab = Vocab.build({"a": 3, "b": 2, "c": 1}, max_size=2)
    assert vocab.tokens[vocab.n_special:] == ["a", "b"]
    bare = Vocab.build({"a": 3, "b": 2, "c": 1}, max_size=2, specials=False)
    assert bare.tokens == ["a", "b"] and bare.n_special == 0
    with pytest.raises(ValueError):
        bare.unk_id


def test_encode_unknown_and_decode():
    vocab = Vocab.from_texts(["the cat", "the dog"])
    ids = vocab.encode("The zebra dog")
    assert ids.dtype == np.int32
    assert ids.tolist() == [vocab.index["the"], vocab.unk_id, vocab.index["dog"]]
    assert vocab.decode(ids) == "the dog"
    bare = Vocab.from_texts(["the cat"], specials=False)
    assert bare.encode("the zebra").tolist() == [bare.index["the"]]


def test_char_vocab():
    vocab = Vocab.from_texts(["abba", "Ab"], level="char")
    assert vocab.level == "char" and not vocab.lowercase
    assert vocab.tokens[vocab.n_special:] == ["b", "a", "A"]
    assert vocab.decode(vocab.encode("ab\u00e9")) == "ab"


def test_token_counter_document_frequency_and_lines():
    counter = TokenCounter("word")
    counter.add_lines(["a a b", "b c", ""])
    assert counter.counts == Counter({"a": 2, "b": 2, "c": 1})
    assert counter.doc_freq == Counter({"b": 2, "a": 1, "c": 1})
    assert counter.documents == 3
    chars = TokenCounter("char", lowercase=False)
    chars.add_lines(["ab", "a"])
    assert chars.counts["\n"] == 2 and chars.counts["a"] == 2


def test_merge_equals_counting_everything():
    lines = ["the cat sat", "on the mat", "the end", "a cat"]
    whole = TokenCounter()
    whole.add_lines(lines)
    shards = []
    for part in (lines[:1], lines[1:]):
        counter = TokenCounter()
        counter.add_lines(part)
        shards.append(counter.vocab())
    merged = merge_counts(shards)
    assert merged.counts == whole.counts and merged.doc_freq == whole.doc_freq
    assert merged.documents == whole.documents
    assert merged.vocab().tokens == whole.vocab().tokens


def test_merge_refuses_mixed_levels():
    with pytest.raises(ValueError, match="different --level"):
        merge_counts([Vocab.from_texts(["ab"], level="char"), Vocab.from_texts(["ab"])])


def test_vocab_meta_round_trip():
    vocab = Vocab.from_texts(["x y y", "z"])
    again = Vocab.from_meta(vocab.to_meta())
    assert again.tokens == vocab.tokens and again.level == vocab.level and again.n_special == 4
    assert again.counts.tolist() == vocab.counts.tolist()


# --- bag of words --------------------------------------------------------------------------------------

DOCS = ["We like TensorLayer, do we?", "the cat sat on the mat", "", "the dog likes the cat"]


def test_bow_counts_curriculum_example():
    vocab = Vocab.from_texts(DOCS)
    indices, values = BowEncoder(vocab, "counts").sparse(DOCS[0])
    counts = {vocab.tokens[i]: v for i, v in zip(indices, values)}
    assert counts == {"we": 2, "like": 1, "tensorlayer": 1, "do": 1}
    assert indices == sorted(indices)


def test_bow_binary_ids_onehot():
    vocab = Vocab.from_texts(DOCS)
    enc = BowEncoder(vocab, "binary")
    assert enc.sparse("we we zebra")[1] == [1, 1]
    ids = BowEncoder(vocab, "ids")
    assert ids.record("we zebra") == {"ids": [vocab.index["we"], vocab.unk_id]}
    assert ids.unknown == 1
    onehot = BowEncoder(vocab, "onehot").record("the cat")
    assert onehot == {"shape": [2, len(vocab)], "indices": [vocab.index["the"], vocab.index["cat"]]}


def test_tfidf_matches_scikit_learn_formula():
    vocab = Vocab.from_texts(DOCS)
    enc = BowEncoder(vocab, "tfidf")
    indices, values = enc.sparse(DOCS[1])
    n = vocab.documents
    expected = {}
    for token, tf in Counter(tokenize_words(DOCS[1])).items():
        df = vocab.doc_freq[vocab.index[token]]
        expected[vocab.index[token]] = tf * (math.log((1 + n) / (1 + df)) + 1)
    norm = math.sqrt(sum(v * v for v in expected.values()))
    assert indices == sorted(expected)
    np.testing.assert_allclose(values, [expected[i] / norm for i in indices], rtol=1e-12)


def test_tfidf_against_scikit_learn_when_installed():
    sklearn = pytest.importorskip("sklearn.feature_extraction.text")
    vocab = Vocab.from_texts(DOCS)
    tokens = vocab.tokens[vocab.n_special:]
    vec = sklearn.TfidfVectorizer(vocabulary=tokens, tokenizer=tokenize_words, token_pattern=None,
                                  lowercase=False).fit(DOCS)
    expected = vec.transform(DOCS).toarray()
    enc = BowEncoder(vocab, "tfidf")
    for row, doc in zip(expected, DOCS):
        dense = np.zeros(len(vocab))
        indices, values = enc.sparse(doc)
        dense[indices] = values
        np.testing.assert_allclose(dense[vocab.n_special:], row, atol=1e-12)


def test_tfidf_needs_document_frequencies():
    vocab = Vocab(["a", "b"], [1, 1], level="word")
    with pytest.raises(ValueError, match="document frequencies"):
        BowEncoder(vocab, "tfidf")


def test_parallel_counting_and_encoding_match_serial(tmp_path):
    import io

    from rnntools.text.pipeline import count_vocab, encode_documents

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    text = "\n".join(" ".join(rng.choice(words, size=rng.integers(0, 30))) for _ in range(20000)) + "\n"
    path = tmp_path / "c.txt"
    path.write_text(text)
    serial = count_vocab([str(path)], workers=1)
    parallel = count_vocab([str(path)], workers=2)
    assert serial.tokens == parallel.tokens
    assert serial.counts.tolist() == parallel.counts.tolist()
    assert serial.doc_freq.tolist() == parallel.doc_freq.tolist() and serial.documents == parallel.documents == 20000
    vocab_path = tmp_path / "v.jsonl"
    from rnntools.io import JsonlWriter

    with open(vocab_path, "w") as f:
        Vocab.build(dict(zip(serial.tokens[4:150], serial.counts[4:150].tolist())),
                    doc_freq=dict(zip(serial.tokens, serial.doc_freq.tolist())), documents=20000).write(JsonlWriter(f))
    outputs = {}
    for workers in (1, 2):
        buffer = io.StringIO()
        encode_documents([str(path)], str(vocab_path), "tfidf", stream=buffer, workers=workers)
        outputs[workers] = buffer.getvalue()
    assert outputs[1] == outputs[2] and outputs[1].count("\n") == 20000
    matrices = []
    for workers in (1, 2):
        out = tmp_path / f"m{workers}.npz"
        encode_documents([str(path)], str(vocab_path), "counts", output_format="npz", output=str(out),
                         workers=workers)
        with np.load(out, allow_pickle=False) as npz:
            matrices.append({k: npz[k] for k in ("data", "indices", "indptr", "shape")})
    for key in matrices[0]:
        np.testing.assert_array_equal(matrices[0][key], matrices[1][key])
    assert matrices[0]["shape"].tolist() == [20000, 150]


def test_vocab_write_formats_records_as_the_jsonl_writer_would():
    """Vocab.write formats its token records itself (speed); the bytes are those of JsonlWriter."""
    import io as _io

    from rnntools.io import JsonlWriter
    from rnntools.text.vocab import Vocab

    vocab = Vocab.build({"the": 5, 'quo"te': 2, "back\\slash": 2, "tab\there": 1, "caf\u00e9": 3, "\u2019s": 1,
                         "\n": 4}, level="word")
    fast, slow = _io.StringIO(), _io.StringIO()
    vocab.write(JsonlWriter(fast))
    writer = JsonlWriter(slow)
    writer.write(vocab.header())
    for record in vocab.records():
        writer.write(record)
    assert fast.getvalue() == slow.getvalue()
    assert '"special": true' in fast.getvalue()


def _read_line_by_line(path):
    """The careful reader alone (every line through ``_read_record``): what the fast path must agree with."""
    from rnntools.text import vocab as vocab_module

    real = vocab_module._written_records
    vocab_module._written_records = lambda text, first_id: None
    try:
        return vocab_module.Vocab.read(path)
    finally:
        vocab_module._written_records = real


def _outcome(path):
    from rnntools.errors import InputError
    from rnntools.text.vocab import Vocab

    try:
        vocab = Vocab.read(path)
    except InputError as exc:
        return "error", str(exc)
    return vocab.tokens, list(vocab.counts), list(vocab.doc_freq), vocab.level, vocab.documents, vocab.n_special


def test_vocab_read_fast_path_agrees_with_the_line_by_line_reader(tmp_path):
    """Files `vocab` writes are read by one regex pass; anything else must give what the careful reader gives
    (the same vocabulary, or the same error naming the same line)."""
    import io as _io

    from rnntools.errors import InputError
    from rnntools.io import JsonlWriter
    from rnntools.text.vocab import Vocab

    # words as the tokenizers split them (a word-level file holding others is an error of its own)
    vocab = Vocab.build({"the": 5, "quo'te": 2, "new_york": 2, "a1": 1, "caf\u00e9": 3, "don\u2019t": 1,
                         "\u65e5\u672c": 2, "b2": 1}, level="word", documents=7)
    buffer = _io.StringIO()
    vocab.write(JsonlWriter(buffer))
    good = buffer.getvalue()
    lines = good.splitlines(keepends=True)
    record = '{"token": "zz", "id": 12, "count": 1, "df": 1}\n'
    cases = {
        "good": good,
        "crlf": good.replace("\n", "\r\n"),
        "no final newline": good.rstrip("\n"),
        "blank line inside": "".join(lines[:6] + ["\n"] + lines[6:]),
        "no header": "".join(lines[1:]),
        "extra field": good.replace('"df": 2}', '"df": 2, "x": 1}'),
        "spaces differ": good.replace('"count": 5,', '"count":5,'),
        "id skipped": good.replace('"id": 6,', '"id": 7,'),
        "id leading zero": good.replace('"id": 6,', '"id": 06,'),
        "count too large": good.replace('"count": 5,', f'"count": {2**63},'),
        "count 19 digits": good.replace('"count": 5,', f'"count": {2**63 - 1},'),
        "negative": good.replace('"count": 5,', '"count": -5,'),
        "float count": good.replace('"count": 5,', '"count": 5.0,'),
        "empty token": good.replace('"token": "the"', '"token": ""'),
        "lone surrogate": good.replace('"token": "the"', '"token": "\\ud800"'),
        "escaped pair": good.replace('"token": "the"', '"token": "\\ud835\\udc9cx"'),
        "unicode escape": good.replace('"token": "the"', '"token": "\\u0074he"'),
        "bad escape": good.replace('"token": "the"', '"token": "\\qhe"'),
        "control char": good.replace('"token": "the"', '"token": "t\x01he"'),
        "two records on a line": good.rstrip("\n") + " " + record,
        "record split over lines": good + '{"token": "zz", "id": 12,\n"count": 1, "df": 1}\n',
        "not json": good + "hello world\n",
        "a list": good + "[1, 2]\n",
        "unicode digits": good.replace('"count": 5,', '"count": \u0661,'),
    }
    for name, text in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        fast = _outcome(path)
        try:
            slow = _read_line_by_line(path)
            slow = (slow.tokens, list(slow.counts), list(slow.doc_freq), slow.level, slow.documents, slow.n_special)
        except InputError as exc:
            slow = ("error", str(exc))
        assert fast == slow, name
    assert _outcome(tmp_path / "good.jsonl")[0] == vocab.tokens
    assert _outcome(tmp_path / "id_skipped.jsonl")[0] == "error"
    assert _outcome(tmp_path / "escaped_pair.jsonl")[0][4] == "\U0001d49cx"
    # a character vocabulary's escapes (a quote, a backslash, a tab, a slash) and characters beyond the BMP
    chars = Vocab.build({'"': 5, "\\": 2, "\t": 1, "/": 1, "\u00e9": 3, "\U0001f600": 2}, level="char", lowercase=False,
                        documents=7)
    buffer = _io.StringIO()
    chars.write(JsonlWriter(buffer))
    for name, text in {"chars": buffer.getvalue(), "chars crlf": buffer.getvalue().replace("\n", "\r\n")}.items():
        path = tmp_path / f"{name.replace(' ', '_')}.jsonl"
        path.write_text(text, encoding="utf-8")
        slow = _read_line_by_line(path)
        assert _outcome(path) == (slow.tokens, list(slow.counts), list(slow.doc_freq), "char", 7, 4), name
        assert slow.tokens == chars.tokens


def test_vocab_read_fast_path_reads_every_chunk(tmp_path):
    """A vocabulary longer than one read chunk: ids carry on across chunks; a bad record far in is named."""
    from rnntools.errors import InputError
    from rnntools.io import JsonlWriter
    from rnntools.text.vocab import Vocab

    counts = {f"w{i}": 1 + i % 7 for i in range(60000)}
    vocab = Vocab.build(counts, level="word", documents=3)
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        vocab.write(JsonlWriter(f))
    assert path.stat().st_size > 2 << 20
    back = Vocab.read(path)
    assert back.tokens == vocab.tokens and list(back.counts) == list(vocab.counts)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[50001] = lines[50001].replace('"count": ', '"count": -')
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        Vocab.read(path)
    assert raised.value.line == 50002


def test_worker_processes_only_for_inputs_that_may_be_large(tmp_path, monkeypatch):
    """A folder or a missing path fails at once when read: no worker processes are started for it. Stdin, a
    pipe or a device may be endless, so they count as large; a regular file by its size."""
    from rnntools.text import pipeline

    monkeypatch.setattr(pipeline, "available_cores", lambda: 2)
    small = tmp_path / "small.txt"
    small.write_text("a b c\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert pipeline._workers(None, [str(tmp_path)]) == 1
    assert pipeline._workers(None, [str(tmp_path / "missing.txt")]) == 1
    assert pipeline._workers(None, [str(small)]) == 1
    assert pipeline._workers(None, [str(small), str(tmp_path)]) == 1
    assert pipeline._workers(None, ["-"]) == 2
    assert pipeline._workers(None, [str(fifo)]) == 2
    assert pipeline._workers(None, ["/dev/null"]) == 2
    assert pipeline._workers(3, [str(tmp_path)]) == 3
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 4)
    assert pipeline._workers(None, [str(small)]) == 2


def test_vocab_write_without_escapes_is_the_jsonl_writer_s_text_too():
    """Tokens that need no JSON escaping (every word) are written quoted as they are: the same bytes."""
    import io as _io

    from rnntools.io import JsonlWriter

    vocab = Vocab.build({"the": 5, "caf\u00e9": 3, "\u2019s": 1, "\u6771\u4eac": 2, "x\u2028y": 1, "\x7f": 1},
                        level="word")
    fast, slow = _io.StringIO(), _io.StringIO()
    vocab.write(JsonlWriter(fast))
    writer = JsonlWriter(slow)
    writer.write(vocab.header())
    for record in vocab.records():
        writer.write(record)
    assert fast.getvalue() == slow.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "ab", "B", "\u00e9", "<unk>", "</s>", "z", "aa"]),
                       st.integers(0, 4)), st.integers(0, 3), st.one_of(st.none(), st.integers(1, 5)), st.booleans())
def test_vocab_build_orders_as_count_then_token(counts, min_count, max_size, specials):
    """Vocab.build sorts by token, then stably by count: the order of a sort keyed by (-count, token)."""
    kept = sorted(((t, c) for t, c in counts.items() if c >= min_count and t not in SPECIALS),
                  key=lambda item: (-item[1], item[0]))[:max_size]
    vocab = Vocab.build(counts, min_count=min_count, max_size=max_size, specials=specials,
                        doc_freq={t: c // 2 for t, c in counts.items()})
    head = list(SPECIALS) if specials else []
    assert vocab.tokens == head + [t for t, _ in kept]
    assert vocab._counts == [0] * len(head) + [c for _, c in kept]
    assert vocab._doc_freq == [0] * len(head) + [c // 2 for _, c in kept]


def _ranges_text(runs):
    out = []
    for run in runs:
        for part in run:
            with open(part.real, "rb") as f:
                f.seek(part.start)
                out.append((part.real, f.read() if part.end is None else f.read(part.end - part.start)))
    return out


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_split_files_cuts_at_line_starts_and_covers_every_byte_once(tmp_path, parts):
    from rnntools.io import split_files

    files = {"a.txt": b"one two\nthree\n" * 50, "empty.txt": b"", "b.txt": b"x" * 5000 + b"\n" + b"y\n" * 10,
             "c.txt": b"last line without a break\nend"}
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    runs = split_files(paths, parts)
    assert 1 <= len(runs) <= parts
    pieces = _ranges_text(runs)
    for path in paths:  # every file whole, in order, from its pieces
        assert b"".join(data for real, data in pieces if real == path) == (tmp_path / os.path.basename(path)).read_bytes()
    assert [real for real, _ in pieces] == sorted([real for real, _ in pieces], key=paths.index)
    for run in runs:
        for part in run:
            assert part.start == 0 or open(part.real, "rb").read()[part.start - 1:part.start] == b"\n"
            assert part.first_line == (1 if part.start == 0 else 2)
    assert runs[0][0].start == 0 and str(runs[0][0]) == paths[0]


def test_split_files_leaves_streams_and_compressed_files_to_the_stream_reader(tmp_path):
    from rnntools.io import split_files

    plain = tmp_path / "a.txt"
    plain.write_text("a b\n" * 100)
    (tmp_path / "a.txt.gz").write_bytes(b"")
    for other in ["-", str(tmp_path / "a.txt.gz"), str(tmp_path / "missing.txt"), str(tmp_path), "/dev/null"]:
        assert split_files([str(plain), other], 2) is None, other
    assert len(split_files([str(plain)], 2)) == 2


def test_counting_in_two_processes_reading_their_own_halves_matches_one(tmp_path):
    """BOMs, CRLF line ends, a last line without a break, several files, characters too."""
    from rnntools.text.pipeline import count_tokens

    rng = np.random.default_rng(1)
    words = ["the", "Cat", "don't", "caf\u00e9", "\u6771\u4eac", "x'y", "''", "r\u2019n"]
    paths = []
    for k in range(3):
        lines = [" ".join(rng.choice(words, size=rng.integers(0, 12))) for _ in range(3000)]
        data = ("\r\n" if k == 1 else "\n").join(lines) + ("" if k == 2 else "\n")
        path = tmp_path / f"f{k}.txt"
        path.write_bytes((b"\xef\xbb\xbf" if k else b"") + data.encode())
        paths.append(str(path))
    for level in ("word", "char"):
        serial = count_tokens(paths, level=level, workers=1)
        for workers in (2, 3):
            parallel = count_tokens(paths, level=level, workers=workers)
            assert parallel.counts == serial.counts and parallel.doc_freq == serial.doc_freq
            assert parallel.documents == serial.documents == 9000


@pytest.mark.parametrize("bad", [b"caf\xe9 au lait\n", b"x" * (1 << 21) + b"\n"], ids=["utf8", "long line"])
def test_an_error_in_a_helper_s_half_names_the_line_a_single_process_names(tmp_path, bad):
    from rnntools.errors import InputError
    from rnntools.text.pipeline import count_tokens

    path = tmp_path / "c.txt"
    lines = [b"the cat sat on the mat\n"] * 40000
    lines[31234] = bad
    path.write_bytes(b"".join(lines))
    outcomes = []
    for workers in (1, 2):
        with pytest.raises(InputError) as raised:
            count_tokens([str(path)], workers=workers)
        outcomes.append(str(raised.value))
    assert outcomes[0] == outcomes[1] and "31235" in outcomes[0]
