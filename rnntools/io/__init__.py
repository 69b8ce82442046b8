"""Streaming input and output, in one place: text, JSONL and CSV readers, the JSONL writer and model files.

- ``rnntools.io.inputs``: readers of a path or ``-`` (stdin): text lines, JSONL, CSV; decompression,
  decoding, the line-length bound, errors that name file and line;
- ``rnntools.io.outputs``: the JSONL writer and the output policy (atomic replace, checked up front);
- ``rnntools.io.models``: model files (npz + JSON meta, atomic save, load without pickle).

Everything is importable from ``rnntools.io`` itself, as before the split.
"""

from rnntools.io.inputs import (
    CHUNK_BYTES,
    STDIN,
    FileRange,
    csv_delimiter,
    display_name,
    iter_csv,
    iter_jsonl,
    iter_line_batches,
    iter_lines,
    iter_text_chunks,
    loads,
    numbered,
    open_binary,
    parse_json_object,
    read_text_field,
    set_max_line_bytes,
    split_files,
    stdin_idle,
)
from rnntools.io.outputs import (
    JsonlWriter,
    check_outputs,
    is_stdio,
    open_output,
    repeated_file,
    saving_through_interrupts,
)

# model files need numpy, whose import is a good part of a short command's time (vocab, bow, --help): they
# are imported on first use of one of their names
_MODEL_NAMES = ("FORMAT", "FORMAT_VERSION", "META_KEY", "ModelFile", "load_model", "read_model_meta", "save_model")


def __getattr__(name: str):
    if name in _MODEL_NAMES:
        from rnntools.io import models

        return getattr(models, name)
    raise AttributeError(f"module 'rnntools.io' has no attribute {name!r}")


__all__ = [
    "CHUNK_BYTES", "FORMAT", "FORMAT_VERSION", "META_KEY", "STDIN", "FileRange", "JsonlWriter", "ModelFile",
    "check_outputs", "csv_delimiter", "display_name", "is_stdio", "iter_csv", "iter_jsonl", "iter_line_batches",
    "iter_lines", "iter_text_chunks",
    "load_model", "loads", "numbered", "open_binary", "open_output", "parse_json_object", "read_model_meta",
    "read_text_field", "repeated_file", "save_model", "saving_through_interrupts", "set_max_line_bytes", "split_files",
    "stdin_idle",
]
