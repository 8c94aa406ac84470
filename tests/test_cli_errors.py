"""Bad input through the real command line: one clear line on stderr, exit status 2, no
traceback, and no half-made run directory."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SERIES_DIR
from rnn_tui.train.runs import save_checkpoint

QUICK = ["--steps", "1", "--time-budget", "0", "--hidden", "8", "--embed", "4", "--quiet"]


def make_inputs(d):
    (d / "empty.txt").write_text("")
    (d / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (d / "latin1.txt").write_bytes(("caf\xe9 " * 400).encode("latin-1"))
    (d / "short.txt").write_text("just a few words\n")
    (d / "adir").mkdir()
    (d / "nonum.csv").write_text("a,b\nx,y\nz,w\n")
    (d / "gaps.csv").write_text("t,v\n" + "".join(f"{i},{'' if i == 5 else i}\n"
                                                  for i in range(60)))
    (d / "tiny.csv").write_text("t,v\n" + "".join(f"{i},{i}\n" for i in range(10)))
    (d / "bad.toml").write_text("[train\nlr = 0.1\n")
    (d / "unknown.toml").write_text("[train]\nlearnig_rate = 0.1\n")
    good = d / "text.txt"
    good.write_text("the quick brown fox jumps over the lazy dog. " * 200)
    (d / "readonly").write_text("a file, so nothing can be created below it")


CASES = {
    "missing file": (["train", "--corpus", "{d}/nope.txt"], "not found"),
    "directory": (["train", "--corpus", "{d}/adir"], "directory"),
    "empty file": (["train", "--corpus", "{d}/empty.txt"], "empty"),
    "binary file": (["train", "--corpus", "{d}/binary.bin"], "binary"),
    "not utf-8": (["train", "--corpus", "{d}/latin1.txt"], "--encoding"),
    "shorter than a batch": (["train", "--corpus", "{d}/short.txt"], "smaller --batch"),
    "csv no numeric column": (["train", "--task", "series", "--corpus", "{d}/nonum.csv"],
                              "no numeric column"),
    "csv missing values": (["train", "--task", "series", "--corpus", "{d}/gaps.csv"],
                           "missing or non-numeric"),
    "series too short": (["train", "--task", "series", "--corpus", "{d}/tiny.csv"],
                         "points"),
    "unknown corpus": (["train", "--corpus", "shakespear"], "did you mean shakespeare"),
    "unknown cell": (["train", "--cell", "lstn"], "did you mean 'lstm'"),
    "zero hidden": (["train", "--hidden", "0"], "--hidden must be a whole number from 1"),
    "negative batch": (["train", "--batch", "-3"], "--batch must be a whole number from 1"),
    "lr zero": (["train", "--lr", "0"], "--lr must be a number > 0"),
    "lr negative": (["train", "--lr", "-0.1"], "--lr must be a number > 0"),
    "not a number": (["train", "--hidden", "many"], "--hidden must be a whole number"),
    "toml syntax": (["train", "--config", "{d}/bad.toml"], "not valid TOML"),
    "toml unknown key": (["train", "--config", "{d}/unknown.toml"], "did you mean 'lr'"),
    "truncated checkpoint": (["sample", "{d}/trunc"], "corrupt or truncated"),
    "resume mismatched model": (["train", "--resume", "{d}/other", "--hidden", "16"],
                                "different model"),
    "sample not a run": (["sample", "{d}/adir"], "no checkpoint"),
    "app unknown theme": (["--theme", "nrd"], "did you mean 'nord'"),
    "app binary corpus": (["--corpus", "{d}/binary.bin"], "binary"),
    "app zero hidden": (["--hidden", "0"], "--hidden must be a whole number from 1"),
    "app resume mismatched model": (["--resume", "{d}/other", "--hidden", "16"],
                                    "different model"),
    "watch not a run": (["watch", "{d}/adir"], "not a run directory"),
    "watch missing": (["watch", "{d}/nowhere"], "not a directory"),
    "unwritable runs dir": (["train", "--corpus", "{d}/text.txt", "--runs-dir",
                             "{d}/readonly/runs"], "cannot create run directory"),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    make_inputs(d)
    from rnn_tui.cli import main

    assert main(["train", "--corpus", str(d / "text.txt"), "--runs-dir", str(d),
                 "--name", "other", *QUICK]) == 0
    (d / "trunc").mkdir()
    raw = (d / "other" / "checkpoint.npz").read_bytes()
    (d / "trunc" / "checkpoint.npz").write_bytes(raw[: len(raw) // 3])
    return d


def run_cli(args, cwd):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(inputs, tmp_path, name):
    args, match = CASES[name]
    args = [a.format(d=inputs) for a in args]
    if args[0] == "train" and "--resume" not in args:  # the case's own flags come last and win
        runs = [] if "--runs-dir" in args else ["--runs-dir", str(tmp_path / "runs")]
        args = ["train", *QUICK, *runs, *args[1:]]
    out = run_cli(args, tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("rnn-tui: error: ")
    assert match.lower() in lines[0].lower(), lines[0]
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # no half-made run directory


def test_encoding_option_reads_latin1(inputs, tmp_path):
    out = run_cli(["train", "--corpus", str(inputs / "latin1.txt"), "--encoding", "latin-1",
                   "--runs-dir", str(tmp_path / "r"), "--seq", "8", "--batch", "4", *QUICK],
                  tmp_path)
    assert out.returncode == 0, out.stderr


def test_object_array_checkpoint_refused(tmp_path):
    d = tmp_path / "evil"
    d.mkdir()
    np.savez(d / "checkpoint.npz", params=np.array([print], dtype=object),
             meta=np.frombuffer(b'{"format_version": 1}', dtype=np.uint8))
    out = run_cli(["sample", str(d)], tmp_path)
    assert out.returncode == 2 and "pickled" in out.stderr and "Traceback" not in out.stderr


def test_series_checkpoint_given_to_sample(tmp_path):
    from rnn_tui.cli import main

    assert main(["train", "--task", "series", "--corpus", str(SERIES_DIR / "shampoo.csv"),
                 "--holdout", "6", "--lookback", "6", "--runs-dir", str(tmp_path),
                 "--name", "s", "--steps", "5", "--quiet"]) == 0
    out = run_cli(["sample", str(tmp_path / "s")], tmp_path)
    assert out.returncode == 2 and "forecast" in out.stderr
    fake = tmp_path / "f.npz"
    save_checkpoint(fake, {"params": np.zeros(3, np.float32)}, {"task": "char"})
    out = run_cli(["sample", str(fake)], tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
