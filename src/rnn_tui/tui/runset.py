"""What ``rnn-tui compare`` knows: several runs, each followed through its own ``metrics.jsonl``
(the same :class:`~rnn_tui.tui.source.FileSource` and :class:`~rnn_tui.tui.state.RunState` the
one-run dashboard uses), named by the settings in which they differ, with a colour, a hidden
flag and a pin each.

A sweep's folder stands for its trials, in ``sweep.json``'s order; trials that have not started
yet join when their run directory appears, so comparing a sweep while it runs is the sweep's
dashboard. Pure Python, no Textual: the screen and the tests use it alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnn_tui.errors import UserError
from rnn_tui.train.labels import run_labels
from rnn_tui.tui.source import FileSource
from rnn_tui.tui.state import RunState

# 256-colour codes, distinct on dark and light backgrounds: plotext draws with them and the
# table's swatches use the same (Rich "color(N)"), so a line and its row match.
PALETTE = (208, 39, 76, 170, 220, 196, 141, 44, 130, 247, 33, 161)


def is_run_dir(p: Path) -> bool:
    return p.is_dir() and ((p / "config.toml").is_file() or (p / "metrics.jsonl").is_file())


@dataclass
class CompareRun:
    path: Path
    source: FileSource
    colour: int
    state: RunState = field(default_factory=RunState)
    config: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    hidden: bool = False
    pinned: bool = False
    sweep_status: str = ""  # what the sweep's record says (a killed trial writes no event)

    @property
    def status(self) -> str:
        st = self.state.status
        if st in ("starting", "compiling", "training", "paused") and \
                self.sweep_status in ("failed", "interrupted", "stopped"):
            return self.sweep_status
        if st == "finished":  # why: interrupted (Ctrl-C) or stopped early by a sweep
            why = self.state.message
            if "interrupted" in why:
                return "interrupted"
            if "scheduler" in why:
                return "stopped"
        return st

    @property
    def key(self) -> str:
        return str(self.path.resolve())

    @property
    def name(self) -> str:
        return self.path.name

    def load_config(self) -> None:
        """The run's settings: config.toml, else its run_started event."""
        if self.config:
            return
        from rnn_tui.config import load_toml

        try:
            self.config = load_toml(self.path / "config.toml")
        except UserError:
            if self.state.started is not None:
                self.config = dict(self.state.started.config)

    # the numbers the table shows ------------------------------------------------------
    def metric(self, name: str) -> Any:
        st = self.state
        if name == "run":
            return self.label
        if name == "status":
            return self.status
        if name == "step":
            return st.step
        if name == "best":
            e = st.last_eval
            return e.best_val_loss if e is not None else None
        if name == "val":
            return st.last_eval.val_loss if st.last_eval is not None else None
        if name == "train":
            return st.last_step.loss if st.last_step is not None else None
        if name == "tok/s":
            return st.last_step.tokens_per_s if st.last_step is not None else None
        if name == "params":
            return st.started.parameters if st.started is not None else None
        raise KeyError(name)


# table columns: (key, header, ascending sort is "better first")
COLUMNS = (("best", "best val", True), ("val", "last val", True), ("train", "train", True),
           ("step", "step", False), ("tok/s", "tok/s", False), ("run", "run", True))


