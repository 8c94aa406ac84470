r"""Time series: CSV in, synthetic generators, chronological splits, scaling fitted on the
training part only, windows (lookback -> horizon), baselines and error measures.

MASE scales the mean absolute error by the in-sample MAE of the seasonal naive forecast on the
training part: :math:`\mathrm{MASE} = \mathrm{MAE} / \frac{1}{n-m}\sum_{t>m}|y_t - y_{t-m}|`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from rnn_tui.data.corpora import path_exists, read_text_file
from rnn_tui.errors import UserError


@dataclass
class Series:
    name: str
    values: np.ndarray
    source: str
    column: str = "value"


# ------------------------------------------------------------------ CSV
def load_csv(path: str | Path, column: str | int | None = None, encoding: str = "utf-8") -> Series:
    """Read one numeric column of a CSV (header optional, delimiter detected).

    Numbers are read as people write them: thousands separators (``1,234`` quoted in a
    comma-separated file, ``1 234``, ``1'234``), decimal commas (``1,5``, usual with ``;`` as the
    delimiter; ``1.234,5``), quotes, surrounding spaces, a currency sign (``$``, ``€``, ``£``, …)
    or a trailing ``%`` (the number is kept as written), accounting negatives ``(12)``. Each
    column's convention (decimal point or comma) is decided from its own cells.

    Without ``column`` the value column is chosen deliberately: the last column that is numbers
    throughout and is not a date, a row index or a time axis (a named one, or whole numbers that
    step evenly). Nothing ever falls back silently: a bad cell in the value column is refused
    with the lines and why (skipping rows would shift the time axis)."""
    path = Path(path)
    text = read_text_file(path, encoding, "CSV file").replace("\r", "\n")
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise UserError(f"{path} has no rows")
    sep = re.fullmatch(r"\s*sep=(.)\s*", lines[0])  # Excel's "sep=;" first line
    if sep:
        delim = sep.group(1)
        physical = text.split("\n")
        physical[physical.index(lines[0])] = ""  # blanked, so line numbers stay true
        text = "\n".join(physical)
        lines = lines[1:]
        if not lines:
            raise UserError(f"{path} has no rows")
    else:
        delim = _detect_delimiter(lines[:200])
    rows, line_of = [], []
    gap = None  # the first blank row after data: fine at the end, a missing step before more
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delim, skipinitialspace=True)
        for r in reader:
            if any(c.strip() for c in r):
                if gap is not None:
                    raise UserError(f"{path}: line {gap} is empty between data rows; a series "
                                    "cannot skip a time step (fill in the value, or remove "
                                    "the line if no step is missing)")
                rows.append(r)
                line_of.append(reader.line_num)
            elif rows and gap is None and r:  # a row of empty cells ("," or ";;")
                gap = reader.line_num
    except csv.Error as err:
        raise UserError(f"{path} is not a well-formed CSV ({err})") from None
    if not rows:
        raise UserError(f"{path} has no rows")
    width = len(rows[0])
    for r, line in zip(rows, line_of, strict=True):
        if len(r) != width:
            raise UserError(f"{path} is not a well-formed CSV: line {line} has {len(r)} fields, "
                            f"the first line has {width}")
    has_header = not any(_looks_numeric(c) for c in rows[0])
    header = unique_names([_clean(h) for h in rows[0]]) if has_header else \
        [str(i) for i in range(width)]
    body = rows[1:] if has_header else rows
    body_lines = line_of[1:] if has_header else line_of
    if not body:
        raise UserError(f"{path} has a header but no data rows")
    cols = [_read_column([r[j] for r in body], delim) for j in range(width)]
    if column is None or (isinstance(column, str) and not column.strip()):
        j = _choose_column(path, header, cols, body_lines)
    else:
        j = _column_index(column, header, path)
    values, bad = cols[j]
    if bad:
        shown = ", ".join(f"line {body_lines[i]} {_show(body[i][j])} ({why})"
                          for i, why in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise UserError(f"{path}: column {header[j]!r} has {len(bad)} missing or non-numeric "
                        f"value(s): {shown}{more}; fix or remove those rows (rnn-tui does not "
                        "skip them, as that would shift the time axis)")
    # an unnamed column is named by its index, which --column finds it by
    return Series(path.stem, np.asarray(values, dtype=np.float64), str(path), header[j] or str(j))


MAX_MAGNITUDE = 1e100  # beyond this, squares overflow in scaling; rescale such a column first
_DELIMITERS = ("\t", ";", "|", ",")  # preferred in this order when several split consistently
_SPACES = "\u00a0\u202f\u2009\u2007 "
_CURRENCY = "$€£¥₹₽₩₺₪₫฿₴₦"
_MISSING = {"na", "n/a", "nan", "null", "none", "-", "--", "—", "–", "?", "#n/a", "nil", "."}
_INFINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "∞", "-∞", "+∞"}
_INDEX_NAMES = {"", "index", "idx", "id", "t", "time", "timestamp", "date", "datetime", "year",
                "month", "week", "day", "hour", "minute", "second", "step", "row", "unnamed: 0"}
# a decimal-point number: 1234, 1,234, 1'234 or 1 234 (one kind of group separator), .5, 1e5
_POINT = re.compile(r"(?:[0-9]{1,3}(?:(?P<g>[,' ’\u00a0\u202f\u2009])[0-9]{3})"
                    r"(?:(?P=g)[0-9]{3})*|[0-9]+)?(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")
# a decimal-comma number: 1234, 1.234, 1 234 or 1'234, then ,5
_COMMA = re.compile(r"(?:[0-9]{1,3}(?:(?P<g>[. '’\u00a0\u202f\u2009])[0-9]{3})"
                    r"(?:(?P=g)[0-9]{3})*|[0-9]+)?(?:,[0-9]*)?(?:[eE][+-]?[0-9]+)?")
_AMBIGUOUS = re.compile(r"[0-9]{1,3}[.,][0-9]{3}")  # 1,234 / 1.234: thousands or decimals?
_DATE = re.compile(
    r"[0-9]{4}[-/.][0-9]{1,2}(?:[-/.][0-9]{1,2})?(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}"
    r"(?:\.[0-9]+)?)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
    r"|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}|[0-9]{1,4}-[0-9]{1,2}|[0-9]{4}-?[QqWw][0-9]{1,2}"
    r"|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?", re.ASCII)


def unique_names(names: list[str]) -> list[str]:
    """Column names made unambiguous: the second ``v`` becomes ``v.1``, the third ``v.2`` (as
    pandas does), skipping any name the file already uses; empty names (an unnamed index
    column) stay as they are."""
    taken = set(names)
    seen: set[str] = set()
    out = []
    for name in names:
        if name and name in seen:
            k = 1
            while f"{name}.{k}" in taken or f"{name}.{k}" in seen:
                k += 1
            name = f"{name}.{k}"
        seen.add(name)
        out.append(name)
    return out


def _detect_delimiter(lines: list[str]) -> str:
    """The delimiter that splits every sample line into the same number (> 1) of fields,
    quotes respected; the rarer-in-numbers ones first (a ``;`` file often has decimal commas)."""
    best, best_n = ",", 1
    for d in _DELIMITERS:
        try:
            counts = {len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=d,
                                                 skipinitialspace=True) if r}
        except csv.Error:
            continue
        if len(counts) == 1:
            n = counts.pop()
            if n > best_n:
                best, best_n = d, n
    return best


def _clean(cell: str) -> str:
    return cell.strip(_SPACES + "\t\r\n")


def _show(cell: str) -> str:
    c = cell if len(cell) <= 24 else cell[:21] + "…"
    return repr(c)


def _unwrap(cell: str) -> tuple[str, bool]:
    """(the number part, negative?) without spaces, sign, currency, parentheses or %."""
    s = _clean(cell).replace("−", "-")  # U+2212 MINUS SIGN
    neg = False
    if len(s) > 2 and s[0] == "(" and s[-1] == ")":
        s, neg = _clean(s[1:-1]), True
    if s.endswith("%"):
        s = _clean(s[:-1])
    for _ in range(2):  # the sign and the currency sign, either order: -$5, $-5, 5 €, -5€
        if s[:1] and s[0] in "+-":  # ('' is "in" every string: a cell of a sign alone)
            neg ^= s[0] == "-"
            s = _clean(s[1:])
        if s[:1] and s[0] in _CURRENCY:
            s = _clean(s[1:])
        elif s[-1:] and s[-1] in _CURRENCY:
            s = _clean(s[:-1])
    return s, neg


def _parse(cell: str, comma: bool) -> float | str:
    """A cell's value under one convention (decimal ``comma`` or point), or why it is not one."""
    raw = _clean(cell)
    low = raw.lower()
    if not raw:
        return "blank"
    if low in _MISSING:
        return "missing"
    if low in _INFINITE:
        return "not finite"
    s, neg = _unwrap(raw)
    if not s or not any(ch.isdigit() for ch in s):
        return "not a number"
    m = (_COMMA if comma else _POINT).fullmatch(s)
    if m is None or not any("0" <= ch <= "9" for ch in s):
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
            return "hexadecimal, not a decimal number"
        if _DATE.fullmatch(raw):
            return "a date or time"
        if any(ch.isdigit() and not "0" <= ch <= "9" for ch in s):
            return "digits other than 0-9"
        if re.fullmatch(r"[0-9.,' ’]+", s):
            return ("not a number with a decimal comma" if comma
                    else "not a number with a decimal point")
        return "not a number"
    g = m.group("g")
    num = s.replace(g, "") if g else s
    if comma:
        num = num.replace(",", ".")
    if num.startswith((".", "e", "E")) and not num[1:2].isdigit():
        return "not a number"
    try:
        v = float(num)
    except (ValueError, OverflowError):
        return "not a number"
    if not math.isfinite(v):
        return "not finite"
    if abs(v) > MAX_MAGNITUDE:
        return f"beyond ±{MAX_MAGNITUDE:.0e}; rescale the column"
    return -v if neg else v


