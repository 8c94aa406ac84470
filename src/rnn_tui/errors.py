"""User-facing errors.

Anything the user can fix (a missing file, an impossible setting, a corrupt checkpoint) is raised as
:class:`UserError`; the CLI prints its message on one line of stderr and exits with status 2.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input the user controls. ``str(err)`` is a one-line message saying what
    is wrong and what to do about it."""

    exit_code = 2
