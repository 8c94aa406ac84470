"""Text from a file or a user reaches the terminal escaped: hostile strings (escape sequences, a
window-title change, bells, a bidirectional override, C1 controls) in paths, file contents, labels,
column names and arguments, through the real command line. Each case exits 2 with one line on
stderr that holds none of the raw characters and shows them as escapes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from rnn_tui.errors import error_line, markup_safe, safe_stream, visible

SRC = str(Path(__file__).resolve().parents[1] / "src")
PWN = "\x1b]2;PWNED\x07\x1b[2J"  # set the window title, ring, clear the screen
HOSTILE = {
    "osc title": PWN,
    "csi clear": "\x1b[2J\x1b[H",
    "bell and backspace": "ab\x07\x08\x08",
    "carriage return": "ok\rFAKE",
    "bidi override": "abc\u202etxt.exe",
    "c1 csi": "\x9b31mred",
    "nul and del": "x\x00y\x7f",
}


def raw_controls(text: str) -> list[str]:
    """Characters that would act on a terminal (a new line ends a line, and is allowed)."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


# ---------------------------------------------------------------------------- the helpers
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_visible_shows_every_control(name):
    s = HOSTILE[name]
    v = visible(s)
    assert not raw_controls(v) and v.isprintable()
    assert all(ch in v for ch in s if ch.isprintable())  # the rest unchanged
    assert visible(v) == v  # once is enough


def test_visible_keeps_ordinary_text_and_what_is_asked():
    for s in ("plain", "café 中文 ∑ — ✓", "tabs\tand\nlines", "a [bold] b", ""):
        assert visible(s, keep="\t\n") == s
    assert visible("a\nb") == "a\\x0ab" and visible("a\u2028b") == "a\\u2028b"
    assert error_line(f"label {PWN}") == "rnn-tui: error: label \\x1b]2;PWNED\\x07\\x1b[2J"
    assert markup_safe("[red]x\x1b") == "\\[red]x\\x1b"


def test_safe_stream_escapes_a_terminal_not_a_file():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    f, t = io.StringIO(), Tty()
    safe_stream(f).write(PWN + "\n")
    safe_stream(t).write(PWN + "\n")
    assert f.getvalue() == PWN + "\n"  # data into a file stays as it is
    assert t.getvalue() == visible(PWN) + "\n"


# ---------------------------------------------------------------------------- the CLI
def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               RNN_TUI_CONFIG_DIR=str(cwd / "cfg"))
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *args], capture_output=True,
                          text=True, errors="surrogateescape", timeout=120, cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL)


def setup_files(d: Path, s: str) -> dict[str, str]:
    """Files holding ``s`` in their name or content, for the cases below."""
    tsv = d / "one-label.tsv"
    tsv.write_text("".join(f"sentence number {i}\t{s}\n" for i in range(30)), encoding="utf-8")
    csv = d / "series.csv"
    csv.write_text("t,v\n" + "".join(f"{i},{i % 7}\n" for i in range(80)))
    named = d / f"corpus{s}.txt"
    try:
        named.write_text("")
    except (OSError, ValueError):  # NUL cannot be in a file name
        named = d / "corpus-empty.txt"
        named.write_text("")
    return {"tsv": str(tsv), "csv": str(csv), "named": str(named), "s": s}


CLI_CASES = {  # name: (argv with {placeholders}, what the line says)
    "missing path": (["train", "--corpus", "{s}/nope.txt"], "not found"),
    "empty file named with it": (["train", "--corpus", "{named}", "--steps", "1"], "empty"),
    "label in a TSV": (["train", "--task", "classify", "--corpus", "{tsv}", "--steps", "1"],
                       "label"),
    "column name": (["train", "--task", "series", "--corpus", "{csv}", "--column", "{s}",
                     "--steps", "1"], "column"),
    "run to sample": (["sample", "runs/{s}"], ""),
    "run to evaluate": (["evaluate", "runs/{s}"], ""),
    "unknown argument": (["train", "{s}"], "unrecognized"),
    "bad choice": (["train", "--cell", "{s}"], "invalid choice"),
    "bad command choice": (["export", "x", "--format", "{s}"], "invalid choice"),
}


PAIRS = ([(case, "osc title") for case in sorted(CLI_CASES)]  # every way in, and every string
         + [(case, h) for case in ("missing path", "label in a TSV", "unknown argument")
            for h in sorted(HOSTILE) if h not in ("osc title", "nul and del")])


@pytest.mark.parametrize("case, hostile", PAIRS)
def test_hostile_text_reaches_stderr_escaped(tmp_path, case, hostile):
    s = HOSTILE[hostile]
    files = setup_files(tmp_path, s)
    argv, says = CLI_CASES[case]
    r = cli(*(a.format(**files) for a in argv), cwd=tmp_path)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    errors = [ln for ln in lines if "error:" in ln]
    assert len(errors) == 1, r.stderr
    assert says in errors[0], errors[0]
    assert not raw_controls(r.stderr), ascii(r.stderr)
    assert not raw_controls(r.stdout), ascii(r.stdout)


def test_labels_and_samples_in_the_app_are_escaped():
    from rich.console import Console

    from rnn_tui.tui.widgets.labelled import _short

    out = io.StringIO()
    Console(file=out, force_terminal=True, width=200).print(_short(PWN, 40), _short("[b]x[/b]"))
    text = out.getvalue()
    assert "\x1b]2;PWNED" not in text and "\\x1b]2;PWNED\\x07" in text
    assert "[b]x[/b" in text or "[b]x[/…" in text  # shown, not read as markup
