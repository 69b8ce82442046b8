"""The wide part's training: an L2-regularised multinomial logistic regression on the hashed TF-IDF n-gram
rows, fitted to convergence (L-BFGS) before the network trains, its strength chosen on the validation split.

Why not train it jointly with the network by the same Adam: early stopping then ends when the network
starts to overfit, which is long before a linear model over ~10^5 sparse features has converged; the
joint model stayed below TF-IDF + logistic regression on the benchmark sets. Fitted on its own, the wide
part IS that baseline (the same features and loss, C chosen on held-out data), and the network's logits
are mixed in afterwards only as far as they lower the validation loss (``task.combine``).

The objective is scikit-learn's, divided by the number of examples:
``sum_i w_i nll_i / sum_i w_i + |W|^2 / (2 C N)`` (no penalty on the intercept), so ``C`` means what it
means there."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

CS = (1.0, 3.0, 10.0, 30.0, 100.0)     # the grid scikit-learn users search; warm-started in this order
MAX_PARAMS = 2_000_000                 # weights the fit may have (columns x classes): bounds L-BFGS' memory
PATH_ITER = 100                        # L-BFGS iterations per C on the path (scikit-learn's max_iter default)
PARALLEL_PARAMS = 500_000              # below this many weights the fit runs its kernels on one thread
PRECONDITION = True                    # L-BFGS on the Jacobi-rescaled weights (``jacobi_scale``)
RTOL = 1e-4                            # a fit stops when 5 iterations lower its objective by less (relative)
GTOL = 1e-5                            # ... or when no gradient entry is larger
NB_WORDS = "choose"                    # two linear models: the word model on NBSVM's log-count ratios too,
NB_CS = (0.1, 0.3) + CS                # over this grid, kept where the out-of-fold loss is lower (fit_two_linear)
# the C grid of the documents' one linear model (sublinear-tf rows, ``cs_for``): the sentences'. Every set of
# documents chooses its largest C, and a grid to 1000 lowers the out-of-fold loss on every one (reviews
# 0.369 -> 0.337), but on the whole model, two seeds, it moved test accuracy by +0.27 or 0 on the long
# reviews and lost on the news-lead proxies (docs/classify.md, "Documents"): measured, not taken
DOCUMENT_CS = CS


def cs_for(rows: str | None) -> tuple:
    """The C grid of one linear model on ``rows`` (``features.rows_for``' names): ``DOCUMENT_CS`` on the
    documents' sublinear-tf rows, else ``CS``. A long text's unit-length row spreads over hundreds of
    grams, each with a small value, so its weights must be large to give confident logits: documents may
    want a longer grid than sentences (measured, not taken: ``DOCUMENT_CS``)."""
    return DOCUMENT_CS if rows is not None and rows.endswith("+tf") else CS


def _columns(X, n_classes: int, max_params: int) -> np.ndarray:
    """The columns (hashed features) the fit uses: those present in the training rows; when there are more
    than ``max_params / n_classes``, those present in most rows (features seen once go first: they can
    only memorise their one text)."""
    df = np.bincount(X.indices, minlength=X.shape[1])
    cols = np.flatnonzero(df)
    keep = max(max_params // max(n_classes, 1), 1)
    if len(cols) > keep:
        order = np.argsort(-df[cols], kind="stable")[:keep]
        cols = np.sort(cols[order])
    return cols


def _softmax_terms(Z, Y, w):
    """The weighted cross-entropy of logits ``Z`` (N, K; shifted in place) against one-hot ``Y`` with row
    weights ``w``, and its gradient with respect to ``Z``."""
    Z -= Z.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(Z).sum(axis=1))
    nll = logsum - (Z * Y).sum(axis=1)
    return float(w @ nll), (np.exp(Z - logsum[:, None]) - Y) * w[:, None]


def _loss_grad(theta, X, XT, Y, w, C, R=None):
    """Objective and gradient at ``theta`` = [W (F, K); b (1, K)] flattened (float64). ``R`` (F, K): each
    weight's feature scale (the logits are ``X (R * W) + b``), None: 1. The plain numpy/scipy form: the
    reference of ``_loss_grad_fast``, which the fits use."""
    F, K = X.shape[1], Y.shape[1]
    Wb = theta.reshape(F + 1, K)
    W, b = Wb[:F], Wb[F]
    Z = np.asarray(X @ (W if R is None else R * W)) + b
    data_loss, G = _softmax_terms(Z, Y, w)
    n = X.shape[0]
    loss = data_loss + 0.5 / (C * n) * float((W * W).sum())
    grad = np.empty_like(Wb)
    grad[:F] = (np.asarray(XT @ G) if R is None else R * np.asarray(XT @ G)) + W / (C * n)
    grad[F] = G.sum(axis=0)
    return loss, grad.ravel()


def _loss_grad_fast(theta, X, XT, Y, w, C, R=None):
    """``_loss_grad`` with its two sparse products (``X W`` and ``X^T G``) by ``kernels().csr_dense`` on
    every configured core and the penalty's sum by ``kernels().dot``: the same numbers up to rounding, for
    any thread count. ``X``, ``XT``: CSR (the values may be float32: they are widened exactly)."""
    k = kernels()
    F, K = X.shape[1], Y.shape[1]
    Wb = theta.reshape(F + 1, K)
    W, b = Wb[:F], Wb[F]
    Z = np.empty((X.shape[0], K))
    k.csr_dense(X.indptr, X.indices, X.data, W if R is None else R * W, Z)
    Z += b
    data_loss, G = _softmax_terms(Z, Y, w)
    n = X.shape[0]
    flat = theta[:F * K]
    loss = data_loss + 0.5 / (C * n) * k.dot(flat, flat)
    grad = np.empty_like(Wb)
    k.csr_dense(XT.indptr, XT.indices, XT.data, G, grad[:F])
    if R is not None:
        grad[:F] *= R
    k.axpy(1.0 / (C * n), flat, grad[:F].reshape(-1))
    grad[F] = G.sum(axis=0)
    return loss, grad.ravel()


_KERNELS: list = []
GRAM_BLOCK = 1024       # elements of each row that ``gram`` reads while they stay in the core's cache


def kernels():
    """The numba kernels of the fit, compiled (or loaded from numba's cache) on first use, so that loading
    or predicting with a classifier never imports numba. Every reduction is summed in a fixed order (a row
    by its entries; a vector by 64 fixed chunks, then the chunks in order), so results do not depend on the
    thread count."""
    if not _KERNELS:
        import os
        from types import SimpleNamespace

        # numba runs prange over OpenMP where it can; libgomp's threads spin for a while after each parallel
        # loop, waiting for the next, and between the fit's kernel calls (the L-BFGS step's numpy work) that
        # spinning was a fifth of the fit's CPU time. Asleep, a thread takes microseconds to wake, against
        # milliseconds of work per call. Read when libgomp loads (the first parallel call): a value set by
        # the user stays.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from numba import prange

        from rnntools.jit import njit

        @njit(parallel=True, cache=True, nogil=True)
        def csr_dense(indptr, indices, data, D, out):
            """out (n, K) = X @ D for the CSR X (indptr, indices, data): rows in parallel."""
            n, K = out.shape
            for i in prange(n):
                for c in range(K):
                    out[i, c] = 0.0
                for p in range(indptr[i], indptr[i + 1]):
                    j = indices[p]
                    v = np.float64(data[p])
                    for c in range(K):
                        out[i, c] += v * D[j, c]

        @njit(parallel=True, cache=True, nogil=True)
        def dot(a, b):
            n = a.shape[0]
            size = (n + 63) // 64
            part = np.zeros(64)
            for c in prange(64):
                s = 0.0
                for i in range(c * size, min((c + 1) * size, n)):
                    s += a[i] * b[i]
                part[c] = s
            total = 0.0
            for c in range(64):
                total += part[c]
            return total

        @njit(parallel=True, cache=True, nogil=True)
        def axpy(alpha, x, y):
            """y += alpha * x, in place."""
            for i in prange(y.shape[0]):
                y[i] += alpha * x[i]

        @njit(parallel=True, cache=True, nogil=True)
        def gram(H, rows, targets, out):
            """out[a, b] = H[rows[a]] . H[targets[b]]: the rows cut into 64 chunks; within a chunk, eight
            partial sums per product (element i into sum i mod 8), then the chunks in order. Each product's
            eight sums are kept in registers over a block of ``GRAM_BLOCK`` elements, whose rows stay in
            the core's cache while every product reads them (the same additions in the same order as one
            pass over the chunk with the sums in memory, which stored and reloaded a sum at every
            addition: 30% slower at 10^6 weights)."""
            n, R, T = H.shape[1], rows.shape[0], targets.shape[0]
            size = (n + 63) // 64
            part = np.zeros((64, R, T))
            for c in prange(64):
                lo, hi = c * size, min((c + 1) * size, n)
                full = lo + (max(hi - lo, 0) // 8) * 8          # the chunk's last multiple of 8
                acc = np.zeros((R, T, 8))
                for start in range(lo, full, GRAM_BLOCK):
                    stop = min(start + GRAM_BLOCK, full)
                    for a in range(R):
                        u = H[rows[a]]
                        for b in range(T):
                            v = H[targets[b]]
                            s0, s1, s2, s3 = acc[a, b, 0], acc[a, b, 1], acc[a, b, 2], acc[a, b, 3]
                            s4, s5, s6, s7 = acc[a, b, 4], acc[a, b, 5], acc[a, b, 6], acc[a, b, 7]
                            for i in range(start, stop, 8):
                                s0 += u[i] * v[i]
                                s1 += u[i + 1] * v[i + 1]
                                s2 += u[i + 2] * v[i + 2]
                                s3 += u[i + 3] * v[i + 3]
                                s4 += u[i + 4] * v[i + 4]
                                s5 += u[i + 5] * v[i + 5]
                                s6 += u[i + 6] * v[i + 6]
                                s7 += u[i + 7] * v[i + 7]
                            acc[a, b, 0], acc[a, b, 1], acc[a, b, 2], acc[a, b, 3] = s0, s1, s2, s3
                            acc[a, b, 4], acc[a, b, 5], acc[a, b, 6], acc[a, b, 7] = s4, s5, s6, s7
                for a in range(R):
                    for b in range(T):
                        s = (((acc[a, b, 0] + acc[a, b, 1]) + (acc[a, b, 2] + acc[a, b, 3]))
                             + ((acc[a, b, 4] + acc[a, b, 5]) + (acc[a, b, 6] + acc[a, b, 7])))
                        for j in range(full, hi):
                            s += H[rows[a], j] * H[targets[b], j]
                        part[c, a, b] = s
            for a in range(R):
                for b in range(T):
                    s = 0.0
                    for c in range(64):
                        s += part[c, a, b]
                    out[a, b] = s

        @njit(parallel=True, cache=True, nogil=True)
        def combine(H, rows, coef, out):
            """out = sum_a coef[a] * H[rows[a]], each entry summed over a in order, eight entries at a
            time in registers (three times faster than adding row after row into ``out``)."""
            n, R = H.shape[1], rows.shape[0]
            size = (n + 63) // 64
            for c in prange(64):
                lo, hi = c * size, min((c + 1) * size, n)
                i = lo
                while i + 8 <= hi:
                    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
                    for a in range(R):
                        h = H[rows[a]]
                        w = coef[a]
                        s0 += w * h[i]
                        s1 += w * h[i + 1]
                        s2 += w * h[i + 2]
                        s3 += w * h[i + 3]
                        s4 += w * h[i + 4]
                        s5 += w * h[i + 5]
                        s6 += w * h[i + 6]
                        s7 += w * h[i + 7]
                    out[i], out[i + 1], out[i + 2], out[i + 3] = s0, s1, s2, s3
                    out[i + 4], out[i + 5], out[i + 6], out[i + 7] = s4, s5, s6, s7
                    i += 8
                for j in range(i, hi):
                    s = 0.0
                    for a in range(R):
                        s += coef[a] * H[rows[a], j]
                    out[j] = s

        # the L-BFGS step's vector work, each entry the same arithmetic as numpy's (no reordering, no fused
        # multiply-add), on every core and in one pass where numpy made temporaries (``_lbfgs``)
        @njit(parallel=True, cache=True, nogil=True)
        def multiply(a, b, out):
            """out = a * b (``out`` may be ``a``)."""
            for i in prange(out.shape[0]):
                out[i] = a[i] * b[i]

        @njit(parallel=True, cache=True, nogil=True)
        def step_point(x, step, d, out):
            """out = x + step * d."""
            for i in prange(out.shape[0]):
                out[i] = x[i] + step * d[i]

        @njit(parallel=True, cache=True, nogil=True)
        def new_pair(H, s_row, y_row, g_row, x_new, x, g_new):
            """H[s_row] = x_new - x, H[y_row] = g_new - H[g_row], then H[g_row] = g_new."""
            for i in prange(x.shape[0]):
                H[s_row, i] = x_new[i] - x[i]
                H[y_row, i] = g_new[i] - H[g_row, i]
                H[g_row, i] = g_new[i]

        @njit(parallel=True, cache=True, nogil=True)
        def max_abs_ratio(g, scale):
            """max |g / scale| (NaN if any ratio is NaN), by 64 chunks."""
            n = g.shape[0]
            size = (n + 63) // 64
            part = np.zeros(64)
            for c in prange(64):
                m = 0.0
                for i in range(c * size, min((c + 1) * size, n)):
                    v = abs(g[i] / scale[i])
                    if v > m or v != v:
                        m = v
                        if v != v:
                            break
                part[c] = m
            best = 0.0
            for c in range(64):
                if part[c] > best or part[c] != part[c]:
                    best = part[c]
                    if best != best:
                        break
            return best

        _KERNELS.append(SimpleNamespace(csr_dense=csr_dense, dot=dot, axpy=axpy, gram=gram, combine=combine,
                                        multiply=multiply, step_point=step_point, new_pair=new_pair,
                                        max_abs_ratio=max_abs_ratio))
    return _KERNELS[0]


def val_loss(Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean cross-entropy of logits ``Z`` (N, K)."""
    Z = Z - Z.max(axis=1, keepdims=True)
    nll = np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y]
    return float((w * nll).sum() / w.sum())


