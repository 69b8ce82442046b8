"""Hostile-input suite: every command against every fault class, one table per class.

Each case says what must happen: the exit status (0 ok, 1 data/runtime error, 2 usage error, 130
interrupted), a one-line error on stderr with no traceback, and nothing lost: the models and inputs the
suite shares are hashed before and after every case. Cases in an area another change still has to fix are
marked ``xfail(strict=False)`` with the area named, so they turn green without an edit here.

Fault classes: bad option values, hostile input files, tampered model files, the output policy (outputs
onto inputs, missing or unwritable folders, symlinks, devices, planted temporary files, full disks),
closed standard streams, signals, concurrent writers and memory caps (these last ones in real processes,
in test_hostile_process.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np
import pytest
from conftest import SAMPLES

# --- shared fixtures: tiny models of every kind, trained once per test process -------------------------

TINY = ["--hidden", "8", "--max-steps", "3", "--threads", "1", "--seed", "1"]


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """A folder with small inputs and one model of each kind; read-only for the cases."""
    from click.testing import CliRunner
    from conftest import _Main

    from rnntools.cli import main

    root = tmp_path_factory.mktemp("hostile")

    def run(*args):
        result = CliRunner().invoke(_Main(main), [str(a) for a in args])
        assert result.exit_code == 0, (args, result.stderr)
        return result

    with open(os.path.join(SAMPLES, "book.txt"), encoding="utf-8") as f:
        book = "".join(f.readlines()[:120])
    (root / "book.txt").write_text(book, encoding="utf-8")
    with open(os.path.join(SAMPLES, "corpus.txt"), encoding="utf-8") as f:
        (root / "corpus.txt").write_text("".join(f.readlines()[:200]), encoding="utf-8")
    with open(os.path.join(SAMPLES, "glosses.jsonl"), encoding="utf-8") as f:
        (root / "g.jsonl").write_text("".join(f.readlines()[:40]), encoding="utf-8")
    with open(os.path.join(SAMPLES, "pairs.jsonl"), encoding="utf-8") as f:
        (root / "p.jsonl").write_text("".join(f.readlines()[:40]), encoding="utf-8")
    (root / "air.csv").write_text(open(os.path.join(SAMPLES, "airline.csv"), encoding="utf-8").read())
    (root / "docs.txt").write_text("the cat sat\nthe dog ran\n", encoding="utf-8")
    (root / "notes.txt").write_text("my notes\n", encoding="utf-8")
    (root / "v.jsonl").write_text(run("vocab", root / "docs.txt").stdout, encoding="utf-8")
    run("rnn-train", "--task", "lm", root / "book.txt", "-o", root / "lm.npz", *TINY)
    run("rnn-train", "--task", "classify", root / "g.jsonl", "-o", root / "clf.npz", "--embed-dim", "8", *TINY)
    run("rnn-train", "--task", "seq2seq", root / "p.jsonl", "-o", root / "s2s.npz", *TINY)
    run("rnn-train", "--task", "forecast", root / "air.csv", "-o", root / "fc.npz", *TINY)
    run("w2v-train", root / "corpus.txt", "-o", root / "w.npz", "--dim", "8", "--epochs", "1", "--min-count", "1",
        "--threads", "1")
    (root / "empty.txt").write_text("")
    (root / "vec.txt").write_text("2 3\na 1 2 3\nb 4 5 6\n")
    (root / "sub").mkdir()
    return root


def _digest(root) -> dict[str, str]:
    out = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture
def hostile(world, run_cli, tmp_path, monkeypatch):
    """Run a case in a scratch folder; checks the shared world is unchanged afterwards."""
    before = _digest(world)
    monkeypatch.chdir(tmp_path)

    def run(args, stdin=None):
        args = [str(a).replace("{w}", str(world)).replace("{t}", str(tmp_path)) for a in args]
        return run_cli(args, input=stdin)

    yield run
    assert _digest(world) == before, "a shared input or model was changed"
    assert not [n for n in os.listdir(world) if n.endswith(".tmp")], "a temporary file was left behind"


def check(result, status, pattern=None):
    """The contract of a failing (or succeeding) case."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == status, (result.exit_code, result.stderr)
    if status == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and ": error: " in lines[0], result.stderr
    if status == 2:
        assert result.stderr.strip(), "a usage error says why"
    if pattern:
        assert re.search(pattern, result.stderr), result.stderr


# tables written from the issue whose full run did not finish on the loaded machine before landing: they
# run and report, and become gates once seen green
_NOT_YET_RUN = pytest.mark.xfail(strict=False, reason="not yet run to completion on main")


def _later(area):
    return pytest.mark.xfail(strict=False, reason=f"not fixed yet in the {area} area")


# --- 1. bad option values: NaN/inf/huge at parse time -----------------------------------------------

BAD_VALUES = [
    # (args, stdin, status, pattern)
    (["sample", "{w}/lm.npz", "--temperature", "nan"], None, 2, "finite|range"),
    (["sample", "{w}/lm.npz", "--temperature", "inf"], None, 2, "finite|range"),
    (["sample", "{w}/lm.npz", "--temperature", "-1"], None, 2, None),
    (["sample", "{w}/lm.npz", "--length", "0"], None, 2, None),
    (["sample", "{w}/lm.npz", "--prime", "ab\\x", "--length", "2"], None, 2, "escape"),
    (["sample", "{w}/lm.npz", "--prime", "ab\\", "--length", "2"], None, 2, "escape"),
    (["sample", "{w}/lm.npz", "--until", "\\u12", "--length", "2"], None, 2, "escape"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--lr", "nan"], None, 2, "finite|range"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--lr", "inf"], None, 2, "finite|range"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--lr", "1e6"], None, 2, None),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--lr", "-1"], None, 2, None),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--clip", "nan"], None, 2, "finite|range"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--dropout", "nan"], None, 2, "finite|range"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--max-time", "inf"], None, 2, "finite|range"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--val-fraction", "nan"], None, 2, "finite|range"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--hidden", "100000"], None, 2, "memory"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--embed-dim", "1000000000"], None, 2,
     "memory"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--hidden", "0"], None, 2, None),
    (["rnn-train", "--task", "classify", "{w}/g.jsonl", "-o", "m.npz", "--hidden", "100000"], None, 2, "memory"),
    (["rnn-train", "--task", "seq2seq", "{w}/p.jsonl", "-o", "m.npz", "--hidden", "100000"], None, 2, "memory"),
    (["rnn-train", "--task", "seq2seq", "{w}/p.jsonl", "-o", "m.npz", "--encoder-layers", "100000000"], None, 2,
     "memory"),
    (["rnn-train", "--task", "forecast", "{w}/air.csv", "-o", "m.npz", "--hidden", "100000"], None, 2, "memory"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--freeze-embeddings"], None, 2,
                 "embeddings"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "m.npz", "--level", "char", "--embeddings",
                  "{w}/w.npz"], None, 2, None),
    (["w2v-train", "{w}/corpus.txt", "-o", "m.npz", "--sample", "nan"], None, 2, "finite|range"),
    (["w2v-train", "{w}/corpus.txt", "-o", "m.npz", "--alpha", "inf"], None, 2, "finite|range"),
    (["w2v-train", "{w}/corpus.txt", "-o", "m.npz", "--min-alpha", "nan"], None, 2, "finite|range"),
    (["w2v-train", "{w}/corpus.txt", "-o", "m.npz", "--dim", "1000000000"], None, 2, "memory"),
    (["w2v-train", "{w}/corpus.txt", "-o", "m.npz", "--negative", "100000", "--min-count", "1"], None,
                 2, None),
    (["vocab", "--merge", "--level", "char", "{w}/v.jsonl"], None, 2, "merge"),
    (["vocab", "--merge", "--field", "text", "{w}/v.jsonl"], None, 2, "merge"),
    (["vocab", "--min-count", "0", "{w}/docs.txt"], None, 2, None),
    (["vocab", "--max-line-bytes", "0", "{w}/docs.txt"], None, 2, None),
    (["bow", "--vocab", "{w}/v.jsonl", "--mode", "nope", "{w}/docs.txt"], None, 2, None),
    (["neighbors", "{w}/w.npz", "-k", "0", "the"], None, 2, None),
    (["neighbors", "{w}/w.npz", "-k", "999999999999999", "the"], None, 0, None),
    (["neighbors", "{w}/w.npz", "-k", "99999999999999999999", "the"], None, 2, "too large"),
    (["predict", "{w}/clf.npz", "--top-k", "-1"], '{"text": "a"}\n', 2, None),
    (["predict", "{w}/fc.npz", "--horizon", "0", "{w}/air.csv"], None, 2, None),
    # a line bound beyond any line is no bound (above sys.maxsize the csv module's C limit overflowed)
    (["predict", "{w}/fc.npz", "--max-line-bytes", "9223372036854775808", "{w}/air.csv"], None, 0, None),
    (["predict", "{w}/fc.npz", "--horizon", "100000", "{w}/air.csv"], None, 1, None),
    (["predict", "{w}/s2s.npz", "--max-length", "100000000"], '{"source": "abc"}\n', 2, None),
    (["evaluate", "{w}/fc.npz", "--backtest", "1000", "{w}/air.csv"], None, 1,
     r"air\.csv:2: --backtest 1000 .*at most --backtest \d+ for this data"),
    (["predict", "{w}/s2s.npz", "--length-norm", "1e300"], '{"source": "abc"}\n', 2, "--length-norm"),
    (["rnn-train", "--task", "forecast", "{w}/air.csv", "-o", "m.npz", "--ensemble", "99999999999"], None, 2,
     "--ensemble"),  # trained network after network for ever
    (["import", "{w}/vec.txt", "-o", "/dev/null"], None, 0, None),  # zipfile offsets from /dev/null's tell()
    (["predict", "{w}/fc.npz", "--intervals", "0", "{w}/air.csv"], None, 2, "--intervals"),
    (["predict", "{w}/fc.npz", "--intervals", "", "{w}/air.csv"], None, 2, "--intervals"),
    (["rnn-train", "--task", "forecast", "{w}/air.csv", "-o", "m.npz", "--intervals", "0"], None, 2, "--intervals"),
    (["evaluate", "{w}/w.npz", "--analogies", "{w}/docs.txt", "--restrict", "0"], None, 2, None),
]


@pytest.mark.parametrize("args,stdin,status,pattern", BAD_VALUES)
def test_bad_values(hostile, args, stdin, status, pattern):
    check(hostile(args, stdin), status, pattern)


# --- 2. hostile input files ---------------------------------------------------------------------------

