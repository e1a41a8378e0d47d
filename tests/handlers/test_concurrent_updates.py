"""Updates for one chat handled side by side by the real Application, on SQLite and PostgreSQL.

The bot serves updates concurrently (``concurrent_updates``), so the two service messages of a
group upgrade, a /subscribe sent twice or a double tap may be handled at the same moment.
``asyncio.gather`` over ``process_update`` is what the Application does with them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers.render import SORRY
from services.parsing import RawArticle
from tests.handlers.harness import BotHarness, running_bot

ADMIN = 601
ROUNDS = 5


@pytest.fixture
async def bot(tmp_path: Path, database_url: str) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, alert_loop=False, database_url=database_url) as harness:
        yield harness


def assert_no_errors(bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert all(c.params.get("text") != SORRY for c in bot.api.calls)


async def at_once(bot: BotHarness, *updates: dict[str, object]) -> None:
    await asyncio.gather(*(bot.send(dict(update)) for update in updates))


async def test_both_upgrade_messages_at_once_move_the_group_once(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    updates = bot.api.updates
    for round_ in range(ROUNDS):
        group, supergroup = -4000001001 - round_, -1004000001001 - round_
        bot.api.set_admins(group, [ADMIN])
        await bot.send(updates.message_update("/subscribe iran", chat_id=group, user_id=ADMIN))
        await bot.send(updates.message_update("/digest daily", chat_id=group, user_id=ADMIN))
        (subscription,) = await bot.services.subscriptions.list_for_chat(group)

        await at_once(
            bot,
            updates.message_update(
                "", chat_id=group, chat_type="group", migrate_to_chat_id=supergroup
            ),
            updates.message_update(
                "", chat_id=supergroup, chat_type="supergroup", migrate_from_chat_id=group
            ),
        )

        service = bot.services.subscriptions
        assert await service.list_for_chat(supergroup) == [subscription]
        assert await service.list_for_chat(group) == []
        assert (await service.settings(supergroup)).prefs.digest == "daily"
    assert_no_errors(bot, caplog)


async def test_subscribe_sent_twice_at_once_subscribes_once_and_answers_both(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    for round_ in range(ROUNDS):
        chat = 5000 + round_
        command = f"/subscribe iran word{round_}"
        await at_once(
            bot,
            bot.api.updates.message_update(command, chat_id=chat, user_id=chat),
            bot.api.updates.message_update(command, chat_id=chat, user_id=chat),
        )
        (subscription,) = await bot.services.subscriptions.list_for_chat(chat)
        replies = [c.params["text"] for c in bot.replies() if c.params["chat_id"] == chat]
        assert len(replies) == 2
        assert all(r.startswith(f"✅ Subscribed (#{subscription.id})") for r in replies)
    assert_no_errors(bot, caplog)


async def test_a_double_tap_on_unsubscribe_removes_once_and_answers_both(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    chat = 5100
    updates = bot.api.updates
    await bot.send(updates.message_update("/subscribe iran", chat_id=chat, user_id=chat))
    await bot.send(updates.message_update("/subscribe obama", chat_id=chat, user_id=chat))
    first, second = await bot.services.subscriptions.list_for_chat(chat)
    await bot.send(updates.message_update("/subscriptions", chat_id=chat, user_id=chat))
    message_id = int(bot.api.sent_messages(chat)[-1]["message_id"])
    tap = f"unsub:{first.id}"

    await at_once(
        bot,
        updates.callback_query_update(tap, message_id, chat, chat),
        updates.callback_query_update(tap, message_id, chat, chat),
    )

    assert await bot.services.subscriptions.list_for_chat(chat) == [second]
    answers = sorted(str(a.params["text"]) for a in bot.replies("answerCallbackQuery"))
    assert answers == ["That subscription was already gone.", "Unsubscribed."]
    assert_no_errors(bot, caplog)


async def test_a_double_tap_on_next_shows_the_next_page_once(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    chat = 5200
    await bot.load(
        *(RawArticle(title=f"Election night {n}", body=f"Votes counted in {n}.") for n in range(8))
    )
    await bot.send(bot.api.updates.message_update("/search election", chat_id=chat, user_id=chat))
    (next_button,) = bot.replies()[-1].params["reply_markup"]["inline_keyboard"][0]
    sent = bot.api.sent_messages(chat)[-1]
    tap = bot.api.updates.callback_query_update
    await at_once(
        bot,
        tap(next_button["callback_data"], sent["message_id"], chat, chat, message_text="x"),
        tap(next_button["callback_data"], sent["message_id"], chat, chat, message_text="x"),
    )
    (edit,) = bot.replies("editMessageText")  # the second edit changed nothing: refused
    assert "Results 6–8" in edit.params["text"]
    assert len(bot.replies("answerCallbackQuery")) == 2
    assert_no_errors(bot, caplog)
