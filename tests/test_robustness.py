"""Interruptions and blow-ups: signals save and say how to resume; kill -9 at random moments
never breaks the last checkpoint and --resume carries on; a diverging run stops before the
weights are touched and never writes a non-finite checkpoint."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnn_tui.cli import main
from rnn_tui.config import RunConfig
from rnn_tui.train.runs import load_checkpoint

SMALL = ["--corpus", "arithmetic", "--hidden", "32", "--embed", "8", "--seq", "16",
         "--batch", "8", "--eval-every", "50", "--eval-tokens", "2000", "--sample-every",
         "100000", "--quiet"]


def start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "rnn_tui.cli", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_steps(run_dir, n, timeout=90):
    t0 = time.time()
    while time.time() - t0 < timeout:
        p = run_dir / "metrics.jsonl"
        if p.exists() and p.read_text().count('"type":"step"') >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the run did not start in time")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_saves_and_says_how_to_resume(tmp_path, sig):
    run = tmp_path / "r"
    p = start(["train", *SMALL, "--runs-dir", str(tmp_path), "--name", "r", "--time-budget",
               "120", "--log-every", "1"], tmp_path)
    wait_for_steps(run, 3)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + sig, err  # the shell's convention: 130, 143, 129
    assert "Traceback" not in err
    assert f"--resume {run}" in err
    arrays, meta = load_checkpoint(run)
    assert meta["step"] >= 3 and np.all(np.isfinite(arrays["params"]))
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["type"] == "finished" and last["reason"] == "interrupted"


def test_kill_9_at_random_moments_then_resume(tmp_path):
    rng = random.Random(0)
    run = tmp_path / "k"
    args = ["train", *SMALL, "--runs-dir", str(tmp_path), "--name", "k", "--time-budget", "0",
            "--steps", "1000000", "--checkpoint-every", "10", "--log-every", "5"]
    p = start(args, tmp_path)
    wait_for_steps(run, 3)
    time.sleep(rng.uniform(0.0, 0.5))
    p.kill()
    p.wait()
    steps_seen = []
    for _ in range(4):
        arrays, meta = load_checkpoint(run)  # intact after every kill
        assert np.all(np.isfinite(arrays["params"]))
        steps_seen.append(meta["step"])
        p = start(["train", "--resume", str(run), "--quiet"], tmp_path)
        time.sleep(rng.uniform(2.5, 4.0))
        p.kill()
        p.wait()
    arrays, meta = load_checkpoint(run)
    steps_seen.append(meta["step"])
    assert steps_seen == sorted(steps_seen) and steps_seen[-1] > steps_seen[0], steps_seen
    target = steps_seen[-1] + 20
    assert main(["train", "--resume", str(run), "--steps", str(target), "--quiet"]) == 0
    _, meta = load_checkpoint(run)
    assert meta["step"] == target  # it carried on from the last checkpoint and finished
    lines = (run / "metrics.jsonl").read_text().splitlines()
    parsed = 0
    for line in lines:
        try:
            json.loads(line)
            parsed += 1
        except json.JSONDecodeError:
            pass
    assert parsed >= len(lines) - 5  # at most the torn line of each kill is lost


def test_blow_up_is_caught_rolled_back_and_said(tmp_path, capsys):
    """Headless, a step that would make the weights non-finite is never applied: the run rolls
    back to recent weights, halves the rate, turns clipping on, says so each time, and goes
    on; every checkpoint stays finite."""
    args = ["train", *SMALL, "--runs-dir", str(tmp_path), "--name", "b", "--time-budget", "0",
            "--steps", "300", "--checkpoint-every", "5", "--lr", "1e6", "--clip", "0",
            "--optimizer", "sgd", "--warmup", "0", "--lr-schedule", "constant"]
    rc = main(args)
    out = capsys.readouterr().out
    assert rc == 0
    assert "diverged at step" in out and "rolled back" in out and "clipping is now on" in out
    evs = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    notes = [e for e in evs if e["type"] == "notice" and e["kind"] == "diverged"]
    assert 1 <= len(notes) <= 8 and evs[-1]["type"] == "finished"
    arrays, meta = load_checkpoint(tmp_path / "b")
    assert np.all(np.isfinite(arrays["params"])) and meta["config"]["train"]["clip"] == 1.0


def test_a_blow_up_that_will_not_go_away_fails_with_the_reason(tmp_path):
    from rnn_tui.models.training import NonFiniteError
    from rnn_tui.session import build_task
    from rnn_tui.train import events as ev
    from rnn_tui.train.trainer import MAX_RECOVERIES, Trainer

    cfg = RunConfig()
    cfg.update({"data": {"corpus": "arithmetic"}, "model": {"hidden": 8, "embed": 4},
                "train": {"batch": 4, "seq": 8, "steps": 50, "time_budget": 0}})
    task = build_task(cfg.validate())
    before = task.net.params.data.copy()

    def always():
        raise NonFiniteError("loss nan, gradient norm nan")

    task.step = always
    got: list = []
    assert Trainer(task, cfg, tmp_path, [got.append], on_nonfinite="recover").run() == "failed"
    assert sum(isinstance(e, ev.Notice) for e in got) == MAX_RECOVERIES
    assert isinstance(got[-1], ev.Failed) and "Lower the learning rate" in got[-1].message
    np.testing.assert_array_equal(task.net.params.data, before)
    got.clear()
    assert Trainer(task, cfg, tmp_path, [got.append], on_nonfinite="stop").run() == "failed"
    assert not any(isinstance(e, ev.Notice) for e in got)  # "stop" stops at once


def test_nonfinite_never_updates_weights():
    from rnn_tui.core import NetSpec, Network, make_optimizer
    from rnn_tui.models.training import NonFiniteError, train_step

    net = Network(NetSpec(cell="rnn", input_mode="onehot", input_size=5, hidden=4,
                          output_size=5), dtype=np.float64)
    net.params["l0.W_hh"][0, 0] = np.inf
    before = net.params.data.copy()
    opt = make_optimizer("adam", net.params.data.size, np.float64, 1e-2)
    x = np.zeros((3, 2), dtype=int)
    with pytest.raises(NonFiniteError):
        train_step(net, x, x, net.initial_state(2), opt, clip=1.0)
    np.testing.assert_array_equal(net.params.data, before)


WATCHDOG = """
import signal, time
from rnn_tui.runtime import exit_anyway_after

class Saved:  # a run that has saved and closed its log
    def join(self, timeout=None):
        return True

exit_anyway_after(lambda: Saved(), signal.SIGHUP, grace=0.2)
time.sleep(120)  # an app that cannot finish leaving
"""


def test_a_signal_ends_the_process_even_when_the_app_cannot_leave():
    p = subprocess.run([sys.executable, "-c", WATCHDOG], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 128 + signal.SIGHUP, p.stderr


def test_a_sighup_from_kill_leaves_a_terminal_that_is_still_there_alone(tmp_path):
    """Only a terminal that hung up is swapped for /dev/null: pipes and files keep the
    messages on the way out."""
    code = ("import os, sys\nfrom rnn_tui.runtime import output_to_devnull\n"
            "output_to_devnull()\nprint('still here', flush=True)\n"
            "print('and here', file=sys.stderr, flush=True)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout == "still here\n" and p.stderr == "and here\n"