def _files(tmp):
    """Hostile inputs written on demand into the case's scratch folder."""
    (tmp / "nul.txt").write_bytes(b"\x00" * 3000)
    (tmp / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp / "long.txt").write_bytes(b"a" * (2 << 20) + b"\n")
    (tmp / "nan.jsonl").write_text('{"text": "a", "label": NaN, "source": "ab"}\n')
    (tmp / "inf.jsonl").write_text('{"text": "a", "label": 1e999, "source": "ab"}\n')
    (tmp / "bigint.jsonl").write_text('{"text": "a", "label": ' + "9" * 5000 + ', "source": "ab"}\n')
    (tmp / "deep.jsonl").write_text('{"text": ' + "[" * 100000 + "]" * 100000 + "}\n")
    (tmp / "list.jsonl").write_text("[1, 2]\n")
    (tmp / "trunc.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp / "confusion.json").write_text('{"confusion": [[1, 2], [3]], "labels": ["a", "b"]}\n')
    os.mkfifo(tmp / "fifo")


HOSTILE_FILES = [
    (["vocab", "{t}/missing.txt"], 1, "no such file"),
    (["vocab", "{w}/sub"], 1, None),
    (["vocab", "{t}/latin1.txt"], 1, r"latin1.txt:1: invalid UTF-8"),
    (["vocab", "{t}/long.txt"], 1, r"long.txt:1: line longer than"),
    (["vocab", "--max-line-bytes", "4000000", "{t}/long.txt"], 0, None),
    (["vocab", "/dev/zero"], 1, r"/dev/zero:1: line longer than"),
    (["vocab", "{t}/trunc.gz"], 1, "trunc.gz"),
    (["vocab", "--text-field", "text", "{t}/nan.jsonl"], 1, r"nan.jsonl:1: invalid JSON \(NaN"),
    (["vocab", "--text-field", "text", "{t}/inf.jsonl"], 1, r"inf.jsonl:1: invalid JSON"),
    (["vocab", "--text-field", "text", "{t}/bigint.jsonl"], 1, r"bigint.jsonl:1: invalid JSON"),
    (["vocab", "--text-field", "text", "{t}/deep.jsonl"], 1, r"deep.jsonl:1: invalid JSON"),
    (["vocab", "--text-field", "text", "{t}/list.jsonl"], 1, r"list.jsonl:1: expected a JSON object"),
    (["bow", "--vocab", "{t}/nan.jsonl", "{w}/docs.txt"], 1, "nan.jsonl"),
    (["bow", "--vocab", "{w}/v.jsonl", "--text-field", "text", "{t}/nan.jsonl"], 1, r"nan.jsonl:1"),
    (["bow", "--vocab", "{w}/v.jsonl", "{t}/nul.txt"], 0, None),
    (["w2v-train", "{t}/latin1.txt", "-o", "m.npz"], 1, r"latin1.txt:1"),
    (["w2v-train", "{w}/empty.txt", "-o", "m.npz"], 1, None),
    (["w2v-train", "{t}/long.txt", "-o", "m.npz", "--min-count", "1", "--epochs", "1"], None, None),
    (["rnn-train", "--task", "lm", "{t}/long.txt", "-o", "m.npz"], 1, r"long.txt:1: line longer"),
    (["rnn-train", "--task", "lm", "{w}/empty.txt", "-o", "m.npz"], 1, None),
    (["rnn-train", "--task", "classify", "{t}/nan.jsonl", "-o", "m.npz"], 1, r"nan.jsonl:1"),
    (["rnn-train", "--task", "classify", "{t}/bigint.jsonl", "-o", "m.npz"], 1, r"bigint.jsonl:1"),
    (["rnn-train", "--task", "seq2seq", "{t}/deep.jsonl", "-o", "m.npz"], 1, r"deep.jsonl:1"),
    (["rnn-train", "--task", "forecast", "{t}/nul.txt", "-o", "m.npz"], 1, None),
    (["predict", "{w}/lm.npz", "{t}/long.txt"], 1, r"long.txt:1: line longer"),
    (["predict", "{w}/lm.npz", "{t}/latin1.txt"], 1, r"latin1.txt:1"),
    (["predict", "{w}/clf.npz", "{t}/nan.jsonl"], 1, r"nan.jsonl:1"),
    (["predict", "{w}/s2s.npz", "{t}/bigint.jsonl"], 1, r"bigint.jsonl:1"),
    (["predict", "{w}/fc.npz", "{t}/nul.txt"], 1, None),
    (["evaluate", "{w}/lm.npz", "{w}/empty.txt"], 1, None),
    (["evaluate", "{w}/clf.npz", "{t}/list.jsonl"], 1, r"list.jsonl:1"),
    (["neighbors", "{w}/w.npz", "--input", "{t}/latin1.txt"], 1, r"latin1.txt:1"),
    (["import", "{t}/nul.txt", "-o", "m.npz"], 1, None),
    (["import", "{t}/trunc.gz", "-o", "m.npz"], 1, r"trunc.gz: cannot read"),  # not "interrupted" (130)
    (["plot", "confusion", "{t}/confusion.json"], 1, r"confusion.json:1: .*square table"),
    (["import", "{t}/latin1.txt", "-o", "m.npz"], 1, None),
    # a FIFO or a device as the model: refused at once, never blocks
    (["predict", "{t}/fifo"], 1, "not an rnntools model file"),
    (["sample", "/dev/zero"], 1, "not an rnntools model file"),
    (["neighbors", "{t}/fifo", "the"], 1, "not an rnntools model file"),
    (["export", "/dev/urandom"], 1, "not an rnntools model file"),
    (["predict", "{w}/book.txt"], 1, r"not an rnntools model file \(not a zip"),
    (["predict", "{w}/sub"], 1, "folder"),
    (["predict", "{t}/missing.npz"], 1, "no such model file"),
]


@pytest.mark.parametrize("args,status,pattern", HOSTILE_FILES)
def test_hostile_files(hostile, tmp_path, args, status, pattern):
    _files(tmp_path)
    result = hostile(args, "")
    if status is None:  # either outcome is fine; the contract still holds
        status = result.exit_code if result.exit_code in (0, 1) else -1
    check(result, status, pattern)


import_lines = [
    ("2 3\na nan 0 0\nb 1 2 3\n", "not a number|NaN|finite"),
    ("2 3\na inf 0 0\nb 1 2 3\n", "finite|inf"),
    ("2 0\na\nb\n", None),
    ("1 3\na 1e39 0 0\n", "finite|large|range"),
]


@pytest.mark.parametrize("text,pattern", import_lines)
def test_import_rejects_non_finite_and_empty_vectors(hostile, tmp_path, text, pattern):
    (tmp_path / "vec.txt").write_text(text)
    check(hostile(["import", "{t}/vec.txt", "-o", "m.npz"]), 1, pattern)


def test_import_of_a_value_beyond_float32_warns_nothing_raw(tmp_path):
    """"a 1e39 0 0": numpy's overflow RuntimeWarning printed before the one-line error."""
    import warnings

    from rnntools.errors import InputError
    from rnntools.w2v.formats import read_word2vec

    (tmp_path / "vec.txt").write_text("2 3\nb 1 2 3\na 1e39 0 0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="'a' has NaN or infinite values"):
            read_word2vec(str(tmp_path / "vec.txt"))


@pytest.mark.parametrize("data,fmt,pattern", [
    # no newline in the first MiB (/dev/zero): was read whole (an endless device: all the memory there is)
    (b"\0" * (3 << 20), "auto", r"vec\.bin:1: line longer than 1,048,576 bytes"),
    (b"2 3\na 1 2 3\n" + b"b" * (3 << 20), "auto", r"vec\.bin:3: line longer than 1,048,576 bytes"),
    # a binary header, then no word ends: the word is bounded, not the file
    (b"3 4\n" + b"a" * (3 << 20), "word2vec-binary", r"vec\.bin: word 1 is longer than 1,048,576 bytes"),
    # a header that claims more than the file holds: an error at its end, nothing allocated for the claim
    (b"100000000000 300\nab " + b"\0" * 1200, "word2vec-binary",
     r"vec\.bin: truncated binary vectors file: the header says 100000000000 words, found 1"),
    (b"2 3\na 1 2 3\nb \xff 5 6\n", "word2vec-text", r"vec\.bin:3: invalid UTF-8 at byte 14"),
])
def test_import_reads_vectors_in_bounded_blocks(hostile, tmp_path, data, fmt, pattern):
    (tmp_path / "vec.bin").write_bytes(data)
    check(hostile(["import", "{t}/vec.bin", "-o", "m.npz", "--format", fmt]), 1, pattern)


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf2 3\na 1 2 3\nb 4 5 6\n", b"\xef\xbb\xbfa 1 2 3\nb 4 5 6\n"])
def test_import_skips_a_byte_order_mark(hostile, tmp_path, data):
    # the header "\ufeff2 3" was read as GloVe's first line: three words of one dimension ('a 1 2': [3]),
    # silently; a GloVe file's first word was '\ufeffa'
    from rnntools.io import load_model

    (tmp_path / "vec.txt").write_bytes(data)
    check(hostile(["import", "{t}/vec.txt", "-o", "m.npz"]), 0)
    model = load_model(str(tmp_path / "m.npz"))
    assert model.meta["vocab"]["tokens"] == ["a", "b"] and model.arrays["vectors"].shape == (2, 3)


@pytest.mark.parametrize("args,model,names", [
    # the second reader found stdin empty: an empty output, silently (or the other's data, misread)
    (["evaluate", "-", "--analogies", "-"], "w.npz", "MODEL and --analogies"),
    (["bow", "--vocab", "-"], None, "INPUTS (none given: stdin) and --vocab"),
    (["bow", "--vocab", "-", "-"], None, "INPUTS and --vocab"),
    (["phrases", "-", "--table", "-"], None, "CORPUS and --table"),
    (["sample", "-", "--prompts", "-"], "lm.npz", "MODEL and --prompts"),
    (["export", "-", "--words", "-"], "w.npz", "MODEL and --words"),
    (["neighbors", "-"], "w.npz", "MODEL and the queries"),
    (["plot", "forecast", "--history", "-"], None, "INPUTS (none given: stdin) and --history"),
    (["w2v-train", "--vocab", "-", "-o", "{t}/o.npz"], None, "CORPUS (none given: stdin) and --vocab"),
    (["rnn-train", "--task", "classify", "-", "--embeddings", "-", "-o", "{t}/o.npz"], None,
     "INPUTS and --embeddings"),
])
def test_standard_input_is_read_once(hostile, world, args, model, names):
    stdin = (world / model).read_bytes() if model else b"the cat sat\n"
    result = hostile(args, stdin=stdin)
    check(result, 2, re.escape(f"error: standard input (-) can be read once, but {names}"))
    assert result.stdout == ""


@pytest.mark.parametrize("args,model", [
    (["neighbors", "-", "the"], "w.npz"),          # queries as arguments: stdin is the model's alone
    (["sample", "-", "--length", "3"], "lm.npz"),
    (["evaluate", "-", "--analogies", "{w}/docs.txt"], "w.npz"),
])
def test_model_on_standard_input_with_other_inputs_as_files(hostile, world, args, model):
    result = hostile(args, stdin=(world / model).read_bytes())
    assert result.exit_code in (0, 1) and "standard input (-) can be read once" not in result.stderr


# --- 3. tampered model files --------------------------------------------------------------------------

KINDS = {"lm": "lm.npz", "classifier": "clf.npz", "seq2seq": "s2s.npz", "forecaster": "fc.npz",
         "vectors": "w.npz"}
USE = {  # a command that loads each kind, with its input
    "lm": (["sample", "M", "--length", "3"], None),
    "classifier": (["predict", "M"], '{"text": "a cat"}\n'),
    "seq2seq": (["predict", "M"], '{"source": "abc"}\n'),
    "forecaster": (["predict", "M", "{w}/air.csv"], None),
    "vectors": (["neighbors", "M", "the"], None),
}


def _tamper(src, dst, edit):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    out = edit(meta, arrays)
    if out is not None:
        meta, arrays = out
    np.savez(dst, meta=np.array(json.dumps(meta) if not isinstance(meta, bytes) else meta), **arrays)


def _drop_first_array(meta, arrays):
    name = sorted(arrays)[0]
    del arrays[name]


def _nan_array(meta, arrays):
    name = next(n for n in sorted(arrays) if arrays[n].dtype.kind == "f")
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = np.nan


def _shrink(key):
    def edit(meta, arrays):
        value = meta
        for part in key[:-1]:
            value = value[part]
        value[key[-1]] = value[key[-1]][:1]
    return edit


def _set(key, new):
    def edit(meta, arrays):
        value = meta
        for part in key[:-1]:
            if part not in value:
                return
            value = value[part]
        value[key[-1]] = new
    return edit


TAMPERS = {
    "version0": (_set(["format_version"], 0), "format_version 0"),
    "version-5": (_set(["format_version"], -5), "format_version -5"),
    "version99": (_set(["format_version"], 99), "newer than this rnntools reads"),
    "version-str": (_set(["format_version"], "1"), "format_version"),
    "kind-list": (_set(["kind"], ["lm"]), "kind"),
    "arrays-str": (_set(["arrays"], "none"), "table of arrays"),
    "missing-array": (_drop_first_array, "missing arrays: [a-z]"),
    "nan-array": (_nan_array, "NaN or infinite"),
    "meta-list": (lambda m, a: ([1, 2], a), "foreign metadata"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampered_generic_meta(hostile, world, tmp_path, kind, tamper):
    edit, pattern = TAMPERS[tamper]
    _tamper(world / KINDS[kind], tmp_path / "m.npz", edit)
    args, stdin = USE[kind]
    check(hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin), 1, pattern)


def _meta_keys(world, kind):
    with np.load(world / KINDS[kind], allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    return meta


def _tamper_cases():
    """Every top-level (and config) entry of every kind's meta set to wrong types: each must give a
    one-line error or work, never a traceback."""
    cases = []
    for kind in sorted(KINDS):
        for key in ("vocab", "config", "labels", "layers", "cell", "hidden", "level", "scaling", "series",
                    "source_vocab", "target_vocab", "training"):
            for value in (None, "x", -3, [1, "a"], {"a": 1}, 1e300):
                cases.append((kind, key, value))
    return cases


@pytest.mark.parametrize("kind,key,value", _tamper_cases())
def test_tampered_task_meta(hostile, world, tmp_path, kind, key, value):
    meta = _meta_keys(world, kind)
    if key not in meta and key not in meta.get("config", {}):
        pytest.skip(f"{kind} models have no {key}")
    path = ["config", key] if key not in meta else [key]
    _tamper(world / KINDS[kind], tmp_path / "m.npz", _set(path, value))
    args, stdin = USE[kind]
    result = hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin)
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 1), result.stderr
    if result.exit_code == 1:
        check(result, 1)
        assert "internal error" not in result.stderr, f"{kind} meta {key}={value!r}: {result.stderr}"


def test_small_file_with_huge_array_header_is_refused_without_allocating(hostile, world, tmp_path):
    import zipfile

    src = world / "lm.npz"
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
        members = {n: z.read(n) for n in names}
    name = next(n for n in names if n != "meta.npy")
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
    header["shape"] = (1 << 20, 1 << 20)  # 4 TiB of float32
    import io as _io

    buffer = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    members[name] = buffer.getvalue() + b"\0" * 64
    with zipfile.ZipFile(tmp_path / "m.npz", "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    check(hostile(["sample", "{t}/m.npz", "--length", "2"]), 1, "corrupt model file")


@pytest.mark.parametrize("content,pattern", [
    (b"", "empty"),
    (b"hello", "not a zip"),
    (b"\x93NUMPY\x01\x00", r"\.npy"),
    (b"PK\x03\x04" + os.urandom(200), "not an rnntools model file"),
    (os.urandom(300), "not an rnntools model file"),
])
@pytest.mark.parametrize("command", [["sample", "M"], ["predict", "M"], ["evaluate", "M", "{w}/docs.txt"],
                                     ["neighbors", "M", "a"], ["export", "M"],
                                     ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "o.npz", "--resume", "M"],
                                     ["w2v-train", "{w}/corpus.txt", "-o", "o.npz", "--resume", "M"],
                                     ["rnn-train", "--task", "classify", "{w}/g.jsonl", "-o", "o.npz",
                                      "--embeddings", "M"]])
def test_foreign_model_files(hostile, tmp_path, content, pattern, command):
    (tmp_path / "m.npz").write_bytes(content)
    result = hostile([a.replace("M", str(tmp_path / "m.npz")) for a in command], "")
    check(result, 1, pattern)
    assert not os.path.exists(tmp_path / "o.npz")


def test_model_from_empty_stdin(hostile):
    check(hostile(["sample", "-"], ""), 1, "empty")


# --- 4. the output policy -----------------------------------------------------------------------------

ONTO_INPUTS = [
    ["vocab", "{t}/in.txt", "-o", "{t}/in.txt"],
    ["bow", "--vocab", "{t}/v.jsonl", "{w}/docs.txt", "-o", "{t}/v.jsonl"],
    ["bow", "--vocab", "{w}/v.jsonl", "{t}/in.txt", "-o", "{t}/in.txt"],
    ["sample", "{t}/m.npz", "--length", "3", "-o", "{t}/m.npz"],
    ["predict", "{t}/m.npz", "-o", "{t}/m.npz"],
    ["predict", "{t}/m.npz", "{t}/in.txt", "-o", "{t}/in.txt"],
    ["evaluate", "{t}/m.npz", "{t}/in.txt", "-o", "{t}/m.npz"],
    ["export", "{t}/w.npz", "-o", "{t}/w.npz"],
    ["import", "{t}/in.txt", "-o", "{t}/in.txt"],
    ["rnn-train", "--task", "lm", "{t}/in.txt", "-o", "{t}/in.txt"],
    ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/o.npz", "--log", "{t}/o.npz"],
    ["w2v-train", "{t}/in.txt", "-o", "{t}/in.txt"],
    ["w2v-train", "{w}/corpus.txt", "-o", "{t}/v.jsonl", "--vocab", "{t}/v.jsonl"],
    ["vocab", "{t}/in.txt", "-o", "{t}/hard.txt"],  # a hard link to the input
    ["vocab", "{t}/in.txt", "-o", "{t}/link.txt"],  # a symlink to the input
]


@pytest.mark.parametrize("args", ONTO_INPUTS)
def test_output_onto_an_input_is_a_usage_error(hostile, world, tmp_path, args):
    import shutil

    (tmp_path / "in.txt").write_text("the cat sat\n")
    shutil.copy(world / "v.jsonl", tmp_path / "v.jsonl")
    shutil.copy(world / "lm.npz", tmp_path / "m.npz")
    shutil.copy(world / "w.npz", tmp_path / "w.npz")
    os.link(tmp_path / "in.txt", tmp_path / "hard.txt")
    os.symlink(tmp_path / "in.txt", tmp_path / "link.txt")
    before = _digest(tmp_path)
    result = hostile(args, "the cat\n")
    check(result, 2, "also an input|two outputs")
    assert _digest(tmp_path) == before


OUTPUT_COMMANDS = [
    ["vocab", "{w}/docs.txt", "-o", "OUT"],
    ["bow", "--vocab", "{w}/v.jsonl", "{w}/docs.txt", "-o", "OUT"],
    ["bow", "--vocab", "{w}/v.jsonl", "{w}/docs.txt", "--format", "npz", "-o", "OUT"],
    ["sample", "{w}/lm.npz", "--length", "3", "-o", "OUT"],
    ["predict", "{w}/lm.npz", "{w}/docs.txt", "-o", "OUT"],
    ["evaluate", "{w}/lm.npz", "{w}/docs.txt", "-o", "OUT"],
    ["export", "{w}/w.npz", "-o", "OUT"],
    ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "OUT", *TINY],
    ["w2v-train", "{w}/corpus.txt", "-o", "OUT", "--dim", "4", "--epochs", "1", "--min-count", "1", "--threads", "1"],
    ["plot", "words", "{w}/w.npz", "-o", "OUT"],  # its own writer renamed a file over /dev/full (as root)
]


def _ids(commands):
    return [c[0] + ("-npz" if "npz" in c and c[0] == "bow" else "") for c in commands]


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=_ids(OUTPUT_COMMANDS))
def test_missing_output_folder_fails_before_work(hostile, tmp_path, args):
    result = hostile([a.replace("OUT", str(tmp_path / "no" / "out")) for a in args])
    if result.exit_code == 2 and "No such option" in result.stderr:
        pytest.skip("the command has no -o")
    check(result, 1, "does not exist")
    assert not os.path.exists(tmp_path / "no")


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=_ids(OUTPUT_COMMANDS))
def test_output_is_a_folder(hostile, tmp_path, args):
    (tmp_path / "d").mkdir()
    result = hostile([a.replace("OUT", str(tmp_path / "d")) for a in args])
    check(result, 2, "folder")


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=_ids(OUTPUT_COMMANDS))
def test_symlink_target_is_replaced_and_link_kept(hostile, tmp_path, args):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out"
    target.write_text("old")
    os.symlink(target, tmp_path / "link")
    result = hostile([a.replace("OUT", str(tmp_path / "link")) for a in args])
    check(result, 0)
    assert os.path.islink(tmp_path / "link")
    assert target.read_bytes() != b"old" and target.stat().st_size > 0
    assert sorted(os.listdir(tmp_path / "real")) == ["out"]


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=_ids(OUTPUT_COMMANDS))
def test_planted_temporary_symlink_is_never_written_through(hostile, tmp_path, args):
    notes = tmp_path / "notes.txt"
    notes.write_text("precious")
    for name in ("out.tmp", ".out.tmp", "out.npz.tmp"):
        os.symlink(notes, tmp_path / name)
    result = hostile([a.replace("OUT", str(tmp_path / "out")) for a in args])
    check(result, 0)
    assert notes.read_text() == "precious"


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=_ids(OUTPUT_COMMANDS))
def test_device_output_is_written_in_place(hostile, args):
    result = hostile([a.replace("OUT", "/dev/null") for a in args])
    check(result, 0)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=_ids(OUTPUT_COMMANDS))
def test_full_device_is_one_line_exit_1(hostile, args):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    result = hostile([a.replace("OUT", "/dev/full") for a in args])
    check(result, 1, "no space left|No space left")


def test_replaced_file_keeps_its_permissions(hostile, tmp_path):
    out = tmp_path / "v.jsonl"
    out.write_text("old")
    os.chmod(out, 0o640)
    check(hostile(["vocab", "{w}/docs.txt", "-o", str(out)]), 0)
    assert out.stat().st_mode & 0o777 == 0o640 and "cat" in out.read_text()


def test_resume_may_write_onto_its_own_model(hostile, world, tmp_path):
    import shutil

    shutil.copy(world / "lm.npz", tmp_path / "m.npz")
    args = ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m.npz", "--resume", "{t}/m.npz",
            "--hidden", "8", "--max-steps", "5", "--threads", "1"]
    check(hostile(args), 0)


def test_two_outputs_on_one_file(hostile, tmp_path):
    args = ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/o.npz", "--log", "{t}/o.npz"]
    check(hostile(args), 2)


# --- 5. training never saves a broken model -----------------------------------------------------------