def lbfgs_rows(n: int, memory: int = 10) -> np.ndarray:
    """The rows ``lbfgs`` keeps its pairs and gradient in, for ``n`` variables (``lbfgs``' ``work``)."""
    return np.empty((2 * (memory + 1) + 1, n))


def lbfgs(fun, x0: np.ndarray, args=(), max_iter: int = 200, memory: int = 10, gtol: float = 1e-5,
          ftol: float = 1e-10, scale: np.ndarray | None = None, rtol: float = 0.0,
          window: int = 5, work: np.ndarray | None = None, stop=None) -> np.ndarray:
    """Minimise a smooth ``fun(x, *args) -> (f, grad)`` by L-BFGS (backtracking line search on the Armijo
    condition). Stops when the largest gradient entry (of ``fun``'s gradient, whatever ``scale``) is below
    ``gtol``, the objective moves less than ``ftol`` relative in one iteration or less than ``rtol``
    relative in the last ``window`` iterations, or after ``max_iter`` iterations.

    Why the window test: the gradient test alone is a poor measure of how far a fit is from its optimum
    when the problem is ill-conditioned (weak regularisation, rare features); warm-started at a larger C it
    can even pass at once although the objective still has 20% to fall; and the held-out loss that chooses
    C settles to the fourth decimal long before the gradient reaches 1e-5.

    ``scale`` (n,) positive: the iterations run on ``u = x / scale`` (a diagonal preconditioner: the initial
    inverse Hessian ``diag(scale^2)`` instead of a multiple of the identity); None: 1. The minimum is the
    same; the path to it is not.

    The two-loop recursion runs on numbers, not vectors ("vector-free" L-BFGS, Chen et al. 2014): the
    stored pairs (s, y) and the gradient are rows of one array, their dot products a small matrix kept up to
    date, and the direction a combination of the rows. Each iteration then reads the stored vectors twice
    (their products with the new pair and gradient, in one pass; the direction) instead of 4 x ``memory``
    times, which at 10^6 weights costs more than the objective itself. The same iterates as the textbook
    recursion up to rounding (``tests/test_classify_wide.py`` holds that recursion as the reference).
    scipy's L-BFGS-B spends ~60 ms per iteration in its bound-constraint bookkeeping at 10^5 variables;
    without bounds none of that is needed.

    ``work``: ``lbfgs_rows(len(x0), memory)``, the rows to keep the pairs in (their contents are never read
    before written), for a caller that runs several fits of one size: fresh rows (23 of 2M variables: 370
    MB) cost a page fault and the kernel's zeroing of every page at their first use, in each fit.

    ``stop``: a ``threading.Event``; once set, the next objective evaluation raises ``Stopped`` (a fit run
    beside other work, ``training.train``, ends soon after that work fails or is interrupted)."""
    if scale is None:
        return _lbfgs(fun, x0, args, max_iter, memory, gtol, ftol, lambda g: np.max(np.abs(g)), rtol, window,
                      work, stop)

    k = kernels()
    point = np.empty_like(x0)           # x = u * scale, made anew at each evaluation (fun keeps no reference)

    def scaled(u, *a):
        k.multiply(u, scale, point)
        f, g = fun(point, *a)
        k.multiply(g, scale, g)         # g is fun's own new array
        return f, g

    u = _lbfgs(scaled, x0 / scale, args, max_iter, memory, gtol, ftol, lambda g: k.max_abs_ratio(g, scale),
               rtol, window, work, stop)
    return u * scale


