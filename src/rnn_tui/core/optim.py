r"""Optimizers as kernels over the flat parameter buffer, global-norm clipping.

With gradient :math:`g`, learning rate :math:`\eta`, step :math:`t`:

- SGD + momentum (PyTorch form): :math:`v \leftarrow \mu v + g,\ p \leftarrow p - \eta v`
  (Nesterov: :math:`p \leftarrow p - \eta (g + \mu v)`); weight decay adds :math:`\lambda p` to g.
- Adam: :math:`m \leftarrow \beta_1 m + (1-\beta_1) g,\ v \leftarrow \beta_2 v + (1-\beta_2) g^2,\
  p \leftarrow p - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)` with bias corrections
  :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)`. AdamW decays
  :math:`p \leftarrow p(1 - \eta\lambda)` first instead of adding :math:`\lambda p` to g.
- Adagrad: :math:`s \leftarrow s + g^2,\ p \leftarrow p - \eta g / (\sqrt s + \epsilon)`.
- RMSprop: :math:`s \leftarrow \alpha s + (1-\alpha) g^2,\
  p \leftarrow p - \eta g/(\sqrt s+\epsilon)`.
- Clipping: if :math:`\|g\|_2 > c`, :math:`g \leftarrow g\, c / \|g\|_2`, so the norm is exactly c.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnn_tui.core._jit import kernel


@kernel
def global_norm(g):
    """L2 norm of a flat array, accumulated in float64."""
    s = 0.0
    for i in range(g.size):
        v = np.float64(g[i])
        s += v * v
    return math.sqrt(s)


@kernel
def _scale(g, factor):
    f = g.dtype.type(factor)
    for i in range(g.size):
        g[i] *= f


def clip_global_norm(grad: np.ndarray, max_norm: float) -> float:
    """Scale ``grad`` in place so its L2 norm is at most ``max_norm``; returns the norm before."""
    norm = float(global_norm(grad))
    if max_norm > 0 and norm > max_norm and math.isfinite(norm):
        _scale(grad, max_norm / norm)
    return norm


@kernel
def _sgd(p, g, v, lr, momentum, weight_decay, nesterov):
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        if momentum != 0.0:
            v[i] = momentum * v[i] + gi
            if nesterov:
                gi = gi + momentum * v[i]
            else:
                gi = v[i]
        p[i] -= lr * gi


@kernel
def _adam(p, g, m, v, lr, b1, b2, eps, t, weight_decay, decoupled):
    c1 = 1.0 - b1**t
    c2 = 1.0 - b2**t
    step = lr / c1
    rc2 = 1.0 / math.sqrt(c2)
    decay = 1.0 - lr * weight_decay
    for i in range(p.size):
        gi = g[i]
        if decoupled:
            p[i] *= decay
        else:
            gi = gi + weight_decay * p[i]
        m[i] = b1 * m[i] + (1.0 - b1) * gi
        v[i] = b2 * v[i] + (1.0 - b2) * gi * gi
        p[i] -= step * m[i] / (math.sqrt(v[i]) * rc2 + eps)


@kernel
def _adagrad(p, g, s, lr, eps):
    for i in range(p.size):
        gi = g[i]
        s[i] += gi * gi
        p[i] -= lr * gi / (math.sqrt(s[i]) + eps)


@kernel
def _rmsprop(p, g, s, lr, alpha, eps):
    for i in range(p.size):
        gi = g[i]
        s[i] = alpha * s[i] + (1.0 - alpha) * gi * gi
        p[i] -= lr * gi / (math.sqrt(s[i]) + eps)


class Optimizer:
    """Base class: holds named state buffers the size of the parameter vector."""

    name = "base"
    state_names: tuple[str, ...] = ()

    def __init__(self, size: int, dtype=np.float32, lr: float = 1e-3, **hyper: Any):
        if not lr > 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        self.lr = float(lr)
        self.hyper = hyper
        self.t = 0
        self.state = {k: np.zeros(size, dtype=dtype) for k in self.state_names}

    def step(self, p: np.ndarray, g: np.ndarray) -> None:
        self.t += 1
        self._update(p, g)

    def _update(self, p: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able metadata, arrays) for checkpoints."""
        meta = {"name": self.name, "lr": self.lr, "t": self.t, "hyper": dict(self.hyper)}
        return meta, dict(self.state)

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if meta.get("name") != self.name:
            raise ValueError(f"optimizer state is for {meta.get('name')!r}, not {self.name!r}")
        self.t = int(meta["t"])
        for k in self.state_names:
            if arrays[k].shape != self.state[k].shape:
                raise ValueError(f"optimizer state {k!r} has the wrong shape")
            self.state[k][...] = arrays[k]


class SGD(Optimizer):
    name = "sgd"
    state_names = ("velocity",)

    def _update(self, p, g):
        h = self.hyper
        _sgd(p, g, self.state["velocity"], self.lr, h.get("momentum", 0.9),
             h.get("weight_decay", 0.0), bool(h.get("nesterov", False)))


class Adam(Optimizer):
    name = "adam"
    state_names = ("m", "v")
    decoupled = False

    def _update(self, p, g):
        h = self.hyper
        _adam(p, g, self.state["m"], self.state["v"], self.lr, h.get("beta1", 0.9),
              h.get("beta2", 0.999), h.get("eps", 1e-8), float(self.t),
              h.get("weight_decay", 0.0), self.decoupled)


class AdamW(Adam):
    name = "adamw"
    decoupled = True

    def __init__(self, size, dtype=np.float32, lr=1e-3, **hyper):
        hyper.setdefault("weight_decay", 0.01)
        super().__init__(size, dtype, lr, **hyper)


class Adagrad(Optimizer):
    name = "adagrad"
    state_names = ("sum_sq",)

    def _update(self, p, g):
        _adagrad(p, g, self.state["sum_sq"], self.lr, self.hyper.get("eps", 1e-8))


class RMSprop(Optimizer):
    name = "rmsprop"
    state_names = ("sq_avg",)

    def _update(self, p, g):
        h = self.hyper
        _rmsprop(p, g, self.state["sq_avg"], self.lr, h.get("alpha", 0.99), h.get("eps", 1e-8))


OPTIMIZERS: dict[str, type[Optimizer]] = {
    c.name: c for c in (SGD, Adam, AdamW, Adagrad, RMSprop)
}


def make_optimizer(name: str, size: int, dtype=np.float32, lr: float = 1e-3, **hyper: Any):
    """Build an optimizer by name: sgd, adam, adamw, adagrad, rmsprop."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        ) from None
    return cls(size, dtype, lr, **hyper)
