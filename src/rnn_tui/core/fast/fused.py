r"""One kernel call for a whole language-model training step's forward and backward.

For token input without dropout (the common case: a character or word model), Python-side
orchestration of a step (~20 array calls) costs more than the arithmetic for small models; at
batch 1 it dominates. :func:`lm_forward_backward` runs embedding -> every layer -> head ->
softmax cross-entropy -> backward -> gradients in the flat buffer inside one GIL-free call, reusing
the same cell kernels as :class:`~rnn_tui.core.network.Network` and a preallocated workspace.
It calls them (and the products) by address, the ``call_*`` names (see
:func:`rnn_tui.core.fast._jit.call_by_address`): one compiled copy of each, shared with the network
path, instead of copies linked into this kernel.
"""

from __future__ import annotations

import enum

import numpy as np

from rnn_tui.core.cells import GRU, LSTM
from rnn_tui.core.fast._jit import kernel
from rnn_tui.core.fast.blas import (
    NO_TRANS,
    TRANS,
    BlasKind,
    blas_handle,
    call_mm,
    copy_rows,
    set_threads_local,
)
from rnn_tui.core.layers import (
    CELL_CODES,
    call_accumulate_weight_grads,
    call_scatter_add_rows,
    call_sequence_backward,
    call_sequence_forward,
)
from rnn_tui.core.losses import call_softmax_xent
from rnn_tui.core.params import stack_offsets


class EmbMode(enum.IntEnum):
    """How the fused step's first layer reads its tokens."""

    EMBEDDING = 0  # rows of the embedding, then one product with W_ih
    ONEHOT = 1  # rows of W_ih
    TABLE = 2  # rows of P = emb W_ih, one small product a step (a small vocabulary)


# The step's own loops, each a kernel of its own called by address: written out inside
# lm_forward_backward, LLVM vectorised and emitted each loop once per place (about 1.5 s of a
# cold compile for the glue around the calls).
@kernel(internal=True, by_address=True)
def _gather_rows(src, idx, dst):
    """``dst[n] = src[idx[n]]`` for every row n of ``dst``."""
    N, D = dst.shape
    for n in range(N):
        s, d = src[idx[n]], dst[n]
        for j in range(D):
            d[j] = s[j]


@kernel(internal=True, by_address=True)
def _add_biases(dst, b1, b2, nb):
    """Every row of ``dst`` (N, G): ``+= b1 + b2`` in columns [0, nb), ``+= b1`` in the rest."""
    N, G = dst.shape
    for n in range(N):
        d = dst[n]
        for j in range(nb):
            d[j] += b1[j] + b2[j]
        for j in range(nb, G):
            d[j] += b1[j]


@kernel(internal=True, by_address=True)
def _add_row_sums(m, out):
    """``out += m.sum(axis=0)``."""
    N, D = m.shape
    for n in range(N):
        r = m[n]
        for j in range(D):
            out[j] += r[j]