class Stopped(Exception):
    """A fit ended early because its ``stop`` event was set (``lbfgs``)."""


def _lbfgs(fun, x0, args, max_iter, memory, gtol, ftol, gmax, rtol=0.0, window=5, work=None, stop=None):
    """``lbfgs`` on ``fun`` as given; ``gmax(grad)``: the number the stop test compares with ``gtol``."""
    if stop is not None:
        objective = fun

        def fun(x, *a):
            if stop.is_set():
                raise Stopped
            return objective(x, *a)

    k = kernels()
    m, n = memory, x0.shape[0]
    M = m + 1                               # slots: ``memory`` in use at most, and one free for the next pair
    last = 2 * M                            # the gradient's row; slot i's pair: rows i (s) and M + i (y)
    H = work if work is not None and work.shape == (2 * M + 1, n) else np.empty((2 * M + 1, n))
    G = np.zeros((2 * M + 1, 2 * M + 1))    # dot products among the rows in use
    x = x0.copy()
    f, g = fun(x, *args)
    H[last] = g
    order: list[int] = []                   # slots in use, oldest first
    history = [f]

    def update_products(targets):
        rows = np.array(order + [M + i for i in order] + [last], np.int64)
        out = np.empty((len(rows), len(targets)))
        k.gram(H, rows, np.array(targets, np.int64), out)
        G[np.ix_(rows, targets)] = out
        G[np.ix_(targets, rows)] = out.T

    update_products([last])
    for _ in range(max_iter):
        if gmax(H[last]) < gtol:
            break
        c = np.zeros(2 * M + 1)             # the direction's coefficients over the rows: q = H^T c
        c[last] = 1.0
        alpha = {}
        for i in reversed(order):
            alpha[i] = float(G[i] @ c) / G[i, M + i]
            c[M + i] -= alpha[i]
        if order:
            j = order[-1]
            c *= G[j, M + j] / G[M + j, M + j]
        else:
            c /= max(G[last, last] ** 0.5, 1e-12)
        for i in order:
            c[i] += alpha[i] - float(G[M + i] @ c) / G[i, M + i]
        slope = -float(G[last] @ c)         # g . d for d = -q
        if slope >= 0:                      # not a descent direction: restart from the gradient
            order = []
            c[:] = 0.0
            c[last] = 1.0 / max(G[last, last] ** 0.5, 1e-12)
            slope = -float(G[last] @ c)
        rows = np.array(order + [M + i for i in order] + [last], np.int64)
        d = np.empty(n)
        k.combine(H, rows, -c[rows], d)
        step = 1.0
        for _ls in range(30):
            x_new = np.empty(n)
            k.step_point(x, step, d, x_new)
            f_new, g_new = fun(x_new, *args)
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        slot = min(set(range(M)) - set(order))      # the new pair goes straight into the free rows
        k.new_pair(H, slot, M + slot, last, x_new, x, g_new)      # and the gradient's row becomes g_new
        targets = [last]
        if k.dot(H[slot], H[M + slot]) > 1e-12:
            if len(order) == m:
                order.pop(0)
            order.append(slot)
            targets = [slot, M + slot, last]
        update_products(targets)
        done = abs(f - f_new) <= ftol * max(abs(f), abs(f_new), 1.0)
        history.append(f_new)
        if len(history) > window and history[-1 - window] - f_new <= rtol * abs(f_new):
            done = True
        x, f = x_new, f_new
        if done:
            break
    return x


