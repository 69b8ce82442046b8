"""Hostile conditions only a real process shows: closed and dead standard streams, SIGINT/SIGTERM/SIGHUP/SIGKILL
during training, concurrent writers to one output, a full disk, and worker processes outliving their parent.

Each case runs ``python -m rnntools`` as a child process and checks the exit status, that stderr is one
line (no traceback), and that every output is either absent, untouched, or one whole file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, SAMPLES

pytestmark = pytest.mark.slow

TINY = ["--hidden", "8", "--max-steps", "3", "--threads", "1"]


def rnntools(args, *, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, close_fds=(), cwd=None, limits=(),
             sigint=signal.SIG_DFL, **kw):
    """Starts ``rnntools ARGS`` as a process in its own session; ``close_fds`` are closed in the child,
    ``limits`` are ``(resource.RLIMIT_*, bytes)`` pairs set in it."""
    import resource

    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("RNNTOOLS_DEBUG", None)

    def pre():
        # a process group of its own (killpg ends its children), not a session: a new session is a new scheduling
        # autogroup at nice 0, which escapes the niceness the suite runs at
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, sigint)  # SIG_IGN: as a job a script starts with `&`
        for fd in close_fds:
            os.close(fd)
        for which, value in limits:
            resource.setrlimit(which, (value, value))

    return subprocess.Popen([sys.executable, "-m", "rnntools", *map(str, args)], stdin=stdin, stdout=stdout,
                            stderr=subprocess.PIPE, env=env, cwd=cwd, preexec_fn=pre, **kw)


def finish(proc, timeout=240):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("no answer in time") from None
    return proc.returncode, out, err.decode("utf-8", "replace")


def one_error_line(err: str, *patterns: str) -> None:
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if ": warning:" not in line]
    assert len(lines) == 1 and ": error: " in lines[0], err
    for pattern in patterns:
        assert pattern.lower() in lines[0].lower(), err


def whole_model(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        for name in z.files:
            assert np.all(np.isfinite(z[name])) if z[name].dtype.kind == "f" else True
    assert meta["format"] == "rnntools"
    return meta


@pytest.fixture(scope="module")
def lm_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("proc")
    code, _, err = finish(rnntools(["rnn-train", "--task", "lm", os.path.join(SAMPLES, "book.txt"), "-o",
                                    root / "lm.npz", *TINY]))
    assert code == 0, err
    code, _, err = finish(rnntools(["vocab", os.path.join(SAMPLES, "book.txt"), "-o", root / "v.jsonl"]))
    assert code == 0, err
    return root / "lm.npz"


# --- standard streams ----------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["vocab"], ["bow", "--vocab", "V"], ["predict", "M"], ["sample", "-"]])
def test_closed_stdin_is_one_line_exit_1(lm_model, tmp_path, args):
    args = [str(lm_model) if a == "M" else str(lm_model.parent / "v.jsonl") if a == "V" else a for a in args]
    code, _, err = finish(rnntools(args, close_fds=(0,)))
    assert code == 1
    one_error_line(err, "standard input")


@pytest.mark.parametrize("args", [["vocab", "BOOK"], ["sample", "M", "--length", "50"], ["predict", "M", "DOCS"]])
def test_closed_stdout_is_one_line_exit_1(lm_model, tmp_path, args):
    (tmp_path / "docs.txt").write_text("the cat sat\n")
    args = [str(lm_model) if a == "M" else os.path.join(SAMPLES, "book.txt") if a == "BOOK"
            else str(tmp_path / "docs.txt") if a == "DOCS" else a for a in args]
    code, _, err = finish(rnntools(args, stdout=subprocess.DEVNULL, close_fds=(1,)))
    assert code == 1
    one_error_line(err, "standard output")


@pytest.mark.parametrize("args", [["vocab", "BOOK"], ["sample", "M", "--length", "5000"], ["predict", "M", "BOOK"]])
def test_reader_gone_ends_quietly(lm_model, args):
    args = [str(lm_model) if a == "M" else os.path.join(SAMPLES, "book.txt") if a == "BOOK" else a for a in args]
    proc = rnntools(args)
    assert proc.stdout.read(1)
    proc.stdout.close()  # `| head -c1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=240) == 0, err
    assert err == "", err


def test_closed_stderr_keeps_a_success(tmp_path):
    (tmp_path / "docs.txt").write_text("the cat sat\n")
    code, out, _ = finish(rnntools(["vocab", tmp_path / "docs.txt"], close_fds=(2,)))
    assert code == 0 and b'"cat"' in out


# --- signals -------------------------------------------------------------------------------------------

def _train_until_logged(tmp_path, task_args, out, extra=()):
    log = tmp_path / "log.jsonl"
    proc = rnntools(["rnn-train", *task_args, "-o", out, "--log", log, "--max-time", "120", "--threads", "1",
                     *extra])
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.stat().st_size > 0:
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[1].decode()
    return proc


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_interrupted_training_saves_a_whole_model(lm_model, tmp_path, sig, status, existing):
    out = tmp_path / "out.npz"
    if existing:
        shutil.copy(lm_model, out)
    proc = _train_until_logged(tmp_path, ["--task", "lm", os.path.join(SAMPLES, "book.txt"), "--hidden", "32"], out)
    time.sleep(0.5)
    proc.send_signal(sig)
    code, _, err = finish(proc)
    assert code == status, err
    assert "Traceback" not in err
    assert out.exists(), "the model trained so far is saved"  # saved on interruption
    whole_model(out)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


@pytest.mark.parametrize("command", ["w2v-train", "rnn-train"])
def test_sigterm_stops_a_run_that_ignores_sigint(tmp_path, command):
    """A job started in the background by a script ignores SIGINT; SIGTERM must still stop it (it used to be
    turned into an ignored SIGINT: w2v-train went on training)."""
    out, log = tmp_path / "out.npz", tmp_path / "log.jsonl"
    args = (["w2v-train", os.path.join(SAMPLES, "corpus.txt"), "--epochs", "100000", "--min-count", "1",
             "--threads", "1"] if command == "w2v-train" else
            ["rnn-train", "--task", "lm", os.path.join(SAMPLES, "book.txt"), "--max-time", "120", "--threads", "1"])
    proc = rnntools([*args, "-o", out, "--log", log], sigint=signal.SIG_IGN)
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_text().count("\n") >= 2:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc, timeout=60)
    assert code == 143, err
    whole_model(out)


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_while_python_shuts_down_is_one_line(tmp_path, sig, status):
    """A signal that arrives after the work is done, while the interpreter joins threads at exit (slow on a
    busy machine), ends the process with the interruption's status: it used to print a KeyboardInterrupt
    traceback from threading's exit hook (SIGINT) or die silently (SIGTERM)."""
    ready = tmp_path / "ready"
    # a thread the interpreter joins at exit, as it joins the engine's: it says so once the main thread has ended
    script = ("import os, sys, threading, time\n"
              "def slow_join():\n"
              "    while threading.main_thread().is_alive():\n"
              "        time.sleep(0.01)\n"
              f"    open({str(ready)!r}, 'w').close()\n"
              "    time.sleep(30)\n"
              "threading.Thread(target=slow_join).start()\n"
              f"sys.argv = ['rnntools', 'vocab', {os.path.join(SAMPLES, 'book.txt')!r}, '-o', "
              f"{str(tmp_path / 'v.jsonl')!r}]\n"
              "from rnntools.cli import main\nmain()\n")
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and not ready.exists() and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(sig)
    code, _, err = finish(proc, timeout=20)
    assert code == status and "Traceback" not in err and err.strip() == "rnntools: interrupted", err
    assert (tmp_path / "v.jsonl").stat().st_size > 0  # the work was done and kept