def _looks_numeric(cell: str) -> bool:
    return isinstance(_parse(cell, False), float) or isinstance(_parse(cell, True), float)


def _read_column(cells: list[str], delim: str) -> tuple[list[float], list[tuple[int, str]]]:
    """(values, [(row, why)] of the cells that are not numbers), under the column's convention:
    the one that reads more of its cells; where every separator is ambiguous (``1,234``), a
    comma is decimal in a ``;``-separated file and a thousands separator otherwise, and a point
    is decimal."""
    point = [_parse(c, False) for c in cells]
    good_p = sum(isinstance(v, float) for v in point)
    if good_p == len(cells) and not any("," in c for c in cells):
        parsed = point  # the common case: plain numbers
    else:
        comma = [_parse(c, True) for c in cells]
        good_c = sum(isinstance(v, float) for v in comma)
        if good_c != good_p:
            parsed = comma if good_c > good_p else point
        else:
            clear = [_clean(c) for c in cells]
            decides = [c for c in clear if ("," in c or "." in c) and not _AMBIGUOUS.search(c)]
            amb_comma = any("," in c for c in clear)
            if decides:  # a cell such as 1.5 or 1,5 settles it (both read alike otherwise)
                parsed = point if isinstance(_parse(decides[0], False), float) else comma
            else:
                parsed = comma if (amb_comma and delim == ";") else point
    values, bad = [], []
    for i, v in enumerate(parsed):
        if isinstance(v, float):
            values.append(v)
        else:
            bad.append((i, v))
    return values, bad


