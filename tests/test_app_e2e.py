"""End to end: the real ``rnn-tui`` in a pseudo-terminal, read with pyte (a terminal emulator)."""

from __future__ import annotations

import json
import re
import time

import pytest

from pty_app import PtyApp

TINY = ["--corpus", "arithmetic", "--hidden", "32", "--embed", "16", "--seq", "32",
        "--batch", "8", "--sample-every", "40", "--eval-every", "60", "--eval-tokens", "3000",
        "--time-budget", "0", "--steps", "1000000", "--sample-len", "60",
        "--patience", "0"]


def status_loss(text: str) -> float | None:
    m = re.search(r"step ([\d,]+) .*?loss (\d+\.\d+)", text.splitlines()[0])
    return float(m.group(2)) if m else None


def chart_top(text: str) -> float:
    """The highest y-axis label of the loss chart (the left panels)."""
    ticks = [float(m.group(1)) for line in text.splitlines()[:20]
             for m in [re.match(r"│\s*(\d+(?:\.\d+)?)┤", line)] if m]  # 1-2-5 ticks: 4, 2, 0.5
    return max(ticks, default=0.0)


@pytest.fixture
def app_env(tmp_path):
    return {"RNN_TUI_CONFIG_DIR": str(tmp_path / "cfg")}


def test_dashboard_in_a_real_terminal_then_quit(tmp_path, app_env):
    app = PtyApp([*TINY, "--runs-dir", str(tmp_path / "runs"), "--name", "e2e"], env=app_env)
    try:
        assert app.wait_for(lambda t: status_loss(t) is not None, 120), app.text()
        # the loss curve falls: its axis starts well above the loss the status line shows now
        assert app.wait_for(lambda t: chart_top(t) > (status_loss(t) or 99) + 0.5, 60), \
            app.text()
        # generated text streams into its panel
        assert app.wait_for(lambda t: "— step" in t, 60), app.text()
        screen = app.text()
        for panel in ("Loss", "Gradients", "Hidden", "Generated text"):
            assert panel in screen
        app.send("q")
        assert app.wait(120) == 0
    finally:
        app.kill()
    assert re.search(rb"[34]8;5;", bytes(app.raw))  # 256 colours by default (TERM=xterm-256color)
    run = tmp_path / "runs" / "e2e"
    assert (run / "checkpoint.npz").is_file()
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["type"] == "finished" and last["reason"] == "stopped"


def test_the_app_saves_when_its_terminal_goes_away(tmp_path, app_env):
    app = PtyApp([*TINY, "--runs-dir", str(tmp_path / "runs"), "--name", "hup"], env=app_env)
    try:
        assert app.wait_for(lambda t: status_loss(t) is not None, 120), app.text()
        time.sleep(1.0)
        app.hang_up()
        assert app.wait(120) == 129  # 128 + SIGHUP, like a shell; not an error on the way out
    finally:
        app.kill()
    run = tmp_path / "runs" / "hup"
    assert (run / "checkpoint.npz").is_file()
    events = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "finished" and events[-1]["reason"] == "interrupted"
    saved = [e for e in events if e["type"] == "checkpoint"]
    assert saved and saved[-1]["step"] == events[-1]["step"]


def test_low_bandwidth_mode_uses_16_colours(tmp_path, app_env):
    app = PtyApp([*TINY, "--runs-dir", str(tmp_path / "runs"), "--name", "low",
                  "--low-bandwidth"], env=app_env)
    try:
        assert app.wait_for(lambda t: status_loss(t) is not None, 120), app.text()
        time.sleep(2)
        app.send("q")
        assert app.wait(120) == 0
    finally:
        app.kill()
    raw = bytes(app.raw)
    assert b"\x1b[3" in raw  # it does use colour ...
    assert not re.search(rb"[34]8;[25];", raw)  # ... but no 256-colour or true-colour codes


@pytest.mark.parametrize("task,args,words", [
    ("classify", ["--corpus", "sentiment", "--hidden", "16", "--embed", "8",
                  "--eval-every", "20"], ("Classification", "true \\ pred", "majority")),
    ("tag", ["--corpus", "pos", "--hidden", "16", "--embed", "8", "--eval-every", "20"],
     ("Tagging", "baseline", "accuracy")),
    ("series", ["--corpus", "sales", "--hidden", "8", "--eval-every", "20", "--steps", "400"],
     ("Forecast", "seasonal naive", "Holt")),
])
def test_each_task_dashboard_in_a_real_terminal(tmp_path, app_env, task, args, words):
    app = PtyApp(["--task", task, *args, "--time-budget", "0", "--runs-dir",
                  str(tmp_path / "runs"), "--name", task], env=app_env)
    try:
        assert app.wait_for(lambda t: all(w in t for w in words), 180), app.text()
        assert "Generated text" not in app.text()  # the task's own panel in its place
        app.send("q")
        assert app.wait(120) == 0
    finally:
        app.kill()
    assert (tmp_path / "runs" / task / "checkpoint.npz").is_file()
