"""The cluster: the ``--scheduler`` value, a connected Dask client (or a local cluster it starts), and the one
way work is sent to it (``Cluster.ordered``: tasks in flight bounded, results in input order)."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rnntools.errors import RnnToolsError, UsageError

ENV = "RNNTOOLS_SCHEDULER"
TIMEOUT_ENV = "RNNTOOLS_SCHEDULER_TIMEOUT"  # seconds to wait for a scheduler to answer (default 10)
INSTALL = "pip install 'rnntools[dask]'"
MIN_PARTITION = 32 << 10  # below this a task's overhead (a few ms) outweighs its work
MAX_PARTITION = 64 << 20  # a partition's text and results are held in memory once on a worker and the client
PARTS_PER_WORKER = 4  # enough partitions that a slow or restarted worker does not hold the rest up
FAN_IN = 8  # results merged per merge task of a tree reduction (Cluster.reduce)
MAX_LOCAL_WORKERS = 256  # as --threads: local:100000 tried to start that many processes and hung
WORKER_BYTES = 200 << 20  # a local worker process (Python, numpy, numba, dask) before its work: an estimate
COMPRESSED = (".gz", ".bz2", ".xz")  # cannot be entered in the middle: one partition per file
# Dask settings of a local cluster (its scheduler, nannies and workers), for batch jobs of a few long tasks.
# Why: by default every worker samples its task thread's Python stack every 10 ms (taking the GIL from the
# task each time, and costing its event loop a core's few percent), every process checks its event loop
# every 20 ms, and the scheduler looks for tasks to steal every second; none of it serves a run whose tasks
# are few, long and already spread by the client's window. Nor does the nanny's MALLOC_TRIM_THRESHOLD_
# (memory given back to the system as soon as it is freed, which also fixes glibc's mmap threshold at 128
# KB): a worker of one command allocates as one process does.
LOCAL_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.scheduler.work-stealing": False,
}


class SchedulerError(RnnToolsError):
    """The scheduler cannot be reached or the cluster cannot start."""


def scheduler_address(value: str | None) -> str | None:
    """The ``--scheduler`` value (which click already took from ``RNNTOOLS_SCHEDULER`` when not given);
    ``none`` or empty runs in this process."""
    if value is None or value.strip().lower() in ("", "none"):
        return None
    return value.strip()


def _distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--scheduler runs on a Dask cluster, which needs the distributed package: {INSTALL}"
                         ) from None
    return distributed


def local_workers(address: str) -> int | None:
    """N of ``local:N`` (None for a scheduler's address); a malformed N is a usage error."""
    if not address.startswith("local"):
        return None
    from rnntools.parallel import available_cores

    rest = address[len("local"):]
    if rest in ("", ":"):
        return available_cores()
    try:
        n = int(rest.lstrip(":"))
    except ValueError:
        n = 0
    if not rest.startswith(":") or n < 1:
        raise UsageError(f"--scheduler {address}: expected local:N with N a number of worker processes, "
                         "or a scheduler's address (tcp://host:8786)")
    if n > MAX_LOCAL_WORKERS:
        raise UsageError(f"--scheduler {address}: at most local:{MAX_LOCAL_WORKERS} worker processes")
    from rnntools.errors import check_memory

    check_memory(n * WORKER_BYTES, f"--scheduler local:{n} ({n} worker processes)", "N in local:N")
    return n


def scheduler_timeout() -> float:
    """Seconds to wait for a scheduler to answer: RNNTOOLS_SCHEDULER_TIMEOUT, default 10. A value that is not
    a positive finite number is a usage error (it reached Dask as "could not convert" or an internal
    error)."""
    import math

    text = os.environ.get(TIMEOUT_ENV) or "10"
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 86400):
        raise UsageError(f"{TIMEOUT_ENV}={text!r}: expected seconds to wait for the scheduler, a number "
                         "above 0 and at most 86400")
    return seconds


