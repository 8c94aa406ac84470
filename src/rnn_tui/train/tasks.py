"""Tasks: what the trainer trains. Each owns its data, model, optimizer and carried state, and
knows how to take a step, evaluate, describe itself in events, and save and restore itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core import make_optimizer
from rnn_tui.core.fused import FusedLM
from rnn_tui.core.network import NetSpec, Network, State
from rnn_tui.data.text import tokenizer_from_dict
from rnn_tui.errors import UserError
from rnn_tui.models.language import LanguageModel, train_step
from rnn_tui.train import events as ev


def _dtype(cfg: RunConfig):
    return np.float32 if cfg.train.dtype == "float32" else np.float64


class LanguageTask:
    """Character- or word-level language model over one long token stream (stateful TBPTT)."""

    def __init__(
        self, cfg: RunConfig, tokenizer, ids: np.ndarray, model: LanguageModel | None = None
    ):
        from rnn_tui.data.batches import StreamBatcher, split_tail

        self.cfg = cfg
        self.kind = cfg.data.task
        t = cfg.train
        self.tokenizer = tokenizer
        self.train_ids, self.val_ids = split_tail(ids, cfg.data.val_fraction)
        if len(self.val_ids) < 2:
            raise UserError("the text is too short to hold out a validation part; use a longer "
                            "corpus or a larger --val-fraction")
        self.batcher = StreamBatcher(self.train_ids, t.batch, t.seq)
        m = cfg.model
        self.model = model or LanguageModel.create(
            tokenizer, m.cell, m.hidden, m.layers, m.embed, m.dropout, _dtype(cfg), t.seed)
        self.net = self.model.net
        self.opt = make_optimizer(t.optimizer, self.net.params.data.size, self.net.dtype, t.lr)
        self.rng = np.random.default_rng(t.seed)
        self.sample_rng = np.random.default_rng(t.seed + 1)
        self.state: State = self.net.initial_state(t.batch)
        self.last_x: np.ndarray | None = None
        self.last_y: np.ndarray | None = None
        self.tokens_per_step = t.batch * t.seq
        self._unigram: float | None = None
        self._fused: dict[tuple[int, int], FusedLM] = {}

    @classmethod
    def from_config(cls, cfg: RunConfig) -> LanguageTask:
        from rnn_tui.data.corpora import load_corpus
        from rnn_tui.data.text import CharTokenizer, WordTokenizer

        corpus = load_corpus(cfg.data.corpus, encoding=cfg.data.encoding)
        if cfg.data.task == "word":
            tok = WordTokenizer(lowercase=cfg.data.lowercase, min_count=cfg.data.min_count,
                                max_vocab=cfg.data.max_vocab or None)
            tok.fit(corpus.text)
        else:
            tok = CharTokenizer.fit(corpus.text)
        ids = tok.encode(corpus.text, unknown="skip") if cfg.data.task == "char" else \
            tok.encode(corpus.text)
        return cls(cfg, tok, np.asarray(ids, dtype=np.int64))

    # -------------------------------------------------------------- training
    @property
    def epoch(self) -> int:
        return self.batcher.epoch

    def step(self):
        x, y, new_epoch = self.batcher.next_batch()
        if new_epoch or self.state.h.shape[1] != x.shape[1]:
            self.state = self.net.initial_state(x.shape[1])
        t = self.cfg.train
        if self.cfg.model.dropout > 0 or self.net.dtype != np.float32:
            info = train_step(self.net, x, y, self.state, self.opt, t.clip, self.rng)
        else:  # the whole forward/backward in one kernel call
            fused = self._fused.get(x.shape)
            if fused is None:
                from rnn_tui import runtime

                fused = self._fused[x.shape] = FusedLM(self.net, *x.shape,
                                                       workers=runtime.threads_in_use)
            info = train_step(self.net, x, y, self.state, self.opt, t.clip,
                              loss_fn=fused.loss_and_grad)
        self.state = info.state
        self.last_x, self.last_y = x, y
        return info, x.size

    def gradient_flow(self) -> np.ndarray | None:
        r"""(layers, T): :math:`\lVert \partial L_T / \partial h_t \rVert` for the loss of the
        last step alone, on the first sequence of the latest batch.

        The training step's own profile sums the losses of every later step, which hides the
        decay; one loss shows how far back its gradient reaches: through a vanilla RNN it shrinks
        by a factor of about :math:`\lVert W_{hh}^\top \mathrm{diag}(1 - h^2) \rVert` per step,
        through an LSTM's cell state it can survive. (Overwrites ``params.grad``, which the next
        step recomputes from zero.)"""
        if self.last_x is None:
            return None
        x = np.ascontiguousarray(self.last_x[:, :1])
        res = self.net.loss_and_grad(x, self.last_y[-1, :1], self.net.initial_state(1),
                                     last_only=True)
        return res.dh_norms

    def evaluate(self) -> tuple[float, dict[str, float]]:
        t = self.cfg.train
        val = self.model.evaluate(self.val_ids, t.batch, t.seq, t.eval_tokens)
        metrics = {"val_ppl": math.exp(min(val, 50.0))}
        if self.kind == "word":
            metrics["unigram_ppl"] = math.exp(self.unigram_loss())
        return val, metrics

    def unigram_loss(self) -> float:
        """Cross-entropy of a unigram model fitted on the training part (add-one smoothing),
        on the validation part: the baseline a word model must beat."""
        if self._unigram is None:
            V = self.tokenizer.vocab_size
            counts = np.bincount(self.train_ids, minlength=V).astype(np.float64) + 1.0
            logp = np.log(counts / counts.sum())
            self._unigram = float(-logp[self.val_ids].mean())
        return self._unigram

    def sample_text(self, temperature: float, length: int, prime: str = "") -> str:
        return "".join(self.model.sample(length, prime, temperature, 0, self.sample_rng))

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        if self.last_x is None:
            return None
        ids = self.last_x[:max_steps, 0]
        hs, cs = self.model.hidden_trace(ids)
        r = lambda a: np.round(a.T.astype(np.float64), 3).tolist()  # noqa: E731
        return ev.HiddenSnapshot(
            tokens=[self.tokenizer.decode_one(int(i)) for i in ids],
            h=[r(h) for h in hs], c=None if cs is None else [r(c) for c in cs])

    # -------------------------------------------------------------- checkpoints
    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        opt_meta, opt_arrays = self.opt.state_dict()
        arrays = {"params": self.net.params.data, "state_h": self.state.h}
        if self.state.c is not None:
            arrays["state_c"] = self.state.c
        arrays.update({f"opt.{k}": v for k, v in opt_arrays.items()})
        meta = {
            "task": self.kind,
            "spec": self.net.spec.to_dict(),
            "dtype": self.net.dtype.name,
            "tokenizer": self.tokenizer.to_dict(),
            "optimizer": opt_meta,
            "rng": self.rng.bit_generator.state,
            "sample_rng": self.sample_rng.bit_generator.state,
            "batcher": self.batcher.state_dict(),
        }
        return arrays, meta

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        check_compatible(self.net, self.tokenizer.to_dict(), arrays, meta)
        self.net.params.load_flat(arrays["params"])
        self.opt.load_state_dict(meta["optimizer"], {
            k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
        self.rng.bit_generator.state = meta["rng"]
        self.sample_rng.bit_generator.state = meta["sample_rng"]
        self.batcher.load_state_dict(meta["batcher"])
        c = arrays.get("state_c")
        self.state = State(arrays["state_h"].astype(self.net.dtype),
                           None if c is None else c.astype(self.net.dtype))


def check_compatible(net: Network, tokenizer: dict | None, arrays, meta) -> None:
    """Refuse a checkpoint from a different model or vocabulary, saying what differs."""
    spec = meta.get("spec", {})
    mine = net.spec.to_dict()
    diffs = [f"{k} {spec.get(k)!r} vs {mine[k]!r}" for k in mine if spec.get(k) != mine[k]]
    if diffs:
        raise UserError("checkpoint is for a different model (" + ", ".join(diffs[:3]) + "); "
                        "use the run's own settings or start a new run")
    if tokenizer is not None and meta.get("tokenizer") != tokenizer:
        raise UserError("checkpoint was trained with a different vocabulary; resume it on the "
                        "same corpus and task")
    if arrays["params"].shape != net.params.data.shape:
        raise UserError("checkpoint parameter vector does not fit this model")


def network_from_meta(arrays, meta) -> Network:
    """Rebuild a network from a checkpoint's own spec (for sample / forecast)."""
    try:
        spec = NetSpec(**meta["spec"])
        net = Network(spec, dtype=np.dtype(meta.get("dtype", "float32")), seed=None)
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"checkpoint metadata does not describe a model ({err})") from None
    if arrays.get("params") is None or arrays["params"].shape != net.params.data.shape:
        raise UserError("checkpoint parameters do not match its own model description; "
                        "the file is corrupt")
    net.params.load_flat(arrays["params"].astype(net.dtype))
    return net


