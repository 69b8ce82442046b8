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

import numpy as np

CS = (1.0, 3.0, 10.0, 30.0, 100.0)     # the grid scikit-learn users search; warm-started in this order
MAX_PARAMS = 2_000_000                 # weights the fit may have (columns x classes): bounds L-BFGS' memory


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


def _loss_grad(theta, X, XT, Y, w, C, R=None):
    """Objective and gradient at ``theta`` = [W (F, K); b (1, K)] flattened (float64). ``R`` (F, K): each
    weight's feature scale (the logits are ``X (R * W) + b``), None: 1."""
    F, K = X.shape[1], Y.shape[1]
    Wb = theta.reshape(F + 1, K)
    W, b = Wb[:F], Wb[F]
    Z = np.asarray(X @ (W if R is None else R * W)) + b
    Z -= Z.max(axis=1, keepdims=True)
    logsum = np.log(np.exp(Z).sum(axis=1))
    nll = logsum - (Z * Y).sum(axis=1)
    n = X.shape[0]
    loss = float(w @ nll) + 0.5 / (C * n) * float((W * W).sum())
    G = (np.exp(Z - logsum[:, None]) - Y) * w[:, None]
    grad = np.empty_like(Wb)
    grad[:F] = (np.asarray(XT @ G) if R is None else R * np.asarray(XT @ G)) + W / (C * n)
    grad[F] = G.sum(axis=0)
    return loss, grad.ravel()


