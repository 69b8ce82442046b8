"""numba's ``njit`` for short processes: a kernel found in numba's cache loads without the compiler's set-up.

Every kernel module takes ``njit`` from here, so importing any of them installs this before a kernel runs.

Why: before it loads a kernel from its on-disk cache, numba refreshes its whole CPU target
(``Cache.load_overload`` calls ``target_context.refresh()``), which imports every lowering module numba has:
numpy's array functions, the typed containers, the random generators, and through ``numba.np.arraymath``
scipy.linalg (for BLAS). In a warm process that is 0.1-0.2 s of CPU before the first cached kernel runs,
measured as whole processes: a classifier's ``predict`` 1.0-1.1 -> 0.9 s, a short seq2seq training 1.2 ->
1.0 s, with the same output bytes. A cached kernel is machine code plus its environment: loading it needs
numba's runtime (NRT, which the refresh also starts) and nothing the compiler registers; parallel kernels
start their thread pool through the compile result's own ``reload_init``. So the load here starts the
runtime only. A cache miss compiles as before: numba's compiler refreshes the target itself first.

If numba's cache class is not what this expects, or a load fails in any way, numba's own
``load_overload`` runs (refresh, then load): a slower start, never a wrong kernel.
"""

from __future__ import annotations

from numba import njit  # noqa: F401  (re-exported: the one way kernel modules get it)


def _install_cache_loading_without_refresh() -> bool:
    """Replace ``numba.core.caching.Cache.load_overload`` once; False when numba's internals differ."""
    try:
        from numba.core import caching
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - another numba layout
        return False
    cache = getattr(caching, "Cache", None)
    original = getattr(cache, "load_overload", None)
    if original is None or getattr(original, "without_refresh", False):
        return original is not None
    if not all(hasattr(cache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")):
        return False  # pragma: no cover - another numba version

    def load_overload(self, sig, target_context):
        try:
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                loaded = self._load_overload(sig, target_context)
            if loaded is not None:
                return loaded
        except Exception:
            pass
        return original(self, sig, target_context)

    load_overload.without_refresh = True
    cache.load_overload = load_overload
    return True


INSTALLED = _install_cache_loading_without_refresh()
