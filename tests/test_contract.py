"""The task contract, checked against model files written by the pre-contract code (commit dcb4668).

``tests/data/contract/`` holds, for every task and ``w2v-train``, a small model trained on the shipped samples
with a fixed seed and ``--threads 1`` by the code before the task contract, plus what that code's
``predict``/``evaluate``/``sample``/``neighbors`` printed for it (``make_reference.sh`` regenerates them).
Today's code must load each file, reproduce those outputs byte for byte, and resume training from it.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from conftest import ROOT, SAMPLES

DATA = os.path.join(ROOT, "tests", "data", "contract")

# task -> how its reference model was trained (make_reference.sh), relative to DATA
TRAIN = {
    "lm": ["rnn-train", "--task", "lm", os.path.join(SAMPLES, "book.txt"), "--hidden", "24", "--embed-dim", "8",
           "--batch", "8", "--seq-len", "32", "--threads", "1", "--seed", "3"],
    "classify": ["rnn-train", "--task", "classify", "classify_train.jsonl", "--hidden", "16", "--embed-dim", "16",
                 "--batch", "16", "--max-vocab", "400", "--lr", "0.01", "--threads", "1", "--seed", "3"],
    "seq2seq": ["rnn-train", "--task", "seq2seq", os.path.join(SAMPLES, "pairs.jsonl"), "--hidden", "24",
                "--embed-dim", "16", "--batch", "32", "--lr", "0.01", "--threads", "1", "--seed", "3"],
    "forecast": ["rnn-train", "--task", "forecast", "forecast_input.csv", "--hidden", "8", "--batch", "16",
                 "--threads", "1", "--seed", "3"],
    "w2v": ["w2v-train", os.path.join(SAMPLES, "corpus.txt"), "--dim", "16", "--min-count", "20", "--resumable",
            "--threads", "1", "--seed", "3"],
}
SAVED_STEPS = {"lm": 30, "classify": 120, "seq2seq": 150, "forecast": 30}

# (task, expected output file, command line run in DATA)
OUTPUTS = [
    ("lm", "lm.predict.jsonl", ["predict", "lm.npz", "lm_input.txt"]),
    ("lm", "lm.evaluate.jsonl", ["evaluate", "lm.npz", "lm_input.txt"]),
    ("lm", "lm.sample.txt", ["sample", "lm.npz", "--length", "200", "--seed", "5", "--prime", "It is"]),
    ("classify", "classify.predict.jsonl", ["predict", "classify.npz", "classify_input.jsonl"]),
    ("classify", "classify.evaluate.jsonl", ["evaluate", "classify.npz", "classify_input.jsonl"]),
    ("seq2seq", "seq2seq.predict.jsonl", ["predict", "seq2seq.npz", "seq2seq_input.jsonl"]),
    ("seq2seq", "seq2seq.evaluate.jsonl", ["evaluate", "seq2seq.npz", "seq2seq_input.jsonl"]),
    ("forecast", "forecast.predict.jsonl", ["predict", "forecast.npz", "forecast_input.csv"]),
    ("forecast", "forecast.evaluate.jsonl", ["evaluate", "forecast.npz", "forecast_input.csv", "--backtest", "2",
                                             "--no-refit"]),
    ("w2v", "w2v.neighbors.jsonl", ["neighbors", "w2v.npz", "the", "man", "house", "time", "-k", "5"]),
]


@pytest.mark.parametrize("task,expected,args", OUTPUTS, ids=[o[1] for o in OUTPUTS])
def test_old_model_gives_identical_output(run_cli, monkeypatch, task, expected, args):
    monkeypatch.chdir(DATA)  # outputs name the model as given (seq2seq's evaluate does)
    result = run_cli(["-q", *args])
    assert result.exit_code == 0, result.stderr
    with open(os.path.join(DATA, expected), encoding="utf-8") as f:
        assert result.stdout == f.read()


def _steps(path: str) -> int | None:
    from rnntools.io import load_model

    counters = load_model(path).meta.get("training", {}).get("counters", {})
    return counters.get("step")


@pytest.mark.parametrize("task", sorted(SAVED_STEPS))
def test_old_model_resumes(run_cli, monkeypatch, tmp_path, task):
    monkeypatch.chdir(DATA)
    old = tmp_path / f"{task}.npz"
    shutil.copy(os.path.join(DATA, f"{task}.npz"), old)
    out = tmp_path / "out.npz"
    steps = SAVED_STEPS[task]
    result = run_cli(["-q", *TRAIN[task], "--resume", old, "--max-steps", steps + 4, "-o", out])
    assert result.exit_code == 0, result.stderr
    after = _steps(str(out))
    if after is not None:
        assert after == steps + 4
    from rnntools.io import load_model

    assert load_model(str(out)).meta["kind"] == load_model(str(old)).meta["kind"]


def test_old_vectors_resume(run_cli, monkeypatch, tmp_path):
    monkeypatch.chdir(DATA)
    old = tmp_path / "w2v.npz"
    shutil.copy(os.path.join(DATA, "w2v.npz"), old)
    out = tmp_path / "out.npz"
    result = run_cli(["-q", *TRAIN["w2v"], "--epochs", "2", "--resume", old, "-o", out])
    assert result.exit_code == 0, result.stderr
    with np.load(out, allow_pickle=False) as z, np.load(old, allow_pickle=False) as before:
        meta = json.loads(str(z["meta"]))
        assert meta["kind"] == "vectors"
        names = [n for n in before.files if n != "meta" and before[n].dtype.kind == "f"]
        assert names and any(not np.array_equal(z[n], before[n]) for n in names if n in z.files)
