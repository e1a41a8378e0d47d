"""newsbot as a user meets it: ingest from the shell, run the bot, search from Telegram."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

pytestmark = pytest.mark.e2e
TOKEN = "987654:E2E-secret-token"
SEED = SHARED / "seeds" / "000_c74e056f559fd1b5.txt"
STAND_IN = (
    "Barack Obama’s Secret Letter to Iran Leader\n"
    "President Barack Obama wrote to Iran’s supreme leader to tell him that cooperation in "
    "confronting Islamist extremists hinged on a successful nuclear deal.\n"
    "A message from our CEO & publisher Jane Doe\n"
    "Please support our nonprofit journalism by becoming a member and donating today.\n"
    "Readers like you make it all possible. Donate now to support our work.\n"
    "— Jane Doe, Publisher and CEO\n"
)


def newsbot(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _wait_until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "LOG_LEVEL": "DEBUG",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }


@pytest.fixture
def article_file(tmp_path: Path) -> Path:
    if SEED.exists():
        return SEED
    path = tmp_path / "seed.txt"
    path.write_text(STAND_IN, encoding="utf-8")
    return path


def test_search_from_telegram_finds_the_seed_article(
    env: dict[str, str], article_file: Path, tmp_path: Path
) -> None:
    loaded = newsbot("ingest", str(article_file), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "added 1" in loaded.stdout

    api = FakeBotApi(token=TOKEN)
    with FakeBotApiServer(api) as server:
        run_env = {**env, "TELEGRAM_API_BASE_URL": server.base_url}
        log_path = tmp_path / "bot.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], env=run_env, stdout=log, stderr=log, text=True
            )
        try:
            api.wait_for_calls_blocking("setMyCommands", within=60)
            _wait_until(lambda: api.active_polls() > 0, within=30)  # the bot is long-polling
            api.push_update(
                api.updates.message_update("/search obma iran leter", chat_id=4242, user_id=4242)
            )
            (reply,) = api.wait_for_calls_blocking("sendMessage", within=30)
        finally:
            process.send_signal(signal.SIGTERM)
            api.release_pollers()  # end the long poll now rather than at its timeout
            process.wait(timeout=30)
    text = reply.params["text"]
    assert reply.params["chat_id"] == 4242
    assert "<b>1. Barack Obama’s Secret Letter to Iran Leader</b>" in text
    assert "supreme leader" in text
    for appeal in ("CEO", "Publisher", "donat", "Readers like you"):
        assert appeal not in text
    log_text = log_path.read_text()
    assert TOKEN not in log_text, "the bot token leaked into the log"
    assert "Traceback" not in log_text, log_text[-2000:]
    assert process.returncode == 0, log_text[-2000:]


def test_missing_token_is_one_clear_line(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = newsbot("run", env=env, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("newsbot: TELEGRAM_BOT_TOKEN is not set: export the token")