class RunSet:
    def __init__(self, roots: list[Path]):
        self.roots = roots  # sweep folders (and folders of runs) to look in for new runs
        self.runs: list[CompareRun] = []
        self.sort_index = 0  # into COLUMNS
        self.reverse = False

    @classmethod
    def from_paths(cls, paths: list[str | Path]) -> RunSet:
        """Run directories and sweep folders; anything else is a UserError naming it."""
        rs = cls([])
        for raw in paths:  # in the order given
            p = Path(raw)
            if not p.exists():
                raise UserError(f"no run or sweep at {p}")
            if is_run_dir(p):
                rs.add(p)
            elif p.is_dir() and ((p / "sweep.json").is_file() or
                                 any(is_run_dir(c) for c in p.iterdir())):
                rs.roots.append(p)
                rs.discover()
            else:
                raise UserError(f"{p} is neither a run directory (config.toml, metrics.jsonl) "
                                "nor a sweep's folder (sweep.json)")
        if not rs.runs and not any((r / "sweep.json").is_file() for r in rs.roots):
            raise UserError(f"no runs in {', '.join(map(str, paths))}")
        return rs

    def add(self, path: Path) -> CompareRun | None:
        key = str(path.resolve())
        if any(r.key == key for r in self.runs):
            return None
        run = CompareRun(path, FileSource(path), PALETTE[len(self.runs) % len(PALETTE)])
        run.load_config()
        self.runs.append(run)
        self.relabel()
        return run

    def discover(self) -> bool:
        """Look in the sweep folders for run directories that appeared (trials that started);
        True when any did."""
        added = False
        for root in self.roots:
            statuses: dict[str, str] = {}
            for p in self._candidates(root, statuses):
                if is_run_dir(p) and self.add(p) is not None:
                    added = True
            for r in self.runs:
                if r.key in statuses:
                    r.sweep_status = statuses[r.key]
        return added

    @staticmethod
    def _candidates(root: Path, statuses: dict[str, str]) -> list[Path]:
        """The run directories of a sweep (sweep.json's order, with each trial's status
        into ``statuses``) or of a folder of runs."""
        import json

        try:
            data = json.loads((root / "sweep.json").read_text(encoding="utf-8"))
            trials = data.get("trials", []) if isinstance(data, dict) else []
        except (OSError, ValueError):
            trials = []
        out = []
        for t in trials:
            if isinstance(t, dict) and t.get("dir"):
                rd = t.get("run_dir")  # where the trial wrote it (elsewhere: storage_path)
                p = root / t["dir"]
                if not p.is_dir() and rd and Path(rd).is_dir():
                    p = Path(rd)
                out.append(p)
                statuses[str(p.resolve())] = str(t.get("status") or "")
        try:
            out += sorted(c for c in root.iterdir() if c.is_dir() and c not in out)
        except OSError:
            pass
        return out

    def relabel(self) -> None:
        for r in self.runs:
            r.load_config()
        labels = run_labels([r.config for r in self.runs], [r.name for r in self.runs])
        for r, label in zip(self.runs, labels, strict=True):
            r.label = label

    def drain(self) -> set[str]:
        """Fold every run's new events in; the aspects that changed (any run)."""
        changed: set[str] = set()
        for r in self.runs:
            for e in r.source.drain():
                changed |= r.state.apply(e)
            if "run" in changed and not r.config:
                r.load_config()
                self.relabel()
        return changed

    # ------------------------------------------------------------------ views
    @property
    def visible(self) -> list[CompareRun]:
        """Runs drawn in the charts: pinned ones last, so their lines lie on top."""
        shown = [r for r in self.runs if not r.hidden]
        return [r for r in shown if not r.pinned] + [r for r in shown if r.pinned]

    @property
    def sort_column(self) -> tuple[str, str, bool]:
        return COLUMNS[self.sort_index]

    def cycle_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(COLUMNS)
        self.reverse = False

    def ordered(self) -> list[CompareRun]:
        """The table's rows: pinned runs first, then by the sort column (missing values
        last)."""
        key, _title, ascending = self.sort_column
        asc = ascending != self.reverse

        def k(r: CompareRun):
            v = r.metric(key)
            missing = v is None or (isinstance(v, float) and not math.isfinite(v))
            if missing:
                return (1, 0)
            if isinstance(v, str):
                return (0, v)
            return (0, v if asc else -v)

        runs = sorted(self.runs, key=k)
        if not asc and key == "run":
            runs.reverse()
        return [r for r in runs if r.pinned] + [r for r in runs if not r.pinned]

    def get(self, key: str) -> CompareRun | None:
        return next((r for r in self.runs if r.key == key), None)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.runs:
            out[r.status] = out.get(r.status, 0) + 1
        return out
