"""Themes: the built-ins shipped in the package (``rnn_tui.themes``, edited in the repository's
``themes/`` folder), the user's own in their theme folder, and the remembered settings
(``settings.toml``), all in the user config directory.

A theme file is one TOML table of Textual ``Theme`` fields. A file that cannot be loaded is
skipped and reported in one line; the app then starts with another theme (see
:func:`choose_theme`), and :data:`FALLBACK_THEME`, which ships with Textual, is always there.
"""

from __future__ import annotations

import copy
import os
import sys
from importlib.resources import files
from pathlib import Path

import tomli_w

from rnn_tui.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_THEME = "rnn-dark"
FALLBACK_THEME = "textual-dark"  # one of Textual's own themes: it cannot be missing


def config_dir() -> Path:
    env = os.environ.get("RNN_TUI_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("rnn-tui"))


def user_themes_dir() -> Path:
    """Where the user's own ``*.toml`` themes go (created by nobody but the user)."""
    return config_dir() / "themes"


def theme_files() -> list:
    """The theme files, built-ins first, then the user's (which win on a name clash)."""
    builtin = sorted((t for t in files("rnn_tui.themes").iterdir()
                      if t.name.endswith(".toml") and t.is_file()), key=lambda t: t.name)
    user_dir = user_themes_dir()
    try:
        user = sorted(p for p in user_dir.glob("*.toml") if p.is_file())
    except OSError:
        user = []
    return [*builtin, *user]


def load_themes(broken: dict[str, str] | None = None) -> dict:
    """name -> Textual ``Theme`` for every theme file that loads and whose colours parse.

    A file that does not is left out and, if ``broken`` is given, recorded there as
    name -> one line saying which file and why (its name is the ``name`` it declares or, when
    that cannot be read, the file's stem). A user file that fails leaves a built-in of the same
    name in place. Never raises for a bad file."""
    out: dict = {}
    for path in theme_files():
        stem = path.name[: -len(".toml")]
        name = stem
        try:
            d = tomllib.loads(path.read_text(encoding="utf-8"))
            if isinstance(d.get("name"), str) and d["name"]:
                name = d["name"]
            d.setdefault("name", stem)
            theme = _make_theme(d)
        except Exception as err:  # noqa: BLE001 - whatever is wrong, the file is skipped
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if broken is not None:
                broken[name] = f"theme file {path} is not valid ({reason})"
            continue  # a built-in of the same name stays
        out[theme.name] = theme
    return out


def _make_theme(d: dict):
    """A Textual ``Theme`` from a TOML table, checked by generating its colour system (which
    parses every colour), so that a bad value is caught here and not when the app applies it."""
    from textual.theme import Theme

    theme = Theme(**d)
    if not isinstance(theme.name, str) or not theme.name:
        raise ValueError("name must be a non-empty string")
    if not isinstance(theme.dark, bool) or not isinstance(theme.ansi, bool):
        raise ValueError("dark and ansi must be true or false")
    if not isinstance(theme.variables, dict) or not all(
            isinstance(v, str) for v in theme.variables.values()):
        raise ValueError("[variables] must be a table of strings")
    theme.to_color_system().generate()
    bad = _breaking_variables(theme)
    if bad:
        raise ValueError("[variables] " + ", ".join(f"{k} = {theme.variables[k]!r}" for k in bad)
                         + " breaks the app's styles")
    return theme


def _breaking_variables(theme) -> list[str]:
    """The ``[variables]`` of ``theme`` whose values the app's CSS (its own ``app.tcss`` and the
    default CSS of every Textual widget loaded so far) cannot parse. Colours are checked by
    generating the colour system; a variable can be anything, so it is tried in place. About
    30 ms, and only for a theme that has variables."""
    if not theme.variables:
        return []
    from textual.css.stylesheet import Stylesheet, StylesheetParseError

    plain = copy.copy(theme)
    plain.variables = {}  # the colour system includes the variables: try them without first
    base = plain.to_color_system().generate()

    def parses(variables: dict) -> bool:
        sheet = Stylesheet(variables={**base, **variables})
        for source, where in _css_sources():
            sheet.add_source(source, read_from=where, is_default_css=True)
        try:
            sheet.parse()
        except StylesheetParseError:
            return False
        return True

    if parses(theme.variables) or not parses({}):  # (not even without them: not this theme's
        return []                                   # fault; the app will say what is wrong)
    return [k for k, v in theme.variables.items() if not parses({k: v})] or ["(together)"]


def _css_sources() -> list[tuple[str, tuple[str, str]]]:
    from textual.dom import DOMNode

    out, todo, seen = [], [DOMNode], set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        css = cls.__dict__.get("DEFAULT_CSS")
        if isinstance(css, str) and css.strip():
            out.append((css, (cls.__module__, cls.__qualname__)))
    try:
        out.append(((files("rnn_tui.tui") / "app.tcss").read_text(encoding="utf-8"),
                    ("rnn_tui/tui/app.tcss", "")))
    except OSError:
        pass
    return out


def choose_theme(wanted: str | None, available, broken: dict[str, str] | None = None,
                 ) -> tuple[str, str | None]:
    """The theme to start with, and one line to show when it is not the one wanted.

    ``wanted`` (from ``--theme`` or the remembered setting, else :data:`DEFAULT_THEME`) if it
    is available; otherwise the default, and if the default cannot be loaded either,
    :data:`FALLBACK_THEME`."""
    broken = broken or {}
    wanted = wanted or DEFAULT_THEME
    if wanted in available:
        return wanted, None
    use = DEFAULT_THEME if DEFAULT_THEME in available else FALLBACK_THEME
    why = broken.get(wanted) or f"theme {wanted!r} is not installed"
    return use, f"{why}; using {use}"


def load_settings() -> dict:
    from rnn_tui.safeio import CONFIG_LIMIT, read_user_file

    path = config_dir() / "settings.toml"
    try:  # a FIFO or a device there must not hang the app: only a regular file is read
        return tomllib.loads(read_user_file(path, CONFIG_LIMIT, "settings file").decode("utf-8"))
    except (UserError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
        return {}


def save_settings(settings: dict) -> None:
    """Write settings atomically; a read-only home is not an error (the choice is not kept)."""
    from rnn_tui.train.runs import atomic_write_text

    try:
        d = config_dir()
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_text(d / "settings.toml", tomli_w.dumps(settings))
    except OSError:
        pass
