"""Asynchronous many-to-many: an encoder-decoder (seq2seq) over characters or words, with START/EOS and
teacher forcing, Luong attention, greedy and beam-search decoding.

    options.py  KIND, DEFAULTS (the one place each default lives), STRUCTURAL, a run's options and the
                resume rule; no heavy imports
    data.py     records -> tokenised pairs -> id arrays -> padded time-major batches
    model.py    the network from rnntools.nn's layers (Embedding, Recurrent, Attention, Dense); its loss
    decode.py   greedy and beam-search decoding
    metrics.py  exact match, character/word error rates, BLEU
    task.py     the model object, the trainer plug-in, train/load/read/predict/evaluate

The contract's names (docs/tasks.md) are here; everything but ``options`` is imported on first use, so that
the CLI can read the defaults without loading numpy's or numba's machinery.
"""

from __future__ import annotations

import importlib

from rnntools.tasks.seq2seq.options import DEFAULTS, KIND, MAX_DECODE_LENGTH, PREDICT_DEFAULTS, STRUCTURAL

_WHERE = {
    "data": ["Batch", "PaddedPairs", "Pair", "build_vocabs", "encode_pairs", "length_batches", "make_batch",
             "make_source_batch", "read_pairs", "tokenizer"],
    "decode": ["Decoder", "beam_search", "beam_search_many", "greedy", "normalised"],
    "metrics": ["corpus_bleu", "edit_distance", "score_predictions"],
    "model": ["Config", "Net", "dropout_masks", "init_params", "loss_and_grads", "reversal", "summed_bias_slices"],
    "task": ["Seq2SeqModel", "Seq2SeqTask", "evaluate", "load", "migrate_names", "predict", "read",
             "summary_table", "train"],
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = ["DEFAULTS", "KIND", "MAX_DECODE_LENGTH", "PREDICT_DEFAULTS", "STRUCTURAL", *_MODULE]


def __getattr__(name: str):
    if name in _MODULE:
        return getattr(importlib.import_module(f"{__name__}.{_MODULE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
