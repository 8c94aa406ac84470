r"""Time series: CSV in, synthetic generators, chronological splits, scaling fitted on the
training part only, windows (lookback -> horizon), baselines and error measures.

MASE scales the mean absolute error by the in-sample MAE of the seasonal naive forecast on the
training part: :math:`\mathrm{MASE} = \mathrm{MAE} / \frac{1}{n-m}\sum_{t>m}|y_t - y_{t-m}|`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnn_tui.data.corpora import read_text_file
from rnn_tui.errors import UserError


@dataclass
class Series:
    name: str
    values: np.ndarray
    source: str
    column: str = "value"


# ------------------------------------------------------------------ CSV
def load_csv(path: str | Path, column: str | int | None = None, encoding: str = "utf-8") -> Series:
    """Read one numeric column of a CSV (header optional, delimiter sniffed). Rows with a
    missing or non-numeric value in that column are refused: the error gives their count and
    the first bad line, since silently dropping points would shift the time axis."""
    path = Path(path)
    text = read_text_file(path, encoding)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if not rows:
        raise UserError(f"{path} has no rows")
    width = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width:
            raise UserError(f"{path} is not a well-formed CSV: line {i + 1} has {len(r)} fields, "
                            f"the first line has {width}")
    has_header = not any(_is_number(c) for c in rows[0])
    header = [h.strip() for h in rows[0]] if has_header else [str(i) for i in range(width)]
    body = rows[1:] if has_header else rows
    first_line = 2 if has_header else 1
    if not body:
        raise UserError(f"{path} has a header but no data rows")
    numeric = [j for j in range(width) if sum(_is_number(r[j]) for r in body) > len(body) // 2]
    if column is None or column == "":
        if not numeric:
            raise UserError(f"{path} has no numeric column; columns: {', '.join(header)}")
        j = numeric[-1]
    else:
        j = _column_index(column, header, path)
    bad = [first_line + i for i, r in enumerate(body) if not _is_number(r[j])]
    if bad:
        what = "missing or non-numeric"
        raise UserError(f"{path}: column {header[j]!r} has {len(bad)} {what} value(s), first on "
                        f"line {bad[0]}; fix or remove those rows (rnn-tui does not skip them, "
                        "as that would shift the time axis)")
    values = np.array([float(r[j]) for r in body], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise UserError(f"{path}: column {header[j]!r} holds inf or nan values")
    return Series(path.stem, values, str(path), header[j])


def _is_number(s: str) -> bool:
    s = s.strip()
    if not s:
        return False
    try:
        float(s)
    except ValueError:
        return False
    return s.lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _column_index(column: str | int, header: list[str], path: Path) -> int:
    if isinstance(column, int) or str(column).lstrip("-").isdigit():
        j = int(column)
        if not 0 <= j < len(header):
            raise UserError(f"{path} has {len(header)} columns; column index {j} is out of range")
        return j
    if column in header:
        return header.index(column)
    raise UserError(f"{path} has no column {column!r}; columns: {', '.join(header)}")


# ------------------------------------------------------------------ generators
def noisy_sine(n: int = 1000, period: float = 50, noise: float = 0.1, seed: int = 0) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    v = np.sin(2 * np.pi * t / period) + rng.normal(0, noise, n)
    return Series("sine", v, "synthetic: sin(2 pi t / period) + noise")


def daily_sales(n: int = 730, seed: int = 0) -> Series:
    """A shop's daily sales: weekly pattern (weekends busy), slow upward trend, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    week = np.array([0.8, 0.85, 0.9, 1.0, 1.2, 1.6, 1.4])[t % 7]
    v = (100 + 0.08 * t) * week * (1 + 0.05 * np.sin(2 * np.pi * t / 365.25))
    v = np.maximum(v + rng.normal(0, 6, n), 0)
    return Series("sales", v, "synthetic: weekly seasonality x trend + noise")


