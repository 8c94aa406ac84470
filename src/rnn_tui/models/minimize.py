r"""A bounded minimiser for a few parameters: Nelder-Mead on a box, in NumPy.

Exponential smoothing fits at most four parameters (:math:`\alpha, \beta, \gamma, \phi`), each
in an interval, by minimising a sum of squared errors that a Numba kernel computes in
microseconds. That needs no gradient and no SciPy (which the default install leaves out on
Linux: SciPy 1.17 is 143 MB installed): the downhill simplex of Nelder and Mead (1965) with the
standard coefficients (reflection 1, expansion 2, contraction 1/2, shrink 1/2), each trial point
clipped to the box as SciPy's ``minimize(method="Nelder-Mead", bounds=...)`` does, restarted
from the best vertex until a restart no longer improves it (a collapsed simplex is the method's
one known failure). Coordinates whose bounds coincide are held fixed.
``tests/test_minimize.py`` checks it against SciPy's L-BFGS-B.

A simplex has converged when, at once,

.. math::
    \max_i \lVert x_i - x_0 \rVert_\infty \le \text{xtol},\qquad
    \max_i |f(x_i) - f(x_0)| \le \text{ftol}\cdot\max(1, |f(x_0)|).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

REFLECT, EXPAND, CONTRACT, SHRINK = 1.0, 2.0, 0.5, 0.5
INITIAL_STEP = 0.05  # the first simplex spans this fraction of each coordinate's interval
MAX_RESTARTS = 8


def minimize_bounded(f: Callable[[np.ndarray], float], x0: Sequence[float],
                     bounds: Sequence[tuple[float, float]], *, xtol: float = 1e-8,
                     ftol: float = 1e-12, max_evals: int = 5000) -> tuple[np.ndarray, float]:
    """The point of the box ``bounds`` (one ``(low, high)`` per coordinate) where ``f`` is
    least, searched from ``x0``, and its value. ``max_evals`` bounds the calls of ``f``."""
    lo = np.array([b[0] for b in bounds], dtype=np.float64)
    hi = np.array([b[1] for b in bounds], dtype=np.float64)
    if lo.shape != np.shape(x0) or np.any(lo > hi):
        raise ValueError("bounds must give one (low, high) with low <= high per coordinate")
    x = np.clip(np.asarray(x0, dtype=np.float64), lo, hi)
    free = np.flatnonzero(hi > lo)
    evals = 0

    def value(z: np.ndarray) -> float:
        nonlocal evals
        evals += 1
        full = x.copy()
        full[free] = z
        v = float(f(full))
        return v if np.isfinite(v) else np.inf

    best_z, best_f = x[free], value(x[free])
    if free.size == 0:
        return x, best_f
    for _ in range(MAX_RESTARTS):
        z, fz = _simplex(value, best_z, lo[free], hi[free], xtol, ftol, lambda: evals, max_evals)
        improved = fz < best_f - ftol * max(1.0, abs(best_f))
        if fz <= best_f:
            best_z, best_f = z, fz
        if not improved or evals >= max_evals:
            break
    out = x.copy()
    out[free] = best_z
    return out, best_f


def _simplex(value, z0, lo, hi, xtol, ftol, count, max_evals):
    """One Nelder-Mead descent from ``z0`` inside ``[lo, hi]``: (best vertex, its value)."""
    n = z0.size
    pts = np.empty((n + 1, n))
    pts[0] = z0
    for i in range(n):
        step = INITIAL_STEP * (hi[i] - lo[i])
        p = z0.copy()
        p[i] = z0[i] + step if z0[i] + step <= hi[i] else z0[i] - step
        pts[i + 1] = p
    fs = np.array([value(p) for p in pts])
    while count() < max_evals:
        order = np.argsort(fs, kind="stable")
        pts, fs = pts[order], fs[order]
        if (np.max(np.abs(pts[1:] - pts[0])) <= xtol
                and np.max(np.abs(fs[1:] - fs[0])) <= ftol * max(1.0, abs(fs[0]))):
            break
        centre = pts[:-1].mean(axis=0)
        xr = np.clip(centre + REFLECT * (centre - pts[-1]), lo, hi)
        fr = value(xr)
        if fr < fs[0]:
            xe = np.clip(centre + EXPAND * (centre - pts[-1]), lo, hi)
            fe = value(xe)
            pts[-1], fs[-1] = (xe, fe) if fe < fr else (xr, fr)
            continue
        if fr < fs[-2]:
            pts[-1], fs[-1] = xr, fr
            continue
        if fr < fs[-1]:  # outside contraction
            xc = np.clip(centre + CONTRACT * (xr - centre), lo, hi)
            fc = value(xc)
            if fc <= fr:
                pts[-1], fs[-1] = xc, fc
                continue
        else:  # inside contraction
            xc = np.clip(centre + CONTRACT * (pts[-1] - centre), lo, hi)
            fc = value(xc)
            if fc < fs[-1]:
                pts[-1], fs[-1] = xc, fc
                continue
        pts[1:] = pts[0] + SHRINK * (pts[1:] - pts[0])
        fs[1:] = [value(p) for p in pts[1:]]
    i = int(np.argmin(fs))
    return pts[i].copy(), float(fs[i])
