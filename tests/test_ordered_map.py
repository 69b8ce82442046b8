"""rnntools.parallel.ordered_map: results in input order, from worker processes."""

import os

import pytest

from rnntools.parallel import ordered_map


def _square_and_pid(x):
    if x == "boom":
        raise ValueError("bad item")
    return x * x, os.getpid()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_in_input_order(workers):
    out = list(ordered_map(_square_and_pid, range(40), workers))
    assert [v for v, _ in out] == [x * x for x in range(40)]
    pids = {pid for _, pid in out}
    if workers == 1:
        assert pids == {os.getpid()}
    else:
        # the reading process only hands items out and writes results: computing a share itself held the
        # GIL against the pool's feeder threads and made bow slower (docs/performance.md)
        assert os.getpid() not in pids and len(pids) <= workers


@pytest.mark.parametrize("bad", [0, 1, 5])
def test_an_error_comes_after_the_results_before_it(bad):
    """A failing item's error comes after the results of the items before it."""
    items = [1, 2, 3, 4, 5, 6]
    items[bad] = "boom"
    got = []
    with pytest.raises(ValueError, match="bad item"):
        for value, _ in ordered_map(_square_and_pid, items, 2):
            got.append(value)
    assert got == [x * x for x in items[:bad]]


def _echo_size(item):
    # megabytes each way: more than a pipe holds, so a design where both sides could wait on a full pipe
    # (this process writing the next item while the worker writes its result) would hang here
    return b"r" * (len(item) + 1)


def test_large_items_and_results_do_not_wait_on_each_other():
    items = [b"i" * (3_000_000 + k) for k in range(7)]
    out = list(ordered_map(_echo_size, items, 2))
    assert [len(r) for r in out] == [len(i) + 1 for i in items]


def _die_on_three(x):
    if x == 3:
        os._exit(7)
    return x


def test_a_worker_that_dies_is_an_error_not_a_hang():
    import multiprocessing

    from rnntools.errors import RnnToolsError

    got = []
    with pytest.raises(RnnToolsError, match=r"ended unexpectedly \(exit status 7\); --threads 1"):
        for value in ordered_map(_die_on_three, range(8), 2):
            got.append(value)
    assert got == [0, 1, 2]
    assert multiprocessing.active_children() == []


def _killed_on_two(x):
    if x == 2:
        os.kill(os.getpid(), 9)
    return x


def test_a_killed_worker_says_so():
    from rnntools.errors import RnnToolsError

    with pytest.raises(RnnToolsError, match=r"killed by SIGKILL \(out of memory\?\)"):
        list(ordered_map(_killed_on_two, range(6), 2))


def _unpicklable(x):
    return lambda: x


def test_a_result_that_cannot_be_sent_back_is_an_error():
    with pytest.raises(RuntimeError, match="pickle"):
        list(ordered_map(_unpicklable, range(3), 2))


def test_an_abandoned_map_stops_its_workers():
    import multiprocessing

    out = ordered_map(_square_and_pid, range(100), 2)
    assert next(out)[0] == 0
    assert multiprocessing.active_children()
    out.close()
    assert multiprocessing.active_children() == []


def _mask_at_start_and_after(x):
    import signal

    return x, sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))


def test_a_signal_before_a_worker_set_its_handling_is_held_not_lost(monkeypatch):
    """A signal sent to a worker before ``worker_signals`` set its handling (the parent stopping workers it had
    just started, on an input error) was noted for the parent's Python handler the worker inherited, then
    dropped when that handler became SIG_DFL: the worker lived on and the parent waited for it for ever. The
    fork holds SIGINT/SIGTERM/SIGHUP until the worker's handling is set."""
    import signal

    import rnntools.parallel as parallel

    seen = []
    real = parallel.worker_signals

    def recording():  # in the worker, before its handling is set
        os.write(fd_w, (",".join(str(int(s)) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])) + "\n").encode())
        real()

    fd_r, fd_w = os.pipe()
    monkeypatch.setattr(parallel, "worker_signals", recording)
    out = list(ordered_map(_mask_at_start_and_after, range(4), 2))
    os.close(fd_w)
    with os.fdopen(fd_r) as f:
        seen = [set(map(int, line.split(","))) if line.strip() else set() for line in f]
    assert len(seen) == 2
    for at_start in seen:
        assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= at_start
    for _, after in out:
        assert not {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} & set(after)
    assert not {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} & signal.pthread_sigmask(signal.SIG_BLOCK, [])


_DEAF_WORKER = """
import signal, sys, time
import rnntools.parallel as parallel
real = parallel.worker_signals
def deaf():
    real()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # a worker the parent's stop signal does not reach
parallel.worker_signals = deaf
def items():
    yield 1
    yield 2
    time.sleep(0.5)
    raise ValueError("bad input")
try:
    for _ in parallel.ordered_map(abs, items(), 2):
        pass
except ValueError:
    print("stopped")
"""


def test_stopping_ends_a_worker_the_signal_did_not_reach():
    """Stopping the workers closes their item pipes before waiting for them: one that missed the parent's
    SIGTERM reads the end and returns, instead of waiting for an item for ever."""
    import subprocess
    import sys

    from conftest import ROOT

    done = subprocess.run([sys.executable, "-c", _DEAF_WORKER], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr
