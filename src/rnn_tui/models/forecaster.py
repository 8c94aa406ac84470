r"""Time-series forecasters.

:class:`ESRNNForecaster` (the current one) follows the idea of Smyl's ES-RNN, the winner of the
M4 competition: exponential smoothing takes out the level, the trend and the season, and a
recurrent network learns what smoothing leaves. Concretely, on :math:`u = \log y` (when every
value of the series is positive and the validation split prefers it) or :math:`u = y`:

* an additive Holt-Winters model (:mod:`rnn_tui.models.ets`; level, optional damped trend,
  optional season) gives, from every origin :math:`t`, the forecast
  :math:`\hat u_{t+1..t+H|t}` and the one-step residuals :math:`e_t = u_t - \hat u_{t|t-1}`;
* a GRU reads the last ``lookback`` steps, each as two features: the deseasonalised value
  relative to the current level, :math:`(u_\tau - \hat s_\tau - \ell_t)/\sigma`, and the scaled
  one-step residual :math:`e_\tau/\sigma` (:math:`\sigma` the residuals' standard deviation);
* its head outputs all :math:`H` steps at once (direct multi-horizon, no feeding back), the
  scaled error of the smoothing forecast, :math:`(u_{t+j} - \hat u_{t+j|t})/\sigma`; an
  average over a few networks (seeds) is used;
* the forecast is :math:`\hat u + w\,\sigma\,\mathrm{RNN}` with :math:`w \in \{0, \tfrac12, 1\}`
  (smoothing alone, the average of both, smoothing corrected by the network), the one that did
  best on the validation split (the last part of the training data) before the network saw it.

Which smoothing model (log or not, season or not, no trend / damped / linear trend) is chosen on
the same validation split: every candidate is fitted on the part before it and forecasts it from
every origin in it (:func:`choose_smoothing`).

:class:`LegacyForecaster` is the earlier model (log + seasonal differencing + scaling, one step
ahead, multi-step by feeding predictions back), kept so that runs saved by earlier versions
still forecast and resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnn_tui.core import Network
from rnn_tui.core.network import StepResult
from rnn_tui.data.series import StandardScaler
from rnn_tui.models.ets import ExpSmoothing, Filtered

COMBINATIONS = {"es": 0.0, "avg": 0.5, "es+rnn": 1.0}
COMBINATION_NAMES = {"es": "smoothing alone", "avg": "average of smoothing and smoothing + RNN",
                     "es+rnn": "smoothing + RNN"}


# ---------------------------------------------------------------------- automatic choices
def validation_length(n_train: int, horizon: int) -> int:
    """Points at the end of the training part used for the automatic choices: the horizon, at
    most a quarter of the training part."""
    return int(max(1, min(horizon, n_train // 4)))


def auto_lookback(period: int, n_fit: int) -> int:
    """The window the network reads when the user has not set one: two seasons (at least 12
    steps, at most 48: the smoothing already removes the season), and at most a third of the
    points it learns from, so that a short series still gives windows."""
    return int(min(max(2 * max(period, 1), 12), 48, max(2, (n_fit - 1) // 3)))


@dataclass
class SmoothingChoice:
    log: bool
    model: ExpSmoothing  # unfitted template: period, trend, damped, season
    scores: list[tuple[str, float]] = field(default_factory=list)  # (candidate, validation MAE)

    @property
    def name(self) -> str:
        return describe(self.log, self.model)


def describe(log: bool, m: ExpSmoothing) -> str:
    trend = ("damped trend" if m.damped else "trend") if m.trend else "no trend"
    season = f"season {m.period}" if m.seasonal else "no season"
    return f"{'log, ' if log else ''}{trend}, {season}"


def smoothing_candidates(period: int, n_fit: int, log_ok: bool):
    for log in ((False, True) if log_ok else (False,)):
        for seasonal in (False, True):
            if seasonal and (period < 2 or n_fit < 2 * period + 2):
                continue
            for trend, damped in ((False, False), (True, True), (True, False)):
                yield log, ExpSmoothing(period if seasonal else 1, trend, damped,
                                        "add" if seasonal else "none")


def to_u(y, log: bool) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return np.log(y) if log else y


def from_u(u, log: bool) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64)
    return np.exp(np.minimum(u, 700.0)) if log else u


def pair_errors(y: np.ndarray, origins: np.ndarray, fc: np.ndarray) -> np.ndarray:
    """Absolute errors of forecasts ``fc`` (len(origins), H) made from ``origins`` over the
    points of ``y`` they reach (later steps are left out)."""
    n = len(y)
    out = []
    for o, f in zip(origins, fc, strict=True):
        h = min(len(f), n - 1 - int(o))
        out.append(np.abs(y[o + 1 : o + 1 + h] - f[:h]))
    return np.concatenate(out) if out else np.zeros(0)


def choose_smoothing(train: np.ndarray, period: int, horizon: int, n_fit: int,
                     log_ok: bool) -> SmoothingChoice:
    """Fit every candidate on ``train[:n_fit]`` and keep the one whose forecasts from every
    origin in ``train[n_fit-1:]`` have the lowest mean absolute error (ties: the simpler, as
    candidates come simplest first)."""
    train = np.asarray(train, dtype=np.float64)
    origins = np.arange(n_fit - 1, len(train) - 1)
    best: tuple[float, bool, ExpSmoothing] | None = None
    scores = []
    for log, model in smoothing_candidates(period, n_fit, log_ok):
        u = to_u(train, log)
        if len(u[:n_fit]) < model.min_length():
            continue
        try:
            model.fit(u[:n_fit])
        except ValueError:
            continue
        f = model.filter(u, init=model.initial_states(u[:n_fit]))
        fc = from_u(model.forecast_from(f, origins, horizon), log)
        err = pair_errors(train, origins, fc)
        score = float(np.mean(err)) if len(err) and np.all(np.isfinite(err)) else float("inf")
        scores.append((describe(log, model), score))
        if best is None or score < best[0]:
            best = (score, log, model)
    if best is None:  # too short for anything: the level alone
        return SmoothingChoice(False, ExpSmoothing(1, False, False, "none"), scores)
    _, log, model = best
    template = ExpSmoothing(model.period, model.trend, model.damped, model.season)
    return SmoothingChoice(log, template, scores)


# ---------------------------------------------------------------------- the network's loss
def masked_mse(net: Network, x: np.ndarray, target: tuple[np.ndarray, np.ndarray],
               state, rng: np.random.Generator | None = None) -> StepResult:
    """Forward, loss and backward for a many-to-one network whose head gives H values, scored
    only where ``mask`` is 1 (the last origins of a series have fewer future points than H).
    ``target`` is (values (B, H), mask (B, H)); gradients land in ``net.params.grad``; ``rng``
    drives dropout between layers."""
    y, mask = target
    net.params.zero_grad()
    fwd = net.forward(x, state, rng)
    rows = fwd.y[-1]
    out = net.head(rows)
    count = max(float(mask.sum()), 1.0)
    diff = (out - y) * mask
    loss = float(np.sum(diff.astype(np.float64) ** 2) / count)
    dout = (diff * (2.0 / count)).astype(net.dtype)
    g = net.params.g
    g["head.W"] += rows.T @ dout
    g["head.b"] += dout.sum(axis=0)
    dy = np.zeros_like(fwd.y)
    dy[-1] = dout @ net.params["head.W"].T
    net.backward(fwd, dy)
    norms = np.stack([c.dh_norms for c in fwd.layers])
    return StepResult(loss, fwd.state, out, None, None, None, norms)


# ---------------------------------------------------------------------- the forecaster
class ESRNNForecaster:
    """Exponential smoothing plus an ensemble of recurrent networks on what it leaves (see the
    module's docstring). ``nets`` each map (lookback, 2) features to ``horizon`` values."""

    version = 2

    def __init__(self, nets: list[Network], lookback: int, horizon: int, log: bool,
                 es: ExpSmoothing, scale: float = 1.0, combine: str = "avg"):
        if combine not in COMBINATIONS:
            raise ValueError(f"combine must be one of {list(COMBINATIONS)}, got {combine!r}")
        self.nets, self.lookback, self.horizon = nets, int(lookback), int(horizon)
        self.log, self.es, self.scale, self.combine = bool(log), es, float(scale), combine

    # ------------------------------------------------------------------ fitting the smoothing
    def fit_smoothing(self, y: np.ndarray) -> None:
        """Fit the smoothing model on ``y`` and set the scale from its one-step residuals."""
        u = to_u(y, self.log)
        self.es.fit(u)
        f = self.es.filter(u)
        res = (u - f.fit)[self.es.initial_states(u)[3] :]
        res = res[np.isfinite(res)]
        s = float(np.std(res)) if len(res) > 1 else 0.0
        self.scale = s if s > 1e-12 else (float(np.std(u)) or 1.0)

    def first_origin(self) -> int:
        """The first origin with a full window after the smoothing's start-up."""
        return max(self.lookback - 1, self.es.period if self.es.seasonal else 1)

    # ------------------------------------------------------------------ features
    def features(self, u: np.ndarray, f: Filtered, origins, n_avail: int | None = None):
        """Inputs (N, lookback, 2), targets (N, H), mask (N, H) and the smoothing forecast
        (N, H) at ``origins`` of the transformed series ``u`` filtered as ``f``. Targets at
        or after ``n_avail`` are masked out."""
        origins = np.asarray(origins, dtype=np.int64)
        n, L, H, sig = len(u), self.lookback, self.horizon, self.scale
        n_avail = n if n_avail is None else n_avail
        s_pred = np.empty(n)  # the seasonal index each point was predicted with
        s_pred[0] = self.es.initial_states(u)[2][0] if self.es.seasonal else 0.0
        s_pred[1:] = f.season[:-1, 0]
        desea = u - s_pred
        resid = np.nan_to_num(u - f.fit) / sig
        base = self.es.forecast_from(f, origins, H)
        win = origins[:, None] + np.arange(-L + 1, 1)[None, :]
        X = np.empty((len(origins), L, 2))
        X[:, :, 0] = (desea[win] - f.level[origins][:, None]) / sig
        X[:, :, 1] = resid[win]
        steps = origins[:, None] + 1 + np.arange(H)[None, :]
        M = (steps < n_avail).astype(np.float64)
        Y = np.zeros((len(origins), H))
        ok = steps < n
        Y[ok] = u[steps[ok]]
        Y = (Y - base) / sig * M
        return X, Y, M, base

    def training_windows(self, y: np.ndarray, n_avail: int):
        """Every window of ``y`` whose first target lies before ``n_avail``."""
        u = to_u(y, self.log)
        f = self.es.filter(u)
        origins = np.arange(self.first_origin(), n_avail - 1)
        X, Y, M, _ = self.features(u, f, origins, n_avail)
        return X, Y, M

    def predict_correction(self, X: np.ndarray) -> np.ndarray:
        """The networks' mean output for windows X (N, lookback, 2): (N, H), scaled units."""
        out = np.zeros((len(X), self.horizon))
        for net in self.nets:
            for i in range(0, len(X), 256):
                x = np.ascontiguousarray(X[i : i + 256].transpose(1, 0, 2), dtype=net.dtype)
                fwd = net.forward(x, net.initial_state(x.shape[1]))
                out[i : i + 256] += net.head(fwd.y[-1]).astype(np.float64)
        return out / max(len(self.nets), 1)

    # ------------------------------------------------------------------ forecasting
    def parts_from(self, y: np.ndarray, origins, init=None) -> tuple[np.ndarray, np.ndarray]:
        """(smoothing forecast, correction) in u units, (len(origins), H) each."""
        u = to_u(y, self.log)
        f = self.es.filter(u, init=init)
        X, _, _, base = self.features(u, f, origins)
        return base, self.predict_correction(X) * self.scale

    def components(self, history: np.ndarray, h: int) -> dict[str, np.ndarray]:
        """The h values after ``history`` by every combination: ``es`` (smoothing alone),
        ``es+rnn``, ``avg``; the chosen one is ``model``."""
        history = np.asarray(history, dtype=np.float64)
        out = {k: [] for k in COMBINATIONS}
        hist = history
        done = 0
        while done < h:
            base, corr = self.parts_from(hist, [len(hist) - 1])
            for k, w in COMBINATIONS.items():
                out[k].append(from_u(base[0] + w * corr[0], self.log))
            done += self.horizon
            if done < h:  # beyond the network's horizon: continue from its own forecast
                hist = np.concatenate([hist, out[self.combine][-1]])
        res = {k: np.concatenate(v)[:h] for k, v in out.items()}
        res["model"] = res[self.combine]
        return res

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        """The chosen combination's ``horizon`` values after ``history``."""
        return self.components(history, horizon)["model"]

    def one_step(self, history: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Each point of ``truth`` predicted from the true values before it."""
        full = np.concatenate([np.asarray(history, float), np.asarray(truth, float)])
        n0 = len(history)
        base, corr = self.parts_from(full, np.arange(n0 - 1, len(full) - 1),
                                     init=self.es.initial_states(to_u(history, self.log)))
        return from_u(base[:, 0] + COMBINATIONS[self.combine] * corr[:, 0], self.log)

    def validation_errors(self, y: np.ndarray, n_fit: int) -> dict[str, float]:
        """Mean absolute error of every combination over the forecasts from every origin in
        ``y[n_fit-1:]`` (with the smoothing fitted before ``n_fit``)."""
        origins = np.arange(n_fit - 1, len(y) - 1)
        base, corr = self.parts_from(y, origins)
        return {k: float(np.mean(pair_errors(y, origins, from_u(base + w * corr, self.log))))
                for k, w in COMBINATIONS.items()}

    def validation_loss(self, y: np.ndarray, n_fit: int) -> float:
        """The networks' loss on the validation split: MSE of smoothing + RNN in scaled
        units over every (origin, step) pair in ``y[n_fit:]``."""
        u = to_u(y, self.log)
        f = self.es.filter(u)
        origins = np.arange(n_fit - 1, len(y) - 1)
        X, Y, M, _ = self.features(u, f, origins)
        d = (self.predict_correction(X) - Y) * M
        return float(np.sum(d**2) / max(M.sum(), 1.0))

    # ------------------------------------------------------------------ saving
    def meta(self) -> dict[str, Any]:
        return {"version": self.version, "kind": "es_rnn", "lookback": self.lookback,
                "horizon": self.horizon, "log": self.log, "es": self.es.to_dict(),
                "scale": self.scale, "combine": self.combine, "members": len(self.nets)}

    @classmethod
    def from_meta(cls, nets: list[Network], d: dict[str, Any]) -> ESRNNForecaster:
        return cls(nets, int(d["lookback"]), int(d["horizon"]), bool(d["log"]),
                   ExpSmoothing.from_dict(d["es"]), float(d.get("scale", 1.0)),
                   str(d.get("combine", "avg")))


class LegacyForecaster:
    r"""The model of checkpoint format 1: the series made stationary (:math:`u = \log y` if
    every value is positive, :math:`z_t = u_t - u_{t-p}`, standardised), a network predicts the
    next z from ``lookback`` of them, and multi-step forecasts feed predictions back in."""

    def __init__(self, net: Network, lookback: int, lag: int, log: bool,
                 scaler: StandardScaler):
        self.net, self.lookback, self.lag, self.log, self.scaler = net, lookback, lag, log, scaler

    @classmethod
    def from_meta(cls, net: Network, d: dict[str, Any]) -> LegacyForecaster:
        return cls(net, int(d["lookback"]), int(d["lag"]), bool(d["log"]),
                   StandardScaler.from_dict(d["scaler"]))

    def to_u(self, y):
        y = np.asarray(y, dtype=np.float64)
        return np.log(y) if self.log else y

    def from_u(self, u):
        return np.exp(u) if self.log else u

    def to_z(self, y) -> np.ndarray:
        """The scaled, differenced series: len(y) - lag values."""
        u = self.to_u(y)
        return self.scaler.transform(u[self.lag :] - u[: -self.lag])

    def predict_z(self, windows: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(windows.T[:, :, None], dtype=self.net.dtype)
        fwd = self.net.forward(x, self.net.initial_state(x.shape[1]))
        return self.net.head(fwd.y[-1])[:, 0].astype(np.float64)

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        u = list(self.to_u(history))
        z = list(self.to_z(history))
        out = []
        for _ in range(horizon):
            zn = float(self.predict_z(np.array(z[-self.lookback :])[None, :])[0])
            z.append(zn)
            un = self.scaler.inverse_transform(zn) + u[-self.lag]
            u.append(float(un))
            out.append(float(self.from_u(un)))
        return np.array(out)

    def one_step(self, history: np.ndarray, truth: np.ndarray) -> np.ndarray:
        full = np.concatenate([history, truth])
        z = self.to_z(full)
        u = self.to_u(full)
        n0 = len(history)
        wins = np.stack([z[i - self.lag - self.lookback : i - self.lag]
                         for i in range(n0, len(full))])
        zp = self.predict_z(wins)
        up = self.scaler.inverse_transform(zp) + u[n0 - self.lag : len(full) - self.lag]
        return self.from_u(up)

    def components(self, history: np.ndarray, h: int) -> dict[str, np.ndarray]:
        return {"model": self.forecast(history, h)}

    def meta(self) -> dict[str, Any]:
        return {"lookback": self.lookback, "lag": self.lag, "log": self.log,
                "scaler": self.scaler.to_dict()}
