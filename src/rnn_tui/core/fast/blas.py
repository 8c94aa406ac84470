"""Matrix products inside kernels, straight from NumPy's own BLAS.

Numba's ``np.dot`` calls SciPy's OpenBLAS, which here ran skinny float32 products (32 x 256 @
256 x 1024) at ~50 GFLOP/s against ~70 for NumPy's newer copy; it also cannot transpose operands or
accumulate (``beta = 1``) without temporaries. So kernels call ``?gemm`` through a function pointer
passed in as an integer: the compiled code stays cacheable (no address baked in) and the whole time
loop, with every product, runs in one GIL-free call.

``BLAS`` is a tuple of integers ``(kind, sgemm, dgemm, s_pack_size, d_pack_size, s_pack, d_pack,
s_compute, d_compute)``, ``kind`` a :class:`BlasKind`: ``MKL`` = Intel MKL (``cblas_?gemm_64``,
ILP64), with its packed-matrix API; ``OPENBLAS`` = CBLAS with 64-bit integers (NumPy's bundled
``scipy_openblas64_``); ``SCIPY`` = Fortran ``sgemm_`` with 32-bit integers from
``scipy.linalg.cython_blas`` (where NumPy's library is not found, e.g. a NumPy built on macOS's
Accelerate; SciPy is a dependency only there). The pack entries are 0 but for MKL.

Why MKL where it is installed (the ``[mkl]`` extra, x86-64 Linux): the recurrent product of a
training step is a short, wide one (16 x 256 @ 256 x 1024 per worker) repeated T times with the
same weights. On the Intel machine of docs/performance.md OpenBLAS ran it at ~82 GFLOP/s (and at
~47 with the weights transposed, as the backward pass needs), MKL's ``sgemm`` at ~149 and MKL
with the weights packed once per sequence (``cblas_sgemm_pack`` + ``cblas_sgemm_compute``) at
~175 (both directions). On an AMD EPYC it gained nothing, so MKL (~940 MB) is an extra. MKL runs
sequential (one thread per caller): the fused step already puts one worker on each core.
``RNN_TUI_BLAS=openblas`` forces NumPy's OpenBLAS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import functools
import os
import sys

import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from rnn_tui.core.fast._jit import call_by_address, kernel
from rnn_tui.core.fast.ukernel import NR32, NR64, pack_panels, panel_gemm


class BlasKind(enum.IntEnum):
    """Which BLAS a ``BLAS`` tuple reaches (its first entry; kernels compare against these)."""

    OPENBLAS = 1  # CBLAS with 64-bit integers: NumPy's own OpenBLAS
    SCIPY = 2  # Fortran ?gemm_ with 32-bit integers, from SciPy
    MKL = 3  # Intel MKL's ILP64 CBLAS, with its packed-matrix API


# CBLAS enum values. NumPy integers, not Python ints: Numba types a Python int constant passed to
# a kernel as a literal and compiles one specialisation per value (and per omitted default);
# with these, ``mm`` and what it calls compile once per float type (cold compile -4 s).
NO_TRANS, TRANS = np.int64(111), np.int64(112)
PLAIN, TRANSPOSED = np.bool_(False), np.bool_(True)  # for rec_prepare / rec_mm
_ROW_MAJOR = 101
_B_MATRIX, _PACKED = 162, 151  # MKL's CBLAS_IDENTIFIER and CblasPacked


@functools.lru_cache(maxsize=1)
def _numpy_blas_lib():
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        path = info.get("filepath", "")
        if info.get("user_api") == "blas" and "numpy" in path:
            return ctypes.CDLL(path)
    return None


def set_threads_local(n: int) -> int | None:
    """Set the number of BLAS threads for the *calling thread only* (OpenBLAS >= 0.3.27's
    ``openblas_set_num_threads_local``); returns the previous value, or None if unsupported."""
    try:
        lib = _numpy_blas_lib()
        fn = getattr(lib, "openblas_set_num_threads_local", None) if lib else None
    except Exception:  # noqa: BLE001
        return None
    if fn is None:
        return None
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_int]
    return int(fn(int(n)))


_MKL_SEQUENTIAL = 1  # MKL_THREADING_SEQUENTIAL
_MKL_NAMES = ("libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so")


def _mkl_candidates() -> list[str]:
    import site

    dirs = [sys.prefix, sys.exec_prefix, sys.base_prefix]
    try:
        dirs.append(site.getuserbase())
    except Exception:  # noqa: BLE001
        pass
    out = [os.path.join(d, "lib", n) for d in dict.fromkeys(dirs) for n in _MKL_NAMES]
    found = ctypes.util.find_library("mkl_rt")
    if found:
        out.append(found)
    return [p for p in out if os.path.sep not in p or os.path.exists(p)]


@functools.lru_cache(maxsize=1)
def _mkl_lib():
    """MKL's single dynamic library (the ``mkl`` wheel puts it in ``<prefix>/lib``), set to run
    sequentially, or None."""
    if os.environ.get("RNN_TUI_BLAS", "").lower() in ("openblas", "numpy"):
        return None
    os.environ.setdefault("MKL_THREADING_LAYER", "SEQUENTIAL")
    for path in _mkl_candidates():
        try:
            lib = ctypes.CDLL(path)
            lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
            lib.MKL_Set_Threading_Layer(_MKL_SEQUENTIAL)
            for name in ("sgemm", "dgemm", "sgemm_pack_get_size", "sgemm_pack", "sgemm_compute"):
                getattr(lib, f"cblas_{name}_64")
            return lib
        except (OSError, AttributeError):
            continue
    return None


def blas_name() -> str:
    """Which BLAS the kernels call: ``"mkl"``, ``"openblas"`` or ``"scipy"``."""
    return BlasKind(blas_handle()[0]).name.lower()


@functools.lru_cache(maxsize=1)
def blas_handle() -> tuple[int, int, int, int, int, int, int, int, int]:
    """Find the BLAS once per process: MKL if installed, else NumPy's CBLAS, else SciPy's."""
    mkl = _mkl_lib()
    if mkl is not None:
        f = [_addr(getattr(mkl, f"cblas_{p}gemm{n}_64")) for n in ("", "_pack_get_size", "_pack",
                                                                    "_compute") for p in "sd"]
        return (int(BlasKind.MKL), *f)
    try:
        lib = _numpy_blas_lib()
        if lib is not None:
            for pre in ("scipy_", ""):
                for suf in ("64_", "_64"):
                    s = getattr(lib, f"{pre}cblas_sgemm{suf}", None)
                    d = getattr(lib, f"{pre}cblas_dgemm{suf}", None)
                    if s is not None and d is not None:
                        return (int(BlasKind.OPENBLAS), _addr(s), _addr(d), 0, 0, 0, 0, 0, 0)
    except Exception:  # noqa: BLE001 - any failure means: use the fallback
        pass
    try:
        import scipy.linalg.cython_blas as cb
    except ImportError:
        from rnn_tui.errors import UserError

        raise UserError("no BLAS for the kernels: NumPy's own OpenBLAS was not found (a NumPy "
                        "not from PyPI?) and SciPy, the fallback, is not installed; "
                        "pip install scipy") from None

    return (int(BlasKind.SCIPY), _capsule_addr(cb.__pyx_capi__["sgemm"]),
            _capsule_addr(cb.__pyx_capi__["dgemm"]), 0, 0, 0, 0, 0, 0)


def _addr(fn) -> int:
    return int(ctypes.cast(fn, ctypes.c_void_p).value)


def _capsule_addr(capsule) -> int:
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype = ctypes.c_void_p
    get_ptr.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return int(get_ptr(capsule, get_name(capsule)))


def _float_ir(ty):
    return ir.DoubleType() if ty.bitwidth == 64 else ir.FloatType()


@intrinsic
def _cblas64(typingctx, fptr, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Row-major ``cblas_?gemm`` with 64-bit integers; pointers arrive as integers."""
    sig = types.void(fptr, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        ft = _float_ir(signature.args[6])
        p = ir.PointerType(ft)
        fnty = ir.FunctionType(ir.VoidType(),
                               [i32, i32, i32, i64, i64, i64, ft, p, i64, p, i64, ft, p, i64])
        fn = builder.inttoptr(args[0], fnty.as_pointer())

        def i64v(v):
            return v if v.type == i64 else builder.sext(v, i64)

        builder.call(fn, [
            ir.Constant(i32, _ROW_MAJOR), builder.trunc(args[1], i32), builder.trunc(args[2], i32),
            i64v(args[3]), i64v(args[4]), i64v(args[5]), args[6],
            builder.inttoptr(args[7], p), i64v(args[8]), builder.inttoptr(args[9], p),
            i64v(args[10]), args[11], builder.inttoptr(args[12], p), i64v(args[13])])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _mkl_pack_size(typingctx, fptr, ident, m, n, k):
    """``cblas_?gemm_pack_get_size_64``: bytes needed to pack one operand."""
    sig = types.int64(fptr, ident, m, n, k)

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        fn = builder.inttoptr(args[0], ir.FunctionType(i64, [i32, i64, i64, i64]).as_pointer())
        ident = builder.trunc(args[1], i32)
        return builder.call(fn, [ident, *(_i64(builder, a) for a in args[2:])])

    return sig, codegen


@intrinsic
def _mkl_pack(typingctx, fptr, trans, m, n, k, alpha, src, ld, dest):
    """``cblas_?gemm_pack_64`` of the B operand, row-major."""
    sig = types.void(fptr, trans, m, n, k, alpha, src, ld, dest)

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        ft = _float_ir(signature.args[5])
        p = ir.PointerType(ft)
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, ft, p, i64, p])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(fn, [
            ir.Constant(i32, _ROW_MAJOR), ir.Constant(i32, _B_MATRIX), builder.trunc(args[1], i32),
            _i64(builder, args[2]), _i64(builder, args[3]), _i64(builder, args[4]), args[5],
            builder.inttoptr(args[6], p), _i64(builder, args[7]), builder.inttoptr(args[8], p)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _mkl_compute(typingctx, fptr, m, n, k, a, lda, b, beta, c, ldc):
    """``cblas_?gemm_compute_64``: C = A packed(B) + beta C, row-major, A not transposed."""
    sig = types.void(fptr, m, n, k, a, lda, b, beta, c, ldc)

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        ft = _float_ir(signature.args[7])
        p = ir.PointerType(ft)
        fnty = ir.FunctionType(ir.VoidType(), [i32, i64, i64, i64, i64, i64, p, i64, p, i64, ft,
                                               p, i64])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        n64 = _i64(builder, args[2])
        builder.call(fn, [
            ir.Constant(i32, _ROW_MAJOR), ir.Constant(i64, int(NO_TRANS)),
            ir.Constant(i64, _PACKED),
            _i64(builder, args[1]), n64, _i64(builder, args[3]), builder.inttoptr(args[4], p),
            _i64(builder, args[5]), builder.inttoptr(args[6], p), n64, args[7],
            builder.inttoptr(args[8], p), _i64(builder, args[9])])
        return context.get_dummy_value()

    return sig, codegen


def _i64(builder, v):
    i64 = ir.IntType(64)
    return v if v.type == i64 else builder.sext(v, i64)


@intrinsic
def _f77(typingctx, fptr, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Column-major Fortran ``?gemm_`` (every argument by reference, 32-bit integers)."""
    sig = types.void(fptr, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        i8, i32 = ir.IntType(8), ir.IntType(32)
        ft = _float_ir(signature.args[6])
        p = ir.PointerType(ft)
        pi8, pi32 = ir.PointerType(i8), ir.PointerType(i32)
        fnty = ir.FunctionType(ir.VoidType(), [pi8, pi8, pi32, pi32, pi32, p, p, pi32, p, pi32,
                                               p, p, pi32])
        fn = builder.inttoptr(args[0], fnty.as_pointer())

        def ref(v, ty):
            slot = builder.alloca(ty)
            builder.store(v, slot)
            return slot

        def ch(v):  # 111 -> 'N', 112 -> 'T'
            is_t = builder.icmp_signed("==", v, ir.Constant(v.type, int(TRANS)))
            return ref(builder.select(is_t, ir.Constant(i8, ord("T")), ir.Constant(i8, ord("N"))),
                       i8)

        def i32r(v):
            return ref(builder.trunc(v, i32) if v.type.width > 32 else v, i32)

        builder.call(fn, [
            ch(args[1]), ch(args[2]), i32r(args[3]), i32r(args[4]), i32r(args[5]),
            ref(args[6], ft), builder.inttoptr(args[7], p), i32r(args[8]),
            builder.inttoptr(args[9], p), i32r(args[10]), ref(args[11], ft),
            builder.inttoptr(args[12], p), i32r(args[13])])
        return context.get_dummy_value()

    return sig, codegen


@kernel(internal=True)
def gemm(blas, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Row-major C (m x n) = alpha op(A) op(B) + beta C on raw pointers ``a``, ``b``, ``c``
    (integers from ``arr.ctypes.data``), float type taken from ``alpha``."""
    fptr = blas[2] if isinstance_f64(alpha) else blas[1]
    if blas[0] != BlasKind.SCIPY:  # MKL and NumPy's OpenBLAS: CBLAS with 64-bit integers
        _cblas64(fptr, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    else:  # column-major: C^T = op(B)^T op(A)^T
        _f77(fptr, tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc)


def isinstance_f64(x):  # pragma: no cover - replaced by the overload
    return isinstance(x, np.float64)


from numba.extending import overload  # noqa: E402


@overload(isinstance_f64)
def _ol_isinstance_f64(x):
    is64 = isinstance(x, types.Float) and x.bitwidth == 64
    return lambda x: is64


# MKL: below this many multiply-adds a step, packing W for a sequence does not pay (batch-1
# steps). The micro-kernel's panels pay from two steps on, also at batch 1 (one Zen 4 core,
# T = 25, packing included, us a step: LSTM H128 6.7 against OpenBLAS's 19.7, H256 27 against
# 89, min-char-rnn's 100 x 100 1.3 against 2.3; OpenBLAS packs W again at every call), except
# for tiny weights.
PACK_MIN = 1 << 16
PANEL_MIN = 1 << 12


@kernel
def mm(blas, A, B, C, ta, tb, beta):
    """C = op(A) op(B) + beta C for C-contiguous 2-D arrays of one float type.

    Always a BLAS call, even for batch-1 products: MKL's small-matrix path (and OpenBLAS's)
    beat the plain loops this module used to have (min-char-rnn 242k -> 308k tok/s with MKL),
    and one code path less to compile into every caller."""
    m, n = C.shape
    k = A.shape[0] if ta == TRANS else A.shape[1]
    if m == 0 or n == 0:
        return
    bt = C.dtype.type(beta)
    if k == 0:  # BLAS wants leading dimensions >= 1: C = beta C by hand
        for i in range(m):
            ci = C[i]
            for j in range(n):
                ci[j] = 0 if bt == 0 else bt * ci[j]
        return
    gemm(blas, ta, tb, m, n, k, C.dtype.type(1.0), A.ctypes.data, A.shape[1], B.ctypes.data,
         B.shape[1], bt, C.ctypes.data, C.shape[1])


# ``mm`` as other kernels call it: its one compiled copy, not one linked into each caller
call_mm = call_by_address(mm)


@kernel(internal=True, by_address=True)
def rec_prepare(blas, W, trans, m, uses):
    """Prepare ``W`` (R x S) for :func:`rec_mm` with ``m`` rows on the left, ``uses`` times in a
    row (the T steps of a sequence).

    op(W) (W, or W^T when ``trans``) is packed once: with MKL into MKL's internal layout
    (``cblas_?gemm_pack``), otherwise into the panels of :mod:`rnn_tui.core.fast.ukernel` (``NR``
    columns each, ``K`` rows of ``NR`` contiguous numbers, the last panel padded with zeros).
    Returns the buffer (empty when the product is too small or W used once, so that packing
    would not pay: W is then used as it is)."""
    R, S = W.shape
    n, k = (R, S) if trans else (S, R)
    if uses < 2 or (m * n * k <= PACK_MIN if blas[0] == BlasKind.MKL else n * k < PANEL_MIN):
        return np.empty(0, dtype=W.dtype)
    one = W.dtype.type(1.0)
    f64 = isinstance_f64(one)
    if blas[0] == BlasKind.MKL:
        size = _mkl_pack_size(blas[4] if f64 else blas[3], _B_MATRIX, m, n, k)
        buf = np.empty(size // W.itemsize + 16, dtype=W.dtype)
        _mkl_pack(blas[6] if f64 else blas[5], TRANS if trans else NO_TRANS, m, n, k, one,
                  W.ctypes.data, S, buf.ctypes.data)
        return buf
    nr = NR64 if f64 else NR32
    buf = np.zeros((n + nr - 1) // nr * k * nr, dtype=W.dtype)  # padding stays 0
    pack_panels(W.ctypes.data, n, k, S if trans else 1, 1 if trans else S, buf.ctypes.data, one)
    return buf


@kernel(internal=True, by_address=True)
def copy_rows(src, dst):
    """``dst[:] = src`` for two (B, H) arrays of one shape. (Slice assignment would compile
    NumPy's broadcasting check and its error message formatting into every caller.)"""
    B, H = dst.shape
    for b in range(B):
        s, d = src[b], dst[b]
        for j in range(H):
            d[j] = s[j]


@kernel(internal=True, by_address=True)
def rec_mm(blas, A, W, prep, trans, C, beta):
    """C = A op(W) + beta C, with ``prep`` from :func:`rec_prepare` (same W, trans and rows)."""
    m, n = C.shape
    k = A.shape[1]
    if prep.size == 0:
        call_mm(blas, A, W, C, NO_TRANS, TRANS if trans else NO_TRANS, beta)
        return
    bt = C.dtype.type(beta)
    f64 = isinstance_f64(bt)
    if blas[0] == BlasKind.MKL:
        _mkl_compute(blas[8] if f64 else blas[7], m, n, k, A.ctypes.data,
                     A.shape[1], prep.ctypes.data, bt, C.ctypes.data, C.shape[1])
        return
    panel_gemm(m, n, k, A.ctypes.data, A.shape[1], prep.ctypes.data, C.ctypes.data,
               C.shape[1], bt)
