"""Tasks learn: the forecaster beats seasonal naive on a synthetic seasonal series, and a word
model beats the unigram baseline and samples words."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.cli import main
from rnn_tui.config import SERIES_DEFAULTS, RunConfig
from rnn_tui.tasks.language import LanguageTask
from rnn_tui.tasks.series import SeriesTask
from rnn_tui.train.trainer import Trainer


def test_forecaster_beats_seasonal_naive_on_synthetic_sales():
    cfg = RunConfig()
    cfg.update(SERIES_DEFAULTS)
    cfg.update({"data": {"corpus": "sales", "holdout": 56, "lookback": 28},
                "train": {"steps": 600, "time_budget": 0, "eval_every": 600}})
    task = SeriesTask.from_config(cfg.validate())
    assert task.period == 7
    got = []
    Trainer(task, cfg, None, [got.append]).run()
    errs, fc, _ = task.errors()
    assert len(fc) == 56 and np.all(np.isfinite(fc))
    assert errs["model"]["mae"] < errs["seasonal_naive"]["mae"], errs
    assert any(e.type == "forecast" for e in got)


def test_word_model_beats_unigram_and_samples_words(tmp_path, capsys):
    args = ["train", "--task", "word", "--corpus", "pydoc", "--hidden", "64", "--embed", "32",
            "--seq", "32", "--batch", "16", "--steps", "300", "--time-budget", "0",
            "--eval-every", "300", "--eval-tokens", "20000", "--sample-every", "1000",
            "--max-vocab", "2000", "--runs-dir", str(tmp_path), "--name", "w", "--quiet"]
    assert main(args) == 0
    import json

    evs = [json.loads(x) for x in (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()]
    last = [e for e in evs if e["type"] == "eval"][-1]
    assert last["metrics"]["val_ppl"] < last["metrics"]["unigram_ppl"], last
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "w"), "-n", "40", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    words = out.split()
    assert len(words) >= 20  # words separated by spaces, not a run of characters
    assert sum(len(w) > 1 for w in words) >= 10


def test_language_task_hidden_snapshot_shapes():
    cfg = RunConfig()
    cfg.update({"data": {"corpus": "arithmetic"},
                "model": {"hidden": 16, "embed": 8, "cell": "lstm"},
                "train": {"batch": 4, "seq": 20}})
    task = LanguageTask.from_config(cfg.validate())
    task.step()
    snap = task.hidden_snapshot(max_steps=12)
    assert len(snap.tokens) == 12 and len(snap.h) == 1
    assert len(snap.h[0]) == 16 and len(snap.h[0][0]) == 12  # units x time
    assert snap.c is not None  # LSTM shows its cell state too


def test_gradient_flow_follows_the_last_steps_loss_back_in_time():
    cfg = RunConfig()
    cfg.data.corpus = "arithmetic"
    cfg.model.cell, cfg.model.hidden, cfg.model.embed = "rnn", 16, 8
    cfg.train.seq, cfg.train.batch = 12, 4
    task = LanguageTask.from_config(cfg.validate())
    info, _ = task.step()
    assert (info.dh_norms[0] > 0).all()  # the step's own profile: every step has a loss
    flow = task.gradient_flow(info)
    assert flow.shape == (1, 12) and flow[0, -1] > 0
    # with W_hh = 0 nothing flows back from the last step: only the last h carries gradient
    task.net.params["l0.W_hh"][:] = 0
    flow = task.gradient_flow(info)
    assert flow[0, -1] > 0 and np.all(flow[0, :-1] == 0)
    # with W_hh = I and a tiny input the signal passes back with tanh'(~0) = 1: no decay
    H = 16
    task.net.params["l0.W_hh"][:] = np.eye(H, dtype=task.net.dtype) * 0.999
    task.net.params["embed.W"][:] *= 1e-4
    task.net.params["l0.b_ih"][:] = 0
    task.net.params["l0.b_hh"][:] = 0
    task.net.params["l0.W_ih"][:] *= 1e-2
    flow = task.gradient_flow(info)[0]
    assert flow[0] / flow[-1] > 0.9


def test_float64_language_model_trains_on_the_network_path_and_samples():
    """``--dtype float64`` trains through the network path (the fused step is float32 only),
    learns, and its checkpoint samples (generation runs on a float32 copy)."""
    cfg = RunConfig()
    cfg.update({"data": {"corpus": "arithmetic"},
                "model": {"hidden": 32, "embed": 8, "cell": "gru"},
                "train": {"batch": 8, "seq": 16, "dtype": "float64", "lr": 3e-3}})
    task = LanguageTask.from_config(cfg.validate())
    first = [task.step()[0].loss for _ in range(5)]
    for _ in range(150):
        info, _ = task.step()
    assert task.net.dtype == np.float64 and not task._fused
    assert info.loss < 0.8 * np.mean(first)
    sample = task.sample(1.0, 60)
    assert len(sample.text) == 60 and len(sample.pieces) == 60 == len(sample.top_probs)


def test_gate_snapshot_sends_what_the_cells_computed():
    """The gates in a hidden snapshot are the ones the cell computed for that sequence (a
    Network.forward on the same batch), and the saturation fractions match NumPy."""
    from rnn_tui.core.reference import sigmoid
    from rnn_tui.tasks.common import hidden_snapshot

    for cell, names in (("lstm", ["input", "forget", "cell", "output"]),
                        ("gru", ["reset", "update", "new"])):
        cfg = RunConfig()
        cfg.update({"data": {"corpus": "arithmetic"},
                    "model": {"hidden": 16, "embed": 8, "cell": cell, "layers": 2},
                    "train": {"batch": 6, "seq": 20}})
        task = LanguageTask.from_config(cfg.validate())
        task.step()
        snap = task.hidden_snapshot(max_steps=12)
        assert snap.gate_names == names and len(snap.gates) == 2
        x = np.ascontiguousarray(task.last_x[:12, :6])
        fwd = task.net.forward(x, task.net.initial_state(6))
        H = 16
        for layer in range(2):
            g = fwd.layers[layer].gates
            for k in range(len(names)):
                np.testing.assert_allclose(np.array(snap.gates[layer][k]),
                                           g[:, 0, k * H : (k + 1) * H].T, atol=5e-4)
            sig = [0, 1, 3] if cell == "lstm" else [0, 1]
            for j, k in enumerate(sig):
                block = g[:, :, k * H : (k + 1) * H].reshape(-1, H).astype(np.float64)
                want = [(block < 0.1).mean(0), (block > 0.9).mean(0)]
                np.testing.assert_allclose(np.array(snap.saturation[layer][j]), want,
                                           atol=5e-4)
        # and the LSTM's input gate is the sigmoid of its pre-activation, recomputed by hand
        if cell == "lstm":
            w = task.net.layer_weights(0)
            emb = task.net.params["embed.W"][x[0, 0]]
            a = emb @ w["W_ih"] + w["b_ih"] + w["b_hh"]  # first step: h0 = 0
            np.testing.assert_allclose(np.array(snap.gates[0][0])[:, 0], sigmoid(a[:H]),
                                       atol=5e-4)
    # padding is left out of the saturation of a padded batch
    from rnn_tui.core import NetSpec, Network

    net = Network(NetSpec(cell="gru", input_mode="embedding", input_size=5, embed_dim=3,
                          hidden=4), dtype=np.float64)
    x = np.array([[1, 2], [3, 4], [2, 0], [1, 0]])
    snap = hidden_snapshot(net, x, ["a", "b", "c", "d"], lengths=np.array([4, 2]))
    fwd = net.forward(x, net.initial_state(2), lengths=np.array([4, 2]))
    real = np.concatenate([fwd.layers[0].gates[:4, 0], fwd.layers[0].gates[:2, 1]])[:, :4]
    np.testing.assert_allclose(snap.saturation[0][0][1], (real > 0.9).mean(0), atol=5e-4)



def _series_task(values, holdout, period=0, steps=60, lookback=0, seed=0, name="s"):
    from rnn_tui.data.series import Series

    cfg = RunConfig()
    cfg.update(SERIES_DEFAULTS)
    cfg.update({"data": {"task": "series", "holdout": holdout, "period": period,
                         "lookback": lookback},
                "train": {"steps": steps, "time_budget": 0, "eval_every": steps,
                          "seed": seed}})
    return SeriesTask(cfg.validate(), Series(name, np.asarray(values, float), name)), cfg


def test_lookback_is_chosen_to_fit_a_36_point_series():
    """Shampoo sales: 36 months, 12 held out, period 12. A fixed lookback of 24 cannot fit;
    the automatic one does, and the run forecasts."""
    from conftest import SERIES_DIR
    from rnn_tui.data.series import load_csv
    from rnn_tui.errors import UserError

    values = load_csv(SERIES_DIR / "shampoo.csv").values
    assert len(values) == 36
    task, cfg = _series_task(values, 12, 12, steps=40)
    assert 2 <= task.lookback <= (task.n_fit - 1) // 3
    Trainer(task, cfg, None, []).run()
    errs, fc, one = task.errors()
    assert fc.shape == (12,) and np.all(np.isfinite(fc)) and np.all(np.isfinite(one))
    assert {"model", "model_es", "model_es_rnn", "seasonal_naive", "holt"} <= set(errs)
    with pytest.raises(UserError, match="lookback"):
        _series_task(values, 12, 12, lookback=24)


def test_forecaster_beats_seasonal_naive_on_an_unseen_seasonal_series():
    """A monthly series of a shape the forecaster was never tuned on: multiplicative season of
    a random profile on a damped, curving trend, lognormal noise, 12 years."""
    rng = np.random.default_rng(2024)
    t = np.arange(144)
    profile = np.exp(rng.normal(0, 0.15, 12))
    level = 300 + 40 * np.sqrt(t) + 15 * np.sin(2 * np.pi * t / 55)
    values = level * profile[t % 12] * np.exp(rng.normal(0, 0.04, len(t)))
    task, cfg = _series_task(values, 24, 0, steps=400)
    assert task.period == 12  # detected on the training part
    Trainer(task, cfg, None, []).run()
    errs, fc, _ = task.errors()
    assert errs["model"]["mae"] < errs["seasonal_naive"]["mae"], errs
    assert np.all(np.isfinite(fc))


def test_noise_falls_back_to_its_level():
    """Pure noise, a claimed weekly period: the honest forecast is the mean, and the model
    must not do worse than last value or the seasonal naive forecast."""
    values = 50 + np.random.default_rng(7).normal(0, 4, 300)
    task, cfg = _series_task(values, 28, 7, steps=60)
    Trainer(task, cfg, None, []).run()
    errs, _, _ = task.errors()
    assert errs["model"]["mae"] < min(errs["seasonal_naive"]["mae"], errs["last_value"]["mae"])
    assert errs["model"]["mae"] < 1.2 * errs["mean"]["mae"]


def test_nothing_is_decided_on_the_held_out_part():
    """Two series equal up to the held-out part (which differs wildly) train to the same
    forecast: the automatic choices and the networks see the training part only."""
    rng = np.random.default_rng(1)
    t = np.arange(120)
    base = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 120)
    other = base.copy()
    other[-24:] = rng.uniform(1, 1000, 24)
    fcs = []
    for values in (base, other):
        task, cfg = _series_task(values, 24, 0, steps=30)
        Trainer(task, cfg, None, []).run()
        fcs.append(task.errors()[1])
        assert task.period == 12
    np.testing.assert_array_equal(fcs[0], fcs[1])


def test_series_checkpoint_round_trip(tmp_path, capsys):
    from conftest import SERIES_DIR

    csv = str(SERIES_DIR / "airline-passengers.csv")
    args = ["train", "--task", "series", "--corpus", csv, "--holdout", "24", "--period", "12",
            "--hidden", "8", "--steps", "40", "--eval-every", "20", "--time-budget", "0",
            "--runs-dir", str(tmp_path), "--name", "s", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["forecast", str(tmp_path / "s"), "--no-chart", "--checkpoint", "latest"]) == 0
    out = capsys.readouterr().out
    assert "holt winters mul" in out and "model es rnn" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("model_mae=") and "seasonal_naive_mae=71.2500" in last
    # resuming continues in phase 2 with the same combination
    assert main(args[:-5] + ["--resume", str(tmp_path / "s"), "--steps", "50", "--quiet"]) == 0


def test_the_plain_window_forecaster_on_white_noise_ends_at_the_mean(tmp_path, capsys):
    """The tutorials' window model (--scaling divide) on the daily-sales example's white noise:
    it trains, forecasts, resumes, and its error comes out next to the mean's, the honest
    answer for noise (and the baselines say so beside it)."""
    args = ["train", "--task", "series", "--corpus", "random_integers:n=500,seed=42",
            "--scaling", "divide", "--scale", "100", "--lookback", "7", "--holdout", "50",
            "--cell", "rnn", "--hidden", "32", "--epochs", "20", "--batch", "16", "--steps", "0",
            "--lr", "0.001", "--warmup", "0", "--lr-schedule", "constant", "--clip", "0",
            "--patience", "0", "--time-budget", "0", "--eval-every", "100",
            "--runs-dir", str(tmp_path), "--name", "w", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["forecast", str(tmp_path / "w"), "--no-chart"]) == 0
    out = capsys.readouterr().out
    assert "plain window model" in out and "mean" in out
    model = float(out.strip().splitlines()[-1].split()[0].split("=")[1])
    from rnn_tui.data.series import load_series

    v = load_series("random_integers:n=500,seed=42").values
    mean_mae = float(np.mean(np.abs(v[-50:] - v[:-50].mean())))
    assert model < 1.15 * mean_mae  # no better than the mean, and not much worse
    assert main([*args[:-5], "--resume", str(tmp_path / "w"), "--epochs", "21", "--quiet"]) == 0
