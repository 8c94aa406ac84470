"""User-facing errors.

Anything the user can fix (a missing file, an impossible setting, a corrupt checkpoint) is raised as
:class:`UserError`; the CLI prints its message on one line of stderr and exits with status 2.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input the user controls. ``str(err)`` is a one-line message saying what
    is wrong and what to do about it."""

    exit_code = 2


# Characters that can drive a terminal or hide what a line says: C0 and C1 controls and DEL
# (escape sequences, bells, carriage returns), Unicode format characters (bidirectional
# overrides, zero-width characters) and the line and paragraph separators.
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")


def visible(text: object, keep: str = "") -> str:
    """``str(text)`` with every control or format character shown as an escape (``\\x1b``,
    ``\\u202e``), so that text from a file or a client cannot drive the terminal it reaches.
    Characters in ``keep`` (say ``"\\n\\t"`` for multi-line text) are left as they are."""
    import unicodedata

    s = str(text)
    if s.isprintable():  # the common case: nothing to show
        return s
    out = []
    for c in s:
        if c in keep or unicodedata.category(c) not in _HIDDEN_CATEGORIES:
            out.append(c)
        else:
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000
                       else f"\\U{n:08x}")
    return "".join(out)


def error_line(message: object) -> str:
    """The one line an error is said in, on stderr: ``rnn-tui: error: MESSAGE``, with the
    message made :func:`visible` (it often holds a path, a label or a value from a file)."""
    return f"rnn-tui: error: {visible(message)}"


def markup_safe(text: object, keep: str = "") -> str:
    """Text to put inside Rich markup: made :func:`visible`, and its ``[`` escaped."""
    from rich.markup import escape

    return escape(visible(text, keep))


class _VisibleWriter:
    """A terminal, written to through :func:`visible` (new lines and tabs kept)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(visible(text, keep="\n\t"))

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def safe_stream(stream):
    """``stream`` for data output: itself into a file or a pipe (the data as it is), a
    :func:`visible` writer when it is a terminal."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    return _VisibleWriter(stream) if tty else stream
