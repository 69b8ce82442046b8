#!/usr/bin/env python3
"""A hostile user's probe: every command against hostile files, tampered and foreign models, absurd option
values, closed and dead streams, signals during training, full disks and concurrent writers, each case run
as a real process with a time limit and a memory cap, and each result put in one class:

    ok           the documented success (exit 0 where 0 is right)
    clean        the documented error: its status, one line `rnntools CMD: error: ...` naming the file
    traceback    a Python traceback or an "internal error" line
    hang         no answer within the time limit, or killed (the memory cap, a signal it did not handle)
    corruption   a shared input changed, a temporary file left behind, an output that is not whole
    wrong-exit   another exit status than the documented one (a silently accepted bad option is one)
    unclear      the right status, but the message is not one line or does not name the file/option

    python benchmarks/hostile_probe.py                        # the tree this file is in
    python benchmarks/hostile_probe.py --tree /path/to/other   # another checkout (PYTHONPATH)
    python benchmarks/hostile_probe.py --only tampered --jobs 1 --show-failures

Prints a table (fault class x result class) and, with --json FILE, every case as a JSON line. Not a test:
the suite in tests/ holds the gates; this finds what they miss. Needs Linux; mounts a small tmpfs for the
full-disk cases when allowed (root), else uses /dev/full.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import hashlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--hidden", "8", "--max-steps", "3", "--threads", "1"]
MEM_CAP = 6 << 30  # address space per case; numpy, BLAS and numba reserve more than they touch


@dataclass
class Case:
    fault: str                 # the fault class (a row of the table)
    args: list                 # the command line; {W} is the shared world, {T} the case's own folder
    expect: tuple = (1,)       # the documented exit statuses
    stdin: object = b""        # bytes, "closed", or "file:PATH" (a regular file redirected, `< PATH`)
    stdout: str = "pipe"       # pipe | closed | head (reader reads one byte, then goes away) | file:PATH (`>> PATH`)
    names: str | None = None   # a text the error message must contain (the file or option at fault)
    output: str | None = None  # an output file to check: whole if the run succeeded, else absent/untouched
    signal: int | None = None  # sent once training is under way (its --log has a line)
    concurrent: int = 1        # run this many copies at once (same output)
    timeout: float = 90.0
    setup: object = None       # a function(tmp) run before the case (e.g. a tmpfs mount)
    teardown: object = None
    env: dict = field(default_factory=dict)
    keep: bytes | None = None  # the output exists before the run with these bytes; a failed run keeps them
    delay: float | None = None  # send the signal this many seconds after start (instead of after 2 log lines)
    memory: int | None = None  # the address-space limit in bytes (`ulimit -v`), instead of MEM_CAP
    limits: dict = field(default_factory=dict)  # more resource limits: {resource.RLIMIT_FSIZE: bytes, ...}
    signal_when: str | None = None  # send the signal once this file ({T}/...) exists (instead of the log lines)
    nonblocking: str = ""      # "stdin"/"stdout": that stream is a pipe left O_NONBLOCK (as node leaves it), its
                               # other end late: stdin's bytes written after 1 s, stdout read after 2 s
    lines: object = None       # stdout must hold this many lines (an int, or "{W}/FILE": as many as FILE has)
    says: str | None = None    # a successful run's standard output must match this regular expression
    group: bool = False        # send the signal to the case's whole process group (a terminal's Ctrl-C, `kill -TERM
                               # -PGID`, a service manager's stop), not to the main process alone
    again: float | None = None  # send the signal a second time this many seconds after the first (Ctrl-C twice)
    then: int | None = None    # with again: send this signal the second time instead (SIGTSTP, then SIGCONT)
    saved: bool = False        # an interrupted run (status in expect, not 0) must have left its output, whole
    sigint_ignored: bool = False  # SIGINT ignored, as in a job a script started with `cmd &`
    quiet: bool = False        # a successful run's standard error must be empty (--quiet)
    stderr: str = "pipe"       # pipe | gone (its reader went away before the run) | rdonly (a descriptor open only for
                               # reading, `2< FILE`)
    strict_json: bool = False  # a successful run's standard output must be strict JSON lines (no NaN, no Infinity)

    @property
    def command(self) -> str:
        a = self.args
        if a[0] == "rnn-train":
            at = a.index("--task") + 1 if "--task" in a else len(a)
            return f"rnn-train {a[at]}" if at < len(a) else "rnn-train"
        if a[0] in ("predict", "evaluate", "sample", "neighbors", "export") and len(a) > 1:
            kind = os.path.basename(str(a[1])).split(".")[0]
            return f"{a[0]} {kind}" if kind in ("lm", "clf", "s2s", "fc", "w") else a[0]
        if a[0] == "plot" and len(a) > 1:
            return f"plot {a[1]}"
        return a[0]


# --- the world: small inputs and one model of each kind -----------------------------------------------

def _run(tree, args, **kw):
    env = {**os.environ, "PYTHONPATH": tree}
    env.pop("RNNTOOLS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "rnntools", *map(str, args)], env=env, capture_output=True,
                          **kw)


def build_world(tree: str, root: str) -> None:
    def lines(name, n):
        with open(os.path.join(ROOT, "samples", name), encoding="utf-8") as f:
            return "".join(f.readlines()[:n])

    def put(name, data):
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(os.path.join(root, name), mode) as f:
            f.write(data)

    put("book.txt", lines("book.txt", 200))
    put("corpus.txt", lines("corpus.txt", 300))
    put("g.jsonl", lines("glosses.jsonl", 60))
    put("p.jsonl", lines("pairs.jsonl", 60))
    put("air.csv", lines("airline.csv", 10_000))
    put("docs.txt", "the cat sat\nthe dog ran\n")
    put("analogies.txt", ": family\nhe she him her\n")
    for args in (["vocab", "docs.txt", "-o", "v.jsonl"],
                 ["rnn-train", "--task", "lm", "book.txt", "-o", "lm.npz", *TINY],
                 ["rnn-train", "--task", "classify", "g.jsonl", "-o", "clf.npz", "--embed-dim", "8", *TINY],
                 ["rnn-train", "--task", "seq2seq", "p.jsonl", "-o", "s2s.npz", *TINY],
                 ["rnn-train", "--task", "forecast", "air.csv", "-o", "fc.npz", *TINY],
                 ["w2v-train", "corpus.txt", "-o", "w.npz", "--dim", "8", "--epochs", "1", "--min-count", "1",
                  "--threads", "1"],
                 ["rnn-train", "--task", "lm", "book.txt", "-o", "log.jsonl.npz", "--log", "train-log.jsonl",
                  *TINY],
                 ["predict", "fc.npz", "air.csv", "-o", "fc-pred.jsonl"]):
        result = _run(tree, args, cwd=root, timeout=600)
        if result.returncode != 0:
            sys.exit(f"building the world failed: {' '.join(args)}\n{result.stderr.decode()}")
    os.remove(os.path.join(root, "log.jsonl.npz"))
    # hostile files
    put("empty.txt", b"")
    put("blank.txt", b"\n  \n\t\n")
    put("nul.txt", b"\x00" * 4000)
    put("binary.bin", os.urandom(64 << 10))
    put("latin1.txt", "caf\xe9 au lait\n".encode("latin-1"))
    put("utf16.txt", "the cat sat\nthe dog ran\n".encode("utf-16"))
    put("crlf.txt", b"the cat sat\r\nthe dog ran\r\n" * 50)
    put("bom.txt", b"\xef\xbb\xbfthe cat sat\nthe dog ran\n" * 20)
    put("long10m.txt", b"word " * (2 << 20) + b"\n")
    put("million.txt", b"a\n" * 1_000_000)
    put("trunc.gz", b"\x1f\x8b\x08\x00garbage")
    put("nonl.txt", b"the cat sat without a final newline")
    put("j-types.jsonl", b'{"text": 5, "label": [1], "source": {"a": 1}, "target": null}\n')
    put("j-missing.jsonl", b'{"other": "x"}\n{"other": "y"}\n')
    put("j-dup.jsonl", b'{"text": "a cat", "text": "the dog", "label": "x", "label": "y", "source": "ab", '
                       b'"target": "ba"}\n' * 3)
    put("j-nan.jsonl", b'{"text": "a", "label": NaN, "source": "ab", "target": "ba"}\n')
    put("j-bigint.jsonl", b'{"text": "a", "label": ' + b"9" * 5000 + b', "source": "ab", "target": "ba"}\n')
    put("j-deep.jsonl", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n")
    put("j-list.jsonl", b"[1, 2, 3]\n")
    put("j-trunc.jsonl", b'{"text": "a cat", "label": "x", "source": "ab", "target": "ba"}\n{"text": "the')
    put("j-huge.jsonl", b'{"text": "' + b"ab " * (4 << 20) + b'", "label": "x", "source": "a", "target": "b"}\n')
    put("j-empty-text.jsonl", b'{"text": "", "label": "x", "source": "", "target": ""}\n' * 3)
    put("c-ragged.csv", b"date,y\n2020-01-01,1\n2020-02-01,2,3,4\n2020-03-01\n")
    put("c-quoted.csv", b'date,y,note\n2020-01-01,1,"a\nb"\n2020-02-01,2,"c"\n')
    put("c-text.csv", b"date,y\n" + b"".join(b"2020-%02d-01,abc\n" % m for m in range(1, 13)))
    put("c-nan.csv", b"date,y\n" + b"".join(b"20%02d-01-01,%s\n" % (10 + i, b"nan" if i % 3 == 0 else b"1")
                                           for i in range(40)))
    put("c-inf.csv", b"date,y\n" + b"".join(b"20%02d-01-01,%s\n" % (10 + i, b"inf" if i == 5 else b"2")
                                           for i in range(40)))
    put("c-huge.csv", b"date,y\n" + b"".join(b"19%02d-01-01,%s\n" % (i, b"1e308" if i % 2 else b"-1e308")
                                            for i in range(60)))
    put("c-one.csv", b"date,y\n2020-01-01,1\n")
    put("c-header.csv", b"date,y\n")
    put("c-dupdates.csv", b"date,y\n" + b"2020-01-01,1\n" * 40)
    put("c-baddates.csv", b"date,y\n" + b"".join(b"not-a-date-%d,%d\n" % (i, i) for i in range(40)))
    put("c-nonumeric.csv", b"date,name\n" + b"".join(b"2020-%02d-01,x\n" % m for m in range(1, 13)))
    put("c-constant.csv", b"date,y\n" + b"".join(b"19%02d-01-01,5\n" % i for i in range(60)))
    put("c-semicolon.csv", b"date;y\n" + b"".join(b"19%02d-01-01;%d\n" % (i, i) for i in range(60)))
    put("log-bad.jsonl", b'{"step": "x", "loss": NaN}\n{"nothing": 1}\n')
    put("conf.json", b'{"labels": ["a", "b"], "confusion": [[1, 2], [3, 4]]}\n')
    put("conf-bad.json", b'{"confusion": [[1, 2], [3]], "labels": ["a"]}\n')
    put("vec-nan.txt", b"2 3\na nan 0 0\nb 1 2 3\n")
    put("vec-ragged.txt", b"2 3\na 1 2\nb 1 2 3 4\n")
    put("vec-zero-dim.txt", b"2 0\na\nb\n")
    put("vec-huge-header.txt", b"99999999999 99999999999\na 1 2\n")
    put("vec-bin-trunc.bin", b"3 4\na \x00\x00\x80?\x00")
    put("vec-ok.txt", b"2 3\na 1 2 3\nb 4 5 6\n")
    put("vec-big.txt", b"2000 50\n" + b"".join(b"w%d " % i + b" ".join(b"%.4f" % ((i * j % 97) / 97)
                                                                   for j in range(50)) + b"\n" for i in range(2000)))
    os.mkdir(os.path.join(root, "folder"))
    _more_files(root, put)
    # bad and foreign model files
    with open(os.path.join(root, "lm.npz"), "rb") as f:
        lm = f.read()
    put("m-zero.npz", b"")
    put("m-trunc.npz", lm[: len(lm) // 2])
    put("m-text.npz", b"this is not a model\n")
    put("m-random.npz", os.urandom(4096))
    put("m-npy.npz", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" + b" " * 60)
    with zipfile.ZipFile(os.path.join(root, "m-zip.npz"), "w") as z:
        z.writestr("hello.txt", "hello")
    _tamper(os.path.join(root, "lm.npz"), os.path.join(root, "m-kind.npz"), lambda m: m.update(kind="classifier"))
    _tamper(os.path.join(root, "lm.npz"), os.path.join(root, "m-version.npz"), lambda m: m.update(format_version=99))
    _tamper(os.path.join(root, "clf.npz"), os.path.join(root, "m-labels.npz"),
            lambda m: m.update(labels=m["labels"][:1]))
    _tamper(os.path.join(root, "s2s.npz"), os.path.join(root, "m-s2s-maxlen.npz"),
            lambda m: m.update(max_target=10 ** 12))
    _tamper(os.path.join(root, "w.npz"), os.path.join(root, "m-vocab.npz"), lambda m: m.update(vocab=None))
    _tamper(os.path.join(root, "fc.npz"), os.path.join(root, "m-fc-axis.npz"), lambda m: m.update(axis="x"))


def _more_files(root: str, put) -> None:
    """The files of the `more` group: CSV/JSONL/text oddities, odd dtypes and layouts of model files."""
    import bz2
    import gzip
    import lzma

    with open(os.path.join(root, "air.csv"), "rb") as f:
        air = f.read()
    put("c-bom.csv", b"\xef\xbb\xbf" + air)
    put("c-crlf.csv", air.replace(b"\n", b"\r\n"))
    head, _, body = air.partition(b"\n")
    rows = body.strip().split(b"\n")
    put("c-dupheader.csv", head + b"," + head.split(b",")[-1] + b"\n" + b"".join(r + b"," + r.split(b",")[-1] + b"\n"
                                                                           for r in rows))
    put("c-longfield.csv", head + b",note\n" + b"".join(r + (b",x" * 1 if i != 5 else b"," + b"x" * 300_000) + b"\n"
                                                        for i, r in enumerate(rows)))
    put("c-unterminated.csv", air + b'1961-01,"5\n1961-02,6\n')
    put("c-nul.csv", air.replace(b"\n1950-01", b"\n1950\x00-01", 1))
    put("c-latin1.csv", head + b",note\n" + b"".join(r + b",caf\xe9\n" for r in rows))
    put("c-tz.csv", b"date,y\n" + b"".join(b"2020-01-%02dT00:00:00+05:00,%d\n" % (d, d) for d in range(1, 29)))
    put("c-year.csv", b"date,y\n" + b"".join(b"%d-01-01,%d\n" % (99970 + i, i) for i in range(30)))
    put("c-unsorted.csv", head + b"\n" + b"\n".join(rows[::-1]) + b"\n")
    put("c-blanklines.csv", air.replace(b"\n", b"\n\n"))
    put("c-trailing.csv", head + b",\n" + b"".join(r + b",\n" for r in rows))
    put("c-air.csv.gz", gzip.compress(air))
    # JSONL: every field any command reads, so each command can take each file
    with open(os.path.join(root, "g.jsonl"), encoding="utf-8") as f:
        recs = [json.loads(x) for x in f][:30]
    for r in recs:
        r["source"], r["target"] = r["text"][:12], r["text"][:12][::-1]
    good = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode()
    put("j-bom.jsonl", b"\xef\xbb\xbf" + good)
    put("j-crlf.jsonl", good.replace(b"\n", b"\r\n"))
    put("j-surrogate.jsonl", good + b'{"text": "a \\ud800 b", "label": "x", "source": "a\\udc80", "target": "b"}\n')
    put("j-rawnul.jsonl", good + b'{"text": "the \x00 cat", "label": "x", "source": "a", "target": "b"}\n')
    put("j-escnul.jsonl", good + b'{"text": "the \\u0000 cat", "label": "x", "source": "a\\u0000", "target": "b"}\n')
    put("j-scalar.jsonl", b"5\n\"text\"\nnull\n")
    put("j-u2028.jsonl", good + '{"text": "the\u2028cat\u0085sat\u2029x", "label": "x", "source": "a\u2028b", '
                                '"target": "b"}\n'.encode())
    put("j-emoji.jsonl", good + '{"text": "\U0001F600 \u05e9\u05dc\u05d5\u05dd e\u0301\u200b", "label": "x", '
                                '"source": "\U0001F600\u05e9", "target": "b\u200b"}\n'.encode())
    put("j-manykeys.jsonl", good + ("{" + ", ".join(f'"k{i}": {i}' for i in range(5000))
                                    + ', "text": "a cat", "label": "x", "source": "a", "target": "b"}\n').encode())
    # text: Unicode line breaks inside lines, one huge word, CR-only endings, compressed and fake-compressed
    put("t-u2028.txt", "the cat\u2028sat on\u0085the mat\x0cnow\x1c end\nline two here\n".encode() * 20)
    put("t-longword.txt", b"x" * 500_000 + b"\nthe cat sat\n")
    put("t-cr.txt", b"the cat sat\r" * 20_000)
    with open(os.path.join(root, "corpus.txt"), "rb") as f:
        corpus = f.read()
    put("t-corpus.txt.gz", gzip.compress(corpus))
    put("t-notgz.txt.gz", corpus)
    put("t-trunc.txt.bz2", bz2.compress(corpus)[:200])
    put("t-trunc.txt.xz", lzma.compress(corpus)[:200])
    put("t-zeros.txt.gz", gzip.compress(b"\x00" * (40 << 20)))
    # model files of other dtypes and layouts (the meta consistent with them), and a compressed giant
    import numpy as np

    conversions = {"f16": lambda a: a.astype(np.float16) if a.dtype == np.float32 else a,
                   "be": lambda a: a.astype(">f4") if a.dtype == np.float32 else a,
                   "i32": lambda a: a.astype(np.int32) if a.dtype == np.float32 else a,
                   "f64": lambda a: a.astype(np.float64) if a.dtype == np.float32 else a,
                   "fortran": np.asfortranarray}
    for kind in ("lm", "clf", "s2s", "fc", "w"):
        for tag, fn in conversions.items():
            _convert(os.path.join(root, f"{kind}.npz"), os.path.join(root, f"md-{kind}-{tag}.npz"), fn)
        _tamper(os.path.join(root, f"{kind}.npz"), os.path.join(root, f"md-{kind}-extra.npz"), lambda m: None,
                extra={"surplus": np.zeros(3, np.float32)})
    with zipfile.ZipFile(os.path.join(root, "md-w-dupentry.npz"), "w") as out, \
            zipfile.ZipFile(os.path.join(root, "w.npz")) as z:
        for info in z.infolist():
            out.writestr(info.filename, z.read(info.filename))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.writestr("meta.npy", z.read("meta.npy"))
    _giant(os.path.join(root, "w.npz"), os.path.join(root, "md-w-giant.npz"))
    os.symlink("w.npz", os.path.join(root, "md-w-link.npz"))
    os.symlink("md-loop-b.npz", os.path.join(root, "md-loop-a.npz"))
    os.symlink("md-loop-a.npz", os.path.join(root, "md-loop-b.npz"))


def _convert(src: str, dst: str, fn) -> None:
    import numpy as np

    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    for k in list(arrays):
        arrays[k] = fn(arrays[k])
        if k in meta.get("arrays", {}):
            meta["arrays"][k] = {"shape": list(arrays[k].shape), "dtype": arrays[k].dtype.str}
    np.savez(dst, meta=np.array(json.dumps(meta)), **arrays)


def _giant(src: str, dst: str) -> None:
    """A vectors file whose one array is 1.5 GiB of zeros, deflated to about a megabyte (a zip bomb with
    consistent metadata): loading it may be refused or may take the memory, never crash or hang."""
    import zlib

    import numpy as np

    with np.load(src, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        dim = z["vectors"].shape[1]
    rows = (3 << 29) // (4 * dim)
    meta["arrays"]["vectors"] = {"shape": [rows, dim], "dtype": "<f4"}
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, dim)}
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        buf = __import__("io").BytesIO()
        np.lib.format.write_array(buf, np.array(json.dumps(meta)))
        out.writestr("meta.npy", buf.getvalue())
        with out.open("vectors.npy", "w", force_zip64=True) as member:
            head = __import__("io").BytesIO()
            np.lib.format.write_array_header_1_0(head, header)
            member.write(head.getvalue())
            chunk = bytes(1 << 24)
            left = rows * dim * 4
            while left:
                n = min(left, len(chunk))
                member.write(chunk[:n])
                left -= n
    del zlib


def _tamper(src: str, dst: str, edit, extra=None) -> None:
    import numpy as np

    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    edit(meta)
    np.savez(dst, meta=np.array(json.dumps(meta)), **arrays, **(extra or {}))


def digest(root: str) -> dict:
    out = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.islink(path) or not os.path.isfile(path):
            out[name] = "other"
            continue
        st = os.stat(path)
        if st.st_size > 1 << 20:
            out[name] = (st.st_size, st.st_mtime_ns)
        else:
            with open(path, "rb") as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


# --- the cases -----------------------------------------------------------------------------------------

MODELS = {"lm": "{W}/lm.npz", "clf": "{W}/clf.npz", "s2s": "{W}/s2s.npz", "fc": "{W}/fc.npz", "w": "{W}/w.npz"}

# commands that read text lines, with where the input goes (INPUT)
TEXT_COMMANDS = [
    ["vocab", "INPUT"],
    ["vocab", "--level", "char", "INPUT"],
    ["bow", "--vocab", "{W}/v.jsonl", "INPUT"],
    ["phrases", "INPUT"],
    ["w2v-train", "INPUT", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "8"],
    ["rnn-train", "--task", "lm", "INPUT", "-o", "{T}/out.npz", "--max-steps", "3"],
    ["predict", "{W}/lm.npz", "INPUT"],
    ["evaluate", "{W}/lm.npz", "INPUT"],
    ["neighbors", "{W}/w.npz", "--input", "INPUT"],
    ["import", "INPUT", "-o", "{T}/out.npz"],
    ["predict", "{W}/clf.npz", "INPUT"],
    ["predict", "{W}/s2s.npz", "INPUT"],
]
JSONL_COMMANDS = [
    ["vocab", "--text-field", "text", "INPUT"],
    ["bow", "--vocab", "{W}/v.jsonl", "--text-field", "text", "INPUT"],
    ["rnn-train", "--task", "classify", "INPUT", "-o", "{T}/out.npz", "--max-steps", "3"],
    ["rnn-train", "--task", "seq2seq", "INPUT", "-o", "{T}/out.npz", "--max-steps", "3"],
    ["predict", "{W}/clf.npz", "INPUT"],
    ["evaluate", "{W}/clf.npz", "INPUT"],
    ["predict", "{W}/s2s.npz", "INPUT"],
    ["evaluate", "{W}/s2s.npz", "INPUT"],
    ["predict", "{W}/lm.npz", "--text-field", "text", "INPUT"],
    ["neighbors", "{W}/w.npz", "--text-field", "text", "--input", "INPUT"],
]
CSV_COMMANDS = [
    ["rnn-train", "--task", "forecast", "INPUT", "-o", "{T}/out.npz", "--max-steps", "3"],
    ["predict", "{W}/fc.npz", "INPUT"],
    ["evaluate", "{W}/fc.npz", "INPUT"],
    ["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "INPUT"],
]
MODEL_COMMANDS = [
    ["sample", "MODEL", "--length", "5"],
    ["predict", "MODEL", "{W}/docs.txt"],
    ["evaluate", "MODEL", "{W}/docs.txt"],
    ["neighbors", "MODEL", "the"],
    ["export", "MODEL"],
    ["plot", "words", "MODEL", "the"],
    ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--resume", "MODEL", "--max-steps", "2"],
    ["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", "--embeddings", "MODEL",
     "--max-steps", "2"],
    ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--resume", "MODEL"],
]
# what each command accepts as fine (exit 0) among the hostile files; everything else must be exit 1
TEXT_OK = {"crlf.txt", "bom.txt", "million.txt", "nonl.txt", "fifo"}


def _fill(args, **subs):
    return [subs.get(a, a) for a in args]


def hostile_file_cases() -> list[Case]:
    cases = []
    text_files = ["empty.txt", "blank.txt", "nul.txt", "binary.bin", "latin1.txt", "utf16.txt", "crlf.txt",
                  "bom.txt", "long10m.txt", "million.txt", "trunc.gz", "nonl.txt", "folder", "missing.txt",
                  "/dev/null", "fifo"]
    for cmd in TEXT_COMMANDS:
        for name in text_files:
            path = name if name.startswith("/") else ("{T}/fifo" if name == "fifo" else "{W}/" + name)
            expect = _text_expect(cmd, name)
            if name == "million.txt" and cmd[0] in ("rnn-train", "predict", "evaluate", "neighbors", "import"):
                continue  # a million lines is work, not hostility, for a network: covered by vocab/bow/w2v
            cases.append(Case("hostile text file", _fill(cmd, INPUT=path), expect,
                              names=None if name in ("/dev/null",) or expect == (0,) else os.path.basename(name),
                              output="{T}/out.npz" if "-o" in cmd else None,
                              setup=_fifo_writer if name == "fifo" else None))
    jsonl_files = ["j-types.jsonl", "j-missing.jsonl", "j-dup.jsonl", "j-nan.jsonl", "j-bigint.jsonl",
                   "j-deep.jsonl", "j-list.jsonl", "j-trunc.jsonl", "j-huge.jsonl", "j-empty-text.jsonl",
                   "empty.txt", "binary.bin"]
    for cmd in JSONL_COMMANDS:
        for name in jsonl_files:
            expect = (1,)
            if name == "j-dup.jsonl":
                expect = (0, 1)  # the last of duplicate keys wins, as in every JSON reader; or refused
            if name == "j-empty-text.jsonl" and cmd[0] in ("vocab", "bow", "neighbors"):
                expect = (0, 1)
            if name == "empty.txt" and cmd[0] in ("bow", "predict", "neighbors"):
                expect = (0,)
            if name == "j-list.jsonl" and cmd[0] == "predict" and ("clf" in cmd[1] or "s2s" in cmd[1]):
                expect = (0, 1)  # the first line is not a JSON object: the file is read as plain text
            if name == "j-empty-text.jsonl" and cmd[0] in ("predict", "evaluate"):
                expect = (0, 1)  # an empty text is predicted from <unk> alone, with a warning
            cases.append(Case("hostile JSONL", _fill(cmd, INPUT="{W}/" + name), expect,
                              names=name if expect == (1,) else None,
                              output="{T}/out.npz" if "-o" in cmd else None))
    csv_files = ["c-ragged.csv", "c-quoted.csv", "c-text.csv", "c-nan.csv", "c-inf.csv", "c-huge.csv", "c-one.csv",
                 "c-header.csv", "c-dupdates.csv", "c-baddates.csv", "c-nonumeric.csv", "c-constant.csv",
                 "c-semicolon.csv", "empty.txt", "binary.bin"]
    for cmd in CSV_COMMANDS:
        for name in csv_files:
            expect = (1,)
            if name in ("c-constant.csv",) and cmd[0] != "evaluate":
                expect = (0, 1)
            if name in ("c-nan.csv", "c-huge.csv", "c-quoted.csv", "c-constant.csv", "c-semicolon.csv"):
                expect = (0, 1)  # missing values, extreme scales: may be refused or handled, never a traceback
            cases.append(Case("hostile CSV", _fill(cmd, INPUT="{W}/" + name), expect,
                              names=name if expect == (1,) else None,
                              output="{T}/out.npz" if "-o" in cmd else None))
    for name, expect in [("vec-nan.txt", (1,)), ("vec-ragged.txt", (1,)), ("vec-zero-dim.txt", (1,)),
                         ("vec-huge-header.txt", (1,)), ("vec-bin-trunc.bin", (1,))]:
        cases.append(Case("hostile vectors file", ["import", "{W}/" + name, "-o", "{T}/out.npz"], expect, names=name,
                          output="{T}/out.npz"))
    for args in (["plot", "log", "{W}/log-bad.jsonl"], ["plot", "confusion", "{W}/conf-bad.json"],
                 ["plot", "log", "{W}/binary.bin"], ["plot", "confusion", "{W}/empty.txt"],
                 ["plot", "forecast", "{W}/j-types.jsonl"], ["plot", "log", "{W}/empty.txt"],
                 ["bow", "--vocab", "{W}/binary.bin", "{W}/docs.txt"], ["bow", "--vocab", "{W}/j-types.jsonl",
                                                                        "{W}/docs.txt"],
                 ["vocab", "--merge", "{W}/j-types.jsonl"], ["vocab", "--merge", "{W}/docs.txt"],
                 ["phrases", "--table", "{W}/j-types.jsonl", "{W}/docs.txt"],
                 ["export", "{W}/w.npz", "--words", "{W}/binary.bin"],
                 ["evaluate", "{W}/w.npz", "--analogies", "{W}/binary.bin"],
                 ["evaluate", "{W}/w.npz", "--similarity", "{W}/j-types.jsonl"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", "--vocab", "{W}/binary.bin", "-o", "{T}/out.npz"]):
        name = os.path.basename(args[-1] if not args[-1].endswith("docs.txt") or args[1] == "--merge"
                                else args[-2])
        if args[-2] == "-o":
            name = "binary.bin"
        cases.append(Case("hostile side file", args, (1,), names=name, output="{T}/out.npz" if "-o" in args else None))
    return cases


def _text_expect(cmd, name) -> tuple:
    c = cmd[0]
    if name in TEXT_OK:
        if c == "import":
            return (1,)
        if c == "rnn-train" and name == "nonl.txt":
            return (0, 1)  # 36 characters: too short for the default --seq-len, which the error says
        if c in ("predict",) and "s2s" in cmd[1]:
            return (0,)
        if c == "predict" and "clf" in cmd[1]:
            return (0,)
        return (0,)
    if name in ("empty.txt", "blank.txt", "/dev/null"):
        # nothing to count is an empty result; nothing to learn from or to score is an error; vocab says
        # "no words found in FILE (is it empty, or the wrong file?)" by design (an empty vocabulary is the
        # peers' most confusing failure later on)
        if c == "vocab" and "char" in cmd and name == "blank.txt":
            return (0, 1)  # spaces and tabs are characters
        return (0,) if c in ("bow", "phrases", "predict", "neighbors") else (1,)
    if name == "nul.txt":
        return (0, 1)  # NUL is valid UTF-8; a tool may take it as text or refuse it as binary
    return (1,)


def _fifo_writer(tmp: str):
    path = os.path.join(tmp, "fifo")
    os.mkfifo(path)
    pid = os.fork()
    if pid == 0:  # a writer, as with <(...): writes a few lines and closes
        try:
            fd = os.open(path, os.O_WRONLY)
            os.write(fd, b"the cat sat\nthe dog ran\n" * 20)
            os.close(fd)
        finally:
            os._exit(0)
    return pid


def model_cases() -> list[Case]:
    cases = []
    bad = ["m-zero.npz", "m-trunc.npz", "m-text.npz", "m-random.npz", "m-npy.npz", "m-zip.npz", "m-kind.npz",
           "m-version.npz", "folder", "missing.npz", "/dev/zero", "/dev/null", "fifo"]
    for cmd in MODEL_COMMANDS:
        for name in bad:
            path = name if name.startswith("/") else ("{T}/fifo" if name == "fifo" else "{W}/" + name)
            cases.append(Case("bad model file", _fill(cmd, MODEL=path), (1,), names=os.path.basename(name),
                              output="{T}/out.npz" if "-o" in cmd else None,
                              setup=_plain_fifo if name == "fifo" else None, timeout=60))
        # every model kind to every command: the wrong kind is a one-line error, the right one works
        for kind, path in MODELS.items():
            fits = _fits(cmd, kind)
            # a data file the model cannot read (a text file to a forecaster) may be blamed instead
            culprit = os.path.basename(path) + ("|docs.txt" if "{W}/docs.txt" in cmd else "")
            cases.append(Case("foreign model kind", _fill(cmd, MODEL=path), fits,
                              names=culprit if fits == (1,) else None,
                              output="{T}/out.npz" if "-o" in cmd else None))
    for name, cmd in [("m-labels.npz", ["predict", "{W}/m-labels.npz", "{W}/g.jsonl"]),
                      ("m-s2s-maxlen.npz", ["predict", "{W}/m-s2s-maxlen.npz", "{W}/p.jsonl"]),
                      ("m-vocab.npz", ["neighbors", "{W}/m-vocab.npz", "the"]),
                      ("m-vocab.npz", ["export", "{W}/m-vocab.npz"]),
                      ("m-fc-axis.npz", ["predict", "{W}/m-fc-axis.npz", "{W}/air.csv"]),
                      ("m-labels.npz", ["evaluate", "{W}/m-labels.npz", "{W}/g.jsonl"])]:
        cases.append(Case("tampered model meta", cmd, (1,), names=name))
    cases.append(Case("bad model file", ["sample", "-"], (1,), stdin=b""))
    cases.append(Case("bad model file", ["predict", "-", "{W}/docs.txt"], (1,), stdin=os.urandom(2000)))
    return cases


def _plain_fifo(tmp: str):
    os.mkfifo(os.path.join(tmp, "fifo"))


def _fits(cmd, kind) -> tuple:
    c = cmd[0]
    if c == "sample":
        return (0,) if kind == "lm" else (1,)
    if c in ("neighbors", "export") or (c == "plot" and cmd[1] == "words"):
        return (0,) if kind == "w" else (1,)
    if c == "predict":
        return (0, 1) if kind in ("lm", "clf", "s2s") else (1,)  # docs.txt is text: fine for lm/clf/s2s
    if c == "evaluate":
        # a vectors file is evaluated with --analogies/--similarity, not input files: a usage error
        return (0, 1) if kind == "lm" else (2,) if kind == "w" else (1,)
    if c == "rnn-train" and "--resume" in cmd:
        return (0,) if kind == "lm" else (1,)
    if c == "rnn-train":
        return (0,) if kind == "w" else (1,)
    if c == "w2v-train":
        return (1, 2) if kind == "w" else (1,)  # w.npz was saved without --resumable: refused with the reason
    return (0, 1)


def option_cases() -> list[Case]:
    lm, clf, s2s, fc, w = (MODELS[k] for k in ("lm", "clf", "s2s", "fc", "w"))
    train = {"lm": ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--max-steps", "2"],
             "classify": ["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", "--max-steps", "2"],
             "seq2seq": ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", "--max-steps", "2"],
             "forecast": ["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", "--max-steps", "2"]}
    bad_numbers = ["0", "-1", "1e12", "nan", "", "99999999999999999999999"]
    table = []
    for task, base in train.items():
        for opt in ["--hidden", "--layers", "--embed-dim", "--batch", "--epochs", "--seq-len", "--lr", "--clip",
                    "--dropout", "--val-fraction", "--max-time", "--patience", "--checkpoint-every", "--seed"]:
            if task == "forecast" and opt in ("--embed-dim", "--seq-len"):
                continue
            if task == "seq2seq" and opt == "--seq-len":
                continue
            for v in bad_numbers:
                # values that are extreme but mean something: no clipping, no dropout, no validation, a limit
                # that is never reached (--max-steps stops these runs)
                fine = (v == "0" and opt in ("--clip", "--dropout", "--val-fraction", "--seed")) or (
                    v in ("1e12", "99999999999999999999999")
                    and opt in ("--clip", "--max-time", "--patience", "--checkpoint-every", "--epochs", "--batch"))
                table.append((base + [opt, v], (0, 2) if fine else (2,), opt))
    w2v = ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1"]
    for opt in ["--dim", "--window", "--negative", "--sample", "--alpha", "--min-alpha", "--epochs", "--min-count",
                "--max-vocab", "--buckets", "--seed"]:
        for v in bad_numbers:
            if v == "0" and opt in ("--sample", "--min-alpha", "--seed"):
                continue
            if v in ("1e12", "99999999999999999999999") and opt in ("--max-vocab", "--min-count", "--sample"):
                table.append((w2v + [opt, v], (0, 1, 2), opt))  # no limit, or no word that frequent
                continue
            if opt == "--buckets":
                table.append((w2v + ["--subword", "3-5", opt, v], (2,), opt))
                continue
            table.append((w2v + [opt, v], (2,), opt))
    for opt, vals in [("--subword", ["0-0", "5-3", "a-b", "", "3-999999"]), ("--arch", ["", "x"]),
                      ("--loss", ["x"])]:
        for v in vals:
            table.append((w2v + [opt, v], (2,), opt))
    sample = ["sample", lm, "--length", "5"]
    for opt, vals in [("--length", ["0", "-1", "nan", "", "1e12", "99999999999999999999"]),
                      ("--temperature", ["-1", "nan", "inf", "", "1e309"]),
                      ("--top-k", ["-1", "nan", "99999999999999999999"]), ("--count", ["0", "-1", "1e9"]),
                      ("--prime", ["\\x", "\\", "\\u12", "\\U0011ffff"]), ("--until", ["\\x", ""]),
                      ("--seed", ["nan", "-1", "99999999999999999999999"]), ("--format", ["", "xml"])]:
        for v in vals:
            table.append((sample + [opt, v], (2,), opt))
    for args in (["predict", fc, "{W}/air.csv", "--horizon", "100000"],
                 ["predict", fc, "{W}/air.csv", "--freq", "99999999999D"],
                 ["evaluate", fc, "{W}/air.csv", "--backtest", "1000"],
                 ["predict", s2s, "{W}/p.jsonl", "--source-field", "nope"],
                 ["predict", lm, "{W}/g.jsonl", "--text-field", "nope"]):
        # refused as usage, or as what this data cannot do (a field it lacks, dates past year 9999)
        culprit = args[-2] + (f"|{args[-1]}" if args[-2].endswith("-field") else "")
        table.append((args, (1, 2), culprit))
    for cmd, opt, vals in [
        (["predict", clf, "{W}/g.jsonl"], "--top-k", ["-1", "nan", ""]),
        (["predict", fc, "{W}/air.csv"], "--horizon", ["0", "-1", "1e12"]),
        (["predict", fc, "{W}/air.csv"], "--freq", ["fortnight", "", "0D", "-1M"]),
        (["predict", fc, "{W}/air.csv"], "--intervals", ["", "150", "nan", "0", "50,abc"]),
        (["predict", fc, "{W}/air.csv"], "--target", ["nope", ""]),
        (["predict", fc, "{W}/air.csv"], "--missing", ["x"]),
        (["evaluate", fc, "{W}/air.csv"], "--backtest", ["0", "-1", "1e12"]),
        (["evaluate", fc, "{W}/air.csv", "--backtest", "2"], "--seed", ["-1", "nan"]),
        # forecasts that cannot fit in memory: refused before any work
        (["predict", fc, "{W}/air.csv"], "--horizon", ["1000000000000"]),
        (["predict", s2s, "{W}/p.jsonl"], "--max-length", ["0", "-1", "100000000", "1e12"]),
        (["predict", s2s, "{W}/p.jsonl"], "--beam", ["0", "-1", "100000"]),
        (["predict", lm, "{W}/book.txt"], "--scheduler", ["local:0", "local:-1", "local:x", "local:100000"]),
        (["predict", s2s, "{W}/p.jsonl"], "--nbest", ["0", "100000"]),
        (["predict", s2s, "{W}/p.jsonl"], "--length-norm", ["nan", "inf", "-1e309"]),
        (["predict", s2s, "{W}/p.jsonl"], "--source-field", [""]),
        (["predict", lm, "{W}/g.jsonl"], "--text-field", [""]),
        (["neighbors", w, "the"], "-k", ["0", "-1", "nan"]),
        (["neighbors", w, "a", "b", "c"], "--restrict", ["0", "-1"]),
        (["neighbors", w, "the"], "--method", ["x"]),
        (["evaluate", w, "--analogies", "{W}/analogies.txt"], "--restrict", ["0", "-1", "nan"]),
        (["vocab", "{W}/docs.txt"], "--min-count", ["0", "-1", "nan"]),
        (["vocab", "{W}/docs.txt"], "--max-vocab", ["0", "-1"]),
        (["vocab", "{W}/docs.txt"], "--max-line-bytes", ["0", "-1", "nan", ""]),
        (["vocab", "{W}/docs.txt"], "--level", ["", "byte"]),
        (["vocab", "{W}/docs.txt"], "--threads", ["0", "-1", "100000"]),
        (["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"], "--mode", ["", "x"]),
        (["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"], "--format", ["x"]),
        (["phrases", "{W}/docs.txt"], "--threshold", ["nan", "-1", "inf"]),
        (["phrases", "{W}/docs.txt"], "--passes", ["0", "-1", "1000000"]),
        (["phrases", "{W}/docs.txt"], "--min-count", ["0", "-1"]),
        (["export", w], "--format", ["", "x"]),
        (["import", "{W}/docs.txt", "-o", "{T}/out.npz"], "--format", ["x"]),
        (["plot", "log", "{W}/train-log.jsonl"], "--width", ["0", "-1", "nan", "1e12"]),
        (["plot", "log", "{W}/train-log.jsonl"], "--height", ["0", "nan", "1e12"]),
        (["plot", "forecast", "{W}/fc-pred.jsonl"], "--last", ["0", "-1"]),
    ]:
        for v in vals:
            table.append((cmd + [opt, v], (2,), opt))
    # combinations that do not go together, and options a task would ignore
    for args in (train["lm"] + ["--freeze-embeddings"],
                 train["lm"] + ["--level", "char", "--embeddings", w],
                 train["forecast"] + ["--embeddings", w], train["forecast"] + ["--level", "word"],
                 train["seq2seq"] + ["--embeddings", w],
                 train["classify"] + ["--horizon", "3"], train["lm"] + ["--label-field", "x"],
                 ["vocab", "--merge", "--level", "char", "{W}/v.jsonl"],
                 ["predict", lm, "--horizon", "3", "{W}/docs.txt"], ["predict", clf, "--beam", "3", "{W}/g.jsonl"],
                 ["sample", lm, "--prime", "x", "--prompts", "{W}/docs.txt"],
                 ["bow", "--vocab", "{W}/v.jsonl", "--format", "npz", "{W}/docs.txt"],
                 ["rnn-train", "--task", "nope", "{W}/book.txt", "-o", "{T}/out.npz"],
                 ["rnn-train", "{W}/book.txt", "-o", "{T}/out.npz"], ["w2v-train", "{W}/corpus.txt"],
                 ["predict"], ["vocab", "--no-such-option"], ["frobnicate"],
                 ["predict", "-", "-"]):
        table.append((args, (2,), None))
    huge = [(train["lm"] + ["--hidden", "100000"], "--hidden"), (train["lm"] + ["--embed-dim", "1000000000"], None),
            (train["classify"] + ["--hidden", "200000"], None), (train["seq2seq"] + ["--hidden", "100000"], None),
            (train["seq2seq"] + ["--encoder-layers", "100000000"], "--encoder-layers"),
            (train["forecast"] + ["--hidden", "100000"], None), (train["lm"] + ["--layers", "100000"], "--layers"),
            (train["lm"] + ["--batch", "100000000", "--seq-len", "100000"], None),
            (w2v + ["--dim", "1000000000"], "--dim"), (w2v + ["--dim", "100000000"], "--dim"),
            (w2v + ["--negative", "100000"], None), (w2v + ["--window", "1000000000"], None)]
    cases = [Case("absurd option value", args, expect, names=name, output="{T}/out.npz" if "-o" in args else None)
             for args, expect, name in table]
    for args, name in huge:
        # refused before any work (exit 2), or a one-line out-of-memory error (exit 1) where the estimate is
        # only a lower bound
        cases.append(Case("huge sizes", args, (1, 2) if name == "--layers" else (2,), output="{T}/out.npz",
                          timeout=120))
    return cases


def stream_cases() -> list[Case]:
    lm, fc, w = MODELS["lm"], MODELS["fc"], MODELS["w"]
    readers = [["vocab"], ["bow", "--vocab", "{W}/v.jsonl"], ["phrases"], ["predict", lm], ["predict", MODELS["clf"]],
               ["neighbors", w], ["evaluate", lm], ["predict", fc], ["import", "-", "-o", "{T}/out.npz"],
               ["w2v-train", "-o", "{T}/out.npz"], ["rnn-train", "--task", "lm", "-o", "{T}/out.npz"], ["sample", "-"]]
    cases = [Case("stdin closed", args, (1,), stdin="closed", names="standard input") for args in readers]
    writers = [["vocab", "{W}/corpus.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt"],
               ["phrases", "{W}/corpus.txt"], ["sample", lm, "--length", "3000"], ["predict", lm, "{W}/book.txt"],
               ["evaluate", lm, "{W}/book.txt"], ["export", w], ["neighbors", w, "the", "cat", "sat"],
               ["predict", fc, "{W}/air.csv"], ["plot", "log", "{W}/train-log.jsonl"]]
    cases += [Case("stdout closed", args, (1,), stdout="closed", names="standard output") for args in writers]
    cases += [Case("stdout reader gone (head -c1)", args, (0,), stdout="head") for args in writers]
    cases += [Case("stdout is /dev/full", args + ["-o", "/dev/full"], (1,), names="space") for args in writers
              if args[0] != "plot"]
    cases += [Case("stdin empty", ["neighbors", w], (0,)), Case("stdin empty", ["vocab"], (1,), names="stdin"),
              Case("stdin empty", ["rnn-train", "--task", "lm", "-o", "{T}/out.npz"], (1,), output="{T}/out.npz")]
    cases += [Case("stderr closed", ["vocab", "{W}/docs.txt"], (0,), env={"_close_stderr": "1"}),
              Case("stderr closed", ["vocab", "{W}/missing.txt"], (1,), env={"_close_stderr": "1"})]
    # outputs are UTF-8 whatever the locale or PYTHONIOENCODING say; odd thread and folder settings are ignored
    unicode_writers = [["vocab", "{W}/j-emoji.jsonl"], ["export", w], ["predict", MODELS["clf"], "{W}/j-emoji.jsonl"],
                       ["sample", lm, "--length", "300", "--prime", "\u00e9"]]
    cases += [Case("odd environment", args, (0,), env={"PYTHONIOENCODING": enc})
              for enc in ("ascii", "latin-1") for args in unicode_writers]
    for env in ({"LANG": "C", "LC_ALL": "C"}, {"NUMBA_NUM_THREADS": "abc"}, {"OMP_NUM_THREADS": "abc"},
                {"OPENBLAS_NUM_THREADS": "-5"}, {"HOME": "/nonexistent"}, {"TMPDIR": "/nonexistent"}):
        cases += [Case("odd environment", args, (0,), env=env)
                  for args in (["vocab", "{W}/j-emoji.jsonl"], ["predict", lm, "{W}/book.txt"])]
    return cases


def _mount_tmpfs(size: str):
    def setup(tmp):
        path = os.path.join(tmp, "small")
        os.mkdir(path)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                          capture_output=True).returncode != 0:
            os.rmdir(path)
            os.symlink("/dev/full", path)  # no mounting here: a full device stands for the full disk
        return None
    return setup


def _umount(tmp):
    path = os.path.join(tmp, "small")
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", path], capture_output=True)


def disk_cases() -> list[Case]:
    lm, w = MODELS["lm"], MODELS["w"]
    outputs = [["vocab", "{W}/corpus.txt", "-o", "OUT"],
               ["bow", "--vocab", "{W}/v.jsonl", "{W}/million.txt", "-o", "OUT"],
               ["sample", lm, "--length", "20000", "-o", "OUT"], ["predict", lm, "{W}/book.txt", "-o", "OUT"],
               ["export", w, "-o", "OUT"],
               ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "OUT", *TINY],
               ["w2v-train", "{W}/corpus.txt", "-o", "OUT", "--dim", "64", "--epochs", "1", "--min-count", "1"],
               ["import", "{W}/vec-big.txt", "-o", "OUT"], ["phrases", "{W}/corpus.txt", "-o", "OUT"],
               ["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "OUT", *TINY]]
    cases = []
    for args in outputs:
        is_file = "small/out" if "npz" not in " ".join(args) else "small/out.npz"
        expect = (1,)
        cases.append(Case("disk full (16 KiB tmpfs)", _fill(args, OUT="{T}/" + is_file), expect,
                          names="space|full", setup=_mount_tmpfs("16k"), teardown=_umount))
    # a full TMPDIR must not matter to commands that do not need it, and be one line where it does
    cases.append(Case("full TMPDIR", ["predict", "-", "{W}/docs.txt"], (0, 1), stdin=b"@lm",
                      env={"TMPDIR": "{T}/small"}, setup=_mount_tmpfs("4k"), teardown=_umount))
    cases.append(Case("full TMPDIR", ["vocab", "{W}/corpus.txt"], (0,), env={"TMPDIR": "{T}/small"},
                      setup=_mount_tmpfs("4k"), teardown=_umount))
    # missing and read-only folders, outputs onto inputs
    for args in outputs[:6]:
        cases.append(Case("output folder missing", _fill(args, OUT="{T}/no/such/out"), (1,), names="no/such"))
        cases.append(Case("output onto an input", _fill(args, OUT=next(a for a in args if a.startswith("{W}"))),
                          (2,), names="input"))
    return cases


def signal_cases() -> list[Case]:
    base = {"lm": ["rnn-train", "--task", "lm", "{W}/book.txt", "--max-time", "60", "--hidden", "64"],
            # no early stopping: 60 texts or pairs otherwise stop within about a second, before the signal
            "classify": ["rnn-train", "--task", "classify", "{W}/g.jsonl", "--epochs", "1000", "--max-time", "60",
                         "--patience", "100000"],
            "seq2seq": ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "--epochs", "1000", "--max-time", "60",
                        "--patience", "100000"],
            "forecast": ["rnn-train", "--task", "forecast", "{W}/air.csv", "--max-time", "60", "--ensemble", "1",
                         "--patience", "100000", "--epochs", "100000"],
            "w2v": ["w2v-train", "{W}/corpus.txt", "--epochs", "100000", "--min-count", "1"]}
    cases = []
    for args in base.values():
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)):
            cases.append(Case(f"{signal.Signals(sig).name} during training", args + ["-o", "{T}/out.npz", "--log",
                                                                                      "{T}/log.jsonl"],
                              (code,), output="{T}/out.npz", signal=sig, timeout=120))
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)):
        cases.append(Case(f"{signal.Signals(sig).name} during vocab", ["vocab", "/dev/zero",
                                                                       "--max-line-bytes", "2000000000"],
                          (code, 1), signal=sig, timeout=60))
    return cases


def concurrent_cases() -> list[Case]:
    return [
        Case("concurrent writers", ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--dim", "16", "--epochs", "2",
                                    "--min-count", "1"], (0,), output="{T}/out.npz", concurrent=3, timeout=180),
        Case("concurrent writers", ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY], (0,),
             output="{T}/out.npz", concurrent=3, timeout=180),
        Case("concurrent writers", ["vocab", "{W}/corpus.txt", "-o", "{T}/out.jsonl"], (0,), output="{T}/out.jsonl",
             concurrent=4),
        Case("concurrent writers", ["sample", MODELS["lm"], "--length", "20000", "-o", "{T}/out.txt"], (0,),
             concurrent=3),
    ]


def more_cases() -> list[Case]:
    """Fault classes the first groups did not try: CSV/JSONL/text oddities, model files of other dtypes
    and layouts, side files that are folders/missing/empty/endless, text options that are not UTF-8,
    extreme but finite numbers, odd output paths, signals during predict and vocab, concurrent predicts."""
    lm, clf, s2s, fc, w = (MODELS[k] for k in ("lm", "clf", "s2s", "fc", "w"))
    cases = []
    # CSV oddities; BOM, CRLF, blank lines, a trailing comma, gzip are fine; the rest are one-line errors
    csv_more = {"c-bom.csv": (0,), "c-crlf.csv": (0,), "c-blanklines.csv": (0,), "c-air.csv.gz": (0,),
                "c-trailing.csv": (0, 1), "c-dupheader.csv": (1,), "c-longfield.csv": (0, 1),
                "c-unterminated.csv": (1,), "c-nul.csv": (1,), "c-latin1.csv": (0, 1), "c-tz.csv": (0, 1),
                "c-year.csv": (1,), "c-unsorted.csv": (1,)}
    for cmd in CSV_COMMANDS:
        for name, expect in csv_more.items():
            if cmd[0] == "evaluate" and expect == (0,):
                expect = (0, 1, 2)  # the world's series is short for a 3-fold refit backtest of this model
            cases.append(Case("hostile CSV (more)", _fill(cmd, INPUT="{W}/" + name), expect,
                              names=name, output="{T}/out.npz" if "-o" in cmd else None, timeout=150))
    # JSONL oddities: a BOM, CRLF, Unicode line separators and emoji are text; a lone surrogate, a raw
    # control character are invalid JSON; scalars are not records (or plain text, for readers that sniff)
    jsonl_more = {"j-bom.jsonl": (0,), "j-crlf.jsonl": (0,), "j-u2028.jsonl": (0,), "j-emoji.jsonl": (0,),
                  "j-surrogate.jsonl": (1,), "j-rawnul.jsonl": (1,), "j-escnul.jsonl": (0, 1),
                  "j-scalar.jsonl": (0, 1), "j-manykeys.jsonl": (0, 1)}
    for cmd in JSONL_COMMANDS:
        for name, expect in jsonl_more.items():
            if cmd[0] == "rnn-train" and expect == (0,):
                expect = (0, 1)  # 31 records: training may find them too few
            cases.append(Case("hostile JSONL (more)", _fill(cmd, INPUT="{W}/" + name), expect, names=name,
                              output="{T}/out.npz" if "-o" in cmd else None, timeout=150))
    # text oddities
    text_more = {"t-u2028.txt": (0, 1), "t-longword.txt": (0, 1), "t-cr.txt": (0, 1), "t-corpus.txt.gz": (0, 1),
                 "t-notgz.txt.gz": (0, 1), "t-trunc.txt.bz2": (1,), "t-trunc.txt.xz": (1,), "t-zeros.txt.gz": (1,)}
    for cmd in TEXT_COMMANDS:
        for name, expect in text_more.items():
            if cmd[0] == "import" and expect != (1,):
                expect = (1,)  # none of them is a vectors file
            cases.append(Case("hostile text file (more)", _fill(cmd, INPUT="{W}/" + name), expect, names=name,
                              output="{T}/out.npz" if "-o" in cmd else None, timeout=150))
    # model files of other dtypes and layouts, each with a command of its kind
    use = {"lm": ["predict", "MODEL", "{W}/docs.txt"], "clf": ["predict", "MODEL", "{W}/docs.txt"],
           "s2s": ["predict", "MODEL", "{W}/docs.txt"], "fc": ["predict", "MODEL", "{W}/air.csv"],
           "w": ["neighbors", "MODEL", "the"]}
    for kind, cmd in use.items():
        for tag in ("f16", "be", "i32", "f64", "fortran", "extra"):
            name = f"md-{kind}-{tag}.npz"
            cases.append(Case("model dtype and layout", _fill(cmd, MODEL="{W}/" + name), (0, 1), names=name))
        if kind == "lm":
            for tag in ("f16", "be", "i32"):
                name = f"md-lm-{tag}.npz"
                cases.append(Case("model dtype and layout", ["sample", "{W}/" + name, "--length", "5"], (0, 1),
                                  names=name))
                cases.append(Case("model dtype and layout", ["rnn-train", "--task", "lm", "{W}/book.txt", "-o",
                                                             "{T}/out.npz", "--max-steps", "1", "--resume",
                                                             "{W}/" + name], (0, 1), names=name,
                                  output="{T}/out.npz"))
    for args, expect, name in ((["neighbors", "{W}/md-w-dupentry.npz", "the"], (0, 1), "md-w-dupentry.npz"),
                               (["export", "{W}/md-w-giant.npz"], (0, 1), "md-w-giant.npz"),
                               (["neighbors", "{W}/md-w-giant.npz", "the"], (0, 1), "md-w-giant.npz"),
                               (["neighbors", "{W}/md-w-link.npz", "the"], (0,), None),
                               (["neighbors", "{W}/md-loop-a.npz", "the"], (1,), "md-loop-a.npz"),
                               (["vocab", "{W}/md-loop-a.npz"], (1,), "md-loop-a.npz"),
                               (["neighbors", "{W}/w.npz/", "the"], (1,), "w.npz")):
        cases.append(Case("model dtype and layout", args, expect, names=name, timeout=150))
    # side files that are folders, missing, empty or endless
    side = [(["bow", "--vocab", "SIDE", "{W}/docs.txt"], "--vocab"),
            (["vocab", "--merge", "SIDE"], None),
            (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--vocab", "SIDE"], None),
            (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", "--embeddings", "SIDE"], None),
            (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--resume", "SIDE"], None),
            (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--resume", "SIDE"], None),
            (["sample", lm, "--prompts", "SIDE"], None),
            (["evaluate", w, "--analogies", "SIDE"], None),
            (["evaluate", w, "--similarity", "SIDE"], None),
            (["export", w, "--words", "SIDE"], None),
            (["phrases", "--table", "SIDE", "{W}/docs.txt"], None),
            (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "SIDE"], None),
            (["plot", "log", "SIDE"], None), (["plot", "confusion", "SIDE"], None),
            (["predict", lm, "SIDE"], None)]
    for cmd, _ in side:
        for name, expect in (("{W}/folder", (1,)), ("{W}/missing.txt", (1,)), ("{W}/empty.txt", (0, 1)),
                             ("/dev/zero", (1,))):
            if name.endswith("empty.txt") and cmd[0] in ("sample", "predict"):
                expect = (0,)  # no prompts, no records: nothing to do
            cases.append(Case("side file folder/missing/empty/endless", _fill(cmd, SIDE=name), expect,
                              names=os.path.basename(name), output="{T}/out.npz" if "-o" in cmd else None,
                              timeout=60))
    # text values that are not UTF-8 (argv bytes) or escape a lone surrogate; extreme but finite numbers
    for args, opt in ((["sample", lm, "--length", "5", "--prime", b"\xff".decode("utf-8", "surrogateescape")],
                       "--prime"),
                      (["sample", lm, "--length", "5", "--until", b"a\xfe".decode("utf-8", "surrogateescape")],
                       "--until"),
                      (["sample", lm, "--length", "5", "--prime", "\\ud800"], "--prime"),
                      (["sample", lm, "--length", "5", "--until", "\\udfff"], "--until"),
                      (["neighbors", w, b"\xff".decode("utf-8", "surrogateescape")], "QUERIES"),
                      (["vocab", "--text-field", b"\xff".decode("utf-8", "surrogateescape"), "{W}/g.jsonl"],
                       "--text-field"),
                      (["predict", fc, "{W}/air.csv", "--freq", b"M\xff".decode("utf-8", "surrogateescape")], "--freq"),
                      (["predict", fc, "{W}/air.csv", "--target", b"\xe9".decode("utf-8", "surrogateescape")],
                       "--target"),
                      (["plot", "log", "{W}/train-log.jsonl", "--metric", b"\xff".decode("utf-8", "surrogateescape")],
                       "--metric")):
        cases.append(Case("option text not UTF-8", args, (2,), names=opt))
    train_lm = ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--max-steps", "2", *TINY[:2]]
    w2v = ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "8"]
    for args, expect in (
            (["sample", lm, "--length", "20", "--temperature", "1e-300"], (0, 2)),
            (["sample", lm, "--length", "20", "--temperature", "1e300"], (0, 2)),
            (["sample", lm, "--length", "20", "--temperature", "5e-324"], (0, 2)),
            (["predict", s2s, "{W}/p.jsonl", "--length-norm", "1e300"], (0, 2)),
            (["phrases", "{W}/docs.txt", "--threshold", "1e300"], (0, 2)),
            (train_lm + ["--lr", "1e-300"], (0, 2)), (train_lm + ["--clip", "1e-300"], (0, 2)),
            (train_lm + ["--dropout", "0.9999999"], (0, 2)), (train_lm + ["--val-fraction", "0.9999999"], (0, 1, 2)),
            (train_lm + ["--max-time", "1e-300"], (0, 1, 2)), (train_lm + ["--hidden", " 8"], (0, 2)),
            (train_lm + ["--hidden", "+8"], (0, 2)), (train_lm + ["--hidden", "8.0"], (0, 2)),
            (train_lm + ["--hidden", "0x8"], (2,)), (train_lm + ["--hidden", "\uff18"], (0, 2)),
            (train_lm + ["--lr", "-0"], (2,)), (train_lm + ["--lr", "1e-320"], (0, 2)),
            (w2v + ["--alpha", "1e-300"], (0, 2)), (w2v + ["--sample", "1e-300"], (0, 2)),
            (w2v + ["--sample", "1e300"], (0, 2)), (w2v + ["--min-alpha", "1e300"], (0, 2))):
        cases.append(Case("extreme finite numbers", args, expect, output="{T}/out.npz" if "-o" in args else None))
    # odd output paths
    writers = [["vocab", "{W}/docs.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"],
               ["phrases", "{W}/docs.txt"], ["sample", lm, "--length", "20"], ["predict", lm, "{W}/docs.txt"],
               ["export", w], ["import", "{W}/vec-ok.txt"],
               ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY],
               ["w2v-train", "{W}/corpus.txt", "--dim", "8", "--epochs", "1", "--min-count", "1"]]
    long_name = "{T}/" + "n" * 240 + ".out"
    for args in writers:
        cases.append(Case("odd output path", args + ["-o", "/dev/null"], (0,)))
        cases.append(Case("odd output path", args + ["-o", long_name], (0,), output=long_name))
        cases.append(Case("odd output path", args + ["-o", "{T}/loop"], (1,), names="loop", setup=_symlink_loop))
        cases.append(Case("odd output path", args + ["-o", "{W}/docs.txt/out"], (1,), names="docs.txt"))
        cases.append(Case("odd output path", args + ["-o", ""], (2,)))
        cases.append(Case("odd output path", args + ["-o", "{T}/dangling"], (0,), setup=_dangling,
                          output="{T}/target"))
    for args, expect, name in ((["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--log",
                                 "/dev/full"], (1,), "space"),
                                (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--log",
                                  "{W}/folder"], (2,), "folder|--log"),
                                (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--log", "{W}/corpus.txt"],
                                 (2,), "input"),
                                (["vocab", "{W}/docs.txt", "-o", "{T}/hard"], (2,), "input"),
                                (["vocab", "{W}/docs.txt", "-o", "{T}/soft"], (2,), "input"),
                                (["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt", "-o", "{W}/v.jsonl"], (2,), "input"),
                                (["rnn-train", "--task", "classify", "{W}/g.jsonl", "--embeddings", w, "-o", w], (2,),
                                 "input"),
                                (["phrases", "{W}/docs.txt", "-o", "{W}/docs.txt"], (2,), "input"),
                                (["import", "{W}/vec-ok.txt", "-o", "{W}/vec-ok.txt"], (2,), "input")):
        cases.append(Case("odd output path", args, expect, names=name, setup=_links_to_docs))
    # signals while predict/vocab write an existing output: 130/143/129, the old file kept, no temporary file
    for args in (["predict", lm, "{W}/million.txt", "-o", "{T}/out.jsonl"],
                 # enough lines to outlast the delay even when a busy machine stretches it (~30 s idle)
                 ["vocab", *["{W}/million.txt"] * 60, "-o", "{T}/out.jsonl", "--threads", "1"],
                 ["bow", "--vocab", "{W}/v.jsonl", *["{W}/million.txt"] * 24, "-o", "{T}/out.jsonl"]):
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)):
            cases.append(Case(f"{signal.Signals(sig).name} during predict/vocab/bow", args, (code,),
                              signal=sig, delay=3.0, keep=b"old\n", output="{T}/out.jsonl", timeout=120))
    # concurrent writers of one output, other commands
    cases += [Case("concurrent writers (more)", ["predict", lm, "{W}/book.txt", "-o", "{T}/out.jsonl"], (0,),
                   output="{T}/out.jsonl", concurrent=3, timeout=180),
              Case("concurrent writers (more)", ["export", w, "-o", "{T}/out.txt"], (0,), concurrent=3),
              Case("concurrent writers (more)", ["import", "{W}/vec-ok.txt", "-o", "{T}/out.npz"], (0,),
                   output="{T}/out.npz", concurrent=3)]
    # an address-space limit too small for numba's compiled library (or numpy's arrays): a memory error,
    # never blamed on the output file, which keeps its old bytes
    for megabytes in (150, 200, 250, 300):
        for args in (["predict", clf, "{W}/g.jsonl", "-o", "{T}/out.jsonl"],
                     ["predict", fc, "{W}/air.csv", "-o", "{T}/out.jsonl"],
                     ["evaluate", s2s, "{W}/p.jsonl", "-o", "{T}/out.jsonl"]):
            cases.append(Case("ulimit -v", args, (1,), names="memory", keep=b"old\n", output="{T}/out.jsonl",
                              memory=megabytes << 20))
    return cases


def _symlink_loop(tmp):
    os.symlink(os.path.join(tmp, "loop2"), os.path.join(tmp, "loop"))
    os.symlink(os.path.join(tmp, "loop"), os.path.join(tmp, "loop2"))


def _dangling(tmp):
    os.symlink(os.path.join(tmp, "target"), os.path.join(tmp, "dangling"))


def _links_to_docs(tmp):
    docs = os.path.join(_STATE["world"], "docs.txt")
    os.link(docs, os.path.join(tmp, "hard"))
    os.symlink(docs, os.path.join(tmp, "soft"))


_STATE = {"world": ""}


def _files_in_tmp(files: dict):
    """A setup that writes these files (name -> bytes) into the case's own folder ({T})."""
    def setup(tmp):
        for name, data in files.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
    return setup


