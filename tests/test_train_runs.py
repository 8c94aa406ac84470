"""Runs: resume is exact, the metrics file has the promised format and can be followed while it
grows, checkpoints round-trip and refuse what is not theirs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnn_tui.cli import main
from rnn_tui.errors import UserError
from rnn_tui.train.events import Evaluated, StepEnded, event_from_dict
from rnn_tui.train.runs import FORMAT_VERSION, MetricsReader, load_checkpoint, save_checkpoint

SMALL = ["--corpus", "arithmetic", "--hidden", "24", "--embed", "8", "--seq", "16",
         "--batch", "4", "--time-budget", "0", "--log-every", "1", "--eval-every", "5",
         "--eval-tokens", "2000", "--sample-every", "1000", "--checkpoint-every", "1000",
         "--lr-schedule", "constant", "--quiet"]  # a cosine schedule depends on the run length


def events(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def losses(run_dir):
    return {e["step"]: e["loss"] for e in events(run_dir) if e["type"] == "step"}


@pytest.mark.parametrize("cell,extra", [("lstm", []), ("gru", ["--dropout", "0.2",
                                                               "--layers", "2"])])
def test_resume_gives_bit_identical_loss_trace(tmp_path, cell, extra):
    args = SMALL + ["--runs-dir", str(tmp_path), "--cell", cell] + extra
    assert main(["train", *args, "--steps", "24", "--name", "whole"]) == 0
    assert main(["train", *args, "--steps", "12", "--name", "half"]) == 0
    assert main(["train", "--resume", str(tmp_path / "half"), "--steps", "24", "--quiet"]) == 0
    whole, half = losses(tmp_path / "whole"), losses(tmp_path / "half")
    assert sorted(whole) == list(range(1, 25))
    assert sorted(half) == list(range(1, 25))
    assert [whole[s] for s in range(1, 25)] == [half[s] for s in range(1, 25)]
    ev_w = [e["val_loss"] for e in events(tmp_path / "whole") if e["type"] == "eval"]
    ev_h = [e["val_loss"] for e in events(tmp_path / "half") if e["type"] == "eval"]
    assert ev_w[-1] == ev_h[-1]
    a, _ = load_checkpoint(tmp_path / "whole")
    b, _ = load_checkpoint(tmp_path / "half")
    np.testing.assert_array_equal(a["params"], b["params"])


def test_metrics_file_format(tmp_path):
    assert main(["train", *SMALL, "--runs-dir", str(tmp_path), "--name", "m", "--steps", "10",
                 "--sample-every", "5"]) == 0
    evs = events(tmp_path / "m")
    types = [e["type"] for e in evs]
    assert types[0] == "run_started" and types[-1] == "finished"
    from rnn_tui.core.fast.blas import blas_name

    assert evs[0]["compute"].startswith(blas_name() + ", ")  # which BLAS, how many threads
    for t in ("step", "eval", "sample", "checkpoint"):
        assert t in types
    for e in evs:
        assert isinstance(e["step"], int) and isinstance(e["elapsed_s"], float)
        if e["type"] == "step":
            assert e["loss"] > 0 and e["tokens_per_s"] > 0 and "grad_norm" in e and "lr" in e
        if e["type"] == "eval":
            assert 0 < e["val_loss"] < 10
        assert event_from_dict(e) is not None
    elapsed = [e["elapsed_s"] for e in evs]
    assert elapsed == sorted(elapsed)
    cfg = (tmp_path / "m" / "config.toml").read_text()
    assert "[model]" in cfg and 'corpus = "arithmetic"' in cfg
    assert (tmp_path / "m" / "samples.txt").read_text().count("--- step") >= 2


def test_metrics_reader_follows_growing_file_with_half_line(tmp_path):
    p = tmp_path / "metrics.jsonl"
    r = MetricsReader(p)
    assert r.poll() == []
    one = json.dumps(StepEnded(step=1, loss=2.5).to_dict())
    two = json.dumps(Evaluated(step=2, val_loss=2.0).to_dict())
    p.write_text(one + "\n" + two[:10])
    got = r.poll()
    assert len(got) == 1 and isinstance(got[0], StepEnded) and got[0].loss == 2.5
    with open(p, "a") as f:
        f.write(two[10:] + "\n" + "garbage line\n")
    got = r.poll()
    assert len(got) == 1 and isinstance(got[0], Evaluated) and got[0].val_loss == 2.0


def test_checkpoint_round_trip_and_refusals(tmp_path):
    p = tmp_path / "c.npz"
    arrays = {"params": np.arange(5, dtype=np.float32)}
    save_checkpoint(p, arrays, {"step": 3, "spec": {"hidden": 2}})
    got, meta = load_checkpoint(p)
    np.testing.assert_array_equal(got["params"], arrays["params"])
    assert meta["step"] == 3 and meta["format_version"] == FORMAT_VERSION == 2
    newer = tmp_path / "n.npz"
    save_checkpoint(newer, arrays, {"step": 3})
    z = dict(np.load(newer))
    z["meta"] = np.frombuffer(json.dumps({"format_version": 3, "step": 1}).encode(), np.uint8)
    np.savez(newer, **z)
    with pytest.raises(UserError, match="newer rnn-tui .*format 3"):
        load_checkpoint(newer)
    with pytest.raises(ValueError, match="non-finite"):
        save_checkpoint(tmp_path / "bad.npz", {"params": np.array([np.nan])}, {})
    assert not (tmp_path / "bad.npz").exists()
    trunc = tmp_path / "t.npz"
    trunc.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_checkpoint(trunc)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, params=np.array([{"evil": 1}], dtype=object),
             meta=np.frombuffer(b"{}", dtype=np.uint8))
    with pytest.raises(UserError, match="pickled|object"):
        load_checkpoint(pickled)


def test_metrics_writer_samples_heavy_snapshots(tmp_path):
    from rnn_tui.train.events import HiddenSnapshot
    from rnn_tui.train.runs import MetricsWriter

    w = MetricsWriter(tmp_path / "m.jsonl", heavy_interval=30.0, max_units=4)
    for i in range(100):  # one a second for 100 s
        w(HiddenSnapshot(step=i, elapsed_s=float(i), tokens=["a"] * 3,
                         h=[[[0.5] * 3 for _ in range(10)]]))
        w(StepEnded(step=i, elapsed_s=float(i), loss=1.0))
    w.close()
    evs = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    hidden = [e for e in evs if e["type"] == "hidden"]
    assert [e["elapsed_s"] for e in hidden] == [0.0, 30.0, 60.0, 90.0]
    assert all(len(e["h"][0]) == 4 for e in hidden)  # units capped
    assert sum(e["type"] == "step" for e in evs) == 100  # light events all kept


def test_evaluate_scores_the_best_weights_and_matches_the_run(tmp_path, capsys):
    args = ["train", "--corpus", "arithmetic", "--hidden", "24", "--embed", "8", "--batch", "8",
            "--seq", "16", "--steps", "60", "--time-budget", "0", "--eval-every", "20",
            "--eval-tokens", "2000", "--runs-dir", str(tmp_path), "--name", "e", "--quiet"]
    assert main(args) == 0
    run = tmp_path / "e"
    best = load_checkpoint(run / "best.npz")[1]
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    out, err = capsys.readouterr()
    last = out.strip().splitlines()[-1]
    val = float(last.split()[0].removeprefix("val_loss="))
    assert abs(val - best["best_val_loss"]) <= 1e-3 * best["best_val_loss"]
    assert "best weights" in err and f"step {best['step']}" in err
    assert main(["evaluate", str(run), "--checkpoint", "latest"]) == 0
    latest = float(capsys.readouterr().out.split()[0].removeprefix("val_loss="))
    assert abs(latest - load_checkpoint(run)[1]["last_val_loss"]) < 1e-6 * latest
    data = tmp_path / "d.txt"
    data.write_text("12 + 30 = 42\n")
    assert main(["evaluate", str(run), "--data", str(data)]) == 0
    assert capsys.readouterr().out.startswith("val_loss=")
