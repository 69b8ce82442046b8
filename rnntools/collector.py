"""Python's garbage collector while a command starts: a rare collection until the start-up's objects are made.

Why: a command's start imports numpy, click and numba and loads numba's cached kernels, some 200,000
objects that live until the process ends. With the collector's usual threshold (a young-generation
collection every 700 new objects, an older one every ten of those) the interpreter walked them again and
again while they were being made: ~40 ms of the ~0.4 s of CPU that `import numpy, click, numba` and the
classifier's kernel modules take, measured in fresh processes (docs/classify.md, "Prediction: the start-up's
garbage collections"). A process's start makes next to no cyclic garbage, so nothing is lost by collecting
rarely then. ``start`` (called first thing by ``rnntools.__main__``) raises the threshold; ``started``
(called once the start-up's objects exist: a classifier's first scored chunk, the trainer's first epoch)
moves every object made so far out of the collector's reach (``gc.freeze``) and puts the usual thresholds
back. A command that never calls ``started`` keeps collecting every ``START_THRESHOLD`` new objects: its
cyclic garbage lives a little longer, none is kept for good.
"""

from __future__ import annotations

import gc

START_THRESHOLD = 100_000     # young objects between collections during the start (Python's default: 700)

_saved: list[tuple[int, ...]] = []     # the thresholds before ``start``, while it holds


def start() -> None:
    """Collect only every ``START_THRESHOLD`` new objects until ``started`` (a process's first call)."""
    if not _saved:
        thresholds = gc.get_threshold()
        _saved.append(thresholds)
        gc.set_threshold(max(START_THRESHOLD, thresholds[0]), *thresholds[1:])


def started() -> bool:
    """After ``start``: freeze what the start-up made and put the thresholds back; True. Else nothing: False."""
    if not _saved:
        return False
    gc.freeze()
    gc.set_threshold(*_saved.pop())
    return True