def session15_cases() -> list[Case]:
    """What hand probing found after the probe passed everything: each case is a bug that was fixed
    (docs/reliability.md, the section of the `session15` group)."""
    fc = MODELS["fc"]
    cases = []
    # forecast timestamps: integers past int64 (was an internal error), a gap of 10**15 steps (was "out of
    # memory; lower --hidden"), a mistyped year in a date column, --freq 0 and a 21-digit --freq
    ints = b"t,y\n" + b"".join(b"%d,%d\n" % (i, i % 7) for i in range(40))
    files = {"big.csv": b"t,y\n" + b"".join(b"%d,%d\n" % (i * 2 ** 60, i % 7) for i in range(40)),
             "gap.csv": ints + b"1000000000000000,3\n",
             "gapdate.csv": b"date,y\n" + b"".join(b"1950-%02d-01,%d\n" % (m, m) for m in range(1, 13))
             + b"9999-01-01,5\n",
             "ints.csv": ints}
    for cmd in CSV_COMMANDS[:3]:
        for name, expect, names in (("big.csv", (0, 1), "big.csv"), ("gap.csv", (1,), "gap.csv:42"),
                                    ("gapdate.csv", (1,), "gapdate.csv:14")):
            cases.append(Case("forecast timestamps (session 15)", _fill(cmd, INPUT="{T}/" + name), expect,
                              names=names, setup=_files_in_tmp(files), timeout=150))
    for freq in ("0", "1" + "0" * 20):
        cases.append(Case("forecast timestamps (session 15)", ["predict", fc, "{T}/ints.csv", "--freq", freq],
                          (1, 2), names="freq|ints.csv", setup=_files_in_tmp(files)))
    # seq2seq with a word-level --vocab on character data: every token was <unk>, silently
    cases.append(Case("conflicting options (session 15)", ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "--vocab",
                                                          "{W}/v.jsonl", "-o", "{T}/out.npz", *TINY], (2,),
                      names="v.jsonl", output="{T}/out.npz"))
    # a classifier's --level other than its --vocab file's: ignored, silently
    cases.append(Case("conflicting options (session 15)", ["rnn-train", "--task", "classify", "{W}/g.jsonl",
                                                          "--level", "char", "--vocab", "{W}/v.jsonl", "-o",
                                                          "{T}/out.npz", *TINY], (2,),
                      names="v.jsonl", output="{T}/out.npz"))
    # w2v-train options the model does not use: ignored, silently
    w2v = ["w2v-train", "{W}/docs.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "8",
           "--threads", "1"]
    for extra, names in ((["--loss", "hs", "--negative", "7"], "--negative"), (["--buckets", "5"], "--buckets"),
                         (["--keep-case", "--vocab", "{W}/v.jsonl"], "--keep-case")):
        cases.append(Case("conflicting options (session 15)", [*w2v, *extra], (2,), names=names,
                          output="{T}/out.npz"))
    # evaluate --no-refit with the refits' --seed or --max-time: ignored, silently
    for extra in (["--seed", "5"], ["--max-time", "3"]):
        cases.append(Case("conflicting options (session 15)", ["evaluate", MODELS["fc"], "{W}/air.csv", "--no-refit",
                                                              *extra], (2,), names=extra[0]))
    # vocab: --keep-case with --lowercase (one ignored), --merge of a word and a char vocabulary (named no file)
    for level in ("word", "char"):
        cases.append(Case("conflicting options (session 15)", ["vocab", "--level", level, "--keep-case",
                                                              "--lowercase", "{W}/docs.txt"], (2,),
                          names="--keep-case"))
    cases.append(Case("hostile side file (session 15)", ["vocab", "--merge", "{W}/v.jsonl", "{T}/chars.jsonl"], (1,),
                      names="chars.jsonl", setup=_files_in_tmp({"chars.jsonl": (
                          b'{"format": "rnntools-vocab", "version": 1, "level": "char", "lowercase": false, '
                          b'"documents": 1, "size": 5, "specials": 4, "total": 1}\n'
                          b'{"token": "<pad>", "id": 0, "count": 0, "df": 0, "special": true}\n'
                          b'{"token": "<unk>", "id": 1, "count": 0, "df": 0, "special": true}\n'
                          b'{"token": "<s>", "id": 2, "count": 0, "df": 0, "special": true}\n'
                          b'{"token": "</s>", "id": 3, "count": 0, "df": 0, "special": true}\n'
                          b'{"token": "a", "id": 4, "count": 1, "df": 1}\n')})))
    # import of an endless device: read whole into memory (until the memory cap); a binary header, then a
    # word that never ends
    for device in ("/dev/zero", "/dev/urandom"):
        cases.append(Case("hostile vectors file (session 15)", ["import", device, "-o", "{T}/out.npz"], (1,),
                          names=device, output="{T}/out.npz", timeout=60))
    cases.append(Case("hostile vectors file (session 15)", ["import", "{T}/endless-word.bin", "--format",
                                                           "word2vec-binary", "-o", "{T}/out.npz"], (1,),
                      names="endless-word.bin", output="{T}/out.npz",
                      setup=_files_in_tmp({"endless-word.bin": b"3 4\n" + b"a" * (3 << 20)})))
    # two inputs on standard input: the second found it empty (an empty output, silently) or misread the other's
    lm, w = MODELS["lm"], MODELS["w"]
    for args, stdin in ((["evaluate", "-", "--analogies", "-"], b"@w"), (["bow", "--vocab", "-"], b"the cat\n"),
                        (["phrases", "-", "--table", "-"], b"the cat\n"), (["sample", "-", "--prompts", "-"], b"@lm"),
                        (["export", "-", "--words", "-"], b"@w"), (["neighbors", "-"], b"@w"),
                        (["plot", "forecast", "--history", "-"], b"{}\n"),
                        (["w2v-train", "--vocab", "-", "-o", "{T}/out.npz"], b"the cat\n")):
        cases.append(Case("stdin read twice (session 15)", args, (2,), stdin=stdin, names="standard input"))
    cases += [Case("stdin read twice (session 15)", ["neighbors", "-", "the"], (0,), stdin=b"@w"),
              Case("stdin read twice (session 15)", ["sample", "-", "--length", "3"], (0,), stdin=b"@lm"),
              Case("stdin read twice (session 15)", ["export", w, "--words", "-"], (0,), stdin=b"the\n"),
              Case("stdin read twice (session 15)", ["sample", lm, "--prompts", "-", "--length", "3"], (0,),
                   stdin=b"It is\n")]
    # a word2vec text file with a byte-order mark: its header was read as a GloVe line (words 'a 1 2' of one
    # dimension, silently); the probe checks the status, the test the words
    cases.append(Case("hostile vectors file (session 15)", ["import", "{T}/bom.txt", "-o", "{T}/out.npz"], (0,),
                      output="{T}/out.npz",
                      setup=_files_in_tmp({"bom.txt": b"\xef\xbb\xbf2 3\na 1 2 3\nb 4 5 6\n"})))
    # a classifier reading its own label: --text-field and --label-field on one field
    for args in (["rnn-train", "--task", "classify", "{W}/g.jsonl", "--text-field", "label", "-o", "{T}/out.npz",
                  *TINY], ["evaluate", MODELS["clf"], "{W}/g.jsonl", "--text-field", "label"]):
        cases.append(Case("conflicting options (session 15)", args, (2,), names="--text-field"))
    # RNNTOOLS_DEBUG: "false"/"no"/"off" showed tracebacks; "abc" was a usage error naming --debug
    for value, expect, names in (("false", (1,), "missing.txt"), ("no", (1,), "missing.txt"),
                                 ("off", (1,), "missing.txt"), ("abc", (2,), "RNNTOOLS_DEBUG")):
        cases.append(Case("odd environment (session 15)", ["vocab", "{T}/missing.txt"], expect, names=names,
                          env={"RNNTOOLS_DEBUG": value}))
    return cases


def _tampered_in_tmp(model: str, edit):
    """A setup that writes a copy of the world's MODEL with its metadata edited (``edit(meta)``) as {T}/m.npz."""
    def setup(tmp):
        _tamper(os.path.join(_STATE["world"], model), os.path.join(tmp, "m.npz"), edit)
    return setup


def _zip_in_tmp(model: str, flags: int = 0, method: int | None = None, lzma_flip: bool = False):
    """A setup that writes a copy of the world's MODEL as {T}/m.npz whose zip entries claim encryption (flag
    bit 0) or another compression method, or are LZMA-compressed with two bytes flipped."""
    import struct

    def setup(tmp):
        src, dst = os.path.join(_STATE["world"], model), os.path.join(tmp, "m.npz")
        if lzma_flip:
            with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_LZMA) as out:
                for name in z.namelist():
                    out.writestr(name, z.read(name))
            data = bytearray(open(dst, "rb").read())
            data[300] ^= 0x55
            data[301] ^= 0x55
        else:
            data = bytearray(open(src, "rb").read())
            for magic, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
                i = data.find(magic)
                while i >= 0:
                    struct.pack_into("<H", data, i + flag_at, struct.unpack_from("<H", data, i + flag_at)[0] | flags)
                    if method is not None:
                        struct.pack_into("<H", data, i + method_at, method)
                    i = data.find(magic, i + 4)
        with open(dst, "wb") as f:
            f.write(bytes(data))
    return setup


def _copy_in_tmp(names: dict):
    """A setup that copies world files into the case's folder (new name -> world name)."""
    def setup(tmp):
        for new, old in names.items():
            shutil.copyfile(os.path.join(_STATE["world"], old), os.path.join(tmp, new))
    return setup


