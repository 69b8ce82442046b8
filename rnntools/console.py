"""Everything rnntools says on stderr: messages, warnings, progress bars and the JSONL training log.

stdout carries data only. Progress bars and informational lines appear only when stderr is a terminal and
``--quiet`` is off; warnings always appear on stderr unless ``--quiet``, so batch jobs keep them in their logs.
rich is imported on first use so that commands which never draw a bar do not pay for it.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_state = {"quiet": False, "command": "rnntools", "console": None, "log_fields": {}}


def configure(*, quiet: bool = False, command: str = "rnntools") -> None:
    _state["quiet"] = quiet
    _state["command"] = command


def label_logs(**fields: Any) -> None:
    """Fields every ``--log`` record this process writes from now on carries after ``event`` and ``time``: the
    networks of a seq2seq ensemble, each in its own process, append to the one log as ``"network": k``."""
    _state["log_fields"] = dict(fields)


def is_quiet() -> bool:
    return bool(_state["quiet"])


def command_name() -> str:
    return str(_state["command"])


def _console():
    if _state["console"] is None:
        from rich.console import Console

        _state["console"] = Console(stderr=True, highlight=False)
    return _state["console"]


def info(message: str) -> None:
    """A progress or summary line for people watching: only when stderr is a terminal, and not with --quiet."""
    if not _state["quiet"] and sys.stderr.isatty():
        print(f"{_state['command']}: {message}", file=sys.stderr, flush=True)


def printable(text: str) -> str:
    """``text`` for a message: the bytes of a file name that are not UTF-8 (which Python carries as lone
    surrogates, U+DC80-U+DCFF) shown as ``\\xff``, as Python writes bytes, instead of ``\\udcff``."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:   # another lone surrogate: escaped as it is
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def printable_strings(value: Any) -> Any:
    """``value`` (a record: dicts, lists, strings, numbers) with every string, key or value, made
    :func:`printable`. A file name that is not UTF-8 reaches a record as lone surrogates (an evaluation's
    "model", a training log's "output"), which UTF-8 cannot encode: written to a file they were an internal
    error (UnicodeEncodeError), to standard output raw bytes that made the JSONL invalid UTF-8."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_strings(k): printable_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_strings(v) for v in value]
    return value


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (which UTF-8 cannot encode): :func:`printable_strings`."""
    return not text.isascii() and _SURROGATE.search(text) is not None


_SURROGATE = re.compile("[\ud800-\udfff]")


def warn(message: str) -> None:
    """A warning on stderr, terminal or not (a cron job's mail should carry it); silent with --quiet."""
    if not _state["quiet"]:
        print(printable(f"{_state['command']}: warning: {message}"), file=sys.stderr, flush=True)


class ReplacedFields:
    """Input records that already had a field the command adds (``values`` of ``bow``, ``prediction`` of a
    seq2seq ``predict``, ``neighbors``): the output's value replaces the input's, which is right when
    ``predict`` runs again on its own output and a loss when the field was the user's, so it is counted and
    said once at the end (``warn``) instead of silently. ``check(record, added)`` before the fields are set."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def check(self, record: dict, added) -> None:
        for name in added:
            if name in record:
                self.counts[name] = self.counts.get(name, 0) + 1

    def warn(self) -> None:
        if not self.counts:
            return
        n = max(self.counts.values())
        names = ", ".join(f'"{name}"' for name in self.counts)
        warn(f"{n} input record{'s' if n != 1 else ''} had {'fields' if len(self.counts) > 1 else 'a field'} "
             f"{names} of the output; the output's value{'s' if len(self.counts) > 1 else ''} replaced the input's "
             "(rename the input field to keep it)")


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """A rich table on stderr for people watching a terminal (the data itself goes to stdout as JSONL);
    nothing when stderr is a file or a pipe, where it would only bury the warnings."""
    if _state["quiet"] or not sys.stderr.isatty():
        return
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*[_fmt(v) for v in row])
    _console().print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def progress_enabled() -> bool:
    return not _state["quiet"] and sys.stderr.isatty()


class _Bar:
    """A progress bar whose fields (loss, lr, words/s...) are shown beside it; a no-op when disabled."""

    def __init__(self, progress, task):
        self._progress, self._task = progress, task

    def update(self, advance: float = 0, **fields: Any) -> None:
        if self._progress is not None:
            text = "  ".join(f"{k} {_fmt(v)}" for k, v in fields.items())
            self._progress.update(self._task, advance=advance, fields=text)

    def set_total(self, total: float | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[_Bar]:
    """``with progress("training", total=n) as bar: bar.update(k, loss=0.5)``."""
    if not progress_enabled():
        yield _Bar(None, None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[fields]}")]
    with Progress(*columns, console=_console(), transient=False) as bar_progress:
        task = bar_progress.add_task(description, total=total, fields="")
        yield _Bar(bar_progress, task)


class JsonlLog:
    """Machine-readable progress (``--log FILE``): one JSON object per event, flushed at once."""

    def __init__(self, path: str | None):
        self._path = path
        # "-" is standard output, as for every other output (it was a file named "-" in the current folder, while
        # the output checks took it for standard output: `-o - --log -` is refused as one stream twice)
        self._owned = path != "-"
        if not self._owned:
            self._path, self._file = "standard output", sys.stdout
            self._start = time.time()
            return
        try:
            self._file = open(path, "a", encoding="utf-8") if path else None
        except OSError as exc:
            # opening for appending seeks to the end, which some files refuse (/proc/self/mem): the error was
            # a bare "Invalid argument", naming no file
            from rnntools.errors import OutputError

            raise OutputError(f"cannot write the training log ({exc.strerror or exc})", path) from None
        self._start = time.time()

    def write(self, event: str, **fields: Any) -> None:
        if self._file is None:
            return
        record = {"event": event, "time": round(time.time() - self._start, 3), **_state["log_fields"], **fields}
        line = json.dumps(record, ensure_ascii=False, default=float)
        if has_surrogates(line):  # a file name that is not UTF-8 (the "start" event's output and log)
            line = json.dumps(printable_strings(record), ensure_ascii=False, default=float)
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except OSError as exc:
            # a full disk under the log: the error was "no space left on device (nothing was replaced ...)",
            # naming no file, while the model saved so far stays whole
            from rnntools.errors import OutputError

            stream, self._file = self._file, None
            try:
                if self._owned:
                    stream.close()
            except OSError:
                pass   # its buffer could not be written either
            raise OutputError(f"cannot write the training log ({exc.strerror or exc})", self._path) from None

    def close(self) -> None:
        if self._file is not None:
            if self._owned:
                self._file.close()
            self._file = None

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
