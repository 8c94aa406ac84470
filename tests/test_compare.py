"""``rnn-tui compare``: several runs' curves overlaid, named by what differs, a sortable table,
hide / pin, one run's own dashboard, a sweep followed while it runs — driven with Pilot over
run directories written from replayed event streams (no training, no Ray)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from app_events import language_run
from rnn_tui.cli import main
from rnn_tui.config import RunConfig
from rnn_tui.train import events as ev
from rnn_tui.train.runs import MetricsWriter
from rnn_tui.tui.compare_app import CompareApp
from rnn_tui.tui.runset import RunSet
from rnn_tui.tui.screens.compare import CompareScreen, RunDashboardScreen
from rnn_tui.tui.widgets.compare import RunTable, ValLossChart
from test_app import Checks, screen_text

CELLS = ("rnn", "lstm", "gru")


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "config"))


def write_run(run_dir: Path, cell: str, events=None, finished: bool = True) -> Path:
    """A run directory as `rnn-tui train` leaves it: config.toml and metrics.jsonl."""
    run_dir.mkdir(parents=True)
    evs = events if events is not None else language_run(cell=cell, layers=1)
    started = evs[0]
    cfg = RunConfig.from_dict(started.config)
    (run_dir / "config.toml").write_text(cfg.to_toml())
    # distinct curves: the better cell ends lower
    shift = {"rnn": 0.4, "lstm": 0.0, "gru": 0.1}.get(cell, 0.0)
    w = MetricsWriter(run_dir / "metrics.jsonl")
    for e in evs:
        if isinstance(e, ev.Evaluated):
            e.val_loss += shift
            e.best_val_loss = e.val_loss
        w(e)
    if finished:
        w(ev.Finished(step=600, reason="time budget"))
    w.close()
    return run_dir


@pytest.fixture
def sweep(tmp_path) -> Path:
    root = tmp_path / "runs" / "grid"
    for cell in CELLS:
        write_run(root / cell, cell)
    (root / "sweep.json").write_text(json.dumps({
        "trials": [{"name": c, "dir": c, "status": "finished"} for c in CELLS]}))
    return root


def compare_app(paths) -> CompareApp:
    return CompareApp(RunSet.from_paths(paths), theme="rnn-dark", remember_theme=False)


def table_labels(app) -> list[str]:
    t = app.screen.query_one(RunTable)
    return [str(t.get_row_at(i)[1]) for i in range(t.row_count)]


# ---------------------------------------------------------------------------- the run set
def test_a_sweep_folder_stands_for_its_trials_named_by_what_differs(sweep, tmp_path):
    rs = RunSet.from_paths([sweep])
    assert [r.label for r in rs.runs] == ["rnn", "lstm", "gru"]
    assert len({r.colour for r in rs.runs}) == 3
    extra = write_run(tmp_path / "other", "gru", language_run(cell="gru", layers=1, hidden=48))
    rs = RunSet.from_paths([sweep, extra])
    assert [r.label for r in rs.runs][-1] == "gru hidden=48"


def test_compare_refuses_what_is_not_a_run(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nowhere")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("rnn-tui: error:") for e in err)
    assert "neither a run directory" in err[1]


# ---------------------------------------------------------------------------- the screen
@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_compare_snapshot(sweep, size, monkeypatch, snap_compare):
    monkeypatch.chdir(sweep.parent.parent)  # a relative path on the status line

    async def steps(pilot):
        app = pilot.app
        for _ in range(50):  # a loaded machine: wait for the rows, then a settled frame
            await pilot.pause(0.1)
            if isinstance(app.screen, CompareScreen) and \
                    app.screen.query_one(RunTable).row_count == 3:
                break
        await pilot.pause(0.5)
        await pilot.wait_for_scheduled_animations()
        text = screen_text(app)
        for cell in CELLS:
            assert cell in text

    checks = Checks()
    checks.check(snap_compare(compare_app(["runs/grid"]), terminal_size=size,
                              run_before=checks(steps)))


def test_legend_sort_hide_pin_and_open(sweep):
    async def go():
        app = compare_app([sweep])
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            scr = app.screen
            rs = scr.runs
            # best validation loss first: lstm < gru < rnn
            assert table_labels(app) == ["lstm", "gru", "rnn"]
            assert all(r.state.val for r in rs.runs)  # each run's validation curve is there
            await pilot.press("r")
            assert table_labels(app) == ["rnn", "gru", "lstm"]
            await pilot.press("s")  # next column: the last validation loss
            assert rs.sort_column[0] == "val" and not rs.reverse
            for _ in range(4):
                await pilot.press("s")
            assert rs.sort_column[0] == "run"
            assert table_labels(app) == ["gru", "lstm", "rnn"]
            await pilot.press("s")
            assert rs.sort_column[0] == "best"

            # hide the selected run (the first row: lstm), then show it again
            await pilot.press("h")
            lstm = next(r for r in rs.runs if r.label == "lstm")
            assert lstm.hidden and lstm not in rs.visible
            assert "(hidden)" in table_labels(app)[0]
            await pilot.press("h")
            assert not lstm.hidden

            # pin the last row (rnn): it goes to the top and is drawn last (on top)
            await pilot.press("down", "down", "p")
            rnn = next(r for r in rs.runs if r.label == "rnn")
            assert rnn.pinned and rs.visible[-1] is rnn
            assert table_labels(app)[0] == "★ rnn"
            await pilot.pause(1.1)
            assert "★ rnn" in app.export_screenshot().replace("&#160;", " ")  # the legend

            # open the selected run's own dashboard, then come back
            await pilot.press("enter")
            await pilot.pause(0.5)
            dash = app.screen
            assert isinstance(dash, RunDashboardScreen)
            assert dash.source.run_dir == rnn.path
            assert dash.state.started.config["model"]["cell"] == "rnn"
            await pilot.press("escape")
            assert app.screen is scr
            await pilot.press("q")

    asyncio.run(go())


def test_compare_follows_a_running_sweep(tmp_path):
    root = tmp_path / "runs" / "live"
    evs = language_run(cell="rnn", layers=1)
    first_eval = next(i for i, e in enumerate(evs) if isinstance(e, ev.Evaluated))
    write_run(root / "rnn", "rnn", evs[:first_eval + 1], finished=False)
    (root / "sweep.json").write_text(json.dumps({"trials": [
        {"name": "rnn", "dir": "rnn", "status": "running"},
        {"name": "gru", "dir": "gru", "status": "pending"}]}))

    async def go():
        app = compare_app([root])
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            rs = app.screen.runs
            assert [r.name for r in rs.runs] == ["rnn"]
            assert len(rs.runs[0].state.val) == 1
            # the run goes on: more evaluations reach the curve
            w = MetricsWriter(root / "rnn" / "metrics.jsonl")
            for e in evs[first_eval + 1:]:
                w(e)
            w.close()
            # another trial starts
            write_run(root / "gru", "gru", finished=False)
            for _ in range(40):
                await pilot.pause(0.1)
                if len(rs.runs) == 2 and len(rs.runs[0].state.val) > 1:
                    break
            assert [r.label for r in rs.runs] == ["rnn", "gru"]
            assert len(rs.runs[0].state.val) == 6
            assert rs.runs[0].status == "training"
            chart = app.screen.query_one(ValLossChart)
            assert chart.runs is rs

    asyncio.run(go())


# ---------------------------------------------------------------------------- in the app
def test_setup_starts_the_same_run_with_another_cell_and_C_compares(tmp_path):
    from app_events import language_run as lr
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.screens.setup import SetupScreen
    from rnn_tui.tui.source import ReplaySource

    a = write_run(tmp_path / "runs" / "a", "gru")
    b = write_run(tmp_path / "runs" / "b", "lstm", lr(cell="lstm", layers=1))
    started = []

    async def go():
        app = RnnTuiApp(ReplaySource(lr(cell="gru", layers=1), run_dir=a), cfg=RunConfig(),
                        theme="rnn-dark", remember_theme=False)
        app.switch_run = started.append  # no training here: record what would start
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("C")  # one run so far: nothing to compare yet
            assert not isinstance(app.screen, CompareScreen)
            await pilot.press("n")
            assert isinstance(app.screen, SetupScreen)
            app.screen.query_one("#same-lstm").press()
            await pilot.pause(0.2)
            assert [c.model.cell for c in started] == ["lstm"]
            assert not isinstance(app.screen, SetupScreen)
            # as after the switch: the previous run is remembered, the new one trains
            app.session_runs.append(a)
            app.source = ReplaySource([], run_dir=b)
            await pilot.press("C")
            await pilot.pause(0.3)
            assert isinstance(app.screen, CompareScreen)
            assert [r.label for r in app.screen.runs.runs] == ["gru", "lstm"]
            await pilot.press("escape")
            assert not isinstance(app.screen, CompareScreen)

    asyncio.run(go())
