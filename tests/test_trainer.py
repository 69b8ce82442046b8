"""The generic trainer, on a toy task with no recurrent engine: a softmax regression with momentum SGD,
dropout on the inputs (so randomness matters) and a carried "state" (so resume must restore it)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from rnntools.errors import TrainingError
from rnntools.io import load_model, save_model
from rnntools.tasks.trainer import EngineConfig, fit


class ToyTask:
    kind = "toy"
    unit = "examples"

    def __init__(self, n=96, d=5, k=3, batch=8, seed=0, val=True, nan_at=None, interrupt_at=None,
                 lr_scale=1.0, presses=1):
        rng = np.random.default_rng(seed)
        w_true = rng.normal(size=(d, k))
        self.x = rng.normal(size=(n, d))
        self.y = np.argmax(self.x @ w_true + 0.5 * rng.normal(size=(n, k)), axis=1)
        self.n_train = n * 3 // 4 if val else n
        self.batch, self.val = batch, val
        self.W = np.zeros((d, k))
        self.m = np.zeros((d, k))  # momentum: optimiser state
        self.carry = np.zeros(k)  # stands for an LM's carried hidden state
        self.t = 0
        self.nan_at, self.interrupt_at, self.lr_scale, self.presses = nan_at, interrupt_at, lr_scale, presses
        self.steps = 0
        self.saves = []

    def steps_per_epoch(self):
        return self.n_train // self.batch

    def epoch_batches(self, epoch, rng):
        order = rng.permutation(self.n_train)
        return [order[i * self.batch:(i + 1) * self.batch] for i in range(self.steps_per_epoch())]

    def start_epoch(self, epoch):
        self.carry[:] = 0

    def _loss(self, idx, W):
        z = self.x[idx] @ W
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(idx)), self.y[idx]], logp

    def train_step(self, idx, rng, lr):
        self.steps += 1
        if self.interrupt_at is not None and self.steps == self.interrupt_at:
            for _ in range(self.presses):
                os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag; this step completes
        mask = (rng.random(self.x.shape[1]) > 0.2) / 0.8
        x = self.x[idx] * mask
        z = x @ self.W
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(idx)), self.y[idx]])
        p[np.arange(len(idx)), self.y[idx]] -= 1
        grad = x.T @ p / len(idx)
        self.m[...] = 0.9 * self.m + grad
        self.W -= lr * self.lr_scale * self.m
        self.carry += loss.mean()
        self.t += 1
        total = float(loss.sum())
        if self.nan_at is not None and self.steps >= self.nan_at:
            total = float("nan")
        return total, len(idx)

    def evaluate(self):
        if not self.val:
            return None
        idx = np.arange(self.n_train, len(self.x))
        loss, _ = self._loss(idx, self.W)
        return {"val_loss": float(loss.mean()), "val_acc": 0.5}

    def params(self):
        return {"W": self.W}

    def train_state(self):
        return {"m": self.m, "carry": self.carry}

    def train_meta(self):
        return {"t": self.t}

    def load_train_meta(self, meta):
        self.t = meta["t"]

    def save(self, path, arrays, meta):
        self.saves.append(meta["training"]["saved"])
        save_model(path, self.kind, arrays, {**meta, "toy": True})


def cfg(**kw):
    base = dict(epochs=4, patience=100, lr=0.5, seed=3, log_every=1)
    base.update(kw)
    return EngineConfig.from_options(None, **base)


def test_config_merges_cli_over_task_defaults():
    c = EngineConfig.from_options({"hidden": None, "batch": 7, "lr": None, "optimizer": "sgd"}, hidden=99)
    assert (c.hidden, c.batch, c.lr) == (99, 7, 0.5)
    c = EngineConfig.from_options({"lr": 0.1}, lr_by_optimizer={"adam": 1e-2})
    assert c.lr == 0.1
    assert EngineConfig.from_options({}, lr_by_optimizer={"adam": 1e-2}).lr == 1e-2
    with pytest.raises(TypeError):
        EngineConfig.from_options({}, no_such_option=1)


def test_training_lowers_validation_loss_and_saves_best(tmp_path):
    out = str(tmp_path / "m.npz")
    task = ToyTask()
    summary = fit(task, cfg(log_path=str(tmp_path / "log.jsonl")), out)
    model = load_model(out, "toy")
    assert summary["epochs"] == 4 and summary["steps"] == 4 * task.steps_per_epoch()
    assert summary["best_val_loss"] < np.log(3) - 0.1
    assert model.meta["training"]["counters"]["best_val_loss"] == summary["best_val_loss"]
    import json

    events = [json.loads(line)["event"] for line in open(tmp_path / "log.jsonl")]
    assert events[0] == "start" and events[-1] == "end" and events.count("eval") == 4
    step = next(json.loads(line) for line in open(tmp_path / "log.jsonl") if '"step"' in line
                and json.loads(line)["event"] == "step")
    assert {"loss", "lr", "examples_per_s", "epoch"} <= set(step)


def test_resume_equals_uninterrupted(tmp_path):
    a, b = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    fit(ToyTask(), cfg(epochs=3), a)
    fit(ToyTask(), cfg(epochs=1), b)
    task = ToyTask()
    fit(task, cfg(epochs=3), b, resume=load_model(b, "toy"))
    ma, mb = load_model(a), load_model(b)
    np.testing.assert_array_equal(ma.arrays["W"], mb.arrays["W"])
    np.testing.assert_array_equal(ma.arrays["state.m"], mb.arrays["state.m"])
    assert ma.meta["training"]["counters"]["step"] == mb.meta["training"]["counters"]["step"]
    assert ma.meta["training"]["task"] == mb.meta["training"]["task"]


def test_resume_mid_epoch_after_max_steps(tmp_path):
    a, b = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    fit(ToyTask(), cfg(epochs=2), a)
    fit(ToyTask(), cfg(epochs=2, max_steps=13), b)  # 9 steps per epoch: stops inside epoch 2
    m = load_model(b)
    assert m.meta["training"]["counters"]["batch_in_epoch"] == 4
    fit(ToyTask(), cfg(epochs=2), b, resume=m)
    np.testing.assert_array_equal(load_model(a).arrays["W"], load_model(b).arrays["W"])
    np.testing.assert_array_equal(load_model(a).arrays["state.carry"], load_model(b).arrays["state.carry"])


def test_early_stopping_keeps_the_best_parameters(tmp_path):
    out = str(tmp_path / "m.npz")
    # far too large a step: validation loss gets worse after a while
    task = ToyTask(lr_scale=40.0)
    summary = fit(task, cfg(epochs=30, patience=2, explode_factor=1e9), out)
    model = load_model(out)
    if summary["stopped"] == "early stopping":
        assert summary["epochs"] < 30
    best = model.meta["training"]["counters"]["best_val_loss"]
    check = ToyTask()
    check.W[...] = model.arrays["W"]
    assert check.evaluate()["val_loss"] == pytest.approx(best)
    if model.meta["training"]["counters"]["best_step"] != summary["steps"]:
        assert "resume.W" in model.arrays  # the latest parameters, for --resume


def test_patience_stops_training(tmp_path):
    class Worse(ToyTask):
        def evaluate(self):
            self.evals = getattr(self, "evals", 0) + 1
            return {"val_loss": float(self.evals)}  # never improves after the first

    summary = fit(Worse(), cfg(epochs=50, patience=3), str(tmp_path / "m.npz"))
    assert summary["stopped"] == "early stopping" and summary["epochs"] == 4
    assert summary["best_step"] == Worse().steps_per_epoch()


def test_nan_loss_stops_with_a_clear_error_keeping_the_last_good_model(tmp_path):
    out = str(tmp_path / "m.npz")
    task = ToyTask(nan_at=20)  # epoch 1 (9 steps) and 2 finish; NaN in epoch 3
    with pytest.raises(TrainingError, match=r"loss became nan at step 20.*keeps the model of step 18"):
        fit(task, cfg(), out)
    model = load_model(out)
    assert np.isfinite(model.arrays["W"]).all()
    assert model.meta["training"]["counters"]["step"] == 18


def test_nan_before_any_evaluation_says_nothing_was_saved(tmp_path):
    out = str(tmp_path / "m.npz")
    with pytest.raises(TrainingError, match="no model was saved"):
        fit(ToyTask(nan_at=2), cfg(), out)
    assert not os.path.exists(out)


def test_exploding_loss_is_detected(tmp_path):
    class Exploding(ToyTask):
        def train_step(self, idx, rng, lr):
            loss, n = super().train_step(idx, rng, lr)
            return (loss * 10 ** max(0, self.steps - 12), n)

    with pytest.raises(TrainingError, match="exploding"):
        fit(Exploding(), cfg(), str(tmp_path / "m.npz"))


class ConfidentStart(ToyTask):
    """Losses of a classifier on top of a confident linear part (reuters8: first steps ~0.05): ten calm
    steps, then a wobble ten times as high, then calm again, or (``blow_up``) a real explosion."""

    def __init__(self, chance=None, blow_up=False, **kw):
        super().__init__(**kw)
        self.chance, self.blow_up = chance, blow_up

    def train_step(self, idx, rng, lr):
        _, n = super().train_step(idx, rng, lr)
        loss = 0.05
        if 12 <= self.steps <= 20:
            loss = 50.0 if self.blow_up else 0.5
        return loss * n, n

    def chance_loss(self):
        return self.chance


def test_exploding_is_judged_against_a_uniform_guess_when_the_start_is_confident(tmp_path):
    out = str(tmp_path / "m.npz")
    with pytest.raises(TrainingError, match="exploding .*early value 0.05"):
        fit(ConfidentStart(), cfg(), out)  # no chance loss: the early mean is the only yardstick
    summary = fit(ConfidentStart(chance=np.log(8)), cfg(), out)  # 8 classes: the wobble is no explosion
    assert summary["stopped"] == "epochs"
    with pytest.raises(TrainingError, match=r"exploding .*uniform guess's 2.079"):
        fit(ConfidentStart(chance=np.log(8), blow_up=True), cfg(), out)


def test_classifier_task_gives_the_trainer_its_uniform_guess_loss():
    from rnntools.tasks.classify.training import ClassifierTask

    class Net:
        class cfg:
            n_classes = 8

    task = ClassifierTask.__new__(ClassifierTask)
    task.net = Net()
    assert task.chance_loss() == pytest.approx(np.log(8))
    assert task.train_state() == {} and task.train_meta() == {}  # TrainableTask's defaults


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path, capsys):
    a, b = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    fit(ToyTask(), cfg(epochs=2), a)
    with pytest.raises(KeyboardInterrupt):
        fit(ToyTask(interrupt_at=5), cfg(epochs=2), b)
    assert "saved to" in capsys.readouterr().err
    m = load_model(b)
    assert m.meta["training"]["counters"]["step"] == 5
    assert m.meta["training"]["counters"]["stopped"] == "interrupted"
    fit(ToyTask(), cfg(epochs=2), b, resume=m)
    np.testing.assert_array_equal(load_model(a).arrays["W"], load_model(b).arrays["W"])


def test_ctrl_c_twice_during_an_update_still_saves(tmp_path, capfd):
    """People press Ctrl-C twice. A second press before the first was acted on (the update or evaluation under way)
    stopped at once without saving: every step since the last save lost. It is the same request now, and says so;
    a third press stops at once (an update that does not end), keeping the file as it was."""
    a, b, c = (str(tmp_path / name) for name in ("a.npz", "b.npz", "c.npz"))
    fit(ToyTask(), cfg(epochs=2), a)
    with pytest.raises(KeyboardInterrupt):
        fit(ToyTask(interrupt_at=5, presses=2), cfg(epochs=2), b)
    err = capfd.readouterr().err
    assert "stopping once the step under way ends, then saving to" in err and "saved to" in err
    m = load_model(b)
    assert m.meta["training"]["counters"]["step"] == 5
    assert m.meta["training"]["counters"]["stopped"] == "interrupted"
    fit(ToyTask(), cfg(epochs=2), b, resume=m)   # and it continues as the uninterrupted run
    np.testing.assert_array_equal(load_model(a).arrays["W"], load_model(b).arrays["W"])
    with pytest.raises(KeyboardInterrupt):
        fit(ToyTask(interrupt_at=5, presses=3), cfg(epochs=2), c)
    assert not os.path.exists(c)   # before the first evaluation: nothing saved yet
    assert "keeps the last saved model" in capfd.readouterr().err


def test_checkpoint_every_and_max_time(tmp_path):
    task = ToyTask()
    fit(task, cfg(epochs=1, checkpoint_every=4), str(tmp_path / "m.npz"))
    assert task.saves.count("checkpoint") == 2  # steps 4 and 8 (9 steps, evaluation saves step 9)
    task = ToyTask()
    summary = fit(task, cfg(epochs=1000, max_time=0.3), str(tmp_path / "t.npz"))
    assert summary["stopped"] == "max time" and 0 < summary["steps"] < 9000


def test_no_validation_data_saves_the_latest(tmp_path):
    out = str(tmp_path / "m.npz")
    task = ToyTask(val=False)
    summary = fit(task, cfg(epochs=2), out)
    np.testing.assert_array_equal(load_model(out).arrays["W"], task.W)
    assert summary["best_val_loss"] is None


def test_no_batches_is_an_error(tmp_path):
    task = ToyTask(n=4)
    with pytest.raises(TrainingError, match="no training batches"):
        fit(task, cfg(), str(tmp_path / "m.npz"))


def test_plateau_decay_halves_the_learning_rate_and_resumes_with_it(tmp_path):
    class Worse(ToyTask):
        def evaluate(self):
            self.evals = getattr(self, "evals", 0) + 1
            return {"val_loss": float(self.evals)}

    out = str(tmp_path / "m.npz")
    seen = []

    class Recording(Worse):
        def train_step(self, idx, rng, lr):
            seen.append(lr)
            return super().train_step(idx, rng, lr)

    fit(Recording(), cfg(epochs=3, plateau_decay=0.5, lr=0.4), out)
    per = Recording().steps_per_epoch()
    assert seen[0] == 0.4 and seen[per] == 0.4 and seen[2 * per] == 0.2  # epoch 1 best, epoch 2 worse
    assert load_model(out).meta["training"]["counters"]["lr"] == 0.1



def test_budget_decay_falls_linearly_over_max_steps_and_resume_continues_it(tmp_path):
    """With a budget (--max-steps here) the rate falls linearly from --lr to 0 over it, plateaus do not halve
    it, an interrupted run resumed with the same budget continues the same line, and a larger budget on
    --resume continues the line planned for it from the start."""

    class Worse(ToyTask):  # every evaluation after the first is worse: a plateau schedule would halve
        def evaluate(self):
            self.evals = getattr(self, "evals", 0) + 1
            return {"val_loss": float(self.evals)}

    seen = []

    class Recording(Worse):
        def train_step(self, idx, rng, lr):
            seen.append(lr)
            return super().train_step(idx, rng, lr)

    budget = dict(epochs=10, max_steps=20, plateau_decay=0.5, budget_decay=True, lr=0.4)
    fit(Recording(), cfg(**budget), str(tmp_path / "a.npz"))
    np.testing.assert_allclose(seen, 0.4 * (20 - np.arange(20)) / 20, rtol=1e-12)
    whole = list(seen)
    seen.clear()
    b = str(tmp_path / "b.npz")
    task = Recording()
    task.interrupt_at = 12  # Ctrl-C during update 12 (inside epoch 2): saved after it
    with pytest.raises(KeyboardInterrupt):
        fit(task, cfg(**budget), b)
    assert load_model(b).meta["training"]["counters"]["step"] == 12
    fit(Recording(), cfg(**budget), b, resume=load_model(b))
    np.testing.assert_allclose(seen, whole, rtol=1e-12)
    seen.clear()
    fit(Recording(), cfg(**{**budget, "max_steps": 30}), b, resume=load_model(b))
    np.testing.assert_allclose(seen, 0.4 * (30 - np.arange(20, 30)) / 30, rtol=1e-12)
    # without budget_decay, or without a budget, the plateau schedule is unchanged
    for options in (dict(max_steps=20), dict(budget_decay=True)):
        seen.clear()
        fit(Recording(), cfg(epochs=3, plateau_decay=0.5, lr=0.4, **options), str(tmp_path / "d.npz"))
        assert seen[0] == seen[17] == 0.4 and seen[18] == 0.2  # 9 steps an epoch; epoch 2 was worse



def test_under_the_budget_decay_the_budget_ends_training_not_patience(tmp_path):
    class Worse(ToyTask):
        def evaluate(self):
            self.evals = getattr(self, "evals", 0) + 1
            return {"val_loss": float(self.evals)}

    # 9 updates an epoch; every evaluation after the first is worse. The plateau schedule stops after 2 of
    # them (step 27); the budget decay trains to the end of its budget, the rate falling to 0 (it stopped at
    # step 72 once patience could end it at a rate of lr / 2**2, leaving the last stretch of the anneal out)
    summary = fit(Worse(), cfg(epochs=100, max_steps=90, patience=2, plateau_decay=0.5, lr=0.4),
                  str(tmp_path / "p.npz"))
    assert (summary["steps"], summary["stopped"]) == (27, "early stopping")
    for budget in (dict(max_steps=90), dict(max_steps=90, budget_warmup=0.2), dict(max_steps=90, budget_average=0.5)):
        summary = fit(Worse(), cfg(epochs=100, patience=2, plateau_decay=0.5, budget_decay=True, lr=0.4, **budget),
                      str(tmp_path / "b.npz"))
        assert (summary["steps"], summary["stopped"]) == (90, "max steps")
    summary = fit(Worse(), cfg(epochs=3, patience=2, plateau_decay=0.5, budget_decay=True, lr=0.4, max_time=1e6),
                  str(tmp_path / "t.npz"))
    assert (summary["steps"], summary["stopped"]) == (27, "epochs")


def test_under_the_budget_decay_the_end_of_training_is_the_model(tmp_path):
    """Under the budget decay the file holds the parameters training ended with (its budget), even when an
    earlier evaluation scored better; an interrupted run, and a run on the plateau schedule, keep the best
    evaluation."""

    class Worse(ToyTask):  # every evaluation after the first is worse
        def evaluate(self):
            self.evals = getattr(self, "evals", 0) + 1
            self.judged = getattr(self, "judged", []) + [self.W.copy()]
            return {"val_loss": float(self.evals), "val_error": 0.1 * self.evals}

    budget = dict(epochs=10, max_steps=20, plateau_decay=0.5, budget_decay=True, lr=0.4)
    for options, stopped in ((budget, "max steps"), ({**budget, "max_steps": 80, "patience": 2}, "max steps")):
        task = Worse()
        out = str(tmp_path / "a.npz")
        summary = fit(task, cfg(**options), out)
        model = load_model(out)
        assert summary["stopped"] == stopped and summary["best_step"] == summary["steps"] == task.steps
        assert summary["best_val_error"] == pytest.approx(0.1 * task.evals)
        np.testing.assert_array_equal(model.arrays["W"], task.W)
        np.testing.assert_array_equal(task.judged[-1], task.W)
        assert "resume.W" not in model.arrays
        assert model.meta["training"]["counters"]["best_step"] == task.steps
    # interrupted: the best evaluation so far (the first, at step 9); the resumed run ends with its budget's end
    task = Worse()
    task.interrupt_at = 15
    b = str(tmp_path / "b.npz")
    with pytest.raises(KeyboardInterrupt):
        fit(task, cfg(**budget), b)
    np.testing.assert_array_equal(load_model(b).arrays["W"], task.judged[0])
    task = Worse()
    fit(task, cfg(**budget), b, resume=load_model(b))
    np.testing.assert_array_equal(load_model(b).arrays["W"], task.W)
    # the plateau schedule (no budget decay): the best evaluation
    task = Worse()
    fit(task, cfg(**{**budget, "budget_decay": False}), str(tmp_path / "c.npz"))
    np.testing.assert_array_equal(load_model(str(tmp_path / "c.npz")).arrays["W"], task.judged[0])


def test_budget_average_holds_the_rate_and_saves_the_mean_of_the_last_stretch(tmp_path):
    """With budget_average A the rate falls linearly to A * lr and stays there for the last share A of the
    budget; each evaluation from then on judges the mean of the parameters after those updates (a numpy
    mean of the recorded iterates), the model file holds it, and an interrupted run resumed with the same
    budget saves the same mean. A larger budget on --resume lifts the rate above the floor again: the mean
    starts afresh with its new last stretch."""
    seen, iterates, judged = [], [], []

    class Better(ToyTask):  # every evaluation is the best so far: the file holds what was judged last
        def evaluate(self):
            self.evals = getattr(self, "evals", 0) + 1
            judged.append(self.W.copy())
            return {"val_loss": 1.0 / self.evals}

        def train_step(self, idx, rng, lr):
            seen.append(lr)
            out = super().train_step(idx, rng, lr)
            iterates.append(self.W.copy())
            return out

    budget = dict(epochs=10, max_steps=20, plateau_decay=0.5, budget_decay=True, budget_average=0.25, lr=0.4,
                  log_path=str(tmp_path / "log.jsonl"))
    a = str(tmp_path / "a.npz")
    task = Better()
    fit(task, cfg(**budget), a)
    np.testing.assert_allclose(seen, 0.4 * np.maximum((20 - np.arange(20)) / 20, 0.25), rtol=1e-12)
    mean = np.mean(iterates[15:], axis=0)  # the updates made at the held rate: left <= 0.25 before 16..20
    model = load_model(a)
    np.testing.assert_allclose(model.arrays["W"], mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(judged[-1], mean, rtol=1e-12, atol=1e-15)  # the evaluation saw the mean ...
    np.testing.assert_array_equal(task.W, iterates[-1])  # ... and training goes on from the latest values
    np.testing.assert_array_equal(model.arrays["resume.W"], iterates[-1])
    assert model.meta["training"]["counters"]["averaged"] == 5
    import json
    evals = [json.loads(line) for line in open(tmp_path / "log.jsonl") if '"eval"' in line]
    assert [e.get("averaged") for e in evals] == [None, 3, 5]  # 9 updates an epoch: steps 9, 18, 20
    whole = model.arrays["W"]

    b = str(tmp_path / "b.npz")
    for stop in (17, 9):  # Ctrl-C inside the held stretch, and before it
        task = Better()
        task.interrupt_at = stop
        with pytest.raises(KeyboardInterrupt):
            fit(task, cfg(**budget), b)
        fit(Better(), cfg(**budget), b, resume=load_model(b))
        np.testing.assert_array_equal(load_model(b).arrays["W"], whole)

    iterates.clear()
    seen.clear()
    fit(Better(), cfg(**{**budget, "max_steps": 40}), b, resume=load_model(b))
    np.testing.assert_allclose(seen, 0.4 * np.maximum((40 - np.arange(20, 40)) / 40, 0.25), rtol=1e-12)
    model = load_model(b)
    np.testing.assert_allclose(model.arrays["W"], np.mean(iterates[10:], axis=0), rtol=1e-12, atol=1e-15)
    assert model.meta["training"]["counters"]["averaged"] == 10


def test_budget_average_needs_the_budget_decay_and_a_budget(tmp_path, monkeypatch):
    """Without the budget schedule, or without a budget, budget_average changes nothing: no held rate, no
    average, the same file as without it; and off (0), nothing is averaged even when the budget left reads 0
    (a --max-time budget can, just after the limit's check)."""
    from rnntools.tasks import trainer

    monkeypatch.setattr(trainer, "_budget_left", lambda *args: 0.0)
    fit(ToyTask(), cfg(epochs=1, budget_decay=True, max_steps=5), str(tmp_path / "z.npz"))
    assert load_model(str(tmp_path / "z.npz")).meta["training"]["counters"]["averaged"] == 0
    monkeypatch.undo()
    for options in (dict(max_steps=20), dict(budget_decay=True, epochs=2)):
        out = {}
        for share in (0.0, 0.5):
            path = str(tmp_path / f"{share}.npz")
            fit(ToyTask(), cfg(**{"epochs": 3, "lr": 0.4, **options, "budget_average": share}), path)
            out[share] = load_model(path)
        assert "state.average.W" not in out[0.5].arrays and out[0.5].meta["training"]["counters"]["averaged"] == 0
        np.testing.assert_array_equal(out[0.0].arrays["W"], out[0.5].arrays["W"])


def test_budget_decay_over_max_time_reaches_low_rates():
    from rnntools.tasks.trainer import _budget_left

    assert _budget_left(0, 100, 0.0, None) == 1.0
    assert _budget_left(50, 100, 0.0, None) == 0.5
    assert _budget_left(10, 100, 30.0, 40.0) == pytest.approx(0.25)  # the time runs out first
    assert _budget_left(90, 100, 1.0, 40.0) == pytest.approx(0.1)  # the steps do
    assert _budget_left(10, 100, 50.0, 40.0) == 0.0


def scripted_task(script):
    """A ToyTask whose evaluations report ``(val_error, val_loss)`` pairs from ``script`` in turn."""

    class Scripted(ToyTask):
        def evaluate(self):
            self.evals = getattr(self, "evals", 0) + 1
            error, loss = script[self.evals - 1]
            return {"val_loss": loss, "val_error": error}

    return Scripted


def test_a_task_metric_decides_the_best_model_and_early_stopping(tmp_path):
    """With ``val_error`` the best evaluation is the one with the fewest errors, whatever the loss does; at equal
    error the loss must fall by 10% (any fall while nothing is right, error 1). Patience counts evaluations
    without progress."""
    script = [(1.0, 3.0), (1.0, 2.0), (0.5, 5.0), (0.5, 4.6), (0.2, 4.0), (0.3, 0.5), (0.2, 3.7), (0.2, 3.7),
              (0.2, 3.7)]

    Scripted = scripted_task(script)

    out = str(tmp_path / "m.npz")
    summary = fit(Scripted(), cfg(epochs=len(script), patience=3), out)
    counters = load_model(out).meta["training"]["counters"]
    per = Scripted().steps_per_epoch()
    assert counters["best_step"] == 5 * per and counters["best_val_error"] == 0.2
    assert summary["stopped"] == "early stopping" and summary["epochs"] == 8


def test_no_errors_left_and_a_tiny_loss_is_done(tmp_path):
    """At 0 errors a 10% lower loss still counts while the loss is not tiny (a small validation set reaches 0
    errors before the model is done), but not below LOSS_FLOOR: a model right on every validation pair whose
    tiny loss keeps halving would otherwise train on for dozens of epochs."""
    from rnntools.tasks.trainer import LOSS_FLOOR

    script = [(0.1, 0.5), (0.0, 0.2), (0.0, 0.1), (0.0, LOSS_FLOOR / 2), (0.0, LOSS_FLOOR / 4), (0.0, LOSS_FLOOR / 8),
              (0.0, LOSS_FLOOR / 16), (0.0, LOSS_FLOOR / 32)]

    Scripted = scripted_task(script)

    out = str(tmp_path / "m.npz")
    summary = fit(Scripted(), cfg(epochs=len(script), patience=3), out)
    counters = load_model(out).meta["training"]["counters"]
    assert counters["best_step"] == 3 * Scripted().steps_per_epoch()  # 0.1: 10% lower at 0 errors, not tiny
    assert summary["stopped"] == "early stopping" and summary["epochs"] == 6
