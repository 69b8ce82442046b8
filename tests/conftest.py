import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def samples_dir():
    return SAMPLES


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
