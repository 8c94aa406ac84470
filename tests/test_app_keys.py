"""Every key does something visible, or says why not: each key of the dashboard and the app,
in each state of a run (training, paused, finished, watching), for each task. And the footer
shows only the keys that apply: a key it shows never answers with a reason it does not.

The live states use a scripted source (tests/app_events.py: the controls answer with the
trainer's events, and none once the run has finished, as a finished trainer does not); one
test at the end checks the finished state against a real run.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets._footer import FooterKey

from app_events import ScriptedSource, classify_run, language_run, series_run, tag_run, word_run
from rnn_tui.config import RunConfig
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.keys import KeyContext, why_not
from rnn_tui.tui.screens.dashboard import DashboardScreen
from rnn_tui.tui.source import ReplaySource

TASKS = {"char": lambda: language_run(cell="lstm"), "word": word_run, "series": series_run,
         "classify": classify_run, "tag": tag_run}
STATES = ("training", "paused", "finished", "watching")
QUIT = {"quit", "app.quit", "quit_now"}  # ends the app: tested on its own (test_app.py)


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RNN_TUI_DATA_DIR", str(tmp_path / "data"))


def every_key() -> list[str]:
    """The first key of every binding of the dashboard and the app; space (which changes the
    state) last."""
    keys = []
    for b in DashboardScreen.BINDINGS + RnnTuiApp.BINDINGS:
        key = b.key.split(",")[0].strip()
        if b.action not in QUIT and key not in keys:
            keys.append(key)
    keys.remove("space")
    return [*keys, "space"]


def screen_text(app) -> str:
    """What the screen shows, characters and styles."""
    return "\n".join(repr(list(strip)) for strip in app.screen._compositor.render_strips())


async def back_to(pilot, dash) -> None:
    for _ in range(4):
        if pilot.app.screen is dash:
            return
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert pilot.app.screen is dash, f"escape does not lead back from {pilot.app.screen}"


async def press_every_key(app, size=(120, 40)) -> list[str]:
    """Press every key once on the dashboard; the faults found, one line each."""
    faults = []
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.4)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        for key in every_key():
            await back_to(pilot, dash)
            app.clear_notifications()
            await pilot.pause()
            footer = {fk.key for fk in dash.query(FooterKey)}
            before = screen_text(app)
            await pilot.press(key)
            for _ in range(2):  # the key, then the events its control answers with
                dash.tick()
                await pilot.pause()
            notes = list(app._notifications)
            app.clear_notifications()
            await pilot.pause()
            refusals = [str(n.message) for n in notes if n.severity == "warning"]
            # a toast that ends in "…" says that something is under way, not that it happened
            outcomes = [n for n in notes
                        if n.severity != "warning" and not str(n.message).endswith("…")]
            acted = app.screen is not dash or bool(outcomes) or screen_text(app) != before
            if not refusals and not acted:
                faults.append(f"{key}: nothing visible happened and nothing said why")
            if refusals and key in footer:
                faults.append(f"{key}: in the footer, but it says {refusals[0]!r}")
    return faults


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("task", list(TASKS))
def test_every_key_does_something_visible_or_says_why_not(task, state, tmp_path):
    events = TASKS[task]()
    if state == "watching":
        app = RnnTuiApp(ReplaySource(events), theme="rnn-dark", remember_theme=False,
                        runs_dir=tmp_path)
    else:
        source = ScriptedSource(events, run_dir=tmp_path / "run", state=state)
        app = RnnTuiApp(source, cfg=RunConfig(), theme="rnn-dark", remember_theme=False,
                        runs_dir=tmp_path)
    faults = asyncio.run(press_every_key(app))
    assert not faults, f"{task}, {state}:\n" + "\n".join(faults)


# the table itself: which keys apply, case by case
LIVE = dict(live=True, snapshot=True, layers=2, cell_state=True, gates=True, cell="lstm",
            embedding=True, can_setup=True)


@pytest.mark.parametrize("action, ctx, applies, says", [
    ("sample", KeyContext(status="training", views=("text",), **LIVE), True, ""),
    ("sample", KeyContext(status="paused", views=("text",), **LIVE), True, ""),
    ("sample", KeyContext(status="finished", views=("text",), message="finished (time budget)",
                          **LIVE), False, "g generates text"),
    ("sample", KeyContext(status="training", task="classify", views=("classify",), **LIVE),
     False, "for char and word models"),
    ("temperature", KeyContext(status="training", task="tag", views=("tag",), **LIVE), False,
     "for char and word models"),
    ("generate", KeyContext(status="training", task="tag", views=("tag",), **LIVE), False,
     "for char and word models"),
    ("generate", KeyContext(status="finished", views=("text",), **LIVE), True, ""),
    ("step_once", KeyContext(status="training", views=("text",), **LIVE), False, "pause first"),
    ("step_once", KeyContext(status="paused", views=("text",), **LIVE), True, ""),
    ("step_once", KeyContext(status="finished", views=("text",), **LIVE), False,
     "no step is left"),
    ("toggle_pause", KeyContext(status="finished", views=("text",), **LIVE), False,
     "n starts a new run"),
    ("toggle_pause", KeyContext(status="compiling", views=("text",), **LIVE), False,
     "still starting"),
    ("toggle_pause", KeyContext(status="training", views=("text",)), False, "watching"),
    ("save", KeyContext(status="finished", views=("text",), checkpoint="r/checkpoint.npz",
                        **LIVE), False, "r/checkpoint.npz"),
    ("layer", KeyContext(status="training", views=("text",), **{**LIVE, "layers": 1}), False,
     "one layer"),
    ("toggle_cell", KeyContext(status="training", views=("text",), **{**LIVE, "cell": "gru",
                                                                       "cell_state": False}),
     False, "only an LSTM"),
    ("gates_view", KeyContext(status="training", views=("text",), **{**LIVE, "cell": "rnn",
                                                                      "gates": False}),
     False, "no gates"),
    ("embedding_view", KeyContext(status="training", views=("forecast",), reads_tokens=False,
                                  **LIVE), False, "no embedding"),
    ("unit", KeyContext(status="training", views=("text",), memory_view="embeddings",
                        **{**LIVE, "embedding": False}), False, "embedding snapshot"),
    ("unit", KeyContext(status="training", views=("text",), **{**LIVE, "snapshot": False}),
     False, "first hidden-state snapshot"),
    ("forecast_view", KeyContext(status="training", views=("text",), **LIVE), False,
     "series runs"),
    ("setup", KeyContext(status="training", views=("text",)), False, "watching"),
    ("toggle_grad_mode", KeyContext(), True, ""),
])
def test_why_not_table(action, ctx, applies, says):
    why = why_not(action, ctx)
    assert (why is None) == applies, why
    if not applies:
        assert says in why


def test_a_finished_real_run_refuses_the_training_keys_and_says_why(tmp_path):
    """The scripted source's finished state is a real finished run's: s, . and space say why."""
    from rnn_tui.tui.source import LiveSource
    from test_app import tiny_config, wait_for

    cfg = tiny_config(steps=20)

    async def go():
        source = LiveSource(cfg, tmp_path / "runs")
        app = RnnTuiApp(source, cfg=cfg, theme="rnn-dark", remember_theme=False,
                        runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.screen
            assert await wait_for(pilot, lambda: dash.state.status == "finished", 90)
            await pilot.pause(0.3)
            said = {}
            for key in ("s", "full_stop", "space", "w"):
                app.clear_notifications()
                await pilot.press(key)
                await pilot.pause(0.2)
                said[key] = [str(n.message) for n in app._notifications]
            footer = {fk.key for fk in dash.query(FooterKey)}
        return said, footer

    said, footer = asyncio.run(go())
    assert "g generates text" in said["s"][0]
    assert "no step is left" in said["full_stop"][0]
    assert "n starts a new run" in said["space"][0]
    assert "checkpoint is saved" in said["w"][0]
    assert not {"s", "full_stop", "space"} & footer


# ---------------------------------------------------------------------------- screens
def footer_keys(screen) -> set[str]:
    return {fk.key for fk in screen.query(FooterKey)}


def test_while_typing_the_letter_keys_type_and_f1_is_help(tmp_path):
    from textual.widgets import Input

    from rnn_tui.tui.screens.generate import GenerateScreen
    from rnn_tui.tui.screens.help import HelpScreen

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()), theme="rnn-dark", remember_theme=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            assert "question_mark" in footer_keys(app.screen)
            await pilot.press("g")
            await pilot.pause(0.2)
            gen = app.screen
            assert isinstance(gen, GenerateScreen) and isinstance(app.focused, Input)
            shown = footer_keys(gen)
            assert "f1" in shown and not {"question_mark", "t", "q"} & shown
            await pilot.press("question_mark", "t", "q")
            assert app.focused.value.endswith("?tq") and app.screen is gen
            await pilot.press("f1")
            await pilot.pause(0.1)
            assert isinstance(app.screen, HelpScreen)

    asyncio.run(go())


def test_setup_screen_takes_typing_in_its_first_field_at_once():
    from textual.widgets import Input

    from rnn_tui.tui.screens.setup import SetupScreen

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()), cfg=RunConfig(), theme="rnn-dark",
                        remember_theme=False)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("n")
            await pilot.pause(0.2)
            setup = app.screen
            assert isinstance(setup, SetupScreen)
            first = setup.query(Input).first()
            await pilot.press("x")  # the default is selected: typing replaces it
            assert app.focused is first and first.value == "x"

    asyncio.run(go())


@pytest.mark.parametrize("with_run", [False, True], ids=["empty", "one-run"])
def test_open_run_screen_says_when_there_is_nothing_to_pick(tmp_path, with_run):
    from textual.widgets import Label, OptionList

    if with_run:
        (tmp_path / "r1").mkdir()
        (tmp_path / "r1" / "metrics.jsonl").write_text("")

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()), theme="rnn-dark", remember_theme=False,
                        runs_dir=tmp_path)
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause(0.3)
            await pilot.press("o")
            await pilot.pause(0.2)
            scr = app.screen
            title = str(scr.query_one(".title", Label).render())
            listed = scr.query_one("#open-list", OptionList).option_count
            none = scr.query("#open-none")
            return title, listed, bool(none)

    title, listed, none = asyncio.run(go())
    assert str(tmp_path) in title
    assert ("pick one below" in title) == with_run == (listed == 1) == (not none)


def test_compare_header_names_each_thing_once(tmp_path):
    from rnn_tui.tui.runset import RunSet
    from rnn_tui.tui.screens.compare import CompareScreen

    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.jsonl").write_text("")
    screen = CompareScreen(RunSet.from_paths([tmp_path / n for n in "abc"]))
    parts = screen.status_text().split(" · ")
    assert parts[0] == "comparing 3 runs"
    assert not any(p.endswith(" runs") for p in parts[1:]), parts


def test_a_notice_waits_for_its_dashboard():
    """A notice from the run while another run's dashboard is up is shown when its own
    dashboard is back, not on the other run's."""
    from rnn_tui.train import events as ev

    async def go():
        source = ScriptedSource(language_run(), state="training")
        app = RnnTuiApp(source, cfg=RunConfig(), theme="rnn-dark", remember_theme=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            dash = app.screen
            other = DashboardScreen(ReplaySource(tag_run()))  # another run's, to watch
            app.push_screen(other)
            await pilot.pause(0.3)
            app.clear_notifications()
            source.pending.append(ev.Notice(kind="overfitting", message="held-out loss rising"))
            dash.tick()
            await pilot.pause()
            during = [str(n.message) for n in app._notifications]
            app.pop_screen()
            await pilot.pause(0.1)
            after = [str(n.message) for n in app._notifications]
        return during, after

    during, after = asyncio.run(go())
    assert during == [] and after == ["held-out loss rising"]


@pytest.mark.parametrize("where", ["no-downloads", "not-a-folder"])
def test_screenshot_goes_to_a_folder_that_exists_or_says_why_not(tmp_path, monkeypatch, where):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/Downloads
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path / "home" / "Downloads"))
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    async def go():
        app = RnnTuiApp(ReplaySource(language_run()), theme="rnn-dark", remember_theme=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            app.deliver_screenshot(path=str(blocker) if where == "not-a-folder" else None)
            for _ in range(50):
                await pilot.pause(0.1)
                if app._notifications:
                    break
            return [(str(n.message), n.severity) for n in app._notifications]

    notes = asyncio.run(go())
    assert len(notes) == 1
    msg, severity = notes[0]
    if where == "no-downloads":
        shots = list(tmp_path.glob("*.svg"))
        assert len(shots) == 1 and severity == "information" and str(shots[0]) in msg
    else:
        assert severity == "error" and str(blocker) in msg and "not a directory" in msg
