"""/follow: a chat's own feeds, through the real Application, the fake Bot API and a real
HTTP feed server on 127.0.0.1, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handlers.sender import TelegramAlertSender
from services.alerts.delivery import DeliveryWorker
from services.alerts.matcher import AlertMatcher
from services.alerts.ratelimit import TokenBucket
from services.parsing import RawArticle
from storage.db import create_engine, create_session_factory
from storage.models import Feed, FeedFollow, OutboxMessage
from tests.handlers.harness import BotHarness, running_bot
from tests.handlers.test_channels import (
    CHANNEL,
    EDITOR,
    MODERATOR,
    OWNER,
)
from tests.helpers.botapi import BOT_ID
from tests.helpers.feed_site import FeedSite, feed_site, page, rss

GROUP = -1002000000010
OTHER_GROUP = -1002000000011
ADMIN = 801
MEMBER = 802
SUBSCRIBER = 803  # subscribes in a private chat to words the followed feeds mention


class World:
    """The bot, the feed site, and the matcher and sender a running bot would have."""

    def __init__(self, bot: BotHarness, site: FeedSite, engine: AsyncEngine) -> None:
        self.bot, self.site, self.engine = bot, site, engine
        self.sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
        self.matcher = AlertMatcher(self.sessions, clock=bot.clock)
        self.worker = DeliveryWorker(
            self.sessions,
            TelegramAlertSender(bot.app.bot),
            clock=bot.clock,
            worker_id="test",
            rate=TokenBucket(29),
        )

    async def say(self, text: str, chat_id: int, user_id: int) -> str:
        """Send a message; the text of the bot's last reply in the chat it went to."""
        before = len(self.bot.replies())
        await self.bot.send(
            self.bot.api.updates.message_update(text, chat_id=chat_id, user_id=user_id)
        )
        replies = self.bot.replies()[before:]
        assert replies, f"no reply to {text!r}"
        return str(replies[-1].params["text"])

    async def poll_and_deliver(self) -> int:
        """Poll due feeds, match, send: how many alerts went out."""
        await self.bot.services.feeds.poll_due()
        await self.bot.services.index_follower.catch_up()
        while await self.matcher.run_once():
            pass
        sent = 0
        while delivered := await self.worker.deliver_once():
            sent += delivered
        return sent

    def alerts_to(self, chat_id: int) -> list[str]:
        return [
            m["text"]
            for m in self.bot.api.sent_messages(chat_id)
            if m["text"].startswith("🔔 New article")
        ]

    async def count(self, model: Any) -> int:
        async with self.sessions() as session:
            return int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    overrides = {"feed_allowed_hosts": frozenset({"127.0.0.1"}), "follow_limit": 3}
    async with (
        feed_site() as site,
        running_bot(
            tmp_path,
            alert_loop=False,
            database_url=database_url,
            admins=frozenset({OWNER}),
            overrides=overrides,
        ) as bot,
    ):
        api = bot.api
        api.set_chat(CHANNEL, "channel", title="World <News>", username="mychannel")
        api.set_admins(CHANNEL, [EDITOR, MODERATOR, BOT_ID], creator=OWNER)
        api.set_rights(CHANNEL, MODERATOR, can_post_messages=False)
        for group in (GROUP, OTHER_GROUP):
            api.set_chat(group, "supergroup", title=f"Group {group}")
            api.set_admins(group, [ADMIN, BOT_ID], creator=OWNER)
        engine = create_engine(database_url)
        world = World(bot, site, engine)
        try:
            assert await world.matcher.run_once() == 0  # places the cursors: alerts from now on
            yield world
        finally:
            await engine.dispose()


def one_story(site: FeedSite, path: str, *stories: tuple[str, str], at: Any = None) -> str:
    entries = [(guid, title, at, f"https://news.example{path}/{guid}") for guid, title in stories]
    return site.put(path, rss(f"Feed {path}", *entries))


# -- following, and what alerts whom ---------------------------------------------------------