def test_sigkill_never_leaves_a_corrupt_model(lm_model, tmp_path):
    out = tmp_path / "out.npz"
    shutil.copy(lm_model, out)
    for delay in (0.0, 0.3, 0.7):
        proc = _train_until_logged(tmp_path, ["--task", "lm", os.path.join(SAMPLES, "book.txt"), "--hidden", "16"],
                                   out, extra=["--checkpoint-every", "1"])
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        whole_model(out)  # the old model or a checkpoint, never half of one


# --- concurrent writers --------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["w2v-train", os.path.join(SAMPLES, "corpus.txt"), "-o", "OUT", "--dim", "16", "--epochs", "1", "--threads", "1"],
    ["vocab", os.path.join(SAMPLES, "book.txt"), "-o", "OUT"],
], ids=["w2v-train", "vocab"])
def test_concurrent_writers_leave_one_whole_file(tmp_path, args):
    out = tmp_path / ("out.npz" if args[0] == "w2v-train" else "out.jsonl")
    procs = [rnntools([str(out) if a == "OUT" else a for a in args]) for _ in range(3)]
    results = [finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    if out.suffix == ".npz":
        whole_model(out)
    else:
        lines = out.read_text().splitlines()
        assert all(json.loads(line) for line in lines)
        assert len(lines) == len(set(lines)), "lines of two writers interleaved"
    assert os.listdir(tmp_path) == [out.name]


# --- full disk -----------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 16 KiB tmpfs where mounting is allowed (root in a container), else skip."""
    path = tmp_path / "small"
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(path)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.mark.parametrize("args", [
    ["vocab", os.path.join(SAMPLES, "book.txt"), "-o", "OUT"],
    ["sample", "M", "--length", "30000", "-o", "OUT"],
    ["rnn-train", "--task", "lm", os.path.join(SAMPLES, "book.txt"), "-o", "OUT", *TINY],
], ids=["vocab", "sample", "rnn-train"])
def test_full_disk_is_one_line_and_keeps_the_old_file(lm_model, small_disk, args):
    out = small_disk / "out"
    out.write_bytes(b"old")
    code, _, err = finish(rnntools([str(out) if a == "OUT" else str(lm_model) if a == "M" else a for a in args]))
    assert code == 1
    one_error_line(err, "no space left")
    assert out.read_bytes() == b"old"
    assert os.listdir(small_disk) == ["out"], "the temporary file is removed"


def test_file_size_limit_is_one_line_and_keeps_the_old_file(tmp_path):
    import resource

    out = tmp_path / "v.jsonl"
    out.write_text("old")
    code, _, err = finish(rnntools(["vocab", os.path.join(SAMPLES, "book.txt"), "-o", out],
                                   limits=[(resource.RLIMIT_FSIZE, 4096)]))
    assert code == 1
    one_error_line(err, str(tmp_path))
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["v.jsonl"]


def test_read_only_folder_fails_before_work(tmp_path):
    """A read-only bind mount: permission bits do not stop root, a read-only file system does."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot make a read-only bind mount here")
    try:
        start = time.monotonic()
        code, _, err = finish(rnntools(["w2v-train", os.path.join(SAMPLES, "corpus.txt"), "-o", folder / "w.npz",
                                        "--epochs", "40"]))
        assert code == 1
        one_error_line(err, "w.npz")
        assert time.monotonic() - start < 60, "refused before training"
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_memory_cap_is_a_clear_error(tmp_path):
    import resource

    code, _, err = finish(rnntools(["rnn-train", "--task", "lm", os.path.join(SAMPLES, "book.txt"), "-o",
                                    tmp_path / "m.npz", "--hidden", "8192", "--threads", "1"],
                                   limits=[(resource.RLIMIT_AS, 3 << 30)]))
    assert code in (1, 2), err
    one_error_line(err, "memory")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("megabytes", [200, 250, 300])
def test_address_limit_below_numba_is_memory_not_the_output(lm_model, tmp_path, megabytes):
    """Under `ulimit -v` of a few hundred MB numba's library fails to load (an OSError without an errno), a
    numpy module fails to map, or C code returns NULL: the message says memory, not the output file, and
    the old output stays."""
    import resource

    out = tmp_path / "out.jsonl"
    out.write_text("old")
    code, _, err = finish(rnntools(["predict", lm_model, os.path.join(SAMPLES, "book.txt"), "-o", out],
                                   limits=[(resource.RLIMIT_AS, megabytes << 20)]))
    assert code == 1, err
    one_error_line(err, "memory")
    assert "out.jsonl" not in err and "internal error" not in err
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["out.jsonl"]


def test_a_deleted_working_folder(lm_model, tmp_path):
    """The shell's folder removed under it: relative paths are an error naming the path (were a bare "No
    such file or directory"); absolute ones work (training failed inside numba's compiler, which takes
    relative paths of its sources)."""
    gone = tmp_path / "gone"
    book = os.path.join(SAMPLES, "book.txt")

    def run(*args):
        script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
        proc = subprocess.run(["sh", "-c", script, "sh", str(gone), sys.executable, "-m", "rnntools", *map(str, args)],
                              capture_output=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=240)
        return proc.returncode, proc.stdout, proc.stderr.decode()

    for args, name in ((["vocab", "book.txt"], "book.txt"), (["vocab", book, "-o", "v.jsonl"], "v.jsonl")):
        gone.mkdir()
        code, _, err = run(*args)
        assert code == 1, err
        one_error_line(err, name, "current folder")
    gone.mkdir()
    code, out, err = run("vocab", book)
    assert code == 0 and out.startswith(b'{"format": "rnntools-vocab"'), err
    gone.mkdir()
    code, _, err = run("rnn-train", "--task", "lm", book, "-o", tmp_path / "m.npz", *TINY)
    assert code == 0, err
    whole_model(tmp_path / "m.npz")


def test_dev_full_is_one_line(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    code, _, err = finish(rnntools(["vocab", os.path.join(SAMPLES, "book.txt"), "-o", "/dev/full"]))
    assert code == 1
    one_error_line(err, "no space left")


# --- workers die with their parent ---------------------------------------------------------------------

def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_workers_never_outlive_the_parent(how):
    yes = subprocess.Popen(["yes", "the cat sat on the mat " * 8], stdout=subprocess.PIPE)
    proc = rnntools(["vocab", "--threads", "3"], stdin=yes.stdout, stdout=subprocess.DEVNULL)
    yes.stdout.close()
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
            workers = _children(proc.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "vocab --threads 3 starts two worker processes (and counts in the third)"
        os.kill(proc.pid, getattr(signal, how))
        code = proc.wait(timeout=60)
        if how != "SIGKILL":
            assert code == {"SIGTERM": 143, "SIGINT": 130}[how], proc.stderr.read().decode()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "workers left behind"
    finally:
        yes.kill()
        yes.wait()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- an output that is an input under another name (session 16) ---------------------------------------

def test_stdout_appended_to_an_input_is_refused(lm_model, tmp_path):
    """`bow FILE >> FILE` read its own output for as long as it ran, growing FILE (as `cat f >> f`); the
    shell's redirection, an -o naming stdin or a descriptor, and stdin itself are all inputs by identity."""
    docs = tmp_path / "docs.txt"
    docs.write_text("the cat sat\nthe dog ran\n" * 20000)
    before = docs.read_bytes()
    vocab = tmp_path / "v.jsonl"
    code, _, err = finish(rnntools(["vocab", docs, "-o", vocab]))
    assert code == 0, err
    with open(docs, "ab") as out:
        code, _, err = finish(rnntools(["bow", "--vocab", vocab, docs], stdout=out), timeout=60)
    assert code == 2
    one_error_line(err, "standard output is")
    with open(docs, "rb") as stdin, open(docs, "ab") as out:
        code, _, err = finish(rnntools(["bow", "--vocab", vocab], stdin=stdin, stdout=out), timeout=60)
    assert code == 2
    one_error_line(err, "standard input")
    with open(docs, "rb") as stdin:       # -o /dev/stdin: was a rename over the file stdin came from
        code, _, err = finish(rnntools(["vocab", "-", "-o", "/dev/stdin"], stdin=stdin))
    assert code == 2
    one_error_line(err, "also an input")
    fd = os.open(docs, os.O_RDONLY)       # -o /proc/self/fd/N of an input: was appended to it
    try:
        code, _, err = finish(rnntools(["vocab", docs, "-o", f"/proc/self/fd/{fd}"], pass_fds=(fd,)))
    finally:
        os.close(fd)
    assert code == 2
    one_error_line(err, "also an input")
    assert docs.read_bytes() == before
    with open(tmp_path / "out.jsonl", "ab") as out:   # another file: still fine
        code, _, err = finish(rnntools(["bow", "--vocab", vocab, docs], stdout=out), timeout=120)
    assert code == 0, err