def _is_index(name: str) -> bool:
    """A row index or time axis by its name (index, id, t, date, year, …)."""
    return name.strip().lower() in _INDEX_NAMES


def _steps_evenly(values: list[float]) -> bool:
    """Whole numbers stepping evenly (0, 1, 2…; 1949, 1950…): a row number or a year, likely."""
    if len(values) < 3 or not all(float(v).is_integer() for v in values):
        return False
    step = values[1] - values[0]
    return step != 0 and all(b - a == step for a, b in zip(values, values[1:], strict=False))


def _choose_column(path: Path, header: list[str], cols, lines: list[int]) -> int:
    """The value column when none is given: the last that is numbers throughout and is not an
    index or a time axis (by name; whole numbers stepping evenly only where another column
    remains). Failing that, the non-index column with the most numbers (its bad cells are then
    reported); every other outcome is an error that says why."""
    index = [len(header) > 1 and _is_index(h) for h in header]
    full = [j for j, (_, bad) in enumerate(cols) if not bad]
    values = [j for j in full if not index[j]]
    plain = [j for j in values if not _steps_evenly(cols[j][0])]
    if plain:
        return plain[-1]
    # a column of numbers with bad cells is surely the one meant, rather than a row number:
    # its bad cells are reported (never a silent fallback to another column)
    some = [j for j, (vals, bad) in enumerate(cols) if bad and vals and not index[j]]
    if some:
        return max(reversed(some), key=lambda j: len(cols[j][0]))
    if values:  # only whole numbers stepping evenly (synthetic data): the last of them
        return values[-1]
    rest = [j for j in range(len(cols)) if j not in full]
    example = ""
    if rest:
        j = rest[-1]
        i, why = cols[j][1][0]
        example = f"column {header[j]!r} holds no numbers (line {lines[i]}: {why})"
    if full:
        names = ", ".join(repr(header[j]) for j in full)
        raise UserError(f"{path} has no value column: {names} look(s) like a row index or time "
                        f"axis{' and ' + example if example else ''}; pass --column NAME to "
                        "use a column anyway")
    raise UserError(f"{path} has no numeric column; columns: {', '.join(header)}"
                    + (f" ({example})" if example else ""))


