"""What a sweep runs: axes over ``train`` settings, expanded into one run config per trial.

Every ``rnn-tui train`` option can be swept, written the same way as on ``train``; a value can
also be a list or a range:

======================  ================================================================
``--cell rnn,lstm,gru``  a grid axis: one trial per value (any option; commas separate)
``--hidden 64..256..64`` a grid of numbers: 64, 128, 192, 256 (``LO..HI..STEP``; ``LO..HI``
                         steps by 1 for integers)
``--hidden 32..256..x2`` a geometric grid: 32, 64, 128, 256 (``LO..HI..xFACTOR``)
``--lr 1e-3:1e-2:log``   random search: each of ``--samples N`` draws takes a value from the
``--dropout 0:0.3``      range, log-uniform (``:log``) or uniform; integers draw integers
======================  ================================================================

Grid axes multiply (``--cell rnn,lstm --hidden 64,128`` is four trials); with ``--samples N``
the grid is repeated N times, each repetition drawing every random range afresh (Ray Tune's
``num_samples``). The draws are made here, from ``--sweep-seed``, so a sweep is reproducible
and ``sweep.json`` lists every trial before the first one starts.

A ``--config`` TOML file may carry a ``[sweep]`` table beside ``[data]``, ``[model]`` and
``[train]``: keys are option names (``cell``, ``time_budget`` or ``time-budget``, or
``model.cell``), values a list (a grid), a string in the syntax above, or a single value; and
the sweep's own settings ``samples``, ``scheduler``, ``sweep_seed``, ``max_concurrent``,
``grace_period``, ``address`` and ``storage_path``. Flags override the file.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnn_tui.config import Layer, RunConfig, load_toml, resolve_config
from rnn_tui.errors import UserError
from rnn_tui.options import FILE, SWEEP, Setting, Source, check, flag_settings, suggest

MAX_TRIALS = 10_000
MAX_AXIS = 1_000
SWEEP_OPTIONS = {"samples": int, "scheduler": str, "sweep_seed": int, "max_concurrent": int,
                 "grace_period": int, "address": str, "storage_path": str}
SCHEDULERS = ("asha", "none")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANDOM = re.compile(rf"^({_NUM}):({_NUM})(?::(log|uniform))?$")
_RANGE = re.compile(rf"^({_NUM})\.\.({_NUM})(?:\.\.(x?)({_NUM}))?$")


def flag_table() -> dict[str, Setting]:
    """Every ``train`` option by key (as in ``--time-budget`` -> ``time_budget``): the declared
    settings, so a new option can be swept as soon as it is declared."""
    return {s.key: s for s in flag_settings()}


@dataclass
class Axis:
    """One swept (or fixed) setting: grid ``values``, or a random ``dist``."""

    key: str  # the option's name: cell, hidden, time_budget …
    section: str
    typ: type
    text: str  # as written, for sweep.json and messages
    values: list[Any] | None = None
    dist: tuple[str, float, float] | None = None  # (uniform | log, lo, hi)

    @property
    def varies(self) -> bool:
        return self.dist is not None or len(self.values or ()) > 1

    def draw(self, rng: random.Random) -> Any:
        kind, lo, hi = self.dist
        if kind == "log":
            v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        else:
            v = rng.uniform(lo, hi)
        if self.typ is int:
            return int(min(max(round(v), math.ceil(lo)), math.floor(hi)))
        return float(f"{v:.4g}")

    def describe(self) -> Any:
        if self.dist is not None:
            kind, lo, hi = self.dist
            return {"random": kind, "low": lo, "high": hi}
        return list(self.values)


def _number(text: str, typ: type, name: str) -> int | float:
    try:
        v = float(text)
    except ValueError:
        raise UserError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise UserError(f"{name}: {text!r} is not a finite number")
    if typ is int:
        if not v.is_integer():
            raise UserError(f"{name} takes whole numbers, got {text!r}")
        return int(v)
    return v


def _grid_range(m: re.Match, typ: type, name: str) -> list[Any]:
    lo, hi = _number(m.group(1), float, name), _number(m.group(2), float, name)
    geometric = m.group(3) == "x"
    if m.group(4) is None:
        if typ is not int:
            raise UserError(f"{name}: a range of decimals needs a step, e.g. 0.1..0.5..0.1")
        step = 1.0
    else:
        step = _number(m.group(4), float, name)
    if hi < lo:
        raise UserError(f"{name}: range {m.group(0)!r} ends below its start")
    out: list[float] = []
    if geometric:
        if step <= 1 or lo <= 0:
            raise UserError(f"{name}: a geometric range needs a start > 0 and a factor > 1, "
                            f"e.g. 32..256..x2")
        v = lo
        while v <= hi * (1 + 1e-9) and len(out) <= MAX_AXIS:
            out.append(v)
            v *= step
    else:
        if step <= 0:
            raise UserError(f"{name}: the step of {m.group(0)!r} must be > 0")
        n = int(math.floor((hi - lo) / step + 1e-9)) + 1
        if n > MAX_AXIS:
            raise UserError(f"{name}: {m.group(0)!r} has {n} values; at most {MAX_AXIS}")
        out = [lo + i * step for i in range(n)]
    if len(out) > MAX_AXIS:
        raise UserError(f"{name}: {m.group(0)!r} has more than {MAX_AXIS} values")
    if typ is int:
        ints = [round(v) for v in out]
        if any(abs(a - b) > 1e-6 for a, b in zip(ints, out, strict=True)):
            raise UserError(f"{name} takes whole numbers; {m.group(0)!r} makes fractions")
        return ints
    return [float(f"{v:.12g}") for v in out]


def parse_axis(key: str, raw: Any, source: str = "command line") -> Axis:
    """An axis from what was written: a string in the syntax above, a TOML list or a value.
    Every value is held to its setting, as ``train`` would hold it."""
    table = flag_table()
    if key not in table:
        raise UserError(f"{source}: unknown setting {key!r} to sweep{suggest(key, table)}")
    where = Source(SWEEP, "" if source == "command line" else source)
    axis = _parse_axis(table[key], raw, source, where)
    if axis.values is not None:
        axis.values = _unique([check(table[key], v, where) for v in axis.values])
    return axis


def _parse_axis(s: Setting, raw: Any, source: str, where: Source) -> Axis:
    key, section, typ = s.key, s.section, s.type
    name = f"sweep axis {s.option}" if source == "command line" else f"{source}: {key}"
    if isinstance(raw, list):
        if not raw:
            raise UserError(f"{name}: an empty list")
        values: list[Any] = []
        for item in raw:
            if isinstance(item, str):
                sub = _parse_axis(s, item, source, where)
                if sub.dist is not None:
                    raise UserError(f"{name}: a random range ({item!r}) cannot be a list item")
                values += sub.values
            else:
                values.append(item)  # held to the setting by parse_axis
        return Axis(key, section, typ, str(raw), values=values)
    if not isinstance(raw, str):
        return Axis(key, section, typ, str(raw), values=[raw])
    text = raw.strip()
    if typ in (int, float):
        m = _RANDOM.match(text)
        if m:
            lo, hi = _number(m.group(1), float, name), _number(m.group(2), float, name)
            kind = m.group(3) or "uniform"
            kind = "log" if kind == "log" else "uniform"
            if not hi > lo:
                raise UserError(f"{name}: the range {text!r} must go from low to high")
            if kind == "log" and lo <= 0:
                raise UserError(f"{name}: a log range needs a low end > 0, got {text!r}")
            if typ is int and math.floor(hi) < math.ceil(lo):
                raise UserError(f"{name}: {text!r} holds no whole number")
            for end in (lo, hi):  # the draws stay within the setting's range
                check(s, int(end) if typ is int and float(end).is_integer() else end, where)
            return Axis(key, section, typ, text, dist=(kind, lo, hi))
    values = []
    for item in text.split(","):
        m = _RANGE.match(item.strip()) if typ in (int, float) else None
        if m:
            values += _grid_range(m, typ, name)
        else:
            if typ in (int, float) and ":" in item:
                raise UserError(f"{name}: {item!r}: a random range LO:HI[:log] must be the "
                                "whole value, not a list item")
            if not item.strip():
                raise UserError(f"{name}: an empty value in the list")
            values.append(item.strip())  # text: held to the setting by parse_axis
    if len(values) > MAX_AXIS:
        raise UserError(f"{name}: {len(values)} values; at most {MAX_AXIS}")
    return Axis(key, section, typ, text, values=values)


def _unique(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


@dataclass
class Trial:
    """One run of the sweep: its directory name, the swept settings it takes, its config."""

    index: int
    name: str
    settings: dict[str, Any]  # the swept keys that vary, by option name
    config: dict[str, Any]  # the whole validated RunConfig as a dict


@dataclass
class SweepSpec:
    axes: dict[str, Axis] = field(default_factory=dict)
    file_body: dict[str, Any] = field(default_factory=dict)  # --config without [sweep]
    file_name: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # samples, scheduler, …

    @property
    def varying(self) -> list[str]:
        return [k for k, a in self.axes.items() if a.varies]

    def option(self, name: str, default: Any = None) -> Any:
        v = self.options.get(name)
        return default if v is None else v

    def describe(self) -> dict[str, Any]:
        return {k: a.describe() for k, a in self.axes.items() if a.varies}

    def fixed(self) -> dict[str, Any]:
        return {k: a.values[0] for k, a in self.axes.items() if not a.varies}

    # ------------------------------------------------------------------ expansion
    def settings(self) -> list[dict[str, Any]]:
        """The swept settings of every trial, in order: the grid (first axis slowest),
        repeated ``samples`` times with fresh random draws."""
        samples = int(self.option("samples", 1))
        grid = [a for a in self.axes.values() if a.dist is None and a.varies]
        rand = [a for a in self.axes.values() if a.dist is not None]
        if samples < 1:
            raise UserError(f"--samples must be at least 1, got {samples}")
        if rand and "samples" not in self.options:
            a = rand[0]
            raise UserError(f"{a.text!r} ({a.key}) is a range to draw from: give --samples N, "
                            "the number of draws")
        if samples > 1 and not rand:
            raise UserError("--samples repeats random draws, but no setting is a random range "
                            "(LO:HI or LO:HI:log); to repeat runs, sweep the seed: "
                            "--seed 0,1,2")
        n = samples * math.prod(len(a.values) for a in grid)
        if n > MAX_TRIALS:
            raise UserError(f"the sweep has {n:,} trials; at most {MAX_TRIALS:,}")
        rng = random.Random(int(self.option("sweep_seed", 0)))
        out = []
        for _ in range(samples):
            for combo in itertools.product(*(a.values for a in grid)):
                s = {a.key: v for a, v in zip(grid, combo, strict=True)}
                for a in rand:
                    s[a.key] = a.draw(rng)
                out.append({k: s[k] for k in self.axes if k in s})  # the axes' order
        return out

    def trial_config(self, settings: dict[str, Any]) -> RunConfig:
        """The run ``train`` would make with the same options: :func:`resolve_config` over
        the --config file, then the fixed options and this trial's swept values."""
        table = flag_table()
        nested: dict[str, dict[str, Any]] = {}
        for k, v in {**self.fixed(), **settings}.items():
            nested.setdefault(table[k].section, {})[k] = v
        layers = []
        if self.file_body:
            layers.append(Layer(self.file_body, Source(FILE, self.file_name)))
        layers.append(Layer(nested, Source(SWEEP)))
        cfg = resolve_config(layers)
        _absolute_corpus(cfg)
        return cfg

    def trials(self) -> list[Trial]:
        """Every trial, validated, named after the settings that vary."""
        all_settings = self.settings()
        names = trial_names(all_settings)
        out = []
        for i, (s, name) in enumerate(zip(all_settings, names, strict=True)):
            try:
                cfg = self.trial_config(s)
            except UserError as err:
                raise UserError(f"trial {name}: {err}") from None
            out.append(Trial(i, name, s, cfg.to_dict()))
        return out


