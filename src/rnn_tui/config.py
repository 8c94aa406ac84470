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

TASKS = ("char", "word", "series", "classify", "tag", "seq2seq")
CELLS = ("rnn", "rnn_relu", "rnn_sigmoid", "lstm", "gru")
SEQUENCE_TASKS = ("classify", "tag", "seq2seq")  # independent sentences: may read both ways
ATTENTIONS = ("none", "dot", "additive")
OPTIMIZERS = ("sgd", "adam", "adamw", "adagrad", "rmsprop")
LR_SCHEDULES = ("cosine", "plateau", "constant")
SCALINGS = ("auto", "raw", "minmax", "divide")
MAX_SEED = 2**32 - 1


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
    scaling: str = "auto"  # series: auto (smoothing + RNN) | raw | minmax | divide (by scale)
    scale: float = 100.0  # series, scaling = divide: values are divided by this
    windows: int = 0  # char / word: > 0 = every window of this many tokens predicts the next
    val_data: str = ""  # classify / tag: a separate held-out file (default: a split)
    tokens: str = "word"  # classify: word | char
    max_len: int = 0  # classify, tag: tokens per sentence, longer cut (0 = all; their defaults
    # MAX_SENTENCE)
    word_features: str = "suffix"  # tag: none | suffix (suffixes and shape of each word)
    # char / word task: a tokenizer file (JSON, as `rnn-tui import` writes it) to use instead of
    # a vocabulary built from the corpus ("" = build it from the corpus)
    vocab: str = ""
    digits: int = 3  # seq2seq, corpus addition: numbers of up to this many digits
    pairs: int = 50_000  # seq2seq, generated corpora (addition, reverse): how many pairs
    reverse_source: bool = False  # seq2seq: read every source backwards (Sutskever et al.)


@dataclass
class ModelConfig:
    cell: str = "gru"
    hidden: int = 512
    layers: int = 1
    embed: int = 64  # 0 = one-hot input
    input: str = "auto"  # auto (embedding if embed > 0, else one-hot) | index (id / V, windows)
    dropout: float = 0.0
    bidirectional: bool = False  # classify / tag: a second direction reads each sentence back
    recurrent_scale: float = 0.0  # > 0: W_hh starts orthogonal times this (0 = PyTorch's init)
    attention: str = "additive"  # seq2seq: none | dot (Luong) | additive (Bahdanau)


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
    # stop after this many evaluations without a new best (0 = never): a run that has begun to
    # memorise its corpus ends, its best weights kept in best.npz
    patience: int = 5
    epochs: int = 0  # stop after this many passes over the training data (0 = no limit)
    time_budget: float = 300.0  # seconds (0 = no limit)
    eval_every: int = 250
    eval_tokens: int = 100_000
    checkpoint_every: int = 500
    sample_every: int = 500
    sample_len: int = 200
    temperature: float = 0.8
    top_k: int = 0  # samples while training: only the k likeliest (1 = argmax; 0 = all)
    log_every: int = 0  # steps between step events (0 = about five a second)
    seed: int = 0
    dtype: str = "float32"
    # seq2seq: the chance that the decoder reads the reference's previous token rather than its
    # own prediction (1 = always: teacher forcing; below 1: scheduled sampling)
    teacher_forcing: float = 1.0


# The app's defaults differ from `rnn-tui train`'s where watching asks for it: a model that
# moves fast enough to see, frequent evaluations and samples.
APP_DEFAULTS = {"model": {"hidden": 256},
                "train": {"time_budget": 600.0, "eval_every": 100, "eval_tokens": 20_000,
                          "sample_every": 100, "checkpoint_every": 500, "patience": 10}}

# Series runs: a small GRU on real-valued input, a fixed number of steps.
SERIES_DEFAULTS = {"data": {"corpus": "sales"},
                   "model": {"cell": "gru", "hidden": 32, "embed": 0},
                   "train": {"lr": 0.005, "steps": 1500, "time_budget": 120.0, "eval_every": 250,
                             "checkpoint_every": 500, "clip": 1.0, "patience": 0}}


# Sentence tasks: a bidirectional network over whole sentences, a short default run that keeps
# its best weights and stops when the held-out score stalls. Dropout measured with
# benchmarks/classify.sh and tag.sh (120 s, docs/labelled.md): classification 0.759 without,
# 0.783 at 0.3, 0.809 at 0.5; tagging (GRU) 0.905-0.909 at 0.3 against 0.893-0.895 without.
# A step's time grows with its longest sentence: longer ones are cut at MAX_SENTENCE tokens
# (with a notice); --max-len 0 reads them whole.
MAX_SENTENCE = 400
CLASSIFY_DEFAULTS = {"data": {"corpus": "sentiment", "min_count": 1, "max_len": MAX_SENTENCE},
                     "model": {"cell": "gru", "hidden": 64, "embed": 64, "bidirectional": True,
                               "dropout": 0.5},
                     "train": {"batch": 32, "lr": 2e-3, "time_budget": 120.0, "eval_every": 50,
                               "checkpoint_every": 500, "sample_every": 1000, "patience": 10,
                               "warmup": 20}}
