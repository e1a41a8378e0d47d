from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import telegram
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.app import build_application
from bot.cli import _parser, log_level
from bot.logs import JsonFormatter, RedactingFilter, UpdateContextFilter
from bot.serve import safe_database_url
from bot.settings import Secret, Settings, SettingsError
from bot.startup import (
    MAX_RETRY_SECONDS,
    TokenRefused,
    describe,
    keep_trying,
    start_then_wait,
    telegram_address,
)
from bot.worker import make_bot
from tests.handlers.harness import TOKEN, running_bot
from tests.helpers.botapi import FakeBotApi
from tests.helpers.log_scan import TokenScanner

SETTINGS = Settings(telegram_bot_token=Secret(TOKEN), telegram_api_base_url="http://10.0.0.9/bot")


class Failing:
    """An action that raises the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps:
    def __init__(self) -> None:
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


async def test_network_errors_are_retried_with_doubling_waits_capped_at_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    action, sleep = Failing(*[NetworkError("httpx.ConnectError: refused")] * 9), Sleeps()
    assert await keep_trying(action, what="getMe", settings=SETTINGS, sleep=sleep) == "ok"
    assert sleep.pauses == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert MAX_RETRY_SECONDS == 60
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.startup"]
    assert len(lines) == 9
    assert lines[0] == (
        "Telegram at http://10.0.0.9: getMe failed (attempt 1): httpx.ConnectError: refused; "
        "trying again in 1 s"
    )
    assert all(r.exc_info is None for r in caplog.records)  # a line, not a traceback


async def test_timeouts_name_the_setting_and_429_waits_as_asked() -> None:
    action, sleep = Failing(TimedOut(), RetryAfter(7), TimedOut()), Sleeps()
    await keep_trying(action, what="setMyCommands", settings=SETTINGS, sleep=sleep)
    assert sleep.pauses == [1, 7, 2]  # Telegram's own wait does not reset or grow the backoff
    assert describe(TimedOut(), SETTINGS) == "no answer within 5 s (TELEGRAM_TIMEOUT)"


async def test_a_refused_token_is_final_and_never_quoted() -> None:
    # What python-telegram-bot's Bot.initialize raises: its message quotes the token.
    action = Failing(InvalidToken(f"The token `{TOKEN}` was rejected by the server."))
    with pytest.raises(TokenRefused) as refused:
        await keep_trying(action, what="getMe", settings=SETTINGS, sleep=Sleeps())
    assert action.calls == 1
    assert isinstance(refused.value, SettingsError)  # the CLI's one-line, exit-2 path
    assert TOKEN not in str(refused.value) and "@BotFather" in str(refused.value)
    assert refused.value.__suppress_context__


def test_conflicts_say_which_one() -> None:
    polling = Conflict("Conflict: terminated by other getUpdates request")
    webhook = Conflict("Conflict: can't use getUpdates method while webhook is active")
    assert "another process is polling Telegram with this bot token" in describe(polling, SETTINGS)
    assert "a webhook is set for this bot token" in describe(webhook, SETTINGS)


@pytest.mark.parametrize(
    ("base_url", "address"),
    [
        (None, "https://api.telegram.org"),
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081"),
        ("https://user:pw@tg.example/custom/bot", "https://tg.example"),
    ],
)
def test_telegram_address_shows_neither_path_nor_credentials(
    base_url: str | None, address: str
) -> None:
    assert telegram_address(Settings(telegram_api_base_url=base_url)) == address


def test_database_url_without_its_password() -> None:
    url = "postgresql+asyncpg://newsbot:s3cr3t@db.internal:5432/news"
    assert safe_database_url(url) == "postgresql+asyncpg://newsbot:***@db.internal:5432/news"
    assert safe_database_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"


def _args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(list(argv))


def test_log_level_per_command_then_flags_then_environment() -> None:
    quiet = Settings()
    assert log_level(quiet, _args("search", "x")) == "WARNING"
    assert log_level(quiet, _args("feeds", "list")) == "WARNING"
    assert log_level(quiet, _args("run")) == "INFO"
    assert log_level(quiet, _args("worker")) == "INFO"
    assert log_level(quiet, _args("-v", "search", "x")) == "INFO"
    assert log_level(quiet, _args("search", "-vv", "x")) == "DEBUG"
    assert log_level(quiet, _args("feeds", "list", "-v")) == "INFO"
    assert log_level(Settings(log_level="ERROR"), _args("run")) == "ERROR"
    assert log_level(Settings(log_level="ERROR"), _args("run", "-v")) == "INFO"


def test_log_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {"LOG_LEVEL": "debug", "LOG_FORMAT": "JSON", "TELEGRAM_TIMEOUT": "12.5"}
    )
    assert (settings.log_level, settings.log_format, settings.telegram_timeout) == (
        "DEBUG",
        "json",
        12.5,
    )
    assert Settings.from_env({}).log_level is None
    for name, value in (("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml"), ("TELEGRAM_TIMEOUT", "0")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The product's JSON handler on the root logger, beside pytest's own."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(UpdateContextFilter())
    handler.addFilter(RedactingFilter([TOKEN]))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def test_json_lines_carry_time_level_logger_message_and_the_error(json_log: io.StringIO) -> None:
    log = logging.getLogger("newsbot.test")
    log.warning("feed %s: %s", 3, "gone «for good»")
    try:
        raise ValueError(f"boom {TOKEN}")
    except ValueError:
        log.exception("it broke")
    first, second = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "WARNING" and first["logger"] == "newsbot.test"
    assert first["message"] == "feed 3: gone «for good»"
    assert first["time"].endswith("+00:00")
    assert second["error"].startswith("Traceback")
    assert "ValueError: boom [REDACTED]" in second["error"]


async def test_lines_logged_while_handling_an_update_name_its_chat_and_update(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    api = FakeBotApi()
    async with running_bot(tmp_path, api, alert_loop=False) as bot:
        api.fail_next("sendMessage", error_code=500, description="Internal Server Error")
        update = api.updates.message_update("/help", chat_id=5150, user_id=5150)
        await bot.send(update)
    records = [json.loads(line) for line in json_log.getvalue().splitlines()]
    (failure,) = [r for r in records if r["message"] == "error while handling an update"]
    assert failure["chat_id"] == 5150 and failure["update_id"] == update["update_id"]
    assert bot.replies()  # the sorry message went out after the failed one


async def test_user_text_is_not_logged_at_info(tmp_path: Path, json_log: io.StringIO) -> None:
    api = FakeBotApi()
    async with running_bot(tmp_path, api, alert_loop=False) as bot:
        logging.getLogger().setLevel(logging.INFO)
        for text in ("/search zebra-crossing-4711", "hello zebra-crossing-4711", "/nope zebra"):
            api.fail_next("sendMessage", error_code=500, description="Internal Server Error")
            await bot.send(api.updates.message_update(text, chat_id=9, user_id=9))
    failures = [json.loads(line) for line in json_log.getvalue().splitlines()]
    # Each update that failed is logged, traceback and all, yet nothing the user wrote is.
    assert len([f for f in failures if f["message"] == "error while handling an update"]) >= 2
    assert "zebra" not in json_log.getvalue()


def test_the_scanner_catches_a_token_in_a_log_line(monkeypatch: pytest.MonkeyPatch) -> None:
    log = logging.getLogger("newsbot.leaky")
    monkeypatch.setattr(log, "propagate", False)  # this one leak is on purpose: keep it here
    scanner = TokenScanner(log)
    with scanner.watching(monkeypatch):
        telegram.Bot("777:scanner-test-token")
        log.debug("at DEBUG nobody runs in production: 777:scanner-test-token")
        log.info("calling https://api.example/bot777:scanner-test-token/getMe")
    assert scanner.tokens == {"777:scanner-test-token"}
    (leak,) = scanner.leaks()
    assert leak.startswith("INFO newsbot.leaky: calling")


async def test_a_bad_request_is_not_retried() -> None:
    # python-telegram-bot makes BadRequest a NetworkError; asking again would not help.
    action = Failing(BadRequest("BOT_COMMANDS_TOO_MUCH"))
    with pytest.raises(BadRequest):
        await keep_trying(action, what="setMyCommands", settings=SETTINGS, sleep=Sleeps())
    assert action.calls == 1


def test_telegram_timeout_reaches_the_bot_of_run_and_of_worker() -> None:
    settings = Settings(telegram_bot_token=Secret(TOKEN), telegram_timeout=12.0)
    application = build_application(settings)
    assert application.bot.request.read_timeout == 12.0
    # The long poll adds its own wait to this one; its pool lets the last poll at shutdown in.
    assert application.updater is not None
    polling = application.updater.bot._request[0]  # python-telegram-bot's getUpdates request
    assert polling.read_timeout == 12.0
    assert make_bot(settings).request.read_timeout == 12.0


# -- start_then_wait: `newsbot run`'s start-up raced against SIGTERM ------------------------------


async def test_a_stop_during_start_up_cancels_it() -> None:
    stop, never = asyncio.Event(), asyncio.Event()
    stop.set()
    calls: list[str] = []
    start = asyncio.ensure_future(never.wait())  # Telegram out of reach: start-up waits on
    assert not await start_then_wait(start, stop, started=lambda: calls.append("started"))
    assert start.cancelled() and calls == []


async def test_after_start_up_it_says_so_and_waits_for_the_stop() -> None:
    stop = asyncio.Event()
    calls: list[str] = []

    async def start() -> None:
        calls.append("start")

    def started() -> None:
        calls.append("started")
        stop.set()  # the signal, once running

    assert await start_then_wait(start(), stop, started=started)
    assert calls == ["start", "started"]


async def test_a_failed_start_up_ends_the_run() -> None:
    async def start() -> None:
        raise TokenRefused("http://10.0.0.9/bot")

    with pytest.raises(TokenRefused):
        await start_then_wait(start(), asyncio.Event(), started=lambda: None)
