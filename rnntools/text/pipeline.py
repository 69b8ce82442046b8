"""The library side of the ``vocab`` and ``bow`` commands: streams in, records or arrays out."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from typing import IO

from rnntools import console
from rnntools.errors import InputError, UsageError
from rnntools.io import (
    JsonlWriter,
    iter_jsonl,
    iter_line_batches,
    iter_lines,
    iter_text_chunks,
    read_text_field,
    repeated_file,
    split_files,
)
from rnntools.parallel import available_cores, ordered_map
from rnntools.text.encode import BowEncoder, CsrBuilder
from rnntools.text.vocab import TokenCounter, Vocab, merge_counts

PARALLEL_MIN_BYTES = 4 << 20  # below this, starting worker processes costs more than it saves


def count_vocab(inputs: Sequence[str], *, level: str = "word", lowercase: bool = True, min_count: int = 1,
                max_size: int | None = None, specials: bool = True, field: str | None = None,
                errors: str = "strict", workers: int | None = None) -> Vocab:
    """Count the tokens of text files (a line is a document) or of one JSONL field, and build a vocabulary.

    ``workers`` processes count in parallel (default: one per core, for inputs of a few MB or more).
    """
    counter = count_tokens(inputs, level=level, lowercase=lowercase, field=field, errors=errors, workers=workers)
    return build_vocab(counter, inputs, min_count=min_count, max_size=max_size, specials=specials)


def count_tokens(inputs: Sequence[str], *, level: str = "word", lowercase: bool = True, field: str | None = None,
                 errors: str = "strict", workers: int | None = None) -> TokenCounter:
    """The raw counts behind ``count_vocab`` (nothing pruned): what a shard of a corpus contributes, summed
    exactly with ``TokenCounter.update`` (rnntools.distributed counts partitions with it)."""
    counter = TokenCounter(level, lowercase)
    if field is None:
        workers = _workers(workers, inputs)
        # regular files: each process reads its own part; a stream is read here and handed out in chunks
        runs = split_files(inputs, workers) if workers > 1 else None
        if runs is not None:
            counter.count_files(runs, errors)
        else:
            chunks = (text for path in inputs for _, _, text in iter_text_chunks(path, errors))
            counter.count_chunks(chunks, workers)
    else:
        for path in inputs:
            batch: list[str] = []
            for line_no, record in iter_jsonl(path, errors):
                batch.append(read_text_field(record, field, path, line_no))
                if len(batch) >= 4096:
                    counter.add_lines(batch)
                    batch.clear()
            counter.add_lines(batch)
    return counter


def _workers(workers: int | None, inputs: Sequence[str]) -> int:
    """``workers`` if given, else one per core for inputs large enough to repay starting processes."""
    if workers is not None:
        return workers
    return available_cores() if _input_bytes(inputs) >= PARALLEL_MIN_BYTES else 1


def _input_bytes(inputs: Sequence[str]) -> float:
    """Size of the inputs on disk; stdin, a pipe or a device counts as large (it may be). A folder or a
    missing path counts as nothing: reading it fails at once, and starting worker processes first only
    adds processes to stop on the way out."""
    total = 0.0
    for path in inputs:
        if path == "-":
            return float("inf")
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        if not stat.S_ISREG(st.st_mode):
            return float("inf")
        total += st.st_size
    return total


def _live_stdin(inputs: Sequence[str]) -> bool:
    """Whether stdin is among the inputs and is a pipe or terminal (not a file redirected with <)."""
    if "-" not in inputs:
        return False
    try:
        return not stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def merge_vocabs(paths: Sequence[str], *, min_count: int = 1, max_size: int | None = None,
                 specials: bool = True) -> Vocab:
    """One vocabulary from vocabularies counted on shards of a corpus (counts and frequencies summed). A file
    given twice (a shell glob that overlaps another) would count its shard twice: a usage error."""
    if twice := repeated_file(paths):
        same = f"as {twice[0]} and {twice[1]}" if twice[0] != twice[1] else "twice"
        raise UsageError(f"{twice[1]}: the same vocabulary file is given {same}; --merge would add its counts "
                         "twice (give each shard once)")
    vocabs = [Vocab.read(path) for path in paths]
    for path, vocab in zip(paths, vocabs):   # the message names the two files that differ
        first = vocabs[0]
        if (vocab.level, vocab.lowercase) != (first.level, first.lowercase):
            def show(v):
                return f"{v.level}-level, {'lowercased' if v.lowercase else 'case kept'}"

            raise InputError(f"cannot merge vocabularies counted differently: {paths[0]} is {show(first)}, "
                             f"{path} is {show(vocab)}")
    try:
        counter = merge_counts(vocabs)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return build_vocab(counter, paths, min_count=min_count, max_size=max_size, specials=specials)


def build_vocab(counter: TokenCounter, inputs: Sequence[str], *, min_count: int = 1, max_size: int | None = None,
                specials: bool = True) -> Vocab:
    """The vocabulary of ``counter`` (counted on ``inputs``, named in the errors): pruned, specials added;
    an error when nothing is left."""
    names = ", ".join(os.fspath(p) if p != "-" else "<stdin>" for p in inputs)
    if not counter.counts:
        raise InputError(f"no {counter.level}s found in {names} (is it empty, or the wrong file?)")
    vocab = counter.vocab(min_count=min_count, max_size=max_size, specials=specials)
    if len(vocab) == vocab.n_special:
        best = max(counter.counts.values())
        raise InputError(f"every {counter.level} of {names} was dropped by --min-count {min_count} "
                         f"(the most frequent occurs {best} times); lower --min-count")
    console.info(f"{counter.documents} lines, {sum(counter.counts.values())} {counter.level}s, "
                 f"{len(counter.counts)} distinct; kept {len(vocab) - vocab.n_special}")
    return vocab


def encode_documents(inputs: Sequence[str], vocab_path: str | Vocab, mode: str, *, field: str | None = None,
                     output_format: str = "jsonl", output: str | None = None, stream: IO[str] | None = None,
                     errors: str = "strict", workers: int | None = None, warn: bool = True) -> int:
    """Encode every line (or the JSONL ``field`` of every record) with ``mode``; JSONL to ``stream``, or a
    CSR matrix in an .npz file at ``output``. Returns how many tokens were not in the vocabulary (and warns
    about them unless ``warn`` is false: a partition's count is summed by whoever ran it)."""
    vocab = vocab_path if isinstance(vocab_path, Vocab) else Vocab.read(vocab_path)
    try:
        encoder = BowEncoder(vocab, mode)
    except ValueError as exc:
        raise UsageError(f"{vocab_path}: {exc}") from None
    if output_format == "npz":
        _encode_to_npz(inputs, encoder, field, output, errors, workers)
    elif field is None:
        stream = stream if stream is not None else sys.stdout
        batches = (lines for path in inputs for _, lines in iter_line_batches(path, errors))
        # a pipe or terminal on stdin is answered batch by batch as its lines arrive (`tail -f | bow`):
        # worker processes would hold answers back until several batches are in flight
        live = workers is None and _live_stdin(inputs)
        for text, unknown in ordered_map(encoder.jsonl_counting_unknown, batches,
                                         1 if live else _workers(workers, inputs)):
            stream.write(text)
            encoder.unknown += unknown
            if live:
                stream.flush()
        stream.flush()
    else:
        writer = JsonlWriter(stream)
        replaced = console.ReplacedFields()
        for record, text in _documents(inputs, field, errors):
            added = encoder.record(text)
            replaced.check(record, added)
            record.update(added)
            writer.write(record)
        writer.flush()
        if warn:
            replaced.warn()
    if warn:
        warn_unknown(encoder.unknown, vocab)
    return encoder.unknown


def warn_unknown(unknown: int, vocab: Vocab) -> None:
    """The warning about tokens ``bow`` found outside the vocabulary."""
    if unknown:
        console.warn(f"{unknown} token{'s' if unknown != 1 else ''} not in the vocabulary "
                     f"({'mapped to <unk>' if vocab.n_special > 1 else 'dropped'})")


def _documents(inputs: Sequence[str], field: str | None, errors: str):
    for path in inputs:
        if field is None:
            for _, text in iter_lines(path, errors):
                yield {}, text
        else:
            for line_no, record in iter_jsonl(path, errors):
                yield record, read_text_field(record, field, path, line_no)


def _encode_to_npz(inputs, encoder: BowEncoder, field, output, errors, workers) -> None:
    if output is None:
        raise UsageError("--format npz needs an output file (-o FILE.npz)")
    import numpy as np

    from rnntools.io import save_model

    token_rows = encoder.mode in ("ids", "onehot")
    matrix = CsrBuilder(encoder.size, np.float32)
    doc_indptr = [0]
    if token_rows:
        for _, text in _documents(inputs, field, errors):
            ids = encoder.ids(text)
            matrix.add_rows(ids, [1.0] * len(ids), [1] * len(ids))
            doc_indptr.append(matrix.rows)
    elif field is None:
        batches = (lines for path in inputs for _, lines in iter_line_batches(path, errors))
        for indices, values, lengths, unknown in ordered_map(encoder.sparse_rows, batches,
                                                             _workers(workers, inputs)):
            matrix.add_rows(indices, values, lengths)
            encoder.unknown += unknown
    else:
        for _, text in _documents(inputs, field, errors):
            indices, values = encoder.sparse(text)
            matrix.add_rows(indices, values, [len(indices)])
    arrays = matrix.arrays()
    # scipy.sparse.load_npz reads these names; "format" says the layout
    arrays["format"] = np.array("csr")
    meta = {"mode": encoder.mode, "vocab_size": encoder.size}
    if token_rows:
        # one-hot rows are tokens; document d is rows doc_indptr[d]:doc_indptr[d+1]
        arrays["doc_indptr"] = np.asarray(doc_indptr, dtype=np.int64)
    save_model(output, "bow", arrays, meta)
    console.info(f"wrote a {arrays['shape'][0]} x {arrays['shape'][1]} CSR matrix to {output}")
