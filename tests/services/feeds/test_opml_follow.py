"""OPML against FollowService on SQLite and PostgreSQL: the limit, the guard, no fetching,
and an export with each feed once."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.subscriptions import ChatRef
from services.feeds import opml_follow
from services.feeds.follow import FollowService, FollowStatus, Refusal
from services.feeds.opml import MAX_OPML_BYTES, OpmlDocument, OpmlOutline, OpmlProblem, parse_opml
from services.feeds.opml_follow import export_followed, follow_outlines, import_opml
from tests.conftest import EveryWordKnown, FixedClock
from tests.services.feeds.test_feed_service import public_dns

CHAT = ChatRef(-1003000000001, "supergroup", "Readers")


def _no_fetching(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"an import fetched {request.url}")


class CountingFollows(FollowService):
    """The real service, counting the follows asked of it."""

    asked = 0

    async def follow(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.asked += 1
        return await super().follow(*args, **kwargs)


@pytest.fixture
async def follows(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[CountingFollows]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_fetching)) as client:
        yield CountingFollows(
            sessions,
            client,
            clock=clock,
            vocabulary=EveryWordKnown(),
            limit=3,
            resolver=public_dns,
        )


def outline(url: str) -> OpmlOutline:
    return OpmlOutline(url, None, None)


async def test_outlines_are_followed_in_order_until_the_limit(follows: CountingFollows) -> None:
    urls = [f"https://feed{n}.example/rss" for n in range(6)]
    given = [
        outline(urls[0]),
        outline(urls[0]),
        outline("http://10.0.0.1/rss"),
        *map(outline, urls[1:]),
    ]

    report = await follow_outlines(follows, CHAT, 0, given, 7)

    statuses = [item.result.status for item in report.outlines]
    assert statuses == [
        FollowStatus.ADDED,
        FollowStatus.ALREADY,
        FollowStatus.REFUSED,
        FollowStatus.ADDED,
        FollowStatus.ADDED,
        FollowStatus.LIMIT,
        FollowStatus.LIMIT,
        FollowStatus.LIMIT,
    ]
    assert report.outlines[2].result.refusal == Refusal.ADDRESS
    assert report.outlines[2].result.detail == "10.0.0.1 is a private address"
    assert [f.url for f in await follows.followed(CHAT.id)] == urls[:3]
    # Once full, the rest are not asked for one by one.
    assert follows.asked == 6
    assert (report.count(FollowStatus.ADDED), report.limit, report.not_read) == (3, 3, 0)


async def test_only_the_first_outlines_are_read(follows: CountingFollows) -> None:
    given = [outline(f"http://192.168.0.{n}/") for n in range(1, 11)]
    report = await follow_outlines(follows, CHAT, 0, given, None, max_outlines=4)
    assert (len(report.outlines), report.not_read, follows.asked) == (4, 6, 4)


async def test_export_lists_each_followed_feed_once(follows: CountingFollows) -> None:
    for topic in (0, 5):  # one feed followed in two forum topics
        await follows.follow(CHAT, topic, "https://one.example/rss", discover=False)
    await follows.follow(CHAT, 0, "https://two.example/rss", discover=False)

    count, data = await export_followed(
        follows, CHAT.id, title="Readers", created=datetime(2026, 12, 1, tzinfo=UTC)
    )

    document = parse_opml(data)
    assert isinstance(document, OpmlDocument)
    assert count == 2
    assert document.title == "Readers"
    assert [o.xml_url for o in document.outlines] == [
        "https://one.example/rss",
        "https://two.example/rss",
    ]
    empty_count, empty = await export_followed(
        follows, -1, title="None", created=datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert empty_count == 0
    assert parse_opml(empty) == OpmlDocument("None", ())


async def test_an_address_too_long_to_keep_is_refused_not_cut(follows: CountingFollows) -> None:
    url = "https://a.example/" + "p" * 2100
    report = await follow_outlines(follows, CHAT, 0, [outline(url)], None)
    (item,) = report.outlines
    assert (item.result.status, item.result.refusal) == (FollowStatus.REFUSED, Refusal.ADDRESS)
    assert item.result.detail == "the URL is longer than 2048 characters"
    assert (follows.asked, await follows.followed(CHAT.id)) == (0, [])


# -- a whole file: import_opml ----------------------------------------------------------------


def opml_file(*urls: str, padding: int = 0) -> bytes:
    body = "".join(f'<outline text="{n}" xmlUrl="{url}"/>' for n, url in enumerate(urls))
    return (
        b'<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>'
        + b" " * padding
        + body.encode()
        + b"</body></opml>"
    )


async def test_a_file_that_is_no_feed_list_follows_nothing(follows: CountingFollows) -> None:
    busy: list[str] = []

    async def before_following() -> None:
        busy.append("typing")

    for data, kind in [(b"  ", "empty"), (b"<rss/>", "not_opml"), (b"\x00\xff", "not_xml")]:
        imported = await import_opml(follows, CHAT, 0, data, 7, before_following=before_following)
        assert imported.problem is not None and imported.problem.kind == kind
        assert imported.report.outlines == ()
    imported = await import_opml(follows, CHAT, 0, opml_file(), 7)
    assert (imported.problem, imported.report.outlines) == (None, ())
    assert (follows.asked, busy, await follows.followed(CHAT.id)) == (0, [], [])


async def test_a_file_is_read_in_a_worker_thread_then_its_feeds_followed(
    follows: CountingFollows, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = ["https://one.example/rss", "https://two.example/rss"]
    data = opml_file(*urls, padding=MAX_OPML_BYTES - len(opml_file(*urls)))
    assert len(data) == MAX_OPML_BYTES
    readers: list[int] = []

    def spied_parse(given: bytes) -> OpmlDocument | OpmlProblem:
        readers.append(threading.get_ident())
        return parse_opml(given)

    monkeypatch.setattr(opml_follow, "parse_opml", spied_parse)
    asked_before: list[int] = []

    async def before_following() -> None:
        asked_before.append(follows.asked)

    imported = await import_opml(follows, CHAT, 0, data, 7, before_following=before_following)

    assert readers and threading.get_ident() not in readers  # not on the event loop's thread
    assert asked_before == [0]  # told once, before the first follow
    assert imported.problem is None
    assert [item.result.status for item in imported.report.outlines] == [FollowStatus.ADDED] * 2
    assert [f.url for f in await follows.followed(CHAT.id)] == urls
