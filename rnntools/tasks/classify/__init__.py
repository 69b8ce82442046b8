"""Many-to-one: a recurrent network reads a text and one label comes out (``rnn-train --task classify``).

``data.py`` turns records into arrays and holds the metrics, ``features.py`` makes the wide part's hashed
n-gram rows and ``linear.py`` fits its logistic regression, ``model.py`` is the network (built from
``rnntools.nn``'s layers), ``training.py`` trains the two and mixes them, ``evaluation.py`` scores a model,
``task.py`` the glue: the task contract's names (see docs/tasks.md).

The names are imported from ``task.py`` on first use: ``predict``/``evaluate`` of any model build their
options from every task package, and importing this one must not load numpy's and numba's machinery.
"""

from __future__ import annotations

__all__ = ["DEFAULTS", "KIND", "STRUCTURAL", "Model", "evaluate", "evaluate_combine", "evaluate_partial", "label_key",
           "load", "predict", "predict_text", "read", "summary_table", "train"]


# array-name prefixes `predict` and `evaluate` never read (the trainer's copies for --resume and the
# optimiser's state): the command leaves them unread (rnntools.cli.tasks)
UNUSED_TO_PREDICT = ("resume.", "optim.")


def __getattr__(name: str):
    if name in __all__:
        from rnntools.tasks.classify import task

        return getattr(task, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
