"""The app, driven headless with Textual's Pilot.

Replayed event streams (tests/app_events.py) make the screens deterministic, so their SVG
exports are kept as snapshots in tests/__snapshots__/ by pytest-textual-snapshot
(``python -m pytest tests/test_app.py --snapshot-update`` rewrites them; a mismatch writes
snapshot_report.html, the old and new screens side by side).
The live tests train a tiny real model and check that every control key reaches the trainer.
"""

from __future__ import annotations

import asyncio
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


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    """The user's folders (settings, themes, corpora) are the test's own, empty."""
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RNN_TUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "config"


def run(coro):
    return asyncio.run(coro)


def replay_app(events, **kw) -> RnnTuiApp:
    kw.setdefault("theme", "rnn-dark")
    kw.setdefault("remember_theme", False)
    return RnnTuiApp(ReplaySource(events), **kw)


# ---------------------------------------------------------------------------- snapshots
# ``snap_compare`` (pytest-textual-snapshot) runs the app, calls ``run_before`` with its pilot,
# then compares the screen with tests/__snapshots__/test_app/<test>.svg. What the screens must
# show is checked in ``run_before``; a failure there is kept and raised after the run, so it is
# reported as itself and not as a missing screenshot.
class Checks:
    """Assertions made inside the app's run, raised again once the run is over."""

    def __init__(self):
        self.error: BaseException | None = None

    def __call__(self, steps):
        async def run_before(pilot):
            try:
                await steps(pilot)
            except BaseException as err:  # noqa: BLE001 - re-raised by check()
                self.error = err
            for field in pilot.app.screen.query(Input):  # a blinking cursor would be caught on
                field.cursor_blink = False              # or off by chance: keep it shown
        return run_before

    def check(self, matched: bool) -> None:
        if self.error is not None:
            raise self.error
        assert matched, "the screen differs from its snapshot (see the snapshot report)"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_dashboard_snapshot(size, snap_compare):
    async def steps(pilot):
        await pilot.pause(0.3)
        assert "step 600" in str(pilot.app.screen.query_one("#status", Static).render())

    checks = Checks()
    checks.check(snap_compare(replay_app(language_run()), terminal_size=size,
                              run_before=checks(steps)))


def test_forecast_view_snapshot(snap_compare):
    async def steps(pilot):
        await pilot.pause(0.3)
        dash = pilot.app.screen
        assert dash.query_one("#forecast-panel").display
        assert not dash.query_one("#text-panel").display
        await pilot.press("f")
        await pilot.pause(0.2)
        assert dash.maximized is dash.query_one("#forecast-panel")

    checks = Checks()
    checks.check(snap_compare(replay_app(series_run()), terminal_size=(120, 40),
                              run_before=checks(steps)))


async def open_setup(pilot):
    await pilot.pause(0.3)
    await pilot.press("n")
    await pilot.pause(0.2)
    assert isinstance(pilot.app.screen, SetupScreen)


def test_setup_snapshot(snap_compare):
    checks = Checks()
    checks.check(snap_compare(replay_app(language_run(), cfg=RunConfig()), terminal_size=(100, 30),
                              run_before=checks(open_setup)))


def test_generate_snapshot(snap_compare):
    async def steps(pilot):
        await open_setup(pilot)
        await pilot.press("escape", "g")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, GenerateScreen)

    checks = Checks()
    checks.check(snap_compare(replay_app(language_run(), cfg=RunConfig()), terminal_size=(100, 30),
                              run_before=checks(steps)))


async def neuron_view(pilot):
    await pilot.pause(0.3)
    await pilot.press("m", "right_square_bracket", "right_square_bracket")
    await pilot.pause(0.1)


async def open_help(pilot):
    await neuron_view(pilot)
    await pilot.press("question_mark")
    await pilot.pause(0.1)
    assert isinstance(pilot.app.screen, HelpScreen)


def test_neuron_snapshot(snap_compare):
    async def steps(pilot):
        await open_help(pilot)
        await pilot.press("escape")  # and back: the neuron view as it was
        assert isinstance(pilot.app.screen, DashboardScreen)
        await pilot.pause(0.1)

    checks = Checks()
    checks.check(snap_compare(replay_app(language_run(cell="lstm")), terminal_size=(100, 30),
                              run_before=checks(steps)))


def test_help_snapshot(snap_compare):
    checks = Checks()
    checks.check(snap_compare(replay_app(language_run(cell="lstm")), terminal_size=(100, 30),
                              run_before=checks(open_help)))


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


