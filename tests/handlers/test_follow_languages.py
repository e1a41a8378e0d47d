"""/follow, /export and /import speak the chat's language: through the real Application, the
fake Bot API and a real feed server on 127.0.0.1 (SQLite; test_follow and test_opml cover
PostgreSQL and the behaviour itself)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handlers.i18n import use_language
from handlers.render_follow import render_followed
from handlers.render_opml import render_import, where_text
from services.feeds.follow import FollowedFeed, FollowResult, FollowStatus
from services.feeds.opml import OpmlFeed, OpmlOutline, render_opml
from services.feeds.opml_follow import ImportedOutline, ImportReport
from tests.handlers.harness import BotHarness, running_bot
from tests.handlers.test_languages import speaking
from tests.helpers.feed_site import FeedSite, feed_site, page, rss
from tests.helpers.telegram_html import parse_html

LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"


@dataclass
class World:
    bot: BotHarness
    site: FeedSite

    async def say(self, text: str, chat_id: int, lang: str) -> str:
        """A command from a user whose Telegram app speaks ``lang``; the bot's last answer."""
        before = len(self.bot.replies())
        update = self.bot.api.updates.message_update(text, chat_id=chat_id, user_id=chat_id)
        await self.bot.send(speaking(update, lang))
        replies = self.bot.replies()[before:]
        assert replies, f"no reply to {text!r}"
        return str(replies[-1].params["text"])

    def feed(self, path: str) -> str:
        when = datetime(2026, 1, 1, tzinfo=UTC)
        return self.site.put(path, rss(f"Feed {path}", ("a", "Harbour news", when, "https://x/a")))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    overrides = {"feed_allowed_hosts": frozenset({"127.0.0.1"}), "follow_limit": 2}
    async with (
        feed_site() as site,
        running_bot(tmp_path, alert_loop=False, overrides=overrides) as bot,
    ):
        yield World(bot, site)


async def test_follow_list_and_unfollow_in_russian(world: World) -> None:
    chat = 701
    url = world.feed("/news")
    answer = await world.say(f"/follow {url} harbour", chat, "ru")
    assert answer.startswith("✅ Этот чат теперь следит за лентой <b>Feed /news</b> (f")
    assert "Только записи, где упоминается <b>harbour</b>." in answer
    assert "О том, что в ней уже есть, я не сообщаю" in answer

    listed = await world.say("/subscriptions", chat, "ru")
    assert "📡 Отслеживаемые ленты:" in listed
    (follow,) = await world.bot.services.follows.followed(chat)
    markup = world.bot.replies()[-1].params["reply_markup"]
    labels = [row[0]["text"] for row in markup["inline_keyboard"]]
    assert labels == [f"Отписаться от f{follow.id}"]

    gone = await world.say(f"/unsubscribe f{follow.id}", chat, "ru")
    assert gone == "Подписка отменена: чат больше не следит за этой лентой."
    again = await world.say(f"/unsubscribe f{follow.id}", chat, "ru")
    assert again == "В этом чате нет такой отслеживаемой ленты. Смотрите /subscriptions."


async def test_the_follow_limit_counts_in_ukrainian_plural_forms(world: World) -> None:
    chat = 702
    for path in ("/one", "/two"):
        await world.say(f"/follow {world.feed(path)}", chat, "uk")
    full = await world.say(f"/follow {world.feed('/three')}", chat, "uk")
    assert full.startswith("Цей чат уже стежить за 2 стрічками — це межа для одного чату.")
    assert "Спочатку видаліть одну з них." in full


async def test_persian_isolates_commands_and_the_feed_choice_question(world: World) -> None:
    chat = 703
    usage = await world.say("/follow", chat, "fa")
    assert f"{LRI}<code>/follow URL</code>{PDI}" in usage
    one, two = world.feed("/a"), world.feed("/b")
    world.site.put("/page", page((one, "First"), (two, "Second")), "text/html")
    question = await world.say(f"/follow {world.site.url('/page')}", chat, "fa")
    assert question == "آن صفحه چند فید را نام می‌برد. این گفتگو کدام را دنبال کند؟"
    nothing = await world.say("/export", chat, "fa")
    assert nothing.startswith("این گفتگو هیچ فیدی را دنبال نمی‌کند")
    assert f"{LRI}<code>/follow URL</code>{PDI}" in nothing


