"""The ranges of the commands' own numeric options (those outside a run's settings), in one
table, checked before a command does anything: ``sample --show-probs -2`` or ``forecast
--horizon -1`` is one line naming the option and its range.

A bound may be ``None`` (no bound on that side); ``open_low`` makes the low bound exclusive
(a temperature must be more than 0). Bounds that depend on the model (the vocabulary for
``--show-probs``) are checked where the model is known, with :func:`check_value`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rnn_tui.config import MAX_SEED
from rnn_tui.errors import UserError

MAX_TOKENS = 10_000_000  # tokens one `sample` may generate
MAX_SHOWN = 10_000  # candidates `sample --show-probs` may print per token


@dataclass(frozen=True)
class Limit:
    low: float | None
    high: float | None
    what: str = ""  # what it counts, for the message
    open_low: bool = False  # the low bound itself is not allowed

    def describe(self) -> str:
        lo, hi = _num(self.low), _num(self.high)
        if self.open_low and self.high is None:
            return f"more than {lo}"
        if self.open_low:
            return f"more than {lo} and at most {hi}"
        if self.high is None:
            return f"at least {lo}"
        return f"from {lo} to {hi}"


def _num(x) -> str:
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    return f"{x:g}"


# command -> option (argparse dest) -> its range
COMMAND_LIMITS: dict[str, dict[str, Limit]] = {
    "sample": {
        "length": Limit(1, MAX_TOKENS, "tokens"),
        "temperature": Limit(0, 1e6, open_low=True),
        "top_k": Limit(0, None, "candidates (0 = all)"),
        "seed": Limit(0, MAX_SEED),
        "show_probs": Limit(0, MAX_SHOWN, "candidates per token (0 = off)"),
    },
    "forecast": {"horizon": Limit(0, 10_000, "steps (0 = the run's horizon)")},
}


def option_name(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_value(name: str, value, limit: Limit) -> None:
    """``value`` within ``limit``, or one line: ``--show-probs must be from 0 to 10,000 …``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise UserError(f"{name} must be a finite number, got {value!r}")
    low_ok = limit.low is None or (value > limit.low if limit.open_low else value >= limit.low)
    high_ok = limit.high is None or value <= limit.high
    if not (low_ok and high_ok):
        what = f" {limit.what}" if limit.what else ""
        raise UserError(f"{name} must be {limit.describe()}{what}, got {_num(value)}")


def check_ranges(command: str | None, args) -> None:
    """Every option of ``command`` in :data:`COMMAND_LIMITS` that ``args`` holds, in range."""
    for dest, limit in COMMAND_LIMITS.get(command or "", {}).items():
        check_value(option_name(dest), getattr(args, dest, None), limit)
