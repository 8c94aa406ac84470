r"""Fused generation: n tokens for one sequence in one GIL-free kernel call (or two, one per core).

Per token: embedding row (or one-hot row of ``W_ih``), every layer's step as matrix-vector products
(``y += h_k W[k, :]`` row by row, which streams each weight matrix once and vectorises), the
head, then a draw from :math:`\mathrm{softmax}(z/\tau)`, optionally restricted to the top k, using
a uniform number supplied by the caller (so a seeded NumPy generator makes it repeatable).

Batch-1 generation is bound by reading the weights. For large models two threads share each
token: each owns half the units of every layer (and half the logits) and reads only its columns,
from its own core's L2; they meet at a spin barrier (:mod:`rnn_tui.core.fast.sync`) after each layer
and after the logits, and draw the same token from the same numbers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from rnn_tui.core.cells import CELL_CODES, GRU, LSTM, RNN_RELU, RNN_SIGMOID
from rnn_tui.core.fast._jit import kernel
from rnn_tui.core.fast.ahead import SAMPLING, wait_ahead
from rnn_tui.core.fast.blas import NO_TRANS, blas_handle, mm, set_threads_local
from rnn_tui.core.fast.mathfn import exp_nonpositive, sigmoid, tanh
from rnn_tui.core.fast.sync import STRIDE, barrier, yield_address
from rnn_tui.core.params import stack_offsets

PAD = 64  # elements kept free around each thread's private buffers
DEFAULT_L2_BYTES = 1 << 20  # one core's L2 where the caller does not say


@kernel(internal=True, full_llvm=True)
def _vecmat(x, W, n, out):
    """``out[:n] = x W[:, :n]`` for W (K, >= n). Eight rows at a time (axpy form): each pass
    over ``out`` adds eight rows, so the loop is bound by reading W, not by storing ``out``
    (measured: 9.5 us against 12.3 us with four rows for 256 x 768). (Loops run over views from
    index 0: a loop from a run-time start keeps Numba's negative-index check and does not
    vectorise, 4x slower.)"""
    K = x.shape[0]
    o = out[0:n]
    for j in range(n):
        o[j] = 0.0
    k = 0
    while k + 8 <= K:
        x0, x1, x2, x3 = x[k], x[k + 1], x[k + 2], x[k + 3]
        x4, x5, x6, x7 = x[k + 4], x[k + 5], x[k + 6], x[k + 7]
        r0, r1, r2, r3 = W[k, 0:n], W[k + 1, 0:n], W[k + 2, 0:n], W[k + 3, 0:n]
        r4, r5, r6, r7 = W[k + 4, 0:n], W[k + 5, 0:n], W[k + 6, 0:n], W[k + 7, 0:n]
        for j in range(n):
            o[j] += ((x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j])
                     + (x4 * r4[j] + x5 * r5[j] + x6 * r6[j] + x7 * r7[j]))
        k += 8
    while k < K:
        xk = x[k]
        row = W[k, 0:n]
        for j in range(n):
            o[j] += xk * row[j]
        k += 1


@kernel(internal=True, full_llvm=True)
def _vecmat_reversed(x, W, n, out):
    """``out[:n] = x W[:, :n]`` like :func:`_vecmat`, reading the rows in the
    opposite order: the rows past the last multiple of eight, then the eight-row blocks from the
    last to the first. Alternating the two token by token, each product starts on the rows the
    previous one read last, which are still in the core's L2 when the matrix is larger than
    L2 (with one order throughout, each row has been evicted by the time it is read again).
    GRU H512 split over two cores (1.6 MB a core, 1 MB L2): 26.3 against 28.8 us a token."""
    K = x.shape[0]
    o = out[0:n]
    for j in range(n):
        o[j] = 0.0
    k = K - 1
    while k >= 0 and (k + 1) % 8 != 0:
        xk = x[k]
        row = W[k, 0:n]
        for j in range(n):
            o[j] += xk * row[j]
        k -= 1
    k -= 7  # the first row of the last whole block
    while k >= 0:
        x0, x1, x2, x3 = x[k], x[k + 1], x[k + 2], x[k + 3]
        x4, x5, x6, x7 = x[k + 4], x[k + 5], x[k + 6], x[k + 7]
        r0, r1, r2, r3 = W[k, 0:n], W[k + 1, 0:n], W[k + 2, 0:n], W[k + 3, 0:n]
        r4, r5, r6, r7 = W[k + 4, 0:n], W[k + 5, 0:n], W[k + 6, 0:n], W[k + 7, 0:n]
        for j in range(n):
            o[j] += ((x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j])
                     + (x4 * r4[j] + x5 * r5[j] + x6 * r6[j] + x7 * r7[j]))
        k -= 8


@kernel(internal=True)
def _kth_largest(z, k, work):
    """The k-th largest of ``z`` (1 <= k <= len(z)), by quickselect on ``work`` (a copy);
    expected O(V). (``np.sort`` would compile Numba's generic quicksort into the sampler.)"""
    V = z.shape[0]
    for v in range(V):
        work[v] = z[v]
    want = V - k  # its index in ascending order
    lo, hi = 0, V - 1
    while lo < hi:
        pivot = work[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while work[i] < pivot:
                i += 1
            while work[j] > pivot:
                j -= 1
            if i <= j:
                work[i], work[j] = work[j], work[i]
                i += 1
                j -= 1
        if want <= j:
            hi = j
        elif want >= i:
            lo = i
        else:
            break
    return work[want]


@kernel(internal=True)
def _own_columns(W, G, u0, u1, out):
    """``out`` (R, G*(u1-u0)) = the columns of units [u0, u1) of each of the G blocks of W."""
    R = W.shape[0]
    H = W.shape[1] // G
    q = u1 - u0
    for r in range(R):
        for g in range(G):
            # views from index 0, so that the copy vectorises (see _vecmat): indexing
            # from a run-time start copied one number at a time, ~0.4 ms for GRU H512's half
            src = W[r, g * H + u0 : g * H + u1]
            dst = out[r, g * q : (g + 1) * q]
            for j in range(q):
                dst[j] = src[j]


@kernel(full_llvm=True)
def generate(part, nparts, sync, yield_fn, data, offs, table, cell, L, H, V, h, c, hbuf, logit,
             scratch, alternate, token, n, temperature, top_k, uniforms, out):
    """Generate ``n`` tokens after ``token``, updating ``h``/``c`` (L, H) in place.

    ``offs`` (L+1, 4) holds the flat offsets of each layer's W_ih, W_hh, b_ih, b_hh, and in its
    last row those of the head. ``table`` (V, G*H) is layer 0's input projection of every token
    (the rows of W_ih for one-hot input, ``embed @ W_ih`` for an embedding), so layer 0 reads
    one row instead of a matrix.

    Run by ``nparts`` threads at once (``part`` = this thread's index), each owns the units
    [part*H/nparts, (part+1)*H/nparts) of every layer and the same share of the logits, so it
    reads only its columns of every weight matrix. ``hbuf`` (2, L, H) holds the states of the
    previous and the current token (index 0 = ``h`` on entry); ``logit`` (V,) and ``sync`` (see
    :mod:`rnn_tui.core.fast.sync`) are shared; ``scratch`` (nparts, 3*G*H + V + 2*PAD, plus room
    for a thread's columns of every matrix when split: :func:`scratch_width`) gives each thread
    its own row. The threads meet after every layer and after the
    logits; each then draws the same token from the same numbers. With ``alternate`` (see
    :func:`alternates`) each token's product with W_hh runs over the rows in the opposite
    order to the previous one's (:func:`_vecmat_reversed`). Returns the last token."""
    G = 4 if cell == LSTM else (3 if cell == GRU else 1)
    GH = G * H
    u0, u1 = part * H // nparts, (part + 1) * H // nparts
    v0, v1 = part * V // nparts, (part + 1) * V // nparts
    hw_off, hb_off = offs[L, 1], offs[L, 2]
    nu, nv = u1 - u0, v1 - v0
    Gq = G * nu
    # private buffers, padded apart: two threads writing neighbouring bytes of one cache line
    # (separate small allocations can be neighbours) slowed a token five-fold
    sc = scratch[part]
    xg, rec, pre = sc[PAD : PAD + Gq], sc[PAD + Gq : PAD + 2 * Gq], sc[PAD + 2 * Gq : PAD + 3 * Gq]
    mine = sc[PAD + 3 * Gq : PAD + 3 * Gq + nv]
    zbuf = np.empty(V + 2 * PAD, dtype=np.float64)
    z = zbuf[PAD : PAD + V]
    zsel = np.empty(V if 0 < top_k < V else 0, dtype=np.float64)
    HW = data[hw_off : hw_off + H * V].reshape((H, V))
    hb = data[hb_off : hb_off + V]
    # Split, each thread copies its columns of every matrix side by side (gate g of its units at
    # g*nu): one contiguous stream to read per token, 20 % faster than the column blocks in
    # place (GRU H256: 4.3 against 5.3 us). Alone, the matrices are already in that order.
    split = nparts > 1
    # (in ``scratch``, past the vectors: the caller keeps that buffer from call to call, as
    # fresh megabytes would page-fault at every call, ~0.4 ms of a 200-token GRU H512 call)
    wo = 3 * GH + V + 2 * PAD
    nw = L * H * Gq if split else 0
    Whh_p = sc[wo : wo + nw].reshape((L if split else 0, H, Gq))
    Wih_p = sc[wo + nw : wo + 2 * nw].reshape((L if split else 0, H, Gq))
    HW_p = sc[wo + 2 * nw : wo + 2 * nw + (H * nv if split else 0)].reshape(
        (H, nv if split else 0))
    if split:
        for layer in range(L):
            _own_columns(data[offs[layer, 1] : offs[layer, 1] + H * GH].reshape((H, GH)), G,
                         u0, u1, Whh_p[layer])
            if layer > 0:
                _own_columns(data[offs[layer, 0] : offs[layer, 0] + H * GH].reshape((H, GH)),
                             G, u0, u1, Wih_p[layer])
        _own_columns(HW, np.int64(1), v0, v1, HW_p)
    HWs = HW_p if split else HW
    inv_t = 1.0 / temperature
    bar = 0
    for s in range(n):
        cur = s % 2
        nxt = 1 - cur
        for layer in range(L):
            if split:
                W_hh = Whh_p[layer]
            else:
                W_hh = data[offs[layer, 1] : offs[layer, 1] + H * GH].reshape((H, GH))
            b_ih = data[offs[layer, 2] : offs[layer, 2] + GH]
            b_hh = data[offs[layer, 3] : offs[layer, 3] + GH]
            if layer == 0:
                xs = table[token]  # every unit, in the natural order
            else:
                if split:
                    W_ih = Wih_p[layer]
                else:
                    W_ih = data[offs[layer, 0] : offs[layer, 0] + H * GH].reshape((H, GH))
                _vecmat(hbuf[nxt, layer - 1], W_ih, Gq, xg)
                xs = xg
            hold = hbuf[cur, layer]
            hl = hbuf[nxt, layer]
            # with ``alternate`` (the weights this thread reads per token exceed its core's L2)
            # every other token from the last row (see _vecmat_reversed), the first so: the
            # copy of this thread's columns above left its last rows in L2
            if alternate and s % 2 == 0:
                _vecmat_reversed(hold, W_hh, Gq, rec)
            else:
                _vecmat(hold, W_hh, Gq, rec)
            # the gate pre-activations of this thread's units: a_g = x_g + b_ih_g + rec_g + b_hh_g
            # (views from index 0 so that the loops vectorise; see _vecmat)
            for g in range(G):
                xa = g * H + u0 if layer == 0 else g * nu
                a, b = g * H + u0, g * H + u1
                x_, bi, bh = xs[xa : xa + nu], b_ih[a:b], b_hh[a:b]
                dst, r_ = pre[g * nu : (g + 1) * nu], rec[g * nu : (g + 1) * nu]
                if cell == GRU and g == 2:  # GRU: n = tanh(x_n + b_in + r (W_hn h + b_hn))
                    for j in range(nu):
                        dst[j] = x_[j] + bi[j]
                        r_[j] = r_[j] + bh[j]
                else:
                    for j in range(nu):
                        dst[j] = x_[j] + bi[j] + r_[j] + bh[j]
            hn_, ho = hl[u0:u1], hold[u0:u1]
            p0 = pre[0:nu]
            if cell == GRU:
                p1, p2, hr = pre[nu : 2 * nu], pre[2 * nu : 3 * nu], rec[2 * nu : 3 * nu]
                for j in range(nu):
                    r = sigmoid(p0[j])
                    u = sigmoid(p1[j])
                    nn = tanh(p2[j] + r * hr[j])
                    hn_[j] = (1.0 - u) * nn + u * ho[j]
            elif cell == LSTM:
                p1, p2, p3 = pre[nu : 2 * nu], pre[2 * nu : 3 * nu], pre[3 * nu : 4 * nu]
                cl = c[layer, u0:u1]
                for j in range(nu):
                    cc = sigmoid(p1[j]) * cl[j] + sigmoid(p0[j]) * tanh(p2[j])
                    cl[j] = cc
                    hn_[j] = sigmoid(p3[j]) * tanh(cc)
            elif cell == RNN_RELU:
                for j in range(nu):
                    hn_[j] = max(p0[j], 0.0)
            elif cell == RNN_SIGMOID:
                for j in range(nu):
                    hn_[j] = sigmoid(p0[j])
            else:
                for j in range(nu):
                    hn_[j] = tanh(p0[j])
            bar += 1
            barrier(sync, part, nparts, bar, yield_fn)
        # head (this thread's share of the logits), then the same draw in every thread
        # (into a private buffer, then copied once: the threads' shares of ``logit`` meet inside
        # one cache line, which would bounce between the cores at every pass over the rows)
        _vecmat(hbuf[nxt, L - 1], HWs, nv, mine)  # (alone, nv = V)
        for v in range(nv):
            logit[v0 + v] = mine[v]
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
        for v in range(V):
            z[v] = logit[v] + hb[v]
        m = -np.inf
        for v in range(V):
            z[v] *= inv_t
            if z[v] > m:
                m = z[v]
        cut = -np.inf
        if 0 < top_k < V:
            cut = _kth_largest(z, top_k, zsel)
        total = 0.0
        for v in range(V):
            e = exp_nonpositive(z[v] - m) if z[v] >= cut else 0.0
            z[v] = e
            total += e
        target = uniforms[s] * total
        acc = 0.0
        pick = V - 1
        for v in range(V):
            acc += z[v]
            if acc > target and z[v] > 0.0:
                pick = v
                break
        if part == 0:
            out[s] = pick
        token = pick
    if n > 0:
        last = hbuf[n % 2]
        for layer in range(L):
            for j in range(u0, u1):
                h[layer, j] = last[layer, j]
    return token


# Split generation over two threads only where it pays: the recurrent weights must be large
# enough that reading them dominates a token and the chunk long enough to amortise starting the
# second thread and copying its columns. Measured (tok/s, one thread vs two): GRU H256 93k vs
# 164k, LSTM H128 239k vs 334k, GRU H128 312k vs 354k (196 KB), RNN H128 581k vs 551k (65 KB).
SPLIT_MIN_WEIGHT_BYTES = 128 * 1024
SPLIT_MIN_TOKENS = 16
_pool = None
_split_lock = threading.Lock()


def split_parts(net, n: int, threads: int, other_load: Callable[[], float]) -> int:
    """How many threads :func:`generate_tokens` uses for ``n`` tokens: 2 when the run may use
    ``threads`` >= 2 cores, no other process has kept a core busy lately (``other_load()``, in
    cores, at most 0.5) and the recurrent weights are large, else 1. (With both cores busy
    elsewhere, the split ran at 16k tok/s against 85k on one thread: a spinning thread waits
    for one that is not running.)"""
    spec = net.spec
    w_bytes = spec.layers * spec.gates * spec.hidden ** 2 * net.params.data.itemsize
    if not (threads >= 2 and (os.cpu_count() or 1) >= 2):
        return 1
    if n < SPLIT_MIN_TOKENS or w_bytes < SPLIT_MIN_WEIGHT_BYTES:
        return 1
    return 1 if other_load() > 0.5 else 2


def generate_tokens(net, token: int, n: int, h: np.ndarray, c: np.ndarray | None,
                    temperature: float, top_k: int, uniforms: np.ndarray,
                    parts: int = 1, l2_bytes: int = DEFAULT_L2_BYTES) -> np.ndarray:
    """Draw ``n`` tokens following ``token``; ``h``/``c`` (L, H) are updated in place.
    ``parts`` threads share the work (:func:`split_parts` says how many pay); ``l2_bytes`` is
    the size of one core's L2 cache (:func:`alternates`). Held to
    :func:`rnn_tui.core.reference.generate`."""
    spec = net.spec
    if spec.input_mode == "real":
        raise ValueError("generation needs token input")
    parts = max(1, min(int(parts), 2, spec.hidden))
    wait_ahead(SAMPLING)
    out = np.empty(n, dtype=np.int64)
    # The kernel is float32 only (float64 networks exist for gradient checks): a float64
    # network generates from a float32 copy of its weights and state.
    f32 = np.float32
    data = np.asarray(net.params.data, dtype=f32)  # no copy for a float32 network
    views = net.params.w if data is net.params.data else net.params.layout.views(data)
    hr = np.asarray(h, dtype=f32)
    cr = np.zeros((1, 1), dtype=f32) if c is None else np.asarray(c, dtype=f32)
    table = views["l0.W_ih"]
    if spec.input_mode == "embedding":
        table = _input_table(np.ascontiguousarray(views["embed.W"]),
                             np.ascontiguousarray(table))
    hbuf = np.empty((2, *h.shape), dtype=f32)
    hbuf[0] = hr
    sync = np.zeros(parts * STRIDE, dtype=np.int64)
    args = (sync, yield_address(), data, stack_offsets(net.params.layout, spec.layers),
            np.ascontiguousarray(table), CELL_CODES[spec.cell], spec.layers, spec.hidden,
            spec.output_size, hr, cr, hbuf, np.empty(spec.output_size, dtype=f32))
    rest = (int(token), int(n), float(temperature), int(top_k),
            np.ascontiguousarray(uniforms, dtype=np.float64), out)
    _run_generate(parts, args, rest, spec, l2_bytes)
    if hr is not h:
        h[...] = hr
    if c is not None and cr is not c:
        c[...] = cr
    return out


_table_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def _input_table(emb: np.ndarray, W_ih: np.ndarray) -> np.ndarray:
    """``emb @ W_ih`` (float32), kept from the previous call while both are unchanged: a
    sample is drawn in chunks of up to 64 tokens, and the product (65 x 64 @ 64 x 1536 for GRU
    H512: 0.17 ms) cost more than comparing the two (the weights change between training
    steps, so the comparison, not a version number, decides)."""
    global _table_cache
    cached = _table_cache
    if (cached is not None and cached[0].shape == emb.shape and cached[1].shape == W_ih.shape
            and np.array_equal(cached[0], emb) and np.array_equal(cached[1], W_ih)):
        return cached[2]
    prod = np.empty((emb.shape[0], W_ih.shape[1]), dtype=np.float32)
    # through the kernels' BLAS on one thread: a BLAS call on two threads (NumPy's ``@``, or
    # ``mm`` with the process's threads) wakes OpenBLAS's own thread, which then spins on the
    # core the second generating thread needs (GRU H512, two parts: 8.1k tok/s against 28-31k)
    prev = set_threads_local(1)
    try:
        mm(blas_handle(), emb, W_ih, prod, NO_TRANS, NO_TRANS, 0.0)
    finally:
        if prev is not None:
            set_threads_local(prev)
    _table_cache = (emb.copy(), W_ih.copy(), prod)
    return prod


def scratch_width(spec, split: bool) -> int:
    """Numbers in each thread's row of :func:`generate`'s ``scratch``: its vectors, and when
    the units are split its columns of every layer's W_hh and W_ih and of the head."""
    G, H, L, V = spec.gates, spec.hidden, spec.layers, spec.output_size
    width = 3 * G * H + V + 2 * PAD
    if split:
        width += 2 * L * H * G * ((H + 1) // 2) + H * ((V + 1) // 2)
    return width


def streamed_bytes(spec, parts: int) -> int:
    """float32 weights one of ``parts`` threads reads per generated token: its columns of
    every layer's W_hh and of the upper layers' W_ih, and its share of the head."""
    G, H, L, V = spec.gates, spec.hidden, spec.layers, spec.output_size
    nu, nv = -(-H // parts), -(-V // parts)
    return 4 * ((2 * L - 1) * H * G * nu + H * nv)


def alternates(spec, parts: int, l2_bytes: int) -> bool:
    """Whether :func:`generate` reads W_hh in alternate directions token by token: only where
    a thread's weights are larger than its core's L2 of ``l2_bytes`` (GRU H512 split: 7 % more
    tokens a second); where they fit, the reversed pass was up to 5 % slower (RNN H256)."""
    return streamed_bytes(spec, parts) > l2_bytes


_split_scratch: np.ndarray | None = None


def _run_generate(parts: int, args: tuple, rest: tuple, spec, l2_bytes: int) -> None:
    global _pool, _split_scratch
    # one split generation at a time: a second would queue its helper behind the first's while
    # its own half spun at the barrier; it runs on one thread instead
    if parts == 1 or not _split_lock.acquire(blocking=False):
        generate(0, 1, *args, np.empty((1, scratch_width(spec, False)), dtype=np.float32),
                 alternates(spec, 1, l2_bytes), *rest)
        return
    try:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(1, thread_name_prefix="rnn-tui-sample")
        width = scratch_width(spec, True)
        if _split_scratch is None or _split_scratch.shape != (2, width):
            _split_scratch = np.empty((2, width), dtype=np.float32)
        full = (*args, _split_scratch, alternates(spec, 2, l2_bytes), *rest)
        helper = _pool.submit(generate, 1, 2, *full)
        generate(0, 2, *full)
        helper.result()
    finally:
        _split_lock.release()