def mackey_glass(n: int = 1500, tau: int = 17, seed: int = 0) -> Series:
    """The Mackey-Glass delay equation dx/dt = 0.2 x(t-tau) / (1 + x(t-tau)^10) - 0.1 x(t),
    integrated with step 1 (sub-stepped), a classic chaotic benchmark."""
    rng = np.random.default_rng(seed)
    sub = 10
    dt = 1.0 / sub
    hist = tau * sub
    x = np.full(hist + (n + 200) * sub, 1.2) + rng.normal(0, 0.01)
    for i in range(hist, len(x) - 1):
        xd = x[i - hist]
        x[i + 1] = x[i] + dt * (0.2 * xd / (1 + xd**10) - 0.1 * x[i])
    v = x[hist::sub][200 : 200 + n]
    return Series("mackey_glass", v, f"synthetic: Mackey-Glass, tau={tau}")


BUILTIN_SERIES = {"sine": noisy_sine, "sales": daily_sales, "mackey_glass": mackey_glass}


def load_series(name_or_path: str, column: str | int | None = None,
                encoding: str = "utf-8") -> Series:
    if name_or_path in BUILTIN_SERIES:
        return BUILTIN_SERIES[name_or_path]()
    p = Path(name_or_path)
    if not p.exists() and p.suffix == "":
        raise UserError(f"unknown series {name_or_path!r}; give a CSV file or one of "
                        f"{', '.join(BUILTIN_SERIES)}")
    return load_csv(p, column, encoding)


# ------------------------------------------------------------------ splits, scaling, windows
def split_series(values: np.ndarray, val: int, test: int = 0):
    """Chronological split into (train, val, test) by counts from the end."""
    n = len(values)
    if val + test >= n:
        raise UserError(f"the series has {n} points; cannot hold out {val + test}")
    return values[: n - val - test], values[n - val - test : n - test], values[n - test :]


class StandardScaler:
    """z = (x - mean) / std, fitted on the training part only."""

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        self.mean, self.std = float(mean), float(std)

    def fit(self, train: np.ndarray) -> StandardScaler:
        self.mean = float(np.mean(train))
        self.std = float(np.std(train)) or 1.0
        return self

    def transform(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, z):
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StandardScaler:
        return cls(d["mean"], d["std"])


def make_windows(values: np.ndarray, lookback: int, horizon: int):
    """All windows: X[i] = values[i : i+lookback], Y[i] = values[i+lookback : i+lookback+horizon].
    Returns X (N, lookback), Y (N, horizon) with N = len - lookback - horizon + 1."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values) - lookback - horizon + 1
    if lookback < 1 or horizon < 1:
        raise UserError("lookback and horizon must be at least 1")
    if n < 1:
        raise UserError(f"the series has {len(values)} points, fewer than lookback + horizon = "
                        f"{lookback + horizon}; use a smaller --lookback or --horizon")
    idx = np.arange(n)[:, None]
    X = values[idx + np.arange(lookback)[None, :]]
    Y = values[idx + lookback + np.arange(horizon)[None, :]]
    return X, Y


# ------------------------------------------------------------------ baselines and errors
def forecast_last_value(history: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(history[-1]))


def forecast_seasonal_naive(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    period = max(1, min(int(period), len(history)))
    last = np.asarray(history[-period:], dtype=np.float64)
    return np.resize(last, horizon)


def forecast_mean(history: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(np.mean(history)))


def _acf(v: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation r_0..r_max_lag (biased: every lag divided by the full sum of
    squares, so long lags are shrunk)."""
    v = v - v.mean()
    n = len(v)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(v, size)
    r = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1]
    return r / r[0] if r[0] > 0 else np.zeros(max_lag + 1)


