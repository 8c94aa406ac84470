"""Holt-Winters written out for clarity, the plain twin :mod:`rnn_tui.models.ets` is tested
against (tests/test_ets.py)."""

from __future__ import annotations

import numpy as np


def holt_winters_reference(y, m, trend, season, alpha, beta, gamma, phi, l0, b0, s0, h):
    """Holt-Winters written out from the textbook recursions (component form, Hyndman &
    Athanasopoulos), one observation at a time, for clarity. ``season`` is "none", "add" or
    "mul"; ``s0`` holds the indices of times 0..m-1 and the recursion scores y[m:] (y[1:]
    without a season). Returns (one-step predictions of the scored part, the h-step forecast
    after y, the final level, trend and last m seasonal indices in time order)."""
    y = [float(v) for v in y]
    start = m if season != "none" else 1
    level, slope = float(l0), float(b0) if trend else 0.0
    seasonal = {t: float(s0[t]) for t in range(m)} if season != "none" else {}
    preds = []
    for t in range(start, len(y)):
        damped = level + phi * slope if trend else level
        s_old = seasonal.get(t - m, 0.0 if season == "add" else 1.0)
        if season == "mul":
            preds.append(damped * s_old)
            new_level = alpha * y[t] / s_old + (1 - alpha) * damped
            seasonal[t] = gamma * y[t] / damped + (1 - gamma) * s_old
        else:
            s_old = s_old if season == "add" else 0.0
            preds.append(damped + s_old)
            new_level = alpha * (y[t] - s_old) + (1 - alpha) * damped
            if season == "add":
                seasonal[t] = gamma * (y[t] - damped) + (1 - gamma) * s_old
        if trend:
            slope = beta * (new_level - level) + (1 - beta) * phi * slope
        level = new_level
    n = len(y)
    forecast = []
    for k in range(1, h + 1):
        trend_part = level + sum(phi**j for j in range(1, k + 1)) * slope if trend else level
        if season == "none":
            forecast.append(trend_part)
            continue
        # step k is time n - 1 + k; the latest index of its phase: m * ceil(k / m) earlier
        s = seasonal[n - 1 + k - m * ((k - 1) // m + 1)]
        forecast.append(trend_part * s if season == "mul" else trend_part + s)
    last = [seasonal[t] for t in range(n - m, n)] if season != "none" else []
    return np.array(preds), np.array(forecast), level, slope, np.array(last)