# --- found by hand (session 17) -----------------------------------------------------------------------

def test_numba_variable_it_cannot_parse_is_one_warning_line(lm_model):
    """numba ignores NUMBA_OPT=x (or NUMBA_DISABLE_JIT=yes) with a warning quoting its parser's traceback."""
    env = {**os.environ, "PYTHONPATH": ROOT, "NUMBA_OPT": "x", "NUMBA_DISABLE_JIT": "yes"}
    env.pop("RNNTOOLS_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "rnntools", "predict", str(lm_model)], input="the cat\n", env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0 and result.stdout, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = sorted(result.stderr.strip().splitlines())
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("rnntools predict: warning: NUMBA_DISABLE_JIT='yes' is not a value numba")
    assert lines[1].startswith("rnntools predict: warning: NUMBA_OPT='x' is not a value numba")


@pytest.mark.parametrize("args", [["vocab", "BOOK"], ["sample", "M", "--length", "30000"], ["plot", "log", "LOG"]])
def test_standard_output_on_a_full_device_names_it(lm_model, tmp_path, args):
    """`> /dev/full` was "no space left on device (nothing was replaced; ...)", naming no file (`plot` wrote
    past the output policy)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    log = tmp_path / "log.jsonl"
    log.write_text('{"event": "eval", "time": 1, "step": 1, "epoch": 1, "loss": 2.0, "val_loss": 2.5}\n'
                   '{"event": "eval", "time": 2, "step": 2, "epoch": 1, "loss": 1.5, "val_loss": 2.0}\n')
    args = [{"BOOK": os.path.join(SAMPLES, "book.txt"), "M": str(lm_model), "LOG": str(log)}.get(a, a) for a in args]
    with open("/dev/full", "wb") as full:
        code, _, err = finish(rnntools(args, stdout=full))
    assert code == 1, err
    one_error_line(err, "standard output: cannot write (no space left")


# --- found by hand (session 22) ---------------------------------------------------------------------------

_SLOW_IMPORT = """
import os, runpy, sys, time

module, marker = sys.argv[1:3]

class SlowImport:
    # holds the import of one module for a while, after saying so in a file: a signal sent then arrives while
    # the command's modules are being imported, whatever the machine's speed
    def find_spec(self, name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(self)
            open(marker, "w").close()
            time.sleep(60)
        return None

sys.meta_path.insert(0, SlowImport())
sys.argv = ["rnntools", *sys.argv[3:]]
runpy.run_module("rnntools", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("module", ["click", "rnntools.cli.common"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_while_the_command_is_imported(tmp_path, module, sig):
    """Ctrl-C, SIGTERM or SIGHUP while `python -m rnntools` still imports the command's modules: the documented
    status and one line. Before: SIGTERM or SIGHUP during click's import killed the process silently by the
    signal; any of the three during the import of rnntools.cli.common (inside main, before its handlers' try)
    was a KeyboardInterrupt traceback."""
    marker = tmp_path / "importing"
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("RNNTOOLS_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, module, str(marker), "vocab", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()
    proc.send_signal(sig)
    code, out, err = finish(proc)
    assert code == 128 + sig, (code, err)
    assert err.strip() == "rnntools: interrupted" + ("" if sig == signal.SIGINT else f" ({sig.name})"), err
    assert out == b""


# --- found by hand (session 23) ------------------------------------------------------------------------

def _nonblocking_pipe():
    """A pipe whose ends are non-blocking (O_NONBLOCK on the shared open file description), as node and some
    terminal multiplexers leave the standard streams they hand on."""
    import fcntl

    read, write = os.pipe()
    for fd in (read, write):
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    return read, write


def _read_all(fd) -> bytes:
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _wait_until(proc, ready, seconds=120):
    deadline = time.monotonic() + seconds
    while proc.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.05)


def _pipe_full(fd):
    """A test of whether the pipe is full: bytes in it, and no more coming for 0.3 s (a pipe of odd-sized
    writes holds less than 64 KiB)."""
    import array
    import fcntl
    import termios

    seen = {"last": -1, "same": 0}

    def full() -> bool:
        n = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, n)
        seen["same"] = seen["same"] + 1 if n[0] == seen["last"] and n[0] > 0 else 0
        seen["last"] = n[0]
        return seen["same"] >= 6
    return full


def _reading_stdin(pid) -> bool:
    """Whether a thread of the process waits in read(0, ...) (x86-64's syscall 0)."""
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/syscall") as f:
                if f.read().startswith("0 0x0 "):
                    return True
    except OSError:
        pass
    return False


@pytest.mark.parametrize("args", [["sample", "M", "--length", "200000", "--seed", "3"],
                                  ["vocab", os.path.join(SAMPLES, "corpus.txt")]])
def test_nonblocking_stdout_with_a_slow_reader_loses_nothing(lm_model, args):
    """Standard output left non-blocking by another program, its reader slow: Python's file object dropped
    what did not fit in the pipe (64 KiB of `sample --length 200000`), exit 0."""
    args = [lm_model if a == "M" else a for a in args]
    code, whole, err = finish(rnntools(args))
    assert code == 0, err
    read, write = _nonblocking_pipe()
    proc = rnntools(args, stdout=write)
    os.close(write)
    _wait_until(proc, _pipe_full(read))  # the reader comes late: the pipe is full, rnntools writes on
    time.sleep(0.5)
    out = _read_all(read)
    code, _, err = finish(proc)
    assert code == 0, err
    assert out == whole, (len(out), len(whole))


def test_nonblocking_stdin_read_whole(lm_model):
    """Standard input left non-blocking: the first moment the pipe was empty was the end of the input (`vocab`
    found no words, exit 1; `predict` wrote nothing, exit 0)."""
    import fcntl

    text = b"the cat sat on the mat\n" * 2000
    read, write = _nonblocking_pipe()
    proc = rnntools(["vocab"], stdin=read)
    os.close(read)
    fcntl.fcntl(write, fcntl.F_SETFL, fcntl.fcntl(write, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    _wait_until(proc, lambda: _reading_stdin(proc.pid), seconds=30)  # the writer is late
    try:
        os.write(write, text[:100])
        time.sleep(0.5)
        os.write(write, text[100:])
    except BrokenPipeError:
        pass  # rnntools took the empty pipe for the end of its input, and ended
    os.close(write)
    code, out, err = finish(proc)
    assert code == 0, err
    counts = {r["token"]: r["count"] for r in map(json.loads, out.decode().splitlines()[1:])}
    assert counts["the"] == 4000 and counts["mat"] == 2000, counts


def test_nonblocking_flag_is_given_back_at_exit(tmp_path):
    """The flag is another program's: it is set again when rnntools ends, as that program left it."""
    import fcntl

    fd = os.open(tmp_path / "out.jsonl", os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK)
    code, _, err = finish(rnntools(["vocab", os.path.join(SAMPLES, "book.txt")], stdout=fd))
    assert code == 0, err
    assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK
    os.close(fd)
    assert (tmp_path / "out.jsonl").read_text().count("\n") > 10


# --- found by hand (session 24) -----------------------------------------------------------------------

_BOOK = os.path.join(SAMPLES, "book.txt")


@pytest.mark.parametrize("args", [["rnn-train", "--task", "lm", _BOOK, *TINY, "-o", "-", "--log", "/dev/stdout"],
                                  ["rnn-train", "--task", "lm", _BOOK, *TINY, "-o", "/dev/stdout", "--log", "-"],
                                  ["w2v-train", _BOOK, "--epochs", "1", "-o", "/dev/fd/1", "--log", "/proc/self/fd/1"],
                                  ["phrases", _BOOK, "--save-table", "/dev/stdout"]])
@pytest.mark.parametrize("stdout", ["pipe", "file"])
def test_two_outputs_on_one_stream_are_refused(tmp_path, args, stdout):
    """Two outputs on one stream under two names (`-o - --log /dev/stdout`, two descriptors of one pipe or file,
    `phrases --save-table /dev/stdout` beside the joined text) wrote the model and the training log (the table
    and the text) into each other, exit 0: regular files were compared by path only, standard streams not at
    all."""
    if stdout == "pipe":
        code, out, err = finish(rnntools(args))
    else:
        with open(tmp_path / "out.bin", "wb") as f:
            code, out, err = finish(rnntools(args, stdout=f))
        out = (tmp_path / "out.bin").read_bytes()
    assert code == 2, err
    one_error_line(err, "the same file is given for two outputs")
    assert out == b""


def test_two_outputs_on_dev_null_are_fine():
    code, _, err = finish(rnntools(["rnn-train", "--task", "lm", _BOOK, *TINY, "-o", "/dev/null", "--log",
                                    "/dev/null"]))
    assert code == 0, err


@pytest.mark.parametrize("stdio", ["devnull", "terminal"])
def test_same_device_as_standard_input_and_output_is_not_an_overlap(tmp_path, stdio):
    """`/dev/null` (cron, services, a CI runner) or one terminal as both standard input and standard output is
    the usual case: `neighbors vectors.npz king` typed at a terminal, or run with `< /dev/null > /dev/null`, was
    "standard output and standard input are one file", exit 2 (identities were compared for any kind of file,
    not regular files only)."""
    import pty

    code, _, err = finish(rnntools(["w2v-train", _BOOK, "--epochs", "1", "--dim", "8", "-o", tmp_path / "w.npz"]))
    assert code == 0, err
    args = ["neighbors", tmp_path / "w.npz", "the", "-k", "2"]
    if stdio == "devnull":
        code, _, err = finish(rnntools(args, stdout=subprocess.DEVNULL))
    else:
        main, other = pty.openpty()
        try:
            code, _, err = finish(rnntools(args, stdin=other, stdout=other))
        finally:
            os.close(main)
            os.close(other)
    assert code == 0, err


# --- found by hand (session 25) -----------------------------------------------------------------------

_SIGNAL_IN_STRING_EXEC = """
import importlib.machinery, os, sys

class SignalInGeneratedCode:
    # when the command's module is imported, a signal arrives while code run from a string executes (as a
    # dataclass's generated __init__ or a namedtuple's __new__ is made): its handler's KeyboardInterrupt leaves
    # that string's exec, and the import, and is caught by the command line as any Ctrl-C
    def find_spec(self, name, path=None, target=None):
        if name != "rnntools.cli.vocab":
            return None
        sys.meta_path.remove(self)
        exec("os.kill(os.getpid(), int(os.environ['RNNTOOLS_TEST_SIGNAL']))\\nfor _ in range(10 ** 7): pass",
             {"os": os})
        return None

if os.environ.get("RNNTOOLS_TEST_SIGNAL"):
    sys.meta_path.insert(0, SignalInGeneratedCode())
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_in_code_run_from_a_string_is_the_documented_status(tmp_path, sig):
    """Ctrl-C or SIGTERM while code run from a string executes (dataclasses' and namedtuples' generated methods,
    made by the hundred as numpy and numba are imported): "rnntools: interrupted", then death by SIGINT (-2 to the
    parent), since CPython ends a `python -m` program by SIGINT at exit when a KeyboardInterrupt once left a string
    exec, caught or not. Seen before as 1 in 40 signals about 0.3 s after start."""
    (tmp_path / "sitecustomize.py").write_text(_SIGNAL_IN_STRING_EXEC)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "RNNTOOLS_TEST_SIGNAL": str(int(sig))}
    env.pop("RNNTOOLS_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", "vocab", os.path.join(SAMPLES, "book.txt")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    code, out, err = finish(proc)
    assert code == 128 + sig, (code, err)
    assert err.strip() == "rnntools: interrupted" + ("" if sig == signal.SIGINT else f" ({sig.name})"), err
    assert out == b""


@pytest.mark.parametrize("command", [[], ["vocab"], ["w2v-train"], ["plot"], ["plot", "log"], ["rnn-train"]])
def test_help_under_python_oo_keeps_the_summary_and_examples(command):
    """`python -OO` (PYTHONOPTIMIZE=2) drops docstrings, which are the commands' help: `--help` showed the options
    alone, with no summary, example block or exit statuses."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("PYTHONOPTIMIZE", None)
    plain, optimized = (subprocess.run([sys.executable, *flags, "-m", "rnntools", *command, "--help"], env=env,
                                       capture_output=True, text=True, timeout=120) for flags in ([], ["-OO"]))
    assert plain.returncode == optimized.returncode == 0, optimized.stderr
    assert "    rnntools " in plain.stdout  # an example line
    assert optimized.stdout == plain.stdout


_SLOW_TEARDOWN = """
import os, sys, time, types

class SlowToFree:
    # freed while the interpreter tears down its modules, after it has put the signals' default actions back
    # (what it uses is bound now: the builtins may be gone by then)
    def __del__(self, _open=open, _sleep=time.sleep, _path=os.environ.get("RNNTOOLS_TEST_READY")):
        _open(_path, "w").close()
        _sleep(3)

sys.modules["slow_to_free"] = types.ModuleType("slow_to_free")
sys.modules["slow_to_free"].instance = SlowToFree()
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_the_interpreter_teardown_keeps_the_run_status(tmp_path, sig):
    """A signal while the interpreter frees its modules at exit (numba's and numpy's take a tenth of a second or more):
    Python has put the default actions back by then, so Ctrl-C pressed twice during training (the second one just as
    the interrupted run ended) or once as a finished run exited killed it by the signal (-2 to the parent)."""
    (tmp_path / "sitecustomize.py").write_text(_SLOW_TEARDOWN)
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "RNNTOOLS_TEST_READY": str(ready)}
    env.pop("RNNTOOLS_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", "vocab", os.path.join(SAMPLES, "book.txt"), "-o",
                             tmp_path / "v.jsonl"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and not ready.exists() and proc.poll() is None:
        time.sleep(0.02)
    assert ready.exists(), proc.communicate()
    proc.send_signal(sig)
    code, _, err = finish(proc, timeout=60)
    assert code == 0 and err.strip() == "", (code, err)
    assert (tmp_path / "v.jsonl").stat().st_size > 0


_SECOND_SIGINT_WHILE_SAVING = """
import os, signal

_fsync = os.fsync


def fsync(fd):
    # once the test has sent its Ctrl-C, the next file synced is the interrupted run's save: Ctrl-C again, now
    if os.path.exists(os.environ["RNNTOOLS_TEST_FIRST_SENT"]) and not getattr(fsync, "sent", False):
        fsync.sent = True
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10 ** 6):  # the handler runs here
            pass
    return _fsync(fd)


os.fsync = fsync
"""


@pytest.mark.parametrize("command", ["rnn-train", "w2v-train"])
def test_ctrl_c_twice_still_saves_the_interrupted_run(tmp_path, command):
    """People press Ctrl-C twice. The first asks training to stop and save; a second one while that save was written
    aborted it: a new output was never written (every step lost), an existing one kept its older model, with
    "rnntools: interrupted" as the only message."""
    (tmp_path / "sitecustomize.py").write_text(_SECOND_SIGINT_WHILE_SAVING)
    first = tmp_path / "first-sent"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "RNNTOOLS_TEST_FIRST_SENT": str(first)}
    env.pop("RNNTOOLS_DEBUG", None)
    book = os.path.join(SAMPLES, "book.txt")
    args = (["rnn-train", "--task", "lm", book, "--hidden", "16", "--threads", "1", "--max-time", "600", "--epochs",
             "100000", "--patience", "100000", "--eval-every", "1000000"] if command == "rnn-train" else
            ["w2v-train", book, "--min-count", "1", "--epochs", "100000", "--threads", "1"])
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", *args, "-o", tmp_path / "out.npz", "--log", log],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not (log.exists() and
                                                                       log.read_text().count("\n") >= 2):
        time.sleep(0.1)
    time.sleep(0.5)
    first.touch()
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert "saved" in err, err   # "interrupted at step N; saved to ...", "interrupted: saved the vectors after ..."
    whole_model(tmp_path / "out.npz")


# --- found by hand (session 26) ---------------------------------------------------------------------------

_SECOND_SIGINT_WHILE_WORKERS_STOP = """
import os, signal, threading

_join = threading.Thread.join


def join(self, timeout=None):
    # once the test has sent its Ctrl-C, the first wait for a worker without a time limit is w2v-train stopping its
    # workers after that Ctrl-C: Ctrl-C again, now
    if (timeout is None and os.path.exists(os.environ["RNNTOOLS_TEST_FIRST_SENT"])
            and not getattr(join, "sent", False) and threading.current_thread() is threading.main_thread()):
        join.sent = True
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10 ** 6):  # the handler runs here
            pass
    return _join(self, timeout)


threading.Thread.join = join
"""


def test_ctrl_c_twice_while_w2v_train_stops_its_workers_still_saves(tmp_path):
    """People press Ctrl-C twice. A second Ctrl-C while w2v-train's workers finished their batches after the first (or
    before the save began) went up as a KeyboardInterrupt: no vectors saved, "rnntools: interrupted" the only
    message, every word trained lost."""
    (tmp_path / "sitecustomize.py").write_text(_SECOND_SIGINT_WHILE_WORKERS_STOP)
    first = tmp_path / "first-sent"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "RNNTOOLS_TEST_FIRST_SENT": str(first)}
    env.pop("RNNTOOLS_DEBUG", None)
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", "w2v-train", os.path.join(SAMPLES, "book.txt"),
                             "--min-count", "1", "--epochs", "100000", "--threads", "2", "-o", tmp_path / "out.npz",
                             "--log", log], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not (log.exists() and
                                                                       log.read_text().count("\n") >= 2):
        time.sleep(0.1)
    time.sleep(0.5)
    first.touch()
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert "interrupted: saved the vectors after" in err, err
    whole_model(tmp_path / "out.npz")


_CTRL_C_WRAPPED_IN_AN_IMPORT = """
import importlib.machinery, os, signal, sys

class CtrlCWrappedInAnImport:
    # when matplotlib is imported, a Ctrl-C lands where Python or a library wraps the KeyboardInterrupt: in a class
    # body's __set_name__ (a RuntimeError in Python 3.11), or a library's `except ImportError` around a half-done import
    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib":
            return None
        sys.meta_path.remove(self)
        how = os.environ["RNNTOOLS_TEST_WRAPPED"]

        class SendsCtrlC:
            def __set_name__(self, owner, name):
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(10 ** 7):
                    pass

        if how == "set_name":
            type("Formatter", (), {"attribute": SendsCtrlC()})
        try:
            SendsCtrlC().__set_name__(None, "x")
        except KeyboardInterrupt:
            raise ImportError("cannot import name 'ft2font' from partially initialized module 'matplotlib'")
        return None

if os.environ.get("RNNTOOLS_TEST_WRAPPED"):
    sys.meta_path.insert(0, CtrlCWrappedInAnImport())
"""


@pytest.mark.parametrize("how", ["set_name", "import_error"])
def test_ctrl_c_wrapped_by_python_is_still_an_interruption(tmp_path, how):
    """A Ctrl-C while matplotlib is imported (`plot -o x.png`) landed where the KeyboardInterrupt is wrapped: "internal
    error (RuntimeError: Error calling __set_name__ on 'deprecate_privatize_attribute' instance ...)", exit 1, or
    "PNG, SVG and PDF pictures need matplotlib: pip install ...", exit 2."""
    (tmp_path / "sitecustomize.py").write_text(_CTRL_C_WRAPPED_IN_AN_IMPORT)
    (tmp_path / "log.jsonl").write_text('{"event": "step", "step": 1, "loss": 2.0}\n{"event": "step", "step": 2, '
                                        '"loss": 1.5}\n')
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "RNNTOOLS_TEST_WRAPPED": how}
    env.pop("RNNTOOLS_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", "plot", "log", tmp_path / "log.jsonl", "-o",
                             tmp_path / "p.png"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    code, _, err = finish(proc)
    assert code == 130 and err.strip() == "rnntools: interrupted", (code, err)
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("backend", ["nonsense", "module://matplotlib_inline.backend_inline"])
def test_plot_under_another_matplotlib_backend_setting(tmp_path, backend):
    """MPLBACKEND from the user's shell (a notebook's inline backend, a misspelt one): matplotlib checks it when it is
    imported, and `plot -o x.png` was "internal error (ValueError: Key backend: 'nonsense' is not a valid value for
    backend ...)"; rnntools draws with Agg whatever the setting."""
    (tmp_path / "log.jsonl").write_text('{"event": "step", "step": 1, "loss": 2.0}\n{"event": "step", "step": 2, '
                                        '"loss": 1.5}\n')
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": backend}
    env.pop("RNNTOOLS_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "rnntools", "plot", "log", tmp_path / "log.jsonl", "-o",
                             tmp_path / "p.png"], stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=300)
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")


