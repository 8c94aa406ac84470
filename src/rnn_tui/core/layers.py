r"""Layer building blocks around the cell kernels: one recurrent layer's forward/backward over a
whole sequence, embedding (and one-hot) input, dense head, inverted dropout.

A recurrent layer with gate count G (1 RNN, 4 LSTM, 3 GRU) and input x (T, B, I):

1. ``xg = x W_ih + b`` for all T steps in one matrix product (a row gather for one-hot tokens:
   :math:`\mathrm{onehot}(k) W_{ih} = W_{ih}[k]`);
2. the cell kernel walks the time steps (one ``h W_hh`` product a step, gates fused);
3. backward, the kernel walks back and leaves :math:`\delta a_t` for every t, then every weight
   gradient is one product over all steps: :math:`\partial W_{ih} = X^\top \delta A`,
   :math:`\partial W_{hh} = H_{prev}^\top \delta A`, :math:`\partial x = \delta A\, W_{ih}^\top`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnn_tui.core import gru, lstm, rnn
from rnn_tui.core.cells import (  # noqa: F401  (re-exported)
    CELL_CODES,
    GATES,
    GRU,
    LSTM,
    canonical_cell,
)
from rnn_tui.core.fast._jit import call_by_address, kernel
from rnn_tui.core.fast.blas import NO_TRANS, TRANS, blas_handle, call_mm


@kernel
def sequence_forward(blas, cell, xg, W_hh, b_hn, h0, c0, hs, cs, gates, extra):
    """Run the layer's cell (``cell`` from :data:`CELL_CODES`) over T steps from (h0, c0).

    ``xg`` (T, B, G*H) is the input projection with the biases added (GRU: without b_hn);
    ``hs`` (T+1, B, H) receives h_0..h_T. LSTM reads its projection from ``gates`` instead
    (turned into the activated gates in place) and fills ``cs`` (T+1, B, H) and ``extra`` =
    tanh(c_t); GRU fills ``gates`` with r, z, n and ``extra`` with W_hn h_{t-1} + b_hn. Arrays a
    cell does not use may be empty.

    One entry point for the three cells, which calls the cell's own kernel by address: each is
    compiled once, without a Python wrapper, and not copied into this one (see
    docs/performance.md)."""
    if cell == LSTM:
        lstm.forward_sequence(blas, gates, W_hh, h0, c0, hs, cs, extra)
    elif cell == GRU:
        gru.forward_sequence(blas, xg, W_hh, b_hn, h0, hs, gates, extra)
    else:
        rnn.forward_sequence(blas, xg, W_hh, h0, cell, hs)


@kernel
def sequence_backward(blas, cell, dhs, dhT, dcT, W_hh, hs, cs, gates, extra, dGx, dGh,
                      dh_norms):
    """Backpropagate the layer's cell through T steps (the arrays of :func:`sequence_forward`).

    ``dhs`` (T, B, H) is dL/dh_t from above, ``dhT``/``dcT`` the gradient on the final state.
    Fills ``dGx`` (T, B, G*H) with dL/da_t, the gradient of the input projection, and for GRU
    ``dGh`` with that of the recurrent one (for the other cells the two are equal and ``dGh``
    is not written); ``dh_norms`` (T,) gets ||dL/dh_t||. Returns (dL/dh_0, dL/dc_0); dL/dc_0
    is dL/dh_0 again for cells without c."""
    if cell == LSTM:
        return lstm.backward_sequence(blas, dhs, dhT, dcT, W_hh, cs, gates, extra, dGx, dh_norms)
    if cell == GRU:
        dh = gru.backward_sequence(blas, dhs, dhT, W_hh, hs, gates, extra, dGx, dGh, dh_norms)
    else:
        dh = rnn.backward_sequence(blas, dhs, dhT, W_hh, hs, cell, dGx, dh_norms)
    return dh, dh


@kernel
def scatter_add_rows(dst, idx, src):
    """``dst[idx[n]] += src[n]`` for every n (embedding / one-hot weight gradient)."""
    N, D = src.shape
    for n in range(N):
        row = dst[idx[n]]
        s = src[n]
        for d in range(D):
            row[d] += s[d]


@kernel
def accumulate_weight_grads(blas, x2, hprev2, dGx2, dGh2, gW_ih, gW_hh, gb_ih, gb_hh, with_x):
    """After the time loop, every weight gradient is one product over all T*B rows:
    dW_ih += X^T dGx, dW_hh += H_prev^T dGh, db_ih += sum dGx, db_hh += sum dGh."""
    call_mm(blas, hprev2, dGh2, gW_hh, TRANS, NO_TRANS, 1.0)
    if with_x:
        call_mm(blas, x2, dGx2, gW_ih, TRANS, NO_TRANS, 1.0)
    N, G = dGx2.shape
    for n in range(N):
        for j in range(G):
            gb_ih[j] += dGx2[n, j]
            gb_hh[j] += dGh2[n, j]


@kernel
def input_grad(blas, dGx2, W_ih, dx2):
    """dx = dGx W_ih^T for all T*B rows at once."""
    call_mm(blas, dGx2, W_ih, dx2, NO_TRANS, TRANS, 0.0)


# the kernels above as other kernels (the fused step) call them: their one compiled copy each
call_sequence_forward = call_by_address(sequence_forward)
call_sequence_backward = call_by_address(sequence_backward)
call_accumulate_weight_grads = call_by_address(accumulate_weight_grads)
call_scatter_add_rows = call_by_address(scatter_add_rows)


@dataclass
class LayerCache:
    """What one layer's forward keeps for its backward."""

    cell: str
    x: np.ndarray | None  # (T, B, I) input features, or None for one-hot tokens
    tokens: np.ndarray | None  # (T, B) for one-hot input
    hs: np.ndarray  # (T+1, B, H)
    cs: np.ndarray | None = None  # LSTM (T+1, B, H)
    gates: np.ndarray | None = None  # activated gates (T, B, G*H)
    extra: np.ndarray | None = None  # LSTM tanh(c_t), GRU W_hn h + b_hn: (T, B, H)
    mask: np.ndarray | None = None  # dropout mask applied to this layer's output
    dh_norms: np.ndarray = field(default_factory=lambda: np.zeros(0))


