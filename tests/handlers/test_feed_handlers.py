from __future__ import annotations

from pathlib import Path

from tests.handlers.harness import running_bot

ADMIN = 4242


async def test_feed_commands_are_for_bot_admins_only(tmp_path: Path) -> None:
    async with running_bot(tmp_path, alert_loop=False, admins=frozenset({ADMIN})) as bot:
        for command in ["/feeds", "/addfeed https://news.example/rss", "/removefeed 1"]:
            await bot.send(bot.api.updates.message_update(command, chat_id=7, user_id=7))
        replies = [c.params["text"] for c in bot.replies()]
        assert replies == ["Only the bot's administrators can manage feeds."] * 3
        assert await bot.services.feeds.list_feeds() == []


async def test_admin_cannot_add_a_feed_on_a_private_address(tmp_path: Path) -> None:
    async with running_bot(tmp_path, alert_loop=False, admins=frozenset({ADMIN})) as bot:
        for url in ["http://127.0.0.1:8080/rss", "http://10.1.2.3/feed", "ftp://example.com/x"]:
            await bot.send(
                bot.api.updates.message_update(f"/addfeed {url}", chat_id=ADMIN, user_id=ADMIN)
            )
        replies = [c.params["text"] for c in bot.replies()]
        assert all(r.startswith("I can't add that feed:") for r in replies), replies
        assert await bot.services.feeds.list_feeds() == []


async def test_admin_lists_and_removes_feeds(tmp_path: Path) -> None:
    async with running_bot(tmp_path, alert_loop=False, admins=frozenset({ADMIN})) as bot:
        await bot.send(bot.api.updates.message_update("/feeds", chat_id=ADMIN, user_id=ADMIN))
        await bot.send(
            bot.api.updates.message_update("/removefeed x", chat_id=ADMIN, user_id=ADMIN)
        )
        await bot.send(
            bot.api.updates.message_update("/removefeed 99", chat_id=ADMIN, user_id=ADMIN)
        )
        empty, usage, missing = (c.params["text"] for c in bot.replies())
        assert "No feeds yet" in empty
        assert "Usage" in usage
        assert missing == "There is no feed with that ID."
