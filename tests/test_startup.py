"""What an operator's terminal shows when `newsbot run` cannot start, and when all is well."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer
from tests.test_end_to_end import newsbot

pytestmark = pytest.mark.e2e
TOKEN = "424242:STARTUP-secret-token"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment an operator would have: no LOG_LEVEL, so each command's default."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LOG_", "TELEGRAM_"))}
    return {
        **base,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bot:
    """`newsbot run` as a child process whose stderr goes to a file the test reads."""

    def __init__(self, process: subprocess.Popen[str], log: Path) -> None:
        self.process = process
        self.log = log

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def wait_for(self, condition: Callable[[list[str]], bool], within: float = 60) -> list[str]:
        deadline = time.monotonic() + within
        while not condition(lines := self.lines()):
            assert self.process.poll() is None, "newsbot exited:\n" + "\n".join(lines[-20:])
            assert time.monotonic() < deadline, "timed out; log:\n" + "\n".join(lines[-20:])
            time.sleep(0.05)
        return lines

    def stop(self, api: FakeBotApi | None = None) -> int:
        self.process.send_signal(signal.SIGTERM)
        if api is not None:
            api.release_pollers()
        return self.process.wait(timeout=30)


@contextmanager
def running(env: dict[str, str], tmp_path: Path) -> Iterator[Bot]:
    log = tmp_path / "stderr.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink, text=True
        )
    try:
        yield Bot(process, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output = log.read_text()
        assert TOKEN not in output, "the bot token reached the terminal"
        logged = [line for line in output.splitlines() if line[:1].isdigit() or line[:1] == "{"]
        assert "Traceback" not in output, "\n".join(logged[-30:])


def _count(lines: list[str], text: str) -> int:
    return sum(text in line for line in lines)


@pytest.mark.parametrize(
    ("status", "description"), [(401, "Unauthorized"), (404, "Not Found")], ids=["401", "404"]
)
def test_a_refused_token_is_one_line_and_exit_status_2(
    env: dict[str, str], status: int, description: str
) -> None:
    api = FakeBotApi()
    api.fail_next("getMe", error_code=status, description=description)
    with FakeBotApiServer(api) as server:
        address = f"http://127.0.0.1:{server.port}"
        result = newsbot("run", env={**env, "TELEGRAM_API_BASE_URL": server.base_url}, timeout=60)
    assert result.returncode == 2
    assert TOKEN not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    start, refused = result.stderr.strip().splitlines()
    assert "starting: polling mode" in start
    assert refused == (
        f"newsbot: Telegram ({address}) refused the bot token: get one from "
        "@BotFather (https://t.me/BotFather, /newbot or /token) and set TELEGRAM_BOT_TOKEN to it."
    )


def test_with_json_logs_the_refusal_is_a_json_line_too(env: dict[str, str]) -> None:
    api = FakeBotApi(token="111111:the-right-token")
    with FakeBotApiServer(api) as server:
        run_env = {**env, "TELEGRAM_API_BASE_URL": server.base_url, "LOG_FORMAT": "json"}
        result = newsbot("run", env=run_env, timeout=60)
    assert result.returncode == 2
    start, refused = (json.loads(line) for line in result.stderr.splitlines())
    assert start["level"] == "INFO" and "starting" in start["message"]
    assert refused["level"] == "ERROR" and "refused the bot token" in refused["message"]
    assert TOKEN not in result.stderr


def test_a_wrong_token_against_a_bot_api_that_knows_the_right_one(env: dict[str, str]) -> None:
    api = FakeBotApi(token="111111:the-right-token")  # answers 401 to any other token
    with FakeBotApiServer(api) as server:
        result = newsbot("run", env={**env, "TELEGRAM_API_BASE_URL": server.base_url}, timeout=60)
    assert result.returncode == 2
    assert "refused the bot token" in result.stderr
    assert TOKEN not in result.stderr and "Traceback" not in result.stderr
    assert [call.error_code for call in api.calls] == [401]


def test_an_unexpected_refusal_at_start_up_is_one_line_and_exit_status_1(
    env: dict[str, str],
) -> None:
    api = FakeBotApi(token=TOKEN)
    refusal = "Bad Request: invalid command description"
    api.fail_next("setMyCommands", error_code=400, description=refusal)
    with FakeBotApiServer(api) as server:
        result = newsbot("run", env={**env, "TELEGRAM_API_BASE_URL": server.base_url}, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "newsbot: Telegram refused to start the bot: Invalid command description"
    )
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr


def test_unreachable_telegram_is_retried_with_backoff_until_it_answers(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()  # nothing listens here yet: connections are refused
    address = f"http://127.0.0.1:{port}"
    api = FakeBotApi(token=TOKEN)
    with running({**env, "TELEGRAM_API_BASE_URL": f"{address}/bot"}, tmp_path) as bot:
        lines = bot.wait_for(lambda lines: _count(lines, "getMe failed") >= 2)
        failures = [line for line in lines if "getMe failed" in line]
        assert f"Telegram at {address}: getMe failed (attempt 1): " in failures[0]
        assert failures[0].endswith("trying again in 1 s")
        assert "(attempt 2)" in failures[1] and failures[1].endswith("trying again in 2 s")
        assert "connect" in failures[0].lower()  # the cause, in httpx's words

        with FakeBotApiServer(api, port=port):  # Telegram comes back: the bot carries on
            lines = bot.wait_for(lambda lines: _count(lines, "is taking updates") == 1)
            api.wait_for_calls_blocking("setMyCommands", within=30)
            assert bot.stop(api) == 0
    assert _count(lines, "starting: polling mode") == 1


def test_slow_telegram_is_retried_with_a_line_per_attempt(
    env: dict[str, str], tmp_path: Path
) -> None:
    api = FakeBotApi(token=TOKEN)
    api.delay_next("getMe", 3.0, times=2)  # slower than TELEGRAM_TIMEOUT, twice
    with FakeBotApiServer(api) as server:
        run_env = {**env, "TELEGRAM_API_BASE_URL": server.base_url, "TELEGRAM_TIMEOUT": "1"}
        with running(run_env, tmp_path) as bot:
            lines = bot.wait_for(lambda lines: _count(lines, "is taking updates") == 1)
            api.wait_for_calls_blocking("setMyCommands", within=30)
            assert bot.stop(api) == 0
    failures = [line for line in lines if "getMe failed" in line]
    assert len(failures) == 2
    assert all("no answer within 1 s (TELEGRAM_TIMEOUT)" in line for line in failures)


def test_sigterm_while_telegram_is_unreachable_stops_at_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    run_env = {**env, "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{_free_port()}/bot"}
    with running(run_env, tmp_path) as bot:
        bot.wait_for(lambda lines: _count(lines, "getMe failed") >= 1)
        assert bot.stop() == 0


def test_a_conflict_names_its_cause_and_polling_goes_on(
    env: dict[str, str], tmp_path: Path
) -> None:
    api = FakeBotApi(token=TOKEN)
    api.fail_next("getUpdates", error_code=409, description=CONFLICT, times=2)
    with FakeBotApiServer(api) as server:
        run_env = {**env, "TELEGRAM_API_BASE_URL": server.base_url}
        with running(run_env, tmp_path) as bot:
            lines = bot.wait_for(lambda lines: _count(lines, "409 Conflict") >= 2)
            api.push_update(api.updates.message_update("/help", chat_id=77, user_id=77))
            api.wait_for_calls_blocking("sendMessage", within=30)  # polling recovered
            assert bot.stop(api) == 0
    (first, *_) = [line for line in lines if "409 Conflict" in line]
    assert "getUpdates failed: 409 Conflict: another process is polling Telegram" in first


def test_run_logs_one_start_line_and_json_when_asked(env: dict[str, str], tmp_path: Path) -> None:
    api = FakeBotApi(token=TOKEN)
    with FakeBotApiServer(api) as server:
        address = f"http://127.0.0.1:{server.port}"
        run_env = {**env, "TELEGRAM_API_BASE_URL": server.base_url, "LOG_FORMAT": "json"}
        with running(run_env, tmp_path) as bot:
            bot.wait_for(lambda lines: any("is taking updates" in line for line in lines))
            text = "/search zebra-crossing-4711"
            api.push_update(api.updates.message_update(text, chat_id=4242, user_id=4242))
            api.wait_for_calls_blocking("sendMessage", within=30)
            assert bot.stop(api) == 0
        records = [json.loads(line) for line in bot.lines()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    starts = [r["message"] for r in records if "starting" in r["message"]]
    assert starts == [
        f"newsbot 0.1.0 starting: polling mode, Telegram at {address}, "
        f"database sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"
    ]
    assert not any("zebra" in json.dumps(r) for r in records)  # user text stays out at INFO
    assert {r["level"] for r in records} <= {"INFO", "WARNING"}


def test_one_shot_commands_print_only_their_output(env: dict[str, str], tmp_path: Path) -> None:
    articles = tmp_path / "a.jsonl"
    articles.write_text(json.dumps({"id": "1", "title": "Harbour reopens", "body": "Ships."}))
    expected = {
        ("ingest", str(articles)): "added 1, updated 0, skipped 0, rejected 0",
        ("search", "harbour"): "1. [1] Harbour reopens",
        ("reindex",): "indexed 1 articles",
        ("feeds", "list"): "",
    }
    for args, output in expected.items():
        result = newsbot(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", (args, result.stderr)  # no alembic, no progress, no INFO
        assert result.stdout.startswith(output), (args, result.stdout)

    shutil.rmtree(tmp_path / "newsbot.db.index")  # so that the next search has news to log
    louder = newsbot("search", "-v", "harbour", env=env)
    assert "INFO bot.runtime: search index caught up with 1 article changes" in louder.stderr
    assert "Harbour reopens" in louder.stdout
    by_env = newsbot("feeds", "list", env={**env, "LOG_LEVEL": "debug"})
    assert " DEBUG " in by_env.stderr


def test_the_worker_too_refuses_a_token_in_one_line(env: dict[str, str]) -> None:
    api = FakeBotApi(token="111111:the-right-token")
    with FakeBotApiServer(api) as server:
        worker_env = {**env, "TELEGRAM_API_BASE_URL": server.base_url}
        result = newsbot("worker", env=worker_env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("newsbot: Telegram (http://127.0.0.1:")
    assert "refused the bot token" in result.stderr
    assert TOKEN not in result.stderr and "Traceback" not in result.stderr
