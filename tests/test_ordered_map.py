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