def test_non_finite_parameters_are_never_saved(tmp_path, monkeypatch):
    from rnntools.errors import TrainingError
    from rnntools.tasks import trainer

    class Task(trainer.TrainableTask):
        kind, unit = "toy", "items"

        def __init__(self):
            self.w = np.zeros(3)

        def steps_per_epoch(self):
            return 4

        def epoch_batches(self, epoch, rng):
            return list(range(4))

        def start_epoch(self, epoch):
            pass

        def train_step(self, batch, rng, lr):
            self.w += 1e308 if batch == 2 else 1.0  # finite loss, overflowing parameters
            self.w *= 10
            return 1.0, 1

        def evaluate(self):
            return None

        def params(self):
            return {"w": self.w}

        def save(self, path, arrays, meta):
            from rnntools.io import save_model

            save_model(path, "toy", arrays, meta)

    config = trainer.EngineConfig.from_options({"epochs": 1, "checkpoint_every": 1})
    out = tmp_path / "m.npz"
    with pytest.raises(TrainingError, match="NaN or infinite"):
        trainer.fit(Task(), config, str(out))
    from rnntools.io import load_model

    assert np.isfinite(load_model(out).arrays["w"]).all()


# --- 6. text that is not Unicode, CSV oddities, model dtypes, odd output paths ---------------------------

def _more_files(tmp, world):
    surrogate = b'{"text": "a \\ud800 b", "label": "x", "source": "a\\udc80", "target": "b"}\n'
    (tmp / "surrogate.jsonl").write_bytes(surrogate)
    (tmp / "ctrl.jsonl").write_bytes(b'{"text": "a \x01 b"}\n')
    air = (world / "air.csv").read_bytes()
    head, _, body = air.partition(b"\n")
    rows = body.strip().split(b"\n")
    (tmp / "dup.csv").write_bytes(head + b"," + head.split(b",")[-1] + b"\n"
                                  + b"".join(r + b"," + r.split(b",")[-1] + b"\n" for r in rows))
    (tmp / "longfield.csv").write_bytes(head + b",note\n" + b"".join(
        r + b"," + (b"x" * 300_000 if i == 3 else b"y") + b"\n" for i, r in enumerate(rows)))
    (tmp / "unterminated.csv").write_bytes(air + b'1961-01,"5\n' + b"1961-02,6\n" * 200_000)
    os.symlink(tmp / "loop2", tmp / "loop")
    os.symlink(tmp / "loop", tmp / "loop2")


MORE = [
    # (args, stdin, status, pattern)
    (["vocab", "--text-field", "text", "{t}/surrogate.jsonl"], None, 1, r"surrogate.jsonl:1: .*lone surrogate"),
    (["bow", "--vocab", "{w}/v.jsonl", "--text-field", "text", "{t}/surrogate.jsonl"], None, 1, "lone surrogate"),
    (["predict", "{w}/clf.npz", "{t}/surrogate.jsonl"], None, 1, "lone surrogate"),
    (["predict", "{w}/s2s.npz", "{t}/surrogate.jsonl"], None, 1, "lone surrogate"),
    (["vocab", "--text-field", "text", "{t}/ctrl.jsonl"], None, 1, r"control character at column"),
    (["sample", "{w}/lm.npz", "--prime", "\udcff", "--length", "2"], None, 2, r"--prime .*not valid UTF-8"),
    (["sample", "{w}/lm.npz", "--prime", "\\ud800", "--length", "2"], None, 2, r"--prime.*lone surrogate"),
    (["neighbors", "{w}/w.npz", "the", "\udcff"], None, 2, r"QUERIES .*not valid UTF-8"),
    (["vocab", "--text-field", "t\udce9", "{w}/docs.txt"], None, 2, r"--text-field"),
    (["predict", "{w}/fc.npz", "{t}/dup.csv"], None, 1, r"dup.csv:1: column .* appears twice"),
    (["predict", "{w}/fc.npz", "{t}/longfield.csv"], None, None, None),  # not csv's field-size internal error
    (["predict", "{w}/fc.npz", "{t}/unterminated.csv"], None, 1, r"unterminated.csv:\d+: not a readable CSV"),
    (["plot", "confusion", "/dev/zero"], None, 1, r"/dev/zero:1: line longer"),
    (["plot", "forecast", "{t}/fc.jsonl", "--history", "{t}/dup2.csv"], None, 1, r"--history .*dup2.csv"),
    (["vocab", "{w}/docs.txt", "-o", "{t}/loop"], None, 1, r"loop: .*symbolic links"),
    (["vocab", "{w}/docs.txt", "-o", "{w}/docs.txt/out"], None, 1, r"docs.txt/out: .*Not a directory"),
    (["vocab", "--merge", "{w}/docs.txt"], None, 1, r"docs.txt:1: .*expected a vocabulary file"),
]


@pytest.mark.parametrize("args,stdin,status,pattern", MORE)
def test_more_hostile_cases(hostile, world, tmp_path, args, stdin, status, pattern):
    _more_files(tmp_path, world)
    if "{t}/fc.jsonl" in args:
        (tmp_path / "fc.jsonl").write_text('{"id": "passengers", "forecast": [1, 2]}\n')
        (tmp_path / "dup2.csv").write_text("month,other\n1949-01,1\n1949-02,2\n")
    result = hostile(args, stdin)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if status is None:  # either outcome; an error line stays short even when it quotes a huge value
        assert result.exit_code in (0, 1) and all(len(x) < 2200 for x in result.stderr.splitlines())
        return
    check(result, status, pattern)


def _retype(src, dst, convert):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    for name in list(arrays):
        arrays[name] = convert(arrays[name])
        meta["arrays"][name] = {"shape": list(arrays[name].shape), "dtype": arrays[name].dtype.str}
    np.savez(dst, meta=np.array(json.dumps(meta)), **arrays)


@pytest.mark.parametrize("dtype,pattern", [("<f2", r"is <f2"), (">f4", r"is >f4"),
                                           ("<i4", "floating-point|float32")])
@pytest.mark.parametrize("kind", ["lm", "classifier", "vectors"])
def test_model_arrays_of_another_dtype_are_refused(hostile, world, tmp_path, kind, dtype, pattern):
    """Consistent metadata, other dtypes: numba would fail inside a kernel (an internal error) without the
    check in load_model (byte order, float16) and in the layers (integers where floats belong)."""
    _retype(world / KINDS[kind], tmp_path / "m.npz",
            lambda a: a.astype(dtype) if a.dtype == np.float32 else a)
    args, stdin = USE[kind]
    check(hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin), 1, pattern)


# --- found by hand (session 16): each case failed on the code before its fix -----------------------------

def _zip_patched(src, dst, *, flags=0, method=None):
    """A copy of a model whose zip entries say they are encrypted (flag bit 0) or use another compression
    method, in both the local and the central headers."""
    import struct

    data = bytearray(open(src, "rb").read())
    for magic, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        i = data.find(magic)
        while i >= 0:
            old = struct.unpack_from("<H", data, i + flag_at)[0]
            struct.pack_into("<H", data, i + flag_at, old | flags)
            if method is not None:
                struct.pack_into("<H", data, i + method_at, method)
            i = data.find(magic, i + 4)
    open(dst, "wb").write(bytes(data))


def _lzma_corrupt(src, dst):
    import zipfile

    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_LZMA) as out:
        for name in z.namelist():
            out.writestr(name, z.read(name))
    data = bytearray(open(dst, "rb").read())
    data[300] ^= 0x55
    data[301] ^= 0x55
    open(dst, "wb").write(bytes(data))


@pytest.mark.parametrize("make,pattern", [
    (lambda s, d: _zip_patched(s, d, flags=1), "encrypted"),          # was RuntimeError, an internal error
    (lambda s, d: _zip_patched(s, d, method=99), "compression method"),  # was NotImplementedError
    (_lzma_corrupt, "LZMAError|corrupt"),                             # was LZMAError
])
def test_unreadable_zip_entries_are_a_corrupt_model(hostile, world, tmp_path, make, pattern):
    make(world / "lm.npz", tmp_path / "m.npz")
    result = hostile(["sample", tmp_path / "m.npz", "--length", "3"])
    check(result, 1, pattern)
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("value,pattern", [
    (float("nan"), "NaN"),             # was read: every probability written as null, exit 0
    (float("inf"), "Infinity|NaN"),
    (0, "temperature is 0"),           # was a divide-by-zero warning on stderr and null probabilities
    (-1.0, "temperature is -1"),       # was read: the probabilities turned upside down, exit 0
    ("x", "temperature is 'x'"),       # was "internal error (ValueError ...)"
])
def test_classifier_temperature_from_metadata_is_checked(hostile, world, tmp_path, value, pattern):
    _tamper(world / "clf.npz", tmp_path / "m.npz", _set(["temperature"], value))
    result = hostile(["predict", tmp_path / "m.npz"], '{"text": "a cat"}\n')
    check(result, 1, pattern)
    assert "internal error" not in result.stderr


def test_classifier_labels_twice_or_of_another_type_are_a_corrupt_model(hostile, world, tmp_path):
    # a label twice gave one class's probability under both names in "probs", the other lost, exit 0
    def twice(meta, arrays):
        meta["labels"][1] = meta["labels"][0]

    _tamper(world / "clf.npz", tmp_path / "m.npz", twice)
    result = hostile(["predict", tmp_path / "m.npz"], '{"text": "a cat"}\n')
    check(result, 1, "corrupt.*appears twice")
    _tamper(world / "clf.npz", tmp_path / "n.npz", lambda meta, arrays: meta["labels"].__setitem__(0, None))
    check(hostile(["predict", tmp_path / "n.npz"], '{"text": "a cat"}\n'), 1, "corrupt.*labels should be")


def test_model_metadata_with_nan_is_refused(hostile, world, tmp_path):
    """rnntools writes its metadata without NaN or Infinity, so one there is tampering."""
    _tamper(world / "lm.npz", tmp_path / "m.npz", _set(["chars_per_token"], float("nan")))
    check(hostile(["sample", tmp_path / "m.npz", "--length", "3"]), 1, "metadata unreadable.*NaN")


@pytest.mark.parametrize("compress", ["gzip", "lzma"])
def test_import_of_a_corrupt_compressed_file_is_one_line(hostile, tmp_path, compress):
    import gzip
    import lzma

    text = "".join(f"w{i} {i} {i * 2} {i * 3}\n" for i in range(2000)).encode()
    data = bytearray({"gzip": gzip, "lzma": lzma}[compress].compress(text))
    at = 20 if compress == "gzip" else len(data) // 2   # inside the first deflate block's header: zlib.error
    data[at] ^= 0x55
    data[at + 1] ^= 0x55
    name = tmp_path / ("v.txt.gz" if compress == "gzip" else "v.txt.xz")
    name.write_bytes(bytes(data))
    result = hostile(["import", name, "-o", tmp_path / "out.npz"])
    check(result, 1, "cannot read")   # was "internal error (error: Error -3 ...)" / "(LZMAError ...)"
    assert not (tmp_path / "out.npz").exists()


def test_similarity_file_with_a_header_line(hostile, tmp_path):
    """wordsim353's combined.tab starts with 'Word 1<TAB>Word 2<TAB>Human (mean)': was an error."""
    (tmp_path / "ws.tab").write_text("Word 1\tWord 2\tHuman (mean)\nthe\tand\t1\nof\tto\t5\nhis\tin\t3\n")
    result = hostile(["evaluate", "{w}/w.npz", "--similarity", tmp_path / "ws.tab"])
    check(result, 0)
    assert json.loads(result.stdout)["pairs"] == 3
    (tmp_path / "bad.tab").write_text("the\tand\t1\nof\tto\tx\n")   # a word where a later score belongs
    check(hostile(["evaluate", "{w}/w.npz", "--similarity", tmp_path / "bad.tab"]), 1, r"bad.tab:2: .*'x'")


def test_save_table_is_an_output(hostile, tmp_path):
    (tmp_path / "ny.txt").write_text("new york is big and new york is old\n" * 30)
    args = ["phrases", tmp_path / "ny.txt", "--min-count", "1", "--threshold", "0.1"]
    check(hostile([*args, "--save-table", ""]), 2, "empty")           # was exit 0, no table written
    check(hostile([*args, "--save-table", "-"]), 2, "standard output")  # was mixed into the joined text
    check(hostile([*args, "--save-table", tmp_path / "t.jsonl", "-o", tmp_path / "t.jsonl"]), 2,
          "two outputs")                                               # was "the output is also an input"
    check(hostile([*args, "--save-table", tmp_path / "missing" / "t.jsonl"]), 1, "does not exist")


def test_in_place_output_that_fails_names_the_file(hostile, tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    (tmp_path / "ny.txt").write_text("new york is big and new york is old\n" * 30)
    result = hostile(["phrases", tmp_path / "ny.txt", "--min-count", "1", "--threshold", "0.1",
                      "--save-table", "/dev/full"])
    check(result, 1, "/dev/full: cannot write")   # was "no space left on device" with no file named


def test_word_lm_of_rare_words_names_min_count(hostile, tmp_path):
    (tmp_path / "u.txt").write_text("héllo wörld\n")
    result = hostile(["rnn-train", "--task", "lm", "--level", "word", tmp_path / "u.txt", "-o", tmp_path / "m.npz",
                      *TINY])
    check(result, 1, "--min-count 2")   # was "is it the right --vocab for this text?" with no --vocab given
    assert "--vocab" not in result.stderr


def test_debug_as_an_option_value_is_not_the_flag(hostile, world, tmp_path):
    result = hostile(["sample", "{w}/lm.npz", "--prime", "--debug", "--length", "2"])
    check(result, 0)
    assert result.stdout.startswith("--debug")
    from rnntools.cli.common import DEBUG

    assert not DEBUG["on"]   # was on: main() looked for the text "--debug" anywhere on the command line


def test_debug_flag_still_shows_tracebacks(world, run_cli, tmp_path):
    _tamper(world / "clf.npz", tmp_path / "m.npz", _set(["temperature"], 0))
    for args in (["--debug", "predict", tmp_path / "m.npz"], ["predict", tmp_path / "m.npz", "--debug"]):
        result = run_cli(args, input='{"text": "a cat"}\n')
        assert result.exit_code != 0 and result.exception is not None and not isinstance(result.exception,
                                                                                         SystemExit)


@pytest.mark.parametrize("prime,expected", [("\\ud83d\\ude00", "\U0001f600"),
                                            ("a\\ud83d\\ude00b", "a\U0001f600b")])
def test_prime_joins_an_escaped_surrogate_pair(hostile, prime, expected):
    result = hostile(["sample", "{w}/lm.npz", "--prime", prime, "--length", "2"])
    check(result, 0)    # was "escapes a lone surrogate"
    assert result.stdout.startswith(expected)
    check(hostile(["sample", "{w}/lm.npz", "--prime", "\\ude00\\ud83d", "--length", "2"]), 2, "lone surrogate")


@pytest.mark.parametrize("args,stdin,fields", [
    (["bow", "--vocab", "{w}/v.jsonl", "--text-field", "text"], '{"text": "the cat", "values": "mine"}\n',
     '"values"'),
    (["predict", "{w}/lm.npz", "--text-field", "text"], '{"text": "the cat", "perplexity": "mine"}\n',
     '"perplexity"'),
    (["predict", "{w}/s2s.npz"], '{"source": "abc", "prediction": "mine"}\n', '"prediction"'),
    (["neighbors", "{w}/w.npz", "--text-field", "q"], '{"q": "the", "neighbors": "mine"}\n', '"neighbors"'),
])
def test_input_fields_replaced_by_the_output_are_said(hostile, args, stdin, fields):
    """Was silent (only the classifier warned, for "label"); the output's value still wins (predict on its
    own output)."""
    result = hostile(args, stdin)
    check(result, 0)
    assert "warning" in result.stderr and fields in result.stderr, result.stderr
    assert '"mine"' not in result.stdout
    clean = hostile(args, stdin.replace(fields.strip('"'), "other"))
    assert "warning" not in clean.stderr, clean.stderr


def test_export_help_example_keeps_its_escapes(run_cli):
    """The example's '\\n' were real line breaks in --help, cutting the command in three lines."""
    result = run_cli(["export", "--help"])
    assert result.exit_code == 0
    assert "printf 'colour\\ncolourful\\n' | rnntools export subword.npz --words -" in result.stdout


@pytest.mark.parametrize("args,stdin,pattern", [
    (["predict", "{w}/clf.npz"], '{"label": "x"}\n', r"no field 'text' \(fields: label\)$"),
    (["evaluate", "{w}/clf.npz"], '{"text": "a cat"}\n', r"no field 'label' \(fields: text\);"),
])
def test_missing_field_message_lists_the_records_fields_only(hostile, args, stdin, pattern):
    """The classifier's reader marks each record with "_place" (file, line): it was listed as a field."""
    result = hostile(args, stdin)
    check(result, 1, pattern)
    assert "_place" not in result.stderr


@pytest.mark.parametrize("record,pattern", [
    ('{"id": "a", "forecast": "x"}', '"forecast" should be'),         # was ValueError, an internal error
    ('{"id": "a", "forecast": []}', '"forecast" should be'),          # was min() of an empty sequence
    ('{"id": "a", "forecast": [true, false]}', '"forecast" should be'),
    ('{"id": "a", "forecast": [1e308, -1e308]}', '"forecast" holds .* too large to plot'),  # was NaN to int
    ('{"id": "a", "forecast": [1, 2], "lower": [0, 1], "upper": [2, 3], "level": "x"}', '"level" should be'),
    ('{"id": "a", "forecast": [1, 2], "lower": [0], "upper": [2, 3, 4]}', '"lower" should be a list of 2'),
])
def test_plot_forecast_of_odd_records(hostile, record, pattern):
    result = hostile(["plot", "forecast"], record + "\n")
    check(result, 1, "<stdin>:1: " + pattern)


# --- found by hand (session 17): each case failed on the code before its fix -----------------------------

@pytest.mark.parametrize("value", ["1", " 2"])
def test_numba_disable_jit_is_a_usage_error_naming_it(hostile, monkeypatch, tmp_path, value):
    """numba's debugging switch runs kernels as plain Python: training was an internal error (an intrinsic
    "is not usable in pure-python") once the data was read."""
    monkeypatch.setenv("NUMBA_DISABLE_JIT", value)
    result = hostile(["rnn-train", "--task", "lm", "{w}/book.txt", "-o", tmp_path / "m.npz", *TINY])
    check(result, 2, "NUMBA_DISABLE_JIT=.* unset it")
    assert not (tmp_path / "m.npz").exists()
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "0")
    check(hostile(["vocab", "{w}/docs.txt"]), 0)


