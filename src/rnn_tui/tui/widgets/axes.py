"""Axis ticks on round numbers for every chart: steps as integers, values on a 1-2-5 grid, and
a log axis labelled with the values themselves (0.01, 1e-5), not their logarithms.

:class:`AxesPlot` is the plotext widget the charts derive from: a chart draws its lines with
:meth:`AxesPlot.line` and :meth:`AxesPlot.points`, and the axes are fitted to what was drawn
and to the widget's size.
"""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

MANTISSAS = (1, 2, 5)  # the 1-2-5 grid
X_TICK_CELLS = 10  # columns per x tick label, room between them included
Y_TICK_ROWS = 2  # rows per y tick
CHROME_ROWS = 4  # rows around the plot: title, x tick labels and the two borders
CHROME_COLS = 8  # y tick labels and borders


def align_to_rows(lo: float, ticks: list[float], rows: int) -> tuple[float, list[float]]:
    """The top of an axis whose evenly spaced ``ticks`` start at its bottom ``lo``, so that
    every tick falls the same number of rows above the one below it on a plot ``rows`` rows
    high (a terminal row is the unit; 0.1 per 3.5 rows comes out as 3, 4, 3, 4). Ticks that
    no longer fit are thinned. Returns (top, ticks)."""
    if len(ticks) < 2 or rows < 2:
        return (ticks[-1] if ticks else lo), ticks
    d = ticks[1] - ticks[0]
    k = len(ticks) - 1
    every = max(1, math.ceil(k / (rows - 1)))  # more ticks than rows: keep every so many
    ticks = ticks[::every]
    d *= every
    k = len(ticks) - 1
    per = (rows - 1) // max(k, 1)  # rows between two ticks
    top = lo + d * (rows - 1) / per
    n_more = math.floor((top - ticks[-1]) / d + 1e-9)
    ticks = ticks + [round(ticks[-1] + d * (i + 1), 12) for i in range(n_more)]
    return top, ticks


def nice_step(span: float, n: int) -> float:
    """The smallest step on the 1-2-5 grid (1, 2, 5, 10, 20, …) that cuts ``span`` into at
    most ``n`` parts."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (*MANTISSAS, 10):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10 * mag  # pragma: no cover - the loop always returns


def next_step(step: float) -> float:
    """The next step up the 1-2-5 grid (0.2 -> 0.5 -> 1 -> 2)."""
    mag = 10.0 ** math.floor(math.log10(step) + 1e-9)
    m = round(step / mag)
    return {1: 2, 2: 5}.get(m, 10) * mag


def nice_ticks(lo: float, hi: float, n: int, integer: bool = False,
               expand: bool = False, step: float | None = None
               ) -> tuple[list[float], float, float]:
    """At most about ``n`` ticks on the 1-2-5 grid within [lo, hi] (``integer``: whole
    numbers only), or ticks ``step`` apart. With ``expand`` the range grows to the ticks
    around it, so the first and last ticks are its ends. Returns (ticks, lo, hi)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = max(abs(lo) * 0.1, 1.0 if integer else 1e-3)
        lo, hi = lo - pad, hi + pad
    step = step or nice_step(hi - lo, n)
    if integer:
        step = max(1.0, round(step))
    if expand:
        lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks, lo, hi


def tick_label(v: float, step: float) -> str:
    """``v`` with as many decimals as ``step`` needs; large whole numbers as 12k, 3.5M."""
    if v == 0:
        return "0"
    if abs(v) >= 10_000 and step >= 1:
        for div, suffix in ((1e6, "M"), (1e3, "k")):
            if abs(v) >= div:
                return f"{v / div:.{_decimals(step / div)}f}{suffix}"
    return f"{v:.{_decimals(step)}f}"


def _decimals(step: float) -> int:
    """The decimals that write ``step`` exactly (0.25: 2)."""
    for d in range(12):
        if abs(round(step, d) - step) <= 1e-9 * max(step, 1e-300):
            return d
    return 12


def value_label(v: float) -> str:
    """A value of a log axis: 0.02, 1, 300, or 1e-5 / 2e+6 out of the plain range."""
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    mant, exp = f"{v:.0e}".split("e")
    return f"{mant}e{int(exp)}"


