"""Replies when Telegram is slow or says wait: the real Application against the fake Bot API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from telegram import Update
from telegram.error import TelegramError

from bot.app import NewsApplication, build_application
from bot.health import HealthMonitor
from bot.metrics import Metrics
from handlers.render import SORRY
from tests.conftest import FixedClock
from tests.handlers.harness import settings_for, started
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer
from tests.helpers.fake_request import FakeRequest

USER = 5001


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[NewsApplication, FakeBotApi]]:
    api = FakeBotApi()
    app = build_application(
        replace(settings_for(tmp_path), alerts_in_bot=False),
        # A short read timeout stands in for PTB's 5 s, so a "slow Telegram" takes 0.5 s here.
        request=FakeRequest(api, read_timeout=0.2),
        get_updates_request=FakeRequest(api),
        clock=FixedClock(),
    )
    async with started(app):
        yield app, api


async def command(app: NewsApplication, api: FakeBotApi, text: str) -> None:
    update = api.updates.message_update(text, chat_id=USER, user_id=USER)
    await app.process_update(Update.de_json(update, app.bot))


def texts(api: FakeBotApi) -> list[str]:
    return [str(m["text"]) for m in api.sent_messages(USER)]


async def test_a_reply_answered_after_the_timeout_is_not_followed_by_an_apology(
    bot: tuple[NewsApplication, FakeBotApi],
) -> None:
    app, api = bot
    api.add_fault("sendMessage", USER, answer_after=0.5, times=1)
    await command(app, api, "/subscribe")
    (reply,) = texts(api)  # delivered, though its answer came too late
    assert SORRY not in reply
    await command(app, api, "/subscriptions")  # the bot carries on normally
    assert len(texts(api)) == 2 and SORRY not in texts(api)[1]


async def test_retry_after_on_a_reply_is_waited_out_and_the_reply_sent(
    bot: tuple[NewsApplication, FakeBotApi],
) -> None:
    app, api = bot
    api.fail_next(
        "sendMessage",
        USER,
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )
    await command(app, api, "/subscribe")
    first, second = api.calls_to("sendMessage")
    assert first.error_code == 429 and second.error_code is None
    assert second.at - first.at >= 1.0  # waited as long as asked
    (reply,) = texts(api)
    assert SORRY not in reply


async def test_an_error_that_is_not_a_slow_answer_still_gets_the_apology(
    bot: tuple[NewsApplication, FakeBotApi],
) -> None:
    app, api = bot
    api.fail_next("sendMessage", USER, error_code=502, description="Bad Gateway")
    await command(app, api, "/subscribe")
    assert texts(api) == [SORRY]  # the reply was refused; the apology is true


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[NewsApplication, FakeBotApi]]:
    """The bot as ``newsbot run`` builds it (its own HTTP transport, no request given),
    against the fake Bot API over real HTTP."""
    api = FakeBotApi()
    async with FakeBotApiServer(api) as server:
        settings = replace(
            settings_for(tmp_path), alerts_in_bot=False, telegram_api_base_url=server.base_url
        )
        app = build_application(settings, clock=FixedClock())
        async with started(app):
            yield app, api


async def test_an_unreadable_answer_to_a_reply_is_one_log_line_and_no_apology(
    served: tuple[NewsApplication, FakeBotApi], caplog: pytest.LogCaptureFixture
) -> None:
    app, api = served
    api.add_fault("sendMessage", USER, garbage=True, times=1)  # delivered, answer mangled
    caplog.set_level(logging.INFO)
    caplog.clear()
    await command(app, api, "/subscribe")
    (reply,) = texts(api)  # it went, and nothing after it
    assert reply.startswith("✅ Subscribed")
    noted = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in noted] == [
        f"a reply to chat {USER} may have arrived, but Telegram's answer could not be read "
        "(Invalid server response); no apology sent"
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text
    await command(app, api, "/subscriptions")  # the bot carries on normally
    assert len(texts(api)) == 2 and SORRY not in texts(api)[1]


async def test_with_metrics_too_an_unreadable_answer_is_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Webhook mode counts every Bot API call around the transport: the transport's own
    reading of an answer still applies."""
    api = FakeBotApi()
    async with FakeBotApiServer(api) as server:
        settings = replace(
            settings_for(tmp_path), alerts_in_bot=False, telegram_api_base_url=server.base_url
        )
        monitor = HealthMonitor(Metrics())
        app = build_application(settings, clock=FixedClock(), monitor=monitor, webhook=True)
        async with app:
            api.add_fault("sendMessage", USER, garbage=True, times=1)
            caplog.set_level(logging.INFO)
            caplog.clear()
            with pytest.raises(TelegramError, match="Invalid server response"):
                await app.bot.send_message(USER, "hello")
    assert len(api.sent_messages(USER)) == 1
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text
