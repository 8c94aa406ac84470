"""The app, driven headless with Textual's Pilot.

Replayed event streams (tests/app_events.py) make the screens deterministic, so their SVG
exports are kept as snapshots in tests/snapshots/ (RNN_TUI_UPDATE_SNAPSHOTS=1 rewrites them).
The live tests train a tiny real model and check that every control key reaches the trainer.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from textual.widgets import ContentSwitcher, Input, Label, Static

from app_events import language_run, series_run
from rnn_tui.config import RunConfig
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.screens.dashboard import DashboardScreen
from rnn_tui.tui.screens.generate import GenerateScreen
from rnn_tui.tui.screens.help import HelpScreen
from rnn_tui.tui.screens.setup import SetupScreen
from rnn_tui.tui.source import LiveSource, ReplaySource
from rnn_tui.tui.widgets.curves import GradChart
from rnn_tui.tui.widgets.heatmap import Heatmap

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def run(coro):
    return asyncio.run(coro)


def check_snapshot(name: str, svg: str, tmp_path: Path) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("RNN_TUI_UPDATE_SNAPSHOTS") or not path.exists():
        if not os.environ.get("RNN_TUI_UPDATE_SNAPSHOTS"):
            pytest.fail(f"no snapshot {path}; run with RNN_TUI_UPDATE_SNAPSHOTS=1 to create it")
        path.write_text(svg, encoding="utf-8")
        return
    if path.read_text(encoding="utf-8") != svg:
        (tmp_path / f"{name}.svg").write_text(svg, encoding="utf-8")
        pytest.fail(f"screen differs from {path}; the new one is in {tmp_path / (name + '.svg')}")


def replay_app(events, **kw) -> RnnTuiApp:
    kw.setdefault("theme", "rnn-dark")
    kw.setdefault("remember_theme", False)
    return RnnTuiApp(ReplaySource(events), **kw)


# ---------------------------------------------------------------------------- snapshots
@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_dashboard_snapshot(size, tmp_path):
    async def go():
        app = replay_app(language_run())
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            text = app.screen.query_one("#status", Static).render()
            assert "step 600" in str(text)
            return app.export_screenshot()

    check_snapshot(f"dashboard-{size[0]}x{size[1]}", run(go()), tmp_path)


def test_forecast_view_snapshot(tmp_path):
    async def go():
        app = replay_app(series_run())
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            dash = app.screen
            assert dash.query_one("#forecast-panel").display
            assert not dash.query_one("#text-panel").display
            await pilot.press("f")
            await pilot.pause(0.2)
            assert dash.maximized is dash.query_one("#forecast-panel")
            return app.export_screenshot()

    check_snapshot("forecast-120x40", run(go()), tmp_path)


def test_setup_and_generate_snapshots(tmp_path):
    async def go():
        app = replay_app(language_run(), cfg=RunConfig())
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("n")
            await pilot.pause(0.2)
            assert isinstance(app.screen, SetupScreen)
            setup = app.export_screenshot()
            await pilot.press("escape", "g")
            await pilot.pause(0.2)
            assert isinstance(app.screen, GenerateScreen)
            return setup, app.export_screenshot()

    setup, gen = run(go())
    check_snapshot("setup-100x30", setup, tmp_path)
    check_snapshot("generate-100x30", gen, tmp_path)


def test_help_and_neuron_snapshots(tmp_path):
    async def go():
        app = replay_app(language_run(cell="lstm"))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("m", "right_square_bracket", "right_square_bracket")
            await pilot.pause(0.1)
            neurons = app.export_screenshot()
            await pilot.press("question_mark")
            await pilot.pause(0.1)
            assert isinstance(app.screen, HelpScreen)
            helps = app.export_screenshot()
            await pilot.press("escape")
            assert isinstance(app.screen, DashboardScreen)
            return neurons, helps

    neurons, helps = run(go())
    check_snapshot("neurons-100x30", neurons, tmp_path)
    check_snapshot("help-100x30", helps, tmp_path)


# ---------------------------------------------------------------------------- keys (replay)
def test_view_keys_do_what_they_say():
    async def go():
        app = replay_app(language_run(cell="lstm", layers=2))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            dash = app.screen
            hm = dash.query_one(Heatmap)
            assert hm.units == 24 and dash.sel_unit == 0
            await pilot.press("right_square_bracket")
            assert dash.sel_unit == 1 and hm.unit == 1
            await pilot.press("left_square_bracket", "left_square_bracket")
            assert dash.sel_unit == 23  # wraps around
            await pilot.press("l")
            assert dash.sel_layer == 1
            first = hm.matrix
            await pilot.press("l")
            assert dash.sel_layer == 0 and hm.matrix is not first
            await pilot.press("L")  # previous layer wraps to the last
            assert dash.sel_layer == 1 and hm.matrix is first
            await pilot.press("L")
            assert dash.sel_layer == 0
            await pilot.press("c")  # LSTM: the cell state c
            assert dash.sel_cell and hm.matrix is dash.state.hidden.c[0]
            await pilot.press("c")
            assert not dash.sel_cell and hm.matrix is dash.state.hidden.h[0]
            await pilot.press("m")
            assert dash.query_one("#memory", ContentSwitcher).current == "neurons"
            await pilot.press("m")
            assert dash.query_one("#memory", ContentSwitcher).current == "heatmap"
            chart = dash.query_one(GradChart)
            assert chart.mode == "depth"
            await pilot.press("d")
            assert chart.mode == "time"
            order = ["loss-panel", "grad-panel", "hidden-panel", "text-panel"]
            for pid in order:
                await pilot.press("v")
                assert dash.maximized is dash.query_one(f"#{pid}")
            await pilot.press("v")
            assert dash.maximized is None
            await pilot.press("f")  # not a series run: refused, nothing maximised
            assert dash.maximized is None

    run(go())


def test_gru_has_no_cell_state_to_show():
    async def go():
        app = replay_app(language_run(cell="gru"))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("c")
            assert not app.screen.sel_cell

    run(go())


def test_watching_refuses_training_controls():
    async def go():
        app = replay_app(language_run())
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("space", "s", "w", "plus")
            await pilot.pause(0.1)
            assert app.screen.state.status == "training"
            assert any("watching a run" in n.message for n in app._notifications)
            await pilot.press("n")  # no config to start from in watch mode
            assert isinstance(app.screen, DashboardScreen)
            await pilot.press("q")
            await pilot.pause(0.1)
        assert app.return_code == 0

    run(go())


def test_theme_key_switches_and_is_remembered(config_dir):
    async def go(theme):
        app = RnnTuiApp(ReplaySource(language_run()), theme=theme)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.1)
            before = app.theme
            if theme is None:
                return before
            await pilot.press("t")
            assert app.theme != before
            return app.theme

    chosen = run(go("high-contrast"))
    assert (config_dir / "settings.toml").read_text().count(chosen) == 1
    assert run(go(None)) == chosen


def test_themes_folder_has_the_promised_themes():
    from rnn_tui.tui.themes import load_themes

    themes = load_themes()
    assert {"rnn-dark", "rnn-light", "high-contrast", "ansi-16"} <= set(themes)
    assert themes["ansi-16"].ansi  # reads well with 16 colours: only ANSI colours


def test_ansi_theme_renders(tmp_path):
    async def go():
        app = replay_app(language_run(), theme="ansi-16")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            assert app.theme == "ansi-16"
            assert "step 600" in str(app.screen.query_one("#status", Static).render())
            return app.export_screenshot()

    (tmp_path / "ansi.svg").write_text(run(go()))


def test_low_bandwidth_redraws_less_often():
    dash_fast = DashboardScreen(ReplaySource([]))
    dash_slow = DashboardScreen(ReplaySource([]), low_bandwidth=True)
    assert all(dash_slow.rates[k] > dash_fast.rates[k] for k in dash_fast.rates)


def test_command_palette_lists_the_actions():
    async def go():
        app = replay_app(language_run())
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.2)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for want in ("Pause / resume training", "Sample text now", "Save a checkpoint now",
                         "Next hidden unit", "Generate text from a run", "New run (setup)"):
                assert want in titles
            cmd = next(c for c in app.get_system_commands(app.screen)
                       if c.title == "Gradients: through time / over training")
            cmd.callback()
            await pilot.pause(0.1)
            assert app.screen.query_one(GradChart).mode == "time"

    run(go())


# ---------------------------------------------------------------------------- live
def tiny_config(**train) -> RunConfig:
    cfg = RunConfig()
    cfg.data.corpus = "arithmetic"
    cfg.model.hidden, cfg.model.embed = 16, 8
    cfg.train.seq, cfg.train.batch = 16, 4
    cfg.train.time_budget = 0
    cfg.train.steps = 100_000
    cfg.train.eval_every, cfg.train.eval_tokens = 50, 2000
    cfg.train.sample_every, cfg.train.checkpoint_every = 100_000, 100_000
    cfg.train.sample_len = 40
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg.validate()


def live_app(cfg: RunConfig, tmp_path: Path) -> tuple[RnnTuiApp, LiveSource]:
    """The app training ``cfg`` for real, its runs under ``tmp_path / "runs"``."""
    source = LiveSource(cfg, tmp_path / "runs")
    app = RnnTuiApp(source, cfg=cfg, theme="rnn-dark", remember_theme=False,
                    runs_dir=tmp_path / "runs")
    return app, source


async def wait_for(pilot, cond, timeout=60.0):
    for _ in range(int(timeout / 0.1)):
        if cond():
            return True
        await pilot.pause(0.1)
    return cond()


def test_live_keys_reach_the_trainer(tmp_path):
    async def go():
        app, source = live_app(tiny_config(), tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.screen
            assert await wait_for(pilot, lambda: dash.state.step > 5)
            await pilot.press("space")
            assert await wait_for(pilot, lambda: dash.state.status == "paused", 10)
            step = source.trainer.step
            await pilot.pause(0.5)
            assert source.trainer.step == step  # really paused
            await pilot.press("space")
            assert await wait_for(pilot, lambda: source.trainer.step > step, 10)
            await pilot.press("plus", "plus")
            assert source.temperature == pytest.approx(1.0)
            await pilot.press("minus")
            assert source.temperature == pytest.approx(0.9)
            await pilot.press("s")
            assert await wait_for(pilot, lambda: len(dash.state.samples) >= 1, 20)
            assert dash.state.samples[-1].temperature == pytest.approx(0.9)
            await pilot.press("w")
            assert await wait_for(pilot, lambda: bool(dash.state.checkpoint), 20)
            assert Path(dash.state.checkpoint).is_file()
            assert await wait_for(pilot, lambda: len(dash.state.val) >= 1, 30)
            await pilot.press("q")
            assert await wait_for(pilot, lambda: source.done.is_set(), 60)
            await pilot.pause(0.2)
        return source

    source = run(go())
    run_dir = source.run_dir
    assert (run_dir / "checkpoint.npz").is_file()
    assert (run_dir / "metrics.jsonl").stat().st_size > 0
    assert source.trainer.stop_reason == "stopped"


def test_setup_screen_refuses_bad_values_in_place_and_starts_a_run(tmp_path):
    async def go():
        cfg = tiny_config()
        app, source = live_app(cfg, tmp_path)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause(0.2)
            await pilot.press("n")
            await pilot.pause(0.2)
            setup = app.screen
            assert isinstance(setup, SetupScreen)
            assert setup.query_one("#hidden", Input).value == "16"  # defaults filled in
            setup.query_one("#lr", Input).value = "-1"
            setup.query_one("#corpus", Input).value = "no-such-corpus"
            await pilot.press("ctrl+s")
            await pilot.pause(0.1)
            assert app.screen is setup  # refused
            assert "corpus" in str(setup.query_one("#setup-error", Label).render())
            setup.query_one("#corpus", Input).value = "arithmetic"
            await pilot.press("ctrl+s")
            await pilot.pause(0.1)
            assert "lr" in str(setup.query_one("#setup-error", Label).render())
            assert app.screen is setup
            setup.query_one("#lr", Input).value = "0.01"
            setup.query_one("#hidden", Input).value = "12"
            await pilot.press("ctrl+s")
            assert await wait_for(pilot, lambda: app.source is not source, 60)
            assert await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                                  and app.screen.source is app.source, 10)
            assert await wait_for(pilot, lambda: app.screen.state.step > 0, 60)
            assert app.source.trainer.task.net.spec.hidden == 12
            assert source.done.is_set()  # the first run was stopped (and saved)
            await pilot.press("q")
            assert await wait_for(pilot, lambda: app.source.done.is_set(), 60)

    run(go())


def test_generate_screen_streams_from_a_run(tmp_path):
    from rnn_tui.cli import main

    assert main(["train", "--corpus", "arithmetic", "--hidden", "16", "--embed", "8",
                 "--seq", "16", "--batch", "4", "--steps", "30", "--quiet",
                 "--runs-dir", str(tmp_path), "--name", "r"]) == 0

    async def go():
        app = replay_app(language_run())
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.2)
            await pilot.press("g")
            await pilot.pause(0.1)
            gen = app.screen
            assert isinstance(gen, GenerateScreen)
            gen.query_one("#gen-run", Input).value = str(tmp_path / "nowhere")
            await pilot.press("ctrl+g")
            err = gen.query_one("#gen-error", Label)
            assert await wait_for(pilot, lambda: "nowhere" in str(err.render()), 10)
            gen.query_one("#gen-run", Input).value = str(tmp_path / "r")
            gen.query_one("#gen-prime", Input).value = "12+"
            gen.query_one("#gen-len", Input).value = "60"
            await pilot.press("ctrl+g")
            out = gen.query_one("#gen-out", Static)
            assert await wait_for(pilot, lambda: len(gen.text) >= 60, 30)
            assert gen.text.startswith("12+")
            await pilot.pause(0.2)
            assert str(out.render()).startswith("12+")
            await pilot.press("escape")
            assert isinstance(app.screen, DashboardScreen)

    run(go())


def test_a_diverging_run_pauses_the_app_and_says_so(tmp_path):
    import numpy as np

    from rnn_tui.train.runs import load_checkpoint

    cfg = tiny_config(lr=1e6, clip=0.0, optimizer="sgd", warmup=0, lr_schedule="constant",
                      checkpoint_every=5)

    async def go():
        app, source = live_app(cfg, tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.screen
            assert await wait_for(pilot, lambda: dash.state.status == "paused", 60)
            await pilot.pause(0.5)
            assert source.trainer.paused and not source.done.is_set()  # paused, not ended
            assert "diverged" in dash.state.message
            assert await wait_for(
                pilot, lambda: "PAUSED" in str(dash.query_one("#status", Static).render()), 5)
            assert any("diverged" in n.message for n in app._notifications)
            await pilot.press("q")
            assert await wait_for(pilot, lambda: source.done.is_set(), 60)
        return source

    source = run(go())
    ck = source.run_dir / "checkpoint.npz"
    if ck.exists():  # whatever was saved is the last good, finite state
        arrays, _ = load_checkpoint(ck)
        assert np.all(np.isfinite(arrays["params"]))
