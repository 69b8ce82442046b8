"""Numba kernels of the recurrent engine: one kernel is one piece of math over whole arrays.

Conventions (shapes named torch-rnn style):
    T time steps, B batch rows, D input size, H hidden size, G gates (rnn 1, lstm 4, gru 3).
    P:  (T, B, G*H)  all time steps' input projections ``x_t W_x + b``, computed by the caller as ONE BLAS
                     product before the time loop.
    Wh: (H, G*H)     the recurrent rows of W (``[h_{t-1}, x_t] W``: rows 0..H-1 multiply h, rows H.. x).
    mask: (T, B)     1 where the position is real, 0 where it is padding: the state is carried over unchanged
                     and the output is 0.
    Gate order: LSTM f, i, o, g (g = C~); GRU r, z, n.

The time loop runs inside the kernel; the recurrent product per step is ``panel_matmul`` (a register-blocked
product on weights packed once per sequence, its blocking chosen for the vector registers of the CPU the code
is compiled for; faster than BLAS at these shapes, see ``vector_blocking``), the elementwise gate math is
fused around it. Kernels take a batch
row range ``[b0, b1)`` so that the caller can run disjoint row ranges in parallel threads (the kernels release
the GIL). They work in float32 (training) and float64 (gradient checks): the dtype follows the arrays.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from rnntools.jit import njit
from rnntools.nn.barrier import barrier
from rnntools.nn.gates import GATES, GRU, LSTM, RNN  # noqa: F401  (one definition, numba-free)


# Activations. float64 (gradient checks) uses libm's exact tanh. float32 (training) uses Eigen's rational
# approximation of tanh (generic_fast_tanh_float: a degree 13/6 odd/even polynomial ratio on [-9, 9], error
# a few ulp), which is plain arithmetic and so vectorises (AVX) where calls to libm do not: the gate math
# was ~70% of a forward pass with libm calls. sigmoid(x) = (1 + tanh(x/2)) / 2 shares it.
def _tanh(x):  # pragma: no cover - replaced by the overload inside kernels
    return np.tanh(x)


@overload(_tanh)
def _tanh_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def tanh32(x):
            # clamp with selects, not min/max (whose NaN handling blocks vectorisation)
            x = x if x < np.float32(9.0) else np.float32(9.0)
            x = x if x > np.float32(-9.0) else np.float32(-9.0)
            x2 = x * x
            p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
            p = p * x2 + np.float32(-8.60467152213735e-11)
            p = p * x2 + np.float32(5.12229709037114e-08)
            p = p * x2 + np.float32(1.48572235717979e-05)
            p = p * x2 + np.float32(6.37261928875436e-04)
            p = p * x2 + np.float32(4.89352455891786e-03)
            p = p * x
            q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
            q = q * x2 + np.float32(2.26843463243900e-03)
            q = q * x2 + np.float32(4.89352518554385e-03)
            return p / q
        return tanh32
    return lambda x: np.tanh(x)


def _sigmoid(x):  # pragma: no cover
    return 1.0 / (1.0 + np.exp(-x))


@overload(_sigmoid)
def _sigmoid_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def sigmoid32(x):
            return np.float32(0.5) + np.float32(0.5) * _tanh(np.float32(0.5) * x)
        return sigmoid32
    return lambda x: 1.0 / (1.0 + np.exp(-x))


@intrinsic
def _f32_from_bits(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits`` (an LLVM bitcast, so loops still vectorise)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return sig, codegen


def _exp(x):  # pragma: no cover
    return np.exp(x)


@overload(_exp)
def _exp_impl(x):
    # float32: Cephes' expf (x = n ln2 + r, |r| <= ln2/2, degree-5 polynomial, 2^n built from its exponent
    # bits; error ~1 ulp), which vectorises; numba's np.exp calls libm's expf per element, which made the
    # softmax of a char LM's 3,200 x 74 logits cost as much as its output layer's products.
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def exp32(x):
            # clamp with selects that keep NaN (NaN > 88 is false), so a NaN logit still makes a NaN loss
            x = np.float32(88.0) if x > np.float32(88.0) else x
            x = np.float32(-87.0) if x < np.float32(-87.0) else x
            n = np.floor(x * np.float32(1.44269504088896341) + np.float32(0.5))
            r = x - n * np.float32(0.693359375) + n * np.float32(2.12194440e-4)
            p = np.float32(1.9875691500e-4) * r + np.float32(1.3981999507e-3)
            p = p * r + np.float32(8.3334519073e-3)
            p = p * r + np.float32(4.1665795894e-2)
            p = p * r + np.float32(1.6666665459e-1)
            p = p * r + np.float32(5.0000001201e-1)
            p = p * r * r + r + np.float32(1.0)
            return p * _f32_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))
        return exp32
    return lambda x: np.exp(x)


def _one(x):  # pragma: no cover
    return 1.0


@overload(_one)
def _one_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: np.float32(1.0)
    return lambda x: 1.0


def _zero(x):  # pragma: no cover
    return 0.0


@overload(_zero)
def _zero_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: np.float32(0.0)
    return lambda x: 0.0


# reassoc lets LLVM vectorise the k-loop reductions (8 vector accumulators), contract makes them FMAs; no
# other fast-math flags, so NaN and inf propagate as in IEEE arithmetic (the trainer's NaN check relies on it).
_DOT_FLAGS = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=_DOT_FLAGS, error_model="numpy")
def dot_nt(a, bt, out):
    """out = a @ bt.T, without BLAS. a: (M, K); bt: (N, K); out: (M, N); all C-contiguous.

    Why not BLAS: the time loops multiply a few batch rows by the same weights at every step (16x256 by
    256x1024 for an LSTM-256 on two workers), and OpenBLAS re-packs the 1-4 MB weight operand on every call.
    Here the weights are stored transposed once per sequence, so every output is a dot product of two
    contiguous rows; a block of 4 rows of ``a`` by 4 rows of ``bt`` keeps 16 running sums in vector
    registers (AVX-512 has 32) and loads 8 vectors per 16 FMAs, so each pass over the weights, which at
    hidden 256-512 come from L2, serves 4 batch rows. Measured on this machine (one core, 16 rows): 62 ->
    85 GFLOP/s at 16x256 by 256x1024 and 68 -> 104 at 16x2048 by 2048x512 against the 2x4 block; OpenBLAS
    46 at the first shape.
    """
    M, K = a.shape
    N = bt.shape[0]
    if M == 0 or N == 0:
        return
    zero = _zero(out[0, 0])
    n4 = N - N % 4
    m4 = M - M % 4
    for n in range(0, n4, 4):
        w0 = bt[n]
        w1 = bt[n + 1]
        w2 = bt[n + 2]
        w3 = bt[n + 3]
        for m in range(0, m4, 4):
            x0 = a[m]
            x1 = a[m + 1]
            x2 = a[m + 2]
            x3 = a[m + 3]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
            for k in range(K):
                p = w0[k]
                q = w1[k]
                r = w2[k]
                s = w3[k]
                u = x0[k]
                s00 += u * p
                s01 += u * q
                s02 += u * r
                s03 += u * s
                u = x1[k]
                s10 += u * p
                s11 += u * q
                s12 += u * r
                s13 += u * s
                u = x2[k]
                s20 += u * p
                s21 += u * q
                s22 += u * r
                s23 += u * s
                u = x3[k]
                s30 += u * p
                s31 += u * q
                s32 += u * r
                s33 += u * s
            out[m, n] = s00
            out[m, n + 1] = s01
            out[m, n + 2] = s02
            out[m, n + 3] = s03
            out[m + 1, n] = s10
            out[m + 1, n + 1] = s11
            out[m + 1, n + 2] = s12
            out[m + 1, n + 3] = s13
            out[m + 2, n] = s20
            out[m + 2, n + 1] = s21
            out[m + 2, n + 2] = s22
            out[m + 2, n + 3] = s23
            out[m + 3, n] = s30
            out[m + 3, n + 1] = s31
            out[m + 3, n + 2] = s32
            out[m + 3, n + 3] = s33
        for m in range(m4, M):
            x0 = a[m]
            s00 = s01 = s02 = s03 = zero
            for k in range(K):
                u = x0[k]
                s00 += u * w0[k]
                s01 += u * w1[k]
                s02 += u * w2[k]
                s03 += u * w3[k]
            out[m, n] = s00
            out[m, n + 1] = s01
            out[m, n + 2] = s02
            out[m, n + 3] = s03
    for n in range(n4, N):
        w0 = bt[n]
        for m in range(M):
            x0 = a[m]
            s00 = zero
            for k in range(K):
                s00 += x0[k] * w0[k]
            out[m, n] = s00


# --- register-blocked products for the time loops --------------------------------------------------------
# The products inside the time loops are a few batch rows times the same weights at every step (16 x 128 by
# 128 x 512 for an LSTM-128 on two workers). A dot-product formulation (LLVM vectorising the k loop, as
# ``dot_nt`` does) ends every output in a horizontal sum, which at k = 128 costs as much as the products, and
# LLVM's auto-vectoriser uses 256-bit vectors even where 512-bit ones exist (its tuning for Intel AVX-512
# CPUs prefers them). ``panel_block`` instead is written in LLVM's vector types: MR rows of a by NV vectors of
# output columns stay in registers as MR * NV accumulators, each step of k loads NV vectors of weights and
# broadcasts MR values of a (the micro-kernel of every BLAS). The weights are packed once per sequence into
# panels of NV * VF columns, contiguous in k, so the panel streams from L1/L2 with no set conflicts (an unpacked
# row stride of 2-8 KB maps every k to the same L1 sets).

# CPUs whose LLVM model has AVX-512 (when numba's target names one without a feature list)
_AVX512_CPUS = frozenset({
    "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client", "icelake-server", "tigerlake",
    "rocketlake", "sapphirerapids", "emeraldrapids", "graniterapids", "graniterapids-d", "diamondrapids",
    "znver4", "znver5", "knl", "knm", "x86-64-v4"})


# CPUs without AVX among LLVM's x86 models numba may be told to target
_PRE_AVX_CPUS = frozenset({
    "", "generic", "x86-64", "x86-64-v2", "core2", "penryn", "nehalem", "westmere", "atom", "bonnell",
    "silvermont", "goldmont", "goldmont-plus", "tremont", "btver1", "amdfam10", "k8"})


def vector_bytes(cpu_name: str, features: str) -> int:
    """Vector register width in bytes of the code numba generates for ``cpu_name`` with LLVM ``features``
    ("+avx2,-avx512f,..."): 64 with AVX-512, 32 with AVX, else 16. numba passes the host's full feature list
    unless NUMBA_CPU_FEATURES is set, and the features override what the CPU name implies (so
    NUMBA_CPU_NAME=haswell alone still compiles AVX-512 code on an AVX-512 host); a feature the list does not
    mention follows the CPU name."""
    flags = {f[1:]: f[0] == "+" for f in (features or "").split(",") if len(f) > 1 and f[0] in "+-"}
    if flags.get("avx512f", cpu_name in _AVX512_CPUS):
        return 64
    if flags.get("avx", cpu_name not in _PRE_AVX_CPUS):
        return 32
    return 16


# AVX-512 CPUs whose FMA units are 256 bits wide, so a 512-bit FMA issues as two halves (AMD Zen 4)
_HALF_WIDTH_FMA_CPUS = frozenset({"znver4"})


def vector_blocking(vbytes: int, itemsize: int, half_width_fma: bool = False) -> tuple[int, int, int]:
    """(MR, VF, NV) of ``panel_block`` for vectors of ``vbytes`` bytes: VF = elements per vector; MR rows by NV
    vectors of accumulators, sized to the register file: AVX-512 has 32 registers, 8 x 3 accumulators + 3
    weight vectors + 1 broadcast; AVX/AVX2 and SSE have 16, 4 x 3 + 3 + 1. An AVX-512 CPU that runs each
    512-bit FMA on two 256-bit units (``half_width_fma``) gets 4 x 4.

    Why 12 accumulators with 16 registers, not 8: an FMA's result is ready 4-5 cycles later and two FMA
    units each start one a cycle, so 8-10 independent sums must be in flight to keep both busy; with 8 the
    units waited. Measured on one core at the shapes of the time loops (16 rows, k 256-2048, float32): 4 x 2
    -> 4 x 3 on an AVX-512 CPU restricted to AVX2, 102-105 -> 109-113 GFLOP/s; 6 x 2 (fewer weight loads,
    more broadcasts) was slower again (84-102 against 83-116).

    Why 8 x 3 with 32 registers, not 4 x 4: every weight vector loaded then serves 8 rows instead of 4, which
    halves the weights streamed per FMA. At the time loops' shapes the weights do not stay in L1 (LSTM-512's
    4 MB not even in L2), so that stream is the limit on a CPU with two full-width FMA units: one core, 16 x
    512 x 2,048 81-112 -> 99-137 GFLOP/s, 16 x 2,048 x 512 98-111 -> 117-130, 32 x 512 x 1,024 98-153 ->
    151-159; 16 x 256 x 1,024 (in L2) the same (158-171 both). The register count is the same on every
    AVX-512 CPU.

    Why 4 x 4 where 512-bit FMAs run on 256-bit units: such a core completes one 512-bit FMA a cycle, so
    16 accumulators already keep it at its peak and the weight stream is not the limit; the 8 x 3 block's
    24 sums cost it time instead (panel padding at narrow N, more broadcasts). Measured on one core of such
    a CPU (AMD Zen 4), GFLOP/s at the shapes above: 4 x 4 and 8 x 2 111-116 at every shape (about the
    core's peak), 8 x 3 97-112, 6 x 4 98-102, 5 x 4 91-106."""
    vf = max(1, vbytes // itemsize)
    if vbytes >= 64:
        return (4, vf, 4) if half_width_fma else (8, vf, 3)
    return (4, vf, 3)


def _target_blocking(context, itemsize: int) -> tuple[int, int, int]:
    """``vector_blocking`` for the target this code is being compiled for. Read from numba's code generator at
    compile time: cached code is keyed by that target (CPU name and features), so code compiled for one
    instruction set is never loaded for another."""
    codegen = context.codegen()
    try:
        name, features = codegen._get_host_cpu_name(), codegen._tm_features
    except AttributeError:  # pragma: no cover - another numba version: assume the host
        import llvmlite.binding as llb
        name, features = llb.get_host_cpu_name(), llb.get_host_cpu_features().flatten()
    return vector_blocking(vector_bytes(name, features), itemsize, name in _HALF_WIDTH_FMA_CPUS)


@intrinsic
def _blocking_of(typingctx, a):
    """(MR, VF, NV) compiled for this target and a's dtype."""
    sig = types.UniTuple(types.intp, 3)(a)

    def codegen(context, builder, signature, args):
        itemsize = context.get_abi_sizeof(context.get_value_type(signature.args[0].dtype))
        intp = context.get_value_type(types.intp)
        return context.make_tuple(builder, signature.return_type,
                                  [ir.Constant(intp, v) for v in _target_blocking(context, itemsize)])
    return sig, codegen


def _ir_setup(context, dtype):
    """LLVM types of an intrinsic's kernel over ``dtype`` elements: (element type, its size, intp, i32,
    an intp constant maker)."""
    ftype = context.get_value_type(dtype)
    intp = context.get_value_type(types.intp)

    def const(v):
        return ir.Constant(intp, v)
    return ftype, context.get_abi_sizeof(ftype), intp, ir.IntType(32), const


@intrinsic
def panel_block(typingctx, a, wp, out, m0, p, rows, om0, on0):
    """out[om0:om0+rows, on0:on0+NB] = a[m0:m0+rows] @ panel p, with rows <= MR; NB = NV * VF.

    a: (M, K) rows with unit stride; wp: (P, K, NB) C-contiguous panels from ``pack_weights``; out: rows with
    unit stride, at least om0 + rows of them and on0 + NB columns. Rows of a past ``rows`` are read as the last
    valid row and not stored. Every output is one FMA chain over k in order, the same for a row wherever it
    sits and whatever rows share its block."""
    sig = types.void(a, wp, out, types.intp, types.intp, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        aty, wty, oty = signature.args[:3]
        av, wv, ov, m0v, pv, rowsv, om0v, on0v = args
        A = context.make_array(aty)(context, builder, av)
        W = context.make_array(wty)(context, builder, wv)
        Out = context.make_array(oty)(context, builder, ov)
        ftype, itemsize, intp, i32, const = _ir_setup(context, aty.dtype)
        MR, vf, NV = _target_blocking(context, itemsize)
        vty = ir.VectorType(ftype, vf)
        K = cgutils.unpack_tuple(builder, A.shape)[1]
        lda = builder.sdiv(cgutils.unpack_tuple(builder, A.strides)[0], const(itemsize))
        ldo = builder.sdiv(cgutils.unpack_tuple(builder, Out.strides)[0], const(itemsize))
        last = builder.sub(rowsv, const(1))
        arows = []
        for r in range(MR):
            row = builder.select(builder.icmp_signed("<", const(r), rowsv), const(r), last)
            arows.append(builder.gep(A.data, [builder.mul(builder.add(m0v, row), lda)]))
        nb = const(NV * vf)
        panel = builder.gep(W.data, [builder.mul(builder.mul(pv, K), nb)])
        undef = ir.Constant(vty, ir.Undefined)
        splat = ir.Constant(ir.VectorType(i32, vf), None)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty, vty, vty]),
                                             f"llvm.fma.v{vf}f{itemsize * 8}")
        # entry-block allocas: LLVM's SROA turns them into registers
        accs = [[cgutils.alloca_once_value(builder, ir.Constant(vty, None)) for _ in range(NV)] for _ in range(MR)]
        with cgutils.for_range(builder, K) as loop:
            k = loop.index
            wrow = builder.gep(panel, [builder.mul(k, nb)])
            ws = [builder.load(builder.bitcast(builder.gep(wrow, [const(v * vf)]), vty.as_pointer()), align=itemsize)
                  for v in range(NV)]
            for r in range(MR):
                x = builder.load(builder.gep(arows[r], [k]))
                xs = builder.shuffle_vector(builder.insert_element(undef, x, ir.Constant(i32, 0)), undef, splat)
                for v in range(NV):
                    builder.store(builder.call(fma, [xs, ws[v], builder.load(accs[r][v])]), accs[r][v])
        for r in range(MR):
            with builder.if_then(builder.icmp_signed("<", const(r), rowsv)):
                orow = builder.gep(Out.data, [builder.add(builder.mul(builder.add(om0v, const(r)), ldo), on0v)])
                for v in range(NV):
                    ptr = builder.bitcast(builder.gep(orow, [const(v * vf)]), vty.as_pointer())
                    builder.store(builder.load(accs[r][v]), ptr, align=itemsize)
        return context.get_dummy_value()
    return sig, codegen


