"""Word2vec: skip-gram and CBOW with negative sampling or hierarchical softmax, optionally with
fastText-style subword n-grams; word2phrase's phrases; and what to do with the vectors (docs/word2vec.md).

    rnntools.w2v.train       training: one tokenizing pass, vocabulary, Huffman tree, lock-free threads
    rnntools.w2v.kernels     the numba kernels (one update; one batch of sentences)
    rnntools.w2v.subword     character n-grams hashed into buckets (numpy only)
    rnntools.w2v.phrases     joining collocations (the ``phrases`` command), numpy only
    rnntools.w2v.vectors     numpy only: loading, neighbours, analogies, evaluation, word2vec formats,
                             vectors_for(words) (subword vectors for words never seen)
    rnntools.w2v.query       the ``neighbors`` command's loop

For other tasks (initialising an embedding from vectors trained here)::

    from rnntools.w2v.vectors import load_vectors
    vocab, vectors = load_vectors("vectors.npz")   # Vocab without specials; (V, D) float32, row i = vocab.tokens[i]
    row = vocab.index.get(word.lower() if vocab.lowercase else word)

A vectors file is an rnntools model file of kind "vectors": the array ``vectors`` (V, D) float32 as
trained (not normalised), and meta ``vocab`` (Vocab.to_meta: tokens, most frequent first, and counts),
``config`` (the options trained with; ``hyperparameters`` in older files) and ``training`` (words,
seconds, words/s, loss per epoch, interrupted).

Nothing is imported here, so ``import rnntools.w2v.vectors`` does not pull in numba.
"""
