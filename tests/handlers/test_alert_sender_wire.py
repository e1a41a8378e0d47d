"""The alert sender's own sendMessage request: on the wire exactly what python-telegram-bot's
Bot.send_message sends for the same alert, and an answer that is no message is "may have
arrived", like one that cannot be read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import Bot, LinkPreviewOptions
from telegram._utils.types import ODVInput
from telegram.constants import ParseMode
from telegram.request import BaseRequest, RequestData

from handlers.sender import TelegramAlertSender
from services.alerts.delivery import Outcome
from services.articles import ArticleView
from services.languages import ChatLocale
from tests.helpers.botapi import FakeBotApi
from tests.helpers.fake_request import FakeRequest

TOKEN = "123456:TEST-token-never-logged"
FORUM = -1001000000001


class Recording(FakeRequest):
    """FakeRequest that keeps each request's encoded parameters and read timeout; with
    ``answer`` set, every call is answered with that body (status 200) instead."""

    __slots__ = ("answer", "seen")

    def __init__(self, api: FakeBotApi) -> None:
        super().__init__(api)
        self.seen: list[tuple[dict[str, str], ODVInput[float]]] = []
        self.answer: bytes | None = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage") and request_data is not None:
            self.seen.append((request_data.json_parameters, read_timeout))
            if self.answer is not None:
                return 200, self.answer
        return await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )


def article(n: int) -> ArticleView:
    at = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
    return ArticleView(
        n, f"ext-{n}", f"Harbour strike, day {n}", "Dock workers stayed out.", None, "wire", at, at
    )


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    api = FakeBotApi()
    api.set_chat(FORUM, "supergroup", title="Forum", is_forum=True)
    async with Bot(TOKEN, request=Recording(api)) as bot:
        yield bot


def recording(bot: Bot) -> Recording:
    request = bot.request
    assert isinstance(request, Recording)
    return request


@pytest.mark.parametrize(
    ("chat_id", "topic", "articles", "digest", "paid"),
    [
        (701, 0, [article(1)], "off", False),
        (701, 0, [article(1)], "off", True),
        (FORUM, 7, [article(1), article(2)], "hourly", True),
    ],
    ids=["alert", "paid-alert", "paid-digest-in-a-topic"],
)
async def test_the_request_is_what_send_message_sends(
    bot: Bot, chat_id: int, topic: int, articles: list[ArticleView], digest: str, paid: bool
) -> None:
    sender = TelegramAlertSender(bot, paid_broadcast=paid, read_timeout=12.5)
    result = await sender.send(chat_id, topic, articles, digest)
    assert result.outcome is Outcome.SENT
    (ours,) = recording(bot).seen
    await bot.send_message(
        chat_id,
        ours[0]["text"],
        parse_mode=ParseMode.HTML,
        message_thread_id=topic or None,
        link_preview_options=LinkPreviewOptions(is_disabled=len(articles) > 1),
        allow_paid_broadcast=True if paid else None,
        read_timeout=12.5,
    )
    assert recording(bot).seen == [ours, ours]
    assert ("allow_paid_broadcast" in ours[0]) is paid


@pytest.mark.parametrize(
    "answer",
    [b'{"ok": true, "result": true}', b'{"ok": true, "result": {"chat": {}}}', b"<html>"],
    ids=["not-a-message", "no-message-id", "not-json"],
)
async def test_an_ok_answer_that_is_no_message_may_have_arrived(bot: Bot, answer: bytes) -> None:
    recording(bot).answer = answer
    result = await TelegramAlertSender(bot).send(701, 0, [article(1)], "off")
    assert result.outcome is Outcome.MAYBE_SENT
    assert len(recording(bot).seen) == 1


async def test_a_text_rendered_once_is_reused_only_where_it_reads_the_same(bot: Bot) -> None:
    locales = {
        701: ChatLocale("ru", "UTC"),
        702: ChatLocale(None, "UTC"),
        703: ChatLocale(None, "UTC", user_language="ru"),
        704: ChatLocale("ru", "Asia/Tokyo"),  # 20:00 UTC is the next day there
        705: ChatLocale("ru", "UTC"),
    }

    async def locale(chat_id: int) -> ChatLocale:
        return locales[chat_id]

    shared = TelegramAlertSender(bot, locales=locale)
    for chat_id in locales:
        await shared.send(chat_id, 0, [article(1)], "off")
    await shared.send(701, 0, [article(2)], "off")
    texts = [params["text"] for params, _ in recording(bot).seen]
    # Each as a sender of its own, with nothing rendered before, renders it.
    for chat_id in locales:
        await TelegramAlertSender(bot, locales=locale).send(chat_id, 0, [article(1)], "off")
    assert texts[:5] == [params["text"] for params, _ in recording(bot).seen[6:]]
    assert texts[0] == texts[2] == texts[4] != texts[1]
    assert "2 нояб." in texts[3] and "1 нояб." in texts[0]
    assert "day 2" in texts[5] and "day 1" in texts[0]
