"""The installed wheel, not the checkout: build it, install it into a fresh venv and run it from
an empty directory, as a user who typed ``pip install .`` would.

The venv does not see the machine's packages: the wheel goes in with its dependencies and
nothing else (no test extra), as pip resolves them for a user (pip may take them from its
cache), so a module the code needs but the package does not declare fails here. Every task
trains from an empty directory. The tests check that the venv imports the installed copy, not
this checkout, and that the test tools are out of its reach. Kernels compile into the user's
usual cache (Numba keys its entries by the source file's path, so a fresh install compiles
them once).

The same rule, read from the source: every module rnn-tui imports is the standard library, a
dependency of the default install, or a named extra's (imported only where that extra is
asked for).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from pty_app import PtyApp

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="venv layout and pty are POSIX")


def git_files(*paths: str) -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "--", *paths], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def test_every_package_is_in_the_pyproject_list():
    """``[tool.setuptools] packages`` is spelled out (the themes/corpora mapping needs it): a
    package added under src/rnn_tui must be added there too, or the wheel goes without it."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(REPO / "src").parts)
             for p in (REPO / "src" / "rnn_tui").rglob("__init__.py")}
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert {"rnn_tui.themes", "rnn_tui.corpora"} <= listed


# Modules of the extras: the extra that brings each, and the only files that import it (each
# behind the extra's one-line hint: serve/__init__.require, sweep.engine.require_ray,
# interop.logs.require_tensorboardx). SciPy is a dependency only off Linux, for the kernels'
# fallback BLAS, imported under ``except ImportError``.
EXTRA_IMPORTS = {
    "asyncssh": ("serve", {"serve/ssh.py", "serve/keys.py"}),
    "textual_serve": ("serve", {"serve/web.py"}),
    "aiohttp": ("serve", {"serve/web.py"}),  # textual-serve's own web server
    "aiohttp_jinja2": ("serve", {"serve/web.py"}),
    "ray": ("sweep", {"sweep/engine.py", "sweep/trial.py"}),
    "tensorboardX": ("tensorboard", {"interop/logs.py"}),
    "scipy": (None, {"core/fast/blas.py", "runtime.py"}),
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(path: Path):
    """(top-level module, line, inside ``try: ... except ImportError``) of each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError",
                                                               "ModuleNotFoundError")
                for h in node.handlers):
            guarded |= {id(n) for b in node.body for n in ast.walk(b)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name.split(".")[0], node.lineno, id(node) in guarded


def test_every_import_is_the_standard_library_a_dependency_or_a_named_extra():
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    linux = [{"sys_platform": "linux", "platform_system": "Linux", "extra": "",
              "python_version": v} for v in ("3.10", here)]
    deps = {_norm(r.name) for r in map(Requirement, project["dependencies"])
            if r.marker is None or any(r.marker.evaluate(m) for m in linux)}
    dists = packages_distributions()
    src = REPO / "src" / "rnn_tui"
    wrong = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        for mod, line, guarded in _imports(path):
            if mod in sys.stdlib_module_names or mod == "rnn_tui" or mod == "__future__":
                continue
            if mod in EXTRA_IMPORTS:
                extra, files = EXTRA_IMPORTS[mod]
                if rel not in files:
                    wrong.append(f"{rel}:{line} imports {mod} (only {sorted(files)} may)")
                elif extra is not None:
                    assert extra in project["optional-dependencies"], extra
                elif not guarded:
                    wrong.append(f"{rel}:{line} imports {mod} without `except ImportError`")
                continue
            names = {_norm(d) for d in dists.get(mod, [mod])}
            if not names & deps:
                wrong.append(f"{rel}:{line} imports {mod}, which is no dependency of the "
                             "default install on Linux (add it, or make it an extra)")
    assert not wrong, "\n".join(wrong)


def test_every_reference_a_user_meets_resolves_inside_the_repo():
    """The README, the docs, the benchmarks and the package's own texts point only at files of
    the repository (or the package): no sibling folders of a checkout, no notes kept
    elsewhere; every relative Markdown link resolves."""
    files = [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "docs").glob("*.py"),
             *(REPO / "benchmarks").glob("*"), *(REPO / "src" / "rnn_tui").rglob("*.py"),
             REPO / "corpora" / "manifest.toml"]
    outside = re.compile(r"\.\./shared|\bSEED_EXAMPLES\.md|PERFORMANCE_NOTES\.md|"
                         r"(?<![\w/])DESIGN\.md")
    wrong = []
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(encoding="utf-8", errors="replace")
        wrong += [f"{f.relative_to(REPO)}: {m.group(0)}" for m in outside.finditer(text)]
        if f.suffix == ".md":
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
                if "://" not in target and not (f.parent / target).exists():
                    wrong.append(f"{f.relative_to(REPO)}: link to {target}, which is not there")
        for doc in re.findall(r"docs/[\w.-]+\.md", text):
            if not (REPO / doc).is_file():
                wrong.append(f"{f.relative_to(REPO)}: {doc}, which is not there")
    assert not wrong, "\n".join(wrong)


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """The wheel built from this checkout, installed into a new venv."""
    base = tmp_path_factory.mktemp("packaging")
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout, and
    # a stale build/ can slip removed files into the wheel.
    src = base / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", "runs", ".pytest_cache",
        ".ruff_cache", ".hypothesis", ".venv", "snapshot_report.html"))
    wheels = base / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(wheels), str(src)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("rnn_tui-*.whl")

    env_dir = base / "venv"
    venv.create(env_dir, system_site_packages=False, with_pip=True)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(RNN_TUI_CONFIG_DIR=str(base / "config"), RNN_TUI_DATA_DIR=str(base / "data"),
               COLUMNS="200", PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    empty = base / "empty"
    empty.mkdir()
    return SimpleNamespace(wheel=wheel, python=python, script=env_dir / "bin" / "rnn-tui",
                           env=env, empty=empty, venv=env_dir)


def run_in_empty_dir(installed, *args: str, timeout: float = 600, cwd: Path | None = None):
    return subprocess.run([str(installed.script), *args], cwd=cwd or installed.empty,
                          env=installed.env, capture_output=True, text=True, timeout=timeout)


def test_the_wheel_holds_the_package_data(installed):
    """Every file of themes/ and corpora/, and of the package, is in the wheel."""
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    data = git_files("themes", "corpora")
    assert any(f.endswith(".toml") for f in data)
    for f in data:
        assert f"rnn_tui/{f}" in names, f"{f} is not in the wheel"
    for f in git_files("src/rnn_tui"):
        assert f.removeprefix("src/") in names, f"{f} is not in the wheel"


def test_the_default_install_is_lean(installed):
    """MKL only with the [mkl] extra; SciPy not on Linux."""
    with zipfile.ZipFile(installed.wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA")))
    requires = [line.split(":", 1)[1].strip() for line in meta.decode().splitlines()
                if line.startswith("Requires-Dist:")]
    mkl = [r for r in requires if r.startswith("mkl")]
    assert mkl and all('extra == "mkl"' in r for r in mkl), mkl
    scipy = [r for r in requires if r.startswith("scipy")]
    assert scipy and all('sys_platform != "linux"' in r or 'extra == "test"' in r
                         for r in scipy), scipy
    if sys.platform == "linux":
        out = subprocess.run([str(installed.python), "-m", "pip", "list", "--format", "freeze"],
                             env=installed.env, capture_output=True, text=True, timeout=120)
        got = {line.split("==")[0].lower() for line in out.stdout.splitlines()}
        assert "rnn-tui" in got, out.stdout + out.stderr
        assert not got & {"scipy", "statsmodels", "mkl", "ray", "asyncssh"}, sorted(got)


def test_the_venv_sees_only_what_the_wheel_brings(installed):
    """The test tools and the extras are out of reach: the venv is not the system's."""
    code = ("import importlib.util as u, sys; print(sys.prefix); "
            "print(*[m for m in ('pytest', 'hypothesis', 'statsmodels', 'ray', 'asyncssh', "
            "'tensorboardX') if u.find_spec(m)])")
    out = subprocess.run([str(installed.python), "-c", code], cwd=installed.empty,
                         env=installed.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    prefix, found = (out.stdout.splitlines() + ["", ""])[:2]
    assert Path(prefix).resolve() == installed.venv.resolve(), prefix
    assert found == "", f"the venv sees {found}: it must not see the system's site-packages"


def test_the_venv_runs_the_installed_copy(installed):
    code = ("import rnn_tui; from importlib.resources import files; print(rnn_tui.__file__); "
            "print(files('rnn_tui.themes')); print(files('rnn_tui.corpora'))")
    out = subprocess.run([str(installed.python), "-c", code], cwd=installed.empty,
                         env=installed.env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        path = Path(line).resolve()
        assert path.is_relative_to(installed.venv.resolve()), line
        assert not path.is_relative_to(REPO), line


def test_corpora_lists_the_builtins(installed):
    out = run_in_empty_dir(installed, "corpora", timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.stdout.splitlines()
            if line.startswith("│")]
    listed = {r[0] for r in rows if r[0] and r[2] == "built-in"}
    manifest = tomllib.loads((REPO / "corpora" / "manifest.toml").read_text())["corpus"]
    assert listed == {"pydoc", "stdlib", *manifest}, out.stdout
    assert not [r for r in rows if r[0] and r[2] != "built-in" and r[0] != "name"]
    assert f"every *.txt in {installed.env['RNN_TUI_DATA_DIR']}" in out.stdout


TASKS = ("char", "word", "series", "classify", "tag", "seq2seq")


def test_help_and_every_task_train_from_an_empty_directory(installed, tmp_path):
    """``rnn-tui --help``, then ``rnn-tui train --task T --time-budget 10`` for every task, each
    from an empty directory with the default corpus: exit 0 and a checkpoint. One test for all
    six, so the kernels compile once for the venv."""
    out = run_in_empty_dir(installed, "--help", timeout=120)
    assert out.returncode == 0 and "train" in out.stdout, out.stdout + out.stderr
    failed = []
    for task in TASKS:
        cwd = tmp_path / task
        cwd.mkdir()
        out = run_in_empty_dir(installed, "train", "--task", task, "--time-budget", "10",
                               cwd=cwd)
        runs = list((cwd / "runs").glob(f"{task}-*")) if (cwd / "runs").is_dir() else []
        if out.returncode != 0 or len(runs) != 1 or not (runs[0] / "checkpoint.npz").is_file():
            failed.append(f"--task {task}: exit {out.returncode}, runs {runs}\n"
                          f"{out.stdout[-1500:]}{out.stderr[-3000:]}")
    assert not failed, "\n\n".join(failed)


def test_the_app_shows_a_loss_and_quits_on_q(installed, tmp_path):
    app = PtyApp(["--corpus", "arithmetic", "--hidden", "32", "--name", "app"], cols=100,
                 rows=30, env=installed.env, cwd=str(installed.empty),
                 executable=str(installed.script), unset=("PYTHONPATH", "PYTHONHOME"))
    try:
        assert app.wait_for(lambda t: re.search(r"step [\d,]+ .*loss \d+\.\d+",
                                                t.splitlines()[0]), 180), app.text()
        assert "not valid" not in app.text()  # no theme fell back
        app.send("q")
        assert app.wait(120) == 0, app.text()
    finally:
        app.kill()
    assert (installed.empty / "runs" / "app" / "checkpoint.npz").is_file()
