"""Partitions: the inputs cut into whole files or line-aligned byte ranges of a large plain file, each range's
first line number counted (on the workers) so that every message names the file's own line."""

from __future__ import annotations

import os
from collections.abc import Sequence

from rnntools.distributed.cluster import COMPRESSED, MAX_PARTITION, MIN_PARTITION, PARTS_PER_WORKER, Cluster
from rnntools.errors import UsageError


def _sniff(line: bytes) -> bool:
    """Whether a reader that sniffs its format from its first line would take this one for JSONL."""
    return line.decode("utf-8", "replace").lstrip().startswith("{")


def _first_line(f, limit: int) -> bytes:
    """The first non-blank line from where ``f`` stands (at most ``limit`` bytes of it)."""
    while True:
        line = f.readline(limit)
        if not line or line.strip():
            return line.lstrip(b"\xef\xbb\xbf")


def _cut(f, at: int, end: int, jsonl: bool, limit: int) -> int | None:
    """The first line start at or after byte ``at`` whose line is not blank and sniffs as the file does (so a
    partition reads like the whole file), or None before ``end``."""
    f.seek(max(at - 1, 0))
    if at > 0:
        # finish the line that byte at-1 is in (no cut in the middle of a line)
        while True:
            piece = f.readline(limit)
            if not piece or piece.endswith(b"\n"):
                break
    while True:
        pos = f.tell()
        if pos >= end:
            return None
        line = f.readline(limit)
        if not line:
            return None
        if line.strip() and line.endswith(b"\n") and _sniff(line) == jsonl:
            return pos
        while line and not line.endswith(b"\n"):  # a line longer than the limit: skip the rest of it
            line = f.readline(limit)


