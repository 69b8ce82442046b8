"""The streaming readers, the JSONL writer and the model-file layer."""

import bz2
import gzip
import io
import json
import lzma
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntools.errors import InputError, ModelFileError
from rnntools.io import (
    JsonlWriter,
    iter_csv,
    iter_jsonl,
    iter_lines,
    load_model,
    loads,
    read_model_meta,
    read_text_field,
    save_model,
)


def write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("suffix,compress", [("", lambda b: b), (".gz", gzip.compress), (".bz2", bz2.compress),
                                             (".xz", lzma.compress)])
def test_iter_lines_reads_compressed_files(tmp_path, suffix, compress):
    path = write(tmp_path / f"t.txt{suffix}", compress("héllo\r\nworld\n\nlast".encode()))
    assert list(iter_lines(path)) == [(1, "héllo"), (2, "world"), (3, ""), (4, "last")]


def test_iter_lines_strips_a_byte_order_mark(tmp_path):
    path = write(tmp_path / "bom.txt", b"\xef\xbb\xbfone\ntwo\n")
    assert [t for _, t in iter_lines(path)] == ["one", "two"]


def test_invalid_utf8_names_file_line_and_byte(tmp_path):
    from rnntools.io.inputs import set_option_hints

    path = write(tmp_path / "bad.txt", b"good\nalso good\nbad \xff here\n")
    for offered in (True, False):  # the hint names --encoding-errors only where the command has it
        set_option_hints(encoding_errors=offered)
        with pytest.raises(InputError) as err:
            list(iter_lines(path))
        message = str(err.value)
        assert message.startswith(f"{path}:3: invalid UTF-8 at byte 19")
        assert ("--encoding-errors replace" in message) == offered
    set_option_hints(encoding_errors=True)


def test_invalid_utf8_can_be_replaced(tmp_path):
    path = write(tmp_path / "bad.txt", b"bad \xff here\n")
    assert list(iter_lines(path, errors="replace")) == [(1, "bad \ufffd here")]


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(iter_lines(str(tmp_path / "nope.txt")))


def test_truncated_gzip_is_an_input_error(tmp_path):
    data = gzip.compress(b"x" * 10000)
    path = write(tmp_path / "t.gz", data[: len(data) // 2])
    with pytest.raises(InputError, match="cannot read"):
        list(iter_lines(path))


def test_many_lines_cross_chunk_boundaries(tmp_path):
    lines = [f"line {i} " + "x" * (i % 50) for i in range(60000)]
    path = write(tmp_path / "big.txt", ("\n".join(lines) + "\n").encode())
    got = list(iter_lines(path))
    assert len(got) == len(lines)
    assert got[-1] == (60000, lines[-1]) and got[12345] == (12346, lines[12345])


@pytest.mark.parametrize("text,message", [
    ('{"a": 1}\n[1, 2]\n', ":2: expected a JSON object, got a list"),
    ('{"a": 1}\n\n{"a": \n', ":3: invalid JSON"),
    ('"text"\n', ":1: expected a JSON object, got a string"),
])
def test_bad_jsonl_names_the_line(tmp_path, text, message):
    path = write(tmp_path / "d.jsonl", text.encode())
    with pytest.raises(InputError) as err:
        list(iter_jsonl(path))
    assert str(err.value).startswith(path + message)


@pytest.mark.parametrize("text,number", [
    ('{"v": 1e999}', "1e999"),
    ('{"v": [1.5, -2e400, 3]}', "-2e400"),
    ('{"a": {"b": [[1], ["x", 1E+309]]}}', "1E+309"),
    ('{"v": [1, 2], "w": 1' + "0" * 400 + '.5}', "1000000000"),
])
def test_a_float_that_overflows_is_an_error_naming_the_number_wherever_it_is(tmp_path, text, number):
    path = write(tmp_path / "d.jsonl", ('{"ok": [1.0]}\n' + text + "\n").encode())
    with pytest.raises(InputError) as err:
        list(iter_jsonl(path))
    assert str(err.value).startswith(f"{path}:2: invalid JSON (the number {number}")
    assert "too large for a float" in str(err.value)


@pytest.mark.parametrize("text", ["NaN", "-Infinity", "Infinity"])
def test_nan_and_infinity_literals_are_errors(text):
    with pytest.raises(ValueError, match=f"{text.lstrip('-')} is not valid JSON"):
        loads('{"v": [1, ' + text + "]}")


def test_finite_values_whose_sum_overflows_and_huge_integers_are_kept():
    # the finiteness check sums lists in one pass; a sum that overflows must not reject finite values
    assert loads("[1e308, 1e308, -1e308]") == [1e308, 1e308, -1e308]
    big = 10 ** 400
    assert loads(f'{{"v": [{big}, 1.5, "s", null, true]}}') == {"v": [big, 1.5, "s", None, True]}
    with pytest.raises(ValueError, match="BOM"):
        loads("\ufeff[1]")


def test_jsonl_skips_blank_lines(tmp_path):
    path = write(tmp_path / "d.jsonl", b'{"a": 1}\n\n  \n{"a": 2}\n')
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (4, {"a": 2})]


def test_read_text_field_errors():
    with pytest.raises(InputError, match=r"f.jsonl:3: record has no field 'text'"):
        read_text_field({"body": "x"}, "text", "f.jsonl", 3)
    with pytest.raises(InputError, match="should be a string, got a number"):
        read_text_field({"text": 3}, "text", "f.jsonl", 3)


def test_iter_csv(tmp_path):
    path = write(tmp_path / "s.csv", b"date,value\n2020-01,1.5\n\n2020-02,\"2\"\n")
    assert list(iter_csv(path)) == [(2, {"date": "2020-01", "value": "1.5"}), (4, {"date": "2020-02", "value": "2"})]
    bad = write(tmp_path / "b.csv", b"date,value\n2020-01,1,3\n")
    with pytest.raises(InputError, match=r"b.csv:2: expected 2 fields"):
        list(iter_csv(bad))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(), lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.text(), json_values, max_size=5), max_size=8))