async def test_a_group_follows_a_feed_and_only_its_new_entries_alert_only_that_group(
    world: World,
) -> None:
    bot, site = world.bot, world.site
    url = one_story(site, "/harbour", ("old", "Harbour opened in 1901"))
    await world.say("/subscribe harbour", SUBSCRIBER, SUBSCRIBER)

    refused = await world.say(f"/follow {url}", GROUP, MEMBER)
    assert refused == "Only this group's administrators can change its subscriptions."
    assert await world.count(FeedFollow) == 0

    answer = await world.say(f"/follow {url} harbour -sport", GROUP, ADMIN)
    assert answer.startswith("✅ This chat now follows <b>Feed /harbour</b> (f")
    assert "What it holds now is not announced; new entries are." in answer
    assert await world.poll_and_deliver() == 0  # the first poll announces nothing

    bot.clock.now += timedelta(minutes=11)
    one_story(
        site,
        "/harbour",
        ("old", "Harbour opened in 1901"),
        ("strike", "Harbour strike closes the docks"),
        ("sport", "Harbour sport day cancelled"),
        ("vote", "Election results are in"),
        at=bot.clock.now,
    )
    assert await world.poll_and_deliver() == 1
    (alert,) = world.alerts_to(GROUP)
    assert "Harbour strike closes the docks" in alert
    # A private feed's entries are stored in the archive, yet reach no other subscription.
    assert world.alerts_to(SUBSCRIBER) == []
    found = await bot.services.search.search("strike docks")
    assert [hit.article.title for hit in found.hits] == ["Harbour strike closes the docks"]

    again = await world.say(f"/follow {url}", GROUP, ADMIN)
    assert again.startswith("This chat already follows <b>Feed /harbour</b> (f")


async def test_typos_in_the_words_are_read_as_words_the_archive_knows(world: World) -> None:
    await world.bot.load(
        RawArticle(
            title="Parliament debates the pension reform",
            body="The pension reform reached parliament today. Sport was not discussed.",
        )
    )
    url = one_story(world.site, "/typos", ("a", "Old news"))
    answer = await world.say(f"/follow {url} pensoin parliment -sprot", GROUP, ADMIN)
    assert answer.startswith("✅ This chat now follows <b>Feed /typos</b> (f")
    assert "I read “pensoin” as “pension” and “parliment” as “parliament”." in answer
    assert (
        "Only entries mentioning <b>pension</b> <b>parliament</b>, except those mentioning "
        "<b>sport</b>." in answer
    )
    (followed,) = await world.bot.services.follows.followed(GROUP)
    assert (followed.include, followed.exclude) == (("pension", "parliament"), ("sport",))
    assert followed.query == "pensoin parliment -sprot"  # as typed


async def test_chats_following_one_url_share_one_feed_and_one_poll(world: World) -> None:
    url = one_story(world.site, "/shared", ("a", "Quiet day at the harbour"))
    await world.say(f"/follow {url}", GROUP, ADMIN)
    await world.say(f"/follow {url}", OTHER_GROUP, ADMIN)
    assert await world.count(Feed) == 1
    await world.poll_and_deliver()
    assert world.site.requests.count("/shared") == 1 + 1  # the first /follow's check, one poll

    world.bot.clock.now += timedelta(minutes=11)
    one_story(world.site, "/shared", ("b", "Ferry timetable changes"), at=world.bot.clock.now)
    assert await world.poll_and_deliver() == 2
    assert len(world.alerts_to(GROUP)) == len(world.alerts_to(OTHER_GROUP)) == 1


async def test_one_article_from_a_public_and_a_private_feed_alerts_each_chat_once(
    world: World,
) -> None:
    bot, site = world.bot, world.site
    public = one_story(site, "/public", ("p0", "Old public story"))
    private = one_story(site, "/private", ("q0", "Old private story"))
    assert (await world.say(f"/addfeed {public}", OWNER, OWNER)).startswith("Added feed #")
    await world.say("/subscribe harbour", SUBSCRIBER, SUBSCRIBER)
    await world.say("/subscribe harbour", GROUP, ADMIN)  # and it follows both feeds
    await world.say(f"/follow {private}", GROUP, ADMIN)
    await world.say(f"/follow {public}", GROUP, ADMIN)
    await world.say(f"/follow {private}", OTHER_GROUP, ADMIN)
    assert await world.poll_and_deliver() == 0

    bot.clock.now += timedelta(minutes=11)
    story = ("same", "Harbour reopens after the strike")
    link = "https://news.example/story/harbour-reopens"
    for path, title in (("/public", "Feed /public"), ("/private", "Feed /private")):
        site.put(path, rss(title, (story[0], story[1], bot.clock.now, link)))
    await world.poll_and_deliver()
    assert len(world.alerts_to(GROUP)) == 1  # by its subscription and two follows: once
    assert len(world.alerts_to(OTHER_GROUP)) == 1  # the private feed's follower
    assert len(world.alerts_to(SUBSCRIBER)) == 1  # the public feed's subscriber
    async with world.sessions() as session:
        pairs = await session.execute(
            select(OutboxMessage.chat_id, func.count()).group_by(OutboxMessage.chat_id)
        )
        assert sorted(pairs.all()) == sorted([(GROUP, 1), (OTHER_GROUP, 1), (SUBSCRIBER, 1)])