def session16_cases() -> list[Case]:
    """What hand probing found after the probe passed everything: each case is a bug that was fixed
    (docs/reliability.md, the section of the `session16` group)."""
    import gzip
    import lzma

    cases = []
    # a classifier's temperature from tampered metadata: NaN/Infinity were read (every probability null, exit
    # 0), 0 divided by zero (a raw RuntimeWarning), -1 turned the probabilities upside down, "x" was an
    # internal error
    for value in (float("nan"), float("inf"), 0, -1.0, "x"):
        cases.append(Case("tampered model meta (session 16)", ["predict", "{T}/m.npz"], (1,), names="m.npz",
                          stdin=b'{"text": "a cat"}\n',
                          setup=_tampered_in_tmp("clf.npz", lambda m, v=value: m.update(temperature=v))))
    cases.append(Case("tampered model meta (session 16)", ["sample", "{T}/m.npz", "--length", "3"], (1,),
                      names="m.npz",
                      setup=_tampered_in_tmp("lm.npz", lambda m: m.update(chars_per_token=float("nan")))))
    # zip entries zipfile cannot read: encrypted (RuntimeError), an unknown compression method
    # (NotImplementedError), corrupt LZMA data (LZMAError): internal errors
    for setup in (_zip_in_tmp("lm.npz", flags=1), _zip_in_tmp("lm.npz", method=99),
                  _zip_in_tmp("lm.npz", lzma_flip=True)):
        for args in (["sample", "{T}/m.npz", "--length", "3"], ["predict", "{T}/m.npz", "{W}/docs.txt"]):
            cases.append(Case("bad model file (session 16)", args, (1,), names="m.npz", setup=setup))
    # import of a corrupt .gz (zlib.error) or .xz (LZMAError): internal errors
    text = "".join(f"w{i} {i} {i * 2} {i * 3}\n" for i in range(2000)).encode()
    bad_gz, bad_xz = bytearray(gzip.compress(text)), bytearray(lzma.compress(text))
    for data, at in ((bad_gz, 20), (bad_xz, len(bad_xz) // 2)):
        data[at] ^= 0x55
        data[at + 1] ^= 0x55
    for name, data in (("v.txt.gz", bad_gz), ("v.txt.xz", bad_xz)):
        cases.append(Case("hostile vectors file (session 16)", ["import", "{T}/" + name, "-o", "{T}/out.npz"], (1,),
                          names=name, output="{T}/out.npz", setup=_files_in_tmp({name: bytes(data)})))
    # wordsim353's combined.tab starts with a header line: was an error
    cases.append(Case("hostile side file (session 16)", ["evaluate", MODELS["w"], "--similarity", "{T}/ws.tab"], (0,),
                      setup=_files_in_tmp({"ws.tab": b"Word 1\tWord 2\tHuman (mean)\nthe\tand\t1\nof\tto\t5\n"})))
    # phrases --save-table: "" was exit 0 with no table, "-" mixed the table into the text, /dev/full named no file
    ny = {"ny.txt": b"new york is big and new york is old\n" * 30}
    phrases = ["phrases", "{T}/ny.txt", "--min-count", "1", "--threshold", "0.1"]
    for table, expect, names in (("", (2,), "empty"), ("-", (2,), "standard output"), ("/dev/full", (1,), "/dev/full")):
        cases.append(Case("odd output path (session 16)", [*phrases, "--save-table", table], expect, names=names,
                          setup=_files_in_tmp(ny)))
    for args in (["vocab", "{W}/docs.txt", "-o", "/dev/full"], ["sample", MODELS["lm"], "--length", "5", "-o",
                                                                  "/dev/full"]):
        cases.append(Case("odd output path (session 16)", args, (1,), names="/dev/full"))
    # an output that is an input under another name: `bow FILE >> FILE` grew FILE for as long as it ran,
    # `-o /dev/stdin < FILE` replaced FILE, `-o /proc/self/fd/0` too
    copies = _copy_in_tmp({"d.txt": "docs.txt", "m.npz": "lm.npz"})
    for args, stdin, stdout in ((["bow", "--vocab", "{W}/v.jsonl", "{T}/d.txt"], b"", "file:{T}/d.txt"),
                                (["bow", "--vocab", "{W}/v.jsonl"], "file:{T}/d.txt", "file:{T}/d.txt"),
                                (["vocab", "{T}/d.txt"], b"", "file:{T}/d.txt"),
                                (["predict", "{T}/m.npz", "{W}/docs.txt"], b"", "file:{T}/m.npz"),
                                (["vocab", "-", "-o", "/dev/stdin"], "file:{T}/d.txt", "pipe"),
                                (["vocab", "-", "-o", "/proc/self/fd/0"], "file:{T}/d.txt", "pipe")):
        cases.append(Case("output onto an input (session 16)", args, (2,), stdin=stdin, stdout=stdout,
                          names="input", setup=copies, timeout=60))
    cases.append(Case("output onto an input (session 16)", ["vocab", "{W}/docs.txt"], (0,),
                      stdout="file:{T}/out.jsonl", setup=copies))
    # the word-level LM's "unknown" error blamed a --vocab that was not given
    cases.append(Case("hostile text file (session 16)", ["rnn-train", "--task", "lm", "--level", "word", "{T}/u.txt",
                                                          "-o", "{T}/out.npz", *TINY], (1,), names="--min-count",
                      setup=_files_in_tmp({"u.txt": "héllo wörld\n".encode()}), output="{T}/out.npz"))
    # an option value that is the text "--debug" turned tracebacks on; an escaped surrogate pair was refused
    cases.append(Case("absurd option value (session 16)", ["sample", "{T}/m.npz", "--prime", "--debug"], (1,),
                      names="m.npz", setup=_tampered_in_tmp("lm.npz", lambda m: m.update(format_version=0))))
    cases.append(Case("absurd option value (session 16)", ["sample", MODELS["lm"], "--prime", "\\ud83d\\ude00",
                                                           "--length", "3"], (0,)))
    # plot forecast of hand-written records: a forecast that is a string, empty, of booleans, near the float
    # limits, or a "level" that is not a number were internal errors
    for record in (b'{"id": "a", "forecast": "x"}', b'{"id": "a", "forecast": []}',
                   b'{"id": "a", "forecast": [true, false]}', b'{"id": "a", "forecast": [1e308, -1e308]}',
                   b'{"id": "a", "forecast": [1, 2], "lower": [0, 1], "upper": [2, 3], "level": "x"}',
                   b'{"id": "a", "forecast": [1, 2], "lower": [0], "upper": [2, 3, 4]}'):
        cases.append(Case("hostile JSONL (session 16)", ["plot", "forecast", "{T}/f.jsonl"], (1,), names="f.jsonl:1",
                          setup=_files_in_tmp({"f.jsonl": record + b"\n"})))
    return cases


def _cr_only_in_tmp(name: str, new: str):
    """A setup that writes the world's NAME with its line ends turned into carriage returns alone as {T}/NEW."""
    def setup(tmp):
        with open(os.path.join(_STATE["world"], name), "rb") as f, open(os.path.join(tmp, new), "wb") as out:
            out.write(f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    return setup


def session17_cases() -> list[Case]:
    """What hand probing found in session 17: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 17")."""
    cases = []
    out = ["-o", "{T}/out.npz"]
    # numba's debugging switch: training was an internal error (an intrinsic "not usable in pure-python");
    # a NUMBA_* value numba cannot parse was its warning with its parser's traceback
    for args in (["rnn-train", "--task", "lm", "{W}/book.txt", *out, *TINY], ["predict", MODELS["clf"], "{W}/g.jsonl"],
                 ["vocab", "{W}/docs.txt"]):
        cases.append(Case("odd environment (session 17)", args, (2,), names="NUMBA_DISABLE_JIT",
                          env={"NUMBA_DISABLE_JIT": "1"}, output="{T}/out.npz" if "-o" in args else None))
    for env in ({"NUMBA_OPT": "x"}, {"NUMBA_DISABLE_JIT": "yes"}, {"NUMBA_BOUNDSCHECK": "x"}):
        cases.append(Case("odd environment (session 17)", ["predict", MODELS["lm"], "{W}/docs.txt"], (0,), env=env))
    # vocab --merge of one file twice doubled every count
    cases.append(Case("hostile side file (session 17)", ["vocab", "--merge", "{W}/v.jsonl", "{W}/v.jsonl"], (2,),
                      names="twice"))
    cases.append(Case("hostile side file (session 17)", ["vocab", "--merge", "{W}/v.jsonl", "{T}/v.jsonl"], (0,),
                      setup=_copy_in_tmp({"v.jsonl": "v.jsonl"})))
    # --covariates that name nothing trained without covariates; the target as one was "not a value column"
    fc = ["rnn-train", "--task", "forecast", "{W}/air.csv", *out, *TINY]
    for value, names in ((",", "--covariates"), ("", "--covariates"), ("a,,b", "--covariates"),
                         ("passengers", "target")):
        cases.append(Case("absurd option value (session 17)", [*fc, "--covariates", value], (2,), names=names,
                          output="{T}/out.npz"))
    # plot confusion drew negative, fractional, string and boolean counts
    for matrix in ("[[1, -4], [0, 2]]", "[[1.5, 0], [0, 2]]", '[["3", 0], [0, 2]]', "[[true, 0], [0, 2]]"):
        cases.append(Case("hostile side file (session 17)", ["plot", "confusion"], (1,), names="whole numbers",
                          stdin=('{"labels": ["a", "b"], "confusion": ' + matrix + "}\n").encode()))
    # a group's subcommand was named as the group in its errors
    cases.append(Case("odd output path (session 17)", ["plot", "log", "{T}/missing.jsonl", "-o", "{T}/x.xyz"], (1,),
                      names="rnntools plot log: error"))
    # CSV with carriage returns alone as line ends: "not a readable CSV line" at line 1
    for args in (["predict", MODELS["fc"], "{T}/cr.csv"], ["rnn-train", "--task", "forecast", "{T}/cr.csv", *out,
                                                           *TINY]):
        cases.append(Case("hostile CSV (session 17)", args, (0,), setup=_cr_only_in_tmp("air.csv", "cr.csv"),
                          output="{T}/out.npz" if "-o" in args else None))
    # plot words with a --width narrower than a word: internal error (IndexError)
    for width in ("1", "3"):
        cases.append(Case("absurd option value (session 17)", ["plot", "words", MODELS["w"], "--width", width,
                                                                "--height", "5"], (0,)))
    # w2v-train --sample 1e308: numpy's overflow warning, raw
    cases.append(Case("extreme finite numbers (session 17)", ["w2v-train", "{W}/corpus.txt", *out, "--min-count", "1",
                                                               "--epochs", "1", "--dim", "8", "--threads", "1",
                                                               "--sample", "1e308"], (0,), output="{T}/out.npz"))
    # an empty --text-field of vocab, bow, neighbors: plain text read as JSONL ("invalid JSON")
    for args in (["vocab"], ["bow", "--vocab", "{W}/v.jsonl"], ["neighbors", MODELS["w"], "--input"]):
        cases.append(Case("absurd option value (session 17)", [*args, "{W}/docs.txt", "--text-field", ""], (2,),
                          names="--text-field"))
    # neighbors with queries as arguments and --text-field or --input: ignored, silently
    for extra in (["--text-field", "q"], ["--input", "{W}/docs.txt"]):
        cases.append(Case("absurd option value (session 17)", ["neighbors", MODELS["w"], "the", *extra], (2,),
                          names="arguments"))
    # a vocabulary header with "documents": "x" (Python's int() message) or "lowercase": "no" (read as true)
    head = '{"format": "rnntools-vocab", "version": 1, "level": "word", '
    for entry, names in (('"documents": "x"', "documents"), ('"lowercase": "no"', "lowercase")):
        text = head + entry + '}\n{"token": "the", "count": 2}\n'
        cases.append(Case("hostile side file (session 17)", ["bow", "--vocab", "{T}/v.jsonl", "{W}/docs.txt"], (1,),
                          names=names, setup=_files_in_tmp({"v.jsonl": text.encode()})))
    # a model file where text belongs: "invalid UTF-8 ...; or pass --encoding-errors replace"
    for args in (["bow", "--vocab", MODELS["lm"], "{W}/docs.txt"], ["vocab", MODELS["w"]],
                 ["sample", MODELS["lm"], "--prompts", MODELS["clf"]]):
        cases.append(Case("foreign file kind (session 17)", args, (1,), names="not a text file"))
    # the training log or standard output on a full device: "no space left on device" naming no file
    cases.append(Case("odd output path (session 17)", ["rnn-train", "--task", "lm", "{W}/book.txt", *out, *TINY,
                                                       "--log", "/dev/full"], (1,), names="/dev/full: cannot write"))
    for args in (["vocab", "{W}/docs.txt"], ["plot", "words", MODELS["w"]]):
        cases.append(Case("stdout is /dev/full (session 17)", args, (1,), stdout="file:/dev/full",
                          names="standard output: cannot write"))
    # a signal while `--scheduler local:2` starts its cluster: distributed's atexit traceback
    for sig, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        cases.append(Case(f"{signal.Signals(sig).name} during vocab (session 17)",
                          ["vocab", "{W}/corpus.txt", "--scheduler", "local:2", "-o", "{T}/out.jsonl"], (status, 0),
                          signal=sig, delay=0.5, output="{T}/out.jsonl", timeout=120))
    # a file name that is not UTF-8 was shown as \udcff
    cases.append(Case("odd output path (session 17)", ["vocab", "{T}/\udcff.txt"], (1,), names=r"\\xff"))
    cases.append(Case("odd output path (session 17)", ["vocab", "{W}/docs.txt", "-o", "{T}/\udcff/out.jsonl"], (1,),
                      names=r"\\xff/"))
    return cases


def _vectors_scaled_in_tmp(rows: dict):
    """A setup that writes a copy of the world's vectors as {T}/m.npz with these rows (row -> factor) scaled."""
    def setup(tmp):
        import numpy as np

        with np.load(os.path.join(_STATE["world"], "w.npz"), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        for row, factor in rows.items():
            arrays["vectors"][row] *= np.float32(factor)
        np.savez(os.path.join(tmp, "m.npz"), **arrays)
    return setup


def session18_cases() -> list[Case]:
    """What hand probing found in session 18: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 18")."""
    cases = []
    # plot log of a hand-edited or foreign log: KeyError, ValueError, TypeError, matplotlib's overflow warnings
    start = '{"event": "start", "step": 0}\n'
    for event in ('{"event": "eval", "val_loss": 2}', '{"event": "eval", "step": "x", "val_loss": 2}',
                  '{"event": "step", "step": 1, "loss": "x"}', '{"event": "step", "step": 1, "loss": {"a": 1}}',
                  '{"event": "eval", "step": 1, "val_loss": 1e308}', '{"event": "progress", "words": "x", "loss": 1}'):
        for out in ([], ["-o", "{T}/x.png"]):
            cases.append(Case("hostile side file (session 18)", ["plot", "log", "{T}/log.jsonl", *out], (1,),
                              names="log.jsonl:2", setup=_files_in_tmp({"log.jsonl": (start + event + "\n").encode()})))
    # a value drawn that is not one: true as 1
    cases.append(Case("hostile side file (session 18)", ["plot", "log", "{T}/log.jsonl"], (1,), names="log.jsonl:1",
                      setup=_files_in_tmp({"log.jsonl": b'{"event": "step", "step": 1, "loss": true}\n'})))
    # plot forecast: timestamps of another type or length (TypeError; one label per character), a 100% band
    for fields in ('"timestamps": 5', '"timestamps": "ab"', '"timestamps": ["2024-01"]', '"lower_100": [0, 1], '
                   '"upper_100": [2, 3]'):
        cases.append(Case("hostile JSONL (session 18)", ["plot", "forecast"], (1,), names="<stdin>:1",
                          stdin=('{"id": "a", "forecast": [1, 2], ' + fields + "}\n").encode()))
    # vectors beyond float32's squares: numpy's overflow warning, and the row became zeros
    for args in (["neighbors", "{T}/m.npz", "the", "in"], ["plot", "words", "{T}/m.npz"],
                 ["evaluate", "{T}/m.npz", "--analogies", "{W}/analogies.txt"]):
        cases.append(Case("extreme finite numbers (session 18)", args, (0,), setup=_vectors_scaled_in_tmp({5: 1e28})))
    # --embeddings of such vectors: a NaN loss after numpy's warnings
    cases.append(Case("extreme finite numbers (session 18)", ["rnn-train", "--task", "lm", "{W}/book.txt", "--level",
                                                              "word", "--embeddings", "{T}/m.npz", "-o",
                                                              "{T}/out.npz", *TINY], (1,), names="m.npz",
                      output="{T}/out.npz", setup=_vectors_scaled_in_tmp({5: 1e28})))
    # a character vocabulary without the line break blamed the text
    for extra in (["--min-count", "100000"], ["--max-vocab", "1"]):
        cases.append(Case("absurd option value (session 18)", ["rnn-train", "--task", "lm", "{W}/book.txt", *extra,
                                                               "-o", "{T}/out.npz", *TINY], (1,),
                          names="--min-count|--max-vocab", output="{T}/out.npz"))
    # --budget-average where no budget schedule runs was ignored, silently
    for extra in (["--max-steps", "3", "--hidden", "8"], ["--hidden", "8"]):
        cases.append(Case("conflicting options (session 18)", ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o",
                                                               "{T}/out.npz", "--threads", "1", "--budget-average",
                                                               "0.5", *extra], (2,), names="--budget-average",
                          output="{T}/out.npz"))
    # a series constant over its training stretch, then 1e100: float32 overflow (warnings, a NaN loss or a saved
    # model no command could load)
    jump = "\n".join(["month,value"] + [f"{2000 + t // 12}-{t % 12 + 1:02d},{0 if t < 110 else 1e100}"
                                       for t in range(120)]) + "\n"
    cases.append(Case("extreme finite numbers (session 18)", ["rnn-train", "--task", "forecast", "{T}/jump.csv", "-o",
                                                              "{T}/out.npz", *TINY], (0,), output="{T}/out.npz",
                      setup=_files_in_tmp({"jump.csv": jump.encode()})))
    # w2v-train spools the corpus in TMPDIR: a full one was "no space left on device", naming nothing
    cases.append(Case("full TMPDIR (session 18)", ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--dim", "8",
                                                   "--epochs", "1", "--min-count", "1", "--threads", "1"], (1,),
                      names="small", output="{T}/out.npz", env={"TMPDIR": "{T}/small"}, setup=_mount_tmpfs("4k"),
                      teardown=_umount))
    # a quoted CSV field spanning lines lost its line break ("new<LF>line" read as "newline"), silently; a
    # series too short to forecast makes the error quote its name
    quoted = "\n".join(["id,month,value"] + [f'"new\nline",2000-0{t + 1},{100 + t}' for t in range(3)]) + "\n"
    cases.append(Case("hostile CSV (session 18)", ["predict", MODELS["fc"], "{T}/q.csv"], (1,), names=r"new\\nline",
                      setup=_files_in_tmp({"q.csv": quoted.encode()})))
    return cases


def _vocab_tampered_in_tmp(model: str, key: str, index, value):
    """A setup that writes a copy of the world's MODEL as {T}/m.npz with one entry of its vocabulary (the
    source vocabulary of a seq2seq model) set to VALUE (``vocab[key][index]``, or ``vocab[key]`` for index None)."""
    def edit(meta):
        vocab = meta["source_vocab" if "source_vocab" in meta else "vocab"]
        if index is None:
            vocab[key] = value
        else:
            vocab[key][index] = value
    return _tampered_in_tmp(model, edit)


def session19_cases() -> list[Case]:
    """What hand probing found in session 19: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 19")."""
    cases = []
    # a model's vocabulary taken as it was: a token that is not a string (internal errors where it was used),
    # "lowercase": "no" (read as true), negative counts, a network's vocabulary without its special tokens
    # (a classifier's missing <unk> was an internal error)
    uses = {"lm.npz": (["sample", "{T}/m.npz", "--length", "3"], b""),
            "clf.npz": (["predict", "{T}/m.npz"], b'{"text": "a cat"}\n'),
            "s2s.npz": (["predict", "{T}/m.npz"], b'{"source": "abc"}\n'),
            "w.npz": (["neighbors", "{T}/m.npz", "the"], b"")}
    for model, (args, stdin) in uses.items():
        edits = [("tokens", 5, 17), ("tokens", 5, None), ("lowercase", None, "no")]
        edits += [("n_special", None, 0)] if model != "w.npz" else [("counts", 5, -7)]
        for key, index, value in edits:
            cases.append(Case("tampered model meta (session 19)", args, (1,), names="m.npz", stdin=stdin,
                              setup=_vocab_tampered_in_tmp(model, key, index, value)))
    # --resume took the saved counters and options as they were: internal errors once training started
    def at(path, value):
        def edit(meta):
            for key in path[:-1]:
                meta = meta[key]
            meta[path[-1]] = value
        return edit
    for model, task, data in (("lm.npz", "lm", "book.txt"), ("clf.npz", "classify", "g.jsonl"),
                              ("s2s.npz", "seq2seq", "p.jsonl"), ("fc.npz", "forecast", "air.csv")):
        for path, value in ((["training", "counters", "step"], "x"), (["training", "counters", "epoch"], -5),
                            (["config", "hidden"], "x"), (["config", "batch"], 0)):
            cases.append(Case("tampered model meta (session 19)", ["rnn-train", "--task", task, "{W}/" + data,
                                                                   "--resume", "{T}/m.npz", "-o", "{T}/out.npz",
                                                                   "--max-steps", "5", "--threads", "1"], (1,),
                              names="m.npz", output="{T}/out.npz", setup=_tampered_in_tmp(model, at(path, value))))
    # a classifier's pooling (an internal error), wide part ("x" read as words), text field (the input blamed)
    # and temperature (5e-324: numpy's overflow warning, raw) as they were saved
    for path, value in ((["config", "pooling"], "x"), (["config", "wide"], "x"), (["config", "text_field"], 5),
                        (["temperature"], 5e-324)):
        cases.append(Case("tampered model meta (session 19)", ["predict", "{T}/m.npz"], (1,), names="m.npz",
                          stdin=b'{"text": "a cat"}\n', setup=_tampered_in_tmp("clf.npz", at(path, value))))
    # plot confusion of labels that are objects, lists, twice, "1" beside 1, an accuracy of 7: drawn as they were
    for labels, extra in ((["a", {"x": 1}], ""), (["a", ["b"]], ""), (["a", "a"], ""), (["1", 1], ""),
                          (["a", "b"], ', "accuracy": 7')):
        summary = '{"labels": ' + json.dumps(labels) + ', "confusion": [[1, 0], [0, 1]]' + extra + "}\n"
        cases.append(Case("hostile side file (session 19)", ["plot", "confusion", "{T}/s.json"], (1,),
                          names="s.json:2", setup=_files_in_tmp({"s.json": ("\n" + summary).encode()})))
    return cases


def _forecaster_in_tmp(edit, network: bool = False):
    """A setup that writes a copy of the world's forecaster as {T}/m.npz with ``edit(meta, arrays)`` applied;
    ``network``: every series forecast by the network first (its interval table copied for it)."""
    def setup(tmp):
        import numpy as np

        with np.load(os.path.join(_STATE["world"], "fc.npz"), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
        if network:
            meta["selection"]["choice"] = {sid: "rnn" for sid in meta["series"]["ids"]}
            arrays["interval_q.rnn"] = arrays["interval_q"]
            meta["arrays"]["interval_q.rnn"] = meta["arrays"]["interval_q"]
        edit(meta, arrays)
        np.savez(os.path.join(tmp, "m.npz"), meta=np.array(json.dumps(meta)), **arrays)
    return setup


def _resumable_vectors_in_tmp(edit):
    """A setup that trains a small resumable vectors file and writes it as {T}/m.npz with ``edit(meta)``."""
    def setup(tmp):
        result = _run(_STATE["tree"], ["w2v-train", os.path.join(_STATE["world"], "corpus.txt"), "-o",
                                       os.path.join(tmp, "r.npz"), "--dim", "8", "--epochs", "1", "--min-count",
                                       "1", "--threads", "1", "--resumable"], cwd=tmp, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode()[-300:])
        _tamper(os.path.join(tmp, "r.npz"), os.path.join(tmp, "m.npz"), edit)
        os.remove(os.path.join(tmp, "r.npz"))
    return setup


def session20_cases() -> list[Case]:
    """What hand probing found in session 20: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 20")."""
    cases = []

    def at(path, value):
        def edit(meta, arrays=None):
            for key in path[:-1]:
                meta = meta[key]
            meta[path[-1]] = value
        return edit

    # a forecaster's scalers, levels, tables, format and axis taken as saved: exit 0 with nonsense, or an
    # error blaming the input
    fc = [(at(["series", "scalers", 0, 1], v), True) for v in (0, -1, 1e308)]
    fc += [(at(["series", "scalers", 0, 0], 1e308), True), (at(["series", "scalers", 0, 2], 7), True),
           (at(["series", "scalers", 0, 3], -1e308), True),
           (lambda m, a: m["series"].update(ids=["x", "x"], scalers=m["series"]["scalers"] * 2), True),
           (lambda m, a: (a.pop("interval_q.rnn"), m["arrays"].pop("interval_q.rnn")), True)]
    fc += [(at(["levels"], v), False) for v in ([80, 80], [80, 200], [-5, 95], ["80", 95])]
    fc += [(at(["forecast_format"], 99), False), (lambda m, a: a.update(interval_q=-a["interval_q"]), False)]
    fc += [(at(["axis", k], v), False) for k, v in (("tz", "Mars/Olympus"), ("style", "x"), ("kind", "x"),
                                                     ("step", 0), ("month_end", "no"))]
    for edit, network in fc:
        cases.append(Case("tampered model meta (session 20)", ["predict", "{T}/m.npz", "{W}/air.csv"], (1,),
                          names="m.npz", setup=_forecaster_in_tmp(edit, network)))
    # seq2seq entries taken as saved: a bidirectional file decoded without its backward encoder, "no" read as
    # true, a source field of 7 blamed the input, a level that is not the vocabulary's
    for path, value in ((["model", "bidirectional"], False), (["model", "bidirectional"], "no"),
                        (["max_target"], "5"), (["data", "source_field"], 7), (["data", "source_field"], ""),
                        (["data"], 5), (["config", "target_level"], "nonsense"), (["source_vocab", "level"], "word")):
        cases.append(Case("tampered model meta (session 20)", ["predict", "{T}/m.npz"], (1,), names="m.npz",
                          stdin=b'{"source": "abc"}\n', setup=_tampered_in_tmp("s2s.npz", at(path, value))))
    # a classifier saved as "char" beside a word vocabulary, an LM's vocabulary marked word-level
    for model, path, value, args, stdin in (
            ("clf.npz", ["config", "level"], "char", ["predict", "{T}/m.npz"], b'{"text": "a cat"}\n'),
            ("clf.npz", ["config", "bidirectional"], "no", ["predict", "{T}/m.npz"], b'{"text": "a cat"}\n'),
            ("lm.npz", ["vocab", "level"], "word", ["predict", "{T}/m.npz"], b"the cat\n"),
            ("lm.npz", ["config", "level"], "word", ["sample", "{T}/m.npz", "--length", "3"], b"")):
        cases.append(Case("tampered model meta (session 20)", args, (1,), names="m.npz", stdin=stdin,
                          setup=_tampered_in_tmp(model, at(path, value))))
    # a forecaster's saved options used as they were: another baseline silently, or a usage error naming an option
    # nobody gave
    for path, value in ((["config", "difference"], "x"), (["config", "level_input"], "no"),
                        (["config", "covariates"], 5), (["config", "target"], 5), (["config", "freq"], "x")):
        cases.append(Case("tampered model meta (session 20)", ["predict", "{T}/m.npz", "{W}/air.csv"], (1,),
                          names="m.npz", setup=_forecaster_in_tmp(at(path, value))))
    # w2v-train --resume of an edited file: internal errors, numba's typing error, or trained as it was
    for path, value in ((["config", "dim"], 16), (["config", "window"], 0), (["config", "negative"], -1),
                        (["config", "share_negatives"], "no"), (["config", "min_alpha"], 5),
                        (["training", "epochs_done"], "x")):
        cases.append(Case("tampered model meta (session 20)", ["w2v-train", "{W}/corpus.txt", "--resume",
                                                               "{T}/m.npz", "-o", "{T}/out.npz", "--epochs", "3",
                                                               "--threads", "1"], (1,), names="m.npz",
                          output="{T}/out.npz", setup=_resumable_vectors_in_tmp(at(path, value))))
    # messages that named the wrong thing: \udce9 for a byte, --label-field for a missing tab, no line
    cases.append(Case("hostile input (session 20)", ["sample", "{W}/lm.npz", "--prime", "caf\udce9", "--length", "3"],
                      (2,), names=r"caf\\xe9|x^"))
    cases.append(Case("hostile input (session 20)", ["evaluate", "{W}/clf.npz"], (1,), stdin=b"noun.x a cat\n",
                      names=r"label<TAB>text|x^"))
    cases.append(Case("hostile input (session 20)", ["evaluate", "{W}/w.npz", "--analogies", "{T}/a.txt"], (1,),
                      names="a.txt:2", setup=_files_in_tmp({"a.txt": b": s\nthe cat sat on mat\n"})))
    # UTF-16 without a byte-order mark read as letters split at NULs (exit 0); with one, "invalid UTF-8 at byte 0"
    for encoding in ("utf-16-le", "utf-16-be", "utf-16", "utf-32"):
        text = "the cat sat\nthe dog ran\n".encode(encoding) * 20
        for args in (["vocab", "{T}/t.txt"], ["rnn-train", "--task", "lm", "{T}/t.txt", "-o", "{T}/out.npz", *TINY]):
            cases.append(Case("other encodings (session 20)", args, (1,),
                              names=r"t\.txt:1: .*UTF-(16|32)|UTF-16(LE|BE) text",
                              setup=_files_in_tmp({"t.txt": text})))
    return cases


def _char_vocab(tokens: list[str]) -> bytes:
    """A character vocabulary file as `rnntools vocab --level char` writes it, with TOKENS after the specials."""
    records = [{"format": "rnntools-vocab", "version": 1, "level": "char", "lowercase": False,
                "size": 4 + len(tokens), "specials": 4}]
    for i, token in enumerate(["<pad>", "<unk>", "<s>", "</s>", *tokens]):
        records.append({"token": token, "id": i, "count": 0 if i < 4 else 3, "df": 0 if i < 4 else 1,
                        **({"special": True} if i < 4 else {})})
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def session21_cases() -> list[Case]:
    """What hand probing found in session 21: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 21")."""
    cases = []
    # a character vocabulary holding "th": trained rows no text reaches, sampled "th" as one character (exit 0)
    cv = _char_vocab(["\n", " ", "e", "t", "th", "a"])
    out = ["-o", "{T}/out.npz", *TINY]
    for args in (["rnn-train", "--task", "lm", "{W}/book.txt", "--vocab", "{T}/cv.jsonl", *out],
                 ["rnn-train", "--task", "classify", "--level", "char", "{W}/g.jsonl", "--vocab", "{T}/cv.jsonl", *out],
                 ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "--vocab", "{T}/cv.jsonl", *out],
                 ["bow", "--vocab", "{T}/cv.jsonl", "{W}/docs.txt"]):
        cases.append(Case("char vocabulary with longer tokens (session 21)", args, (1,),
                          names=r"cv\.jsonl:10: a character-level vocabulary .*'th' of 2 characters|x^",
                          setup=_files_in_tmp({"cv.jsonl": cv})))

    def longer(key):
        def edit(meta):
            meta[key]["tokens"][6] = "th"
        return edit

    cases.append(Case("char vocabulary with longer tokens (session 21)", ["sample", "{T}/m.npz", "--length", "3"],
                      (1,), names=r"m\.npz: corrupt .*'th' of 2 characters|x^",
                      setup=_tampered_in_tmp("lm.npz", longer("vocab"))))
    cases.append(Case("char vocabulary with longer tokens (session 21)", ["predict", "{T}/m.npz"], (1,),
                      stdin=b'{"source": "abc"}\n', names=r"m\.npz: corrupt .*'th' of 2 characters|x^",
                      setup=_tampered_in_tmp("s2s.npz", longer("source_vocab"))))

    # a forecaster's interval table edited to half-widths of 1e300 scales: bands of +-3e301, exit 0
    def wide(which):
        def edit(meta, arrays):
            name = "interval_q" if which == "interval_q" else f"interval_q.{meta['selection']['default']}"
            arrays[name] = arrays[name] * 0 + 1e300
        return edit

    for which in ("interval_q", "chosen"):
        cases.append(Case("tampered model meta (session 21)", ["predict", "{T}/m.npz", "{W}/air.csv"], (1,),
                          names=r"m\.npz: corrupt .*half-width of 1e\+300|x^", setup=_forecaster_in_tmp(wide(which))))
    # 990,000 levels: the error quoted them all (cut to 2,000 characters)
    cases.append(Case("tampered model meta (session 21)", ["predict", "{T}/m.npz", "{W}/air.csv"], (1,),
                      names=r"m\.npz: corrupt .*levels \(a list of 990000\) names a level twice|x^",
                      setup=_forecaster_in_tmp(lambda m, a: m.update(levels=list(range(1, 100)) * 10_000))))
    # a forecaster trained onto a 64 KiB disk: its network saved, the whole model not; the message promised the
    # user's previous file
    cases.append(Case("disk full (session 21)", ["rnn-train", "--task", "forecast", "{W}/air.csv", "-o",
                                                 "{T}/small/out.npz", *TINY], (1,),
                      names="keeps what this run saved there before", setup=_mount_tmpfs("64k"), teardown=_umount))
    # phrases under a file-size limit named w2v-train's temporary copy; EMFILE named a library's module
    cases.append(Case("resource limits (session 21)", ["phrases", "{W}/corpus.txt", "-o", "{T}/out.txt"], (1,),
                      names=r"^rnntools phrases: error: \S+: cannot write the temporary copy of the corpus|x^",
                      limits={resource.RLIMIT_FSIZE: 8192}))
    cases.append(Case("resource limits (session 21)", ["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/p.png"],
                      (0, 1), names=r"too many open files \(the limit on open files, `ulimit -n`, is 5|x^",
                      limits={resource.RLIMIT_NOFILE: 5}))
    return cases


def _word_vocab(tokens: list[str], documents: int = 2, dfs: dict | None = None) -> bytes:
    """A word vocabulary file as `rnntools vocab` writes it, with TOKENS after the specials."""
    records = [{"format": "rnntools-vocab", "version": 1, "level": "word", "lowercase": True,
                "documents": documents, "size": 4 + len(tokens), "specials": 4}]
    for i, token in enumerate(["<pad>", "<unk>", "<s>", "</s>", *tokens]):
        records.append({"token": token, "id": i, "count": 0 if i < 4 else 3,
                        "df": 0 if i < 4 else (dfs or {}).get(token, 1), **({"special": True} if i < 4 else {})})
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


# held at the import of one module (after saying so in a file), so that a signal arrives while the command's
# modules are being imported, whatever the machine's speed
_SLOW_IMPORT = """
import os, sys, time

class SlowImport:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ.get("RNNTOOLS_PROBE_SLOW_IMPORT"):
            sys.meta_path.remove(self)
            open(os.environ["RNNTOOLS_PROBE_IMPORTING"], "w").close()
            time.sleep(60)
        return None

sys.meta_path.insert(0, SlowImport())
"""


def session22_cases() -> list[Case]:
    """What hand probing found in session 22: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 22")."""
    cases = []
    out = ["-o", "{T}/out.npz", *TINY]
    # a word vocabulary holding tokens no text is split into: rows and columns no text reaches, exit 0
    for token in ("the cat", "The", "a\nb", "hello!"):
        vocab = _word_vocab(["the", "dog", token, "cat"])
        for args in (["bow", "--vocab", "{T}/v.jsonl", "{W}/docs.txt"],
                     ["rnn-train", "--task", "lm", "--level", "word", "{W}/book.txt", "--vocab", "{T}/v.jsonl", *out],
                     ["rnn-train", "--task", "classify", "{W}/g.jsonl", "--vocab", "{T}/v.jsonl", *out],
                     ["w2v-train", "{W}/corpus.txt", "--vocab", "{T}/v.jsonl", "-o", "{T}/out.npz", "--dim", "4",
                      "--epochs", "1", "--threads", "1"]):
            cases.append(Case("word vocabulary with tokens no text reaches (session 22)", args, (1,),
                              names=r"v\.jsonl:8: a word-level vocabulary holds the token|x^",
                              output="{T}/out.npz" if "-o" in args else None,
                              setup=_files_in_tmp({"v.jsonl": vocab})))
    # a "df" above the header's "documents": tf-idf weights of -1.0; booleans as counts; a version "1"
    cases.append(Case("hostile side file (session 22)", ["bow", "--vocab", "{T}/v.jsonl", "--mode", "tfidf",
                                                         "{W}/docs.txt"], (1,),
                      names=r"v\.jsonl:6: the token 'the' has \"df\" 50, more than|x^",
                      setup=_files_in_tmp({"v.jsonl": _word_vocab(["the", "dog"], dfs={"the": 50})})))
    for old, new, names in (('"count": 3', '"count": true', r'v\.jsonl:6: "count" and "df" must'),
                            ('"version": 1', '"version": "1"', r'v\.jsonl:1: the header\'s "version" should be')):
        text = _word_vocab(["the", "dog"]).replace(old.encode(), new.encode(), 1 if "version" in old else 2)
        cases.append(Case("hostile side file (session 22)", ["bow", "--vocab", "{T}/v.jsonl", "{W}/docs.txt"], (1,),
                          names=names + "|x^", setup=_files_in_tmp({"v.jsonl": text})))
    # a token twice: "tokens must be unique", naming no line
    cases.append(Case("hostile side file (session 22)", ["bow", "--vocab", "{T}/v.jsonl", "{W}/docs.txt"], (1,),
                      names=r"v\.jsonl:8: the token 'the' appears again|x^",
                      setup=_files_in_tmp({"v.jsonl": _word_vocab(["the", "dog", "the"])})))
    # an output name ending in '/' (not yet a folder): a file of the name without the slash, exit 0
    for args in (["vocab", "{W}/docs.txt", "-o", "{T}/out/"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt",
                                                               "-o", "{T}/out/."],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out/", *TINY],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/m.npz", "--log", "{T}/out/", *TINY],
                 ["phrases", "{W}/docs.txt", "--save-table", "{T}/out/"],
                 ["predict", MODELS["clf"], "{W}/g.jsonl", "-o", "{T}/out/"]):
        cases.append(Case("odd output path (session 22)", args, (2,), output="{T}/out",
                          names=r"out/\.?: the name ends with '/'|x^"))
    # a training log that refuses opening for appending (its seek to the end): "error: Invalid argument"
    for args in (["rnn-train", "--task", "lm", "{W}/book.txt", *out],
                 ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--dim", "4", "--epochs", "1", "--threads", "1"]):
        cases.append(Case("odd output path (session 22)", [*args, "--log", "/proc/self/mem"], (1,),
                          output="{T}/out.npz", names=r"/proc/self/mem: cannot write the training log|x^"))
    # a file name that is not UTF-8 in an output record or the training log: an internal error
    # (UnicodeEncodeError) when written to a file
    sim = b"the\ta\t5\nof\tand\t3\nthe\tof\t2\n"
    for args, setup in ((["evaluate", "{T}/m\udcff.npz", "{W}/p.jsonl", "-o", "{T}/out.jsonl"],
                         _copy_in_tmp({"m\udcff.npz": "s2s.npz"})),
                        (["evaluate", MODELS["w"], "--similarity", "{T}/s\udcff.txt", "-o", "{T}/out.jsonl"],
                         _files_in_tmp({"s\udcff.txt": sim})),
                        (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/m\udcff.npz", "--log",
                          "{T}/out.jsonl", *TINY], None),
                        (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/m.npz", "--log", "{T}/l\udcff.jsonl",
                          *TINY], None)):
        cases.append(Case("file name not UTF-8 (session 22)", args, (0,), output="{T}/out.jsonl", setup=setup))
    # a signal while the command's modules are imported: killed silently by SIGTERM/SIGHUP, or a traceback
    for module in ("click", "rnntools.cli.common"):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            cases.append(Case(f"{signal.Signals(sig).name} during start-up (session 22)",
                              ["vocab", "{W}/docs.txt", "-o", "{T}/out.jsonl"], (128 + sig,), signal=sig,
                              signal_when="{T}/importing", output="{T}/out.jsonl",
                              setup=_files_in_tmp({"sitecustomize.py": _SLOW_IMPORT.encode()}),
                              env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_SLOW_IMPORT": module,
                                   "RNNTOOLS_PROBE_IMPORTING": "{T}/importing"}))
    return cases