# --- found in session 27 --------------------------------------------------------------------------------------

_LEAKED_SEMAPHORE = """
import multiprocessing, os, sys
from rnntools.distributed.cluster import Cluster

with Cluster("local:1", threads=1):
    # a semaphore registered with the resource tracker the cluster uses and never removed by this process, as the
    # nannies' were when a run ended while they made them
    lock = multiprocessing.get_context("spawn").Lock()
    sys.stdout.flush()
    os._exit(0)
"""


def test_the_resource_tracker_of_a_local_cluster_does_not_report_leaks(tmp_path):
    """The resource tracker (a child process writing to our stderr) printed "UserWarning: resource_tracker: There
    appear to be 6 leaked semaphore objects to clean up at shutdown" after "rnntools: interrupted" when a SIGTERM
    came while `--scheduler local:2` started its cluster; it removes them either way."""
    pytest.importorskip("distributed")
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen([sys.executable, "-c", _LEAKED_SEMAPHORE], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
                            preexec_fn=lambda: os.setpgid(0, 0))
    code, _, err = finish(proc)
    assert code == 0 and err == "", err


_WORKER_STARTS_LATE = """
import os, sys, time

marker = os.environ.get("RNNTOOLS_TEST_SPAWNED")
if marker and "--multiprocessing-fork" in sys.argv:
    time.sleep(2)  # a worker process: reads what its parent sent only after a while
elif marker:
    from multiprocessing import popen_spawn_posix

    launch = popen_spawn_posix.Popen._launch

    def slow_launch(self, process_obj):
        # the first worker process is spawned and sent its part, and is not yet among this process's children
        launch(self, process_obj)
        if not os.path.exists(marker):
            open(marker, "w").close()
            time.sleep(3)

    popen_spawn_posix.Popen._launch = slow_launch
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_a_local_cluster_starts(tmp_path, sig):
    """A Ctrl-C or SIGTERM while `--scheduler local:2` started its cluster left the start in flight: a worker
    process spawned then found the semaphores of its queues removed by our exit and printed a FileNotFoundError
    traceback after "rnntools: interrupted". The signal is now acted on once the cluster has started, which is
    then shut down whole: the documented status, the one line, no process left."""
    pytest.importorskip("distributed")
    (tmp_path / "sitecustomize.py").write_text(_WORKER_STARTS_LATE)
    marker = tmp_path / "spawned"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "RNNTOOLS_TEST_SPAWNED": str(marker)}
    env.pop("RNNTOOLS_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-m", "rnntools", "vocab", os.path.join(SAMPLES, "corpus.txt"),
                             "--scheduler", "local:2", "-o", tmp_path / "out.jsonl"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_DFL)))
    deadline = time.monotonic() + 200
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), proc.communicate()
    proc.send_signal(sig)
    code, _, err = finish(proc)
    assert code == 128 + sig, (code, err)
    assert err.strip() == "rnntools: interrupted" + ("" if sig == signal.SIGINT else f" ({sig.name})"), err
    assert not (tmp_path / "out.jsonl").exists()
    assert _group_left_running(proc.pid) == []


def _group_left_running(pgid: int, wait: float = 20.0) -> list[str]:
    """The members of a process group still running (not zombies) once ``wait`` seconds have passed, killed."""
    deadline = time.monotonic() + wait
    while True:
        running = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        running.append(f.read().replace(b"\0", b" ").decode()[:200])
            except (OSError, ValueError):
                pass
        if not running or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if running:
        os.killpg(pgid, signal.SIGKILL)
    return running


@pytest.mark.parametrize("module", ["rnntools.cli.common", "rnntools.console"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_before_the_command_with_sigint_ignored(tmp_path, module, sig):
    """SIGTERM or SIGHUP to a job a script started with `&` (SIGINT ignored) while main() still imported what it
    needs before its try: a KeyboardInterrupt traceback, exit 130."""
    marker = tmp_path / "importing"
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("RNNTOOLS_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, module, str(marker), "vocab", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: (os.setpgid(0, 0), signal.signal(signal.SIGINT, signal.SIG_IGN)))
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()
    proc.send_signal(sig)
    code, out, err = finish(proc)
    assert code == 128 + sig, (code, err)
    assert err.strip() == f"rnntools: interrupted ({sig.name})", err
    assert out == b""


# --- found in session 28 --------------------------------------------------------------------------------------

def test_write_only_stdin_of_a_forecaster_is_named_as_the_input(tmp_path):
    """`rnntools predict fc.npz 0> FILE`: standard input open only for writing. The forecaster looks at its first
    bytes to tell JSONL from CSV, and that read's error was blamed on standard output ("standard output: cannot
    write (Bad file descriptor)")."""
    model = tmp_path / "fc.npz"
    code, _, err = finish(rnntools(["rnn-train", "--task", "forecast", os.path.join(SAMPLES, "airline.csv"), "-o",
                                    model, *TINY]))
    assert code == 0, err
    with open(tmp_path / "sink", "wb") as sink:
        code, out, err = finish(rnntools(["predict", model], stdin=sink))
    assert code == 1 and out == b""
    one_error_line(err, "<stdin>:1: cannot read (Bad file descriptor)")


