"""The command-line contract: help, version, errors and exit statuses, pipes; `vocab` and `bow`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

DOCS = "We like TensorLayer, do we?\nthe cat sat on the mat\n\nthe dog likes the cat\n"


def rnntools(*args, input=None, check=False):
    """Run ``python -m rnntools`` as a real process."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("RNNTOOLS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "rnntools", *map(str, args)], input=input, capture_output=True,
                          text=True, env=env, cwd=ROOT, check=check)


def test_help_lists_commands_without_importing_numba():
    code = ("import sys; from rnntools.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numba', 'numpy', 'rich', 'scipy') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert "HEAVY []" in result.stdout
    for name in ("vocab", "bow"):
        assert name in result.stdout


def test_every_command_has_help_with_an_example(run_cli):
    import click

    from rnntools.cli import cli

    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        result = run_cli([name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert f"rnntools {name}" in result.stdout.replace("rnntools rnn-train", "rnntools rnn-train"), name


def test_version(run_cli):
    from rnntools import __version__

    result = run_cli(["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_unknown_command_is_a_usage_error(run_cli):
    result = run_cli(["frobnicate"])
    assert result.exit_code == 2


def test_vocab_to_bow_in_process(run_cli, tmp_path):
    docs = tmp_path / "docs.txt"
    docs.write_text(DOCS)
    result = run_cli(["vocab", docs])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    header, records = lines[0], lines[1:]
    assert header["format"] == "rnntools-vocab" and header["documents"] == 4 and header["level"] == "word"
    assert [r["token"] for r in records[:5]] == ["<pad>", "<unk>", "<s>", "</s>", "the"]
    assert [r["id"] for r in records] == list(range(len(records)))
    vocab = tmp_path / "vocab.jsonl"
    vocab.write_text(result.stdout)
    result = run_cli(["bow", "--vocab", vocab, "--mode", "counts"], input=DOCS)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4 and rows[2] == {"size": len(records), "indices": [], "values": []}
    ids = {r["token"]: r["id"] for r in records}
    assert dict(zip(rows[0]["indices"], rows[0]["values"])) == {ids["we"]: 2, ids["like"]: 1,
                                                                 ids["tensorlayer"]: 1, ids["do"]: 1}


def test_bow_field_keeps_other_fields(run_cli, tmp_path):
    vocab = tmp_path / "vocab.jsonl"
    vocab.write_text(run_cli(["vocab", "-"], input=DOCS).stdout)
    records = '{"id": 7, "text": "the cat", "extra": [1]}\n{"id": 8, "text": "zebra"}\n'
    result = run_cli(["bow", "--vocab", vocab, "--mode", "ids", "--text-field", "text"], input=records)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["id"] == 7 and out[0]["extra"] == [1] and out[0]["text"] == "the cat"
    assert list(out[0]) == ["id", "text", "extra", "ids"]
    assert out[1]["ids"] == [1]
    assert "1 token not in the vocabulary (mapped to <unk>)" in result.stderr


def test_bow_npz_is_a_scipy_csr_matrix(run_cli, tmp_path):
    sparse = pytest.importorskip("scipy.sparse")
    docs = tmp_path / "docs.txt"
    docs.write_text(DOCS)
    vocab = tmp_path / "vocab.jsonl"
    vocab.write_text(run_cli(["vocab", docs]).stdout)
    out = tmp_path / "bow.npz"
    result = run_cli(["bow", "--vocab", vocab, "--mode", "counts", "--format", "npz", "-o", out, docs])
    assert result.exit_code == 0, result.output
    matrix = sparse.load_npz(out)
    assert matrix.shape[0] == 4 and matrix[1].sum() == 6 and matrix[2].sum() == 0
    jsonl = run_cli(["bow", "--vocab", vocab, "--mode", "counts", docs]).stdout.splitlines()
    for row, line in zip(matrix.toarray(), jsonl):
        record = json.loads(line)
        expected = np.zeros(matrix.shape[1])
        expected[record["indices"]] = record["values"]
        np.testing.assert_array_equal(row, expected)


def test_vocab_char_level_and_limits(run_cli):
    result = run_cli(["vocab", "--level", "char", "-"], input="abba\nAb\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["level"] == "char" and lines[0]["lowercase"] is False
    assert [r["token"] for r in lines[5:]] == ["b", "\n", "a", "A"]
    result = run_cli(["vocab", "--min-count", "2", "--max-size", "1", "--no-specials", "-"], input="a a b b b c\n")
    assert [json.loads(line)["token"] for line in result.stdout.splitlines()[1:]] == ["b"]


def test_vocab_merge(run_cli, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(run_cli(["vocab", "-"], input="x y\ny\n").stdout)
    b.write_text(run_cli(["vocab", "-"], input="y z\n").stdout)
    merged = run_cli(["vocab", "--merge", a, b]).stdout
    whole = run_cli(["vocab", "-"], input="x y\ny\ny z\n").stdout
    assert merged == whole
    c = tmp_path / "c.jsonl"
    c.write_text(run_cli(["vocab", "--level", "char", "-"], input="y z\n").stdout)
    result = run_cli(["vocab", "--merge", a, c])
    assert result.exit_code == 1 and result.stderr == (
        f"rnntools vocab: error: cannot merge vocabularies counted differently: {a} is word-level, lowercased, "
        f"{c} is char-level, case kept\n")
    result = run_cli(["vocab", "--merge", a, "--text-field", "t"])   # named the hidden old spelling --field
    assert result.exit_code == 2 and "--text-field does not apply" in result.stderr


@pytest.mark.parametrize("level", ["word", "char"])
def test_vocab_keep_case_and_lowercase_together_is_a_usage_error(run_cli, level):
    # one of them was ignored, silently: --lowercase for words, --keep-case for characters
    result = run_cli(["vocab", "--level", level, "--keep-case", "--lowercase", "-"], input="A a\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--keep-case and --lowercase contradict each other" in result.stderr


@pytest.mark.parametrize("args,stdin,message", [
    (["vocab", "missing.txt"], None, "rnntools vocab: error: missing.txt: no such file"),
    (["vocab", "-"], "", "no words found in <stdin> (is it empty, or the wrong file?)"),
    (["vocab", "-"], "...,;;\n", "no words found in <stdin>"),
    (["vocab", "--min-count", "5", "-"], "a b a\n", "every word of <stdin> was dropped by --min-count 5"),
    (["vocab", "--text-field", "text", "-"], '{"text": "a"}\n[1]\n', "<stdin>:2: expected a JSON object, got a list"),
    (["vocab", "--text-field", "text", "-"], '{"body": "a"}\n', "<stdin>:1: record has no field 'text'"),
    (["vocab", "--merge", "-"], '{"id": 0}\n', "<stdin>:1: expected a vocabulary record"),
    (["bow", "--vocab", "nope.jsonl", "-"], "a\n", "nope.jsonl: no such file"),
    (["bow", "--vocab", "VOCAB", "--format", "npz", "-"], "a\n", "--format npz needs an output file"),
    (["bow", "--vocab", "VOCAB", "--text-field", "text", "-"], '{"text": 1}\n', "<stdin>:1: field 'text' should be a string"),
    (["bow", "--vocab", "VOCAB", "--text-field", "text", "-"], '{"text": "a"\n', "<stdin>:1: invalid JSON"),
    (["bow", "--vocab", "BADVOCAB", "-"], "a\n", "BADVOCAB: empty vocabulary file"),
])
def test_bad_inputs_give_one_line_errors(run_cli, tmp_path, args, stdin, message):
    vocab = tmp_path / "v.jsonl"
    vocab.write_text(run_cli(["vocab", "-"], input="a b\n").stdout)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("")
    os.chdir(tmp_path)
    args = [str(vocab) if a == "VOCAB" else str(bad) if a == "BADVOCAB" else a for a in args]
    message = message.replace("BADVOCAB", str(bad))
    result = run_cli(args, input=stdin)
    assert result.exit_code in (1, 2), result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""


def test_invalid_utf8_names_byte_and_can_be_replaced(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\u00e9 ok\n".encode("latin-1"))
    result = rnntools("vocab", bad)
    assert result.returncode == 1
    assert f"{bad}:1: invalid UTF-8 at byte 3" in result.stderr and "Traceback" not in result.stderr
    result = rnntools("vocab", "--encoding-errors", "replace", bad)
    assert result.returncode == 0 and "caf" in result.stdout


def test_debug_shows_the_traceback():
    result = rnntools("--debug", "vocab", "missing.txt")
    assert result.returncode == 1 and "Traceback" in result.stderr


@pytest.mark.parametrize("value,debug", [("0", False), ("false", False), ("no", False), ("off", False),
                                         (" ", False), ("1", True), ("yes", True), ("TRUE", True)])
def test_debug_variable_reads_yes_and_no(run_cli, monkeypatch, value, debug):
    monkeypatch.setenv("RNNTOOLS_DEBUG", value)   # "false" and "no" showed tracebacks
    result = run_cli(["vocab", "missing.txt"])
    assert result.exit_code == 1
    if debug:
        assert not isinstance(result.exception, SystemExit)   # raised to the caller: the traceback
    else:
        assert isinstance(result.exception, SystemExit)
        assert result.stderr == "rnntools vocab: error: missing.txt: no such file\n"


def test_debug_variable_of_another_value_is_a_usage_error_naming_it(run_cli, monkeypatch):
    monkeypatch.setenv("RNNTOOLS_DEBUG", "abc")   # click named --debug
    result = run_cli(["vocab", "missing.txt"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("rnntools vocab: error: RNNTOOLS_DEBUG='abc' is not a yes or no")
    assert len(result.stderr.splitlines()) == 1


def test_real_pipe_vocab_into_bow(tmp_path):
    docs = tmp_path / "docs.txt"
    docs.write_text(DOCS)
    env = {**os.environ, "PYTHONPATH": ROOT}
    py = f"'{sys.executable}' -m rnntools"
    cmd = f"{py} vocab {docs} > {tmp_path}/v.jsonl && {py} bow --vocab {tmp_path}/v.jsonl --mode tfidf < {docs}"
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    assert abs(sum(v * v for v in rows[0]["values"]) - 1) < 1e-9


def test_closed_pipe_ends_quietly(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("".join(f"word{i} other{i % 7}\n" for i in range(50000)))
    env = {**os.environ, "PYTHONPATH": ROOT}
    cmd = f"set -o pipefail; '{sys.executable}' -m rnntools vocab {big} | head -3"
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    assert len(result.stdout.splitlines()) == 3
    assert result.stderr == "" and result.returncode == 0


def test_gzip_input_by_magic_on_stdin(tmp_path):
    import gzip

    data = gzip.compress(b"alpha beta beta\n")
    proc = subprocess.run([sys.executable, "-m", "rnntools", "vocab", "-"], input=data, capture_output=True,
                          env={**os.environ, "PYTHONPATH": ROOT}, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    tokens = [json.loads(line)["token"] for line in proc.stdout.decode().splitlines()[1:]]
    assert tokens[4:] == ["beta", "alpha"]


@pytest.mark.parametrize("attribute", ["TRAIN_OPTIONS", "PREDICT_OPTIONS", "EVALUATE_OPTIONS"])
def test_task_options_with_the_same_name_are_the_same_option(attribute):
    from rnntools.cli.tasks import KINDS, TASKS, available

    seen = {}
    for name, module in {**available(TASKS), **available(KINDS)}.items():
        for decorator in getattr(module, attribute, []):
            param = decorator(lambda: None).__click_params__[-1]
            signature = (tuple(param.opts), repr(param.type), param.default, param.is_flag if hasattr(param, "is_flag")
                         else None, param.multiple)
            if param.name in seen:
                assert seen[param.name][1] == signature, (
                    f"{attribute}: {param.name} differs between {seen[param.name][0]} and {name}")
            else:
                seen[param.name] = (name, signature)


def test_option_of_another_task_is_a_usage_error(run_cli, tmp_path):
    from rnntools.cli.tasks import TASKS, available

    modules = available(TASKS)
    if not {"lm", "forecast"} <= set(modules):
        pytest.skip("needs the lm and forecast tasks")
    result = run_cli(["rnn-train", "--task", "lm", "--lookback", "3", "-o", tmp_path / "m.npz", "-"], input="abc\n")
    assert result.exit_code == 2
    assert "--lookback does not apply to --task lm" in result.stderr


def test_commands_without_scheduler_import_only_the_address_check():
    """`scheduler_address` (all a command without --scheduler asks) loads neither the client nor the
    partition code; every public name still resolves from the package."""
    import subprocess
    import sys

    probe = ("import sys; from rnntools.distributed import scheduler_address; "
             "print(sorted(m for m in sys.modules if m.startswith('rnntools.distributed')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['rnntools.distributed', 'rnntools.distributed.cluster']"
    import rnntools.distributed as package

    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError):
        package.no_such_name