def session23_cases() -> list[Case]:
    """What hand probing found in session 23: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 23")."""
    lm, w = MODELS["lm"], MODELS["w"]
    cases = []
    # standard streams another program left non-blocking: Python's file objects took the first empty moment of
    # the input for its end (exit 1, or exit 0 with nothing written) and dropped output that did not fit the
    # pipe (exit 0)
    for args, lines in ((["sample", lm, "--count", "3000", "--length", "60"], 3000),
                        (["phrases", "{W}/corpus.txt"], "{W}/corpus.txt"),
                        (["bow", "--vocab", "{W}/v.jsonl", "{W}/million.txt"], "{W}/million.txt"),
                        (["predict", lm, "{W}/book.txt"], "{W}/book.txt")):
        cases.append(Case("non-blocking stdout (session 23)", args, (0,), nonblocking="stdout", lines=lines,
                          timeout=150))
    text = b"the cat sat on the mat\n" * 3000
    for args, lines in ((["predict", lm], 3000), (["bow", "--vocab", "{W}/v.jsonl"], 3000), (["vocab"], None),
                        (["neighbors", w], 3000), (["rnn-train", "--task", "lm", "-o", "{T}/out.npz", *TINY], None)):
        cases.append(Case("non-blocking stdin (session 23)", args, (0,), stdin=text, nonblocking="stdin",
                          lines=lines, output="{T}/out.npz" if "-o" in args else None, timeout=150))
    # evaluate --backtest far beyond the data: a list of every fold number before the first fold's check (10**9:
    # 16 GB for minutes; 10**12: "out of memory; lower --hidden")
    for folds in ("1000000000", "1000000000000", "9007199254740992"):
        cases.append(Case("absurd option value (session 23)", ["evaluate", MODELS["fc"], "{W}/air.csv", "--backtest",
                                                               folds], (1,), names=r"at most --backtest \d+|x^",
                          timeout=60))
    # a classifier's saved seq_len, unchecked at loading: internal errors in predict, or every text cut to nothing
    for value in (None, "x", -1, 0, []):
        cases.append(Case("tampered model meta (session 23)", ["predict", "{T}/m.npz", "{W}/g.jsonl"], (1,),
                          names=r"m\.npz: corrupt classifier model file \(ValueError: seq_len is|x^",
                          setup=_tampered_in_tmp("clf.npz", lambda m, v=value: m["config"].update(seq_len=v))))
    # a classifier trained on JSONL's integer labels, resumed on `label<TAB>text` lines (whose labels are strings):
    # "the data has labels the model does not know ('1')", exit 2
    cases.append(Case("labels as text (session 23)", ["rnn-train", "--task", "classify", "{T}/more.tsv", "--resume",
                                                      "{T}/m.npz", "-o", "{T}/out.npz", *TINY], (0,),
                      output="{T}/out.npz", setup=_int_label_classifier, timeout=150))
    # an array's .npy header with its closing brace damaged: numpy's parser raised tokenize's TokenError
    for args in (["sample", "{T}/m.npz", "--length", "3"], ["predict", "{T}/m.npz", "{W}/docs.txt"]):
        cases.append(Case("bad model file (session 23)", args, (1,), names=r"m\.npz: corrupt model file|x^",
                          setup=_damaged_array_header))
    return cases


def _damaged_array_header(tmp):
    """A setup: {T}/m.npz, the world's language model with the '}' of its second .npy header made a space."""
    with open(os.path.join(_STATE["world"], "lm.npz"), "rb") as f:
        data = bytearray(f.read())
    start = data.index(b"\x93NUMPY", data.index(b"\x93NUMPY") + 1)
    brace = data.index(b"}", start)
    data[brace:brace + 1] = b" "
    with open(os.path.join(tmp, "m.npz"), "wb") as f:
        f.write(bytes(data))


def _int_label_classifier(tmp):
    """A setup: {T}/m.npz, a classifier trained on labels 1 and 2 (JSON integers), and {T}/more.tsv."""
    with open(os.path.join(tmp, "train.jsonl"), "w") as f:
        for i in range(20):
            f.write(json.dumps({"text": f"good fine word{i % 3}", "label": 1}) + "\n")
            f.write(json.dumps({"text": f"bad poor other{i % 3}", "label": 2}) + "\n")
    with open(os.path.join(tmp, "more.tsv"), "w") as f:
        f.write("1\tgood fine word1\n2\tbad poor other2\n" * 8)
    _run(_STATE["tree"], ["rnn-train", "--task", "classify", "train.jsonl", "-o", "m.npz", *TINY], cwd=tmp, timeout=300)


_SIGNAL_IN_HANDOVER = """import os, sys, signal, importlib.machinery

_SENT = []


class _SignalInKernelHandover:
    # a signal sent from inside llvmlite's ctypes callbacks, where numba is handed a compiled or cached kernel

    def find_spec(self, name, path=None, target=None):
        if name != "numba.core.codegen":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            lib = module.CPUCodeLibrary
            for hook_name in ("_object_compiled_hook", "_object_getbuffer_hook"):
                def hook(cls, *args, _original=lib.__dict__[hook_name].__func__, _name=hook_name):
                    if not _SENT:
                        _SENT.append(_name)
                        open(os.environ.get("RNNTOOLS_PROBE_HANDOVER", os.devnull), "w").write(_name)
                        os.kill(os.getpid(), int(os.environ["RNNTOOLS_PROBE_HANDOVER_SIGNAL"]))
                    return _original(cls, *args)
                setattr(lib, hook_name, classmethod(hook))

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("RNNTOOLS_PROBE_HANDOVER_SIGNAL"):
    sys.meta_path.insert(0, _SignalInKernelHandover())
"""


