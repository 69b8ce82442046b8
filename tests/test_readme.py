"""The README stays true: its quick start is two commands that work, and every example prints what it shows."""

import difflib
import os
import re
import shutil
import subprocess
import sys

import pytest
import readme_examples
from conftest import ROOT


def quick_start_commands() -> list[str]:
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert commands[0].startswith("bin/rnntools ")
    assert commands[1] == "bin/test"
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
    assert "\nbin/test" in ci


@pytest.mark.slow
def test_quick_start_main_job_runs(tmp_path):
    command = quick_start_commands()[0]
    # the same command, through this interpreter instead of the venv, with a 5-second budget
    command = command.replace("bin/rnntools", f"'{sys.executable}' -m rnntools").replace("--max-time 60",
                                                                                         "--max-time 5")
    shutil.copytree(os.path.join(ROOT, "samples"), tmp_path / "samples")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": ROOT}, timeout=600)
    assert result.returncode == 0, result.stderr
    # 300 tokens; after 5 s of training on a loaded machine (a step or two) the model may still draw a
    # special token now and then, which prints nothing: fewer characters than tokens
    assert result.stdout.startswith("It is a truth") and len(result.stdout) >= 250
    assert (tmp_path / "lm.npz").exists()


@pytest.mark.slow
@pytest.mark.parametrize("document", readme_examples.documents())
def test_examples_print_what_the_documents_show(document):
    """Every console example of README.md and docs/*.md runs on shipped files and prints what is shown
    (timings masked); `python tests/readme_examples.py --update` rewrites the outputs after a change."""
    old, new = readme_examples.differences(document)
    if not readme_examples.agree(old, new):
        diff = "".join(difflib.unified_diff([x + "\n" for x in old], [x + "\n" for x in new], document, "real output"))
        pytest.fail(f"{document}: the examples' output changed (python tests/readme_examples.py --update):\n{diff}")


@pytest.mark.slow
def test_readme_examples_hold_on_an_avx2_cpu():
    """README.md's examples again with numba compiling for an AVX2 CPU (Haswell, no AVX-512) and OpenBLAS
    running its Haswell kernels (its choice on every AVX2 CPU), so that a machine with AVX-512 also checks
    what an AVX2 one prints. Why: with those kernels a row's product took other bits with other rows beside
    it, and `predict --scheduler local:2` stopped giving the bytes of one process, which no run on an
    AVX-512 machine showed."""
    import platform
    import tempfile

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("AVX2 is an x86-64 instruction set")
    cache = os.path.join(tempfile.gettempdir(), f"rnntools-numba-avx2-{os.getuid()}")   # as the kernels' test
    env = {**os.environ, "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "-avx512f", "NUMBA_CACHE_DIR": cache,
           "OPENBLAS_CORETYPE": "Haswell"}
    env.pop("NUMBA_DISABLE_JIT", None)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "readme_examples.py"), "README.md"],
                            env=env, capture_output=True, text=True, cwd=ROOT, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_example_parser_reads_commands_outputs_and_continuations():
    lines = ["text", "```console", "$ echo a \\", "  b", "a b", "", "$ true", "```", "```sh", "$ not run", "```"]
    exs = readme_examples.examples(lines)
    assert [e.command for e in exs] == ["echo a \\\n  b", "true"]
    assert exs[0].output == ["a b", ""] and exs[1].output == []
    assert readme_examples.normalise('{"time": 1.5, "x": 2} trained 1,234 words/s in 3.2s') == \
        '{"time": #, "x": 2} trained # in #'


def test_decimals_agree_to_four_digits_and_everything_else_exactly():
    same = readme_examples.same
    assert same('{"score": 0.7467, "n": 3}', '{"score": 0.746696, "n": 3}')
    assert same("the -0.119560488 -0.0253568739", "the -0.119522735 -0.0253859814")
    assert not same('{"score": 0.7467}', '{"score": 0.7567}')
    assert not same('{"accuracy": 0.333333, "n": 3}', '{"accuracy": 0.333333, "n": 4}')
    assert not same('{"token": "sperm", "score": 0.7467}', '{"token": "boat", "score": 0.7467}')
    assert not same("a 0.5 b", "a 0.5")
    assert readme_examples.agree(["x 1.00001"], ["x 1.0"]) and not readme_examples.agree(["x"], ["x", "y"])


def test_readme_examples_use_only_shipped_files():
    """A file an example reads is in samples/ or was written by an earlier example of the same document."""
    for document in ["README.md"]:
        for ex in readme_examples.examples(readme_examples.read(document)):
            for name in re.findall(r"samples/[\w.-]+", ex.command):
                assert os.path.exists(os.path.join(ROOT, name)), (document, ex.command)


def test_outputs_marked_as_varying_by_cpu_are_compared_by_shape():
    """``# varies by CPU``: other predictions and scores pass, other keys, lengths or types do not; lines
    that are not JSON still compare as ``same``."""
    from readme_examples import same_shape

    shown = '{"source": "theme", "prediction": "TH EH1 TH", "score": -0.07, "nbest": [{"prediction": "A", "score": -1.0}]}'
    assert same_shape(shown, '{"source": "theme", "prediction": "TH EH1 M", "score": -0.09, "nbest": [{"prediction": "B", "score": -2.5}]}')
    assert not same_shape(shown, '{"source": "theme", "prediction": "TH EH1 M", "score": -0.09, "nbest": []}')
    assert not same_shape(shown, '{"source": "theme", "guess": "TH EH1 M", "score": -0.09, "nbest": [{"prediction": "B", "score": -2.5}]}')
    assert not same_shape(shown, '{"source": "theme", "prediction": "TH EH1 M", "score": "x", "nbest": [{"prediction": "B", "score": -2.5}]}')
    assert same_shape("rnntools: warning: 2 texts", "rnntools: warning: 2 texts")
    assert not same_shape("rnntools: warning: 2 texts", "rnntools: warning: 3 texts")