def _column_index(column: str | int, header: list[str], path: Path) -> int:
    """A column by name (exact, spaces ignored) or by 0-based index (ASCII digits only)."""
    name = column.strip() if isinstance(column, str) else column
    if isinstance(name, str) and name in header:
        return header.index(name)
    if isinstance(name, int) or re.fullmatch(r"[+-]?[0-9]+", str(name), re.ASCII):
        j = int(name)
        if not 0 <= j < len(header):
            raise UserError(f"{path} has {len(header)} columns; column index {j} is out of range "
                            f"(0 to {len(header) - 1})")
        return j
    raise UserError(f"{path} has no column {column!r}; columns: {', '.join(header)} (or a "
                    "0-based index)")


# ------------------------------------------------------------------ generators
def noisy_sine(n: int = 1000, period: float = 50.0, noise: float = 0.1, seed: int = 0) -> Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    v = np.sin(2 * np.pi * t / period) + rng.normal(0, noise, n)
    return Series("sine", v, "synthetic: sin(2 pi t / period) + noise")


def daily_sales(n: int = 730, seed: int = 0) -> Series:
    """A shop's daily sales: weekly pattern (weekends busy), slow upward trend, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    week = np.array([0.8, 0.85, 0.9, 1.0, 1.2, 1.6, 1.4])[t % 7]
    v = (100 + 0.08 * t) * week * (1 + 0.05 * np.sin(2 * np.pi * t / 365.25))
    v = np.maximum(v + rng.normal(0, 6, n), 0)
    return Series("sales", v, "synthetic: weekly seasonality x trend + noise")


def mackey_glass(n: int = 1500, tau: int = 17, seed: int = 0) -> Series:
    """The Mackey-Glass delay equation dx/dt = 0.2 x(t-tau) / (1 + x(t-tau)^10) - 0.1 x(t),
    integrated with step 1 (sub-stepped), a classic chaotic benchmark."""
    rng = np.random.default_rng(seed)
    sub = 10
    dt = 1.0 / sub
    hist = tau * sub
    x = np.full(hist + (n + 200) * sub, 1.2) + rng.normal(0, 0.01)
    for i in range(hist, len(x) - 1):
        xd = x[i - hist]
        x[i + 1] = x[i] + dt * (0.2 * xd / (1 + xd**10) - 0.1 * x[i])
    v = x[hist::sub][200 : 200 + n]
    return Series("mackey_glass", v, f"synthetic: Mackey-Glass, tau={tau}")


def random_integers(n: int = 500, low: int = 20, high: int = 100, seed: int = 42) -> Series:
    """Integers drawn uniformly from [low, high) by NumPy's legacy global generator seeded as
    given (``np.random.seed(seed); np.random.randint(low, high, size=n)``): white noise, the
    "daily sales" of the introductory SimpleRNN example."""
    v = np.random.RandomState(int(seed)).randint(int(low), int(high), size=int(n))
    return Series("random_integers", v.astype(np.float64),
                  f"synthetic: uniform integers in [{low}, {high}), legacy seed {seed}")


BUILTIN_SERIES = {"sine": noisy_sine, "sales": daily_sales, "mackey_glass": mackey_glass,
                  "random_integers": random_integers}
MAX_GENERATED = 1_000_000  # points a generator may be asked for


def generator_call(spec: str) -> Series | None:
    """A built-in series by name, or with settings: ``NAME:key=value,key=value`` (e.g.
    ``sine:n=1000,period=62.832,noise=0.2``); None when ``spec`` names no generator."""
    import inspect

    name, _, args = spec.partition(":")
    gen = BUILTIN_SERIES.get(name)
    if gen is None:
        return None
    params = inspect.signature(gen).parameters
    kwargs = {}
    for part in filter(None, (a.strip() for a in args.split(","))):
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq or key not in params:
            raise UserError(f"series {name}: settings are key=value from "
                            f"{', '.join(params)}; got {part!r}")
        want = type(params[key].default)
        try:
            value = want(float(raw)) if want is int and float(raw).is_integer() else want(raw)
        except (TypeError, ValueError):
            kind = "a whole number" if want is int else "a number"
            raise UserError(f"series {name}: {key} must be {kind}, got "
                            f"{raw.strip()!r}") from None
        if isinstance(value, float) and not np.isfinite(value):
            raise UserError(f"series {name}: {key} must be finite, got {raw.strip()!r}")
        kwargs[key] = value
    if not 8 <= kwargs.get("n", 8) <= MAX_GENERATED:
        raise UserError(f"series {name}: n must be from 8 to {MAX_GENERATED:,}")
    try:
        series = gen(**kwargs)
    except (ValueError, OverflowError) as err:
        raise UserError(f"series {name}: these settings do not make a series ({err})") from None
    if not np.all(np.isfinite(series.values)):
        raise UserError(f"series {name}: these settings give non-finite values")
    return series


def load_series(name_or_path: str, column: str | int | None = None,
                encoding: str = "utf-8") -> Series:
    generated = generator_call(name_or_path)
    if generated is not None:
        return generated
    p = Path(name_or_path)
    if not path_exists(p) and p.suffix == "":
        raise UserError(f"unknown series {name_or_path!r}; give a CSV file or one of "
                        f"{', '.join(BUILTIN_SERIES)}")
    return load_csv(p, column, encoding)


# ------------------------------------------------------------------ splits, scaling, windows
def check_holdout(holdout: int) -> None:
    """A series run holds out at least one final point: its validation loss, its forecast and
    the baselines' errors are measured there (never on points it trained on)."""
    if holdout < 1:
        raise UserError(f"--holdout must be at least 1, got {holdout}: the validation loss and "
                        "the forecast are measured on the final points held out from training")


