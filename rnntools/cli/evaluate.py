"""``rnntools evaluate``: score any model on held-out data; the model file's kind picks the task."""

from __future__ import annotations

from rnntools.cli.tasks import model_command

HELP = """Score a model: JSONL summary on stdout, a table on stderr.

\b
    rnntools evaluate vectors.npz --analogies questions-words.txt --similarity wordsim353.tsv
    rnntools evaluate lm.npz held-out.txt
    rnntools evaluate clf.npz test.jsonl
    rnntools evaluate f.npz sales.csv --backtest 5
    rnntools evaluate s2s.npz test.jsonl
"""

evaluate = model_command("evaluate", HELP, "Write the JSONL summary here instead of stdout.")
