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

from rnn_tui.core.fast._jit import kernel


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


# ``_update``'s ``kind`` (NumPy integers: a Python int constant would be compiled as a literal,
# one specialisation per value)
_SGD, _ADAM, _ADAGRAD, _RMSPROP = (np.int64(k) for k in range(4))


@kernel
def _update(kind, p, g, s1, s2, lr, h1, h2, eps, t, weight_decay, flag):
    """One step of optimizer ``kind`` over the flat buffer ``p`` with gradient ``g`` and state
    buffers ``s1``/``s2`` (see the module docstring for the equations):

    - SGD: s1 = velocity, h1 = momentum, flag = Nesterov;
    - Adam: s1 = m, s2 = v, h1 = beta1, h2 = beta2, t = step, flag = decoupled decay (AdamW);
    - Adagrad: s1 = sum of squares;
    - RMSprop: s1 = mean square, h1 = alpha.

    One kernel rather than one per optimizer: every compiled kernel brings its own wrapper, and
    a cold compile of everything paid about 0.1 s per optimizer and float type for them."""
    if kind == _SGD:
        for i in range(p.size):
            gi = g[i] + weight_decay * p[i]
            if h1 != 0.0:
                s1[i] = h1 * s1[i] + gi
                if flag:
                    gi = gi + h1 * s1[i]
                else:
                    gi = s1[i]
            p[i] -= lr * gi
    elif kind == _ADAM:
        # every constant in the buffers' own float type, and the decay form chosen outside
        # the loop: in float32 the loop vectorises (112k parameters: 251 us -> see
        # docs/performance.md), which float64 constants prevented
        ft = p.dtype.type
        step = ft(lr / (1.0 - h1**t))
        rc2 = ft(1.0 / math.sqrt(1.0 - h2**t))
        b1, c1, b2, c2 = ft(h1), ft(1.0 - h1), ft(h2), ft(1.0 - h2)
        e, wd = ft(eps), ft(weight_decay)
        if flag:  # AdamW: decoupled decay
            decay = ft(1.0 - lr * weight_decay)
            for i in range(p.size):
                p[i] *= decay
            wd = ft(0.0)
        for i in range(p.size):
            gi = g[i] + wd * p[i]
            m = b1 * s1[i] + c1 * gi
            v = b2 * s2[i] + c2 * gi * gi
            s1[i] = m
            s2[i] = v
            p[i] -= step * m / (math.sqrt(v) * rc2 + e)
    elif kind == _ADAGRAD:
        for i in range(p.size):
            gi = g[i]
            s1[i] += gi * gi
            p[i] -= lr * gi / (math.sqrt(s1[i]) + eps)
    else:
        for i in range(p.size):
            gi = g[i]
            s1[i] = h1 * s1[i] + (1.0 - h1) * gi * gi
            p[i] -= lr * gi / (math.sqrt(s1[i]) + eps)


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
        h, v = self.hyper, self.state["velocity"]
        _update(_SGD, p, g, v, v, self.lr, float(h.get("momentum", 0.9)), 0.0, 0.0, 0.0,
                float(h.get("weight_decay", 0.0)), bool(h.get("nesterov", False)))


class Adam(Optimizer):
    name = "adam"
    state_names = ("m", "v")
    decoupled = False

    def _update(self, p, g):
        h = self.hyper
        _update(_ADAM, p, g, self.state["m"], self.state["v"], self.lr,
                float(h.get("beta1", 0.9)), float(h.get("beta2", 0.999)),
                float(h.get("eps", 1e-8)), float(self.t), float(h.get("weight_decay", 0.0)),
                self.decoupled)


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
        s = self.state["sum_sq"]
        _update(_ADAGRAD, p, g, s, s, self.lr, 0.0, 0.0, float(self.hyper.get("eps", 1e-8)),
                0.0, 0.0, False)


class RMSprop(Optimizer):
    name = "rmsprop"
    state_names = ("sq_avg",)

    def _update(self, p, g):
        h, s = self.hyper, self.state["sq_avg"]
        _update(_RMSPROP, p, g, s, s, self.lr, float(h.get("alpha", 0.99)), 0.0,
                float(h.get("eps", 1e-8)), 0.0, 0.0, False)


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
