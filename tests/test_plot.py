"""rnntools plot: the data behind each picture, the text rendering, and PNG/SVG files through matplotlib."""

import json
import struct
import sys

import numpy as np
import pytest

from rnntools.plot import data as pdata
from rnntools.plot import text as ptext


def write_lines(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


@pytest.fixture
def forecast_files(tmp_path):
    history = tmp_path / "hist.csv"
    rows = ["month,sales"] + [f"2020-{m:02d},{100 + 10 * m}" for m in range(1, 13)]
    history.write_text("\n".join(rows) + "\n")
    fc = {"id": "sales", "timestamps": ["2021-01", "2021-02", "2021-03"], "forecast": [230.0, 240.0, 250.0],
          "level": 80, "lower": [220.0, 228.0, 236.0], "upper": [240.0, 252.0, 264.0],
          "lower_95": [210.0, 220.0, 226.0], "upper_95": [250.0, 260.0, 274.0]}
    return str(history), write_lines(tmp_path / "fc.jsonl", [fc])


@pytest.fixture
def vectors_file(tmp_path):
    """Six words in two tight clusters along different axes."""
    from rnntools.text import Vocab
    from rnntools.w2v.vectors import save

    tokens = ["sea", "ship", "whale", "tea", "cake", "bread"]
    vecs = np.array([[1, 0.1, 0], [1, 0, 0.1], [0.9, 0.1, 0.1], [0, 1, 0.1], [0.1, 1, 0], [0, 0.9, 0.1]], np.float32)
    vocab = Vocab.build(dict(zip(tokens, [60, 50, 40, 30, 20, 10])), specials=False)
    path = str(tmp_path / "v.npz")
    save(path, vocab, vecs)
    return path


@pytest.fixture
def log_file(tmp_path):
    events = [{"event": "start", "time": 0, "cell": "gru", "hidden": 8}]
    for step in range(10, 110, 10):
        events.append({"event": "step", "time": step / 10, "step": step, "loss": 2.0 / step ** 0.5, "lr": 0.01})
        if step % 50 == 0:
            events.append({"event": "eval", "time": step / 10, "step": step, "val_loss": 1.5 / step ** 0.3,
                           "val_accuracy": step / 200, "best": True})
    return write_lines(tmp_path / "log.jsonl", events)


@pytest.fixture
def scores_file(tmp_path):
    summary = {"examples": 10, "accuracy": 0.7, "labels": ["cat", "dog"], "confusion": [[4, 1], [2, 3]]}
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(summary) + "\n")
    return str(path)


# --- data ---------------------------------------------------------------------------------------------

def test_forecast_follows_the_history_or_overlays_it_when_it_starts_inside(forecast_files):
    from rnntools.tasks.forecast.series import read_series

    hist_path, fc_path = forecast_files
    history = read_series([hist_path])
    rec = json.loads(open(fc_path).read())
    (p,) = pdata.forecast_panels([(fc_path, 1, rec)], history, None)
    assert p.history_x == list(range(12)) and p.forecast_x == [12, 13, 14]
    assert [b.level for b in p.bands] == [95, 80]  # widest first
    assert p.labels[12] == "2021-01" and p.labels[0] == "2020-01"
    # a backtest: the forecast starts at 2020-11, inside the history, and is drawn over the actual values
    rec2 = dict(rec, timestamps=["2020-11", "2020-12", "2021-01"])
    (p2,) = pdata.forecast_panels([(fc_path, 1, rec2)], history, None)
    assert p2.forecast_x == [10, 11, 12] and p2.history_x == list(range(12))
    # --last keeps that many steps of history before the forecast
    (p3,) = pdata.forecast_panels([(fc_path, 1, rec)], history, 4)
    assert p3.history_x == [8, 9, 10, 11]


def test_forecast_without_the_series_in_the_history_is_an_error(forecast_files):
    from rnntools.errors import InputError
    from rnntools.tasks.forecast.series import read_series

    hist_path, fc_path = forecast_files
    rec = dict(json.loads(open(fc_path).read()), id="other")
    with pytest.raises(InputError, match="'other' is not in the history"):
        pdata.forecast_panels([(fc_path, 1, rec)], read_series([hist_path]), None)


