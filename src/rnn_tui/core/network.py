r"""A stacked recurrent network with a dense head: the model every task trains.

Inputs are time-major: tokens (T, B) for language models (through an embedding, or one-hot), or
real features (T, B, I) for series. The head maps the top layer's h_t to outputs (logits for
cross-entropy, values for MSE) at every step (many-to-many) or at the last step only
(many-to-one). The recurrent state (h, and c for LSTM) is returned detached, so the next batch can
start from it: truncated BPTT with the state carried.

Sentences of different lengths are batched right-padded with ``lengths`` (B,): the padding comes
after every real token, so it cannot reach a real output, and the losses skip it (negative
targets); many-to-one reads the top layer at each sequence's own last token. A bidirectional
layer runs a second cell over each sequence reversed *within its length*
(:math:`\overleftarrow{h}_t` has read tokens t..len-1) and outputs
:math:`[\overrightarrow{h}_t, \overleftarrow{h}_t]`, PyTorch's layout; its many-to-one summary
is :math:`[\overrightarrow{h}_{len-1}, \overleftarrow{h}_0]`, what ``h_n`` holds in PyTorch.
Extra token channels (``features``: e.g. hashed suffixes of each word) have embeddings of their
own, concatenated to the word's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from rnn_tui.core.layers import (
    GATES,
    LayerCache,
    canonical_cell,
    dropout_mask,
    layer_backward,
    layer_forward,
)
from rnn_tui.core.losses import mse, softmax_cross_entropy
from rnn_tui.core.params import Layout, Params

INPUT_MODES = ("embedding", "onehot", "real")


@dataclass
class NetSpec:
    """Shape of a network. ``input_size`` is the vocabulary size for token input, or the number
    of features for real input."""

    cell: str = "lstm"
    input_mode: str = "embedding"
    input_size: int = 65
    embed_dim: int = 64
    hidden: int = 128
    layers: int = 1
    output_size: int = 65
    dropout: float = 0.0
    bidirectional: bool = False
    features: list[int] = field(default_factory=list)  # vocabulary sizes of extra token channels
    feature_dim: int = 16  # embedding width of each extra channel

    def __post_init__(self) -> None:
        self.cell = canonical_cell(self.cell)
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        for name in ("input_size", "hidden", "layers", "output_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.input_mode == "embedding" and self.embed_dim < 1:
            raise ValueError(f"embed_dim must be at least 1, got {self.embed_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        self.bidirectional = bool(self.bidirectional)
        self.features = [int(v) for v in self.features]
        if self.features and self.input_mode != "embedding":
            raise ValueError("extra token channels need embedding input")
        if any(v < 1 for v in self.features) or (self.features and self.feature_dim < 1):
            raise ValueError("feature channels need a vocabulary and a width of at least 1")

    @property
    def gates(self) -> int:
        return GATES[self.cell]

    @property
    def tokens_in(self) -> bool:
        return self.input_mode != "real"

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def input_width(self) -> int:
        """Width of the first layer's input: embeddings (word + channels), one-hot or real."""
        if self.input_mode == "embedding":
            return self.embed_dim + len(self.features) * self.feature_dim
        return self.input_size

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class State:
    """Recurrent state of every layer: h (L, B, H) and, for LSTM, c (L, B, H)."""

    h: np.ndarray
    c: np.ndarray | None = None

    def copy(self) -> State:
        return State(self.h.copy(), None if self.c is None else self.c.copy())


@dataclass
class Forward:
    """Everything a forward pass keeps: per-layer caches, the top layer's outputs, final state."""

    layers: list[LayerCache]
    y: np.ndarray  # (T, B, D*H) top layer's output (forward h_t, then backward for D = 2)
    state: State
    tokens: np.ndarray | None = None
    reverse: list[LayerCache] | None = None  # bidirectional: each layer's backward direction
    order: np.ndarray | None = None  # (T, B): time index read at step t of the reversal
    lengths: np.ndarray | None = None  # (B,) real lengths of right-padded sequences
    in_mask: np.ndarray | None = None  # dropout mask on the embeddings


