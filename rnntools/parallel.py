"""How many cores a command may use (``configure_threads``, the one meaning of ``--threads``), and an
order-keeping parallel map over worker processes for the CPU-bound pure-Python stages (tokenising, counting,
formatting JSON) that threads cannot speed up because of the GIL.

Workers are forked, so they inherit what the mapped function refers to (a vocabulary, an encoder, a model)
without pickling it. Each worker holds one item at a time, so memory stays flat on endless input.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_configured: dict[str, int] = {}


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or `taskset` may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class ThreadsApart:
    """Keeps a main thread and its workers on different cores while a split run goes on (``with``).

    Why: threads that meet at a spin barrier every few microseconds need a core each. A worker woken after
    a pause starts on the core of the thread that woke it, and the two then take turns on that core at
    every meeting until the scheduler moves one of them: measured, the first two or three 512-token runs
    of two-thread generation after a 0.3 s pause took 15x the time per token of the runs after them. For
    the run's duration each thread is pinned to the core it is on (a worker found on an occupied core to
    the next free allowed one), and the masks are given back afterwards, so that between runs the
    scheduler places the threads as it likes. Where the system does not allow it (no affinity calls, one
    allowed core, a refused call) nothing is pinned and the run goes on as before."""

    def __init__(self, worker_ids: list[int]):
        self.workers = list(worker_ids)      # native thread ids (threading.get_native_id in each worker)
        try:
            self.mask = os.sched_getaffinity(0)
        except (AttributeError, OSError):   # pragma: no cover - not Linux
            self.mask = set()
        self.cpus = sorted(self.mask)
        self.pinned = False

    def __enter__(self) -> ThreadsApart:
        main = current_cpu(0)
        if len(self.cpus) <= len(self.workers) or main not in self.mask:
            return self
        taken = {main}
        plan = []
        for tid in self.workers:
            cpu = current_cpu(tid)
            if cpu is None or cpu in taken or cpu not in self.mask:
                start = self.cpus.index(main)
                cpu = next(c for k in range(len(self.cpus))
                           if (c := self.cpus[(start + 1 + k) % len(self.cpus)]) not in taken)
            taken.add(cpu)
            plan.append((tid, cpu))
        try:
            os.sched_setaffinity(0, {main})
            self.pinned = True
            for tid, cpu in plan:
                os.sched_setaffinity(tid, {cpu})
        except OSError:
            self.__exit__(None, None, None)
        return self

    def __exit__(self, *exc) -> None:
        if not self.pinned:
            return
        self.pinned = False
        for tid in (0, *self.workers):
            try:
                os.sched_setaffinity(tid, self.mask)
            except OSError:  # pragma: no cover - a worker that has ended
                pass


def pin_to_core(core: int) -> None:
    """Keep the calling thread on ``core`` (the engine's workers, ``nn.parallel.worker_cores``); a refused
    call leaves it free."""
    try:
        os.sched_setaffinity(0, {core})
    except OSError:  # pragma: no cover - a container that forbids it
        pass


def current_cpu(tid: int) -> int | None:
    """The core thread ``tid`` (0: the calling thread) last ran on, from /proc; None if unknown."""
    path = "/proc/thread-self/stat" if tid == 0 else f"/proc/self/task/{tid}/stat"
    try:
        with open(path, "rb") as f:
            stat = f.read()
        # fields after the command name (which may hold spaces) start at its closing parenthesis;
        # "processor" is field 39 of proc(5), the 37th after it
        return int(stat[stat.rindex(b")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def configure_threads(n: int | None = None) -> int:
    """Let this process use ``n`` cores (None: every core it may run on); returns ``n``.

    The one place ``--threads`` is applied, once per process, before any work: the engine's worker pool
    (``rnntools.nn.parallel``: batch rows of the time loops, row blocks of big products), numba's thread
    count and the process-wide OpenBLAS thread count (the engine's workers keep one BLAS thread each, so
    the two never multiply). Libraries not imported yet are configured through their environment
    variables, so that a command that never needs numba does not pay for importing it."""
    import sys

    n = max(1, int(n)) if n is not None else available_cores()
    _configured["n"] = n
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)  # libraries loaded later (scipy's OpenBLAS) read these
    set_blas_threads(n)  # the ones already loaded
    if "rnntools.nn.parallel" in sys.modules:
        sys.modules["rnntools.nn.parallel"].set_threads(n)
    return n


# --- OpenBLAS threads, by ctypes on the libraries already loaded (no extra dependency) -------------------
# numpy and scipy each ship their own OpenBLAS (numba's np.dot uses scipy's); both are found in the process's
# memory map, so setting the count never imports anything.

_LIBS: dict[str, Any] = {}


# CPUs on which OpenBLAS's own choice of kernels (DYNAMIC_ARCH) was measured slower than another family of its
# kernels, at the engine's float32 products: (vendor, family, required flag) -> OPENBLAS_CORETYPE
_BLAS_KERNELS_BY_CPU = {("AuthenticAMD", 25, "avx512f"): "Haswell"}


def cpu_signature(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, int, frozenset]:
    """(vendor, family, flags) of the first CPU in ``cpuinfo``; ("", 0, {}) where it cannot be read."""
    vendor, family, flags = "", 0, frozenset()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id":
                    vendor = value.strip()
                elif key == "cpu family":
                    family = int(value) if value.strip().isdigit() else 0
                elif key == "flags":
                    flags = frozenset(value.split())
                elif not line.strip():
                    break
    except OSError:
        pass
    return vendor, family, flags


def choose_blas_kernels(environ=os.environ, cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """Set OPENBLAS_CORETYPE for this CPU where OpenBLAS's own pick was measured to lose; returns the family
    set, or None (the variable already set, another CPU, or /proc/cpuinfo unreadable).

    Why: OpenBLAS picks its SkylakeX kernels (written for Intel's two 512-bit FMA units and 2 MB of L2) on
    AMD's Zen 4 (family 25 with AVX-512), which runs AVX-512 on 256-bit units and has 1 MB of L2. There its
    Haswell kernels (its own choice for Zen 1-3) were faster at every shape of a training step's big products,
    two threads: the LSTM-512 weight gradient (3,200 x 512 by 3,200 x 2,048) 165-181 -> 196-200 GFLOP/s, the
    LSTM-256 products 181-194 -> 196-207; one thread, 1,600 rows by 256 x 1,024 to 512 x 2,048: 97-101 ->
    103-107. Other CPUs keep OpenBLAS's choice: nothing was measured there. OpenBLAS reads the variable once,
    when it is loaded (with numpy), so this runs when rnntools is imported, before the commands import numpy;
    a program that imported numpy first keeps what it has."""
    if environ.get("OPENBLAS_CORETYPE"):
        return None
    vendor, family, flags = cpu_signature(cpuinfo)
    for (want_vendor, want_family, flag), kernels in _BLAS_KERNELS_BY_CPU.items():
        if vendor == want_vendor and family == want_family and flag in flags:
            environ["OPENBLAS_CORETYPE"] = kernels
            return kernels
    return None


def _openblas_libraries() -> list:
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                name = os.path.basename(fields[-1]).lower() if len(fields) >= 6 else ""
                if "openblas" in name and ".so" in name and fields[-1] not in _LIBS:
                    import ctypes  # only when there is a library to call (vocab and bow load none)

                    try:
                        _LIBS[fields[-1]] = ctypes.CDLL(fields[-1])
                    except OSError:
                        _LIBS[fields[-1]] = None
    except OSError:  # pragma: no cover - not Linux
        pass
    return [lib for _, lib in sorted(_LIBS.items()) if lib is not None]


def _blas_call(names: list[str], *args: int) -> list[int]:
    libraries = _openblas_libraries()
    if not libraries:
        return []
    import ctypes

    out = []
    for lib in libraries:
        fn = next((getattr(lib, name) for name in names if hasattr(lib, name)), None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int] * len(args)
            fn.restype = ctypes.c_int if not args else None
            out.append(fn(*args))
    return out


def set_blas_threads(n: int) -> None:
    """The process-wide OpenBLAS thread count of every loaded OpenBLAS (no-op where unsupported)."""
    _blas_call(["scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                "openblas_set_num_threads64_", "openblas_set_num_threads"], int(n))


def set_thread_local_blas_threads(n: int) -> None:
    """This thread's OpenBLAS thread count, in every loaded OpenBLAS (OpenBLAS >= 0.3.27; else no-op)."""
    _blas_call(["openblas_set_num_threads_local"], int(n))


def blas_threads() -> list[int]:
    """The process-wide thread count of each loaded OpenBLAS."""
    return [int(v) for v in _blas_call(["scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                                        "openblas_get_num_threads64_", "openblas_get_num_threads"])]


def configured_threads() -> int:
    """The cores ``configure_threads`` allowed (every available core when it was not called)."""
    return _configured.get("n") or available_cores()


def worker_signals() -> None:
    """Signal handling for a forked worker process, called first thing in it: Ctrl-C is the parent's to
    handle (it stops the workers), SIGTERM kills the worker even though the parent turned it into an
    interruption for itself, and the worker dies with its parent however the parent dies."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)  # what came since the fork (held_for_fork) arrives now
    _die_with_parent()


_HELD = (2, 15, 1)  # SIGINT, SIGTERM, SIGHUP, without importing signal at start-up


class held_for_fork:
    """Hold SIGINT, SIGTERM and SIGHUP in this thread while it forks a worker; the worker lets them through in
    ``worker_signals``, once its own handling is set, and this thread when the fork is done.

    Why: a forked worker starts with this process's Python handlers. A signal that came before
    ``worker_signals`` replaced them was noted by the C handler and then dropped, because the Python handler it
    was noted for had become SIG_DFL before it could run: the parent's ``terminate`` of a worker still starting
    (an input error right after the workers were forked) was lost, and the parent waited for it for ever
    (``bow`` on a file whose first line is over the limit, about half the time)."""

    def __enter__(self):
        import signal

        self._before = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        return self

    def __exit__(self, *exc):
        import signal

        signal.pthread_sigmask(signal.SIG_SETMASK, self._before)
        return False


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when its parent dies, however it dies (SIGKILL, the OOM killer), so
    a worker is never left behind holding a pipe open."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig, sigkill = 1, 9
        libc.prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def ordered_map(func: Callable[[Any], Any], items: Iterable[Any], workers: int, window: int = 0) -> Iterator[Any]:
    """``map(func, items)`` computed in ``workers`` forked processes, results in input order.

    Each worker has a pipe of its own and one item at a time, handed out in turn; while the next result in
    order is not there yet, this process takes up to ``window`` (default ``2 * workers``) further items from
    ``items`` (reading and parsing the input: the workers' first items also pay their start-up), then gives
    the worker whose result it took the oldest item it holds. So this process only ever writes to a
    worker that is waiting to read and reads from one that will write: large items and results (a forecast
    block is megabytes each way) never leave both sides waiting on a full pipe. There are no helper threads:
    ``multiprocessing.Pool``'s three, which shared this process's interpreter lock with the thread reading
    the input, delayed each megabyte-sized transfer by a quarter of a second (docs/performance.md).

    A worker's exception is raised here after the results before it. On an error here, Ctrl-C or an
    abandoned generator the workers are stopped and waited for."""
    if workers <= 1:
        yield from map(func, items)
        return
    window = window or 2 * workers
    items = iter(items)
    pool = _Workers(func, workers)
    try:
        busy: deque = deque()        # the workers with an item, in the items' order
        for worker in pool.workers:
            item = next(items, _END)
            if item is _END:
                break
            worker.send(item)
            busy.append(worker)
        taken: deque = deque()       # items read while the workers compute, not handed out yet
        more = True
        while busy:
            worker = busy.popleft()
            # one item ready for this worker, and more while its result is not there yet
            while more and (not taken or (len(taken) < window and not worker.done())):
                item = next(items, _END)
                if item is _END:
                    more = False
                else:
                    taken.append(item)
            result = worker.result()
            if taken:
                worker.send(taken.popleft())
                busy.append(worker)
            yield result
        pool.close()
    finally:
        pool.stop()


_END = object()


class _Worker:
    """One forked worker process and this side of its two pipes."""

    def __init__(self, ctx, func: Callable):
        tasks_in, self.tasks = ctx.Pipe(duplex=False)
        self.results, results_out = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_serve, args=(func, tasks_in, results_out), daemon=True)
        with held_for_fork():
            self.process.start()
        # the child's ends close here, so that a worker's death is an end of file for this process
        tasks_in.close()
        results_out.close()

    def done(self) -> bool:
        """Whether the result (or the end of the worker) is there to be read."""
        return self.results.poll()

    def died(self) -> Exception:
        """The error for a worker that ended without its result: killed (the out-of-memory killer sends
        SIGKILL) or exited. One line for the user, like every error, not an internal error."""
        import signal

        from rnntools.errors import RnnToolsError

        self.process.join(5)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
            how += " (out of memory?)" if -code == signal.SIGKILL else ""
        else:
            how = f"exit status {code}"
        return RnnToolsError(f"a worker process ended unexpectedly ({how}); --threads 1 does the work in one process")

    def send(self, item: Any) -> None:
        self.tasks.send((True, item))

    def result(self) -> Any:
        try:
            ok, value = self.results.recv()
        except (EOFError, OSError):
            raise self.died() from None
        if not ok:
            raise value
        return value


class _Workers:
    def __init__(self, func: Callable, workers: int):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.workers: list[_Worker] = []
        try:
            for _ in range(workers):
                self.workers.append(_Worker(ctx, func))
        except BaseException:
            self.stop()
            raise

    def close(self) -> None:
        """Let every worker finish (they are all idle when this is called) and wait for them."""
        for worker in self.workers:
            try:
                worker.tasks.send((False, None))
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join()

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.exitcode is None:
                worker.process.terminate()
        for worker in self.workers:
            worker.tasks.close()  # a worker waiting for an item reads the end, whatever became of the signal
            worker.process.join(5)
            if worker.process.exitcode is None:  # pragma: no cover - the signal and the end both missed
                worker.process.kill()
                worker.process.join()
            worker.results.close()


def _serve(func: Callable, tasks, results) -> None:
    """A worker's loop: an item in, ``(True, func(item))`` or ``(False, exception)`` out, until told to stop."""
    worker_signals()
    while True:
        try:
            go, item = tasks.recv()
        except EOFError:
            return
        if not go:
            return
        try:
            out = (True, func(item))
        except Exception as exc:  # noqa: BLE001 - every error goes back to be raised by the reading process
            out = (False, exc)
        try:
            results.send(out)
        except Exception as exc:  # a result or an error that cannot be pickled
            results.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