def log_ticks(lo: float, hi: float, n: int) -> tuple[list[float], list[str]]:
    """Ticks for an axis of log10 values in [lo, hi]: the 1-2-5 values inside when there are
    few enough, else powers of ten (every 1, 2 or 5 decades), else round values on a linear
    grid. Returns (positions as log10, labels as the values)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    values = [m * 10.0 ** e for e in range(math.floor(lo), math.ceil(hi) + 1)
              for m in MANTISSAS]
    inside = [v for v in values if lo - 1e-9 <= math.log10(v) <= hi + 1e-9]
    if len(inside) > n:  # powers of ten, every so many decades
        step = max(1, round(nice_step(hi - lo, n)))
        decades = [10.0 ** e for e in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)
                   if e % step == 0]
        inside = decades if len(decades) >= 2 else [inside[0], inside[-1]]
    if len(inside) < 2:  # less than a 1-2-5 step: a linear grid of the values
        ticks, _, _ = nice_ticks(10.0 ** lo, 10.0 ** hi, n)
        inside = [v for v in ticks if v > 0]
    return [math.log10(v) for v in inside], [value_label(v) for v in inside]


class AxesPlot(PlotextPlot):
    """A plotext chart whose axes are fitted after drawing: ticks on round numbers, as many
    as the widget has room for.

    Class settings: ``integer_x`` (x counts steps), ``log_y`` (the y values are log10 of what
    the labels show), ``y_range`` / ``x_range`` (fixed limits, e.g. 0…1 for an accuracy).
    """

    integer_x = True
    log_y = False
    y_range: tuple[float, float] | None = None
    x_range: tuple[float, float] | None = None
    y_bounds: tuple[float, float] | None = None  # what the y values can be (an accuracy: 0…1)

    _xr: list[float] | None = None
    _yr: list[float] | None = None
    _xlabel = False

    def begin(self):
        """A fresh figure to draw on."""
        p = self.plt
        p.clear_data()
        p.clear_figure()
        self._xr = self._yr = None
        self._xlabel = False
        return p

    def label_x(self, p, text: str) -> None:
        self._xlabel = True
        p.xlabel(text)

    @property
    def plot_rows(self) -> int:
        """Rows of the plot itself (the widget less its title, borders, ticks and label)."""
        return self.size.height - CHROME_ROWS - self._xlabel

    def _seen(self, xs, ys) -> None:
        if not xs:
            return
        lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
        if self._xr is None:
            self._xr, self._yr = [lo_x, hi_x], [lo_y, hi_y]
        else:
            self._xr = [min(self._xr[0], lo_x), max(self._xr[1], hi_x)]
            self._yr = [min(self._yr[0], lo_y), max(self._yr[1], hi_y)]

    def line(self, p, xs, ys, **kw) -> None:
        self._seen(xs, ys)
        p.plot(xs, ys, **kw)

    def points(self, p, xs, ys, **kw) -> None:
        self._seen(xs, ys)
        p.scatter(xs, ys, **kw)

    def fit_axes(self, p) -> None:
        """Ticks and limits for what was drawn (nothing drawn: plotext's own)."""
        xr = self.x_range or self._xr
        yr = self.y_range or self._yr
        if xr is None or yr is None:
            return
        width = self.size.width
        nx = max(2, (width - CHROME_COLS) // X_TICK_CELLS)
        ny = max(2, self.plot_rows // Y_TICK_ROWS)
        xt, x0, x1 = nice_ticks(xr[0], xr[1], nx, integer=self.integer_x)
        if xr[0] == xr[1]:
            p.xlim(x0, x1)
        else:
            p.xlim(xr[0], xr[1])
        xstep = xt[1] - xt[0] if len(xt) > 1 else 1.0
        p.xticks(xt, [tick_label(v, xstep) for v in xt])
        if self.log_y:
            lo, hi = yr
            if hi - lo < 1e-9:
                lo, hi = lo - 0.5, hi + 0.5
            pos, labels = log_ticks(lo, hi, ny)
            lo, hi = min([lo, *pos]), max([hi, *pos])
            p.ylim(lo, hi)
            p.yticks(pos, labels)
            return
        if self.y_range is not None:
            yt, _, _ = nice_ticks(yr[0], yr[1], ny)
            y0, y1 = self.y_range
        else:
            y0, y1, yt = self.fit_y(yr[0], yr[1], ny)
        p.ylim(y0, y1)
        ystep = yt[1] - yt[0] if len(yt) > 1 else 1.0
        p.yticks(yt, [tick_label(v, ystep) for v in yt])

    WASTE = 0.25  # the share of the axis past the data that a tick spacing may leave

    def fit_y(self, lo: float, hi: float, n: int) -> tuple[float, float, list[float]]:
        """(bottom, top, ticks) of a y axis: ticks on the 1-2-5 grid the same rows apart, the
        finest spacing that leaves no more than :attr:`WASTE` of the axis empty past the ticks
        (a spacing that does not divide the rows would stretch the axis)."""
        best = None
        step = None
        for _ in range(4):
            yt, y0, y1 = nice_ticks(lo, hi, n, expand=True, step=step)
            step = yt[1] - yt[0] if len(yt) > 1 else nice_step(y1 - y0, n)
            top, up = align_to_rows(y0, yt, self.plot_rows)  # room above the last tick
            bottom, ticks = y0, up
            if self.y_bounds is not None and top > self.y_bounds[1] + 1e-9:
                # no room above what the values can be: below the first tick instead
                b, down = align_to_rows(-y1, [-t for t in reversed(yt)], self.plot_rows)
                if -b >= self.y_bounds[0] - 1e-9:
                    bottom, top, ticks = -b, y1, sorted(-t for t in down)
                else:
                    top, ticks = y1, yt
            waste = (top - bottom) / max(y1 - y0, 1e-300) - 1
            if best is None or waste < best[0] - 1e-9:
                best = (waste, bottom, top, ticks)
            if waste <= self.WASTE:
                break
            step = next_step(step)
        _waste, bottom, top, ticks = best
        return bottom, top, ticks

    def fit_title(self, p, long: str, short: str) -> None:
        """The long title when it fits the width, else the short one."""
        p.title(long if len(long) <= self.size.width - 2 else short)
