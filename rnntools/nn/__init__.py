"""The recurrent engine: layers with a flat ``dict[str, np.ndarray]`` of parameters, numba kernels inside.

Everything is explicit: a layer's ``forward`` returns its output and a cache, ``backward`` takes the
gradient of the output and the cache, ACCUMULATES parameter gradients into a ``grads`` dict (same names as
``params``; missing keys are created) and returns the input gradient. Parameters live in one flat dict
shared by all layers of a model, so a task saves them with ``rnntools.io.save_model(path, kind, params |
opt.state_arrays(), meta)`` and loads them by passing the loaded dict to the constructors (present
parameters are shape-checked and used; missing ones are initialised).

Shapes: T time, B batch, D input, H hidden, V vocabulary. Sequences are time-major (T, B, ...).
float32 for training; every kernel also runs in float64 (pass ``dtype=np.float64``; gradient checks).

Cells (``[h_{t-1}, x_t] W``: W is (H+D, G*H), rows 0..H-1 multiply h_{t-1}, rows H.. multiply x_t)
    rnn:  h_t = tanh([h_{t-1}, x_t] W + b)
    lstm: gates in order f, i, o, g:  f, i, o = sigmoid(.), g = C~ = tanh(.);  C_t = f*C_{t-1} + i*g;
          h_t = o * tanh(C_t).  Forget-gate bias initialised to 1.
    gru:  the "reset after" formulation (cuDNN, PyTorch, Keras reset_after=True), gates r, z, n:
          r, z = sigmoid([h, x] W_{r,z} + b_{r,z});  n = tanh(x W_xn + b_n + r * (h W_hn + bn));
          h_t = (1 - z) * n + z * h_{t-1}.   The reset applies after the recurrent product, so one BLAS
          product per step covers all three gates (Cho et al.'s r*h before the product needs two, serially).
          Extra parameter ``bn`` (H,).
    mask (T, B): 1 real, 0 padding (nonzero counts as 1). Where 0 the state is carried unchanged and the
    output is 0, so the final state is the state after each row's last real token, and a padded batch has
    exactly the gradients of its rows run one by one.

API
    Recurrent(params, name, cell, input_size, hidden, layers=1, dropout=0.0, rng=None, dtype=np.float32)
        .zero_state(B) -> state: (h,) or (h, c) for lstm, each (L, B, H)
        .forward(x (T,B,D), state=None, mask=None, *, train=False, rng=None, dropout_masks=None, ids=None)
              -> y (T,B,H), final state, cache          (dropout between layers when train)
              ids (T,B): x is an embedding table (V,D) read by id (small V: per-id input projections)
        .backward(dy (T,B,H) | None, cache, grads, dstate=None, need_dx=True, skip_padding=False) -> dx (T,B,D),
              dstate0 (dx is the table's gradient (V,D) when forward had ids; Embedding.backward(dx, None,
              grads)); skip_padding: weight gradients over the unmasked positions only (another order of sums)
        .step(x (B,D), state, proj_W=None, proj_b=None) -> out (B,O) logits or (B,H), new state
              (one numba call for the whole stack + projection: generation, forecasting, beam search)
        .names() -> parameter names
    cell_forward / cell_backward: the same for one layer, functional (W, b, bn arrays).
    Embedding(params, name, V, E, pretrained=None, trainable=True, rng=None, dtype)
        .forward(ids) -> (vectors (...,E), cache); .backward(dout, cache, grads)   (scatter-add; frozen: no-op)
    Dense(params, name, I, O, rng=None, dtype): .forward(x (...,I)) -> (y, cache); .backward(dy, cache, grads)
        .softmax_cross_entropy(x, targets, grads, weights=None, normalize=True, need_dx=True, smoothing=0.0)
        -> (loss, dx):
        forward, loss and backward of an output layer in one pass per worker (the logits are not kept)
    Attention(params, name, mode ("dot" | "general"), H, rng=None, dtype): Luong attention without input
        feeding; .forward(Hd (T,B,H), He (S,B,H), mask (S,B), K=None, tgt_mask=None) -> (h~ (T,B,H),
        weights, cache) (tgt_mask (T,B): padded decoder positions, 0, are not computed);
        .backward(dout, cache, grads, skip_padding=False) -> dHd, dHe; .keys(He) (reused at every decoding step)
    softmax_cross_entropy(logits (N,V), targets (N,), weights=None, normalize=True, smoothing=0.0)
        -> (loss, dlogits); smoothing: label smoothing eps (targets (1 - eps) * onehot + eps / V)
    log_softmax(logits) ; dropout_mask(rng, shape, p, dtype) ; hashed_dropout_mask(rng, shape, p, dtype) (the same
        distribution from one draw of rng, its units decided by a counter-based hash: ~15x cheaper)
    Adam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, doubled=None), SGD(params, lr, momentum=0, doubled=None):
        .step(grads, scale=1.0) updates the parameters named in grads (read times scale), in place;
        .state_arrays(prefix="optim.") ->
        dict of arrays for a model file; .load_state(arrays, prefix); .init_state(); .config() -> JSON-able
        dict. doubled {name: slice}: parts standing for two summed parameters (PyTorch's b_ih + b_hh) step twice
    clip_grad_norm(grads, max_norm, *, scale=1.0, doubled=None) -> norm before clipping (PyTorch's
        coefficient max_norm / (norm + 1e-6)) ; clip_coefficient(...) -> (norm, coef) without scaling (pass coef
        to step(grads, scale=coef): the same update, one pass less) ; global_norm(grads, doubled=None)
    set_threads(n): the engine's worker threads (default: what rnntools.parallel.configure_threads set, i.e.
        --threads): time loops over batch slices and the big products by row blocks, each worker with
        single-threaded BLAS. matmul(a, b, out=None, bias=None, rows=None, add=False) (rows: only those
        rows of the result, each the same bits as in the whole product).

Example: one training step of a char LM with truncated BPTT (state carried across segments)
    import numpy as np
    from rnntools import nn
    rng = np.random.default_rng(1)
    params, V, E, H = {}, 65, 64, 256
    emb = nn.Embedding(params, "embed", V, E, rng=rng)
    rnn = nn.Recurrent(params, "rnn", "lstm", E, H, layers=2, dropout=0.1, rng=rng)
    out = nn.Dense(params, "out", H, V, rng=rng)
    opt = nn.Adam(params, lr=2e-3)
    state = rnn.zero_state(32)
    for inputs, targets in batches:               # (T, B) int32 each
        y, state, rc = rnn.forward(emb.table, state, train=True, rng=rng, ids=inputs)
        grads = {}
        loss, dy = out.softmax_cross_entropy(y, targets, grads)   # = out.forward, nn.softmax_cross_entropy,
        dtable, _ = rnn.backward(dy, rc, grads)                    #   out.backward, in one pass
        emb.backward(dtable, None, grads)
        nn.clip_grad_norm(grads, 5.0)
        opt.step(grads)
    # generation: one fused call per character
    logits, st = rnn.step(params["embed.W"][[token]], st, params["out.W"], params["out.b"])
"""

from rnntools.nn.layers import Dense, Embedding, log_softmax, softmax_cross_entropy
from rnntools.nn.optim import SGD, Adam, clip_coefficient, clip_grad_norm, global_norm, make_optimizer
from rnntools.nn.parallel import get_threads, matmul, set_threads
from rnntools.nn.recurrent import CELLS, Recurrent, cell_backward, cell_forward, dropout_mask, hashed_dropout_mask

__all__ = ["Attention", "Dense", "Embedding", "log_softmax", "softmax_cross_entropy", "SGD", "Adam", "clip_grad_norm",
           "clip_coefficient",
           "global_norm", "make_optimizer", "CELLS", "Recurrent", "cell_backward", "cell_forward",
           "dropout_mask", "hashed_dropout_mask", "get_threads", "set_threads", "matmul"]


def __getattr__(name: str):
    # Attention on first use: its numba kernels are loaded only by the models that attend (seq2seq), not
    # at the start of every command that uses the engine
    if name == "Attention":
        from rnntools.nn.attention import Attention

        return Attention
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
