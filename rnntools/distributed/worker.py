"""What runs on a worker: pure tasks (paths in, text or counts out), the client's settings applied once per
process, and models and vocabularies loaded once per worker while their file is unchanged."""

from __future__ import annotations

import contextlib
import gc
import io
import os
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

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
        # what this process holds for good (distributed's own objects, the model) is not garbage: frozen, the
        # full collections that a task's millions of small objects set off do not walk it again each time
        gc.freeze()
    return _CACHE[key]


class Spooled(NamedTuple):
    """A partition's output text left by its task in a file of the client's spool folder (its path and
    size), for the client to copy into place instead of receiving it through the scheduler's connection."""

    path: str
    size: int


@contextlib.contextmanager
def _output(spool: str | None) -> Iterator[tuple[Any, list]]:
    """Where a task writes its output text, and (after the block) a one-item list of what the task returns
    for it: a new file in the client's ``spool`` folder when this worker sees that folder (a local cluster,
    or a filesystem shared with the client), else memory (the text itself).

    Why a file: the text of a partition of cheap records (a classifier's 320 bytes a record, 80 MB a
    partition) was copied five times on its way as a string (formatted, pickled, sent, received into fresh
    memory, unpickled, written), and the fresh memory of every large copy was page-faulted and zeroed
    again: that was most of a one-worker cluster's overhead over one process. Written once to a file, the
    client moves it into its output inside the kernel (copy_file_range, sendfile). Each attempt writes a
    file of its own (a unique name), so a task rerun after a worker died never shares a file with the
    attempt it replaces; the client takes only the files that tasks returned."""
    fd = None
    if spool is not None and os.path.isdir(spool):
        import tempfile

        try:
            fd, path = tempfile.mkstemp(prefix="part-", suffix=".jsonl", dir=spool)
        except OSError:  # seen but not writable here (a worker of another user): the text is returned
            fd = None
    if fd is not None:
        result: list = []
        with open(fd, "w", encoding="utf-8") as stream:
            yield stream, result
        result.append(Spooled(path, os.path.getsize(path)))
        return
    stream = io.StringIO()
    result = []
    yield stream, result
    result.append(stream.getvalue())


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
        from rnntools.nn.parallel import keep_freed_memory

        # as in one process (the engine does it on first use, which a task may never reach): a worker that
        # Dask's nanny started with MALLOC_TRIM_THRESHOLD_ set would otherwise map and fault every array
        # over 128 KB afresh
        keep_freed_memory()
        model_file = load_model(real)
        model_file.path = str(model_path)
        return pkg.load(model_file)

    return pkg, _cached(f"model:{task}", getattr(model_path, "real", model_path), load)


def _predict(part: list, task: str, model_path: str, options: dict, settings: dict, threads,
             spool: str | None = None) -> tuple[str | Spooled, str, list | None]:
    """The partition's output records as JSONL (the text, or the file in ``spool`` that holds it: ``_output``),
    what it said on stderr, and for a task whose records have keys that must be unique over the whole input
    (``record_key``: forecast's series ids) those keys with where each was read, for the client to check
    across partitions."""
    from rnntools.io import JsonlWriter

    _apply(settings, threads)
    with _captured_stderr() as err, _output(spool) as (out, text):
        pkg, model = _task_model(task, model_path)
        writer = JsonlWriter(out)
        records = pkg.read(part, model, targets=False, **options)
        record_key = getattr(pkg, "record_key", None)
        keys = None
        if record_key is not None:
            keys = []
            records = _keyed(records, record_key, keys)
        for record in pkg.predict(model, records, **options):
            writer.write(record)
    return text[0], err.getvalue(), keys


def _keyed(records, record_key, keys: list):
    for record in records:
        keys.append(record_key(record))
        yield record


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


def _evaluate_piece(piece, part: list, task: str, model_path: str, options: dict, settings: dict,
                    threads) -> tuple[Any, str, str]:
    """One independent piece of ``evaluate`` (a backtest fold: a training of its own) on the whole input:
    its statistics, what reading the input said (the client prints the first piece's only, as one process
    reads once) and what the piece said."""
    _apply(settings, threads)
    with _captured_stderr() as read_err:
        pkg, model = _task_model(task, model_path)
        records = list(pkg.read(part, model, targets=True, **options))
    with _captured_stderr() as err:
        stats = pkg.evaluate_piece(model, records, piece, **options)
    return stats, read_err.getvalue(), err.getvalue()


def _count(part: list, level: str, lowercase: bool, field, errors: str, settings: dict):
    from rnntools.text.pipeline import count_tokens

    _apply(settings, 1)
    return count_tokens(part, level=level, lowercase=lowercase, field=field, errors=errors, workers=1)


def _merge_counts(*counters):
    """Token counters summed left to right into a new one (the order of first appearance kept). Its inputs
    stay as they are: they may be another task's stored result, which a rerun of this task would read
    again."""
    from rnntools.text.vocab import TokenCounter

    total = TokenCounter(counters[0].level, counters[0].lowercase)
    for counter in counters:
        total.update(counter)
    return total


def _bow(part: list, vocab_path: str, mode: str, field, errors: str, settings: dict,
         spool: str | None = None) -> tuple[str | Spooled, int]:
    from rnntools.text.pipeline import encode_documents
    from rnntools.text.vocab import Vocab

    _apply(settings, 1)
    vocab = _cached("vocab", vocab_path, Vocab.read)
    with _output(spool) as (out, text):
        unknown = encode_documents(part, vocab, mode, field=field, stream=out, errors=errors, workers=1,
                                   warn=False)
    return text[0], unknown