def _absolute_corpus(cfg: RunConfig) -> None:
    """A corpus given as a relative file path would not be found from a trial's working
    directory (Ray runs each trial elsewhere): make it absolute. Built-in names stay."""
    name = cfg.data.corpus
    from rnn_tui.data.corpora import manifest
    from rnn_tui.data.series import BUILTIN_SERIES

    if name in manifest() or name in BUILTIN_SERIES:
        return
    p = Path(name).expanduser()
    if p.exists():
        cfg.data.corpus = str(p.resolve())


def _tag(key: str, v: Any) -> str:
    if isinstance(v, str):
        text = Path(v).stem if ("/" in v or "\\" in v) else v
    elif isinstance(v, float):
        text = f"{key}{v:.3g}"
    else:
        text = f"{key}{v}"
    return re.sub(r"[^\w.-]+", "_", text).strip("_") or key


def trial_names(all_settings: list[dict[str, Any]]) -> list[str]:
    """Directory names from the values that vary: ``rnn``, ``lstm-hidden128``,
    ``gru-lr0.00316``. Repeats get ``-2``, ``-3``; no varying value at all: ``run``."""
    names = []
    seen: dict[str, int] = {}
    for s in all_settings:
        base = "-".join(_tag(k.replace("_", "-"), v) for k, v in s.items())
        base = (base or "run")[:80]
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    if len(set(names)) < len(names):  # a repeat collided with another's name
        names = [f"{i:0{len(str(len(names)))}d}-{n}" for i, n in enumerate(names)]
    return names


