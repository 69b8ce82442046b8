"""``--scheduler``: predict, evaluate, vocab and bow on a Dask cluster give the bytes of a single-process run.

One local cluster of 2 worker processes serves the module (starting one takes seconds); the commands reach
it by its address, as they would a real scheduler. Skipped when ``distributed`` is not installed.
"""

from __future__ import annotations

import os
import sys

import pytest

from rnntools.io import FileRange, iter_lines

distributed = pytest.importorskip("distributed")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTRACT = os.path.join(ROOT, "tests", "data", "contract")
SAMPLES = os.path.join(ROOT, "samples")


@pytest.fixture(scope="module")
def cluster():
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as local:
        yield local


@pytest.fixture(scope="module")
def address(cluster):
    return cluster.scheduler_address


@pytest.fixture(scope="module")
def big_text(tmp_path_factory):
    """About 1 MB of real text: enough for several partitions of a 2-worker cluster."""
    path = tmp_path_factory.mktemp("text") / "big.txt"
    parts = [open(os.path.join(SAMPLES, name), encoding="utf-8").read() for name in ("book.txt", "corpus.txt")]
    path.write_text("".join(parts) * 2, encoding="utf-8")
    return str(path)


def same_as_single(run_cli, args, address, tmp_path=None):
    """Runs ``args`` in this process and on the cluster; both must succeed with the same stdout."""
    single = run_cli(args)
    assert single.exit_code == 0, single.stderr
    clustered = run_cli([*args, "--scheduler", address, "--threads", "1"])
    assert clustered.exit_code == 0, clustered.stderr
    assert clustered.stdout == single.stdout
    return single, clustered


@pytest.mark.parametrize("model, data", [("classify.npz", "samples/glosses.jsonl"), ("lm.npz", "samples/book.txt"),
                                         ("seq2seq.npz", "tests/data/contract/seq2seq_input.jsonl"),
                                         ("forecast.npz", "tests/data/contract/forecast_input.csv")])
def test_predict_gives_the_bytes_of_one_process(run_cli, address, model, data):
    single, clustered = same_as_single(run_cli, ["predict", os.path.join(CONTRACT, model), os.path.join(ROOT, data)],
                                       address)
    assert single.stdout.count("\n") >= (500 if "samples" in data else 1)
    # warnings of the partitions are summed into the single run's lines
    assert clustered.stderr == single.stderr


def test_evaluate_gives_the_bytes_of_one_process(run_cli, address, tmp_path):
    # an unseen label in a late partition: its row must come out where the single run puts it
    lines = open(os.path.join(SAMPLES, "glosses.jsonl"), encoding="utf-8").read().splitlines()
    lines[1900] = lines[1900].replace('"label": "', '"label": "zz.unseen')
    data = tmp_path / "test.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single, clustered = same_as_single(run_cli, ["evaluate", os.path.join(CONTRACT, "classify.npz"), data], address)
    assert clustered.stderr == single.stderr and "zz.unseen" in single.stderr


@pytest.mark.parametrize("model, data", [("lm.npz", "lm_input.txt"), ("seq2seq.npz", "seq2seq_input.jsonl"),
                                         ("forecast.npz", "forecast_input.csv")])
def test_evaluate_of_the_other_tasks_is_one_task_with_the_same_bytes(run_cli, address, model, data):
    same_as_single(run_cli, ["evaluate", os.path.join(CONTRACT, model), os.path.join(CONTRACT, data)], address)


def test_classifier_statistics_of_parts_sum_to_the_whole():
    """evaluate_combine of any split of the records is the summary of all of them, to the bit."""
    from rnntools.tasks import classify
    from rnntools.tasks.classify.data import exact_mean, exact_sum

    model = classify.load(os.path.join(CONTRACT, "classify.npz"))
    records = list(classify.read([os.path.join(SAMPLES, "glosses.jsonl")], model))[:600]
    whole = classify.evaluate(model, [dict(r) for r in records])
    cuts = [0, 1, 250, 251, 600]
    parts = [classify.evaluate_partial(model, [dict(r) for r in records[a:b]]) for a, b in zip(cuts, cuts[1:])]
    assert classify.evaluate_combine(model, parts) == whole
    import numpy as np

    values = np.random.default_rng(0).lognormal(0, 20, 1000)
    values[::7] = 5e-324  # subnormals are exact too
    total = exact_sum(values)
    assert total == exact_sum(values[:300]) + exact_sum(values[300:])
    from fractions import Fraction

    assert exact_mean(total, len(values)) == float(sum(map(Fraction, values.tolist())) / len(values))


