"""`rnn-train --task lm`, `sample`, `predict` and `evaluate` on language models, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnntools.io import save_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINES = ["It is a truth universally acknowledged.", "However little known the feelings may be."] * 8
TRAIN = ["--task", "lm", "--hidden", "24", "--embed-dim", "8", "--batch", "4", "--seq-len", "20",
         "--threads", "1", "--val-fraction", "0.1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from click.testing import CliRunner

    from rnntools.cli import main

    d = tmp_path_factory.mktemp("lmcli")
    text = d / "text.txt"
    text.write_text("".join(line + "\n" for line in LINES), encoding="utf-8")
    model = d / "lm.npz"
    log = d / "log.jsonl"

    class Main:
        name = "rnntools"

        def main(self, args=None, **kw):
            main(list(args))

    result = CliRunner().invoke(Main(), ["rnn-train", *TRAIN, "--epochs", "3", str(text), "-o", str(model),
                                         "--log", str(log)])
    assert result.exit_code == 0, result.stderr
    return {"dir": d, "text": str(text), "model": str(model), "log": str(log), "train": result}


def test_train_writes_model_and_log(trained):
    assert trained["train"].stdout == ""  # stdout is for data only
    events = [json.loads(line) for line in open(trained["log"])]
    evals = [e for e in events if e["event"] == "eval"]
    assert len(evals) == 3 and {"val_loss", "val_perplexity", "val_bpc"} <= set(evals[0])
    steps = [e for e in events if e["event"] == "step"]
    assert steps and {"loss", "lr", "chars_per_s", "epoch", "step"} <= set(steps[0])


def test_sample_is_reproducible_with_seed(run_cli, trained):
    args = ["sample", trained["model"], "--length", "60", "--prime", "It is", "--temperature", "0.8"]
    first = run_cli([*args, "--seed", "5"])
    again = run_cli([*args, "--seed", "5"])
    other = run_cli([*args, "--seed", "6"])
    assert first.exit_code == 0, first.stderr
    assert first.stdout == again.stdout != other.stdout
    assert first.stdout.startswith("It is") and first.stdout.endswith("\n")


def test_sample_count_until_jsonl(run_cli, trained):
    result = run_cli(["sample", trained["model"], "--count", "3", "--until", r"\n", "--length", "200",
                      "--top-k", "5"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["sample"] for r in records] == [0, 1, 2]
    for r in records:
        assert "\n" not in r["text"] and r["stopped"] in ("until", "length")
    # sample i does not depend on how many samples were asked for
    one = run_cli(["sample", trained["model"], "--count", "1", "--format", "jsonl", "--until", r"\n",
                   "--length", "200", "--top-k", "5"])
    assert json.loads(one.stdout)["text"] == records[0]["text"]


def test_sample_non_ascii_prime_and_unknown_until(run_cli, trained):
    result = run_cli(["sample", trained["model"], "--prime", "Naïve ✓", "--length", "5"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Naïve ✓")
    result = run_cli(["sample", trained["model"], "--until", "✓"])
    assert result.exit_code == 2 and "--until '✓' is not a token" in result.stderr


def test_sample_prompts_give_what_prime_gives(run_cli, trained):
    args = ["sample", trained["model"], "--length", "30", "--seed", "4", "--count", "2"]
    batch = run_cli([*args, "--prompts", "-"], input="It is\nHowever\n")
    assert batch.exit_code == 0, batch.stderr
    records = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [(r["line"], r["sample"], r["prime"]) for r in records] == [
        (1, 0, "It is"), (1, 1, "It is"), (2, 0, "However"), (2, 1, "However")]
    for prime in ("It is", "However"):
        alone = run_cli([*args, "--prime", prime, "--format", "jsonl"])
        assert [json.loads(line)["text"] for line in alone.stdout.splitlines()] == \
            [r["text"] for r in records if r["prime"] == prime]
    text = run_cli([*args, "--prompts", "-", "--format", "text"], input="It is\n")
    expected = ["It is" + r["text"] for r in records[:2]]
    assert text.stdout == "".join(t if t.endswith("\n") else t + "\n" for t in expected)
    both = run_cli([*args, "--prompts", "-", "--prime", "x"], input="a\n")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_predict_plain_and_jsonl_field(run_cli, trained):
    result = run_cli(["predict", trained["model"]], input="It is a truth.\nzzzz qqq\n")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["It is a truth.", "zzzz qqq"]
    assert rows[0]["bpc"] < rows[1]["bpc"]  # the familiar sentence is more likely
    assert rows[0]["tokens"] == len("It is a truth.") + 1
    records = '{"id": 7, "body": "It is a truth."}\n'
    result = run_cli(["predict", trained["model"], "--field", "body"], input=records)
    row = json.loads(result.stdout)
    assert row["id"] == 7 and row["body"] == "It is a truth." and row["bpc"] == pytest.approx(rows[0]["bpc"])
    result = run_cli(["predict", trained["model"], "--field", "text"], input=records)
    assert result.exit_code == 1 and "<stdin>:1: record has no field 'text'" in result.stderr


def test_evaluate_reports_bpc(run_cli, trained):
    result = run_cli(["evaluate", trained["model"], trained["text"]])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["characters"] == sum(len(line) + 1 for line in LINES)
    assert 0 < summary["bpc"] < 5


def test_bad_inputs(run_cli, trained, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    out = str(tmp_path / "m.npz")
    result = run_cli(["rnn-train", *TRAIN, str(empty), "-o", out])
    assert result.exit_code == 1 and "no text to learn from" in result.stderr
    result = run_cli(["rnn-train", *TRAIN, "--seq-len", "5000", trained["text"], "-o", out])
    assert result.exit_code == 1 and "too few for --seq-len 5000" in result.stderr
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(open(trained["model"], "rb").read()[:300])
    result = run_cli(["sample", str(corrupt)])
    assert result.exit_code == 1 and "rnntools sample: error:" in result.stderr
    vectors = str(tmp_path / "v.npz")
    save_model(vectors, "vectors", {"vectors": np.zeros((2, 2), np.float32)}, {})
    result = run_cli(["sample", vectors])
    assert result.exit_code == 1 and "is a 'vectors' model, expected 'lm'" in result.stderr
    result = run_cli(["rnn-train", *TRAIN, "--resume", vectors, trained["text"], "-o", out])
    assert result.exit_code == 1 and "expected 'lm'" in result.stderr
    result = run_cli(["rnn-train", *TRAIN, "--hidden", "99", "--resume", trained["model"], trained["text"],
                      "-o", out])
    assert result.exit_code == 2 and "--hidden 99 differs" in result.stderr


def test_resume_continues_from_the_saved_step(run_cli, trained, tmp_path):
    out = str(tmp_path / "r.npz")
    import shutil

    shutil.copy(trained["model"], out)
    result = run_cli(["rnn-train", "--task", "lm", "--threads", "1", "--epochs", "4", "--resume", out,
                      trained["text"], "-o", out])
    assert result.exit_code == 0, result.stderr
    from rnntools.io import load_model

    counters = load_model(out).meta["training"]["counters"]
    first = load_model(trained["model"]).meta["training"]["counters"]
    assert counters["epoch"] == 4 and counters["step"] > first["step"]


def test_help_has_examples_and_does_not_import_numba():
    code = ("import sys; from rnntools.cli import main\n"
            "try:\n    main(['sample', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'numba' not in sys.modules, 'numba imported'\n")
    # the repository root on the path and as cwd: the test must pass without rnntools installed
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr
    assert "rnntools sample lm.npz" in result.stdout and "--temperature" in result.stdout


def test_sample_process_start_up_loads_neither_numba_nor_scipy_linalg(trained):
    """Start-up is most of a `sample` process. A short sample runs in numpy (rnntools.tasks.lm.stepper) and
    never imports numba; a long one loads its kernels from numba's cache without numba's compiler set-up
    (rnntools.jit), so neither numba's lowering modules nor scipy.linalg (~0.2-0.45 s, which that set-up
    imports for np.correlate; the sampling kernels need no BLAS, see lm.kernels) are imported. The first
    long run compiles the kernels (a fresh checkout), the runs checked are warm, as an installed copy's are."""
    from rnntools.tasks.lm import load
    from rnntools.tasks.lm.sample import NUMPY_MACS, Sampler

    probe = Sampler(load(trained["model"]))
    long_run = NUMPY_MACS // (sum(W.size for W in probe.Whs + probe.Wxs) + probe.projW.size) + 10

    def sample(length: str, numba_used: bool):
        code = ("import sys; from rnntools.cli import main\n"
                f"try:\n    main(['sample', {trained['model']!r}, '--length', {length!r}, '--seed', '3'])\n"
                "except SystemExit as e:\n    assert not e.code, e.code\n"
                f"assert ('numba' in sys.modules) == {numba_used}, 'numba imported: ' + {length!r}\n"
                "assert 'numba.np.arraymath' not in sys.modules, 'numba compiler set up'\n"
                "assert 'scipy.linalg' not in sys.modules, 'scipy.linalg imported'\n")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": ROOT})

    sample(str(long_run), True)   # on a fresh checkout this compiles (and caches) the kernels
    for length, numba_used in (("20", False), (str(long_run), True)):
        result = sample(length, numba_used)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout) > int(length) // 2  # special tokens print nothing