def split_series(values: np.ndarray, val: int, test: int = 0):
    """Chronological split into (train, val, test) by counts from the end."""
    n = len(values)
    if val + test >= n:
        raise UserError(f"the series has {n} points; cannot hold out {val + test}")
    return values[: n - val - test], values[n - val - test : n - test], values[n - test :]


class StandardScaler:
    """z = (x - mean) / std, fitted on the training part only."""

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        self.mean, self.std = float(mean), float(std)

    def fit(self, train: np.ndarray) -> StandardScaler:
        self.mean = float(np.mean(train))
        self.std = float(np.std(train)) or 1.0
        return self

    def transform(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, z):
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StandardScaler:
        return cls(d["mean"], d["std"])


def make_windows(values: np.ndarray, lookback: int, horizon: int):
    """All windows: X[i] = values[i : i+lookback], Y[i] = values[i+lookback : i+lookback+horizon].
    Returns X (N, lookback), Y (N, horizon) with N = len - lookback - horizon + 1."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values) - lookback - horizon + 1
    if lookback < 1 or horizon < 1:
        raise UserError("lookback and horizon must be at least 1")
    if n < 1:
        raise UserError(f"the series has {len(values)} points, fewer than lookback + horizon = "
                        f"{lookback + horizon}; use a smaller --lookback or --horizon")
    idx = np.arange(n)[:, None]
    X = values[idx + np.arange(lookback)[None, :]]
    Y = values[idx + lookback + np.arange(horizon)[None, :]]
    return X, Y


# ------------------------------------------------------------------ baselines and errors
def forecast_last_value(history: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(history[-1]))


def forecast_seasonal_naive(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    period = max(1, min(int(period), len(history)))
    last = np.asarray(history[-period:], dtype=np.float64)
    return np.resize(last, horizon)


def forecast_mean(history: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(np.mean(history)))


def _acf(v: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation r_0..r_max_lag (biased: every lag divided by the full sum of
    squares, so long lags are shrunk)."""
    v = v - v.mean()
    n = len(v)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(v, size)
    r = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1]
    return r / r[0] if r[0] > 0 else np.zeros(max_lag + 1)