def test_jsonl_round_trip(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("rt") / "r.jsonl"
    buffer = io.StringIO()
    writer = JsonlWriter(buffer)
    for record in records:
        writer.write(record)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert [r for _, r in iter_jsonl(str(path))] == records


# --- model files ---------------------------------------------------------------------------------------

def test_model_round_trip(tmp_path):
    path = str(tmp_path / "m.npz")
    arrays = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "ids": np.array([1, 2], np.int32)}
    save_model(path, "lm", arrays, {"hidden": 4, "tokens": ["a", "é"]})
    model = load_model(path, "lm")
    assert model.kind == "lm" and model.meta["hidden"] == 4 and model.meta["tokens"] == ["a", "é"]
    assert model.meta["format"] == "rnntools" and model.meta["format_version"] == 1
    np.testing.assert_array_equal(model.arrays["w"], arrays["w"])
    assert model.arrays["ids"].dtype == np.int32
    assert read_model_meta(path)["kind"] == "lm"
    assert not os.path.exists(path + ".tmp")
    # plain numpy reads it too, without pickle
    with np.load(path, allow_pickle=False) as npz:
        assert json.loads(str(npz["meta"]))["kind"] == "lm"


def test_model_load_reads_only_the_arrays_asked_for(tmp_path):
    """``arrays`` as a function of (meta, name): the others are neither read nor checked (a corrupt one
    left out loads); one kept is checked as always."""
    path = str(tmp_path / "m.npz")
    save_model(path, "lm", {"w": np.ones(3, np.float32), "state.m": np.zeros(3, np.float32)}, {"v": 1})
    with np.load(path) as npz:
        entries = {name: npz[name] for name in npz.files}
    entries["state.m"] = np.array([np.nan, 0, 0], np.float32)
    np.savez(path, **entries)
    seen = []

    def keep(meta, name):
        seen.append((meta["kind"], name))
        return not name.startswith("state.")

    model = load_model(path, arrays=keep)
    assert list(model.arrays) == ["w"] and sorted(seen) == [("lm", "state.m"), ("lm", "w")]
    with pytest.raises(ModelFileError, match="'state.m' holds NaN"):
        load_model(path)
    with pytest.raises(ModelFileError, match="'state.m' holds NaN"):
        load_model(path, arrays=lambda meta, name: True)


def test_save_is_atomic_when_writing_fails(tmp_path):
    path = str(tmp_path / "m.npz")
    save_model(path, "lm", {"w": np.zeros(3)}, {"v": 1})
    with pytest.raises(TypeError):
        save_model(path, "lm", {"w": np.ones(3)}, {"v": object()})
    assert load_model(path).meta["v"] == 1
    assert os.listdir(tmp_path) == ["m.npz"]