async def test_import_and_export_in_spanish_and_portuguese(world: World) -> None:
    chat = 704
    how = await world.say("/import", chat, "es")
    assert how.startswith("Para seguir las fuentes de un archivo OPML")

    document = render_opml(
        [OpmlFeed(world.feed("/x"), "X"), OpmlFeed(world.feed("/y"), "Y")],
        title="Mine",
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    registered = world.bot.api.register_document(document, "feeds.opml", mime_type="text/x-opml")
    before = len(world.bot.replies())
    update = world.bot.api.document_update(
        registered, caption="/import", chat_id=chat, user_id=chat
    )
    await world.bot.send(speaking(update, "es"))
    (report,) = [str(r.params["text"]) for r in world.bot.replies()[before:]]
    assert report.splitlines()[0] == (
        "📥 Importación en este chat: 2 fuentes seguidas, 0 ya seguidas, 0 no seguidas."
    )

    await world.bot.send(
        speaking(world.bot.api.updates.message_update("/export", chat_id=chat), "pt-br")
    )
    (sent,) = world.bot.api.sent_documents(chat)
    assert sent.caption is not None
    assert sent.caption.startswith("📤 2 feeds seguidos por este chat, em OPML.")


async def test_the_menu_has_follow_export_and_import_in_every_language(world: World) -> None:
    def description(language_code: str, command: str) -> str:
        menu = world.bot.api.commands(language_code=language_code)
        return next(c["description"] for c in menu if c["command"] == command)

    assert description("", "follow") == "Follow a feed here, optionally by keywords"
    assert description("ru", "follow") == "Следить здесь за лентой, можно по ключевым словам"
    assert description("uk", "export") == "Стрічки цього чату у вигляді файлу OPML"
    assert description("es", "import") == "Seguir las fuentes de un archivo OPML"
    assert description("pt", "subscriptions") == "As inscrições deste chat e os feeds que ele segue"
    assert description("fa", "follow") == "دنبال کردن یک فید در اینجا، در صورت تمایل با کلیدواژه"


def _report(added: int, already: int) -> ImportReport:
    feed = FollowedFeed(1, 1, "https://a.example/rss", None, 0, "", (), (), True)
    items = [FollowStatus.ADDED] * added + [FollowStatus.ALREADY] * already
    return ImportReport(
        tuple(
            ImportedOutline(
                OpmlOutline(f"https://a.example/{n}", None, None), FollowResult(s, feed)
            )
            for n, s in enumerate(items)
        ),
        0,
        20,
    )


@pytest.mark.parametrize(
    ("added", "already", "heading"),
    [
        (1, 2, "📥 Импорт в этот чат: 1 лента добавлена, 2 уже отслеживались, 0 не добавлено."),
        (5, 1, "📥 Импорт в этот чат: 5 лент добавлено, 1 уже отслеживалась, 0 не добавлено."),
        (21, 0, "📥 Импорт в этот чат: 21 лента добавлена, 0 уже отслеживалось, 0 не добавлено."),
    ],
)
def test_an_import_report_takes_russians_three_plural_forms(
    added: int, already: int, heading: str
) -> None:
    with use_language("ru"):
        text = render_import(_report(added, already), where_text(None, False), "")
    assert text.splitlines()[0] == heading


def test_persian_isolates_a_remote_chat_and_a_feed_title() -> None:
    followed = FollowedFeed(4, 1, "https://a.example/rss", "World News 2026?", 0, "", (), (), True)
    with use_language("fa"):
        text, _ = render_followed(
            FollowResult(FollowStatus.ADDED, followed), where=where_text("My Channel", True)
        )
    assert text.startswith(
        f"✅ <b>{FSI}My Channel{PDI}</b> اکنون <b>{FSI}World News 2026?{PDI}</b>"
    )
    assert f"({FSI}f4{PDI})" in text
    assert parse_html(text).text  # still HTML Telegram accepts
    with use_language("en"):
        english, _ = render_followed(
            FollowResult(FollowStatus.ADDED, followed), where=where_text("My Channel", True)
        )
    assert FSI not in english and english.startswith("✅ <b>My Channel</b> now follows")
