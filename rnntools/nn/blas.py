"""OpenBLAS thread control without extra dependencies (ctypes on the libraries already loaded).

Why: the recurrent time loops call BLAS once per step on small matrices (e.g. 16x256 @ 256x1024). OpenBLAS'
own threads busy-wait between such calls; on a loaded 2-core machine that made each product 4-5x SLOWER
than single-threaded (measured: 100 products of 32x256x1024 took 420 ms with 2 OpenBLAS threads, 92 ms
with 1, while other processes were running). So the engine parallelises over batch slices in its own
threads and gives each of them a thread-local OpenBLAS thread count of 1 (``openblas_set_num_threads_local``,
OpenBLAS >= 0.3.27). numpy and scipy each ship their own OpenBLAS; numba's ``np.dot`` uses scipy's.
"""

from __future__ import annotations

import ctypes
import os

_LIBS: list | None = None


def _libraries() -> list:
    global _LIBS
    if _LIBS is None:
        import numpy  # noqa: F401  (load both BLAS libraries first)
        import scipy.linalg.cython_blas  # noqa: F401

        paths = set()
        try:
            with open("/proc/self/maps") as maps:
                for line in maps:
                    fields = line.split()
                    name = os.path.basename(fields[-1]).lower() if len(fields) >= 6 else ""
                    if "openblas" in name and ".so" in name:
                        paths.add(fields[-1])
        except OSError:
            pass
        libs = []
        for path in sorted(paths):
            try:
                libs.append(ctypes.CDLL(path))
            except OSError:
                continue
        _LIBS = libs
    return _LIBS


def _find(lib, names):
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            return fn
    return None


def set_thread_local_blas_threads(n: int) -> None:
    """This thread's OpenBLAS thread count, in every loaded OpenBLAS (no-op where unsupported)."""
    for lib in _libraries():
        fn = _find(lib, ["openblas_set_num_threads_local"])
        if fn is not None:
            fn.argtypes = [ctypes.c_int]
            fn(int(n))


def set_blas_threads(n: int) -> None:
    """The process-wide OpenBLAS thread count of every loaded OpenBLAS (no-op where unsupported)."""
    for lib in _libraries():
        fn = _find(lib, ["scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                         "openblas_set_num_threads64_", "openblas_set_num_threads"])
        if fn is not None:
            fn.argtypes = [ctypes.c_int]
            fn(int(n))


def blas_threads() -> list[int]:
    out = []
    for lib in _libraries():
        fn = _find(lib, ["scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                         "openblas_get_num_threads64_", "openblas_get_num_threads"])
        if fn is not None:
            fn.restype = ctypes.c_int
            out.append(int(fn()))
    return out