def test_wrong_kind(tmp_path):
    path = str(tmp_path / "m.npz")
    save_model(path, "vectors", {"w": np.zeros(3)}, {})
    with pytest.raises(ModelFileError, match="is a 'vectors' model, expected 'lm' or 'classifier'"):
        load_model(path, ["lm", "classifier"])


def test_newer_format_version(tmp_path):
    path = str(tmp_path / "m.npz")
    meta = {"format": "rnntools", "format_version": 99, "kind": "lm", "arrays": {}}
    np.savez(path, meta=np.array(json.dumps(meta)))
    with pytest.raises(ModelFileError, match="format version 99 is newer"):
        load_model(path)


@pytest.mark.parametrize("content,message", [
    (b"", "not an rnntools model file"),
    (b"hello, not a model", "not an rnntools model file"),
])
def test_foreign_files(tmp_path, content, message):
    path = write(tmp_path / "x.npz", content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_truncated_model(tmp_path):
    path = str(tmp_path / "m.npz")
    save_model(path, "lm", {"w": np.random.default_rng(0).random((100, 100))}, {})
    data = open(path, "rb").read()
    cut = write(tmp_path / "cut.npz", data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cut.npz: "):
        load_model(cut)


def test_npz_of_another_program(tmp_path):
    path = str(tmp_path / "other.npz")
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ModelFileError, match="no 'meta' entry"):
        load_model(path)
    np.save(str(tmp_path / "plain.npy"), np.zeros(3))
    with pytest.raises(ModelFileError, match="plain .npy"):
        load_model(str(tmp_path / "plain.npy"))


def test_pickled_arrays_are_refused(tmp_path):
    path = str(tmp_path / "p.npz")
    meta = {"format": "rnntools", "format_version": 1, "kind": "lm",
            "arrays": {"o": {"shape": [1], "dtype": "|O"}}}
    np.savez(path, meta=np.array(json.dumps(meta)), o=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="array 'o' unreadable"):
        load_model(path)


def test_shape_mismatch_is_reported(tmp_path):
    path = str(tmp_path / "m.npz")
    meta = {"format": "rnntools", "format_version": 1, "kind": "lm",
            "arrays": {"w": {"shape": [2, 2], "dtype": "<f4"}}}
    np.savez(path, meta=np.array(json.dumps(meta)), w=np.zeros(3, np.float32))
    with pytest.raises(ModelFileError, match=r"array 'w' is <f4\[3\], metadata says <f4\[2, 2\]"):
        load_model(path)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.text(min_size=1).filter(lambda s: s != "meta" and "/" not in s and "\x00" not in s),
                       st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), max_size=20), max_size=4),
       st.dictionaries(st.text(), st.text() | st.integers(-1000, 1000), max_size=4))
def test_model_file_round_trip_property(tmp_path_factory, arrays, meta):
    path = str(tmp_path_factory.mktemp("m") / "m.npz")
    arrays = {k: np.array(v, dtype=np.float32) for k, v in arrays.items()}
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "kind", "arrays")}
    save_model(path, "vectors", arrays, meta)
    model = load_model(path, "vectors")
    assert set(model.arrays) == set(arrays)
    for k in arrays:
        np.testing.assert_array_equal(model.arrays[k], arrays[k])
    assert {k: model.meta[k] for k in meta} == meta


@pytest.mark.parametrize("kind", ["vectors", "lm", "classifier", "seq2seq", "forecaster"])
@pytest.mark.parametrize("value,what", [(np.array([True, False, True]), "booleans"),
                                        (np.array(["0.5", "-1", "2"]), "text")])
def test_model_arrays_of_booleans_or_text_are_corrupt(tmp_path, kind, value, what):
    """A parameter saved as booleans or text, its metadata edited to agree: the tasks' float32 conversion
    read it as weights of 0 and 1, or parsed the text, and predicted with exit 0."""
    path = str(tmp_path / "m.npz")
    save_model(path, kind, {"w": value}, {})
    with pytest.raises(ModelFileError, match=f"array 'w' holds {what}, where rnntools writes numbers"):
        load_model(path)
    save_model(path, "bow", {"format": np.array("csr")}, {})  # scipy's sparse layout names itself in text
    assert load_model(path).arrays["format"] == "csr"
