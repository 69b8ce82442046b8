"""``rnntools predict``: apply any trained model; the model file's kind picks the task."""

from __future__ import annotations

from rnntools.cli.tasks import model_command

HELP = """Apply a trained model to input records; each record comes back with the prediction added.

\b
    rnntools predict lm.npz < sentences.txt           # log-likelihood, perplexity
    rnntools predict clf.npz < new.jsonl > labelled.jsonl
    rnntools predict f.npz --horizon 12 < sales.csv
    echo '{"source": "535+61"}' | rnntools predict add.npz
"""

predict = model_command("predict", HELP, "Write JSONL here instead of stdout.")
