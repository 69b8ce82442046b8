"""rnntools: word vectors and recurrent neural networks from the shell."""

import sys as _sys

__version__ = "0.1.0"

if "numpy" not in _sys.modules:  # OpenBLAS reads its kernel choice once, when numpy loads it
    from rnntools.parallel import choose_blas_kernels as _choose_blas_kernels

    _choose_blas_kernels()
