"""Time-series forecasting as a task: exponential smoothing plus recurrent networks on what it
leaves (:class:`~rnn_tui.models.forecaster.ESRNNForecaster`), evaluated on a held-out tail
beside honest baselines (seasonal naive, Holt-Winters, last value, mean).

Nothing here looks at the held-out tail to decide anything. The training part itself is split:
its last points (:func:`~rnn_tui.models.forecaster.validation_length`) are the validation
split. Training runs in two phases of the run's steps:

1. the smoothing model is chosen and fitted on the part before the validation split, and the
   networks learn from windows whose targets lie there; at the end of the phase the forecasts
   from every origin in the validation split decide how smoothing and networks combine;
2. the smoothing model is refitted on the whole training part and the networks go on learning
   from all of it.

The validation loss is the networks' loss on the validation split: out of sample in phase 1,
and (being part of the training data) in sample in phase 2.
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
from rnn_tui.tasks.common import (
    check_compatible,
    float_type,
    hidden_snapshot,
    network_from_meta,
)
from rnn_tui.tasks.forecasting import HeldOutErrors, forecast_event
from rnn_tui.train import events as ev
from rnn_tui.train.task import (
    VIEW_FORECAST,
    ParamGroup,
    Task,
    groups_checkpoint,
    restore_groups,
)

MEMBERS = 3  # networks averaged (seeds seed, seed+1, ...)
PHASE1_STEPS = 750  # when the run has no step count


class SeriesTask(HeldOutErrors, Task):
    """Forecast a series: see the module's docstring."""

    kind = "series"
    views = (VIEW_FORECAST,)
    loss_name = "MSE, scaled"
    overfitting_message = (
        "validation loss rising: the networks are fitting the noise of the training part "
        "(best {best:.4f} at step {step:,}; best.npz keeps those weights)")

    def __init__(self, cfg: RunConfig, series):
        from rnn_tui.data.series import detect_period
        from rnn_tui.models.forecaster import auto_lookback, validation_length

        self.cfg = cfg
        d, m, t = cfg.data, cfg.model, cfg.train
        self.series = series
        values = np.asarray(series.values, dtype=np.float64)
        check_holdout(d.holdout)
        if d.holdout >= len(values) - 4:
            raise UserError(f"the series has {len(values)} points; holding out {d.holdout} "
                            "leaves too few to learn from; use a smaller --holdout")
        self.train_values = values[: len(values) - d.holdout]
        self.holdout = values[len(values) - d.holdout :]
        n = len(self.train_values)
        self.period = d.period or detect_period(self.train_values)
        self.H = max(d.holdout, d.horizon, 1)  # the networks forecast this many steps at once
        self.n_fit = n - validation_length(n, self.H)  # phase 1 learns from train[:n_fit]
        self.lookback = d.lookback or auto_lookback(self.period, self.n_fit)
        if self.n_fit - self.lookback < 2:
            hint = ("use a smaller --lookback (or leave it unset to have one chosen)"
                    if d.lookback else "use a smaller --holdout")
            raise UserError(
                f"the training part has {n} points ({self.n_fit} before the validation split), "
                f"too few for a window of {self.lookback}; {hint}")
        # log only where every value is positive, held-out ones included: the one-step
        # predictions read them (this looks at their sign, nothing else)
        self.log_ok = bool(np.all(values > 0))
        spec = NetSpec(cell=m.cell, input_mode="real", input_size=2, hidden=m.hidden,
                       layers=m.layers, output_size=self.H, dropout=m.dropout)
        self.nets = [Network(spec, dtype=float_type(cfg), seed=t.seed + k,
                             recurrent_scale=m.recurrent_scale) for k in range(MEMBERS)]
        for net in self.nets:  # start near "no correction": smoothing alone
            net.params["head.W"][:] *= 0.1
        self.opts = [make_optimizer(t.optimizer, net.params.data.size, net.dtype, t.lr)
                     for net in self.nets]
        self.rngs = [np.random.default_rng(t.seed + k) for k in range(MEMBERS)]
        self.net, self.opt, self.rng = self.nets[0], self.opts[0], self.rngs[0]
        self.batch = t.batch
        self.tokens_per_step = MEMBERS * t.batch * self.lookback
        self.steps_done = 0
        self.phase = 1
        self.switch_step = t.steps // 2 if t.steps else PHASE1_STEPS
        self.model = None  # ESRNNForecaster (choosing it fits models)
        self.choice = None  # SmoothingChoice
        self.validation: dict[str, float] = {}
        self.legacy = None  # LegacyForecaster when a format-1 checkpoint was restored
        self._windows = None
        self._ensure_model()  # a second or so of fitting, before the run's clock starts

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Task:
        """The forecaster (``data.scaling`` auto; :data:`rnn_tui.session.TASK_VARIANTS` sends
        the other scalings to the tutorials' plain window model)."""
        from rnn_tui.data.series import load_series

        series = load_series(cfg.data.corpus, cfg.data.column or None, cfg.data.encoding)
        return cls(cfg, series)

    # ------------------------------------------------------------------ the model
    def _ensure_model(self):
        """Choose and fit the smoothing model on the part before the validation split."""
        if self.model is None and self.legacy is None:
            from rnn_tui.models.forecaster import ESRNNForecaster, choose_smoothing

            self.choice = choose_smoothing(self.train_values, self.period, self.H, self.n_fit,
                                           self.log_ok)
            self.model = ESRNNForecaster(self.nets, self.lookback, self.H, self.choice.log,
                                         self.choice.model)
            self.model.fit_smoothing(self.train_values[: self.n_fit])
        return self.legacy or self.model

    @property
    def forecaster(self):
        """The model that forecasts (built on first use)."""
        return self._ensure_model()

    def _training_windows(self):
        if self._windows is None:
            model = self._ensure_model()
            if self.legacy is not None:
                from rnn_tui.data.series import make_windows

                X, Y = make_windows(model.to_z(self.train_values), model.lookback, 1)
                self._windows = (X[:, :, None], Y, None)
            else:
                n_avail = self.n_fit if self.phase == 1 else len(self.train_values)
                self._windows = model.training_windows(self.train_values, n_avail)
        return self._windows

    def _switch_to_phase2(self) -> None:
        """Choose the combination on the validation split, refit the smoothing on the whole
        training part, and learn from all of it."""
        model = self._ensure_model()
        self.validation = model.validation_errors(self.train_values, self.n_fit)
        order = ["avg", "es+rnn", "es"]  # ties: the average
        model.combine = min(order, key=lambda k: (self.validation[k], order.index(k)))
        model.fit_smoothing(self.train_values)
        self.phase = 2
        self._windows = None

    last_only = True

    def networks(self) -> list[Any]:
        return list(self.nets)

    def input_shape(self) -> tuple[int, int, list[str]]:
        return self.batch, self.lookback, [
            f"batch: {self.batch} windows of the series; time: the {self.lookback} steps each "
            "reads; features: 2 (the deseasonalised value relative to the level, and the "
            "one-step residual of the smoothing)",
            f"the last state forecasts {self.H} steps at once (many-to-one); {len(self.nets)} "
            "such networks are averaged"]

    def parameter_groups(self) -> list[ParamGroup]:
        """The ensemble's members, the first unnamed."""
        return [ParamGroup("" if k == 0 else f"member{k + 1}", net.params, opt)
                for k, (net, opt) in enumerate(zip(self.nets, self.opts, strict=True))]

    def gradient_norms(self) -> dict[str, float]:
        """The first member's (the members train alike, on batches of their own)."""
        return self.net.params.group_grad_norms()

    @property
    def epoch(self) -> int:
        X = self._windows[0] if self._windows is not None else None
        return self.steps_done * self.batch // max(len(X) if X is not None else 1, 1)

    def step(self):
        from rnn_tui.models.forecaster import masked_mse

        if self.legacy is None and self.phase == 1 and self.steps_done >= self.switch_step:
            self._switch_to_phase2()
        X, Y, M = self._training_windows()
        batch = min(self.batch, len(X))
        first = None
        for net, opt, rng in zip(self.nets, self.opts, self.rngs, strict=True):
            idx = rng.integers(0, len(X), batch)
            x = np.ascontiguousarray(X[idx].transpose(1, 0, 2), dtype=net.dtype)
            if M is None:  # legacy: one value ahead
                info = train_step(net, x, Y[idx].astype(net.dtype), net.initial_state(batch),
                                  opt, self.cfg.train.clip, loss="mse", last_only=True)
            else:
                info = train_step(net, x, (Y[idx].astype(net.dtype), M[idx].astype(net.dtype)),
                                  net.initial_state(batch), opt, self.cfg.train.clip,
                                  loss_fn=lambda x_, y_, s_, net=net, rng=rng:
                                  masked_mse(net, x_, y_, s_, rng))
            if first is None:
                first = info
        self.steps_done += 1
        return first, len(self.nets) * batch * X.shape[1]

    # ------------------------------------------------------------------ evaluation
    def errors(self) -> tuple[dict[str, dict[str, float]], np.ndarray, np.ndarray]:
        """Errors on the held-out part of the model, its parts and the baselines; the model's
        multi-step forecast and its one-step predictions."""
        model = self._ensure_model()
        h, tr, truth = len(self.holdout), self.train_values, self.holdout
        parts = model.components(tr, h)
        fc = parts["model"]
        one = model.one_step(tr, truth)
        cands = {"model": fc}
        if self.legacy is None:
            cands["model_es"] = parts["es"]
            cands["model_es_rnn"] = parts["es+rnn"]
        cands.update(self.baselines())
        cands["model_one_step"] = one
        return self.error_rows(cands), fc, one

    def describe(self) -> str:
        """What the model is, in one line (after the automatic choices)."""
        if self.legacy is not None:
            return (f"format-1 model: lookback {self.legacy.lookback}, differencing at lag "
                    f"{self.legacy.lag}{', log' if self.legacy.log else ''}")
        from rnn_tui.models.forecaster import COMBINATION_NAMES, describe

        model = self._ensure_model()
        combine = (COMBINATION_NAMES[model.combine] if self.phase == 2
                   else "combination chosen halfway")
        return (f"smoothing: {describe(model.log, model.es)}; {len(self.nets)} GRU x lookback "
                f"{self.lookback} -> {self.H} steps; forecast: {combine}")

    def evaluate(self) -> tuple[float, dict[str, float]]:
        """Validation loss (the networks' scaled MSE on the validation split, see the module's
        docstring) and the held-out errors of the model and the seasonal naive forecast."""
        errs, _fc, one = self.errors()
        if self.legacy is not None:
            lg = self.legacy
            z_true = lg.to_z(np.concatenate([self.train_values, self.holdout]))[
                -len(self.holdout):]
            z_pred = lg.to_z(np.concatenate([self.train_values, one]))[-len(one):]
            val = float(np.mean((z_true - z_pred) ** 2))
        else:
            val = self.model.validation_loss(self.train_values, self.n_fit)
        metrics = {"model_mae": errs["model"]["mae"],
                   "seasonal_naive_mae": errs["seasonal_naive"]["mae"]}
        return val, metrics

    def eval_events(self) -> list[ev.Event]:
        return [forecast_event(self)]

    def snapshot_batch(self, max_steps: int = 48):
        X = self._training_windows()[0]
        x = X[-1][-max_steps:]
        return (np.ascontiguousarray(x[:, None, :], dtype=self.net.dtype),
                [f"{v:+.1f}" for v in x[:, 0]], None)

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        return hidden_snapshot(self.net, *self.snapshot_batch(max_steps))

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        model = self._ensure_model()
        arrays, meta = groups_checkpoint(self.parameter_groups())
        forecaster = model.meta()
        if self.legacy is None:
            forecaster.update(phase=self.phase, switch_step=self.switch_step, n_fit=self.n_fit,
                              validation=self.validation,
                              choice_scores=self.choice.scores if self.choice else [])
        meta.setdefault("optimizers", [])
        meta.update({"task": "series", "spec": self.net.spec.to_dict(),
                     "dtype": self.net.dtype.name, "forecaster": forecaster,
                     "period": self.period, "rng": self.rng.bit_generator.state,
                     "rngs": [g.bit_generator.state for g in self.rngs[1:]],
                     "steps_done": self.steps_done, "series": self.series.source})
        return arrays, meta

    def restore(self, arrays, meta) -> None:
        fc = meta.get("forecaster") or {}
        if int(fc.get("version", 1)) < 2:
            self._restore_legacy(arrays, meta)
            return
        from rnn_tui.models.forecaster import ESRNNForecaster

        check_compatible(self.net, None, arrays, meta)
        members = int(fc.get("members", 1))
        if members != len(self.nets) or any(f"params.{k}" not in arrays
                                            for k in range(1, members)):
            raise UserError(f"checkpoint holds {members} networks, this version uses "
                            f"{len(self.nets)}; start a new run")
        restore_groups(self.parameter_groups(), arrays, meta)
        self.rngs[0].bit_generator.state = meta["rng"]
        for g, st in zip(self.rngs[1:], meta.get("rngs", []), strict=False):
            g.bit_generator.state = st
        self.steps_done = int(meta.get("steps_done", 0))
        self.period = int(meta.get("period", self.period))
        self.phase = int(fc.get("phase", 1))
        self.switch_step = int(fc.get("switch_step", self.switch_step))
        self.n_fit = int(fc.get("n_fit", self.n_fit))
        self.validation = dict(fc.get("validation", {}))
        self.model = ESRNNForecaster.from_meta(self.nets, fc)
        self.lookback = self.model.lookback
        self.tokens_per_step = len(self.nets) * self.batch * self.lookback
        self._windows = None

    def _restore_legacy(self, arrays, meta) -> None:
        """A format-1 run: one network predicting one step ahead of the differenced series."""
        from rnn_tui.models.forecaster import LegacyForecaster

        net = network_from_meta(arrays, meta)
        opt = make_optimizer(self.cfg.train.optimizer, net.params.data.size, net.dtype,
                             self.cfg.train.lr)
        restore_groups([ParamGroup("", net.params, opt)], arrays, meta)
        self.nets, self.opts, self.rngs = [net], [opt], [self.rng]
        self.net, self.opt = net, opt
        self.rng.bit_generator.state = meta["rng"]
        self.steps_done = int(meta.get("steps_done", 0))
        self.period = int(meta.get("period", self.period))
        self.legacy = LegacyForecaster.from_meta(net, meta["forecaster"])
        self.model = None
        self.lookback = self.legacy.lookback
        self.tokens_per_step = self.batch * self.lookback
        self._windows = None
