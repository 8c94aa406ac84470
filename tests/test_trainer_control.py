"""The trainer on a worker thread obeys pause, resume, sample-now, save-now and stop, and reports
each through events."""

from __future__ import annotations

import threading
import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_tui.config import RunConfig
from rnn_tui.errors import UserError
from rnn_tui.tasks.language import LanguageTask
from rnn_tui.train import events as ev
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
    from rnn_tui.tasks.series import SeriesTask

    finals = []
    for delay in (0.0, 0.002):
        cfg = RunConfig()
        cfg.update(SERIES_DEFAULTS)
        cfg.data.task, cfg.data.corpus = "series", "sales"
        cfg.train.steps, cfg.train.time_budget, cfg.train.eval_every = 120, 60.0, 1000
        task = SeriesTask.from_config(cfg.validate())
        step = task.step

        def slow_step(step=step, delay=delay):
            time.sleep(delay)  # a busier machine
            return step()

        task.step = slow_step
        Trainer(task, cfg, None, []).run()
        finals.append(task.net.params.data.copy())
    assert (finals[0] == finals[1]).all()


def test_one_step_at_a_time_while_paused(tmp_path):
    tr, got = make(tmp_path)
    tr.start()
    wait(lambda: tr.step >= 3)
    tr.pause()
    wait(lambda: any(isinstance(e, ev.Paused) for e in got))
    time.sleep(0.2)
    frozen = tr.step
    n_flow = sum(isinstance(e, ev.GradientFlow) for e in got)
    for k in (1, 2):
        tr.step_once()
        wait(lambda k=k: tr.step == frozen + k)
        time.sleep(0.2)
        assert tr.step == frozen + k and tr.paused  # exactly one batch, still paused
    # each single step reports that batch's progress and its gradient flow
    assert sum(isinstance(e, ev.GradientFlow) for e in got) >= n_flow + 2
    assert [e.step for e in got if isinstance(e, ev.StepEnded)][-2:] == [frozen + 1, frozen + 2]
    assert not any(isinstance(e, ev.Resumed) for e in got)
    tr.stop()
    assert tr.finished.wait(30)


def test_divergence_pause_then_resume_does_not_restart_the_run(tmp_path):
    """A blow-up pauses the run (the app's mode); resuming continues the same loop: no second
    run_started, and the clock and the time budget carry on from where they stood."""
    from rnn_tui.models.training import NonFiniteError

    tr, got = make(tmp_path)
    tr.on_nonfinite = "pause"
    tr.cfg.train.time_budget = 60.0
    real_step = tr.task.step
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] == 6:
            raise NonFiniteError("loss nan, gradient norm nan")
        return real_step()

    tr.task.step = flaky
    tr.start()
    wait(lambda: any(isinstance(e, ev.Paused) for e in got))
    paused = [e for e in got if isinstance(e, ev.Paused)][0]
    assert "diverged" in paused.reason and tr.step == 5
    time.sleep(0.5)
    before = tr.elapsed()
    time.sleep(0.3)
    # a pause is not training time: elapsed stands still, as the time left does
    assert tr.elapsed() - before < 0.1
    tr.sample_now()  # an event sent while paused carries the same clock
    wait(lambda: any(isinstance(e, ev.SampleText) for e in got))
    sample = [e for e in got if isinstance(e, ev.SampleText)][0]
    assert sample.elapsed_s - before < 0.2
    tr.resume()
    wait(lambda: tr.step >= 10)
    tr.stop()
    assert tr.finished.wait(30)
    import threading as _t

    assert not any(th.name == "rnn-tui-trainer" and th is not tr.thread
                   for th in _t.enumerate())
    assert sum(isinstance(e, ev.RunStarted) for e in got) == 1
    fin = [e for e in got if isinstance(e, ev.Finished)]
    assert len(fin) == 1
    # the paused time is not training time: elapsed at the end is well under the wall time
    assert fin[0].elapsed_s < 60