def nb_scales(X, Y, alpha: float = 1.0) -> np.ndarray:
    """(F, K) |log-count ratio| of each feature for class k against the rest (NBSVM's r, one per class),
    over the rows' binarised features, scaled to mean 1."""
    B = X.copy()
    B.data = np.ones_like(B.data)
    P = np.asarray(B.T @ Y) + alpha                          # (F, K) rows with the feature, per class
    Q = np.asarray(B.sum(axis=0)).ravel()[:, None] + 2 * alpha - P
    R = np.abs(np.log(P / P.sum(axis=0)) - np.log(Q / Q.sum(axis=0)))
    return R / max(float(R.mean()), 1e-12)


def jacobi_scale(X, w, C: float, n_classes: int, R=None) -> np.ndarray:
    """The preconditioner of the fit (``lbfgs``' ``scale``): 1 / sqrt of an estimate of the objective's
    Hessian diagonal, ``p (1 - p) sum_i w_i x_ij^2 (R_jk^2) + 1 / (C N)`` for weight (j, k) with every
    class probability p at 1/K, and ``p (1 - p)`` for the intercept; scaled to a largest entry of 1.

    Why: hashed n-gram columns range from features in half the texts to features in two, so the Hessian's
    diagonal spans three or four orders of magnitude; L-BFGS, which starts each direction from a multiple
    of the identity, then needs hundreds of iterations at large C (the 26-class glosses hit the iteration
    cap at every C) where the rescaled problem needs tens."""
    K = n_classes
    sq = X.copy()
    sq.data = np.square(sq.data, dtype=np.float64)
    colsq = np.asarray(sq.T @ w).ravel()                    # sum_i w_i x_ij^2 (w sums to 1)
    p = (1.0 / K) * (1.0 - 1.0 / K)
    h = np.empty((X.shape[1] + 1, K))
    h[:-1] = p * colsq[:, None] * (1.0 if R is None else R * R) + 1.0 / (C * X.shape[0])
    h[-1] = p
    scale = 1.0 / np.sqrt(h)
    return (scale / scale.max()).ravel()


