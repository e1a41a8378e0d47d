"""The systemd unit an operator copies: systemd's own checker accepts it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "newsbot.service"
SHIPPED_EXEC = "/opt/newsbot/.venv/bin/newsbot"


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert f"ExecStart={SHIPPED_EXEC} run" in text
    # verify also checks that the program exists: point it at this checkout's newsbot.
    newsbot = Path(sys.executable).with_name("newsbot")
    assert newsbot.exists(), "install the project (pip install -e .) to get the newsbot command"
    template = tmp_path / "newsbot@.service"
    template.write_text(text.replace(SHIPPED_EXEC, str(newsbot)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "newsbot@8081.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [line for line in result.stderr.splitlines() if "newsbot" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_unit_stops_with_sigterm_within_its_budget() -> None:
    text = UNIT.read_text()
    assert "KillSignal=SIGTERM" in text
    # The bot exits within 10 s of SIGTERM; systemd must not SIGKILL it sooner.
    (timeout,) = [line for line in text.splitlines() if line.startswith("TimeoutStopSec=")]
    assert int(timeout.split("=")[1]) >= 10
