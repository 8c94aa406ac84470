"""Themes from the repository's ``themes/`` folder (one TOML file per Textual theme), and the
user's remembered settings (``settings.toml`` in the user config directory)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import tomli_w

from rnn_tui.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

THEMES_DIR = Path(__file__).resolve().parents[3] / "themes"
DEFAULT_THEME = "rnn-dark"


def load_themes(folder: Path = THEMES_DIR) -> dict:
    """name -> textual Theme for every ``*.toml`` in ``folder``."""
    from textual.theme import Theme

    out = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            d = tomllib.loads(path.read_text(encoding="utf-8"))
            theme = Theme(**d)
        except (tomllib.TOMLDecodeError, TypeError, ValueError) as err:
            raise UserError(f"theme file {path} is not valid ({err}); fix or remove it") from err
        out[theme.name] = theme
    return out


def config_dir() -> Path:
    env = os.environ.get("RNN_TUI_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("rnn-tui"))


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
