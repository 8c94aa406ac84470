r"""The tutorials' forecaster: every window of ``lookback`` past values predicts the next one
(many-to-one regression, MSE), on values raw, min-max scaled or divided by a constant; a
multi-step forecast feeds each prediction back in as the newest input (recursive).

No smoothing, no differencing, no ensemble: this is the model of the introductory examples,
kept plain on purpose, so a learner can see what it does and does not do. Beside it sit the same
honest baselines as the main forecaster's (:func:`~rnn_tui.tasks.forecasting.series_baselines`); on
white noise the mean wins, and the app shows that at once.

Scalings, fitted on the training part only: raw :math:`z = y`; min-max
:math:`z = (y - \min) / (\max - \min)`; divide :math:`z = y / s`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core import make_optimizer
from rnn_tui.core.network import NetSpec, Network
from rnn_tui.data.series import check_holdout
from rnn_tui.errors import UserError
from rnn_tui.models.training import train_step
from rnn_tui.tasks.common import check_compatible, float_type, hidden_snapshot
from rnn_tui.tasks.forecasting import HeldOutErrors, forecast_event
from rnn_tui.train import events as ev
from rnn_tui.train.task import (
    VIEW_FORECAST,
    ParamGroup,
    Task,
    groups_checkpoint,
    restore_groups,
)

DEFAULT_LOOKBACK = 7


class Scaling:
    """y -> z and back, one of raw / minmax / divide, fitted on the training part."""

    def __init__(self, kind: str, offset: float = 0.0, factor: float = 1.0):
        self.kind, self.offset, self.factor = kind, float(offset), float(factor)

    @classmethod
    def fit(cls, kind: str, train: np.ndarray, scale: float) -> Scaling:
        if kind == "minmax":
            lo, hi = float(np.min(train)), float(np.max(train))
            return cls(kind, lo, (hi - lo) or 1.0)
        if kind == "divide":
            return cls(kind, 0.0, scale)
        return cls("raw")

    def to_z(self, y) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.offset) / self.factor

    def from_z(self, z) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.factor + self.offset

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": self.offset, "factor": self.factor}


class WindowForecaster:
    """A network reading ``lookback`` scaled values and predicting the next."""

    def __init__(self, net: Network, lookback: int, scaling: Scaling):
        self.net, self.lookback, self.scaling = net, lookback, scaling

    def predict_z(self, windows: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(windows.T[:, :, None], dtype=self.net.dtype)
        fwd = self.net.forward(x, self.net.initial_state(x.shape[1]))
        return self.net.head(fwd.y[-1])[:, 0].astype(np.float64)

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        """Recursive: each prediction becomes the newest input of the next window."""
        z = list(self.scaling.to_z(history)[-self.lookback :])
        out = []
        for _ in range(horizon):
            zn = float(self.predict_z(np.array(z[-self.lookback :])[None, :])[0])
            z.append(zn)
            out.append(zn)
        return self.scaling.from_z(out)

    def one_step(self, history: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """Each point of ``truth`` predicted from the true values before it."""
        full = self.scaling.to_z(np.concatenate([history, truth]))
        n0, w = len(history), self.lookback
        wins = np.stack([full[i - w : i] for i in range(n0, len(full))])
        return self.scaling.from_z(self.predict_z(wins))


class WindowSeriesTask(HeldOutErrors, Task):
    kind = "series"
    views = (VIEW_FORECAST,)
    loss_name = "MSE, scaled"
    overfitting_message = (
        "validation loss rising: the model is fitting the noise of its training part (best "
        "{best:.4f} at step {step:,}; best.npz keeps those weights)")

    def __init__(self, cfg: RunConfig, series):
        d, m, t = cfg.data, cfg.model, cfg.train
        self.cfg, self.series = cfg, series
        values = np.asarray(series.values, dtype=np.float64)
        self.lookback = d.lookback or DEFAULT_LOOKBACK
        if d.holdout and len(values) - d.holdout < self.lookback + 2:
            raise UserError(f"the series has {len(values)} points; holding out {d.holdout} "
                            f"leaves too few for windows of {self.lookback}; use a smaller "
                            "--holdout or --lookback")
        if len(values) < self.lookback + 2:
            raise UserError(f"the series has {len(values)} points, too few for windows of "
                            f"{self.lookback}; use a smaller --lookback")
        check_holdout(d.holdout)
        self.train_values = values[: len(values) - d.holdout]
        self.holdout = values[len(values) - d.holdout :]
        from rnn_tui.data.series import detect_period

        self.period = d.period or detect_period(self.train_values)
        self.scaling = Scaling.fit(d.scaling, self.train_values, d.scale)
        z = self.scaling.to_z(self.train_values)
        w = self.lookback
        idx = np.arange(len(z) - w)
        self.X = z[idx[:, None] + np.arange(w)[None, :]]
        self.Y = z[idx + w]
        spec = NetSpec(cell=m.cell, input_mode="real", input_size=1, hidden=m.hidden,
                       layers=m.layers, output_size=1, dropout=m.dropout)
        self.net = Network(spec, dtype=float_type(cfg), seed=t.seed,
                           recurrent_scale=m.recurrent_scale)
        self.forecaster = WindowForecaster(self.net, w, self.scaling)
        self.opt = make_optimizer(t.optimizer, self.net.params.data.size, self.net.dtype, t.lr)
        self.rng = np.random.default_rng(t.seed)
        self.batch = max(1, min(t.batch, len(self.X)))
        self.tokens_per_step = self.batch * w
        self.order = self.rng.permutation(len(self.X))
        self.pos = self.epochs_done = 0

    @classmethod
    def from_config(cls, cfg: RunConfig) -> WindowSeriesTask:
        from rnn_tui.data.series import load_series

        return cls(cfg, load_series(cfg.data.corpus, cfg.data.column or None,
                                    cfg.data.encoding))

    # ------------------------------------------------------------------ training
    last_only = True

    def input_shape(self) -> tuple[int, int, list[str]]:
        return self.batch, self.lookback, [
            f"batch: {self.batch} windows of the series; time: the {self.lookback} values each "
            "reads; features: 1 (the value)",
            "the last state predicts the next value (many-to-one)"]

    def parameter_groups(self) -> list[ParamGroup]:
        return [ParamGroup("", self.net.params, self.opt)]

    @property
    def epoch(self) -> int:
        return self.epochs_done

    def step(self):
        """One batch of windows, shuffled each epoch (as Keras' fit does by default)."""
        idx = self.order[self.pos : self.pos + self.batch]
        self.pos += self.batch
        if self.pos >= len(self.order):
            self.pos, self.epochs_done = 0, self.epochs_done + 1
            self.order = self.rng.permutation(len(self.X))
        x = np.ascontiguousarray(self.X[idx].T[:, :, None], dtype=self.net.dtype)
        y = self.Y[idx].astype(self.net.dtype)[:, None]
        info = train_step(self.net, x, y, self.net.initial_state(len(idx)), self.opt,
                          self.cfg.train.clip, loss="mse", last_only=True)
        return info, x.shape[0] * x.shape[1]

    # ------------------------------------------------------------------ evaluation
    def errors(self) -> tuple[dict[str, dict[str, float]], np.ndarray, np.ndarray]:
        tr, truth = self.train_values, self.holdout
        fc = self.forecaster.forecast(tr, len(truth))
        one = self.forecaster.one_step(tr, truth)
        return self.error_rows({"model": fc, **self.baselines(), "model_one_step": one}), fc, one

    def describe(self) -> str:
        m = self.cfg.model
        return (f"plain window model: {m.cell} {m.layers}x{m.hidden}, windows of "
                f"{self.lookback} -> next, values {self.scaling.kind}"
                + (f" / {self.scaling.factor:g}" if self.scaling.kind == "divide" else "")
                + ", recursive multi-step forecast")

    def evaluate(self) -> tuple[float, dict[str, float]]:
        """MSE (scaled) of the one-step predictions of the held-out part, and its errors."""
        errs, _fc, one = self.errors()
        z_true, z_pred = self.scaling.to_z(self.holdout), self.scaling.to_z(one)
        val = float(np.mean((z_true - z_pred) ** 2))
        return val, {"model_mae": errs["model"]["mae"],
                     "model_one_step_mae": errs["model_one_step"]["mae"],
                     "mean_mae": errs["mean"]["mae"],
                     "seasonal_naive_mae": errs["seasonal_naive"]["mae"]}

    def eval_events(self) -> list[ev.Event]:
        return [forecast_event(self)]

    def snapshot_batch(self, max_steps: int = 48):
        x = self.X[-1][-max_steps:]
        return (np.ascontiguousarray(x[:, None, None], dtype=self.net.dtype),
                [f"{v:+.2f}" for v in x], None)

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        return hidden_snapshot(self.net, *self.snapshot_batch(max_steps))

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = groups_checkpoint(self.parameter_groups())
        arrays["order"] = self.order
        meta.update({"task": "series", "spec": self.net.spec.to_dict(),
                     "dtype": self.net.dtype.name,
                     "window_forecaster": {"lookback": self.lookback, **self.scaling.to_dict()},
                     "period": self.period, "rng": self.rng.bit_generator.state, "pos": self.pos,
                     "epochs_done": self.epochs_done, "series": self.series.source})
        return arrays, meta

    def restore(self, arrays, meta) -> None:
        check_compatible(self.net, None, arrays, meta)
        wf = meta.get("window_forecaster")
        if not isinstance(wf, dict) or wf.get("lookback") != self.lookback or \
                wf.get("kind") != self.scaling.kind:
            raise UserError("checkpoint is not of this plain window model (another lookback "
                            "or scaling); resume with the run's own settings")
        order, pos, done = arrays.get("order"), meta.get("pos"), meta.get("epochs_done")
        if order is None or order.ndim != 1 or order.dtype.kind != "i" or \
                len(order) != len(self.X) or not isinstance(pos, int) or \
                not 0 <= pos < len(order) or not isinstance(done, int) or done < 0 or \
                sorted(order.tolist()) != list(range(len(self.X))):
            raise UserError("checkpoint's window order does not fit this run; it is corrupt or "
                            "from other data")
        restore_groups(self.parameter_groups(), arrays, meta)
        self.rng.bit_generator.state = meta["rng"]
        self.order, self.pos, self.epochs_done = order.astype(np.int64), pos, done