@pytest.mark.parametrize("options", [[], ["--level", "char"], ["--min-count", "3", "--max-vocab", "500"]])
def test_vocab_counts_are_combined_exactly(run_cli, address, big_text, options):
    same_as_single(run_cli, ["vocab", big_text, *options], address)


def test_vocab_of_a_jsonl_field_and_of_several_files(run_cli, address, big_text):
    same_as_single(run_cli, ["vocab", "--text-field", "text", os.path.join(SAMPLES, "glosses.jsonl")], address)
    same_as_single(run_cli, ["vocab", big_text, os.path.join(SAMPLES, "corpus.txt"), big_text], address)


@pytest.mark.parametrize("mode", ["counts", "tfidf", "ids"])
def test_bow_gives_the_bytes_of_one_process(run_cli, address, big_text, tmp_path, mode):
    vocab = tmp_path / "vocab.jsonl"
    assert run_cli(["vocab", "--max-vocab", "2000", big_text, "-o", vocab]).exit_code == 0
    single, clustered = same_as_single(run_cli, ["bow", "--vocab", vocab, "--mode", mode, big_text], address)
    assert clustered.stderr == single.stderr  # the unknown-token warning, summed over partitions


def test_sharded_outputs_concatenate_to_the_single_output(run_cli, address, tmp_path):
    model, data = os.path.join(CONTRACT, "classify.npz"), os.path.join(SAMPLES, "glosses.jsonl")
    single = run_cli(["predict", model, data])
    result = run_cli(["predict", model, data, "--scheduler", address, "--threads", "1", "-q",
                      "-o", tmp_path / "part-{n:03d}.jsonl"])
    assert result.exit_code == 0, result.stderr
    shards = sorted(os.listdir(tmp_path))
    assert len(shards) > 1 and all(name.startswith("part-") for name in shards)  # no temporary file left
    assert "".join((tmp_path / name).read_text(encoding="utf-8") for name in shards) == single.stdout


