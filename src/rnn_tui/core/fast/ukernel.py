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

holding the tile in ``MR * NV`` vector registers across the whole ``K`` loop: per ``k``, ``NV``
vector loads of the panel, ``MR`` broadcasts of ``A`` and ``MR * NV`` fused multiply-adds. With
AVX2 (4 x 3 of 8 float32 = 12 of its 16 registers) that ran at 88-90 GFLOP/s on one Zen 4 core
for the training shapes (W in L2 or L3), against 55-69 for OpenBLAS's ``sgemm``.

The vector width and the tile come from :mod:`rnn_tui.core.fast.simd` (16 float32 lanes with
AVX-512, 8 with AVX2, 4 otherwise, or as forced). The body is written in LLVM IR with portable
vector types (``<8 x float>``, ``<4 x double>`` at 8 lanes) and ``llvm.fmuladd``: LLVM turns
them into the host's vector instructions (several per operation where its registers are
narrower), and the result never depends on a cache size. Numba compiles for the host and keys
its cache by it; :mod:`rnn_tui.core.fast._jit` keys it by the width too.
"""

from __future__ import annotations

from contextlib import contextmanager

from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from rnn_tui.core.fast.simd import TILE

MR = TILE.rows  # rows of A (and C) per tile
NV = TILE.vectors  # vectors per tile row
VEC_BYTES = TILE.vec_bytes  # one vector register (32: AVX2)
NR32 = TILE.columns(32)  # float32 columns per panel (24 with AVX2)
NR64 = TILE.columns(64)  # float64 columns per panel (12 with AVX2)
ROW_REPEAT_MAX = 4  # MR-row tiles up to this many rows also take a single row's last panels


def _fmuladd(mod, vt, bits, lanes):
    name = f"llvm.fmuladd.v{lanes}f{bits}"
    fn = mod.globals.get(name)
    if fn is None:
        fn = ir.Function(mod, ir.FunctionType(vt, [vt, vt, vt]), name)
    return fn


def _types(bits):
    ft = ir.DoubleType() if bits == 64 else ir.FloatType()
    lanes = VEC_BYTES * 8 // bits
    vt = ir.VectorType(ft, lanes)
    return ft, ir.PointerType(ft), vt, ir.PointerType(vt), lanes, NV * lanes


_I32, _I64 = ir.IntType(32), ir.IntType(64)


def _c(v):
    return ir.Constant(_I64, v)


def _min(bld, a, b):
    return bld.select(bld.icmp_signed("<", a, b), a, b)


def _no_unroll(mod, branch, vectorize=True):
    """Keep LLVM from unrolling (and, with ``vectorize=False``, vectorising) a loop: its
    copies are code that is optimised and emitted again in every kernel that links this one
    (cold compile time). The tile loops are wide already; the others are bookkeeping."""
    hints = [mod.add_metadata([ir.MetaDataString(mod, "llvm.loop.unroll.disable")])]
    if not vectorize:
        hints.append(mod.add_metadata([ir.MetaDataString(mod, "llvm.loop.vectorize.enable"),
                                       ir.Constant(ir.IntType(1), 0)]))
    loop_id = mod.add_metadata([None, *hints])
    loop_id.operands = (loop_id, *hints)
    branch.set_metadata("llvm.loop", loop_id)


@contextmanager
def _loop(bld, start, stop, step=1):
    """``for i in range(start, stop, step)`` (step > 0) in IR, neither unrolled nor
    vectorised; yields i."""
    mod = bld.module
    pre = bld.basic_block
    cond = bld.append_basic_block("for.cond")
    body = bld.append_basic_block("for.body")
    end = bld.append_basic_block("for.end")
    bld.branch(cond)
    bld.position_at_end(cond)
    i = bld.phi(_I64)
    i.add_incoming(start, pre)
    bld.cbranch(bld.icmp_signed("<", i, stop), body, end)
    bld.position_at_end(body)
    yield i
    nxt = bld.add(i, _c(step))
    i.add_incoming(nxt, bld.basic_block)
    _no_unroll(mod, bld.branch(cond), vectorize=False)
    bld.position_at_end(end)


def _define_tile(mod, bits, rows, panels):
    """``void tile(i64 K, i64 mr, i64 nc, T* a, i64 lda, T* b, i64 ldb, T* c, i64 ldc, T beta)``:
    for rows r < mr and the first nc of the ``panels * NR`` columns,
    C[r, q*NR + j] = sum_k a[r*lda + k] b[q*ldb + k*NR + j] (+ beta C[r, q*NR + j]): ``rows``
    rows of A times ``panels`` consecutive panels (``ldb`` numbers apart), with
    ``rows * panels * NV`` vector accumulators. Rows mr..rows-1 repeat row 0's arithmetic and are
    not stored. K >= 1."""
    name = f"rnn_tui_tile_f{bits}_{rows}x{panels}x{NV}x{VEC_BYTES}"
    if name in mod.globals:
        return mod.globals[name]
    ft, p, vt, pv, lanes, nr = _types(bits)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [_I64, _I64, _I64, p, _I64, p, _I64, p,
                                                          _I64, ft]), name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")  # called from a few places: one copy
    for a in (3, 5, 7):
        fn.args[a].add_attribute("noalias")
    K, mr, nc, a, lda, b, ldb, c, ldc, beta = fn.args
    fma = _fmuladd(mod, vt, bits, lanes)
    entry, loop, done = (fn.append_basic_block(n) for n in ("entry", "loop", "done"))
    bld = ir.IRBuilder(entry)
    width = panels * nr
    tmp = bld.alloca(ir.ArrayType(ft, width))  # the ragged last panel's tile row
    undef = ir.Constant(vt, ir.Undefined)
    splat0 = ir.Constant(ir.VectorType(_I32, lanes), [0] * lanes)
    align = bits // 8

    def splat(s):
        return bld.shuffle_vector(bld.insert_element(undef, s, ir.Constant(_I32, 0)), undef,
                                  splat0)

    arows = []
    for r in range(rows):  # rows past mr read row 0 again: always in bounds
        ok = bld.icmp_signed("<", _c(r), mr)
        arows.append(bld.gep(a, [bld.select(ok, bld.mul(lda, _c(r)), _c(0))]))
    bpans = [bld.gep(b, [bld.mul(ldb, _c(q))]) for q in range(panels)]
    bld.branch(loop)
    bld.position_at_end(loop)
    k = bld.phi(_I64)
    k.add_incoming(_c(0), entry)
    zero = ir.Constant(vt, [0.0] * lanes)
    acc = [[bld.phi(vt) for _ in range(panels * NV)] for _ in range(rows)]
    for row in acc:
        for ph in row:
            ph.add_incoming(zero, entry)
    kk = bld.mul(k, _c(nr))
    bv = []
    for q in range(panels):
        bk = bld.gep(bpans[q], [kk])
        bv += [bld.load(bld.bitcast(bld.gep(bk, [_c(v * lanes)]), pv), align=align)
               for v in range(NV)]
    new = []
    for r in range(rows):
        s = splat(bld.load(bld.gep(arows[r], [k]), align=align))
        new.append([bld.call(fma, [s, bv[v], acc[r][v]]) for v in range(panels * NV)])
    k1 = bld.add(k, _c(1))
    k.add_incoming(k1, loop)
    for r in range(rows):
        for v in range(panels * NV):
            acc[r][v].add_incoming(new[r][v], loop)
    _no_unroll(mod, bld.cbranch(bld.icmp_signed("<", k1, K), loop, done))
    # epilogue: the rows r < mr, plus beta C where beta != 0 (selected, not branched: C may hold
    # anything, even NaN, when beta = 0); a ragged panel goes through ``tmp``
    bld.position_at_end(done)
    bz = bld.fcmp_ordered("==", beta, ir.Constant(ft, 0.0))
    bvec = splat(beta)
    whole = bld.icmp_signed("==", nc, _c(width))
    for r in range(rows):
        store = fn.append_basic_block(f"store{r}")
        nxt = fn.append_basic_block(f"next{r}")
        bld.cbranch(bld.icmp_signed("<", _c(r), mr), store, nxt)
        bld.position_at_end(store)
        crow = bld.gep(c, [bld.mul(ldc, _c(r))])
        with bld.if_else(whole) as (full, ragged):
            with full:
                for v in range(panels * NV):
                    cp = bld.bitcast(bld.gep(crow, [_c(v * lanes)]), pv)
                    old = bld.call(fma, [bvec, bld.load(cp, align=align), new[r][v]])
                    bld.store(bld.select(bz, new[r][v], old), cp, align=align)
            with ragged:
                t0 = bld.gep(tmp, [_c(0), _c(0)])
                for v in range(panels * NV):
                    bld.store(new[r][v], bld.bitcast(bld.gep(t0, [_c(v * lanes)]), pv),
                              align=align)
                with _loop(bld, _c(0), nc) as j:
                    cp = bld.gep(crow, [j])
                    x = bld.load(bld.gep(t0, [j]))
                    withc = bld.fadd(x, bld.fmul(beta, bld.load(cp)))
                    bld.store(bld.select(bz, x, withc), cp)
        bld.branch(nxt)
        bld.position_at_end(nxt)
    bld.ret_void()
    return fn


def _define_gemm(mod, bits):
    """``void panel_gemm(i64 m, i64 n, i64 k, T* a, i64 lda, T* b, T* c, i64 ldc, T beta)``:
    C (m x n) = A (m x k) op(W) + beta C with op(W) packed into panels at ``b`` (see
    :func:`_define_pack`). Panel by panel, every block of MR rows of A passing over it while it
    stays in L1/L2, so W is read once per product; one row (a batch-1 step) takes four full
    panels at a time, and the rest through a one-row tile when MR > ROW_REPEAT_MAX."""
    name = f"rnn_tui_panel_gemm_f{bits}"
    if name in mod.globals:
        return mod.globals[name]
    ft, p, vt, pv, lanes, nr = _types(bits)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [_I64, _I64, _I64, p, _I64, p, p,
                                                          _I64, ft]), name)
    fn.linkage = "internal"
    m, n, k, a, lda, b, c, ldc, beta = fn.args
    tile = _define_tile(mod, bits, MR, 1)
    vec4 = _define_tile(mod, bits, 1, 4)
    # a batch-1 row's last panels: through a one-row tile where the MR-row tile would repeat
    # the row more than 3 times (MR = 8 at 16 lanes ran batch-1 training 22 % slower so)
    vec1 = _define_tile(mod, bits, 1, 1) if MR > ROW_REPEAT_MAX else tile
    bld = ir.IRBuilder(fn.append_basic_block("entry"))
    ldb = bld.mul(k, _c(nr))
    full = bld.sdiv(n, _c(nr))
    npan = bld.sdiv(bld.add(n, _c(nr - 1)), _c(nr))
    first = bld.alloca(_I64)  # the first panel the MR-row loop takes
    bld.store(_c(0), first)
    with bld.if_then(bld.icmp_signed("==", m, _c(1))):
        groups = bld.sdiv(full, _c(4))
        with _loop(bld, _c(0), groups) as g:
            p0 = bld.mul(g, _c(4))
            bld.call(vec4, [k, _c(1), _c(4 * nr), a, lda, bld.gep(b, [bld.mul(p0, ldb)]), ldb,
                            bld.gep(c, [bld.mul(p0, _c(nr))]), ldc, beta])
        bld.store(bld.mul(groups, _c(4)), first)
        if vec1 is not tile:
            with _loop(bld, bld.load(first), npan) as pp:
                col = bld.mul(pp, _c(nr))
                bld.call(vec1, [k, _c(1), _min(bld, _c(nr), bld.sub(n, col)), a, lda,
                                bld.gep(b, [bld.mul(pp, ldb)]), ldb, bld.gep(c, [col]), ldc,
                                beta])
            bld.store(npan, first)
    with _loop(bld, bld.load(first), npan) as pp:
        col = bld.mul(pp, _c(nr))
        nc = _min(bld, _c(nr), bld.sub(n, col))
        bp = bld.gep(b, [bld.mul(pp, ldb)])
        with _loop(bld, _c(0), m, MR) as i0:
            bld.call(tile, [k, _min(bld, _c(MR), bld.sub(m, i0)), nc,
                            bld.gep(a, [bld.mul(i0, lda)]), lda, bp, ldb,
                            bld.gep(c, [bld.add(bld.mul(i0, ldc), col)]), ldc, beta])
    bld.ret_void()
    return fn


def _define_pack(mod, bits):
    """``void pack(T* w, i64 n, i64 k, i64 sj, i64 sk, T* buf)``: op(W)[kk, j] = w[j*sj + kk*sk]
    (n columns, k rows) into panels, panel p's row kk at buf[(p*k + kk)*NR]; ``buf`` is zeroed
    beforehand (the last panel's padding). W's rows are copied in order; W^T (``sj`` != 1) in
    blocks of 64 rows that stay in L1 (a plain transposing loop read 24 rows 4 KB apart, which
    share L1 sets, and ran 25 % slower)."""
    name = f"rnn_tui_pack_f{bits}"
    if name in mod.globals:
        return mod.globals[name]
    ft, p, vt, pv, lanes, nr = _types(bits)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [p, _I64, _I64, _I64, _I64, p]), name)
    fn.linkage = "internal"
    w, n, k, sj, sk, buf = fn.args
    bld = ir.IRBuilder(fn.append_basic_block("entry"))
    npan = bld.sdiv(bld.add(n, _c(nr - 1)), _c(nr))
    rowwise = bld.icmp_signed("==", sj, _c(1))
    with _loop(bld, _c(0), npan) as pp:
        col = bld.mul(pp, _c(nr))
        nc = _min(bld, _c(nr), bld.sub(n, col))
        panel = bld.gep(buf, [bld.mul(pp, bld.mul(k, _c(nr)))])
        base = bld.gep(w, [bld.mul(col, sj)])
        with bld.if_else(rowwise) as (plain, transposed):
            with plain:  # W's rows: contiguous runs of nc numbers, read and written in order
                with _loop(bld, _c(0), k) as kk:
                    src = bld.gep(base, [bld.mul(kk, sk)])
                    dst = bld.gep(panel, [bld.mul(kk, _c(nr))])
                    with bld.if_else(bld.icmp_signed("==", nc, _c(nr))) as (whole, ragged):
                        with whole:  # NV vectors, written out (the vectoriser costs compile time)
                            for v in range(NV):
                                off = [_c(v * lanes)]
                                x = bld.load(bld.bitcast(bld.gep(src, off), pv), align=bits // 8)
                                bld.store(x, bld.bitcast(bld.gep(dst, off), pv), align=bits // 8)
                        with ragged:
                            with _loop(bld, _c(0), nc) as j:
                                bld.store(bld.load(bld.gep(src, [j])), bld.gep(dst, [j]))
            with transposed:  # W's columns: blocks of 64 rows, which stay in L1
                with _loop(bld, _c(0), k, 64) as kb:
                    stop = _min(bld, bld.add(kb, _c(64)), k)
                    with _loop(bld, _c(0), nc) as j:
                        src = bld.gep(base, [bld.mul(j, sj)])
                        with _loop(bld, kb, stop) as kk:
                            x = bld.load(bld.gep(src, [bld.mul(kk, sk)]))
                            bld.store(x, bld.gep(panel, [bld.add(bld.mul(kk, _c(nr)), j)]))
    bld.ret_void()
    return fn


def _ptr(builder, v, bits):
    return builder.inttoptr(v, ir.PointerType(_types(bits)[0]))


def _i64(builder, v):
    return v if v.type == _I64 else builder.sext(v, _I64)


@intrinsic
def panel_gemm(typingctx, m, n, k, a, lda, b, c, ldc, beta):
    """C (m x n) = A op(W) + beta C from the panels at ``b``; pointers arrive as integers and
    ``beta``'s float type chooses float32 (NR32 columns a panel) or float64 (NR64)."""
    sig = types.void(m, n, k, a, lda, b, c, ldc, beta)

    def codegen(context, builder, signature, args):
        bits = signature.args[8].bitwidth
        fn = _define_gemm(builder.module, bits)
        i = [_i64(builder, v) for v in args[:8]]
        builder.call(fn, [i[0], i[1], i[2], _ptr(builder, i[3], bits), i[4],
                          _ptr(builder, i[5], bits), _ptr(builder, i[6], bits), i[7], args[8]])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def pack_panels(typingctx, w, n, k, sj, sk, buf, one):
    """Pack op(W) (element [kk, j] at w[j*sj + kk*sk], n columns, k rows) into the zeroed
    ``buf``; ``one``'s float type is W's."""
    sig = types.void(w, n, k, sj, sk, buf, one)

    def codegen(context, builder, signature, args):
        bits = signature.args[6].bitwidth
        fn = _define_pack(builder.module, bits)
        i = [_i64(builder, v) for v in args[:6]]
        builder.call(fn, [_ptr(builder, i[0], bits), i[1], i[2], i[3], i[4],
                          _ptr(builder, i[5], bits)])
        return context.get_dummy_value()

    return sig, codegen
