"""``rnn-tui recipes``: the named configurations, listed or one in full."""

from __future__ import annotations

import sys

NAME = "recipes"
HELP = ("list the recipes: the classic worked examples and their realistic versions, ready to "
        "run")
DESCRIPTION = ("Named, documented configurations. `rnn-tui --recipe NAME` opens one in the "
               "app, `rnn-tui train --recipe NAME` trains it headless, `rnn-tui watch --recipe "
               "NAME` watches its latest run. Flags after --recipe override its settings.")


def add_arguments(r) -> None:
    r.add_argument("name", nargs="?", help="show one recipe in full: what it teaches, what "
                   "the app shows, its settings")


def run(args) -> int:
    from rnn_tui.recipes import RECIPES, get_recipe

    if args.name:
        print(get_recipe(args.name).help())
        return 0
    width = max(len(n) for n in RECIPES)
    for r in RECIPES.values():
        print(f"{r.name:<{width}}  {r.title}")
    print("\n`rnn-tui recipes NAME` tells what one teaches; `rnn-tui --recipe NAME` runs it.",
          file=sys.stderr)
    return 0
