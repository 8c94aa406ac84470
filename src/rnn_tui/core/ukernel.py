r"""A packed, weight-stationary micro-kernel for the recurrent product, in LLVM IR.

The per-step product of a recurrent layer, ``h_(t-1) @ W_hh`` forward and ``dA @ W_hh^T``
backward, is short and wide (16 x 256 @ 256 x 1024 per worker at H256, B32) and repeated T
times with the same weights. A general GEMM packs ``W`` again at every call; on an AMD EPYC
(Zen 4) OpenBLAS ran it at 55-69 GFLOP/s on one core, and the transposed form, which the
backward pass needs, slower still. Here ``W`` (or ``W^T``) is packed once per sequence into
panels of ``NR`` columns, each panel ``K`` rows of ``NR`` contiguous numbers, and one small
function computes an ``MR x NR`` tile of ``C`` from ``MR`` rows of ``A`` and one panel:

.. math::
    C_{[i_0, i_0+MR), [p NR, (p+1) NR)} = A_{[i_0, i_0+MR), :}\, \mathrm{panel}_p
    \;(+\ \beta\, C)

holding the tile in ``MR * NV`` vector registers (4 x 3 of 8 float32 = 12 of AVX2's 16) across
the whole ``K`` loop: per ``k``, ``NV`` vector loads of the panel, ``MR`` broadcasts of ``A``
and ``MR * NV`` fused multiply-adds. That ran at 88-90 GFLOP/s on one Zen 4 core for the
training shapes (W in L2 or L3), against 55-69 for OpenBLAS's ``sgemm``.

The body is written in LLVM IR with portable vector types (``<8 x float>``, ``<4 x double>``)
and ``llvm.fmuladd``: LLVM turns them into AVX2 + FMA code on any x86-64 that has them (Intel
or AMD), into pairs of SSE instructions on one that has not, and the result never depends on a
cache size. Numba compiles for the host and keys its cache by it.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

MR = 4  # rows of A (and C) per tile
NV = 3  # vectors per tile row
VEC_BYTES = 32  # one AVX2 register
NR32 = NV * VEC_BYTES // 4  # 24 float32 columns per panel
NR64 = NV * VEC_BYTES // 8  # 12 float64 columns per panel


def _fmuladd(mod, vt, bits, lanes):
    name = f"llvm.fmuladd.v{lanes}f{bits}"
    fn = mod.globals.get(name)
    if fn is None:
        fn = ir.Function(mod, ir.FunctionType(vt, [vt, vt, vt]), name)
    return fn


def _define_tile(mod, bits, rows, panels):
    """``void tile(i64 K, i64 mr, T* a, i64 lda, T* b, i64 ldb, T* c, i64 ldc, T beta)``:
    for rows r < mr and panels q < ``panels``,
    C[r, q*NR : (q+1)*NR] = sum_k a[r*lda + k] b[q*ldb + k*NR : ... + NR] (+ beta C[...]),
    i.e. ``rows`` rows of A times ``panels`` consecutive panels (``ldb`` numbers apart), with
    ``rows * panels * NV`` accumulators. Rows mr..rows-1 repeat row 0's arithmetic and are not
    stored. K >= 1."""
    name = f"rnn_tui_tile_f{bits}_{rows}x{panels}x{NV}"
    if name in mod.globals:
        return mod.globals[name]
    ft = ir.DoubleType() if bits == 64 else ir.FloatType()
    lanes = VEC_BYTES * 8 // bits
    nr = NV * lanes
    i32, i64 = ir.IntType(32), ir.IntType(64)
    p, vt = ir.PointerType(ft), ir.VectorType(ft, lanes)
    pv = ir.PointerType(vt)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [i64, i64, p, i64, p, i64, p, i64, ft]),
                     name)
    fn.linkage = "internal"
    for a in (2, 4, 6):
        fn.args[a].add_attribute("noalias")
    K, mr, a, lda, b, ldb, c, ldc, beta = fn.args
    fma = _fmuladd(mod, vt, bits, lanes)
    entry, loop, done = (fn.append_basic_block(n) for n in ("entry", "loop", "done"))
    bld = ir.IRBuilder(entry)
    undef = ir.Constant(vt, ir.Undefined)
    splat0 = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)
    align = bits // 8

    def splat(s):
        return bld.shuffle_vector(bld.insert_element(undef, s, ir.Constant(i32, 0)), undef,
                                  splat0)

    arows = []
    for r in range(rows):  # rows past mr read row 0 again: always in bounds
        ok = bld.icmp_signed("<", ir.Constant(i64, r), mr)
        arows.append(bld.gep(a, [bld.select(ok, bld.mul(lda, ir.Constant(i64, r)),
                                            ir.Constant(i64, 0))]))
    bpans = [bld.gep(b, [bld.mul(ldb, ir.Constant(i64, q))]) for q in range(panels)]
    bld.branch(loop)
    bld.position_at_end(loop)
    k = bld.phi(i64)
    k.add_incoming(ir.Constant(i64, 0), entry)
    zero = ir.Constant(vt, [0.0] * lanes)
    acc = [[bld.phi(vt) for _ in range(panels * NV)] for _ in range(rows)]
    for row in acc:
        for ph in row:
            ph.add_incoming(zero, entry)
    kk = bld.mul(k, ir.Constant(i64, nr))
    bv = []
    for q in range(panels):
        bk = bld.gep(bpans[q], [kk])
        bv += [bld.load(bld.bitcast(bld.gep(bk, [ir.Constant(i64, v * lanes)]), pv),
                        align=align) for v in range(NV)]
    new = []
    for r in range(rows):
        s = splat(bld.load(bld.gep(arows[r], [k]), align=align))
        new.append([bld.call(fma, [s, bv[v], acc[r][v]]) for v in range(panels * NV)])
    k1 = bld.add(k, ir.Constant(i64, 1))
    k.add_incoming(k1, loop)
    for r in range(rows):
        for v in range(panels * NV):
            acc[r][v].add_incoming(new[r][v], loop)
    bld.cbranch(bld.icmp_signed("<", k1, K), loop, done)
    # epilogue: store the rows r < mr, adding beta C when beta != 0
    bld.position_at_end(done)
    plain = fn.append_basic_block("plain")
    scaled = fn.append_basic_block("scaled")
    bld.cbranch(bld.fcmp_ordered("==", beta, ir.Constant(ft, 0.0)), plain, scaled)
    for blk, with_beta in ((plain, False), (scaled, True)):
        bld.position_at_end(blk)
        bvec = splat(beta) if with_beta else None
        for r in range(rows):
            tag = f"{r}{'b' if with_beta else ''}"
            store = fn.append_basic_block(f"store{tag}")
            nxt = fn.append_basic_block(f"next{tag}")
            bld.cbranch(bld.icmp_signed("<", ir.Constant(i64, r), mr), store, nxt)
            bld.position_at_end(store)
            crow = bld.gep(c, [bld.mul(ldc, ir.Constant(i64, r))])
            for v in range(panels * NV):
                cp = bld.bitcast(bld.gep(crow, [ir.Constant(i64, v * lanes)]), pv)
                val = new[r][v]
                if with_beta:
                    val = bld.call(fma, [bvec, bld.load(cp, align=align), val])
                bld.store(val, cp, align=align)
            bld.branch(nxt)
            bld.position_at_end(nxt)
        bld.ret_void()
    return fn


def _tile_intrinsic(rows, panels):
    def impl(typingctx, K, mr, a, lda, b, ldb, c, ldc, beta):
        sig = types.void(K, mr, a, lda, b, ldb, c, ldc, beta)

        def codegen(context, builder, signature, args):
            bits = signature.args[8].bitwidth
            fn = _define_tile(builder.module, bits, rows, panels)
            i64 = ir.IntType(64)
            p = ir.PointerType(ir.DoubleType() if bits == 64 else ir.FloatType())

            def i(v):
                return v if v.type == i64 else builder.sext(v, i64)

            builder.call(fn, [i(args[0]), i(args[1]), builder.inttoptr(args[2], p), i(args[3]),
                              builder.inttoptr(args[4], p), i(args[5]),
                              builder.inttoptr(args[6], p), i(args[7]), args[8]])
            return context.get_dummy_value()

        return sig, codegen

    impl.__name__ = impl.__qualname__ = f"tile_{rows}x{panels}"
    return intrinsic(impl)


# ``tile(K, mr, a, lda, b, ldb, c, ldc, beta)``: MR rows of A times one panel (training);
# ``vec4``: one row times four panels, and ``vec1``: one row times one panel (a batch-1 step
# and generation: twelve and three accumulators, no rows computed in vain). Pointers arrive as
# integers, and ``beta``'s float type chooses float32 (NR = 24) or float64 (NR = 12).
tile = _tile_intrinsic(MR, 1)
vec4 = _tile_intrinsic(1, 4)
vec1 = _tile_intrinsic(1, 1)
