"""The installed wheel, not the checkout: build it, install it into a fresh venv and run it from
an empty directory, as a user who typed ``pip install .`` would.

The venv sees the machine's packages (``--system-site-packages``) so that nothing but the build
backend is downloaded, and the wheel goes in with ``--no-deps``; the test checks that the venv
imports the installed copy, not this checkout. Kernels compile into the user's usual cache
(Numba keys its entries by the source file's path, so a fresh install compiles them once).
"""

from __future__ import annotations

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
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(RNN_TUI_CONFIG_DIR=str(base / "config"), RNN_TUI_DATA_DIR=str(base / "data"),
               COLUMNS="200")
    done = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                          capture_output=True, text=True, env=env, timeout=600)
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
    assert scipy and all('sys_platform != "linux"' in r for r in scipy), scipy


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


def test_train_writes_a_checkpoint(installed):
    out = run_in_empty_dir(installed, "train", "--corpus", "arithmetic", "--time-budget", "10",
                           "--hidden", "32", "--quiet", "--name", "packaged")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run = installed.empty / "runs" / "packaged"
    assert (run / "checkpoint.npz").is_file()
    assert (run / "metrics.jsonl").stat().st_size > 0


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
