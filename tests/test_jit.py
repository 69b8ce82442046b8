"""rnntools.jit: cached kernels load without numba's compiler set-up, and fall back to numba's own loading."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KERNEL = """
import numpy as np
from rnntools.jit import njit


@njit(cache=True)
def total(a):
    out = np.zeros(1)   # an allocation: the loaded code needs numba's runtime (NRT)
    for x in a:
        out[0] += x
    return out[0]
"""


def _run(folder, code: str) -> subprocess.CompletedProcess:
    # the cache beside the module (__pycache__), where the test looks, whatever cache folder the suite uses
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=folder,
                          env={**env, "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}"})


CALL = ("import sys, numpy as np\n"
        "import kernel_mod\n"
        "print(kernel_mod.total(np.arange(5.0)), 'numba.np.arraymath' in sys.modules)\n")


def test_cached_kernel_loads_without_compiler_set_up_and_falls_back(tmp_path):
    (tmp_path / "kernel_mod.py").write_text(KERNEL)
    first = _run(tmp_path, CALL)                      # compiles: numba sets up its compiler
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["10.0", "True"]
    assert list((tmp_path / "__pycache__").glob("kernel_mod.total-*.nbi"))

    warm = _run(tmp_path, CALL)                       # loads from the cache: no compiler set-up
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.split() == ["10.0", "False"]

    # a load that fails (another numba's internals, a damaged entry) goes to numba's own load_overload
    broken = ("from numba.core import caching\n"
              "import rnntools.jit\n"
              "assert rnntools.jit.INSTALLED and caching.Cache.load_overload.without_refresh\n"
              "def fail(self, sig, ctx):\n"
              "    caching.Cache._load_overload = original\n"
              "    raise RuntimeError('unexpected')\n"
              "original = caching.Cache._load_overload\n"
              "caching.Cache._load_overload = fail\n" + CALL)
    fallback = _run(tmp_path, broken)
    assert fallback.returncode == 0, fallback.stderr
    assert fallback.stdout.split() == ["10.0", "True"]


def test_installed_once():
    from numba.core import caching

    import rnntools.jit

    assert rnntools.jit.INSTALLED
    wrapped = caching.Cache.load_overload
    assert wrapped.without_refresh
    assert rnntools.jit._install_cache_loading_without_refresh()
    assert caching.Cache.load_overload is wrapped     # not wrapped twice