def detect_period(values: np.ndarray, max_period: int | None = None,
                  alpha: float = 0.05) -> int:
    r"""The seasonal period, or 1 when there is none worth the name.

    Candidates are the lags :math:`p \ge 2` (at most ``max_period``, default a third of the
    series, so at least three cycles are seen) where the autocorrelation of the linearly
    detrended series has a positive local peak. A candidate must pass a significance test that
    holds up in noise, trends and random walks: the series is differenced at half the lag,
    :math:`d_t = y_t - y_{t - \lfloor p/2 \rfloor}` (a seasonal pattern survives that, a trend
    or a wandering level does not; a multiple of the true period cancels the pattern), and the
    autocorrelation of :math:`d` at lag :math:`p` must exceed Bartlett's band
    :math:`z \sqrt{(1 + 2\sum_{j<p} r_d(j)^2)/n}`, with :math:`z` the normal quantile for
    ``alpha`` shared (Bonferroni) among the candidates. Of those that pass, the one with the
    largest statistic wins; a multiple of it whose autocorrelation is clearly higher (a pattern
    of period 4 whose halves look alike) replaces it.

    That test needs many cycles for a smooth cycle (its band grows with the cycle's own
    autocorrelation): ten years of a daily annual cycle do not pass it. So a candidate seen at
    least six times also passes when its seasonal profile, estimated on the first half of the
    series (after removing a centred moving average of length p), explains at least 30 % of
    the variance of the second half (an out-of-sample R^2, which noise and random walks do not
    reach); the largest such R^2 wins."""
    from scipy.stats import norm

    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    max_period = min(max_period or n // 3, n // 2)
    if n < 8 or max_period < 2 or not np.all(np.isfinite(v)):
        return 1
    t = np.arange(n)
    r = _acf(v - np.polyval(np.polyfit(t, v, 1), t), max_period + 1)
    cands = [k for k in range(2, max_period + 1)
             if r[k] > 0 and r[k] > r[k - 1] and r[k] >= r[k + 1]]
    if not cands:
        return 1
    best, best_z = 1, float(norm.ppf(1 - alpha / len(cands)))
    for p in cands:
        d = v[p // 2 :] - v[: -(p // 2)]
        m = len(d)
        if m <= p + 2:
            continue
        rd = _acf(d, p)
        z = rd[p] / np.sqrt((1 + 2 * np.sum(rd[1:p] ** 2)) / m)
        if z > best_z:
            best, best_z = p, z
    if best > 1:
        more = [k for k in cands if k > best and k % best == 0 and r[k] > r[best] + 1 / np.sqrt(n)]
        if more:
            best = max(more, key=lambda k: r[k])
        return best
    gains = {p: _profile_gain(v, p) for p in cands if 6 * p <= n}
    gains = {p: g for p, g in gains.items() if g > 0.3}
    return max(gains, key=lambda p: gains[p]) if gains else 1


def _profile_gain(v: np.ndarray, p: int) -> float:
    """Out-of-sample R^2 of a period-p profile: the series minus its centred moving average of
    length p (2 x p when p is even), the mean per phase on the first half predicting the
    second half, against the first half's mean."""
    k = np.ones(p) / p if p % 2 else np.r_[0.5, np.ones(p - 1), 0.5] / p
    ma = np.convolve(v, k, mode="valid")
    h = (len(k) - 1) // 2
    r = v[h : h + len(ma)] - ma
    phase = (np.arange(len(r)) + h) % p
    half = len(r) // 2
    if half < 2 * p:  # (the caller asks for six cycles: three a half)
        return -np.inf
    a, b = slice(0, half), slice(half, len(r))
    count = np.bincount(phase[a], minlength=p)
    profile = np.bincount(phase[a], r[a], minlength=p) / np.maximum(count, 1)
    base = float(np.sum((r[b] - r[a].mean()) ** 2))
    return 1 - float(np.sum((r[b] - profile[phase[b]]) ** 2)) / base if base > 0 else -np.inf


def mae(y, yhat) -> float:
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(yhat))))


def rmse(y, yhat) -> float:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(yhat)) ** 2)))


def mase(y, yhat, train, period: int = 1) -> float:
    train = np.asarray(train, dtype=np.float64)
    m = max(1, int(period))
    if len(train) <= m:
        m = 1
    scale = float(np.mean(np.abs(train[m:] - train[:-m]))) if len(train) > m else 0.0
    return mae(y, yhat) / scale if scale > 0 else float("inf")
