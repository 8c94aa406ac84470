"""``rnn-tui watch``: the dashboard follows a run that another process is training."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.source import FileSource


def eval_times(path, seen: dict[int, float]) -> None:
    """Record when each evaluation first appears in metrics.jsonl (whole lines only)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    for line in data.split(b"\n")[:-1]:
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if d.get("type") == "eval" and d["step"] not in seen:
            seen[d["step"]] = time.monotonic()


def test_watch_shows_each_evaluation_within_two_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    run_dir = tmp_path / "runs" / "w"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnn_tui.cli", "train", "--runs-dir", str(tmp_path / "runs"),
         "--name", "w", "--corpus", "arithmetic", "--hidden", "128", "--embed", "16",
         "--eval-every", "60", "--eval-tokens", "5000", "--steps", "100000",
         "--time-budget", "40", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**__import__("os").environ, "RNN_TUI_BLAS_THREADS": "1"})
    try:
        for _ in range(600):
            if (run_dir / "config.toml").exists():
                break
            time.sleep(0.1)
        assert run_dir.is_dir(), proc.stderr.read().decode() if proc.poll() is not None else ""

        async def go():
            app = RnnTuiApp(FileSource(run_dir), theme="rnn-dark", remember_theme=False)
            lags = []
            seen: dict[int, float] = {}
            async with app.run_test(size=(120, 40)) as pilot:
                dash = app.screen
                deadline = time.monotonic() + 90
                while len(lags) < 3 and time.monotonic() < deadline:
                    eval_times(run_dir / "metrics.jsonl", seen)
                    for step, t_file in sorted(seen.items()):
                        if step in dict(lags):
                            continue
                        shown = step in dash.state.val.xs and \
                            dash.last_draw.get("loss", 0) >= t_file
                        if shown:
                            lags.append((step, time.monotonic() - t_file))
                    await pilot.pause(0.05)
                assert "watching" in str(dash.query_one("#status").render())
            return lags

        lags = asyncio.run(go())
    finally:
        proc.terminate()
        proc.wait(60)
    assert len(lags) >= 3, lags
    print("lags", lags)
    assert max(lag for _, lag in lags) < 2.0, lags


def test_file_source_catches_up_with_a_long_file_in_slices(tmp_path):
    from rnn_tui.train import events as ev
    from rnn_tui.train.runs import MetricsWriter

    w = MetricsWriter(tmp_path / "metrics.jsonl")
    for i in range(6000):
        w(ev.StepEnded(step=i, loss=1.0 + i * 1e-4, grad_norms={"l0": 0.5}))
    w.close()
    src = FileSource(tmp_path)
    seen, rounds = [], 0
    while True:
        batch = src.drain()
        if not batch:
            break
        rounds += 1
        seen += batch
    assert rounds > 1  # sliced
    assert [e.step for e in seen] == list(range(6000))  # nothing lost or torn at the cuts
