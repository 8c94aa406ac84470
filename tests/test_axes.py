"""Axis ticks on round numbers: steps as integers, values on a 1-2-5 grid, log axes labelled
with the values."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rnn_tui.tui.widgets.axes import log_ticks, nice_step, nice_ticks, tick_label, value_label


def mantissa(step: float) -> float:
    return round(step / 10 ** math.floor(math.log10(step) + 1e-6), 4)


@pytest.mark.parametrize("span, n, step", [
    (786.8, 4, 200), (786.8, 8, 100), (1.0, 5, 0.2), (0.52, 4, 0.2), (0.52, 3, 0.2),
    (3, 10, 0.5), (1e-4, 2, 5e-5), (12345, 3, 5000),
])
def test_nice_step(span, n, step):
    assert nice_step(span, n) == pytest.approx(step)


@pytest.mark.parametrize("lo, hi, n, integer, expand, ticks", [
    (1.0, 787.8, 4, True, False, [200, 400, 600]),  # was 1.0 263.2 525.5 787.8
    (0.0, 11.0, 4, True, False, [0, 5, 10]),  # steps back in time: whole steps
    (0.0, 3.0, 8, True, False, [0, 1, 2, 3]),  # never a fractional step
    (0.24, 0.76, 3, False, True, [0.2, 0.4, 0.6, 0.8]),  # the axis ends on ticks
    (0.5, 0.81, 4, False, False, [0.5, 0.6, 0.7, 0.8]),
    (0.53, 0.81, 4, False, False, [0.6, 0.7, 0.8]),
])
def test_nice_ticks(lo, hi, n, integer, expand, ticks):
    got, lo2, hi2 = nice_ticks(lo, hi, n, integer=integer, expand=expand)
    assert got == pytest.approx(ticks)
    if expand:
        assert (lo2, hi2) == pytest.approx((ticks[0], ticks[-1]))


@given(st.floats(-1e6, 1e6), st.floats(1e-6, 1e6), st.integers(2, 12), st.booleans())
def test_ticks_are_evenly_spaced_on_the_1_2_5_grid(lo, span, n, integer):
    assume(span >= 1e-6 * max(1.0, abs(lo)))  # a span a chart can show in doubles
    ticks, lo2, hi2 = nice_ticks(lo, lo + span, n, integer=integer, expand=True)
    assert len(ticks) >= 2 and ticks[0] == pytest.approx(lo2) and ticks[-1] == pytest.approx(hi2)
    tol = 1e-6 * span + 1e-9 * abs(lo)  # a value a hair past a tick counts as on it
    assert lo2 <= lo + tol and hi2 >= lo + span - tol
    steps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    step = steps[0]
    assert all(s == pytest.approx(step, rel=1e-6) for s in steps)
    assert mantissa(step) in (1, 2, 5) or (integer and step == 1)
    if integer:
        assert all(t == round(t) for t in ticks)
    assert len(ticks) <= n + 2


@pytest.mark.parametrize("v, step, label", [
    (200, 200, "200"), (0.4, 0.2, "0.4"), (0.05, 0.05, "0.05"), (0, 0.1, "0"),
    (12000, 2000, "12k"), (2_500_000, 500_000, "2.5M"), (1.25, 0.25, "1.25"),
])
def test_tick_label(v, step, label):
    assert tick_label(v, step) == label


@pytest.mark.parametrize("lo, hi, n, labels", [
    (-2.0, 1.0, 4, ["0.01", "0.1", "1", "10"]),  # powers of ten
    (-6.0, 0.0, 3, ["1e-6", "1e-4", "0.01", "1"]),  # every two decades
    (-1.4, -0.9, 4, ["0.05", "0.1"]),  # inside a decade: the 1-2-5 values
    (-0.35, -0.2, 4, ["0.45", "0.5", "0.55", "0.6"]),  # less than a 1-2-5 step
])
def test_log_ticks_label_the_values(lo, hi, n, labels):
    pos, got = log_ticks(lo, hi, n)
    assert got == labels
    assert all(lo - 1e-9 <= p <= hi + 1e-9 for p in pos)
    assert [10 ** p for p in pos] == pytest.approx([float(x) for x in labels])


@pytest.mark.parametrize("v, label", [(0.01, "0.01"), (1e-5, "1e-5"), (2e6, "2e6"), (300, "300")])
def test_value_label(v, label):
    assert value_label(v) == label


@pytest.mark.parametrize("rows, ticks, per", [
    (15, [0.3, 0.4, 0.5, 0.6, 0.7], 3),  # 14 rows over 4 steps: 3 each, not 3, 4, 3, 4
    (9, [0.2, 0.4, 0.6, 0.8], 2),
    (4, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 1),  # more ticks than rows: thinned
])
def test_align_to_rows_puts_each_tick_the_same_rows_apart(rows, ticks, per):
    from rnn_tui.tui.widgets.axes import align_to_rows

    top, got = align_to_rows(ticks[0], ticks, rows)
    assert top >= got[-1] and len(got) >= 2
    at = [round((t - ticks[0]) / (top - ticks[0]) * (rows - 1), 6) for t in got]
    gaps = {b - a for a, b in zip(at, at[1:], strict=False)}
    assert len(gaps) == 1 and gaps.pop() >= per - 1e-6
    assert all(r == round(r) for r in at)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40",
                                                                        "200x60"])
@pytest.mark.parametrize("run", ["char", "classify"])
def test_charts_on_screen_have_round_ticks_evenly_spaced(size, run, monkeypatch, tmp_path):
    """The loss chart as drawn: x ticks whole steps, y ticks on the 1-2-5 grid and the same
    number of rows apart; the gradient chart's axis labelled with norms, not logarithms."""
    import asyncio
    import re

    from app_events import classify_run, language_run
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.source import ReplaySource
    from rnn_tui.tui.widgets.curves import GradChart, LossChart

    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path))
    events = language_run() if run == "char" else classify_run()

    async def go():
        app = RnnTuiApp(ReplaySource(events), theme="rnn-dark", remember_theme=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.4)
            dash = app.screen
            return (dash.query_one(LossChart).render().plain.splitlines(),
                    dash.query_one(GradChart).render().plain.splitlines())

    loss, grad = asyncio.run(go())
    ys = [(i, float(m.group(1))) for i, line in enumerate(loss)
          if (m := re.match(r"^\s*(-?[\d.]+)\s*┤", line))]
    assert len(ys) >= 2, loss
    rows = {b[0] - a[0] for a, b in zip(ys, ys[1:], strict=False)}
    steps = {round(a[1] - b[1], 9) for a, b in zip(ys, ys[1:], strict=False)}
    assert len(rows) == 1 and len(steps) == 1, loss
    assert mantissa(steps.pop()) in (1, 2, 5)
    axis = next(i for i, line in enumerate(loss) if "┬" in line)
    xs = loss[axis + 1].split()
    assert len(xs) >= 2 and all(re.fullmatch(r"\d+k?", x) for x in xs), loss[axis + 1]
    if run == "char":
        labels = [m.group(1) for line in grad if (m := re.match(r"^\s*(\S+)\s*┤", line))]
        assert labels and all(not lab.startswith("-") for lab in labels), grad
