"""Run directories written by an earlier rnn-tui (checkpoint format 1, kept in
tests/fixtures/format1) still resume, sample, forecast and evaluate."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import SERIES_DIR
from rnn_tui.cli import main
from rnn_tui.train.runs import FORMAT_VERSION, load_checkpoint

FIXTURES = Path(__file__).parent / "fixtures" / "format1"


@pytest.fixture
def old_run(tmp_path):
    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(FIXTURES / name, dst)
        assert load_checkpoint(dst)[1]["format_version"] == 1
        if name.startswith("series"):  # the CSV it was trained on, wherever the data is here
            cfg = dst / "config.toml"
            text = cfg.read_text()
            old = text.split('corpus = "', 1)[1].split('"', 1)[0]
            cfg.write_text(text.replace(old, str(SERIES_DIR / "airline-passengers.csv")))
        return dst

    return copy


def test_format1_char_run_resumes_and_is_rewritten_in_the_current_format(old_run, capsys):
    run = old_run("char-v1")
    before, meta = load_checkpoint(run)
    assert meta["step"] == 30
    assert main(["train", "--resume", str(run), "--steps", "45", "--quiet"]) == 0
    after, meta = load_checkpoint(run / "checkpoint.npz")
    assert meta["format_version"] == FORMAT_VERSION and meta["step"] == 45
    assert after["params"].shape == before["params"].shape
    assert not np.array_equal(after["params"], before["params"])
    assert (run / "best.npz").exists()  # evaluations of the resumed run keep the best
    out = capsys.readouterr().out
    assert "resuming" in out


@pytest.mark.parametrize("name", ["char-v1", "word-v1"])
def test_format1_language_runs_sample_and_evaluate(old_run, capsys, name):
    run = old_run(name)
    assert main(["sample", str(run), "-n", "30", "--seed", "0"]) == 0
    out, err = capsys.readouterr()
    assert len(out.strip()) > 0
    assert "latest weights" in err  # format 1 kept no best weights: the latest are used
    assert main(["evaluate", str(run)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("val_loss=")
    val = float(last.split()[0].split("=")[1])
    assert abs(val - load_checkpoint(run)[1]["last_val_loss"]) < 1e-3 * val


def test_format1_series_run_forecasts(old_run, capsys):
    run = old_run("series-v1")
    assert main(["forecast", str(run), "--no-chart"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("model_mae=") and "seasonal_naive_mae=" in last
