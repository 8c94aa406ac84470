"""Settings for a run: data, model and training, as dataclasses; TOML in and out; validation.

A config file has three tables, ``[data]``, ``[model]`` and ``[train]``; command-line flags
override it. Every problem is a :class:`~rnn_tui.errors.UserError` naming the setting.
"""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from rnn_tui.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASKS = ("char", "word", "series")
CELLS = ("rnn", "rnn_relu", "lstm", "gru")
OPTIMIZERS = ("sgd", "adam", "adamw", "adagrad", "rmsprop")
LR_SCHEDULES = ("cosine", "plateau", "constant")


@dataclass
class DataConfig:
    task: str = "char"
    corpus: str = "pydoc"  # built-in corpus name, text file or (series) CSV / built-in series
    encoding: str = "utf-8"
    column: str = ""  # CSV value column: name or 0-based index ("" = last numeric column)
    val_fraction: float = 0.1
    lowercase: bool = True  # word task
    min_count: int = 2  # word task
    max_vocab: int = 10000  # word task
    lookback: int = 0  # series task: window of the past the model reads (0 = chosen to fit)
    horizon: int = 12  # series task: steps forecast past the end of the data
    holdout: int = 24  # series task: final points held out for validation
    period: int = 0  # series task: seasonal period (0 = detect)


@dataclass
class ModelConfig:
    cell: str = "gru"
    hidden: int = 512
    layers: int = 1
    embed: int = 64  # 0 = one-hot input
    dropout: float = 0.0


@dataclass
class TrainConfig:
    seq: int = 64
    batch: int = 32
    optimizer: str = "adam"
    lr: float = 3e-3
    lr_schedule: str = "cosine"  # cosine (decay to lr/10 over the run) | plateau | constant
    warmup: int = 50  # steps of linear warm-up
    clip: float = 5.0  # global-norm clip (0 = off)
    steps: int = 0  # 0 = until the time budget runs out
    patience: int = 0  # stop after this many evaluations without a new best (0 = never)
    time_budget: float = 300.0  # seconds (0 = no limit)
    eval_every: int = 250
    eval_tokens: int = 100_000
    checkpoint_every: int = 500
    sample_every: int = 500
    sample_len: int = 200
    temperature: float = 0.8
    log_every: int = 0  # steps between step events (0 = about five a second)
    seed: int = 0
    dtype: str = "float32"


# The app's defaults differ from `rnn-tui train`'s where watching asks for it: a model that
# moves fast enough to see, frequent evaluations and samples.
APP_DEFAULTS = {"model": {"hidden": 256},
                "train": {"time_budget": 600.0, "eval_every": 100, "eval_tokens": 20_000,
                          "sample_every": 100, "checkpoint_every": 500}}