def test_a_folder_as_standard_input_is_one_line(tmp_path):
    """`bin/rnntools vocab < some-dir`: Python itself stops before any of rnntools runs, with a five-line "Fatal
    Python error: init_sys_streams: <stdin> is a directory"; the clone's entry script says it in one line."""
    folder = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        proc = subprocess.run([os.path.join(ROOT, "bin", "rnntools"), "vocab"], stdin=folder, capture_output=True,
                              timeout=240)
    finally:
        os.close(folder)
    assert proc.returncode == 1 and proc.stdout == b""
    one_error_line(proc.stderr.decode(), "standard input is a folder")


# --- the `session29` probe group's findings -------------------------------------------------------------------------

def test_matplotlib_without_a_writable_config_folder_is_one_warning_line(tmp_path, monkeypatch):
    """`MPLCONFIGDIR=/proc/x rnntools plot log ... -o p.png`: matplotlib printed two paragraphs through Python's
    last-resort logging handler ("mkdir -p failed for path /proc/x ...", "Matplotlib created a temporary cache
    directory ... it is highly recommended ..."), and printed them under --quiet too."""
    pytest.importorskip("matplotlib")
    log = tmp_path / "log.jsonl"
    log.write_text('{"event": "eval", "step": 1, "loss": 2.0, "val_loss": 2.5}\n'
                   '{"event": "eval", "step": 2, "loss": 1.5, "val_loss": 2.0}\n')
    monkeypatch.setenv("MPLCONFIGDIR", "/proc/rnntools-none")
    code, _, err = finish(rnntools(["plot", "log", log, "-o", tmp_path / "p.png"]))
    lines = err.strip().splitlines()
    assert code == 0 and len(lines) == 1, err
    assert lines[0].startswith("rnntools plot log: warning: matplotlib: ") and "MPLCONFIGDIR" in lines[0], err
    code, _, err = finish(rnntools(["plot", "log", log, "-o", tmp_path / "q.png", "-q"]))
    assert code == 0 and err == "", err
    assert (tmp_path / "p.png").stat().st_size > 0


