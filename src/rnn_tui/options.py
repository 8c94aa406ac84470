"""Every setting of a run, declared once: its section, name, type, default (and each task's own
default where it differs), choices or range, the tasks it applies to, and its help.

From :data:`SETTINGS` come the ``train`` flags (:func:`add_flags`, with real ``choices`` and
every default in the help), the config dataclasses and their strict TOML loading
(:mod:`rnn_tui.config`), the sweep axes (:mod:`rnn_tui.sweep.spec`), ``serve``'s session
defaults and the setup screen's fields. :func:`check` holds a value to its setting: a bool is
not a number, ``1.5`` is not a whole number, a string is not a number, and a value out of range
is refused, each in one line naming the setting and where the value came from
(:class:`Source`).

Kept to the standard library (dataclasses and a checker of a hundred lines) so that ``rnn-tui
--help`` stays instant and the default install lean: the schema is flat (about sixty scalar
settings in three sections), and the messages name a flag, a file and key or a sweep axis,
which a general validation library would have to be taught anyway.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from rnn_tui.errors import UserError

TASKS = ("char", "word", "series", "classify", "tag", "seq2seq")
LANGUAGE_TASKS = ("char", "word")
SEQUENCE_TASKS = ("classify", "tag", "seq2seq")  # independent sentences: may read both ways
CELLS = ("rnn", "rnn_relu", "rnn_sigmoid", "lstm", "gru")
OPTIMIZERS = ("sgd", "adam", "adamw", "adagrad", "rmsprop")
LR_SCHEDULES = ("cosine", "plateau", "constant")
SCALINGS = ("auto", "raw", "minmax", "divide")
ATTENTIONS = ("none", "dot", "additive")
INPUTS = ("auto", "index")
DTYPES = ("float32", "float64")
TOKEN_KINDS = ("word", "char")
WORD_FEATURES = ("none", "suffix")
SECTIONS = ("data", "model", "train")
MAX_SEED = 2**32 - 1
MAX_SIZE = 4096  # hidden units, embedding, batch, sequence length, lookback
MAX_LAYERS = 8
# A step's time grows with its longest sentence: longer ones are cut at MAX_SENTENCE tokens
# (with a notice); --max-len 0 reads them whole.
MAX_SENTENCE = 400


@dataclass(frozen=True)
class Setting:
    """One setting. ``low`` / ``high`` bound a number (``open_low``: the bound itself is not
    allowed); ``tasks`` are the tasks that read it (narrowed for the data settings, which
    differ from task to task; the model and training knobs apply to every task); ``flag``
    False: no flag (config files only)."""

    section: str
    key: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    tasks: tuple[str, ...] = TASKS
    flag: bool = True
    label: str = ""  # the setup screen's name for it

    @property
    def option(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    def allowed(self) -> str:
        """What the setting takes, for messages: ``a whole number from 1 to 4,096``."""
        if self.type is bool:
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type is str:
            return "text"
        what = "a whole number" if self.type is int else "a number"
        lo, hi = _num(self.low), _num(self.high)
        if self.low is not None and self.high is not None:
            if self.open_low or self.open_high:
                left = "(" if self.open_low else "["
                right = ")" if self.open_high else "]"
                return f"{what} in {left}{lo}, {hi}{right}"
            return f"{what} from {lo} to {hi}"
        if self.low is not None:
            return f"{what} {'>' if self.open_low else '>='} {lo}"
        if self.high is not None:
            return f"{what} {'<' if self.open_high else '<='} {hi}"
        return what


def _num(x: float | None) -> str:
    if x is None:
        return ""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:g}"


_S = Setting
SETTINGS: tuple[Setting, ...] = (
    # ------------------------------------------------------------------ data
    _S("data", "task", str, "char", "what to learn: char / word (language models), series "
       "(forecasting), classify (a label per sentence), tag (a tag per word), seq2seq (a sequence "
       "read, another written: an encoder-decoder)", choices=TASKS,
       label="task"),
    _S("data", "corpus", str, "pydoc", "corpus name (built-in or yours: see `rnn-tui "
       "corpora`), text file, or for series a CSV / built-in series, for classify a "
       "text<TAB>label file, for tag CoNLL-U or word<TAB>tag", label="corpus / file"),
    _S("data", "encoding", str, "utf-8", "text encoding of the corpus file"),
    _S("data", "column", str, "", "series: the CSV value column, by name or 0-based index, "
       "none = the last numeric one; tag: the CoNLL-U column (upos | xpos)",
       tasks=("series", "tag")),
    _S("data", "val_fraction", float, 0.1, "share of the data held out", low=0, high=0.5,
       open_low=True, open_high=True, tasks=("char", "word", "classify", "tag", "seq2seq")),
    _S("data", "lowercase", bool, True, "word and classify: fold words to lower case",
       tasks=("word", "classify"), flag=False),
    _S("data", "min_count", int, 2, "word / classify / seq2seq: rarer tokens become <unk>",
       low=0, tasks=("word", "classify", "seq2seq")),
    _S("data", "max_vocab", int, 10000, "word / classify / seq2seq: vocabulary cap, 0 = no "
       "cap", low=0, high=10_000_000, tasks=("word", "classify", "seq2seq")),
    _S("data", "lookback", int, 0, "series: past steps the model reads, 0 = chosen to fit "
       "the series", low=0, high=MAX_SIZE, tasks=("series",)),
    _S("data", "horizon", int, 12, "series: steps forecast ahead", low=1, high=10_000,
       tasks=("series",)),
    _S("data", "holdout", int, 24, "series: final points held out", low=0,
       tasks=("series",)),
    _S("data", "period", int, 0, "series: seasonal period, 0 = detect", low=0,
       tasks=("series",)),
    _S("data", "scaling", str, "auto", "series: auto (exponential smoothing + RNNs on what it "
       "leaves) | raw | minmax | divide (by --scale): the tutorials' plain window model, "
       "windows of --lookback -> next", choices=SCALINGS, tasks=("series",)),
    _S("data", "scale", float, 100.0, "series, --scaling divide: divide values by this",
       low=0, open_low=True, tasks=("series",)),
    _S("data", "windows", int, 0, "char/word: every window of N tokens predicts the next "
       "(many-to-one, no state carried), as the tutorials do; 0 = one stream, stateful",
       low=0, tasks=LANGUAGE_TASKS),
    _S("data", "val_data", str, "", "classify/tag: a held-out file, none = a seeded, "
       "stratified split of the data", tasks=SEQUENCE_TASKS),
    _S("data", "tokens", str, "word", "classify, seq2seq: read words or characters",
       choices=TOKEN_KINDS, tasks=("classify", "seq2seq")),
    _S("data", "digits", int, 3, "seq2seq, corpus addition: numbers of up to N digits", low=1,
       high=9, tasks=("seq2seq",)),
    _S("data", "pairs", int, 50_000, "seq2seq, generated corpora (addition, reverse): how many "
       "pairs", low=2, high=2_000_000, tasks=("seq2seq",)),
    _S("data", "reverse_source", bool, False, "seq2seq: read every source backwards (Sutskever "
       "et al. 2014)", tasks=("seq2seq",)),
    _S("data", "max_len", int, 0, "classify, tag: tokens per sentence, longer ones cut (with "
       "a notice); 0 = all", low=0, tasks=SEQUENCE_TASKS),
    _S("data", "word_features", str, "suffix", "tag: suffix (each word's suffixes and shape, "
       "for unknown words) | none", choices=WORD_FEATURES, tasks=("tag",)),
    _S("data", "vocab", str, "", "char/word: a tokenizer file (JSON, as `rnn-tui import` "
       "writes it) to use instead of a vocabulary built from the corpus",
       tasks=LANGUAGE_TASKS, flag=False),
    # ------------------------------------------------------------------ model
    _S("model", "cell", str, "gru", "recurrent cell", choices=CELLS, label="cell"),
    _S("model", "hidden", int, 512, "hidden units per layer", low=1, high=MAX_SIZE,
       label="hidden units"),
    _S("model", "layers", int, 1, "stacked recurrent layers", low=1, high=MAX_LAYERS,
       label="layers"),
    _S("model", "embed", int, 64, "embedding size, 0 = one-hot input", low=0, high=MAX_SIZE,
       label="embedding (0 = one-hot)"),
    _S("model", "input", str, "auto", "auto (embedding, or one-hot with --embed 0) | index "
       "(the token's id / vocabulary size as one number; with --windows)", choices=INPUTS,
       tasks=LANGUAGE_TASKS),
    _S("model", "dropout", float, 0.0, "dropout on the embeddings and after every layer",
       low=0, high=1, open_high=True),
    _S("model", "bidirectional", bool, False, "classify/tag/seq2seq: a second direction reads "
       "each sentence (source) backwards", tasks=SEQUENCE_TASKS),
    _S("model", "attention", str, "additive", "seq2seq: none | dot (Luong) | additive "
       "(Bahdanau)", choices=ATTENTIONS, tasks=("seq2seq",)),
    _S("model", "recurrent_scale", float, 0.0, "start each gate's W_hh orthogonal times S: "
       "S < 1 vanishes, S > 1 explodes (0 = PyTorch's init)", low=0),
    # ------------------------------------------------------------------ train
    _S("train", "seq", int, 64, "time steps per batch (truncated BPTT length)", low=1,
       high=MAX_SIZE, label="sequence length (BPTT)"),
    _S("train", "batch", int, 32, "parallel streams (or sentences, windows) per batch", low=1,
       high=MAX_SIZE, label="batch"),
    _S("train", "optimizer", str, "adam", "optimizer", choices=OPTIMIZERS, label="optimizer"),
    _S("train", "lr", float, 3e-3, "learning rate", low=0, open_low=True,
       label="learning rate"),
    _S("train", "lr_schedule", str, "cosine", "cosine (decay to lr/10) | plateau (halve when "
       "validation stalls) | constant", choices=LR_SCHEDULES),
    _S("train", "warmup", int, 50, "steps of linear learning-rate warm-up", low=0),
    _S("train", "clip", float, 5.0, "clip the global gradient norm, 0 = off", low=0,
       label="clip gradient norm (0=off)"),
    _S("train", "steps", int, 0, "stop after this many steps, 0 = no limit", low=0),
    _S("train", "patience", int, 5, "stop after this many evaluations without a new best "
       "validation loss, 0 = never", low=0),
    _S("train", "time_budget", float, 300.0, "stop after this many seconds of training, 0 = "
       "no limit (compiling kernels on a first start is not counted)", low=0,
       high=1e12, open_high=True, label="time limit (s, 0=none)"),
    _S("train", "epochs", int, 0, "stop after this many passes over the data, 0 = no limit",
       low=0),
    _S("train", "eval_every", int, 250, "steps between evaluations", low=1),
    _S("train", "eval_tokens", int, 100_000, "char/word: validation tokens per evaluation",
       low=1),
    _S("train", "checkpoint_every", int, 500, "steps between checkpoints", low=1),
    _S("train", "sample_every", int, 500, "steps between samples", low=1),
    _S("train", "sample_len", int, 200, "tokens per sample", low=0, high=1_000_000),
    _S("train", "temperature", float, 0.8, "sampling temperature", low=0, open_low=True),
    _S("train", "top_k", int, 0, "samples: only the k likeliest tokens, 1 = argmax, 0 = all",
       low=0),
    _S("train", "log_every", int, 0, "steps between progress events, 0 = about five a second",
       low=0),
    _S("train", "seed", int, 0, "random seed", low=0, high=MAX_SEED),
    _S("train", "teacher_forcing", float, 1.0, "seq2seq: chance the decoder reads the "
       "reference's previous token, not its own guess (1 = teacher forcing; < 1 = scheduled "
       "sampling)", low=0, high=1, tasks=("seq2seq",)),
    _S("train", "dtype", str, "float32", "float64 is for checking and skips the fused fast "
       "step", choices=DTYPES),
)
SETTING: dict[str, Setting] = {s.key: s for s in SETTINGS}  # the keys are unique

# Each task's own defaults, where they differ from the settings' (the task itself is
# data.task). Series runs: a small GRU on real-valued input, a fixed number of steps.
# Sentence tasks: a bidirectional network over whole sentences, a short default run that keeps
# its best weights and stops when the held-out score stalls. Dropout measured with
# benchmarks/classify.sh and tag.sh (120 s, docs/labelled.md): classification 0.759 without,
# 0.783 at 0.3, 0.809 at 0.5; tagging (GRU) 0.905-0.909 at 0.3 against 0.893-0.895 without.
TASK_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "char": {},
    "word": {},
    "series": {"data": {"corpus": "sales"},
               "model": {"cell": "gru", "hidden": 32, "embed": 0},
               "train": {"lr": 0.005, "steps": 1500, "time_budget": 120.0, "eval_every": 250,
                         "checkpoint_every": 500, "clip": 1.0, "patience": 0}},
    "classify": {"data": {"corpus": "sentiment", "min_count": 1, "max_len": MAX_SENTENCE},
                 "model": {"cell": "gru", "hidden": 64, "embed": 64, "bidirectional": True,
                           "dropout": 0.5},
                 "train": {"batch": 32, "lr": 2e-3, "time_budget": 120.0, "eval_every": 50,
                           "checkpoint_every": 500, "sample_every": 1000, "patience": 10,
                           "warmup": 20}},
    "tag": {"data": {"corpus": "pos", "max_len": MAX_SENTENCE},
            "model": {"cell": "gru", "hidden": 128, "embed": 64, "bidirectional": True,
                      "dropout": 0.3},
            "train": {"batch": 32, "lr": 3e-3, "time_budget": 120.0, "eval_every": 100,
                      "checkpoint_every": 500, "sample_every": 1000, "patience": 10,
                      "warmup": 20}},
    # Sequence to sequence: an LSTM encoder-decoder with additive attention over characters,
    # on the generated sums, batches of 128 (Keras's addition_rnn uses LSTM 128).
    "seq2seq": {"data": {"corpus": "addition", "tokens": "char", "min_count": 1},
                "model": {"cell": "lstm", "hidden": 128, "embed": 32, "attention": "additive"},
                "train": {"batch": 128, "lr": 3e-3, "time_budget": 600.0, "eval_every": 250,
                          "eval_tokens": 1000, "checkpoint_every": 500, "sample_every": 1000,
                          "patience": 10, "warmup": 20}},
}

# The app's defaults differ from `rnn-tui train`'s where watching asks for it: a model that
# moves fast enough to see, frequent evaluations and samples.
APP_DEFAULTS: dict[str, dict[str, Any]] = {
    "model": {"hidden": 256},
    "train": {"time_budget": 600.0, "eval_every": 100, "eval_tokens": 20_000,
              "sample_every": 100, "checkpoint_every": 500, "patience": 10}}


# ---------------------------------------------------------------------- where a value came from
FLAG, FILE, SWEEP, RECIPE, DEFAULTS, FORM = "flag", "file", "sweep", "recipe", "defaults", "form"
RUN = "run"  # a run's own config.toml, as rnn-tui wrote it (resumed)


@dataclass(frozen=True)
class Source:
    """Where settings came from: flags (``name`` a prefix such as "serve session defaults"),
    a TOML file (``name`` its path), a resumed run's own config.toml (``name`` its path), a
    sweep axis, a recipe, defaults, or a form. Flags, sweep
    axes and forms are written as text, so their numbers may arrive as strings."""

    kind: str
    name: str = ""

    @property
    def text(self) -> bool:
        return self.kind in (FLAG, SWEEP, FORM)

    def where(self, s: Setting) -> str:
        if self.kind == FLAG:
            return f"{self.name}: {s.option}" if self.name else s.option
        if self.kind == SWEEP:
            return f"{self.name}: sweep axis {s.key}" if self.name else f"sweep axis {s.option}"
        if self.kind == FORM:
            return s.label or s.key
        return f"{self.label}: [{s.section}] {s.key}"

    @property
    def label(self) -> str:
        if self.kind == RECIPE:
            return f"recipe {self.name}"
        if self.kind == DEFAULTS:
            return f"{self.name} defaults" if self.name else "defaults"
        return self.name or "config"


COMMAND_LINE = Source(FLAG)

_INT_TEXT = re.compile(r"[-+]?[0-9]+")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def check(s: Setting, value: Any, source: Source) -> Any:
    """``value`` as the setting's type, within its range or choices; anything else is one
    :class:`UserError` line naming the setting, where it came from and what it takes."""
    out = _convert(s, value, source.text)
    if out is None or not _in_range(s, out):
        shown = _show(value, source)
        hint = suggest(value, s.choices) if s.choices and isinstance(value, str) else ""
        raise UserError(f"{source.where(s)} must be {s.allowed()}, got {shown}{hint}")
    return out


def _convert(s: Setting, v: Any, text: bool) -> Any:
    if s.type is bool:
        if isinstance(v, bool):
            return v
        if text and isinstance(v, str) and v.strip().lower() in _TRUE + _FALSE:
            return v.strip().lower() in _TRUE
        return None
    if isinstance(v, bool):
        return None  # a bool is not a number, nor text
    if s.type is int:
        if isinstance(v, int):
            return v
        if text and isinstance(v, str) and _INT_TEXT.fullmatch(v.strip()):
            return int(v)
        return None
    if s.type is float:
        if isinstance(v, (int, float)):
            out = float(v)
        elif text and isinstance(v, str):
            try:
                out = float(v)
            except ValueError:
                return None
        else:
            return None
        return out if math.isfinite(out) else None
    return v if isinstance(v, str) else None


def _in_range(s: Setting, v: Any) -> bool:
    if s.choices:
        return v in s.choices
    if s.type not in (int, float):
        return True
    if s.low is not None and (v <= s.low if s.open_low else v < s.low):
        return False
    return s.high is None or (v < s.high if s.open_high else v <= s.high)


def _show(v: Any, source: Source) -> str:
    if isinstance(v, bool) and not source.text:
        return "true" if v else "false"  # as TOML writes it
    return repr(v)


def unknown_setting(key: str, section: str, source: Source) -> UserError:
    where = source.label if source.kind not in (FLAG, SWEEP) else \
        ("sweep" if source.kind == SWEEP else "command line")
    known = [s.key for s in SETTINGS if s.section == section]
    return UserError(f"{where}: unknown setting {key!r} in [{section}]{suggest(key, known)}")


def task_default(s: Setting, task: str) -> Any:
    """The setting's default for ``task``."""
    return TASK_DEFAULTS.get(task, {}).get(s.section, {}).get(s.key, s.default)


