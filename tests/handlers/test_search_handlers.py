from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.parsing import RawArticle
from tests.handlers.harness import BotHarness, running_bot
from tests.helpers.botapi import FakeBotApi

LETTER = RawArticle(
    title="Barack Obama’s Secret Letter to Iran Leader",
    body=(
        "President Barack Obama wrote to Iran’s supreme leader to tell him that cooperation "
        "against the Islamic State hinged on a nuclear deal.\n\n"
        "The letter was the fourth such correspondence since 2009."
    ),
    url="https://news.example/obama-letter",
    source="Example Wire",
)


def filler(i: int) -> RawArticle:
    return RawArticle(
        title=f"Regional election update number {i}",
        body=f"Voters in district {i} went to the polls. Turnout in the election was steady.",
    )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path) as harness:
        await harness.load(LETTER, *(filler(i) for i in range(12)))
        yield harness


async def test_search_command_answers_with_the_article_in_html(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/search obma iran leter", chat_id=5, user_id=5))
    (reply,) = bot.replies()
    params = reply.params
    assert params["chat_id"] == 5 and params["parse_mode"] == "HTML"
    assert "<b>1. Barack Obama’s Secret Letter to Iran Leader</b>" in params["text"]
    assert '<a href="https://news.example/obama-letter">' in params["text"]
    assert "reply_markup" not in params or params["reply_markup"] is None


async def test_plain_text_in_private_chat_searches(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("iran nucl", chat_id=6, user_id=6))
    (reply,) = bot.replies()
    assert "Obama" in reply.params["text"]


async def test_plain_text_in_a_group_is_ignored(bot: BotHarness) -> None:
    update = bot.api.updates.message_update("iran letter", chat_id=-100, chat_type="group")
    await bot.send(update)
    assert bot.replies() == []


async def test_search_with_bot_username_in_a_group(bot: BotHarness) -> None:
    update = bot.api.updates.message_update(
        "/search@newsbot_test_bot obama letter", chat_id=-100, chat_type="supergroup"
    )
    await bot.send(update)
    (reply,) = bot.replies()
    assert reply.params["chat_id"] == -100 and "Obama" in reply.params["text"]


async def test_empty_search_gets_usage(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/search", chat_id=7, user_id=7))
    (reply,) = bot.replies()
    assert "Tell me what to look for" in reply.params["text"]


async def test_nothing_found_gets_a_friendly_suggestion(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/search xylophone quartz", chat_id=7, user_id=7))
    (reply,) = bot.replies()
    assert "No articles match" in reply.params["text"] and "/latest" in reply.params["text"]


async def test_huge_query_is_truncated_and_answered(bot: BotHarness) -> None:
    await bot.send(
        bot.api.updates.message_update("/search election " + "z" * 5000, chat_id=8, user_id=8)
    )
    (reply,) = bot.replies()
    assert len(reply.params["text"]) <= 4096


async def test_odd_unicode_query_is_answered_politely(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/search \u200b\u202e🙂 ‮", chat_id=8, user_id=8))
    (reply,) = bot.replies()
    assert reply.params["text"]


async def test_next_and_previous_edit_the_message(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/search election", chat_id=9, user_id=9))
    (reply,) = bot.replies()
    markup = reply.params["reply_markup"]
    (next_button,) = markup["inline_keyboard"][0]
    assert next_button["text"] == "Next ▶"
    sent = bot.api.sent_messages(9)[0]
    await bot.send(
        bot.api.updates.callback_query_update(
            next_button["callback_data"], sent["message_id"], 9, 9, message_text=sent["text"]
        )
    )
    (edit,) = bot.replies("editMessageText")
    assert "Results 6–10" in edit.params["text"]
    buttons = [b["text"] for b in edit.params["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["◀ Previous", "Next ▶"]


async def test_paging_button_from_another_chat_is_refused(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/search election", chat_id=9, user_id=9))
    data = bot.replies()[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bot.send(bot.api.updates.callback_query_update(data, 1, 77, 77, message_text="x"))
    (answer,) = bot.replies("answerCallbackQuery")
    assert "expired" in answer.params["text"]
    assert bot.replies("editMessageText") == []


@pytest.mark.parametrize("data", ["pg:999999:5", "pg:abc", "'; DROP TABLE x", "zz"])
async def test_forged_callback_data_changes_nothing(bot: BotHarness, data: str) -> None:
    await bot.send(bot.api.updates.callback_query_update(data, 1, 9, 9, message_text="x"))
    (answer,) = bot.replies("answerCallbackQuery")
    assert answer.params.get("text")
    assert bot.replies("editMessageText") == []


async def test_inline_query_offers_results_with_paging(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.inline_query_update("election"))
    (answer,) = bot.replies("answerInlineQuery")
    results = answer.params["results"]
    assert 1 <= len(results) <= 50
    first = results[0]
    assert first["type"] == "article"
    assert first["input_message_content"]["parse_mode"] == "HTML"
    assert "election" in first["input_message_content"]["message_text"].lower()
    assert answer.params.get("next_offset", "") == ""


async def test_internal_error_gets_an_apology_not_a_traceback(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(bot.services.search, "search", broken)
    await bot.send(bot.api.updates.message_update("/search anything", chat_id=3, user_id=3))
    (reply,) = bot.replies()
    assert reply.params["text"].startswith("Sorry, something went wrong")
    assert "exploded" not in reply.params["text"]
    assert "database exploded" in caplog.text


async def test_commands_are_registered_with_telegram(tmp_path: Path) -> None:
    api = FakeBotApi()
    async with running_bot(tmp_path, api):
        default = [c for c in api.calls_to("setMyCommands") if "language_code" not in c.params]
    (call,) = default
    names = [c["command"] for c in call.params["commands"]]
    assert names[:3] == ["search", "latest", "article"]
    assert {"subscribe", "subscriptions", "unsubscribe", "digest", "quiet", "timezone"} <= set(
        names
    )


async def test_double_tap_on_next_is_harmless(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.send(bot.api.updates.message_update("/search election", chat_id=9, user_id=9))
    data = bot.replies()[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    sent = bot.api.sent_messages(9)[0]
    for _ in range(2):
        await bot.send(
            bot.api.updates.callback_query_update(
                data, sent["message_id"], 9, 9, message_text=sent["text"]
            )
        )
    assert len(bot.replies("editMessageText")) == 1
    assert "error while handling an update" not in caplog.text
