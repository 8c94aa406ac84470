"""A stacked recurrent network with a dense head: the model every task trains.

Inputs are time-major: tokens (T, B) for language models (through an embedding, or one-hot), or
real features (T, B, I) for series. The head maps the top layer's h_t to outputs (logits for
cross-entropy, values for MSE) at every step (many-to-many) or at the last step only
(many-to-one). The recurrent state (h, and c for LSTM) is returned detached, so the next batch can
start from it: truncated BPTT with the state carried.
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

    @property
    def gates(self) -> int:
        return GATES[self.cell]

    @property
    def tokens_in(self) -> bool:
        return self.input_mode != "real"

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
    y: np.ndarray  # (T, B, H) top layer's h_t
    state: State
    tokens: np.ndarray | None = None


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

    def __init__(self, spec: NetSpec, dtype=np.float32, seed: int | None = 0):
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.params = Params(self.build_layout(spec), self.dtype)
        self.init_weights(np.random.default_rng(seed))

    # ---------------------------------------------------------------- construction
    @staticmethod
    def build_layout(spec: NetSpec) -> Layout:
        G, H = spec.gates, spec.hidden
        entries: list[tuple[str, tuple[int, ...]]] = []
        if spec.input_mode == "embedding":
            entries.append(("embed.W", (spec.input_size, spec.embed_dim)))
            first_in = spec.embed_dim
        else:
            first_in = spec.input_size
        for layer in range(spec.layers):
            fan_in = first_in if layer == 0 else H
            entries += [
                (f"l{layer}.W_ih", (fan_in, G * H)),
                (f"l{layer}.W_hh", (H, G * H)),
                (f"l{layer}.b_ih", (G * H,)),
                (f"l{layer}.b_hh", (G * H,)),
            ]
        entries += [("head.W", (H, spec.output_size)), ("head.b", (spec.output_size,))]
        return Layout(entries)

    def init_weights(self, rng: np.random.Generator) -> None:
        """PyTorch's init for recurrent and head weights, U(-1/sqrt(H), 1/sqrt(H)); embedding
        N(0, 1); LSTM forget-gate bias 1 so memory is kept by default early in training."""
        H = self.spec.hidden
        k = 1.0 / np.sqrt(H)
        for name, v in self.params.w.items():
            if name == "embed.W":
                v[...] = rng.standard_normal(v.shape)
            elif name == "head.b":
                v[...] = 0.0
            else:
                v[...] = rng.uniform(-k, k, v.shape)
        if self.spec.cell == "lstm":
            for layer in range(self.spec.layers):
                self.params[f"l{layer}.b_ih"][H : 2 * H] = 1.0
                self.params[f"l{layer}.b_hh"][H : 2 * H] = 0.0

    def layer_weights(self, layer: int) -> dict[str, np.ndarray]:
        p = self.params.w
        return {k: p[f"l{layer}.{k}"] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}

    def layer_grads(self, layer: int) -> dict[str, np.ndarray]:
        g = self.params.g
        return {k: g[f"l{layer}.{k}"] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}

    def global_sum(self) -> float:
        """Sum of all weights: NaN or Inf exactly when some weight is (a cheap finiteness test)."""
        return float(np.sum(self.params.data, dtype=np.float64))

    def initial_state(self, batch: int) -> State:
        shape = (self.spec.layers, batch, self.spec.hidden)
        h = np.zeros(shape, dtype=self.dtype)
        return State(h, np.zeros_like(h) if self.spec.cell == "lstm" else None)

    # ---------------------------------------------------------------- forward / backward
    def forward(
        self, inputs: np.ndarray, state: State, rng: np.random.Generator | None = None
    ) -> Forward:
        """Run the stack over a (T, B) token batch or (T, B, I) real batch from ``state``.
        Dropout between layers is applied only when ``rng`` is given (training)."""
        spec = self.spec
        tokens = None
        if spec.tokens_in:
            tokens = np.ascontiguousarray(inputs, dtype=np.int64)
            if tokens.ndim != 2:
                raise ValueError(f"token input must be (T, B), got shape {tokens.shape}")
            if tokens.size and (tokens.min() < 0 or tokens.max() >= spec.input_size):
                raise ValueError("token id out of range for the vocabulary")
            if spec.input_mode == "embedding":
                x, tok = np.take(self.params["embed.W"], tokens, axis=0), None
            else:
                x, tok = None, tokens
        else:
            x = np.ascontiguousarray(inputs, dtype=self.dtype)
            if x.ndim != 3 or x.shape[2] != spec.input_size:
                raise ValueError(f"real input must be (T, B, {spec.input_size}), got {x.shape}")
            tok = None
        caches: list[LayerCache] = []
        h_out = np.empty_like(state.h)
        c_out = None if state.c is None else np.empty_like(state.c)
        for layer in range(spec.layers):
            c0 = None if state.c is None else np.ascontiguousarray(state.c[layer])
            cache, hT, cT = layer_forward(
                spec.cell, self.layer_weights(layer), np.ascontiguousarray(state.h[layer]), c0,
                x=x, tokens=tok,
            )
            h_out[layer] = hT
            if c_out is not None:
                c_out[layer] = cT
            x, tok = cache.hs[1:], None
            if rng is not None and spec.dropout > 0 and layer < spec.layers - 1:
                cache.mask = dropout_mask(rng, x.shape, spec.dropout, self.dtype)
                x = x * cache.mask
            caches.append(cache)
        return Forward(caches, caches[-1].hs[1:], State(h_out, c_out), tokens)

    def backward(
        self, fwd: Forward, dy: np.ndarray, dstate: State | None = None, need_dx: bool = False
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
        """Backward from dL/dy (T, B, H) of the top layer (and optionally dL/d final state).
        Adds into ``params.grad``; returns (dL/d real input or None, dL/dh0, dL/dc0)."""
        spec = self.spec
        L = spec.layers
        dh0 = np.empty_like(fwd.state.h)
        dc0 = None if fwd.state.c is None else np.empty_like(fwd.state.c)
        zeros = np.zeros(fwd.state.h.shape[1:], dtype=self.dtype)
        dcur = np.ascontiguousarray(dy, dtype=self.dtype)
        dx = None
        for layer in range(L - 1, -1, -1):
            cache = fwd.layers[layer]
            dhT = zeros if dstate is None else np.ascontiguousarray(dstate.h[layer])
            dcT = None
            if spec.cell == "lstm":
                dcT = zeros if dstate is None or dstate.c is None else np.ascontiguousarray(
                    dstate.c[layer])
            want_dx = layer > 0 or spec.input_mode == "embedding" or need_dx
            dx, dh0[layer], dcl = layer_backward(
                cache, self.layer_weights(layer), self.layer_grads(layer), dcur, dhT, dcT,
                need_dx=want_dx,
            )
            if dc0 is not None:
                dc0[layer] = dcl
            if layer > 0:
                below = fwd.layers[layer - 1]
                dcur = dx * below.mask if below.mask is not None else dx
                dcur = np.ascontiguousarray(dcur)
        if spec.input_mode == "embedding":
            from rnn_tui.core.layers import scatter_add_rows

            E = spec.embed_dim
            scatter_add_rows(self.params.g["embed.W"], fwd.tokens.reshape(-1), dx.reshape(-1, E))
            dx = None
        return dx, dh0, dc0

    # ---------------------------------------------------------------- head and loss
    def head(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.params["head.W"] + self.params["head.b"]

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
    ) -> StepResult:
        """Forward, loss and backward in one go; gradients land in ``params.grad``.

        ``targets``: (T, B) ints for ``xent`` (negative = ignored), (T, B, O) values for ``mse``;
        with ``last_only`` (many-to-one) only the last step is scored and targets are (B,) or
        (B, O). ``dstate`` adds an upstream gradient on the final state (for tests)."""
        self.params.zero_grad()
        fwd = self.forward(inputs, state, rng)
        y = fwd.y
        T, B, H = y.shape
        rows = y[-1] if last_only else y.reshape(T * B, H)
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
        if last_only:
            dy = np.zeros_like(y)
            dy[-1] = drows
        else:
            dy = drows.reshape(T, B, H)
        dx, dh0, dc0 = self.backward(fwd, dy, dstate, need_dx=need_dx)
        norms = np.stack([c.dh_norms for c in fwd.layers])
        return StepResult(value, fwd.state, out, dx, dh0, dc0, norms)

    def evaluate(
        self, inputs: np.ndarray, targets: np.ndarray, state: State, loss: str = "xent",
        last_only: bool = False,
    ) -> tuple[float, State, np.ndarray]:
        """Loss without gradients (no dropout). Returns (loss, final state, head outputs)."""
        fwd = self.forward(inputs, state)
        y = fwd.y
        T, B, H = y.shape
        rows = y[-1] if last_only else y.reshape(T * B, H)
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
        training; generation has its own, see :mod:`rnn_tui.core.sampler`.)"""
        if self.spec.tokens_in:
            x = np.asarray(inputs, dtype=np.int64).reshape(1, -1)
        else:
            x = np.asarray(inputs, dtype=self.dtype).reshape(1, -1, self.spec.input_size)
        fwd = self.forward(x, state)
        return self.head(fwd.y[0]), fwd.state