# Series runs: a small GRU on real-valued input, a fixed number of steps.
SERIES_DEFAULTS = {"data": {"corpus": "sales"},
                   "model": {"cell": "gru", "hidden": 32, "embed": 0},
                   "train": {"lr": 0.005, "steps": 1500, "time_budget": 120.0, "eval_every": 250,
                             "checkpoint_every": 500, "clip": 1.0}}


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> RunConfig:
        cfg = cls()
        cfg.update(d, source)
        return cfg

    def update(self, d: dict[str, Any], source: str = "config") -> None:
        """Set values from a nested dict ``{"data": {...}, ...}``; unknown keys are errors."""
        sections = {f.name: getattr(self, f.name) for f in fields(self)}
        for sec, values in d.items():
            if sec not in sections:
                raise UserError(f"{source}: unknown section [{sec}]{suggest(sec, sections)}")
            if not isinstance(values, dict):
                raise UserError(f"{source}: [{sec}] must be a table of settings")
            target = sections[sec]
            known = {f.name: f for f in fields(target)}
            for key, value in values.items():
                if key not in known:
                    raise UserError(
                        f"{source}: unknown setting {key!r} in [{sec}]{suggest(key, known)}"
                    )
                setattr(target, key, _coerce(value, known[key].type, f"{sec}.{key}", source))

    def validate(self) -> RunConfig:
        d, m, t = self.data, self.model, self.train
        _choice("data.task", d.task, TASKS)
        _choice("model.cell", m.cell, CELLS)
        _choice("train.optimizer", t.optimizer, OPTIMIZERS)
        _choice("train.dtype", t.dtype, ("float32", "float64"))
        _choice("train.lr_schedule", t.lr_schedule, LR_SCHEDULES)
        if t.warmup < 0:
            raise UserError(f"train.warmup must not be negative, got {t.warmup}")
        for name, v in (("model.hidden", m.hidden), ("model.layers", m.layers),
                        ("train.seq", t.seq), ("train.batch", t.batch),
                        ("train.eval_every", t.eval_every), ("train.eval_tokens", t.eval_tokens),
                        ("train.checkpoint_every", t.checkpoint_every),
                        ("train.sample_every", t.sample_every),
                        ("data.horizon", d.horizon)):
            if v < 1:
                raise UserError(f"{name} must be at least 1, got {v}")
        for name, v in (("model.embed", m.embed), ("train.steps", t.steps),
                        ("train.sample_len", t.sample_len), ("train.log_every", t.log_every),
                        ("train.patience", t.patience),
                        ("data.holdout", d.holdout), ("data.period", d.period),
                        ("data.lookback", d.lookback),
                        ("data.min_count", d.min_count)):
            if v < 0:
                raise UserError(f"{name} must not be negative, got {v}")
        if not (t.lr > 0 and math.isfinite(t.lr)):
            raise UserError(f"train.lr (learning rate) must be > 0, got {t.lr}")
        if t.clip < 0 or not math.isfinite(t.clip):
            raise UserError(f"train.clip must be >= 0 (0 turns clipping off), got {t.clip}")
        if t.time_budget < 0:
            raise UserError(f"train.time_budget must be >= 0 seconds, got {t.time_budget}")
        if not 0 <= m.dropout < 1:
            raise UserError(f"model.dropout must be in [0, 1), got {m.dropout}")
        if not 0 < d.val_fraction < 0.5:
            raise UserError(f"data.val_fraction must be in (0, 0.5), got {d.val_fraction}")
        if not t.temperature > 0:
            raise UserError(f"train.temperature must be > 0, got {t.temperature}")
        if m.hidden > 4096 or m.layers > 8 or t.batch > 4096 or t.seq > 4096:
            raise UserError("model or batch too large for this playground "
                            "(hidden <= 4096, layers <= 8, batch and seq <= 4096)")
        return self


def load_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise UserError(f"config file not found: {p}")
    if p.is_dir():
        raise UserError(f"config path is a directory, not a file: {p}")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"config file {p} is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {p} is not UTF-8 text") from None


# Names people reach for from other tools, mapped to ours, so a near miss of either is suggested.
ALIASES = {"learning_rate": "lr", "hidden_size": "hidden", "num_layers": "layers",
           "batch_size": "batch", "seq_len": "seq", "sequence_length": "seq", "bptt": "seq",
           "embedding": "embed", "embedding_dim": "embed", "embed_dim": "embed",
           "grad_clip": "clip", "max_steps": "steps", "iterations": "steps",
           "rnn_type": "cell", "model_type": "cell", "data": "corpus", "text": "corpus"}


def suggest(word: str, options) -> str:
    options = list(options)
    pool = options + [a for a, target in ALIASES.items() if target in options]
    close = difflib.get_close_matches(word.lower(), pool, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {ALIASES.get(close[0], close[0])!r}?)"
    return f"; known: {', '.join(options)}"


def _choice(name: str, value: str, options) -> None:
    if value not in options:
        raise UserError(f"{name}: unknown value {value!r}{suggest(value, options)}")


def _coerce(value: Any, typ: Any, name: str, source: str) -> Any:
    typ = typ if isinstance(typ, str) else getattr(typ, "__name__", str(typ))
    try:
        if typ == "bool":
            if isinstance(value, str):
                low = value.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if typ == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if typ == "float":
            out = float(value)
            if math.isnan(out):
                raise ValueError(value)
            return out
        return str(value)
    except (TypeError, ValueError):
        raise UserError(f"{source}: {name} must be {typ}, got {value!r}") from None
