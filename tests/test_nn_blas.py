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


def _cpuinfo(tmp_path, vendor, family, flags):
    path = tmp_path / "cpuinfo"
    block = f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: 17\nflags\t\t: {flags}\n\n"
    path.write_text(block + block.replace("processor\t: 0", "processor\t: 1"))
    return str(path)


def test_openblas_kernels_chosen_only_where_measured(tmp_path):
    """Zen 4 (AMD family 25 with AVX-512) gets OpenBLAS's Haswell kernels; Zen 3 (no AVX-512), Zen 5 (family 26)
    and Intel CPUs keep OpenBLAS's own choice; a user's OPENBLAS_CORETYPE is never overridden; no cpuinfo, no
    change."""
    from rnntools.parallel import choose_blas_kernels, cpu_signature

    zen4 = _cpuinfo(tmp_path, "AuthenticAMD", 25, "fpu sse2 avx2 fma avx512f avx512bw")
    assert cpu_signature(zen4)[:2] == ("AuthenticAMD", 25) and "avx512f" in cpu_signature(zen4)[2]
    env = {}
    assert choose_blas_kernels(env, zen4) == "Haswell" and env == {"OPENBLAS_CORETYPE": "Haswell"}
    env = {"OPENBLAS_CORETYPE": "SkylakeX"}
    assert choose_blas_kernels(env, zen4) is None and env == {"OPENBLAS_CORETYPE": "SkylakeX"}
    for vendor, family, flags in [("AuthenticAMD", 25, "avx2 fma"), ("AuthenticAMD", 26, "avx2 avx512f"),
                                  ("GenuineIntel", 6, "avx2 avx512f")]:
        env = {}
        assert choose_blas_kernels(env, _cpuinfo(tmp_path, vendor, family, flags)) is None and env == {}
    env = {}
    assert choose_blas_kernels(env, str(tmp_path / "missing")) is None and env == {}


def test_importing_rnntools_before_numpy_sets_the_kernels_for_this_cpu():
    """The package import applies the choice before numpy loads OpenBLAS, as the commands import it."""
    import os
    import subprocess

    from rnntools.parallel import choose_blas_kernels

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    want = choose_blas_kernels(dict(env)) or ""
    probe = "import os, rnntools; print(os.environ.get('OPENBLAS_CORETYPE', ''))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == want
    probe = "import numpy, os, rnntools; print(os.environ.get('OPENBLAS_CORETYPE', ''))"   # numpy first: no change
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