@kernel
def lm_forward_backward(blas, cell, emb_mode, data, grad, offs, emb_off, tokens, targets,
                        h0, c0, hN, cN, hs, cs, gates, extra, xg, xin, logits, dy, dGx, dGh,
                        dh_norms, table):
    r"""Forward + backward of a token language model; gradients are *added* into ``grad``.

    Shapes: tokens/targets (T, B); h0/c0/hN/cN (L, B, H); hs/cs (L, T+1, B, H); gates (L, T, B,
    G*H); extra (L, T, B, H); xg, dGx, dGh (T, B, G*H); xin (T, B, E) the embedded tokens;
    logits (T*B, V); dy (T, B, H); dh_norms (L, T); table (V, G*H). ``emb_mode`` an
    :class:`EmbMode`.

    The table form: the first layer's input projection of token k is
    :math:`\mathrm{emb}_k W_{ih}`, a row of :math:`P = \mathrm{emb}\, W_{ih}` (V x G*H), so when
    the vocabulary is small next to the T*B tokens one small product plus a row gather replaces
    the (T*B x E) @ (E x G*H) one; backward, :math:`\delta P = \sum_{x_n = k} \delta g_n` and
    :math:`\delta W_{ih} = \mathrm{emb}^\top \delta P`,
    :math:`\delta\mathrm{emb} = \delta P\, W_{ih}^\top`. Returns the mean cross-entropy."""
    L, B, H = h0.shape
    T = tokens.shape[0]
    GH = xg.shape[2]
    V = logits.shape[1]
    hw_off, hb_off = offs[L, 1], offs[L, 2]
    E = offs[L, 3]
    tok = tokens.reshape(T * B)
    xin2 = xin.reshape((T * B, xin.shape[2]))  # (one wide without an embedding)
    dy2 = dy.reshape((T * B, H))
    dGx2 = dGx.reshape((T * B, GH))
    dGh2 = dGh.reshape((T * B, GH)) if cell == GRU else dGx2  # (the same for the others)
    # the embedding and its gradient (none for one-hot input)
    Vin = 0 if emb_mode == EmbMode.ONEHOT else (table.shape[0] if emb_mode == EmbMode.TABLE else V)
    emb = data[emb_off : emb_off + Vin * E].reshape((Vin, E))
    gemb = grad[emb_off : emb_off + Vin * E].reshape((Vin, E))
    # ---------------------------------------------------------------- forward
    for layer in range(L):
        fan_in = E if layer == 0 else H
        W_ih = data[offs[layer, 0] : offs[layer, 0] + fan_in * GH].reshape((fan_in, GH))
        W_hh = data[offs[layer, 1] : offs[layer, 1] + H * GH].reshape((H, GH))
        b_ih = data[offs[layer, 2] : offs[layer, 2] + GH]
        b_hh = data[offs[layer, 3] : offs[layer, 3] + GH]
        # LSTM turns its projection into its gates
        proj2 = (gates[layer] if cell == LSTM else xg).reshape((T * B, GH))
        if layer == 0 and emb_mode != EmbMode.EMBEDDING:
            # one-hot: row k of W_ih; embedding through the table: row k of (emb W_ih)
            rows = W_ih
            if emb_mode == EmbMode.TABLE:
                call_mm(blas, emb, W_ih, table, NO_TRANS, NO_TRANS, 0.0)
                rows = table
            _gather_rows(rows, tok, proj2)
        else:
            if layer == 0:
                _gather_rows(emb, tok, xin2)
                x2 = xin2
            else:
                x2 = hs[layer - 1, 1:].reshape((T * B, H))
            call_mm(blas, x2, W_ih, proj2, NO_TRANS, NO_TRANS, 0.0)
        # GRU keeps b_hn apart
        _add_biases(proj2, b_ih, b_hh, 2 * H if cell == GRU else GH)
        call_sequence_forward(blas, cell, xg, W_hh, b_hh[2 * H :], h0[layer], c0[layer],
                              hs[layer], cs[layer], gates[layer], extra[layer])
        if cell == LSTM:
            copy_rows(cs[layer, T], cN[layer])
        copy_rows(hs[layer, T], hN[layer])
    # ---------------------------------------------------------------- head + loss
    top = hs[L - 1, 1:].reshape((T * B, H))
    HW = data[hw_off : hw_off + H * V].reshape((H, V))
    hb = data[hb_off : hb_off + V]
    call_mm(blas, top, HW, logits, NO_TRANS, NO_TRANS, 0.0)
    _add_biases(logits, hb, hb, 0)
    loss, _count = call_softmax_xent(logits, targets.reshape(T * B), logits)  # dlogits in place
    gHW = grad[hw_off : hw_off + H * V].reshape((H, V))
    ghb = grad[hb_off : hb_off + V]
    call_mm(blas, top, logits, gHW, TRANS, NO_TRANS, 1.0)
    _add_row_sums(logits, ghb)
    call_mm(blas, logits, HW, dy2, NO_TRANS, TRANS, 0.0)
    # ---------------------------------------------------------------- backward
    zero = np.zeros((B, H), dtype=data.dtype)
    for layer in range(L - 1, -1, -1):
        fan_in = E if layer == 0 else H
        o_ih, o_hh, o_bi, o_bh = offs[layer, 0], offs[layer, 1], offs[layer, 2], offs[layer, 3]
        W_ih = data[o_ih : o_ih + fan_in * GH].reshape((fan_in, GH))
        W_hh = data[o_hh : o_hh + H * GH].reshape((H, GH))
        gW_ih = grad[o_ih : o_ih + fan_in * GH].reshape((fan_in, GH))
        gW_hh = grad[o_hh : o_hh + H * GH].reshape((H, GH))
        call_sequence_backward(blas, cell, dy, zero, zero, W_hh, hs[layer], cs[layer],
                               gates[layer], extra[layer], dGx, dGh, dh_norms[layer])
        # dW_ih from the layer's input where there is a product with it (not for token rows)
        with_x = layer > 0 or emb_mode == EmbMode.EMBEDDING
        x2 = hs[layer - 1, 1:].reshape((T * B, H)) if layer > 0 else xin2
        call_accumulate_weight_grads(blas, x2, hs[layer, :T].reshape((T * B, H)), dGx2, dGh2,
                                     gW_ih, gW_hh, grad[o_bi : o_bi + GH],
                                     grad[o_bh : o_bh + GH], with_x)
        if layer > 0:
            call_mm(blas, dGx2, W_ih, dy2, NO_TRANS, TRANS, 0.0)  # dL/dh of the layer below
        elif emb_mode == EmbMode.ONEHOT:
            call_scatter_add_rows(gW_ih, tok, dGx2)
        elif emb_mode == EmbMode.TABLE:
            # d(emb W_ih) = scatter of dGx by token; then dW_ih += emb^T d, d emb += d W_ih^T
            table[:] = 0
            call_scatter_add_rows(table, tok, dGx2)
            call_mm(blas, emb, table, gW_ih, TRANS, NO_TRANS, 1.0)
            call_mm(blas, table, W_ih, gemb, NO_TRANS, TRANS, 1.0)
        else:
            dx2 = np.empty((T * B, E), dtype=data.dtype)
            call_mm(blas, dGx2, W_ih, dx2, NO_TRANS, TRANS, 0.0)
            call_scatter_add_rows(gemb, tok, dx2)
    return loss


