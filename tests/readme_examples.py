"""Run the examples of README.md and docs/*.md and compare (or, with --update, rewrite) the output shown.

An example is a fenced block marked ``console``: lines starting with ``$ `` are commands (a line ending
in a backslash continues on the next), the lines after a command are what it prints, stdout and stderr
together as a terminal shows them. Blocks marked anything else (``sh``, ``text``, ``python``...) are not run;
use ``sh`` for commands that need what is not shipped (benchmark peers, minutes of CPU).

Each file is one session: its commands run in order in one fresh directory where ``samples/`` is the
repository's samples folder and ``rnntools`` is this checkout, so a later example can use a file an
earlier one wrote. Numbers that measure time (seconds, words/s...) are masked before comparing, and decimal fractions
compared to about 4 significant digits (the last digits of float32 training depend on the CPU). A command that
ends with the comment ``# varies by CPU`` (the predictions of a model so small that those last digits change
what it learns) has only the shape of its output compared: the same JSON keys, nesting, list lengths and types.

Pictures: a document that shows ``docs/images/NAME.png`` (or ``images/NAME.png`` from docs/) gets that file
from an example that wrote ``NAME.png``: the check requires the example to write it, ``--update`` copies it
into docs/images/, so the pictures in the documentation are the ones the current code draws.

    python tests/readme_examples.py                 # check every file; exit 1 on a difference
    python tests/readme_examples.py --update        # rewrite the outputs shown from the real ones
    python tests/readme_examples.py --update README.md docs/lm.md
"""

from __future__ import annotations

