"""Time-series forecasting as a task: windows of the past predict the next value (many-to-one
regression), evaluated on a held-out tail beside honest baselines."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core import make_optimizer
from rnn_tui.core.network import NetSpec, Network
from rnn_tui.errors import UserError
from rnn_tui.models.training import train_step
from rnn_tui.tasks.common import check_compatible, float_type, hidden_snapshot
from rnn_tui.train import events as ev
from rnn_tui.train.task import VIEW_FORECAST, Task


class SeriesTask(Task):
    """Forecast a series: random windows of the (transformed) training part, many-to-one
    regression (MSE); multi-step forecasts feed predictions back."""

    kind = "series"
    views = (VIEW_FORECAST,)
    loss_name = "MSE, scaled"

    def __init__(self, cfg: RunConfig, series):
        from rnn_tui.data.series import StandardScaler, detect_period, make_windows
        from rnn_tui.models.forecaster import Forecaster

        self.cfg = cfg
        d, m, t = cfg.data, cfg.model, cfg.train
        self.series = series
        values = series.values
        if len(values) < d.holdout + d.lookback + 2:
            raise UserError(
                f"the series has {len(values)} points; it needs more than holdout + lookback "
                f"({d.holdout} + {d.lookback}); use a smaller --holdout or --lookback")
        self.train_values = values[: len(values) - d.holdout] if d.holdout else values
        self.holdout = values[len(values) - d.holdout :] if d.holdout else values[-1:]
        self.period = d.period or detect_period(self.train_values,
                                                min(60, len(self.train_values) // 3))
        # the log transform must hold for every value the run touches (the held-out part too)
        lag, log = Forecaster.transform_params(values, self.period)
        if len(self.train_values) - lag < d.lookback + 1:
            raise UserError(
                f"the training part has {len(self.train_values)} points, too few for lookback "
                f"{d.lookback} after differencing at lag {lag}; use a smaller --lookback")
        u = np.log(self.train_values) if log else self.train_values
        scaler = StandardScaler().fit(u[lag:] - u[:-lag])
        spec = NetSpec(cell=m.cell, input_mode="real", input_size=1, hidden=m.hidden,
                       layers=m.layers, output_size=1, dropout=m.dropout)
        self.net = Network(spec, dtype=float_type(cfg), seed=t.seed,
                           recurrent_scale=m.recurrent_scale)
        self.model = Forecaster(self.net, d.lookback, lag, log, scaler)
        z = self.model.to_z(self.train_values)
        self.X, self.Y = make_windows(z, d.lookback, 1)
        self.opt = make_optimizer(t.optimizer, self.net.params.data.size, self.net.dtype, t.lr)
        self.rng = np.random.default_rng(t.seed)
        self.batch = min(t.batch, len(self.X))
        self.tokens_per_step = self.batch * d.lookback
        self.steps_done = 0

    @classmethod
    def from_config(cls, cfg: RunConfig) -> SeriesTask:
        from rnn_tui.data.series import load_series

        return cls(cfg, load_series(cfg.data.corpus, cfg.data.column or None,
                                    cfg.data.encoding))

    @property
    def epoch(self) -> int:
        return self.steps_done * self.batch // max(len(self.X), 1)

    def step(self):
        idx = self.rng.integers(0, len(self.X), self.batch)
        x = np.ascontiguousarray(self.X[idx].T[:, :, None], dtype=self.net.dtype)
        y = self.Y[idx].astype(self.net.dtype)
        info = train_step(self.net, x, y, self.net.initial_state(self.batch), self.opt,
                          self.cfg.train.clip, loss="mse", last_only=True)
        self.steps_done += 1
        return info, x.shape[0] * x.shape[1]

    def errors(self) -> tuple[dict[str, dict[str, float]], np.ndarray, np.ndarray]:
        from rnn_tui.data import series as S

        h = len(self.holdout)
        tr = self.train_values
        fc = self.model.forecast(tr, h)
        one = self.model.one_step(tr, self.holdout)
        cands = {
            "model": fc,
            "seasonal_naive": S.forecast_seasonal_naive(tr, h, self.period),
            "last_value": S.forecast_last_value(tr, h),
            "mean": S.forecast_mean(tr, h),
        }
        errs = {name: {"mae": S.mae(self.holdout, f), "rmse": S.rmse(self.holdout, f),
                       "mase": S.mase(self.holdout, f, tr, self.period)}
                for name, f in cands.items()}
        errs["model_one_step"] = {"mae": S.mae(self.holdout, one),
                                  "rmse": S.rmse(self.holdout, one),
                                  "mase": S.mase(self.holdout, one, tr, self.period)}
        return errs, fc, one

    def evaluate(self) -> tuple[float, dict[str, float]]:
        """Validation loss: MSE of one-step predictions on the held-out part, in scaled units."""
        errs, _fc, one = self.errors()
        z_true = self.model.to_z(np.concatenate([self.train_values, self.holdout]))[
            -len(self.holdout):]
        z_pred = self.model.to_z(np.concatenate([self.train_values, one]))[-len(one):]
        val = float(np.mean((z_true - z_pred) ** 2))
        self._last_errors = errs
        metrics = {"model_mae": errs["model"]["mae"],
                   "seasonal_naive_mae": errs["seasonal_naive"]["mae"]}
        return val, metrics

    def eval_events(self) -> list[ev.Event]:
        errs, fc, one = self.errors()
        r = lambda a: [round(float(v), 4) for v in a]  # noqa: E731
        return [ev.ForecastUpdate(history=r(self.train_values[-120:]), truth=r(self.holdout),
                                 prediction=r(one), forecast=r(fc), errors=errs)]

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        x = self.X[-1][-max_steps:]
        return hidden_snapshot(self.net, np.ascontiguousarray(x[:, None, None],
                                                              dtype=self.net.dtype),
                               [f"{v:+.1f}" for v in x])

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        opt_meta, opt_arrays = self.opt.state_dict()
        arrays = {"params": self.net.params.data}
        arrays.update({f"opt.{k}": v for k, v in opt_arrays.items()})
        meta = {"task": "series", "spec": self.net.spec.to_dict(), "dtype": self.net.dtype.name,
                "forecaster": self.model.meta(), "period": self.period,
                "optimizer": opt_meta, "rng": self.rng.bit_generator.state,
                "steps_done": self.steps_done, "series": self.series.source}
        return arrays, meta

    def restore(self, arrays, meta) -> None:
        check_compatible(self.net, None, arrays, meta)
        self.net.params.load_flat(arrays["params"])
        self.opt.load_state_dict(meta["optimizer"], {
            k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
        self.rng.bit_generator.state = meta["rng"]
        self.steps_done = int(meta.get("steps_done", 0))