def input_projection(cell: str, w: dict[str, np.ndarray], x, tokens) -> np.ndarray:
    """``xg`` (T, B, G*H): x W_ih + b_ih + b_hh (for GRU, b_hh of the n gate is left out)."""
    W_ih, b_ih, b_hh = w["W_ih"], w["b_ih"], w["b_hh"]
    if tokens is not None:
        xg = np.take(W_ih, tokens, axis=0)  # one-hot input: a row gather
    else:
        T, B, inp = x.shape
        xg = (x.reshape(T * B, inp) @ W_ih).reshape(T, B, -1)
    if cell == "gru":
        H = W_hh_rows(w)
        xg[..., : 2 * H] += b_ih[: 2 * H] + b_hh[: 2 * H]
        xg[..., 2 * H :] += b_ih[2 * H :]
    else:
        xg += b_ih + b_hh
    return xg


def W_hh_rows(w: dict[str, np.ndarray]) -> int:
    return w["W_hh"].shape[0]


def layer_forward(
    cell, w, h0, c0, x=None, tokens=None
) -> tuple[LayerCache, np.ndarray, np.ndarray | None]:
    """Run one layer over the sequence. Returns (cache, h_T, c_T)."""
    xg = input_projection(cell, w, x, tokens)
    T, B, _ = xg.shape
    H = W_hh_rows(w)
    dt = xg.dtype
    hs = np.empty((T + 1, B, H), dtype=dt)
    cache = LayerCache(cell, x, tokens, hs)
    if cell == "lstm":  # xg becomes the gates
        cache.cs, cache.gates, cache.extra = np.empty_like(hs), xg, np.empty((T, B, H), dtype=dt)
        c0 = np.ascontiguousarray(c0, dtype=dt)
    elif cell == "gru":
        cache.gates, cache.extra = np.empty((T, B, 3 * H), dtype=dt), np.empty((T, B, H), dtype=dt)
    sequence_forward(blas_handle(), CELL_CODES[cell], xg, w["W_hh"],
                     np.ascontiguousarray(w["b_hh"][2 * H :]), h0, h0 if c0 is None else c0,
                     hs, *_cell_arrays(cache))
    return cache, hs[T], None if cache.cs is None else cache.cs[T]


def _cell_arrays(cache: LayerCache) -> list[np.ndarray]:
    """(cs, gates, extra) for the sequence kernels: the cell's own, empty where it has none
    (one array type for every cell, so each kernel compiles once per float type)."""
    empty = np.empty((0, 0, 0), dtype=cache.hs.dtype)
    return [empty if a is None else a for a in (cache.cs, cache.gates, cache.extra)]


def layer_backward(cache: LayerCache, w, gw, dy, dhT, dcT, need_dx: bool = True):
    """Backward through one layer. ``dy`` (T, B, H) is dL/d(output at every step); ``dhT``/``dcT``
    the gradient on the final state. Adds weight gradients into ``gw`` (views of the flat gradient)
    and returns (dx or None, dh0, dc0 or None); the norms ||dL/dh_t|| land in ``cache.dh_norms``."""
    cell = cache.cell
    blas = blas_handle()
    hs = cache.hs
    T1, B, H = hs.shape
    T = T1 - 1
    dt = hs.dtype
    dh_norms = np.empty(T, dtype=np.float64)
    G = GATES[cell]
    dGx = np.empty((T, B, G * H), dtype=dt)
    dGh = np.empty_like(dGx) if cell == "gru" else dGx
    dh0, dc0 = sequence_backward(blas, CELL_CODES[cell], dy, dhT, dhT if dcT is None else dcT,
                                 w["W_hh"], hs, *_cell_arrays(cache), dGx, dGh, dh_norms)
    if cache.cs is None:
        dc0 = None
    cache.dh_norms = dh_norms
    G = dGx.shape[2]
    dGx2 = dGx.reshape(T * B, G)
    dGh2 = dGh.reshape(T * B, G)
    x2 = dGx2 if cache.x is None else cache.x.reshape(T * B, -1)
    accumulate_weight_grads(blas, x2, hs[:T].reshape(T * B, H), dGx2, dGh2, gw["W_ih"],
                            gw["W_hh"], gw["b_ih"], gw["b_hh"], cache.x is not None)
    if cache.tokens is not None:
        scatter_add_rows(gw["W_ih"], cache.tokens.reshape(-1), dGx2)
        return None, dh0, dc0
    if not need_dx:
        return None, dh0, dc0
    inp = cache.x.shape[2]
    dx = np.empty((T, B, inp), dtype=dt)
    input_grad(blas, dGx2, w["W_ih"], dx.reshape(T * B, inp))
    return dx, dh0, dc0


def dropout_mask(rng: np.random.Generator, shape, p: float, dtype) -> np.ndarray:
    """Inverted dropout: keep with probability 1-p and scale by 1/(1-p)."""
    keep = rng.random(shape) >= p
    return (keep / (1.0 - p)).astype(dtype)
