r"""The recurrence of one training step shared by two threads: columns for the product, rows for
the gates.

The fused step gives each worker half the batch. Run alone, each half's recurrent product per
step is a short one (16 x H @ H x 4H) that re-reads all of ``W_hh``; at H = 512 that is 4 MB a
step per core, more than a core's L2, and the two cores contend for L3. Here, in every step, each
worker multiplies the *whole* batch's h_{t-1} (B x H, shared) by *its own half of the units'
columns* of ``W_hh`` (H x 4H/2, packed once), so each core reads half the weights for twice the
rows: measured on this machine, 299 against 220 GFLOP/s for the two cores at H = 512 forward,
281 against 237 backward. The workers meet at a barrier (:mod:`rnn_tui.core.sync`), then each
finishes the gates of its own batch rows, taking the products of both halves from the shared
buffer, exactly as the one-worker kernels do (same ``_cell_rows`` / ``_back_rows``).

Backward, :math:`\delta h_{t-1}[:, u] = \delta A_t\, W_{hh}[u, :]^\top` for this worker's units
u, with every row's :math:`\delta A_t` copied into a shared (B x 4H) buffer first.

Shared buffers (allocated once by the caller): ``hfull`` (2, B, H) h_{t-1} and h_t of the whole
batch; ``prod`` (parts, B * G * qmax) each worker's product; ``dfull`` (B, G * H) the gate
gradients of the whole batch. ``b0`` is this worker's first row in the whole batch. Both workers
must call the same functions in the same order (they count barriers); ``bar`` is the running
count, returned updated.
"""

from __future__ import annotations

import numpy as np

from rnn_tui.core import gru, lstm
from rnn_tui.core._jit import kernel
from rnn_tui.core.blas import rec_mm, rec_prepare
from rnn_tui.core.sync import barrier


@kernel
def _units(part, nparts, H):
    return part * H // nparts, (part + 1) * H // nparts


@kernel
def _own_columns(W, G, u0, u1):
    """The columns of units [u0, u1) of each of the G gate blocks of W (R, G*H), side by side:
    (R, G*(u1-u0))."""
    R = W.shape[0]
    H = W.shape[1] // G
    q = u1 - u0
    out = np.empty((R, G * q), dtype=W.dtype)
    for r in range(R):
        src = W[r]
        dst = out[r]
        for g in range(G):
            a = g * H + u0
            for j in range(q):
                dst[g * q + j] = src[a + j]
    return out


@kernel
def _product_view(prod, part, B, width):
    return prod[part, : B * width].reshape((B, width))


@kernel
def _gather_gates(prod, nparts, b0, B, H, G, dst, add):
    """dst[b, g*H + u] (+)= the product of unit u's owner for row b0 + b, every gate g."""
    Bl = dst.shape[0]
    for q in range(nparts):
        a0, a1 = _units(q, nparts, H)
        w = a1 - a0
        src = _product_view(prod, q, B, G * w)
        for b in range(Bl):
            sb = src[b0 + b]
            db = dst[b]
            for g in range(G):
                d = db[g * H + a0 : g * H + a1]
                s = sb[g * w : (g + 1) * w]
                if add:
                    for j in range(w):
                        d[j] += s[j]
                else:
                    for j in range(w):
                        d[j] = s[j]


@kernel
def lstm_forward(blas, part, nparts, sync, bar, yield_fn, b0, gates, W_hh, h0, c0, hs, cs, tcs,
                 hfull, prod):
    """:func:`rnn_tui.core.lstm.forward_sequence` for this worker's rows (``gates``, ``h0``,
    ``c0``, ``hs``, ``cs``, ``tcs`` hold them), the product shared as above."""
    T, Bl, G4 = gates.shape
    H = G4 // 4
    B = hfull.shape[1]
    u0, u1 = _units(part, nparts, H)
    q = u1 - u0
    Wc = _own_columns(W_hh, 4, u0, u1)
    wp = rec_prepare(blas, Wc, False, B)
    hs[0] = h0
    cs[0] = c0
    for b in range(Bl):
        hfull[0, b0 + b] = h0[b]
    bar += 1
    barrier(sync, part, nparts, bar, yield_fn)
    mine = _product_view(prod, part, B, 4 * q)
    for t in range(T):
        cur = t % 2
        rec_mm(blas, hfull[cur], Wc, wp, False, mine, 0.0)
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
        gt = gates[t]
        _gather_gates(prod, nparts, b0, B, H, 4, gt, True)
        lstm._cell_rows(gt, cs[t], cs[t + 1], hs[t + 1], tcs[t])
        for b in range(Bl):
            hfull[1 - cur, b0 + b] = hs[t + 1, b]
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
    return bar


