"""Tasks: the four sequence shapes as libraries over ``rnntools.nn``, and the training loop they share.

``trainer``   the generic loop (epochs, limits, validation, early stopping, checkpoints, resume, Ctrl-C)
``lm``        language models: synchronous many-to-many training, one-to-many sampling, scoring

Nothing here imports click; modules are imported by name so that ``import rnntools.tasks`` stays cheap.
"""
