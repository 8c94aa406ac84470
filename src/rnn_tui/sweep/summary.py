"""The sweep on the console: a live Rich table while it runs (trial, the settings that differ,
status, step, best validation loss, tokens/s), and a ranked table at the end.

The live numbers come from each trial's ``metrics.jsonl`` where the sweep's folder holds it
(read as it grows, like ``rnn-tui watch``), and otherwise from the results Ray Tune passes back
at each evaluation. Without a terminal, each change of a trial's status is one line instead.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from rnn_tui.errors import visible
from rnn_tui.train.labels import setting_text
from rnn_tui.train.runs import MetricsReader

STYLE = {"running": "cyan", "finished": "green", "stopped": "yellow", "failed": "bold red",
         "interrupted": "magenta", "pending": "dim", "not started": "dim"}


def describe_settings(settings: dict[str, Any]) -> str:
    return " ".join(setting_text(k, v) for k, v in settings.items()) or "–"


def fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return format(v, spec)


def fmt_rate(v: Any) -> str:
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


class Summary:
    def __init__(self, sweep_dir: Path, spec, trials, console: Console | None = None):
        self.sweep_dir = Path(sweep_dir)
        self.console = console or Console(
            highlight=False, width=None if sys.stdout.isatty() else 120)
        self.trials = trials
        self.record = None
        self.live: Live | None = None
        self.t0 = time.monotonic()
        self._readers: dict[str, MetricsReader] = {}
        self._local: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ messages
    def say(self, text: str) -> None:
        self.console.print(f"[{time.monotonic() - self.t0:6.1f}s] {visible(text)}", markup=False,
                           highlight=False)

    def event(self, name: str, status: str, detail: str | None = None) -> None:
        """A trial changed status. On a terminal the live table shows it (failures are also
        printed above it); elsewhere one line."""
        if self.live is not None and status != "failed":
            return
        extra = f": {visible(detail)}" if detail else ""
        self.console.print(Text(f"[{time.monotonic() - self.t0:6.1f}s] {visible(name)} {status}"
                                f"{extra}",
                                style=STYLE.get(status, "")))

    # ------------------------------------------------------------------ live table
    def start(self) -> None:
        if not self.console.is_terminal:
            return
        self.live = Live(get_renderable=self.render, console=self.console,
                         refresh_per_second=2, transient=True, redirect_stdout=False,
                         redirect_stderr=False)
        self.live.start()

    def stop(self) -> None:
        live, self.live = self.live, None
        if live is not None:
            live.stop()

    def _poll_local(self, t: dict[str, Any]) -> dict[str, Any]:
        """What the trial's own metrics.jsonl says, where this machine can read it."""
        name = t["name"]
        local = self._local.setdefault(name, {})
        run_dir = t.get("run_dir")
        if not run_dir or t["status"] in ("pending", "not started"):
            return local
        reader = self._readers.get(name)
        if reader is None:
            path = Path(run_dir) / "metrics.jsonl"
            if not path.exists():
                return local
            reader = self._readers[name] = MetricsReader(path)
        for e in reader.poll(max_bytes=1 << 20):
            if e.type == "step":
                local.update(step=e.step, tokens_per_s=e.tokens_per_s, loss=e.loss)
            elif e.type == "eval":
                local.update(step=max(local.get("step", 0), e.step),
                             best_val_loss=e.best_val_loss)
            elif e.type == "run_started":
                local["node"] = (e.provenance or {}).get("node")
        return local

    def rows(self) -> list[dict[str, Any]]:
        rec = self.record
        if rec is None:
            return []
        with self._lock:
            out = []
            for t in list(rec.trials):
                t = dict(t)
                local = self._poll_local(t)
                for k in ("step", "tokens_per_s", "best_val_loss", "node"):
                    if local.get(k) is not None and (k != "step" or
                                                     local[k] >= (t.get(k) or 0)):
                        t[k] = local[k]
                out.append(t)
            return out

    def render(self):
        rows = self.rows()
        counts: dict[str, int] = {}
        for t in rows:
            counts[t["status"]] = counts.get(t["status"], 0) + 1
        head = Text(f"sweep {self.sweep_dir} · " + " · ".join(
            f"{n} {s}" for s, n in counts.items()) + f" · {time.monotonic() - self.t0:.0f}s",
            style="bold")
        table = Table(box=None, padding=(0, 1), header_style="bold")
        for col, just in (("trial", "left"), ("settings", "left"), ("status", "left"),
                          ("step", "right"), ("best val", "right"), ("tok/s", "right"),
                          ("node", "left")):
            table.add_column(col, justify=just, no_wrap=col != "settings")
        for t in rows:
            table.add_row(t["name"], describe_settings(t["settings"]),
                          Text(t["status"], style=STYLE.get(t["status"], "")),
                          fmt(t.get("step"), ","), fmt(t.get("best_val_loss"), ".4f"),
                          fmt_rate(t.get("tokens_per_s")), t.get("node") or "")
        return Group(head, table)

    # ------------------------------------------------------------------ at the end
    def final(self, record) -> None:
        self.record = record
        rows = {t["name"]: t for t in self.rows()}
        ranked = [rows[t["name"]] for t in record.ranked()]
        table = Table(title=f"sweep {record.data['name']}: {record.data['status']}, ranked by "
                      "best validation loss", title_justify="left", header_style="bold")
        for col, just in (("#", "right"), ("trial", "left"), ("settings", "left"),
                          ("status", "left"), ("steps", "right"), ("best val", "right"),
                          ("tok/s", "right"), ("run directory", "left")):
            table.add_column(col, justify=just, overflow="fold")
        rank = 0
        for t in ranked:
            has = t.get("best_val_loss") is not None and t["status"] != "failed"
            rank += has
            table.add_row(str(rank) if has else "", t["name"], describe_settings(t["settings"]),
                          Text(t["status"], style=STYLE.get(t["status"], "")),
                          fmt(t.get("step"), ","), fmt(t.get("best_val_loss"), ".4f"),
                          fmt_rate(t.get("tokens_per_s")),
                          t.get("run_dir") or "" if t["status"] != "not started" else "")
        self.console.print(table)
        for t in ranked:
            if t["status"] == "failed":
                self.console.print(Text(f"{visible(t['name'])} failed: {visible(t.get('error'))}",
                                        style="red"))
