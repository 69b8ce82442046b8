"""Batch ``predict``, ``evaluate``, ``vocab`` and ``bow`` on a Dask cluster (``--scheduler``).

The inputs are cut into partitions (whole files, or line-aligned byte ranges of a large plain file), each
partition is one pure task (paths in, text or counts out: a task that runs twice gives the same result, so
Dask may rerun it on another worker when one dies; a task whose worker sees the client's spool folder
leaves its text in a file of its own there instead of returning it), and the client alone writes the
outputs: stdout in input order as partitions complete, or one file per partition
(``-o out/part-{n}.jsonl``), each replaced atomically once every partition has succeeded. Workers load a
model once and keep it while its file is unchanged (path, modification time, size). docs/distributed.md
has the design, the failure model and the measurements.

Nothing here runs unless ``--scheduler`` (or ``RNNTOOLS_SCHEDULER``) is given; ``distributed`` is imported
only then, and is an optional dependency (``pip install 'rnntools[dask]'``).

The package, by concern: ``cluster`` (the scheduler, the client, ordered submission), ``partitions`` (cutting
the inputs), ``worker`` (the tasks that run on a worker), ``client`` (running a command and writing its
outputs). Their public names are importable from here; nothing heavy is imported by importing it.
"""

import importlib

# public name -> the module that defines it; loaded on first use (PEP 562), so that a command run without
# --scheduler, which only asks ``scheduler_address``, does not import the client and partition code (~10 ms
# of the start of every vocab, bow, predict and evaluate)
_HOME = {
    **dict.fromkeys(["Said", "ShardedOutput", "check_model_path", "count_vocab", "encode_documents", "run_model",
                     "write_ordered"], "client"),
    **dict.fromkeys(["COMPRESSED", "ENV", "INSTALL", "MAX_PARTITION", "MIN_PARTITION", "PARTS_PER_WORKER",
                     "TIMEOUT_ENV", "Cluster", "SchedulerError", "local_workers", "scheduler_address"], "cluster"),
    **dict.fromkeys(["check_inputs", "file_ranges", "plan"], "partitions"),
}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