class SeriesTask:
    """Forecast a series: random windows of the (transformed) training part, many-to-one."""

    kind = "series"

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
        lag, log = Forecaster.transform_params(self.train_values, self.period)
        if len(self.train_values) - lag < d.lookback + 1:
            raise UserError(
                f"the training part has {len(self.train_values)} points, too few for lookback "
                f"{d.lookback} after differencing at lag {lag}; use a smaller --lookback")
        u = np.log(self.train_values) if log else self.train_values
        scaler = StandardScaler().fit(u[lag:] - u[:-lag])
        spec = NetSpec(cell=m.cell, input_mode="real", input_size=1, hidden=m.hidden,
                       layers=m.layers, output_size=1, dropout=m.dropout)
        self.net = Network(spec, dtype=_dtype(cfg), seed=t.seed)
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

    def forecast_event(self) -> ev.ForecastUpdate:
        errs, fc, one = self.errors()
        r = lambda a: [round(float(v), 4) for v in a]  # noqa: E731
        return ev.ForecastUpdate(history=r(self.train_values[-120:]), truth=r(self.holdout),
                                 prediction=r(one), forecast=r(fc), errors=errs)

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        x = self.X[-1][-max_steps:]
        fwd = self.net.forward(np.ascontiguousarray(x[:, None, None], dtype=self.net.dtype),
                               self.net.initial_state(1))
        r = lambda a: np.round(a.T.astype(np.float64), 3).tolist()  # noqa: E731
        return ev.HiddenSnapshot(tokens=[f"{v:+.1f}" for v in x],
                                 h=[r(c.hs[1:, 0]) for c in fwd.layers],
                                 c=None if fwd.layers[0].cs is None else
                                 [r(c.cs[1:, 0]) for c in fwd.layers])

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


def load_language_model(run: str):
    """(LanguageModel, word separator) from a run directory or checkpoint file."""
    from rnn_tui.train.runs import load_checkpoint

    if not run:
        raise UserError("give a run directory (made by `rnn-tui train` or the app)")
    arrays, meta = load_checkpoint(run)
    if meta.get("task") not in ("char", "word"):
        raise UserError(f"{run} is a {meta.get('task')} run; generating text needs a language "
                        "model (use `rnn-tui forecast` for series)")
    net = network_from_meta(arrays, meta)
    tok = tokenizer_from_dict(meta["tokenizer"])
    if tok.vocab_size != net.spec.input_size:
        raise UserError("checkpoint vocabulary does not match its model; the file is corrupt")
    return LanguageModel(tok, net), (" " if meta["task"] == "word" else "")