def test_training_curves_from_an_rnn_train_log(log_file):
    events = [(i + 1, json.loads(line)) for i, line in enumerate(open(log_file))]
    curves = pdata.training_curves(events, log_file)
    names = [(c.name, c.panel) for c in curves.curves]
    assert names == [("training loss", "loss"), ("validation loss", "loss"), ("validation accuracy", "metric")]
    assert curves.curves[1].x == [50, 100] and curves.title == "gru 8"


def test_training_curves_of_an_ensemble_one_per_network(tmp_path):
    """A seq2seq ensemble's networks share one --log, each record marked "network": each network gets its own
    curves, not one curve zigzagging between them; a "network" that is not a whole number names its line."""
    from rnntools.errors import InputError

    records = [{"event": "start", "network": 2, "cell": "gru", "hidden": 8}, {"event": "start", "network": 1}]
    for step in (20, 40):
        for k in (1, 2):
            records.append({"event": "step", "network": k, "step": step, "loss": k + step / 100})
    records += [{"event": "eval", "network": k, "step": 40, "val_loss": k, "val_exact": k / 4} for k in (2, 1)]
    events = list(enumerate(records, 1))
    curves = pdata.training_curves(events, "e.jsonl")
    assert [c.name for c in curves.curves] == [
        f"{name} (network {k})" for k in (1, 2) for name in ("training loss", "validation loss", "validation exact")]
    assert [(c.x, c.y) for c in curves.curves[:3]] == [([20, 40], [1.2, 1.4]), ([40], [1]), ([40], [0.25])]
    assert curves.curves[3].y == [2.2, 2.4] and curves.title == "gru 8"
    # a single run's log (no "network") is drawn as before
    single = [(ln, {k: v for k, v in e.items() if k != "network"}) for ln, e in events if e.get("network") == 1]
    assert [c.name for c in pdata.training_curves(single, "s.jsonl").curves] == [
        "training loss", "validation loss", "validation exact"]
    events[3] = (4, {**records[3], "network": "2"})
    with pytest.raises(InputError, match='e.jsonl:4: .*"network" should be a whole number, got "2"'):
        pdata.training_curves(events, "e.jsonl")


def test_word_map_is_a_projection_and_keeps_a_plane_exactly(vectors_file):
    from rnntools.w2v.vectors import load

    vectors = load(vectors_file)
    points, explained = pdata.word_map(vectors, ["sea", "tea"], neighbors=2)
    assert [(p.word, p.chosen, p.group) for p in points[:2]] == [("sea", True, 0), ("tea", True, 1)]
    assert {p.word for p in points if p.group == 0} == {"sea", "ship", "whale"}
    assert {p.word for p in points if p.group == 1} == {"tea", "cake", "bread"}
    assert 0.5 < explained[0] <= 1 and explained[0] + explained[1] <= 1 + 1e-9
    unit = vectors.unit[[vectors.id(p.word) for p in points]].astype(np.float64)
    xy = np.array([[p.x, p.y] for p in points])
    full = np.linalg.norm(unit[:, None] - unit[None], axis=-1)
    flat = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    assert np.all(flat <= full + 1e-9)  # a projection never stretches a distance
    # the two clusters stay apart along the first axis
    assert np.sign(xy[0, 0]) != np.sign(xy[1, 0])
    # three points always lie in a plane: PCA to 2-D keeps their distances exactly
    three, _ = pdata.word_map(vectors, ["sea", "cake", "whale"], neighbors=0)
    xy3 = np.array([[p.x, p.y] for p in three])
    u3 = vectors.unit[[vectors.id(w) for w in ("sea", "cake", "whale")]].astype(np.float64)
    for i in range(3):
        for j in range(3):
            assert abs(np.linalg.norm(xy3[i] - xy3[j]) - np.linalg.norm(u3[i] - u3[j])) < 1e-6


# --- text rendering -----------------------------------------------------------------------------------