def _fit_path(Xc, XT, Y, w, Cs, max_iter, score=None, R=None, theta0=None, work=None, stop=None):
    """Fit every C of ``Cs`` in order, each warm-started from the last (the first from ``theta0``, default
    0); ``score(Wb) -> (loss, extra)`` of each (None: no score, every C is fitted). Stops after two rises of
    the loss. Returns {C: (loss, extra, Wb)}.

    Each C after the first is stopped by the objective's progress only (no gradient test): its warm start's
    gradient is the change of the penalty's, ``W (1/C' - 1/C) / N``, which shrinks as 1/N and can pass an
    absolute test at once on a large set although the objective still has far to fall."""
    F, K = Xc.shape[1], Y.shape[1]
    theta = np.zeros((F + 1) * K) if theta0 is None else theta0.copy()
    out, best, rises = {}, None, 0
    for i, C in enumerate(Cs):
        theta = lbfgs(_loss_grad_fast, theta, (Xc, XT, Y, w, C, R), max_iter=max_iter, rtol=RTOL,
                      gtol=GTOL if i == 0 else 0.0, scale=jacobi_scale(Xc, w, C, K, R) if PRECONDITION else None,
                      work=work, stop=stop)
        Wb = theta.reshape(F + 1, K).copy()
        if R is not None:
            Wb[:F] *= R
        s, extra = score(Wb) if score is not None else (-C, None)
        out[C] = (s, extra, Wb.copy())
        if best is None or s < best:
            best, rises = s, 0
        else:
            rises += 1
            if rises >= 2:
                break
    return out


