"""A diverging colour scale for activations in [-1, 1], quantised to a few levels.

Few levels on purpose: neighbouring cells that share a style are written as one run, which keeps
the bytes sent to the terminal (and over SSH) small. Blue is negative, orange positive.
"""

from __future__ import annotations

from functools import cache

from rich.style import Style

# negative (deep blue) .. zero (dark grey) .. positive (bright orange)
COLOURS = ["#2050c8", "#4a78d8", "#7fa2e0", "#3a3a44", "#e0a060", "#f08030", "#ff5010"]
LEVELS = len(COLOURS)


def level(v: float, scale: float = 1.0) -> int:
    """Index into :data:`COLOURS` for value ``v`` (clipped to [-scale, scale])."""
    try:
        x = v / scale if scale > 0 else 0.0
    except (TypeError, ZeroDivisionError, OverflowError):
        x = 0.0
    if not isinstance(x, (int, float)) or x != x:  # not a number, or NaN: the middle
        x = 0.0
    x = max(-1.0, min(1.0, x))
    half = LEVELS // 2
    if abs(x) < 0.12:
        return half
    return max(0, min(LEVELS - 1, half + int(round(x * half + (0.5 if x > 0 else -0.5)))))


@cache
def pair(top: int, bottom: int) -> Style:
    """Style for an upper-half block: foreground = upper value, background = lower value."""
    return Style(color=COLOURS[top], bgcolor=COLOURS[bottom])


@cache
def background(lv: int) -> Style:
    fg = "#000000" if lv in (0, LEVELS - 1, LEVELS - 2) else "#ffffff"
    if lv == LEVELS // 2:
        fg = "#d0d0d0"
    return Style(color=fg, bgcolor=COLOURS[lv])
