"""A spin barrier for a few threads that run one nogil numba kernel together, step by step.

Why: batch-1 generation of a large model streams every weight once per token from beyond the core's L2
cache. Two cores can each stream half of every matrix (the columns of half the units) if they meet after
each layer; a step takes tens of microseconds, so a meeting must cost about one. The threads spin on each
other's counters (an acquire load and the CPU's pause hint) and give the core back to the operating system
(``sched_yield``) after a while, so that a partner that lost its core on a busy machine gets it back
instead of being starved by the spinning. (Whether splitting pays at all on a busy machine is measured by
the caller, which falls back to one thread: ``rnntools.tasks.lm.sample``.)

Protocol: ``flags`` is an int64 array of ``SLOT * parts`` zeros (one 64-byte line per thread, so that the
counters do not share a cache line); thread ``part`` calls ``barrier(flags, part, parts, seq)`` with
seq = 1, 2, 3, ... at its successive meetings. Counters only grow, so no reset between meetings is needed.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from rnntools.jit import njit

SLOT = 8                    # int64 counters per thread: one cache line
SPINS_BEFORE_YIELD = 2000   # a few microseconds of pause instructions
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@intrinsic
def load_acquire(typingctx, array, index):
    """``array[index]`` (int64) read with acquire ordering: what the other thread wrote before its release
    store is visible after it, and the compiler cannot hoist the read out of a spin loop."""
    sig = types.int64(array, index)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]])
        return builder.load_atomic(ptr, ordering="acquire", align=8)

    return sig, codegen


@intrinsic
def store_release(typingctx, array, index, value):
    """``array[index] = value`` (int64) with release ordering: everything written before it is visible to
    a thread that reads the value with ``load_acquire``."""
    sig = types.void(array, index, types.int64)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], ary, [args[1]])
        value = context.cast(builder, args[2], sig.args[2], types.int64)
        builder.store_atomic(value, ptr, ordering="release", align=8)
        return context.get_dummy_value()

    return sig, codegen


def _call_symbol(builder, name: str, returns):
    """A call of the argument-less function ``name``, declared by name in the kernel's module."""
    fnty = ir.FunctionType(returns, [])
    return builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), [])


@intrinsic
def spin_pause(typingctx):
    """The x86 ``pause`` hint inside a spin loop (nothing elsewhere)."""
    sig = types.void()

    def codegen(context, builder, sig, args):
        if _X86:
            _call_symbol(builder, "llvm.x86.sse2.pause", ir.VoidType())
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def yield_core(typingctx):
    """libc's ``sched_yield()`` (a symbol, not an address: the kernel stays cacheable)."""
    sig = types.int32()

    def codegen(context, builder, sig, args):
        return _call_symbol(builder, "sched_yield", ir.IntType(32))

    return sig, codegen


@njit(cache=True, nogil=True)
def barrier(flags, part, parts, seq):
    """Announce that thread ``part`` reached meeting ``seq``, then wait until every other thread has."""
    store_release(flags, part * SLOT, seq)
    for other in range(parts):
        if other == part:
            continue
        spins = 0
        while load_acquire(flags, other * SLOT) < seq:
            spin_pause()
            spins += 1
            if spins >= SPINS_BEFORE_YIELD:
                yield_core()
                spins = 0