import argparse
import difflib
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```(\S*)\s*$")
COMMAND_TIMEOUT = 900


@dataclass
class Example:
    command: str  # the command as typed (continuations joined with their backslash-newlines)
    first: int  # index of the command's first line in the document
    last: int  # index of its last line
    output: list[str] = field(default_factory=list)  # the lines shown after it
    out_first: int = 0  # index of the first output line
    out_last: int = 0  # one past the last output line


def documents() -> list[str]:
    """README.md and every docs/*.md page that has a console block, as paths relative to the root."""
    paths = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    return [p for p in paths if examples(read(p))]


def read(path: str) -> list[str]:
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read().split("\n")


def examples(lines: list[str]) -> list[Example]:
    found: list[Example] = []
    in_block = False
    kind = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            if in_block:
                in_block = False
            else:
                in_block, kind = True, fence.group(1)
            i += 1
            continue
        if in_block and kind == "console" and line.startswith("$ "):
            first = i
            parts = [line[2:]]
            while parts[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                parts.append(lines[i])
            ex = Example("\n".join(parts), first, i)
            i += 1
            ex.out_first = i
            while i < len(lines) and not lines[i].startswith("$ ") and not FENCE.match(lines[i]):
                ex.output.append(lines[i])
                i += 1
            ex.out_last = i
            found.append(ex)
            continue
        i += 1
    return found


def shim_dir(base: str) -> str:
    """A folder with an `rnntools` that runs this checkout with this interpreter."""
    bindir = os.path.join(base, ".bin")
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, "rnntools")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nexec "{sys.executable}" -m rnntools "$@"\n')
    os.chmod(path, 0o755)
    return bindir


def run_session(exs: list[Example], workdir: str) -> list[list[str]]:
    """Run the examples in order in workdir; return each one's output lines."""
    os.symlink(os.path.join(ROOT, "samples"), os.path.join(workdir, "samples"))
    env = dict(os.environ)
    env["PATH"] = shim_dir(workdir) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("RNNTOOLS_DEBUG", None)
    env["COLUMNS"] = "100"
    outputs = []
    for ex in exs:
        result = subprocess.run(["bash", "-o", "pipefail", "-c", ex.command], cwd=workdir, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                timeout=COMMAND_TIMEOUT)
        text = result.stdout.decode("utf-8", "replace")
        if result.returncode != 0:
            raise RuntimeError(f"example failed with exit status {result.returncode}: $ {ex.command}\n{text}")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        outputs.append(lines)
    return outputs


# numbers that measure time or speed differ from run to run: masked on both sides before comparing
_VOLATILE = [
    (re.compile(r'("(?:time|seconds|elapsed|read_seconds|[a-z_]*per_s(?:ec)?)"\s*:\s*)-?[\d.eE+-]+'), r"\1#"),
    (re.compile(r"\b\d[\d,]*(?:\.\d+)?\s?(?:s|ms|min|words/s|chars/s|characters/s|texts/s|tokens/s|/s)\b"), "#"),
]


def normalise(line: str) -> str:
    for pattern, repl in _VOLATILE:
        line = pattern.sub(repl, line)
    return line.rstrip()


# Decimal fractions are compared to 4 significant digits, not character for character: float32 sums are
# vectorised to the CPU's own width (numba compiles for the machine it runs on), so the same training
# prints other last digits on an AVX2 machine than on an AVX-512 one, and on two AVX-512 designs.
# Integers (counts, sizes) and the text around the numbers must match exactly.
_DECIMAL = re.compile(r"-?\d+\.\d+(?:[eE][+-]?\d+)?")
DIGITS_REL_TOL = 1e-3
DIGITS_ABS_TOL = 1e-4


def same(shown: str, printed: str) -> bool:
    """True when two output lines agree once timings are masked and decimals rounded as above."""
    a, b = normalise(shown), normalise(printed)
    if a == b:
        return True
    if _DECIMAL.split(a) != _DECIMAL.split(b):
        return False
    xs, ys = [float(x) for x in _DECIMAL.findall(a)], [float(y) for y in _DECIMAL.findall(b)]
    return len(xs) == len(ys) and all(math.isclose(x, y, rel_tol=DIGITS_REL_TOL, abs_tol=DIGITS_ABS_TOL)
                                      for x, y in zip(xs, ys))


VARIES = "# varies by CPU"


def _shape(value):
    if isinstance(value, dict):
        return [(key, _shape(v)) for key, v in value.items()]
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def same_shape(shown: str, printed: str) -> bool:
    """For commands marked ``VARIES``: JSON lines with the same keys in the same order, nesting, list lengths
    and value types; any other line as ``same``."""
    try:
        a, b = json.loads(shown), json.loads(printed)
    except ValueError:
        return same(shown, printed)
    return _shape(a) == _shape(b)


def agree(shown: list[str], printed: list[str]) -> bool:
    return len(shown) == len(printed) and all(same(a, b) for a, b in zip(shown, printed))


IMAGE = re.compile(r"!\[[^\]]*\]\((?:docs/)?images/([\w.-]+\.(?:png|svg))\)")


def pictures(lines: list[str]) -> list[str]:
    """Names of the docs/images/ files a document shows."""
    return sorted({m for line in lines for m in IMAGE.findall(line)})


def differences(path: str, update_pictures: bool = False) -> tuple[list[str], list[str]]:
    """Run one document; return (the document as it is, the document with the real outputs).

    Raises RuntimeError when a picture the document shows was not drawn by its examples."""
    lines = read(path)
    exs = examples(lines)
    with tempfile.TemporaryDirectory(prefix="rnntools-doc-") as workdir:
        outputs = run_session(exs, workdir)
        for name in pictures(lines):
            drawn = os.path.join(workdir, name)
            if not os.path.isfile(drawn) or os.path.getsize(drawn) == 0:
                raise RuntimeError(f"{path} shows images/{name}, which none of its examples wrote")
            if update_pictures:
                shutil.copyfile(drawn, os.path.join(ROOT, "docs", "images", name))
    new = list(lines)
    for ex, out in reversed(list(zip(exs, outputs))):
        # keep the blank line that separates a command's output from the next command, if there was one
        trailing = []
        while ex.out_last - len(trailing) > ex.out_first and lines[ex.out_last - len(trailing) - 1] == "":
            trailing.append("")
        old = ex.output[: len(ex.output) - len(trailing)]
        eq = same_shape if ex.command.rstrip().endswith(VARIES) else same
        keep = [o if eq(o, n) else n for o, n in zip(old, out)] if len(old) == len(out) else out
        new[ex.out_first : ex.out_last] = keep + trailing
    return lines, new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="documents relative to the repository (default: all)")
    parser.add_argument("--update", action="store_true", help="rewrite the outputs shown from the real ones")
    args = parser.parse_args(argv)
    status = 0
    os.makedirs(os.path.join(ROOT, "docs", "images"), exist_ok=True)
    for path in args.files or documents():
        old, new = differences(path, update_pictures=args.update)
        if agree(old, new):
            print(f"{path}: examples agree", file=sys.stderr)
            continue
        if args.update:
            with open(os.path.join(ROOT, path), "w", encoding="utf-8") as f:
                f.write("\n".join(new))
            print(f"{path}: outputs updated", file=sys.stderr)
        else:
            sys.stdout.writelines(difflib.unified_diff([x + "\n" for x in old], [x + "\n" for x in new],
                                                       path, path + " (real output)"))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
