"""The model view (u): the network unrolled over the current sequence, then folded into its
loop, beside the summary table; a classifier has y at the last step only, a tagger at every
step. Driven by recorded event streams (tests/app_events.py)."""

from __future__ import annotations

import math

import pytest

from app_events import classify_run, model_snapshot, tag_run
from rnn_tui.train import events as ev
from rnn_tui.tui.widgets.unrolled import STEP, ModelView, model_text
from test_app import Checks, replay_app


def lines_of(pilot) -> list[str]:
    return str(pilot.app.screen.query_one(ModelView).render()).splitlines()


def y_labels(lines: list[str]) -> list[int]:
    """The columns of the y_t labels (each a '%' after its class)."""
    y = next(line for line in lines if line.startswith("y_t"))
    return [i for i, ch in enumerate(y) if ch == "%"]


def box_columns(lines: list[str]) -> list[int]:
    """Where each step's box starts, from the x_t arrows."""
    arrows = [line for line in lines if "↑W_xh" in line][-1]
    return [i - 2 for i in range(len(arrows)) if arrows.startswith("↑W_xh", i)]


# (run, size, y at every step)
CASES = {"classify-80x24": (classify_run, (80, 24), False),
         "tag-120x40": (tag_run, (120, 40), True)}


@pytest.mark.parametrize("name", list(CASES))
def test_model_view_snapshot(name, snap_compare):
    run, size, every_step = CASES[name]

    async def steps(pilot):
        await pilot.pause(0.3)
        await pilot.press("u")
        await pilot.pause(0.3)
        dash = pilot.app.screen
        assert dash.maximized is dash.query_one("#hidden-panel")
        lines = lines_of(pilot)
        text = "\n".join(lines)
        assert "W_hh" in text and "x_t" in text and "y_t" in text
        assert "the same W_xh, W_hh, W_hy at every step" in text
        boxes = box_columns(lines)
        ys = y_labels(lines)
        if every_step:
            assert len(ys) == len(boxes) > 1  # a y above every step
            assert "many-to-many: y at every step" in text
        else:
            assert len(ys) == 1 and len(boxes) > 1  # one y, above the last step
            assert boxes[-1] <= ys[0] < boxes[-1] + STEP
            assert "many-to-one: y only after the last step" in text
        assert "◀W_hh─" in text and "─W_hh▶" in text  # the backward chain runs the other way
        assert "Δ/‖W‖" in text and "embedding" in text and "head" in text
        # each box fits: the chain is as wide as the terminal allows, no wider
        assert max(len(line) for line in lines) <= size[0] - 2

    checks = Checks()
    checks.check(snap_compare(replay_app(run(model=True)), terminal_size=size,
                              run_before=checks(steps)))


def test_loop_view_snapshot(snap_compare):
    async def steps(pilot):
        await pilot.pause(0.3)
        await pilot.press("u", "u")
        await pilot.pause(0.3)
        text = "\n".join(lines_of(pilot))
        assert "╭▶" in text and "W_hh" in text and "(t = 9)" in text
        assert "one cell, its state fed back through W_hh" in text
        await pilot.press("u")
        await pilot.pause(0.2)
        dash = pilot.app.screen
        assert dash.maximized is None and dash.memory_view() == "heatmap"
        await pilot.press("u")
        await pilot.pause(0.2)
        assert dash.memory_view() == "model" and not dash.query_one(ModelView).loop

    checks = Checks()
    checks.check(snap_compare(replay_app(tag_run(model=True)), terminal_size=(120, 40),
                              run_before=checks(steps)))


WORDS = "a b c d e f g h i j k l m n".split()


# (width, steps drawn, the table beside the chain rather than beneath)
@pytest.mark.parametrize("width,steps,beside", [(80, 4, False), (120, 7, False),
                                                (200, 7, True)])
def test_fewer_steps_fit_a_narrower_terminal_and_the_last_always_shows(width, steps, beside):
    snap = model_snapshot(1, WORDS[:8] + ["z"], ["t"] * 9, last_only=True)
    snap.times = [0, 1, 2, 3, 4, 5, 6, 7, 13]  # the sequence is longer than what was sent
    lines = model_text(snap, width, 40).plain.splitlines()
    boxes = box_columns(lines)
    assert len(boxes) == steps
    assert ("layer" in lines[0]) == beside
    x_line = next(line for line in lines if line.startswith("x_t"))
    assert x_line.rstrip().endswith("z")  # the last step, after a gap
    assert "─ … ─▶" in "\n".join(lines)
    assert max(len(line) for line in lines) <= width


