"""The contract every task keeps with the trainer, checked for each entry of
``session.TASK_CLASSES`` and each variant in ``session.TASK_VARIANTS`` (a new task gets this test
by being listed): built from its own defaults on small data, it trains a few steps; its
evaluation is repeatable; ``checkpoint()`` / ``restore()`` give a task that checkpoints and
evaluates to the same bits; a run stopped and resumed from its checkpoint ends with the same
weights as one that never stopped; and the events it emits are well formed, in order, and
include the ones its views draw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnn_tui import session
from rnn_tui.config import TASK_DEFAULTS, RunConfig
from rnn_tui.train import events as ev
from rnn_tui.train.runs import load_checkpoint
from rnn_tui.train.trainer import Trainer

# Small sizes for every task: the test checks the contract, not learning.
SMALL = {
    "model": {"hidden": 8, "embed": 4, "layers": 1},
    "train": {"batch": 4, "seq": 8, "steps": 6, "time_budget": 0, "eval_every": 3,
              "eval_tokens": 200, "checkpoint_every": 3, "sample_every": 3, "sample_len": 12,
              "log_every": 1, "lr_schedule": "constant", "warmup": 0, "patience": 0,
              "seed": 3},
}
# Small data where a task's default corpus is large (kind -> data settings).
SMALL_DATA = {
    "char": {"corpus": "arithmetic"},
    "word": {"corpus": "arithmetic", "min_count": 1},
    "seq2seq": {"pairs": 300},
}
# What turns each variant on (module.class -> settings).
VARIANT_SETTINGS = {
    "rnn_tui.tasks.windows.WindowTask": {"data": {"windows": 6}},
    "rnn_tui.tasks.window_series.WindowSeriesTask": {"data": {"scaling": "minmax",
                                                              "lookback": 8}},
}
# The event each view draws, where its name is not the view's.
VIEW_EVENTS = {"text": "sample"}


def cases() -> list:
    out = [pytest.param(kind, {}, id=kind) for kind in session.TASK_CLASSES]
    for kind, variants in session.TASK_VARIANTS.items():
        for _applies, module, name in variants:
            settings = VARIANT_SETTINGS.get(f"{module}.{name}")
            out.append(pytest.param(kind, settings, id=f"{kind}-{name}"))
    return out


def make_config(kind: str, variant: dict | None) -> RunConfig:
    assert variant is not None, "a variant in TASK_VARIANTS without VARIANT_SETTINGS here"
    cfg = RunConfig()
    cfg.update(TASK_DEFAULTS.get(kind, {}))
    cfg.update({"data": {"task": kind, **SMALL_DATA.get(kind, {})}, **SMALL})
    cfg.update(variant)
    return cfg.validate()


def train(kind, variant, run_dir, stop_at=0, resume_from=None):
    """A task built from the config and trained for its 6 steps, stopped after ``stop_at``
    (as by Ctrl-C: it saves its checkpoint) and continuing a checkpoint where given:
    (task, events)."""
    cfg = make_config(kind, variant)
    task = session.build_task(cfg)
    run_dir.mkdir()
    got: list[ev.Event] = []
    tr = Trainer(task, cfg, run_dir, [got.append])
    if stop_at:
        tr.sinks.append(lambda e: e.type == "step" and e.step >= stop_at and tr.stop())
    if resume_from is not None:
        tr.restore(*load_checkpoint(resume_from))
    assert tr.run() == ("stopped" if stop_at else "done"), [e for e in got if e.type == "failed"]
    return task, got


def weights(task) -> list[np.ndarray]:
    out = []
    for g in task.parameter_groups():
        out.append(g.params.data.copy())
        out.extend(v.copy() for _, v in sorted(g.optimizer.state.items()))
    return out


def same_checkpoint(a, b) -> None:
    (arrays_a, meta_a), (arrays_b, meta_b) = a, b
    assert sorted(arrays_a) == sorted(arrays_b)
    for k in arrays_a:
        assert arrays_a[k].dtype == arrays_b[k].dtype, k
        np.testing.assert_array_equal(arrays_a[k], arrays_b[k], err_msg=k)
    assert json.dumps(meta_a, sort_keys=True, default=str) == \
        json.dumps(meta_b, sort_keys=True, default=str)


@pytest.mark.parametrize("kind,variant", cases())
def test_task_keeps_the_contract(kind, variant, tmp_path):
    cfg = make_config(kind, variant)
    want = session.task_class_for(cfg)
    if variant:
        assert want is not session.task_class(kind), "the variant's settings do not select it"

    # trains a few steps from its defaults, through the interface only
    task, events = train(kind, variant, tmp_path / "whole")
    assert type(task) is want
    groups = task.parameter_groups()
    assert groups and all(g.params.data.size > 0 for g in groups)
    assert len({g.name for g in groups}) == len(groups)  # names tell them apart
    assert all(g.optimizer.name == cfg.train.optimizer for g in groups)
    assert all(g.optimizer.t == 6 for g in groups)
    assert all(np.all(np.isfinite(w)) for w in weights(task))

    # evaluation is repeatable, to the bit
    first = task.evaluate()
    assert np.isfinite(first[0])
    assert task.evaluate() == first

    # checkpoint -> restore into a fresh task -> the same checkpoint and the same evaluation
    saved = task.checkpoint()
    fresh = session.build_task(make_config(kind, variant))
    fresh.restore(*saved)
    same_checkpoint(fresh.checkpoint(), task.checkpoint())
    assert fresh.evaluate() == first

    # stopped at step 3 and resumed from its checkpoint: the same weights at step 6
    train(kind, variant, tmp_path / "half", stop_at=3)
    resumed, more = train(kind, variant, tmp_path / "rest", resume_from=tmp_path / "half")
    for a, b in zip(weights(resumed), weights(task), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.evaluate() == first
    assert more[0].type == "run_started" and more[0].resumed
    assert [e.step for e in more if e.type == "step"] == [4, 5, 6]

    # the events: well formed, in order, and what the task's views draw
    types = [e.type for e in events]
    assert types[0] == "run_started" and types[-1] == "finished"
    assert not {"failed", "paused"} & set(types)
    assert all(t in ev.EVENT_TYPES for t in types)
    for e in events:
        again = ev.event_from_dict(json.loads(json.dumps(e.to_dict())))
        assert again is not None and again.to_dict() == e.to_dict(), e.type
    started = events[0]
    assert started.parameters == sum(g.params.data.size for g in groups)
    assert started.views == list(task.views)
    steps = [e for e in events if e.type == "step"]
    assert [e.step for e in steps] == list(range(1, 7))
    assert all(np.isfinite(e.loss) and e.lr == cfg.train.lr for e in steps)
    assert all(e.grad_norms and all(np.isfinite(v) for v in e.grad_norms.values())
               for e in steps)
    assert [e.step for e in events if e.type == "eval"] == [3, 6]
    assert {e.step for e in events if e.type == "checkpoint"} >= {3, 6}
    for view in task.views:
        assert VIEW_EVENTS.get(view, view) in types, view
    assert types.count("finished") == 1
