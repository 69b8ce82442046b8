import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def samples_dir():
    return SAMPLES


@pytest.fixture(autouse=True)
def _console_not_quiet():
    """Each test starts with messages on: a command run in-process with -q left the console quiet for the tests that
    call the library after it in the same worker (test_trainer's "saved to" warning went missing)."""
    from rnntools import console

    console.configure(quiet=False)
    yield


@pytest.fixture
def run_cli():
    """Run ``rnntools ARGS`` in-process with click's CliRunner; returns the Result
    (stdout, stderr and exit_code kept apart)."""
    from click.testing import CliRunner

    from rnntools.cli import main

    def run(args, input=None):
        return CliRunner().invoke(_Main(main), [str(a) for a in args], input=input)

    return run


class _Main:
    """Adapts ``rnntools.cli.main`` (which maps errors to exit statuses) to CliRunner."""

    def __init__(self, main):
        self._main = main
        self.name = "rnntools"

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        self._main(list(args or []))


def interrupt_once_training(proc, log: str, timeout: float = 120) -> str:
    """Ctrl-C (SIGINT) to a training process ``proc`` (stderr piped) once its ``--log`` shows an update;
    returns its stderr after it ends. Fails if training ended before the signal."""
    import signal
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(log) and '"event": "step"' in open(log).read():
            break
        time.sleep(0.2)
    assert proc.poll() is None, "training ended before the signal: " + proc.communicate()[1]
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=timeout)[1]


def interrupting_progress(after: int = 0):
    """A stand-in for ``rnntools.console.progress`` whose "training" bar raises KeyboardInterrupt (Ctrl-C)
    at an update once more than ``after`` updates of any bar were made: the interrupt lands inside the
    training loop, where a real Ctrl-C would."""
    calls = {"n": 0}

    class Bar:
        def __init__(self, description):
            self.description = description

        def update(self, *a, **k):
            calls["n"] += 1
            if self.description == "training" and calls["n"] > after:
                raise KeyboardInterrupt

    class Progress:
        def __init__(self, description, *a, **k):
            self.description = description

        def __enter__(self):
            return Bar(self.description)

        def __exit__(self, *exc):
            return False

    return Progress
