"""What both series tasks share: the honest baselines' forecasts of the held-out part, the error
rows every forecast is scored by, the forecast report and the forecast view's event."""

from __future__ import annotations

import numpy as np

from rnn_tui.train import events as ev


def series_baselines(train: np.ndarray, h: int, period: int) -> dict[str, np.ndarray]:
    """The honest baselines' forecasts of the h points after ``train``, fitted on it alone:
    seasonal naive, Holt-Winters (additive, multiplicative where every value is positive; Holt
    where there are too few seasons), the last value and the mean."""
    from rnn_tui.data import series as S
    from rnn_tui.models.ets import holt, holt_winters

    b = {"seasonal_naive": S.forecast_seasonal_naive(train, h, period)}
    hw_add = holt_winters(train, h, period, "add")
    if hw_add is None:
        b["holt"] = holt(train, h)
    else:
        b["holt_winters_add"] = hw_add
        hw_mul = holt_winters(train, h, period, "mul")
        if hw_mul is not None:
            b["holt_winters_mul"] = hw_mul
    b["last_value"] = S.forecast_last_value(train, h)
    b["mean"] = S.forecast_mean(train, h)
    return b


class HeldOutErrors:
    """What both series tasks score against: the baselines' forecasts of the held-out part
    (fitted on the training part only, computed once) and the error rows of any forecast.
    Needs ``train_values``, ``holdout`` and ``period``."""

    _baselines: dict[str, np.ndarray] | None = None

    def baselines(self) -> dict[str, np.ndarray]:
        if self._baselines is None:
            self._baselines = series_baselines(self.train_values, len(self.holdout),
                                               self.period)
        return self._baselines

    def error_rows(self, forecasts: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
        """MAE, RMSE and MASE (scaled by the seasonal naive error in the training part) of each
        forecast of the held-out part, in the order given."""
        from rnn_tui.data import series as S

        tr, truth = self.train_values, self.holdout
        return {name: {"mae": S.mae(truth, f), "rmse": S.rmse(truth, f),
                       "mase": S.mase(truth, f, tr, self.period)}
                for name, f in forecasts.items()}

    def print_report(self, horizon: int, chart: bool = True) -> None:
        """What ``rnn-tui forecast`` prints: the held-out part step by step (truth, forecast,
        one-step predictions, seasonal naive, Holt-Winters), the errors of every method, the
        next ``horizon`` values after the data and (with ``chart``) a plot; the last line is
        ``model_mae=<x> seasonal_naive_mae=<y>``. Needs ``errors()``, ``describe()``,
        ``series`` and ``forecaster`` besides."""
        import sys

        from rich.console import Console
        from rich.table import Table

        errs, fc, one = self.errors()
        truth = self.holdout
        con = Console()
        con.print(f"[bold]model[/]: {self.describe()}")
        base = self.baselines()
        hw_name = next((k for k in ("holt_winters_add", "holt_winters_mul", "holt")
                        if k in base), None)
        t = Table(title=f"{self.series.name}: last {len(truth)} points held out "
                  f"(period {self.period})")
        cols = ["step", "truth", "forecast", "one-step", "seasonal naive"]
        if hw_name:
            cols.append(hw_name.replace("_", " "))
        for col in cols:
            t.add_column(col, justify="right")
        sn = base["seasonal_naive"]
        n0 = len(self.train_values)
        for i in range(len(truth)):
            row = [str(n0 + i), f"{truth[i]:.2f}", f"{fc[i]:.2f}", f"{one[i]:.2f}",
                   f"{sn[i]:.2f}"]
            if hw_name:
                row.append(f"{base[hw_name][i]:.2f}")
            t.add_row(*row)
        con.print(t)
        e = Table(title="errors on the held-out part (lower is better)")
        for col in ("method", "MAE", "RMSE", "MASE"):
            e.add_column(col, justify="right" if col != "method" else "left")
        for name, m in errs.items():
            e.add_row(name.replace("_", " "), f"{m['mae']:.3f}", f"{m['rmse']:.3f}",
                      f"{m['mase']:.3f}")
        con.print(e)
        future = None
        if horizon:
            future = self.forecaster.forecast(self.series.values, horizon)
            con.print(f"next {horizon} after the data: " + ", ".join(f"{v:.2f}" for v in future))
        if chart:
            import plotext as plt

            hist = self.train_values[-3 * len(truth):]
            xs0 = list(range(n0 - len(hist), n0))
            xs1 = list(range(n0, n0 + len(truth)))
            plt.clear_figure()
            colour = con.is_terminal and not con.no_color  # a pipe, a file, NO_COLOR: none
            if not colour:
                plt.theme("clear")
            plt.plot(xs0, list(hist), label="history")
            plt.plot(xs1, list(truth), label="truth")
            plt.plot(xs1, list(fc), label="forecast")
            plt.plot(xs1, list(sn), label="seasonal naive")
            if hw_name:
                plt.plot(xs1, list(base[hw_name]), label=hw_name.replace("_", " "))
            if future is not None:
                n1 = len(self.series.values)
                plt.plot(list(range(n1, n1 + len(future))), list(future), label="future")
            plt.plotsize(min(con.width, 100), 20)
            plt.title(f"{self.series.name}: forecast vs truth")
            chart = plt.build()  # plotext resets colours even in its colourless theme
            sys.stdout.write((chart if colour else plt.uncolorize(chart)) + "\n")
            sys.stdout.flush()
        print(f"model_mae={errs['model']['mae']:.4f} "
              f"seasonal_naive_mae={errs['seasonal_naive']['mae']:.4f}")


def forecast_event(task) -> ev.ForecastUpdate:
    """What the forecast view shows of a series task (anything with ``errors()``,
    ``baselines()``, ``train_values`` and ``holdout``): the recent history, the held-out truth,
    the model's one-step predictions and forecast, the errors, and the Holt-Winters forecast."""
    errs, fc, one = task.errors()
    r = lambda a: [round(float(v), 4) for v in a]  # noqa: E731
    base = task.baselines()
    hw = {k: r(base[k]) for k in ("holt_winters_add", "holt_winters_mul", "holt") if k in base}
    return ev.ForecastUpdate(history=r(task.train_values[-120:]), truth=r(task.holdout),
                             prediction=r(one), forecast=r(fc), errors=errs, baselines=hw)