@pytest.mark.parametrize("height", [24, 40])
def test_a_deep_bidirectional_model_fits_the_height(height):
    snap = model_snapshot(1, WORDS[:6], ["t"] * 6, last_only=False, layers=2)
    lines = model_text(snap, 78, height - 4).plain.splitlines()
    assert len(lines) <= height - 4
    assert sum(line.startswith("gru") and "│" in line for line in lines) == 4  # 2 x 2 chains


def test_a_snapshot_read_back_from_a_file_is_checked():
    good = model_snapshot(3, WORDS[:5], ["t"] * 5, last_only=False).to_dict()
    assert isinstance(ev.event_from_dict(good), ev.ModelSnapshot)
    for key, bad in [("outputs", ["t"]), ("times", [0]), ("act_mean", [0.0]),
                     ("h", [[[[0.1]]]]), ("units", -1), ("rows", "embedding")]:
        assert ev.event_from_dict({**good, key: bad}) is None, key
    nan = {**good, "update_ratio": [None] * len(good["rows"])}  # written so when NaN
    back = ev.event_from_dict(nan)
    assert back is not None and all(math.isnan(v) for v in back.update_ratio)


def test_u_waits_for_the_first_model_snapshot():
    """A run without model snapshots (an older metrics.jsonl): u is left out of the footer and
    pressing it says why, leaving the view as it was."""
    import asyncio

    from app_events import language_run
    from rnn_tui.tui.keys import KeyContext, why_not

    assert why_not("model_view", KeyContext(model=False)) is not None
    assert why_not("model_view", KeyContext(model=True)) is None

    async def go():
        app = replay_app(language_run())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("u")
            await pilot.pause(0.2)
            assert pilot.app.screen.memory_view() == "heatmap"
            assert pilot.app.screen.maximized is None

    asyncio.run(go())


@pytest.fixture(scope="module")
def seq2seq_snapshot():
    """A real encoder-decoder (reverse a string) after one step: its model snapshot."""
    from rnn_tui.config import TASK_DEFAULTS, RunConfig
    from rnn_tui.session import build_task

    cfg = RunConfig()
    cfg.update(TASK_DEFAULTS["seq2seq"])
    cfg.data.task, cfg.data.corpus = "seq2seq", "reverse"
    cfg.model.hidden, cfg.train.batch = 12, 8
    task = build_task(cfg.validate())
    before = task.parameter_groups()[0].params.data.copy()
    task.step()
    return task.model_snapshot(before)


@pytest.mark.parametrize("width,height", [(78, 20), (118, 36)])
def test_seq2seq_shows_encoder_decoder_and_attention(seq2seq_snapshot, width, height):
    snap = seq2seq_snapshot
    assert snap.dec_inputs[0] == "<s>" and snap.attention and len(snap.inputs) > 2
    if snap.times[-1] + 1 == len(snap.times):  # every source step sent: the weights add up
        assert all(abs(sum(row) - 1) < 0.01 for row in snap.attention)
    lines = model_text(snap, width, height).plain.splitlines()
    text = "\n".join(lines)
    assert len(lines) <= height and max(len(line) for line in lines) <= width
    dec = next(i for i, line in enumerate(lines) if line.startswith("dec 1"))
    enc = next(i for i, line in enumerate(lines) if line.startswith("enc 1"))
    alpha = next(i for i, line in enumerate(lines) if line.startswith("α"))
    assert dec < alpha < enc  # the decoder above, its attention over the encoder beneath
    assert sum(line.startswith("y_t") for line in lines) == 1  # only the decoder writes
    assert lines[alpha].count("%") == len(box_columns(lines[enc:]))  # a weight per step
    assert "attention of decoder step" in text and "seq2seq" in text and "W_hh" in text
    back = ev.event_from_dict(snap.to_dict())
    assert isinstance(back, ev.ModelSnapshot) and back.attention == snap.attention
    bad = {**snap.to_dict(), "attention": [[0.5] * (len(snap.inputs) + 1)] * len(
        snap.dec_inputs)}
    assert ev.event_from_dict(bad) is None
