"""Cell kinds and their gate counts, and ``K``: the engine's numba kernels, imported on first use.

Why apart from ``rnntools.nn.kernels``: building or loading a model needs only these names, and importing
numba and setting up its compiler target costs ~0.5 s of CPU. A short ``rnntools sample`` (a few hundred
tokens, which plain numpy computes in milliseconds, see ``rnntools.tasks.lm.stepper``) must not pay that.
The layers write ``K.seq_forward(...)``; the first such call imports the kernels.
"""

from __future__ import annotations

from typing import Any

RNN, LSTM, GRU = 0, 1, 2
GATES = {RNN: 1, LSTM: 4, GRU: 3}
CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}  # the --cell names


class _Kernels:
    """``rnntools.nn.kernels`` on first attribute access; each name found is kept, so later uses are plain
    attribute reads (safe from several threads: the import lock serialises the first import)."""

    def __getattr__(self, name: str) -> Any:
        from rnntools.nn import kernels

        value = getattr(kernels, name)
        setattr(self, name, value)
        return value


K: Any = _Kernels()
