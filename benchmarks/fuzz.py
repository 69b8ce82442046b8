"""Random fuzzing of every command: hostile option values, odd but valid option combinations, mutated inputs.

The hand-written probe (`hostile_probe.py`) tries the faults someone thought of; this draws cases at random
from each command's own option list (read from click) and from byte- and line-level mutations of valid
inputs, so it also tries what nobody thought of. Each case is a fresh process with the probe's memory cap,
judged by the rules of docs/reliability.md: exit status 0, 1 or 2; no traceback and no "internal error" on
stderr; a failure ends with one `rnntools CMD: error: ...` line. Timeouts are listed apart: a huge
`--count` or `--length` of `sample` runs until stopped, by design.

    python benchmarks/fuzz.py options --cases 1500 --seed 1          # one or two options with hostile values
    python benchmarks/fuzz.py valid --cases 800 --seed 4             # three to six options, in-range values
    python benchmarks/fuzz.py inputs --cases 600 --seed 5            # mutated input files, some on stdin
    python benchmarks/fuzz.py inputs --tree /path/to/checkout --jobs 2 --keep /tmp/found

A case is reproducible from (mode, seed): the failures print their command line, and `--keep` saves the
mutated input of each failing `inputs` case.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MEM_CAP = 6 << 30  # as the probe: numpy, BLAS and numba reserve more address space than they touch
TINY = ["--hidden", "8", "--max-steps", "3", "--threads", "1"]
NOT_FUZZED = {"-o", "--output", "--save-table", "--log", "--debug", "-q", "--help", "-h", "--scheduler"}

# option mode: the valid arguments each command starts from
OPTION_BASES = {
    "vocab": [["corpus.txt"]],
    "bow": [["--vocab", "v.jsonl", "corpus.txt"]],
    "phrases": [["corpus.txt"]],
    "w2v-train": [["corpus.txt", "--dim", "8", "--epochs", "1", "--min-count", "1", "--threads", "1"]],
    "neighbors": [["w.npz", "the"]],
    "export": [["w.npz"]],
    "import": [["w.txt"]],
    "rnn-train": [["--task", "lm", "book.txt", *TINY], ["--task", "classify", "g.jsonl", *TINY],
                  ["--task", "seq2seq", "p.jsonl", *TINY], ["--task", "forecast", "air.csv", *TINY]],
    "sample": [["lm.npz", "--length", "20"]],
    "predict": [["clf.npz", "g.jsonl"], ["s2s.npz", "p.jsonl"], ["fc.npz", "air.csv"], ["lm.npz", "book.txt"]],
    "evaluate": [["clf.npz", "g.jsonl"], ["s2s.npz", "p.jsonl"], ["fc.npz", "air.csv"], ["lm.npz", "book.txt"],
                 ["w.npz", "--analogies", "an.txt"]],
}
WORLD_FILES = ["corpus.txt", "book.txt", "g.jsonl", "p.jsonl", "air.csv", "series.jsonl", "v.jsonl", "lm.npz",
               "clf.npz", "s2s.npz", "fc.npz", "w.npz", "w.txt", "an.txt", "/dev/null", "-", ".", "missing.txt"]
HOSTILE = {
    "int": ["0", "-1", "1", "2", "3", "7", "2147483648", "9223372036854775808", "10" * 15, "1e3", "", "abc",
            "3.5", "nan", " 4", "0x10", "\u0661\u0662"],
    "float": ["nan", "inf", "-inf", "0", "-0", "-1", "1e308", "1e-320", "", "abc", "1,2", "0.5", "1", "100",
              "1e-9"],
    "str": ["", "/", "/dev/null", "/nonexistent/x", "-", "a" * 5000, "\x01", "\u00e9", "label", "text", "0",
            "80,95", "3-6", "1,2,3", "none", "..", "corpus.txt", "g.jsonl", "w.npz", "lm.npz", "{", "%s%n", "-1",
            "99999999"],
}
VALID = {
    "int": ["1", "2", "3", "5", "16"],
    "float": ["0", "0.01", "0.1", "0.5", "0.99", "1", "2"],
    "str": ["80,95", "3-6", "1", "2", "text", "label", "source", "target", "y", "date", "none", "v.jsonl",
            "w.npz", "w.txt", "corpus.txt"],
}

# inputs mode: (arguments with INPUT where the mutated input goes, the valid world file it starts from)
INPUT_BASES = [
    (["vocab", "INPUT"], "corpus.txt"),
    (["vocab", "--level", "char", "INPUT"], "book.txt"),
    (["vocab", "--text-field", "text", "INPUT"], "g.jsonl"),
    (["bow", "--vocab", "v.jsonl", "INPUT"], "corpus.txt"),
    (["bow", "--vocab", "INPUT", "corpus.txt"], "v.jsonl"),
    (["phrases", "INPUT"], "corpus.txt"),
    (["w2v-train", "INPUT", "--dim", "8", "--epochs", "1", "--min-count", "1", "--threads", "1"], "corpus.txt"),
    (["neighbors", "w.npz", "--input", "INPUT"], "an.txt"),
    (["import", "INPUT"], "w.txt"),
    (["rnn-train", "--task", "lm", "INPUT", *TINY], "book.txt"),
    (["rnn-train", "--task", "lm", "--level", "word", "INPUT", *TINY], "corpus.txt"),
    (["rnn-train", "--task", "classify", "INPUT", *TINY], "g.jsonl"),
    (["rnn-train", "--task", "seq2seq", "INPUT", *TINY], "p.jsonl"),
    (["rnn-train", "--task", "forecast", "INPUT", *TINY], "air.csv"),
    (["rnn-train", "--task", "forecast", "INPUT", *TINY, "--horizon", "3"], "series.jsonl"),
    (["predict", "clf.npz", "INPUT"], "g.jsonl"),
    (["predict", "s2s.npz", "INPUT"], "p.jsonl"),
    (["predict", "fc.npz", "INPUT"], "air.csv"),
    (["predict", "fc.npz", "INPUT", "--format", "csv"], "air.csv"),
    (["predict", "lm.npz", "INPUT"], "book.txt"),
    (["evaluate", "clf.npz", "INPUT"], "g.jsonl"),
    (["evaluate", "s2s.npz", "INPUT"], "p.jsonl"),
    (["evaluate", "fc.npz", "INPUT"], "air.csv"),
    (["evaluate", "lm.npz", "INPUT"], "book.txt"),
    (["evaluate", "w.npz", "--analogies", "INPUT"], "an.txt"),
    (["sample", "lm.npz", "--prompts", "INPUT", "--length", "10"], "book.txt"),
    (["plot", "log", "INPUT"], "log.jsonl"),
]
ODD_VALUES = ["", " ", "\t", "\x00", "\r", "\u2028", "\u0085", "\ufeff", "\x1b[31m", "\u00e9", "\u65e5\u672c",
              "\U0001f642", "a" * 70000, "1e309", "-0", "NaN", "nan", "inf", "-inf", "1,5", " 3 ", "0x10",
              "\uff11\uff12", "1_000", "\u0663", "null", "true", "{}", "[]", '"', "'", ",", ";", "\\", "\\u0000",
              "9" * 400, "-9" * 30, "1e-400", "2020-13-45", "1969-12-31", "9999-12-31", "0000-01-01",
              "2020-02-30"]
BAD_BYTES = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82", b"\x00", b"\r",
             b"\r\n", b"\n\n\n"]


class World:
    """Small inputs cut from samples/ and one model of each kind, made by the tree under test."""

    def __init__(self, tree: str, root: str):
        self.tree, self.root = tree, root
        self.env = {**os.environ, "PYTHONPATH": tree}
        self.env.pop("RNNTOOLS_DEBUG", None)

    def run(self, args: list[str], stdin: bytes | None = None, timeout: float = 120):
        def limits():
            # no setsid: a new session is a new scheduling autogroup at nice 0, escaping the caller's niceness
            resource.setrlimit(resource.RLIMIT_AS, (MEM_CAP, MEM_CAP))

        return subprocess.run([sys.executable, "-m", "rnntools", *args], env=self.env, capture_output=True,
                              timeout=timeout, cwd=self.root, preexec_fn=limits,
                              input=stdin if stdin is not None else b"")

    def build(self) -> None:
        def cut(src, dst, n):
            with open(os.path.join(ROOT, "samples", src), encoding="utf-8") as f:
                text = "".join(f.readlines()[:n])
            with open(os.path.join(self.root, dst), "w", encoding="utf-8") as f:
                f.write(text)

        for src, dst, n in (("book.txt", "book.txt", 200), ("corpus.txt", "corpus.txt", 300),
                            ("glosses.jsonl", "g.jsonl", 60), ("pairs.jsonl", "p.jsonl", 60),
                            ("airline.csv", "air.csv", 10_000), ("series.jsonl", "series.jsonl", 10_000)):
            cut(src, dst, n)
        with open(os.path.join(self.root, "an.txt"), "w", encoding="utf-8") as f:
            f.write(": family\nhe she him her\nthe a of and\n")
        for args in (["vocab", "corpus.txt", "-o", "v.jsonl"],
                     ["rnn-train", "--task", "lm", "book.txt", "-o", "lm.npz", "--log", "log.jsonl", *TINY],
                     ["rnn-train", "--task", "classify", "g.jsonl", "-o", "clf.npz", "--embed-dim", "8", *TINY],
                     ["rnn-train", "--task", "seq2seq", "p.jsonl", "-o", "s2s.npz", *TINY],
                     ["rnn-train", "--task", "forecast", "air.csv", "-o", "fc.npz", *TINY],
                     ["w2v-train", "corpus.txt", "-o", "w.npz", "--dim", "8", "--epochs", "1", "--min-count", "1",
                      "--threads", "1"],
                     ["export", "w.npz", "-o", "w.txt"]):
            result = self.run(args, timeout=600)
            if result.returncode:
                sys.exit(f"building the world failed: {' '.join(args)}\n{result.stderr.decode()[-2000:]}")


def judge(result) -> tuple[str, str]:
    err = result.stderr.decode("utf-8", "replace")
    lines = [line for line in err.splitlines() if line.strip()]
    bad = []
    if result.returncode not in (0, 1, 2):
        bad.append(f"exit {result.returncode}")
    if "Traceback" in err:
        bad.append("traceback")
    if "internal error" in err:
        bad.append("internal error")
    if result.returncode in (1, 2) and (not lines or ": error: " not in lines[-1]):
        bad.append("no one-line error")
    return " + ".join(bad) or "ok", f"exit {result.returncode}: " + (lines[-1][:300] if lines else "")


def option_params(tree: str) -> dict[str, list]:
    """Each command's options from click itself (output, debug and cluster options left out)."""
    import click

    sys.path.insert(0, tree)
    from rnntools.cli import cli

    ctx = click.Context(cli)
    return {name: [p for p in cli.get_command(ctx, name).params
                   if p.opts and p.opts[0].startswith("-") and not NOT_FUZZED & set(p.opts)]
            for name in OPTION_BASES}


