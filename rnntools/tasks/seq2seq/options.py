"""The seq2seq task's defaults and option classes, importable without numpy or numba (the CLI's --help
shows these values)."""

from __future__ import annotations

from typing import Any

KIND = "seq2seq"

# THE defaults of ``rnn-train --task seq2seq`` (engine options included); the CLI shows these values.
# Chosen by measurement: docs/seq2seq.md.
DEFAULTS: dict[str, Any] = dict(
    # data
    level="char", target_level=None, source_field="source", target_field="target", vocab_path=None,
    min_count=1, max_vocab=None, shared_vocab=False, max_target_length=None, val_fraction=0.1,
    encoding_errors="strict",
    # model
    cell="gru", hidden=128, layers=1, embed_dim=64, attention="general", bidirectional=True, dropout=0.0,
    embeddings=None,
    freeze_embeddings=False,
    # optimisation
    epochs=100, max_steps=None, max_time=None, patience=4, batch=None, optimizer="adam", lr=None, clip=5.0,
    teacher_forcing=1.0,
    # not on the command line: the learning rate halves after each evaluation without a better validation
    # error (the plateau schedule); evaluations every epoch, or every eval_every updates when epochs are long
    plateau_decay=0.5, eval_every=None,
    # run and output
    seed=1, threads=None, resume=None, checkpoint_every=None, log_path=None,
)
# predict/evaluate: beam width, --nbest outputs, --length-norm ALPHA (None on the command line = these)
PREDICT_DEFAULTS: dict[str, Any] = {"beam": 1, "nbest": 1, "length_norm": 1.0}
LR = {"adam": 3e-3, "sgd": 0.5}  # --lr when not given, by optimiser
LONG_EPOCH = 1500  # updates: an epoch longer than this is also evaluated every LONG_EPOCH // 2 updates


def default_batch(pairs: int) -> int:
    """--batch when not given: the power of two nearest pairs / 350, within 16..128. Small sets get more
    updates per epoch; large ones the engine's better throughput per pair at larger batches."""
    import math

    return int(min(128, max(16, 2 ** round(math.log2(max(pairs, 1) / 350)))))

# Options that change the network or how records become arrays: on --resume the saved value wins, and a
# different value on the command line is a usage error.
STRUCTURAL = frozenset({"level", "target_level", "source_field", "target_field", "vocab_path", "min_count",
                        "max_vocab", "shared_vocab", "cell", "hidden", "layers", "embed_dim", "attention",
                        "bidirectional", "optimizer"})

MAX_VAL = 2000  # validation pairs at most: enough for a stable loss, cheap to evaluate every epoch
# The longest output decoding may produce, in tokens: a bound on the work a request (--max-length) or a
# model file (its max_target) can ask for; far above any real target (CMUdict's longest has 20 phones).
MAX_DECODE_LENGTH = 4096