def val_loss(Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean cross-entropy of logits ``Z`` (N, K)."""
    Z = Z - Z.max(axis=1, keepdims=True)
    nll = np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y]
    return float((w * nll).sum() / w.sum())


def lbfgs(fun, x0: np.ndarray, args=(), max_iter: int = 200, memory: int = 10, gtol: float = 1e-5,
          ftol: float = 1e-10) -> np.ndarray:
    """Minimise a smooth ``fun(x, *args) -> (f, grad)`` by L-BFGS (the two-loop recursion, backtracking
    line search on the Armijo condition). Stops when the largest gradient entry is below ``gtol``, the
    objective moves less than ``ftol`` relative, or after ``max_iter`` iterations.
    scipy's L-BFGS-B spends ~60 ms per iteration in its bound-constraint bookkeeping at 10^5 variables,
    ten times the objective's own cost here; without bounds the recursion is a few vector operations."""
    x = x0.copy()
    f, g = fun(x, *args)
    S: list[np.ndarray] = []
    Yd: list[np.ndarray] = []
    rho: list[float] = []
    for _ in range(max_iter):
        if np.max(np.abs(g)) < gtol:
            break
        q = g.copy()
        alpha = []
        for s_, y_, r in zip(reversed(S), reversed(Yd), reversed(rho)):
            a = r * float(s_ @ q)
            alpha.append(a)
            q -= a * y_
        if S:
            q *= float(S[-1] @ Yd[-1]) / float(Yd[-1] @ Yd[-1])
        else:
            q /= max(float(np.linalg.norm(g)), 1e-12)
        for (s_, y_, r), a in zip(zip(S, Yd, rho), reversed(alpha)):
            q += (a - r * float(y_ @ q)) * s_
        d = -q
        slope = float(g @ d)
        if slope >= 0:                     # not a descent direction: restart from the gradient
            S, Yd, rho = [], [], []
            d = -g / max(float(np.linalg.norm(g)), 1e-12)
            slope = float(g @ d)
        step = 1.0
        for _ls in range(30):
            x_new = x + step * d
            f_new, g_new = fun(x_new, *args)
            if f_new <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_, y_ = x_new - x, g_new - g
        sy = float(s_ @ y_)
        if sy > 1e-12:
            S.append(s_)
            Yd.append(y_)
            rho.append(1.0 / sy)
            if len(S) > memory:
                S.pop(0), Yd.pop(0), rho.pop(0)
        done = abs(f - f_new) <= ftol * max(abs(f), abs(f_new), 1.0)
        x, f, g = x_new, f_new, g_new
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


def _fit_path(Xc, XT, Y, w, Cs, max_iter, score=None, R=None, theta0=None):
    """Fit every C of ``Cs`` in order, each warm-started from the last (the first from ``theta0``, default
    0); ``score(Wb) -> (loss, extra)`` of each (None: no score, every C is fitted). Stops after two rises of
    the loss. Returns {C: (loss, extra, Wb)}."""
    F, K = Xc.shape[1], Y.shape[1]
    theta = np.zeros((F + 1) * K) if theta0 is None else theta0.copy()
    out, best, rises = {}, None, 0
    for C in Cs:
        theta = lbfgs(_loss_grad, theta, (Xc, XT, Y, w, C, R), max_iter=max_iter)
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
               max_iter: int = 200, max_params: int = MAX_PARAMS, seed: int = 0, nb: bool = False):
    """Fit the wide part on every labelled row (the validation split included: a linear model over sparse
    n-grams gains from every text, about a point per 10% more on the benchmark's sentence sets).
    X: CSR (N, buckets); y: (N,) class ids; weights: (K,) per class. C is chosen by ``folds``-fold
    cross-validation (the lowest mean held-out loss over ``Cs``, as scikit-learn's grid search does), then
    the model is refitted on all rows. Fewer than 2 examples per fold: C = 10 (or the one C given).
    Returns (W (buckets, K) float32, b (K,) float32, info dict, out-of-fold logits (N, K) at the chosen C
    or None): the out-of-fold logits are the honest ones to weigh the network against (``task.combine``)."""
    K = n_classes
    cols = _columns(X, K, max_params)
    Xc = X[:, cols].astype(np.float64).tocsr()
    Y = np.zeros((X.shape[0], K))
    Y[np.arange(len(y)), y] = 1.0
    wy = weights[y].astype(np.float64)
    tried: dict = {}
    C = float(Cs[0]) if len(Cs) == 1 else 10.0
    oof = theta0 = None
    if folds > 1 and len(y) >= 2 * folds:
        fold = np.empty(len(y), np.int64)
        fold[np.random.default_rng(seed).permutation(len(y))] = np.arange(len(y)) % folds
        totals: dict[float, list] = {}
        held: dict[float, np.ndarray] = {}
        sums: dict[float, np.ndarray] = {}      # each C's solutions summed over the folds
        for f in range(folds):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            Xt, Xh = Xc[tr], Xc[te]

            def score(Wb, Xh=Xh, te=te):
                Z = np.asarray(Xh @ Wb[:-1]) + Wb[-1]
                return val_loss(Z, y[te], wy[te]), Z

            R = nb_scales(Xt, Y[tr]) if nb else None
            for c, (s, Z, Wb) in _fit_path(Xt, Xt.T.tocsr(), Y[tr], wy[tr] / wy[tr].sum(), Cs, max_iter,
                                           score, R).items():
                if R is None:
                    sums[c] = sums[c] + Wb if c in sums else Wb
                totals.setdefault(c, []).append(s)
                held.setdefault(c, np.zeros((len(y), K)))[te] = Z
        tried = {c: round(float(np.mean(v)), 6) for c, v in totals.items() if len(v) == folds}
        C = min(tried, key=tried.get)
        oof = held[C]
        if not nb:      # the folds' mean solution at C: close to the full fit's, so it starts from there
            theta0 = (sums[C] / folds).ravel()
    R = nb_scales(Xc, Y) if nb else None
    path = [C] if theta0 is not None else ([c for c in Cs if c <= C] or [C])
    Wb = _fit_path(Xc, Xc.T.tocsr(), Y, wy / wy.sum(), path, max_iter, R=R, theta0=theta0)[C][2]
    W = np.zeros((X.shape[1], K), np.float32)
    W[cols] = Wb[:-1]
    return W, Wb[-1].astype(np.float32), {"C": C, "features": int(len(cols)), "cv_loss_by_C": tried}, oof
