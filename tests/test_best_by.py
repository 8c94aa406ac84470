""""The best" says what chose it wherever it is printed: the validation loss for language
models and series, held-out accuracy for classify and tag (whose best step is then not the one
of the lowest loss). Each case trains a tiny run through ``rnn_tui.cli.main``."""

from __future__ import annotations

import json
import re

import pytest

from rnn_tui.cli import main
from rnn_tui.train.runs import load_checkpoint

# task, its options, what its best is chosen by
CASES = {
    "char": (["--corpus", "arithmetic"], "val_loss"),
    "classify": (["--corpus", "sentiment"], "accuracy"),
    "tag": (["--corpus", "pos"], "accuracy"),
}
COMMON = ["--hidden", "8", "--embed", "4", "--batch", "4", "--steps", "6", "--eval-every", "2",
          "--eval-tokens", "300", "--time-budget", "0"]


@pytest.mark.parametrize("task", CASES)
def test_every_best_names_what_chose_it(tmp_path, capsys, task):
    opts, by = CASES[task]
    assert main(["train", "--task", task, *opts, *COMMON, "--runs-dir", str(tmp_path),
                 "--name", "r"]) == 0
    out = capsys.readouterr().out
    evals = [ln for ln in out.splitlines() if re.match(r"\s*step\s+\d+\s.*val_loss", ln)]
    finished = next(ln for ln in out.splitlines() if ln.startswith("finished"))
    events = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    last_eval = [e for e in events if e["type"] == "eval"][-1]
    assert last_eval["best_by"] == by
    _, meta = load_checkpoint(tmp_path / "r" / "best.npz")
    assert meta["best_by"] == by
    assert main(["evaluate", str(tmp_path / "r")]) == 0
    said = capsys.readouterr().err
    if by == "val_loss":
        assert re.search(r"best val_loss \d\.\d{4}", finished), finished
        assert all("accuracy" not in ln.split("(best")[1] for ln in evals)
        assert "chosen by" not in said and "val_loss" in said
        assert meta["best_metric"] == meta["best_val_loss"]
    else:
        step = last_eval["best_step"]
        assert re.search(rf"best accuracy \d\.\d{{4}} at step {step} \(val_loss there "
                         r"\d\.\d{4}\)", finished), finished
        assert all(re.search(r"\(best accuracy \d\.\d{4} at step \d+\)", ln) for ln in evals)
        assert f"step {meta['step']}, chosen by accuracy {meta['best_metric']:.4f}, val_loss" \
            in said, said
        assert meta["best_metric"] == pytest.approx(last_eval["best_metric"])
        best_eval = next(e for e in events if e["type"] == "eval" and e["step"] == step)
        assert meta["best_metric"] == pytest.approx(best_eval["metrics"]["accuracy"])