def file_ranges(path: str, size: int, target: int) -> list:
    """``path`` as line-aligned byte ranges of about ``target`` bytes (first lines not numbered yet)."""
    from rnntools.io import FileRange

    real = os.path.abspath(path)
    if size <= target or path.lower().endswith(COMPRESSED):
        return [FileRange(path, real)]
    limit = 1 << 16
    with open(real, "rb") as f:
        jsonl = _sniff(_first_line(f, 1 << 20))
        starts = [0]
        for k in range(1, -(-size // target)):
            cut = _cut(f, max(k * target, starts[-1] + 1), size, jsonl, limit)
            if cut is None:
                break
            if cut > starts[-1]:
                starts.append(cut)
    ends = starts[1:] + [size]
    return [FileRange(path, real, s, e) for s, e in zip(starts, ends)]


KEY_SEARCH = 1 << 20  # bytes past a target cut searched for the end of a series before giving that cut up


def _csv_row(line: bytes, fields: int) -> list[str] | None:
    """A CSV line's fields when it is a whole row of ``fields`` fields on its own (an even number of quotes:
    no quoted field opens or closes a line break here), else None."""
    import csv

    if line.count(b'"') % 2 or not line.strip():
        return None
    try:
        row = next(csv.reader([line.decode("utf-8", "replace").rstrip("\r\n")]), None)
    except csv.Error:
        return None
    return row if row is not None and len(row) == fields else None


def _header(real: str, limit: int) -> tuple[int, list[str]] | None:
    """The end offset of a CSV file's header line (after any blank lines before it) and its column names."""
    import csv

    with open(real, "rb") as f:
        while True:
            line = f.readline(limit)
            if not line or not line.endswith(b"\n"):
                return None
            if line.strip():
                if line.count(b'"') % 2:
                    return None
                text = line.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n")
                return f.tell(), [h.strip() for h in next(csv.reader([text]))]


def _key_cut(f, at: int, end: int, column: int, fields: int, limit: int) -> int | None:
    """The first line start after byte ``at`` (and before ``end``, at most KEY_SEARCH bytes on) where the key
    column changes between two whole CSV rows: the end of a series, never inside one."""
    f.seek(max(at - 1, 0))
    while True:  # finish the line that byte at-1 is in
        piece = f.readline(limit)
        if not piece or piece.endswith(b"\n"):
            break
    previous = None
    while True:
        pos = f.tell()
        if pos >= end or pos > at + KEY_SEARCH:
            return None
        line = f.readline(limit)
        if not line:
            return None
        row = _csv_row(line, fields) if line.endswith(b"\n") else None
        key = None if row is None else row[column].strip()
        if previous is not None and key is not None and key != previous:
            return pos
        previous = key
        while line and not line.endswith(b"\n"):  # a line longer than the limit: skip the rest of it
            line = f.readline(limit)


def key_ranges(path: str, size: int, target: int, how: dict) -> tuple[list, dict | None]:
    """``path``, a CSV file of many series, as byte ranges of about ``target`` bytes cut only where the key
    column (the series id) changes, each carrying the header and the columns resolved from the whole file.
    Whether a series comes back in a later range, or a cut fell inside a quoted field, is checked on the
    workers (``_scan``), and such ranges are joined again (``join_ranges``)."""
    from rnntools.io import FileRange

    real = os.path.abspath(path)
    limit = 1 << 16
    found = _header(real, limit)
    if size <= target or path.lower().endswith(COMPRESSED) or found is None or how["key"] not in found[1]:
        return [FileRange(path, real)], None
    head, names = found
    column = names.index(how["key"])
    starts = [0]
    with open(real, "rb") as f:
        for k in range(1, -(-size // target)):
            at = max(k * target, starts[-1] + 1, head)
            cut = _key_cut(f, at, size, column, len(names), limit)
            if cut is not None and cut > starts[-1]:
                starts.append(cut)
    if len(starts) == 1:
        return [FileRange(path, real)], None
    ends = starts[1:] + [size]
    spec = {"key": column, "fields": len(names), "head": head}
    return [FileRange(path, real, s, e, head=head, options=how.get("options")) for s, e in zip(starts, ends)], spec


def _scan(part, spec: dict | None) -> tuple[int, int, list[str] | None]:
    """A byte range's line breaks and quote characters, and with ``spec`` (a CSV file of many series) the
    keys of its rows in order of first appearance (None if its rows cannot be told apart). A task: the
    ranges are scanned on the workers, in parallel."""
    lines = quotes = 0
    blocks = []
    with open(part.real, "rb") as f:
        f.seek(part.start)
        left = part.end - part.start
        while left > 0:
            block = f.read(min(left, 1 << 22))
            if not block:
                break
            lines += block.count(b"\n")
            quotes += block.count(b'"')
            left -= len(block)
            if spec is not None:
                blocks.append(block)
    if spec is None:
        return lines, quotes, None
    import csv
    import io as _io

    data = b"".join(blocks)
    if part.start < spec["head"]:
        data = data[spec["head"] - part.start:]
    keys: dict[str, None] = {}
    column, fields = spec["key"], spec["fields"]
    try:
        for row in csv.reader(_io.StringIO(data.decode("utf-8", "replace"), newline="")):
            if len(row) == fields:
                keys[row[column].strip()] = None
    except csv.Error:
        return lines, quotes, None
    return lines, quotes, list(keys)


def join_ranges(ranges: list, scans: list) -> list:
    """The ranges of one file with the cuts that would part a series removed: a cut after an odd number of
    quote characters (inside a quoted field), or between two ranges that hold the same key (a series whose
    rows are not together: the file is sorted by time, say), or after a range that could not be scanned."""
    from rnntools.io import FileRange

    n = len(ranges)
    joined = [False] * (n + 1)  # joined[i]: no cut between ranges i-1 and i
    cover = [0] * (n + 1)
    quotes, first = 0, {}
    for i, (_, q, keys) in enumerate(scans):
        if i and quotes % 2:
            joined[i] = True
        quotes += q
        if keys is None:
            joined[i] = joined[min(i + 1, n)] = True
            continue
        for key in keys:
            j = first.setdefault(key, i)
            if j < i:
                cover[j + 1] += 1
                cover[i + 1] -= 1
    depth = 0
    for i in range(1, n):
        depth += cover[i]
        joined[i] = joined[i] or depth > 0
    out = []
    for i, r in enumerate(ranges):
        if i and joined[i]:
            prev = out[-1]
            out[-1] = FileRange(prev, prev.real, prev.start, r.end, prev.first_line, prev.head, prev.options)
        else:
            out.append(r)
    if len(out) == 1:  # the whole file again: read as it is, without the range's settings
        out = [FileRange(ranges[0], ranges[0].real)]
    return out


def check_inputs(inputs: Sequence[str]) -> list[int]:
    """The inputs' sizes; an error for what workers cannot read by path (stdin, a pipe, a missing file),
    before any cluster starts."""
    from rnntools.errors import InputError

    sizes = []
    for path in inputs:
        if path == "-":
            raise UsageError("with --scheduler the workers read the inputs by path: give files, not stdin (-)")
        if not os.path.exists(path):
            raise InputError("no such file", path)
        if not os.path.isfile(path):
            raise InputError("not a regular file (with --scheduler the workers read the inputs by path)", path)
        sizes.append(os.path.getsize(path))
    return sizes


def plan(cluster: Cluster, inputs: Sequence[str], split: bool = True, rule=None) -> list[list]:
    """The partitions of ``inputs``, in order: each a list of ``FileRange`` (small files share one).

    ``split``: large plain files are cut into byte ranges whose first line number is counted on the workers,
    so every message still names the file's own line; otherwise one file is one partition. ``rule(path)``
    says how a file may be cut (a task's ``partitioning``): ``{"cut": "lines"}`` at line starts (the
    default), ``{"cut": "key", "key": column, "options": {...}}`` for a CSV file of many series (only where
    the series changes), None not at all."""
    from rnntools.io import FileRange

    sizes = check_inputs(inputs)
    total = sum(sizes)
    target = min(MAX_PARTITION, max(MIN_PARTITION, total // (PARTS_PER_WORKER * cluster.slots()) + 1))
    files = []  # (ranges of one file, the key spec of a CSV file of many series or None)
    for path, size in zip(inputs, sizes):
        how = {"cut": "lines"} if rule is None else rule(path) if split and size > target else None
        if not split or how is None:
            files.append(([FileRange(path, os.path.abspath(path))], None))
        elif how["cut"] == "key":
            files.append(key_ranges(path, size, target, how))
        else:
            files.append((file_ranges(path, size, target), None))
    # every range of a keyed file, and of the others every range before a cut, is scanned on the workers:
    # line breaks (the first line number of the next range), quotes and keys (whether a cut may stay)
    todo = [(r, spec) for ranges, spec in files if len(ranges) > 1
            for r in (ranges if spec is not None else ranges[:-1])]
    if todo:
        scans = iter(list(cluster.ordered(_scan_task, todo)))
        numbered = []
        for ranges, spec in files:
            if len(ranges) == 1:
                numbered.append(ranges)
                continue
            scanned = [next(scans) for _ in (ranges if spec is not None else ranges[:-1])]
            if spec is not None:
                # the line counts of the joined ranges are the sums of their parts'
                joined = join_ranges(ranges, scanned)
                counts, i = [], 0
                for r in joined:
                    n = 0
                    while i < len(ranges) and ranges[i].start < (r.end if r.end is not None else float("inf")):
                        n += scanned[i][0]
                        i += 1
                    counts.append(n)
                ranges = joined
            else:
                counts = [lines for lines, _, _ in scanned]
            for i in range(1, len(ranges)):
                ranges[i].first_line = ranges[i - 1].first_line + counts[i - 1]
            numbered.append(ranges)
    else:
        numbered = [ranges for ranges, _ in files]
    parts, current, current_size = [], [], 0
    for r in (r for ranges in numbered for r in ranges):
        size = (r.end - r.start) if r.end is not None else os.path.getsize(r.real)
        if current and current_size + size > target:
            parts.append(current)
            current, current_size = [], 0
        current.append(r)
        current_size += size
    if current:
        parts.append(current)
    return parts


def _scan_task(item) -> tuple[int, int, list[str] | None]:
    part, spec = item
    return _scan(part, spec)
