"""Tasks learn: the forecaster beats seasonal naive on a synthetic seasonal series, and a word
model beats the unigram baseline and samples words."""

from __future__ import annotations

import numpy as np

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