async def test_one_story_under_two_feeds_own_ids_and_links_alerts_each_follower_once(
    world: World,
) -> None:
    """The second feed's copy is recognised by its text alone, and still reaches the chat
    that follows only that feed; the chat following both hears of it once."""
    bot, site = world.bot, world.site
    first = one_story(site, "/first", ("f0", "Old first story"))
    second = one_story(site, "/second", ("s0", "Old second story"))
    for url in (first, second):
        await world.say(f"/follow {url} harbour", GROUP, ADMIN)
    await world.say(f"/follow {second} harbour", OTHER_GROUP, ADMIN)
    assert await world.poll_and_deliver() == 0

    story = "Harbour reopens after the strike"
    for path, guid, old in (("/first", "f1", "f0"), ("/second", "s1", "s0")):
        bot.clock.now += timedelta(minutes=11)
        one_story(site, path, (old, f"Old {path[1:]} story"), (guid, story), at=bot.clock.now)
        await world.poll_and_deliver()
    assert len(world.alerts_to(GROUP)) == 1
    assert len(world.alerts_to(OTHER_GROUP)) == 1


async def test_an_admin_adding_a_followed_url_makes_it_public(world: World) -> None:
    bot, site = world.bot, world.site
    url = one_story(site, "/made-public", ("a", "Old harbour news"))
    await world.say(f"/follow {url}", GROUP, ADMIN)
    await world.say("/subscribe harbour", SUBSCRIBER, SUBSCRIBER)
    assert (await world.say(f"/addfeed {url}", OWNER, OWNER)).startswith("That feed is already #")
    await world.poll_and_deliver()
    bot.clock.now += timedelta(minutes=11)
    one_story(site, "/made-public", ("b", "Harbour crane collapses"), at=bot.clock.now)
    await world.poll_and_deliver()
    assert len(world.alerts_to(GROUP)) == len(world.alerts_to(SUBSCRIBER)) == 1


# -- pages, limits, the guard -----------------------------------------------------------------


