"""rnntools.parallel.ordered_map: results in input order, this process computing its share."""

import os

import pytest

from rnntools.parallel import ordered_map


def _square_and_pid(x):
    if x == "boom":
        raise ValueError("bad item")
    return x * x, os.getpid()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_in_input_order_and_shared_with_this_process(workers):
    out = list(ordered_map(_square_and_pid, range(40), workers))
    assert [v for v, _ in out] == [x * x for x in range(40)]
    pids = {pid for _, pid in out}
    if workers == 1:
        assert pids == {os.getpid()}
    else:
        # every workers-th item here, the others in the helper processes
        assert [pid == os.getpid() for _, pid in out] == [i % workers == workers - 1 for i in range(40)]
        assert len(pids) <= workers


@pytest.mark.parametrize("bad", [0, 1, 5])
def test_an_error_comes_after_the_results_before_it(bad):
    """Wherever the failing item is computed (here or in a helper), the results before it come first."""
    items = [1, 2, 3, 4, 5, 6]
    items[bad] = "boom"
    got = []
    with pytest.raises(ValueError, match="bad item"):
        for value, _ in ordered_map(_square_and_pid, items, 2):
            got.append(value)
    assert got == [x * x for x in items[:bad]]