def test_vocab_merge_of_one_file_twice_is_refused(hostile, world, tmp_path):
    """Was silent: every count doubled (a glob that overlaps another, `--merge shard*.jsonl shard1.jsonl`)."""
    os.symlink(world / "v.jsonl", tmp_path / "link.jsonl")
    for second in (world / "v.jsonl", tmp_path / "link.jsonl"):
        check(hostile(["vocab", "--merge", "{w}/v.jsonl", second]), 2, "same vocabulary file is given .*twice")
    check(hostile(["vocab", "--merge", "-", "{w}/v.jsonl"], (world / "v.jsonl").read_text()), 0)  # a pipe: not a file
    (tmp_path / "copy.jsonl").write_bytes((world / "v.jsonl").read_bytes())   # two shards alike: still summed
    result = hostile(["vocab", "--merge", "{w}/v.jsonl", tmp_path / "copy.jsonl"])
    check(result, 0)
    assert json.loads(result.stdout.splitlines()[-1])["count"] == 2


@pytest.mark.parametrize("value,status,pattern", [
    (",", 2, "none of them empty"),          # was silently no covariates
    ("", 2, "none of them empty"),
    ("temp,,temp", 2, "none of them empty"),
    ("passengers", 2, "is the target column"),   # was "not a value column ... (columns: passengers, temp)"
])
def test_forecast_covariates_that_name_nothing(hostile, tmp_path, value, status, pattern):
    rows = ["month,passengers,temp"] + [f"{1949 + i // 12}-{i % 12 + 1:02d},{100 + i},{i % 7}" for i in range(60)]
    (tmp_path / "cov.csv").write_text("\n".join(rows) + "\n")
    result = hostile(["rnn-train", "--task", "forecast", tmp_path / "cov.csv", "-o", tmp_path / "m.npz",
                      "--covariates", value, *TINY])
    check(result, status, pattern)
    assert not (tmp_path / "m.npz").exists()


def test_lowercased_models_read_until_and_capitals_lowercased(hostile, world, tmp_path):
    """A word LM lowercases its prime but `--until The` was "not a token"; a char LM on a `vocab --level char
    --lowercase` vocabulary read every capital as <unk> (training, prime, evaluation)."""
    check(hostile(["rnn-train", "--task", "lm", "--level", "word", "--min-count", "1", "{w}/book.txt", "-o",
                   tmp_path / "w.npz", *TINY]), 0)
    first = hostile(["sample", tmp_path / "w.npz", "--length", "3", "--seed", "5"]).stdout.split()[0]
    result = hostile(["sample", tmp_path / "w.npz", "--until", first.upper(), "--length", "3", "--seed", "5",
                      "--format", "jsonl"])
    check(result, 0)
    record = json.loads(result.stdout)
    assert record["stopped"] == "until" and record["text"] == "", (record, first)   # the --until token left out
    from rnntools.tasks.lm.data import encode_chars
    from rnntools.text.vocab import TokenCounter

    counter = TokenCounter("char", lowercase=True)
    counter.add_lines(["the cat"])
    vocab = counter.vocab(specials=True)
    assert encode_chars(vocab, "THE Cat").tolist() == encode_chars(vocab, "the cat").tolist()
    assert vocab.unk_id not in encode_chars(vocab, "THE Cat").tolist()


@pytest.mark.parametrize("matrix,holds", [("[[1, -4], [0, 2]]", "-4"),     # drawn as a count, recall above 1
                                          ("[[1.5, 0], [0, 2]]", "1.5"),   # was drawn as 1
                                          ('[["3", 0], [0, 2]]', '"3"'),   # was drawn as 3
                                          ("[[true, 0], [0, 2]]", "true")])
def test_plot_confusion_counts_are_whole_and_not_negative(hostile, matrix, holds):
    result = hostile(["plot", "confusion"], '{"labels": ["a", "b"], "confusion": ' + matrix + "}\n")
    check(result, 1, "^rnntools plot confusion: error: <stdin>:1: .*whole numbers.*it holds " + re.escape(holds))


def test_errors_of_a_group_subcommand_name_it(hostile, tmp_path):
    """`plot log -o x.xyz` said `rnntools plot: error: ...`, as if the group had failed."""
    check(hostile(["plot", "log", tmp_path / "missing.jsonl", "-o", tmp_path / "x.xyz"]), 1,
          "^rnntools plot log: error: .*missing.jsonl: no such file")
    check(hostile(["plot", "confusion", tmp_path / "missing.json"]), 1, "^rnntools plot confusion: error: ")


def test_csv_with_carriage_returns_alone_as_line_ends(hostile, world, tmp_path):
    """A spreadsheet's "CSV (Macintosh)": was `not a readable CSV line (new-line character seen in unquoted
    field - do you need to open the file in universal-newline mode?)` at line 1."""
    text = (world / "air.csv").read_text()
    (tmp_path / "cr.csv").write_bytes(text.replace("\n", "\r").encode())
    result = hostile(["predict", "{w}/fc.npz", tmp_path / "cr.csv"])
    check(result, 0)
    assert result.stdout == hostile(["predict", "{w}/fc.npz", "{w}/air.csv"]).stdout
    lines = text.splitlines()
    lines[4] = lines[4].split(",")[0] + ",x"
    (tmp_path / "bad.csv").write_bytes("\r".join(lines).encode())
    check(hostile(["predict", "{w}/fc.npz", tmp_path / "bad.csv"]), 1, r"bad.csv:5: .*'x' is not a number")


def test_file_names_that_are_not_utf8_are_shown_as_bytes(hostile, tmp_path):
    """Python carries such a name's bytes as lone surrogates: messages showed `\\udcff.txt`."""
    name = os.path.join(str(tmp_path), os.fsdecode(b"\xff.txt"))
    for args in (["vocab", name], ["vocab", "{w}/docs.txt", "-o", os.path.join(name, "out.jsonl")]):
        result = hostile(args)
        check(result, 1, r"error: .*/\\xff\.txt")
        assert "udcff" not in result.stderr


@pytest.mark.parametrize("width,height", [(1, 1), (3, 5), (8, 5)])
def test_plot_words_narrower_than_a_word(hostile, width, height):
    """A word longer than --width was written past the map's edge: internal error (IndexError)."""
    result = hostile(["plot", "words", "{w}/w.npz", "--width", str(width), "--height", str(height)])
    check(result, 0)
    assert "not shown (no room)" in result.stdout


@pytest.mark.parametrize("field,value,pattern", [
    ("documents", "x", '"documents" in the header should be a whole number'),   # was "invalid literal for int()"
    ("documents", -3, '"documents" in the header should be'),
    ("lowercase", "no", '"lowercase" in the header should be true or false'),   # was read as true
])
def test_vocabulary_header_values_are_checked(hostile, world, tmp_path, field, value, pattern):
    lines = (world / "v.jsonl").read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header[field] = value
    (tmp_path / "v.jsonl").write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    check(hostile(["bow", "--vocab", tmp_path / "v.jsonl", "{w}/docs.txt"]), 1, "v.jsonl:1: " + pattern)


def test_w2v_sample_at_the_float_limit_keeps_every_word(hostile, tmp_path):
    """`--sample 1e308` times the corpus size overflowed: numpy's RuntimeWarning printed raw, exit 0."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = hostile(["w2v-train", "{w}/corpus.txt", "-o", tmp_path / "w.npz", "--dim", "4", "--epochs", "1",
                          "--min-count", "1", "--threads", "1", "--sample", "1e308"])
    check(result, 0)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    from rnntools.w2v.layout import keep_thresholds

    assert keep_thresholds(np.array([5, 3, 0]), 1e308).tolist() == [2**32] * 3


@pytest.mark.parametrize("args", [["vocab"], ["bow", "--vocab", "{w}/v.jsonl"], ["neighbors", "{w}/w.npz"]])
def test_empty_text_field_of_every_command(hostile, args):
    """Their parameter is called `field`, which the check by parameter name missed: `--text-field ''` read
    plain text as JSONL ("invalid JSON" at line 1)."""
    check(hostile([*args, "--text-field", "", "{w}/docs.txt"]), 2, "--text-field is empty")


def test_training_log_that_cannot_be_written_names_it(hostile, tmp_path):
    """`--log /dev/full` (a full disk under the log) was "no space left on device (nothing was replaced; ...)",
    naming no file."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    result = hostile(["rnn-train", "--task", "lm", "{w}/book.txt", "-o", tmp_path / "m.npz", *TINY, "--log",
                      "/dev/full"])
    check(result, 1, "/dev/full: cannot write the training log")


@pytest.mark.parametrize("args", [["bow", "--vocab", "{w}/lm.npz", "{w}/docs.txt"], ["vocab", "{w}/w.npz"],
                                  ["sample", "{w}/lm.npz", "--prompts", "{w}/clf.npz"],
                                  ["predict", "{w}/fc.npz", "{w}/fc.npz"]])
def test_a_model_file_where_text_belongs_says_so(hostile, args):
    """Was "invalid UTF-8 at byte 17 (invalid start byte); ... or pass --encoding-errors replace"."""
    result = hostile(args)
    check(result, 1, r"\.npz:1: a zip archive .*not a text file")
    assert "encoding-errors" not in result.stderr


@pytest.mark.parametrize("extra", [["--text-field", "q"], ["--input", "{w}/docs.txt"]])
def test_neighbors_queries_given_twice(hostile, extra):
    """Queries as arguments and an --input file or --text-field: the option was ignored, silently."""
    check(hostile(["neighbors", "{w}/w.npz", "the", *extra]), 2, "queries are given as arguments")


def test_interrupt_while_a_local_cluster_starts_leaves_nothing_for_exit(monkeypatch):
    """Ctrl-C or SIGTERM while `--scheduler local:N` started its cluster: the half-made cluster stayed
    registered for distributed's atexit hook, which printed an AssertionError traceback after "interrupted"."""
    distributed = pytest.importorskip("distributed")
    from distributed.deploy.spec import SpecCluster

    from rnntools.distributed.cluster import Cluster

    alive = []   # distributed's event loop holds the half-made cluster (the registry is a WeakSet)

    class Starting:
        def __init__(self, *args, **kwargs):
            SpecCluster._instances.add(self)   # as SpecCluster.__init__ does before it starts the workers
            alive.append(self)
            raise KeyboardInterrupt

    monkeypatch.setattr(distributed, "LocalCluster", Starting)
    before = set(SpecCluster._instances)
    with pytest.raises(KeyboardInterrupt):
        Cluster("local:2", threads=1)
    assert set(SpecCluster._instances) == before


# --- found by hand (session 18): each case failed on the code before its fix -----------------------------

@pytest.mark.parametrize("event,pattern", [
    ('{"event": "eval", "val_loss": 2}', '"eval" event\'s "step" should be a number .* got nothing'),  # KeyError
    ('{"event": "eval", "step": "x", "val_loss": 2}', '"step" should be a number'),  # TypeError in text
    ('{"event": "step", "step": 1, "loss": "x"}', '"loss" should be a number'),      # ValueError
    ('{"event": "step", "step": 1, "loss": true}', '"loss" should be a number'),     # drawn as 1
    ('{"event": "step", "step": 1, "loss": {"a": 1}}', '"loss" should be a number'),  # TypeError
    ('{"event": "eval", "step": 1, "val_loss": 1e308}', '"val_loss" should be a number'),  # overflow in the axes
    ('{"event": "eval", "step": 1e308, "val_loss": 2}', '"step" should be a number'),
    ('{"event": "eval", "step": 1, "val_loss": 1, "val_accuracy": "x"}', '"val_accuracy" should be a number'),
    ('{"event": "epoch", "epoch": null, "loss": 1}', '"epoch" should be a number'),
    ('{"event": "progress", "words": "x", "loss": 1}', '"words" should be a number'),
])
@pytest.mark.parametrize("picture", [None, "png"])
def test_plot_log_of_odd_events(hostile, tmp_path, event, pattern, picture):
    if picture:
        pytest.importorskip("matplotlib")
    log = tmp_path / "log.jsonl"
    log.write_text('{"event": "start", "step": 0}\n' + event + "\n")
    out = ["-o", str(tmp_path / f"x.{picture}")] if picture else []
    result = hostile(["plot", "log", str(log), *out])
    check(result, 1, re.escape(str(log)) + ":2: .*" + pattern)


def test_plot_log_keeps_null_as_a_gap(hostile, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"event": "step", "step": 1, "loss": null}\n{"event": "step", "step": 2, "loss": 2.5}\n')
    check(hostile(["plot", "log", str(log)]), 0)


@pytest.mark.parametrize("fields,pattern", [
    ('"timestamps": 5', '"timestamps" should be a list of 2'),        # was TypeError, an internal error
    ('"timestamps": "ab"', '"timestamps" should be a list of 2'),     # one label per character
    ('"timestamps": ["2024-01"]', '"timestamps" should be a list of 2'),   # labelled the wrong steps
    ('"timestamps": [null, [1]]', '"timestamps" should be a list of 2'),
    ('"lower_100": [0, 1], "upper_100": [2, 3]', '"lower_100" should name a whole percentage'),  # a 100% band
    ('"lower_00": [0, 1], "upper_00": [2, 3]', '"lower_00" should name a whole percentage'),
])
def test_plot_forecast_timestamps_and_levels_are_checked(hostile, fields, pattern):
    result = hostile(["plot", "forecast"], '{"id": "a", "forecast": [1, 2], ' + fields + "}\n")
    check(result, 1, "<stdin>:1: " + pattern)


def test_vectors_beyond_float32_squares_are_normalised(hostile, tmp_path):
    """Unit vectors came from float32 norms: a row with values from about 1.8e19 overflowed (numpy's warning,
    and the row became zeros), one below about 1e-19 underflowed to a norm of 0 (left at its length)."""
    (tmp_path / "v.txt").write_text("4 2\na 1e30 1e29\nb 1 0.1\nc 0 1\nd 1e-30 1e-31\n")
    check(hostile(["import", tmp_path / "v.txt", "-o", tmp_path / "v.npz"]), 0)
    result = hostile(["neighbors", tmp_path / "v.npz", "a", "d", "-k", "1"])
    check(result, 0)
    assert result.stderr == ""
    for line in result.stdout.splitlines():  # a, b and d point one way, c another
        record = json.loads(line)
        (best,) = record["neighbors"]
        assert best["token"] in {"a", "b", "d"} - {record["query"]} and best["score"] > 0.999, line


