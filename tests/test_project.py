"""The project's own promises: layering holds, README and CI agree on the test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_layers_hold() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a dev dependency"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    fence = [i for i, line in enumerate(lines) if line.startswith("```")]
    # The README opens with one code block holding the two set-up commands.
    return [line for line in lines[fence[0] + 1 : fence[1]] if line and not line.startswith("#")]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    run_bot, run_tests = _readme_commands()
    assert "newsbot run" in run_bot
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci_lines[-1] == run_tests


def test_ci_also_holds_lint_format_types_and_layers() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    checks = [
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy",
        ".venv/bin/lint-imports",
    ]
    # Each on its own line under `set -e`, before the tests, so any one failing fails CI.
    assert "set -euo pipefail" in ci_lines
    positions = [ci_lines.index(check) for check in checks]
    assert positions == sorted(positions) and positions[-1] < len(ci_lines) - 1
