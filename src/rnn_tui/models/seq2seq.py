r"""An encoder-decoder with attention: the fourth set-up, many-to-many of different lengths.

The encoder (:class:`~rnn_tui.core.network.Network`, any cell, stacked, optionally
bidirectional) reads the source :math:`x_1..x_S` into states :math:`k_1..k_S` (width
:math:`K = D H_{enc}`). The decoder (any cell, stacked) starts from the encoder's summary
(the top layer after the last source token, and for a bidirectional encoder the backward
direction after reading back to the first), through a projection where the widths differ:

.. math::
    s_0 = \tanh(\bar k\, W_b + b_b) \quad (\text{or } s_0 = \bar k \text{ when } K = H_{dec})

for every decoder layer. At step t, attention over the source with the previous top state as
the query (Bahdanau's order) gives the context :math:`c_t` (:mod:`rnn_tui.core.attention`;
Luong's dot score reads :math:`q = s_{t-1} W_a` when :math:`K \ne H_{dec}`); the decoder reads
the previous target token's embedding and the context, and the output head both:

.. math::
    s_t = \mathrm{cell}([E_{y_{t-1}}; c_t], s_{t-1}), \qquad
    z_t = [s_t; c_t]\, W_o + b_o, \qquad p(y_t) = \mathrm{softmax}(z_t)

Without attention :math:`c_t` is absent. Training uses teacher forcing: :math:`y_{t-1}` is the
reference token, or with probability :math:`1 - P` the model's own previous prediction
(scheduled sampling). The loss is the mean cross-entropy over the target tokens and the end
token. Backward runs the decoder steps in reverse, carrying the state gradient and adding each
step's query gradient to the state that posed it; the key gradients of every step are summed and
sent into the encoder once.

Every weight lives in one flat :class:`~rnn_tui.core.params.Params` buffer (``enc.*``,
``dec.*``, ``demb.W``, ``bridge.*``, ``att.*``, ``out.*``): the encoder and decoder networks
read views into it, so one optimizer and one clipping kernel see the whole model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from rnn_tui.core import attention as att
from rnn_tui.core import attention_kernels as attk
from rnn_tui.core.fast.blas import blas_handle
from rnn_tui.core.layers import (
    CELL_CODES,
    GATES,
    _cell_arrays,
    accumulate_weight_grads,
    input_grad,
    scatter_add_rows,
    sequence_backward,
)
from rnn_tui.core.losses import softmax_cross_entropy
from rnn_tui.core.network import NetSpec, Network, State
from rnn_tui.core.params import Layout, Params
from rnn_tui.data.pairs import BOS, EOS, PAD, Batch

NEG_INF = -np.inf


@dataclass
class Seq2SeqSpec:
    src_vocab: int
    tgt_vocab: int
    cell: str = "lstm"
    dec_cell: str = ""  # "" = the encoder's cell
    hidden: int = 128
    dec_hidden: int = 0  # 0 = hidden
    layers: int = 1
    embed: int = 64
    bidirectional: bool = False
    attention: str = att.ADDITIVE
    attn_size: int = 0  # additive score width (0 = the decoder's hidden size)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.attention not in att.KINDS:
            raise ValueError(f"attention must be one of {att.KINDS}, got {self.attention!r}")
        self.dec_cell = self.dec_cell or self.cell
        self.dec_hidden = int(self.dec_hidden or self.hidden)
        self.attn_size = int(self.attn_size or self.dec_hidden)
        if self.embed < 1:
            raise ValueError("seq2seq reads embeddings: embed must be at least 1")

    @property
    def output_size(self) -> int:
        return self.tgt_vocab

    @property
    def input_mode(self) -> str:
        return "embedding"

    @property
    def key_width(self) -> int:
        return self.hidden * (2 if self.bidirectional else 1)

    @property
    def context_width(self) -> int:
        return 0 if self.attention == att.NONE else self.key_width

    @property
    def bridged(self) -> bool:
        return self.key_width != self.dec_hidden

    @property
    def general(self) -> bool:
        """Dot attention between states of different widths reads q W_a (Luong's general)."""
        return self.attention == att.DOT and self.key_width != self.dec_hidden

    def to_dict(self) -> dict:
        return asdict(self)


def _strip_head(layout: Layout) -> Layout:
    return Layout((s.name, s.shape) for s in layout if not s.name.startswith("head."))


def _params_view(layout: Layout, data: np.ndarray, grad: np.ndarray) -> Params:
    """A :class:`Params` over slices of a larger buffer (the sub-network's own names)."""
    p = Params.__new__(Params)
    p.layout, p.dtype, p.data, p.grad = layout, data.dtype, data, grad
    p.w, p.g = layout.views(data), layout.views(grad)
    return p


@dataclass
class DecodeResult:
    """Greedy output of a batch: ``ids`` (T, B) (ending with ``</s>`` where one was written),
    ``logp`` (B,) the sum of the chosen tokens' log-probabilities (through the end token),
    ``attention`` (T, S, B) the weights of every step (empty without attention)."""

    ids: np.ndarray
    logp: np.ndarray
    attention: np.ndarray
    lengths: np.ndarray


@dataclass
class Hypothesis:
    ids: list[int]
    logp: float
    attention: list[np.ndarray] = field(default_factory=list)
    finished: bool = False

    def score(self, alpha: float) -> float:
        """Length-normalised log-probability: logp / len^alpha (alpha 0 = the plain sum)."""
        return self.logp / max(len(self.ids), 1) ** alpha


@dataclass
class _Forward:
    enc: object
    keys: np.ndarray
    mask: np.ndarray
    summary: np.ndarray
    s0: np.ndarray
    kp: np.ndarray | None
    steps: list = field(default_factory=list)  # per step: (dec forward, attention step, q, tok)
    rows: np.ndarray | None = None


class Seq2Seq:
    """Encoder, attention and decoder over one flat parameter buffer."""

    def __init__(self, spec: Seq2SeqSpec, dtype=np.float32, seed: int = 0):
        self.spec = spec
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        enc_spec = NetSpec(cell=spec.cell, input_mode="embedding", input_size=spec.src_vocab,
                           embed_dim=spec.embed, hidden=spec.hidden, layers=spec.layers,
                           output_size=1, dropout=spec.dropout,
                           bidirectional=spec.bidirectional)
        dec_spec = NetSpec(cell=spec.dec_cell, input_mode="real",
                           input_size=spec.embed + spec.context_width, hidden=spec.dec_hidden,
                           layers=spec.layers, output_size=1, dropout=spec.dropout)
        enc = Network(enc_spec, self.dtype, seed=int(rng.integers(2**31)))
        dec = Network(dec_spec, self.dtype, seed=int(rng.integers(2**31)))
        enc_layout, dec_layout = _strip_head(enc.params.layout), _strip_head(dec.params.layout)
        Hd, K, A, C = spec.dec_hidden, spec.key_width, spec.attn_size, spec.context_width
        extra: list[tuple[str, tuple[int, ...]]] = [("demb.W", (spec.tgt_vocab, spec.embed))]
        if spec.bridged:
            extra += [("bridge.W", (K, Hd)), ("bridge.b", (Hd,))]
        if spec.general:
            extra += [("att.W_a", (Hd, K))]
        if spec.attention == att.ADDITIVE:
            extra += [("att.W_k", (K, A)), ("att.W_q", (Hd, A)), ("att.b", (A,)),
                      ("att.v", (A,))]
        extra += [("out.W", (Hd + C, spec.tgt_vocab)), ("out.b", (spec.tgt_vocab,))]
        entries = [(f"enc.{s.name}", s.shape) for s in enc_layout]
        entries += [(f"dec.{s.name}", s.shape) for s in dec_layout]
        self.params = Params(Layout(entries + extra), self.dtype)
        n_enc, n_dec = enc_layout.size, dec_layout.size
        p = self.params
        for net, layout, lo in ((enc, enc_layout, 0), (dec, dec_layout, n_enc)):
            sub = _params_view(layout, p.data[lo : lo + layout.size],
                               p.grad[lo : lo + layout.size])
            for name, v in sub.w.items():
                v[...] = net.params[name]
            net.params = sub
        assert n_enc + n_dec == p.layout.slots["demb.W"].offset
        self.enc, self.dec = enc, dec
        for name, _ in extra:
            v = p[name]
            if name == "demb.W":
                v[...] = rng.standard_normal(v.shape)
            elif name.endswith(".b"):
                v[...] = 0.0
            else:
                fan_in = v.shape[0] if v.ndim == 2 else v.shape[0]
                k = 1.0 / np.sqrt(fan_in)
                v[...] = rng.uniform(-k, k, v.shape)

    # ------------------------------------------------------------------ helpers
    @property
    def attention(self) -> str:
        return self.spec.attention

    def _encode(self, src: np.ndarray, src_len: np.ndarray, rng=None) -> _Forward:
        B = src.shape[1]
        fwd = self.enc.forward(src, self.enc.initial_state(B), rng, lengths=src_len)
        keys = np.ascontiguousarray(fwd.y)
        mask = np.arange(src.shape[0])[:, None] < src_len[None, :]
        summary = self.enc.summary(fwd)
        p = self.params
        s0 = np.tanh(summary @ p["bridge.W"] + p["bridge.b"]) if self.spec.bridged else summary
        kp = att.project_keys(keys, p["att.W_k"]) if self.attention == att.ADDITIVE else None
        return _Forward(fwd, keys, mask, summary, np.ascontiguousarray(s0, self.dtype), kp)

    def _start_state(self, f: _Forward) -> State:
        L = self.spec.layers
        h = np.ascontiguousarray(np.repeat(f.s0[None], L, axis=0))
        return State(h, np.zeros_like(h) if self.spec.dec_cell == "lstm" else None)

    def _attend(self, f: _Forward, q: np.ndarray) -> att.AttentionStep | None:
        """One step of attention by the fused kernels (:mod:`rnn_tui.core.attention_kernels`,
        the fast twins of :mod:`rnn_tui.core.attention`)."""
        if self.attention == att.NONE:
            return None
        p = self.params
        S, B, K = f.keys.shape
        alpha = np.empty((S, B), dtype=self.dtype)
        context = np.empty((B, K), dtype=self.dtype)
        if self.attention == att.DOT:
            qq = q @ p["att.W_a"] if self.spec.general else q
            attk.dot_step_forward(np.ascontiguousarray(qq, self.dtype), f.keys, f.mask, alpha,
                                  context)
            return att.AttentionStep(alpha, context)
        qw = np.ascontiguousarray(q @ p["att.W_q"] + p["att.b"], self.dtype)
        u = np.empty_like(f.kp)
        attk.additive_step_forward(f.kp, qw, p["att.v"], f.keys, f.mask, u, alpha, context)
        return att.AttentionStep(alpha, context, u)

    def _dec_step(self, f: _Forward, tok: np.ndarray, state: State, rng=None):
        """One decoder step: (decoder forward, attention step or None, query, rows [s; c])."""
        q = state.h[-1]
        st = self._attend(f, q)
        emb = np.take(self.params["demb.W"], tok, axis=0)
        x = emb if st is None else np.concatenate([emb, st.context.astype(self.dtype)], axis=1)
        fwd = self.dec.forward(np.ascontiguousarray(x[None], self.dtype), state, rng)
        s = fwd.y[0]
        rows = s if st is None else np.concatenate([s, st.context.astype(self.dtype)], axis=1)
        return fwd, st, q, rows

    def _logits(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.params["out.W"] + self.params["out.b"]

    # ------------------------------------------------------------------ training
    def forward(self, batch: Batch, rng=None, teacher_forcing: float = 1.0) -> _Forward:
        f = self._encode(batch.src, batch.src_len, rng)
        state = self._start_state(f)
        T = batch.tgt_in.shape[0]
        rows = []
        prev_pred = None
        for t in range(T):
            tok = batch.tgt_in[t]
            if prev_pred is not None and teacher_forcing < 1.0 and rng is not None:
                own = rng.random(tok.shape) >= teacher_forcing
                tok = np.where(own, prev_pred, tok)
            fwd, st, q, r = self._dec_step(f, tok, state, rng)
            f.steps.append((fwd, st, q, tok))
            rows.append(r)
            state = fwd.state
            if teacher_forcing < 1.0 and rng is not None:
                prev_pred = np.argmax(self._logits(r), axis=1)
        f.rows = np.stack(rows)  # (T, B, Hd + C)
        return f

    def loss_and_grad(self, batch: Batch, rng=None,
                      teacher_forcing: float = 1.0) -> tuple[float, np.ndarray, _Forward]:
        """Forward, mean cross-entropy of the target tokens, backward: gradients land in
        ``params.grad``. Returns (loss, logits (T*B, V), forward)."""
        p = self.params
        p.zero_grad()
        f = self.forward(batch, rng, teacher_forcing)
        T, B, W = f.rows.shape
        rows = f.rows.reshape(T * B, W)
        logits = self._logits(rows)
        loss, dout = softmax_cross_entropy(logits, batch.tgt_out.reshape(-1))
        g = p.g
        g["out.W"] += rows.T @ dout
        g["out.b"] += dout.sum(axis=0)
        drows = (dout @ p["out.W"].T).reshape(T, B, W)
        self._backward(f, drows)
        return loss, logits, f

    def _backward(self, f: _Forward, drows: np.ndarray) -> None:
        p, g, spec = self.params, self.params.g, self.spec
        Hd, E = spec.dec_hidden, spec.embed
        dkeys = np.zeros_like(f.keys)
        dkp = None if f.kp is None else np.zeros_like(f.kp)
        T, B = len(f.steps), f.s0.shape[0]
        G = GATES[spec.dec_cell] * Hd
        dGx = [np.empty((T, B, G), self.dtype) for _ in range(spec.layers)]
        dGh = [np.empty_like(a) for a in dGx] if spec.dec_cell == "gru" else dGx
        dnext: State | None = None
        for t in range(T - 1, -1, -1):
            fwd, st, q, tok = f.steps[t]
            dy = np.ascontiguousarray(drows[t, :, :Hd][None], self.dtype)
            dx, dh0, dc0 = self._dec_step_backward(fwd, dy, dnext, dGx, dGh, t)
            scatter_add_rows(g["demb.W"], np.ascontiguousarray(tok, np.int64),
                             np.ascontiguousarray(dx[0, :, :E]))
            if st is not None:
                dctx = drows[t, :, Hd:] + dx[0, :, E:]
                dctx = np.ascontiguousarray(dctx, self.dtype)
                if self.attention == att.DOT:
                    qq = np.ascontiguousarray(q @ p["att.W_a"] if spec.general else q)
                    dqq = np.empty_like(qq)
                    attk.dot_step_backward(st.alpha, qq, f.keys, dctx, dkeys, dqq)
                    if spec.general:
                        g["att.W_a"] += q.T @ dqq
                        dq = dqq @ p["att.W_a"].T
                    else:
                        dq = dqq
                else:
                    dsum = np.empty_like(st.u[0])
                    attk.additive_step_backward(st.u, st.alpha, f.keys, p["att.v"], dctx, dkeys,
                                                dkp, g["att.v"], dsum)
                    dq = dsum @ p["att.W_q"].T
                    g["att.W_q"] += q.T @ dsum
                    g["att.b"] += dsum.sum(axis=0)
                dh0 = dh0.copy()
                dh0[-1] += dq
            dnext = State(np.ascontiguousarray(dh0, self.dtype),
                          None if dc0 is None else np.ascontiguousarray(dc0, self.dtype))
        self._dec_weight_grads(f, dGx, dGh)
        ds0 = dnext.h.sum(axis=0)  # every decoder layer starts from s_0
        if spec.bridged:
            dpre = ds0 * (1.0 - f.s0 * f.s0)
            g["bridge.W"] += f.summary.T @ dpre
            g["bridge.b"] += dpre.sum(axis=0)
            dsummary = dpre @ p["bridge.W"].T
        else:
            dsummary = ds0
        if dkp is not None:
            dW_k, dk = att.keys_backward(f.keys, p["att.W_k"], dkp)
            g["att.W_k"] += dW_k
            dkeys += dk
        dy_enc = dkeys + self.enc._summary_grad(f.enc, dsummary)
        self.enc.backward(f.enc, np.ascontiguousarray(dy_enc, self.dtype))

    def _dec_step_backward(self, fwd, dy: np.ndarray, dstate: State | None, dGx: list,
                           dGh: list, t: int):
        """:meth:`Network.backward` of one decoder step (T = 1) without its weight gradients:
        each layer's gate gradients :math:`\\delta A_t` land in ``dGx[layer][t]`` (GRU: the
        recurrent ones in ``dGh``), for :meth:`_dec_weight_grads` to form every weight
        gradient with one product over all steps. Returns (dL/dx (1, B, I), dL/dh0, dL/dc0)."""
        dec, blas = self.dec, blas_handle()
        cell = dec.spec.cell
        L = dec.spec.layers
        dh0 = np.empty_like(fwd.state.h)
        dc0 = None if fwd.state.c is None else np.empty_like(fwd.state.c)
        zeros = np.zeros(fwd.state.h.shape[1:], dtype=self.dtype)
        top = fwd.layers[L - 1].mask
        dcur = np.ascontiguousarray(dy if top is None else dy * top, dtype=self.dtype)
        dx = None
        for layer in range(L - 1, -1, -1):
            cache = fwd.layers[layer]
            w = dec.layer_weights(layer)
            dhT = zeros if dstate is None else np.ascontiguousarray(dstate.h[layer])
            dcT = dhT
            if cell == "lstm":
                dcT = zeros if dstate is None or dstate.c is None else \
                    np.ascontiguousarray(dstate.c[layer])
            gx, gh = dGx[layer][t : t + 1], dGh[layer][t : t + 1]
            dh_norms = np.empty(1, dtype=np.float64)
            dh, dc = sequence_backward(blas, CELL_CODES[cell], dcur, dhT, dcT, w["W_hh"],
                                       cache.hs, *_cell_arrays(cache), gx, gh, dh_norms)
            cache.dh_norms = dh_norms
            dh0[layer] = dh
            if dc0 is not None:
                dc0[layer] = dc
            B, G = gx.shape[1:]
            dx = np.empty((1, B, cache.x.shape[2]), dtype=self.dtype)
            input_grad(blas, gx.reshape(B, G), w["W_ih"], dx.reshape(B, -1))
            if layer > 0:
                mask = fwd.layers[layer - 1].mask
                dcur = np.ascontiguousarray(dx * mask if mask is not None else dx)
        return dx, dh0, dc0

    def _dec_weight_grads(self, f: _Forward, dGx: list, dGh: list) -> None:
        """Every decoder weight gradient from the gate gradients of all steps, one product
        each: :math:`\\partial W_{ih} = X^\\top \\delta A`,
        :math:`\\partial W_{hh} = H_{prev}^\\top \\delta A_h`."""
        blas = blas_handle()
        for layer in range(self.spec.layers):
            caches = [step[0].layers[layer] for step in f.steps]
            T, B, G = dGx[layer].shape
            x = np.concatenate([c.x for c in caches]).reshape(T * B, -1)
            hprev = np.concatenate([c.hs[:1] for c in caches]).reshape(T * B, -1)
            gw = self.dec.layer_grads(layer)
            accumulate_weight_grads(blas, x, hprev, dGx[layer].reshape(T * B, G),
                                    dGh[layer].reshape(T * B, G), gw["W_ih"], gw["W_hh"],
                                    gw["b_ih"], gw["b_hh"], True)

    def evaluate(self, batch: Batch) -> tuple[float, np.ndarray]:
        """(mean cross-entropy with teacher forcing, logits (T, B, V)), no gradients."""
        f = self.forward(batch)
        T, B, W = f.rows.shape
        logits = self._logits(f.rows.reshape(T * B, W))
        loss, _ = softmax_cross_entropy(logits, batch.tgt_out.reshape(-1))
        return loss, logits.reshape(T, B, -1)

    def dh_norms(self, f: _Forward) -> np.ndarray:
        """(layers, S): ||dL/dh_s|| of each encoder layer over the source, after a backward."""
        return np.stack([c.dh_norms for c in f.enc.layers])

    # ------------------------------------------------------------------ decoding
    def greedy(self, src: np.ndarray, src_len: np.ndarray, max_len: int) -> DecodeResult:
        """The likeliest token at every step, for a batch, until every row wrote ``</s>`` or
        ``max_len`` tokens."""
        f = self._encode(src, src_len)
        B = src.shape[1]
        state = self._start_state(f)
        tok = np.full(B, BOS, dtype=np.int64)
        done = np.zeros(B, dtype=bool)
        lengths = np.full(B, max_len, dtype=np.int64)
        logp = np.zeros(B)
        ids, alphas = [], []
        for t in range(max_len):
            fwd, st, _, rows = self._dec_step(f, tok, state)
            lp = log_softmax(self._logits(rows))
            nxt = np.argmax(lp, axis=1)
            logp += np.where(done, 0.0, lp[np.arange(B), nxt])
            nxt = np.where(done, PAD, nxt)
            ids.append(nxt)
            if st is not None:
                alphas.append(st.alpha)
            newly = (~done) & (nxt == EOS)
            lengths[newly] = t + 1
            done |= newly
            state = fwd.state
            tok = nxt
            if done.all():
                break
        A = np.stack(alphas) if alphas else np.zeros((0, src.shape[0], B))
        return DecodeResult(np.stack(ids), logp, A, lengths)

    def beam(self, src_ids: np.ndarray, k: int, max_len: int, alpha: float = 1.0,
             keep_greedy: bool = True) -> list[Hypothesis]:
        """Beam search for one source (ids (S,)): the ``k`` best hypotheses by length-normalised
        log-probability (:meth:`Hypothesis.score`), best first. A hypothesis ends with its
        ``</s>`` (counted in its length and log-probability) or at ``max_len`` tokens. With
        ``keep_greedy`` the greedy output is a candidate too, so the best beam never scores
        below it."""
        S = len(src_ids)
        src = np.asarray(src_ids, dtype=np.int64).reshape(S, 1)
        f = self._encode(src, np.array([S]))
        state = self._start_state(f)
        live = [Hypothesis([], 0.0)]
        finished: list[Hypothesis] = []
        V = self.spec.tgt_vocab
        for _ in range(max_len):
            n = len(live)
            fb = _Forward(f.enc, np.repeat(f.keys, n, axis=1), np.repeat(f.mask, n, axis=1),
                          f.summary, f.s0, None if f.kp is None else np.repeat(f.kp, n, axis=1))
            toks = np.array([h.ids[-1] if h.ids else BOS for h in live], dtype=np.int64)
            fwd, st, _, rows = self._dec_step(fb, toks, state)
            lp = log_softmax(self._logits(rows))  # (n, V)
            total = np.array([h.logp for h in live])[:, None] + lp
            flat = np.argsort(-total, axis=None, kind="stable")[: 2 * k]
            nxt_live, keep = [], []
            top_ended = False
            for rank, idx in enumerate(flat):
                i, v = divmod(int(idx), V)
                h = live[i]
                a = [] if st is None else [*h.attention, st.alpha[:, i]]
                cand = Hypothesis([*h.ids, v], float(total[i, v]), a, v == EOS)
                if cand.finished:
                    finished.append(cand)
                    top_ended |= rank == 0
                elif len(nxt_live) < k:
                    nxt_live.append(cand)
                    keep.append(i)
                if len(nxt_live) == k:
                    break
            # the best hypothesis has ended and k have: so does the search (with k = 1 this
            # is greedy decoding exactly)
            if (top_ended and len(finished) >= k) or not nxt_live:
                live = []
                break
            sel = np.asarray(keep)
            state = State(np.ascontiguousarray(fwd.state.h[:, sel]),
                          None if fwd.state.c is None else np.ascontiguousarray(
                              fwd.state.c[:, sel]))
            live = nxt_live
        pool = finished + live
        if keep_greedy:
            g = self.greedy(src, np.array([S]), max_len)
            n = int(g.lengths[0])
            ids = [int(i) for i in g.ids[:n, 0]]
            att_rows = [g.attention[t, :, 0] for t in range(min(n, len(g.attention)))]
            gh = Hypothesis(ids, float(g.logp[0]), att_rows, bool(ids) and ids[-1] == EOS)
            if not any(h.ids == gh.ids for h in pool):
                pool.append(gh)
        pool.sort(key=lambda h: -h.score(alpha))
        return pool[:k]


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def seq2seq_anatomy(model: Seq2Seq, batch: int, src_len: int, tgt_len: int):
    """The encoder-decoder layer by layer (:mod:`rnn_tui.core.anatomy`): source embedding and
    encoder layers over the source's time steps, the bridge, attention, target embedding and
    decoder layers over the target's, and the output head; the rows' counts add up to the flat
    buffer's size."""
    from rnn_tui.core.anatomy import (
        DIMS_LAST,
        DIMS_SEQUENCE,
        GATE_SYMBOL,
        LAST,
        MANY_TO_MANY,
        SEQUENCE,
        Anatomy,
        LayerRow,
        Weight,
    )
    from rnn_tui.core.cells import GATES
    from rnn_tui.core.network import layer_names

    spec, slots = model.spec, model.params.layout.slots
    B, S, T = int(batch), int(src_len), int(tgt_len)
    D = 2 if spec.bidirectional else 1
    H, Hd, K, C = spec.hidden, spec.dec_hidden, spec.key_width, spec.context_width

    def w(slot: str, name: str, symbols: tuple[str, ...], transposed: bool = True) -> Weight:
        shape = slots[slot].shape[::-1] if transposed else slots[slot].shape
        return Weight(name, tuple(shape), symbols, slot)

    def recurrent(prefix: str, cell: str, width: int, steps: int, in_symbol: str,
                  h_symbol: str, directions: int, title: str) -> list[LayerRow]:
        gh = GATE_SYMBOL.get(GATES[cell], f"{GATES[cell]}H")
        rows = []
        for layer in range(spec.layers):
            x_symbol = in_symbol if layer == 0 else (h_symbol if directions == 1 else
                                                     f"{directions}{h_symbol}")
            for name in layer_names(layer, directions):
                back = name.endswith("r")
                ws = (w(f"{prefix}.{name}.W_ih", "W_ih", (gh, x_symbol)),
                      w(f"{prefix}.{name}.W_hh", "W_hh", (gh, h_symbol)),
                      w(f"{prefix}.{name}.b_ih", "b_ih", (gh,), False),
                      w(f"{prefix}.{name}.b_hh", "b_hh", (gh,), False))
                label = f"{title} {cell} {layer + 1}" + ((" ←" if back else " →")
                                                         if directions == 2 else "")
                rows.append(LayerRow(label, "recurrent", (B, steps, width), DIMS_SEQUENCE,
                                     SEQUENCE, ws, prefix, "backward" if back else "forward"))
        return rows

    rows = [LayerRow("src embedding", "embedding", (B, S, spec.embed), DIMS_SEQUENCE,
                     SEQUENCE, (w("enc.embed.W", "W_emb", ("Vs", "E"), False),), "enc")]
    rows += recurrent("enc", spec.cell, H, S, "E", "H", D, "enc")
    if spec.bridged:
        rows.append(LayerRow("bridge", "dense", (B, Hd), DIMS_LAST, LAST,
                             (w("bridge.W", "W_b", ("Hd", "K")),
                              w("bridge.b", "b_b", ("Hd",), False)), "bridge"))
    if spec.attention != att.NONE:
        if spec.attention == att.ADDITIVE:
            ws = (w("att.W_k", "W_k", ("A", "K")), w("att.W_q", "W_q", ("A", "Hd")),
                  w("att.b", "b_a", ("A",), False), w("att.v", "v", ("A",), False))
        else:
            ws = (w("att.W_a", "W_a", ("K", "Hd")),) if spec.general else ()
        rows.append(LayerRow("attention", "attention", (B, T, K),
                             DIMS_SEQUENCE, SEQUENCE, ws, "att"))
    rows.append(LayerRow("tgt embedding", "embedding", (B, T, spec.embed), DIMS_SEQUENCE,
                         SEQUENCE, (w("demb.W", "W_emb", ("Vt", "E"), False),), "demb"))
    rows += recurrent("dec", spec.dec_cell, Hd, T, "E+K" if C else "E", "Hd", 1, "dec")
    rows.append(LayerRow("head", "head", (B, T, spec.tgt_vocab), DIMS_SEQUENCE, SEQUENCE,
                         (w("out.W", "W_hy", ("Vt", "Hd+K" if C else "Hd")),
                          w("out.b", "b_y", ("Vt",), False)), "out"))
    anatomy = Anatomy(rows, B, S, MANY_TO_MANY, spec.cell)
    anatomy.notes.append(
        f"the encoder reads {S} source steps; the decoder writes {T} target steps (time differs "
        "on the two sides: many-to-many of different lengths)")
    if spec.attention != att.NONE:
        anatomy.notes.append(f"attention ({spec.attention}): at every target step, weights "
                             f"over the source steps (batch, {S}) and their weighted sum of "
                             f"encoder states, the context (batch, {K}), fed to the decoder "
                             "and the head")
    if anatomy.params_per_network != model.params.layout.size:
        raise ValueError("the anatomy misses parameters of the layout")
    return anatomy
