r"""Exponential smoothing (Holt-Winters): the statistical half of the forecaster, and the
Holt-Winters baselines a forecaster must beat.

Component form (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, ch. 8; the
same recursions as ``statsmodels.tsa.holtwinters.ExponentialSmoothing``), with level
:math:`\ell`, trend :math:`b` (optionally damped by :math:`\phi`), season :math:`s` of period
:math:`m`, and :math:`\hat y_t` the one-step prediction:

.. math::
    \text{additive:}\quad &\hat y_t = \ell_{t-1} + \phi b_{t-1} + s_{t-m},\\
    &\ell_t = \alpha (y_t - s_{t-m}) + (1-\alpha)(\ell_{t-1} + \phi b_{t-1}),\\
    &b_t = \beta (\ell_t - \ell_{t-1}) + (1-\beta)\phi b_{t-1},\\
    &s_t = \gamma (y_t - \ell_{t-1} - \phi b_{t-1}) + (1-\gamma) s_{t-m};\\
    \text{multiplicative:}\quad &\hat y_t = (\ell_{t-1} + \phi b_{t-1})\, s_{t-m},\quad
    \ell_t = \alpha\, y_t / s_{t-m} + \dots,\quad
    s_t = \gamma\, y_t / (\ell_{t-1} + \phi b_{t-1}) + (1-\gamma) s_{t-m}.

The forecast from time :math:`t` is :math:`\ell_t + (\phi + \dots + \phi^h) b_t` plus (times)
the latest seasonal index of the same phase. Initial states are the classic ones: the level is
the mean of the first season, the trend the change of the seasonal means between the first two
seasons divided by :math:`m`, the seasonal indices the first season's deviations from (ratios
to) that level; the recursion then runs from the second season on. Without a season the first
value is the level and the mean slope of the first few values the trend.

:math:`\alpha, \beta, \gamma` (and :math:`\phi`) minimise the in-sample one-step sum of squared
errors, under :math:`0 < \alpha < 1`, :math:`0 \le \beta \le \alpha`,
:math:`0 \le \gamma \le 1 - \alpha`: a coarse grid, then a bounded Nelder-Mead
(:mod:`rnn_tui.models.minimize`) from the best two points.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnn_tui.core.fast._jit import kernel
from rnn_tui.models.minimize import minimize_bounded

SEASONS = ("none", "add", "mul")


@kernel
def hw_run(y, m, trend, season, alpha, beta, gamma, phi, l0, b0, s0, start, fit, lev, tre, sea,
           store):
    """Run the recursions over ``y`` from index ``start`` (earlier points only set the initial
    states ``l0, b0, s0``). ``season`` 0 none, 1 additive, 2 multiplicative; ``trend`` 0/1.
    Writes the one-step predictions to ``fit`` (NaN before ``start``) and, with ``store``, the
    states after each observation: ``lev[t]``, ``tre[t]`` and ``sea[t, k]`` = the seasonal
    index for time t + 1 + k. Returns the sum of squared one-step errors (1e300 when a
    multiplicative model's level or season leaves the positive numbers)."""
    n = y.shape[0]
    mm = max(m, 1)
    s = np.empty(mm)
    for k in range(mm):
        s[k] = s0[k] if season else 0.0
    lvl = l0
    b = b0 if trend else 0.0
    sse = 0.0
    for t in range(n):
        if t >= start:
            si = s[t % mm] if season else 0.0
            lb = lvl + phi * b if trend else lvl
            if season == 2:
                if si <= 0.0 or lb <= 0.0:
                    return 1e300
                yhat = lb * si
            else:
                yhat = lb + si
            fit[t] = yhat
            e = y[t] - yhat
            sse += e * e
            if season == 2:
                lnew = alpha * (y[t] / si) + (1.0 - alpha) * lb
            else:
                lnew = alpha * (y[t] - si) + (1.0 - alpha) * lb
            if trend:
                b = beta * (lnew - lvl) + (1.0 - beta) * phi * b
            if season == 2:
                s[t % mm] = gamma * y[t] / lb + (1.0 - gamma) * si
            elif season == 1:
                s[t % mm] = gamma * (y[t] - lb) + (1.0 - gamma) * si
            lvl = lnew
        else:
            fit[t] = np.nan
        if store:
            lev[t] = lvl
            tre[t] = b
            for k in range(mm):
                sea[t, k] = s[(t + 1 + k) % mm] if season else (1.0 if season == 2 else 0.0)
    return sse


@dataclass
class Filtered:
    """The states after every observation (see :func:`hw_run`) and the one-step predictions."""

    fit: np.ndarray
    level: np.ndarray
    trend: np.ndarray
    season: np.ndarray  # (n, m): season[t, k] is the index for time t + 1 + k
    sse: float


@dataclass
class ExpSmoothing:
    """Holt-Winters exponential smoothing. ``period`` < 2 or ``season="none"``: no season."""

    period: int = 1
    trend: bool = True
    damped: bool = False
    season: str = "add"
    params: tuple[float, float, float, float] = (0.5, 0.0, 0.0, 1.0)  # alpha beta gamma phi
    sse: float = field(default=float("nan"), compare=False)

    def __post_init__(self) -> None:
        if self.season not in SEASONS:
            raise ValueError(f"season must be one of {SEASONS}, got {self.season!r}")
        self.period = int(self.period)
        if self.period < 2:
            self.season = "none"
        if self.season == "none":
            self.period = 1
        self.params = tuple(float(p) for p in self.params)  # type: ignore[assignment]

    @property
    def seasonal(self) -> bool:
        return self.season != "none"

    @property
    def _season_code(self) -> int:
        return SEASONS.index(self.season)

    def min_length(self) -> int:
        """Fewest points :meth:`fit` accepts: two seasons plus two (or four without one)."""
        return 2 * self.period + 2 if self.seasonal else 4

    # ------------------------------------------------------------------ states
    def initial_states(self, y: np.ndarray) -> tuple[float, float, np.ndarray, int]:
        """(level, trend, seasonal indices for times 0..m-1, first index the recursion
        scores)."""
        y = np.asarray(y, dtype=np.float64)
        m = self.period
        if self.seasonal:
            if len(y) < m + 1:
                raise ValueError(f"a season of {m} needs more than {m} points, got {len(y)}")
            l0 = float(y[:m].mean())
            b0 = 0.0
            if self.trend:
                b0 = float((y[m : 2 * m].mean() - l0) / m) if len(y) >= 2 * m else 0.0
            s0 = y[:m] - l0 if self.season == "add" else y[:m] / l0
            return l0, b0, np.ascontiguousarray(s0, dtype=np.float64), m
        k = min(len(y), 8)
        b0 = float((y[k - 1] - y[0]) / (k - 1)) if self.trend and k > 1 else 0.0
        return float(y[0]), b0, np.zeros(1), 1

    def filter(self, y: np.ndarray, params=None, init=None) -> Filtered:
        """Run over ``y`` with the fitted (or given) parameters; ``init`` defaults to the
        initial states of ``y`` itself (pass the training part's to extend a fitted model over
        new data)."""
        y = np.ascontiguousarray(y, dtype=np.float64)
        n, m = len(y), self.period
        a, b, g, phi = self.params if params is None else params
        l0, b0, s0, start = self.initial_states(y) if init is None else init
        fit = np.empty(n)
        lev, tre, sea = np.empty(n), np.empty(n), np.empty((n, m))
        sse = hw_run(y, m, int(self.trend), self._season_code, a, b, g, phi, l0, b0, s0, start,
                     fit, lev, tre, sea, True)
        return Filtered(fit, lev, tre, sea, float(sse))

    # ------------------------------------------------------------------ fitting
    def _unpack(self, x) -> tuple[float, float, float, float]:
        a = float(x[0])
        b = a * float(x[1]) if self.trend else 0.0
        g = (1.0 - a) * float(x[2]) if self.seasonal else 0.0
        phi = float(x[3]) if (self.trend and self.damped) else 1.0
        return a, b, g, phi

    def fit(self, y: np.ndarray) -> ExpSmoothing:
        """Choose the smoothing parameters that minimise the one-step squared error on ``y``."""
        y = np.ascontiguousarray(y, dtype=np.float64)
        if len(y) < self.min_length():
            raise ValueError(f"exponential smoothing with period {self.period} needs at least "
                             f"{self.min_length()} points, got {len(y)}")
        m, tc, sc = self.period, int(self.trend), self._season_code
        l0, b0, s0, start = self.initial_states(y)
        fit = np.empty(len(y))
        dummy1, dummy2 = np.empty(1), np.empty((1, 1))

        def sse(x) -> float:
            a, b, g, phi = self._unpack(x)
            return hw_run(y, m, tc, sc, a, b, g, phi, l0, b0, s0, start, fit, dummy1, dummy1,
                          dummy2, False)

        grid = itertools.product((0.05, 0.2, 0.4, 0.6, 0.8, 0.95),
                                 (0.02, 0.15, 0.5) if self.trend else (0.0,),
                                 (0.05, 0.25, 0.6) if self.seasonal else (0.0,),
                                 (0.9, 0.98) if (self.trend and self.damped) else (1.0,))
        starts = sorted(((sse(x), x) for x in grid), key=lambda t: t[0])[:2]
        bounds = [(1e-3, 1 - 1e-3), (0.0, 1.0) if self.trend else (0.0, 0.0),
                  (0.0, 1.0) if self.seasonal else (0.0, 0.0),
                  (0.8, 0.995) if (self.trend and self.damped) else (1.0, 1.0)]
        best_x, best_f = starts[0][1], starts[0][0]
        for _, x0 in starts:
            x, f = minimize_bounded(sse, x0, bounds)
            if np.isfinite(f) and f < best_f:
                best_x, best_f = x, f
        self.params = self._unpack(best_x)
        self.sse = float(best_f)
        return self

    # ------------------------------------------------------------------ forecasting
    def damping(self, h: int) -> np.ndarray:
        """(phi, phi + phi^2, ...) for steps 1..h (zeros without a trend)."""
        if not self.trend:
            return np.zeros(h)
        return np.cumsum(self.params[3] ** np.arange(1, h + 1))

    def forecast_from(self, f: Filtered, origins, h: int) -> np.ndarray:
        """(len(origins), h): forecasts for t+1..t+h from the state after each origin t."""
        t = np.atleast_1d(np.asarray(origins, dtype=np.int64))
        trend = f.level[t][:, None] + self.damping(h)[None, :] * f.trend[t][:, None]
        k = np.arange(h) % self.period
        if self.season == "mul":
            return trend * f.season[t][:, k]
        return trend + f.season[t][:, k]

    def forecast(self, y: np.ndarray, h: int, init=None) -> np.ndarray:
        """The h values after ``y``."""
        f = self.filter(y, init=init)
        return self.forecast_from(f, [len(y) - 1], h)[0]

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "trend": self.trend, "damped": self.damped,
                "season": self.season, "params": list(self.params), "sse": self.sse}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExpSmoothing:
        return cls(int(d["period"]), bool(d["trend"]), bool(d["damped"]), str(d["season"]),
                   tuple(d["params"]), float(d.get("sse", float("nan"))))


def holt_winters(train: np.ndarray, h: int, period: int, season: str = "add") -> np.ndarray | None:
    """The Holt-Winters baseline: additive trend, additive or multiplicative season (``mul``
    only when every value is positive), fitted on ``train``; None where it does not apply (a
    multiplicative season with a value <= 0, or fewer than two seasons plus two points, where
    :func:`holt` stands in)."""
    train = np.asarray(train, dtype=np.float64)
    if season == "mul" and not np.all(train > 0):
        return None
    model = ExpSmoothing(period, trend=True, season=season)
    if not model.seasonal or len(train) < model.min_length():
        return None
    return model.fit(train).forecast(train, h)


def holt(train: np.ndarray, h: int) -> np.ndarray:
    """Holt's linear trend method (no season), fitted on ``train``."""
    train = np.asarray(train, dtype=np.float64)
    model = ExpSmoothing(1, trend=True, season="none")
    if len(train) < model.min_length():
        return np.full(h, float(train[-1]))
    return model.fit(train).forecast(train, h)