def session24_cases() -> list[Case]:
    """What hand probing found in session 24: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 24")."""
    cases = []
    # training counters beyond the updates done (an edited file): resumed as they were, saved again, exit 0
    for task, data, model in (("lm", "{W}/book.txt", "lm.npz"), ("classify", "{W}/g.jsonl", "clf.npz"),
                              ("seq2seq", "{W}/p.jsonl", "s2s.npz"), ("forecast", "{W}/air.csv", "fc.npz")):
        for counter, value in (("epoch", 10 ** 15), ("best_step", 10 ** 9)):
            cases.append(Case("resume from a tampered checkpoint (session 24)",
                              ["rnn-train", "--task", task, data, "--resume", "{T}/m.npz", "-o", "{T}/out.npz",
                               "--max-steps", "5", "--threads", "1"], (1,), output="{T}/out.npz",
                              names=rf"m\.npz: corrupt model file \(the training counter '{counter}' is|x^",
                              setup=_tampered_in_tmp(model, lambda m, c=counter, v=value: m["training"]["counters"]
                                                     .update({c: v}))))
    # a forecaster's saved training options, which evaluate's refits train with: internal errors, exit 0 with
    # a refit that climbed the loss, or a network list without end (ensemble 2**63, in predict too)
    for key, value in (("epochs", "x"), ("lr", "x"), ("lr", -1.0), ("epochs", 0), ("patience", []), ("clip", -5),
                       ("seed", -1), ("val_fraction", 3.0), ("optimizer", "sgd"), ("ensemble", 2 ** 63)):
        for args in (["evaluate", "{T}/m.npz", "{W}/air.csv", "--backtest", "1", "--max-time", "2"],
                     ["predict", "{T}/m.npz", "{W}/air.csv"]):
            if args[0] == "predict" and key not in ("ensemble", "optimizer", "epochs"):
                continue
            cases.append(Case("tampered model meta (session 24)", args, (1,),
                              names=rf"m\.npz: corrupt forecaster metadata \(ValueError: {key} is|x^", timeout=120,
                              setup=_forecaster_in_tmp(lambda m, a, k=key, v=value: m["config"].update({k: v}))))
    # more layers (networks) in the metadata than the file holds: random layers made up for the missing arrays,
    # exit 0, or (2**31 layers) memory taken until the machine ran out
    for model, args in (("lm.npz", ["sample", "{T}/m.npz", "--length", "5"]),
                        ("fc.npz", ["predict", "{T}/m.npz", "{W}/air.csv"])):
        for key, value in (("layers", 2), ("layers", 2 ** 31)) + ((("ensemble", 3),) if model == "fc.npz" else ()):
            cases.append(Case("tampered model meta (session 24)", args, (1,), timeout=120,
                              names=r"m\.npz: corrupt (language model|forecaster metadata) \(ValueError: .*(arrays|"
                                    r"layers)|x^",
                              setup=_tampered_in_tmp(model, lambda m, k=key, v=value: m["config"].update({k: v}))))
    # a signal while llvmlite hands a kernel to numba (a ctypes callback, where a KeyboardInterrupt is printed as
    # "Exception ignored" and dropped): w2v-train trained on to the end, exit 0
    for args, sig in ((["w2v-train", "{W}/corpus.txt", "--epochs", "3", "--min-count", "1", "-o", "{T}/out.npz"],
                       signal.SIGINT),
                      (["w2v-train", "{W}/corpus.txt", "--epochs", "3", "--min-count", "1", "-o", "{T}/out.npz"],
                       signal.SIGTERM),
                      (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--hidden", "8",
                        "--max-steps", "30", "--threads", "1"], signal.SIGINT),
                      (["predict", MODELS["clf"], "{W}/g.jsonl", "-o", "{T}/out.jsonl"], signal.SIGTERM)):
        cases.append(Case(f"{signal.Signals(sig).name} while a kernel loads (session 24)", args, (128 + sig,),
                          # (training saves what it has when interrupted: the output is not checked for absence)
                          output=None if args[0] == "rnn-train" else args[args.index("-o") + 1], timeout=120,
                          setup=_files_in_tmp({"sitecustomize.py": _SIGNAL_IN_HANDOVER.encode()}),
                          env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_HANDOVER_SIGNAL": str(int(sig))}))
    # /dev/null (or one terminal) as both standard input and output: "standard output and standard input are one
    # file", exit 2, for neighbors, whose --input defaults to standard input
    cases.append(Case("stdin and stdout on one device (session 24)", ["neighbors", MODELS["w"], "the"], (0,),
                      stdin="file:/dev/null", stdout="file:/dev/null"))
    # integer timestamps beyond int64 (documented as any size): an OverflowError in training
    big = "t,y\n" + "".join(f"{10 ** 30 + i},{100 + (i % 12) * 7 + i}\n" for i in range(72))
    for extra in ([], ["--season", "12"]):
        cases.append(Case("hostile CSV (session 24)", ["rnn-train", "--task", "forecast", "{T}/big.csv", "-o",
                                                       "{T}/out.npz", "--horizon", "4", *TINY, *extra], (0,),
                          output="{T}/out.npz", setup=_files_in_tmp({"big.csv": big.encode()})))
    # --resume on data with a label the model does not know: named neither the data file nor its line
    cases.append(Case("resume on other data (session 24)", ["rnn-train", "--task", "classify", "{T}/more.jsonl",
                                                            "--resume", MODELS["clf"], "-o", "{T}/out.npz", *TINY],
                      (2,), output="{T}/out.npz", names=r"more\.jsonl:2: cannot --resume|x^",
                      setup=_files_in_tmp({"more.jsonl": b'{"text": "a", "label": "noun.animal"}\n'
                                                         b'{"text": "b", "label": "nope"}\n'})))
    # two outputs on one stream under two names: a model and JSONL lines written into each other, exit 0
    book = "{W}/book.txt"
    for args in (["rnn-train", "--task", "lm", book, *TINY, "-o", "-", "--log", "/dev/stdout"],
                 ["rnn-train", "--task", "lm", book, *TINY, "-o", "/dev/stdout", "--log", "-"],
                 ["rnn-train", "--task", "lm", book, *TINY, "-o", "/dev/stderr", "--log", "/dev/stderr"],
                 ["w2v-train", "{W}/corpus.txt", "--epochs", "1", "-o", "/dev/fd/1", "--log", "/proc/self/fd/1"],
                 ["phrases", "{W}/corpus.txt", "--save-table", "/dev/stdout"]):
        for stdout in ("pipe", "file:{T}/stdout.bin"):
            cases.append(Case("two outputs on one stream (session 24)", args, (2,), stdout=stdout,
                              names="the same file is given for two outputs", lines=None))
    return cases


_SIGNAL_IN_STRING_EXEC = """import importlib.machinery, os, sys


class _SignalInGeneratedCode:
    # when the command's module is imported, a signal arrives while code run from a string executes (a dataclass's
    # generated __init__, a namedtuple's __new__): its KeyboardInterrupt leaves that exec and the import
    def find_spec(self, name, path=None, target=None):
        if name != os.environ.get("RNNTOOLS_PROBE_STRING_EXEC_MODULE"):
            return None
        sys.meta_path.remove(self)
        exec("os.kill(os.getpid(), int(os.environ['RNNTOOLS_PROBE_STRING_EXEC_SIGNAL']))\\n"
             "for _ in range(10 ** 7): pass", {"os": os})
        return None


if os.environ.get("RNNTOOLS_PROBE_STRING_EXEC_SIGNAL"):
    sys.meta_path.insert(0, _SignalInGeneratedCode())
"""


_SLOW_TEARDOWN = """import os, sys, time, types


class _SlowToFree:
    # freed while the interpreter tears its modules down at exit, after it has put the signals' default actions back
    # (what it uses is bound now: the builtins may be gone by then)
    def __del__(self, _open=open, _sleep=time.sleep, _path=os.environ.get("RNNTOOLS_PROBE_TEARDOWN")):
        _open(_path, "w").close()
        _sleep(3)


if os.environ.get("RNNTOOLS_PROBE_TEARDOWN"):
    sys.modules["_rnntools_probe_slow_to_free"] = types.ModuleType("_rnntools_probe_slow_to_free")
    sys.modules["_rnntools_probe_slow_to_free"].instance = _SlowToFree()
"""


def _text_vectors_with_a_cut_character() -> bytes:
    """word2vec text whose 4,096th byte after the header is the first byte of a three-byte character."""
    lines = [f"w{i} 0.25 -1.5 3\n" for i in range(600)]
    body = "".join(lines).encode()
    start = body[:4095].rfind(b"\n") + 1
    done = body[:4095].count(b"\n")
    cut = ("x" * (4095 - start) + "\u65e5\u672c 0.5 1.5 -2\n").encode()
    body = body[:start] + cut + "".join(lines[done + 1:]).encode()
    return b"%d 3\n" % body.count(b"\n") + body


def session25_cases() -> list[Case]:
    """What hand probing found in session 25: each case is a bug that was fixed (docs/reliability.md, "Found by
    hand in session 25")."""
    cases = []
    # a signal while code run from a string executes during the command's imports: "rnntools: interrupted", then
    # death by SIGINT (CPython ends a `python -m` program by SIGINT when a KeyboardInterrupt once left a string exec)
    for module in ("rnntools.cli.vocab", "rnntools.cli.w2v_train", "rnntools.cli.predict"):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            args = {"rnntools.cli.vocab": ["vocab", "{W}/book.txt", "-o", "{T}/out.jsonl"],
                    "rnntools.cli.w2v_train": ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz"],
                    "rnntools.cli.predict": ["predict", MODELS["lm"], "{W}/book.txt", "-o", "{T}/out.jsonl"]}[module]
            cases.append(Case(f"{signal.Signals(sig).name} in code run from a string (session 25)", args, (128 + sig,),
                              output=args[-1],
                              setup=_files_in_tmp({"sitecustomize.py": _SIGNAL_IN_STRING_EXEC.encode()}),
                              env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_STRING_EXEC_SIGNAL": str(int(sig)),
                                   "RNNTOOLS_PROBE_STRING_EXEC_MODULE": module}))
    # a signal while the interpreter tears itself down at exit (a Ctrl-C pressed twice during training, the second as
    # the interrupted run ends; or once as a finished run exits): killed by the signal, -2/-15/-1 to the parent
    for args in (["vocab", "{W}/book.txt", "-o", "{T}/out.jsonl"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY, "-o", "{T}/out.npz"],
                 ["predict", MODELS["clf"], "{W}/g.jsonl", "-o", "{T}/out.jsonl"]):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            cases.append(Case(f"{signal.Signals(sig).name} while the interpreter tears down (session 25)", args, (0,),
                              signal=sig, signal_when="{T}/teardown", output=args[-1],
                              setup=_files_in_tmp({"sitecustomize.py": _SLOW_TEARDOWN.encode()}),
                              env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_TEARDOWN": "{T}/teardown"}))
    # vectors text files taken for binary: a word with a control character str.split takes for a space, a character
    # cut by the 4,096-byte sample; a word with a tab read back as two fields joined by a space
    for data in (b"2 3\na\x0bb 1 2 3\nc\x0cd 4 5 6\n", b"2 3\na\x1cb 1 2 3\nc\x1fd 4 5 6\n",
                 _text_vectors_with_a_cut_character()):
        cases.append(Case("hostile vectors file (session 25)", ["import", "{T}/v.txt", "-o", "{T}/out.npz"], (0,),
                          output="{T}/out.npz", setup=_files_in_tmp({"v.txt": data})))
    cases.append(Case("hostile vectors file (session 25)", ["export", "{T}/v.npz"], (0,), says="^2 3\na\tb 1 2 3\n",
                      setup=_imported_vectors_in_tmp(b"2 3\na\tb 1 2 3\nc 4 5 6\n")))
    # (the cut character's file read as binary may import with exit 0: its vectors show it)
    cases.append(Case("hostile vectors file (session 25)", ["export", "{T}/v.npz"], (0,),
                      says="^600 3\nw0 0.25 -1.5 3\n",
                      setup=_imported_vectors_in_tmp(_text_vectors_with_a_cut_character())))
    # --help under python -OO: no summary, no examples
    for command in ([], ["vocab"], ["w2v-train"], ["plot"], ["plot", "log"], ["sample"]):
        cases.append(Case("help under python -OO (session 25)", [*command, "--help"], (0,), says=r"\n +rnntools [a-z]",
                          env={"PYTHONOPTIMIZE": "2"}))
    # a line of exactly --max-line-bytes: refused when a newline ended it
    for command in (["vocab"], ["phrases"], ["predict", MODELS["lm"]], ["bow", "--vocab", "{W}/v.jsonl"]):
        for data in (b"abcdefghij\n", b"ab\r\nabcdefghij\r\n"):
            max_bytes = "10" if command[0] != "bow" else "200"
            body = data if command[0] != "bow" else data.replace(b"abcdefghij", b"a" * 200)
            cases.append(Case("a line of exactly --max-line-bytes (session 25)",
                              [*command, "--max-line-bytes", max_bytes, "{T}/t.txt"], (0,),
                              setup=_files_in_tmp({"t.txt": body})))
    # empty trailing columns of a spreadsheet's CSV export: "column '' appears twice in the header"
    cases.append(Case("hostile CSV (session 25)", ["predict", MODELS["fc"], "{T}/a.csv"], (0,),
                      setup=_csv_with_trailing_commas))
    cases.append(Case("hostile CSV (session 25)", ["rnn-train", "--task", "forecast", "{T}/a.csv", "-o", "{T}/out.npz",
                                                   *TINY], (0,), output="{T}/out.npz", setup=_csv_with_trailing_commas))
    return cases


def _fifo_of(name: str):
    """A setup: {T}/fifo, a named pipe a forked writer fills with the world's file NAME (as `<(cat NAME)` does)."""
    def setup(tmp):
        path = os.path.join(tmp, "fifo")
        os.mkfifo(path)
        with open(os.path.join(_STATE["world"], name), "rb") as f:
            data = f.read()
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(path, os.O_WRONLY)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view[:65536]):]
                os.close(fd)
            finally:
                os._exit(0)
        return pid
    return setup


def _dangling_and_fifo(tmp):
    os.symlink(os.path.join(tmp, "missing-dir", "target"), os.path.join(tmp, "dangling"))
    os.mkfifo(os.path.join(tmp, "fifo"))


def _world_copy(name: str, as_name: str):
    def setup(tmp):
        shutil.copy(os.path.join(_STATE["world"], name), os.path.join(tmp, as_name))
    return setup


def session25_outside_cases() -> list[Case]:
    """An outside tester's list (session 25), tried against this probe's world: every one was as documented on the
    session's first main except those in session25_cases; kept so that they stay so."""
    lm, clf, s2s, fc, w = (MODELS[k] for k in ("lm", "clf", "s2s", "fc", "w"))
    ok, any_status, fifo = (0,), (0, 1, 2), "{T}/fifo"
    cases = []
    # every command's inputs as a named pipe (process substitution), read once
    for args, name in ((["rnn-train", "--task", "forecast", fifo, "-o", "{T}/out.npz", *TINY], "air.csv"),
                       (["predict", fc, fifo], "air.csv"),
                       (["evaluate", fc, fifo, "--backtest", "1", "--max-time", "2"], "air.csv"),
                       (["evaluate", fc, fifo, "--backtest", "2", "--no-refit"], "air.csv"),
                       (["rnn-train", "--task", "classify", fifo, "-o", "{T}/out.npz", *TINY], "g.jsonl"),
                       (["rnn-train", "--task", "seq2seq", fifo, "-o", "{T}/out.npz", *TINY], "p.jsonl"),
                       (["rnn-train", "--task", "lm", fifo, "-o", "{T}/out.npz", *TINY], "book.txt"),
                       (["evaluate", clf, fifo], "g.jsonl"), (["evaluate", s2s, fifo], "p.jsonl"),
                       (["evaluate", lm, fifo], "book.txt"),
                       (["w2v-train", fifo, "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "8"],
                        "corpus.txt"),
                       (["plot", "forecast", fifo], "fc-pred.jsonl"),
                       (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", fifo], "air.csv"),
                       (["plot", "log", fifo], "train-log.jsonl"),
                       (["import", fifo, "-o", "{T}/out.npz"], "vec-big.txt"),
                       (["bow", "--vocab", fifo, "{W}/docs.txt"], "v.jsonl"),
                       (["w2v-train", "{W}/docs.txt", "--vocab", fifo, "--min-count", "1", "--epochs", "1", "--dim",
                         "8", "-o", "{T}/out.npz"], "v.jsonl"),
                       (["evaluate", w, "--analogies", fifo], "analogies.txt"),
                       (["vocab", "--merge", fifo, "{W}/v.jsonl"], "v.jsonl"), (["phrases", fifo], "corpus.txt"),
                       (["sample", lm, "--prompts", fifo, "--length", "3"], "docs.txt"),
                       (["neighbors", w, "--input", fifo], "docs.txt")):
        cases.append(Case("input is a named pipe (session 25)", args, ok, setup=_fifo_of(name), timeout=150,
                          output="{T}/out.npz" if "-o" in args else None))
    # forecast CSV values and shapes: missing markers, signs, exponents, quotes, spreadsheet and locale habits
    with open(os.path.join(ROOT, "samples", "airline.csv"), encoding="utf-8") as f:
        base = f.read().splitlines()
    header, rows = base[0], base[1:]
    for label, value in (("NA", "NA"), ("N/A", "N/A"), ("null", "null"), ("empty", ""), ("spaces", " 150 "),
                         ("plus", "+150"), ("exp", "1.5e2"), ("dot", "150."), ("lead-dot", ".5"), ("quoted", '"150"'),
                         ("dash", "-"), ("nan", "nan"), ("inf", "inf"), ("comma", '"1,500"'), ("tab", "\t150")):
        changed = [r if i != 50 else r.split(",")[0] + "," + value for i, r in enumerate(rows)]
        data = "\n".join([header] + changed) + "\n"
        commands = [["predict", fc, "{T}/a.csv"]]
        if label in ("NA", "inf", "comma"):
            commands.append(["rnn-train", "--task", "forecast", "{T}/a.csv", "-o", "{T}/out.npz", *TINY])
        for args in commands:
            cases.append(Case(f"CSV value {label} (session 25)", args, (0, 1), names="a.csv:52", timeout=150,
                              output="{T}/out.npz" if "-o" in args else None,
                              setup=_files_in_tmp({"a.csv": data.encode()})))
    shapes = {"bom-crlf": "\ufeff" + "\r\n".join(base) + "\r\n",
              "header-spaces": header.replace(",", " , ") + "\n" + "\n".join(rows) + "\n",
              "one-trailing-comma": "\n".join(r + "," for r in base) + "\n",
              "quoted-header": '"' + header.replace(",", '","') + '"\n' + "\n".join(rows) + "\n",
              "tsv": "\n".join(r.replace(",", "\t") for r in base) + "\n",
              "blank-lines": header + "\n\n" + "\n\n".join(rows) + "\n\n",
              "comment-line": "# airline passengers\n" + "\n".join(base) + "\n",
              "no-header": "\n".join(rows) + "\n",
              "two-columns": header + ",z\n" + "\n".join(r + ",1" for r in rows) + "\n",
              "date-slash": "\n".join([header] + [r.replace("-", "/") for r in rows]) + "\n",
              "iso-utc": "\n".join([header] + [r.split(",")[0] + "-01T00:00:00Z," + r.split(",")[1]
                                                for r in rows]) + "\n",
              "iso-offset": "\n".join([header] + [r.split(",")[0] + "-01T00:00:00.000+02:00," + r.split(",")[1]
                                                  for r in rows]) + "\n",
              "day-first": "\n".join([header] + [f"01/{r[5:7]}/{r[0:4]},{r.split(',')[1]}"
                                                  for r in rows]) + "\n",
              "cr-only": "\r".join(base) + "\r",
              "nul-in-field": "\n".join([header] + [r if i != 10 else r + "\x00" for i, r in enumerate(rows)]) + "\n"}
    for label, text in shapes.items():
        cases.append(Case(f"CSV shape {label} (session 25)", ["predict", fc, "{T}/a.csv"], (0, 1), names="a.csv",
                          setup=_files_in_tmp({"a.csv": text.encode()}), timeout=120))
    cases.append(Case("CSV shape utf16 (session 25)", ["predict", fc, "{T}/a.csv"], (1,), names="a.csv:1: UTF-16",
                      setup=_files_in_tmp({"a.csv": ("\n".join(base) + "\n").encode("utf-16")})))
    # numeric options at their edges: any documented status, one clean line
    w2v = ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--threads", "1"]
    for extra in (["--dim", "1", "--window", "1", "--negative", "1", "--sample", "0"], ["--alpha", "1000"],
                  ["--subword", "1-1"], ["--subword", "5-3"], ["--subword", "0-0"], ["--subword", "1-100"],
                  ["--subword", "a-b"], ["--subword", "3"], ["--subword", "3-3", "--buckets", "1"],
                  ["--subword", "-3-4"],
                  ["--sample", "1"], ["--sample", "1e-300"], ["--min-alpha", "1"], ["--max-vocab", "1"],
                  ["--arch", "cbow", "--loss", "hs", "--window", "1000"], ["--alpha", "0"], ["--min-count", "100000"],
                  ["--dim", "100000", "--max-vocab", "10"]):
        cases.append(Case("edge option value (session 25)", w2v + extra, any_status, output="{T}/out.npz", timeout=150))
    for extra in (["--threshold", "0"], ["--threshold", "-1"], ["--threshold", "1e308"], ["--passes", "100"],
                  ["--min-count", "1000000"]):
        cases.append(Case("edge option value (session 25)", ["phrases", "{W}/corpus.txt", *extra], any_status))
    for query in (["-k", "1000000", "the"], ["--restrict", "1", "the"], ["the +"], ["--", "- the"], ["the - - the"],
                  ["+"], ["-"], ["the cat dog"], ["--method", "cosmul", "the - cat + dog"], [" "], [""], ["THE"],
                  ["the\tcat"]):
        cases.append(Case("edge query (session 25)", ["neighbors", w, *query], any_status))
    for extra in (["--temperature", "1e-300"], ["--temperature", "0"], ["--temperature", "1000"], ["--top-k", "1"],
                  ["--top-k", "100000"], ["--length", "1"], ["--until", ""], ["--prime", ""], ["--prime", "\\n"],
                  ["--until", "\\x00"], ["--prime", "\\u0000"], ["--prime", "zzzzzzqqq\u4e2d"], ["--until", "the cat"],
                  ["--count", "3", "--format", "jsonl", "--until", "\\n"]):
        cases.append(Case("edge option value (session 25)", ["sample", lm, "--length", "20", *extra], any_status))
    for task, data in (("lm", "{W}/book.txt"), ("classify", "{W}/g.jsonl"), ("seq2seq", "{W}/p.jsonl"),
                       ("forecast", "{W}/air.csv")):
        train = ["rnn-train", "--task", task, data, "-o", "{T}/out.npz", "--threads", "1"]
        for extra in (["--batch", "100000", "--max-steps", "2"], ["--val-fraction", "0", "--max-steps", "3"],
                      ["--val-fraction", "0.999", "--max-steps", "3"], ["--dropout", "1", "--max-steps", "3"],
                      ["--clip", "1e-300", "--max-steps", "3"], ["--lr", "1e-300", "--max-steps", "3"],
                      ["--hidden", "1", "--max-steps", "3"], ["--layers", "4", "--hidden", "4", "--max-steps", "3"],
                      ["--checkpoint-every", "1", "--max-steps", "3"], ["--max-time", "0.001"],
                      ["--optimizer", "sgd", "--lr", "1000", "--max-steps", "5", "--hidden", "8"],
                      *([["--seq-len", "1", "--max-steps", "3", "--hidden", "8"],
                         ["--embed-dim", "1", "--max-steps", "3", "--hidden", "8"]] if task != "forecast" else [])):
            cases.append(Case("edge option value (session 25)", train + extra, any_status, output="{T}/out.npz",
                              timeout=200))
    forecast = ["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY]
    for extra in (["--horizon", "1"], ["--horizon", "1000"], ["--lookback", "1"], ["--lookback", "100000"],
                  ["--season", "1"], ["--season", "1000"], ["--season", "143"], ["--intervals", "99.999"],
                  ["--intervals", "100"], ["--intervals", "0.5"], ["--intervals", "50,50"], ["--intervals", "80,95,80"],
                  ["--intervals", "-5"], ["--freq", "7D"], ["--freq", "nonsense"], ["--freq", "0D"], ["--freq", "-1D"],
                  ["--freq", "D"], ["--freq", "h"], ["--covariates", "passengers"], ["--covariates", "nope"],
                  ["--covariates", ""], ["--target", "month"], ["--timestamp-column", "passengers"],
                  ["--id-column", "passengers"], ["--ensemble", "3"], ["--difference", "season", "--season", "70"],
                  ["--strategy", "recursive", "--horizon", "30"], ["--select", "rnn", "--refit-all"],
                  ["--missing", "error"], ["--horizon", "144"]):
        cases.append(Case("edge option value (session 25)", forecast + extra, any_status, output="{T}/out.npz",
                          timeout=200))
    seq2seq = ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY]
    for extra in (["--max-target-length", "1"], ["--teacher-forcing", "0"], ["--teacher-forcing", "1"],
                  ["--label-smoothing", "0.999"], ["--label-smoothing", "1"], ["--encoder-layers", "3"],
                  ["--attention", "general", "--encoder-merge", "concat"], ["--target-level", "word"],
                  ["--no-shared-vocab"], ["--embedding-dropout", "table", "--dropout", "0.9"]):
        cases.append(Case("edge option value (session 25)", seq2seq + extra, any_status, output="{T}/out.npz",
                          timeout=200))
    for args in (["predict", s2s, "{W}/p.jsonl", "--beam", "100", "--nbest", "100"],
                 ["predict", s2s, "{W}/p.jsonl", "--max-length", "1"],
                 ["predict", s2s, "{W}/p.jsonl", "--length-norm", "0"],
                 ["predict", s2s, "{W}/p.jsonl", "--length-norm", "100", "--beam", "4"],
                 ["predict", clf, "{W}/g.jsonl", "--top-k", "1000"], ["predict", fc, "{W}/air.csv", "--horizon", "1"],
                 ["predict", fc, "{W}/air.csv", "--horizon", "100000"],
                 ["predict", fc, "{W}/air.csv", "--intervals", "50"],
                 ["predict", fc, "{W}/air.csv", "--format", "csv"],
                 ["evaluate", fc, "{W}/air.csv", "--backtest", "1", "--max-time", "0.001"],
                 ["evaluate", fc, "{W}/air.csv", "--backtest", "3", "--no-refit"],
                 ["evaluate", s2s, "{W}/p.jsonl", "--beam", "100"],
                 ["evaluate", w, "--similarity", "{W}/analogies.txt"],
                 ["plot", "log", "{W}/train-log.jsonl", "--width", "1", "--height", "1"],
                 ["plot", "forecast", "{W}/fc-pred.jsonl", "--last", "1"], ["plot", "words", w, "the"],
                 ["plot", "words", w, "nope-not-a-word"], ["plot", "words", w, "the", "-o", "{T}/x.txt"],
                 ["plot", "words", w, "the", "-o", "{T}/x.jpeg"], ["plot", "words", w, "the", "-o", "{T}/x"],
                 ["export", w, "--words", "{W}/empty.txt"]):
        cases.append(Case("edge option value (session 25)", args, any_status, timeout=200))
    # outputs through a dangling symlink, into a FIFO's "folder", a log that is a folder or in a missing one
    for args in (["vocab", "{W}/docs.txt", "-o", "{T}/dangling"], ["vocab", "{W}/docs.txt", "--output", "{T}/fifo/x"],
                 ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1", "-o", "{T}/out.npz", "--log",
                  "{T}"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY, "-o", "{T}/out.npz", "--log",
                  "{T}/sub/log.jsonl"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY, "-o", "{T}/out.npz", "--log", "{T}/dangling"]):
        cases.append(Case("odd output (session 25)", args, (1, 2), setup=_dangling_and_fifo, timeout=150))
    # a full 16 KiB disk under the outputs the earlier groups did not fill
    for args in (["bow", "--vocab", "{W}/v.jsonl", "{W}/million.txt", "--format", "npz", "-o", "{T}/small/b.npz"],
                 ["phrases", "{W}/corpus.txt", "--min-count", "1", "--threshold", "0", "--save-table",
                  "{T}/small/t.jsonl"],
                 ["neighbors", w, "--input", "{W}/corpus.txt", "-o", "{T}/small/n.jsonl"],
                 ["predict", s2s, "{W}/p.jsonl", "-o", "{T}/small/s.jsonl", "--nbest", "5", "--beam", "5"],
                 ["export", w, "--format", "word2vec-binary", "-o", "{T}/small/w.bin"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", "--hidden", "8", "--max-steps", "200", "--eval-every",
                  "1", "--threads", "1", "-o", "{T}/out.npz", "--log", "{T}/small/log.jsonl"],
                 ["rnn-train", "--task", "classify", "{W}/g.jsonl", "--hidden", "64", "--max-steps", "5",
                  "--checkpoint-every", "1", "--threads", "1", "-o", "{T}/small/c.npz"]):
        cases.append(Case("disk full (session 25)", args, (1,), names="space|full", setup=_mount_tmpfs("16k"),
                          teardown=_umount, timeout=300))
    # signals: twice, to the whole group, during evaluate's refits, beam search and w2v-train
    for task, data in (("lm", "{W}/book.txt"), ("classify", "{W}/g.jsonl"), ("seq2seq", "{W}/p.jsonl"),
                       ("forecast", "{W}/air.csv")):
        args = ["rnn-train", "--task", task, data, "-o", "{T}/out.npz", "--max-time", "60", "--hidden", "32",
                "--epochs", "100000", "--patience", "100000", "--threads", "1", "--log", "{T}/log.jsonl"]
        for again in (0.05, 0.5):
            cases.append(Case("SIGINT twice during training (session 25)", args, (130,), signal=signal.SIGINT,
                              again=again, output="{T}/out.npz", timeout=200))
        cases.append(Case("SIGINT twice to the group (session 25)", args, (130,), signal=signal.SIGINT, again=0.2,
                          group=True, output="{T}/out.npz", timeout=200))
        cases.append(Case("SIGTERM to the group during training (session 25)", args, (143,), signal=signal.SIGTERM,
                          group=True, output="{T}/out.npz", timeout=200))
    for args in (["evaluate", fc, "{W}/air.csv", "--backtest", "2", "--max-time", "30", "-o", "{T}/out.jsonl"],
                 ["predict", s2s, "{W}/p.jsonl", "--beam", "50", "-o", "{T}/out.jsonl"],
                 ["w2v-train", "{W}/corpus.txt", "--epochs", "100000", "--min-count", "1", "-o", "{T}/out.npz"]):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            cases.append(Case(f"{signal.Signals(sig).name} during {args[0]} (session 25)", args, (128 + sig, 0),
                              signal=sig, delay=1.0, output=args[-1] if args[0] != "w2v-train" else None, timeout=200))
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        cases.append(Case("signal twice to vocab's workers (session 25)", ["vocab", "{W}/million.txt", "--threads", "2",
                                                                         "-o", "{T}/out.jsonl"], (128 + sig, 0),
                          signal=sig, again=0.1, group=True, delay=0.3, output="{T}/out.jsonl", timeout=200))
    # concurrent runs on one output or one log, and on a cold kernel cache
    cases.append(Case("concurrent writers (session 25)",
                      ["rnn-train", "--task", "lm", "{W}/book.txt", "--hidden", "8", "--max-steps", "40",
                       "--eval-every", "2", "--threads", "1", "-o", "{T}/out.npz", "--log", "{T}/log.jsonl"],
                      ok, concurrent=3, output="{T}/log.jsonl", timeout=300))
    cases.append(Case("concurrent writers (session 25)", ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs",
                                                          "20", "-o", "{T}/out.npz", "--log", "{T}/log.jsonl"],
                      ok, concurrent=3, output="{T}/log.jsonl", timeout=300))
    cases.append(Case("concurrent writers (session 25)",
                      ["rnn-train", "--task", "lm", "{W}/book.txt", "--resume", "{T}/m.npz", "-o", "{T}/m.npz",
                       "--max-steps", "8", "--threads", "1"], ok, concurrent=3, output="{T}/m.npz",
                      setup=_world_copy("lm.npz", "m.npz"), timeout=300))
    cases.append(Case("concurrent writers (session 25)", ["vocab", "{W}/million.txt", "-o", "{T}/out.jsonl"], ok,
                      concurrent=4, output="{T}/out.jsonl", timeout=300))
    cases.append(Case("concurrent writers (session 25)", ["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.txt"],
                      ok, concurrent=4, output="{T}/out.txt", timeout=300))
    cases.append(Case("concurrent cold kernel cache (session 25)", ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY,
                                                                    "-o", "{T}/out.npz"], ok, concurrent=3,
                      output="{T}/out.npz", env={"NUMBA_CACHE_DIR": "{T}/cache"}, timeout=900))
    # odd environments for a parallel kernel and a parallel pure-Python stage
    for args in (["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1", "--threads", "2", "-o",
                  "{T}/out.npz"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt", "--threads", "2"]):
        for env in ({"NUMBA_NUM_THREADS": "1"}, {"NUMBA_THREADING_LAYER": "tbb"},
                    {"NUMBA_THREADING_LAYER": "workqueue"},
                    {"NUMBA_THREADING_LAYER": "omp"}, {"OMP_NUM_THREADS": "1000"},
                    {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "ascii"},
                    {"TMPDIR": "/nonexistent/tmp"}, {"HOME": "/nonexistent", "XDG_CACHE_HOME": ""},
                    {"PYTHONWARNINGS": "error::DeprecationWarning"}, {"NUMBA_OPT": "0"}, {"NUMBA_BOUNDSCHECK": "1"},
                    {"PYTHONMALLOC": "malloc"}):
            cases.append(Case("odd environment (session 25)", args, (0, 2), env=env, timeout=300,
                              output="{T}/out.npz" if "-o" in args else None))
    return cases


def _imported_vectors_in_tmp(text: bytes):
    """A setup: {T}/v.npz imported from this word2vec text."""
    def setup(tmp):
        with open(os.path.join(tmp, "v.txt"), "wb") as f:
            f.write(text)
        result = _run(_STATE["tree"], ["import", "v.txt", "-o", "v.npz"], cwd=tmp, timeout=300)
        if result.returncode != 0:  # the old code reads it as two fields: it is the export that shows it
            _run(_STATE["tree"], ["import", "--format", "word2vec-text", "v.txt", "-o", "v.npz"], cwd=tmp, timeout=300)
    return setup


def _csv_with_trailing_commas(tmp):
    """A setup: {T}/a.csv, the world's air.csv with two empty columns after the data (`month,passengers,,`)."""
    with open(os.path.join(_STATE["world"], "air.csv"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    with open(os.path.join(tmp, "a.csv"), "w", encoding="utf-8") as f:
        f.write("".join(line + ",,\n" for line in lines))


# --- session 26: an outside tester's list, in the areas the groups above tried least --------------------------

def _compressed_text(ext: str) -> tuple[bytes, int]:
    """A text of 120,000 lines (4.4 MB) compressed by ext's compressor and cut at 60%, and the line its data ends
    in (what a streaming decompressor gets out of the cut file)."""
    import bz2
    import gzip
    import lzma
    import zlib

    text = b"".join(b"line %d of the text with a few words\n" % i for i in range(120_000))
    data = {"gz": lambda t: gzip.compress(t, mtime=0), "bz2": bz2.compress, "xz": lzma.compress}[ext](text)
    cut = data[: len(data) * 6 // 10]
    decoder = {"gz": lambda: zlib.decompressobj(31), "bz2": bz2.BZ2Decompressor, "xz": lzma.LZMADecompressor}[ext]()
    return cut, decoder.decompress(cut).count(b"\n") + 1


def _zip_members(path: str) -> list[tuple[str, int, int, int]]:
    """(name, local header offset, data offset, data size) of each member of a stored (uncompressed) npz."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    out = []
    with open(path, "rb") as f:
        for info in infos:
            f.seek(info.header_offset + 26)
            n, m = (int.from_bytes(f.read(2), "little") for _ in range(2))
            out.append((info.filename, info.header_offset, info.header_offset + 30 + n + m, info.compress_size))
    return out


def _damaged_model(model: str, how: str, member: str, where: str):
    """A setup: {T}/m.npz, the world's MODEL cut short (how="cut") or with one byte flipped ("flip") at a place
    named by MEMBER (meta, first, middle, last: which array's member; "archive": the zip's own records) and WHERE
    (header, header+20, data+30, mid, end: within the member; cd, eocd, last: in the archive's end records)."""
    def setup(tmp):
        path = os.path.join(_STATE["world"], model)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        members = _zip_members(path)
        if member == "archive":
            end = members[-1][2] + members[-1][3]
            at = {"cd": end, "eocd": len(data) - 22, "last": len(data) - 1}[where]
        else:
            arrays = [m for m in members if m[0] != "meta.npy"]
            name, header, start, size = {"meta": next(m for m in members if m[0] == "meta.npy"), "first": arrays[0],
                                         "middle": arrays[len(arrays) // 2], "last": arrays[-1]}[member]
            at = {"header": header, "header+20": header + 20, "data+30": start + 30, "mid": start + size // 2,
                  "end": start + max(size - 1, 0)}[where]
        if how == "cut":
            data = data[:at]
        else:
            data[at] ^= 0x5A
        with open(os.path.join(tmp, "m.npz"), "wb") as f:
            f.write(bytes(data))
    return setup


def _read_only_folder(tmp):
    """A setup: {T}/ro, a read-only file system (a tmpfs remounted read-only), or a folder when mounting is not
    allowed (then the cases write into a folder whose parent is a file)."""
    path = os.path.join(tmp, "ro")
    os.mkdir(path)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", path], capture_output=True).returncode:
        os.rmdir(path)
        open(path, "wb").close()
        return
    subprocess.run(["mount", "-o", "remount,ro", path], capture_output=True)


def _unmount_ro(tmp):
    path = os.path.join(tmp, "ro")
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", path], capture_output=True)


_CTRL_C_WRAPPED = """import os, signal, sys

class CtrlCWrapped:
    # when matplotlib is imported, a Ctrl-C lands where Python or a library wraps the KeyboardInterrupt: a class body's
    # __set_name__ (a RuntimeError in Python 3.11), or a library's `except ImportError` around a half-done import
    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib":
            return None
        sys.meta_path.remove(self)

        class SendsCtrlC:
            def __set_name__(self, owner, name):
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(10 ** 7):
                    pass

        if os.environ["RNNTOOLS_PROBE_WRAPPED"] == "set_name":
            type("Formatter", (), {"attribute": SendsCtrlC()})
        try:
            SendsCtrlC().__set_name__(None, "x")
        except KeyboardInterrupt:
            raise ImportError("cannot import name 'ft2font' from partially initialized module 'matplotlib'")
        return None

if os.environ.get("RNNTOOLS_PROBE_WRAPPED"):
    sys.meta_path.insert(0, CtrlCWrapped())
"""

_SECOND_CTRL_C_AS_WORKERS_STOP = """import os, signal, threading

_join = threading.Thread.join

def join(self, timeout=None):
    # the first wait without a time limit once a Ctrl-C was sent ({T}/sent): w2v-train stopping its workers
    if (timeout is None and os.path.exists(os.environ["RNNTOOLS_PROBE_SENT"]) and not getattr(join, "sent", False)
            and threading.current_thread() is threading.main_thread()):
        join.sent = True
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10 ** 6):
            pass
    return _join(self, timeout)

threading.Thread.join = join
"""


def _sent_marker(tmp):
    """A setup: the sitecustomize of the second Ctrl-C, and {T}/sent made once the log has two lines (a thread)."""
    import threading

    with open(os.path.join(tmp, "sitecustomize.py"), "w") as f:
        f.write(_SECOND_CTRL_C_AS_WORKERS_STOP)

    def watch():
        deadline = time.monotonic() + 600
        log = os.path.join(tmp, "log.jsonl")
        while time.monotonic() < deadline and os.path.isdir(tmp):
            if os.path.exists(log) and open(log).read().count("\n") >= 2:
                open(os.path.join(tmp, "sent"), "w").close()
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()


def _vectors_with_odd_words(tmp):
    """A setup: {T}/space.npz (a GloVe-style word with a space) and {T}/newline.npz (a binary file's word holding a
    line break), imported."""
    import struct

    with open(os.path.join(tmp, "space.txt"), "wb") as f:
        f.write(b"2 3\nnew york 1 2 3\nb 4 5 6\n")
    with open(os.path.join(tmp, "newline.bin"), "wb") as f:
        f.write(b"2 2\na\nb " + struct.pack("<2f", 1, 2) + b"\nc " + struct.pack("<2f", 3, 4) + b"\n")
    for name in ("space.txt", "newline.bin"):
        _run(_STATE["tree"], ["import", name, "-o", name.split(".")[0] + ".npz"], cwd=tmp, timeout=300)


def session26_cases() -> list[Case]:
    """An outside tester's list (session 26), written from the fault table's thinnest rows: compressed inputs cut
    short, Ctrl-C twice within one update, --encoding-errors replace on every kind of bad text, models damaged at
    every part of the archive, outputs on full and read-only file systems, signals during the commands that do not
    train, Ctrl-Z, concurrent writers of every output, --resume with changed structure, resource limits, NaN and
    infinities in every float option, odd JSON values and vectors files."""
    lm, clf, s2s, fc, w = (MODELS[k] for k in ("lm", "clf", "s2s", "fc", "w"))
    cases = []
    # compressed inputs cut short: the error names the line the data ends in (the session-25 leftover)
    for ext in ("gz", "bz2", "xz"):
        cut, line = _compressed_text(ext)
        name = f"t.txt.{ext}"
        for args in (["vocab", "{T}/" + name], ["phrases", "{T}/" + name],
                     ["w2v-train", "{T}/" + name, "-o", "{T}/out.npz", "--min-count", "1", "--dim", "8"],
                     ["bow", "--vocab", "{W}/v.jsonl", "{T}/" + name, "-o", "{T}/out.jsonl"],
                     ["rnn-train", "--task", "lm", "{T}/" + name, "-o", "{T}/out.npz", *TINY]):
            cases.append(Case("compressed input cut short (session 26)", args, (1,), names=f"{name}:{line}:",
                              output=args[args.index("-o") + 1] if "-o" in args else None,
                              setup=_files_in_tmp({name: cut})))
        cases.append(Case("compressed input cut short (session 26)", ["vocab", "-"], (1,), names=f"<stdin>:{line}:",
                          stdin="file:{T}/" + name, setup=_files_in_tmp({name: cut})))
    # Ctrl-C twice within one update: the second is the same request, the run saves
    for task, data in (("lm", "{W}/book.txt"), ("classify", "{W}/g.jsonl"), ("seq2seq", "{W}/p.jsonl"),
                       ("forecast", "{W}/air.csv")):
        args = ["rnn-train", "--task", task, data, "-o", "{T}/out.npz", "--max-time", "60", "--hidden", "32",
                "--epochs", "100000", "--patience", "100000", "--threads", "1", "--log", "{T}/log.jsonl"]
        for again in (0.001, 0.02):
            cases.append(Case("SIGINT twice within an update (session 26)", args, (130,), signal=signal.SIGINT,
                              again=again, output="{T}/out.npz", saved=True, timeout=200))
        cases.append(Case("SIGTERM then SIGINT within an update (session 26)", args, (143, 130),
                          signal=signal.SIGTERM, again=0.005, then=signal.SIGINT, output="{T}/out.npz", saved=True,
                          timeout=200))
    # a second Ctrl-C while w2v-train's workers stop after the first: nothing was saved
    cases.append(Case("SIGINT twice as w2v-train's workers stop (session 26)",
                      ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "100000", "--threads", "2", "-o",
                       "{T}/out.npz", "--log", "{T}/log.jsonl"], (130,), signal=signal.SIGINT, output="{T}/out.npz",
                      saved=True, setup=_sent_marker, timeout=300,
                      env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_SENT": "{T}/sent"}))
    # a Ctrl-C that Python wraps while matplotlib is imported: internal error, or "pictures need matplotlib"
    for how in ("set_name", "import_error"):
        cases.append(Case("SIGINT wrapped in an import (session 26)", ["plot", "log", "{W}/train-log.jsonl", "-o",
                                                                       "{T}/out.png"], (130,), output="{T}/out.png",
                          setup=_files_in_tmp({"sitecustomize.py": _CTRL_C_WRAPPED.encode()}),
                          env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_WRAPPED": how}))
    # a word its format cannot hold: garbage vectors or a file no reader reads back, exit 0
    for model, fmt, expect in (("space", "word2vec-binary", (1,)), ("space", "word2vec-text", (0,)),
                               ("newline", "word2vec-text", (1,)), ("newline", "word2vec-binary", (1,))):
        cases.append(Case("export of a word its format cannot hold (session 26)",
                          ["export", f"{{T}}/{model}.npz", "--format", fmt, "-o", "{T}/out.txt"], expect,
                          names=f"{model}.npz: word 1", output="{T}/out.txt", setup=_vectors_with_odd_words))
    # --encoding-errors replace on every kind of bad text
    bad_texts = {"latin1.txt": "caf\xe9 au lait, cr\xe8me br\xfbl\xe9e\n".encode("latin-1") * 30,
                 "cp1252.txt": b"\x93quoted\x94 and \x96 dashes \x85 more\n" * 30,
                 "utf16.txt": "the cat sat\nthe dog ran\n".encode("utf-16") * 15,
                 "utf16le.txt": "the cat sat\nthe dog ran\n".encode("utf-16-le") * 15,
                 "utf32.txt": "the cat sat\n".encode("utf-32") * 10,
                 "overlong.txt": b"the \xc0\xaf cat \xe0\x80\xaf sat\n" * 30,
                 "surrogate.txt": b"the \xed\xa0\x80 cat \xed\xbf\xbf sat\n" * 30,
                 "nul-mix.txt": b"the cat\x00 sat \x00\x00 on the mat\n" * 30,
                 "half-char.txt": b"the cat sat \xe4\xb8\n" * 30}
    for name, data in bad_texts.items():
        for args in (["vocab", "--encoding-errors", "replace", "{T}/" + name],
                     ["vocab", "--level", "char", "--encoding-errors", "replace", "{T}/" + name],
                     ["bow", "--vocab", "{W}/v.jsonl", "--encoding-errors", "replace", "{T}/" + name],
                     ["phrases", "--encoding-errors", "replace", "{T}/" + name],
                     ["w2v-train", "--encoding-errors", "replace", "{T}/" + name, "-o", "{T}/out.npz", "--min-count",
                      "1", "--dim", "8", "--epochs", "1", "--threads", "1"],
                     ["rnn-train", "--task", "lm", "--encoding-errors", "replace", "{T}/" + name, "-o", "{T}/out.npz",
                      *TINY]):
            cases.append(Case("--encoding-errors replace (session 26)", args, (0, 1), names=name,
                              output="{T}/out.npz" if "-o" in args else None, setup=_files_in_tmp({name: data})))
    bad_jsonl = {"j-latin1.jsonl": b'{"text": "caf\xe9 ok", "label": "a", "source": "caf\xe9", "target": "x"}\n' * 20
                 + b'{"text": "the dog", "label": "b", "source": "dog", "target": "y"}\n' * 20,
                 "j-utf16.jsonl": '{"text": "a cat", "label": "a", "source": "ab", "target": "ba"}\n'.encode("utf-16")
                 * 5}
    for name, data in bad_jsonl.items():
        for args in (["vocab", "--text-field", "text", "--encoding-errors", "replace", "{T}/" + name],
                     ["rnn-train", "--task", "classify", "--encoding-errors", "replace", "{T}/" + name, "-o",
                      "{T}/out.npz", *TINY],
                     ["rnn-train", "--task", "seq2seq", "--encoding-errors", "replace", "{T}/" + name, "-o",
                      "{T}/out.npz", *TINY]):
            cases.append(Case("--encoding-errors replace (session 26)", args, (0, 1), names=name,
                              output="{T}/out.npz" if "-o" in args else None, setup=_files_in_tmp({name: data})))
    # models damaged at every part of the archive: cut at each member's header, inside its array header, in its data
    # and at the central directory; a byte flipped in each member's data (the stored CRC no longer matches)
    uses = {"lm.npz": ["sample", "{T}/m.npz", "--length", "5"], "w.npz": ["neighbors", "{T}/m.npz", "the"],
            "clf.npz": ["predict", "{T}/m.npz", "{W}/g.jsonl"], "fc.npz": ["predict", "{T}/m.npz", "{W}/air.csv"],
            "s2s.npz": ["predict", "{T}/m.npz", "{W}/p.jsonl"]}
    for model, args in uses.items():
        places = [("cut", m, x) for m in ("meta", "first", "middle", "last") for x in ("header", "header+20", "data+30",
                                                                                      "mid")]
        places += [("flip", m, x) for m in ("meta", "first", "middle", "last") for x in ("data+30", "mid", "end")]
        places += [("cut", "archive", x) for x in ("cd", "eocd", "last")]
        for how, member, where in places:
            # (a command reads the arrays it uses: a classifier's predict leaves its optimiser state unread)
            expect = (0, 1) if how == "flip" and member in ("middle", "last") else (1,)
            cases.append(Case(f"model {'cut short' if how == 'cut' else 'with a flipped byte'} (session 26)", args,
                              expect, names="m.npz", setup=_damaged_model(model, how, member, where)))
    # outputs on a read-only file system and on a full device, standard output on a full device
    writers = [["vocab", "{W}/docs.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"],
               ["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt", "--format", "npz"], ["phrases", "{W}/corpus.txt"],
               ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1", "--dim", "8"],
               ["neighbors", w, "the"], ["export", w], ["export", w, "--format", "word2vec-binary"],
               ["import", "{W}/vec-ok.txt"], ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY],
               ["rnn-train", "--task", "forecast", "{W}/air.csv", *TINY], ["sample", lm, "--length", "5"],
               ["predict", lm, "{W}/docs.txt"], ["predict", clf, "{W}/g.jsonl"], ["predict", s2s, "{W}/p.jsonl"],
               ["predict", fc, "{W}/air.csv", "--format", "csv"], ["evaluate", lm, "{W}/docs.txt"],
               ["evaluate", w, "--analogies", "{W}/analogies.txt"], ["plot", "log", "{W}/train-log.jsonl"],
               ["plot", "words", w, "the"], ["plot", "forecast", "{W}/fc-pred.jsonl"]]
    for args in writers:
        suffix = ".npz" if args[0] in ("w2v-train", "import", "rnn-train") or "npz" in args else ".txt"
        cases.append(Case("output on a read-only file system (session 26)", [*args, "-o", "{T}/ro/out" + suffix],
                          (1, 2), names="ro/out", setup=_read_only_folder, teardown=_unmount_ro))
        cases.append(Case("output on a full device (session 26)", [*args, "-o", "/dev/full"], (1, 2),
                          names="/dev/full"))
        if args[0] not in ("w2v-train", "import", "rnn-train") and "npz" not in args:
            cases.append(Case("standard output on a full device (session 26)", args, (1,), names="standard output",
                              stdout="file:/dev/full"))
    for args in (["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1", "--dim", "8", "-o",
                  "{T}/out.npz"], ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY, "-o", "{T}/out.npz"]):
        cases.append(Case("log on a read-only file system (session 26)", [*args, "--log", "{T}/ro/log.jsonl"], (1, 2),
                          names="ro/log.jsonl", output="{T}/out.npz", setup=_read_only_folder, teardown=_unmount_ro))
    cases.append(Case("output on a read-only file system (session 26)", ["phrases", "{W}/corpus.txt", "--save-table",
                                                                         "{T}/ro/t.jsonl"], (1, 2), names="ro/t.jsonl",
                      setup=_read_only_folder, teardown=_unmount_ro))
    cases.append(Case("output on a read-only file system (session 26)",
                      ["rnn-train", "--task", "classify", "{W}/g.jsonl", *TINY, "--checkpoint-every", "1", "-o",
                       "{T}/ro/c.npz"], (1, 2), names="ro/c.npz", setup=_read_only_folder, teardown=_unmount_ro))
    # signals during the commands that do not train, and Ctrl-Z then fg during the ones that do
    for args in (["import", "{W}/vec-big.txt", "-o", "{T}/out.npz"], ["export", w, "-o", "{T}/out.txt"],
                 ["neighbors", w, "--input", "{W}/corpus.txt", "-o", "{T}/out.jsonl"],
                 ["phrases", "{W}/corpus.txt", "-o", "{T}/out.txt", "--passes", "3"],
                 ["bow", "--vocab", "{W}/v.jsonl", "{W}/million.txt", "--format", "npz", "-o", "{T}/out.npz"],
                 ["vocab", "--merge", "{W}/v.jsonl", "{T}/v2.jsonl", "-o", "{T}/out.jsonl"],
                 ["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.png"],
                 ["sample", lm, "--count", "300", "--length", "200", "-o", "{T}/out.txt"],
                 ["predict", s2s, "{W}/p.jsonl", "--beam", "8", "--nbest", "4", "-o", "{T}/out.jsonl"]):
        for sig, delay in ((signal.SIGINT, 0.3), (signal.SIGTERM, 1.0), (signal.SIGHUP, 2.0)):
            cases.append(Case(f"{signal.Signals(sig).name} during a command that does not train (session 26)", args,
                              (128 + sig, 0), signal=sig, delay=delay, output=args[-1], timeout=200,
                              setup=_world_copy("v.jsonl", "v2.jsonl")))
    for args, group in ((["rnn-train", "--task", "lm", "{W}/book.txt", "--hidden", "16", "--max-steps", "60",
                          "--threads", "1", "-o", "{T}/out.npz", "--log", "{T}/log.jsonl"], False),
                        (["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "30", "--threads", "2", "-o",
                          "{T}/out.npz", "--log", "{T}/log.jsonl"], False),
                        (["vocab", "{W}/million.txt", "--threads", "2", "-o", "{T}/out.jsonl"], True),
                        (["bow", "--vocab", "{W}/v.jsonl", "{W}/million.txt", "--threads", "2", "-o",
                          "{T}/out.jsonl"], True)):
        cases.append(Case("Ctrl-Z, then fg (session 26)", args, (0,), signal=signal.SIGTSTP, again=1.0,
                          then=signal.SIGCONT, group=group, delay=None if "--log" in args else 0.5,
                          output=args[args.index("-o") + 1], timeout=300))
    # concurrent writers of every kind of output
    for args in (["import", "{W}/vec-big.txt", "-o", "{T}/out.npz"], ["export", w, "-o", "{T}/out.txt"],
                 ["phrases", "{W}/corpus.txt", "-o", "{T}/out.txt"],
                 ["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt", "--format", "npz", "-o", "{T}/out.npz"],
                 ["predict", clf, "{W}/g.jsonl", "-o", "{T}/out.jsonl"],
                 ["evaluate", fc, "{W}/air.csv", "--no-refit", "-o", "{T}/out.jsonl"],
                 ["sample", lm, "--length", "100", "--count", "20", "-o", "{T}/out.txt"],
                 ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "3", "--resumable", "-o",
                  "{T}/out.npz", "--threads", "1"],
                 ["rnn-train", "--task", "classify", "{W}/g.jsonl", *TINY, "--checkpoint-every", "1", "-o",
                  "{T}/out.npz"],
                 ["rnn-train", "--task", "forecast", "{W}/air.csv", *TINY, "-o", "{T}/out.npz"],
                 ["plot", "words", w, "the", "-o", "{T}/out.svg"]):
        cases.append(Case("concurrent writers (session 26)", args, (0,), concurrent=3, output=args[-1]
                          if args[-1].startswith("{T}/out") else "{T}/out.npz", timeout=400))
    # --resume with a structural option changed: the saved structure wins, a differing value is a usage error
    resumes = {"lm": ("{W}/book.txt", lm, [["--cell", "gru"], ["--cell", "rnn"], ["--level", "word"],
                                           ["--hidden", "16"], ["--layers", "2"], ["--embed-dim", "4"],
                                           ["--seq-len", "7"], ["--dropout", "0.5"], ["--embeddings", w]]),
               "classify": ("{W}/g.jsonl", clf, [["--cell", "lstm"], ["--pooling", "mean"], ["--no-bidirectional"],
                                                 ["--wide", "none"], ["--wide-buckets", "2048"], ["--no-residual"],
                                                 ["--class-weight", "balanced"], ["--level", "char"],
                                                 ["--embed-dim", "4"], ["--hidden", "16"]]),
               "seq2seq": ("{W}/p.jsonl", s2s, [["--attention", "none"], ["--encoder-merge", "concat"],
                                                ["--encoder-layers", "2"], ["--target-level", "word"],
                                                ["--shared-vocab"], ["--hidden", "16"], ["--cell", "lstm"],
                                                ["--level", "word"]]),
               "forecast": ("{W}/air.csv", fc, [["--lookback", "5"], ["--horizon", "3"], ["--season", "4"],
                                                ["--transform", "log"], ["--difference", "1"], ["--select", "rnn"],
                                                ["--strategy", "recursive"], ["--ensemble", "2"],
                                                ["--intervals", "50"], ["--cell", "gru"], ["--hidden", "16"]])}
    for task, (data, model, changes) in resumes.items():
        for change in changes:
            cases.append(Case("--resume with another structure (session 26)",
                              ["rnn-train", "--task", task, data, "--resume", model, "-o", "{T}/out.npz",
                               "--max-steps", "2", "--threads", "1", *change], (0, 2), output="{T}/out.npz",
                              timeout=200))
    for change in (["--dim", "16"], ["--arch", "cbow"], ["--loss", "hs"], ["--subword", "3-5"], ["--negative", "3"],
                   ["--window", "2"], ["--keep-case"], ["--min-count", "50"], ["--max-vocab", "5"]):
        cases.append(Case("--resume with another structure (session 26)",
                          ["w2v-train", "{W}/corpus.txt", "--resume", "{T}/w.npz", "-o", "{T}/out.npz", "--epochs",
                           "2", "--threads", "1", *change], (0, 2), output="{T}/out.npz", timeout=200,
                          setup=_resumable_w2v))
    # resource limits: little memory, few open files, a small file size limit, a small stack
    for args in (["vocab", "{W}/corpus.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt"],
                 ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1", "-o", "{T}/out.npz"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY, "-o", "{T}/out.npz"],
                 ["predict", lm, "{W}/docs.txt"], ["sample", lm, "--length", "20"], ["import", "{W}/vec-big.txt", "-o",
                                                                                   "{T}/out.npz"],
                 ["neighbors", w, "the"], ["evaluate", fc, "{W}/air.csv", "--no-refit"],
                 ["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.png"]):
        out = args[args.index("-o") + 1] if "-o" in args else None
        for memory in (300 << 20, 700 << 20):
            cases.append(Case("little memory (ulimit -v) (session 26)", args, (0, 1), memory=memory, output=out,
                              names="memory", timeout=300))
        for files in (8, 14):
            cases.append(Case("few open files (ulimit -n) (session 26)", args, (0, 1), output=out, timeout=300,
                              names="open files", limits={resource.RLIMIT_NOFILE: files}))
        cases.append(Case("small stack (ulimit -s) (session 26)", args, (0, 1), output=out, timeout=300,
                          limits={resource.RLIMIT_STACK: 256 << 10}))
    for args in (["vocab", "{W}/corpus.txt"], ["export", w], ["import", "{W}/vec-big.txt"],
                 ["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt", "--format", "npz"],
                 ["sample", lm, "--length", "20000"], ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY],
                 ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1"],
                 ["plot", "log", "{W}/train-log.jsonl"]):
        suffix = ".npz" if args[0] in ("w2v-train", "import", "rnn-train") or "npz" in args else \
            ".png" if args[0] == "plot" else ".txt"
        # (w2v-train's first file is its copy of the corpus in TMPDIR: the message says so)
        cases.append(Case("file size limit (ulimit -f) (session 26)", [*args, "-o", "{T}/out" + suffix], (1,),
                          names=f"out{suffix}|temporary copy", output="{T}/out" + suffix,
                          limits={resource.RLIMIT_FSIZE: 4096}))
    # odd environments for the commands that draw (matplotlib's caches) and spawn (temporary folders)
    for env in ({"HOME": "/nonexistent", "XDG_CACHE_HOME": "/nonexistent", "MPLCONFIGDIR": "/nonexistent"},
                {"HOME": "{T}/ro", "MPLCONFIGDIR": "{T}/ro/mpl", "TMPDIR": "{T}/ro"},
                {"TMPDIR": "/dev/null"}, {"MPLBACKEND": "nonsense"}, {"MPLBACKEND": "TkAgg", "DISPLAY": ":99"},
                {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}):
        for args in (["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.png"],
                     ["plot", "words", w, "the", "-o", "{T}/out.svg"],
                     ["vocab", "{W}/million.txt", "--threads", "2", "-o", "{T}/out.jsonl"],
                     ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "--hidden", "8", "--max-steps", "3",
                      "--threads", "2", "--ensemble", "2", "-o", "{T}/out.npz"]):
            cases.append(Case("odd environment (session 26)", args, (0, 1), env=env, output=args[-1], timeout=300,
                              setup=_read_only_folder, teardown=_unmount_ro))
    # NaN, infinities and a negative zero in every float option
    floats = [(["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "8",
                "--threads", "1"], ["--sample", "--alpha", "--min-alpha"]),
              (["phrases", "{W}/corpus.txt"], ["--threshold"]),
              (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY],
               ["--val-fraction", "--dropout", "--max-time", "--lr", "--clip"]),
              (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY],
               ["--teacher-forcing", "--label-smoothing", "--budget-average", "--budget-warmup"]),
              (["sample", lm, "--length", "5"], ["--temperature"]),
              (["predict", s2s, "{W}/p.jsonl"], ["--length-norm"]),
              (["evaluate", fc, "{W}/air.csv", "--backtest", "1"], ["--max-time"])]
    for base, options in floats:
        for opt in options:
            for value in ("nan", "-nan", "inf", "-inf", "1e309", "-0"):
                expect = (2,) if "nan" in value else (0, 1, 2)
                cases.append(Case("NaN or infinity in a float option (session 26)", [*base, opt, value], expect,
                                  names=opt if expect == (2,) else None, timeout=200,
                                  output="{T}/out.npz" if "-o" in base else None))
    # odd JSON values: non-finite numbers anywhere, numbers where text belongs, labels of odd types
    records = {"j-nan-elsewhere.jsonl": b'{"text": "a cat", "label": "x", "note": NaN}\n',
               "j-inf-text.jsonl": b'{"text": Infinity, "label": "x", "source": -Infinity, "target": "a"}\n',
               "j-big-exp.jsonl": b'{"text": "a cat", "label": 1e400, "source": "a", "target": "b"}\n',
               "j-float-label.jsonl": b'{"text": "a cat", "label": 1.5, "source": "a", "target": "b"}\n' * 3,
               "j-neg-label.jsonl": b'{"text": "a cat", "label": -1, "source": "a", "target": "b"}\n'
                                    b'{"text": "a dog", "label": 18446744073709551616, "source": "b", "target": "a"}\n'
                                    * 10,
               "j-number-text.jsonl": b'{"text": "12345", "label": "1", "source": "12", "target": "21"}\n' * 20,
               "j-bom-mid.jsonl": b'{"text": "a", "label": "x", "source": "a", "target": "b"}\n'
                                  b'\xef\xbb\xbf{"text": "b", "label": "y", "source": "b", "target": "a"}\n',
               "j-trailing-comma.jsonl": b'{"text": "a", "label": "x", "source": "a", "target": "b",}\n',
               "j-pretty.jsonl": b'{\n  "text": "a",\n  "label": "x"\n}\n',
               "j-array.jsonl": b'[{"text": "a", "label": "x", "source": "a", "target": "b"}]\n',
               "j-comment.jsonl": b'// records\n{"text": "a", "label": "x", "source": "a", "target": "b"}\n',
               "j-dup-types.jsonl": b'{"text": "a cat", "text": 5, "label": "x", "source": "a", "target": "b"}\n',
               "j-case.jsonl": b'{"Text": "a cat", "Label": "x", "Source": "a", "Target": "b"}\n' * 3}
    for name, data in records.items():
        for args in (["vocab", "--text-field", "text", "{T}/" + name],
                     ["rnn-train", "--task", "classify", "{T}/" + name, "-o", "{T}/out.npz", *TINY],
                     ["rnn-train", "--task", "seq2seq", "{T}/" + name, "-o", "{T}/out.npz", *TINY],
                     ["predict", clf, "{T}/" + name], ["evaluate", clf, "{T}/" + name],
                     ["evaluate", s2s, "{T}/" + name]):
            ok_here = name in ("j-number-text.jsonl", "j-float-label.jsonl", "j-neg-label.jsonl", "j-dup-types.jsonl",
                               "j-nan-elsewhere.jsonl", "j-bom-mid.jsonl", "j-comment.jsonl", "j-pretty.jsonl",
                               "j-array.jsonl")
            cases.append(Case("odd JSON values (session 26)", args, (0, 1, 2) if ok_here else (1, 2),
                              names=None if ok_here else name, output="{T}/out.npz" if "-o" in args else None,
                              setup=_files_in_tmp({name: data})))
    # vectors files as other tools write them
    vectors = {"v-bom.txt": b"\xef\xbb\xbf2 3\na 1 2 3\nb 4 5 6\n", "v-crlf.txt": b"2 3\r\na 1 2 3\r\nb 4 5 6\r\n",
               "v-short.txt": b"3 3\na 1 2 3\nb 4 5 6\n", "v-long.txt": b"1 3\na 1 2 3\nb 4 5 6\n",
               "v-dup.txt": b"2 3\na 1 2 3\na 4 5 6\n", "v-empty-word.txt": b"2 3\n 1 2 3\nb 4 5 6\n",
               "v-tabs.txt": b"a\t1\t2\t3\nb\t4\t5\t6\n", "v-big.txt": b"2 3\na 1e400 2 3\nb 4 5 6\n",
               "v-neg-header.txt": b"-1 3\na 1 2 3\n", "v-zero-header.txt": b"0 0\n",
               "v-header-extra.txt": b"2 3 4\na 1 2 3\nb 4 5 6\n", "v-spaces.txt": b"2 3\na 1 2 3   \nb  4 5 6\n",
               "v-arabic-digits.txt": "2 3\na \u0661 2 3\nb 4 5 6\n".encode(),
               "v-glove-one.txt": b"a 1 2 3\n", "v-fasttext.vec": b"2 3\n</s> 0 0 0\nthe 1 2 3\n",
               "v-bin-nonl.bin": b"2 3\na " + b"\x00\x00\x80?" * 3 + b"b " + b"\x00\x00\x80?" * 3}
    for name, data in vectors.items():
        cases.append(Case("vectors files as other tools write them (session 26)", ["import", "{T}/" + name, "-o",
                                                                                  "{T}/out.npz"], (0, 1),
                          names=name, output="{T}/out.npz", setup=_files_in_tmp({name: data})))
    # similarity and analogy files as other tools write them
    for name, data, option in (("s-utf16.txt", "the cat 1\nthe dog 2\n".encode("utf-16"), "--similarity"),
                               ("s-bom.txt", b"\xef\xbb\xbfthe cat 1\nthe dog 2\nthe sat 3\n", "--similarity"),
                               ("s-comma.txt", b"the,cat,1\nthe,dog,2\nthe,sat,3\n", "--similarity"),
                               ("s-same.txt", b"the the 10\ncat cat 10\nthe dog 2\n", "--similarity"),
                               ("a-crlf.txt", b": x\r\nthe cat the cat\r\n", "--analogies"),
                               ("a-upper.txt", b": x\nTHE CAT THE DOG\n", "--analogies"),
                               ("a-tabs.txt", b": x\nthe\tcat\tthe\tdog\n", "--analogies"),
                               ("a-nosection.txt", b"the cat the dog\n", "--analogies")):
        cases.append(Case("evaluation files as other tools write them (session 26)",
                          ["evaluate", w, option, "{T}/" + name], (0, 1), names=name,
                          setup=_files_in_tmp({name: data})))
    # plots with odd options
    for args in (["plot", "words", w, "the", "--neighbors", "1"], ["plot", "words", w, "the", "--neighbors", "100000"],
                 ["plot", "forecast", "{W}/fc-pred.jsonl", "--series", "nope"],
                 ["plot", "forecast", "{W}/fc-pred.jsonl", "--series", ""],
                 ["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.pdf"],
                 ["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.PNG"],
                 ["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.jpg"],
                 ["plot", "log", "{W}/train-log.jsonl", "--metric", "nope"],
                 ["plot", "log", "{W}/train-log.jsonl", "--metric", ""]):
        cases.append(Case("plot options at their edges (session 26)", args, (0, 1, 2), timeout=200))
    return cases


def _resumable_w2v(tmp):
    """A setup: {T}/w.npz, resumable word vectors of the world's corpus."""
    _run(_STATE["tree"], ["w2v-train", os.path.join(_STATE["world"], "corpus.txt"), "--min-count", "1", "--epochs",
                          "1", "--dim", "8", "--threads", "1", "--resumable", "-o", "w.npz"], cwd=tmp, timeout=300)



# --- session 27: an outside tester's list, in the areas the groups above tried least ---------------------------

# a sitecustomize: the moment the first semaphore of a local cluster's queues is made, say so in a file (a signal
# then arrives while the cluster starts, whatever the machine's speed); with RNNTOOLS_PROBE_LATE_WORKER, the first
# worker process is also spawned late (not yet among the parent's children when the file appears)
_CLUSTER_STARTING = """
import os, sys, time

marker = os.environ.get("RNNTOOLS_PROBE_CLUSTER")
if marker and "--multiprocessing-fork" in sys.argv:
    if os.environ.get("RNNTOOLS_PROBE_LATE_WORKER"):
        time.sleep(2)
elif marker:
    import multiprocessing.synchronize as synchronize

    init = synchronize.SemLock.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if not os.path.exists(marker) and not os.environ.get("RNNTOOLS_PROBE_LATE_WORKER"):
            open(marker, "w").close()

    synchronize.SemLock.__init__ = __init__
    if os.environ.get("RNNTOOLS_PROBE_LATE_WORKER"):
        from multiprocessing import popen_spawn_posix

        launch = popen_spawn_posix.Popen._launch

        def slow_launch(self, process_obj):
            launch(self, process_obj)
            if not os.path.exists(marker):
                open(marker, "w").close()
                time.sleep(3)

        popen_spawn_posix.Popen._launch = slow_launch
"""


def _csv_series(values: list, stamps: list | None = None, header: bytes = b"month,passengers") -> bytes:
    stamps = stamps or [b"%d-%02d" % (1949 + i // 12, 1 + i % 12) for i in range(len(values))]
    return header + b"\n" + b"".join(t + b"," + v + b"\n" for t, v in zip(stamps, values))


def _fifo_named(name: str):
    def setup(tmp):
        os.mkfifo(os.path.join(tmp, name))
    return setup


def session27_cases() -> list[Case]:
    """An outside tester's list (session 27), from the options, commands and formats the groups above tried least
    (counted per command and option): --scheduler with hostile inputs and signals while its cluster starts, --quiet,
    every task's options given to the others, predict/evaluate options of another kind of model, forecast CSVs as
    spreadsheets and other tools write them, models read from standard input, --resume from another kind of model,
    odd environments (locale, thread counts, terminal width, scheduler variables), edge values of the options with
    the fewest cases, long and odd output names, SIGTERM to a job whose SIGINT is ignored."""
    lm, clf, s2s, fc, w = (MODELS[k] for k in ("lm", "clf", "s2s", "fc", "w"))
    cases = []
    # --- a local cluster: a signal while it starts (deterministic: a marker once its first semaphore is made)
    cluster_runs = [["vocab", "{W}/corpus.txt", "-o", "{T}/out.jsonl"],
                    ["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt", "-o", "{T}/out.jsonl"],
                    ["predict", clf, "{W}/g.jsonl", "-o", "{T}/out.jsonl"],
                    ["evaluate", lm, "{W}/book.txt", "-o", "{T}/out.jsonl"]]
    for args in cluster_runs:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            for late in ("", "1"):
                cases.append(Case(f"{signal.Signals(sig).name} while a local cluster starts (session 27)",
                                  [*args, "--scheduler", "local:2"], (128 + sig,), signal=sig,
                                  signal_when="{T}/cluster", output="{T}/out.jsonl", timeout=300,
                                  setup=_files_in_tmp({"sitecustomize.py": _CLUSTER_STARTING.encode()}),
                                  env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_CLUSTER": "{T}/cluster",
                                       "RNNTOOLS_PROBE_LATE_WORKER": late}))
    # --- --scheduler with hostile inputs and outputs (a one-worker cluster)
    sched = ["--scheduler", "local:1"]
    for args, expect, names in (
            (["vocab", "{W}/j-trunc.jsonl", "--text-field", "text"], (1,), "j-trunc.jsonl:2"),
            (["vocab", "{W}/crlf.txt"], (0,), None), (["vocab", "{W}/bom.txt"], (0,), None),
            (["vocab", "{W}/t-corpus.txt.gz"], (0,), None), (["vocab", "{W}/t-trunc.txt.xz"], (1,), "t-trunc.txt.xz"),
            (["vocab", "{W}/empty.txt"], (0, 1), "empty.txt"), (["vocab", "{W}/folder"], (1,), "folder"),
            (["vocab", "{T}/missing.txt"], (1, 2), "missing.txt"), (["vocab", "/dev/null"], (0, 1), None),
            (["vocab", "{W}/latin1.txt"], (1,), "latin1.txt:1"), (["vocab", "{W}/long10m.txt"], (1,), "long10m.txt:1"),
            (["vocab", "-"], (0, 1, 2), None), (["vocab", "{W}/docs.txt", "-o", "/dev/full"], (1,), "/dev/full"),
            (["vocab", "{W}/docs.txt", "-o", "{W}/docs.txt"], (2,), "docs.txt"),
            (["bow", "--vocab", "{W}/v.jsonl", "{W}/j-rawnul.jsonl", "--text-field", "text"], (0, 1), None),
            (["bow", "--vocab", "{W}/v.jsonl", "{W}/j-surrogate.jsonl", "--text-field", "text"], (1,),
             "j-surrogate.jsonl:31"),
            (["bow", "--vocab", "{W}/lm.npz", "{W}/docs.txt"], (1,), "lm.npz"),
            (["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt", "--format", "npz", "-o", "{T}/out.npz"], (2,), "npz"),
            (["predict", clf, "{W}/j-types.jsonl"], (1,), "j-types.jsonl:1"),
            (["predict", clf, "{W}/j-deep.jsonl"], (1,), "j-deep.jsonl:1"),
            (["predict", fc, "{W}/c-ragged.csv"], (1,), "c-ragged.csv"),
            (["predict", fc, "{W}/c-crlf.csv"], (0,), None), (["predict", fc, "{W}/c-bom.csv"], (0,), None),
            (["predict", lm, "{W}/nul.txt"], (0, 1), None), (["predict", s2s, "{W}/j-missing.jsonl"], (1,),
                                                               "j-missing.jsonl:1"),
            (["predict", "{W}/m-trunc.npz", "{W}/docs.txt"], (1,), "m-trunc.npz"),
            (["predict", w, "{W}/docs.txt"], (1, 2), "w.npz"),
            (["evaluate", clf, "{W}/j-nan.jsonl"], (1,), "j-nan.jsonl:1"),
            (["evaluate", fc, "{W}/c-text.csv"], (1,), "c-text.csv"),
            (["evaluate", s2s, "{W}/j-empty-text.jsonl"], (0, 1), None)):
        cases.append(Case("--scheduler with hostile files (session 27)", [*args, *sched], expect, names=names,
                          output=args[args.index("-o") + 1] if "-o" in args and args[-1].startswith("{T}") else None,
                          timeout=300))
    for args in (["vocab", "{W}/corpus.txt"], ["predict", clf, "{W}/g.jsonl"]):
        cases.append(Case("--scheduler, stdout closed or a reader that goes away (session 27)", [*args, *sched], (0,),
                          stdout="head", timeout=300))
        cases.append(Case("--scheduler, stdout closed or a reader that goes away (session 27)", [*args, *sched], (1,),
                          stdout="closed", names="standard output", timeout=300))
        cases.append(Case("--scheduler, stdout closed or a reader that goes away (session 27)", [*args, *sched], (1,),
                          stdout="file:/dev/full", names="standard output", timeout=300))
    # RNNTOOLS_SCHEDULER and its timeout: every odd value
    for value, timeout_value, expect, names in (
            ("", None, (0,), None), ("none", None, (0,), None), ("NONE", None, (0,), None),
            (" local:1 ", None, (0,), None), ("local:0", None, (2,), "local:0"), ("local:-1", None, (2,), "local:-1"),
            ("local:x", None, (2,), "local:x"),
            ("local:1:2", None, (2,), "local:1:2"), ("local:99999", None, (2,), "local:99999"),
            ("tcp://127.0.0.1:1", "1", (1,), "127.0.0.1:1"), ("tcp://256.1.1.1:8786", "1", (1,), "256.1.1.1"),
            ("http://localhost:1", "1", (1, 2), "localhost:1"), ("inproc://nothing", "1", (1, 2), "inproc"),
            ("::::", "1", (1, 2), "::::"), ("tcp://[::1", "1", (1, 2), r"\[::1"),
            ("tcp://127.0.0.1:1", "0", (2,), "RNNTOOLS_SCHEDULER_TIMEOUT"),
            ("tcp://127.0.0.1:1", "nan", (2,), "RNNTOOLS_SCHEDULER_TIMEOUT"),
            ("tcp://127.0.0.1:1", "-1", (2,), "RNNTOOLS_SCHEDULER_TIMEOUT"),
            ("tcp://127.0.0.1:1", "1e9", (2,), "RNNTOOLS_SCHEDULER_TIMEOUT"),
            ("tcp://127.0.0.1:1", "", (1,), "127.0.0.1:1")):
        env = {"RNNTOOLS_SCHEDULER": value}
        if timeout_value is not None:
            env["RNNTOOLS_SCHEDULER_TIMEOUT"] = timeout_value
        for args in (["vocab", "{W}/docs.txt"], ["predict", clf, "{W}/g.jsonl"]):
            cases.append(Case("RNNTOOLS_SCHEDULER values (session 27)", args, expect, names=names, env=env,
                              timeout=300))
    # --scheduler given to a run that cannot use one, or with options that do not go together
    for args, expect in ((["sample", lm, "--scheduler", "local:1"], (2,)),
                         (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--scheduler",
                           "local:1"], (2,)),
                         (["predict", fc, "{W}/air.csv", "--format", "csv", "--scheduler", "local:1"], (2,)),
                         (["evaluate", w, "--analogies", "{W}/analogies.txt", "--scheduler", "local:1"], (2,)),
                         (["vocab", "--merge", "{W}/v.jsonl", "--scheduler", "local:1"], (0, 2)),
                         (["vocab", "{W}/docs.txt", "--scheduler", "local:1", "--threads", "256"], (0, 2))):
        cases.append(Case("--scheduler where it does not apply (session 27)", args, expect, names="--scheduler|"
                          "--format|--merge|--threads|no such option", timeout=300,
                          output="{T}/out.npz" if "-o" in args else None))
    # --- --quiet and --debug where a user puts them
    for args, expect, names in ((["vocab", "{T}/missing.txt"], (1,), "missing.txt"),
                                (["predict", "{W}/m-text.npz", "{W}/docs.txt"], (1,), "m-text.npz"),
                                (["rnn-train", "--task", "lm", "{W}/empty.txt", "-o", "{T}/out.npz", *TINY], (1,),
                                 "empty.txt"),
                                (["bow", "--vocab", "{W}/v.jsonl", "{W}/j-list.jsonl", "--text-field", "text"], (1,),
                                 "j-list.jsonl:1"),
                                (["sample", lm, "--temperature", "-1"], (2,), "--temperature")):
        for quiet in (["-q", *args], ["--quiet", *args], [args[0], "-q", *args[1:]], [*args, "--quiet"]):
            cases.append(Case("--quiet with an error (session 27)", quiet, expect, names=names,
                              output="{T}/out.npz" if "-o" in args else None))
    for args in (["vocab", "{W}/docs.txt"], ["predict", clf, "{W}/g.jsonl"], ["sample", lm, "--length", "5"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY],
                 ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim",
                  "8", "--threads", "1"], ["evaluate", fc, "{W}/air.csv", "--no-refit"],
                 ["plot", "log", "{W}/train-log.jsonl"]):
        cases.append(Case("--quiet says nothing on success (session 27)", ["-q", *args], (0,), quiet=True,
                          output="{T}/out.npz" if "-o" in args else None))
    # --- every task's options given to the others: a usage error naming the option, before any data is read
    task_options = {"lm": [["--seq-len", "7"], ["--eval-every", "2"]],
                    "classify": [["--pooling", "mean"], ["--class-weight", "balanced"], ["--wide", "none"],
                                 ["--wide-buckets", "64"], ["--no-residual"], ["--calibrate"], ["--bidirectional"],
                                 ["--label-field", "label"], ["--text-field", "text"]],
                    "forecast": [["--horizon", "3"], ["--lookback", "5"], ["--season", "4"],
                                 ["--strategy", "recursive"],
                                 ["--difference", "1"], ["--transform", "log"], ["--ensemble", "2"], ["--refit-all"],
                                 ["--select", "rnn"], ["--intervals", "80"], ["--freq", "M"], ["--missing", "ffill"],
                                 ["--covariates", "x"], ["--target", "y"], ["--timestamp-column", "t"],
                                 ["--id-column", "id"]],
                    "seq2seq": [["--attention", "dot"], ["--encoder-merge", "concat"], ["--encoder-layers", "2"],
                                ["--teacher-forcing", "0.5"], ["--label-smoothing", "0.1"],
                                ["--max-target-length", "9"],
                                ["--target-level", "word"], ["--shared-vocab"], ["--source-field", "source"],
                                ["--target-field", "target"], ["--embedding-dropout", "table"],
                                ["--budget-average", "0.5"]]}
    data = {"lm": "{W}/book.txt", "classify": "{W}/g.jsonl", "forecast": "{W}/air.csv", "seq2seq": "{W}/p.jsonl"}
    for task, path in data.items():
        for other, options in task_options.items():
            if other == task:
                continue
            for option in options:
                if (task, option[0]) in (("classify", "--seq-len"), ("seq2seq", "--bidirectional")):
                    continue  # a classifier cuts texts at --seq-len; seq2seq's encoder may read both ways
                cases.append(Case("another task's option (session 27)", ["rnn-train", "--task", task, path, "-o",
                                                                         "{T}/out.npz", *TINY, *option], (2,),
                                  names=option[0].replace("--no-", "--"), output="{T}/out.npz"))
    # predict and evaluate: the options of another kind of model
    kind_options = {"lm": (lm, "{W}/docs.txt", [["--top-k", "2"]]),
                    "clf": (clf, "{W}/g.jsonl", [["--top-k", "2"], ["--text-field", "text"]]),
                    "s2s": (s2s, "{W}/p.jsonl", [["--beam", "2"], ["--nbest", "2"], ["--max-length", "5"],
                                                 ["--length-norm", "0.5"], ["--source-field", "source"]]),
                    "fc": (fc, "{W}/air.csv", [["--horizon", "2"], ["--intervals", "80"], ["--format", "csv"],
                                               ["--freq", "M"], ["--missing", "ffill"], ["--target", "passengers"],
                                               ["--id-column", "x"], ["--timestamp-column", "month"]])}
    for kind, (model, path, _) in kind_options.items():
        for other, (_, _, options) in kind_options.items():
            for option in options:
                if other == kind or option in kind_options[kind][2] or (kind, option[0]) == ("lm", "--text-field"):
                    continue
                cases.append(Case("another kind's predict option (session 27)", ["predict", model, path, *option], (2,),
                                  names=option[0]))
    eval_options = {"lm": (lm, "{W}/docs.txt"), "clf": (clf, "{W}/g.jsonl"), "s2s": (s2s, "{W}/p.jsonl"),
                    "fc": (fc, "{W}/air.csv"), "w": (w, None)}
    eval_only = {"clf": [["--label-field", "label"]], "s2s": [["--target-field", "target"], ["--beam", "2"]],
                 "fc": [["--backtest", "2"], ["--no-refit"], ["--seed", "3"], ["--max-time", "5"]],
                 "w": [["--analogies", "{W}/analogies.txt"], ["--restrict", "5"], ["--case-sensitive"]]}
    for kind, (model, path) in eval_options.items():
        for other, options in eval_only.items():
            if other == kind:
                continue
            for option in options:
                args = ["evaluate", model, *([path] if path else []), *option]
                cases.append(Case("another kind's evaluate option (session 27)", args, (2,),
                                  names=option[0].replace("--no-", "--")))
    # --- forecast CSVs as spreadsheets and other tools write them
    base = [b"%d" % (100 + (i * 7) % 40 + i) for i in range(48)]
    odd_values = {"quoted": [b'"' + v + b'"' for v in base], "spaces": [b" " + v + b" " for v in base],
                  "plus": [b"+" + v for v in base], "exp": [v + b"e0" for v in base],
                  "decimals": [v + b".50" for v in base], "thousands": [b'"1,' + v + b'"' for v in base],
                  "hex": [b"0x%x" % int(v) for v in base], "underscore": [v[:1] + b"_" + v[1:] for v in base],
                  "na": [b"NA" if i % 7 == 3 else v for i, v in enumerate(base)],
                  "empty": [b"" if i % 7 == 3 else v for i, v in enumerate(base)],
                  "null": [b"null" if i % 7 == 3 else v for i, v in enumerate(base)],
                  "nan-word": [b"NaN" if i % 7 == 3 else v for i, v in enumerate(base)],
                  "inf": [b"Infinity" if i == 20 else v for i, v in enumerate(base)],
                  "negative": [b"-" + v for v in base], "zeros": [b"0" for _ in base],
                  "tiny": [b"1e-300" for _ in base], "mixed-huge": [b"1e300" if i % 2 else b"1" for i in range(48)],
                  "dash": [b"-" if i % 7 == 3 else v for i, v in enumerate(base)],
                  "percent": [v + b"%" for v in base], "currency": [b"$" + v for v in base],
                  "arabic": ["\u0661\u0662\u0663".encode() for _ in base], "fullwidth": ["\uff11\uff12".encode()
                                                                                       for _ in base],
                  "bool": [b"true" if i % 2 else b"false" for i in range(48)]}
    stamps = [b"%d-%02d" % (1949 + i // 12, 1 + i % 12) for i in range(48)]
    odd_stamps = {"iso-z": [b"%d-%02d-01T00:00:00Z" % (1949 + i // 12, 1 + i % 12) for i in range(48)],
                  "slashes": [b"%02d/01/%d" % (1 + i % 12, 1949 + i // 12) for i in range(48)],
                  "excel": [b"%d" % (17899 + 30 * i) for i in range(48)],
                  "epoch": [b"%d" % (-662688000 + 2629800 * i) for i in range(48)],
                  "epoch-float": [b"%d.0" % (-662688000 + 2629800 * i) for i in range(48)],
                  "year-only": [b"%d" % (1900 + i) for i in range(48)],
                  "quarters": [b"%dQ%d" % (1949 + i // 4, 1 + i % 4) for i in range(48)],
                  "mixed-offsets": [b"1949-%02d-01T00:00:00%s" % (1 + i % 12, b"+01:00" if i % 2 else b"-05:00")
                                    for i in range(12)] * 4,
                  "descending": stamps[::-1], "gap": stamps[:20] + stamps[30:] + stamps[20:30],
                  "spaces": [b" " + t + b" " for t in stamps], "empty-stamp": [b"" if i == 10 else t
                                                                               for i, t in enumerate(stamps)],
                  "month-names": [b"%s %d" % ([b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep",
                                               b"Oct", b"Nov", b"Dec"][i % 12], 1949 + i // 12) for i in range(48)]}
    files = {}
    for name, values in odd_values.items():
        files[f"f-{name}.csv"] = _csv_series(values, stamps)
    for name, st in odd_stamps.items():
        files[f"f-t-{name}.csv"] = _csv_series(base, st)
    files["f-bom-crlf.csv"] = b"\xef\xbb\xbf" + _csv_series(base, stamps).replace(b"\n", b"\r\n")
    files["f-tabs.csv"] = _csv_series(base, stamps).replace(b",", b"\t")
    files["f-pipes.csv"] = _csv_series(base, stamps).replace(b",", b"|")
    files["f-semicolon-comma.csv"] = _csv_series([v + b",5" for v in base], stamps).replace(b",", b";", 48 + 1)
    files["f-header-spaces.csv"] = _csv_series(base, stamps, b" month , passengers ")
    files["f-header-quoted.csv"] = _csv_series(base, stamps, b'"month","passengers"')
    files["f-header-case.csv"] = _csv_series(base, stamps, b"Month,Passengers")
    files["f-no-header.csv"] = _csv_series(base, stamps, b"1948-12,99")
    files["f-index.csv"] = b",month,passengers\n" + b"".join(b"%d,%s,%s\n" % (i, t, v) for i, (t, v)
                                                             in enumerate(zip(stamps, base)))
    files["f-utf16.csv"] = _csv_series(base, stamps).decode().encode("utf-16")
    files["f-comment.csv"] = b"# exported by a tool\n" + _csv_series(base, stamps)
    files["f-trailer.csv"] = _csv_series(base, stamps) + b"Total,5000\n"
    files["f-nul-end.csv"] = _csv_series(base, stamps) + b"\x00" * 100
    files["f-one-value.csv"] = _csv_series(base[:1], stamps[:1])
    files["f-two-values.csv"] = _csv_series(base[:2], stamps[:2])
    for name in sorted(files):
        setup = _files_in_tmp({name: files[name]})
        for args in (["rnn-train", "--task", "forecast", "{T}/" + name, "-o", "{T}/out.npz", *TINY],
                     ["predict", fc, "{T}/" + name], ["evaluate", fc, "{T}/" + name, "--no-refit"]):
            cases.append(Case("forecast CSV as other tools write it (session 27)", args, (0, 1), names=name,
                              output="{T}/out.npz" if "-o" in args else None, setup=setup, timeout=200))
    # --- a model read from standard input, for every command that reads one
    for args, model in ((["sample", "-", "--length", "5"], "lm"), (["neighbors", "-", "the"], "w"),
                        (["export", "-"], "w"), (["evaluate", "-", "--analogies", "{W}/analogies.txt"], "w"),
                        (["predict", "-", "{W}/docs.txt"], "lm"), (["evaluate", "-", "{W}/docs.txt"], "lm"),
                        (["plot", "words", "-", "the"], "w"), (["neighbors", "-", "--input", "{W}/docs.txt"], "w")):
        cases.append(Case("a model on standard input (session 27)", args, (0,), stdin=b"@" + model.encode()))
    for args in (["sample", "-", "--length", "5"], ["predict", "-", "{W}/docs.txt"], ["neighbors", "-", "the"]):
        cases.append(Case("a model on standard input (session 27)", args, (1,), stdin=b"PK\x03\x04" + b"\x00" * 50,
                          names="standard input|<stdin>|-:"))
        cases.append(Case("a model on standard input (session 27)", args, (1,), stdin=b"", names="standard input|"
                                                                                                 "<stdin>|empty"))
    # --- --resume from another kind of model, from vectors, from damaged and foreign files
    for task, path in data.items():
        for model in (lm, clf, s2s, fc, w, "{W}/m-trunc.npz", "{W}/m-zip.npz", "{W}/v.jsonl", "{W}/empty.txt"):
            if os.path.basename(model).split(".")[0] == {"lm": "lm", "classify": "clf", "seq2seq": "s2s",
                                                          "forecast": "fc"}[task]:
                continue
            cases.append(Case("--resume from another kind of file (session 27)",
                              ["rnn-train", "--task", task, path, "--resume", model, "-o", "{T}/out.npz", *TINY],
                              (1, 2),
                              names=os.path.basename(model), output="{T}/out.npz"))
    for model in (lm, clf, w, "{W}/m-trunc.npz", "{W}/v.jsonl"):
        cases.append(Case("--resume from another kind of file (session 27)",
                          ["w2v-train", "{W}/corpus.txt", "--resume", model, "-o", "{T}/out.npz", "--epochs", "2",
                           "--threads", "1"], (1, 2), names=os.path.basename(model), output="{T}/out.npz"))
    # --- odd environments
    envs = [{"LANG": "C", "LC_ALL": "C"}, {"LC_ALL": "POSIX"}, {"LC_ALL": "xx_YY.UTF-8"}, {"LC_ALL": "tr_TR.UTF-8"},
            {"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1:strict"}, {"PYTHONUTF8": "0", "LANG": "C"},
            {"COLUMNS": "0"}, {"COLUMNS": "-5"}, {"COLUMNS": "abc"}, {"COLUMNS": "100000", "LINES": "0"},
            {"NO_COLOR": "1", "TERM": "dumb"}, {"FORCE_COLOR": "1", "TERM": "xterm-256color"},
            {"OMP_NUM_THREADS": "0"}, {"OMP_NUM_THREADS": "abc"}, {"OMP_NUM_THREADS": "1000"},
            {"OPENBLAS_NUM_THREADS": "-1"}, {"MKL_NUM_THREADS": "x"}, {"NUMBA_NUM_THREADS": "0"},
            {"NUMBA_NUM_THREADS": "abc"}, {"NUMBA_NUM_THREADS": "1000"}, {"NUMBA_THREADING_LAYER": "tbb"},
            {"NUMBA_THREADING_LAYER": "nonsense"}, {"NUMBA_CACHE_DIR": "/nonexistent/cache"},
            {"NUMBA_CACHE_DIR": "/dev/null"}, {"TMPDIR": "/nonexistent"}, {"HOME": "", "XDG_CACHE_HOME": ""},
            {"PYTHONHASHSEED": "random"}, {"PYTHONWARNINGS": "error::DeprecationWarning"},
            {"PYTHONOPTIMIZE": "2"}, {"PYTHONDONTWRITEBYTECODE": "1"}, {"PYTHONSAFEPATH": "1"}]
    env_runs = [["vocab", "{W}/j-emoji.jsonl", "--text-field", "text"],
                ["predict", clf, "{W}/j-emoji.jsonl"],
                ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "8",
                 "--threads", "2"]]
    for env in envs:
        for args in env_runs:
            expect = (0, 2) if any(k.startswith(("NUMBA_NUM", "NUMBA_THREADING")) for k in env) else (0,)
            cases.append(Case("odd environment (session 27)", args, expect, env=env, timeout=300,
                              names="|".join(env) if expect != (0,) else None,
                              output="{T}/out.npz" if "-o" in args else None))
    # --- edge values of the options with the fewest cases
    edges = [(["neighbors", w, "the", "-k", "1"], (0,)), (["neighbors", w, "the", "-k", "100000"], (0,)),
             (["neighbors", w, "the", "--restrict", "1"], (0, 1)), (["neighbors", w, "the", "--strict"], (0,)),
             (["neighbors", w, "zzzz", "--strict"], (1,)), (["neighbors", w, "the - a + of", "--method", "cosmul"],
                                                            (0, 1)),
             (["neighbors", w, "the - the + the", "--method", "cosmul", "--restrict", "2"], (0, 1)),
             (["evaluate", w, "--analogies", "{W}/analogies.txt", "--restrict", "1"], (0, 1)),
             (["evaluate", w, "--analogies", "{W}/analogies.txt", "--case-sensitive"], (0, 1)),
             (["evaluate", s2s, "{W}/p.jsonl", "--beam", "100"], (0,)),
             (["evaluate", s2s, "{W}/p.jsonl", "--max-length", "1"], (0,)),
             (["evaluate", s2s, "{W}/p.jsonl", "--length-norm", "0"], (0,)),
             (["evaluate", s2s, "{W}/p.jsonl", "--length-norm", "100"], (0,)),
             (["evaluate", fc, "{W}/air.csv", "--backtest", "1", "--no-refit", "--threads", "256"], (0,)),
             (["evaluate", fc, "{W}/air.csv", "--missing", "interpolate", "--no-refit"], (0,)),
             (["evaluate", fc, "{W}/c-nan.csv", "--missing", "ffill", "--no-refit"], (0, 1)),
             (["evaluate", fc, "{W}/air.csv", "--freq", "D", "--no-refit"], (0, 1, 2)),
             (["evaluate", fc, "{W}/air.csv", "--freq", "0M", "--no-refit"], (1, 2)),
             (["evaluate", fc, "{W}/air.csv", "--freq", "-1M", "--no-refit"], (1, 2)),
             (["evaluate", fc, "{W}/air.csv", "--freq", "1e3s", "--no-refit"], (0, 1, 2)),
             (["evaluate", fc, "{W}/air.csv", "--target", "month", "--no-refit"], (1, 2)),
             (["evaluate", fc, "{W}/air.csv", "--timestamp-column", "passengers", "--no-refit"], (1, 2)),
             (["evaluate", fc, "{W}/air.csv", "--id-column", "month", "--no-refit"], (0, 1, 2)),
             (["evaluate", clf, "{W}/g.jsonl", "--label-field", "text"], (2,)),
             (["evaluate", clf, "{W}/g.jsonl", "--text-field", "label"], (2,)),
             (["predict", fc, "{W}/air.csv", "--horizon", "1"], (0,)),
             (["predict", fc, "{W}/air.csv", "--horizon", "100000"], (0, 1, 2)),
             (["predict", fc, "{W}/air.csv", "--intervals", "80,80"], (0, 2)),
             (["predict", fc, "{W}/air.csv", "--intervals", "99.9"], (0, 2)),
             (["predict", fc, "{W}/air.csv", "--intervals", "100"], (2,)),
             (["predict", fc, "{W}/air.csv", "--intervals", "none"], (0,)),
             (["predict", fc, "{W}/air.csv", "--intervals", " 80 "], (0, 2)),
             (["predict", s2s, "{W}/p.jsonl", "--beam", "1", "--nbest", "5"], (0, 2)),
             (["predict", s2s, "{W}/p.jsonl", "--beam", "3", "--nbest", "100"], (0, 2)),
             (["predict", s2s, "{W}/p.jsonl", "--max-length", "1", "--beam", "5"], (0,)),
             (["predict", clf, "{W}/g.jsonl", "--top-k", "0"], (0, 2)),
             (["predict", clf, "{W}/g.jsonl", "--top-k", "100000"], (0,)),
             (["predict", clf, "{W}/g.jsonl", "--threads", "256"], (0,)),
             (["predict", lm, "{W}/docs.txt", "--top-k", "1"], (0, 2)),
             (["sample", lm, "--top-k", "1", "--length", "10"], (0,)),
             (["sample", lm, "--top-k", "100000", "--length", "10"], (0,)),
             (["sample", lm, "--temperature", "0", "--top-k", "0", "--length", "10"], (0,)),
             (["sample", lm, "--temperature", "1e-300", "--length", "10"], (0,)),
             (["sample", lm, "--temperature", "1000", "--length", "10"], (0, 2)),
             (["sample", lm, "--length", "1", "--count", "5", "--format", "jsonl"], (0,)),
             (["sample", lm, "--until", "", "--length", "10"], (0, 2)),
             (["sample", lm, "--until", "\\n\\n\\n", "--length", "10"], (0, 2)),
             (["sample", lm, "--prime", "", "--length", "10"], (0, 2)),
             (["sample", lm, "--prime", "\\", "--length", "10"], (0, 2)),
             (["sample", lm, "--prime", "\\x", "--length", "10"], (0, 2)),
             (["sample", lm, "--prime", "\\u00", "--length", "10"], (0, 2)),
             (["sample", lm, "--prompts", "{W}/empty.txt"], (0,)), (["sample", lm, "--prompts", "{W}/blank.txt"], (0,)),
             (["sample", lm, "--prompts", "/dev/null"], (0,)),
             (["vocab", "{W}/docs.txt", "--max-vocab", "1"], (0,)), (["vocab", "{W}/docs.txt", "--no-specials"], (0,)),
             (["vocab", "{W}/docs.txt", "--no-specials", "--max-vocab", "1"], (0,)),
             (["vocab", "{W}/docs.txt", "--min-count", "1000000"], (0, 1)),
             (["vocab", "{W}/docs.txt", "--level", "char", "--keep-case", "--lowercase"], (2,)),
             (["bow", "--vocab", "{T}/ns.jsonl", "{W}/docs.txt"], (0, 1)),
             (["bow", "--vocab", "{T}/ns.jsonl", "{W}/docs.txt", "--mode", "ids"], (0, 1)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "--vocab", "{T}/ns.jsonl", "--level", "word", "-o",
               "{T}/out.npz", *TINY], (0, 1)),
             (["phrases", "{W}/corpus.txt", "--keep-case", "--threshold", "0"], (0,)),
             (["phrases", "{W}/corpus.txt", "--min-count", "100000000"], (0,)),
             (["phrases", "{W}/corpus.txt", "--passes", "1000"], (0, 2)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--share-negatives", "--negative", "1", "--threads", "2"], (0,)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--no-share-negatives", "--loss", "hs"], (0, 2)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--subword", "1-1", "--buckets", "1"], (0,)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--subword", "5-3"], (2,)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--subword", "0-0"], (2,)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--subword", "3-1000"], (0, 2)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--subword", " 3 - 5 "], (0, 2)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--keep-case", "--arch", "cbow", "--window", "1000"], (0,)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--max-vocab", "1"], (0, 1)),
             (["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
               "--min-alpha", "1", "--alpha", "0.001"], (0, 2)),
             (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY, "--wide", "none",
               "--residual"], (0, 2)),
             (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY, "--wide-buckets", "1"],
              (0, 2)),
             (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY, "--calibrate",
               "--val-fraction", "0"], (0, 2)),
             (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY, "--pooling", "max",
               "--no-bidirectional", "--cell", "rnn", "--layers", "3"], (0,)),
             (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY, "--label-field", "text"],
              (2,)),
             (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY, "--text-field", "label",
               "--label-field", "label"], (0, 1, 2)),
             (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY, "--embedding-dropout",
               "table"], (0, 2)),
             (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY, "--max-target-length",
               "1"], (0, 1)),
             (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY, "--source-field", "target",
               "--target-field", "source"], (0,)),
             (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY, "--source-field", "source",
               "--target-field", "source"], (0, 2)),
             (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY, "--encoder-layers", "3",
               "--layers", "1"], (0, 2)),
             (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY, "--target-level", "word",
               "--shared-vocab"], (0, 2)),
             (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY, "--teacher-forcing", "0"],
              (0,)),
             (["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY, "--label-smoothing", "1"],
              (0, 2)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--seq-len", "1"], (0,)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--seq-len", "100000"], (0, 1)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--batch", "100000"],
              (0, 1, 2)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--eval-every", "1"], (0,)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--checkpoint-every",
               "100000"], (0,)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--min-count", "100000"],
              (0, 1)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--max-vocab", "1"], (0, 1, 2)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--embed-dim", "1",
               "--layers", "4", "--dropout", "0.99"], (2,)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--optimizer", "sgd", "--lr",
               "1000"], (0, 1)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--embeddings", w,
               "--freeze-embeddings"], (2,)),
             (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--embeddings", w, "--level",
               "word", "--freeze-embeddings"], (0,)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--lookback", "1"], (0,)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--lookback", "100000"],
              (1, 2)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--horizon", "100000"],
              (1, 2)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--season", "1"], (0, 2)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--season", "100000"],
              (0, 1, 2)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--refit-all",
               "--ensemble", "3", "--select", "rnn"], (0,)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--difference", "season",
               "--season", "12", "--transform", "log", "--strategy", "recursive"], (0,)),
             (["rnn-train", "--task", "forecast", "{T}/f-negative.csv", "-o", "{T}/out.npz", *TINY, "--transform",
               "log"], (0,)),  # log1p of the values less their floor
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--covariates",
               "passengers,passengers"], (2,)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--freq", "M",
               "--missing", "interpolate"], (0,)),
             (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY, "--intervals", "50,80,95,"
               "99"], (0,)),
             (["plot", "words", w, "the", "--width", "300", "--height", "300"], (0,)),
             (["plot", "words", w, "the", "--width", "1", "--height", "1"], (0, 2)),
             (["plot", "log", "{W}/train-log.jsonl", "--width", "1", "--height", "1"], (0, 2)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--width", "5", "--height", "2"], (0, 2)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "{W}/air.csv", "--last", "1"], (0, 2)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "{W}/air.csv", "--last", "100000"], (0, 2)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "{W}/c-text.csv"], (1,)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "{W}/air.csv", "--target", "nope"], (1, 2)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "{W}/air.csv", "--timestamp-column", "nope"],
              (1, 2)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "{W}/air.csv", "--id-column", "nope"], (1, 2)),
             (["plot", "forecast", "{W}/fc-pred.jsonl", "--id-column", "x"], (0, 2)),
             (["plot", "confusion", "{W}/conf.json", "--width", "1", "--height", "1"], (0, 2)),
             (["plot", "confusion", "{W}/conf.json", "-o", "{T}/out.svg"], (0,)),
             (["import", "{W}/vec-ok.txt", "--format", "glove-text", "-o", "{T}/out.npz"], (0, 1)),
             (["import", "{W}/vec-ok.txt", "--format", "word2vec-binary", "-o", "{T}/out.npz"], (1,)),
             (["import", "{W}/vec-bin-trunc.bin", "--format", "word2vec-text", "-o", "{T}/out.npz"], (1,)),
             (["export", w, "--words", "/dev/null"], (0, 1)), (["export", w, "--words", "{W}/empty.txt"], (0, 1)),
             (["export", w, "--words", "{W}/docs.txt"], (0, 1))]
    for args, expect in edges:
        setup = None
        if "{T}/ns.jsonl" in args:
            setup = _files_in_tmp({"ns.jsonl": b'{"format": "rnntools-vocab", "version": 1, "level": "word"}\n'
                                               b'{"token": "the", "count": 2}\n{"token": "cat", "count": 1}\n'})
        if "{T}/f-negative.csv" in args:
            setup = _files_in_tmp({"f-negative.csv": files["f-negative.csv"]})
        cases.append(Case("option at its edge (session 27)", args, expect, timeout=300, setup=setup,
                          output="{T}/out.npz" if "{T}/out.npz" in args else None))
    # --- odd output names: too long, a newline in it, starting with a dash, a trailing space
    long_name = "{T}/" + "x" * 300 + ".npz"
    for args in (["vocab", "{W}/docs.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"],
                 ["phrases", "{W}/corpus.txt"], ["export", w], ["import", "{W}/vec-ok.txt"],
                 ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1", "--dim", "4", "--threads", "1"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", *TINY], ["sample", lm, "--length", "5"],
                 ["predict", clf, "{W}/g.jsonl"], ["evaluate", lm, "{W}/docs.txt"],
                 ["plot", "log", "{W}/train-log.jsonl"], ["neighbors", w, "the"]):
        suffix = ".npz" if args[0] in ("import", "w2v-train", "rnn-train") else ".txt"
        cases.append(Case("an output name too long (session 27)", [*args, "-o", long_name], (1, 2), names="xxxx"))
        cases.append(Case("an output name with a line break (session 27)", [*args, "-o", "{T}/a\nb" + suffix], (0,),
                          output="{T}/a\nb" + suffix))
        cases.append(Case("an output name that starts with a dash (session 27)", [*args, "-o", "-x" + suffix], (0,),
                          output="{T}/-x" + suffix))
    for args in (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY],
                 ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim",
                  "4", "--threads", "1"]):
        cases.append(Case("a training log name too long (session 27)", [*args, "--log", "{T}/" + "y" * 300], (1, 2),
                          names="yyyy", output="{T}/out.npz"))
        cases.append(Case("a training log to standard output (session 27)", [*args, "--log", "-"], (0,),
                          output="{T}/out.npz", says=r'^\{"event": "(start|vocab)"'))
        for log in ("-", "/dev/stdout"):  # a reader that goes away: training stops, the model so far kept
            cases.append(Case("a training log to standard output (session 27)", [*args, "--log", log], (0, 1),
                              output="{T}/out.npz", stdout="head", names="training log"))
    # --- SIGTERM and SIGHUP to a job whose SIGINT is ignored (a script's `cmd &`), at several moments
    for args in (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--hidden", "32", "--epochs",
                  "1000", "--threads", "1"], ["vocab", "{W}/million.txt", "--threads", "2", "-o", "{T}/out.jsonl"],
                 ["w2v-train", "{W}/corpus.txt", "--min-count", "1", "--epochs", "1000", "-o", "{T}/out.npz"],
                 ["predict", s2s, "{W}/p.jsonl", "--beam", "8", "-o", "{T}/out.jsonl"]):
        for sig in (signal.SIGTERM, signal.SIGHUP):
            for delay in (0.6, 1.5, 4.0):
                cases.append(Case(f"{signal.Signals(sig).name} with SIGINT ignored (session 27)", args,
                                  (128 + sig, 0), signal=sig, delay=delay, output=args[args.index("-o") + 1],
                                  timeout=300, sigint_ignored=True))
    for module in ("rnntools.cli.common", "rnntools.console", "click"):
        for sig in (signal.SIGTERM, signal.SIGHUP):
            cases.append(Case(f"{signal.Signals(sig).name} with SIGINT ignored (session 27)",
                              ["vocab", "{W}/docs.txt", "-o", "{T}/out.jsonl"], (128 + sig,), signal=sig,
                              signal_when="{T}/importing", output="{T}/out.jsonl", sigint_ignored=True,
                              setup=_files_in_tmp({"sitecustomize.py": _SLOW_IMPORT.encode()}),
                              env={"PYTHONPATH": "{T}:{TREE}", "RNNTOOLS_PROBE_SLOW_IMPORT": module,
                                   "RNNTOOLS_PROBE_IMPORTING": "{T}/importing"}))
    # --- concurrent runs: two resumes of one model in place, one training log for three runs
    for args in (["rnn-train", "--task", "lm", "{W}/book.txt", "--resume", "{T}/m.npz", "-o", "{T}/m.npz",
                  "--max-steps", "3", "--threads", "1"],
                 ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--log", "{T}/log.jsonl"],
                 ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim",
                  "4", "--threads", "1", "--log", "{T}/log.jsonl"]):
        cases.append(Case("concurrent runs on one model or log (session 27)", args, (0,), concurrent=3,
                          output="{T}/log.jsonl" if "--log" in args else "{T}/m.npz", timeout=400,
                          setup=_copy_in_tmp({"m.npz": "lm.npz"})))
    return cases


