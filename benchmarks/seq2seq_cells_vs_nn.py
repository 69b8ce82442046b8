"""seq2seq's local recurrent layers (rnntools.tasks.seq2seq_cells) vs the shared engine (rnntools.nn) at
seq2seq's shapes: one layer forward + backward, masked, float32. Alternating, medians.

    flock /tmp/rnntools-bench.lock python benchmarks/seq2seq_cells_vs_nn.py --cell gru -T 8 -B 64 -H 128
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _old_cells(rev):
    """seq2seq_cells.py and the GRU kernels it used, as of git revision ``rev`` (they were deleted when
    seq2seq moved onto rnntools.nn), loaded from a temporary folder."""
    import importlib.util
    import subprocess
    import tempfile

    folder = tempfile.mkdtemp(prefix="s2s_cells_")
    for name in ("seq2seq_cells", "seq2seq_kernels"):
        text = subprocess.run(["git", "-C", ROOT, "show", f"{rev}:rnntools/tasks/{name}.py"], check=True,
                              capture_output=True, text=True).stdout
        text = text.replace("from rnntools.tasks import seq2seq_kernels as kern", "import old_s2s_kernels as kern")
        with open(os.path.join(folder, f"old_{name.replace('seq2seq', 's2s')}.py"), "w") as f:
            f.write(text)
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("old_s2s_cells", os.path.join(folder, "old_s2s_cells.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.init_layer, mod.layer_backward, mod.layer_forward


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cell", default="gru")
    ap.add_argument("-T", type=int, default=8)
    ap.add_argument("-B", type=int, default=64)
    ap.add_argument("-D", type=int, default=64)
    ap.add_argument("-H", type=int, default=128)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="engine worker threads to try")
    ap.add_argument("--rev", default="9c30f82", help="git revision with the local cells (deleted since)")
    args = ap.parse_args()
    import isa  # every benchmark says what it ran on: CPU model and each side's instruction set

    print("cpu:", isa.report(torch_side=False), flush=True)
    from rnntools import nn
    from rnntools.nn.blas import set_blas_threads
    from rnntools.nn.recurrent import cell_backward, cell_forward

    init_layer, layer_backward, layer_forward = _old_cells(args.rev)
    set_blas_threads(1)
    T, B, D, H, cell = args.T, args.B, args.D, args.H, args.cell
    rng = np.random.default_rng(0)
    X = rng.standard_normal((T, B, D)).astype(np.float32)
    lengths = rng.integers(T // 2, T + 1, B)
    mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float32)
    dY = rng.standard_normal((T, B, H)).astype(np.float32)
    params = {}
    nn.Recurrent(params, "x", cell, D, H, rng=rng)
    W, b, bn = params["x.0.W"], params["x.0.b"], params.get("x.0.bn")
    h0 = np.zeros((B, H), np.float32)

    def engine():
        _, (hT, _), cache = cell_forward(cell, W, b, bn, X, h0, None, mask)
        cell_backward(cell, W, cache, dY, hT)

    sides = {}
    if layer_forward is not None:
        p = init_layer(cell, D, H, rng)
        s0 = np.zeros((B, 2 * H if cell == "lstm" else H), np.float32)

        def cells():
            _, sT, cache = layer_forward(cell, p, X, mask, s0)
            layer_backward(cell, p, cache, dY, sT)

        sides["seq2seq_cells"] = (cells, None)
    for n in args.threads:
        sides[f"nn.cell_* threads={n}"] = (engine, n)
    times = {k: [] for k in sides}
    for fn, n in sides.values():  # compile / warm up
        if n:
            nn.set_threads(n)
        for _ in range(3):
            fn()
    for _ in range(args.reps):
        for name, (fn, n) in sides.items():
            if n:
                nn.set_threads(n)
            t0 = time.perf_counter()
            for _ in range(args.iters):
                fn()
            times[name].append((time.perf_counter() - t0) / args.iters * 1e3)
    print(f"{cell} T={T} B={B} D={D} H={H}, forward+backward per layer, median of {args.reps}x{args.iters}")
    base = statistics.median(times["seq2seq_cells"]) if "seq2seq_cells" in times else None
    for name, ts in times.items():
        m = statistics.median(ts)
        ratio = f"  ratio to seq2seq_cells {m / base:.2f}" if base else ""
        print(f"  {name:24s} {m:7.3f} ms  (min {min(ts):.3f}){ratio}")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
