"""``rnn-train --task classify``, and ``predict``/``evaluate`` for ``classifier`` models (click + stdlib only).

The work is done by the package ``rnntools.tasks.classify`` (the task contract); the command loads the
model once and writes every output.
"""

from __future__ import annotations

import click

from rnntools.cli.common import option

_text_field = option("--text-field", default=None, group="Classifier",
                     help="JSONL field holding the text [default: text; at predict/evaluate: the model's]. "
                          "Plain `label<TAB>text` lines need none.")
_label_field = option("--label-field", default=None, group="Classifier",
                      help="JSONL field holding the label, a string or an integer "
                           "[default: label; at evaluate: the model's].")

TRAIN_OPTIONS = [
    _text_field,
    _label_field,
    option("--class-weight", type=click.Choice(["none", "balanced"]), default=None, group="Classifier",
           help="balanced: weight each class's loss by n / (classes * n_class), for imbalanced data "
                "[default: none]."),
    option("--pooling", type=click.Choice(["last", "mean", "max"]), default=None, group="Classifier",
           help="Sentence vector: the state after the last real token, or the mean/max over the "
                "real tokens [default: max, measured; see docs/classify.md]."),
    option("--bidirectional/--no-bidirectional", default=None, group="Classifier",
           help="Also read the text right to left and join both directions' states "
                "[default: bidirectional, measured; see docs/classify.md]."),
    option("--wide", type=click.Choice(["words+chars", "words", "none"]), default=None, group="Classifier",
           help="A linear part beside the network: logistic regression on hashed word 1-2-grams and "
                "character 3-5-grams (TF-IDF), C chosen by 3-fold cross-validation; the network then learns "
                "what it gets wrong and is mixed in as far as it helps on the validation split; none: the "
                "recurrent network alone [default: words+chars]."),
    option("--wide-buckets", type=click.IntRange(1024, 1 << 24), default=None, group="Classifier",
           help="Hash slots of the wide part's n-grams [default: 262144]."),
    option("--residual/--no-residual", default=None, group="Classifier",
           help="With a wide part: train the network on what the linear part gets wrong, or on the labels "
                "alone before the two are mixed [default: residual below 8,000 labelled texts, measured; see "
                "docs/classify.md]."),
    option("--own-vectors/--no-own-vectors", default=None, group="Classifier",
           help="Without --embeddings: start the network's word embedding from word2vec vectors learnt on the "
                "training texts themselves (skip-gram, 15 epochs, one thread) [default: from 8,000 labelled "
                "texts or 70,000 words in them; measured, see docs/classify.md]."),
    option("--calibrate/--no-calibrate", default=None, group="Classifier",
           help="Temperature scaling on the validation split after training, so that probabilities "
                "match accuracy [default: calibrate]."),
]

PREDICT_OPTIONS = [
    _text_field,
    option("--top-k", type=click.IntRange(1), default=None, group="Classifier",
           help="Keep only the K most probable labels in \"probs\" [default: all, most probable first]."),
]

EVALUATE_OPTIONS = [_text_field, _label_field]
