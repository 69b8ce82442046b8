"""K networks trained side by side, one per thread, and decoded as one (``--ensemble K``).

Why: the networks of an ensemble are independent until decoding, so K of them train in K processes of one
thread each with no communication, while one network given K threads gains far less from them (on full
CMUdict two threads made 1.3x the updates of one). In the same 45 minutes on two cores, two one-thread
networks decoded by the mean of their log-probabilities made 27.65% word errors against 28.42% for one
two-thread network (docs/seq2seq.md).

The model file: network 1 under a single network's names (a file of one network is what it always was, and
older files load as an ensemble of one); network k + 1 (k >= 1) under ``m<k>.<name>`` for each of its arrays
(parameters, ``resume.`` and ``state.`` copies), its trainer state in ``meta["members"][k - 1]["training"]``;
``meta["ensemble"]`` is K (absent: 1).

Training: each network is a whole single-network run (``trainer.fit``: its schedule, evaluations, early
stopping, Ctrl-C) in a forked process with ``threads // K`` threads, network k from ``member_seed(seed, k)``
(its initial weights, batch order and dropout) on the common validation split. Each writes a file of its own
in a folder beside the output; this process combines them into the output whenever one changes (an
evaluation, a checkpoint, the end), so the output is as current as a single network's would be. Ctrl-C (or
SIGINT to this process) reaches the networks through this process: each saves, the output is combined once
more, and the exit is an interruption. A network that fails (its loss exploding) stops the others; the
output keeps what they had saved.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Sequence

from rnntools.errors import ModelFileError, RnnToolsError, TrainingError

MAX_ENSEMBLE = 64
_PREFIX = re.compile(r"m([1-9][0-9]*)\.")
_FILE_KEYS = ("format", "format_version", "kind", "arrays")  # save_model writes these itself


def member_seed(seed: int, k: int) -> int:
    """The seed of network k (0-based) of an ensemble trained with ``seed``: network 0 keeps it (an ensemble
    of one is the single network), the others get seeds no single run can have (``--seed`` is below 2**32)."""
    return seed if k == 0 else seed + (k << 32)


def size(meta: dict, path: str = "") -> int:
    """The number of networks a seq2seq model file holds (``meta["ensemble"]``, 1 when absent)."""
    k = meta.get("ensemble", 1)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_ENSEMBLE:
        raise ModelFileError(f"corrupt seq2seq model metadata (ensemble {k!r} is not 1..{MAX_ENSEMBLE})", path)
    return k


def split(model) -> list:
    """A loaded model file (``rnntools.io.ModelFile``) as one ModelFile per network, each as a single
    network's run would have written it."""
    from rnntools.io import ModelFile

    k = size(model.meta, model.path)
    base = {key: value for key, value in model.meta.items() if key not in ("ensemble", "members")}
    parts = [{} for _ in range(k)]
    for name, array in model.arrays.items():
        m = _PREFIX.match(name)
        if m is None:
            parts[0][name] = array
        elif int(m.group(1)) < k:
            parts[int(m.group(1))][name[m.end():]] = array
        else:
            raise ModelFileError(f"corrupt seq2seq model (array {name!r} of a network beyond its {k})", model.path)
    if k == 1:
        return [model]
    members = model.meta.get("members")
    if not isinstance(members, list) or len(members) != k - 1 or not all(isinstance(m, dict) for m in members):
        members = [{}] * (k - 1)  # a file without training state still predicts; --resume says what is missing
    out = [ModelFile(model.kind, base, parts[0], model.path)]
    for i in range(1, k):
        meta = {**base, "training": members[i - 1].get("training")}
        if meta["training"] is None:
            del meta["training"]
        out.append(ModelFile(model.kind, meta, parts[i], model.path))
    return out


def join(parts: Sequence) -> tuple[dict, dict]:
    """(arrays, meta) of one model file holding the networks of ``parts`` (ModelFiles, network 1 first)."""
    arrays = dict(parts[0].arrays)
    meta = {key: value for key, value in parts[0].meta.items() if key not in _FILE_KEYS}
    if len(parts) == 1:
        return arrays, meta
    for k, part in enumerate(parts[1:], 1):
        arrays.update({f"m{k}.{name}": array for name, array in part.arrays.items()})
    meta["ensemble"] = len(parts)
    meta["members"] = [{"training": part.meta.get("training")} for part in parts[1:]]
    return arrays, meta


def _regular_target(path: str) -> bool:
    """Whether ``path`` is (or will be) a regular file, which can be rewritten whenever a network saves."""
    return path != "-" and (not os.path.exists(path) or os.path.isfile(path))