def kind_of(param) -> str:
    kind = type(param.type).__name__
    if kind in ("IntRange", "IntParamType"):
        return "int"
    if kind in ("FloatRange", "FloatParamType"):
        return "float"
    return "choice" if kind == "Choice" else "str"


def option_case(rng: random.Random, params: dict, valid: bool) -> list[str]:
    name = rng.choice(sorted(OPTION_BASES))
    base = list(rng.choice(OPTION_BASES[name]))
    if rng.random() < (0.05 if valid else 0.4):  # one file argument swapped for another kind of file
        files = [i for i, a in enumerate(base) if "." in a and (i == 0 or not base[i - 1].startswith("-"))]
        if files:
            base[rng.choice(files)] = rng.choice(WORLD_FILES)
    args = [name, *base]
    table = VALID if valid else HOSTILE
    for p in rng.sample(params[name], k=min(len(params[name]), rng.choice([3, 4, 5, 6] if valid else [1, 1, 2]))):
        opt = next((o for o in p.opts if o.startswith("--")), p.opts[0])
        if getattr(p, "is_flag", False):
            args.append(opt if not p.secondary_opts or rng.random() < 0.5 else p.secondary_opts[0])
            continue
        kind = kind_of(p)
        choices = list(p.type.choices) + ([] if valid else ["nonsense", ""]) if kind == "choice" else table[kind]
        args += [opt, rng.choice(choices)]
    return args


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to five edits: byte flips, a cut, odd lines or field values, bad UTF-8, repeated or dropped lines,
    very long lines, CRLF line ends."""
    lines = data.split(b"\n")
    for _ in range(rng.choice([1, 1, 2, 3, 5])):
        op, i = rng.randrange(9), rng.randrange(max(1, len(lines)))
        if op == 0 and any(lines):
            flat = bytearray(b"\n".join(lines))
            for _ in range(rng.randint(1, 8)):
                flat[rng.randrange(len(flat))] = rng.randrange(256)
            lines = bytes(flat).split(b"\n")
        elif op == 1:
            flat = b"\n".join(lines)
            lines = flat[: rng.randrange(len(flat) + 1)].split(b"\n")
        elif op == 2:
            lines.insert(i, rng.choice(ODD_VALUES).encode("utf-8"))
        elif op == 3 and lines:
            line = lines[i].decode("utf-8", "replace")
            if seps := [s for s in (",", " ", ":", '"') if s in line]:
                sep = rng.choice(seps)
                parts = line.split(sep)
                parts[rng.randrange(len(parts))] = rng.choice(ODD_VALUES)
                lines[i] = sep.join(parts).encode("utf-8")
        elif op == 4 and lines:
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(BAD_BYTES) + lines[i][at:]
        elif op == 5 and lines:
            if rng.random() < 0.5:
                lines[i:i] = [lines[i]] * rng.choice([1, 5, 500])
            else:
                del lines[i: i + rng.choice([1, 10, 1000])]
        elif op == 6:
            lines = lines[: rng.choice([0, 1, 2, 3])]
        elif op == 7 and lines:
            lines[i] = lines[i] * rng.choice([100, 5000])
        elif op == 8:
            lines = [line + b"\r" for line in lines]
    return b"\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["options", "valid", "inputs"])
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tree", default=ROOT, help="checkout to fuzz (put first on PYTHONPATH)")
    ap.add_argument("--keep", help="folder to save the mutated input of each failing inputs case in")
    args = ap.parse_args(argv)
    tree = os.path.abspath(args.tree)
    rng = random.Random(args.seed)
    scratch = tempfile.mkdtemp(prefix="rnntools-fuzz-")
    world = World(tree, os.path.join(scratch, "world"))
    os.mkdir(world.root)
    try:
        world.build()
        if args.mode == "inputs":
            cases = [(rng.randrange(len(INPUT_BASES)), rng.randrange(1 << 30)) for _ in range(args.cases)]
        else:
            params = option_params(tree)
            cases = [option_case(rng, params, args.mode == "valid") for _ in range(args.cases)]

        def one(case):
            tmp = tempfile.mkdtemp(dir=scratch)
            try:
                stdin, saved = None, None
                if args.mode == "inputs":
                    k, seed = case
                    case_rng = random.Random(seed)
                    command, src = INPUT_BASES[k]
                    with open(os.path.join(world.root, src), "rb") as f:
                        data = mutate(f.read(), case_rng)
                    path = os.path.join(tmp, "in" + os.path.splitext(src)[1])
                    with open(path, "wb") as f:
                        f.write(data)
                    on_stdin = command[0] != "import" and case_rng.random() < 0.25
                    stdin = data if on_stdin else None
                    command = [("-" if on_stdin else path) if a == "INPUT" else a for a in command]
                    saved = path
                else:
                    command = list(case)
                trains = command[0] in ("rnn-train", "w2v-train", "import")
                out = os.path.join(tmp, "out.png" if command[0] == "plot" else "out.npz" if trains else "out")
                command += ["-o", out]
                try:
                    verdict, line = judge(world.run(command, stdin))
                except subprocess.TimeoutExpired:
                    verdict, line = "timeout", ""
                if verdict not in ("ok", "timeout") and saved and args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    saved = shutil.copy(saved, os.path.join(args.keep, f"{case[1]}{os.path.splitext(saved)[1]}"))
                return command, verdict, line, saved
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        counts: collections.Counter = collections.Counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            for command, verdict, line, saved in pool.map(one, cases):
                counts[verdict] += 1
                if verdict != "ok":
                    print(json.dumps({"verdict": verdict, "command": command, "stderr": line,
                                      "input": saved if args.keep else None}), flush=True)
        print(f"{args.mode}, seed {args.seed}, {args.cases} cases against {tree}: {dict(counts)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
