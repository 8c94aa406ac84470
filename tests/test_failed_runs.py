"""A run that fails before its first checkpoint leaves no run directory behind (nor the folders
made for it); one that fails later keeps its directory and its last checkpoint. Each way of
failing goes through ``rnn_tui.cli.main``, with the task patched to fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnn_tui.cli import main
from rnn_tui.models.training import NonFiniteError
from rnn_tui.tasks.language import LanguageTask

TINY = ["--corpus", "arithmetic", "--hidden", "8", "--embed", "4", "--seq", "8", "--batch", "4",
        "--time-budget", "0", "--eval-every", "1", "--eval-tokens", "200", "--quiet",
        "--name", "r"]


def missing_module(self):
    raise ModuleNotFoundError("No module named 'scipy'", name="scipy")


def a_bug(self):
    raise RuntimeError("a bug in a step")


def diverges(self):
    raise NonFiniteError("loss nan, gradient norm nan")


# (what fails, the method patched, how it fails, the exception main raises or its exit status)
FAILURES = {
    "a module missing while preparing": ("prepare", missing_module, ModuleNotFoundError),
    "an error in the first step": ("step", a_bug, RuntimeError),
    "diverging for good": ("step", diverges, 2),
}


def run(args, expect):
    if isinstance(expect, int):
        assert main(args) == expect
    else:
        with pytest.raises(expect):
            main(args)


@pytest.mark.parametrize("case", FAILURES)
def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(tmp_path, monkeypatch,
                                                                      case):
    method, fail, expect = FAILURES[case]
    monkeypatch.setattr(LanguageTask, method, fail)
    runs = tmp_path / "new" / "runs"  # folders made for the run go too
    run(["train", *TINY, "--steps", "5", "--runs-dir", str(runs)], expect)
    assert not (tmp_path / "new").exists(), sorted(p.name for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("case", [c for c in FAILURES if FAILURES[c][0] == "step"])
def test_a_run_that_fails_after_a_checkpoint_keeps_it(tmp_path, monkeypatch, case):
    _, fail, expect = FAILURES[case]
    real = LanguageTask.step
    calls = []

    def later(self):
        calls.append(1)
        return real(self) if len(calls) <= 3 else fail(self)

    monkeypatch.setattr(LanguageTask, "step", later)
    run(["train", *TINY, "--steps", "20", "--checkpoint-every", "2",
         "--runs-dir", str(tmp_path)], expect)
    assert (Path(tmp_path) / "r" / "checkpoint.npz").is_file()
    assert (Path(tmp_path) / "r" / "config.toml").is_file()
