"""A spin barrier for two (or a few) kernel threads working on one token at a time.

Generation at batch 1 is bound by reading the recurrent weights; split by units across the two
cores, each core keeps its half of ``W_hh`` in its own L2 cache and reads it from there. The
threads meet once per layer and once per token, a few microseconds apart, which is too often for
an OS wait: they spin on one counter each, published with release stores and read with acquire
loads (LLVM atomics; a plain load could be hoisted out of the loop). After ``SPIN_LIMIT`` idle
rounds a waiting thread calls ``sched_yield`` so an oversubscribed machine still makes progress.
"""

from __future__ import annotations

import ctypes
import functools

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic

from rnn_tui.core.fast._jit import kernel

SPIN_LIMIT = 2000
STRIDE = 16  # int64 slots between two threads' counters: one 128-byte span each


@functools.lru_cache(maxsize=1)
def yield_address() -> int:
    """Address of libc's ``sched_yield`` (0 where it is not found)."""
    try:
        fn = ctypes.CDLL(None).sched_yield
        return int(ctypes.cast(fn, ctypes.c_void_p).value)
    except (OSError, AttributeError):
        return 0


def _slot_ptr(context, builder, aryty, ary, idx):
    arr = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, arr, [idx], wraparound=False)


@intrinsic
def atomic_store(typingctx, ary, idx, val):
    """``ary[idx] = val`` as a release store (int64 arrays)."""
    sig = types.void(ary, idx, val)

    def codegen(context, builder, signature, args):
        ptr = _slot_ptr(context, builder, signature.args[0], args[0], args[1])
        v = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(v, ptr, "release", 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def atomic_load(typingctx, ary, idx):
    """``ary[idx]`` as an acquire load (int64 arrays)."""
    sig = types.int64(ary, idx)

    def codegen(context, builder, signature, args):
        ptr = _slot_ptr(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def cpu_relax(typingctx, yield_fn, do_yield):
    """x86 ``pause`` (elsewhere nothing), or ``sched_yield()`` when ``do_yield``."""
    sig = types.void(yield_fn, do_yield)

    def codegen(context, builder, signature, args):
        mod = builder.module
        with builder.if_else(builder.icmp_unsigned("!=", args[1], ir.Constant(args[1].type, 0))
                             ) as (then, otherwise):
            with then:
                fnty = ir.FunctionType(ir.IntType(32), [])
                nonnull = builder.icmp_unsigned("!=", args[0], ir.Constant(args[0].type, 0))
                with builder.if_then(nonnull):
                    builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [])
            with otherwise:
                import llvmlite.binding as ll

                if "x86" in ll.get_default_triple():
                    pause = cgutils.get_or_insert_function(
                        mod, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
                    builder.call(pause, [])
        return context.get_dummy_value()

    return sig, codegen


@kernel(internal=True)
def barrier(sync, part, nparts, k, yield_fn):
    """Publish that thread ``part`` reached barrier number ``k`` and wait for the others."""
    if nparts == 1:
        return
    atomic_store(sync, part * STRIDE, k)
    for other in range(nparts):
        if other == part:
            continue
        spins = 0
        while atomic_load(sync, other * STRIDE) < k:
            spins += 1
            cpu_relax(yield_fn, spins > SPIN_LIMIT)