def test_embeddings_too_large_to_train_with(hostile, tmp_path):
    """They trained to a NaN loss, with numpy's overflow warnings printed before the error."""
    (tmp_path / "v.txt").write_text("2 2\nthe 1e30 1\ncat 1 1\n")
    check(hostile(["import", tmp_path / "v.txt", "-o", tmp_path / "v.npz"]), 0)
    result = hostile(["rnn-train", "--task", "lm", "{w}/book.txt", "--level", "word", "--embeddings",
                      tmp_path / "v.npz", "-o", tmp_path / "out.npz", *TINY])
    check(result, 1, r"v\.npz: the vectors hold values as large as 1e\+30")
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("options,names,pattern", [
    (["--min-count", "1000"], "book.txt", r"keeps characters seen at least --min-count 1000 times, leaves out the "
                                          r"line break"),
    (["--max-vocab", "1"], "book.txt", r"--max-vocab 1\), leaves out the line break .* raise --max-vocab"),
    (["--vocab", "{t}/cv.jsonl"], "cv.jsonl", r"a character vocabulary without the line break"),
])
def test_char_vocabulary_without_a_line_break(hostile, tmp_path, options, names, pattern):
    """It said `book.txt: the character vocabulary has no line break '\\n'`, naming the text, not the option or
    the --vocab file that left it out."""
    records = [{"format": "rnntools-vocab", "version": 1, "level": "char", "lowercase": False, "size": 6,
                "specials": 4}]
    for i, token in enumerate(["<pad>", "<unk>", "<s>", "</s>", "a", "b"]):
        records.append({"token": token, "id": i, "count": 0 if i < 4 else 3, **({"special": True} if i < 4 else {})})
    (tmp_path / "cv.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = hostile(["rnn-train", "--task", "lm", "{w}/book.txt", *options, "-o", "{t}/out.npz", *TINY])
    check(result, 1, re.escape(names) + ": .*" + pattern)


@pytest.mark.parametrize("options,why", [
    (["--max-steps", "3"], "this run has 8 units"),      # the budget schedule is from 256 units
    (["--hidden", "256", "--epochs", "1"], "this run has no budget"),
])
def test_seq2seq_budget_average_that_would_be_ignored(hostile, options, why):
    """It trained with the plateau schedule, the option ignored, silently."""
    args = ["rnn-train", "--task", "seq2seq", "{w}/p.jsonl", "-o", "{t}/out.npz", "--budget-average", "0.5",
            "--threads", "1", "--hidden", "8", *options]
    result = hostile(args)
    check(result, 2, "--budget-average 0.5 shapes the budget schedule.*" + why)


def test_forecast_series_far_beyond_its_training_stretch(hostile, tmp_path):
    """A series constant over the stretch its scaler was fitted on, then 1e100 in the held-out end: the scaled
    values overflowed float32 (numpy's overflow warnings, then a NaN loss; with other series beside it, a model
    whose interval table held NaN was saved, which no command could load)."""
    rows = ["month,value"] + [f"{2000 + t // 12}-{t % 12 + 1:02d},{0 if t < 110 else 1e100}" for t in range(120)]
    (tmp_path / "jump.csv").write_text("\n".join(rows) + "\n")
    result = hostile(["rnn-train", "--task", "forecast", tmp_path / "jump.csv", "-o", tmp_path / "m.npz", *TINY])
    check(result, 0)
    assert "Warning" not in result.stderr, result.stderr
    result = hostile(["predict", tmp_path / "m.npz", tmp_path / "jump.csv"])
    check(result, 0)
    assert all(np.isfinite(json.loads(result.stdout)["forecast"]))


def test_w2v_train_full_temporary_folder_is_named(hostile, monkeypatch, tmp_path):
    """w2v-train spools the corpus to a temporary file: a full TMPDIR was "no space left on device (nothing was
    replaced ...)", naming no folder, which pointed at the output's disk."""
    import errno
    import io
    import tempfile

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kwargs: Full())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "spool"))
    result = hostile(["w2v-train", "{w}/corpus.txt", "-o", "{t}/w.npz", "--dim", "8", "--epochs", "1", "--threads", "1"])
    check(result, 1, r"spool: cannot write the temporary copy of the corpus \(No space left on device\); "
                     r"set TMPDIR")
    assert not (tmp_path / "w.npz").exists()


def test_csv_quoted_field_keeps_its_line_break(hostile, tmp_path):
    """csv joined the lines of a quoted field without their line break: the series "new<LF>line" came out as
    "newline", silently."""
    rows = ["id,month,value"] + [f'"new\nline",{2000 + t // 12}-{t % 12 + 1:02d},{100 + t % 12}' for t in range(40)]
    (tmp_path / "q.csv").write_text("\n".join(rows) + "\n")
    result = hostile(["predict", "{w}/fc.npz", tmp_path / "q.csv"])
    check(result, 0)
    assert json.loads(result.stdout)["id"] == "new\nline"


# --- found by hand (session 19): each case failed on the code before its fix -----------------------------

def _vocab_entry(key, index, value):
    def edit(meta, arrays):
        vocab = meta["source_vocab" if "source_vocab" in meta else "vocab"]
        if index is None:
            vocab[key] = value
        else:
            vocab[key][index] = value
    return edit


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"forecaster"}))
@pytest.mark.parametrize("key,index,value,pattern", [
    ("tokens", 5, 17, "token that is not a string: 17"),        # internal error (TypeError: len() of an int)
    ("tokens", 5, None, "token that is not a string: None"),    # the same, or exit 0 with "None" sampled
    ("lowercase", None, "no", '"lowercase" should be true or false'),  # read as true
    ("counts", 5, -7, "counts should be whole numbers of at least 0"),  # taken as it was
    ("n_special", None, "4", '"n_special" should be a whole number'),
])
def test_model_vocabulary_entries_are_checked(hostile, world, tmp_path, kind, key, index, value, pattern):
    """A model's vocabulary was taken from its metadata as it was: a token that is not a string was an internal
    error wherever it was used (or printed as "None"), `"lowercase": "no"` read every text lowercased."""
    meta = _meta_keys(world, kind)
    if key == "counts" and "counts" not in meta.get("source_vocab", meta.get("vocab")):
        pytest.skip(f"{kind} models keep no counts")
    _tamper(world / KINDS[kind], tmp_path / "m.npz", _vocab_entry(key, index, value))
    args, stdin = USE[kind]
    check(hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin), 1,
          re.escape(str(tmp_path / "m.npz")) + ": corrupt .*" + pattern)


@pytest.mark.parametrize("kind", ["classifier", "lm", "seq2seq"])
def test_network_vocabulary_without_its_special_tokens(hostile, world, tmp_path, kind):
    """A classifier whose vocabulary's "n_special" was set to 0 was an internal error ("this vocabulary has no
    <unk> token"); a language model sampled from it."""
    _tamper(world / KINDS[kind], tmp_path / "m.npz", _vocab_entry("n_special", None, 0))
    args, stdin = USE[kind]
    check(hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin), 1,
          r'corrupt .*"n_special" is 0; a network\'s vocabulary starts with the 4 special tokens')


@pytest.mark.parametrize("edit,pattern", [
    (_set(["training", "counters", "step"], "x"), "the training counter 'step' is 'x'"),  # TypeError
    (_set(["training", "counters", "step"], -5), "the training counter 'step' is -5"),    # numpy's ValueError
    (_set(["training", "counters", "lr"], 0), "the training counter 'lr' is 0"),
    (_set(["training", "baseline"], "x"), "the training state's 'baseline' is 'x'"),
    (_set(["config", "seq_len"], 0), r"its saved --seq-len 0: 0 is not in the range"),  # ZeroDivisionError
    (_set(["config", "hidden"], "x"), r"its saved --hidden 'x'"),
    (_set(["config", "dropout"], 2.0), r"its saved --dropout 2\.0"),
    (_set(["config", "cell"], "tree"), r"its saved --cell 'tree'"),
    (_set(["config", "batch"], 1.5), r"its saved --batch 1\.5: 1\.5 is not of the option's type"),
])
def test_resume_of_an_edited_training_state(hostile, world, tmp_path, edit, pattern):
    """--resume took the saved counters and options as they were: internal errors once training started."""
    _tamper(world / "lm.npz", tmp_path / "m.npz", edit)
    result = hostile(["rnn-train", "--task", "lm", "{w}/book.txt", "--resume", tmp_path / "m.npz", "-o",
                      tmp_path / "out.npz", "--max-steps", "5", "--threads", "1"])
    check(result, 1, re.escape(str(tmp_path / "m.npz")) + ": corrupt model file .*" + pattern + ".*cannot --resume")
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("edit,pattern", [
    (_set(["config", "pooling"], "x"), "pooling is 'x', expected one of last, mean, max"),  # an internal error
    (_set(["config", "wide"], "x"), "wide is 'x', expected one of"),                        # read as words
    (_set(["config", "text_field"], 5), "text_field is 5, expected a field name"),  # "<input>: record has no field 5"
    (_set(["temperature"], 5e-324), r"temperature is 5e-324, expected a number from 0\.001 up to 1000"),
])
def test_classifier_choices_are_checked_on_load(hostile, world, tmp_path, edit, pattern):
    """An edited classifier's pooling was an internal error at its first text; a temperature of 5e-324 printed
    numpy's overflow warning, raw; a text field that is not a name blamed the input file."""
    _tamper(world / "clf.npz", tmp_path / "m.npz", edit)
    result = hostile(["predict", tmp_path / "m.npz"], '{"text": "a cat"}\n')
    check(result, 1, re.escape(str(tmp_path / "m.npz")) + ": corrupt classifier model file .*" + pattern)


@pytest.mark.parametrize("summary,pattern", [
    ({"labels": ["a", {"x": 1}], "confusion": [[1, 0], [0, 1]]}, r'"labels" should be .*; it holds \{"x": 1\}'),
    ({"labels": ["a", ["b"]], "confusion": [[1, 0], [0, 1]]}, r'"labels" should be .*; it holds \["b"\]'),
    ({"labels": ["a", "a"], "confusion": [[1, 0], [0, 1]]}, "the label 'a' appears twice"),
    ({"labels": ["1", 1], "confusion": [[1, 0], [0, 1]]}, "the label '1' appears twice"),
    ({"labels": ["a", "b"], "confusion": [[1, 0], [0, 1]], "accuracy": 7}, '"accuracy" should be a number from 0'),
    ({"labels": ["a", "b"], "confusion": [[1, 0], [0, -1]]}, '"confusion" is not a square table'),
])
def test_plot_confusion_labels_are_checked(hostile, tmp_path, summary, pattern):
    """Labels that were objects or lists were drawn as Python's repr, a label twice as two rows of one name, an
    accuracy of 7 printed as such; every message named the file without the line of the summary."""
    (tmp_path / "s.json").write_text('{"note": 1}\n\n' + json.dumps(summary) + "\n")
    check(hostile(["plot", "confusion", tmp_path / "s.json"]), 1, re.escape(str(tmp_path / "s.json")) + ":3: "
          + pattern)


# --- found by hand (session 20): each case failed on the code before its fix -----------------------------

def _fc_by_network(*edits):
    """A forecaster edit: every series forecast by the network (its interval table copied for it), then EDITS."""
    def edit(meta, arrays):
        meta["selection"]["choice"] = {sid: "rnn" for sid in meta["series"]["ids"]}
        arrays["interval_q.rnn"] = arrays["interval_q"]
        meta["arrays"]["interval_q.rnn"] = meta["arrays"]["interval_q"]
        for more in edits:
            more(meta, arrays)
    return edit


def _scaler(index, value):
    def edit(meta, arrays):
        meta["series"]["scalers"][0][index] = value
    return edit


def _negate(name):
    def edit(meta, arrays):
        arrays[name] = -arrays[name]
    return edit


@pytest.mark.parametrize("edit,pattern", [
    # a scale of 0 forecast a flat line, a negative one turned it upside down (exit 0); 1e308 blamed the input
    (_fc_by_network(_scaler(1, 0)), r"the scaler of series 'passengers' is .*, expected a scale from 1e-8"),
    (_fc_by_network(_scaler(1, -1)), r"the scaler of series 'passengers' is .*, expected a scale from 1e-8"),
    (_fc_by_network(_scaler(1, 1e308)), r"expected a scale from 1e-8 of the shift's size up to 2e\+150"),
    (_fc_by_network(_scaler(0, 1e308)), r"expected a shift within 2e\+150"),
    (_fc_by_network(_scaler(2, 7)), r"expected a log flag of 0 or 1"),                   # read as true
    (_fc_by_network(_scaler(3, -1e308)), r"expected a floor from -2e\+150 to 0"),       # forecast -2e306
    (_set(["series", "ids"], ["passengers", "passengers"]), "not two lists of one length"),  # zipped silently
    (_fc_by_network(lambda m, a: m["series"].update(ids=["x", "x"], scalers=m["series"]["scalers"] * 2)),
     "the series id 'x' appears twice"),
    (_set(["series", "ids"], [5]), "a series id is 5, expected a string"),
    (_set(["levels"], [80, 80]), r"levels \[80, 80\] names a level twice"),               # written twice
    (_set(["levels"], [80, 200]), "expected whole percentages from 1 to 99"),
    (_set(["levels"], [-5, 95]), "expected whole percentages from 1 to 99"),
    (_set(["levels"], ["80", 95]), "expected whole percentages from 1 to 99"),           # "level": "80"
    (_set(["levels"], [80]), r"interval_q has shape \[2, 18\], expected \[1, 18\]"),
    (_set(["forecast_format"], 99), "forecast_format is 99: written by a newer rnntools"),
    (_set(["forecast_format"], "x"), "forecast_format is 'x'"),
    (_negate("interval_q"), "interval_q holds a negative half-width"),
    (lambda m, a: _negate(f"interval_q.{m['selection']['default']}")(m, a), "holds a negative half-width"),
    (_set(["axis", "tz"], "Mars/Olympus"), "axis tz is 'Mars/Olympus', expected null or a UTC offset"),
    (_set(["axis", "style"], "x"), "axis style is 'x'"),
    (_set(["axis", "kind"], "x"), "axis kind is 'x'"),                            # blamed the input's timestamps
    (_set(["axis", "step"], 0), "axis step is 0"),                                # "forecasts 0M series"
    (_set(["axis", "month_end"], "no"), "axis month_end is 'no'"),                # read as true
    (_fc_by_network(lambda m, a: (a.pop("interval_q.rnn"), m["arrays"].pop("interval_q.rnn"))),
     "the method 'rnn' chosen for series 'passengers' has no interval table"),    # exit 2, "no validation data"
])
def test_forecaster_entries_are_checked_on_load(hostile, world, tmp_path, edit, pattern):
    """A forecaster's series scalers, interval levels and tables, format and time axis were taken as they were
    saved: silent nonsense (exit 0: a flat or negated forecast, level 80 written twice, a band of level 200), or
    an error that blamed the input's values or timestamps."""
    _tamper(world / "fc.npz", tmp_path / "m.npz", edit)
    check(hostile(["predict", tmp_path / "m.npz", "{w}/air.csv"]), 1,
          re.escape(str(tmp_path / "m.npz")) + ": corrupt .*" + pattern)


@pytest.mark.parametrize("edit,pattern", [
    (_set(["model", "bidirectional"], False), "parameters its configuration does not use: encb"),  # decoded without it
    (_set(["model", "bidirectional"], "no"), "bidirectional is 'no', expected true or false"),     # read as true
    (_set(["max_target"], "5"), "max_target is '5', expected a whole number"),
    (_set(["max_target"], 2.5), "max_target is 2.5, expected a whole number"),
    (_set(["data", "source_field"], 7), "data.source_field is 7, expected a field name"),  # blamed the input
    (_set(["data", "source_field"], ""), "data.source_field is '', expected a field name"),  # read "source"
    (_set(["data"], 5), "data is 5, expected an object"),                                   # an internal error
    (_set(["config", "target_level"], "nonsense"), "config.target_level is 'nonsense', but the target vocabulary"),
    (_set(["source_vocab", "level"], "word"), "config.level is 'char', but the source vocabulary is word-level"),
])
def test_seq2seq_entries_are_checked_on_load(hostile, world, tmp_path, edit, pattern):
    """An edited seq2seq model decoded anyway: a bidirectional file marked unidirectional without its backward
    encoder, a source vocabulary marked word-level split each source into words of a character vocabulary."""
    if "bidirectional" in pattern and not _meta_keys(world, "seq2seq")["model"]["bidirectional"]:
        pytest.skip("the world's seq2seq model is not bidirectional")
    _tamper(world / "s2s.npz", tmp_path / "m.npz", edit)
    check(hostile(["predict", tmp_path / "m.npz"], '{"source": "abc"}\n'), 1,
          re.escape(str(tmp_path / "m.npz")) + ": corrupt .*" + pattern)


@pytest.mark.parametrize("kind,edit,pattern", [
    ("classifier", _set(["config", "level"], "char"), "config.level is 'char', but the vocabulary is word-level"),
    # a word vocabulary marked char-level: its words are what gives it away first
    ("classifier", _set(["vocab", "level"], "char"), "the vocabulary is char-level, but holds the token '[a-z]+' of"),
    ("classifier", _set(["config", "bidirectional"], "no"), "bidirectional is 'no', expected true or false"),
    ("classifier", _set(["config", "calibrate"], "no"), "calibrate is 'no', expected true or false"),
    ("lm", _set(["config", "level"], "word"), "config.level is 'word', but the vocabulary is char-level"),
    ("lm", _set(["vocab", "level"], "word"), "config.level is 'char', but the vocabulary is word-level"),
])
def test_saved_level_and_switches_match(hostile, world, tmp_path, kind, edit, pattern):
    """A classifier saved as "char" beside a word vocabulary (or an LM's vocabulary marked word-level, which
    scored each text as three words of a character vocabulary) was read silently; "no" was read as true."""
    _tamper(world / KINDS[kind], tmp_path / "m.npz", edit)
    args, stdin = USE[kind]
    check(hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin), 1,
          re.escape(str(tmp_path / "m.npz")) + ": corrupt .*" + pattern)


def test_forecast_that_overflows_names_itself(hostile, world, tmp_path):
    """A forecast that overflows stays an error (docs/forecast.md says why, not a null), but says which number
    and from which step. (An interval table wide enough to overflow a bound is refused on load now: below.)"""
    def diverge(meta, arrays):
        _fc_by_network()(meta, arrays)
        arrays["m0.out.b"] = np.full_like(arrays["m0.out.b"], 1e30)

    _tamper(world / "fc.npz", tmp_path / "m.npz", diverge)
    check(hostile(["predict", tmp_path / "m.npz", "{w}/air.csv"]), 1,
          r"air\.csv:2: the forecast of series 'passengers' is not finite from step 1 on")