def defaults_for(task: str) -> dict[str, dict[str, Any]]:
    """Every setting's default for ``task``, nested by section."""
    out: dict[str, dict[str, Any]] = {sec: {} for sec in SECTIONS}
    for s in SETTINGS:
        out[s.section][s.key] = task_default(s, task)
    out["data"]["task"] = task
    return out


# ---------------------------------------------------------------------- flags
def describe_default(s: Setting) -> str:
    """``(default 512; series 32, classify 64, tag 128, the app 256)``: the default, each
    task's own and the app's."""
    def show(v: Any) -> str:
        if isinstance(v, bool):
            return "on" if v else "off"
        if isinstance(v, str):
            return v if v else "none"
        return f"{v:g}" if isinstance(v, float) else str(v)

    own = [f"{t} {show(task_default(s, t))}" for t in s.tasks
           if s.key != "task" and task_default(s, t) != s.default]
    if s.key in APP_DEFAULTS.get(s.section, {}):
        own.append(f"the app {show(APP_DEFAULTS[s.section][s.key])}")
    return f"(default {show(s.default)}" + (f"; {', '.join(own)})" if own else ")")


def flag_settings(sections=SECTIONS) -> list[Setting]:
    return [s for s in SETTINGS if s.flag and s.section in sections]


def add_flags(p, sections=SECTIONS, text_only: bool = False) -> None:
    """Every setting of ``sections`` as a flag, with its choices and its default in the help.
    A bool is ``--x`` / ``--no-x``; with ``text_only`` (a sweep, whose values may be lists)
    every flag takes text and the choices are said in the help instead."""
    import argparse

    for s in flag_settings(sections):
        hlp = f"{s.help} {describe_default(s)}"
        if text_only:
            extra = f" [{' | '.join(s.choices)}]" if s.choices else ""
            metavar = "BOOL" if s.type is bool else s.type.__name__.upper()
            p.add_argument(s.option, dest=s.key, type=str, metavar=metavar, help=hlp + extra)
        elif s.type is bool:
            p.add_argument(s.option, dest=s.key, action=argparse.BooleanOptionalAction,
                           default=None, help=hlp)
        elif s.choices:
            p.add_argument(s.option, dest=s.key, choices=s.choices, help=hlp)
        else:
            p.add_argument(s.option, dest=s.key, type=str, metavar=s.type.__name__.upper(),
                           help=hlp)


def flags_to_dict(args, sections=SECTIONS) -> dict[str, dict[str, Any]]:
    """The settings given as flags, as ``{section: {key: value}}``."""
    out: dict[str, dict[str, Any]] = {}
    for s in flag_settings(sections):
        v = getattr(args, s.key, None)
        if v is not None:
            out.setdefault(s.section, {})[s.key] = v
    return out


# ---------------------------------------------------------------------- near misses
# Names people reach for from other tools, mapped to ours, so a near miss of either is suggested.
ALIASES = {"learning_rate": "lr", "hidden_size": "hidden", "num_layers": "layers",
           "batch_size": "batch", "seq_len": "seq", "sequence_length": "seq", "bptt": "seq",
           "embedding": "embed", "embedding_dim": "embed", "embed_dim": "embed",
           "grad_clip": "clip", "max_steps": "steps", "iterations": "steps",
           "rnn_type": "cell", "model_type": "cell", "data": "corpus", "text": "corpus"}


def suggest(word: str, options) -> str:
    options = list(options)
    pool = options + [a for a, target in ALIASES.items() if target in options]
    close = difflib.get_close_matches(str(word).lower(), pool, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {ALIASES.get(close[0], close[0])!r}?)"
    return f"; known: {', '.join(options)}"