def fit_linear(X, y: np.ndarray, weights: np.ndarray, n_classes: int, Cs=CS, folds: int = 3,
               max_iter: int = 200, max_params: int = MAX_PARAMS, seed: int = 0, nb: bool = False,
               path_iter: int = PATH_ITER, stop=None):
    """Fit the wide part on every labelled row (the validation split included: a linear model over sparse
    n-grams gains from every text, about a point per 10% more on the benchmark's sentence sets).
    X: CSR (N, buckets); y: (N,) class ids; weights: (K,) per class. C is the one of ``Cs`` with the lowest
    held-out loss on the first of ``folds`` folds (its path warm-started C after C, at most ``path_iter``
    iterations each); the other folds are fitted at that C only, from the first fold's solution, for the
    out-of-fold logits; then the model is refitted on all rows from the folds' mean solution. One fold's
    path instead of every fold's: the path is most of the cost (4-5 fits per fold, each 30-100 objective
    evaluations); what the noisier choice costs in accuracy is measured in docs/classify.md.
    Fewer than 2 examples per fold: C = 10 (or the one C given).
    ``stop``: a ``threading.Event`` that ends the fit with ``Stopped`` once set (``lbfgs``).
    Returns (W (buckets, K) float32, b (K,) float32, info dict, out-of-fold logits (N, K) at the chosen C
    or None): the out-of-fold logits are the honest ones to weigh the network against (``task.combine``)."""
    K = n_classes
    cols = _columns(X, K, max_params)
    with _threads_for(len(cols) * K):
        return _fit(X, y, weights, K, Cs, folds, max_iter, seed, nb, path_iter, cols, stop)


