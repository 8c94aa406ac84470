"""Charts drawn with plotext: loss curves, gradient norms, the vanishing-gradient profile and the
forecast. Each redraws only when :meth:`refresh` is called, which the dashboard throttles."""

from __future__ import annotations

import math

from rnn_tui.tui.state import RunState
from rnn_tui.tui.widgets.axes import AxesPlot

LINE_COLOURS = ["orange", "cyan", "green", "magenta", "yellow", "blue", "red"]


class Chart(AxesPlot):
    """A plotext chart fed from a :class:`RunState`; subclasses draw in :meth:`draw` (with
    :meth:`line` and :meth:`points`, so that the axes fit what they drew)."""

    def __init__(self, state: RunState, **kw):
        super().__init__(**kw)
        self.state = state

    def on_mount(self) -> None:
        super().on_mount()
        if getattr(self.app.current_theme, "ansi", False):
            self.theme = "clear"  # plotext colours read the terminal's own palette

    def render(self):
        p = self.begin()
        self.draw(p)
        self.fit_axes(p)
        return super().render()

    def draw(self, p) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


PLOT_LIMIT = 1e150  # beyond this plotext's axis arithmetic overflows; such points are left out


def _ok(v) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v) and abs(v) < PLOT_LIMIT
    except OverflowError:  # an integer too large for a float
        return False