def test_user_themes_add_to_the_builtins_and_bad_files_are_skipped(config_dir):
    from rnn_tui.tui.themes import load_themes, user_themes_dir

    folder = user_themes_dir()
    assert folder == config_dir / "themes"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text('primary = "#336699"\ndark = false\n')  # name: the stem
    (folder / "syntax.toml").write_text('name = "syntax"\nprimary = \n')
    (folder / "colour.toml").write_text('name = "colour"\nprimary = "#zzzzzz"\n')
    (folder / "field.toml").write_text('name = "field"\nprimary = "#112233"\nshade = 1\n')
    (folder / "rnn-light.toml").write_text("this is not toml")  # the built-in stays
    var = 'name = "{}"\nprimary = "#112233"\n[variables]\nfooter-key-foreground = "{}"\n'
    (folder / "var-ok.toml").write_text(var.format("var-ok", "#ffcc00 50%"))
    (folder / "var-bad.toml").write_text(var.format("var-bad", "notacolour"))  # fails in CSS
    broken: dict[str, str] = {}
    themes = load_themes(broken)
    assert {"rnn-dark", "rnn-light", "high-contrast", "ansi-16", "mine", "var-ok"} <= set(themes)
    assert themes["mine"].dark is False
    assert set(broken) == {"syntax", "colour", "field", "rnn-light", "var-bad"}
    assert "footer-key-foreground = 'notacolour' breaks the app's styles" in broken["var-bad"]
    for name, msg in broken.items():
        assert msg.startswith("theme file ") and str(folder) in msg and "\n" not in msg, name


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.parametrize("how", ["remembered", "requested"])
def test_a_theme_that_cannot_be_loaded_falls_back_and_says_so(config_dir, how):
    from rnn_tui.tui.themes import save_settings

    (config_dir / "themes").mkdir(parents=True)
    (config_dir / "themes" / "mine.toml").write_text('name = "mine"\nprimary = "nope"\n')
    if how == "remembered":
        save_settings({"theme": "mine"})

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()),
                        theme="mine" if how == "requested" else None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            assert "step 600" in str(app.screen.query_one("#status", Static).render())
            return app.theme, notifications(app)

    theme, notes = run(go())
    assert theme == "rnn-dark"
    assert len(notes) == 1 and "mine.toml is not valid" in notes[0]
    assert notes[0].endswith("; using rnn-dark")
    from rnn_tui.tui.themes import load_settings

    assert load_settings().get("theme") == ("mine" if how == "remembered" else None)  # kept


def test_remembered_theme_that_is_gone_falls_back(config_dir):
    from rnn_tui.tui.themes import save_settings

    save_settings({"theme": "deleted-theme"})

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.1)
            return app.theme, notifications(app)

    theme, notes = run(go())
    assert theme == "rnn-dark"
    assert notes == ["theme 'deleted-theme' is not installed; using rnn-dark"]


def test_without_the_default_theme_textual_dark_is_used(monkeypatch):
    """Even with no theme file at all (a broken install), the app starts, with Textual's own."""
    import rnn_tui.tui.app as app_module

    def nothing(broken=None):
        if broken is not None:
            broken["rnn-dark"] = "theme file rnn-dark.toml is not valid (gone)"
        return {}

    monkeypatch.setattr(app_module, "load_themes", nothing)

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()), remember_theme=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            assert "step 600" in str(app.screen.query_one("#status", Static).render())
            await pilot.press("t")  # the theme key still cycles through what there is
            return app.theme, notifications(app)

    theme, notes = run(go())
    assert theme != "rnn-dark"
    assert notes[0] == "theme file rnn-dark.toml is not valid (gone); using textual-dark"


def test_other_bad_theme_files_are_reported_once_each(config_dir):
    (config_dir / "themes").mkdir(parents=True)
    (config_dir / "themes" / "a.toml").write_text("[")
    (config_dir / "themes" / "b.toml").write_text('name = "b"\nprimary = "#000000"\ndark = "yes"\n')

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()), theme="high-contrast")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.1)
            return app.theme, notifications(app)

    theme, notes = run(go())
    assert theme == "high-contrast"
    a, b = sorted(n.split("/")[-1] for n in notes)
    assert a.startswith("a.toml is not valid (") and a.endswith("); skipped")  # TOML's reason
    assert b == "b.toml is not valid (dark and ansi must be true or false); skipped"


def test_theme_flag_on_a_broken_file_starts_the_app_but_an_unknown_name_is_refused(config_dir):
    """``--theme`` naming a theme whose file is broken opens the app (which falls back and says
    so); a name no theme has stays a one-line error (exit 2, tests/test_cli_errors.py)."""
    from argparse import Namespace

    from rnn_tui.commands.shared import app_env as _app_env
    from rnn_tui.errors import UserError

    (config_dir / "themes").mkdir(parents=True)
    (config_dir / "themes" / "mine.toml").write_text('name = "mine"\nprimary = "nope"\n')
    _app_env(Namespace(theme="mine", low_bandwidth=False))
    _app_env(Namespace(theme="nord", low_bandwidth=False))
    with pytest.raises(UserError, match="unknown theme 'mien'.*mine"):
        _app_env(Namespace(theme="mien", low_bandwidth=False))


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
    cfg.train.patience = 0  # runs until the test stops it
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


# ---------------------------------------------------------------------------- inside views
def screen_text(app) -> str:
    """The screen's text, from its SVG export (entities and non-breaking spaces undone)."""
    import html

    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_gates_snapshot(size, snap_compare):
    from app_events import inside_run

    async def steps(pilot):
        await pilot.pause(0.3)
        await pilot.press("G")
        await pilot.pause(0.3)
        shot = screen_text(pilot.app)
        for word in ("input", "forget", "output"):
            assert word in shot

    checks = Checks()
    checks.check(snap_compare(replay_app(inside_run("lstm")), terminal_size=size,
                              run_before=checks(steps)))


