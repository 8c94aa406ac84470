r"""Which inputs made this output: a score for every input position.

For the explained output :math:`f` (see :mod:`rnn_tui.explain.models`) and the input vectors
:math:`x_t` (embedding rows, one-hot columns or series values), with the gradient
:math:`g_t = \partial f / \partial x_t` from the network's backward pass:

- ``grad``: :math:`\lVert g_t \rVert_2` (saliency; unsigned);
- ``grad-x-input``: :math:`x_t \cdot g_t` (signed);
- ``ig``: integrated gradients from a baseline :math:`x'` (zero vectors),
  :math:`\mathrm{IG}_t = (x_t - x'_t) \cdot \int_0^1 g_t(x' + \alpha (x - x'))\, d\alpha`.

Integrated gradients is *complete*: :math:`\sum_t \mathrm{IG}_t = f(x) - f(x')` exactly, since
the integrand is :math:`d f(x' + \alpha(x - x')) / d\alpha`. The integral is computed by
Gauss-Legendre quadrature on panels of [0, 1] (exact for polynomials of degree 2n-1 on each),
all nodes in one batched forward/backward. By default the panels are doubled until the
quadrature's sum is within :data:`COMPLETENESS` of :math:`f(x) - f(x')` (or
:data:`MAX_NODES` is reached); ``steps`` fixes the node count instead. The result reports both
sides, so anyone can check it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from rnn_tui.errors import UserError

METHODS = ("grad", "grad-x-input", "ig")
DEFAULT_NODES = 16  # Gauss-Legendre nodes per panel
COMPLETENESS = 0.01  # |sum IG - (f(x) - f(x'))| <= 1 % of |f(x) - f(x')|, refined until so
ABS_FLOOR = 1e-9  # below this a difference is zero (float rounding)
MAX_NODES = 2048
MAX_STEPS = 4096
BATCH = 64  # interpolation points per forward/backward pass


@dataclass
class Attribution:
    """Scores of one explained output: ``scores[t]`` for ``tokens[t]``; for ``ig`` they sum
    to ``f_x - f_baseline`` within ``gap``."""

    tokens: list[str]
    scores: list[float]
    target: str
    method: str
    f_x: float
    f_baseline: float
    steps: int = 0
    gap: float = 0.0  # |sum of scores - (f_x - f_baseline)| (ig)
    reach: int = 0  # the last position that can affect the output
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        d.update(self.extra)
        return d


def gauss_legendre(nodes: int, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in [0, 1] and their weights (summing to 1) of ``panels`` equal panels with
    ``nodes`` Gauss-Legendre points each."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(0.0, 1.0, panels + 1)
    a, b = edges[:-1, None], edges[1:, None]
    pts = (a + (b - a) * (t[None, :] + 1) / 2).reshape(-1)
    wts = ((b - a) / 2 * w[None, :]).reshape(-1)
    return pts, wts


def _batched_gradient(fn, x, baseline, alphas):
    """(f, g) at x' + alpha (x - x') for every alpha, in batches: g (T, N, W)."""
    fs, gs = [], []
    for s in range(0, len(alphas), BATCH):
        a = alphas[s : s + BATCH]
        pts = baseline + a[None, :, None] * (x - baseline)
        f, g = fn(pts)
        fs.append(np.asarray(f, dtype=np.float64))
        gs.append(np.asarray(g, dtype=np.float64))
    return np.concatenate(fs), np.concatenate(gs, axis=1)


def integrated_gradients(fn, x: np.ndarray, baseline: np.ndarray, steps: int | None = None,
                         ) -> tuple[np.ndarray, float, float, int]:
    """IG of ``fn`` (batched input vectors (T, B, W) -> (f (B,), df/dx (T, B, W))) at ``x``
    (T, 1, W) from ``baseline``: (attributions (T, W), f(x), f(baseline), points used)."""
    ends, _ = _batched_gradient(fn, x, baseline, np.array([1.0, 0.0]))
    f_x, f_b = float(ends[0]), float(ends[1])
    delta = f_x - f_b
    diff = (x - baseline)[:, 0]
    if steps is not None:
        panels = -(-steps // 64)
        nodes = -(-steps // panels)
        pts, wts = gauss_legendre(nodes, panels)
        _, g = _batched_gradient(fn, x, baseline, pts)
        return diff * np.tensordot(wts, g.transpose(1, 0, 2), axes=1), f_x, f_b, len(pts)
    panels = 1
    while True:
        pts, wts = gauss_legendre(DEFAULT_NODES, panels)
        _, g = _batched_gradient(fn, x, baseline, pts)
        attr = diff * np.tensordot(wts, g.transpose(1, 0, 2), axes=1)
        gap = abs(float(attr.sum()) - delta)
        if gap <= max(COMPLETENESS * abs(delta), ABS_FLOOR) or len(pts) * 2 > MAX_NODES:
            return attr, f_x, f_b, len(pts)
        panels *= 2


def attribute(model, text, method: str = "ig", target: str | None = None,
              steps: int | None = None) -> Attribution:
    """Score every input position of ``text`` for the output ``target`` names (the
    prediction by default) by ``method``."""
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise UserError(f"--ig-steps must be from 1 to {MAX_STEPS}, got {steps}")
    tokens, inputs = model.read(text)
    tgt = model.target(text, target)
    x = model.vectors(inputs)[: tgt.last + 1]
    tokens = tokens[: tgt.last + 1]
    baseline = np.zeros_like(x)

    def fn(pts):
        return model.gradient(pts, tgt)

    if method == "ig":
        attr, f_x, f_b, used = integrated_gradients(fn, x, baseline, steps)
        scores = attr.sum(axis=1)
        gap = abs(float(scores.sum()) - (f_x - f_b))
    else:
        (f_x, f_b), g = _batched_gradient(fn, x, baseline, np.array([1.0, 0.0]))
        g = g[:, 0]
        scores = np.linalg.norm(g, axis=1) if method == "grad" else (x[:, 0] * g).sum(axis=1)
        used, gap = 1, 0.0
    return Attribution(list(tokens), [float(s) for s in scores], tgt.name, method,
                       float(f_x), float(f_b), used, gap, tgt.last)


def completeness_holds(a: Attribution, tolerance: float = COMPLETENESS) -> bool:
    """|sum of scores - (f(x) - f(x'))| <= tolerance * |f(x) - f(x')| (or the float floor)."""
    delta = a.f_x - a.f_baseline
    return abs(sum(a.scores) - delta) <= max(tolerance * abs(delta), ABS_FLOOR)
