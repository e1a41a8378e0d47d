"""Unknown commands and non-text messages: an answer in private chats, silence for others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers.fallback import closest_command
from tests.handlers.harness import BotHarness, running_bot

KNOWN = ("search", "latest", "subscribe", "quiet", "timezone", "help")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path) as harness:
        yield harness


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("serch", "search"), ("saerch", "search"), ("lates", "latest"), ("qiet", "quiet")],
)
def test_a_typo_finds_the_command_it_meant(typed: str, meant: str) -> None:
    assert closest_command(typed, KNOWN) == meant


@pytest.mark.parametrize("typed", ["language", "follow", "export", "art"])
def test_a_different_word_is_not_taken_for_a_typo(typed: str) -> None:
    assert closest_command(typed, KNOWN) is None


@pytest.mark.parametrize("command", ["/settings", "/weather", "/horoscope"])
async def test_unknown_command_in_private_points_to_help(bot: BotHarness, command: str) -> None:
    await bot.send(bot.api.updates.message_update(command, chat_id=5, user_id=5))
    (reply,) = bot.replies()
    text = reply.params["text"]
    assert reply.params["chat_id"] == 5
    assert f"I don't know the command {command}." in text and "/help" in text
    assert "Did you mean" not in text


async def test_a_typo_gets_the_closest_command(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/serch obama", chat_id=5, user_id=5))
    (reply,) = bot.replies()
    assert "Did you mean /search?" in reply.params["text"]


async def test_a_known_command_is_not_answered_twice(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/help", chat_id=5, user_id=5))
    (reply,) = bot.replies()
    assert "I don't know" not in reply.params["text"]


async def test_in_a_group_an_unaddressed_unknown_command_gets_no_answer(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/roll", chat_id=-100, chat_type="supergroup"))
    await bot.send(
        bot.api.updates.message_update(
            "/search@other_bot obama", chat_id=-100, chat_type="supergroup"
        )
    )
    assert bot.replies() == []


async def test_in_a_group_an_unknown_command_for_this_bot_is_answered(bot: BotHarness) -> None:
    update = bot.api.updates.message_update(
        "/serch@NewsBot_Test_Bot obama", chat_id=-100, chat_type="supergroup"
    )
    await bot.send(update)
    (reply,) = bot.replies()
    assert reply.params["chat_id"] == -100
    assert "I don't know the command /serch." in reply.params["text"]
    assert "Did you mean /search?" in reply.params["text"]


async def test_a_command_for_another_bot_in_private_names_it(bot: BotHarness) -> None:
    await bot.send(bot.api.updates.message_update("/search@other_bot obama", chat_id=5, user_id=5))
    (reply,) = bot.replies()
    assert "/search@other_bot" in reply.params["text"]
    assert "Did you mean /search?" in reply.params["text"]


async def test_a_sticker_in_private_gets_told_what_the_bot_reads(bot: BotHarness) -> None:
    update = bot.api.updates.message_update("", chat_id=5, user_id=5)
    message = update["message"]
    del message["text"]
    message["sticker"] = {
        "file_id": "CAACAgIAAxkBAAE",
        "file_unique_id": "AgADAgAD",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    await bot.send(update)
    (reply,) = bot.replies()
    assert "I can only read text" in reply.params["text"]


async def test_a_sticker_in_a_group_gets_no_answer(bot: BotHarness) -> None:
    update = bot.api.updates.message_update("", chat_id=-100, chat_type="supergroup")
    message = update["message"]
    del message["text"]
    message["location"] = {"latitude": 52.5, "longitude": 13.4}
    await bot.send(update)
    assert bot.replies() == []
