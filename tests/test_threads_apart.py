"""Threads kept apart: a split run's threads pinned for its duration (parallel.ThreadsApart), and the engine's
workers one per core when they use every core (nn.parallel.worker_cores)."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from rnntools.parallel import ThreadsApart, current_cpu

linux = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity calls")


@linux
def test_current_cpu_is_one_the_thread_may_run_on():
    assert current_cpu(0) in os.sched_getaffinity(0)
    assert current_cpu(threading.get_native_id()) in os.sched_getaffinity(0)
    assert current_cpu(2**31 - 1) is None   # no such thread


@linux
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two allowed cores")
def test_threads_are_pinned_apart_for_the_run_and_free_afterwards():
    mask = os.sched_getaffinity(0)
    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(threading.get_native_id).result()
        apart = ThreadsApart([worker])
        with apart:
            main_cpus = os.sched_getaffinity(0)
            worker_cpus = pool.submit(os.sched_getaffinity, 0).result()
            assert apart.pinned
            assert len(main_cpus) == 1 and len(worker_cpus) == 1
            assert main_cpus != worker_cpus and main_cpus | worker_cpus <= mask
        assert os.sched_getaffinity(0) == mask
        assert pool.submit(os.sched_getaffinity, 0).result() == mask
        assert not apart.pinned


@linux
def test_nothing_is_pinned_when_there_are_not_enough_cores():
    apart = ThreadsApart([threading.get_native_id()] * 4096)
    before = os.sched_getaffinity(0)
    with apart:
        assert not apart.pinned and os.sched_getaffinity(0) == before


@linux
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two allowed cores")
def test_a_refused_pin_leaves_every_mask_as_it_was(monkeypatch):
    mask = os.sched_getaffinity(0)
    real = os.sched_setaffinity

    def refuse_workers(tid, cpus):
        if tid != 0 and len(cpus) == 1:
            raise PermissionError("not allowed")
        real(tid, cpus)

    monkeypatch.setattr(os, "sched_setaffinity", refuse_workers)
    with ThreadPoolExecutor(1) as pool:
        apart = ThreadsApart([pool.submit(threading.get_native_id).result()])
        with apart:
            assert not apart.pinned and os.sched_getaffinity(0) == mask


@linux
def test_engine_workers_are_pinned_one_per_core_only_when_they_use_every_core():
    from rnntools.nn import parallel as engine

    cores = sorted(os.sched_getaffinity(0))
    assert engine.worker_cores(len(cores)) == (cores if len(cores) > 1 else [])
    assert engine.worker_cores(len(cores) + 1) == [] and engine.worker_cores(1) == []


@linux
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two allowed cores")
def test_engine_workers_run_on_distinct_cores():
    from rnntools.nn import parallel as engine

    cores = sorted(os.sched_getaffinity(0))
    before = engine.get_threads()
    engine.set_threads(len(cores))
    try:
        started = threading.Barrier(len(cores))

        def mask(r0, r1):
            started.wait(timeout=10)   # every worker busy at once, so each range runs on its own thread
            return os.sched_getaffinity(0)

        masks = engine.run_rows(mask, 8 * len(cores) * engine.MIN_ROWS_PER_THREAD)
        assert sorted(c for m in masks for c in m) == cores and all(len(m) == 1 for m in masks)
        assert os.sched_getaffinity(0) == set(cores)   # the calling thread stays free
    finally:
        engine.set_threads(before)