@kernel
def _weighted_sum(a, b, wa, wb):
    """a = wa a + wb b, in the arrays' own float type (the halves' gradients combined)."""
    ca, cb = a.dtype.type(wa), a.dtype.type(wb)
    for i in range(a.size):
        a[i] = ca * a[i] + cb * b[i]


class _Workspace:
    """Buffers for one slice of the batch."""

    def __init__(self, net, T: int, B: int, table: bool = False):
        spec = net.spec
        L, H, G, V = spec.layers, spec.hidden, spec.gates, spec.output_size
        E = spec.embed_dim if spec.input_mode == "embedding" else 0
        z = lambda *s: np.zeros(s, dtype=net.dtype)  # noqa: E731
        self.B = B
        self.hs, self.cs = z(L, T + 1, B, H), z(L, T + 1, B, H)
        self.gates, self.extra = z(L, T, B, G * H), z(L, T, B, H)
        self.xg, self.dGx, self.dGh = z(T, B, G * H), z(T, B, G * H), z(T, B, G * H)
        self.xin = z(T, B, max(E, 1))
        self.logits, self.dy = z(T * B, V), z(T, B, H)
        # (V, G*H) only in the table form: a word model's vocabulary would make it large
        self.table = z(spec.input_size, G * H) if table else z(1, 1)
        self.dh_norms = np.zeros((L, T), dtype=np.float64)


