"""Many-to-one: a recurrent network reads a text and one label comes out (``rnn-train --task classify``).

``data.py`` turns records into arrays and holds the metrics, ``model.py`` is the network (built from
``rnntools.nn``'s layers), ``task.py`` the glue: the task contract's names (see docs/tasks.md).
"""

from rnntools.tasks.classify.task import (
                                          DEFAULTS,
                                          KIND,
                                          STRUCTURAL,
                                          Model,
                                          evaluate,
                                          evaluate_combine,
                                          evaluate_partial,
                                          label_key,
                                          load,
                                          predict,
                                          read,
                                          train,
)

__all__ = ["DEFAULTS", "KIND", "STRUCTURAL", "Model", "evaluate", "evaluate_combine", "evaluate_partial", "label_key",
           "load", "predict", "read", "train"]
