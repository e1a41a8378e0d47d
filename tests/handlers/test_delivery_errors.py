"""What a failed Bot API call says about its request, over real HTTP: python-telegram-bot's
HTTPXRequest (as the bot uses it) against the fake Bot API server with faults."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import Bot
from telegram.error import TelegramError

from bot.request import BotApiRequest
from handlers.delivery_errors import Fate, fate_of
from handlers.sender import TelegramAlertSender
from services.alerts.delivery import Outcome
from services.articles import ArticleView
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

TOKEN = "123456:TEST-token-never-logged"
CHAT = 42


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeBotApi, str]]:
    api = FakeBotApi()
    async with FakeBotApiServer(api) as server:
        yield api, server.base_url


async def failure(base_url: str, request: BotApiRequest | None = None) -> TelegramError:
    async with Bot(TOKEN, base_url=base_url, request=request or BotApiRequest()) as bot:
        with pytest.raises(TelegramError) as raised:
            await bot.send_message(CHAT, "hello", read_timeout=0.3)
    return raised.value


@pytest.mark.parametrize(
    "fault",
    [{"drop": True}, {"garbage": True}, {"answer_after": 1.0}],
    ids=["dropped-after-the-request", "garbage-answer", "answer-after-the-read-timeout"],
)
async def test_a_request_that_was_delivered_without_a_readable_answer_may_have_arrived(
    served: tuple[FakeBotApi, str], fault: dict[str, object]
) -> None:
    api, base_url = served
    api.add_fault("sendMessage", **fault)  # type: ignore[arg-type]
    error = await failure(base_url)
    assert fate_of(error) is Fate.MAYBE_SENT
    assert len(api.sent_messages(CHAT)) == 1  # and it had


async def test_an_error_answer_was_not_delivered(served: tuple[FakeBotApi, str]) -> None:
    api, base_url = served
    api.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    error = await failure(base_url)
    assert fate_of(error) is Fate.ANSWERED
    assert api.sent_messages(CHAT) == []


async def test_no_connection_means_not_sent() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TelegramError) as raised:  # getMe, the first call, cannot connect
        async with Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=BotApiRequest()):
            pass
    assert fate_of(raised.value) is Fate.NOT_SENT


async def test_no_free_connection_in_the_pool_means_not_sent(
    served: tuple[FakeBotApi, str],
) -> None:
    api, base_url = served
    api.add_fault("sendMessage", answer_after=0.5, times=1)
    request = BotApiRequest(connection_pool_size=1, pool_timeout=0.05)
    async with Bot(TOKEN, base_url=base_url, request=request) as bot:
        slow = asyncio.create_task(bot.send_message(CHAT, "slow"))
        await api.wait_for_calls("sendMessage")
        with pytest.raises(TelegramError) as raised:
            await bot.send_message(CHAT, "waits for the pool")
        await slow
    assert fate_of(raised.value) is Fate.NOT_SENT
    assert [m["text"] for m in api.sent_messages(CHAT)] == ["slow"]


def article() -> ArticleView:
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    return ArticleView(
        1, "a1", "Harbour strike", "Dock workers walked out.", None, None, moment, moment
    )


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ({"garbage": True}, Outcome.MAYBE_SENT),
        ({"drop": True}, Outcome.MAYBE_SENT),
        ({"answer_after": 1.0}, Outcome.MAYBE_SENT),
        ({}, Outcome.SENT),
    ],
)
async def test_the_alert_sender_reports_what_became_of_the_message(
    served: tuple[FakeBotApi, str], fault: dict[str, object], outcome: Outcome
) -> None:
    api, base_url = served
    if fault:
        api.add_fault("sendMessage", **fault)  # type: ignore[arg-type]
    async with Bot(TOKEN, base_url=base_url, request=BotApiRequest()) as bot:
        sender = TelegramAlertSender(bot, read_timeout=0.3)
        result = await sender.send(CHAT, 0, [article()], "off")
    assert result.outcome is outcome
    assert len(api.sent_messages(CHAT)) == 1