@pytest.mark.parametrize("encoding,pattern", [
    ("utf-16-le", "looks like UTF-16LE text without a byte-order mark"),   # read as letters split at NULs, exit 0
    ("utf-16-be", "looks like UTF-16BE text without a byte-order mark"),
    ("utf-16", r"UTF-16 text \(it starts with a UTF-16 byte-order mark\), not UTF-8; convert it: iconv -f UTF-16"),
    ("utf-32", r"UTF-32 text \(it starts with a UTF-32 byte-order mark\)"),  # "invalid UTF-8 at byte 0"
])
@pytest.mark.parametrize("command", [["vocab"], ["rnn-train", "--task", "lm", "-o", "{t}/m.npz", *TINY]])
def test_utf16_and_utf32_text_is_named(hostile, tmp_path, encoding, pattern, command):
    """UTF-16 without a byte-order mark is valid UTF-8 (a NUL beside every ASCII letter): vocab counted single
    letters, silently; with the mark the message said "invalid UTF-8 at byte 0", naming no encoding."""
    (tmp_path / "t.txt").write_bytes("the cat sat\nthe dog ran\n".encode(encoding) * 20)
    check(hostile([*command, tmp_path / "t.txt"]), 1, r"t\.txt:1: .*" + pattern)


@pytest.mark.parametrize("path,value,pattern", [
    (["config", "difference"], "x", "difference is 'x', expected one of season"),   # another baseline, exit 0
    (["config", "transform"], "x", "transform is 'x', expected one of auto, log, none"),
    (["config", "missing"], "x", "missing is 'x', expected one of error"),
    (["config", "intervals"], "x", "intervals is x, expected a list of whole percentages"),
    (["config", "covariates"], 5, "covariates is 5, expected a list of column names"),  # a TypeError's text
    (["config", "level_input"], "no", "level_input is 'no', expected true or false"),  # read as true
    (["config", "dropout"], -1, "dropout is -1, expected a number from 0"),
    (["config", "target"], 5, "target is 5, expected a column name or null"),   # exit 2 blaming "--target 5"
    (["config", "freq"], "x", "freq is 'x', expected a frequency"),            # exit 2 blaming "--freq 'x'"
])
def test_forecaster_saved_options_are_checked_on_load(hostile, world, tmp_path, path, value, pattern):
    """A forecaster's saved options were used as they were: another baseline or features, silently, or a usage
    error naming an option nobody gave."""
    _tamper(world / "fc.npz", tmp_path / "m.npz", _set(path, value))
    check(hostile(["predict", tmp_path / "m.npz", "{w}/air.csv"]), 1,
          re.escape(str(tmp_path / "m.npz")) + ": corrupt forecaster metadata .*" + pattern)


@pytest.fixture(scope="module")
def resumable_vectors(world, tmp_path_factory):
    from click.testing import CliRunner
    from conftest import _Main

    from rnntools.cli import main

    path = tmp_path_factory.mktemp("w2v") / "wr.npz"
    result = CliRunner().invoke(_Main(main), ["w2v-train", str(world / "corpus.txt"), "-o", str(path), "--dim", "8",
                                              "--epochs", "1", "--min-count", "1", "--threads", "1", "--resumable"])
    assert result.exit_code == 0, result.stderr
    return path


@pytest.mark.parametrize("path,value,pattern", [
    (["config", "dim"], 16, "its vectors have 8 values a row, its dim is 16"),     # exit 0: rows read past
    (["config", "dim"], "x", "its saved --dim 'x'"),                                # internal error (TypeError)
    (["config", "window"], 0, "its saved --window 0"),                              # ZeroDivisionError
    (["config", "negative"], -1, "its saved --negative -1"),                        # exit 0
    (["config", "alpha"], -1, "its saved --alpha -1"),                              # exit 0
    (["config", "arch"], "x", "its saved --arch 'x'"),                              # exit 0
    (["config", "share_negatives"], "no", "its saved --share-negatives 'no'"),      # numba's typing error
    (["config", "min_alpha"], 5, "its min_alpha 5 is above its alpha 0.025"),       # minutes, then a NaN loss
    (["training", "epochs_done"], -3, "the epochs done are -3"),                     # exit 0
    (["training", "epochs_done"], "x", "the epochs done are 'x'"),                   # internal error
])
def test_w2v_resume_of_an_edited_file(hostile, world, tmp_path, resumable_vectors, path, value, pattern):
    """w2v-train --resume took the saved settings and schedule as they were: internal errors, a numba typing
    error, or training with a negative learning rate, silently."""
    _tamper(resumable_vectors, tmp_path / "m.npz", _set(path, value))
    result = hostile(["w2v-train", "{w}/corpus.txt", "--resume", tmp_path / "m.npz", "-o", tmp_path / "out.npz",
                      "--epochs", "3", "--threads", "1"])
    check(result, 1, re.escape(str(tmp_path / "m.npz")) + ": corrupt model file .*" + pattern + ".*cannot --resume")
    assert not (tmp_path / "out.npz").exists()


def test_w2v_resume_with_an_alpha_below_the_saved_min_alpha(hostile, world, tmp_path, resumable_vectors):
    """An --alpha given on --resume below the file's own --min-alpha is the user's error (exit 2), naming both."""
    _tamper(resumable_vectors, tmp_path / "m.npz", _set(["config", "min_alpha"], 0.001))
    result = hostile(["w2v-train", "{w}/corpus.txt", "--resume", tmp_path / "m.npz", "-o", tmp_path / "out.npz",
                      "--epochs", "3", "--threads", "1", "--alpha", "0.0005"])
    check(result, 2, r"--min-alpha 0\.001 is above --alpha 0\.0005 \(one of them saved in ")


def test_w2v_resume_takes_a_min_alpha_below_the_saved_alpha(hostile, world, tmp_path, resumable_vectors):
    """--min-alpha on --resume is checked against the file's alpha, not the default one: 0.03 beside a file
    trained with --alpha 0.05 was refused as "above --alpha 0.025"; above the file's alpha it still is."""
    _tamper(resumable_vectors, tmp_path / "m.npz", _set(["config", "alpha"], 0.05))
    args = ["w2v-train", "{w}/corpus.txt", "--resume", tmp_path / "m.npz", "--epochs", "2", "--threads", "1"]
    check(hostile([*args, "-o", tmp_path / "out.npz", "--min-alpha", "0.03"]), 0, None)
    assert (tmp_path / "out.npz").exists()
    check(hostile([*args, "-o", tmp_path / "out2.npz", "--min-alpha", "0.06"]), 2,
          r"--min-alpha 0\.06 is above --alpha 0\.05 \(one of them saved in ")


@pytest.mark.parametrize("args,stdin,status,pattern", [
    # a byte that is not UTF-8 was shown as Python's \udce9
    (["sample", "{w}/lm.npz", "--prime", "caf\udce9", "--length", "3"], None, 2, r"--prime caf\\xe9: not valid UTF-8"),
    # a plain line without a tab: "record has no field 'label' ... name the label field with --label-field"
    (["evaluate", "{w}/clf.npz"], "noun.x a cat\n", 1, r"<stdin>:1: expected 'label<TAB>text' \(no tab on this line"),
    # lines of 5 words: "no analogy questions", naming no line
    (["evaluate", "{w}/w.npz", "--analogies", "{t}/a.txt"], None, 1,
     r"a\.txt:2: no analogy questions: the line has 5 words, expected 4"),
])
def test_messages_name_what_is_wrong(hostile, tmp_path, args, stdin, status, pattern):
    (tmp_path / "a.txt").write_text(": s\nthe cat sat on mat\nthe dog ran in park\n")
    check(hostile(args, stdin), status, pattern)


# --- found by hand (session 21): each case failed on the code before its fix -----------------------------

def _char_vocab(path, tokens, blank_line=False):
    """A character vocabulary file as `rnntools vocab --level char` writes it, with TOKENS after the specials
    (a blank line after the header sends it through the line-by-line reader)."""
    records = [{"format": "rnntools-vocab", "version": 1, "level": "char", "lowercase": False,
                "size": 4 + len(tokens), "specials": 4}]
    for i, token in enumerate(["<pad>", "<unk>", "<s>", "</s>", *tokens]):
        records.append({"token": token, "id": i, "count": 0 if i < 4 else 3, "df": 0 if i < 4 else 1,
                        **({"special": True} if i < 4 else {})})
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    if blank_line:
        lines.insert(1, "\n")
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize("blank_line", [False, True])
@pytest.mark.parametrize("args", [
    ["rnn-train", "--task", "lm", "{w}/book.txt", "--vocab", "{t}/cv.jsonl", "-o", "{t}/out.npz", *TINY],
    ["rnn-train", "--task", "classify", "--level", "char", "{w}/g.jsonl", "--vocab", "{t}/cv.jsonl", "-o",
     "{t}/out.npz", *TINY],
    ["rnn-train", "--task", "seq2seq", "{w}/p.jsonl", "--vocab", "{t}/cv.jsonl", "-o", "{t}/out.npz", *TINY],
    ["bow", "--vocab", "{t}/cv.jsonl", "{w}/docs.txt"],
])
def test_char_vocabulary_file_with_longer_tokens(hostile, tmp_path, args, blank_line):
    """A character vocabulary holding "th" or "ing" trained a network with rows no text reaches (exit 0); a
    language model then sampled "th" as if it were one character."""
    _char_vocab(tmp_path / "cv.jsonl", ["\n", " ", "e", "t", "th", "a"], blank_line)
    check(hostile(args), 1, re.escape(str(tmp_path / "cv.jsonl")) + f":{10 + blank_line}: a character-level "
          "vocabulary .* holds the token 'th' of 2 characters")
    assert not (tmp_path / "out.npz").exists()


def test_char_vocabulary_file_of_single_characters_reads(hostile, tmp_path):
    """Specials, a line break, a space and a character outside the BMP are one character each."""
    _char_vocab(tmp_path / "cv.jsonl", ["\n", " ", "e", "\U0001f642"])
    check(hostile(["bow", "--vocab", "{t}/cv.jsonl", "{w}/docs.txt"]), 0)


@pytest.mark.parametrize("kind,key", [("lm", "vocab"), ("seq2seq", "source_vocab")])
def test_model_char_vocabulary_with_longer_tokens(hostile, world, tmp_path, kind, key):
    """The same in a model file's vocabulary: sampled and scored silently."""
    def edit(meta, arrays):
        meta[key]["tokens"][6] = "th"

    _tamper(world / KINDS[kind], tmp_path / "m.npz", edit)
    args, stdin = USE[kind]
    check(hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin), 1,
          re.escape(str(tmp_path / "m.npz")) + ": corrupt .*the vocabulary is char-level, but holds the token 'th' "
          "of 2 characters")


def _fill(name, value):
    def edit(meta, arrays):
        key = name if name == "interval_q" else f"interval_q.{meta['selection']['default']}"
        arrays[key] = np.full_like(arrays[key], value)
    return edit


@pytest.mark.parametrize("name", ["interval_q", "chosen"])
@pytest.mark.parametrize("value,status", [(1e300, 1), (1e150, 0)])
def test_forecaster_interval_table_of_absurd_width(hostile, world, tmp_path, name, value, status):
    """An interval table edited to half-widths of 1e300 scales wrote bands of +-3e301 passengers, exit 0; the
    scalers' own bound (2e150) is the limit, so a wide table that fits still loads."""
    _tamper(world / "fc.npz", tmp_path / "m.npz", _fill(name, value))
    check(hostile(["predict", tmp_path / "m.npz", "{w}/air.csv", "--horizon", "2"]), status,
          re.escape(str(tmp_path / "m.npz")) + r": corrupt .*holds a half-width of 1e\+300 scales, above 2e\+150"
          if status else None)


def test_a_failed_save_after_one_of_this_run_says_what_the_file_keeps(tmp_path):
    """A forecaster trained onto a 64 KiB tmpfs saved its best network, then failed to save the whole model:
    "the previous file, if any, is unchanged", while the file held this run's first save, not the user's."""
    import errno

    from rnntools.errors import OutputError
    from rnntools.io import open_output

    def full(path):
        with pytest.raises(OutputError) as exc, open_output(path) as f:
            f.write("half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return str(exc.value)

    out = tmp_path / "m.txt"
    out.write_text("the user's\n")
    assert full(out).endswith("the previous file, if any, is unchanged")
    assert out.read_text() == "the user's\n"
    with open_output(out) as f:
        f.write("first save\n")
    assert full(out).endswith("it keeps what this run saved there before")
    assert out.read_text() == "first save\n"
    (tmp_path / "other.txt").write_text("another program's\n")
    os.replace(tmp_path / "other.txt", out)  # replaced since: not this run's any more
    assert full(out).endswith("the previous file, if any, is unchanged")


def test_phrases_full_temporary_folder_names_no_other_command(hostile, monkeypatch, tmp_path):
    """`phrases` under `ulimit -f` said it could not write "w2v-train's temporary copy of the corpus"."""
    import errno
    import io
    import tempfile

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kwargs: Full())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "spool"))
    result = hostile(["phrases", "{w}/corpus.txt", "-o", "{t}/p.txt"])
    check(result, 1, r"^rnntools phrases: error: .*spool: cannot write the temporary copy of the corpus \(File too "
                     r"large\)")
    assert "w2v-train" not in result.stderr


def test_too_many_open_files_names_the_limit(hostile, monkeypatch):
    """Under `ulimit -n 5`, `plot log` said "PIL/BmpImagePlugin.py: Too many open files", naming a module of a
    library that happened to be opened last."""
    import errno

    from rnntools.text.vocab import Vocab

    def read(path):
        raise OSError(errno.EMFILE, "Too many open files", "/venv/PIL/BmpImagePlugin.py")

    monkeypatch.setattr(Vocab, "read", staticmethod(read))
    result = hostile(["bow", "--vocab", "{w}/v.jsonl", "{w}/docs.txt"])
    check(result, 1, r"too many open files \(the limit on open files, `ulimit -n`, is \d+; raise it\)")
    assert "BmpImagePlugin" not in result.stderr


def test_too_many_open_files_outside_an_output_names_the_limit():
    import errno

    from rnntools.cli import _os_message

    message = _os_message(OSError(errno.EMFILE, "Too many open files", "/venv/PIL/BmpImagePlugin.py"))
    assert re.fullmatch(r"too many open files \(the limit on open files, `ulimit -n`, is \d+; raise it\)", message)


