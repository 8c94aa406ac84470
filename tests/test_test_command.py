"""CI runs the README's test command word for word, and that command checks the layers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    command = blocks[1].strip()  # the second: run the tests
    assert "lint-imports" in command.split(" && ")
    assert command.endswith("python -m pytest")
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()]
    assert command in ci
