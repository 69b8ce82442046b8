"""Batch ``predict``, ``evaluate``, ``vocab`` and ``bow`` on a Dask cluster (``--scheduler``).

The inputs are cut into partitions (whole files, or line-aligned byte ranges of a large plain file), each
partition is one pure task (paths in, text or counts out: a task that runs twice gives the same result, so
Dask may rerun it on another worker when one dies), and the client alone writes: stdout in input order as
partitions complete, or one file per partition (``-o out/part-{n}.jsonl``), each replaced atomically once
every partition has succeeded. Workers load a model once and keep it while its file is unchanged (path,
modification time, size). docs/distributed.md has the design, the failure model and the measurements.

Nothing here runs unless ``--scheduler`` (or ``RNNTOOLS_SCHEDULER``) is given; ``distributed`` is imported
only then, and is an optional dependency (``pip install 'rnntools[dask]'``).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
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
COMPRESSED = (".gz", ".bz2", ".xz")  # cannot be entered in the middle: one partition per file


class SchedulerError(RnnToolsError):
    """The scheduler cannot be reached or the cluster cannot start."""


# --- the cluster ---------------------------------------------------------------------------------------

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
    return n


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
        try:
            if n is not None:
                from rnntools.parallel import available_cores

                cores = threads or available_cores()
                # one task at a time per process (counting and formatting are Python: threads would fight
                # over the GIL); the cores are shared out so that N x threads <= cores
                self.threads = max(1, cores // n)
                self.cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                        dashboard_address=":0", **quiet)
                self.client = distributed.Client(self.cluster, set_as_default=False)
            else:
                self.threads = threads
                timeout = float(os.environ.get(TIMEOUT_ENV) or 10)
                self.client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            what = "start a local cluster" if n is not None else f"reach the Dask scheduler at {address}"
            reason = " ".join(str(exc).split()) or exc.__class__.__name__
            raise SchedulerError(f"cannot {what} ({reason[:200]})") from None

    def slots(self) -> int:
        """Tasks the cluster runs at once (its workers' threads)."""
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def close(self) -> None:
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


# --- partitions ------------------------------------------------------------------------------------------

def _sniff(line: bytes) -> bool:
    """Whether a reader that sniffs its format from its first line would take this one for JSONL."""
    return line.decode("utf-8", "replace").lstrip().startswith("{")


def _first_line(f, limit: int) -> bytes:
    """The first non-blank line from where ``f`` stands (at most ``limit`` bytes of it)."""
    while True:
        line = f.readline(limit)
        if not line or line.strip():
            return line.lstrip(b"\xef\xbb\xbf")


def _cut(f, at: int, end: int, jsonl: bool, limit: int) -> int | None:
    """The first line start at or after byte ``at`` whose line is not blank and sniffs as the file does (so a
    partition reads like the whole file), or None before ``end``."""
    f.seek(max(at - 1, 0))
    if at > 0:
        # finish the line that byte at-1 is in (no cut in the middle of a line)
        while True:
            piece = f.readline(limit)
            if not piece or piece.endswith(b"\n"):
                break
    while True:
        pos = f.tell()
        if pos >= end:
            return None
        line = f.readline(limit)
        if not line:
            return None
        if line.strip() and line.endswith(b"\n") and _sniff(line) == jsonl:
            return pos
        while line and not line.endswith(b"\n"):  # a line longer than the limit: skip the rest of it
            line = f.readline(limit)


def file_ranges(path: str, size: int, target: int) -> list:
    """``path`` as line-aligned byte ranges of about ``target`` bytes (first lines not numbered yet)."""
    from rnntools.io import FileRange

    real = os.path.abspath(path)
    if size <= target or path.lower().endswith(COMPRESSED):
        return [FileRange(path, real)]
    limit = 1 << 16
    with open(real, "rb") as f:
        jsonl = _sniff(_first_line(f, 1 << 20))
        starts = [0]
        for k in range(1, -(-size // target)):
            cut = _cut(f, max(k * target, starts[-1] + 1), size, jsonl, limit)
            if cut is None:
                break
            if cut > starts[-1]:
                starts.append(cut)
    ends = starts[1:] + [size]
    return [FileRange(path, real, s, e) for s, e in zip(starts, ends)]


def _count_lines(part) -> int:
    """Line breaks in a byte range (a task: the ranges are counted on the workers, in parallel)."""
    n = 0
    with open(part.real, "rb") as f:
        f.seek(part.start)
        left = part.end - part.start
        while left > 0:
            block = f.read(min(left, 1 << 22))
            if not block:
                break
            n += block.count(b"\n")
            left -= len(block)
    return n


def check_inputs(inputs: Sequence[str]) -> list[int]:
    """The inputs' sizes; an error for what workers cannot read by path (stdin, a pipe, a missing file),
    before any cluster starts."""
    from rnntools.errors import InputError

    sizes = []
    for path in inputs:
        if path == "-":
            raise UsageError("with --scheduler the workers read the inputs by path: give files, not stdin (-)")
        if not os.path.exists(path):
            raise InputError("no such file", path)
        if not os.path.isfile(path):
            raise InputError("not a regular file (with --scheduler the workers read the inputs by path)", path)
        sizes.append(os.path.getsize(path))
    return sizes


def plan(cluster: Cluster, inputs: Sequence[str], split: bool = True) -> list[list]:
    """The partitions of ``inputs``, in order: each a list of ``FileRange`` (small files share one).

    ``split``: large plain files are cut into line-aligned byte ranges whose first line number is counted on
    the workers, so every message still names the file's own line; otherwise one file is one partition
    (forecast: a series may span its file)."""
    from rnntools.io import FileRange

    sizes = check_inputs(inputs)
    total = sum(sizes)
    target = min(MAX_PARTITION, max(MIN_PARTITION, total // (PARTS_PER_WORKER * cluster.slots()) + 1))
    ranges = []
    for path, size in zip(inputs, sizes):
        ranges += file_ranges(path, size, target) if split else [FileRange(path, os.path.abspath(path))]
    cut = [r for r in ranges if r.end is not None and r.start > 0]
    if cut:
        # the first line of every range after the first: line breaks before it, counted in parallel
        before = [FileRange(r, r.real, prev.start, prev.end) for r, prev in zip(ranges[1:], ranges) if r.start > 0]
        counts = list(cluster.ordered(_count_lines, before))
        it = iter(counts)
        for i, r in enumerate(ranges):
            if r.start > 0:
                r.first_line = ranges[i - 1].first_line + next(it)
    parts, current, current_size = [], [], 0
    for r in ranges:
        size = (r.end - r.start) if r.end is not None else os.path.getsize(r.real)
        if current and current_size + size > target:
            parts.append(current)
            current, current_size = [], 0
        current.append(r)
        current_size += size
    if current:
        parts.append(current)
    return parts


# --- what runs on a worker ------------------------------------------------------------------------------

_CACHE: dict[tuple, Any] = {}  # (what, path, mtime, size) -> a loaded model or vocabulary, per worker process
_SETTINGS: dict[str, Any] = {}


def _settings() -> dict:
    """What the client's command line set in its own process and a worker must set in its own."""
    from rnntools import console
    from rnntools.io import inputs as rio

    return {"max_line_bytes": rio.MAX_LINE_BYTES, "command": console.command_name(), "quiet": console.is_quiet()}


def _apply(settings: dict, threads: int | None) -> None:
    if _SETTINGS.get("settings") != settings:
        from rnntools import console
        from rnntools.io import inputs as rio

        rio.set_max_line_bytes(settings["max_line_bytes"])
        console.configure(quiet=settings["quiet"], command=settings["command"])
        _SETTINGS["settings"] = settings
    if threads is None:
        from rnntools.parallel import available_cores

        try:
            from distributed import get_worker

            threads = max(1, available_cores() // get_worker().state.nthreads)
        except (ImportError, ValueError, AttributeError):
            threads = 1
    if _SETTINGS.get("threads") != threads:
        from rnntools.parallel import configure_threads

        configure_threads(threads)
        _SETTINGS["threads"] = threads


def _cached(what: str, path: str, load: Callable[[str], Any]) -> Any:
    """``load(path)`` once per worker while the file stays the same (path, mtime, size)."""
    st = os.stat(path)
    key = (what, os.path.realpath(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        for old in [k for k in _CACHE if k[:2] == key[:2]]:
            del _CACHE[old]
        while len(_CACHE) >= 4:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = load(path)
    return _CACHE[key]


@contextlib.contextmanager
def _captured_stderr() -> Iterator[io.StringIO]:
    """What the task says on stderr (warnings), carried back to the client that prints it."""
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        yield buffer


def _task_model(task: str, model_path):
    """The task's package and its model, loaded from ``model_path.real`` once per worker; the model file
    keeps the name the user gave (a summary that names its model names it as one process does)."""
    from rnntools.cli.tasks import package
    from rnntools.io import load_model

    pkg = package(task)

    def load(real: str):
        model_file = load_model(real)
        model_file.path = str(model_path)
        return pkg.load(model_file)

    return pkg, _cached(f"model:{task}", getattr(model_path, "real", model_path), load)


def _predict(part: list, task: str, model_path: str, options: dict, settings: dict, threads) -> tuple[str, str]:
    from rnntools.io import JsonlWriter

    _apply(settings, threads)
    with _captured_stderr() as err:
        pkg, model = _task_model(task, model_path)
        out = io.StringIO()
        writer = JsonlWriter(out)
        for record in pkg.predict(model, pkg.read(part, model, targets=False, **options), **options):
            writer.write(record)
    return out.getvalue(), err.getvalue()


def _evaluate(part: list, task: str, model_path: str, options: dict, settings: dict, threads) -> tuple[dict, str]:
    _apply(settings, threads)
    with _captured_stderr() as err:
        pkg, model = _task_model(task, model_path)
        # `targets`: evaluate's records carry the expected outputs too (as the CLI reads them)
        summary = pkg.evaluate(model, pkg.read(part, model, targets=True, **options), **options)
    return summary, err.getvalue()


def _evaluate_partial(part: list, task: str, model_path: str, options: dict, settings: dict,
                      threads) -> tuple[Any, str]:
    _apply(settings, threads)
    with _captured_stderr() as err:
        pkg, model = _task_model(task, model_path)
        stats = pkg.evaluate_partial(model, pkg.read(part, model, targets=True, **options), **options)
    return stats, err.getvalue()


def _count(part: list, level: str, lowercase: bool, field, errors: str, settings: dict):
    from rnntools.text.pipeline import count_tokens

    _apply(settings, 1)
    return count_tokens(part, level=level, lowercase=lowercase, field=field, errors=errors, workers=1)


def _bow(part: list, vocab_path: str, mode: str, field, errors: str, settings: dict) -> tuple[str, int]:
    from rnntools.text.pipeline import encode_documents
    from rnntools.text.vocab import Vocab

    _apply(settings, 1)
    vocab = _cached("vocab", vocab_path, Vocab.read)
    out = io.StringIO()
    unknown = encode_documents(part, vocab, mode, field=field, stream=out, errors=errors, workers=1, warn=False)
    return out.getvalue(), unknown


# --- what the client does ----------------------------------------------------------------------------------

class ShardedOutput:
    """``-o out/part-{n}.jsonl``: partition n's results in its own file. Each is written to a temporary file
    beside it and all are renamed into place only when every partition has succeeded, so a failed or
    interrupted run leaves no partial shard (and no shard of an older run mixed with new ones)."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.written: list[tuple[str, str]] = []  # (temporary, final)

    PATTERN = r"\{n(:0?\d*d?)?\}"  # {n}, or {n:05d} for names that sort as the partitions do

    @staticmethod
    def is_pattern(output: str | None) -> bool:
        import re

        return output is not None and re.search(ShardedOutput.PATTERN, output) is not None

    def write(self, n: int, text: str) -> None:
        import re
        import tempfile

        from rnntools.errors import OutputError

        final = re.sub(self.PATTERN, lambda m: format(n, (m.group(1) or ":")[1:]), self.pattern)
        folder = os.path.dirname(os.path.abspath(final))
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(final)[:200]}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot create a file in {folder} ({exc.strerror or exc})", final) from None
        self.written.append((tmp, final))
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def commit(self) -> None:
        for tmp, final in self.written:
            os.replace(tmp, final)
        self.written = []

    def discard(self) -> None:
        for tmp, _ in self.written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.written = []


class Said:
    """What the partitions said on stderr, said once: lines that differ only in their whole numbers ("61 of
    2000 texts had no known tokens") are one line with the numbers summed, as a run over the whole input
    would count them; any other line is repeated once, in the order first said."""

    def __init__(self):
        self.lines: dict[str, list[int] | None] = {}

    def add(self, text: str) -> None:
        import re

        for line in text.splitlines():
            if re.search(r"\d[.,]\d|\d%", line):  # a ratio or a decimal does not add up
                self.lines.setdefault(line, None)
                continue
            template = re.sub(r"\d+", "\x00", line)
            numbers = [int(n) for n in re.findall(r"\d+", line)]
            old = self.lines.get(template)
            self.lines[template] = numbers if old is None else [a + b for a, b in zip(old, numbers)]

    def flush(self) -> None:
        for template, numbers in self.lines.items():
            line = template
            for n in numbers or ():
                line = line.replace("\x00", str(n), 1)
            sys.stderr.write(line + "\n")
        self.lines = {}


def write_ordered(results: Iterator[tuple[str, str]], output: str | None) -> None:
    """Partition texts to stdout or ``output`` in order, or one file each; what the partitions said on
    stderr once at the end (a run that fails says only why, as in one process)."""
    from rnntools.io import open_output

    said = Said()
    if ShardedOutput.is_pattern(output):
        shards = ShardedOutput(output)
        try:
            for n, (text, message) in enumerate(results):
                said.add(message)
                shards.write(n, text)
            shards.commit()
        finally:
            shards.discard()
    else:
        with open_output(output) as stream:
            for text, message in results:
                said.add(message)
                stream.write(text)
                stream.flush()
    said.flush()


def check_model_path(model: str) -> None:
    if model == "-":
        raise UsageError("with --scheduler the workers load the model by path: give a model file, not stdin (-)")


def run_model(name: str, task: str, model: str, inputs: list[str], output: str | None, options: dict,
              address: str, threads: int | None, split: bool = True,
              combine: Callable[[list], dict] | None = None) -> dict | None:
    """``predict`` (records written here) or ``evaluate`` (the summary returned) of ``task``'s model file on
    the cluster at ``address``.

    ``evaluate`` with ``combine`` (a task that exposes ``evaluate_partial``/``evaluate_combine``): every
    partition's sufficient statistics are computed on the cluster and ``combine`` sums them here, exactly.
    Without it the summary of partitions is not the whole's (an average of averages is not the average;
    lm's evaluation carries its state from line to line), so the whole input is one task."""
    check_model_path(model)
    check_inputs(inputs)
    from rnntools.io import FileRange

    real = FileRange(model, os.path.abspath(model))  # named as given, loaded where any worker finds it
    settings = _settings()
    with Cluster(address, threads) as cluster:
        parts = plan(cluster, inputs, split=split and (name == "predict" or combine is not None))
        if name == "predict":
            write_ordered(cluster.ordered(_predict, parts, task, real, options, settings, cluster.threads), output)
            return None
        if combine is not None:
            said = Said()
            stats = []
            for partial, message in cluster.ordered(_evaluate_partial, parts, task, real, options, settings,
                                                    cluster.threads):
                stats.append(partial)
                said.add(message)
            said.flush()
            return combine(stats)
        summary, message = next(cluster.ordered(_evaluate, [[r for p in parts for r in p]], task, real, options,
                                                settings, cluster.threads))
        sys.stderr.write(message)
        return summary


def count_vocab(inputs: Sequence[str], address: str, threads: int | None, *, level: str, lowercase: bool,
                field: str | None, errors: str):
    """The exact counts of ``inputs`` (a ``TokenCounter``), partitions counted on the cluster and summed."""
    from rnntools.text.vocab import TokenCounter

    total = TokenCounter(level, lowercase)
    check_inputs(inputs)
    with Cluster(address, threads) as cluster:
        parts = plan(cluster, inputs)
        for counter in cluster.ordered(_count, parts, level, lowercase, field, errors, _settings()):
            total.update(counter)
    return total


def encode_documents(inputs: Sequence[str], vocab_path: str, mode: str, address: str, threads: int | None, *,
                     field: str | None, errors: str, output: str | None) -> None:
    """``bow`` JSONL on the cluster, in input order (or sharded), the unknown-token warning summed."""
    from rnntools.text.encode import BowEncoder
    from rnntools.text.pipeline import warn_unknown
    from rnntools.text.vocab import Vocab

    check_inputs(inputs)
    vocab = Vocab.read(vocab_path)
    try:
        BowEncoder(vocab, mode)  # a vocabulary that cannot serve this mode fails here, once
    except ValueError as exc:
        raise UsageError(f"{vocab_path}: {exc}") from None
    unknown = [0]

    def texts(results):
        for text, n in results:
            unknown[0] += n
            yield text, ""

    with Cluster(address, threads) as cluster:
        parts = plan(cluster, inputs)
        write_ordered(texts(cluster.ordered(_bow, parts, os.path.abspath(vocab_path), mode, field, errors,
                                            _settings())), output)
    warn_unknown(unknown[0], vocab)
