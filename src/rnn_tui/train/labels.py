"""Names for runs side by side: the settings in which they differ.

Three runs that differ only in the cell are ``rnn``, ``lstm`` and ``gru``; runs that differ in
the cell and the size are ``rnn hidden=64``, ``lstm hidden=128`` …; embeddings against one-hot
input read ``embed=64`` and ``one-hot``. Used by ``rnn-tui compare`` (legend and table) and by
the sweep's summary table. Pure Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SECTIONS = ("data", "model", "train")
# settings whose value says what it is without its name
BARE = {"cell", "optimizer", "task", "lr_schedule", "dtype", "corpus"}


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """``{"model": {"cell": "rnn"}}`` -> ``{"model.cell": "rnn"}`` (the three run sections)."""
    out = {}
    for sec in SECTIONS:
        for k, v in (config.get(sec) or {}).items():
            out[f"{sec}.{k}"] = v
    return out


def differing(configs: list[dict[str, Any]]) -> list[str]:
    """The ``section.key`` settings whose values are not the same in every config."""
    flats = [flatten(c) for c in configs]
    keys: list[str] = []
    for f in flats:
        keys += [k for k in f if k not in keys]
    if len(flats) < 2:
        return []
    return [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]


def setting_text(key: str, value: Any) -> str:
    """One setting as it reads in a legend: ``lstm``, ``hidden=128``, ``one-hot``."""
    name = key.rsplit(".", 1)[-1]
    if name == "embed" and value == 0:
        return "one-hot"
    if name == "clip" and value == 0:
        return "no-clip"
    if name in BARE and isinstance(value, str):
        return Path(value).name if name == "corpus" else value
    if isinstance(value, float):
        return f"{name}={value:.3g}"
    return f"{name}={value}"


def describe(config: dict[str, Any], keys: list[str]) -> str:
    flat = flatten(config)
    return " ".join(setting_text(k, flat.get(k)) for k in keys)


def run_labels(configs: list[dict[str, Any]], names: list[str]) -> list[str]:
    """A short, distinct label per run: the settings that differ; the directory name where
    nothing differs (or to tell apart two runs of the same settings)."""
    keys = differing(configs)
    labels = [describe(c, keys) if keys and c else "" for c in configs]
    out = []
    for label, name in zip(labels, names, strict=True):
        if not label or labels.count(label) > 1:
            label = f"{label} ({name})" if label else name
        out.append(label)
    return out
