"""Errors the library raises for the CLI to print as one line.

A message says what is wrong, where (file:line when there is one) and, when it helps, what to try.
The CLI prints ``rnntools CMD: error: MESSAGE`` and exits with ``exit_code``; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_ERROR = 1  # bad data, bad model file, runtime failure
EXIT_USAGE = 2  # click's own usage errors
EXIT_INTERRUPTED = 130  # Ctrl-C, after saving what can be saved


class RnnToolsError(Exception):
    """An error with a message fit for the user; no traceback needed."""

    exit_code = EXIT_ERROR


def where(path: str | os.PathLike | None, line: int | None = None) -> str:
    """``name:line`` for messages; stdin is shown as ``<stdin>``."""
    name = "<stdin>" if path in (None, "-") else os.fspath(path)
    return f"{name}:{line}" if line is not None else name


class InputError(RnnToolsError):
    """Bad input data; the message names the file and, when known, the line."""

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.path, self.line, self.reason = path, line, message
        super().__init__(f"{where(path, line)}: {message}" if path is not None or line is not None else message)


class ModelFileError(RnnToolsError):
    """A model file that is missing, truncated, foreign, of another kind or of a newer format."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = path
        super().__init__(f"{where(path)}: {message}" if path is not None else message)


class TrainingError(RnnToolsError):
    """Training cannot go on (NaN loss, nothing to learn from, ...)."""


class UsageError(RnnToolsError):
    """Options that parse but do not make sense together; exits 2 like click's usage errors."""

    exit_code = EXIT_USAGE