def fit_two_linear(X, y: np.ndarray, weights: np.ndarray, n_classes: int, seed: int = 0, nb_words=None,
                   **options):
    """Two linear models side by side (``rows: "sep"``): X (N, 2B) holds each text's word grams in its first
    B columns and its character grams in the last B, each block unit length (``features.wide_values(...,
    separate=True)``). Each block gets its own ``fit_linear`` (its own C, its own out-of-fold logits);
    their logits are mixed ``a z_words + (1 - a) z_chars``, a in {0, 0.1, ..., 1} the one with the lowest
    out-of-fold log loss after a temperature fitted for each a (the mix's scale is the network's and the
    calibration's business, not a's). Why: in one model the two blocks share one penalty; apart, each gets
    the C its features want (docs/classify.md, "Two linear models").
    ``nb_words`` (default ``NB_WORDS``, "choose"): True fits the word model on NBSVM's log-count ratios
    (``fit_linear(nb=True)`` over ``NB_CS``: each weight's penalty divided by its feature's squared ratio,
    the ratios of each fold's own texts); "choose" fits it both ways and keeps the mix with the lower
    out-of-fold loss (the plain one on a tie, or without folds); False the plain one. Why "choose": on the
    whole model the ratios gained where they lowered that loss (tweets, the Rotten Tomatoes and MR
    sentences: +0.1 to +0.56 points in two seeds but one) and lost where they raised it (amazon, nyt: up
    to -1.05), docs/classify.md "NBSVM's ratios for the word model".
    Returns ``fit_linear``'s four values for the mix: W (2B, K) = [a W_words; (1 - a) W_chars],
    b = a b_words + (1 - a) b_chars, info (C and features of each, ``word_weight`` a and the losses by a,
    ``nb_words`` whether the word model is NB's), the mixed out-of-fold logits (None without folds)."""
    B = X.shape[1] // 2
    nb = NB_WORDS if nb_words is None else nb_words
    Xw = X[:, slice(0, B)]
    chars = fit_linear(X[:, slice(B, 2 * B)], y, weights, n_classes, seed=seed, **options)
    tries = ([False] if nb in (False, "choose") else []) + ([True] if nb in (True, "choose") else [])
    best = None
    for use_nb in tries:
        words = fit_linear(Xw, y, weights, n_classes, seed=seed,
                           **({"nb": True, "Cs": NB_CS, **options} if use_nb else options))
        loss, a, by_a = _word_weight(words[3], chars[3], y, weights)
        if best is None or (loss is not None and loss < best[0] - 1e-6):
            best = (loss, a, by_a, use_nb, words)
        if nb == "choose" and loss is None:     # no folds: nothing to choose by
            break
    _, a, by_a, use_nb, (Ww, bw, iw, ow) = best
    Wc, bc, ic, oc = chars
    W = np.concatenate([np.float32(a) * Ww, np.float32(1.0 - a) * Wc])
    b = (a * bw.astype(np.float64) + (1.0 - a) * bc.astype(np.float64)).astype(np.float32)
    oof = None if ow is None or oc is None else a * ow + (1.0 - a) * oc
    info = {"C": iw["C"], "C_chars": ic["C"], "features": iw["features"] + ic["features"],
            "cv_loss_by_C": iw["cv_loss_by_C"], "cv_loss_by_C_chars": ic["cv_loss_by_C"],
            "word_weight": a, "oof_loss_by_word_weight": by_a, "nb_words": use_nb}
    return W, b, info, oof