def detect_period(values: np.ndarray, max_period: int | None = None,
                  alpha: float = 0.05) -> int:
    r"""The seasonal period, or 1 when there is none worth the name.

    Candidates are the lags :math:`p \ge 2` (at most ``max_period``, default a third of the
    series, so at least three cycles are seen) where the autocorrelation of the linearly
    detrended series has a positive local peak. A candidate must pass a significance test that
    holds up in noise, trends and random walks: the series is differenced at half the lag,
    :math:`d_t = y_t - y_{t - \lfloor p/2 \rfloor}` (a seasonal pattern survives that, a trend
    or a wandering level does not; a multiple of the true period cancels the pattern), and the
    autocorrelation of :math:`d` at lag :math:`p` must exceed Bartlett's band
    :math:`z \sqrt{(1 + 2\sum_{j<p} r_d(j)^2)/n}`, with :math:`z` the normal quantile for
    ``alpha`` shared (Bonferroni) among the candidates. Of those that pass, the one with the
    largest statistic wins; a multiple of it whose autocorrelation is clearly higher (a pattern
    of period 4 whose halves look alike) replaces it.

    That test needs many cycles for a smooth cycle (its band grows with the cycle's own
    autocorrelation): ten years of a daily annual cycle do not pass it. So a candidate seen at
    least six times also passes when its seasonal profile, estimated on the first half of the
    series (after removing a centred moving average of length p), explains at least 30 % of
    the variance of the second half (an out-of-sample R^2, which noise and random walks do not
    reach); the largest such R^2 wins."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    max_period = min(max_period or n // 3, n // 2)
    if n < 8 or max_period < 2 or not np.all(np.isfinite(v)):
        return 1
    t = np.arange(n)
    r = _acf(v - np.polyval(np.polyfit(t, v, 1), t), max_period + 1)
    cands = [k for k in range(2, max_period + 1)
             if r[k] > 0 and r[k] > r[k - 1] and r[k] >= r[k + 1]]
    if not cands:
        return 1
    best, best_z = 1, NormalDist().inv_cdf(1 - alpha / len(cands))
    for p in cands:
        d = v[p // 2 :] - v[: -(p // 2)]
        m = len(d)
        if m <= p + 2:
            continue
        rd = _acf(d, p)
        z = rd[p] / np.sqrt((1 + 2 * np.sum(rd[1:p] ** 2)) / m)
        if z > best_z:
            best, best_z = p, z
    if best > 1:
        more = [k for k in cands if k > best and k % best == 0 and r[k] > r[best] + 1 / np.sqrt(n)]
        if more:
            best = max(more, key=lambda k: r[k])
        return best
    gains = {p: _profile_gain(v, p) for p in cands if 6 * p <= n}
    gains = {p: g for p, g in gains.items() if g > 0.3}
    return max(gains, key=lambda p: gains[p]) if gains else 1


def _profile_gain(v: np.ndarray, p: int) -> float:
    """Out-of-sample R^2 of a period-p profile: the series minus its centred moving average of
    length p (2 x p when p is even), the mean per phase on the first half predicting the
    second half, against the first half's mean."""
    k = np.ones(p) / p if p % 2 else np.r_[0.5, np.ones(p - 1), 0.5] / p
    ma = np.convolve(v, k, mode="valid")
    h = (len(k) - 1) // 2
    r = v[h : h + len(ma)] - ma
    phase = (np.arange(len(r)) + h) % p
    half = len(r) // 2
    if half < 2 * p:  # (the caller asks for six cycles: three a half)
        return -np.inf
    a, b = slice(0, half), slice(half, len(r))
    count = np.bincount(phase[a], minlength=p)
    profile = np.bincount(phase[a], r[a], minlength=p) / np.maximum(count, 1)
    base = float(np.sum((r[b] - r[a].mean()) ** 2))
    return 1 - float(np.sum((r[b] - profile[phase[b]]) ** 2)) / base if base > 0 else -np.inf


def mae(y, yhat) -> float:
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(yhat))))


def rmse(y, yhat) -> float:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(yhat)) ** 2)))


def mase(y, yhat, train, period: int = 1) -> float:
    train = np.asarray(train, dtype=np.float64)
    m = max(1, int(period))
    if len(train) <= m:
        m = 1
    scale = float(np.mean(np.abs(train[m:] - train[:-m]))) if len(train) > m else 0.0
    return mae(y, yhat) / scale if scale > 0 else float("inf")
