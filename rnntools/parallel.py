"""Order-keeping parallel map over worker processes, for the CPU-bound pure-Python stages (tokenising,
counting, formatting JSON) that threads cannot speed up because of the GIL.

Workers are forked, so they inherit the state ``setup`` builds (a vocabulary, an encoder) without pickling
it. At most ``window`` items are in flight, so memory stays flat on endless input.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_worker_state: dict[str, Any] = {}


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _init(func: Callable) -> None:
    import signal

    # Ctrl-C is the parent's to handle; it terminates the pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_state["func"] = func


def _call(item: Any) -> Any:
    return _worker_state["func"](item)


def ordered_map(func: Callable[[Any], Any], items: Iterable[Any], workers: int, window: int = 0) -> Iterator[Any]:
    """``map(func, items)`` computed in ``workers`` forked processes, results in input order."""
    if workers <= 1:
        yield from map(func, items)
        return
    import multiprocessing

    window = window or 3 * workers
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_init, initargs=(func,))
    try:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(_call, (item,)))
            if len(pending) >= window:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
        pool.join()
    finally:
        pool.terminate()