def test_phrase_table_ties_are_ordered_the_same_in_every_process(tmp_path):
    """Phrases of equal score were listed in the order of the corpus spool's ids, which come from a set of
    strings: `phrases --save-table` of one corpus gave other bytes in each process (string hashes differ)."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    (tmp_path / "c.txt").write_text("".join(f"left{i} right{i} and more words here\n" for i in range(40)) * 6)
    tables = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
        env.pop("RNNTOOLS_DEBUG", None)
        out = tmp_path / f"t{seed}.jsonl"
        subprocess.run([sys.executable, "-m", "rnntools", "phrases", str(tmp_path / "c.txt"), "-o", os.devnull,
                        "--save-table", str(out), "--threshold", "1"], env=env, check=True, capture_output=True)
        tables.append(out.read_bytes())
    assert tables[0].count(b"\n") >= 40
    assert tables[0] == tables[1] == tables[2]


def test_forecaster_with_a_million_levels_says_so_briefly(hostile, world, tmp_path):
    """A forecaster file edited to 990,000 levels quoted the whole list in its error (cut to 2,000 characters in
    the middle of the numbers)."""
    _tamper(world / "fc.npz", tmp_path / "m.npz", _set(["levels"], list(range(1, 100)) * 10_000))
    result = hostile(["predict", tmp_path / "m.npz", "{w}/air.csv"])
    check(result, 1, re.escape(str(tmp_path / "m.npz")) + r": corrupt .*levels \(a list of 990000\) names a level "
          r"twice \(1\)")
    assert len(result.stderr) < 400


# --- found by hand (session 22): each case failed on the code before its fix -----------------------------

def _word_vocab(path, tokens, header=None, blank_line=False, records=None):
    """A word vocabulary file as `rnntools vocab` writes it, TOKENS after the specials; RECORDS: extra fields
    of each token record after the specials (a blank line sends it through the line-by-line reader)."""
    head = {"format": "rnntools-vocab", "version": 1, "level": "word", "lowercase": True, "documents": 2,
            "size": 4 + len(tokens), "specials": 4, **(header or {})}
    lines = [json.dumps(head) + "\n"]
    for i, token in enumerate(["<pad>", "<unk>", "<s>", "</s>", *tokens]):
        record = {"token": token, "id": i, "count": 0 if i < 4 else 3, "df": 0 if i < 4 else 1,
                  **({"special": True} if i < 4 else (records or {}))}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    if blank_line:
        lines.insert(1, "\n")
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize("blank_line", [False, True])
@pytest.mark.parametrize("token,header,why", [
    ("the cat", {}, "which no text is split into"),
    ("a\nb", {}, "which no text is split into"),
    ("hello!", {}, "which no text is split into"),
    ("<unk>", {}, "which no text is split into"),
    ("The", {}, r'but the header says "lowercase": true'),
    ("Dog", {"version": 1}, r'but the header says "lowercase": true'),
    ("cafe\u0301", {}, r"which is not in Unicode's composed form \(NFC\)"),  # text is read composed
])
@pytest.mark.parametrize("args", [
    ["bow", "--vocab", "{t}/v.jsonl", "{w}/docs.txt"],
    ["rnn-train", "--task", "lm", "--level", "word", "{w}/book.txt", "--vocab", "{t}/v.jsonl", "-o", "{t}/out.npz",
     *TINY],
    ["rnn-train", "--task", "classify", "{w}/g.jsonl", "--vocab", "{t}/v.jsonl", "-o", "{t}/out.npz", *TINY],
    ["w2v-train", "{w}/corpus.txt", "--vocab", "{t}/v.jsonl", "-o", "{t}/out.npz", "--dim", "4", "--epochs", "1",
     "--threads", "1"],
])
def test_word_vocabulary_file_with_tokens_no_text_reaches(hostile, tmp_path, args, token, header, why, blank_line):
    """A word vocabulary holding a token the tokenizer never produces (two words, a line break, punctuation,
    a capital letter in a lowercased vocabulary) trained rows and counted columns no text reaches, exit 0."""
    _word_vocab(tmp_path / "v.jsonl", ["the", "dog", token, "cat"], header, blank_line)
    check(hostile(args), 1, re.escape(str(tmp_path / "v.jsonl")) + f":{8 + blank_line}: a word-level vocabulary "
          f"holds the token {re.escape(repr(token))}, {why}")
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("tokens,header", [
    (["the", "don't", "new_york", "café", "x2", "日本", "हिन्दी", "שָׁלוֹם"], {}),
    (["The", "the", "Dog"], {"lowercase": False}),
])
def test_word_vocabulary_file_of_words_reads(hostile, tmp_path, tokens, header):
    """Words with apostrophes, underscores (phrases' joined pairs, for w2v-train), any script; capitals with
    "lowercase": false."""
    _word_vocab(tmp_path / "v.jsonl", tokens, header)
    check(hostile(["bow", "--vocab", "{t}/v.jsonl", "{w}/docs.txt"]), 0)


@pytest.mark.parametrize("blank_line", [False, True])
def test_vocabulary_document_frequency_above_its_documents(hostile, tmp_path, blank_line):
    """A "df" above the header's "documents" gave a negative idf: tf-idf weights of -1.0, exit 0."""
    _word_vocab(tmp_path / "v.jsonl", ["the", "dog"], {"documents": 2}, blank_line)
    text = (tmp_path / "v.jsonl").read_text().replace('"token": "dog", "id": 5, "count": 3, "df": 1',
                                                      '"token": "dog", "id": 5, "count": 3, "df": 50')
    (tmp_path / "v.jsonl").write_text(text)
    check(hostile(["bow", "--vocab", "{t}/v.jsonl", "--mode", "tfidf", "{w}/docs.txt"]), 1,
          re.escape(str(tmp_path / "v.jsonl")) + f":{7 + blank_line}: the token 'dog' has \"df\" 50, more than the "
          "header's 2 \"documents\"")


@pytest.mark.parametrize("edit,pattern", [
    ({"count": True}, r':6: "count" and "df" must be non-negative integers'),
    ({"df": False}, r':6: "count" and "df" must be non-negative integers'),
    ({"id": True}, r":2: expected id 0 for '<pad>', got true"),
    ({"version": "1"}, r':1: the header\'s "version" should be a whole number of at least 1, got \'1\''),
])
def test_vocabulary_booleans_are_not_numbers(hostile, tmp_path, edit, pattern):
    """JSON true and false are not counts or ids (Python's bool is an int: `"count": true` was a count of 1,
    `"id": true` the id 1); a version "1" was 'version 1 is newer than this rnntools reads'."""
    _word_vocab(tmp_path / "v.jsonl", ["the", "dog"])
    lines = (tmp_path / "v.jsonl").read_text().splitlines(keepends=True)
    key = next(iter(edit))
    row = 0 if key == "version" else 1 if key == "id" else 5
    record = json.loads(lines[row])
    record[key] = edit[key]
    lines[row] = json.dumps(record) + "\n"
    (tmp_path / "v.jsonl").write_text("".join(lines))
    check(hostile(["bow", "--vocab", "{t}/v.jsonl", "{w}/docs.txt"]), 1, pattern)


@pytest.mark.parametrize("args", [
    ["vocab", "{w}/docs.txt", "-o", "{t}/out/"],
    ["vocab", "{w}/docs.txt", "-o", "{t}/out/."],
    ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/out/", *TINY],
    ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m.npz", "--log", "{t}/out/", *TINY],
    ["phrases", "{w}/docs.txt", "--save-table", "{t}/out/"],
])
def test_output_name_ending_as_a_folder(hostile, tmp_path, args):
    """`-o out/` (out not there yet) wrote a file named out, exit 0; cp and the shell refuse such a name."""
    check(hostile(args), 2, r"out/\.?: the name ends with '/', as a folder's does")
    assert not (tmp_path / "out").exists() and not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("args", [
    ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m.npz", *TINY],
    ["w2v-train", "{w}/corpus.txt", "-o", "{t}/m.npz", "--dim", "4", "--epochs", "1", "--threads", "1"],
])
def test_training_log_that_cannot_be_opened_is_named(hostile, tmp_path, args):
    """`--log /proc/self/mem` (a file that refuses the seek to its end that opening for appending does) was
    'error: Invalid argument', naming no file."""
    check(hostile([*args, "--log", "/proc/self/mem"]), 1,
          r"/proc/self/mem: cannot write the training log \(Invalid argument\)")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("to_file", [False, True])
@pytest.mark.parametrize("args", [
    ["evaluate", "{t}/m\udcff.npz", "{w}/p.jsonl"],
    ["evaluate", "{w}/w.npz", "--similarity", "{t}/s\udcff.txt"],
])
def test_file_name_that_is_not_utf8_in_a_record(hostile, world, tmp_path, args, to_file):
    """A file name that is not UTF-8 (Python carries its bytes as lone surrogates) in an output record:
    `evaluate -o FILE` was an internal error (UnicodeEncodeError), and standard output got the raw byte,
    so the JSONL was not UTF-8. Now shown as \\xff, as in messages."""
    import shutil

    shutil.copyfile(world / "s2s.npz", str(tmp_path) + "/m\udcff.npz")
    with open(str(tmp_path) + "/s\udcff.txt", "w", encoding="utf-8") as f:
        f.write("the\ta\t5\nof\tand\t3\nthe\tof\t2\n")
    result = hostile([*args, *(["-o", "{t}/out.jsonl"] if to_file else [])])
    check(result, 0)
    text = (tmp_path / "out.jsonl").read_bytes() if to_file else result.stdout_bytes
    record = json.loads(text.decode("utf-8"))
    assert "\\xff." in record.get("model", record.get("file")), record


@pytest.mark.parametrize("args", [
    ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m\udcff.npz", "--log", "{t}/log.jsonl", *TINY],
    ["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m.npz", "--log", "{t}/log\udcff.jsonl", *TINY],
])
def test_training_log_of_a_file_name_that_is_not_utf8(hostile, tmp_path, args):
    """The training log's "start" event names the output and the log: an internal error (UnicodeEncodeError)
    when either name was not UTF-8."""
    check(hostile(args), 0)
    log = next(p for p in os.listdir(str(tmp_path)) if p.startswith("log"))
    with open(os.path.join(str(tmp_path), log), "rb") as f:
        events = [json.loads(line.decode("utf-8")) for line in f]
    assert events[0]["event"] == "start" and events[-1]["event"] == "end", events


@pytest.mark.parametrize("blank_line", [False, True])
def test_vocabulary_token_twice_names_its_line(hostile, tmp_path, blank_line):
    """A token twice was 'v.jsonl: tokens must be unique', naming neither the token nor the line."""
    _word_vocab(tmp_path / "v.jsonl", ["the", "dog", "the", "cat"], blank_line=blank_line)
    check(hostile(["bow", "--vocab", "{t}/v.jsonl", "{w}/docs.txt"]), 1,
          re.escape(str(tmp_path / "v.jsonl")) + f":{8 + blank_line}: the token 'the' appears again")


# --- found by hand (session 23): each case failed on the code before its fix -----------------------------

@pytest.mark.parametrize("folds", ["1000000000000", "9007199254740992"])
def test_backtest_far_beyond_the_data_names_the_most_it_allows(hostile, folds):
    """`evaluate --backtest N` listed the N fold numbers before the first fold's length check: 10**9 folds
    held 16 GB of memory for minutes (the kernel's OOM killer ended it), 10**12 was "out of memory; lower
    --hidden...", naming nothing the user gave."""
    check(hostile(["evaluate", "{w}/fc.npz", "{w}/air.csv", "--backtest", folds]), 1,
          rf"--backtest {folds} needs .* at most --backtest \d+ for this data")


def test_backtest_pieces_are_not_a_list_of_every_fold(world):
    from rnntools.tasks import forecast

    pieces = forecast.evaluate_pieces(forecast.load(str(world / "fc.npz")), backtest=10 ** 15)
    assert len(pieces) == 10 ** 15 and pieces[0] == 10 ** 15 and pieces[-1] == 1


@pytest.mark.parametrize("value", [None, "x", -1, 0, True, [], 2 ** 63])
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_classifier_seq_len_from_a_tampered_file(hostile, world, tmp_path, value, command):
    """A classifier's saved `seq_len` cuts every text `predict` reads; it was not checked at loading: None, "x",
    [] were internal errors in predict (TypeError, numpy's UFuncTypeError, a broadcast error), -1 and 0 cut
    every text to nothing, exit 0."""
    _tamper(world / "clf.npz", tmp_path / "m.npz", lambda m, a: m["config"].update(seq_len=value))
    check(hostile([command, "{t}/m.npz", "{w}/g.jsonl"]), 1,
          re.escape(str(tmp_path / "m.npz")) + r": corrupt classifier model file \(ValueError: seq_len is ")


@pytest.fixture(scope="module")
def int_label_classifier(tmp_path_factory):
    """A classifier trained on JSONL whose labels are the integers 1 and 2."""
    from click.testing import CliRunner
    from conftest import _Main

    from rnntools.cli import main

    root = tmp_path_factory.mktemp("intlabels")
    with open(root / "train.jsonl", "w", encoding="utf-8") as f:
        for i in range(20):
            f.write(json.dumps({"text": f"good fine word{i % 3}", "label": 1}) + "\n")
            f.write(json.dumps({"text": f"bad poor other{i % 3}", "label": 2}) + "\n")
    result = CliRunner().invoke(_Main(main), ["rnn-train", "--task", "classify", str(root / "train.jsonl"), "-o",
                                              str(root / "m.npz"), *TINY])
    assert result.exit_code == 0, result.stderr
    return root


def test_evaluate_tsv_labels_of_an_integer_labelled_classifier(hostile, int_label_classifier, tmp_path):
    """`label<TAB>text` lines carry labels as strings: a model trained on JSONL's 1 and 2 counted every "1" and
    "2" as a label it was not trained on (accuracy 0) and listed two classes named "1" in its confusion matrix
    and per-class table. A label is its name, as the output shows it."""
    (tmp_path / "test.tsv").write_text("1\tgood fine word1\n2\tbad poor other2\n" * 4, encoding="utf-8")
    result = hostile(["evaluate", int_label_classifier / "m.npz", "{t}/test.tsv"])
    check(result, 0)
    summary = json.loads(result.stdout)
    assert summary["labels"] == ["1", "2"] and summary["unseen_labels"] == 0, summary
    assert summary["per_class"]["1"]["support"] == 4 and summary["per_class"]["2"]["support"] == 4, summary
    mixed = '{"text": "x", "label": "3"}\n{"text": "x", "label": 3}\n{"text": "good", "label": "1"}\n'
    summary = json.loads(hostile(["evaluate", int_label_classifier / "m.npz"], stdin=mixed).stdout)
    assert summary["labels"] == ["1", "2", "3"] and summary["unseen_labels"] == 2, summary


def test_resume_an_integer_labelled_classifier_on_tsv(hostile, int_label_classifier, tmp_path):
    """... and `--resume` on such a file was `cannot --resume: the data has labels the model does not know
    ('1')`, exit 2."""
    (tmp_path / "more.tsv").write_text("1\tgood fine word1\n2\tbad poor other2\n" * 8, encoding="utf-8")
    check(hostile(["rnn-train", "--task", "classify", "{t}/more.tsv", "--resume", int_label_classifier / "m.npz",
                   "-o", "{t}/m2.npz", "--max-steps", "2", "--threads", "1"]), 0)
    with np.load(tmp_path / "m2.npz", allow_pickle=False) as z:
        assert json.loads(str(z["meta"]))["labels"] == [1, 2]


@pytest.mark.parametrize("command", [["sample", "{t}/m.npz", "--length", "3"],
                                     ["predict", "{t}/m.npz", "{w}/docs.txt"]])
def test_array_header_numpy_cannot_parse(hostile, world, tmp_path, command):
    """An array's .npy header with its closing brace damaged (a flipped bit): numpy's parser raised tokenize's
    TokenError, an internal error."""
    data = bytearray((world / "lm.npz").read_bytes())
    start = data.index(b"\x93NUMPY", data.index(b"\x93NUMPY") + 1)  # the first array after "meta"
    brace = data.index(b"}", start)
    data[brace:brace + 1] = b" "
    (tmp_path / "m.npz").write_bytes(bytes(data))
    check(hostile(command), 1, re.escape(str(tmp_path / "m.npz")) + ": corrupt model file")


# --- found by hand (session 24): each case failed on the code before its fix -----------------------------

@pytest.mark.parametrize("task,data,model", [("lm", "{w}/book.txt", "lm.npz"), ("classify", "{w}/g.jsonl", "clf.npz"),
                                             ("seq2seq", "{w}/p.jsonl", "s2s.npz")])
@pytest.mark.parametrize("counter,value", [("epoch", 10 ** 15), ("best_step", 10 ** 9), ("eval_step", 50)])
def test_resume_counters_beyond_the_steps_done(hostile, world, tmp_path, task, data, model, counter, value):
    """A file whose counters claim more epochs (or a later best or evaluation step) than updates done was
    resumed as it was: `"epoch": 10**15` beside `"step": 3` stopped at once ("epochs") and saved those counters
    again, exit 0."""
    _tamper(world / model, tmp_path / "m.npz", _set(["training", "counters", counter], value))
    result = hostile(["rnn-train", "--task", task, data, "--resume", tmp_path / "m.npz", "-o", tmp_path / "out.npz",
                      "--max-steps", "5", "--threads", "1"])
    check(result, 1, re.escape(str(tmp_path / "m.npz")) + rf": corrupt model file \(the training counter '{counter}' "
          rf"is {value}, more than its 3 steps\); cannot --resume it")
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("key,value,pattern", [
    ("epochs", "x", "epochs is 'x', expected an integer from 1 to 100000"),   # TypeError in the refit
    ("lr", "x", "lr is 'x', expected a number above 0"),                      # numba's TypingError
    ("lr", -1.0, "lr is -1.0, expected a number above 0"),                    # trained uphill, exit 0
    ("epochs", 0, "epochs is 0, expected an integer from 1"),                 # exit 0
    ("ensemble", 2 ** 63, "ensemble is 9223372036854775808, expected an integer from 1 to 1000"),  # endless
    ("optimizer", "sgd", "optimizer is 'sgd', expected adam"),  # "the forecaster trains with --optimizer adam", exit 2
])
def test_forecaster_training_options_are_checked_on_load(hostile, world, tmp_path, key, value, pattern):
    """`evaluate` refits a forecaster on each fold with the training options saved in it, which were not
    checked: an edited `"epochs": "x"` or `"lr": "x"` was an internal error once the first fold trained, an `"lr":
    -1` trained uphill with exit 0; an `"ensemble"` of 2**63 built networks until memory ran out, in predict too."""
    _tamper(world / "fc.npz", tmp_path / "m.npz", _set(["config", key], value))
    for command in (["evaluate", "{t}/m.npz", "{w}/air.csv", "--backtest", "1", "--max-time", "1"],
                    ["predict", "{t}/m.npz", "{w}/air.csv"]):
        check(hostile(command), 1, re.escape(str(tmp_path / "m.npz")) + r": corrupt forecaster metadata "
              r"\(ValueError: " + pattern)


@pytest.mark.parametrize("season", [None, "12"])
def test_forecast_on_integer_timestamps_beyond_int64(hostile, tmp_path, season):
    """Integer timestamps may be any size (docs/reliability.md), but training on a series numbered from 10**30
    was an internal error (OverflowError: the calendar phases went into an int64 array whole; only their
    remainder by the season is used)."""
    values = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118] * 6
    (tmp_path / "big.csv").write_text("t,y\n" + "".join(f"{10 ** 30 + i},{v + i}\n" for i, v in enumerate(values)))
    extra = ["--season", season] if season else []
    check(hostile(["rnn-train", "--task", "forecast", "{t}/big.csv", "-o", "{t}/m.npz", "--horizon", "4",
                   "--hidden", "8", "--max-steps", "3", "--threads", "1", *extra]), 0)
    result = hostile(["predict", "{t}/m.npz", "{t}/big.csv"])
    check(result, 0)
    assert json.loads(result.stdout)["timestamps"][0] == 10 ** 30 + len(values)


