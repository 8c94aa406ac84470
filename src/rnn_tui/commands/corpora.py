"""``rnn-tui corpora``: the corpora (built-in and yours) and the built-in series."""

from __future__ import annotations

from rnn_tui.errors import markup_safe, visible

NAME = "corpora"
HELP = "list the corpora (built-in and yours) and the built-in series"


def add_arguments(c) -> None:
    from rnn_tui.data.corpora import data_dir

    c.description = ("List the corpora --corpus takes by name: the built-ins, and yours: every "
                     f"*.txt in {data_dir()} is a corpus named by its stem, and a manifest.toml "
                     "there can name more (the same form as the built-in one).")
    c.add_argument("--fetch", metavar="NAME", help="download a corpus that is fetched by URL")


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from rnn_tui.data.corpora import data_dir, list_corpora
    from rnn_tui.tui.themes import user_themes_dir

    if args.fetch:
        from rnn_tui.data.corpora import load_corpus

        c = load_corpus(args.fetch)
        print(f"{visible(c.name)}: {len(c.text):,} characters ready")
        return 0
    table = Table(title="Corpora")
    for col in ("name", "characters", "from", "description"):
        table.add_column(col)
    for info in list_corpora():
        size = f"{info.size:,}" if info.size else ("not fetched" if not info.available else "?")
        if info.task:
            size = f"--task {info.task}" if info.available else "missing"
        table.add_row(markup_safe(info.name), size,
                      "yours" if info.origin == "user" else "built-in",
                      markup_safe(info.description))
    Console().print(table)
    from rnn_tui.data.series import BUILTIN_SERIES

    print("built-in series (for --task series): " + ", ".join(BUILTIN_SERIES))
    print(f"your corpora: every *.txt in {visible(data_dir())} (named by its stem), and more "
          "named in a manifest.toml there; corpora fetched by URL are kept there too")
    print(f"your themes: *.toml files in {visible(user_themes_dir())} (for --theme and the t "
          "key)")
    return 0