def test_best_weights_kept_and_patience_stops_the_run(tmp_path):
    """best.npz holds the weights of the best evaluation; with patience the run stops after that
    many evaluations without a new best, and says why."""
    from rnn_tui.tasks.language import LanguageTask
    from rnn_tui.train.runs import load_checkpoint

    cfg = RunConfig()
    cfg.update({"data": {"corpus": "arithmetic"}, "model": {"hidden": 16, "embed": 8},
                "train": {"batch": 4, "seq": 16, "time_budget": 0, "steps": 400,
                          "eval_every": 10, "eval_tokens": 400, "sample_every": 100000,
                          "checkpoint_every": 100000, "patience": 3, "lr": 0.05,
                          "lr_schedule": "constant"}})
    task = LanguageTask.from_config(cfg.validate())
    vals = iter([3.0, 2.0, 2.5, 1.5, 1.6, 1.7, 1.8, 1.0])
    real_eval = task.evaluate
    snapshots = {}

    def scripted():
        v = next(vals)
        snapshots[v] = task.net.params.data.copy()
        real_eval()
        return v, {}

    task.evaluate = scripted
    got: list[ev.Event] = []
    tr = Trainer(task, cfg, tmp_path, [got.append])
    reason = tr.run()
    assert reason == "early stopping" and tr.step == 70
    fin = [e for e in got if isinstance(e, ev.Finished)][0]
    assert fin.reason == "early stopping" and fin.best_val_loss == 1.5 and fin.best_step == 40
    best, meta = load_checkpoint(tmp_path / "best.npz")
    assert meta["step"] == 40 and meta["best_val_loss"] == 1.5
    np.testing.assert_array_equal(best["params"], snapshots[1.5])
    latest, lmeta = load_checkpoint(tmp_path / "checkpoint.npz")
    assert lmeta["step"] == 70 and not np.array_equal(latest["params"], best["params"])
    kinds = [e.kind for e in got if isinstance(e, ev.CheckpointSaved)]
    assert kinds.count("best") == 3  # 3.0, 2.0, 1.5
    notes = [e for e in got if isinstance(e, ev.Notice)]
    assert len(notes) == 1 and "memorising" in notes[0].message and notes[0].step == 60


def test_plateau_schedule_halves_the_learning_rate_when_validation_stalls(tmp_path):
    from rnn_tui.tasks.language import LanguageTask

    cfg = RunConfig()
    cfg.update({"data": {"corpus": "arithmetic"}, "model": {"hidden": 8, "embed": 4},
                "train": {"batch": 4, "seq": 8, "time_budget": 0, "steps": 70, "warmup": 0,
                          "eval_every": 10, "eval_tokens": 100, "sample_every": 100000,
                          "checkpoint_every": 100000, "patience": 4, "lr": 0.01,
                          "lr_schedule": "plateau"}})
    task = LanguageTask.from_config(cfg.validate())
    vals = iter([2.0, 2.1, 2.2, 1.0, 1.1, 1.2, 1.3])
    task.evaluate = lambda: (next(vals), {})
    got: list[ev.Event] = []
    tr = Trainer(task, cfg, None, [got.append])
    lrs = {}
    real_step = task.step

    def step():
        lrs[tr.step + 1] = task.opt.lr
        return real_step()

    task.step = step
    tr.run()
    # two bad evaluations (steps 20, 30) halve it; a new best (40) keeps it; two more (50, 60)
    # halve it again
    assert lrs[1] == lrs[30] == 0.01
    assert lrs[31] == lrs[60] == 0.005
    assert lrs[61] == 0.0025


def test_learning_rate_schedule_values():
    """Warm-up and cosine values at chosen steps, against the formula written out."""
    import math

    from rnn_tui.tasks.language import LanguageTask

    cfg = RunConfig()
    cfg.update({"data": {"corpus": "arithmetic"}, "model": {"hidden": 8, "embed": 4},
                "train": {"batch": 4, "seq": 8, "steps": 1000, "warmup": 100, "lr": 0.02,
                          "lr_schedule": "cosine", "time_budget": 0}})
    tr = Trainer(LanguageTask.from_config(cfg.validate()), cfg, None, [])
    expect = {0: 0.02 * 1 / 100 * (0.1 + 0.45 * 2), 49: 0.02 * 0.5 * (0.1 + 0.45 * (1 + math.cos(
        math.pi * 0.049))), 100: 0.02 * (0.1 + 0.45 * (1 + math.cos(math.pi * 0.1))),
        500: 0.02 * 0.55, 1000: 0.002}
    for step, want in expect.items():
        tr.step = step
        assert abs(tr.learning_rate() - want) < 1e-12, (step, tr.learning_rate(), want)
    cfg.train.lr_schedule = "constant"
    tr.step = 500
    assert tr.learning_rate() == 0.02


