"""What each side of a benchmark runs on: the CPU model and the instruction set numba, OpenBLAS and PyTorch use.

To compare on AVX2 on an AVX-512 machine, restrict every side (``benchmarks/README.md``, "Instruction sets"):

    NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=-avx512f NUMBA_CACHE_DIR=~/.cache/rnntools-numba-avx2 \\
    OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \\
        python benchmarks/rnn_vs_torch.py

NUMBA_CPU_NAME alone is not enough: numba passes the host's feature list, which overrides the CPU name.
"""

from __future__ import annotations

import ctypes
import os


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown CPU"


def cpu_isa() -> str:
    """The widest vector instruction set the CPU offers (for benchmarks whose sides use no compiled kernels
    of their own, only the interpreter and C libraries built for any x86-64)."""
    from rnntools.parallel import cpu_signature

    flags = cpu_signature()[2]
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE" if flags else "unknown"


def numba_isa() -> str:
    """The target numba compiles for and the vector width rnntools' kernels were built for."""
    from numba.core.registry import cpu_target

    from rnntools.nn.kernels import vector_bytes
    codegen = cpu_target.target_context.codegen()
    name, features = codegen._get_host_cpu_name(), codegen._tm_features
    bits = 8 * vector_bytes(name, features)
    isa = {512: "AVX-512", 256: "AVX2", 128: "SSE"}[bits]
    return f"numba {name} {isa} ({bits}-bit vectors)"


def openblas_cores() -> str:
    """OpenBLAS kernels in use (numpy's and scipy's libraries; OPENBLAS_CORETYPE chooses them)."""
    import numpy  # noqa: F401
    names = []
    try:
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line})
    for path in paths:
        lib = ctypes.CDLL(path)
        for fn_name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_",
                        "openblas_get_corename"):
            fn = getattr(lib, fn_name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                names.append(f"{os.path.basename(path).split('.')[0]} {fn().decode()}")
                break
    return "OpenBLAS " + ", ".join(names) if names else "OpenBLAS ?"


def torch_isa() -> str:
    import torch
    mkl = os.environ.get("MKL_ENABLE_INSTRUCTIONS", "default") if torch.backends.mkl.is_available() else "no"
    return (f"torch {torch.__version__} ATen {torch.backends.cpu.get_cpu_capability()}, "
            f"oneDNN max ISA {os.environ.get('ONEDNN_MAX_CPU_ISA', 'default')}, MKL {mkl}")


def report(torch_side: bool = True) -> str:
    parts = [cpu_model(), numba_isa(), openblas_cores()]
    if torch_side:
        parts.append(torch_isa())
    return "; ".join(parts)


if __name__ == "__main__":
    print(report())