def test_gru_gates_and_saturation_snapshot(snap_compare):
    from app_events import inside_run

    async def steps(pilot):
        await pilot.pause(0.3)
        await pilot.press("G")
        await pilot.pause(0.3)
        shot = screen_text(pilot.app)
        assert "reset" in shot and "update" in shot
        await pilot.press("G")  # again: the saturation picture
        await pilot.pause(0.3)
        assert "saturation" in screen_text(pilot.app)

    checks = Checks()
    checks.check(snap_compare(replay_app(inside_run("gru")), terminal_size=(120, 40),
                              run_before=checks(steps)))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_next_token_and_clip_snapshot(size, snap_compare):
    from app_events import inside_run

    async def steps(pilot):
        await pilot.pause(0.3)
        await pilot.press("p", "d")
        await pilot.pause(3.0)  # the sample streams in, then stays whole
        shot = screen_text(pilot.app)
        assert "next-token" in shot and "clip" in shot

    checks = Checks()
    checks.check(snap_compare(replay_app(inside_run("rnn")), terminal_size=size,
                              run_before=checks(steps)))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_embedding_snapshot(size, snap_compare):
    from app_events import inside_run

    async def steps(pilot):
        await pilot.pause(0.3)
        await pilot.press("e", "right_square_bracket")
        await pilot.pause(0.4)
        dash = pilot.app.screen
        assert dash.sel_token == 1
        assert "nearest to 't'" in screen_text(pilot.app)

    checks = Checks()
    checks.check(snap_compare(replay_app(inside_run("gru")), terminal_size=size,
                              run_before=checks(steps)))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("task", ["classify", "tag"])
def test_labelled_dashboards_snapshot(task, size, snap_compare):
    from app_events import classify_run, tag_run

    async def steps(pilot):
        await pilot.pause(0.4)
        dash = pilot.app.screen
        panel = f"#{task}-panel"
        assert dash.query_one(panel).display and not dash.query_one("#text-panel").display
        shot = screen_text(pilot.app)
        assert ("naive Bayes" in shot and "true \\ pred" in shot) if task == "classify" \
            else "baseline" in shot and "zorbly" in shot
        if task == "classify":  # whole words along the hidden state's edge; the sentences
            hm = dash.query_one(Heatmap)  # with room to be read
            edge = hm.render_line(0).text + hm.render_line(1).text
            assert "food" in edge and "was" in edge and "tfwn" not in edge
            assert "The food was not good" in shot

    checks = Checks()
    events = classify_run() if task == "classify" else tag_run()
    checks.check(snap_compare(replay_app(events), terminal_size=size, run_before=checks(steps)))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_seq2seq_dashboard_snapshot(size, snap_compare):
    """The attention of a held-out pair (output down, source across) and the decoded pairs
    with their mistakes marked; a steps to the next pair."""
    from app_events import seq2seq_run

    async def steps(pilot):
        await pilot.pause(0.4)
        dash = pilot.app.screen
        assert dash.query_one("#seq2seq-panel").display
        assert not dash.query_one("#text-panel").display
        shot = screen_text(pilot.app)
        assert "pair 1/3" in shot and "535+61" in shot and "✓" in shot
        if size[1] >= 40:  # every output row of the heatmap, and all the pairs
            assert "</s>" in shot and "982" in shot and "✗" in shot
        await pilot.press("a")
        await pilot.pause(0.2)
        assert "pair 2/3" in screen_text(pilot.app)
        await pilot.press("a", "a")
        await pilot.pause(0.2)

    checks = Checks()
    checks.check(snap_compare(replay_app(seq2seq_run()), terminal_size=size,
                              run_before=checks(steps)))


def test_neuron_view_fills_its_panel_with_earlier_snapshots():
    """The latest passage first, then earlier ones while the panel has room (words apart)."""
    from app_events import word_run
    from rnn_tui.train import events as ev
    from rnn_tui.tui.widgets.panels import NeuronView

    events = word_run()
    snap = next(e for e in events if isinstance(e, ev.HiddenSnapshot))
    for k in range(1, 6):  # five earlier snapshots, steps 100 … 500
        events.insert(events.index(snap), ev.HiddenSnapshot(step=100 * k, tokens=snap.tokens,
                                                            h=snap.h, c=snap.c))

    async def go(size):
        app = replay_app(events)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            await pilot.press("m")
            await pilot.pause(0.5)
            view = app.screen.query_one(NeuronView)
            return str(view.render()), view.size.height

    text, height = run(go((160, 60)))
    assert "the phone was unusable" in text  # whole words, spaces between them
    assert height > 20 and all(f"step {100 * k}" in text for k in range(2, 6))
    small, _ = run(go((80, 24)))
    assert "the phone was" in small and small.count("step ") < text.count("step ")