# --- session 28 ---------------------------------------------------------------------------------------------

def _unicode_texts() -> dict:
    """Texts in scripts whose words hold combining marks (Devanagari vowel signs, Hebrew points, Arabic
    harakat, Tamil), the same Latin words in NFC and NFD, marks piled on one letter, only emoji, only
    punctuation, bidirectional controls; 200 lines each."""
    import unicodedata

    latin = "café naïve résumé coöperate élan\n"
    texts = {"hindi": "हिन्दी भाषा बहुत सुंदर है\n", "hebrew": "שָׁלוֹם עוֹלָם טוֹב\n",
             "arabic": "مَرْحَبًا بِالْعَالَمِ الْجَمِيلِ\n", "tamil": "தமிழ் மொழி அழகானது\n",
             "nfc": unicodedata.normalize("NFC", latin), "nfd": unicodedata.normalize("NFD", latin),
             "zalgo": "a" + "\u0301\u0302\u0303" * 30 + " b\n", "emoji": "\U0001F600 \U0001F44D\U0001F3FD "
             "\U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F1EB\U0001F1F7\n",
             "punct": "!!! ??? ... ,,, ;;; --- ***\n", "bidi": "abc \u202edef\u202c \u200fghi \u2067jkl\u2069\n"}
    return {f"u-{k}.txt": (v * 200).encode() for k, v in texts.items()}