def test_step_events_carry_the_norms_before_clipping(tmp_path):
    """The global and per-layer norms a step event reports are those before clipping, and the
    clipped steps are counted."""
    import numpy as np

    from rnn_tui.core.optim import global_norm

    tr, got = make(tmp_path)
    tr.cfg.train.clip = 1e-3  # every step is clipped
    tr.cfg.train.steps = 6
    task = tr.task
    real = task.step
    pre = []

    def spy():
        from rnn_tui.core import optim

        saved = optim.clip_global_norm

        def record(grad, max_norm):
            groups = {g: float(np.sqrt(sum(float(global_norm(grad[s.offset:s.offset + s.size]))
                                           ** 2 for s in slots)))
                      for g, slots in task.net.params.layout.groups().items()}
            pre.append((float(global_norm(grad)), groups))
            return saved(grad, max_norm)

        import rnn_tui.models.training as training

        training.clip_global_norm = record
        try:
            return real()
        finally:
            training.clip_global_norm = saved

    task.step = spy
    tr.run()
    steps = [e for e in got if isinstance(e, ev.StepEnded)]
    assert steps[-1].clipped_steps == 6 and steps[-1].clip == 1e-3
    for e in steps:
        norm, groups = pre[e.step - 1]
        assert abs(e.grad_norm - norm) <= 1e-9 * norm
        for k, v in groups.items():
            assert abs(e.grad_norms[k] - v) <= 1e-4 * v + 1e-9


def test_compile_clock_counts_a_compile():
    """``compile_seconds`` grows while a kernel compiles, by no more than the wall time the
    compile took, and not at all while nothing compiles."""
    from numba import njit

    from rnn_tui.core.fast._jit import compile_seconds

    @njit
    def fresh(x):  # a new function: compiled on this call
        return x * 2 + 1

    before = compile_seconds()
    t0 = time.perf_counter()
    assert fresh(3) == 7
    wall = time.perf_counter() - t0
    spent = compile_seconds() - before
    assert 0 < spent <= wall
    idle = compile_seconds()
    time.sleep(0.05)
    assert compile_seconds() == idle


def test_time_budget_leaves_out_compile_time(tmp_path, monkeypatch):
    """A run's clock (its time budget, its events' elapsed_s) does not count time spent
    compiling kernels: on a new install that would eat a short budget whole."""
    import rnn_tui.train.trainer as trainer_mod

    fake = {"s": 0.0}
    monkeypatch.setattr(trainer_mod, "compile_seconds", lambda: fake["s"])
    tr, _got = make(tmp_path)
    plain = tr.elapsed()
    fake["s"] = 5.0  # five seconds of compiling happen now
    less = tr.elapsed()
    # the 5 s are taken off (the margin: the moment between the two calls)
    assert plain - 5.0 <= less <= plain - 4.0


def test_no_memorising_notice_when_nothing_is_held_out(tmp_path):
    """Two tagged sentences are too few to hold any out: validation scores the training
    sentences, so a stall there is no sign of memorising and no notice says it is."""
    from rnn_tui.tasks.tag import TagTask

    data = tmp_path / "two.tsv"
    data.write_text("The\tDET\ndog\tNOUN\n\nA\tDET\ncat\tNOUN\n")
    cfg = RunConfig()
    cfg.update({"data": {"task": "tag", "corpus": str(data)},
                "train": {"time_budget": 0, "steps": 400, "eval_every": 10, "patience": 0,
                          "sample_every": 100000, "checkpoint_every": 100000}})
    task = TagTask.from_config(cfg.validate())
    assert not task.held_out
    vals = iter([0.5, 0.4] + [0.9] * 100)  # stalls for good after the second evaluation
    real_eval = task.evaluate

    def scripted():
        _, metrics = real_eval()
        v = next(vals)
        return v, {**metrics, "accuracy": 1.0 - v}

    task.evaluate = scripted
    got: list[ev.Event] = []
    Trainer(task, cfg, tmp_path, [got.append]).run()
    assert sum(isinstance(e, ev.Evaluated) for e in got) >= 10
    assert not [e for e in got if isinstance(e, ev.Notice)]