def test_resume_a_classifier_on_data_with_another_label(hostile, tmp_path):
    """`--resume` on data holding a label the model was not trained on named neither the data file nor the line:
    "cannot --resume: the data has labels the model does not know ('nope')"."""
    (tmp_path / "more.jsonl").write_text('{"text": "a cat", "label": "noun.animal"}\n{"text": "x", "label": "nope"}\n')
    check(hostile(["rnn-train", "--task", "classify", "{t}/more.jsonl", "--resume", "{w}/clf.npz", "-o", "{t}/m.npz",
                   "--max-steps", "2", "--threads", "1"]), 2)
    result = hostile(["rnn-train", "--task", "classify", "{t}/more.jsonl", "--resume", "{w}/clf.npz", "-o", "{t}/m.npz",
                      "--max-steps", "2", "--threads", "1"])
    assert re.search(re.escape(str(tmp_path / "more.jsonl")) + r":2: cannot --resume .*clf\.npz on this data: the "
                     r"label 'nope' is not one of the model's \d+ \(", result.stderr), result.stderr
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("kind,key,value,pattern", [
    ("lm", "layers", 2, r"asks for arrays the file does not hold: rnn\.1\.W"),              # a random layer, exit 0
    ("lm", "layers", 2 ** 31, r"layers is 2147483648, more than the file's \d+ arrays"),     # without end
    ("forecaster", "layers", 2, r"asks for arrays the file does not hold: m0\.rnn\.1\.W"),  # a random layer, exit 0
    ("forecaster", "layers", 2 ** 31, r"ensemble 1 and layers 2147483648 ask for more layers"),  # 16 GB and on
    ("forecaster", "ensemble", 2, r"asks for arrays the file does not hold: m1\.out\.W"),   # a random network
])
def test_network_size_beyond_the_file_arrays(hostile, world, tmp_path, kind, key, value, pattern):
    """The recurrent layers create the parameters they do not find, randomly: a language model or forecaster
    whose metadata was edited to more layers (or networks) than its file holds sampled and forecast through
    random layers with exit 0, and 2**31 layers took memory until the machine ran out."""
    _tamper(world / KINDS[kind], tmp_path / "m.npz", _set(["config", key], value))
    args, stdin = USE[kind]
    check(hostile([a.replace("M", str(tmp_path / "m.npz")) for a in args], stdin), 1,
          re.escape(str(tmp_path / "m.npz")) + r": corrupt .*" + pattern)


# --- found by hand (session 25): each case failed on the code before its fix -----------------------------

def _text_vectors_with_a_cut_character() -> bytes:
    """word2vec text whose 4,096th byte after the header is the first byte of a three-byte character."""
    lines = [f"w{i} 0.25 -1.5 3\n" for i in range(600)]
    body = "".join(lines).encode()
    start = body[:4095].rfind(b"\n") + 1
    done = body[:4095].count(b"\n")
    body = body[:start] + ("x" * (4095 - start) + "日本 0.5 1.5 -2\n").encode() + "".join(lines[done + 1:]).encode()
    assert body[4095:4098] == "日".encode()
    return b"%d 3\n" % body.count(b"\n") + body


@pytest.mark.parametrize("words", [["a\x0bb", "c\x0cd"], ["a\x1cb", "c\x1fd"], ["e\x1de", "f\x1ef"]])
def test_vectors_text_with_control_characters_in_words(hostile, tmp_path, words):
    """A word2vec text file whose words hold a vertical tab, a form feed or U+001C-U+001F (str.split's spaces) was
    taken for a binary one: "truncated binary vectors file: the header says 2 words, found 1", exit 1."""
    (tmp_path / "v.txt").write_bytes(f"2 3\n{words[0]} 1 2 3\n{words[1]} 4 5 6\n".encode())
    check(hostile(["import", "{t}/v.txt", "-o", "{t}/v.npz"]), 0)
    result = hostile(["export", "{t}/v.npz"])
    check(result, 0)
    assert result.stdout == f"2 3\n{words[0]} 1 2 3\n{words[1]} 4 5 6\n"


def test_vectors_text_with_a_character_cut_at_the_sample_end(hostile, tmp_path):
    """The first 4,096 bytes after the header decide text or binary; a character cut by that boundary made the
    sample invalid UTF-8, so a text file was read as binary: its lines as floats' bytes (a wrong model with exit 0,
    or "truncated binary vectors file")."""
    from rnntools.w2v.formats import read_word2vec

    (tmp_path / "v.txt").write_bytes(_text_vectors_with_a_cut_character())
    tokens, vectors, found = read_word2vec(str(tmp_path / "v.txt"))
    assert found == "word2vec-text" and len(tokens) == 600
    assert tokens[0] == "w0" and vectors[0].tolist() == [0.25, -1.5, 3.0]
    check(hostile(["import", "{t}/v.txt", "-o", "{t}/v.npz"]), 0)


def test_vectors_word_with_a_tab_reads_back_as_one_word(hostile, tmp_path):
    """export writes a word holding a tab as it is (word2vec's text format separates fields by spaces); import
    read it back as two fields joined by a space ("a b"), another word."""
    (tmp_path / "v.txt").write_bytes(b"2 3\na\tb 1 2 3\nc 4 5 6\n")
    check(hostile(["import", "{t}/v.txt", "-o", "{t}/v.npz"]), 0)
    result = hostile(["export", "{t}/v.npz"])
    check(result, 0)
    assert result.stdout == "2 3\na\tb 1 2 3\nc 4 5 6\n"


@pytest.mark.parametrize("data,status", [(b"abcde\n", 0), (b"ab\r\nabcde\r\n", 0), (b"abcde", 0), (b"abcdef\n", 1),
                                         (b"ab\r\nabcdef\r\n", 1), (b"abcdef", 1)])
@pytest.mark.parametrize("command", [["vocab"], ["phrases"]])
def test_a_line_of_exactly_max_line_bytes_is_read(hostile, tmp_path, monkeypatch, data, status, command):
    """`--max-line-bytes N` bounds a line's bytes, but a line of exactly N bytes was refused ("line longer than N
    bytes") when a newline ended it, and read when it was the last line without one; a CRLF file's lines met the
    bound a byte earlier than the same lines with LF."""
    from rnntools.io import inputs

    monkeypatch.setattr(inputs, "MAX_LINE_BYTES", inputs.MAX_LINE_BYTES)  # the library tests after this one read
    (tmp_path / "t.txt").write_bytes(data)
    result = hostile([*command, "--max-line-bytes", "5", "{t}/t.txt"])
    check(result, status, r"t\.txt:\d: line longer than 5 bytes" if status else None)


def test_csv_with_empty_trailing_columns_from_a_spreadsheet(hostile, world, tmp_path):
    """A spreadsheet's CSV export ends every line with commas for empty cells beyond the data (`month,passengers,,`):
    two unnamed columns were "column '' appears twice in the header; rename one", exit 1, though one was read."""
    lines = (world / "air.csv").read_text().splitlines()
    (tmp_path / "a.csv").write_text("".join(line + ",,\n" for line in lines))
    plain = hostile(["predict", "{w}/fc.npz", "{w}/air.csv"])
    result = hostile(["predict", "{w}/fc.npz", "{t}/a.csv"])
    check(result, 0)
    assert result.stdout == plain.stdout
    # a value under no name is still an error naming its line
    lines[4] += ",,7"
    (tmp_path / "b.csv").write_text("".join(line + ("\n" if line.endswith(",7") else ",,\n") for line in lines))
    check(hostile(["predict", "{w}/fc.npz", "{t}/b.csv"]), 1, r"b\.csv:5: field 4 holds '7' but its column has no name")


# --- found by hand (session 26): each case failed on the code before its fix -----------------------------

@pytest.mark.parametrize("compress", ["gzip", "bz2", "lzma"])
@pytest.mark.parametrize("command", [["vocab"], ["phrases"]])
def test_truncated_compressed_input_names_the_line_where_the_data_ends(hostile, tmp_path, compress, command):
    """A truncated .gz/.bz2/.xz named the first line of the 1 MiB block being read (line 107,636 where the data
    ended at line 119,979): the decompressor's read(n) dropped what it had decoded of that block."""
    import bz2
    import gzip
    import lzma

    module = {"gzip": gzip, "bz2": bz2, "lzma": lzma}[compress]
    text = b"".join(b"line %d of the text with a few words\n" % i for i in range(120_000))
    data = module.compress(text)
    cut = data[: len(data) * 6 // 10]
    decoder = {"gzip": lambda: __import__("zlib").decompressobj(31), "bz2": bz2.BZ2Decompressor,
               "lzma": lzma.LZMADecompressor}[compress]()
    line = decoder.decompress(cut).count(b"\n") + 1   # the line the data ends in
    name = "t.txt." + {"gzip": "gz", "bz2": "bz2", "lzma": "xz"}[compress]
    (tmp_path / name).write_bytes(cut)
    result = hostile([*command, "{t}/" + name])
    check(result, 1, rf"{re.escape(name)}:{line}: cannot read \(the compressed data ends here")


@pytest.mark.parametrize("source,name,fmt,pattern", [
    # a GloVe-style text word with a space, exported as binary: read back as 'new' and garbage vectors, exit 0
    (b"2 3\nnew york 1 2 3\nb 4 5 6\n", "v.txt", "word2vec-binary",
     r"v\.npz: word 1 \('new york'\) holds a space, which word2vec's binary format cannot hold.*word2vec-text"),
    # a binary word with a line break, exported as text: a file no reader reads back ("truncated binary ..."), exit 0
    (b"2 2\na\nb " + np.array([1, 2], "<f4").tobytes() + b"\nc " + np.array([3, 4], "<f4").tobytes() + b"\n",
     "v.bin", "word2vec-text", r"v\.npz: word 1 \('a\\nb'\) holds a line break, which word2vec's text format cannot "
                               r"hold .*; leave the word out with --words"),
])
def test_export_refuses_a_word_its_format_cannot_hold(hostile, tmp_path, source, name, fmt, pattern):
    (tmp_path / name).write_bytes(source)
    check(hostile(["import", "{t}/" + name, "-o", "{t}/v.npz"]), 0)
    check(hostile(["export", "{t}/v.npz", "--format", fmt, "-o", "{t}/out"]), 1, pattern)
    assert not (tmp_path / "out").exists()
    other = {"word2vec-binary": "word2vec-text", "word2vec-text": "word2vec-binary"}[fmt]
    if name == "v.txt":  # the other format holds it, and reads back the same
        check(hostile(["export", "{t}/v.npz", "--format", other, "-o", "{t}/back.txt"]), 0)
        check(hostile(["import", "{t}/back.txt", "-o", "{t}/back.npz"]), 0)
        check(hostile(["export", "{t}/back.npz"]), 0)
        assert hostile(["export", "{t}/back.npz"]).stdout == hostile(["export", "{t}/v.npz"]).stdout


def test_w2v_resume_with_another_structure_names_the_file_and_no_python_none(hostile, tmp_path):
    """`w2v-train --resume w.npz --max-vocab 5` of a model trained without a limit: "--max-vocab 5 differs from the
    saved model's None" (Python's word, and no file named, where rnn-train names the model)."""
    check(hostile(["w2v-train", os.path.join(SAMPLES, "corpus.txt"), "--min-count", "1", "--epochs", "1", "--dim", "8",
                   "--threads", "1", "--resumable", "-o", "{t}/w.npz"]), 0)
    result = hostile(["w2v-train", os.path.join(SAMPLES, "corpus.txt"), "--resume", "{t}/w.npz", "--max-vocab", "5",
                      "-o", "{t}/more.npz"])
    check(result, 2, r"w\.npz: --max-vocab 5 differs from the saved model's none \(structural options")


# --- found in session 27: each case failed on the code before its fix ---------------------------------------------

@pytest.mark.parametrize("args", [
    ["rnn-train", "--task", "lm", os.path.join(SAMPLES, "book.txt"), "--hidden", "8", "--max-steps", "3", "--threads",
     "1"],
    ["w2v-train", os.path.join(SAMPLES, "corpus.txt"), "--min-count", "1", "--epochs", "1", "--dim", "4", "--threads",
     "1"],
], ids=["rnn-train", "w2v-train"])
def test_a_training_log_named_dash_is_standard_output(hostile, tmp_path, args):
    """`--log -` wrote a file named "-" in the current folder (while the output checks took it for standard output,
    refusing `-o - --log -`), and standard output stayed empty."""
    result = hostile([*args, "-o", "{t}/m.npz", "--log", "-"])
    check(result, 0)
    events = [json.loads(line)["event"] for line in result.stdout.splitlines()]
    assert events and events[0] in ("start", "vocab") and "save" in events or args[0] == "w2v-train", events
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    check(hostile([*args, "-o", "-", "--log", "-"]), 2, "the same file is given for two outputs")


# --- the `session29` probe group's findings: each case failed on the code before its fix ---------------------------

@pytest.mark.parametrize("args,names", [
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m.npz", *TINY, "--resume", ""], "--resume"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m.npz", *TINY, "--vocab", ""], "--vocab"),
    (["rnn-train", "--task", "classify", "{w}/g.jsonl", "-o", "{t}/m.npz", *TINY, "--embeddings", ""], "--embeddings"),
    (["w2v-train", "{w}/corpus.txt", "-o", "{t}/m.npz", "--min-count", "1", "--epochs", "1", "--vocab", ""], "--vocab"),
    (["w2v-train", "{w}/corpus.txt", "-o", "{t}/m.npz", "--min-count", "1", "--epochs", "1", "--resume", ""],
     "--resume"),
    (["evaluate", "{w}/w.npz", "--analogies", ""], "--analogies"),
    (["bow", "--vocab", "", "{w}/docs.txt"], "--vocab"),
    (["plot", "forecast", "-", "--history", ""], "--history"),
    (["vocab", "{w}/docs.txt", ""], "input file name"),
    (["predict", "", "{w}/docs.txt"], "input file name"),
], ids=["rnn-resume", "rnn-vocab", "embeddings", "w2v-vocab", "w2v-resume", "analogies", "bow-vocab", "history",
        "input", "model"])
def test_an_empty_file_name_is_a_usage_error_naming_its_option(hostile, tmp_path, args, names):
    """An unset shell variable (`--resume "$CKPT"`): an empty --resume, --vocab or --embeddings was read as "not
    given" (trained from scratch, exit 0); an empty --analogies said to give --analogies; an empty input file was
    `: no such file`, naming nothing."""
    result = hostile(args)
    check(result, 2, re.escape(names) + ".* is empty|" + re.escape(names) + r" \(")
    assert not os.path.exists(tmp_path / "m.npz")


@pytest.mark.parametrize("args,names", [
    (["vocab", "{w}/docs.txt", "-o", "{t}/a.jsonl", "-o", "{t}/b.jsonl"], "-o/--output is given twice"),
    (["vocab", "{w}/docs.txt", "-o", "{t}/a.jsonl", "--output={t}/b.jsonl"], "-o/--output is given twice"),
    (["phrases", "{w}/corpus.txt", "--save-table", "{t}/a", "--save-table", "{t}/b"], "--save-table is given twice"),
    (["rnn-train", "--task", "lm", "{w}/book.txt", "-o", "{t}/m.npz", *TINY, "--log", "{t}/a", "--log", "{t}/b"],
     "--log is given twice"),
    (["predict", "{w}/fc.npz", "{w}/air.csv", "--intervals", "80", "--intervals", "95"], "--intervals 80,95"),
    (["rnn-train", "--task", "forecast", "{w}/air.csv", "-o", "{t}/m.npz", *TINY, "--covariates", "a",
      "--covariates", "b"], "--covariates a,b"),
], ids=["output", "output-equals", "save-table", "log", "intervals", "covariates"])
def test_an_output_or_a_list_option_given_twice_is_a_usage_error(hostile, tmp_path, args, names):
    """click kept the last value: `-o a -o b` never wrote a (exit 0), `--intervals 80 --intervals 95` wrote the 95%
    interval alone. Other options given twice take the last value (aliases and wrappers rely on it)."""
    check(hostile(args), 2, re.escape(names))
    assert os.listdir(tmp_path) == []


def test_an_option_given_twice_takes_its_last_value_and_help_wins(hostile, tmp_path):
    result = hostile(["sample", "{w}/lm.npz", "--length", "3", "--length", "5", "--seed", "1", "--seed", "2"])
    check(result, 0)
    plain = hostile(["sample", "{w}/lm.npz", "--length", "5", "--seed", "2"])
    assert result.stdout == plain.stdout
    check(hostile(["vocab", "-o", "a", "-o", "b", "--help"]), 0)


@pytest.mark.parametrize("args,command", [
    (["vocab", "{w}/docs.txt", "-o"], "rnntools vocab"), (["predict", "{w}/fc.npz", "--horizon"], "rnntools predict"),
    (["plot", "log", "--width"], "rnntools plot log")])
def test_an_option_without_its_value_names_the_command(hostile, args, command):
    """click's parser raised "Option '-o' requires an argument" without its context: the message said `rnntools:`
    and pointed at `rnntools --help`."""
    result = hostile(args)
    check(result, 2, f"^{command}: error: Option '[-a-z]+' requires an argument \\(see '{command} --help'\\)")
