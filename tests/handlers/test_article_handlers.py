from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.parsing import RawArticle
from tests.handlers.harness import running_bot

NO_URL = RawArticle(
    title="Quiet harbour reopens <after> storm & floods",
    body="The harbour reopened on Monday. Fishing boats returned to their moorings.",
    external_id="wire-0042",
)


async def test_start_shows_help(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send(bot.api.updates.message_update("/start", chat_id=1, user_id=1))
        (reply,) = bot.replies()
        assert "/search" in reply.params["text"] and "@newsbot_test_bot" in reply.params["text"]


async def test_deep_link_opens_the_article(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        (article_id,) = await bot.load(NO_URL)
        await bot.send(
            bot.api.updates.message_update(f"/start a_{article_id}", chat_id=1, user_id=1)
        )
        (reply,) = bot.replies()
        text = reply.params["text"]
        assert "Quiet harbour reopens &lt;after&gt; storm &amp; floods" in text
        assert f"https://t.me/newsbot_test_bot?start=a_{article_id}" in text


async def test_search_result_without_url_links_to_the_bot(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        (article_id,) = await bot.load(NO_URL)
        await bot.send(bot.api.updates.message_update("/search harbor storm", chat_id=1, user_id=1))
        (reply,) = bot.replies()
        assert f"?start=a_{article_id}" in reply.params["text"]


async def test_article_by_external_id_and_unknown_id(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.load(NO_URL)
        await bot.send(bot.api.updates.message_update("/article wire-0042", chat_id=1, user_id=1))
        await bot.send(bot.api.updates.message_update("/article nope", chat_id=1, user_id=1))
        await bot.send(bot.api.updates.message_update("/article", chat_id=1, user_id=1))
        found, missing, usage = (c.params["text"] for c in bot.replies())
        assert "Quiet harbour" in found
        assert "couldn't find" in missing
        assert "Usage" in usage


async def test_latest_lists_newest_first_and_validates_n(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        await bot.load(
            *(
                RawArticle(
                    title=f"Story {i}",
                    body=f"Body of story number {i} with some words.",
                    published_at=base + timedelta(days=i),
                )
                for i in range(4)
            )
        )
        await bot.send(bot.api.updates.message_update("/latest 2", chat_id=1, user_id=1))
        await bot.send(bot.api.updates.message_update("/latest 99", chat_id=1, user_id=1))
        listing, refusal = (c.params["text"] for c in bot.replies())
        assert listing.index("Story 3") < listing.index("Story 2")
        assert "Story 1" not in listing
        assert "1 to 20" in refusal