def _finite(xs, ys):
    """The points whose x and y are both plottable numbers (None, NaN, inf left out)."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=False) if _ok(x) and _ok(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


def grad_lines(state: RunState, mode: str) -> list[tuple[str, list[float], list[float]]]:
    """(label, xs, ys) of the gradient chart: per layer over training steps (``time``, log10)
    or against steps back in time for the latest batch (``depth``, log10)."""
    lines = []
    if mode == "time":
        for name, ser in state.grads.items():
            xs, ys = _finite(ser.xs, ser.ys)
            ys = [math.log10(max(y, 1e-12)) for y in ys]
            if xs:
                lines.append((str(name), xs, ys))
        return lines
    if state.flow is None:
        return lines
    for i, row in enumerate(state.flow.norms):
        n = len(row)
        pts = [(k, math.log10(max(row[n - 1 - k], 1e-30))) for k in range(n)
               if _ok(row[n - 1 - k])]  # k steps before the end
        if pts:
            lines.append((f"layer {i}", [p[0] for p in pts], [p[1] for p in pts]))
    return lines


def forecast_lines(f) -> list[tuple[str, list[float], list[float]]]:
    """(label, xs, ys) of the forecast chart, non-finite points left out."""
    if f is None:
        return []
    n0 = len(f.history)
    lines = []
    series = [("history", 0, f.history), ("truth", n0, f.truth),
              ("one-step", n0, f.prediction)]
    baselines = getattr(f, "baselines", None) or {}
    errors = f.errors if isinstance(f.errors, dict) else {}

    def mae(k):
        m = errors.get(k)
        v = m.get("mae") if isinstance(m, dict) else None
        return v if _ok(v) else math.inf

    hw = min((k for k in ("holt_winters_add", "holt_winters_mul", "holt")
              if isinstance(baselines.get(k), list) and baselines[k]), key=mae, default=None)
    if hw:  # the best Holt-Winters beside the model, the forecast a model must beat
        series.append(("Holt-Winters" if hw != "holt" else "Holt", n0, baselines[hw]))
    series.append(("forecast", n0, f.forecast))
    for label, start, values in series:
        if label != "history" and label != "truth":
            values = values[: len(f.truth)]
        xs, ys = _finite(range(start, start + len(values)), values)
        if xs:
            lines.append((label, xs, ys))
    return lines


class LossChart(Chart):
    """Training loss (averaged per progress event) and validation loss, nats per token."""

    def draw(self, p) -> None:
        s = self.state
        title = "loss (nats/token)" if s.task != "series" else "loss (MSE, scaled)"
        m = s.last_eval.metrics if s.last_eval is not None else {}
        if m.get("val_ppl") is not None:
            title += f" · val perplexity {m['val_ppl']:.2f}"
            if m.get("unigram_ppl") is not None:
                title += f", unigram {m['unigram_ppl']:.1f}"
        self.fit_title(p, title, title.split(" · ")[0])
        if not s.loss and not s.val:
            p.title("loss — waiting for the first steps…")
            return
        xs, ys = _finite(s.loss.xs, s.loss.ys)
        if xs:
            self.line(p, xs, ys, label="train", marker="braille", color=LINE_COLOURS[0])
        vx, vy = _finite(s.val.xs, s.val.ys)
        if vx:
            self.line(p, vx, vy, label="val", marker="braille" if len(vx) > 1 else "o",
                      color=LINE_COLOURS[1])
        self.label_x(p, "step")


class GradChart(Chart):
    """Mode ``time``: the gradient norm (global and per layer, before clipping) over training
    steps on a log scale, the clipping threshold as a line labelled "clip" and the clipped
    steps marked.
    Mode ``depth``: ||dL/dh_t|| against distance back in time, for the latest batch — a vanilla
    RNN's gradient dies away from the loss, an LSTM's survives."""

    log_y = True  # the lines are log10 of the norms; the axis is labelled with the norms

    def __init__(self, state: RunState, **kw):
        super().__init__(state, **kw)
        self.mode = "depth"

    def draw(self, p) -> None:
        s = self.state
        if self.mode == "time":
            clipped = f" · {s.clipped_steps:,} steps clipped" if s.clipped_steps else ""
            self.fit_title(p, "gradient norm before clipping (log scale)" + clipped,
                           "grad norm, before clipping" + clipped)
            if not s.grads:
                return
            lg = lambda ys: [math.log10(max(y, 1e-12)) for y in ys]  # noqa: E731
            xs, ys = _finite(s.grad_total.xs, s.grad_total.ys)
            if xs:
                self.line(p, xs, lg(ys), label="global", marker="braille", color="white")
            for i, (name, gx, gy) in enumerate(grad_lines(s, "time")):
                self.line(p, gx, gy, label=name, marker="braille",
                          color=LINE_COLOURS[i % len(LINE_COLOURS)])
            if _ok(s.clip) and s.clip > 0 and xs:
                c = math.log10(s.clip)
                self.line(p, [xs[0], xs[-1]] if len(xs) > 1 else [xs[0] - 1, xs[0]], [c, c],
                          label="clip", marker="braille", color="red")
            cx, cy = _finite(s.clipped_at.xs, s.clipped_at.ys)
            if cx:
                self.points(p, cx, lg(cy), label="clipped", marker="x", color="red")
            self.label_x(p, "step")
            return
        self.fit_title(p, "‖∂L_T/∂h_t‖: the last step's loss, k steps back (log scale)",
                       "‖∂L_T/∂h_t‖, k steps back")
        lines = grad_lines(s, "depth")
        for i, (name, xs, ys) in enumerate(lines):
            self.line(p, xs, ys, label=name, marker="braille",
                      color=LINE_COLOURS[i % len(LINE_COLOURS)])
        if lines:
            self.label_x(p, "k = steps back in time")


class ForecastChart(Chart):
    """History, held-out truth, one-step predictions, the model's multi-step forecast and the
    Holt-Winters baseline's."""

    def draw(self, p) -> None:
        f = self.state.forecast
        p.title("forecast on the held-out part")
        if f is None:
            p.title("forecast — waiting for the first evaluation…")
            return
        colours = {"history": "gray", "truth": "green", "one-step": "cyan",
                   "forecast": "orange", "Holt-Winters": "magenta", "Holt": "magenta"}
        for label, xs, ys in forecast_lines(f):
            self.line(p, xs, ys, label=label, marker="braille", color=colours[label])