@kernel
def lstm_backward(blas, part, nparts, sync, bar, yield_fn, b0, dhs, W_hh, cs, gates, tcs, dA,
                  dh_norms, dfull, prod):
    """:func:`rnn_tui.core.lstm.backward_sequence` for this worker's rows with zero gradients on
    the final state; ``dh_norms`` gets this worker's rows' ||dL/dh_t||."""
    T, Bl, H = dhs.shape
    B = dfull.shape[0]
    u0, u1 = _units(part, nparts, H)
    q = u1 - u0
    Wr = np.ascontiguousarray(W_hh[u0:u1])
    wp = rec_prepare(blas, Wr, True, B)
    dh = np.zeros((Bl, H), dtype=dhs.dtype)
    dc = np.zeros((Bl, H), dtype=dhs.dtype)
    mine = _product_view(prod, part, B, q)
    for t in range(T - 1, -1, -1):
        da = dA[t]
        acc = lstm._back_rows(gates[t], da, dhs[t], cs[t], tcs[t], dh, dc)
        dh_norms[t] = np.sqrt(acc)
        for b in range(Bl):
            dfull[b0 + b] = da[b]
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
        rec_mm(blas, dfull, Wr, wp, True, mine, 0.0)
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
        _gather_gates(prod, nparts, b0, B, H, 1, dh, False)
    return bar


@kernel
def gru_forward(blas, part, nparts, sync, bar, yield_fn, b0, xg, W_hh, b_hn, h0, hs, gates, ghn,
                hfull, prod):
    """:func:`rnn_tui.core.gru.forward_sequence` for this worker's rows."""
    T, Bl, G3 = xg.shape
    H = G3 // 3
    B = hfull.shape[1]
    u0, u1 = _units(part, nparts, H)
    q = u1 - u0
    Wc = _own_columns(W_hh, 3, u0, u1)
    wp = rec_prepare(blas, Wc, False, B)
    pre = np.empty((Bl, G3), dtype=xg.dtype)
    hs[0] = h0
    for b in range(Bl):
        hfull[0, b0 + b] = h0[b]
    bar += 1
    barrier(sync, part, nparts, bar, yield_fn)
    mine = _product_view(prod, part, B, 3 * q)
    for t in range(T):
        cur = t % 2
        rec_mm(blas, hfull[cur], Wc, wp, False, mine, 0.0)
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
        _gather_gates(prod, nparts, b0, B, H, 3, pre, False)
        gru._cell_rows(xg[t], pre, gates[t], hs[t], hs[t + 1], ghn[t], b_hn)
        for b in range(Bl):
            hfull[1 - cur, b0 + b] = hs[t + 1, b]
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
    return bar


@kernel
def gru_backward(blas, part, nparts, sync, bar, yield_fn, b0, dhs, W_hh, hs, gates, ghn, dGx,
                 dGh, dh_norms, dfull, prod):
    """:func:`rnn_tui.core.gru.backward_sequence` for this worker's rows with a zero gradient
    on the final state."""
    T, Bl, H = dhs.shape
    B = dfull.shape[0]
    u0, u1 = _units(part, nparts, H)
    q = u1 - u0
    Wr = np.ascontiguousarray(W_hh[u0:u1])
    wp = rec_prepare(blas, Wr, True, B)
    dh = np.zeros((Bl, H), dtype=dhs.dtype)
    mine = _product_view(prod, part, B, q)
    for t in range(T - 1, -1, -1):
        gh = dGh[t]
        acc = gru._back_rows(gates[t], dGx[t], gh, dhs[t], hs[t], ghn[t], dh)
        dh_norms[t] = np.sqrt(acc)
        for b in range(Bl):
            dfull[b0 + b] = gh[b]
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
        rec_mm(blas, dfull, Wr, wp, True, mine, 0.0)
        bar += 1
        barrier(sync, part, nparts, bar, yield_fn)
        _gather_gates(prod, nparts, b0, B, H, 1, dh, True)
    return bar
