"""``sweep.json``: a sweep's own record in ``RUNS/NAME/``: the grid, the engine, and every
trial's status, step, best validation loss and error, rewritten (to a temporary file, renamed)
as the sweep goes, so a reader never sees half of it.

Trial statuses: ``pending`` (not started yet), ``running``, ``finished`` (its time, step budget
or patience ran out), ``stopped`` (the scheduler stopped it early: its validation loss was
behind the others'), ``interrupted`` (the sweep was stopped, Ctrl-C), ``failed`` (with
``error``), ``not started`` (the sweep ended before its turn).
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from rnn_tui.errors import UserError
from rnn_tui.train.runs import atomic_write_text

SWEEP_FILE = "sweep.json"
FORMAT = 1
DONE = ("finished", "stopped", "interrupted", "failed", "not started")


class SweepRecord:
    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = Path(path)
        self.data = data
        self._lock = threading.Lock()

    @classmethod
    def create(cls, sweep_dir: Path, spec, trials, engine: dict[str, Any]) -> SweepRecord:
        data = {
            "format": FORMAT,
            "id": uuid.uuid4().hex,
            "name": Path(sweep_dir).name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "status": "starting",
            **engine,
            "grid": spec.describe(),
            "fixed": spec.fixed(),
            "config_file": spec.file_name or None,
            "trials": [{"name": t.name, "dir": t.name, "settings": t.settings,
                        "status": "pending", "trial_id": None, "node": None, "step": 0,
                        "best_val_loss": None, "last_val_loss": None, "tokens_per_s": None,
                        "reason": None, "error": None}
                       for t in trials],
            "best": None,
        }
        rec = cls(Path(sweep_dir) / SWEEP_FILE, data)
        rec.save()
        return rec

    @classmethod
    def load(cls, sweep_dir: Path) -> SweepRecord:
        path = Path(sweep_dir) / SWEEP_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{sweep_dir} holds no {SWEEP_FILE}; it is not a sweep") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UserError(f"{path} is not readable JSON; it is corrupt") from None
        if not isinstance(data, dict) or not isinstance(data.get("trials"), list):
            raise UserError(f"{path} is not a sweep record")
        return cls(path, data)

    # ------------------------------------------------------------------ updates
    @property
    def trials(self) -> list[dict[str, Any]]:
        return self.data["trials"]

    def trial(self, name: str) -> dict[str, Any]:
        for t in self.trials:
            if t["name"] == name:
                return t
        raise KeyError(name)

    def update(self, name: str, **fields: Any) -> None:
        with self._lock:
            t = self.trial(name)
            for k, v in fields.items():
                if isinstance(v, float) and not math.isfinite(v):
                    v = None
                t[k] = v

    def set(self, **fields: Any) -> None:
        with self._lock:
            self.data.update(fields)

    def save(self) -> None:
        with self._lock:
            text = json.dumps(self.data, indent=1, default=str)
        atomic_write_text(self.path, text + "\n")

    def ranked(self) -> list[dict[str, Any]]:
        """Trials by best validation loss (failed ones and those without one last, in sweep
        order)."""
        def key(t):
            v = t.get("best_val_loss")
            return (v is None or t.get("status") == "failed", v if v is not None else 0.0)

        return sorted(self.trials, key=key)