def test_utf8_arguments_in_a_locale_that_is_not_utf8(tmp_path, monkeypatch):
    """`LC_ALL=POSIX PYTHONUTF8=0 rnntools neighbors w.npz naïve` (also `sample --prime café`): Python decodes the
    command line as ASCII there, every other byte a surrogate escape, and the text was refused as "not valid UTF-8
    text" though its bytes were UTF-8. A byte that is not UTF-8 is still refused."""
    vectors = tmp_path / "v.txt"
    vectors.write_text("2 3\ncafé 1 2 3\nnaïve 1 2 2.5\n", encoding="utf-8")
    code, _, err = finish(rnntools(["import", vectors, "-o", tmp_path / "w.npz"]))
    assert code == 0, err
    monkeypatch.setenv("LC_ALL", "POSIX")
    monkeypatch.setenv("PYTHONUTF8", "0")
    monkeypatch.delenv("PYTHONIOENCODING", raising=False)
    code, out, err = finish(rnntools(["neighbors", tmp_path / "w.npz", "naïve", "-k", "1"]))
    assert code == 0, err
    record = json.loads(out)
    assert record["query"] == "naïve" and record["neighbors"][0]["token"] == "café", out
    code, out, err = finish(rnntools(["neighbors", tmp_path / "w.npz", os.fsdecode(b"na\xefve")]))
    assert code == 2 and "not valid UTF-8 text" in err, err
