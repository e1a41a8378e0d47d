"""/export and /import through the real Application and the fake Bot API (documents both
ways), in private chats, groups and channels, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from services.feeds import opml_follow
from services.feeds.follow import FollowedFeed
from services.feeds.opml import (
    MAX_OPML_BYTES,
    OpmlDocument,
    OpmlFeed,
    OpmlProblem,
    parse_opml,
    render_opml,
)
from tests.handlers.harness import BotHarness, running_bot
from tests.helpers.botapi import BOT_ID, BOT_USERNAME, SentDocument

OWNER = 801  # created the channel and the group
MEMBER = 802
GROUP = -1002000000011
CHANNEL = -1002000000012
# Public literal addresses: the guard lets them through without a DNS lookup.
FEEDS = [f"http://93.184.216.{n}/rss" for n in range(1, 4)]
# The default FOLLOW_LIMIT.
LIMIT = 20


@pytest.fixture
async def bot(tmp_path: Path, database_url: str) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, alert_loop=False, database_url=database_url) as harness:
        api = harness.api
        api.set_chat(GROUP, "supergroup", title="Readers")
        api.set_chat(CHANNEL, "channel", title="World <News>", username="mychannel")
        for chat_id in (GROUP, CHANNEL):
            api.set_admins(chat_id, [BOT_ID], creator=OWNER)
        yield harness


def opml(*urls: str, titles: bool = True) -> bytes:
    return render_opml(
        [OpmlFeed(url, f"Feed {n}" if titles else None) for n, url in enumerate(urls, 1)],
        title="From my reader",
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def followed(bot: BotHarness, chat_id: int) -> list[FollowedFeed]:
    return await bot.services.follows.followed(chat_id)


async def send_document(
    bot: BotHarness,
    content: bytes,
    caption: str | None = "/import",
    *,
    chat_id: int = OWNER,
    user_id: int = OWNER,
    file_name: str | None = "feeds.opml",
    mime_type: str | None = "text/x-opml",
    declared_size: Any = "real",
) -> list[str]:
    """Send a document with a caption; the texts of the bot's answers."""
    before = len(bot.replies())
    document = bot.api.register_document(
        content, file_name, mime_type=mime_type, declared_size=declared_size
    )
    await bot.send(
        bot.api.document_update(document, caption=caption, chat_id=chat_id, user_id=user_id)
    )
    return [str(r.params["text"]) for r in bot.replies()[before:]]


async def command(
    bot: BotHarness, text: str, *, chat_id: int = OWNER, user_id: int = OWNER
) -> list[str]:
    before = len(bot.replies())
    await bot.send(bot.api.updates.message_update(text, chat_id=chat_id, user_id=user_id))
    return [str(r.params["text"]) for r in bot.replies()[before:]]


def outlines(document: SentDocument) -> list[str]:
    parsed = parse_opml(document.content)
    assert isinstance(parsed, OpmlDocument)
    return [o.xml_url for o in parsed.outlines]


# -- a private chat ------------------------------------------------------------------------------


async def test_an_opml_document_with_the_caption_import_follows_its_feeds(bot: BotHarness) -> None:
    content = (
        b'<?xml version="1.0"?><opml version="1.0"><head><title>Mine</title></head><body>'
        b'<outline text="News"><outline text="One" xmlUrl="http://93.184.216.1/rss"/>'
        b'<outline text="One again" xmlUrl="http://93.184.216.1/rss"/></outline>'
        b'<outline text="Router &amp; co" xmlUrl="http://192.168.1.1/rss"/>'
        b'<outline text="Local" xmlUrl="file:///etc/passwd"/>'
        b'<outline text="Two" xmlUrl="http://93.184.216.2/rss"/>'
        b"</body></opml>"
    )

    (summary,) = await send_document(bot, content)

    assert [f.url for f in await followed(bot, OWNER)] == FEEDS[:2]
    lines = summary.splitlines()
    assert lines[0] == (
        "📥 Import into this chat: 2 feeds followed, 1 already followed, 2 not followed."
    )
    assert lines[2:] == [
        "✅ One — http://93.184.216.1/rss",
        "☑️ One again — http://93.184.216.1/rss: already followed",
        "⛔ Router &amp; co — http://192.168.1.1/rss: refused, that address may not be "
        "fetched (192.168.1.1 is a private address)",
        "⛔ Local — file:///etc/passwd: refused, that address may not be fetched "
        "(only http and https feed URLs are allowed)",
        "✅ Two — http://93.184.216.2/rss",
    ]
    # Only the caption's own chat was answered, and the file was fetched once.
    assert len(bot.api.calls_to("getFile")) == 1
    assert len(bot.api.calls_to("download")) == 1

    (again,) = await send_document(bot, content)
    assert again.splitlines()[0].endswith("0 feeds followed, 3 already followed, 2 not followed.")
    assert len(await followed(bot, OWNER)) == 2


