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


def _count_lines(part) -> int:
    """Line breaks in a byte range (a task: the ranges are counted on the workers, in parallel)."""
    n = 0
    with open(part.real, "rb") as f:
        f.seek(part.start)
        left = part.end - part.start
        while left > 0:
            block = f.read(min(left, 1 << 22))
            if not block:
                break
            n += block.count(b"\n")
            left -= len(block)
    return n


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


def plan(cluster: Cluster, inputs: Sequence[str], split: bool = True) -> list[list]:
    """The partitions of ``inputs``, in order: each a list of ``FileRange`` (small files share one).

    ``split``: large plain files are cut into line-aligned byte ranges whose first line number is counted on
    the workers, so every message still names the file's own line; otherwise one file is one partition
    (forecast: a series may span its file)."""
    from rnntools.io import FileRange

    sizes = check_inputs(inputs)
    total = sum(sizes)
    target = min(MAX_PARTITION, max(MIN_PARTITION, total // (PARTS_PER_WORKER * cluster.slots()) + 1))
    ranges = []
    for path, size in zip(inputs, sizes):
        ranges += file_ranges(path, size, target) if split else [FileRange(path, os.path.abspath(path))]
    cut = [r for r in ranges if r.end is not None and r.start > 0]
    if cut:
        # the first line of every range after the first: line breaks before it, counted in parallel
        before = [FileRange(r, r.real, prev.start, prev.end) for r, prev in zip(ranges[1:], ranges) if r.start > 0]
        counts = list(cluster.ordered(_count_lines, before))
        it = iter(counts)
        for i, r in enumerate(ranges):
            if r.start > 0:
                r.first_line = ranges[i - 1].first_line + next(it)
    parts, current, current_size = [], [], 0
    for r in ranges:
        size = (r.end - r.start) if r.end is not None else os.path.getsize(r.real)
        if current and current_size + size > target:
            parts.append(current)
            current, current_size = [], 0
        current.append(r)
        current_size += size
    if current:
        parts.append(current)
    return parts
