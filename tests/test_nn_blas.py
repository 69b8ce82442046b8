"""rnntools.nn.blas: the project's one BLAS-threads mechanism (ctypes, no threadpoolctl)."""

import sys

import numpy as np
import pytest

from rnntools.nn import blas


def test_finds_the_loaded_openblas_libraries():
    import scipy.linalg.cython_blas  # noqa: F401  (scipy's own OpenBLAS, which numba's np.dot uses)

    from rnntools.parallel import _openblas_libraries

    assert len(_openblas_libraries()) >= 1, "numpy/scipy ship OpenBLAS; none was found in /proc/self/maps"


def test_set_blas_threads_changes_every_library_and_restores():
    before = blas.blas_threads()
    assert before and all(n >= 1 for n in before)
    try:
        blas.set_blas_threads(1)
        assert blas.blas_threads() == [1] * len(before)
        a = np.ones((64, 64), np.float32)
        assert float((a @ a)[0, 0]) == 64.0     # BLAS still works with one thread
    finally:
        blas.set_blas_threads(max(before))
    assert blas.blas_threads() == [max(before)] * len(before)


def test_one_mechanism_sets_blas_threads(monkeypatch):
    import rnntools.parallel as parallel

    assert blas.set_blas_threads is parallel.set_blas_threads  # nn.blas re-exports the one implementation
    calls = []
    monkeypatch.setattr(parallel, "set_blas_threads", lambda n: calls.append(n))
    try:
        parallel.configure_threads(2)
        parallel.configure_threads(1)
        assert calls == [2, 1]
    finally:
        monkeypatch.undo()
        parallel.configure_threads(None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt and getrusage fault counts")
def test_training_steps_reuse_memory_without_page_faults():
    """The engine keeps freed blocks for reuse (parallel.keep_freed_memory): a repeated forward/backward
    with MB-sized activations must not fault its arrays back in every step."""
    import resource

    from rnntools import nn
    from rnntools.nn.parallel import keep_freed_memory

    assert keep_freed_memory()
    params = {}
    rnn = nn.Recurrent(params, "rnn", "lstm", 16, 64, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(50, 32, 16)).astype(np.float32)   # G: 50*32*256*4 = 1.6 MB

    def step():
        y, _, cache = rnn.forward(x)
        rnn.backward(y, cache, {})

    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
    assert faults < 100, f"{faults} page faults per step (one fresh 1.6 MB array alone costs ~400)"
