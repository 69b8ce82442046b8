"""rnntools.nn.barrier: threads that meet at every step see each other's writes from before the meeting."""

from __future__ import annotations

import threading

import numpy as np

from rnntools.jit import njit
from rnntools.nn.barrier import SLOT, barrier


@njit(nogil=True)
def _steps(flags, part, parts, values, seen, n):
    """At step s each thread writes s into its slot of ``values``, meets the others, and records the
    smallest value the others had written: with a working barrier, always s."""
    for s in range(1, n + 1):
        values[part * SLOT] = s
        barrier(flags, part, parts, 2 * s - 1)
        low = n + 1
        for other in range(parts):
            if values[other * SLOT] < low:
                low = values[other * SLOT]
        seen[s - 1] = low
        barrier(flags, part, parts, 2 * s)   # nobody writes step s + 1 before everyone has read step s


def test_barrier_orders_the_steps_of_three_threads():
    parts, n = 3, 2000
    flags = np.zeros(SLOT * parts, np.int64)
    values = np.zeros(SLOT * parts, np.int64)
    seen = np.zeros((parts, n), np.int64)
    threads = [threading.Thread(target=_steps, args=(flags, p, parts, values, seen[p], n)) for p in range(1, parts)]
    for t in threads:
        t.start()
    _steps(flags, 0, parts, values, seen[0], n)
    for t in threads:
        t.join()
    np.testing.assert_array_equal(seen, np.tile(np.arange(1, n + 1), (parts, 1)))
    assert list(flags[::SLOT]) == [2 * n] * parts


def test_one_thread_passes_its_meetings():
    flags = np.zeros(SLOT, np.int64)
    values = np.zeros(SLOT, np.int64)
    seen = np.zeros(5, np.int64)
    _steps(flags, 0, 1, values, seen, 5)
    assert list(seen) == [1, 2, 3, 4, 5]