# ---------------------------------------------------------------------- from the command line
def spec_from_args(args) -> SweepSpec:
    """The spec from parsed ``rnn-tui sweep`` arguments (and the ``[sweep]`` table of
    ``--config``); flags override the file."""
    spec = SweepSpec()
    if args.config:
        body = dict(load_toml(args.config))
        table = body.pop("sweep", {})
        if not isinstance(table, dict):
            raise UserError(f"{args.config}: [sweep] must be a table")
        spec.file_body, spec.file_name = body, str(args.config)
        for raw_key, value in table.items():
            key = raw_key.replace("-", "_")
            if key in SWEEP_OPTIONS:
                try:
                    spec.options[key] = SWEEP_OPTIONS[key](value)
                except (TypeError, ValueError):
                    raise UserError(f"{args.config}: [sweep] {raw_key} must be "
                                    f"{SWEEP_OPTIONS[key].__name__}") from None
                continue
            if "." in key:
                key = key.split(".", 1)[1]
            spec.axes[key] = parse_axis(key, value, f"{args.config} [sweep]")
    for key in flag_table():
        v = getattr(args, key, None)
        if v is not None:
            spec.axes[key] = parse_axis(key, v)
    for key in SWEEP_OPTIONS:
        v = getattr(args, key, None)
        if v is not None:
            spec.options[key] = v
    sched = spec.option("scheduler", "asha")
    if sched not in SCHEDULERS:
        raise UserError(f"--scheduler: unknown value {sched!r}; known: {', '.join(SCHEDULERS)}")
    for name in ("max_concurrent", "grace_period"):
        v = spec.options.get(name)
        if v is not None and v < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
    return spec