@dataclass
class StepResult:
    loss: float
    state: State
    out: np.ndarray  # head outputs (logits or values)
    dx: np.ndarray | None = None  # dL/d(real input)
    dh0: np.ndarray | None = None
    dc0: np.ndarray | None = None
    dh_norms: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (L, T)


class Network:
    """Embedding/one-hot/real input -> L recurrent layers -> dense head."""

    def __init__(self, spec: NetSpec, dtype=np.float32, seed: int | None = 0,
                 recurrent_scale: float = 0.0):
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.params = Params(self.build_layout(spec), self.dtype)
        self.init_weights(np.random.default_rng(seed), recurrent_scale)

    # ---------------------------------------------------------------- construction
    @staticmethod
    def build_layout(spec: NetSpec) -> Layout:
        G, H, D = spec.gates, spec.hidden, spec.directions
        entries: list[tuple[str, tuple[int, ...]]] = []
        if spec.input_mode == "embedding":
            entries.append(("embed.W", (spec.input_size, spec.embed_dim)))
            entries += [(f"feat{c}.W", (n, spec.feature_dim)) for c, n in enumerate(spec.features)]
        for layer in range(spec.layers):
            fan_in = spec.input_width if layer == 0 else D * H
            for name in layer_names(layer, D):
                entries += [
                    (f"{name}.W_ih", (fan_in, G * H)),
                    (f"{name}.W_hh", (H, G * H)),
                    (f"{name}.b_ih", (G * H,)),
                    (f"{name}.b_hh", (G * H,)),
                ]
        entries += [("head.W", (D * H, spec.output_size)), ("head.b", (spec.output_size,))]
        return Layout(entries)

    def init_weights(self, rng: np.random.Generator, recurrent_scale: float = 0.0) -> None:
        """PyTorch's init for recurrent and head weights, U(-1/sqrt(H), 1/sqrt(H)); embeddings
        N(0, 1); LSTM forget-gate bias 1 so memory is kept by default early in training.

        ``recurrent_scale`` S > 0 makes each gate's block of W_hh S times a random orthogonal
        matrix (every singular value S): the gradient through time then changes by about S
        times the activation's slope per step, so S < 1 shows it vanish and S > 1 explode."""
        H = self.spec.hidden
        k = 1.0 / np.sqrt(H)
        for name, v in self.params.w.items():
            if name == "embed.W" or name.startswith("feat"):
                v[...] = rng.standard_normal(v.shape)
            elif name == "head.b":
                v[...] = 0.0
            else:
                v[...] = rng.uniform(-k, k, v.shape)
        for layer in range(self.spec.layers):
            for name in layer_names(layer, self.spec.directions):
                if recurrent_scale > 0:
                    W = self.params[f"{name}.W_hh"]
                    for g in range(self.spec.gates):
                        q, r = np.linalg.qr(rng.standard_normal((H, H)))
                        with np.errstate(over="ignore", invalid="ignore"):  # a huge S gives
                            # inf weights, which the first step reports as a divergence
                            W[:, g * H : (g + 1) * H] = recurrent_scale * q * np.sign(np.diag(r))
                if self.spec.cell == "lstm":
                    self.params[f"{name}.b_ih"][H : 2 * H] = 1.0
                    self.params[f"{name}.b_hh"][H : 2 * H] = 0.0

    def layer_weights(self, layer: int, reverse: bool = False) -> dict[str, np.ndarray]:
        p, name = self.params.w, layer_names(layer, 2)[reverse]
        return {k: p[f"{name}.{k}"] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}

    def layer_grads(self, layer: int, reverse: bool = False) -> dict[str, np.ndarray]:
        g, name = self.params.g, layer_names(layer, 2)[reverse]
        return {k: g[f"{name}.{k}"] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}

    def global_sum(self) -> float:
        """Sum of all weights: NaN or Inf exactly when some weight is (a cheap finiteness test)."""
        return float(np.sum(self.params.data, dtype=np.float64))

    def initial_state(self, batch: int) -> State:
        """Zeros: h (L*D, B, H) (PyTorch's order: layer by layer, forward then backward)."""
        shape = (self.spec.layers * self.spec.directions, batch, self.spec.hidden)
        h = np.zeros(shape, dtype=self.dtype)
        return State(h, np.zeros_like(h) if self.spec.cell == "lstm" else None)

    # ---------------------------------------------------------------- forward / backward
    def _embed(self, tokens: np.ndarray) -> np.ndarray:
        """(T, B) or (T, B, 1+channels) token ids -> (T, B, input_width) embeddings."""
        spec = self.spec
        if tokens.ndim == 2:
            return np.take(self.params["embed.W"], tokens, axis=0)
        parts = [np.take(self.params["embed.W"], tokens[..., 0], axis=0)]
        parts += [np.take(self.params[f"feat{c}.W"], tokens[..., c + 1], axis=0)
                  for c in range(len(spec.features))]
        return np.concatenate(parts, axis=2)

    def _check_tokens(self, inputs) -> np.ndarray:
        spec = self.spec
        tokens = np.ascontiguousarray(inputs, dtype=np.int64)
        C = len(spec.features)
        if C:
            if tokens.ndim != 3 or tokens.shape[2] != C + 1:
                raise ValueError(f"token input with {C} feature channels must be "
                                 f"(T, B, {C + 1}), got shape {tokens.shape}")
            limits = [spec.input_size, *spec.features]
            for c, n in enumerate(limits):
                ch = tokens[..., c]
                if ch.size and (ch.min() < 0 or ch.max() >= n):
                    raise ValueError(f"token id out of range in channel {c}")
            return tokens
        if tokens.ndim != 2:
            raise ValueError(f"token input must be (T, B), got shape {tokens.shape}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= spec.input_size):
            raise ValueError("token id out of range for the vocabulary")
        return tokens

    def input_vectors(self, inputs: np.ndarray) -> np.ndarray:
        """(T, B, input_width): what the first layer reads for ``inputs``: each token's
        embedding row (and its feature channels' rows, concatenated), its one-hot column
        :math:`e_k`, or the real values themselves."""
        spec = self.spec
        if not spec.tokens_in:
            return np.array(inputs, dtype=self.dtype)
        tokens = self._check_tokens(inputs)
        if spec.input_mode == "embedding":
            return self._embed(tokens)
        return np.eye(spec.input_size, dtype=self.dtype)[tokens]

    def forward(
        self, inputs: np.ndarray, state: State, rng: np.random.Generator | None = None,
        lengths: np.ndarray | None = None, as_vectors: bool = False,
    ) -> Forward:
        """Run the stack over a (T, B) token batch (or (T, B, 1+C) with feature channels) or a
        (T, B, I) real batch from ``state``. ``lengths`` (B,): real lengths of right-padded
        sequences (default: all T). Inverted dropout (``spec.dropout``) on the embeddings and
        after every layer, only when ``rng`` is given (training). With ``as_vectors``,
        ``inputs`` are first-layer input vectors (T, B, input_width) for any input mode (see
        :meth:`input_vectors`; one-hot ones may be any real vectors, read as
        :math:`x W_{ih}`), and :meth:`backward` returns dL/d(those vectors)."""
        spec = self.spec
        D, L = spec.directions, spec.layers
        tokens = None
        in_mask = None
        if as_vectors:
            x, tok = np.ascontiguousarray(inputs, dtype=self.dtype), None
            if x.ndim != 3 or x.shape[2] != spec.input_width:
                raise ValueError(f"input vectors must be (T, B, {spec.input_width}), "
                                 f"got {x.shape}")
        elif spec.tokens_in:
            tokens = self._check_tokens(inputs)
            if spec.input_mode == "embedding":
                x, tok = self._embed(tokens), None
                if rng is not None and spec.dropout > 0:  # on the embeddings too
                    in_mask = dropout_mask(rng, x.shape, spec.dropout, self.dtype)
                    x = x * in_mask
            else:
                x, tok = None, tokens
        else:
            x = np.ascontiguousarray(inputs, dtype=self.dtype)
            if x.ndim != 3 or x.shape[2] != spec.input_size:
                raise ValueError(f"real input must be (T, B, {spec.input_size}), got {x.shape}")
            tok = None
        T, B = (tokens.shape[:2] if tokens is not None else x.shape[:2])
        lengths = _check_lengths(lengths, T, B)
        order = reversal_order(lengths, T, B) if D == 2 else None
        caches: list[LayerCache] = []
        rcaches: list[LayerCache] = []
        h_out = np.empty_like(state.h)
        c_out = None if state.c is None else np.empty_like(state.c)
        for layer in range(L):
            outs = []
            for d in range(D):
                k = layer * D + d
                c0 = None if state.c is None else np.ascontiguousarray(state.c[k])
                xd = x if d == 0 or x is None else _reorder(x, order)
                td = tok if d == 0 or tok is None else _reorder(tok, order)
                cache, hT, cT = layer_forward(
                    spec.cell, self.layer_weights(layer, d == 1),
                    np.ascontiguousarray(state.h[k]), c0, x=xd, tokens=td)
                # the final state is the one after each sequence's own last real token
                last = _final_index(lengths, T)
                h_out[k] = hT if last is None else cache.hs[last + 1, np.arange(B)]
                if c_out is not None:
                    c_out[k] = cT if last is None else cache.cs[last + 1, np.arange(B)]
                out = cache.hs[1:]
                outs.append(out if d == 0 else _reorder(out, order))
                (caches if d == 0 else rcaches).append(cache)
            x, tok = (outs[0] if D == 1 else np.concatenate(outs, axis=2)), None
            if rng is not None and spec.dropout > 0:  # after every layer, the top one too
                caches[-1].mask = dropout_mask(rng, x.shape, spec.dropout, self.dtype)
                x = x * caches[-1].mask
        return Forward(caches, x, State(h_out, c_out), tokens, rcaches if D == 2 else None,
                       order, lengths, in_mask)

    def backward(
        self, fwd: Forward, dy: np.ndarray, dstate: State | None = None, need_dx: bool = False
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
        r"""Backward from dL/dy (T, B, D*H) of the top layer (and optionally dL/d final state,
        for full-length sequences). Adds into ``params.grad``; returns (dL/d real input or
        None, dL/dh0, dL/dc0). With ``need_dx`` after a forward ``as_vectors``, the first is
        dL/d(input vectors) (T, B, input_width): for layer 0 with input gate gradients
        :math:`\delta A`, :math:`\partial x = \delta A\, W_{ih}^\top`, summed over the two
        directions."""
        spec = self.spec
        L, D, H = spec.layers, spec.directions, spec.hidden
        dh0 = np.empty_like(fwd.state.h)
        dc0 = None if fwd.state.c is None else np.empty_like(fwd.state.c)
        zeros = np.zeros(fwd.state.h.shape[1:], dtype=self.dtype)
        top = fwd.layers[L - 1].mask
        dcur = np.ascontiguousarray(dy if top is None else dy * top, dtype=self.dtype)
        dx = None
        embedded = spec.input_mode == "embedding" and fwd.tokens is not None
        for layer in range(L - 1, -1, -1):
            want_dx = layer > 0 or embedded or need_dx
            dx = None
            for d in range(D):
                k = layer * D + d
                cache = (fwd.layers if d == 0 else fwd.reverse)[layer]
                dhT = zeros if dstate is None else np.ascontiguousarray(dstate.h[k])
                dcT = None
                if spec.cell == "lstm":
                    dcT = zeros if dstate is None or dstate.c is None else \
                        np.ascontiguousarray(dstate.c[k])
                dpart = dcur if D == 1 else np.ascontiguousarray(dcur[..., d * H : (d + 1) * H])
                if d == 1:
                    dpart = _reorder(dpart, fwd.order)
                dxd, dh0[k], dcl = layer_backward(
                    cache, self.layer_weights(layer, d == 1), self.layer_grads(layer, d == 1),
                    dpart, dhT, dcT, need_dx=want_dx)
                if dc0 is not None:
                    dc0[k] = dcl
                if dxd is not None:
                    if d == 1:
                        dxd = _reorder(dxd, fwd.order)
                    dx = dxd if dx is None else dx + dxd
            if layer > 0:
                mask = fwd.layers[layer - 1].mask
                dcur = np.ascontiguousarray(dx * mask if mask is not None else dx)
        if embedded:
            from rnn_tui.core.layers import scatter_add_rows

            if fwd.in_mask is not None:
                dx = dx * fwd.in_mask
            E = spec.embed_dim
            tok = fwd.tokens if fwd.tokens.ndim == 2 else fwd.tokens[..., 0]
            scatter_add_rows(self.params.g["embed.W"], tok.reshape(-1),
                             np.ascontiguousarray(dx[..., :E]).reshape(-1, E))
            F = spec.feature_dim
            for c in range(len(spec.features)):
                lo = E + c * F
                scatter_add_rows(self.params.g[f"feat{c}.W"], fwd.tokens[..., c + 1].reshape(-1),
                                 np.ascontiguousarray(dx[..., lo : lo + F]).reshape(-1, F))
            dx = None
        return dx, dh0, dc0

    # ---------------------------------------------------------------- head and loss
    def head(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.params["head.W"] + self.params["head.b"]

    def summary(self, fwd: Forward) -> np.ndarray:
        """(B, D*H): what a many-to-one head reads: the top layer after each sequence's last
        real token (and, bidirectional, the backward direction after reading back to the
        first)."""
        y = fwd.y
        T, B, _ = y.shape
        last = _final_index(fwd.lengths, T)
        idx = np.full(B, T - 1) if last is None else last
        rows = y[idx, np.arange(B)]
        if self.spec.bidirectional:
            H = self.spec.hidden
            rows = rows.copy()
            rows[:, H:] = y[0, :, H:]
        return rows

    def _summary_grad(self, fwd: Forward, drows: np.ndarray) -> np.ndarray:
        """dL/dy (T, B, D*H) from dL/d(summary rows)."""
        y = fwd.y
        T, B, _ = y.shape
        dy = np.zeros_like(y)
        last = _final_index(fwd.lengths, T)
        idx = np.full(B, T - 1) if last is None else last
        if self.spec.bidirectional:
            H = self.spec.hidden
            dy[idx, np.arange(B), :H] = drows[:, :H]
            dy[0, :, H:] += drows[:, H:]
        else:
            dy[idx, np.arange(B)] = drows
        return dy

    def loss_and_grad(
        self,
        inputs: np.ndarray,
        targets: np.ndarray,
        state: State,
        loss: str = "xent",
        last_only: bool = False,
        rng: np.random.Generator | None = None,
        dstate: State | None = None,
        need_dx: bool = False,
        lengths: np.ndarray | None = None,
    ) -> StepResult:
        """Forward, loss and backward in one go; gradients land in ``params.grad``.

        ``targets``: (T, B) ints for ``xent`` (negative = ignored, e.g. padding), (T, B, O)
        values for ``mse``; with ``last_only`` (many-to-one) only the summary of each sequence
        is scored (:meth:`summary`) and targets are (B,) or (B, O). ``lengths``: real lengths
        of right-padded sequences. ``dstate`` adds an upstream gradient on the final state
        (for tests)."""
        self.params.zero_grad()
        fwd = self.forward(inputs, state, rng, lengths)
        y = fwd.y
        T, B, W = y.shape
        rows = self.summary(fwd) if last_only else y.reshape(T * B, W)
        out = self.head(rows)
        if loss == "xent":
            value, dout = softmax_cross_entropy(out, np.asarray(targets).reshape(-1))
        elif loss == "mse":
            value, dout = mse(out, np.asarray(targets, dtype=self.dtype).reshape(out.shape))
        else:
            raise ValueError(f"unknown loss {loss!r}; use 'xent' or 'mse'")
        g = self.params.g
        g["head.W"] += rows.T @ dout
        g["head.b"] += dout.sum(axis=0)
        drows = dout @ self.params["head.W"].T
        dy = self._summary_grad(fwd, drows) if last_only else drows.reshape(T, B, W)
        dx, dh0, dc0 = self.backward(fwd, dy, dstate, need_dx=need_dx)
        norms = np.stack([c.dh_norms for c in fwd.layers])
        return StepResult(value, fwd.state, out, dx, dh0, dc0, norms)

    def output_input_gradient(
        self, x: np.ndarray, objective, position: int | None = None,
        lengths: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""The gradient of one scalar of each sequence's head output with respect to every
        input vector: for input vectors ``x`` (T, B, input_width) read from a zero state,
        :math:`f_b = \phi(o_b)` with :math:`o_b` the head's output at ``position`` (or, with
        None, at the many-to-one summary) and ``objective`` :math:`\phi`: (B, O) outputs ->
        ((B,) values, (B, O) :math:`\partial\phi/\partial o`). Returns (f (B,), outputs
        (B, O), :math:`\partial f_b / \partial x_{t,b}` (T, B, input_width)). The
        sequences of a batch are independent, so one pass gives every one's gradient.
        Adds into ``params.grad``: call it on a copy of a network that is training."""
        x = np.ascontiguousarray(x, dtype=self.dtype)
        T, B, _ = x.shape
        fwd = self.forward(x, self.initial_state(B), lengths=lengths, as_vectors=True)
        y = fwd.y
        if position is None:
            rows = self.summary(fwd)
        else:
            if not -T <= position < T:
                raise ValueError(f"position {position} is outside the sequence of {T}")
            rows = y[position]
        out = self.head(rows)
        f, dout = objective(out)
        drows = np.asarray(dout, dtype=self.dtype) @ self.params["head.W"].T
        if position is None:
            dy = self._summary_grad(fwd, drows)
        else:
            dy = np.zeros_like(y)
            dy[position] = drows
        dx, _, _ = self.backward(fwd, dy, need_dx=True)
        return np.asarray(f, dtype=np.float64), out, dx

    def evaluate(
        self, inputs: np.ndarray, targets: np.ndarray, state: State, loss: str = "xent",
        last_only: bool = False, lengths: np.ndarray | None = None,
    ) -> tuple[float, State, np.ndarray]:
        """Loss without gradients (no dropout). Returns (loss, final state, head outputs)."""
        fwd = self.forward(inputs, state, lengths=lengths)
        y = fwd.y
        T, B, W = y.shape
        rows = self.summary(fwd) if last_only else y.reshape(T * B, W)
        out = self.head(rows)
        if loss == "xent":
            value, _ = softmax_cross_entropy(out, np.asarray(targets).reshape(-1))
        else:
            value, _ = mse(out, np.asarray(targets, dtype=self.dtype).reshape(out.shape))
        return value, fwd.state, out

    # ---------------------------------------------------------------- one step
    def step(self, inputs: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Advance one time step for a batch: ``inputs`` (B,) tokens or (B, I) values.
        Returns (head outputs (B, O), new state). (A forward over T = 1: the same kernels as
        training; generation has its own, see :mod:`rnn_tui.core.fast.sampler`.)"""
        if self.spec.tokens_in:
            x = np.asarray(inputs, dtype=np.int64).reshape(1, -1)
        else:
            x = np.asarray(inputs, dtype=self.dtype).reshape(1, -1, self.spec.input_size)
        fwd = self.forward(x, state)
        return self.head(fwd.y[0]), fwd.state


def layer_names(layer: int, directions: int) -> tuple[str, ...]:
    """Parameter-name prefixes of a layer: ``l0``, and ``l0r`` for its backward direction."""
    return (f"l{layer}", f"l{layer}r")[:directions]


def _check_lengths(lengths, T: int, B: int) -> np.ndarray | None:
    """Validated (B,) lengths, or None when every sequence fills all T steps."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.shape != (B,) or (B and (lengths.min() < 1 or lengths.max() > T)):
        raise ValueError(f"lengths must be (B,) = ({B},) values in [1, {T}]")
    return None if bool(np.all(lengths == T)) else lengths


def _final_index(lengths: np.ndarray | None, T: int) -> np.ndarray | None:
    return None if lengths is None else lengths - 1


def reversal_order(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray:
    """(T, B) time index that step t of the backward direction reads: len-1-t within each
    sequence's length, the padding positions after it unchanged (an involution)."""
    t = np.arange(T)[:, None]
    n = np.full((1, B), T) if lengths is None else lengths[None, :]
    return np.where(t < n, n - 1 - t, t)


def _reorder(a: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``out[t, b] = a[order[t, b], b]`` for (T, B, ...) arrays."""
    return np.ascontiguousarray(a[order, np.arange(a.shape[1])[None, :]])