class FusedLM:
    """Runs :func:`lm_forward_backward` for one network and batch shape.

    With ``workers`` = 2 the batch is split in two halves that run at the same time on two
    threads, each with single-threaded BLAS: sequences in a batch never interact until the
    gradients are summed, so this parallelises the sequential time loop (gates included),
    which two-threaded BLAS inside each small per-step product does poorly (measured ~1.45x).
    The halves' gradients are combined weighted by their token counts, so the result equals
    the single call's (up to float rounding).

    float32 only: it is the speed path, and a float64 network (for gradient checks, or
    ``--dtype float64``) trains through :meth:`Network.loss_and_grad`, which runs the same cell
    kernels. Compiling it for float64 too would add about 4 s to a cold start of everything."""

    def __init__(self, net, T: int, B: int, workers: int = 1):
        spec = net.spec
        if spec.input_mode == "real" or spec.dropout > 0 or net.dtype != np.float32:
            raise ValueError("the fused step needs token input, no dropout and float32")
        self.net = net
        self.T, self.B, self.workers = T, B, workers
        self.cell = CELL_CODES[spec.cell]
        self.emb_mode = EmbMode.EMBEDDING if spec.input_mode == "embedding" else EmbMode.ONEHOT
        if self.emb_mode == EmbMode.EMBEDDING and 2 * spec.input_size <= T * B // max(workers, 1):
            self.emb_mode = EmbMode.TABLE  # small vocabulary: the input projection through a table
        offs = stack_offsets(net.params.layout, spec.layers)
        slots = net.params.layout.slots
        self.offs = offs  # its last row ends with layer 0's input width (E, or V for one-hot)
        self.emb_off = slots["embed.W"].offset if "embed.W" in slots else 0
        parts = 1
        if workers > 1 and B >= 2 * workers and blas_handle()[0] == BlasKind.MKL:
            parts = workers  # MKL runs sequentially in each caller
        elif workers > 1 and B >= 2 * workers and blas_handle()[0] == BlasKind.OPENBLAS:
            prev = set_threads_local(1)  # probe: per-thread BLAS threads supported?
            if prev is not None:
                set_threads_local(prev)
                parts = workers
        bounds = np.linspace(0, B, parts + 1).astype(int)
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self.ws = [_Workspace(net, T, sl.stop - sl.start, self.emb_mode == EmbMode.TABLE)
                   for sl in self.slices]
        self.grads = [net.params.grad] + [np.zeros_like(net.params.grad)
                                          for _ in self.slices[1:]]
        self._pool = None
        if parts > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(parts - 1, thread_name_prefix="rnn-tui-part")

    @property
    def parts(self) -> int:
        return len(self.slices)

    def _run(self, i, tokens, targets, h0, c0, hN, cN):
        ws, sl, grad = self.ws[i], self.slices[i], self.grads[i]
        grad.fill(0)
        # one BLAS thread per worker, and one also when the batch is too small to split: the
        # products of a batch-1 step are too small for two threads, which cost more in waking
        # each other than they share (LSTM H128 B1 T25: 16k tok/s on one thread; on two, 2.5k
        # with another process busy on the machine, 0.4k at worst)
        prev = set_threads_local(1) if self.parts > 1 or self.workers > 1 else None
        try:
            return lm_forward_backward(
                blas_handle(), self.cell, int(self.emb_mode), self.net.params.data, grad, self.offs,
                self.emb_off, np.ascontiguousarray(tokens[:, sl]),
                np.ascontiguousarray(targets[:, sl]), np.ascontiguousarray(h0[:, sl]),
                np.ascontiguousarray(c0[:, sl]), hN[i], cN[i], ws.hs, ws.cs, ws.gates,
                ws.extra, ws.xg, ws.xin, ws.logits, ws.dy, ws.dGx, ws.dGh, ws.dh_norms,
                ws.table)
        finally:
            if prev is not None:
                set_threads_local(prev)

    def loss_and_grad(self, tokens, targets, state):
        """Same contract as ``Network.loss_and_grad`` for token input (grads replaced)."""
        from rnn_tui.core.network import State, StepResult

        net = self.net
        tokens = np.ascontiguousarray(tokens, dtype=np.int64)
        targets = np.ascontiguousarray(targets, dtype=np.int64)
        h0 = np.ascontiguousarray(state.h, dtype=net.dtype)
        c0 = h0 if state.c is None else np.ascontiguousarray(state.c, dtype=net.dtype)
        L, _, H = h0.shape
        hN = [np.empty((L, w.B, H), dtype=net.dtype) for w in self.ws]
        cN = [np.empty((L, w.B, H), dtype=net.dtype) for w in self.ws]
        args = (tokens, targets, h0, c0, hN, cN)
        futures = [self._pool.submit(self._run, i, *args) for i in range(1, self.parts)]
        losses = [self._run(0, *args)] + [f.result() for f in futures]
        if self.parts == 1:
            loss = float(losses[0])
            norms = self.ws[0].dh_norms.copy()
        else:
            counts = np.array([np.count_nonzero(targets[:, sl] >= 0) for sl in self.slices],
                              dtype=np.float64)
            w = counts / max(counts.sum(), 1.0)
            loss = float(np.dot(w, losses))
            g = self.grads[0]
            for k in range(1, self.parts):
                _weighted_sum(g, self.grads[k], w[0] if k == 1 else 1.0, w[k])
            # each half's gradients are of its own mean loss: scale by its weight first
            norms = np.sqrt(sum((wi * ws.dh_norms) ** 2 for wi, ws in zip(w, self.ws, strict=True)))
        h = np.concatenate(hN, axis=1)
        c = np.concatenate(cN, axis=1) if state.c is not None else None
        return StepResult(loss, State(h, c), self.ws[0].logits, dh_norms=norms)