def _csv_rows(values, header=b"month,passengers") -> bytes:
    return header + b"\n" + b"".join(b"%04d-%02d,%s\n" % (1949 + i // 12, i % 12 + 1, v) for i, v in enumerate(values))


def _extreme_files() -> dict:
    """Valid but extreme inputs: one word, millions of empty lines, classify sets of 1, 2 and 1,000 labels,
    forecast series of one point, constant, huge, tiny, spiky, many short series, many columns."""
    files = {"x-oneword.txt": b"the\n" * 3000, "x-onewordline.txt": (b"the " * 50 + b"\n") * 100,
             "x-emptylines.txt": b"\n" * 2_000_000, "x-onechar.txt": b"a" * 100_000 + b"\n"}
    texts = ["a large wild cat", "a person who plays", "a tool for cutting", "food made from grain"]
    recs = [{"text": texts[i % 4] + f" w{i // 2}", "label": f"L{i // 2}"} for i in range(2000)]
    files["x-1000class.jsonl"] = "".join(json.dumps(r) + "\n" for r in recs).encode()
    files["x-oneclass.jsonl"] = "".join(json.dumps({"text": t, "label": "x"}) + "\n" for t in texts * 10).encode()
    files["x-tworecs.jsonl"] = b'{"text": "a cat", "label": "a"}\n{"text": "a dog", "label": "b"}\n'
    files["x-intlabels.jsonl"] = "".join(json.dumps({"text": t, "label": i % 3}) + "\n"
                                         for i, t in enumerate(texts * 10)).encode()
    files["x-hindi.jsonl"] = "".join(json.dumps({"text": ("हिन्दी भाषा" if i % 2 else "english words") + f" {i}",
                                                 "label": "hi" if i % 2 else "en"}, ensure_ascii=False) + "\n"
                                     for i in range(60)).encode()
    files["x-pairs-marks.jsonl"] = "".join(json.dumps({"source": w, "target": w[::-1]}, ensure_ascii=False) + "\n"
                                           for w in ["हिन्दी", "भाषा", "café", "naïve", "שָׁלוֹם", "😀👍"] * 10).encode()
    files["f-allnan1.csv"] = _csv_rows([b""] * 47 + [b"5"])
    files["f-const308.csv"] = _csv_rows([b"1e308"] * 48)
    files["f-tinyvar.csv"] = _csv_rows([b"%.10f" % (1e9 + 1e-7 * (i % 3)) for i in range(48)])
    files["f-spike.csv"] = _csv_rows([b"0"] * 30 + [b"1e15"] + [b"0"] * 17)
    files["f-subnormal.csv"] = _csv_rows([b"5e-324"] * 48)
    files["f-bigint.csv"] = _csv_rows([b"9007199254740993"] * 48)
    files["f-short20.csv"] = _csv_rows([b"%d" % (100 + i) for i in range(20)])
    files["f-alt.csv"] = _csv_rows([b"1e150" if i % 2 else b"-1e150" for i in range(48)])
    files["f-many.csv"] = b"id,month,y\n" + b"".join(b"s%d,2020-%02d,%d\n" % (s, i + 1, s + i) for s in range(1000)
                                                     for i in range(4))
    files["f-wide.csv"] = (b"month," + b",".join(b"c%d" % i for i in range(300)) + b"\n"
                           + b"".join(b"%04d-%02d," % (2000 + i // 12, i % 12 + 1)
                                      + b",".join(b"%d" % (i + j) for j in range(300)) + b"\n" for i in range(48)))
    files["f-long-enough.csv"] = _csv_rows([b"%d" % (100 + (i * 7) % 13 + i) for i in range(60)])
    return files


def _array_edited_in_tmp(model: str, name: str, how: str):
    """A setup: {T}/m.npz, the world's MODEL with array NAME changed (its metadata entry made to agree):
    ``bool``/``str``/``complex`` dtypes, ``scalar`` (0-d), ``short`` (one less along the last axis), ``empty``,
    ``3d`` (an extra axis), ``missing`` (gone, and gone from the metadata too)."""
    import numpy as np

    def setup(tmp):
        with np.load(os.path.join(_STATE["world"], model), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
        a = arrays[name]
        new = {"bool": lambda: a.astype(bool), "str": lambda: a.astype("U12"),
               "complex": lambda: a.astype(np.complex64), "scalar": lambda: np.array(a.reshape(-1)[0], a.dtype),
               "short": lambda: a[..., :-1], "empty": lambda: a[:0], "3d": lambda: a.reshape(a.shape + (1,)),
               "missing": lambda: None}[how]()
        if new is None:
            del arrays[name]
            meta["arrays"].pop(name, None)
        else:
            arrays[name] = new
            meta["arrays"][name] = {"shape": list(new.shape), "dtype": new.dtype.str}
        np.savez(os.path.join(tmp, "m.npz"), meta=np.array(json.dumps(meta)), **arrays)
    return setup


def _meta_entry_in_tmp(model: str, value):
    """A setup: {T}/m.npz, the world's MODEL whose `meta` entry is VALUE (an array of another type or shape)."""
    import numpy as np

    def setup(tmp):
        with np.load(os.path.join(_STATE["world"], model), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        text = str(arrays.pop("meta"))
        arrays["meta"] = value(text) if callable(value) else value
        np.savez(os.path.join(tmp, "m.npz"), **arrays)
    return setup


def _vanishing_folder(trigger: str, what: str = "remove"):
    """A setup that makes {T}/d (and {T}/d/keep) and forks a watcher: once TRIGGER ({T}/...) has two lines, the
    folder is removed (``remove``), replaced by a file (``file``) or renamed away (``rename``)."""
    def setup(tmp):
        folder = os.path.join(tmp, "d")
        os.mkdir(folder)
        pid = os.fork()
        if pid == 0:
            try:
                path = trigger.replace("{T}", tmp)
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline:
                    try:
                        with open(path, "rb") as f:
                            if f.read().count(b"\n") >= 2:
                                break
                    except OSError:
                        pass
                    time.sleep(0.05)
                if what == "rename":
                    os.rename(folder, os.path.join(tmp, "d-gone"))
                else:
                    shutil.rmtree(folder, ignore_errors=True)
                    if what == "file":
                        with open(folder, "wb") as f:
                            f.write(b"not a folder\n")
            finally:
                os._exit(0)
        return pid
    return setup


def _fifo_vanishing_folder(data: bytes):
    """A setup: {T}/d, and {T}/in a FIFO whose writer writes half of DATA, removes {T}/d, then the rest."""
    def setup(tmp):
        os.mkdir(os.path.join(tmp, "d"))
        path = os.path.join(tmp, "in")
        os.mkfifo(path)
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(path, os.O_WRONLY)
                half = data.rfind(b"\n", 0, len(data) // 2) + 1
                os.write(fd, data[:half])
                time.sleep(1.0)
                shutil.rmtree(os.path.join(tmp, "d"), ignore_errors=True)
                time.sleep(0.3)
                view = memoryview(data)[half:]
                while view:
                    view = view[os.write(fd, view):]
                os.close(fd)
            finally:
                os._exit(0)
        return pid
    return setup


def _background_trainer(model: str, args: list):
    """A setup: {T}/m.npz (a copy of the world's MODEL) and a forked rnntools run of ARGS that keeps replacing
    it (--resume {T}/m.npz -o {T}/m.npz --checkpoint-every 1); the case runs while it writes."""
    def setup(tmp):
        shutil.copyfile(os.path.join(_STATE["world"], model), os.path.join(tmp, "m.npz"))
        full = [a.replace("{W}", _STATE["world"]).replace("{T}", tmp) for a in args]
        env = {**os.environ, "PYTHONPATH": _STATE["tree"]}
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.execve(sys.executable, [sys.executable, "-m", "rnntools", *full], env)
            finally:
                os._exit(127)
        # let it start writing: its first checkpoint
        first = os.stat(os.path.join(tmp, "m.npz")).st_mtime_ns
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if os.stat(os.path.join(tmp, "m.npz")).st_mtime_ns != first:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        return pid
    return setup


def session28_cases() -> list[Case]:
    """An outside tester's list (session 28), from what the groups above tried least: valid but extreme inputs
    (one word, two million empty lines, classify sets of one and 1,000 labels, forecast series of one point, of
    1e308, constant, spiky), scripts whose words hold combining marks and NFC/NFD text, model arrays of the wrong
    dtype or shape with metadata that agrees, standard streams that are folders, write-only or read-only
    descriptors, readers that go away after N bytes, a standard error whose reader went away, each documented
    exit status per command (signals while it waits for standard input), output folders that vanish mid-run,
    readers of a model another run keeps replacing, and concurrent writers of every output kind."""
    lm, clf, s2s, fc, w = (MODELS[k] for k in ("lm", "clf", "s2s", "fc", "w"))
    cases = []
    uni = _unicode_texts()
    ext = _extreme_files()
    files = {**uni, **ext}

    def put(*names):
        return _files_in_tmp({n: files[n] for n in names})

    # --- scripts with combining marks: the words are whole (a word is letters, digits and their marks), and the
    # same word in NFC and NFD is one word
    whole = {"u-hindi.txt": "हिन्दी", "u-hebrew.txt": "שָׁלוֹם", "u-arabic.txt": "مَرْحَبًا", "u-tamil.txt": "தமிழ்",
             "u-nfd.txt": "café", "u-nfc.txt": "naïve"}
    for name, word in whole.items():
        pattern = re.escape(json.dumps(word, ensure_ascii=False)[1:-1])
        cases.append(Case("words with combining marks (session 28)", ["vocab", "{T}/" + name], (0,),
                          says=rf'"token": "{pattern}"', setup=put(name)))
        cases.append(Case("words with combining marks (session 28)", ["vocab", "{T}/" + name, "--scheduler", "local:1"],
                          (0,), says=rf'"token": "{pattern}"', setup=put(name), timeout=300))
        cases.append(Case("words with combining marks (session 28)", ["phrases", "{T}/" + name, "--min-count", "1",
                                                                       "--threshold", "1e9"], (0,),
                          says=re.escape(word) if name != "u-nfd.txt" else re.escape("café"), setup=put(name)))
        cases.append(Case("words with combining marks (session 28)",
                          ["w2v-train", "{T}/" + name, "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1",
                           "--dim", "4", "--threads", "1"], (0,), output="{T}/out.npz", setup=put(name)))
    # a vectors file trained on NFD text answers an NFC query and the other way round; bow's ids for NFD text
    # from an NFC vocabulary
    for train, query in (("u-nfd.txt", "caf\u00e9"), ("u-nfc.txt", "cafe\u0301"), ("u-hindi.txt", "भाषा")):
        cases.append(Case("words with combining marks (session 28)",
                          ["sh", "-c", "python -m rnntools w2v-train \"$0\" -o v.npz --min-count 1 --epochs 1 --dim 4 "
                           "--threads 1 -q && python -m rnntools neighbors v.npz \"$1\" -k 1", "{T}/" + train, query],
                          (0,), says=r'"neighbors": \[\{"token"', setup=put(train)))
    for text in ("u-nfd.txt", "u-nfc.txt"):
        other = "u-nfc.txt" if text == "u-nfd.txt" else "u-nfd.txt"
        cases.append(Case("words with combining marks (session 28)",
                          ["sh", "-c", "python -m rnntools vocab \"$0\" -o v.jsonl && python -m rnntools bow --vocab "
                           "v.jsonl \"$1\" --mode ids | head -1", "{T}/" + text, "{T}/" + other], (0,),
                          says=r'^\{"ids": \[(?!.*\b1\b)[0-9, ]+\]\}', setup=put(text, other)))
    # the classifier and the seq2seq model on such words; the LM's word level; sample primed with a mark
    cases.append(Case("words with combining marks (session 28)",
                      ["sh", "-c", "python -m rnntools rnn-train --task classify \"$0\" -o m.npz --hidden 8 "
                       "--max-steps 3 --threads 1 -q && printf '%s\\n' '{\"text\": \"हिन्दी\"}' | "
                       "python -m rnntools predict m.npz", "{T}/x-hindi.jsonl"], (0,), says=r'"label": "hi"',
                      setup=put("x-hindi.jsonl"), timeout=150))
    cases.append(Case("words with combining marks (session 28)",
                      ["rnn-train", "--task", "seq2seq", "{T}/x-pairs-marks.jsonl", "-o", "{T}/out.npz", *TINY],
                      (0,), output="{T}/out.npz", setup=put("x-pairs-marks.jsonl")))
    cases.append(Case("words with combining marks (session 28)",
                      ["rnn-train", "--task", "seq2seq", "{T}/x-pairs-marks.jsonl", "-o", "{T}/out.npz",
                       "--target-level", "word", *TINY], (0,), output="{T}/out.npz", setup=put("x-pairs-marks.jsonl")))
    for name in uni:
        for args, expect in ((["vocab", "--level", "char", "{T}/" + name], (0,)),
                             (["bow", "--vocab", "{W}/v.jsonl", "{T}/" + name], (0,)),
                             (["predict", lm, "{T}/" + name], (0,)), (["evaluate", lm, "{T}/" + name], (0,)),
                             (["predict", clf, "{T}/" + name], (0,)), (["predict", s2s, "{T}/" + name], (0,)),
                             (["neighbors", w, "--input", "{T}/" + name], (0,)),
                             (["rnn-train", "--task", "lm", "{T}/" + name, "-o", "{T}/out.npz", *TINY], (0,)),
                             (["rnn-train", "--task", "lm", "--level", "word", "{T}/" + name, "-o", "{T}/out.npz",
                               *TINY], (0, 1)),
                             (["vocab", "{T}/" + name], (0, 1)),
                             (["w2v-train", "{T}/" + name, "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1",
                               "--dim", "4", "--threads", "1"], (0, 1))):
            if name in ("u-emoji.txt", "u-punct.txt") and args[0] in ("vocab", "w2v-train") and "char" not in args:
                expect = (1,)  # no letters or digits: "no words found", by design
            cases.append(Case("text in other scripts (session 28)", args, expect, setup=put(name),
                              names=name if expect == (1,) else None, strict_json=args[0] in ("predict", "evaluate"),
                              output="{T}/out.npz" if "-o" in args else None, timeout=150))
    for prime in ("\u00e9", "e\u0301", "\U0001F600", "\u05e9\u05b8", "\u202e"):
        cases.append(Case("text in other scripts (session 28)", ["sample", lm, "--prime", prime, "--length", "20"],
                          (0,)))
    # --- valid but extreme inputs
    for args, expect, name in (
            (["vocab", "{T}/x-oneword.txt"], (0,), None), (["phrases", "{T}/x-oneword.txt"], (0,), None),
            (["bow", "--vocab", "{W}/v.jsonl", "{T}/x-oneword.txt"], (0,), None),
            (["w2v-train", "{T}/x-oneword.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4",
              "--threads", "1"], (0, 1), "x-oneword.txt"),
            (["w2v-train", "{T}/x-onewordline.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "2", "--dim",
              "4", "--threads", "2", "--arch", "cbow"], (0, 1), "x-onewordline.txt"),
            (["w2v-train", "{T}/x-onewordline.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim",
              "4", "--loss", "hs"], (0, 1), "x-onewordline.txt"),
            (["w2v-train", "{T}/x-onewordline.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim",
              "4", "--subword", "1-2"], (0, 1), "x-onewordline.txt"),
            (["rnn-train", "--task", "lm", "--level", "word", "{T}/x-onewordline.txt", "-o", "{T}/out.npz", *TINY],
             (0, 1), "x-onewordline.txt"),
            (["rnn-train", "--task", "lm", "{T}/x-onechar.txt", "-o", "{T}/out.npz", *TINY], (0,), None),
            (["vocab", "{T}/x-emptylines.txt"], (1,), "x-emptylines.txt"),
            (["bow", "--vocab", "{W}/v.jsonl", "{T}/x-emptylines.txt"], (0,), None),
            (["predict", lm, "{T}/x-emptylines.txt"], (0,), None),
            (["predict", clf, "{T}/x-emptylines.txt"], (0,), None),
            (["neighbors", w, "--input", "{T}/x-emptylines.txt"], (0,), None),
            (["rnn-train", "--task", "lm", "{T}/x-emptylines.txt", "-o", "{T}/out.npz", *TINY], (0, 1),
             "x-emptylines.txt"),
            (["w2v-train", "{T}/x-emptylines.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1"], (1,),
             "x-emptylines.txt"),
            (["rnn-train", "--task", "classify", "{T}/x-1000class.jsonl", "-o", "{T}/out.npz", *TINY], (0,), None),
            (["rnn-train", "--task", "classify", "{T}/x-oneclass.jsonl", "-o", "{T}/out.npz", *TINY], (1,),
             "x-oneclass.jsonl"),
            (["rnn-train", "--task", "classify", "{T}/x-tworecs.jsonl", "-o", "{T}/out.npz", *TINY], (0, 1),
             "x-tworecs.jsonl"),
            (["rnn-train", "--task", "classify", "{T}/x-intlabels.jsonl", "-o", "{T}/out.npz", *TINY], (0,), None),
            (["rnn-train", "--task", "classify", "{T}/x-intlabels.jsonl", "-o", "{T}/out.npz", *TINY, "--calibrate"],
             (0, 1), "x-intlabels.jsonl"),
            (["evaluate", clf, "{T}/x-oneclass.jsonl"], (0,), None),
            (["evaluate", clf, "{T}/x-1000class.jsonl"], (0,), None),
            (["evaluate", clf, "{T}/x-intlabels.jsonl"], (0,), None)):
        needed = [n for n in files if "{T}/" + n in args]
        cases.append(Case("valid but extreme input (session 28)", args, expect, names=name if expect == (1,) else name,
                          setup=put(*needed), output="{T}/out.npz" if "-o" in args else None, timeout=300,
                          strict_json=args[0] in ("predict", "evaluate")))
    for name, expect_train, expect_fc in (
            ("f-allnan1.csv", (1,), (1,)), ("f-const308.csv", (1,), (1,)), ("f-tinyvar.csv", (0,), (0,)),
            ("f-spike.csv", (0,), (0,)), ("f-subnormal.csv", (0,), (0,)), ("f-bigint.csv", (0,), (0,)),
            # (20 monthly values: forecast by a statistical method, trained on or not: the world's model forecasts a
            # series it has not seen by its default method, a statistical one, which needs no window)
            ("f-short20.csv", (0,), (0,)), ("f-alt.csv", (0, 1), (0, 1)), ("f-many.csv", (1,), (1,)),
            ("f-wide.csv", (0,), (0,))):
        cases.append(Case("valid but extreme series (session 28)", ["rnn-train", "--task", "forecast", "{T}/" + name,
                                                                     "-o", "{T}/out.npz", *TINY], expect_train,
                          names=name, setup=put(name), output="{T}/out.npz", timeout=300))
        cases.append(Case("valid but extreme series (session 28)", ["predict", fc, "{T}/" + name], expect_fc,
                          names=name, setup=put(name), strict_json=True, timeout=150))
        cases.append(Case("valid but extreme series (session 28)", ["evaluate", fc, "{T}/" + name, "--no-refit"],
                          expect_fc if expect_fc == (1,) else (0, 1), names=name, setup=put(name), strict_json=True,
                          timeout=150))
        cases.append(Case("valid but extreme series (session 28)",
                          ["sh", "-c", "python -m rnntools rnn-train --task forecast \"$0\" -o m.npz --hidden 8 "
                           "--max-steps 3 --threads 1 -q && python -m rnntools predict m.npz \"$0\" --format csv",
                           "{T}/" + name], expect_train, setup=put(name), timeout=300))
    for args, expect in ((["--horizon", "0"], (2,)), (["--season", "59"], (0, 1, 2)), (["--season", "61"], (0, 1, 2)),
                         (["--lookback", "59"], (0, 1, 2)), (["--horizon", "59"], (0, 1, 2)),
                         (["--horizon", "1", "--lookback", "1", "--season", "1"], (0, 2))):
        cases.append(Case("valid but extreme series (session 28)",
                          ["rnn-train", "--task", "forecast", "{T}/f-long-enough.csv", "-o", "{T}/out.npz", *TINY,
                           *args], expect, names=args[0], setup=put("f-long-enough.csv"), output="{T}/out.npz",
                          timeout=300))
    # --- model arrays of another dtype or shape, with metadata that agrees
    arrays = {"lm.npz": ["embed.W", "rnn.0.W", "rnn.0.b", "out.W", "out.b"],
              "clf.npz": ["embed.W", "enc.f0.0.W", "out.b", "wide.W", "wide.idf", "wide.b"],
              "s2s.npz": ["enc.embed.W", "enc.0.W", "dec.0.bn", "att.Wa", "out.W", "out.b"],
              "fc.npz": ["m0.rnn.0.W", "m0.out.b", "interval_q", "interval_q.ltheta"], "w.npz": ["vectors"]}
    use = {"lm.npz": (["sample", "{T}/m.npz", "--length", "5"], b""),
           "clf.npz": (["predict", "{T}/m.npz"], b'{"text": "a cat"}\n'),
           "s2s.npz": (["predict", "{T}/m.npz"], b'{"source": "abc"}\n'),
           "fc.npz": (["predict", "{T}/m.npz", "{W}/air.csv"], b""), "w.npz": (["neighbors", "{T}/m.npz", "the"], b"")}
    for model, names in arrays.items():
        args, stdin = use[model]
        for name in names:
            for how in ("bool", "str", "complex", "scalar", "short", "empty", "3d", "missing"):
                if model == "w.npz" and how == "short":
                    continue  # vectors of one dimension less are vectors
                # files written before the wide intercept lacked it; the network's interval table is read only for
                # the series the network forecasts (the world's one goes to ltheta)
                optional = how == "missing" and name in ("wide.b", "interval_q")
                cases.append(Case("model array of another dtype or shape (session 28)", args,
                                  (0, 1) if optional else (1,), names="m.npz", stdin=stdin,
                                  setup=_array_edited_in_tmp(model, name, how)))
    import numpy as np

    for model, (args, stdin) in use.items():
        for _label, value in (("int", np.array(5)), ("bytes", lambda t: np.array(t.encode())),
                             ("list", lambda t: np.array([t])), ("2d", lambda t: np.array([[t]])),
                             ("json list", lambda t: np.array("[" + t + "]")), ("json number", np.array("5")),
                             ("json string", lambda t: np.array(json.dumps(t))), ("empty", np.array(""))):
            cases.append(Case("model metadata of another type (session 28)", args, (1,), names="m.npz", stdin=stdin,
                              setup=_meta_entry_in_tmp(model, value)))
        # the trainer's state missing (a model stripped for shipping): predicting needs none of it
        cases.append(Case("model without its trainer's state (session 28)", args, (0, 1), stdin=stdin, names="m.npz",
                          setup=_stripped_in_tmp(model)))
    for task, data, model in (("lm", "{W}/book.txt", "lm.npz"), ("classify", "{W}/g.jsonl", "clf.npz"),
                              ("seq2seq", "{W}/p.jsonl", "s2s.npz"), ("forecast", "{W}/air.csv", "fc.npz")):
        cases.append(Case("model without its trainer's state (session 28)",
                          ["rnn-train", "--task", task, data, "--resume", "{T}/m.npz", "-o", "{T}/out.npz",
                           "--max-steps", "2", "--threads", "1"], (0, 1, 2), names="m.npz", output="{T}/out.npz",
                          setup=_stripped_in_tmp(model), timeout=150))  # 2: "cannot --resume: training state ..."
    # --- standard streams: a folder or a write-only descriptor as input, read-only descriptors as outputs
    readers = [["vocab"], ["bow", "--vocab", "{W}/v.jsonl"], ["phrases"], ["predict", lm], ["predict", clf],
               ["predict", fc], ["neighbors", w], ["evaluate", lm], ["import", "-", "-o", "{T}/out.npz"],
               ["w2v-train", "-o", "{T}/out.npz"], ["rnn-train", "--task", "lm", "-o", "{T}/out.npz"],
               ["sample", "-"], ["plot", "log", "-"]]
    for args in readers:
        cases.append(Case("standard input write-only (session 28)", args, (1,), stdin="wronly",
                          names="standard input|<stdin>|stdin"))
    writers = [["vocab", "{W}/corpus.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt"],
               ["phrases", "{W}/corpus.txt"], ["sample", lm, "--length", "300"], ["predict", lm, "{W}/book.txt"],
               ["evaluate", lm, "{W}/book.txt"], ["export", w], ["neighbors", w, "the"], ["predict", fc, "{W}/air.csv"],
               ["plot", "log", "{W}/train-log.jsonl"], ["import", "{W}/vec-ok.txt", "-o", "-"],
               ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "-", *TINY]]
    for args in writers:
        cases.append(Case("standard output read-only (session 28)", args, (1,), stdout="rdonly",
                          names="standard output"))
    warners = [(["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt"], (0,)), (["neighbors", w, "pizzazz"], (0,)),
               (["vocab", "{W}/missing.txt"], (1,)), (["sample", lm, "--temperature", "-1"], (2,)),
               (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--log", "{T}/log.jsonl"],
                (0,)), (["evaluate", clf, "{W}/j-empty-text.jsonl"], (0, 1)),
               (["predict", clf, "{W}/g.jsonl"], (0,)), (["vocab", "{W}/corpus.txt", "--scheduler", "local:1"], (0,))]
    for args, expect in warners:
        for how in ("gone", "rdonly"):
            cases.append(Case(f"standard error {'reader gone' if how == 'gone' else 'read-only'} (session 28)", args,
                              expect, stderr=how, output="{T}/out.npz" if "{T}/out.npz" in args else None,
                              timeout=300))
    # --- readers that go away after N bytes: before the first write, within, after the pipe's buffer
    big = writers + [["export", w, "--format", "word2vec-binary"], ["sample", lm, "--length", "100000"],
                     ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY, "--log", "-"],
                     ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim",
                      "4", "--log", "-"], ["sample", lm, "--count", "50", "--length", "200"],
                     ["predict", s2s, "{W}/p.jsonl", "--nbest", "3", "--beam", "3"],
                     ["evaluate", w, "--analogies", "{W}/analogies.txt"], ["plot", "words", w, "the"]]
    for args in big:
        for n in (0, 4000, 70000):
            log = "--log" in args
            # a training log's reader gone: training stops, exit 1, the model so far kept (docs/reliability.md)
            cases.append(Case(f"standard output reader gone after {n} bytes (session 28)", args,
                              (0, 1) if log else (0,), stdout=f"head:{n}", names="training log" if log else None,
                              output="{T}/out.npz" if "{T}/out.npz" in args and not log else None, timeout=150))
    # --- every documented exit status of each command: 0, 1, 2, and a signal while it waits for standard input
    stdin_readers = [["vocab"], ["vocab", "--level", "char"], ["bow", "--vocab", "{W}/v.jsonl"], ["phrases"],
                     ["w2v-train", "-o", "{T}/out.npz"], ["neighbors", w], ["import", "-", "-o", "{T}/out.npz"],
                     ["export", "-"], ["rnn-train", "--task", "lm", "-o", "{T}/out.npz"],
                     ["rnn-train", "--task", "classify", "-o", "{T}/out.npz"],
                     ["rnn-train", "--task", "seq2seq", "-o", "{T}/out.npz"],
                     ["rnn-train", "--task", "forecast", "-o", "{T}/out.npz"], ["sample", "-"],
                     ["sample", lm, "--prompts", "-"], ["predict", lm], ["predict", clf], ["predict", s2s],
                     ["predict", fc], ["predict", "-", "{W}/docs.txt"], ["evaluate", lm], ["evaluate", clf],
                     ["evaluate", w, "--analogies", "-"], ["plot", "log", "-"], ["plot", "forecast", "-"],
                     ["plot", "confusion", "-"], ["bow", "--vocab", "-", "{W}/docs.txt"]]
    for args in stdin_readers:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            cases.append(Case(f"{signal.Signals(sig).name} while waiting for standard input (session 28)", args,
                              (128 + sig,), stdin="hold", signal=sig, signal_when="stdin",
                              output="{T}/out.npz" if "{T}/out.npz" in args else None, timeout=300))
    commands = [["vocab", "{W}/docs.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"],
                ["phrases", "{W}/docs.txt"],
                ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4"],
                ["neighbors", w, "the"], ["export", w], ["import", "{W}/vec-ok.txt", "-o", "{T}/out.npz"],
                ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY],
                ["sample", lm, "--length", "5"], ["predict", lm, "{W}/docs.txt"], ["evaluate", lm, "{W}/docs.txt"],
                ["plot", "log", "{W}/train-log.jsonl"], ["plot", "confusion", "{W}/conf.json"],
                ["plot", "forecast", "{W}/fc-pred.jsonl"], ["plot", "words", w, "the"]]
    for args in commands:
        path = next((a for a in args[1:] if a.startswith("{W}/") and a not in MODELS.values()
                     and a != "{W}/v.jsonl"), None)
        cases.append(Case("each exit status, one by one (session 28)", args, (0,),
                          strict_json=args[0] in ("vocab", "bow", "neighbors", "predict", "evaluate"),
                          output="{T}/out.npz" if "{T}/out.npz" in args else None, timeout=150))
        cases.append(Case("each exit status, one by one (session 28)", [*args, "--no-such-option"], (2,),
                          names="--no-such-option"))
        cases.append(Case("each exit status, one by one (session 28)", [*args[:2], "--help"] if args[0] == "plot"
                          else [args[0], "--help"], (0,)))
        if path:
            cases.append(Case("each exit status, one by one (session 28)", [("{T}/missing" if a == path else a)
                                                                           for a in args], (1,), names="missing",
                              output="{T}/out.npz" if "{T}/out.npz" in args else None))
    # (`rnntools` and `rnntools plot` without a command show their help on stderr, exit 2, as git does: not here)
    for args, expect in ((["--version"], (0,)), (["--help"], (0,)), (["plot", "nope"], (2,)),
                         (["nope"], (2,)), (["--nope"], (2,)), (["-q"], (0, 2)), (["--debug"], (0, 2))):
        cases.append(Case("each exit status, one by one (session 28)", args, expect))
    # --- output folders that vanish mid-run (removed, replaced by a file, renamed away)
    for what in ("remove", "file", "rename"):
        for args in (["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/d/out.npz", "--hidden", "8",
                      "--max-steps", "400", "--threads", "1", "--log", "{T}/log.jsonl", "--checkpoint-every", "5"],
                     ["w2v-train", "{W}/corpus.txt", "-o", "{T}/d/out.npz", "--min-count", "1", "--epochs", "30",
                      "--dim", "8", "--threads", "1", "--log", "{T}/log.jsonl"],
                     ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", "--hidden", "8",
                      "--max-steps", "400", "--threads", "1", "--log", "{T}/d/log.jsonl"]):
            trigger = "{T}/d/log.jsonl" if "{T}/d/log.jsonl" in args else "{T}/log.jsonl"
            log_only = "{T}/out.npz" in args
            cases.append(Case(f"output folder {what}d mid-run (session 28)" if what != "file" else
                              "output folder replaced by a file mid-run (session 28)", args,
                              (0, 1) if log_only else (1,), names=r"d/out\.npz|d/log\.jsonl",
                              setup=_vanishing_folder(trigger, what), timeout=300))
    corpus = open(os.path.join(ROOT, "samples", "corpus.txt"), "rb").read()[:400_000]
    for args in (["vocab", "{T}/in", "-o", "{T}/d/out.jsonl"], ["predict", lm, "{T}/in", "-o", "{T}/d/out.jsonl"],
                 ["bow", "--vocab", "{W}/v.jsonl", "{T}/in", "-o", "{T}/d/out.jsonl"],
                 ["phrases", "{T}/in", "-o", "{T}/d/out.txt"],
                 ["w2v-train", "{T}/in", "-o", "{T}/d/out.npz", "--min-count", "1", "--epochs", "1", "--dim", "4"],
                 ["rnn-train", "--task", "lm", "{T}/in", "-o", "{T}/d/out.npz", *TINY]):
        cases.append(Case("output folder removed mid-run (session 28)", args, (1,), names="d/out",
                          setup=_fifo_vanishing_folder(corpus), timeout=300))
    # --- readers of a model that another run keeps replacing (--checkpoint-every 1), and a resume from it
    trainer = ["rnn-train", "--task", "lm", "{W}/book.txt", "--resume", "{T}/m.npz", "-o", "{T}/m.npz",
               "--checkpoint-every", "1", "--max-time", "60", "--threads", "1", "--max-steps", "100000"]
    for args, expect in ((["predict", "{T}/m.npz", "{W}/docs.txt"], (0,)),
                         (["sample", "{T}/m.npz", "--length", "20"], (0,)),
                         (["evaluate", "{T}/m.npz", "{W}/docs.txt"], (0,)),
                         (["rnn-train", "--task", "lm", "{W}/book.txt", "--resume", "{T}/m.npz", "-o", "{T}/out.npz",
                           "--max-steps", "2", "--threads", "1"], (0,))):
        cases.append(Case("a model another run keeps replacing (session 28)", args, expect, concurrent=3,
                          setup=_background_trainer("lm.npz", trainer),
                          output="{T}/out.npz" if "{T}/out.npz" in args else None, timeout=300))
    # --- concurrent writers of every output kind, one output
    for args, out in ((["predict", clf, "{W}/g.jsonl", "-o", "{T}/out.jsonl"], "{T}/out.jsonl"),
                      (["export", w, "-o", "{T}/out.txt"], "{T}/out.txt"),
                      (["export", w, "--format", "word2vec-binary", "-o", "{T}/out.bin"], "{T}/out.bin"),
                      (["import", "{W}/vec-big.txt", "-o", "{T}/out.npz"], "{T}/out.npz"),
                      (["bow", "--vocab", "{W}/v.jsonl", "{W}/corpus.txt", "--format", "npz", "-o", "{T}/out.npz"],
                       "{T}/out.npz"),
                      (["phrases", "{W}/corpus.txt", "-o", "{T}/out.txt", "--save-table", "{T}/table.jsonl"],
                       "{T}/table.jsonl"),
                      (["evaluate", lm, "{W}/book.txt", "-o", "{T}/out.jsonl"], "{T}/out.jsonl"),
                      (["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/out.txt"], "{T}/out.txt"),
                      (["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY], "{T}/out.npz"),
                      (["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY], "{T}/out.npz")):
        cases.append(Case("concurrent writers of one output (session 28)", args, (0,), concurrent=3, output=out,
                          timeout=300))
    return cases


def _air_rows() -> list[tuple[str, str]]:
    with open(os.path.join(ROOT, "samples", "airline.csv"), encoding="utf-8") as f:
        lines = [x.strip() for x in f.read().splitlines()[1:] if x.strip()]
    return [tuple(x.split(",")) for x in lines]


def _csv_dialects() -> dict:
    """The airline series as other tools and hands write it (session 29): each name -> (bytes, what is documented)."""
    import random

    rows = _air_rows()
    h = "month,passengers"
    body = [f"{a},{b}" for a, b in rows]

    def text(lines, nl="\n", pre=""):
        return (pre + nl.join(lines) + nl).encode("utf-8")

    shuffled = body[:]
    random.Random(1).shuffle(shuffled)
    d = {
        "semicolon.csv": (text([x.replace(",", ";") for x in [h] + body]), 0),
        "bom-crlf.csv": (text([h] + body, "\r\n", "\ufeff"), 0),
        "quoted.csv": (text([h] + [f'"{a}","{b}"' for a, b in rows]), 0),
        "thousands.csv": (text([h] + [f'{a},"{int(b) * 10:,}"' for a, b in rows]), 1),
        "shuffled.csv": (text([h] + shuffled), 1),
        "swapped.csv": (text([h] + body[:50] + [body[51], body[50]] + body[52:]), 1),
        "dup-date-other-value.csv": (text([h] + body[:50] + [rows[50][0] + ",999"] + body[50:]), 1),
        "dup-row.csv": (text([h] + body[:50] + [body[50]] + body[50:]), 1),
        "missing-stamp.csv": (text([h] + body[:50] + ["," + rows[50][1]] + body[51:]), 1),
        "missing-value.csv": (text([h] + body[:50] + [rows[50][0] + ","] + body[51:]), 0),
        "gap.csv": (text([h] + body[:50] + body[52:]), 0),
        "stamp-only-row.csv": (text([h] + body[:50] + [rows[50][0]] + body[51:]), 1),
        "trailing-spaces.csv": (text([h] + [x + "  " for x in body]), 0),
        "descending.csv": (text([h] + body[::-1]), 1),
        "mixed-stamp-format.csv": (text([h] + body[:50] + [body[50].replace("-", "/", 1)] + body[51:]), 1),
        "day-first.csv": (text([h] + [f"01.{a[5:7]}.{a[:4]},{b}" for a, b in rows]), 1),
        "semicolon-decimal-comma.csv": (text([h.replace(",", ";")] + [f"{a};{b},5" for a, b in rows]), 0),
        "tab.csv": (text([x.replace(",", "\t") for x in [h] + body]), 0),
        "two-ids-interleaved.csv": (text(["id,month,passengers"] + [x for r in body for x in (f"a,{r}", f"b,{r}")]),
                                    0),
        "id-again-later.csv": (text(["id,month,passengers"] + [f"a,{r}" for r in body] + [f"b,{r}" for r in body]
                                    + [f"a,{r}" for r in body[:3]]), 1),
        "dup-last-date-with-id.csv": (text(["id,month,passengers"] + [f"a,{r}" for r in body]
                                           + [f"a,{rows[-1][0]},5"]), 1),
        "crlf-quoted-newline-in-header.csv": (text(['"mon\nth",passengers'] + body, "\r\n"), 0),
        "bom-semicolon-crlf.csv": (text([x.replace(",", ";") for x in [h] + body], "\r\n", "\ufeff"), 0),
        "nul-in-value.csv": (text([h] + body[:50] + [rows[50][0] + ",1\x002"] + body[51:]), 1),
        "twenty-values.csv": (text([h] + body[-20:]), 0),
        "thirteen-values.csv": (text([h] + body[-13:]), 1),
    }
    return d


def _forecast_records() -> dict:
    """The airline series as JSONL records edited by hand (session 29): name -> (bytes, status)."""
    vals = [float(b) for _, b in _air_rows()]
    base = {"id": "a", "start": "1949-01", "freq": "M", "values": vals}

    def lines(*recs):
        return b"".join(json.dumps(r).encode() + b"\n" for r in recs)

    return {
        "r-strnum.jsonl": (lines({**base, "values": [str(v) for v in vals]}), 0),
        "r-null.jsonl": (lines({**base, "values": vals[:50] + [None] + vals[51:]}), 0),
        "r-nested.jsonl": (lines({**base, "values": [[v] for v in vals]}), 1),
        "r-nostart.jsonl": (lines({k: v for k, v in base.items() if k != "start"}), 1),
        "r-idnum.jsonl": (lines({**base, "id": 5}), 0),
        "r-idobj.jsonl": (lines({**base, "id": {"a": 1}}), 1),
        "r-idnull.jsonl": (lines({**base, "id": None}), 1),
        "r-dupid.jsonl": (lines(base, base), 1),
        "r-dupkey.jsonl": (b'{"id": "a", "start": "1949-01", "freq": "M", "values": [1, 2], "values": '
                           + json.dumps(vals).encode() + b"}\n", 0),
        "r-freqnum.jsonl": (lines({**base, "freq": 12}), 1),
        "r-startnum.jsonl": (lines({**base, "start": 1949}), 1),
        "r-bool.jsonl": (lines({**base, "values": [True] * len(vals)}), 1),
        "r-valstr.jsonl": (lines({**base, "values": "1,2,3"}), 1),
        "r-valobj.jsonl": (lines({**base, "values": {"a": 1}}), 1),
        "r-bigval.jsonl": (lines({**base, "values": vals[:-1] + [1e200]}), 1),
        "r-empty.jsonl": (lines({**base, "values": []}), 1),
        "r-seasonstr.jsonl": (lines({**base, "season": "12"}), 1),
        "r-season0.jsonl": (lines({**base, "season": 0}), 1),
        "r-deep.jsonl": (b'{"id": "a", "start": "1949-01", "freq": "M", "values": ' + json.dumps(vals).encode()
                         + b', "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n", 1),
        "r-bom.jsonl": (b"\xef\xbb\xbf" + lines(base), 0),
        "r-crlf.jsonl": (lines(base).replace(b"\n", b"\r\n") + lines({**base, "id": "b"}).replace(b"\n", b"\r\n"), 0),
        "r-pretty.jsonl": (json.dumps(base, indent=2).encode(), 1),
        "r-array.jsonl": (json.dumps([base]).encode(), 1),
        "r-twenty.jsonl": (lines({**base, "values": vals[:20]}), 0),
        "r-mixed-lengths.jsonl": (lines(base, {**base, "id": "b", "values": vals[:20]}), 0),
    }


def session29_cases() -> list[Case]:
    """An outside tester's list (session 29), from where the counts were thinnest: empty file names (an unset shell
    variable) for every path option and argument, options given twice, options missing their value, every numeric
    option at 0, -1, 1e400, nan, an empty string, '1,000' and '5k' (a sweep of 1,750 runs found no failure; a sample
    here), environment variables that change behaviour, forecast CSVs in other dialects and records edited by hand,
    series too short for the network, and predict/evaluate against a model of another task with the input of each."""
    lm, clf, s2s, fc, w = (MODELS[k] for k in ("lm", "clf", "s2s", "fc", "w"))
    cases = []
    train = {"lm": ["rnn-train", "--task", "lm", "{W}/book.txt", "-o", "{T}/out.npz", *TINY],
             "classify": ["rnn-train", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY],
             "seq2seq": ["rnn-train", "--task", "seq2seq", "{W}/p.jsonl", "-o", "{T}/out.npz", *TINY],
             "forecast": ["rnn-train", "--task", "forecast", "{W}/air.csv", "-o", "{T}/out.npz", *TINY]}
    w2v = ["w2v-train", "{W}/corpus.txt", "-o", "{T}/out.npz", "--dim", "8", "--epochs", "1", "--min-count", "1",
           "--threads", "1"]
    # --- an empty file name (an unset variable) in every path option and argument: a usage error naming it
    for args, names in ((train["lm"] + ["--resume", ""], "--resume"), (train["lm"] + ["--vocab", ""], "--vocab"),
                        (train["classify"] + ["--embeddings", ""], "--embeddings"),
                        (train["classify"] + ["--vocab", ""], "--vocab"),
                        (train["seq2seq"] + ["--vocab", ""], "--vocab"),
                        (train["forecast"] + ["--resume", ""], "--resume"),
                        (w2v + ["--vocab", ""], "--vocab"), (w2v + ["--resume", ""], "--resume"),
                        (["bow", "--vocab", "", "{W}/docs.txt"], "--vocab"),
                        (["phrases", "{W}/corpus.txt", "--table", ""], "--table"),
                        (["neighbors", w, "--input", ""], "--input"), (["export", w, "--words", ""], "--words"),
                        (["sample", lm, "--prompts", ""], "--prompts"),
                        (["evaluate", w, "--analogies", ""], "--analogies"),
                        (["evaluate", w, "--similarity", ""], "--similarity"),
                        (["plot", "forecast", "{W}/fc-pred.jsonl", "--history", ""], "--history"),
                        (["vocab", ""], "input file name"), (["vocab", "{W}/docs.txt", ""], "input file name"),
                        (["bow", "--vocab", "{W}/v.jsonl", ""], "input file name"),
                        (["phrases", ""], "input file name"),
                        (["w2v-train", "", "-o", "{T}/out.npz"], "input file name"),
                        (["rnn-train", "--task", "lm", "", "-o", "{T}/out.npz"], "input file name"),
                        (["predict", "", "{W}/docs.txt"], "input file name"), (["predict", lm, ""], "input file name"),
                        (["evaluate", "", "{W}/docs.txt"], "input file name"), (["sample", ""], "input file name"),
                        (["neighbors", "", "the"], "input file name"), (["export", ""], "input file name"),
                        (["import", "", "-o", "{T}/out.npz"], "input file name"),
                        (["plot", "log", ""], "input file name"), (["plot", "words", ""], "input file name"),
                        (["plot", "confusion", ""], "input file name"), (["plot", "forecast", ""], "input file name")):
        cases.append(Case("an empty file name (session 29)", args, (2,), names=names,
                          output="{T}/out.npz" if "{T}/out.npz" in args else None))
    # --- an output or a comma-separated list given twice: a usage error; other options: the last value
    twice = [["vocab", "{W}/docs.txt"], ["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"],
             ["phrases", "{W}/corpus.txt"],
             ["neighbors", w, "the"], ["export", w], ["import", "{W}/vec-ok.txt"], ["sample", lm, "--length", "5"],
             ["predict", clf, "{W}/g.jsonl"], ["evaluate", lm, "{W}/book.txt"], ["plot", "log", "{W}/train-log.jsonl"],
             train["lm"][:4], w2v[:2]]
    for args in twice:
        suffix = ".npz" if args[0] in ("import", "rnn-train", "w2v-train") else ".txt"
        extra = TINY if args[0] == "rnn-train" else ["--min-count", "1", "--epochs", "1"] if args[0] == "w2v-train" \
            else []
        cases.append(Case("an output given twice (session 29)", [*args, *extra, "-o", "{T}/a" + suffix, "-o",
                                                                 "{T}/b" + suffix], (2,), names="-o/--output"))
        cases.append(Case("an output given twice (session 29)", [*args, *extra, "-o", "{T}/a" + suffix,
                                                                 "--output={T}/b" + suffix], (2,), names="-o/--output"))
    for args, names in ((train["lm"] + ["--log", "{T}/a", "--log", "{T}/b"], "--log"),
                        (w2v + ["--log", "{T}/a", "--log", "{T}/b"], "--log"),
                        (["phrases", "{W}/corpus.txt", "--save-table", "{T}/a", "--save-table", "{T}/b"],
                         "--save-table"),
                        (["predict", fc, "{W}/air.csv", "--intervals", "80", "--intervals", "95"], "--intervals 80,95"),
                        (train["forecast"] + ["--intervals", "80", "--intervals", "95"], "--intervals"),
                        (train["forecast"] + ["--covariates", "a", "--covariates", "b"], "--covariates")):
        cases.append(Case("a list or an output given twice (session 29)", args, (2,), names=names,
                          output="{T}/out.npz" if "{T}/out.npz" in args else None))
    for args in (["sample", lm, "--length", "3", "--length", "5", "--seed", "1", "--seed", "2"],
                 ["vocab", "{W}/docs.txt", "--threads", "1", "--threads", "2"],
                 ["predict", fc, "{W}/air.csv", "--horizon", "3", "--horizon", "5"],
                 ["neighbors", w, "the", "-k", "2", "-k", "3"],
                 train["lm"] + ["--seed", "1", "--seed", "2"],
                 ["rnn-train", "--task", "lm", "--task", "classify", "{W}/g.jsonl", "-o", "{T}/out.npz", *TINY],
                 ["vocab", "-o", "{T}/a", "-o", "{T}/b", "--help"], ["predict", "--intervals", "1", "--intervals", "2",
                                                                     "--help"]):
        cases.append(Case("an option given twice: the last value (session 29)", args, (0,),
                          output="{T}/out.npz" if "{T}/out.npz" in args else None))
    # --- an option missing its value, last on the line: names the command
    for args in (["vocab", "{W}/docs.txt", "-o"], ["bow", "{W}/docs.txt", "--vocab"], ["phrases", "--threshold"],
                 ["w2v-train", "{W}/corpus.txt", "--dim"], ["neighbors", w, "-k"], ["export", w, "--format"],
                 ["import", "{W}/vec-ok.txt", "--format"], ["rnn-train", "--task"],
                 ["rnn-train", "--task", "lm", "--lr"],
                 ["sample", lm, "--prime"], ["predict", fc, "--horizon"], ["evaluate", fc, "--backtest"],
                 ["plot", "log", "{W}/train-log.jsonl", "--width"], ["plot", "words", w, "--neighbors"],
                 ["plot", "forecast", "{W}/fc-pred.jsonl", "--history"], ["plot", "confusion", "{W}/conf.json", "-o"]):
        command = " ".join(args[:2]) if args[0] == "plot" else args[0]
        cases.append(Case("an option missing its value (session 29)", args, (2,),
                          names=rf"^rnntools {command}: error: Option '[-a-z]+' requires an argument \(see 'rnntools "
                                rf"{command} --help'\)"))
    # --- numeric options at their boundaries (a sample of the sweep): a usage error naming the option
    for args, options in ((["vocab", "{W}/docs.txt"], ["--min-count", "--max-vocab", "--threads", "--max-line-bytes"]),
                          (["bow", "--vocab", "{W}/v.jsonl", "{W}/docs.txt"], ["--threads", "--max-line-bytes"]),
                          (["phrases", "{W}/corpus.txt"], ["--threshold", "--min-count", "--passes"]),
                          (w2v, ["--dim", "--window", "--negative", "--alpha", "--sample", "--epochs"]),
                          (["neighbors", w, "the"], ["-k", "--restrict"]), (["sample", lm], ["--length", "--top-k",
                                                                                          "--temperature"]),
                          (train["lm"], ["--seq-len", "--batch", "--lr", "--dropout", "--clip", "--max-time"]),
                          (train["forecast"], ["--horizon", "--season", "--lookback", "--ensemble"]),
                          (["predict", fc, "{W}/air.csv"], ["--horizon"]), (["predict", s2s, "{W}/p.jsonl"],
                                                                            ["--beam", "--max-length"]),
                          (["evaluate", fc, "{W}/air.csv"], ["--backtest"]),
                          (["plot", "log", "{W}/train-log.jsonl"], ["--width", "--height"])):
        for opt in options:
            for value in ("-1", "1e400", "nan", "", "1,000", "5k"):
                if value == "-1" and opt in ("--alpha",):
                    continue
                cases.append(Case("a numeric option at its boundary (session 29)", [*args, opt, value], (2,),
                                  names=opt, output="{T}/out.npz" if "{T}/out.npz" in args else None))
    # --- environment variables that change behaviour
    for env in ({"LC_ALL": "C", "LANG": "C"}, {"LC_ALL": "POSIX", "PYTHONUTF8": "0"}, {"PYTHONIOENCODING": "ascii"},
                {"HOME": "", "TMPDIR": "/nonexistent"}, {"HOME": "/nonexistent", "XDG_CACHE_HOME": ""},
                {"NUMBA_NUM_THREADS": "1"}, {"NUMBA_NUM_THREADS": "-1"}, {"NUMBA_CACHE_DIR": "/dev/null"},
                {"NUMBA_THREADING_LAYER": "workqueue"}, {"NUMBA_THREADING_LAYER": "forksafe"},
                {"OMP_NUM_THREADS": "0"}, {"OPENBLAS_NUM_THREADS": "0"}, {"OPENBLAS_NUM_THREADS": "100000"},
                {"NUMBA_DEFAULT_NUM_THREADS": "abc"}, {"RNNTOOLS_SCHEDULER": "none"}, {"MPLCONFIGDIR": "/proc/x"}):
        for args, says in ((["vocab", "{T}/u.txt"], "café"),
                           (["sample", lm, "--prime", "café", "--length", "3"], None),
                           (["neighbors", w, "naïve"], None), (w2v[:1] + ["{T}/u.txt"] + w2v[2:] + ["--threads", "2"],
                                                               None),
                           (["predict", clf, "{T}/u.jsonl"], "prediction|label"),
                           (["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/p.png"], None)):
            cases.append(Case("an environment that changes behaviour (session 29)", args, (0,), env=env, says=says,
                              setup=_files_in_tmp({"u.txt": "café naïve 日本語 текст\nüber straße café\n".encode(),
                                                   "u.jsonl": '{"text": "café naïve 日本語"}\n'.encode()}),
                              output="{T}/out.npz" if "{T}/out.npz" in args else None, timeout=300))
    for args in (["plot", "log", "{W}/train-log.jsonl", "-o", "{T}/p.png", "-q"],
                 ["plot", "words", w, "the", "-o", "{T}/p.svg", "-q"],
                 ["plot", "forecast", "{W}/fc-pred.jsonl", "--history", "{W}/air.csv", "-o", "{T}/p.pdf", "-q"]):
        # matplotlib's cache folder unwritable: its two paragraphs on standard error, even under --quiet
        cases.append(Case("an environment that changes behaviour (session 29)", args, (0,),
                          env={"MPLCONFIGDIR": "/proc/rnntools-none"}, quiet=True))
    for value, status in (("1", 2), ("yes", 0), ("0", 0), ("", 0)):   # yes: numba ignores it, one warning line
        cases.append(Case("an environment that changes behaviour (session 29)", ["rnn-train", "--task", "lm",
                          "{W}/book.txt", "-o", "{T}/out.npz", *TINY], (status,), env={"NUMBA_DISABLE_JIT": value},
                          names="NUMBA_DISABLE_JIT", output="{T}/out.npz"))
    # --- forecast CSVs in other dialects, records edited by hand: rnn-train and predict
    files = {**_csv_dialects(), **_forecast_records()}
    for name, (data, status) in files.items():
        id_opts = ["--id-column", "id"] if "id" in name and name.endswith(".csv") else []
        for args in (train["forecast"][:3] + ["{T}/" + name] + train["forecast"][4:] + id_opts,
                     ["predict", fc, "{T}/" + name] + id_opts):
            expect = (status,)
            if args[0] == "predict" and name in ("twenty-values.csv", "r-twenty.jsonl", "r-mixed-lengths.jsonl"):
                expect = (0,)   # the world's model: series it has not seen, forecast by its default method
            cases.append(Case("forecast CSV dialects and hand-edited records (session 29)", args, expect,
                              names=name if expect == (1,) else None, setup=_files_in_tmp({name: data}),
                              output="{T}/out.npz" if "{T}/out.npz" in args else None, strict_json=True))
    # --- a series too short for the network: trained and forecast by a statistical method, named in "method"
    short = _files_in_tmp({"m20.csv": _csv_series([str(100 + 3 * i).encode() for i in range(20)]),
                           "mix.csv": b"id,month,passengers\n" + b"".join(
                               f"{i},{a},{b}\n".encode() for i, rows in (("long", _air_rows()),
                                                                         ("short", _air_rows()[-20:]))
                               for a, b in rows)})
    cases.append(Case("a series too short for the network (session 29)",
                      ["sh", "-c", "python -m rnntools rnn-train --task forecast m20.csv -o m.npz --threads 1 -q && "
                       "python -m rnntools predict m.npz m20.csv"], (0,), says=r'"method": "[a-z+]+"', setup=short,
                      strict_json=True))
    cases.append(Case("a series too short for the network (session 29)",
                      ["sh", "-c", "python -m rnntools rnn-train --task forecast mix.csv --id-column id -o m.npz "
                       "--hidden 8 --max-steps 3 --threads 1 -q && python -m rnntools predict m.npz mix.csv"], (0,),
                      says=r'"id": "short".*"method": "(?!median)[a-z+]+"', setup=short, strict_json=True, timeout=150))
    cases.append(Case("a series too short for the network (session 29)",
                      ["rnn-train", "--task", "forecast", "{T}/m20.csv", "-o", "{T}/out.npz", "--select", "rnn"], (1,),
                      names="m20.csv", setup=short, output="{T}/out.npz"))
    cases.append(Case("a series too short for the network (session 29)",
                      ["rnn-train", "--task", "forecast", "{T}/m20.csv", "-o", "{T}/out.npz", "--season", "19"], (1,),
                      names="m20.csv", setup=short, output="{T}/out.npz"))
    cases.append(Case("a series too short for the network (session 29)",
                      ["evaluate", fc, "{T}/m20.csv"], (1,), names="--backtest", setup=short))
    # --- predict and evaluate against a model of another task, given the input of each
    inputs = ["{W}/book.txt", "{W}/g.jsonl", "{W}/p.jsonl", "{W}/air.csv", "{W}/fc-pred.jsonl", "{W}/v.jsonl",
              "{W}/train-log.jsonl"]
    native = {lm: "{W}/book.txt", clf: "{W}/g.jsonl", s2s: "{W}/p.jsonl", fc: "{W}/air.csv"}
    for model in (lm, clf, s2s, fc, w):
        for path in inputs:
            for command in ("predict", "evaluate"):
                if model == fc and path == native[fc] and command == "evaluate":
                    continue   # a backtest of refits: slow, and every other group runs it
                if model == lm or path == native.get(model) or (command == "predict" and model in (clf, s2s)
                                                               and path in ("{W}/book.txt", "{W}/air.csv")):
                    expect = (0,)   # text is text: a language model scores any lines, the others predict plain lines
                elif model == w:
                    expect = (1,) if command == "predict" else (2,)
                else:
                    expect = (1,)
                cases.append(Case("predict/evaluate with another task's input (session 29)", [command, model, path],
                                  expect, names=os.path.basename(path) if expect == (1,) and model != w else
                                  "w.npz|--analogies" if model == w else None))
    return cases


def _stripped_in_tmp(model: str):
    """A setup: {T}/m.npz, the world's MODEL without the trainer's arrays (optimiser moments, resume copies)."""
    import numpy as np

    def setup(tmp):
        with np.load(os.path.join(_STATE["world"], model), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
        for name in list(arrays):
            if name.startswith(("optim.", "state.", "resume.", "valbest.")):
                del arrays[name]
                meta["arrays"].pop(name, None)
        np.savez(os.path.join(tmp, "m.npz"), meta=np.array(json.dumps(meta)), **arrays)
    return setup


ALL = {"files": hostile_file_cases, "models": model_cases, "options": option_cases, "streams": stream_cases,
       "disk": disk_cases, "signals": signal_cases, "concurrent": concurrent_cases, "more": more_cases,
       "session15": session15_cases, "session16": session16_cases,
       "session17": session17_cases, "session18": session18_cases,
       "session19": session19_cases, "session20": session20_cases, "session21": session21_cases,
       "session22": session22_cases, "session23": session23_cases, "session24": session24_cases,
       "session25": lambda: session25_cases() + session25_outside_cases(), "session26": session26_cases,
       "session27": session27_cases, "session28": session28_cases, "session29": session29_cases}


# --- running and classifying ---------------------------------------------------------------------------

def _limits(close_fds: tuple[int, ...], memory: int | None = None, limits: dict | None = None,
            sigint_ignored: bool = False):
    def pre():
        # a process group of its own (killpg ends the case's children), not a session: a new session is a new
        # scheduling autogroup at nice 0, which escapes the niceness the probe runs at
        os.setpgid(0, 0)
        # not inherited as ignored from a background probe, unless the case asks for it
        signal.signal(signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)  # nor from a probe under nohup (rnntools keeps ignoring it)
        resource.setrlimit(resource.RLIMIT_AS, (memory or MEM_CAP, memory or MEM_CAP))
        for resource_id, value in (limits or {}).items():
            resource.setrlimit(resource_id, (value, value))
        for fd in close_fds:
            os.close(fd)
    return pre


def _expand(value, world, tmp):
    return str(value).replace("{W}", world).replace("{T}", tmp)


def _nonblocking_pipe(case: Case, data: bytes):
    """A pipe for the case's standard input or output whose rnntools end is O_NONBLOCK (the flag lives on the
    open file description the two processes share), and a thread for the probe's end, which comes late:
    stdin's bytes are written once rnntools waits in a read of it (or has ended), in two parts half a second
    apart; stdout is read once the pipe is full (or rnntools has ended) and half a second more has passed.
    Returns (the file for Popen, the thread's target taking the process, {"out": bytes read})."""
    import fcntl
    import termios

    read, write = os.pipe()
    theirs, ours = (read, write) if case.nonblocking == "stdin" else (write, read)
    fcntl.fcntl(theirs, fcntl.F_SETFL, fcntl.fcntl(theirs, fcntl.F_GETFL) | os.O_NONBLOCK)
    got = {"out": b""}

    def reading_stdin(pid: int) -> bool:
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/syscall") as f:
                    if f.read().startswith("0 0x0 "):  # read(0, ...) (x86-64), blocked
                        return True
        except OSError:
            pass
        return False

    def in_pipe() -> int:
        import array

        n = array.array("i", [0])
        fcntl.ioctl(ours, termios.FIONREAD, n)
        return n[0]

    def late(proc):
        deadline = time.monotonic() + 60
        try:
            if case.nonblocking == "stdin":
                while proc.poll() is None and not reading_stdin(proc.pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                os.write(ours, data[:100])
                time.sleep(0.5)
                view = memoryview(data)[100:]
                while view:
                    view = view[os.write(ours, view):]
            else:
                # full: bytes in it, and no more coming for a while (a pipe of odd-sized writes holds under 64 KiB)
                last, same = -1, 0
                while proc.poll() is None and same < 6 and time.monotonic() < deadline:
                    time.sleep(0.05)
                    now = in_pipe()
                    same = same + 1 if now == last and now > 0 else 0
                    last = now
                time.sleep(0.5)
                chunks = []
                while chunk := os.read(ours, 1 << 16):
                    chunks.append(chunk)
                got["out"] = b"".join(chunks)
        except OSError:
            pass
        finally:
            os.close(ours)

    return os.fdopen(theirs, "rb" if case.nonblocking == "stdin" else "wb"), late, got


def run_case(case: Case, tree: str, world: str, scratch: str) -> dict:
    tmp = tempfile.mkdtemp(dir=scratch)
    _STATE["world"], _STATE["tree"] = world, tree
    writer = case.setup(tmp) if case.setup else None
    # the limits are for an idle machine: on a shared one a case gets a share of a core
    slow = min(4.0, max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1)))
    timeout = case.timeout * slow
    args = [_expand(a, world, tmp) for a in case.args]
    env = {**os.environ, "PYTHONPATH": tree}
    env.pop("RNNTOOLS_DEBUG", None)
    close = []
    for k, v in case.env.items():
        if k == "_close_stderr":
            close.append(2)
        else:
            env[k] = _expand(v, world, tmp).replace("{TREE}", tree)
    stdin = case.stdin
    if stdin == "closed":
        close.append(0)
        stdin = b""
    elif stdin in (b"@lm", b"@w"):
        with open(os.path.join(world, stdin[1:].decode() + ".npz"), "rb") as f:
            stdin = f.read()
    stdin_file = stdout_file = None
    if isinstance(stdin, str) and stdin.startswith("file:"):
        stdin_file = open(_expand(stdin[5:], world, tmp), "rb")
        stdin = None
    elif stdin in ("dir", "wronly", "hold"):
        # a folder (`< DIR`), a descriptor open only for writing (`0> FILE`), or a pipe whose writer stays and
        # says nothing (a program that has not written yet)
        if stdin == "hold":
            held = os.pipe()
            stdin_file = os.fdopen(held[0], "rb")
            _STATE.setdefault("held", {})[tmp] = held[1]
        else:
            fd = (os.open(tmp, os.O_RDONLY | os.O_DIRECTORY) if stdin == "dir"
                  else os.open(os.path.join(tmp, "stdin-wronly"), os.O_WRONLY | os.O_CREAT, 0o644))
            stdin_file = os.fdopen(fd, "rb" if stdin == "dir" else "wb")
        stdin = None
    if case.stdout == "closed":
        close.append(1)
    elif case.stdout.startswith("file:"):
        stdout_file = open(_expand(case.stdout[5:], world, tmp), "ab")
    elif case.stdout == "rdonly":
        with open(os.path.join(tmp, "stdout-rdonly"), "wb"):
            pass
        stdout_file = open(os.path.join(tmp, "stdout-rdonly"), "rb")
    stderr_file = None
    if case.stderr == "rdonly":
        with open(os.path.join(tmp, "stderr-rdonly"), "wb"):
            pass
        stderr_file = open(os.path.join(tmp, "stderr-rdonly"), "rb")
    late_reader = None
    if case.nonblocking:
        late_reader = _nonblocking_pipe(case, stdin if isinstance(stdin, bytes) else b"")
        if case.nonblocking == "stdin":
            stdin_file, stdin = late_reader[0], None
        else:
            stdout_file = late_reader[0]
    output = _expand(case.output, world, tmp) if case.output else None
    if case.keep is not None and output:
        with open(output, "wb") as f:
            f.write(case.keep)
    started = time.monotonic()
    procs = []
    # a pipeline (["sh", "-c", SCRIPT, ARGS...]): `python` in SCRIPT is this interpreter
    command = (["sh", args[1], args[2].replace("python ", f"{shlex.quote(sys.executable)} "), *args[3:]]
               if args[0] == "sh" else [sys.executable, "-m", "rnntools", *args])
    for _ in range(case.concurrent):
        procs.append(subprocess.Popen(command, cwd=tmp, env=env,
                                      stdin=stdin_file or subprocess.PIPE, stdout=stdout_file or subprocess.PIPE,
                                      stderr=stderr_file or subprocess.PIPE,
                                      preexec_fn=_limits(tuple(close), case.memory, case.limits,
                                                         case.sigint_ignored)))
        if case.stderr == "gone":
            procs[-1].stderr.close()
            procs[-1].stderr = None
    for f in (stdin_file, stdout_file, stderr_file):
        if f is not None:
            f.close()
    if late_reader is not None:
        import threading

        late_reader = (late_reader[0], threading.Thread(target=late_reader[1], args=(procs[0],)), late_reader[2])
        late_reader[1].start()
    results = []
    hang = False
    if case.signal is not None:
        log = os.path.join(tmp, "log.jsonl")
        deadline = time.monotonic() + timeout
        when = _expand(case.signal_when, world, tmp) if case.signal_when else None
        while case.delay is None and time.monotonic() < deadline and procs[0].poll() is None:
            if case.signal_when == "stdin":
                if _reading_stdin(procs[0].pid):
                    break
            elif when is not None:
                if os.path.exists(when):
                    break
            elif "--log" not in args or os.path.exists(log) and open(log).read().count("\n") >= 2:
                break
            time.sleep(0.05 if when else 0.2)
        time.sleep(0.3 if case.signal_when == "stdin" else 0.0 if when else 1.0 if case.delay is None
                   else case.delay * slow)
        for i in range(2 if case.again is not None else 1):
            if i:
                time.sleep(case.again)
            if procs[0].poll() is None:
                sig = case.then if i and case.then is not None else case.signal
                if case.group:
                    os.killpg(procs[0].pid, sig)
                else:
                    procs[0].send_signal(sig)
    for p in procs:
        try:
            if case.stdout == "head" or case.stdout.startswith("head:"):
                # the reader takes 1 byte (or N: `| head -c N`; 0: it was gone before the first write) and goes
                try:
                    if p.stdin is not None:
                        p.stdin.close()
                except OSError:
                    pass
                want = 1 if case.stdout == "head" else int(case.stdout[5:])
                got = 0
                while got < want:
                    chunk = p.stdout.read1(want - got)
                    if not chunk:
                        break
                    got += len(chunk)
                p.stdout.close()
                err = p.stderr.read() if p.stderr is not None else b""
                p.wait(timeout=timeout)
                out = b""
            else:
                out, err = p.communicate(None if stdin_file else stdin if isinstance(stdin, bytes) else b"",
                                         timeout=timeout)
        except (subprocess.TimeoutExpired, BrokenPipeError) as exc:
            if isinstance(exc, subprocess.TimeoutExpired):
                hang = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            out, err = p.communicate()
        results.append((p.returncode, out, err or b""))
    held = _STATE.get("held", {}).pop(tmp, None)
    if held is not None:
        os.close(held)
    left = _left_running(procs[0].pid) if case.signal is not None and not hang else ""
    if late_reader is not None:
        late_reader[1].join(timeout)
        if case.nonblocking == "stdout":
            results[0] = (results[0][0], late_reader[2]["out"], results[0][2])
    elapsed = time.monotonic() - started
    if writer:
        # asked to stop first (a writer that is an rnntools run saves and removes its temporary file), then killed
        try:
            os.kill(writer, signal.SIGTERM)
        except OSError:
            pass
        for _ in range(300):
            try:
                if os.waitpid(writer, os.WNOHANG) != (0, 0):
                    break
            except OSError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(writer, signal.SIGKILL)
                os.waitpid(writer, 0)
            except OSError:
                pass
    verdict, why = classify(case, results, hang, tmp, output, args, timeout)
    if left and verdict in ("ok", "clean"):
        verdict, why = "corruption", left
    if case.teardown:
        case.teardown(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    code, out, err = results[0]
    return {"fault": case.fault, "command": case.command, "args": case.args, "expect": list(case.expect),
            "status": code, "class": verdict, "why": why, "seconds": round(elapsed, 1),
            "stderr": err.decode("utf-8", "replace")[-600:]}


def _left_running(pgid: int, wait: float = 5.0) -> str:
    """After an interrupted case: its process group's members still running (worker processes that outlived
    the command) once ``wait`` seconds have passed, killed; "" when none are."""
    deadline = time.monotonic() + wait
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return ""
        except PermissionError:
            return ""
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    pids = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.getpgid(int(pid)) == pgid:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        pids.append(pid)
        except OSError:
            pass
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    return f"processes left running after the command ended: {pids}" if pids else ""


ERROR_LINE = re.compile(r"^rnntools( [a-z0-9-]+)*: error: .+")


def classify(case: Case, results, hang: bool, tmp: str, output: str | None, args,
             timeout: float) -> tuple[str, str]:
    leftovers = [n for n in os.listdir(tmp) if n.endswith(".tmp")]
    for code, _, err in results:
        text = err.decode("utf-8", "replace")
        if hang:
            return "hang", f"no answer in {timeout:.0f}s"
        if code is not None and code < 0:
            return "hang", f"killed by {signal.Signals(-code).name} (memory cap or unhandled signal)"
        if "Traceback (most recent call last)" in text or "internal error" in text:
            line = [x for x in text.strip().splitlines() if x.strip()]
            return "traceback", line[-1][:200] if line else ""
    if leftovers:
        return "corruption", f"temporary files left: {leftovers}"
    if case.keep is not None and output:
        with open(output, "rb") as f:
            now = f.read()
        if results[0][0] != 0 and now != case.keep:
            return "corruption", "an interrupted or failed run did not keep the old output"
        if now == case.keep:
            output = None  # the old content: nothing more to check
    if output and os.path.exists(output):
        problem = _whole(output)
        if problem:
            return "corruption", f"output not whole: {problem}"
        if all(code != 0 for code, _, _ in results) and case.signal is None:
            return "corruption", "a failed run left an output"
    if case.signal is not None and output and results[0][0] in case.expect and os.path.exists(output):
        pass  # a valid model saved on interruption
    if case.saved and output and results[0][0] in case.expect and results[0][0] != 0 and not os.path.exists(output):
        return "corruption", "the interrupted run saved nothing"
    if case.quiet and results[0][0] == 0 and results[0][2].strip():
        return "unclear", f"--quiet, yet standard error says {results[0][2].decode('utf-8', 'replace')[:200]!r}"
    if case.says is not None and results[0][0] == 0:
        if not re.search(case.says, (results[0][1] or b"").decode("utf-8", "replace")):
            return "unclear", f"standard output does not hold {case.says!r}"
    if case.strict_json and results[0][0] == 0:
        for n, line in enumerate((results[0][1] or b"").decode("utf-8", "replace").splitlines(), 1):
            try:
                json.loads(line, parse_constant=_no_constant)
            except ValueError as exc:
                return "corruption", f"standard output line {n} is not strict JSON ({exc}): {line[:120]!r}"
    if case.lines is not None and results[0][0] == 0:
        want = case.lines
        if isinstance(want, str):
            with open(_expand(want, _STATE["world"], tmp), "rb") as f:
                want = f.read().count(b"\n")
        got = (results[0][1] or b"").count(b"\n")
        if got != want:
            return "corruption", f"standard output holds {got} lines, expected {want}: output lost"
    for code, _, err in results:
        text = err.decode("utf-8", "replace")
        if code not in case.expect:
            return "wrong-exit", f"exit {code}, expected {'/'.join(map(str, case.expect))}: {_last(text)}"
        if re.search(r"\.py:\d+: \w*Warning", text):
            return "unclear", f"a raw Python warning: {text.strip()[:200]!r}"
        if code in (1, 2):
            lines = [x for x in text.strip().splitlines() if x.strip() and ": warning:" not in x]
            if len(lines) != 1 or not ERROR_LINE.match(lines[0]):
                if case.env.get("_close_stderr") or case.stderr != "pipe":
                    continue
                return "unclear", f"not one error line: {text.strip()[:200]!r}"
            if case.names and not re.search(case.names.replace(".", r"\.") if "|" not in case.names
                                            else case.names, lines[0], re.I):
                return "unclear", f"does not name {case.names!r}: {lines[0][:200]}"
    return ("ok" if results[0][0] == 0 else "clean"), ""


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _reading_stdin(pid: int) -> bool:
    """Whether a thread of ``pid`` waits in a read of descriptor 0, or in poll/select (x86-64 numbers)."""
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/syscall") as f:
                words = f.read().split()
            if words and (words[:2] == ["0", "0x0"] or words[0] in ("7", "23", "270", "271")):
                return True
    except OSError:
        pass
    return False


def _last(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1][:200] if lines else ""


def _whole(path: str) -> str | None:
    if path.endswith(".npz"):
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                for name in z.files:
                    z[name]
            if meta.get("format") != "rnntools":
                return "not an rnntools model"
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            return f"{exc.__class__.__name__}: {exc}"[:200]
        return None
    if path.endswith(".jsonl"):
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    json.loads(line)
        except Exception as exc:  # noqa: BLE001
            return f"{exc.__class__.__name__}: {exc}"[:200]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=ROOT, help="checkout to probe (put first on PYTHONPATH)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default=None, help="only cases whose fault class or command contains this")
    parser.add_argument("--groups", default=",".join(ALL), help=f"case groups: {','.join(ALL)}")
    parser.add_argument("--json", default=None, help="write every case as a JSON line here")
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--world", default=None, help="keep the world (inputs and models) in this folder and "
                                                      "reuse it when it is there already")
    parser.add_argument("--summarize", nargs="+", default=None, metavar="JSONL",
                        help="no run: print the tables of earlier runs' --json files (fault class x command)")
    opts = parser.parse_args()
    if opts.summarize:
        rows = []
        for path in opts.summarize:
            with open(path, encoding="utf-8") as f:
                rows += [json.loads(line) for line in f if line.strip()]
        report(rows, [], 0.0, opts.show_failures)
        print()
        by_command(rows)
        return

    cases = [c for g in opts.groups.split(",") for c in ALL[g]()]
    if opts.only:
        cases = [c for c in cases if opts.only in c.fault or opts.only in c.command or opts.only in " ".join(c.args)]
    scratch = tempfile.mkdtemp(prefix="rnntools-probe-")
    world = os.path.abspath(opts.world) if opts.world else os.path.join(scratch, "world")
    t0 = time.monotonic()
    if not os.path.lexists(os.path.join(world, "md-loop-b.npz")):
        os.makedirs(world, exist_ok=True)
        build_world(os.path.abspath(opts.tree), world)
    before = digest(world)
    print(f"{len(cases)} cases against {opts.tree} (world built in {time.monotonic() - t0:.0f}s)", file=sys.stderr)
    rows = []
    with cf.ThreadPoolExecutor(opts.jobs) as pool:
        futures = [pool.submit(run_case, c, os.path.abspath(opts.tree), world, scratch) for c in cases]
        for i, f in enumerate(cf.as_completed(futures), 1):
            rows.append(f.result())
            if i % 25 == 0:
                print(f"  {i}/{len(cases)}", file=sys.stderr)
    after = digest(world)
    changed = sorted(k for k in before if before[k] != after.get(k))
    shutil.rmtree(scratch, ignore_errors=True)
    if opts.json:
        with open(opts.json, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    report(rows, changed, time.monotonic() - t0, opts.show_failures)


CLASSES = ["ok", "clean", "traceback", "hang", "corruption", "wrong-exit", "unclear"]
COMMANDS = ["vocab", "bow", "phrases", "w2v-train", "neighbors", "export", "import", "rnn-train lm",
            "rnn-train classify", "rnn-train seq2seq", "rnn-train forecast", "sample", "predict", "evaluate", "plot"]


def by_command(rows) -> None:
    """Fault class x command: passing/tried per cell (passing = ok or clean)."""
    cells = collections.defaultdict(lambda: [0, 0])
    faults = sorted({r["fault"] for r in rows})
    for r in rows:
        command = r["command"]
        base = command if command.startswith("rnn-train") else command.split()[0]
        base = "rnn-train lm" if base == "rnn-train" else base
        base = base if base in COMMANDS else "other"  # `rnn-train --task nope`, `frobnicate`
        cell = cells[(r["fault"], base)]
        cell[1] += 1
        cell[0] += r["class"] in ("ok", "clean")
    used = [c for c in [*COMMANDS, "other"] if any((f, c) in cells for f in faults)]
    print("| fault class | " + " | ".join(used) + " | all |")
    print("| --- |" + " ---: |" * (len(used) + 1))
    for fault in faults:
        row = [cells.get((fault, c)) for c in used]
        passed, tried = sum(x[0] for x in row if x), sum(x[1] for x in row if x)
        print(f"| {fault} | " + " | ".join(f"{x[0]}/{x[1]}" if x else "" for x in row) + f" | {passed}/{tried} |")
    total = [sum(cells[(f, c)][i] for f in faults if (f, c) in cells) for c in used for i in (0, 1)]
    print("| **all** | " + " | ".join(f"**{total[2 * k]}/{total[2 * k + 1]}**" for k in range(len(used)))
          + f" | **{sum(total[::2])}/{sum(total[1::2])}** |")


def report(rows, changed, seconds, show) -> None:
    by_fault = collections.defaultdict(collections.Counter)
    for r in rows:
        by_fault[r["fault"]][r["class"]] += 1
    print(f"| fault class | cases | {' | '.join(CLASSES)} |")
    print("| --- | ---: |" + " ---: |" * len(CLASSES))
    total = collections.Counter()
    for fault in sorted(by_fault):
        c = by_fault[fault]
        total += c
        print(f"| {fault} | {sum(c.values())} | " + " | ".join(str(c[k]) if c[k] else "" for k in CLASSES) + " |")
    print(f"| **all** | **{sum(total.values())}** | " + " | ".join(f"**{total[k]}**" for k in CLASSES) + " |")
    bad = [r for r in rows if r["class"] not in ("ok", "clean")]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} cases as documented; shared inputs changed: "
          f"{', '.join(changed) or 'none'}; {seconds:.0f}s")
    if show:
        for r in sorted(bad, key=lambda r: (r["class"], r["fault"])):
            line = f"- [{r['class']}] {' '.join(map(str, r['args']))}: {r['why']}"
            print(line.encode("utf-8", "backslashreplace").decode("utf-8"))


if __name__ == "__main__":
    main()