# the resource tracker's report of semaphores left registered when the last process using it ended
TRACKER_LEAKS = "ignore::UserWarning:multiprocessing.resource_tracker"


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker, if this process has none yet, with its leak report off.

    Why: the tracker (a child process writing to our stderr) removes the semaphores a process registered and did
    not remove itself once every process using it has ended, and says so: "UserWarning: resource_tracker: There
    appear to be 6 leaked semaphore objects to clean up at shutdown", with the file and line of the warning. A
    local cluster's nannies make such semaphores (their queues'); a run that ends while they are in use (a
    SIGTERM while the cluster started, before ``_interruptions_held``; a third Ctrl-C) printed it after "rnntools:
    interrupted". Nothing is left behind (cleaning up is the tracker's job): the report is for the authors of
    the code that made them, not for our user. The filter goes in as the tracker's last -W option
    (``sys.warnoptions`` is what multiprocessing passes on), which outranks PYTHONWARNINGS and holds under
    ``python -E`` or ``-I``. A tracker already running (a test process that started one) is left as it is."""
    import sys
    from multiprocessing import resource_tracker

    before = list(sys.warnoptions)
    sys.warnoptions.append(TRACKER_LEAKS)
    try:
        resource_tracker.ensure_running()
    finally:
        sys.warnoptions[:] = before


@contextlib.contextmanager
def _interruptions_held() -> Iterator[None]:
    """While a local cluster starts, Ctrl-C, SIGTERM and SIGHUP are held until it has started (or failed to),
    then acted on as they would have been, like one that comes during the work; a third stops at once.

    Why: an interruption in the middle of the start left its parts in flight. The nannies' threads went on
    starting worker processes while this process exited; one started then found the semaphores of its queues
    already removed by our exit and printed a FileNotFoundError traceback after "rnntools: interrupted", and
    the resource tracker reported the semaphores it had to remove. A started cluster is shut down whole (the
    caller's ``Cluster.close``). The start takes seconds. A signal that is ignored (``nohup``, a job started
    with ``&``) stays ignored; outside the main thread nothing is held."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    previous = {sig: handler for sig, handler in previous.items() if handler not in (signal.SIG_IGN, None)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def hold(signum, frame):
        held.append(signum)
        if len(held) >= 3:
            restore()
            signal.raise_signal(held[0])  # its own handler runs now (KeyboardInterrupt)

    for sig in previous:
        signal.signal(sig, hold)
    try:
        yield
    finally:
        restore()
        if held:
            signal.raise_signal(held[0])


