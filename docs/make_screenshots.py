"""Make the README's screenshots from real training: the app exports its own SVGs.

    python docs/make_screenshots.py [--seconds 60] [--series airline-passengers.csv]

Trains the app's default character model live for a while, then a series model (on the CSV
given, by default the airline passengers data in tests/fixtures/series, else the built-in sales
series), and streams text on
the generate screen from the character run's checkpoint; the character run's picture of the
model view (u) comes with them. ``--compare SWEEP`` makes the compare screen's picture from a
sweep's folder instead, ``--model`` only the model view's.

The runs are made in a temporary folder that is the current one meanwhile, under the relative
names ``runs/demo`` and ``runs/series`` (a CSV is copied in as its own file name), so that no
path of the machine that made them shows in the pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

from rnn_tui.config import APP_DEFAULTS, SERIES_DEFAULTS, RunConfig
from rnn_tui.runtime import configure_threads
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.screens.generate import GenerateScreen
from rnn_tui.tui.source import LiveSource, ReplaySource

OUT = Path(__file__).resolve().parent / "screenshots"
AIRLINE = (Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "series"
           / "airline-passengers.csv")


async def live(cfg: RunConfig, runs: Path, seconds: float, shots: dict[str, tuple],
               name: str) -> Path:
    source = LiveSource(cfg, runs, name=name)
    app = RnnTuiApp(source, cfg=cfg, theme="rnn-dark", remember_theme=False, runs_dir=runs)
    async with app.run_test(size=(120, 40)) as pilot:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not source.done.is_set():
            await pilot.pause(0.5)
        for name, keys in shots.items():
            await pilot.press(*keys)
            await pilot.pause(1.5)
            (OUT / f"{name}.svg").write_text(app.export_screenshot(title=f"rnn-tui — {name}"))
            print("wrote", OUT / f"{name}.svg")
        await pilot.press("q")
        while not source.done.is_set():
            await pilot.pause(0.2)
    return source.run_dir


async def generate(run_dir: Path) -> None:
    app = RnnTuiApp(ReplaySource([]), theme="rnn-dark", remember_theme=False)  # nothing trains
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(GenerateScreen(run_dir))
        await pilot.pause(0.3)
        screen = app.screen
        screen.query_one("#gen-prime").value = "The "
        await pilot.press("ctrl+g")
        while len(screen.text) < 400:
            await pilot.pause(0.2)
        await pilot.pause(0.5)
        (OUT / "generate.svg").write_text(app.export_screenshot(title="rnn-tui — generate"))
        print("wrote", OUT / "generate.svg")


async def compare(sweep: Path) -> None:
    from rnn_tui.tui.compare_app import CompareApp
    from rnn_tui.tui.runset import RunSet

    app = CompareApp(RunSet.from_paths([sweep]), theme="rnn-dark", remember_theme=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(2.0)
        (OUT / "compare.svg").write_text(app.export_screenshot(title="rnn-tui compare"))
        print("wrote", OUT / "compare.svg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--compare", metavar="SWEEP", type=Path,
                    help="only the compare screen, over a finished sweep's folder (e.g. the "
                    "README's rnn/lstm/gru sweep)")
    ap.add_argument("--series", metavar="CSV", type=Path,
                    default=AIRLINE if AIRLINE.exists() else None,
                    help="the series to forecast (default: the airline passengers in "
                    "tests/fixtures/series, else the built-in sales series)")
    ap.add_argument("--model", action="store_true",
                    help="only the model view (u) of the character run")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.compare:
        asyncio.run(compare(args.compare))
        return
    configure_threads()
    series = args.series.resolve() if args.series else None
    home = Path.cwd()
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)  # relative names only, in the pictures
        try:
            make_all(args, Path("runs"), series)
        finally:
            os.chdir(home)


def make_all(args, runs: Path, series: Path | None) -> None:
    cfg = RunConfig()
    cfg.update(APP_DEFAULTS)
    cfg.train.time_budget = 0
    if args.model:
        asyncio.run(live(cfg.validate(), runs, args.seconds, {"model": ("u",)}, "demo"))
        return
    char_run = asyncio.run(live(cfg.validate(), runs, args.seconds,
                                {"dashboard": (), "neurons": ("m", "right_square_bracket"),
                                 "model": ("u",)}, "demo"))
    s = RunConfig()
    s.update(SERIES_DEFAULTS)
    s.data.task = "series"
    if series is not None:
        shutil.copy(series, series.name)
        s.data.corpus = series.name
    asyncio.run(live(s.validate(), runs, 1e9, {"forecast": ("f",)}, "series"))
    asyncio.run(generate(Path(os.path.relpath(char_run))))

if __name__ == "__main__":
    main()