@njit(cache=True, nogil=True, error_model="numpy")
def panel_width(a):
    """NB, the columns of one packed panel for a's dtype on this target."""
    MR, VF, NV = _blocking_of(a)
    return VF * NV


@njit(cache=True, nogil=True, error_model="numpy")
def pack_panels(bt):
    """Pack the transpose of bt: (N, K) -> (P, K, NB) panels of NB columns of ``bt.T``, zero padded
    (P = ceil(N / NB)): ``pack_weights(bt.T)``, for weights stored transposed. Not written as that call: on
    a transposed view each panel row is a strided gather, 4x slower (0.76 -> 3.1 ms at 512 x 2,048)."""
    N, K = bt.shape
    NB = panel_width(bt)
    P = (N + NB - 1) // NB
    wp = np.zeros((P, K, NB), bt.dtype)
    for n in range(N):
        p = n // NB
        j = n - p * NB
        row = bt[n]
        for k in range(K):
            wp[p, k, j] = row[k]
    return wp


@njit(cache=True, nogil=True, error_model="numpy")
def pack_weights(W):
    """Pack W: (K, N) -> (P, K, NB) panels of NB columns of W, zero padded (P = ceil(N / NB)), the weights
    operand of ``panel_block``. Packing W itself rather than a transposed copy: the transpose cost 3 ms of an
    LSTM-512 forward pass, in the calling thread before the workers started."""
    K, N = W.shape
    NB = panel_width(W)
    P = (N + NB - 1) // NB
    wp = np.empty((P, K, NB), W.dtype)
    # row by row of W, each whole panel's piece a loop of NB (a constant of the target: unrolled, vectorised)
    # and only the last panel's padding zeroed: 35-45% faster than slice copies into a zeroed array
    full = N // NB
    for k in range(K):
        src = W[k]
        for p in range(full):
            dst = wp[p, k]
            n0 = p * NB
            for j in range(NB):
                dst[j] = src[n0 + j]
        if full < P:
            dst = wp[full, k]
            n0 = full * NB
            for j in range(N - n0):
                dst[j] = src[n0 + j]
            for j in range(N - n0, NB):
                dst[j] = 0
    return wp