async def test_export_sends_the_followed_feeds_as_an_opml_document(bot: BotHarness) -> None:
    await send_document(bot, opml(*FEEDS))

    assert await command(bot, "/export") == []  # the answer is a document, not a message

    (sent,) = bot.api.sent_documents(OWNER)
    assert sent.file_name == "feeds.opml"
    assert sent.caption is not None and sent.caption.startswith(
        "📤 3 feeds followed by this chat, as OPML."
    )
    root = etree.fromstring(sent.content)
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == f"Feeds followed by user{OWNER}"
    assert root.findtext("head/dateCreated")
    assert [(o.get("type"), o.get("xmlUrl")) for o in root.iter("outline")] == [
        ("rss", url) for url in FEEDS
    ]
    # The exported file imports into another chat as it is.
    sent_back = bot.api.files.document_json(sent.message["document"]["file_id"])
    before = len(bot.replies())
    await bot.send(
        bot.api.document_update(sent_back, caption="/import", chat_id=MEMBER, user_id=MEMBER)
    )
    assert "3 feeds followed" in bot.replies()[before].params["text"]
    assert [f.url for f in await followed(bot, MEMBER)] == FEEDS


async def test_the_sites_an_import_names_are_in_the_export(bot: BotHarness) -> None:
    sites = ["https://93.184.216.1/", "ftp://93.184.216.2/", None]
    document = render_opml(
        [OpmlFeed(url, None, site) for url, site in zip(FEEDS, sites, strict=True)],
        title="Mine",
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    await send_document(bot, document)
    await command(bot, "/export")
    (sent,) = bot.api.sent_documents(OWNER)
    parsed = parse_opml(sent.content)
    assert isinstance(parsed, OpmlDocument)
    assert [(o.xml_url, o.html_url) for o in parsed.outlines] == [
        (FEEDS[0], "https://93.184.216.1/"),
        (FEEDS[1], None),  # not a web address: not kept
        (FEEDS[2], None),
    ]


async def test_export_with_nothing_followed_says_so(bot: BotHarness) -> None:
    (text,) = await command(bot, "/export")
    assert text.startswith("This chat follows no feeds, so there is nothing to export.")
    assert bot.api.sent_documents() == []


async def test_the_import_stops_at_the_follow_limit_and_says_which_feeds_missed_out(
    bot: BotHarness,
) -> None:
    urls = [f"http://93.184.216.{n}/rss" for n in range(1, LIMIT + 6)]

    (summary,) = await send_document(bot, opml(*urls, titles=False))

    assert [f.url for f in await followed(bot, OWNER)] == urls[:LIMIT]
    lines = summary.splitlines()
    assert lines[0].endswith(f"{LIMIT} feeds followed, 0 already followed, 5 not followed.")
    assert lines[2 + LIMIT] == (
        f"⏸ {urls[LIMIT]}: not followed, the limit of {LIMIT} feeds is reached"
    )
    assert lines[-1].startswith(f"A chat may follow up to {LIMIT} feeds")


async def test_an_import_of_a_huge_list_answers_in_one_message(bot: BotHarness) -> None:
    urls = [f"http://192.168.{n // 250}.{n % 250 + 1}/{'x' * 150}" for n in range(300)]

    (summary,) = await send_document(bot, opml(*urls))

    assert len(summary) <= 4096
    assert "more outlines." in summary
    assert "200 more outlines were not read: one import takes the first 100." in summary
    assert await followed(bot, OWNER) == []


async def test_import_in_reply_to_a_document(bot: BotHarness) -> None:
    document = bot.api.register_document(opml(FEEDS[0]), "export.xml", mime_type="text/xml")
    shared = bot.api.document_update(document, chat_id=OWNER, user_id=OWNER)
    await bot.send(shared)
    update = bot.api.updates.message_update("/import", chat_id=OWNER, user_id=OWNER)
    update["message"]["reply_to_message"] = shared["message"]

    await bot.send(update)

    assert [f.url for f in await followed(bot, OWNER)] == FEEDS[:1]


async def test_import_without_a_document_explains_how(bot: BotHarness) -> None:
    (text,) = await command(bot, "/import")
    assert "send me the <b>.opml</b> file with the caption <code>/import </code>" in text
    # An .opml file without the caption gets the same hint rather than "text only".
    (hint,) = await send_document(bot, opml(FEEDS[0]), caption=None)
    assert hint == text
    # Words after the command are not a file either.
    (usage,) = await send_document(bot, opml(FEEDS[0]), caption="/import please")
    assert usage == text
    assert await followed(bot, OWNER) == []


async def test_a_caption_for_another_bot_is_not_ours(bot: BotHarness) -> None:
    assert await send_document(bot, opml(FEEDS[0]), caption="/import@other_bot") == []
    (summary,) = await send_document(bot, opml(FEEDS[0]), caption=f"/import@{BOT_USERNAME}")
    assert "1 feed followed" in summary


# -- what is refused, politely and without a change -----------------------------------------------


@pytest.mark.parametrize(
    ("content", "file_name", "mime", "answer"),
    [
        (b"\x89PNG\r\n", "cat.png", "image/png", "<b>cat.png</b> does not look like an OPML file."),
        (b"%PDF-1.4", None, "application/pdf", "That file does not look like an OPML file."),
        (
            b"garbage \x00\xff",
            "feeds.opml",
            None,
            "That file is not an OPML feed list (it is not even XML).",
        ),
        (
            b"<rss version='2.0'><channel/></rss>",
            "feeds.xml",
            "text/xml",
            "That file is XML, but not an OPML feed list.",
        ),
        (
            b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<opml><body><outline text="&x;" xmlUrl="http://93.184.216.1/rss"/></body></opml>',
            "feeds.opml",
            None,
            "That file declares XML entities, which I refuse for safety.",
        ),
        (
            b"<opml><body><outline text='no address'/></body></opml>",
            "a.opml",
            None,
            "That OPML file names no feeds",
        ),
        (b" \n ", "feeds.opml", None, "That file is empty. Nothing was changed."),
        (
            b"<opml><body>" + b"<outline text='c'>" * 40 + b"</outline>" * 40 + b"</body></opml>",
            "deep.opml",
            None,
            "That file nests its categories too deeply to be a feed list. Nothing was changed.",
        ),
    ],
)
async def test_files_that_are_not_feed_lists_get_a_polite_answer(
    bot: BotHarness, content: bytes, file_name: str | None, mime: str | None, answer: str
) -> None:
    (text,) = await send_document(bot, content, file_name=file_name, mime_type=mime)
    assert text.startswith(answer)
    assert await followed(bot, OWNER) == []


async def test_the_bot_answers_other_chats_while_a_one_megabyte_file_is_read(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = opml(FEEDS[0])
    big = small.replace(b"<body>", b"<body>" + b" " * (MAX_OPML_BYTES - len(small)))
    assert len(big) == MAX_OPML_BYTES
    reading, may_finish = threading.Event(), threading.Event()

    def held_parse(data: bytes) -> OpmlDocument | OpmlProblem:
        """The real parser, held until another chat has had its answer: on the event loop
        this would hold that answer up too, and never be let go."""
        reading.set()
        if not may_finish.wait(30):
            raise AssertionError("the other chat got no answer while the file was read")
        return parse_opml(data)

    monkeypatch.setattr(opml_follow, "parse_opml", held_parse)
    document = bot.api.register_document(big, "feeds.opml", mime_type="text/x-opml")
    importing = asyncio.create_task(
        bot.send(bot.api.document_update(document, caption="/import", chat_id=OWNER, user_id=OWNER))
    )
    try:
        assert await asyncio.to_thread(reading.wait, 30), "the file was never read"
        (other,) = await command(bot, "/export", chat_id=MEMBER, user_id=MEMBER)
        assert other.startswith("This chat follows no feeds")
    finally:
        may_finish.set()
    await importing
    (summary,) = [str(r.params["text"]) for r in bot.replies() if r.params["chat_id"] == OWNER]
    assert "1 feed followed" in summary
    assert [f.url for f in await followed(bot, OWNER)] == [FEEDS[0]]


async def test_a_file_declared_too_large_is_not_downloaded(bot: BotHarness) -> None:
    (text,) = await send_document(bot, opml(FEEDS[0]), declared_size=MAX_OPML_BYTES + 1)
    assert text == "That file is too large: an OPML feed list may be up to 1 MB."
    assert bot.api.calls_to("getFile") == []


@pytest.mark.parametrize("declared_size", [None, 100])
async def test_a_file_too_large_after_download_is_refused(
    bot: BotHarness, declared_size: int | None
) -> None:
    big = opml(FEEDS[0]).replace(b"<body>", b"<body>" + b" " * MAX_OPML_BYTES)
    (text,) = await send_document(bot, big, declared_size=declared_size)
    assert text == "That file is too large: an OPML feed list may be up to 1 MB."
    assert await followed(bot, OWNER) == []


async def test_a_failed_download_is_a_polite_answer(bot: BotHarness) -> None:
    bot.api.fail_next("getFile", error_code=400, description="Bad Request: file is too big")
    (text,) = await send_document(bot, opml(FEEDS[0]))
    assert text == "I could not download that file from Telegram. Please send it again."
    assert await followed(bot, OWNER) == []


# -- groups and channels ------------------------------------------------------------------------


async def test_in_a_group_only_administrators_import_and_anyone_exports(bot: BotHarness) -> None:
    (refused,) = await send_document(bot, opml(*FEEDS), chat_id=GROUP, user_id=MEMBER)
    assert refused == "Only this group's administrators can change its subscriptions."
    assert await followed(bot, GROUP) == []

    (summary,) = await send_document(bot, opml(*FEEDS), chat_id=GROUP, user_id=OWNER)
    assert "3 feeds followed" in summary
    assert [f.url for f in await followed(bot, GROUP)] == FEEDS

    await command(bot, "/export", chat_id=GROUP, user_id=MEMBER)
    (sent,) = bot.api.sent_documents(GROUP)
    assert outlines(sent) == FEEDS


async def test_a_channel_is_imported_and_exported_from_a_private_chat_by_its_admin(
    bot: BotHarness,
) -> None:
    (refused,) = await send_document(
        bot, opml(*FEEDS), caption="/import @mychannel", chat_id=MEMBER, user_id=MEMBER
    )
    assert "Only an administrator of <b>World &lt;News&gt;</b>" in refused
    assert await followed(bot, CHANNEL) == []

    (summary,) = await send_document(bot, opml(*FEEDS), caption="/import @mychannel")
    assert summary.startswith("📥 Import into <b>World &lt;News&gt;</b>: 3 feeds followed")
    assert [f.url for f in await followed(bot, CHANNEL)] == FEEDS
    assert await followed(bot, OWNER) == []
    assert bot.api.sent_messages(CHANNEL) == []  # answers go to the private chat

    await command(bot, "/export @mychannel")
    (sent,) = bot.api.sent_documents(OWNER)
    assert sent.file_name == "mychannel-feeds.opml"
    assert sent.caption is not None and "followed by World <News>" in sent.caption
    assert outlines(sent) == FEEDS
    assert bot.api.sent_documents(CHANNEL) == []

    (refused_export,) = await command(bot, "/export @mychannel", chat_id=MEMBER, user_id=MEMBER)
    assert "Only an administrator" in refused_export
    assert bot.api.sent_documents(MEMBER) == []


async def test_an_import_posted_in_a_channel_follows_and_tidies_up(bot: BotHarness) -> None:
    document = bot.api.register_document(opml(*FEEDS))
    update = bot.api.post_document_in_channel(document, CHANNEL, caption="/import")
    post_id = update["channel_post"]["message_id"]

    await bot.send(update)

    assert [f.url for f in await followed(bot, CHANNEL)] == FEEDS
    answer = bot.api.sent_messages(CHANNEL)[-1]
    assert "3 feeds followed" in answer["text"]
    assert bot.api.message(CHANNEL, post_id) is None  # the command post is gone
    job_queue = bot.app.job_queue
    assert job_queue is not None
    (job,) = job_queue.get_jobs_by_name(f"delete-answer:{CHANNEL}:{answer['message_id']}")

    export = bot.api.post_in_channel("/export", CHANNEL)
    await bot.send(export)
    (sent,) = bot.api.sent_documents(CHANNEL)
    assert outlines(sent) == FEEDS
    assert bot.api.message(CHANNEL, export["channel_post"]["message_id"]) is None
    assert job_queue.get_jobs_by_name(f"delete-answer:{CHANNEL}:{sent.message['message_id']}")
    await job.run(bot.app)
    assert bot.api.message(CHANNEL, answer["message_id"]) is None
