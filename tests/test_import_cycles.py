"""No import cycle anywhere in rnn_tui: the imports of every module, read from its source (module
level and inside functions alike), form no circle. ``lint-imports`` (the test command) checks the
layers those imports must follow; this checks what layers cannot: a circle inside one layer or one
package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_files(src: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package`` below ``src``."""
    out = {}
    for f in sorted((src / package).rglob("*.py")):
        parts = list(f.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (``from a import b`` counts as importing
    ``a.b`` where that is a module, else ``a``). A package's ``__init__`` importing its own
    submodules, and a module importing its own parent package, are not edges: Python runs the
    parent first either way."""
    mods = module_files(src, package)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join(here + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                r = resolve(t) if t == package or t.startswith(package + ".") else None
                if r is None or r == mod or mod.startswith(r + "."):
                    continue
                if is_pkg and r.startswith(mod + "."):
                    continue
                graph[mod].add(r)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_rnn_tui():
    graph = import_graph(SRC, "rnn_tui")
    assert len(graph) > 100  # every module was read
    assert cycles(graph) == []


FILES = {  # a package laid out as files -> the cycles the check must find
    "none": ({"__init__.py": "from p import a\n", "a.py": "from p import b\n", "b.py": ""},
             []),
    "two modules": ({"__init__.py": "", "a.py": "import p.b\n",
                     "b.py": "def f():\n    from p.a import x\n"}, [["p.a", "p.b"]]),
    "relative, through a package": ({"__init__.py": "", "a.py": "from .q import c\n",
                                     "q/__init__.py": "", "q/c.py": "from .. import a\n"},
                                    [["p.a", "p.q.c"]]),
    "three in a ring": ({"__init__.py": "", "a.py": "from p.b import f\n",
                         "b.py": "from p import c\n", "c.py": "import p.a\n"},
                        [["p.a", "p.b", "p.c"]]),
    "parent package is not a cycle": ({"__init__.py": "from p.a import f\n",
                                       "a.py": "import p\n"}, []),
}


@pytest.mark.parametrize("name", FILES)
def test_the_check_finds_cycles(tmp_path, name):
    files, want = FILES[name]
    for rel, text in files.items():
        path = tmp_path / "p" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert cycles(import_graph(tmp_path, "p")) == want
