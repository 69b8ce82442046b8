"""rnntools.nn.blas: the project's one BLAS-threads mechanism (ctypes, no threadpoolctl)."""

import numpy as np

from rnntools.nn import blas


def test_finds_the_loaded_openblas_libraries():
    assert blas._libraries(), "numpy/scipy ship OpenBLAS; none was found in /proc/self/maps"


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


def test_callers_use_the_one_mechanism(monkeypatch):
    calls = []
    monkeypatch.setattr(blas, "set_blas_threads", lambda n: calls.append(n))
    from rnntools.tasks import classify, trainer

    trainer.set_threads(2)
    classify.limit_blas_threads(1)
    assert calls == [2, 1]
