"""Output follows the terminal: every command that prints writes no escape codes into a pipe,
and in a terminal with ``NO_COLOR`` set (https://no-color.org) no colour (bold and the like
may stay). A terminal without NO_COLOR does get colour, so the check can fail."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_tui.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a pty is POSIX")
SRC = Path(__file__).resolve().parents[1] / "src"
TINY = ["--hidden", "8", "--embed", "4", "--batch", "4", "--steps", "4", "--eval-every", "2",
        "--eval-tokens", "300", "--time-budget", "0", "--quiet"]
RUNS = {"char": ["--corpus", "arithmetic"], "classify": ["--corpus", "sentiment"],
        "tag": ["--corpus", "pos"],
        "series": ["--corpus", "sine", "--holdout", "12", "--lookback", "12"]}
# (command, arguments; RUN:<task> stands for that task's run, OUT for a file to write)
COMMANDS = {
    "help": ["--help"],
    "train": ["train", "--corpus", "arithmetic", *TINY, "--runs-dir", "OUT"],
    "forecast": ["forecast", "RUN:series"],
    "forecast without the chart": ["forecast", "RUN:series", "--no-chart"],
    "evaluate": ["evaluate", "RUN:classify"],
    "sample": ["sample", "RUN:char", "-n", "20"],
    "sample --show-probs": ["sample", "RUN:char", "-n", "3", "--show-probs"],
    "predict": ["predict", "RUN:tag", "--text", "the cat sat"],
    "explain": ["explain", "RUN:classify", "--text", "a good film"],
    "neurons": ["neurons", "RUN:char", "--pattern", "[0-9]", "--chars", "300"],
    "summary": ["summary", "RUN:char"],
    "corpora": ["corpora"],
    "recipes": ["recipes"],
    "a recipe": ["recipes", "vanishing"],
    "export": ["export", "RUN:char", "--to", "OUT/w.safetensors"],
    "an error": ["evaluate", "OUT/no-such-run"],
}
ESC = re.compile(r"\x1b\[([0-9;]*)m")
COLOUR = {*range(30, 39), *range(40, 49), *range(90, 98), *range(100, 108)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for task, opts in RUNS.items():
        assert main(["train", "--task", task, *opts, *TINY, "--runs-dir", str(root),
                     "--name", task]) == 0
    return root


def argv(name: str, runs: Path, out: Path) -> list[str]:
    return [str(runs / a.split(":")[1]) if a.startswith("RUN:") else a.replace("OUT", str(out))
            for a in COMMANDS[name]]


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE",
                      "TTY_INTERACTIVE")}
    e.update(PYTHONPATH=str(SRC), PYTHONWARNINGS="ignore", COLUMNS="100", LINES="40",
             TERM="xterm-256color", **extra)
    return e


def in_a_terminal(args: list[str], cwd: Path, **extra: str) -> bytes:
    """What the command writes to a terminal (stdout and stderr both on one pty)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "rnn_tui.cli", *args], cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
                            env=env(**extra))
    os.close(follower)
    out = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 300)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(60)
    os.close(leader)
    return bytes(out)


def colours(text: str) -> set[int]:
    found = set()
    for params in ESC.findall(text):
        found |= {int(p) for p in params.split(";") if p.isdigit()} & COLOUR
    return found


@pytest.mark.parametrize("name", COMMANDS)
def test_no_escape_codes_into_a_pipe(runs, tmp_path, name):
    r = subprocess.run([sys.executable, "-m", "rnn_tui.cli", *argv(name, runs, tmp_path)],
                       cwd=tmp_path, capture_output=True, env=env(), timeout=300)
    assert r.returncode == (2 if name == "an error" else 0), r.stderr.decode()[-2000:]
    assert r.stdout.strip() or r.stderr.strip()
    for stream, data in (("stdout", r.stdout), ("stderr", r.stderr)):
        at = data.find(b"\x1b")
        assert at < 0, f"{stream}: {data[max(0, at - 80):][:200]!r}"


@pytest.mark.parametrize("name", COMMANDS)
def test_no_colour_in_a_terminal_with_no_color(runs, tmp_path, name):
    out = in_a_terminal(argv(name, runs, tmp_path), tmp_path, NO_COLOR="1").decode(
        "utf-8", "replace")
    assert out.strip()
    assert not colours(out), out[-1500:]


def test_a_terminal_without_no_color_gets_colour(runs, tmp_path):
    out = in_a_terminal(argv("forecast", runs, tmp_path), tmp_path).decode("utf-8", "replace")
    assert colours(out), out[-1500:]
