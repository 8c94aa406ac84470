"""The app's explanations, driven headless: the "try it" field on a finished classify run and
on a language model while it trains, attribution shading of the classify panel's sentences,
and "how far back it looks" updated as a language model trains; training goes on meanwhile.
The trainer's between-steps hook runs what it is given on the training thread, at a step
boundary."""

from __future__ import annotations

import asyncio
import threading

import pytest
from textual.widgets import ContentSwitcher, Static

from rnn_tui.config import RunConfig
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.source import FileSource, LiveSource
from rnn_tui.tui.widgets.labelled import ExampleStream
from rnn_tui.tui.widgets.reach import ReachView, half_within, profile
from rnn_tui.tui.widgets.tryit import TryItScreen


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RNN_TUI_DATA_DIR", str(tmp_path / "data"))


async def wait_for(pilot, cond, timeout=60.0):
    for _ in range(int(timeout / 0.1)):
        if cond():
            return True
        await pilot.pause(0.1)
    return cond()


def result_text(app) -> str:
    return str(app.screen.query_one("#tryit-result", Static).render())


def test_try_it_on_a_finished_classify_run(tmp_path):
    from rnn_tui.cli import main

    assert main(["train", "--task", "classify", "--corpus", "sentiment", "--hidden", "16",
                 "--embed", "8", "--steps", "30", "--runs-dir", str(tmp_path), "--name", "c",
                 "--quiet"]) == 0

    async def go():
        app = RnnTuiApp(FileSource(tmp_path / "c"), theme="rnn-dark", remember_theme=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)
            await pilot.press("i")
            assert isinstance(app.screen, TryItScreen)
            await pilot.press(*"i loved it", "enter")
            assert await wait_for(pilot, lambda: "→" in result_text(app), 30)
            text = result_text(app)
            assert "0" in text and "1" in text and "why (label" in text
            assert "loved" in text
            await pilot.press("escape")
            assert not isinstance(app.screen, TryItScreen)

    asyncio.run(go())


def live_config(task: str, corpus: str, **model) -> RunConfig:
    cfg = RunConfig()
    cfg.data.task, cfg.data.corpus = task, corpus
    cfg.model.hidden = 16
    for k, v in model.items():
        setattr(cfg.model, k, v)
    cfg.train.batch, cfg.train.seq = 8, 32
    cfg.train.eval_every, cfg.train.sample_every = 20, 20
    cfg.train.checkpoint_every, cfg.train.sample_len = 100_000, 60
    cfg.train.patience = 0
    return cfg.validate()


def test_language_model_reach_and_try_it_while_training(tmp_path):
    async def go():
        cfg = live_config("char", "pydoc", cell="lstm")
        source = LiveSource(cfg, tmp_path / "runs")
        app = RnnTuiApp(source, cfg=cfg, theme="rnn-dark", remember_theme=False,
                        runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.screen
            assert await wait_for(pilot, lambda: dash.state.step > 3)
            await pilot.press("b")
            assert dash.query_one("#text-views", ContentSwitcher).current == "reach"
            reach = dash.query_one(ReachView)
            assert await wait_for(pilot, lambda: "half of it within" in str(reach.render()),
                                  120), (str(reach.render()), dash.state.step)
            first = str(reach.render())
            step = source.trainer.step
            assert await wait_for(pilot, lambda: str(reach.render()) != first, 90)  # it updates
            assert source.trainer.step > step  # and training went on
            await pilot.press("x")  # the generated text shaded by the same attribution
            from rnn_tui.tui.widgets.panels import SampleStream

            samples = dash.query_one(SampleStream)
            assert await wait_for(pilot, lambda: samples.shading is not None, 90)
            assert any(str(x.text).endswith("".join(samples.shading.tokens))
                       for x in dash.state.samples)  # the tail of a sample shown
            await pilot.press("i")
            await pilot.press(*"The function ", "enter")
            assert await wait_for(pilot, lambda: "next token" in result_text(app), 30)
            assert "why (next token" in result_text(app)
            await pilot.press("escape")
            source.stop()
            source.join(30)

    asyncio.run(go())


def test_classify_sentences_shaded_while_training(tmp_path):
    async def go():
        cfg = live_config("classify", "sentiment", embed=8)
        source = LiveSource(cfg, tmp_path / "runs")
        app = RnnTuiApp(source, cfg=cfg, theme="rnn-dark", remember_theme=False,
                        runs_dir=tmp_path / "runs")
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.screen
            assert await wait_for(pilot, lambda: dash.state.classify is not None, 90)
            await pilot.press("x")
            stream = dash.query_one(ExampleStream)
            assert await wait_for(pilot, lambda: bool(stream.shading), 60)
            for text, (a, sep) in stream.shading.items():  # held-out sentences, explained
                assert sep == " " and all(t in text.lower() for t in a.tokens)
                assert abs(sum(a.scores) - (a.f_x - a.f_baseline)) <= \
                    0.01 * abs(a.f_x - a.f_baseline) + 1e-9
            await pilot.press("x")
            assert stream.shading is None
            source.stop()
            source.join(30)

    asyncio.run(go())


def test_between_steps_runs_on_the_training_thread(tmp_path):
    from rnn_tui.session import prepare_run

    cfg = live_config("char", "pydoc")
    cfg.train.steps = 40
    trainer, writer, _ = prepare_run(cfg, tmp_path / "runs", "b", None)
    seen = {}

    def probe():
        seen["thread"] = threading.current_thread().name
        seen["step"] = trainer.step
        return 42

    worker = threading.Thread(target=trainer.run, name="trainer-thread")
    trainer.pause()
    worker.start()
    assert trainer.between_steps(probe).result(timeout=30) == 42  # served while paused
    assert seen["thread"] == "trainer-thread"
    trainer.resume()
    worker.join(60)
    writer.close()
    assert trainer.between_steps(lambda: "now").result(timeout=1) == "now"  # no loop: at once


@pytest.mark.parametrize("scores,within", [([0, 0, 0, 1], 1), ([1, 1, 1, 1], 2),
                                           ([4, 0, 0, 0], 4), ([0, 0], 0)])
def test_reach_profile(scores, within):
    assert half_within(scores) == within
    shown = profile(scores, 10)
    assert len(shown) == (len(scores) if any(scores) else 0)
