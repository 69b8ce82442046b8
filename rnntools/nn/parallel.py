"""The engine's worker threads: batch-row slices of the time loops, row blocks of the big products.

Why own threads rather than OpenBLAS's: the time loops call BLAS once per step on small matrices, where
OpenBLAS's busy-waiting threads cost more than they give (and oversubscribe a shared machine); splitting
the batch across workers, each with single-threaded BLAS, keeps both cores busy with no spinning. The big
products (all time steps' input projections, weight gradients) are split by output rows the same way.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from rnntools.parallel import configured_threads, pin_to_core, set_thread_local_blas_threads

# "n": None until first use, then the cores rnntools.parallel.configure_threads allowed (--threads)
_STATE: dict = {"n": None, "pool": None}
MIN_ROWS_PER_THREAD = 8        # below this, splitting costs more than it gains
# products smaller than this run in the calling thread: up to ~50 MFLOP (74x256 by 256x1024, a char table's
# input projection) handing them to the workers cost more than it saved (measured 460 vs 597 us there)
MIN_FLOPS_PARALLEL = 1 << 25
_caller = threading.local()    # threads that ran work themselves (one worker): their BLAS is single-threaded


def _forget_pool() -> None:
    """In a forked child: the pool's threads stayed in the parent, so the child makes its own on first use.
    Why: work handed to the inherited pool waited forever (a worker process of ``parallel.ordered_map``
    whose parent had used the engine with two threads hung in its first time loop)."""
    _STATE["pool"] = None


os.register_at_fork(after_in_child=_forget_pool)


def _init_worker(cores: list[int], started: itertools.count) -> None:
    set_thread_local_blas_threads(1)
    if cores:
        pin_to_core(cores[next(started) % len(cores)])


def worker_cores(n: int) -> list[int]:
    """The cores to pin ``n`` workers to, one each: every core the process may use when ``n`` uses them
    all, else none (the scheduler spreads fewer workers over more cores better than a fixed choice could).

    Why pin: the time loops hand each worker a slice of the batch and wait for all of them, so a step runs
    at the pace of the slowest worker. Left free, two workers shared one core now and then (after a pause,
    or when another process took a core for a moment) until the scheduler moved one back: lstm-512
    training steps of 120 ms took 155-200 ms in one of three steps on a machine with background jobs at
    nice 19, and none did with the workers pinned (a median 22.3k -> 27.1k chars/s)."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return []
    return cores if n == len(cores) > 1 else []


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters
MMAP_THRESHOLD_MAX = 32 << 20                   # glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks up to 32 MB for reuse instead of returning them to the OS.

    Why: a training step allocates and frees the same arrays every step (gate activations, gradients: 6-26
    MB each). glibc serves such sizes with fresh mmaps and unmaps them on free, so every step page-faulted
    them back in and the kernel zeroed them: 2,600 page faults and 6.5 ms of system time per LSTM-128 step
    (a fifth of its CPU time); with these settings, none. Peak memory is unchanged (the same blocks are
    reused). No-op (False) where the C library has no mallopt (not glibc)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
    ok &= mallopt(M_TRIM_THRESHOLD, 1 << 30)
    return bool(ok)


def set_threads(n: int) -> None:
    """Use ``n`` worker threads (each with single-threaded BLAS). Commands do not call this:
    ``rnntools.parallel.configure_threads`` (``--threads``) does; the default is the cores it allowed."""
    n = max(1, int(n))
    if n != _STATE["n"] or _STATE["pool"] is None:
        if _STATE["pool"] is not None:
            _STATE["pool"].shutdown()
        else:
            keep_freed_memory()    # the engine's first use in this process
        _STATE["pool"] = ThreadPoolExecutor(n, thread_name_prefix="rnntools-nn", initializer=_init_worker,
                                            initargs=(worker_cores(n), itertools.count()))
        _STATE["n"] = n


def get_threads() -> int:
    if _STATE["n"] is None:
        return configured_threads()
    return _STATE["n"]