TAG_DEFAULTS = {"data": {"corpus": "pos", "max_len": MAX_SENTENCE},
                "model": {"cell": "gru", "hidden": 128, "embed": 64, "bidirectional": True,
                          "dropout": 0.3},
                "train": {"batch": 32, "lr": 3e-3, "time_budget": 120.0, "eval_every": 100,
                          "checkpoint_every": 500, "sample_every": 1000, "patience": 10,
                          "warmup": 20}}
# Sequence to sequence: an LSTM encoder-decoder with additive attention over characters, on the
# generated sums, batches of 128 (Keras's addition_rnn uses LSTM 128).
SEQ2SEQ_DEFAULTS = {"data": {"corpus": "addition", "tokens": "char", "min_count": 1},
                    "model": {"cell": "lstm", "hidden": 128, "embed": 32,
                              "attention": "additive"},
                    "train": {"batch": 128, "lr": 3e-3, "time_budget": 600.0,
                              "eval_every": 250, "eval_tokens": 1000, "checkpoint_every": 500,
                              "sample_every": 1000, "patience": 10, "warmup": 20}}
TASK_DEFAULTS = {"series": SERIES_DEFAULTS, "classify": CLASSIFY_DEFAULTS, "tag": TAG_DEFAULTS,
                 "seq2seq": SEQ2SEQ_DEFAULTS}


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
        _choice("data.tokens", d.tokens, ("word", "char"))
        _choice("model.input", m.input, ("auto", "index"))
        _choice("data.scaling", d.scaling, SCALINGS)
        if not (math.isfinite(d.scale) and d.scale != 0):
            raise UserError(f"data.scale must be a finite number other than 0, got {d.scale}")
        _choice("data.word_features", d.word_features, ("none", "suffix"))
        _choice("model.attention", m.attention, ATTENTIONS)
        if not 0.0 <= t.teacher_forcing <= 1.0:
            raise UserError(f"train.teacher_forcing must be in [0, 1], got {t.teacher_forcing}")
        if not 1 <= d.digits <= 9:
            raise UserError(f"data.digits must be from 1 to 9, got {d.digits}")
        if not 2 <= d.pairs <= 2_000_000:
            raise UserError(f"data.pairs must be from 2 to 2,000,000, got {d.pairs:,}")
        if m.bidirectional and d.task not in SEQUENCE_TASKS:
            raise UserError("model.bidirectional: a backward direction reads the future; only "
                            "classify and tag (whole sentences) can use it, not "
                            f"{d.task!r} models")
        if m.recurrent_scale < 0 or not math.isfinite(m.recurrent_scale):
            raise UserError(f"model.recurrent_scale must be >= 0 (0 = PyTorch's init), got "
                            f"{m.recurrent_scale}")
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
                        ("train.patience", t.patience), ("train.epochs", t.epochs),
                        ("data.max_len", d.max_len), ("data.windows", d.windows),
                        ("train.top_k", t.top_k),
                        ("data.holdout", d.holdout), ("data.period", d.period),
                        ("data.lookback", d.lookback),
                        ("data.min_count", d.min_count)):
            if v < 0:
                raise UserError(f"{name} must not be negative, got {v}")
        if not 0 <= t.seed <= MAX_SEED:
            raise UserError(f"train.seed must be a whole number from 0 to {MAX_SEED}, "
                            f"got {t.seed}")
        for name, v, top in (("model.embed", m.embed, 4096), ("data.lookback", d.lookback, 4096),
                             ("data.horizon", d.horizon, 10_000),
                             ("train.sample_len", t.sample_len, 1_000_000),
                             ("data.max_vocab", d.max_vocab, 10_000_000)):
            if v > top:
                raise UserError(f"{name} must be at most {top:,} in this playground, got {v:,}")
        if not (t.lr > 0 and math.isfinite(t.lr)):
            raise UserError(f"train.lr (learning rate) must be > 0, got {t.lr}")
        if t.clip < 0 or not math.isfinite(t.clip):
            raise UserError(f"train.clip must be >= 0 (0 turns clipping off), got {t.clip}")
        if not 0 <= t.time_budget < 1e12:
            raise UserError(f"train.time_budget must be a number of seconds >= 0 (0 = no "
                            f"limit), got {t.time_budget}")
        if not 0 <= m.dropout < 1:
            raise UserError(f"model.dropout must be in [0, 1), got {m.dropout}")
        if not 0 < d.val_fraction < 0.5:
            raise UserError(f"data.val_fraction must be in (0, 0.5), got {d.val_fraction}")
        if not (t.temperature > 0 and math.isfinite(t.temperature)):
            raise UserError(f"train.temperature must be a finite number > 0, got {t.temperature}")
        if m.hidden > 4096 or m.layers > 8 or t.batch > 4096 or t.seq > 4096:
            raise UserError("model or batch too large for this playground "
                            "(hidden <= 4096, layers <= 8, batch and seq <= 4096)")
        return self


def load_toml(path: str | Path) -> dict[str, Any]:
    from rnn_tui.safeio import CONFIG_LIMIT, read_user_file

    p = Path(path)
    data = read_user_file(p, CONFIG_LIMIT, "config file", "give a TOML file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"config file {p} is not UTF-8 text") from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"config file {p} is not valid TOML: {err}") from None
    except RecursionError:
        raise UserError(f"config file {p} nests tables or arrays too deeply") from None


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
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{source}: {name} must be {typ}, got {value!r}") from None