async def test_a_page_naming_several_feeds_offers_buttons_and_refuses_forged_ones(
    world: World,
) -> None:
    bot, site = world.bot, world.site
    first = one_story(site, "/news.rss", ("a", "News"))
    second = one_story(site, "/sport.rss", ("a", "Sport"))
    site.put("/", page(("/news.rss", "All news"), ("/sport.rss", "Sport")), "text/html")
    question = await world.say(f"/follow {site.url('/')} final", GROUP, ADMIN)
    assert question == "That page names several feeds. Which one should this chat follow?"
    sent = bot.api.sent_messages(GROUP)[-1]
    buttons = [row[0] for row in sent["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == ["All news", "Sport"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)

    press = bot.api.updates.callback_query_update
    for forged in (
        "fw:999999:0",
        "fw:x:1",
        "fw:1:" + "9" * 40,
        buttons[0]["callback_data"][:-1] + "7",
    ):
        await bot.send(press(forged, sent["message_id"], GROUP, ADMIN))
    await bot.send(press(buttons[1]["callback_data"], sent["message_id"], GROUP, MEMBER))
    assert await world.count(FeedFollow) == 0
    answers = [c.params.get("text") for c in bot.replies("answerCallbackQuery")]
    assert answers == [
        "That choice is no longer available. Send /follow again.",
        "This button is not valid.",
        "This button is not valid.",
        "This button is not valid.",
        "Only the person who sent /follow can choose.",
    ]
    assert bot.api.message(GROUP, sent["message_id"])["text"] == question  # buttons still there

    await bot.send(press(buttons[1]["callback_data"], sent["message_id"], GROUP, ADMIN))
    (followed,) = await bot.services.follows.followed(GROUP)
    assert (followed.url, followed.include) == (second, ("final",))
    assert bot.api.message(GROUP, sent["message_id"])["text"].startswith(
        "✅ This chat now follows Sport (f"
    )
    # The same button again: the choice is used up.
    await bot.send(press(buttons[0]["callback_data"], sent["message_id"], GROUP, ADMIN))
    assert [f.url for f in await bot.services.follows.followed(GROUP)] == [second]
    assert first not in [f.url for f in await bot.services.follows.followed(GROUP)]


async def test_a_feed_choice_tap_reads_its_choice_once(world: World) -> None:
    bot, site = world.bot, world.site
    chosen = one_story(site, "/news.rss", ("a", "News"))
    one_story(site, "/sport.rss", ("a", "Sport"))
    site.put("/", page(("/news.rss", "All news"), ("/sport.rss", "Sport")), "text/html")
    await world.say(f"/follow {site.url('/')}", GROUP, ADMIN)
    sent = bot.api.sent_messages(GROUP)[-1]
    data = sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    reads: list[str] = []

    def note_choice_reads(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "follow_choices" in statement:
            reads.append(statement)

    # On the Engine class: the bot's own engine is built inside the application.
    event.listen(Engine, "before_cursor_execute", note_choice_reads)
    try:
        await bot.send(
            bot.api.updates.callback_query_update(data, sent["message_id"], GROUP, ADMIN)
        )
    finally:
        event.remove(Engine, "before_cursor_execute", note_choice_reads)
    assert [f.url for f in await bot.services.follows.followed(GROUP)] == [chosen]
    assert len(reads) == 1, reads


async def test_a_page_with_one_feed_is_followed_and_a_page_without_is_refused(
    world: World,
) -> None:
    site = world.site
    feed = one_story(site, "/only.rss", ("a", "News"))
    site.put("/one", page(("only.rss", "The feed")), "text/html")
    site.put("/none", page(), "text/html")
    assert (await world.say(f"/follow {site.url('/one')}", GROUP, ADMIN)).startswith(
        "✅ This chat now follows"
    )
    assert [f.url for f in await world.bot.services.follows.followed(GROUP)] == [feed]
    refused = await world.say(f"/follow {site.url('/none')}", GROUP, ADMIN)
    assert refused.startswith("That is neither an RSS or Atom feed nor a page that names one.")
    missing = await world.say(f"/follow {site.url('/missing')}", GROUP, ADMIN)
    assert missing == "I couldn't read that address: HTTP 404 Not Found. Check it and try again."


async def test_the_address_guard_and_the_follow_limit(world: World) -> None:
    for url in ("http://10.0.0.1/rss", "file:///etc/passwd", "http://localhost/feed"):
        answer = await world.say(f"/follow {url}", GROUP, ADMIN)
        assert answer.startswith("I can't follow that address: "), answer
    assert await world.count(Feed) == 0
    assert (await world.say("/follow", GROUP, ADMIN)).startswith("Usage: <code>/follow URL")
    for n in range(3):
        url = one_story(world.site, f"/f{n}", ("a", f"Story {n}"))
        assert (await world.say(f"/follow {url}", GROUP, ADMIN)).startswith("✅")
    url = one_story(world.site, "/f3", ("a", "Story 3"))
    full = await world.say(f"/follow {url}", GROUP, ADMIN)
    assert full.startswith("This chat already follows 3 feeds, the most a chat may.")
    assert await world.count(FeedFollow) == 3


# -- channels ------------------------------------------------------------------------------------


async def test_a_channel_follows_by_a_post_and_from_a_private_chat(world: World) -> None:
    bot, site = world.bot, world.site
    posted = one_story(site, "/posted", ("a", "A"))
    remote = one_story(site, "/remote", ("a", "A"))
    await bot.send(bot.api.post_in_channel(f"/follow {posted}", CHANNEL))
    assert bot.api.sent_messages(CHANNEL)[-1]["text"].startswith("✅ This chat now follows")

    refused = await world.say(f"/follow @mychannel {remote}", MODERATOR, MODERATOR)
    assert refused.startswith("Only an administrator of <b>World &lt;News&gt;</b> who may post")
    answer = await world.say(f"/follow @mychannel {remote} harbour", EDITOR, EDITOR)
    assert answer.startswith("✅ <b>World &lt;News&gt;</b> now follows <b>Feed /remote</b> (f")
    followed = await bot.services.follows.followed(CHANNEL)
    assert [f.url for f in followed] == [posted, remote]

    listing = await world.say("/subscriptions @mychannel", EDITOR, EDITOR)
    assert "📡 Followed feeds:" in listing
    assert f"f{followed[1].id}: <b>Feed /remote</b> ({remote}), entries mentioning" in listing
    removed = await world.say(f"/unsubscribe @mychannel f{followed[1].id}", EDITOR, EDITOR)
    assert removed == "Unsubscribed: <b>World &lt;News&gt;</b> no longer follows that feed."
    assert [f.url for f in await bot.services.follows.followed(CHANNEL)] == [posted]

    # A page's choice, asked for the channel from a private chat, is made there.
    site.put("/page", page(("/a.rss", "A"), ("/b.rss", "B")), "text/html")
    one_story(site, "/a.rss", ("a", "A"))
    one_story(site, "/b.rss", ("a", "B"))
    question = await world.say(f"/follow @mychannel {site.url('/page')}", EDITOR, EDITOR)
    assert question.endswith("Which one should <b>World &lt;News&gt;</b> follow?")
    sent = bot.api.sent_messages(EDITOR)[-1]
    data = sent["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    press = bot.api.updates.callback_query_update
    await bot.send(press(data, sent["message_id"], EDITOR, EDITOR))
    assert bot.api.message(EDITOR, sent["message_id"])["text"].startswith(
        "✅ World <News> now follows B (f"
    )
    unfollow = (await bot.services.follows.followed(CHANNEL))[-1]
    assert unfollow.url == site.url("/b.rss")
    await world.say(f"/unsubscribe @mychannel f{unfollow.id}", EDITOR, EDITOR)

    # Alerts of a followed feed go to the channel.
    await world.poll_and_deliver()
    bot.clock.now += timedelta(minutes=11)
    one_story(site, "/posted", ("b", "Lighthouse restored"), at=bot.clock.now)
    one_story(site, "/remote", ("b", "Harbour restored"), at=bot.clock.now)
    assert await world.poll_and_deliver() == 1
    (alert,) = world.alerts_to(CHANNEL)
    assert "Lighthouse restored" in alert
    (kept,) = await bot.services.follows.followed(CHANNEL)
    channels = await world.say("/channels", EDITOR, EDITOR)
    assert f"  f{kept.id}: <b>Feed /posted</b> ({posted})" in channels


# -- /subscriptions and unsubscribing ----------------------------------------------------------


async def test_followed_feeds_are_listed_with_buttons_and_unfollowed_feeds_stop(
    world: World,
) -> None:
    bot, site = world.bot, world.site
    url = one_story(site, "/listed", ("a", "A"))
    await world.say("/subscribe harbour", GROUP, ADMIN)
    await world.say(f"/follow {url} ferry -strike", GROUP, ADMIN)
    (followed,) = await bot.services.follows.followed(GROUP)
    listing = await world.say("/subscriptions", GROUP, MEMBER)  # anyone may look
    assert "#" in listing and "mentioning <b>harbour</b>" in listing
    assert (
        f"f{followed.id}: <b>Feed /listed</b> ({url}), entries mentioning <b>ferry</b>, "
        "except those mentioning <b>strike</b>"
    ) in listing
    sent = bot.api.sent_messages(GROUP)[-1]
    data = [row[0]["callback_data"] for row in sent["reply_markup"]["inline_keyboard"]]
    assert data[-1] == f"unsub:f{followed.id}" and len(data) == 2

    press = bot.api.updates.callback_query_update
    await bot.send(press(data[-1], sent["message_id"], GROUP, MEMBER))
    assert len(await bot.services.follows.followed(GROUP)) == 1
    await bot.send(press(data[-1], sent["message_id"], GROUP, ADMIN))
    assert await bot.services.follows.followed(GROUP) == []
    assert bot.replies("answerCallbackQuery")[-1].params["text"] == "Unsubscribed."
    edited = bot.api.message(GROUP, sent["message_id"])["text"]
    assert "Followed feeds" not in edited and "harbour" in edited
    async with world.sessions() as session:
        (feed,) = (await session.execute(select(Feed))).scalars()
    assert not feed.active  # nobody follows this chat feed: it is not polled any more
    assert await bot.services.feeds.poll_due() == []

    # Following it again starts over: its next poll stores silently.
    await world.say(f"/follow {url}", OTHER_GROUP, ADMIN)
    assert await world.poll_and_deliver() == 0
    assert (await world.say("/unsubscribe fx", GROUP, ADMIN)).startswith("Usage:")
    gone = await world.say("/unsubscribe f999", GROUP, ADMIN)
    assert gone == "No such followed feed in this chat. See /subscriptions."


async def test_unsubscribe_all_removes_follows_too(world: World) -> None:
    url = one_story(world.site, "/all", ("a", "A"))
    await world.say("/subscribe harbour", GROUP, ADMIN)
    await world.say(f"/follow {url}", GROUP, ADMIN)
    assert await world.say("/unsubscribe all", GROUP, ADMIN) == "Removed 2 subscriptions."
    assert await world.bot.services.follows.followed(GROUP) == []


# -- group -> supergroup --------------------------------------------------------------------------

BASIC_GROUP = -4001234567
SUPERGROUP = -1004001234567


async def test_managers_and_follows_move_when_a_group_becomes_a_supergroup(world: World) -> None:
    bot = world.bot
    bot.api.set_chat(BASIC_GROUP, "group", title="Club")
    bot.api.set_admins(BASIC_GROUP, [ADMIN, BOT_ID], creator=OWNER)
    url = one_story(world.site, "/club", ("a", "A"))
    assert (await world.say(f"/follow {BASIC_GROUP} {url}", ADMIN, ADMIN)).startswith(
        "✅ <b>Club</b> now follows"
    )
    await bot.send(
        bot.api.updates.message_update(
            "", chat_id=BASIC_GROUP, user_id=ADMIN, migrate_to_chat_id=SUPERGROUP
        )
    )
    assert [f.url for f in await bot.services.follows.followed(SUPERGROUP)] == [url]
    assert await bot.services.follows.followed(BASIC_GROUP) == []
    managed = await bot.services.channels.managed_by(ADMIN)
    assert [chat.id for chat in managed] == [SUPERGROUP]


async def test_managers_move_when_a_send_finds_the_group_migrated(world: World) -> None:
    bot = world.bot
    bot.api.set_chat(BASIC_GROUP, "group", title="Club")
    bot.api.set_admins(BASIC_GROUP, [ADMIN, BOT_ID], creator=OWNER)
    await world.say(f"/subscribe {BASIC_GROUP} harbour", ADMIN, ADMIN)
    bot.api.migrate(BASIC_GROUP, SUPERGROUP)
    await bot.load(
        RawArticle(title="Harbour strike", body="Dockers walked out at the harbour today.")
    )
    await world.poll_and_deliver()
    assert len(world.alerts_to(SUPERGROUP)) == 1
    managed = await bot.services.channels.managed_by(ADMIN)
    assert [chat.id for chat in managed] == [SUPERGROUP]
    assert json.dumps([c.title for c in managed]) == '["Club"]'


async def test_a_feed_followed_in_a_forum_topic_alerts_that_topic(world: World) -> None:
    bot = world.bot
    url = one_story(world.site, "/topic", ("a", "A"))
    await bot.send(
        bot.api.updates.message_update(
            f"/follow {url}",
            chat_id=GROUP,
            user_id=ADMIN,
            message_thread_id=7,
            is_topic_message=True,
        )
    )
    (followed,) = await bot.services.follows.followed(GROUP)
    assert followed.topic == 7
    await world.poll_and_deliver()
    bot.clock.now += timedelta(minutes=11)
    one_story(world.site, "/topic", ("b", "Ferry returns"), at=bot.clock.now)
    assert await world.poll_and_deliver() == 1
    (call,) = [c for c in bot.replies() if c.params["text"].startswith("🔔 New article")]
    assert call.params["message_thread_id"] == 7