def _pool() -> ThreadPoolExecutor:
    if _STATE["pool"] is None:
        set_threads(get_threads())
    return _STATE["pool"]


_RANGES: dict = {}   # (N, parts) -> row_ranges' answer: a training step asks for the same few ~16 times


def row_ranges(N: int, min_rows: int = MIN_ROWS_PER_THREAD) -> list[tuple[int, int]]:
    n = min(get_threads(), max(1, N // min_rows))
    got = _RANGES.get((N, n))
    if got is None:
        # numpy's linspace per call was 2% of a seq2seq update's CPU time
        edges = np.linspace(0, N, n + 1).round().astype(int)
        got = tuple((int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a) or ((0, N),)
        if len(_RANGES) < 4096:
            _RANGES[(N, n)] = got
    return list(got)


def run_rows(fn, N: int, *args, min_rows: int = MIN_ROWS_PER_THREAD,
             ranges: list[tuple[int, int]] | None = None, each: list[tuple] | None = None) -> list:
    """``fn(*args, r0, r1)`` over disjoint row ranges of [0, N) on the workers; returns their results.
    On the workers even for one range (BLAS inside then runs single-threaded), except with one worker: then
    the calling thread runs it, with its BLAS limited to one thread as a worker's is.

    Why the exception: a hand-off to a worker (a queue put, a wake-up, a future) per kernel call cost a small
    classifier about a tenth of its updates at ``--threads 1``, where nothing runs beside it (docs/tasks.md).

    ``ranges``: the ranges to use (from ``row_ranges``); ``each``: one tuple per range, its items passed
    after ``args`` (``fn(*args, *each[i], r0, r1)``), for outputs each worker needs its own of."""
    pool = _pool()   # also the engine's first-use setup (keep_freed_memory)
    ranges = row_ranges(N, min_rows) if ranges is None else ranges
    each = [()] * len(ranges) if each is None else each
    if getattr(_caller, "serial", False):    # a call of run_each on a worker: the same ranges, one by one
        return [fn(*args, *extra, r0, r1) for (r0, r1), extra in zip(ranges, each, strict=True)]
    if len(ranges) == 1 and _STATE["n"] == 1:
        if not getattr(_caller, "single_blas", False):
            set_thread_local_blas_threads(1)
            _caller.single_blas = True
        (r0, r1), = ranges
        return [fn(*args, *each[0], r0, r1)]
    futures = [pool.submit(fn, *args, *extra, r0, r1) for (r0, r1), extra in zip(ranges, each, strict=True)]
    return [f.result() for f in futures]


class Job(NamedTuple):
    """One ``run_rows`` call for ``run_together``: ``fn(*args, *each[i], r0, r1)`` over ``ranges``."""

    fn: Callable
    args: tuple
    ranges: list
    each: list | None = None


def _run_jobs(calls: list) -> list:
    return [fn(*args, r0, r1) for fn, args, r0, r1 in calls]


def run_together(jobs: list[Job]) -> list[list]:
    """Several ``run_rows`` calls in ONE hand-off to the workers: worker i runs range i of every job, one after
    the other. Returns each job's results in range order: the same calls on the same ranges as separate
    ``run_rows`` calls make, so the same results, bit for bit.

    Why: each hand-off costs wall time beyond its work: waking the workers, the GIL passing from thread to
    thread before each can start its kernel, the second worker starting later than the first. On two
    threads an LSTM-256 layer's backward made four hand-offs after its time loop (two weight gradients, the
    bias's column sums, the input gradient), about half a millisecond each on an otherwise idle machine
    (docs/performance.md, "Where a two-thread step's wall time goes")."""
    jobs = [Job(j.fn, j.args, j.ranges, [()] * len(j.ranges) if j.each is None else j.each) for j in jobs]
    for j in jobs:
        if len(j.each) != len(j.ranges):
            raise ValueError("each: one tuple per range")
    n = max((len(j.ranges) for j in jobs), default=0)
    calls = [[(j.fn, (*j.args, *j.each[i]), *j.ranges[i]) for j in jobs if i < len(j.ranges)] for i in range(n)]
    pool = _pool()
    if getattr(_caller, "serial", False) or (n == 1 and _STATE["n"] == 1):
        if not getattr(_caller, "serial", False) and not getattr(_caller, "single_blas", False):
            set_thread_local_blas_threads(1)
            _caller.single_blas = True
        done = [_run_jobs(c) for c in calls]
    else:
        futures = [pool.submit(_run_jobs, c) for c in calls]
        done = [f.result() for f in futures]
    results: list[list] = [[] for _ in jobs]
    for i in range(n):
        got = iter(done[i])
        for k, j in enumerate(jobs):
            if i < len(j.ranges):
                results[k].append(next(got))
    return results



def can_run_parts(parts: int) -> bool:
    """Whether ``run_parts`` may run ``parts`` parts that wait for each other: at least that many workers,
    and not from inside ``run_each``/``submit`` (a worker running its item alone), where the other parts
    could wait in the queue behind that very item."""
    return parts >= 2 and get_threads() >= parts and not getattr(_caller, "serial", False)


def run_parts(fn, parts: int, *args) -> list:
    """``fn(*args, part, parts)`` for part = 0..parts-1, each on its own worker at once; their results.
    For kernels whose parts meet at a barrier (``rnntools.nn.barrier``): every part needs a thread of its
    own, so check ``can_run_parts`` first."""
    pool = _pool()
    with _PARTS_LOCK:   # two callers' parts interleaved in the queue could each hold a worker, waiting forever
        futures = [pool.submit(fn, *args, part, parts) for part in range(parts)]
        return [f.result() for f in futures]


_PARTS_LOCK = threading.Lock()


def run_each(fn, items: list) -> list:
    """``[fn(item) for item in items]``, the calls side by side on the workers, each whole on one worker: its
    own engine work (``run_rows``, ``matmul``) runs in that worker's thread, over the same row ranges one
    after the other, so every result is the same bits as a call made alone. With one worker, in the calling
    thread.

    Why: prediction runs many independent batches, each a few milliseconds of time loops. Split by batch
    rows, the halves of each time loop wait for each other at every batch and direction, so each batch
    goes at the pace of the slower worker; with whole batches a worker that falls behind takes fewer of
    them, and nothing waits until the last one."""
    if get_threads() == 1 or len(items) <= 1:
        return [fn(item) for item in items]

    def alone(item):
        _caller.serial = True
        try:
            return fn(item)
        finally:
            _caller.serial = False

    futures = [_pool().submit(alone, item) for item in items]
    return [f.result() for f in futures]


def submit(fn, *args) -> Future:
    """``fn(*args)`` on a worker, as one ``run_each`` item (its own engine work in that worker's thread);
    with one worker, run now in the calling thread. A future of its result either way.

    Why: work that does not need the engine's other workers (``predict``'s n-gram hashing) can go to a
    worker while the calling thread prepares the work that will (the texts' ids): the worker then joins
    the batches the calling thread hands out, instead of a core waiting while the other hashes."""
    if get_threads() == 1:
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:      # raised where the result is asked for, as a worker's would be
            done.set_exception(exc)
        return done

    def alone():
        _caller.serial = True
        try:
            return fn(*args)
        finally:
            _caller.serial = False

    return _pool().submit(alone)


def _packed_rows(a, wp, bias, out, r0, r1):
    from rnntools.nn.gates import K

    if bias is None:
        K.matmul_packed(a[r0:r1], wp, out[r0:r1])
    else:
        K.matmul_packed_bias(a[r0:r1], wp, bias, out[r0:r1])


def _packed_listed_rows(a, rows, wp, bias, out, add, r0, r1):
    from rnntools.nn.gates import K

    K.matmul_packed_rows(a, rows[r0:r1], wp, bias, out, add)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
           bias: np.ndarray | None = None, rows: np.ndarray | None = None, add: bool = False) -> np.ndarray:
    """``a @ b (+ bias)`` for 2-D arrays, the rows of the result split across the workers. ``out``
    (C-contiguous, the result dtype) is written in place when given.

    A row's result is the same bits whatever rows it is multiplied with (``kernels.matmul_packed``; the
    weights are packed once per call), so a record's prediction never depends on the other records in its
    batch, on how a file is cut into partitions, or on the BLAS library's kernels for this CPU. Float32 and
    float64 pairs go this way; anything else (integers, mixed dtypes) through numpy.

    ``rows`` (int): only these rows of the result are computed, each the same bits as in the whole product;
    the other rows of ``out`` are left as they are (uninitialised when ``out`` is not given). ``add``:
    ``out[rows] += a[rows] @ b`` instead (``out`` given, no bias). Why: a batch's padded positions, whose
    results nobody reads, need not be multiplied."""
    M, K = a.shape
    N = b.shape[1]
    dtype = np.result_type(a, b)
    if add and (out is None or bias is not None):
        raise ValueError("add needs out and no bias")
    if out is None:
        out = np.empty((M, N), dtype)
    if rows is not None or add:
        return _matmul_rows(a, b, out, bias, np.arange(M) if rows is None else rows, add)
    job, finish = matmul_job(a, b, out, bias)
    return finish(run_together([job])[0] if job is not None else None)


def matmul_job(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
               bias: np.ndarray | None = None) -> tuple[Job | None, Callable]:
    """``matmul`` (without ``rows``/``add``) as ``matmul_tn_job`` splits ``matmul_tn``: ``(job, finish)``, job
    None when the product was made here (small, or not float32/float64 pairs)."""
    M, K = a.shape
    N = b.shape[1]
    dtype = np.result_type(a, b)
    if out is None:
        out = np.empty((M, N), dtype)
    if a.dtype != b.dtype or dtype not in (np.float32, np.float64) or out.dtype != dtype or M == 0 or N == 0:
        np.dot(a, b, out=out)
        if bias is not None:
            out += bias
        return None, lambda _: out
    from rnntools.nn.gates import K as kernels

    if a.strides[1] != a.itemsize:
        a = np.ascontiguousarray(a)
    # the same panels either way; a transposed view (W.T: dense layers' input gradients) packs 4x faster
    # from its C-contiguous original than by gathering its strided rows
    wp = kernels.pack_panels(b.T) if b.T.flags.c_contiguous and not b.flags.c_contiguous else kernels.pack_weights(b)
    if 2 * M * N * K < MIN_FLOPS_PARALLEL or M < 2 * MIN_ROWS_PER_THREAD:
        _packed_rows(a, wp, bias, out, 0, M)
        return None, lambda _: out
    ranges = row_ranges(M, max(MIN_ROWS_PER_THREAD, M // (4 * get_threads())))
    return Job(_packed_rows, (a, wp, bias, out), ranges), lambda _: out


def _matmul_rows(a, b, out, bias, rows, add):
    """``matmul``'s ``rows``/``add`` path."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    M, N = len(rows), b.shape[1]
    dtype = out.dtype
    if a.dtype != b.dtype or dtype not in (np.float32, np.float64) or a.dtype != dtype or M == 0 or N == 0:
        part = np.dot(a[rows], b)
        if add:
            out[rows] += part
        else:
            out[rows] = part if bias is None else part + bias
        return out
    from rnntools.nn.gates import K as kernels

    if a.strides[1] != a.itemsize:
        a = np.ascontiguousarray(a)
    wp = kernels.pack_panels(b.T) if b.T.flags.c_contiguous and not b.flags.c_contiguous else kernels.pack_weights(b)
    bias = np.empty(0, dtype) if bias is None else np.ascontiguousarray(bias, dtype=dtype)
    if 2 * M * N * a.shape[1] < MIN_FLOPS_PARALLEL or M < 2 * MIN_ROWS_PER_THREAD:
        _packed_listed_rows(a, rows, wp, bias, out, add, 0, M)
    else:
        run_rows(_packed_listed_rows, M, a, rows, wp, bias, out, add,
                 min_rows=max(MIN_ROWS_PER_THREAD, M // (4 * get_threads())))
    return out


def _dot_tn_part(a, b, out, r0, r1):
    np.dot(a[r0:r1].T, b[r0:r1], out=out)


def _dot_tn_listed(a, b, rows, out, r0, r1):
    # the block's listed rows gathered into one compact operand each (a row of a few hundred floats is one
    # memcpy), then one product: the gathered rows cost a fraction of what multiplying the others did
    part = rows[r0:r1]
    np.dot(np.take(a, part, axis=0).T, np.take(b, part, axis=0), out=out)


def matmul_tn(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
              rows: np.ndarray | None = None) -> np.ndarray:
    """``a.T @ b`` for 2-D a (K, M) and b (K, N) with a long shared dimension K (the weight gradients: K is
    every time step of every batch row). Each worker multiplies its own block of K rows and the partial
    (M, N) products are added. Why not split the output rows as ``matmul`` does: that hands each worker a
    strided slice of a transposed operand; measured on this machine, 3,200 x 256 by 3,200 x 1,024 took
    9.7 ms this way against 13.6 ms split by output rows (3.3 -> 2.7 ms at 128 x 512).

    ``rows`` (int, ascending): only these rows of a and b take part, gathered into compact operands first;
    the caller promises the others add nothing (a row of b that is 0: a padded position's gradient). The
    result is the whole product's up to the order of the sums (BLAS blocks the shared dimension where the
    rows fall), so not its bits. Why: length-sorted batches are 10-20% padding, and a weight gradient
    multiplied every padded position's zero row."""
    job, finish = matmul_tn_job(a, b, out, rows)
    return finish(run_together([job])[0] if job is not None else None)


def matmul_tn_job(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
                  rows: np.ndarray | None = None) -> tuple[Job | None, Callable]:
    """``matmul_tn`` in two halves, for ``run_together``: ``(job, finish)``, ``finish(job's results)`` adding the
    workers' partial products and returning the product. ``job`` is None when the product is too small to
    split: it was made here, in the calling thread (``finish(None)`` returns it)."""
    K, M = a.shape
    N = b.shape[1]
    if out is None:
        out = np.empty((M, N), np.result_type(a, b))
    if rows is not None:
        rows = np.ascontiguousarray(rows, dtype=np.intp)
        K = len(rows)
        if K == 0:
            out[...] = 0
            return None, lambda _: out
    ranges = row_ranges(K, max(MIN_ROWS_PER_THREAD, 64))
    part_fn, extra = (_dot_tn_part, ()) if rows is None else (_dot_tn_listed, (rows,))
    if len(ranges) == 1 or 2 * M * N * K < MIN_FLOPS_PARALLEL:
        part_fn(a, b, *extra, out, 0, K)
        return None, lambda _: out
    parts = [out] + [np.empty_like(out) for _ in ranges[1:]]

    def finish(_):
        total = parts[0]          # out
        for part in parts[1:]:
            total += part
        return total
    return Job(part_fn, (a, b, *extra), ranges, [(part,) for part in parts]), finish


def _sum_rows(a, r0, r1):
    return a[r0:r1].sum(axis=0)


def column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D array, row blocks summed on the workers."""
    job, finish = column_sums_job(a)
    return finish(run_together([job])[0] if job is not None else None)


def column_sums_job(a: np.ndarray) -> tuple[Job | None, Callable]:
    """``column_sums`` as ``matmul_tn_job`` splits ``matmul_tn``: ``(job, finish)``; job None for a small a,
    whose sums were made here."""
    if a.size < (1 << 16):
        total = a.sum(axis=0)
        return None, lambda _: total

    def finish(parts):
        total = parts[0]
        for part in parts[1:]:
            total += part
        return total
    return Job(_sum_rows, (a,), row_ranges(a.shape[0], max(MIN_ROWS_PER_THREAD, a.shape[0] // get_threads()))), finish
