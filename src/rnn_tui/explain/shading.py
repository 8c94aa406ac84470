"""Text shaded by a score per token (Rich): the attribution of each token, or a hidden unit's
activation at each character. Positive scores shade green, negative red (unsigned ones one
hue), the strength by the size relative to the largest; a console without colour (a pipe)
gets the plain text."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text

POSITIVE = (46, 160, 67)
NEGATIVE = (218, 54, 51)
BACKGROUND = (24, 24, 24)
NEWLINE = "↵"


def _mix(rgb: tuple[int, int, int], amount: float) -> Color:
    a = max(0.0, min(1.0, amount))
    return Color.from_rgb(*(round(b + (c - b) * a) for b, c in zip(BACKGROUND, rgb,
                                                                  strict=True)))


def token_style(score: float, scale: float, signed: bool = True) -> Style:
    """The background of a token with ``score`` among scores as large as ``scale``."""
    if scale <= 0 or score == 0:
        return Style()
    amount = abs(score) / scale
    colour = NEGATIVE if signed and score < 0 else POSITIVE
    return Style(bgcolor=_mix(colour, amount), color="white" if amount > 0.45 else None)


def shade(tokens: list[str], scores: list[float], sep: str = "", signed: bool = True,
          scale: float | None = None) -> Text:
    """The tokens joined by ``sep``, each on a background by its score; a newline shows as
    ``↵`` and then breaks the line."""
    if scale is None:
        scale = max((abs(s) for s in scores), default=0.0)
    out = Text()
    for i, (tok, s) in enumerate(zip(tokens, scores, strict=True)):
        if i and sep:
            out.append(sep)
        shown = tok.replace("\n", NEWLINE + "\n") if tok != "\n" else NEWLINE + "\n"
        out.append(shown, token_style(float(s), scale, signed))
    return out

