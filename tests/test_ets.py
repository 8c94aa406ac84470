"""Holt-Winters exponential smoothing: the Numba kernel against the textbook recursions written
out in plain Python (rnn_tui/models/ets_reference.py), against numbers from an independent
implementation (statsmodels), and the fitted baselines on a real series."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SERIES_DIR
from rnn_tui.data.series import load_csv
from rnn_tui.models.ets import ExpSmoothing, holt, holt_winters
from rnn_tui.models.ets_reference import holt_winters_reference

CASES = [("add", True, False), ("add", True, True), ("mul", True, False), ("mul", True, True),
         ("add", False, False), ("none", True, False), ("none", True, True),
         ("none", False, False)]


@pytest.mark.parametrize("season,trend,damped", CASES)
def test_kernel_matches_the_textbook_recursions(season, trend, damped):
    rng = np.random.default_rng(3)
    m = 5 if season != "none" else 1
    t = np.arange(47)
    y = 20 + 0.3 * t + 3 * np.sin(2 * np.pi * t / 5) + rng.normal(0, 0.5, len(t))
    model = ExpSmoothing(m, trend, damped, season, params=(0.35, 0.08, 0.2, 0.9 if damped else 1))
    l0, b0, s0, start = model.initial_states(y)
    f = model.filter(y)
    fc = model.forecast(y, 13)
    preds, ref_fc, level, slope, last = holt_winters_reference(
        y, m, trend, season, *model.params, l0, b0, s0, 13)
    np.testing.assert_allclose(f.fit[start:], preds, rtol=1e-12, atol=1e-10)
    assert np.all(np.isnan(f.fit[:start]))
    np.testing.assert_allclose(fc, ref_fc, rtol=1e-12, atol=1e-10)
    assert f.level[-1] == pytest.approx(level) and f.trend[-1] == pytest.approx(slope)
    if season != "none":  # after the last point: the indices of the next m times, which are
        np.testing.assert_allclose(f.season[-1], last)  # those of the last m, in order
    assert f.sse == pytest.approx(float(np.sum((y[start:] - preds) ** 2)))


def test_initial_states_are_the_classic_ones():
    y = np.array([10.0, 20, 30, 20, 14, 24, 34, 24, 18, 28])
    l0, b0, s0, start = ExpSmoothing(4, True, False, "add").initial_states(y)
    assert l0 == 20 and b0 == pytest.approx((24 - 20) / 4) and start == 4
    np.testing.assert_allclose(s0, [-10, 0, 10, 0])
    l0, b0, s0, _ = ExpSmoothing(4, True, False, "mul").initial_states(y)
    np.testing.assert_allclose(s0, [0.5, 1, 1.5, 1])


def test_a_hand_worked_step():
    """Additive Holt-Winters, m = 2, alpha = 0.5, beta = 0.5, gamma = 0.5, worked by hand:
    l0 = 15, b0 = (35 - 15) / 2 = 10, s = (-5, 5); at t = 2 (y = 30): prediction 15 + 10 - 5
    = 20, level 0.5 (30 + 5) + 0.5 * 25 = 30, trend 0.5 * 15 + 0.5 * 10 = 12.5, season
    0.5 (30 - 25) + 0.5 (-5) = 0; at t = 3 (y = 40): prediction 30 + 12.5 + 5 = 47.5."""
    y = np.array([10.0, 20, 30, 40])
    model = ExpSmoothing(2, True, False, "add", params=(0.5, 0.5, 0.5, 1.0))
    f = model.filter(y)
    assert f.fit[2] == 20 and f.fit[3] == 47.5
    assert f.level[2] == 30 and f.trend[2] == 12.5 and f.season[2, 1] == 0  # index for t = 4


# statsmodels 0.15 (ExponentialSmoothing, initialization_method="known" with the same initial
# states, fit()) on the first 120 airline passenger counts: optimised SSE and parameters.
STATSMODELS_AIRLINE = {
    "add": (16681.64037324827, (0.2356, 0.0300, 0.7644)),
    "mul": (11505.772856343925, (0.3113, 0.0297, 0.6887)),
}


@pytest.mark.parametrize("season", ["add", "mul"])
def test_fit_reaches_statsmodels_optimum_on_airline(season):
    y = load_csv(SERIES_DIR / "airline-passengers.csv").values[:120]
    model = ExpSmoothing(12, True, False, season).fit(y)
    sse, params = STATSMODELS_AIRLINE[season]
    assert model.sse <= sse * (1 + 1e-6)
    np.testing.assert_allclose(model.params[:3], params, atol=2e-3)


@pytest.mark.parametrize("season,damped", [("add", False), ("mul", False), ("add", True)])
def test_against_statsmodels(season, damped):
    """Skipped only where statsmodels is absent (it is no dependency of rnn-tui)."""
    sm = pytest.importorskip("statsmodels.tsa.holtwinters")
    y = load_csv(SERIES_DIR / "airline-passengers.csv").values[:120]
    model = ExpSmoothing(12, True, damped, season).fit(y)
    l0, b0, s0, start = model.initial_states(y)
    a, b, g, phi = model.params
    ref = sm.ExponentialSmoothing(
        y[start:], trend="add", damped_trend=damped, seasonal=season, seasonal_periods=12,
        initialization_method="known", initial_level=l0, initial_trend=b0,
        initial_seasonal=s0)
    fixed = ref.fit(smoothing_level=a, smoothing_trend=b, smoothing_seasonal=g,
                    **({"damping_trend": phi} if damped else {}), optimized=False)
    np.testing.assert_allclose(model.filter(y).fit[start:], fixed.fittedvalues, rtol=1e-10)
    # statsmodels 0.15 uses the season of one cycle earlier for step m; compare steps < m
    np.testing.assert_allclose(model.forecast(y, 11), fixed.forecast(11), rtol=1e-10)
    assert model.sse <= ref.fit().sse * (1 + 1e-6)


def test_baselines():
    air = load_csv(SERIES_DIR / "airline-passengers.csv").values
    tr, te = air[:-24], air[-24:]
    for season in ("add", "mul"):
        fc = holt_winters(tr, 24, 12, season)
        assert fc.shape == (24,) and np.mean(np.abs(fc - te)) < 40  # seasonal naive: 71
    assert holt_winters(tr - 200, 24, 12, "mul") is None  # values <= 0
    assert holt_winters(tr[:20], 24, 12, "add") is None  # fewer than two seasons + 2
    line = holt(np.arange(30.0), 5)
    np.testing.assert_allclose(line, np.arange(30.0, 35.0), atol=1e-6)