@pytest.mark.slow
def test_subprocess_pipeline_sample_into_predict(trained):
    env = {**os.environ, "PYTHONPATH": ROOT}
    rnntools = [sys.executable, "-m", "rnntools"]
    sample = subprocess.Popen([*rnntools, "sample", trained["model"], "--count", "4", "--length", "40"],
                              stdout=subprocess.PIPE, env=env)
    predict = subprocess.run([*rnntools, "predict", trained["model"], "--field", "text"], stdin=sample.stdout,
                             capture_output=True, text=True, env=env)
    sample.stdout.close()
    assert sample.wait() == 0 and predict.returncode == 0, predict.stderr
    rows = [json.loads(line) for line in predict.stdout.splitlines()]
    assert [r["sample"] for r in rows] == [0, 1, 2, 3] and all(np.isfinite(r["bpc"]) for r in rows)
    head = subprocess.run(f"{sys.executable} -m rnntools sample {trained['model']} --length 2000 | head -c 10",
                          shell=True, capture_output=True, text=True, env=env)
    assert len(head.stdout) == 10 and head.stderr == ""


@pytest.mark.slow
def test_ctrl_c_saves_and_exits_130(trained, tmp_path):
    from conftest import interrupt_once_training

    env = {**os.environ, "PYTHONPATH": ROOT}
    out, log = str(tmp_path / "int.npz"), str(tmp_path / "int.jsonl")
    # --patience: early stopping must not end the run before the signal comes, however slow the machine
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", "rnn-train", *TRAIN, "--epochs", "100000",
                             "--patience", "1000000", trained["text"], "-o", out, "--log", log],
                            stderr=subprocess.PIPE, text=True, env=env)
    err = interrupt_once_training(proc, log)
    assert proc.returncode == 130, err
    assert f"saved to {out}" in err and "--resume" in err
    from rnntools.io import load_model

    assert load_model(out, "lm").meta["training"]["counters"]["stopped"] == "interrupted"


def test_resume_of_a_model_stripped_of_its_training_state_says_so(run_cli, tmp_path):
    """A model shipped without the trainer's arrays (state.*, optim.*) predicts; --resume said its state was
    "missing or has another shape (batch size and model options must match)", which sent users after options."""
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat and the dog ran after it\n" * 40)
    model = tmp_path / "m.npz"
    assert run_cli(["rnn-train", "--task", "lm", text, "-o", model, "--hidden", 8, "--max-steps", 2,
                    "--threads", 1]).exit_code == 0
    with np.load(model, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if not k.startswith(("state.", "optim."))}
    meta = json.loads(str(arrays.pop("meta")))
    meta["arrays"] = {k: v for k, v in meta["arrays"].items() if k in arrays}
    np.savez(model, meta=np.array(json.dumps(meta)), **arrays)
    assert run_cli(["predict", model, text]).exit_code == 0
    r = run_cli(["rnn-train", "--task", "lm", text, "-o", tmp_path / "out.npz", "--resume", model, "--max-steps", 3])
    assert r.exit_code == 2 and "holds no training state" in r.stderr and "batch size" not in r.stderr, r.stderr
