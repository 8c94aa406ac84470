"""Series: CSV loading (real files and every malformed case), generators, splits, scaling
without leakage, windows, baselines and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SERIES_DIR
from rnn_tui.data import series as S
from rnn_tui.errors import UserError


def test_real_csvs():
    air = S.load_csv(SERIES_DIR / "airline-passengers.csv")
    assert len(air.values) == 144 and air.column == "Passengers"
    assert air.values[0] == 112 and air.values.max() == 622
    births = S.load_csv(SERIES_DIR / "daily-total-female-births.csv", column="Births")
    assert len(births.values) == 365
    shampoo = S.load_csv(SERIES_DIR / "shampoo.csv", column=1)
    assert len(shampoo.values) == 36 and shampoo.values[0] == pytest.approx(266.0)


@pytest.mark.parametrize("text,column,match", [
    ("a,b\nx,y\nz,w\n", None, "no numeric column"),
    ("t,v\n1,2\n2,\n3,4\n", "v", "missing or non-numeric.*line 3"),
    ("t,v\n1,2\n2,abc\n3,4\n", "v", "1 missing or non-numeric"),
    ("t,v\n1,2\n2,3,4\n", None, "not a well-formed CSV"),
    ("t,v\n1,2\n", "w", "no column 'w'"),
    ("t,v\n1,2\n", 5, "out of range"),
    ("t,v\n", None, "no data rows"),
    # a currency or sign with no number (hypothesis found '£' raising IndexError)
    ("t,v\n1,2\n2,£\n3,4\n", "v", "1 missing or non-numeric"),
    ("t,v\n1,2\n2,-£\n3,4\n", "v", "1 missing or non-numeric"),
    ("t,v\n1,2\n2,(€)\n3,4\n", "v", "1 missing or non-numeric"),
])
def test_malformed_csv(tmp_path, text, column, match):
    p = tmp_path / "s.csv"
    p.write_text(text)
    with pytest.raises(UserError, match=match):
        S.load_csv(p, column)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=80),
       st.sampled_from([",", ";", "\t"]), st.booleans())
@settings(max_examples=100, deadline=None)
def test_csv_round_trip(tmp_path_factory, values, delim, header):
    p = tmp_path_factory.mktemp("csv") / "v.csv"
    lines = ([f"t{delim}value"] if header else []) + [f"{i}{delim}{v!r}"
                                                      for i, v in enumerate(values)]
    p.write_text("\n".join(lines) + "\n")
    got = S.load_csv(p, 1)
    np.testing.assert_array_equal(got.values, np.array(values))


@given(st.integers(1, 60), st.integers(1, 10), st.integers(1, 10))
@settings(max_examples=100, deadline=None)
def test_windows_property(n, lookback, horizon):
    v = np.arange(n, dtype=float)
    if n < lookback + horizon:
        with pytest.raises(UserError, match="fewer than lookback"):
            S.make_windows(v, lookback, horizon)
        return
    X, Y = S.make_windows(v, lookback, horizon)
    assert X.shape == (n - lookback - horizon + 1, lookback)
    assert Y.shape == (n - lookback - horizon + 1, horizon)
    np.testing.assert_array_equal(X[:, -1] + 1, Y[:, 0])  # the future follows the past
    np.testing.assert_array_equal(X[0], np.arange(lookback))


def test_split_and_scaler_fit_on_train_only():
    v = np.concatenate([np.zeros(80), np.full(20, 100.0)])
    tr, va, te = S.split_series(v, 10, 10)
    assert len(tr) == 80 and len(va) == 10 and len(te) == 10
    sc = S.StandardScaler().fit(tr)
    assert sc.mean == 0.0  # the validation part's 100s did not leak in
    np.testing.assert_allclose(sc.inverse_transform(sc.transform(va)), va)
    assert S.StandardScaler.from_dict(sc.to_dict()).mean == sc.mean
    with pytest.raises(UserError):
        S.split_series(v, 60, 60)


def test_generators_and_baselines():
    sales = S.daily_sales(730, seed=1).values
    assert sales.min() >= 0 and S.detect_period(sales, 30) == 7
    sine = S.noisy_sine(1000, period=50, noise=0.05).values
    assert S.detect_period(sine, 80) in (49, 50, 51)
    mg = S.mackey_glass(600).values
    assert np.all(np.isfinite(mg)) and 0.2 < mg.mean() < 1.5
    hist = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(S.forecast_seasonal_naive(hist, 5, 2), [3, 4, 3, 4, 3])
    np.testing.assert_array_equal(S.forecast_last_value(hist, 2), [4, 4])
    assert S.forecast_mean(hist, 1)[0] == 2.5
    assert S.mae([1, 2], [2, 4]) == 1.5 and S.rmse([0, 0], [3, 4]) == pytest.approx(12.5**0.5)
    assert S.mase([5.0], [6.0], np.array([1.0, 2.0, 3.0]), 1) == pytest.approx(1.0)


def test_load_series_builtin_and_unknown():
    assert len(S.load_series("sine").values) == 1000
    with pytest.raises(UserError, match="unknown series"):
        S.load_series("wobble")


@pytest.mark.parametrize("n", [40, 100, 365, 1000])
def test_detect_period_finds_none_in_white_noise(n):
    for seed in range(5):
        assert S.detect_period(np.random.default_rng(seed).normal(size=n)) == 1


def test_detect_period_finds_none_in_random_walks_and_trends():
    rng = np.random.default_rng(11)
    for _ in range(5):
        assert S.detect_period(np.cumsum(rng.normal(size=300))) == 1
    t = np.arange(200.0)
    assert S.detect_period(3 * t + rng.normal(0, 5, 200)) == 1


def test_detect_period_finds_a_63_sample_sine():
    """Longer than the old cap of 60 lags."""
    t = np.arange(400)
    v = np.sin(2 * np.pi * t / 63) + np.random.default_rng(0).normal(0, 0.1, 400)
    assert S.detect_period(v) == 63


def test_detect_period_finds_a_smooth_annual_cycle_in_ten_years_of_days():
    """Ten cycles of a smooth cycle in red noise are too few for the autocorrelation test; the
    out-of-sample seasonal profile finds it."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(42)
    t = np.arange(3650)
    v = 11 + 4 * np.cos(2 * np.pi * t / 365.25) + lfilter([1], [1, -0.6], rng.normal(0, 2.2, 3650))
    assert abs(S.detect_period(v) - 365) <= 5


def test_detect_period_finds_weekly_and_monthly_seasons():
    rng = np.random.default_rng(5)
    t = np.arange(365)
    week = np.array([0.0, 0, 0, 1, 2, 5, 4])[t % 7]
    assert S.detect_period(week + rng.normal(0, 1, 365) + 0.01 * t) == 7
    assert S.detect_period(S.daily_sales(730, seed=3).values) == 7
    air = S.load_csv(SERIES_DIR / "airline-passengers.csv").values
    assert S.detect_period(air[:120]) == 12
    quarterly = 100 + np.arange(60.0) + np.tile([6.0, -3, 1, -4], 15) + rng.normal(0, 1, 60)
    assert S.detect_period(quarterly) == 4