# ``matmul_packed`` multiplies the rows of a in chunks of about this many bytes of a, each chunk by every panel
CHUNK_BYTES = 256 << 10


@njit(inline="always", error_model="numpy")
def _chunk_rows(a, MR):
    """Rows of a per chunk of ``matmul_packed``: about CHUNK_BYTES of a (below any L2 of a CPU with AVX),
    within 32-256 rows (at least 32 so that every panel streamed serves enough rows), a multiple of MR."""
    mc = CHUNK_BYTES // max(1, a.shape[1] * a.itemsize)
    mc = max(32, min(256, mc))
    return max(MR, mc - mc % MR)


@njit(inline="always", error_model="numpy")
def _matmul_packed(a, wp, bias, out):
    M = a.shape[0]
    N = out.shape[1]
    MR, VF, NV = _blocking_of(a)
    NB = VF * NV
    full = min(N // NB, wp.shape[0])
    tail = np.empty((MR if full < wp.shape[0] else 0, NB), out.dtype)
    MC = _chunk_rows(a, MR)
    for c0 in range(0, M, MC):
        c1 = min(M, c0 + MC)
        for p in range(full):
            for m in range(c0, c1, MR):
                panel_block(a, wp, out, m, p, min(MR, c1 - m), m, p * NB)
        if full < wp.shape[0]:
            n0 = full * NB
            for m in range(c0, c1, MR):
                rows = min(MR, c1 - m)
                panel_block(a, wp, tail, m, full, rows, 0, 0)
                for r in range(rows):
                    for j in range(N - n0):
                        out[m + r, n0 + j] = tail[r, j]
        if bias.shape[0] > 0:
            for r in range(c0, c1):
                o = out[r]
                for j in range(N):
                    o[j] += bias[j]


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_packed(a, wp, out):
    """out = a @ W for W (K, N) packed by ``pack_weights``; out: (M, N), N <= P*NB, rows with unit stride, as
    are a's. The last, partial panel goes through a block of scratch, so nothing past column N is written.

    Why (``rnntools.nn.parallel.matmul``): each output is one FMA chain over k in order, so a row's result
    is the same bits whatever other rows it is multiplied with. OpenBLAS does not promise that: its Haswell
    kernels (those of every AVX2 CPU) give a row other bits at another position in its block of 12 or in
    another number of rows, so a classifier's or forecaster's output for one record changed with the other
    records in its batch, and ``--scheduler``'s partitions no longer gave the bytes of one process.

    The rows go in chunks (``_chunk_rows``), each chunk through every panel before the next: with all M rows
    under each panel in turn, a product of thousands of rows (all time steps' input projections) wrote each
    output row in NB-column pieces far apart in time and read all of a again for every panel, and ran
    10-25% slower (docs/performance.md, "Large products: rows in chunks"). The time loops' products (at
    most a few dozen rows) are one chunk, as before."""
    _matmul_packed(a, wp, np.empty(0, out.dtype), out)


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_packed_bias(a, wp, bias, out):
    """``matmul_packed`` plus ``bias`` (N,) added to every row, chunk by chunk while the chunk's rows are in
    cache: the same bits as adding it afterwards (one rounding), without another pass over out."""
    _matmul_packed(a, wp, bias, out)


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_packed_steps(x, wp, bias, out, b0, b1):
    """out[t, b0:b1] = x[t, b0:b1] @ W (+ bias (N,), or (0,) for none) for every step t: x (T, B, K), out
    (T, B, N), W packed by ``pack_weights``. One worker's batch rows of a layer's input projections or input
    gradient, step by step (16-odd rows a product, as the time loops' products are): each row the same bits
    as ``matmul_packed(_bias)`` of all T*B rows gives it."""
    for t in range(x.shape[0]):
        _matmul_packed(x[t, b0:b1], wp, bias, out[t, b0:b1])


ROWS_CHUNK = 64   # rows gathered at a time by ``matmul_packed_rows``: 64 rows of K = 512 floats stay in L2


@njit(cache=True, nogil=True, error_model="numpy")
def matmul_packed_rows(a, rows, wp, bias, out, add):
    """``matmul_packed`` of the listed rows only: out[r] = a[r] @ W (+ bias) for r in ``rows`` (int64), or with
    ``add`` out[r] += a[r] @ W; the other rows of out are not touched. bias: (N,), or (0,) for none.

    The rows are gathered ROWS_CHUNK at a time into scratch and multiplied there: a row's result is the same
    bits whatever rows it is multiplied with, so each listed row gets what ``matmul_packed`` of the whole of
    a gives it (and the bias or the addition is one rounding, as numpy's ``+=`` after the product).
    Why: rows whose result is never read (padded positions of a batch) need not be multiplied."""
    M = rows.shape[0]
    K = a.shape[1]
    N = out.shape[1]
    MR, VF, NV = _blocking_of(a)
    NB = VF * NV
    CH = min(ROWS_CHUNK, M)
    buf = np.empty((CH, K), a.dtype)
    res = np.empty((CH, wp.shape[0] * NB), out.dtype)   # whole panels: no tail block
    has_bias = bias.shape[0] > 0
    for c0 in range(0, M, CH):
        m = min(CH, M - c0)
        for i in range(m):
            buf[i] = a[rows[c0 + i]]
        matmul_packed(buf[:m], wp, res[:m])
        for i in range(m):
            o = out[rows[c0 + i]]
            r = res[i]
            if add:
                for j in range(N):
                    o[j] += r[j]
            elif has_bias:
                for j in range(N):
                    o[j] = r[j] + bias[j]
            else:
                for j in range(N):
                    o[j] = r[j]


# The time loops' name for it: their scratch rows hold whole panels (P * NB columns), so no tail is made.
panel_matmul = matmul_packed


@njit(inline="always", error_model="numpy")
def _real_rows(mask_t, act, slot):
    """The rows of one step that are real (mask_t != 0): their count n, ``act[:n]`` their indices in order and
    ``slot[j]`` row j's place among them (-1 for padding; j itself when every row is real)."""
    n = 0
    for j in range(mask_t.shape[0]):
        if mask_t[j] != 0:
            act[n] = j
            slot[j] = n
            n += 1
        else:
            slot[j] = -1
    return n


@njit(inline="always", error_model="numpy")
def _step_product(rows, n, act, packed, Wp, out):
    """The time loops' per-step product of the real rows only: ``out[:n] = rows[act[:n]] @ W`` (panels Wp).
    Every row of ``rows`` when all are real; else the real ones gathered into ``packed`` first. A padded
    row's product is never read (its state is carried over, its gradient passes through), and a row's
    result is the same bits in any set of rows (``matmul_packed``), so skipping them changes no output:
    sorting by length leaves a batch's rows 10-20% padding, which the full product computed every step."""
    if n == rows.shape[0]:
        panel_matmul(rows, Wp, out)
    elif n > 0:
        for i in range(n):
            packed[i] = rows[act[i]]
        panel_matmul(packed[:n], Wp, out[:n])


@njit(inline="always", error_model="numpy")
def _step_product_at(A, pos, n, act, packed, Wp, out):
    """``_step_product`` of the rows ``A[pos[j]]`` of one step (pos: its (rows,) places in A): when the n real
    rows' places are consecutive (every row real, or A compact: real rows only), that block of A is the
    operand as it is; else they are gathered into ``packed``. The same bits either way."""
    if n == 0:
        return
    first = pos[act[0]]
    if pos[act[n - 1]] - first == n - 1:
        panel_matmul(A[first:first + n], Wp, out[:n])
    else:
        for i in range(n):
            packed[i] = A[pos[act[i]]]
        panel_matmul(packed[:n], Wp, out[:n])


@njit(cache=True, nogil=True, error_model="numpy")
def seq_forward(kind, P, pidx, Wh, bn, h0, c0, mask, b0, b1, Y, Hs, Cs, G, Rn):
    """Forward over all T steps for batch rows b0..b1-1.

    P: (R, GH) input projections incl. bias, the one of step t, row b being ``P[pidx[t, b]]`` (pidx: (T, B)
    int; ``arange(T*B)`` for one projection per position, token ids when P is a projected embedding table);
    Wh: (H, GH) the recurrent weights (packed into panels once per call);
    bn: (H,) GRU recurrent n-bias (else unused);
    h0, c0: (B, H) initial state (c0 LSTM only); mask: (T, B).
    Out: Y (T, B, H) outputs (0 where masked; may be the same array as Hs when nothing is masked);
    Hs (T, B, H) states after each step (carried where masked); Cs (T, B, H) LSTM cells;
    G (T, B, GH) gate activations; Rn (T, B, H) GRU ``h_{t-1} Wh_n + bn``.
    """
    T = pidx.shape[0]
    H = Wh.shape[0]
    nb = b1 - b0
    one = _one(Wh[0, 0])
    h = np.empty((nb, H), P.dtype)   # state h_{t-1}: (nb, H)
    c = np.empty((nb, H), P.dtype)
    Wp = pack_weights(Wh)            # Wh in panels: (P, H, NB)
    A = np.empty((nb, Wp.shape[0] * Wp.shape[2]), P.dtype)  # recurrent product h_{t-1} Wh: (nb, >= GH)
    act = np.empty(nb, np.int64)     # the step's real rows, and each row's place among them (its row of A)
    slot = np.empty(nb, np.int64)
    packed = np.empty((nb, H), P.dtype)
    for j in range(nb):
        h[j] = h0[b0 + j]
        if kind == LSTM:
            c[j] = c0[b0 + j]
    for t in range(T):
        n = _real_rows(mask[t, b0:b1], act, slot)
        _step_product(h, n, act, packed, Wp, A)
        for j in range(nb):
            b = b0 + j
            hj = h[j]
            a = A[slot[j]]
            p = P[pidx[t, b]]
            y = Y[t, b]
            hs = Hs[t, b]
            gt = G[t, b]
            if mask[t, b] == 0:
                for k in range(H):
                    y[k] = 0.0
                    hs[k] = hj[k]
                if kind == LSTM:
                    Cs[t, b, :] = c[j]
                continue
            # Few arrays per loop: LLVM vectorises a loop only when it can rule out aliasing between the
            # arrays it writes and the others with a handful of runtime checks (8 pairs), so the hot loops
            # work in place on the step's scratch rows and results are copied out afterwards.
            if kind == LSTM:
                cj = c[j]
                for q in range(4 * H):
                    a[q] += p[q]
                for k in range(H):
                    f = _sigmoid(a[k])
                    i = _sigmoid(a[H + k])
                    o = _sigmoid(a[2 * H + k])
                    g = _tanh(a[3 * H + k])
                    gt[k] = f
                    gt[H + k] = i
                    gt[2 * H + k] = o
                    gt[3 * H + k] = g
                    cn = f * cj[k] + i * g
                    cj[k] = cn
                    hj[k] = o * _tanh(cn)
                Cs[t, b, :] = cj
            elif kind == GRU:
                for q in range(2 * H):
                    a[q] += p[q]
                for k in range(H):
                    a[2 * H + k] += bn[k]
                rnt = Rn[t, b]
                rnt[:] = a[2 * H:3 * H]
                for k in range(H):
                    r = _sigmoid(a[k])
                    z = _sigmoid(a[H + k])
                    n = _tanh(p[2 * H + k] + r * a[2 * H + k])
                    gt[k] = r
                    gt[H + k] = z
                    gt[2 * H + k] = n
                    hj[k] = (one - z) * n + z * hj[k]
            else:
                for k in range(H):
                    hj[k] = _tanh(a[k] + p[k])
                gt[:] = hj
            hs[:] = hj
            y[:] = hj


@njit(cache=True, nogil=True, error_model="numpy")
def seq_infer(kind, P, pidx, Wh, bn, h0, c0, mask, b0, b1, Y, hT, cT, Mx, ties_last):
    """``seq_forward`` for inference: the same arithmetic in the same order, so the same bits, but nothing
    kept for a backward pass (no gate activations, states or GRU ``Rn`` of every step: for a GRU 128 that is
    5 of the 6 rows of H written per token and direction). Batch rows b0..b1-1.

    P, pidx, Wh, bn, h0, c0, mask as in ``seq_forward``.
    Out: Y (T, B, H) the outputs as ``seq_forward`` writes them, or an array with no rows: not written;
    hT, cT (B, H) the state after the last step, carried over padding (cT LSTM only);
    Mx (B, H) the elementwise maximum of the outputs over the unmasked steps, as ``max_over_time`` makes it
    from Y (the first maximum in position order, the first NaN), or an array with no rows: not made (a row
    with no unmasked step gets 0). ``ties_last``: the steps run in reverse position order (a backward
    direction reading reversed rows), so a tie, or a NaN, goes to the later step.
    """
    T = pidx.shape[0]
    H = Wh.shape[0]
    nb = b1 - b0
    one = _one(Wh[0, 0])
    zero = _zero(Wh[0, 0])
    outputs = Y.shape[0] > 0
    pooled = Mx.shape[0] > 0
    h = np.empty((nb, H), P.dtype)   # state h_{t-1}: (nb, H)
    c = np.empty((nb, H), P.dtype)
    seen = np.zeros(nb, np.bool_)    # a row's first unmasked step starts its maximum
    Wp = pack_weights(Wh)            # Wh in panels: (P, H, NB)
    A = np.empty((nb, Wp.shape[0] * Wp.shape[2]), P.dtype)  # recurrent product h_{t-1} Wh: (nb, >= GH)
    act = np.empty(nb, np.int64)     # the step's real rows, and each row's place among them (its row of A)
    slot = np.empty(nb, np.int64)
    packed = np.empty((nb, H), P.dtype)
    for j in range(nb):
        h[j] = h0[b0 + j]
        if kind == LSTM:
            c[j] = c0[b0 + j]
    for t in range(T):
        n = _real_rows(mask[t, b0:b1], act, slot)
        _step_product(h, n, act, packed, Wp, A)
        for j in range(nb):
            b = b0 + j
            hj = h[j]
            a = A[slot[j]]
            p = P[pidx[t, b]]
            if mask[t, b] == 0:
                if outputs:
                    y = Y[t, b]
                    for k in range(H):
                        y[k] = zero
                continue
            # the gate math exactly as seq_forward's, without its stores
            if kind == LSTM:
                cj = c[j]
                for q in range(4 * H):
                    a[q] += p[q]
                for k in range(H):
                    f = _sigmoid(a[k])
                    i = _sigmoid(a[H + k])
                    o = _sigmoid(a[2 * H + k])
                    g = _tanh(a[3 * H + k])
                    cn = f * cj[k] + i * g
                    cj[k] = cn
                    hj[k] = o * _tanh(cn)
            elif kind == GRU:
                for q in range(2 * H):
                    a[q] += p[q]
                for k in range(H):
                    a[2 * H + k] += bn[k]
                for k in range(H):
                    r = _sigmoid(a[k])
                    z = _sigmoid(a[H + k])
                    n = _tanh(p[2 * H + k] + r * a[2 * H + k])
                    hj[k] = (one - z) * n + z * hj[k]
            else:
                for k in range(H):
                    hj[k] = _tanh(a[k] + p[k])
            if outputs:
                Y[t, b, :] = hj
            if pooled:
                best = Mx[b]
                if not seen[j]:
                    best[:] = hj
                    seen[j] = True
                elif ties_last:
                    for k in range(H):
                        x = hj[k]
                        if x != x or x >= best[k]:
                            best[k] = x
                else:
                    for k in range(H):
                        x = hj[k]
                        v = best[k]
                        if x > v or (x != x and v == v):
                            best[k] = x
    for j in range(nb):
        b = b0 + j
        hT[b] = h[j]
        if kind == LSTM:
            cT[b] = c[j]
        if pooled and not seen[j]:
            Mx[b, :] = zero


@njit(inline="always", error_model="numpy")
def _state_grad_step(kind, mask_t, tmp, direct, dh, slot):
    """The backward time loops' step to the previous state: dh = tmp (the rows' dA_t Wh^T), plus ``direct`` (GRU:
    the z * h_{t-1} path), for the rows whose step was real (mask_t != 0); a padded row's dh (and dc) pass through
    unchanged, as its state was carried over. dh: (rows, n); tmp: (rows, >= n), row j's product at tmp[slot[j]]
    (``_real_rows``)."""
    n = dh.shape[1]
    for j in range(dh.shape[0]):
        if mask_t[j] != 0:
            dhj = dh[j]
            tj = tmp[slot[j]]
            if kind == GRU:
                dj = direct[j]
                for k in range(n):
                    dhj[k] = tj[k] + dj[k]
            else:
                for k in range(n):
                    dhj[k] = tj[k]


@njit(cache=True, nogil=True, error_model="numpy")
def seq_backward(kind, Wh, h0, c0, mask, Hs, Cs, G, Rn, dY, dhT, dcT, b0, b1, dAx, dAh, apos, dh0, dc0, sidx, S):
    """Backward through all T steps for batch rows b0..b1-1.

    Wh: (H, GH) the recurrent weights (dh_{t-1} = dA_t Wh^T, one ``panel_matmul`` on Wh^T packed once per call);
    h0, c0, mask, Hs, Cs, G, Rn as saved by ``seq_forward``;
    dY: (T, B, H) gradient of the outputs; dhT, dcT: (B, H) gradient of the final state.
    Out: dAx (T, B, GH) gradient of the pre-activations on the input side (= of P, gives dWx, db and dx);
    dAh (R, GH) on the recurrent side (gives dWh; the same memory as dAx except for GRU, whose n-part is
    multiplied by r), the row of step t, batch row b being ``apos[t, b]`` (int64, (T, B)): ``t * B + b`` for
    every position (a padded one's row written 0), or for GRU the real positions' ranks in (t, b) order and
    -1 at padding: the compact rows the weight gradient multiplies, none of them padding (and a step's
    real rows are then one contiguous block, the per-step product's operand as it is);
    dh0, dc0 (B, H) gradient of the initial state.
    sidx (T, B) int, S (V, GH): when S has rows, ``S[sidx[t, b]] += dAx[t, b]`` as each is made (the per-id
    sums of the input-side gradient for a table input read by id, see ``cell_forward``): added while the
    row is in cache, where a separate pass over all of dAx cost 1.5 ms of a 17 ms LSTM-128 step. Workers
    need separate S. With no rows (pass ``np.empty((0, GH))``), nothing is summed.
    dAx with no steps (``np.empty((0, 1, GH))``; GRU, whose dAh is apart, with S given): each row's
    input-side gradient goes into S only, through one scratch row, and is not kept (the table's gradients
    come from S; writing all of dAx cost a (T, B, 3H) array nothing read).
    """
    T = G.shape[0]
    per_id = S.shape[0] > 0
    keep = dAx.shape[0] > 0
    H = Wh.shape[0]
    GH = Wh.shape[1]
    nb = b1 - b0
    one = _one(Wh[0, 0])
    dh = np.empty((nb, H), G.dtype)      # gradient w.r.t. the state after step t: (nb, H)
    dc = np.zeros((nb, H), G.dtype)
    direct = np.zeros((nb, H), G.dtype)  # GRU: the z * h_{t-1} path
    WTp = pack_panels(Wh)                # Wh^T in panels: (P, GH, NB)
    tmp = np.empty((nb, WTp.shape[0] * WTp.shape[2]), G.dtype)
    act = np.empty(nb, np.int64)         # the step's real rows, and each row's place among them (its row of tmp)
    slot = np.empty(nb, np.int64)
    packed = np.empty((nb, GH), G.dtype)
    scratch = np.empty(GH, G.dtype)      # a row's dAx when dAx is not kept
    for j in range(nb):
        dh[j] = dhT[b0 + j]
        if kind == LSTM:
            dc[j] = dcT[b0 + j]
    for t in range(T - 1, -1, -1):
        for j in range(nb):
            b = b0 + j
            # written in place: rows b0..b1-1 of dAh[t] are the next product's contiguous left operand
            da = dAx[t, b] if keep else scratch
            if mask[t, b] == 0:
                for q in range(GH):
                    da[q] = 0.0
                if apos[t, b] >= 0:
                    dah = dAh[apos[t, b]]
                    for q in range(GH):
                        dah[q] = 0.0
                continue
            dah = dAh[apos[t, b]]
            dy = dY[t, b]
            dhj = dh[j]
            gt = G[t, b]
            for k in range(H):
                dhj[k] += dy[k]        # dhj: gradient w.r.t. this step's output h_t
            if kind == LSTM:
                dcj = dc[j]
                cs = Cs[t, b]
                cp = Cs[t - 1, b] if t > 0 else c0[b]
                for k in range(H):
                    g = dhj[k]
                    o = gt[2 * H + k]
                    tc = _tanh(cs[k])
                    da[2 * H + k] = g * tc * o * (one - o)
                    dcj[k] += g * o * (one - tc * tc)
                for k in range(H):
                    dct = dcj[k]
                    f = gt[k]
                    i = gt[H + k]
                    gg = gt[3 * H + k]
                    da[k] = dct * cp[k] * f * (one - f)
                    da[H + k] = dct * gg * i * (one - i)
                    da[3 * H + k] = dct * i * (one - gg * gg)
                    dcj[k] = dct * f
            elif kind == GRU:
                rnt = Rn[t, b]
                hp = Hs[t - 1, b] if t > 0 else h0[b]
                dj = direct[j]
                for k in range(H):
                    dj[k] = dhj[k] * gt[H + k]
                for k in range(H):
                    g = dhj[k]
                    r = gt[k]
                    z = gt[H + k]
                    n = gt[2 * H + k]
                    dan = g * (one - z) * (one - n * n)
                    da[k] = dan * rnt[k] * r * (one - r)
                    da[H + k] = g * (hp[k] - n) * z * (one - z)
                    da[2 * H + k] = dan
                dah[:2 * H] = da[:2 * H]
                for k in range(H):
                    dah[2 * H + k] = da[2 * H + k] * gt[k]
            else:
                hs = Hs[t, b]
                for k in range(H):
                    da[k] = dhj[k] * (one - hs[k] * hs[k])
            if per_id:
                s = S[sidx[t, b]]
                for q in range(GH):
                    s[q] += da[q]
        n = _real_rows(mask[t, b0:b1], act, slot)
        _step_product_at(dAh, apos[t, b0:b1], n, act, packed, WTp, tmp)
        _state_grad_step(kind, mask[t, b0:b1], tmp, direct, dh, slot)
    for j in range(nb):
        dh0[b0 + j] = dh[j]
        if kind == LSTM:
            dc0[b0 + j] = dc[j]



# The time loops split by hidden units instead of batch rows (``rnntools.nn.recurrent``'s ``unit split``):
# every worker owns the units [u0, u1) of ALL batch rows and multiplies the whole state by only its units'
# columns of Wh, so each streams 1/parts of the weights per step instead of all of them; they meet at a
# spin barrier (``rnntools.nn.barrier``) once per step, after which every worker reads every unit of the new
# state (forward) or of the step's gate gradients (backward). Each output is the same FMA chain over k as in
# the batch split and the gate math is the same elementwise arithmetic, so the results are the same bits.


@njit(cache=True, nogil=True, error_model="numpy")
def seq_forward_units(kind, P, pidx, Wh, bn, c0, mask, u0, u1, Hfull, Y, Cs, G, Rn, flags, part, parts):
    """``seq_forward`` for the hidden units u0..u1-1 of every batch row; ``parts`` calls run together, one
    per worker (``part`` = 0..parts-1), meeting at the barrier of ``flags`` (zeros, shared) after each step.

    P, pidx, Wh, bn, c0, mask, Cs, G, Rn as in ``seq_forward`` (each call writes its units' columns);
    Hfull: (T+1, B, H), Hfull[0] = h0 on entry, Hfull[t+1] = the state after step t on exit (carried where
    masked); Y: (T, B, H) the outputs (0 where masked; may be Hfull[1:] when nothing is masked)."""
    T = pidx.shape[0]
    B = pidx.shape[1]
    H = Wh.shape[0]
    ng = Wh.shape[1] // H
    Hw = u1 - u0
    one = _one(Wh[0, 0])
    Whu = np.empty((H, ng * Hw), Wh.dtype)   # this part's columns of Wh, gate block after gate block
    for k in range(H):
        for q in range(ng):
            Whu[k, q * Hw:(q + 1) * Hw] = Wh[k, q * H + u0:q * H + u1]
    Wp = pack_weights(Whu)                   # (P, H, NB)
    A = np.empty((B, Wp.shape[0] * Wp.shape[2]), P.dtype)   # its gate pre-activations: (B, >= ng*Hw)
    act = np.empty(B, np.int64)              # the step's real rows, and each row's place among them (its row of A)
    slot = np.empty(B, np.int64)
    packed = np.empty((B, H), P.dtype)
    c = np.empty((B, Hw), P.dtype)
    hw = np.empty((B, Hw), P.dtype)          # the new state of its units, row by row
    if kind == LSTM:
        for b in range(B):
            c[b] = c0[b, u0:u1]
    for t in range(T):
        hp = Hfull[t]
        n = _real_rows(mask[t], act, slot)
        _step_product(hp, n, act, packed, Wp, A)
        for b in range(B):
            a = A[slot[b]]
            p = P[pidx[t, b]]
            hn = Hfull[t + 1, b]
            y = Y[t, b]
            gt = G[t, b]
            if mask[t, b] == 0:
                for k in range(u0, u1):
                    y[k] = 0.0
                    hn[k] = hp[b, k]
                if kind == LSTM:
                    Cs[t, b, u0:u1] = c[b]
                continue
            # As in seq_forward, each hot loop writes few arrays, each a distinct 1-D view (the gate blocks of
            # G's row, the units' new state in scratch); written back into A at four offsets instead, the
            # LSTM loop was not vectorised and took 3.5x as long.
            hj = hw[b]
            if kind == LSTM:
                cj = c[b]
                for q in range(4):
                    for k in range(Hw):
                        a[q * Hw + k] += p[q * H + u0 + k]
                gf = gt[u0:u1]
                gi = gt[H + u0:H + u1]
                go = gt[2 * H + u0:2 * H + u1]
                gg = gt[3 * H + u0:3 * H + u1]
                for k in range(Hw):
                    f = _sigmoid(a[k])
                    i = _sigmoid(a[Hw + k])
                    o = _sigmoid(a[2 * Hw + k])
                    g = _tanh(a[3 * Hw + k])
                    gf[k] = f
                    gi[k] = i
                    go[k] = o
                    gg[k] = g
                    cn = f * cj[k] + i * g
                    cj[k] = cn
                    hj[k] = o * _tanh(cn)
                Cs[t, b, u0:u1] = cj
            elif kind == GRU:
                for q in range(2):
                    for k in range(Hw):
                        a[q * Hw + k] += p[q * H + u0 + k]
                for k in range(Hw):
                    a[2 * Hw + k] += bn[u0 + k]
                Rn[t, b, u0:u1] = a[2 * Hw:3 * Hw]
                gr = gt[u0:u1]
                gz = gt[H + u0:H + u1]
                gn = gt[2 * H + u0:2 * H + u1]
                hq = hp[b, u0:u1]
                for k in range(Hw):
                    r = _sigmoid(a[k])
                    z = _sigmoid(a[Hw + k])
                    n = _tanh(p[2 * H + u0 + k] + r * a[2 * Hw + k])
                    gr[k] = r
                    gz[k] = z
                    gn[k] = n
                    hj[k] = (one - z) * n + z * hq[k]
            else:
                for k in range(Hw):
                    hj[k] = _tanh(a[k] + p[u0 + k])
                gt[u0:u1] = hj
            hn[u0:u1] = hj
            y[u0:u1] = hj
        barrier(flags, part, parts, t + 1)


@njit(cache=True, nogil=True, error_model="numpy")
def seq_backward_units(kind, Wh, c0, mask, Hfull, Cs, G, Rn, dY, dhT, dcT, u0, u1, dAx, dAh, apos, dh0, dc0,
                       sidx, S, srange, flags, part, parts):
    """``seq_backward`` for the hidden units u0..u1-1 of every batch row (``parts`` calls together, as in
    ``seq_forward_units``). Each call writes its units' gate columns of dAx/dAh[t] (shared), meets the others
    at the barrier, then multiplies the whole dAh[t] by its units' rows of Wh for its part of dh_{t-1}.

    Hfull as left by ``seq_forward_units``; the rest as ``seq_backward``, except S: (R, V, GH), the per-id
    sums of the batch split's R row ranges, row b adding to S[srange[b]], so that they are summed in the
    batch split's order (each call adds its own columns); dAx with no steps: not kept, as there."""
    T = G.shape[0]
    B = G.shape[1]
    H = Wh.shape[0]
    GH = Wh.shape[1]
    ng = GH // H
    Hw = u1 - u0
    per_id = S.shape[1] > 0
    keep = dAx.shape[0] > 0
    one = _one(Wh[0, 0])
    dh = np.empty((B, Hw), G.dtype)       # gradient w.r.t. this part's units of the state after step t
    dc = np.zeros((B, Hw), G.dtype)
    direct = np.zeros((B, Hw), G.dtype)   # GRU: the z * h_{t-1} path
    WTp = pack_panels(Wh[u0:u1])          # its rows of Wh, transposed, in panels: (P, GH, NB)
    tmp = np.empty((B, WTp.shape[0] * WTp.shape[2]), G.dtype)
    act = np.empty(B, np.int64)           # the step's real rows, and each row's place among them (its row of tmp)
    slot = np.empty(B, np.int64)
    packed = np.empty((B, GH), G.dtype)
    scratch = np.empty(GH, G.dtype)       # a row's dAx (this part's columns) when dAx is not kept
    for b in range(B):
        dh[b] = dhT[b, u0:u1]
        if kind == LSTM:
            dc[b] = dcT[b, u0:u1]
    for t in range(T - 1, -1, -1):
        for b in range(B):
            dax = dAx[t, b] if keep else scratch
            if mask[t, b] == 0:
                for q in range(ng):
                    for k in range(u0, u1):
                        dax[q * H + k] = 0.0
                if apos[t, b] >= 0:
                    dah = dAh[apos[t, b]]
                    for q in range(ng):
                        for k in range(u0, u1):
                            dah[q * H + k] = 0.0
                continue
            dah = dAh[apos[t, b]]
            dy = dY[t, b, u0:u1]
            dhj = dh[b]
            gt = G[t, b]
            for k in range(Hw):
                dhj[k] += dy[k]
            # 1-D views of the gate blocks, as in seq_forward_units (one array at four offsets is not vectorised)
            d0 = dax[u0:u1]
            d1 = dax[H + u0:H + u1]
            d2 = dax[2 * H + u0:2 * H + u1]
            g0 = gt[u0:u1]
            g1 = gt[H + u0:H + u1]
            g2 = gt[2 * H + u0:2 * H + u1]
            if kind == LSTM:
                dcj = dc[b]
                cs = Cs[t, b, u0:u1]
                cp = Cs[t - 1, b, u0:u1] if t > 0 else c0[b, u0:u1]
                d3 = dax[3 * H + u0:3 * H + u1]
                g3 = gt[3 * H + u0:3 * H + u1]
                for k in range(Hw):
                    g = dhj[k]
                    o = g2[k]
                    tc = _tanh(cs[k])
                    d2[k] = g * tc * o * (one - o)
                    dcj[k] += g * o * (one - tc * tc)
                for k in range(Hw):
                    dct = dcj[k]
                    f = g0[k]
                    i = g1[k]
                    gg = g3[k]
                    d0[k] = dct * cp[k] * f * (one - f)
                    d1[k] = dct * gg * i * (one - i)
                    d3[k] = dct * i * (one - gg * gg)
                    dcj[k] = dct * f
            elif kind == GRU:
                rnt = Rn[t, b, u0:u1]
                hp = Hfull[t, b, u0:u1]
                dj = direct[b]
                for k in range(Hw):
                    dj[k] = dhj[k] * g1[k]
                for k in range(Hw):
                    g = dhj[k]
                    r = g0[k]
                    z = g1[k]
                    n = g2[k]
                    dan = g * (one - z) * (one - n * n)
                    d0[k] = dan * rnt[k] * r * (one - r)
                    d1[k] = g * (hp[k] - n) * z * (one - z)
                    d2[k] = dan
                for q in range(2):
                    dah[q * H + u0:q * H + u1] = dax[q * H + u0:q * H + u1]
                dn = dah[2 * H + u0:2 * H + u1]
                for k in range(Hw):
                    dn[k] = d2[k] * g0[k]
            else:
                hs = Hfull[t + 1, b, u0:u1]
                for k in range(Hw):
                    d0[k] = dhj[k] * (one - hs[k] * hs[k])
            if per_id:
                s = S[srange[b], sidx[t, b]]
                for q in range(ng):
                    sq = s[q * H + u0:q * H + u1]
                    dq = dax[q * H + u0:q * H + u1]
                    for k in range(Hw):
                        sq[k] += dq[k]
        barrier(flags, part, parts, T - t)
        n = _real_rows(mask[t], act, slot)
        _step_product_at(dAh, apos[t], n, act, packed, WTp, tmp)
        _state_grad_step(kind, mask[t], tmp, direct, dh, slot)
    for b in range(B):
        dh0[b, u0:u1] = dh[b]
        if kind == LSTM:
            dc0[b, u0:u1] = dc[b]


SMALL_BATCH = 4  # step_forward: up to this many rows, hand-written products instead of BLAS


@njit(cache=True, nogil=True, error_model="numpy")
def matvec(x, W, out):
    """out = x @ W with loops, no BLAS. x: (K,); W: (K, N); out: (N,).

    For batch-1 generation a BLAS call costs more than the arithmetic (and OpenBLAS may wake its threads for
    a 512x2048 matrix, which on a loaded machine took 5-15 ms instead of 0.2 ms); four rows of W per sweep
    over ``out`` keep the loop vectorised and the loads and stores of ``out`` down."""
    K = x.shape[0]
    N = W.shape[1]
    out[:] = 0.0
    k = 0
    while k + 4 <= K:
        x0 = x[k]
        x1 = x[k + 1]
        x2 = x[k + 2]
        x3 = x[k + 3]
        w0 = W[k]
        w1 = W[k + 1]
        w2 = W[k + 2]
        w3 = W[k + 3]
        for n in range(N):
            out[n] += x0 * w0[n] + x1 * w1[n] + x2 * w2[n] + x3 * w3[n]
        k += 4
    while k < K:
        xk = x[k]
        w = W[k]
        for n in range(N):
            out[n] += xk * w[n]
        k += 1


@njit(cache=True, nogil=True, error_model="numpy")
def small_matmul(x, W, out):
    """out = x @ W for a few rows, one ``matvec`` per row. x: (B, K); W: (K, N); out: (B, N)."""
    for b in range(x.shape[0]):
        matvec(x[b], W, out[b])


# --- batch-1 products from packed columns -----------------------------------------------------------------
# ``matvec`` sweeps the whole output once per four rows of W, so every output element is loaded and stored
# K/4 times and LLVM's vectorised inner loop runs over rows 2-8 KB apart. For generation, where the same
# weights serve every token, ``pack_columns`` lays W out once as panels of NB columns, contiguous in k, and
# ``matvec_packed`` keeps one panel's outputs in vector registers over all K rows: W streams from the cache
# once, in order, and each output is stored once. The sums are ``matvec``'s, in its order (four rows of W
# added in one expression, then to the running sum; no FMA), so both give the same bits (tested) and the
# numpy twin of the sampler (rnntools.tasks.lm.stepper) needs no change. Measured on one core, float32,
# L2-resident shapes (256 x 768, 128 x 512, 64 x 768): 1.3-3.5x ``matvec``'s speed; L3-resident 512 x
# 2048: the same (the stream from L3 is the limit).


def matvec_blocking(vbytes: int, itemsize: int) -> tuple[int, int]:
    """(VF, NV) of ``matvec_packed`` for vectors of ``vbytes`` bytes: NV vectors of VF outputs are the
    panel's accumulators, with as many partial sums beside them and four broadcasts of x. AVX-512 (32
    registers): 8; AVX/AVX2 and SSE (16): 4. On the AVX-512 machine measured, 8 ran 1.3-2x faster than 4 at
    the L2-resident shapes; restricted to AVX2, 4 ran 1.2-1.7x faster than 8 (which spills)."""
    vf = max(1, vbytes // itemsize)
    return (vf, 8) if vbytes >= 64 else (vf, 4)


def _target_matvec_blocking(context, itemsize: int) -> tuple[int, int]:
    MR, vf, NV = _target_blocking(context, itemsize)
    return matvec_blocking(vf * itemsize, itemsize)


@intrinsic
def _matvec_width_of(typingctx, a):
    """NB = VF * NV, the columns of one panel of ``pack_columns`` for a's dtype on this target."""
    sig = types.intp(a)

    def codegen(context, builder, signature, args):
        itemsize = context.get_abi_sizeof(context.get_value_type(signature.args[0].dtype))
        vf, nv = _target_matvec_blocking(context, itemsize)
        return ir.Constant(context.get_value_type(types.intp), vf * nv)
    return sig, codegen


@intrinsic
def matvec_panel(typingctx, x, wp, out, p):
    """out[p*NB:(p+1)*NB] = x @ panel p. x: (K,) unit stride; wp: (P, K, NB) from ``pack_columns``; out:
    (>= P*NB,) unit stride. Sums in ``matvec``'s order: four rows' products added left to right, then added
    to the running sum; the K % 4 last rows one at a time."""
    sig = types.void(x, wp, out, types.intp)

    def codegen(context, builder, signature, args):
        xty, wty, oty = signature.args[:3]
        xv, wv, ov, pv = args
        X = context.make_array(xty)(context, builder, xv)
        W = context.make_array(wty)(context, builder, wv)
        Out = context.make_array(oty)(context, builder, ov)
        ftype, itemsize, intp, i32, const = _ir_setup(context, xty.dtype)
        vf, NV = _target_matvec_blocking(context, itemsize)
        vty = ir.VectorType(ftype, vf)
        K = cgutils.unpack_tuple(builder, X.shape)[0]
        nb = const(NV * vf)
        panel = builder.gep(W.data, [builder.mul(builder.mul(pv, K), nb)])
        undef = ir.Constant(vty, ir.Undefined)
        splat = ir.Constant(ir.VectorType(i32, vf), None)
        # entry-block allocas: LLVM's SROA turns them into registers
        accs = [cgutils.alloca_once_value(builder, ir.Constant(vty, None)) for _ in range(NV)]

        def row(k):
            """x[k] broadcast, and the NV vectors of row k of the panel."""
            wrow = builder.gep(panel, [builder.mul(k, nb)])
            ws = [builder.load(builder.bitcast(builder.gep(wrow, [const(v * vf)]), vty.as_pointer()),
                               align=itemsize) for v in range(NV)]
            xk = builder.load(builder.gep(X.data, [k]))
            return builder.shuffle_vector(builder.insert_element(undef, xk, ir.Constant(i32, 0)), undef, splat), ws

        K4 = builder.sdiv(K, const(4))
        with cgutils.for_range(builder, K4) as loop:
            k0 = builder.mul(loop.index, const(4))
            rows = [row(builder.add(k0, const(j))) for j in range(4)]
            for v in range(NV):
                t = builder.fmul(rows[0][0], rows[0][1][v])
                for j in range(1, 4):
                    t = builder.fadd(t, builder.fmul(rows[j][0], rows[j][1][v]))
                builder.store(builder.fadd(builder.load(accs[v]), t), accs[v])
        k4 = builder.mul(K4, const(4))
        with cgutils.for_range(builder, builder.sub(K, k4)) as loop:
            xs, ws = row(builder.add(k4, loop.index))
            for v in range(NV):
                builder.store(builder.fadd(builder.load(accs[v]), builder.fmul(xs, ws[v])), accs[v])
        orow = builder.gep(Out.data, [builder.mul(pv, nb)])
        for v in range(NV):
            ptr = builder.bitcast(builder.gep(orow, [const(v * vf)]), vty.as_pointer())
            builder.store(builder.load(accs[v]), ptr, align=itemsize)
        return context.get_dummy_value()
    return sig, codegen


@njit(cache=True, nogil=True, error_model="numpy")
def matvec_width(a):
    """NB, the columns of one panel of ``pack_columns`` for a's dtype on this target."""
    return _matvec_width_of(a)


@njit(cache=True, nogil=True, error_model="numpy")
def pack_columns(W):
    """W (K, N) -> (P, K, NB) panels of NB consecutive columns, zero padded (P = ceil(N / NB)), for
    ``matvec_packed``."""
    K, N = W.shape
    NB = _matvec_width_of(W)
    P = (N + NB - 1) // NB
    wp = np.zeros((P, K, NB), W.dtype)
    for k in range(K):
        row = W[k]
        for n in range(N):
            p = n // NB
            wp[p, k, n - p * NB] = row[n]
    return wp


@njit(cache=True, nogil=True, error_model="numpy")
def matvec_packed(x, wp, out):
    """out[:P*NB] = x @ W, W packed by ``pack_columns``: ``matvec``'s result, bit for bit, in out[:N]
    (out: (>= P*NB,); the padding columns get zeros)."""
    if x.shape[0] != wp.shape[1] or out.shape[0] < wp.shape[0] * wp.shape[2]:
        raise ValueError("matvec_packed: x must have K elements and out at least P * NB")
    for p in range(wp.shape[0]):
        matvec_panel(x, wp, out, p)


@njit(inline="always", error_model="numpy")
def cell_units(kind, a, ax, bias, bns, layer, hp, cp, ho, co, one):
    """The gate math of one step for one batch row, shared by every single-step kernel (step_forward here,
    the LM sampler's stack_step): a = h_{t-1} Wh, ax = x_t Wx: (GH,); hp, cp: (H,) old state; writes ho
    (and co for LSTM). ho/co may be hp/cp themselves: each unit is read before it is written."""
    H = ho.shape[0]
    if kind == LSTM:
        for k in range(H):
            f = _sigmoid(a[k] + ax[k] + bias[k])
            i = _sigmoid(a[H + k] + ax[H + k] + bias[H + k])
            o = _sigmoid(a[2 * H + k] + ax[2 * H + k] + bias[2 * H + k])
            g = _tanh(a[3 * H + k] + ax[3 * H + k] + bias[3 * H + k])
            cn = f * cp[k] + i * g
            co[k] = cn
            ho[k] = o * _tanh(cn)
    elif kind == GRU:
        bn = bns[layer]
        for k in range(H):
            r = _sigmoid(a[k] + ax[k] + bias[k])
            z = _sigmoid(a[H + k] + ax[H + k] + bias[H + k])
            n = _tanh(ax[2 * H + k] + bias[2 * H + k] + r * (a[2 * H + k] + bn[k]))
            ho[k] = (one - z) * n + z * hp[k]
    else:
        for k in range(H):
            ho[k] = _tanh(a[k] + ax[k] + bias[k])


@njit(cache=True, nogil=True, error_model="numpy")
def step_forward(kind, x, Whs, Wxs, bs, bns, h, c, projW, projb, h_out, c_out, out):
    """One time step of a whole L-layer stack, plus an optional output projection, in one call.

    x: (B, D) input of layer 0; Whs[l]: (H, GH); Wxs[l]: (D_l, GH); bs[l]: (GH,); bns[l]: (H,) (GRU);
    h, c: (L, B, H) state; projW: (H, O), projb: (O,) (O = 0: no projection).
    Out: h_out, c_out (L, B, H) new state; out (B, O) logits, or (B, H) the top layer's output when O = 0.
    """
    L = h.shape[0]
    B = h.shape[1]
    GH = Whs[0].shape[1]
    one = _one(x[0, 0])
    A = np.empty((B, GH), x.dtype)
    Ax = np.empty((B, GH), x.dtype)
    inp = x
    small = B <= SMALL_BATCH
    for layer in range(L):
        if small:
            small_matmul(h[layer], Whs[layer], A)
            small_matmul(inp, Wxs[layer], Ax)
        else:
            np.dot(h[layer], Whs[layer], A)
            np.dot(inp, Wxs[layer], Ax)
        bias = bs[layer]
        for b in range(B):
            cell_units(kind, A[b], Ax[b], bias, bns, layer, h[layer, b], c[layer, b], h_out[layer, b],
                       c_out[layer, b], one)
        inp = h_out[layer]
    if projW.shape[1] > 0:
        if small:
            small_matmul(inp, projW, out)
        else:
            np.dot(inp, projW, out)
        for b in range(B):
            ob = out[b]
            for k in range(projW.shape[1]):
                ob[k] += projb[k]
    else:
        out[:, :] = inp


@njit(inline="always", error_model="numpy")
def _row_max(row):
    """max(row) over 8 running maxima: a single running maximum is a chain of dependent compares that LLVM
    cannot vectorise (not without fast-math's no-NaN flag, which the NaN checks rule out); eight
    independent ones it packs into one vector. A NaN is not taken as the maximum; it still reaches the
    loss through its exp."""
    V = row.shape[0]
    v8 = V - V % 8
    m = row[0]
    if v8 >= 8:
        m0, m1, m2, m3, m4, m5, m6, m7 = row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
        for v in range(8, v8, 8):
            m0 = max(m0, row[v])
            m1 = max(m1, row[v + 1])
            m2 = max(m2, row[v + 2])
            m3 = max(m3, row[v + 3])
            m4 = max(m4, row[v + 4])
            m5 = max(m5, row[v + 5])
            m6 = max(m6, row[v + 6])
            m7 = max(m7, row[v + 7])
        m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    for v in range(v8, V):
        m = max(m, row[v])
    return m


@njit(inline="always", error_model="numpy")
def _row_sum(e):
    """sum(e) over 8 running sums, for the same reason as ``_row_max`` (a float sum is reassociated only
    under fast-math)."""
    V = e.shape[0]
    v8 = V - V % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = _zero(e[0])
    for v in range(0, v8, 8):
        s0 += e[v]
        s1 += e[v + 1]
        s2 += e[v + 2]
        s3 += e[v + 3]
        s4 += e[v + 4]
        s5 += e[v + 5]
        s6 += e[v + 6]
        s7 += e[v + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for v in range(v8, V):
        s += e[v]
    return s


@njit(inline="always", error_model="numpy")
def _shifted_exps(row, e):
    """e[v] = exp(row[v] - m) with m = max(row), so nothing overflows; returns (m, sum(e)), and
    log(sum(exp(row))) is m + log(sum(e)). Three loops, each of which vectorises: the max, the exps
    (to a scratch row rather than back into ``row`` or an output that may be ``row``: a loop that reads one
    array and writes another that never overlaps it passes LLVM's runtime alias check, in place it stayed
    scalar) and the sum. Fused into one loop, the sum's dependency chain kept the exps scalar too:
    3,200 x 74 logits took 1.2 ms on one core, now 0.34."""
    m = _row_max(row)
    for v in range(row.shape[0]):
        e[v] = _exp(row[v] - m)
    return m, _row_sum(e)


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_xent(logits, targets, weights, scale, dlogits, smooth=0.0):
    """Weighted softmax cross-entropy. logits, dlogits: (N, V) (may be the same array); targets: (N,) int;
    weights: (N,). Returns sum_n weights[n] * nll[n]; dlogits = scale * weights[n] * (softmax - q), where q
    is the one-hot target, or with label smoothing ``smooth`` = eps the target distribution
    (1 - eps) * onehot + eps / V (PyTorch's ``label_smoothing``), whose nll is
    lse - (1 - eps) * logit[y] - eps * mean(logits)."""
    N, V = logits.shape
    total = 0.0
    e = np.empty(V, logits.dtype)   # one exp per logit, reused for the gradient
    for n in range(N):
        row = logits[n]
        m, s = _shifted_exps(row, e)
        y = targets[n]
        lse = m + np.log(s)
        w = weights[n]
        if smooth != 0.0:
            if w != 0.0:   # the mean is read before ``row``, which may be ``dlogits``, is overwritten
                total += w * (lse - (1.0 - smooth) * row[y] - smooth * _row_sum(row) / V)
            k = scale * w / s
            u = scale * w * smooth / V
            out = dlogits[n]
            for v in range(V):
                out[v] = k * e[v] - u
            out[y] -= scale * w * (1.0 - smooth)
            continue
        if w != 0.0:
            total += w * (lse - row[y])
        k = scale * w / s
        out = dlogits[n]
        for v in range(V):
            out[v] = k * e[v]
        out[y] -= scale * w
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def log_softmax_rows(logits, out):
    """out[n] = log softmax(logits[n]); logits, out: (N, V)."""
    N, V = logits.shape
    e = np.empty(V, logits.dtype)
    for n in range(N):
        m, s = _shifted_exps(logits[n], e)
        lse = m + np.log(s)
        for v in range(V):
            out[n, v] = logits[n, v] - lse


@njit(cache=True, nogil=True, error_model="numpy")
def max_over_time(y, lengths, vec, arg):
    """Max pooling of a padded batch: vec[b, f] = max of y[:lengths[b], b, f] and arg[b, f] its first t.

    y: (T, B, F); lengths: (B,) int, 1..T; vec: (B, F); arg: (B, F) int64. numpy's
    ``where(mask, y, -inf).argmax(axis=0)`` and ``take_along_axis`` give the same (the first maximum, the
    first NaN when there is one) in three passes over y and a masked copy of it (argmax along the first
    axis of a C array also transposes it); this is one pass."""
    T, B, F = y.shape
    for b in range(B):
        n = min(lengths[b], T)
        best = vec[b]
        where = arg[b]
        first = y[0, b]
        for f in range(F):
            best[f] = first[f]
            where[f] = 0
        for t in range(1, n):
            row = y[t, b]
            for f in range(F):
                x = row[f]
                v = best[f]
                if x > v or (x != x and v == v):
                    best[f] = x
                    where[f] = t


@njit(cache=True, nogil=True, error_model="numpy")
def scatter_add_rows(dW, ids, dout):
    """dW[ids[n]] += dout[n]; dW: (V, E); ids: (N,) int; dout: (N, E)."""
    E = dW.shape[1]
    for n in range(ids.shape[0]):
        r = ids[n]
        for k in range(E):
            dW[r, k] += dout[n, k]


@njit(cache=True, nogil=True, error_model="numpy")
def adam_update(p, g, m, v, lr, beta1, beta2, eps, bc1, bc2, weight_decay, gscale):
    """In-place Adam (PyTorch's formula) on flat arrays p, g, m, v: (N,); bc1, bc2 = 1 - beta^t; the gradient
    is g * gscale (gscale of g's dtype: the product rounded to it, as numpy's ``g *= gscale`` before)."""
    step = lr / bc1
    sq = np.sqrt(bc2)
    for n in range(p.shape[0]):
        gn = g[n] * gscale + weight_decay * p[n]
        mn = beta1 * m[n] + (1.0 - beta1) * gn
        vn = beta2 * v[n] + (1.0 - beta2) * gn * gn
        m[n] = mn
        v[n] = vn
        p[n] -= step * mn / (np.sqrt(vn) / sq + eps)


@njit(cache=True, nogil=True, error_model="numpy")
def sgd_update(p, g, buf, lr, momentum, weight_decay, gscale):
    """In-place SGD with optional (heavy-ball, PyTorch-style) momentum on flat arrays: (N,); the gradient is
    g * gscale (of g's dtype, as ``adam_update``)."""
    for n in range(p.shape[0]):
        gn = g[n] * gscale + weight_decay * p[n]
        if momentum != 0.0:
            gn = momentum * buf[n] + gn
            buf[n] = gn
        p[n] -= lr * gn


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)   # splitmix64's increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(inline="always", error_model="numpy")
def _splitmix(seed, k):
    z = seed + np.uint64(k + 1) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, error_model="numpy")
def dropout_fill(seed, keep_bits, scale, out):
    """An inverted-dropout mask in place: ``out`` (flat, float) is ``scale`` where unit i is kept, else 0.

    Unit i is kept when a 32-bit number is below ``keep_bits`` (keep probability keep_bits / 2**32): with
    h = n // 2, units k and h + k take the low and the high half of splitmix64's output for the counter k of
    the stream ``seed`` (uint64), ``mix(seed + (k + 1) * 0x9E3779B97F4A7C15)``; an odd n's last unit the low
    half for the counter h. A unit's draw depends only on the seed and its index: the loop carries no state
    and vectorises."""
    n = out.shape[0]
    h = n // 2
    zero = scale - scale
    low = np.uint64(0xFFFFFFFF)
    kb = np.uint64(keep_bits)
    for k in range(h):
        z = _splitmix(seed, k)
        out[k] = scale if (z & low) < kb else zero
        out[h + k] = scale if (z >> np.uint64(32)) < kb else zero
    if n % 2:
        z = _splitmix(seed, h)
        out[n - 1] = scale if (z & low) < kb else zero