def _quiet_distributed_logs() -> None:
    import logging

    for name in ("asyncio", "distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class Cluster:
    """A connected ``distributed.Client`` (and the local cluster it started, if any); a context manager that
    cancels what is still running and shuts a local cluster down, whatever happens."""

    def __init__(self, address: str, threads: int | None = None):
        distributed = _distributed()
        self.address, self.cluster, self.client = address, None, None
        n = local_workers(address)
        self.threads = None  # cores each task may use (numba, BLAS); None: the worker's share
        import logging

        quiet = {"silence_logs": logging.CRITICAL}
        from distributed.deploy.spec import SpecCluster

        started_before = set(SpecCluster._instances)
        try:
            if n is not None:
                from rnntools.parallel import available_cores

                cores = threads or available_cores()
                # one task at a time per process (counting and formatting are Python: threads would fight
                # over the GIL); the cores are shared out so that N x threads <= cores
                self.threads = max(1, cores // n)
                import dask

                _quiet_resource_tracker()
                # the nannies hand the settings to the workers they start
                with dask.config.set(LOCAL_CONFIG), _interruptions_held():
                    # ":0": the scheduler's HTTP server on any free port; the default 8787 is often taken
                    # (another cluster, a second cron job), and Dask then warns on stderr about moving
                    self.cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                            dashboard_address=":0", **quiet)
                    self.client = distributed.Client(self.cluster, set_as_default=False)
            else:
                self.threads = threads
                timeout = scheduler_timeout()
                self.client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            what = "start a local cluster" if n is not None else f"reach the Dask scheduler at {address}"
            reason = " ".join(str(exc).split()) or exc.__class__.__name__
            raise SchedulerError(f"cannot {what} ({reason[:200]})") from None
        except BaseException:
            if self.cluster is not None:  # an interruption held while it started (_interruptions_held)
                self.close()
                raise
            # a third Ctrl-C while the local cluster starts: it is not self.cluster yet, but distributed
            # has registered it for its atexit hook, which then printed an AssertionError traceback (and
            # asyncio a "Task exception was never retrieved" for the nanny it stopped) after "interrupted"
            SpecCluster._instances.difference_update(set(SpecCluster._instances) - started_before)
            _quiet_distributed_logs()
            raise

    def slots(self) -> int:
        """Tasks the cluster runs at once (its workers' threads)."""
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def close(self) -> None:
        _quiet_distributed_logs()   # what it says while stopping (a worker's stream closed) is not for the user
        for thing in (self.client, self.cluster):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()
        if self.cluster is not None:
            # closed once, here: after Ctrl-C a second try at exit (distributed's atexit hook) only prints a
            # traceback; the worker processes are this process's daemonic children and end with it anyway
            from distributed.deploy.spec import SpecCluster

            SpecCluster._instances.discard(self.cluster)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def ordered(self, function: Callable, items: Sequence, *args, window: int | None = None) -> Iterator[Any]:
        """``function(item, *args)`` for every item, on the cluster, results in the order of ``items``.

        At most ``window`` tasks are in flight (default: twice the cluster's slots), so memory stays bounded
        however many partitions there are; the first failure in input order is raised (a bad record), the
        tasks after it cancelled. ``pure=False``: every call is its own task even with equal arguments."""
        import distributed

        window = window or 2 * self.slots()
        pending: deque = deque()
        queue = iter(enumerate(items))
        name = getattr(function, "__name__", "task").strip("_").replace("_", "-")

        def submit() -> None:
            for i, item in queue:
                key = f"rnntools-{name}-{i}-{os.urandom(4).hex()}"
                pending.append(self.client.submit(function, item, *args, key=key, pure=False))
                return

        for _ in range(window):
            submit()
        try:
            while pending:
                try:
                    result = pending.popleft().result()
                except distributed.KilledWorker as exc:
                    raise SchedulerError(f"a partition's task ended every worker that ran it ({exc}); out of "
                                         "memory? try smaller partitions (more, smaller files)") from None
                except distributed.comm.CommClosedError as exc:
                    raise SchedulerError(f"lost the Dask scheduler at {self.address} ({exc})") from None
                submit()
                yield result
        finally:
            if pending:
                self.client.cancel(list(pending))

    def reduce(self, function: Callable, merge: Callable, items: Sequence, *args, fan_in: int = FAN_IN) -> Any:
        """``merge`` of ``function(item, *args)`` over every item, merged on the cluster's workers in a tree
        of ``fan_in`` results per merge task, left to right (so a merge that keeps the order of first
        appearance gives what merging in input order gives): the client receives one result instead of
        one per partition, which made it the bottleneck (merging a 34 MB partition's word counts cost the
        client a tenth of the CPU the worker spent counting them). A failure is the first failing item's
        in input order."""
        import distributed

        name = getattr(function, "__name__", "task").strip("_").replace("_", "-")
        tag = os.urandom(4).hex()
        leaves = [self.client.submit(function, item, *args, key=f"rnntools-{name}-{i}-{tag}", pure=False)
                  for i, item in enumerate(items)]
        every = list(leaves)
        level, futures = 0, leaves
        try:
            while len(futures) > 1:
                level += 1
                futures = [group[0] if len(group) == 1 else
                           self.client.submit(merge, *group, key=f"rnntools-merge-{level}-{j}-{tag}", pure=False)
                           for j, group in enumerate(futures[i:i + fan_in] for i in range(0, len(futures), fan_in))]
                every += futures
            try:
                return futures[0].result()
            except distributed.KilledWorker as exc:
                raise SchedulerError(f"a partition's task ended every worker that ran it ({exc}); out of "
                                     "memory? try smaller partitions (more, smaller files)") from None
            except distributed.comm.CommClosedError as exc:
                raise SchedulerError(f"lost the Dask scheduler at {self.address} ({exc})") from None
            except Exception:
                for leaf in leaves:  # the first failing partition in input order, as in one process
                    if leaf.exception() is not None:  # waits for the leaf; fetches no result
                        leaf.result()
                raise
        finally:
            self.client.cancel([f for f in every if not f.done()])
