"""Random arguments through the real Application: every one gets one valid, polite answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.render import SORRY
from services.parsing import RawArticle
from tests.fuzz.strategies import huge_number, long_text, odd_text, words
from tests.handlers.harness import BotHarness, running_bot

USER = 77
ARTICLES = (
    RawArticle(
        title="Obama <b>letter</b> & Iran",
        body="The letter & its reply.\n\nIt said <script>alert(1)</script> in the text.",
        url="https://news.example/a?x=1&y=2",
        source="Wire & Co",
        external_id="bbc-politics-1",
    ),
    *(
        RawArticle(title=f"Election update {n} 😀", body=f"Voters in district {n} went to vote.")
        for n in range(8)
    ),
)
# Each example is a whole update through the bot: half the profile's count.
through_the_bot = settings(max_examples=max(10, settings.default.max_examples // 2))
arguments = st.one_of(words, odd_text, huge_number, long_text.map(lambda t: t[:4000]))


@pytest.fixture
async def bot(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, alert_loop=False) as harness:
        await harness.load(*ARTICLES)
        yield harness
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def answers_once(bot: BotHarness, text: str, method: str = "sendMessage") -> str:
    """Send text in a private chat; the one answer it got, accepted by the fake Bot API."""
    before = len(bot.api.calls)
    await bot.send(bot.api.updates.message_update(text, chat_id=USER, user_id=USER))
    calls = bot.api.calls[before:]
    assert [c.error_code for c in calls] == [None] * len(calls), calls
    replies = [c for c in calls if c.method == method]
    assert len(replies) == 1, calls
    answer = str(replies[0].params["text"])
    assert answer != SORRY
    return answer


@through_the_bot
@given(text=arguments)
@example(text="/")
@example(text="-")
@example(text='"')
async def test_plain_text_searches(bot: BotHarness, text: str) -> None:
    if not text.strip():
        return  # Telegram delivers no empty messages
    await answers_once(bot, text)


@through_the_bot
@given(
    command=st.sampled_from(
        ["/search", "/subscribe", "/quiet", "/timezone", "/unsubscribe", "/digest"]
    ),
    argument=arguments,
)
@example(command="/unsubscribe", argument="99999999999999999999999999")
@example(command="/unsubscribe", argument="#0")
@example(command="/quiet", argument="-1")
@example(command="/timezone", argument="Europe/../../etc")
async def test_command_arguments(bot: BotHarness, command: str, argument: str) -> None:
    await answers_once(bot, f"{command} {argument}")


@through_the_bot
@given(
    command=st.sampled_from(["/latest", "/article", "/start"]),
    argument=st.one_of(arguments, huge_number.map(lambda n: f"a_{n}")),
)
@example(command="/start", argument="a_")
@example(command="/start", argument="a_bbc-politics-1")
@example(command="/start", argument="a_9223372036854775808")
@example(command="/latest", argument="0")
@example(command="/article", argument="0")
async def test_lookups_and_deep_links(bot: BotHarness, command: str, argument: str) -> None:
    await answers_once(bot, f"{command} {argument}")


@through_the_bot
@given(
    data=st.one_of(odd_text, st.from_regex(r"(pg|unsub):[0-9]{0,25}(:[0-9]{0,6})?", fullmatch=True))
)
@example(data="pg:9223372036854775807:0")
@example(data="pg:1:9999")
@example(data="unsub:99999999999999999999")
async def test_forged_buttons(bot: BotHarness, data: str) -> None:
    if not data or len(data.encode()) > 64:
        return  # Telegram never delivers such callback data
    # A forged button still belongs to a message the bot sent: a page of results here.
    await answers_once(bot, "/search election")
    (message_id,) = [m["message_id"] for m in bot.api.sent_messages(USER)][-1:]
    before = len(bot.api.calls)
    await bot.send(bot.api.updates.callback_query_update(data, message_id, chat_id=USER))
    calls = bot.api.calls[before:]
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1 and all(c.error_code is None for c in calls), calls
    assert answers[0].params.get("text") != SORRY


@through_the_bot
@given(query=arguments, offset=st.one_of(st.just(""), huge_number, odd_text))
async def test_inline_queries(bot: BotHarness, query: str, offset: str) -> None:
    before = len(bot.api.calls)
    await bot.send(bot.api.updates.inline_query_update(query[:256], offset[:64]))
    calls = bot.api.calls[before:]
    assert [c.method for c in calls] == ["answerInlineQuery"]
    assert calls[0].error_code is None, calls
