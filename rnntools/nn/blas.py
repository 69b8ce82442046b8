"""OpenBLAS thread control (the functions live in ``rnntools.parallel``, next to ``configure_threads``).

Why: the recurrent time loops call BLAS once per step on small matrices (e.g. 16x256 @ 256x1024). OpenBLAS'
own threads busy-wait between such calls; on a loaded 2-core machine that made each product 4-5x SLOWER
than single-threaded (measured: 100 products of 32x256x1024 took 420 ms with 2 OpenBLAS threads, 92 ms
with 1, while other processes were running). So the engine parallelises over batch slices in its own
threads and gives each of them a thread-local OpenBLAS thread count of 1 (``openblas_set_num_threads_local``,
OpenBLAS >= 0.3.27). numpy and scipy each ship their own OpenBLAS; numba's ``np.dot`` uses scipy's.
"""

from __future__ import annotations

from rnntools.parallel import blas_threads, set_blas_threads, set_thread_local_blas_threads

__all__ = ["blas_threads", "set_blas_threads", "set_thread_local_blas_threads"]
