r"""Time-series forecaster: a recurrent network reads a window of the past (many-to-one) and
predicts the next value; multi-step forecasts feed each prediction back in (recursive).

The series is made stationary before it is scaled, so the network learns change rather than
level and can forecast beyond the range it was trained on:

.. math::
    u_t = \log y_t \ (\text{if every } y > 0), \qquad z_t = u_t - u_{t-p}

with p the seasonal period (or 1), then standardised with the training part's mean and std.
Forecasts are turned back by :math:`u_t = z_t + u_{t-p}`, using forecasts for the lags beyond the
known history.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnn_tui.core import Network
from rnn_tui.data.series import StandardScaler


class Forecaster:
    def __init__(self, net: Network, lookback: int, lag: int, log: bool,
                 scaler: StandardScaler):
        self.net, self.lookback, self.lag, self.log, self.scaler = net, lookback, lag, log, scaler

    @staticmethod
    def transform_params(train: np.ndarray, period: int) -> tuple[int, bool]:
        return max(1, int(period)), bool(np.all(np.asarray(train) > 0))

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
        """Next scaled value for each window (N, lookback)."""
        x = np.ascontiguousarray(windows.T[:, :, None], dtype=self.net.dtype)
        fwd = self.net.forward(x, self.net.initial_state(x.shape[1]))
        return self.net.head(fwd.y[-1])[:, 0].astype(np.float64)

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        """Recursive multi-step forecast of ``horizon`` values after ``history``."""
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
        """Predict each point of ``truth`` from the true values before it."""
        full = np.concatenate([history, truth])
        z = self.to_z(full)
        u = self.to_u(full)
        n0 = len(history)
        wins = np.stack([z[i - self.lag - self.lookback : i - self.lag]
                         for i in range(n0, len(full))])
        zp = self.predict_z(wins)
        up = self.scaler.inverse_transform(zp) + u[n0 - self.lag : len(full) - self.lag]
        return self.from_u(up)

    def meta(self) -> dict[str, Any]:
        return {"lookback": self.lookback, "lag": self.lag, "log": self.log,
                "scaler": self.scaler.to_dict()}
