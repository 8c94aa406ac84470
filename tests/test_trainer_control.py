"""The trainer on a worker thread obeys pause, resume, sample-now, save-now and stop, and reports
each through events."""

from __future__ import annotations

import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_tui.config import RunConfig
from rnn_tui.errors import UserError
from rnn_tui.train import events as ev
from rnn_tui.train.tasks import LanguageTask
from rnn_tui.train.trainer import Trainer


def make(tmp_path):
    cfg = RunConfig()
    cfg.update({"data": {"corpus": "arithmetic"}, "model": {"hidden": 16, "embed": 8},
                "train": {"batch": 4, "seq": 16, "time_budget": 0, "steps": 0,
                          "eval_every": 1000, "sample_every": 100000, "checkpoint_every": 100000,
                          "log_every": 1, "sample_len": 20}})
    got: list[ev.Event] = []
    lock = threading.Lock()

    def sink(e):
        with lock:
            got.append(e)

    tr = Trainer(LanguageTask.from_config(cfg.validate()), cfg, tmp_path, [sink],
                 snapshot_interval=0.05)
    return tr, got


def wait(pred, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_pause_resume_sample_save_stop(tmp_path):
    tr, got = make(tmp_path)
    tr.start()
    wait(lambda: tr.step >= 5)
    tr.pause()
    wait(lambda: any(isinstance(e, ev.Paused) for e in got))
    frozen = tr.step
    time.sleep(0.3)
    assert tr.step == frozen and tr.paused  # no steps while paused
    tr.sample_now()  # served even while paused
    tr.save_now()
    wait(lambda: any(isinstance(e, ev.SampleText) for e in got))
    wait(lambda: any(isinstance(e, ev.CheckpointSaved) for e in got))
    assert (tmp_path / "checkpoint.npz").exists()
    tr.resume()
    wait(lambda: tr.step > frozen + 3)
    assert any(isinstance(e, ev.Resumed) for e in got)
    tr.temperature = 0.3
    tr.sample_now()
    wait(lambda: any(isinstance(e, ev.SampleText) and e.temperature == 0.3 for e in got))
    tr.stop()
    assert tr.finished.wait(30)
    fin = [e for e in got if isinstance(e, ev.Finished)]
    assert len(fin) == 1 and fin[0].reason == "stopped"
    steps = [e.step for e in got if isinstance(e, ev.StepEnded)]
    assert steps == sorted(steps) and len(steps) == len(set(steps))
    assert any(isinstance(e, ev.GradientFlow) for e in got)
    assert any(isinstance(e, ev.HiddenSnapshot) for e in got)


_keys = st.sampled_from(["lr", "hidden", "seq", "batch", "cell", "dropout", "clip", "steps"])


@given(st.dictionaries(_keys, st.one_of(st.integers(-5, 5000), st.floats(-2, 2),
                                        st.text(max_size=5)), max_size=4))
@settings(max_examples=200, deadline=None)
def test_config_parsing_accepts_or_refuses_cleanly(values):
    """Any mix of settings either validates or raises a UserError; never anything else."""
    sec = {"lr": "train", "seq": "train", "batch": "train", "clip": "train", "steps": "train",
           "hidden": "model", "cell": "model", "dropout": "model"}
    d: dict = {}
    for k, v in values.items():
        d.setdefault(sec[k], {})[k] = v
    cfg = RunConfig()
    try:
        cfg.update(d)
        cfg.validate()
    except UserError as err:
        assert "\n" not in str(err)
        return
    assert cfg.model.hidden >= 1 and cfg.train.lr > 0 and cfg.train.batch >= 1


def test_config_toml_round_trip(tmp_path):
    from rnn_tui.config import load_toml

    cfg = RunConfig()
    cfg.update({"model": {"cell": "lstm", "hidden": 77}, "train": {"lr": 0.01}})
    p = tmp_path / "c.toml"
    p.write_text(cfg.to_toml())
    again = RunConfig.from_dict(load_toml(p))
    assert again.to_dict() == cfg.to_dict()


def test_a_seeded_run_with_a_step_count_is_repeatable():
    """The learning-rate schedule follows the step count when one is set, not the clock, so two
    runs of the same seeded config end with the same weights however fast each step ran."""
    from rnn_tui.config import SERIES_DEFAULTS
    from rnn_tui.train.tasks import SeriesTask

    finals = []
    for delay in (0.0, 0.002):
        cfg = RunConfig()
        cfg.update(SERIES_DEFAULTS)
        cfg.data.task, cfg.data.corpus = "series", "sales"
        cfg.train.steps, cfg.train.time_budget, cfg.train.eval_every = 120, 2.0, 1000
        task = SeriesTask.from_config(cfg.validate())
        step = task.step

        def slow_step(step=step, delay=delay):
            time.sleep(delay)  # a busier machine
            return step()

        task.step = slow_step
        Trainer(task, cfg, None, []).run()
        finals.append(task.net.params.data.copy())
    assert (finals[0] == finals[1]).all()