def fit_members(runs: Sequence[Callable[[str], dict]], output: str, kind: str, threads: int,
                poll: float = 1.0) -> list[dict]:
    """Run ``runs[k](path)`` (a whole training of network k, saved to ``path``; returns its summary) in
    one forked process each with ``threads`` threads, combining their files into ``output`` (see the module
    docstring). Returns the summaries; raises the first network's error, or KeyboardInterrupt when
    interrupted."""
    import multiprocessing
    from multiprocessing.connection import wait

    from rnntools.io import load_model, save_model

    regular = _regular_target(output)
    folder = tempfile.mkdtemp(prefix=f".{os.path.basename(output) or 'model'}.", suffix=".networks",
                              dir=(os.path.dirname(os.path.abspath(output)) if regular else None))
    paths = [os.path.join(folder, f"net{k}.npz") for k in range(len(runs))]
    ctx = multiprocessing.get_context("fork")
    procs, conns = [], []
    interrupts = [0]

    def forward(signum, frame):
        interrupts[0] += 1
        for p in procs:
            if p.exitcode is None:
                try:
                    os.kill(p.pid, signal.SIGINT)
                except OSError:
                    pass

    previous = None
    stamps: dict = {}

    def combine(final: bool = False) -> None:
        now = {}
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                return  # a network has saved nothing yet: no ensemble to write
            now[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
        if now == stamps.get("last") or not (regular or final):
            return
        arrays, meta = join([load_model(path, kind) for path in paths])
        save_model(output, kind, arrays, meta)
        stamps["last"] = now

    results: list = [None] * len(runs)
    try:
        try:
            previous = signal.signal(signal.SIGINT, forward)
        except ValueError:  # not the main thread: Ctrl-C is not ours to handle
            previous = None
        for k, run in enumerate(runs):
            mine, theirs = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_member, args=(run, paths[k], k, threads, theirs), daemon=True)
            p.start()
            theirs.close()
            procs.append(p)
            conns.append(mine)
        stopping = False
        while any(r is None for r in results):
            for k, conn in enumerate(conns):
                if results[k] is None and conn.poll():
                    try:
                        results[k] = conn.recv()
                    except (EOFError, OSError):  # ended without a word: killed
                        procs[k].join()
                        results[k] = ("died", _death(procs[k].exitcode))
            if not stopping and any(r is not None and r[0] in ("error", "died") for r in results):
                stopping = True  # one network failed: the others save and stop
                forward(signal.SIGINT, None)
                interrupts[0] -= 1
            combine()
            pending = [k for k, r in enumerate(results) if r is None]
            if pending:
                # (a network that has answered is left out: its ended process would end every wait at once)
                wait([conns[k] for k in pending] + [procs[k].sentinel for k in pending], timeout=poll)
        for p in procs:
            p.join()
        combine(final=True)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        for p in procs:
            if p.exitcode is None:
                p.terminate()
                p.join()
        shutil.rmtree(folder, ignore_errors=True)
    for k, r in enumerate(results):
        if r[0] in ("error", "died"):
            what = r[2] if r[0] == "error" else r[1]
            prefix = f"network {k + 1} of {len(runs)}: "
            error = _ERRORS.get(r[1], TrainingError) if r[0] == "error" else RnnToolsError
            raise error(prefix + what)
    if interrupts[0] or any(r[0] == "interrupted" for r in results):
        raise KeyboardInterrupt
    return [r[1] for r in results]


def _errors() -> dict:
    from rnntools import errors

    return {name: cls for name, cls in vars(errors).items()
            if isinstance(cls, type) and issubclass(cls, RnnToolsError)}


_ERRORS = _errors()


def _death(code) -> str:
    if code is not None and code < 0:
        try:
            return f"its process was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"its process was killed by signal {-code}"
    return f"its process ended with status {code}"


def _member(run: Callable, path: str, k: int, threads: int, conn) -> None:
    """A network's process: its own process group (Ctrl-C is the parent's to forward, once), dead with its
    parent however that dies, ``threads`` threads; sends ("ok", summary), ("interrupted",) or
    ("error", class name, message) back. Networks after the first train quietly: one progress bar is shown;
    each one's ``--log`` records say ``"network": k + 1``."""
    from rnntools import console
    from rnntools.parallel import _die_with_parent, configure_threads

    signal.signal(signal.SIGINT, signal.default_int_handler)  # not the parent's forwarding handler
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    _die_with_parent()
    configure_threads(threads)
    console.label_logs(network=k + 1)  # every network appends to the one --log
    if k > 0:
        console.configure(quiet=True, command=console.command_name())
    try:
        out = ("ok", run(path))
    except KeyboardInterrupt:
        out = ("interrupted",)
    except RnnToolsError as exc:
        out = ("error", type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported by the parent as this network's failure
        out = ("error", "TrainingError", f"{type(exc).__name__}: {exc}")
    conn.send(out)
    conn.close()
