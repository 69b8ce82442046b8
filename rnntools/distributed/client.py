"""What the client does: plan, send the partitions, and write every output itself (stdout in input order, or
one file per partition renamed into place only when all succeeded); what the workers said, said once."""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator, Sequence

from rnntools.distributed.cluster import Cluster, SchedulerError
from rnntools.distributed.partitions import check_inputs, plan
from rnntools.distributed.worker import (
    Spooled,
    _bow,
    _count,
    _evaluate,
    _evaluate_partial,
    _evaluate_piece,
    _merge_counts,
    _predict,
    _settings,
)
from rnntools.errors import UsageError


class ShardedOutput:
    """``-o out/part-{n}.jsonl``: partition n's results in its own file. Each is written to a temporary file
    beside it and all are renamed into place only when every partition has succeeded, so a failed or
    interrupted run leaves no partial shard (and no shard of an older run mixed with new ones)."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.written: list[tuple[str, str]] = []  # (temporary, final)

    PATTERN = r"\{n(:0?\d*d?)?\}"  # {n}, or {n:05d} for names that sort as the partitions do

    @staticmethod
    def is_pattern(output: str | None) -> bool:
        import re

        return output is not None and re.search(ShardedOutput.PATTERN, output) is not None

    def folder(self) -> str | None:
        """The folder of the shards (None if the pattern names folders too, or it is no folder)."""
        import re

        folder = os.path.dirname(os.path.abspath(self.pattern))
        return None if re.search(self.PATTERN, folder) or not os.path.isdir(folder) else folder

    def write(self, n: int, text: str | Spooled) -> None:
        """Partition n's shard: its text, or the task's spooled file (renamed to the shard's temporary name
        when both are in one filesystem, copied otherwise)."""
        import re
        import tempfile

        from rnntools.errors import OutputError

        final = re.sub(self.PATTERN, lambda m: format(n, (m.group(1) or ":")[1:]), self.pattern)
        folder = os.path.dirname(os.path.abspath(final))
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(final)[:200]}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(f"cannot create a file in {folder} ({exc.strerror or exc})", final) from None
        self.written.append((tmp, final))
        if isinstance(text, Spooled):
            checked(text)
            try:
                os.replace(text.path, tmp)
            except OSError:
                pass  # another filesystem: copied below
            else:
                os.close(fd)
                with open(tmp, "rb") as f:
                    os.fsync(f.fileno())
                return
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if isinstance(text, Spooled):
                copy_spooled(text, f)
            else:
                f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def commit(self) -> None:
        for tmp, final in self.written:
            os.replace(tmp, final)
        self.written = []

    def discard(self) -> None:
        for tmp, _ in self.written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.written = []


class Said:
    """What the partitions said on stderr, said once: lines that differ only in their whole numbers ("61 of
    2000 texts had no known tokens") are one line with the numbers summed, as a run over the whole input
    would count them; any other line is repeated once, in the order first said."""

    def __init__(self):
        self.lines: dict[str, list[int] | None] = {}

    def add(self, text: str) -> None:
        import re

        for line in text.splitlines():
            if re.search(r"\d[.,]\d|\d%", line):  # a ratio or a decimal does not add up
                self.lines.setdefault(line, None)
                continue
            template = re.sub(r"\d+", "\x00", line)
            numbers = [int(n) for n in re.findall(r"\d+", line)]
            old = self.lines.get(template)
            self.lines[template] = numbers if old is None else [a + b for a, b in zip(old, numbers)]

    def flush(self) -> None:
        for template, numbers in self.lines.items():
            line = template
            for n in numbers or ():
                line = line.replace("\x00", str(n), 1)
            sys.stderr.write(line + "\n")
        self.lines = {}


@contextlib.contextmanager
def spool_folder(output: str | None) -> Iterator[str | None]:
    """A new folder for the tasks' output files (``worker._output``: tasks that see it write there instead
    of returning their text), removed with whatever is left in it (the file of an attempt whose worker was
    killed, those of a failed or interrupted run) when the block ends. Beside sharded outputs, so that a
    shard is renamed into place; else in the temporary folder. None if no folder can be made: the tasks
    then return their text."""
    import shutil
    import tempfile

    near = ShardedOutput(output).folder() if ShardedOutput.is_pattern(output) else None
    folder = None
    for where in (near, None) if near else (None,):
        try:
            folder = tempfile.mkdtemp(prefix=".rnntools-spool-", dir=where)
            break
        except OSError:
            continue
    try:
        yield folder
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def checked(spooled: Spooled) -> None:
    """A spooled file as its task left it: here, and of the size the task wrote."""
    try:
        size = os.path.getsize(spooled.path)
    except OSError:
        size = None
    if size != spooled.size:
        raise SchedulerError(f"a task's output file {spooled.path} is {'missing' if size is None else 'cut short'} "
                             "(do the workers share this folder with the client?)")


# errors of an in-kernel copy that only say it cannot be done between these two files: the next way is tried
_NO_KERNEL_COPY = {getattr(errno, name) for name in ("EXDEV", "EINVAL", "ENOSYS", "EBADF", "EOPNOTSUPP", "ENOTSUP",
                                                     "ESPIPE", "ETXTBSY") if hasattr(errno, name)}


def copy_spooled(spooled: Spooled, stream) -> None:
    """Appends a task's spooled output file to ``stream`` (flushed first): inside the kernel where it can
    (``copy_file_range`` between files, ``sendfile`` to a pipe or another filesystem), else read and
    written in blocks."""
    checked(spooled)
    stream.flush()
    try:
        out_fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        out_fd = None  # a stream without a file (a test's captured output)
    with open(spooled.path, "rb") as f:
        done = 0
        if out_fd is not None:
            src = f.fileno()
            for call in _kernel_copies():
                try:
                    while done < spooled.size:
                        n = call(src, out_fd, spooled.size - done, done)
                        if n <= 0:
                            break
                        done += n
                except OSError as exc:
                    if exc.errno not in _NO_KERNEL_COPY:
                        raise
                if done >= spooled.size:
                    return
        f.seek(done)
        binary = getattr(stream, "buffer", None)
        decoder = None if binary is not None else codecs.getincrementaldecoder("utf-8")()
        while block := f.read(1 << 20):
            if binary is not None:
                binary.write(block)
            else:
                stream.write(decoder.decode(block))
        (binary or stream).flush()


def _kernel_copies() -> list[Callable[[int, int, int, int], int]]:
    """``call(src, dst, count, src_offset)`` copies inside the kernel, the fastest first, those this system has."""
    calls = []
    if hasattr(os, "copy_file_range"):  # between files; on the same filesystem it may share blocks
        calls.append(lambda src, dst, count, at: os.copy_file_range(src, dst, count, at))
    if hasattr(os, "sendfile"):  # to a pipe or socket too
        calls.append(lambda src, dst, count, at: os.sendfile(dst, src, at, count))
    return calls


def write_ordered(results: Iterator[tuple[str | Spooled, str]], output: str | None) -> None:
    """Partition texts (or the files tasks spooled them to) to stdout or ``output`` in order, or one file
    each; what the partitions said on stderr once at the end (a run that fails says only why, as in one
    process)."""
    from rnntools.io import open_output

    said = Said()
    if ShardedOutput.is_pattern(output):
        shards = ShardedOutput(output)
        try:
            for n, (text, message) in enumerate(results):
                said.add(message)
                shards.write(n, text)
            shards.commit()
        finally:
            shards.discard()
    else:
        with open_output(output) as stream:
            for text, message in results:
                said.add(message)
                if isinstance(text, Spooled):
                    copy_spooled(text, stream)
                    os.unlink(text.path)  # the spool holds only the window's files
                else:
                    stream.write(text)
                    stream.flush()
    said.flush()


def check_model_path(model: str) -> None:
    if model == "-":
        raise UsageError("with --scheduler the workers load the model by path: give a model file, not stdin (-)")


def unique_keys(results: Iterator[tuple[str, str, list | None]], repeated: Callable | None
                ) -> Iterator[tuple[str, str]]:
    """Partition results, checked in input order for a key that comes again (``repeated(key, first,
    again)`` is the error one process gives for it); the texts and messages passed on."""
    seen: dict = {}
    for text, message, keys in results:
        if keys and repeated is not None:
            for key, source in keys:
                first = seen.get(key)
                if first is not None:
                    raise repeated(key, first, source)
                seen[key] = source
        yield text, message


def run_model(name: str, task: str, model: str, inputs: list[str], output: str | None, options: dict,
              address: str, threads: int | None, split: bool = True,
              combine: Callable[[list], dict] | None = None, rule: Callable | None = None,
              repeated: Callable | None = None, pieces: list | None = None) -> dict | None:
    """``predict`` (records written here) or ``evaluate`` (the summary returned) of ``task``'s model file on
    the cluster at ``address``. ``rule(path)``: how an input may be cut (the task's ``partitioning``);
    ``repeated``: the error for a record key (the task's ``record_key``) that comes twice.

    ``evaluate`` with ``combine`` (a task that exposes ``evaluate_partial``/``evaluate_combine``): every
    partition's sufficient statistics are computed on the cluster and ``combine`` sums them here, exactly.
    Without it the summary of partitions is not the whole's (an average of averages is not the average;
    lm's evaluation carries its state from line to line), so the whole input is one task.

    ``evaluate`` with ``pieces`` (a task that exposes ``evaluate_pieces``/``evaluate_piece``: forecast's
    backtest folds, each a training of its own): every piece is a task that reads the whole input, and
    ``combine`` makes the summary of their results, in the order of ``pieces``."""
    check_model_path(model)
    check_inputs(inputs)
    from rnntools.io import FileRange

    real = FileRange(model, os.path.abspath(model))  # named as given, loaded where any worker finds it
    settings = _settings()
    # the spool outlives the cluster: a local cluster's workers are stopped before it is removed
    with (spool_folder(output) if name == "predict" else contextlib.nullcontext()) as spool, \
            Cluster(address, threads) as cluster:
        parts = plan(cluster, inputs, split=split and pieces is None and (name == "predict" or combine is not None),
                     rule=rule)
        if pieces is not None:
            stats = []
            whole = [r for p in parts for r in p]
            for i, (piece, read_message, message) in enumerate(cluster.ordered(
                    _evaluate_piece, pieces, whole, task, real, options, settings, cluster.threads)):
                sys.stderr.write((read_message if i == 0 else "") + message)
                stats.append(piece)
            return combine(stats)
        if name == "predict":
            results = cluster.ordered(_predict, parts, task, real, options, settings, cluster.threads, spool)
            write_ordered(unique_keys(results, repeated), output)
            return None
        if combine is not None:
            said = Said()
            stats = []
            for partial, message in cluster.ordered(_evaluate_partial, parts, task, real, options, settings,
                                                    cluster.threads):
                stats.append(partial)
                said.add(message)
            said.flush()
            return combine(stats)
        summary, message = next(cluster.ordered(_evaluate, [[r for p in parts for r in p]], task, real, options,
                                                settings, cluster.threads))
        sys.stderr.write(message)
        return summary


def count_vocab(inputs: Sequence[str], address: str, threads: int | None, *, level: str, lowercase: bool,
                field: str | None, errors: str):
    """The exact counts of ``inputs`` (a ``TokenCounter``), partitions counted on the cluster and summed."""
    from rnntools.text.vocab import TokenCounter

    check_inputs(inputs)
    with Cluster(address, threads) as cluster:
        parts = plan(cluster, inputs)
        if not parts:
            return TokenCounter(level, lowercase)
        # merged on the workers, in input order (the order of first appearance is the single run's)
        return cluster.reduce(_count, _merge_counts, parts, level, lowercase, field, errors, _settings())


def encode_documents(inputs: Sequence[str], vocab_path: str, mode: str, address: str, threads: int | None, *,
                     field: str | None, errors: str, output: str | None) -> None:
    """``bow`` JSONL on the cluster, in input order (or sharded), the unknown-token warning summed."""
    from rnntools.text.encode import BowEncoder
    from rnntools.text.pipeline import warn_unknown
    from rnntools.text.vocab import Vocab

    check_inputs(inputs)
    vocab = Vocab.read(vocab_path)
    try:
        BowEncoder(vocab, mode)  # a vocabulary that cannot serve this mode fails here, once
    except ValueError as exc:
        raise UsageError(f"{vocab_path}: {exc}") from None
    unknown = [0]

    def texts(results):
        for text, n in results:
            unknown[0] += n
            yield text, ""

    with spool_folder(output) as spool, Cluster(address, threads) as cluster:
        parts = plan(cluster, inputs)
        write_ordered(texts(cluster.ordered(_bow, parts, os.path.abspath(vocab_path), mode, field, errors,
                                            _settings(), spool)), output)
    warn_unknown(unknown[0], vocab)
