"""Where the app's screenshot command (the command palette's "Screenshot") saves: a folder
that exists, and a failure that says which folder and why."""

from __future__ import annotations

import os
from pathlib import Path


def screenshot_dir(confine: Path | None = None) -> Path:
    """The user's downloads folder when it exists and is writable, else the current folder
    (under ``confine``, the confined folder: a served session writes nowhere else)."""
    if confine is not None:
        return Path(confine)
    from platformdirs import user_downloads_path

    downloads = user_downloads_path()
    if downloads.is_dir() and os.access(downloads, os.W_OK):
        return downloads
    return Path.cwd()
