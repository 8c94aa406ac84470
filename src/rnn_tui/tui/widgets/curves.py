"""Charts drawn with plotext: loss curves, gradient norms, the vanishing-gradient profile and the
forecast. Each redraws only when :meth:`refresh` is called, which the dashboard throttles."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from rnn_tui.tui.state import RunState

LINE_COLOURS = ["orange", "cyan", "green", "magenta", "yellow", "blue", "red"]


class Chart(PlotextPlot):
    """A plotext chart fed from a :class:`RunState`; subclasses draw in :meth:`draw`."""

    def __init__(self, state: RunState, **kw):
        super().__init__(**kw)
        self.state = state

    def on_mount(self) -> None:
        super().on_mount()
        if getattr(self.app.current_theme, "ansi", False):
            self.theme = "clear"  # plotext colours read the terminal's own palette

    def render(self):
        p = self.plt
        p.clear_data()
        p.clear_figure()
        self.draw(p)
        return super().render()

    def draw(self, p) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _finite(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys, strict=False) if y is not None and math.isfinite(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


class LossChart(Chart):
    """Training loss (averaged per progress event) and validation loss, nats per token."""

    def draw(self, p) -> None:
        s = self.state
        p.title("loss (nats/token)" if s.task != "series" else "loss (MSE, scaled)")
        if not s.loss and not s.val:
            p.title("loss — waiting for the first steps…")
            return
        xs, ys = _finite(s.loss.xs, s.loss.ys)
        if xs:
            p.plot(xs, ys, label="train", marker="braille", color=LINE_COLOURS[0])
        vx, vy = _finite(s.val.xs, s.val.ys)
        if vx:
            p.plot(vx, vy, label="val", marker="braille" if len(vx) > 1 else "o",
                   color=LINE_COLOURS[1])
        p.xlabel("step")


class GradChart(Chart):
    """Mode ``time``: the gradient norm of each layer over training steps (log scale).
    Mode ``depth``: ||dL/dh_t|| against distance back in time, for the latest batch — a vanilla
    RNN's gradient dies away from the loss, an LSTM's survives."""

    def __init__(self, state: RunState, **kw):
        super().__init__(state, **kw)
        self.mode = "depth"

    def draw(self, p) -> None:
        s = self.state
        if self.mode == "time":
            p.title("gradient norm per layer (log10)")
            if not s.grads:
                return
            for i, (name, ser) in enumerate(s.grads.items()):
                xs, ys = _finite(ser.xs, ser.ys)
                ys = [math.log10(max(y, 1e-12)) for y in ys]
                if xs:
                    p.plot(xs, ys, label=name, marker="braille",
                           color=LINE_COLOURS[i % len(LINE_COLOURS)])
            p.xlabel("step")
            return
        p.title("‖∂L_T/∂h_t‖: the last step's loss, k steps back (log10)")
        if s.flow is None or not s.flow.norms:
            return
        for i, row in enumerate(s.flow.norms):
            n = len(row)
            xs = list(range(n))
            ys = [math.log10(max(row[n - 1 - k], 1e-30)) for k in xs]  # k steps before the end
            p.plot(xs, ys, label=f"layer {i}", marker="braille",
                   color=LINE_COLOURS[i % len(LINE_COLOURS)])
        p.xlabel("k = steps back in time")


class ForecastChart(Chart):
    """History, held-out truth, one-step predictions, the model's multi-step forecast and the
    Holt-Winters baseline's."""

    def draw(self, p) -> None:
        f = self.state.forecast
        p.title("forecast on the held-out part")
        if f is None:
            p.title("forecast — waiting for the first evaluation…")
            return
        n0 = len(f.history)
        if f.history:
            p.plot(list(range(n0)), f.history, label="history", marker="braille",
                   color="gray")
        xs = list(range(n0, n0 + len(f.truth)))
        if f.truth:
            p.plot(xs, f.truth, label="truth", marker="braille", color="green")
        if f.prediction:
            p.plot(xs[:len(f.prediction)], f.prediction, label="one-step", marker="braille",
                   color="cyan")
        baselines = getattr(f, "baselines", None) or {}
        errors = f.errors or {}
        hw = min((k for k in ("holt_winters_add", "holt_winters_mul", "holt") if baselines.get(k)),
                 key=lambda k: errors.get(k, {}).get("mae", math.inf), default=None)
        if hw:
            p.plot(xs[:len(baselines[hw])], baselines[hw], label="Holt-Winters" if hw != "holt"
                   else "Holt", marker="braille", color="magenta")
        if f.forecast:
            p.plot(xs[:len(f.forecast)], f.forecast, label="forecast", marker="braille",
                   color="orange")