def _word_weight(ow, oc, y, weights):
    """The words' weight a in {0, 0.1, ..., 1} of ``a ow + (1 - a) oc`` with the lowest out-of-fold loss
    after a temperature: (that loss, a, the losses by a); (None, 0.5, {}) without out-of-fold logits."""
    from rnntools.tasks.classify.model import fit_temperature

    if ow is None or oc is None:
        return None, 0.5, {}
    w = weights[y].astype(np.float64)
    best, by_a = None, {}
    for a_ in np.linspace(0.0, 1.0, 11):
        z = a_ * ow + (1.0 - a_) * oc
        loss = val_loss(z / fit_temperature(z, y), y, w)
        by_a[f"{a_:.1f}"] = round(loss, 6)
        if best is None or loss < best[0] - 1e-12:
            best = (loss, float(a_))
    return best[0], round(best[1], 1), by_a


@contextmanager
def _threads_for(n_weights: int):
    """Every configured core for a model of ``PARALLEL_PARAMS`` weights or more, else one: each kernel call
    wakes the other threads, which costs more than a vector of 10^5 weights takes alone (and milliseconds
    on a busy machine). The results are the same either way (the kernels' sums have a fixed order)."""
    import numba

    kernels()
    before = numba.get_num_threads()
    if n_weights < PARALLEL_PARAMS:
        numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _fit(X, y, weights, K, Cs, folds, max_iter, seed, nb, path_iter, cols, stop=None):
    Xc = X[:, cols].tocsr()     # float32 values: the kernels widen them exactly
    Y = np.zeros((X.shape[0], K))
    Y[np.arange(len(y)), y] = 1.0
    wy = weights[y].astype(np.float64)
    tried: dict = {}
    C = float(Cs[0]) if len(Cs) == 1 else 10.0
    oof = theta0 = None
    work = lbfgs_rows((Xc.shape[1] + 1) * K)     # one set of L-BFGS rows for every fit below (lbfgs' work)
    if folds > 1 and len(y) >= 2 * folds:
        fold = np.empty(len(y), np.int64)
        fold[np.random.default_rng(seed).permutation(len(y))] = np.arange(len(y)) % folds
        oof = np.zeros((len(y), K))
        solutions = []                          # each fold's solution at the chosen C
        for f in range(folds):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            Xt, Xh = Xc[tr], Xc[te]

            def score(Wb, Xh=Xh, te=te):
                Z = np.asarray(Xh @ Wb[:-1]) + Wb[-1]
                return val_loss(Z, y[te], wy[te]), Z

            R = nb_scales(Xt, Y[tr]) if nb else None
            # the first fold walks the C path; the others fit only the C it chose, from its solution
            start = None if (f == 0 or nb) else solutions[0].ravel()
            path = _fit_path(Xt, Xt.T.tocsr(), Y[tr], wy[tr] / wy[tr].sum(), Cs if f == 0 else [C],
                             path_iter, score, R, theta0=start, work=work, stop=stop)
            if f == 0:
                tried = {c: round(float(v[0]), 6) for c, v in path.items()}
                C = min(tried, key=tried.get)
            oof[te] = path[C][1]
            solutions.append(path[C][2])
        if not nb:      # the folds' mean solution at C: close to the full fit's, so it starts from there
            theta0 = (sum(solutions) / folds).ravel()
    R = nb_scales(Xc, Y) if nb else None
    path = [C] if theta0 is not None else ([c for c in Cs if c <= C] or [C])
    Wb = _fit_path(Xc, Xc.T.tocsr(), Y, wy / wy.sum(), path, max_iter, R=R, theta0=theta0, work=work,
                   stop=stop)[C][2]
    W = np.zeros((X.shape[1], K), np.float32)
    W[cols] = Wb[:-1]
    return W, Wb[-1].astype(np.float32), {"C": C, "features": int(len(cols)), "cv_loss_by_C": tried}, oof
