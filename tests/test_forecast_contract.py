"""The forecaster under the task contract (docs/tasks.md): names, the resume table, old files."""

import json
import os

import numpy as np
import pytest

from rnntools.io import load_model
from rnntools.tasks import forecast as F

HERE = os.path.dirname(os.path.abspath(__file__))
# written by the code before the task contract (per-member optimiser names, options in three places), see
# tests/data/contract/make_reference.sh: --hidden 8 --batch 16 --max-steps 30
CONTRACT = os.path.join(HERE, "data", "contract")
OLD = os.path.join(CONTRACT, "forecast.npz")
OLD_OUT = os.path.join(CONTRACT, "forecast.predict.jsonl")


def test_contract_names():
    assert F.KIND == "forecaster"
    assert F.STRUCTURAL <= set(F.DEFAULTS)
    for name in ("train", "load", "read", "predict", "evaluate"):
        assert callable(getattr(F, name))


def test_old_file_predicts_identically_through_the_library_from_bytes():
    csv = os.path.join(CONTRACT, "forecast_input.csv")
    model = F.load(open(OLD, "rb").read())
    out = list(F.predict(model, F.read([csv], model)))
    assert json.dumps(out[0]) + "\n" == open(OLD_OUT).read()


def test_old_file_resumes_with_migrated_optimiser_state(run_cli, samples_dir, tmp_path):
    csv = os.path.join(samples_dir, "airline.csv")
    out = tmp_path / "r.npz"
    r = run_cli(["rnn-train", "--task", "forecast", csv, "-o", out, "--resume", OLD, "--max-steps", 33,
                 "--threads", 1])
    assert r.exit_code == 0, r.stderr
    mf = load_model(out)
    assert mf.meta["config"]["hidden"] == 8
    assert mf.meta["training"]["counters"]["step"] == 33
    assert any(k.startswith("state.optim.m.m0.") for k in mf.arrays)
    assert not any(".adam_" in k for k in mf.arrays)


@pytest.mark.parametrize("extra, code, message", [
    ([], 0, None),                                             # same options: continues
    (["--hidden", 4], 0, None),                                # the saved value given again
    (["--lr", 0.01], 0, None),                                 # training option: new value used
    (["--hidden", 8], 2, "--hidden 8 differs from the saved model's 4"),
    (["--season", 4], 2, "--season 4 differs from the saved model's 12"),
])
def test_resume_table(run_cli, samples_dir, tmp_path, extra, code, message):
    csv = os.path.join(samples_dir, "airline.csv")
    first = tmp_path / "a.npz"
    base = ["rnn-train", "--task", "forecast", csv, "--threads", 1, "--horizon", 6]
    assert run_cli([*base, "-o", first, "--hidden", 4, "--max-steps", 4]).exit_code == 0
    r = run_cli([*base, "-o", tmp_path / "b.npz", "--resume", first, "--max-steps", 8, *extra])
    assert r.exit_code == code, r.stderr
    if message:
        assert message in r.stderr
        return
    mf = load_model(tmp_path / "b.npz")
    assert mf.meta["config"]["hidden"] == 4
    assert mf.meta["training"]["counters"]["step"] == 8          # counters continue from 4
    if "--lr" in extra:
        assert mf.meta["config"]["lr"] == 0.01
    np.testing.assert_equal(mf.meta["config"]["season"], 12)


def test_a_horizon_too_long_for_memory_is_a_usage_error_before_any_work(run_cli, monkeypatch):
    # 10^8 steps ran half a minute into 9 GB before numpy's MemoryError; the estimate stops it at once
    from rnntools import errors

    monkeypatch.setattr(errors, "available_memory", lambda: 50 << 20)
    csv = os.path.join(CONTRACT, "forecast_input.csv")
    ok = run_cli(["predict", OLD, csv, "--horizon", 100])
    assert ok.exit_code == 0, ok.stderr
    r = run_cli(["predict", OLD, csv, "--horizon", 1_000_000])
    assert r.exit_code == 2
    assert "steps ahead would need about" in r.stderr and "lower --horizon" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