def test_text_forecast_puts_history_left_and_forecast_right(forecast_files, run_cli):
    hist_path, fc_path = forecast_files
    result = run_cli(["plot", "forecast", fc_path, "--history", hist_path, "--width", "40", "--height", "10"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("sales  (* history  o forecast") and "80% interval" in lines[0]
    grid = [line.split("|", 1)[1] for line in lines[1:11]]
    stars = [i for row in grid for i, ch in enumerate(row) if ch == "*"]
    circles = [i for row in grid for i, ch in enumerate(row) if ch == "o"]
    assert stars and circles and max(stars) < min(circles)
    # the history rises: its first column is lower (a larger row number) than its last
    first_row = next(r for r, row in enumerate(grid) if row[:1] == "*")
    last_star = max(stars)
    last_row = next(r for r, row in enumerate(grid) if len(row) > last_star and row[last_star] == "*")
    assert first_row > last_row
    assert lines[-1].split() == ["2020-01", "2021-03"]


def test_text_log_confusion_and_words(log_file, scores_file, vectors_file, run_cli):
    result = run_cli(["plot", "log", log_file])
    assert result.exit_code == 0, result.stderr
    assert "* training loss  o validation loss" in result.stdout and "validation accuracy" in result.stdout

    result = run_cli(["plot", "confusion", scores_file])
    assert result.exit_code == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0] == "confusion: rows true, columns predicted; accuracy 0.7"
    assert rows[2].split() == ["0", "cat", "4", "1", "0.80"] and rows[3].split() == ["1", "dog", "2", "3", "0.60"]

    result = run_cli(["plot", "words", vectors_file, "sea", "tea", "--neighbors", "1"])
    assert result.exit_code == 0, result.stderr
    assert "SEA" in result.stdout and "TEA" in result.stdout
    assert "ship" in result.stdout or "whale" in result.stdout


@pytest.mark.parametrize("args, message, status", [
    (["plot", "words", "{v}", "pizza"], "not in the vectors' vocabulary: pizza", 2),
    (["plot", "confusion", "{log}"], "no \"labels\" and \"confusion\"", 1),
    (["plot", "log", "{scores}"], "no training progress", 1),
    (["plot", "forecast", "{log}"], "not a forecast record", 1),
    (["plot", "log", "{log}", "-o", "{tmp}/x.gif"], "unknown picture format 'gif'", 2),
    (["plot", "log", "{log}", "--metric", "val_bleu"], "no evaluation reports 'val_bleu'", 2),
])
def test_bad_inputs_are_one_line_errors(args, message, status, vectors_file, log_file, scores_file, tmp_path, run_cli):
    args = [a.format(v=vectors_file, log=log_file, scores=scores_file, tmp=tmp_path) for a in args]
    result = run_cli(args)
    assert result.exit_code == status
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_pictures_need_matplotlib_and_say_so(log_file, tmp_path, run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run_cli(["plot", "log", log_file, "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 2
    assert "pip install 'rnntools[plot]'" in result.stderr
    assert not (tmp_path / "c.png").exists()


# --- pictures -----------------------------------------------------------------------------------------

def png_size(path):
    head = open(path, "rb").read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_png_and_svg_files(forecast_files, log_file, scores_file, vectors_file, tmp_path, run_cli):
    pytest.importorskip("matplotlib")
    hist_path, fc_path = forecast_files
    cases = [(["plot", "forecast", fc_path, "--history", hist_path], "sales"),
             (["plot", "log", log_file], "validation accuracy"),
             (["plot", "confusion", scores_file], "dog"),
             (["plot", "words", vectors_file, "sea", "tea"], "whale")]
    for i, (args, word) in enumerate(cases):
        png, svg = tmp_path / f"{i}.png", tmp_path / f"{i}.svg"
        for out in (png, svg):
            result = run_cli(args + ["-o", str(out)])
            assert result.exit_code == 0, result.stderr
            assert result.stdout == ""
        w, h = png_size(png)
        assert 200 < w < 2000 and 150 < h < 2000
        text = svg.read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text and word in text
        # the same input gives the same bytes
        again = tmp_path / f"{i}-again.svg"
        run_cli(args + ["-o", str(again)])
        assert again.read_bytes() == svg.read_bytes()
    # nothing left behind but the pictures
    assert all(not p.name.startswith(".") for p in tmp_path.iterdir())


def test_canvas_maps_the_corners():
    canvas = ptext.Canvas(10, 5, 0, 9, 0, 4)
    assert canvas.col(0) == 0 and canvas.col(9) == 9
    assert canvas.row(canvas.y1) == 0 and canvas.row(canvas.y0) == 4
