"""Settings for a run: data, model and training, as dataclasses made from the declared
settings (:mod:`rnn_tui.options`); TOML in and out; the one function that resolves a run's
config from its layers (:func:`resolve_config`).

A config file has three tables, ``[data]``, ``[model]`` and ``[train]``; command-line flags
override it. Every problem is a :class:`~rnn_tui.errors.UserError` naming the setting and where
it came from.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

import tomli_w

from rnn_tui.errors import UserError
from rnn_tui.options import (  # noqa: F401  (re-exported: the names the rest of the code reads)
    APP_DEFAULTS,
    ATTENTIONS,
    CELLS,
    COMMAND_LINE,
    DEFAULTS,
    FILE,
    LR_SCHEDULES,
    MAX_SEED,
    MAX_SENTENCE,
    OPTIMIZERS,
    RUN,
    SCALINGS,
    SECTIONS,
    SEQUENCE_TASKS,
    SETTING,
    SETTINGS,
    TASK_DEFAULTS,
    TASKS,
    Source,
    check,
    suggest,
    task_default,
    unknown_setting,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _section_class(name: str, section: str):
    """The dataclass of one section: a field per declared setting, with its default."""
    return make_dataclass(name, [(s.key, s.type, field(default=s.default))
                                 for s in SETTINGS if s.section == section])


DataConfig = _section_class("DataConfig", "data")
ModelConfig = _section_class("ModelConfig", "model")
TrainConfig = _section_class("TrainConfig", "train")
SERIES_DEFAULTS = TASK_DEFAULTS["series"]


def as_source(source: str | Source) -> Source:
    """A source named by a string: "command line" (flags), else a file or other named origin."""
    if isinstance(source, Source):
        return source
    return COMMAND_LINE if source == "command line" else Source(FILE, source)


@dataclass
class RunConfig:
    data: Any = field(default_factory=DataConfig)
    model: Any = field(default_factory=ModelConfig)
    train: Any = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | Source = "config") -> RunConfig:
        cfg = cls()
        cfg.update(d, source)
        return cfg

    def update(self, d: dict[str, Any], source: str | Source = "config") -> list[str]:
        """Set values from a nested dict ``{"data": {...}, ...}``, each checked against its
        setting; an unknown section or key is refused. Returns the keys set."""
        src = as_source(source)
        if not isinstance(d, dict):
            raise UserError(f"{src.label}: settings must be tables [data] [model] [train]")
        checked: list[tuple[Any, str, Any]] = []
        for sec, values in d.items():
            if sec not in SECTIONS:
                raise UserError(f"{src.label}: unknown section [{sec}]{suggest(sec, SECTIONS)}")
            if not isinstance(values, dict):
                raise UserError(f"{src.label}: [{sec}] must be a table of settings")
            for key, value in values.items():
                s = SETTING.get(key)
                if s is None or s.section != sec:
                    raise unknown_setting(key, sec, src)
                checked.append((getattr(self, sec), key, check(s, value, src)))
        for target, key, value in checked:  # all or nothing
            setattr(target, key, value)
        return [key for _, key, _ in checked]

    def validate(self) -> RunConfig:
        """Every value against its setting (they may have been set directly), then the rules
        that join two settings."""
        src = Source(DEFAULTS, "run config")
        for s in SETTINGS:
            check(s, getattr(getattr(self, s.section), s.key), src)
        d, m = self.data, self.model
        if m.bidirectional and d.task not in SEQUENCE_TASKS:
            raise UserError("model.bidirectional: a backward direction reads the future; only "
                            "classify and tag (whole sentences) can use it, not "
                            f"{d.task!r} models")
        return self


@dataclass(frozen=True)
class Layer:
    """Settings from one place, ``{section: {key: value}}``, and where they came from."""

    values: dict[str, Any]
    source: Source


def task_of(layers: Sequence[Layer], default: str = "char") -> str:
    """The task the layers ask for: the last one that names it."""
    task = default
    for layer in layers:
        data = layer.values.get("data") if isinstance(layer.values, dict) else None
        if isinstance(data, dict) and "task" in data:
            task = check(SETTING["task"], data["task"], layer.source)
    return task


def resolve_config(layers: Sequence[Layer], base: dict[str, Any] | None = None) -> RunConfig:
    """The one way a run's config is made: the settings' defaults, then ``base`` (the app's
    defaults), then the task's own defaults, then each layer in order (a recipe, a resumed
    run's config, a file, flags or a sweep trial's values; the last one wins), validated. A
    layer that sets a setting its task does not read, to anything but its default, is refused
    naming the setting, where it came from and the task."""
    task = task_of(layers)
    cfg = RunConfig()
    if base:
        cfg.update(base, Source(DEFAULTS, "the app's"))
    cfg.update(TASK_DEFAULTS[task], Source(DEFAULTS, task))
    defaults = cfg.to_dict()
    given: dict[str, Source] = {}
    for layer in layers:
        for key in cfg.update(layer.values, layer.source):
            given[key] = layer.source
    for key, source in given.items():
        if source.kind == RUN:  # written by rnn-tui, every key in it: not the user's choice
            continue
        s = SETTING[key]
        value = getattr(getattr(cfg, s.section), key)
        if task not in s.tasks and value != defaults[s.section][key]:
            raise UserError(f"{source.where(s)} does not apply to the {task} task (it is "
                            f"read by {', '.join(s.tasks)})")
    return cfg.validate()


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