def test_a_bad_record_is_the_same_one_line_error(run_cli, address, tmp_path):
    lines = open(os.path.join(SAMPLES, "glosses.jsonl"), encoding="utf-8").read().splitlines() * 2
    lines[3456] = '{"text": 5}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["predict", os.path.join(CONTRACT, "classify.npz"), bad]
    single = run_cli(args)
    clustered = run_cli([*args, "--scheduler", address, "--threads", "1", "-o", tmp_path / "out.jsonl"])
    assert single.exit_code == clustered.exit_code == 1
    assert "bad.jsonl:3457: field 'text' should be a string" in single.stderr
    assert clustered.stderr == single.stderr
    assert not os.path.exists(tmp_path / "out.jsonl")
    # a decoding error names the same line and byte
    raw = bytearray(open(os.path.join(SAMPLES, "corpus.txt"), "rb").read() * 8)
    at = raw.index(b"\n", len(raw) * 3 // 4) + 1
    raw[at:at] = b"\xff"
    (tmp_path / "bad.txt").write_bytes(bytes(raw))
    args = ["vocab", tmp_path / "bad.txt"]
    single, clustered = run_cli(args), run_cli([*args, "--scheduler", address])
    assert single.exit_code == clustered.exit_code == 1
    assert "invalid UTF-8 at byte" in single.stderr and clustered.stderr == single.stderr


class KillOnce(distributed.WorkerPlugin):
    """Kills the worker process the first time it starts a task of ours (the marker file says it did)."""

    def __init__(self, marker: str):
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        name = key if isinstance(key, str) else str(key)
        if finish == "executing" and name.startswith("rnntools-predict") and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_repeats_nothing(run_cli, cluster, address, tmp_path):
    model, data = os.path.join(CONTRACT, "classify.npz"), os.path.join(SAMPLES, "glosses.jsonl")
    single = run_cli(["predict", model, data])
    marker = tmp_path / "killed"
    with distributed.Client(address) as client:
        client.register_plugin(KillOnce(str(marker)), name="kill-once")
        try:
            result = run_cli(["predict", model, data, "--scheduler", address, "--threads", "1", "-q"])
        finally:
            client.unregister_worker_plugin("kill-once")
        client.wait_for_workers(2, timeout=60)
    assert marker.exists()  # a worker did die during the run
    assert result.exit_code == 0, result.stderr
    assert result.stdout == single.stdout


def test_an_unreachable_scheduler_is_a_one_line_error(run_cli, monkeypatch):
    monkeypatch.setenv("RNNTOOLS_SCHEDULER_TIMEOUT", "1")
    result = run_cli(["vocab", os.path.join(SAMPLES, "corpus.txt"), "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.stderr.startswith("rnntools vocab: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_usage_errors(run_cli, monkeypatch):
    corpus = os.path.join(SAMPLES, "corpus.txt")
    for bad in ("abc", "nan", "-5", "inf"):
        monkeypatch.setenv("RNNTOOLS_SCHEDULER_TIMEOUT", bad)
        result = run_cli(["vocab", corpus, "--scheduler", "tcp://127.0.0.1:9"])
        assert result.exit_code == 2 and "RNNTOOLS_SCHEDULER_TIMEOUT" in result.stderr, result.stderr
    monkeypatch.delenv("RNNTOOLS_SCHEDULER_TIMEOUT")
    result = run_cli(["vocab", corpus, "--scheduler", "local:x"])
    assert result.exit_code == 2 and "expected local:N" in result.stderr
    # local:100000 tried to start that many processes and hung; more than memory holds is refused too
    result = run_cli(["vocab", corpus, "--scheduler", "local:100000"])
    assert result.exit_code == 2 and "at most local:256" in result.stderr
    from rnntools import errors

    monkeypatch.setattr(errors, "available_memory", lambda: 1 << 30)
    result = run_cli(["vocab", corpus, "--scheduler", "local:64"])
    assert result.exit_code == 2 and "lower N in local:N" in result.stderr
    result = run_cli(["vocab", "-", "--scheduler", "local:1"], input="a b\n")
    assert result.exit_code == 2 and "not stdin" in result.stderr
    result = run_cli(["predict", os.path.join(CONTRACT, "forecast.npz"), os.path.join(CONTRACT, "forecast_input.csv"),
                      "--format", "csv", "--scheduler", "local:1"])
    assert result.exit_code == 2 and "--format csv" in result.stderr
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    result = run_cli(["vocab", corpus, "--scheduler", "local:1"])
    assert result.exit_code == 2 and "pip install 'rnntools[dask]'" in result.stderr
    monkeypatch.setenv("RNNTOOLS_SCHEDULER", "none")  # none: this process, as without the variable
    assert run_cli(["vocab", corpus]).exit_code == 0


@pytest.mark.slow
def test_local_cluster_from_the_environment(run_cli, big_text, monkeypatch):
    """Also with Dask's default HTTP port taken (another cluster, another cron job): a local cluster takes
    any free port and says nothing about it."""
    import socket
    import warnings

    single = run_cli(["vocab", big_text])
    monkeypatch.setenv("RNNTOOLS_SCHEDULER", "local:2")
    blocker = socket.socket()
    try:
        blocker.bind(("", 8787))
        blocker.listen()
    except OSError:
        pass  # something else holds it already: the same situation
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_cli(["vocab", big_text])
    finally:
        blocker.close()
    assert result.exit_code == 0, result.stderr
    assert result.stdout == single.stdout
    assert "already in use" not in result.stderr
    assert not [w for w in caught if "already in use" in str(w.message)]


def test_byte_ranges_start_at_lines_that_read_like_the_whole_file(tmp_path):
    from rnntools.distributed import file_ranges

    # plain lines, some of which look like JSON: a range must not start at one (readers sniff their first line)
    lines = [("{not json} %d" if i % 3 == 1 else "line %d") % i for i in range(5000)]
    path = tmp_path / "plain.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ranges = file_ranges(str(path), os.path.getsize(path), 4096)
    assert len(ranges) > 5
    assert ranges[0].start == 0 and ranges[-1].end == os.path.getsize(path)
    data = path.read_bytes()
    for prev, r in zip(ranges, ranges[1:]):
        assert prev.end == r.start and data[r.start - 1:r.start] == b"\n"
        assert not data[r.start:].lstrip().startswith(b"{")
    # numbered as in the whole file once first_line is set
    r = ranges[3]
    r.first_line = data[:r.start].count(b"\n") + 1
    got = list(iter_lines(r))
    assert got[0] == (r.first_line, lines[r.first_line - 1])
    assert got[-1][0] == data[:r.end].count(b"\n")


def test_a_file_range_is_named_as_given_and_read_where_it_is(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("one\ntwo\nthree\n", encoding="utf-8")
    r = FileRange("shown-name.txt", str(path), 4, 8, first_line=2)
    assert list(iter_lines(r)) == [(2, "two")]
    assert str(r) == "shown-name.txt"
    import pickle

    back = pickle.loads(pickle.dumps(r))
    assert (str(back), back.real, back.start, back.end, back.first_line) == ("shown-name.txt", str(path), 4, 8, 2)


@pytest.fixture(scope="module")
def many_series(tmp_path_factory):
    """150 monthly series (the airline shape, scaled, with noise) in the three layouts a forecast file takes:
    long CSV (rows of a series together), the same with quoted fields, sorted by month (a series' rows
    apart), and JSONL; each large enough to be cut into several ranges for 2 workers."""
    import json

    import numpy as np

    air = [float(line.split(",")[1]) for line in open(os.path.join(SAMPLES, "airline.csv")).read().split()[1:]]
    months = [f"{1949 + k // 12}-{k % 12 + 1:02d}" for k in range(len(air))]
    rng = np.random.default_rng(0)
    series = {f"s{i:03d}": np.round(np.array(air) * rng.uniform(0.5, 2) + rng.normal(0, 5, len(air)), 1)
              for i in range(150)}
    folder = tmp_path_factory.mktemp("series")
    rows = [(sid, m, v) for sid, vs in series.items() for m, v in zip(months, vs)]
    paths = {}
    for name, header, fmt, order in [("long.csv", "store,month,sales", "{},{},{}", rows),
                                     ("quoted.csv", '"store","month","sales"', '"{}",{},{}', rows),
                                     ("by-month.csv", "store,month,sales", "{},{},{}",
                                      sorted(rows, key=lambda r: r[1]))]:
        paths[name] = folder / name
        paths[name].write_text("\n".join([header, *(fmt.format(*r) for r in order)]) + "\n", encoding="utf-8")
    paths["jsonl"] = folder / "series.jsonl"
    paths["jsonl"].write_text("".join(json.dumps({"id": sid, "start": "1949-01", "freq": "M", "values": vs.tolist()})
                                      + "\n" for sid, vs in series.items()), encoding="utf-8")
    return {k: str(v) for k, v in paths.items()}


@pytest.mark.parametrize("layout", ["long.csv", "quoted.csv", "by-month.csv", "jsonl"])
def test_forecast_files_are_cut_where_a_series_ends(run_cli, address, many_series, layout):
    same_as_single(run_cli, ["predict", os.path.join(CONTRACT, "forecast.npz"), many_series[layout]], address)


def test_forecast_csv_ranges_end_with_a_series_and_carry_the_header(many_series):
    from rnntools.distributed.partitions import _scan, join_ranges, key_ranges
    from rnntools.tasks import forecast

    model = forecast.load(os.path.join(CONTRACT, "forecast.npz"))
    path = many_series["long.csv"]
    how = forecast.partitioning(model, path)
    assert how["key"] == "store" and how["options"]["target"] == "sales"
    ranges, spec = key_ranges(path, os.path.getsize(path), 40_000, how)
    assert len(ranges) > 5
    data = open(path, "rb").read()
    scans = [_scan(r, spec) for r in ranges]
    for prev, r, scan in zip(ranges, ranges[1:], scans[1:]):
        assert prev.end == r.start and data[r.start - 1:r.start] == b"\n"
        assert data[:r.start].splitlines()[-1].split(b",")[0] != data[r.start:].split(b",")[0]
        assert scan[2][0] == data[r.start:].split(b",")[0].decode()  # its first series
    assert join_ranges(ranges, scans) == ranges
    # a range reads as its part of the whole file: the header first, the file's own line numbers
    r = ranges[2]
    r.first_line = data[:r.start].count(b"\n") + 1
    got = list(iter_lines(r))
    assert got[0] == (1, "store,month,sales") and got[1] == (r.first_line, data[r.start:].split(b"\n")[0].decode())
    # a series that comes back in a later range, or a quote left open, joins the ranges it spans
    scans[4] = (scans[4][0], scans[4][1], scans[4][2] + [scans[1][2][0]])
    joined = join_ranges(ranges, scans)
    assert [(j.start, j.end) for j in joined] == [(ranges[0].start, ranges[0].end),
                                                  (ranges[1].start, ranges[4].end)] + \
        [(x.start, x.end) for x in ranges[5:]]
    scans = [_scan(x, spec) for x in ranges]
    scans[0] = (scans[0][0], 1, scans[0][2])
    assert len(join_ranges(ranges, scans)) == 1


def test_forecast_errors_name_the_files_own_line(run_cli, address, many_series, tmp_path):
    model = os.path.join(CONTRACT, "forecast.npz")
    lines = open(many_series["long.csv"], encoding="utf-8").read().splitlines()
    lines[17000] = lines[17000].rsplit(",", 1)[0] + ",lots"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single = run_cli(["predict", model, bad])
    clustered = run_cli(["predict", model, bad, "--scheduler", address, "--threads", "1"])
    assert single.exit_code == clustered.exit_code == 1
    assert "bad.csv:17001: column 'sales': 'lots' is not a number" in single.stderr
    assert clustered.stderr == single.stderr
    # a series id that comes again in a later range is the error of one process
    lines = open(many_series["jsonl"], encoding="utf-8").read().splitlines()
    lines[140] = lines[140].replace('"s140"', '"s003"')
    dup = tmp_path / "dup.jsonl"
    dup.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single = run_cli(["predict", model, dup])
    clustered = run_cli(["predict", model, dup, "--scheduler", address, "--threads", "1", "-o", tmp_path / "o.jsonl"])
    assert single.exit_code == clustered.exit_code == 1
    assert "dup.jsonl:141: series id 's003' appears again (first on line 4)" in single.stderr
    assert clustered.stderr == single.stderr and not os.path.exists(tmp_path / "o.jsonl")


def test_backtest_folds_run_as_tasks_with_the_summary_of_one_process(run_cli, address):
    args = ["evaluate", os.path.join(CONTRACT, "forecast.npz"), os.path.join(CONTRACT, "forecast_input.csv"),
            "--backtest", "2", "--seed", "4"]
    with distributed.Client(address) as client, distributed.get_task_stream(client) as stream:
        single, clustered = same_as_single(run_cli, args, address)
    folds = {t["key"] for t in stream.data if str(t["key"]).startswith("rnntools-evaluate-piece")}
    assert len(folds) == 2  # each fold (a training of its own) was a task
    assert '"folds": 2' in single.stdout and clustered.stderr == single.stderr


def test_backtest_summary_of_its_folds_is_the_backtest():
    from rnntools.tasks import forecast

    model = forecast.load(os.path.join(CONTRACT, "forecast.npz"))
    series = list(forecast.read([os.path.join(CONTRACT, "forecast_input.csv")], model))
    pieces = forecast.evaluate_pieces(model, backtest=2)
    assert list(pieces) == [2, 1]
    parts = [forecast.evaluate_piece(model, series, k, backtest=2, refit=False) for k in pieces]
    assert forecast.combine_pieces(model, parts) == forecast.evaluate(model, series, backtest=2, refit=False)
    assert [r["fold"] for r in parts[0]["rows"] + parts[1]["rows"]] == [1, 2]


def test_a_series_forecast_does_not_depend_on_the_series_beside_it():
    """A partition forecasts some of a file's series; each must get the bits it gets among all of them (the
    output layer's BLAS product sums in another order for some row counts)."""
    from dataclasses import replace

    import numpy as np

    from rnntools.tasks import forecast
    from rnntools.tasks.forecast.model import Member

    cfg = forecast.load(os.path.join(CONTRACT, "forecast.npz")).cfg
    member = Member(replace(cfg, hidden=32), 18, rng=np.random.default_rng(0))  # the default size
    X = np.random.default_rng(0).normal(size=(12, 700, member.rnn.input_size)).astype(np.float32)
    whole = member.forward_last(X)
    for a, b in [(0, 1), (5, 13), (7, 8), (3, 603), (64, 128), (1, 700)]:
        assert np.array_equal(whole[a:b], member.forward_last(X[:, a:b])), (a, b)


def test_counts_merged_in_a_tree_on_the_workers_are_the_counts_merged_in_order(address, big_text):
    from rnntools.distributed import Cluster, plan
    from rnntools.distributed.worker import _count, _merge_counts, _settings
    from rnntools.text.vocab import TokenCounter

    with Cluster(address, 1) as cluster:
        parts = plan(cluster, [big_text, big_text])
        assert len(parts) > 4
        args = ("word", True, None, "strict", _settings())
        tree = cluster.reduce(_count, _merge_counts, parts, *args, fan_in=2)  # three levels of merges
        ordered = TokenCounter("word", True)
        for counter in cluster.ordered(_count, parts, *args):
            ordered.update(counter)
    assert list(tree.counts.items()) == list(ordered.counts.items())
    assert list(tree.doc_freq.items()) == list(ordered.doc_freq.items()) and tree.documents == ordered.documents


def run_process(args, tmp_path, **kwargs):
    """``rnntools ARGS`` as its own process (real stdout and files: the spooled outputs' kernel copies), with
    its temporary folder (where the spool is made) in ``tmp_path``."""
    import signal
    import subprocess

    env = {**os.environ, "PYTHONPATH": ROOT, "TMPDIR": str(tmp_path), "RNNTOOLS_SCHEDULER": "none"}
    # Ctrl-C as a foreground process has it, whatever the test runner inherited (a job started in the
    # background by a shell without job control has SIGINT ignored, and rnntools keeps an ignored SIGINT)
    kwargs.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return subprocess.Popen([sys.executable, "-m", "rnntools", *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)


def spools(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.startswith(".rnntools-spool-")]


def test_spooled_outputs_reach_a_pipe_a_file_and_shards_with_the_same_bytes(run_cli, address, big_text, tmp_path):
    model, data = os.path.join(CONTRACT, "classify.npz"), os.path.join(SAMPLES, "glosses.jsonl")
    single = run_cli(["predict", model, data]).stdout.encode()
    args = ["predict", model, data, "--scheduler", address, "--threads", "1"]
    piped = run_process(args, tmp_path)  # stdout a pipe: sendfile
    out, err = piped.communicate(timeout=120)
    assert piped.returncode == 0, err
    assert out == single
    filed = run_process([*args, "-o", tmp_path / "out.jsonl"], tmp_path)  # a file: copy_file_range
    assert filed.wait(timeout=120) == 0, filed.stderr.read()
    assert (tmp_path / "out.jsonl").read_bytes() == single
    (tmp_path / "shards").mkdir()
    sharded = run_process([*args, "-o", tmp_path / "shards" / "part-{n:03d}.jsonl"], tmp_path)
    assert sharded.wait(timeout=120) == 0, sharded.stderr.read()
    names = sorted(os.listdir(tmp_path / "shards"))  # renamed from the spool beside them, nothing else left
    assert len(names) > 1 and all(name.startswith("part-") for name in names)
    assert b"".join((tmp_path / "shards" / name).read_bytes() for name in names) == single
    vocab = tmp_path / "vocab.jsonl"
    assert run_cli(["vocab", "--max-vocab", "2000", big_text, "-o", vocab]).exit_code == 0
    bow = ["bow", "--vocab", vocab, big_text]
    piped = run_process([*bow, "--scheduler", address], tmp_path)
    assert piped.communicate(timeout=120)[0] == run_cli(bow).stdout.encode()
    assert spools(tmp_path) == []  # every spool removed


def test_a_task_writes_to_the_spool_only_if_its_worker_sees_it(tmp_path, monkeypatch):
    """A worker on another machine (no shared folder), or one that may not write there, returns the text
    instead; both are the same bytes."""
    import tempfile

    from rnntools.distributed.worker import Spooled, _predict, _settings

    model = FileRange("classify.npz", os.path.join(CONTRACT, "classify.npz"))
    part = [FileRange("glosses.jsonl", os.path.join(SAMPLES, "glosses.jsonl"))]
    text, _, _ = _predict(part, "classify", model, {}, _settings(), 1, str(tmp_path / "elsewhere"))
    assert isinstance(text, str) and text.count("\n") > 500

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", refused)
        assert _predict(part, "classify", model, {}, _settings(), 1, str(tmp_path))[0] == text
    spooled, _, _ = _predict(part, "classify", model, {}, _settings(), 1, str(tmp_path))
    assert isinstance(spooled, Spooled) and os.path.dirname(spooled.path) == str(tmp_path)
    assert open(spooled.path, "rb").read() == text.encode() and spooled.size == len(text.encode())


def test_a_spooled_file_is_copied_to_any_stream(tmp_path):
    import io

    from rnntools.distributed.client import copy_spooled
    from rnntools.distributed.worker import Spooled
    from rnntools.errors import RnnToolsError

    text = "é\n" * 700_000  # blocks of the fallback end inside a character
    path = tmp_path / "part.jsonl"
    path.write_text(text, encoding="utf-8")
    spooled = Spooled(str(path), os.path.getsize(path))
    for stream in (io.StringIO(), io.TextIOWrapper(io.BytesIO(), encoding="utf-8")):
        stream.write("before\n")
        copy_spooled(spooled, stream)
        got = stream.getvalue() if isinstance(stream, io.StringIO) else stream.buffer.getvalue().decode()
        assert got == "before\n" + text
    with open(tmp_path / "out", "w", encoding="utf-8") as f:
        f.write("before\n")
        copy_spooled(spooled, f)
        f.write("after\n")
    assert (tmp_path / "out").read_text(encoding="utf-8") == "before\n" + text + "after\n"
    with pytest.raises(RnnToolsError, match="cut short"):
        copy_spooled(Spooled(str(path), spooled.size + 1), io.StringIO())


@pytest.mark.slow
def test_ctrl_c_leaves_no_output_and_no_spool(address, tmp_path):
    import signal
    import time

    big = tmp_path / "big.jsonl"
    lines = open(os.path.join(SAMPLES, "glosses.jsonl"), encoding="utf-8").read()
    big.write_text(lines * 50, encoding="utf-8")  # 100,000 records: several seconds of work
    run = run_process(["predict", os.path.join(CONTRACT, "classify.npz"), big, "--scheduler", address,
                       "--threads", "1", "-o", tmp_path / "out.jsonl"], tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and run.poll() is None:  # interrupted once a task writes its spool
        if any(os.listdir(tmp_path / s) for s in spools(tmp_path)):
            break
        time.sleep(0.05)
    assert run.poll() is None, run.stderr.read()
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=60) == 130, run.stderr.read()
    assert sorted(os.listdir(tmp_path)) == ["big.jsonl"]  # no output, no temporary file, no spool
