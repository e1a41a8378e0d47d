"""A chat's followed feeds to and from OPML: /export and an ``.opml`` document sent with /import.

Importing reads the file in a worker thread (up to MAX_OPML_BYTES of XML: parsing it on the
event loop would hold up every other chat's updates meanwhile), then follows each outline
through FollowService (the same address guard and the same FOLLOW_LIMIT as /follow), taking
each xmlUrl for a feed (nothing is fetched). Once the chat is full, the outlines left are
reported as over the limit without asking again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.alerts.subscriptions import ChatRef
from services.feeds.follow import FollowResult, FollowService, FollowStatus, Refusal
from services.feeds.opml import (
    MAX_URL_LENGTH,
    OpmlFeed,
    OpmlOutline,
    OpmlProblem,
    parse_opml,
    render_opml,
)

# Outlines looked at per import: each may cost a DNS lookup, and the answer lists each one.
MAX_IMPORT_OUTLINES = 100


@dataclass(frozen=True, slots=True)
class ImportedOutline:
    outline: OpmlOutline
    result: FollowResult


@dataclass(frozen=True, slots=True)
class ImportReport:
    outlines: tuple[ImportedOutline, ...]
    not_read: int  # outlines past MAX_IMPORT_OUTLINES, left alone
    limit: int

    def count(self, status: FollowStatus) -> int:
        return sum(1 for item in self.outlines if item.result.status == status)


@dataclass(frozen=True, slots=True)
class OpmlImport:
    """What /import made of a file: why it was not read, or what became of each outline."""

    report: ImportReport  # one result per outline: none when the file names no feed
    problem: OpmlProblem | None = None  # the file is no usable OPML list (nothing changed)


async def import_opml(
    follows: FollowService,
    chat: ChatRef,
    topic: int,
    data: bytes,
    user_id: int | None,
    *,
    before_following: Callable[[], Awaitable[None]] | None = None,
    max_outlines: int = MAX_IMPORT_OUTLINES,
) -> OpmlImport:
    """Read an OPML file (in a worker thread) and follow the feeds it names.

    ``before_following`` is awaited once the file names feeds, before the first is followed
    (the handler shows that the bot is busy); a file that is not read changes nothing.
    """
    parsed = await asyncio.to_thread(parse_opml, data)
    if isinstance(parsed, OpmlProblem):
        return OpmlImport(ImportReport((), 0, follows.limit), parsed)
    if not parsed.outlines:
        return OpmlImport(ImportReport((), 0, follows.limit))
    if before_following is not None:
        await before_following()
    return OpmlImport(
        await follow_outlines(
            follows, chat, topic, parsed.outlines, user_id, max_outlines=max_outlines
        )
    )


async def follow_outlines(
    follows: FollowService,
    chat: ChatRef,
    topic: int,
    outlines: Sequence[OpmlOutline],
    user_id: int | None,
    *,
    max_outlines: int = MAX_IMPORT_OUTLINES,
) -> ImportReport:
    """Follow each outline's feed in order, within the chat's limit; one result per outline."""
    done: list[ImportedOutline] = []
    full: FollowResult | None = None
    for outline in outlines[:max_outlines]:
        if full is not None:  # full stays full (bar an unfollow meanwhile): no need to ask
            done.append(ImportedOutline(outline, full))
            continue
        if len(outline.xml_url) > MAX_URL_LENGTH:  # FollowService would follow it cut short
            done.append(ImportedOutline(outline, _too_long(follows.limit)))
            continue
        result = await follows.follow(
            chat, topic, outline.xml_url, "", user_id, discover=False, site_url=outline.html_url
        )
        if result.status == FollowStatus.LIMIT:
            full = result
        done.append(ImportedOutline(outline, result))
    return ImportReport(tuple(done), max(0, len(outlines) - max_outlines), follows.limit)


def _too_long(limit: int) -> FollowResult:
    return FollowResult(
        FollowStatus.REFUSED,
        refusal=Refusal.ADDRESS,
        detail=f"the URL is longer than {MAX_URL_LENGTH} characters",
        limit=limit,
    )


async def export_followed(
    follows: FollowService, chat_id: int, *, title: str, created: datetime
) -> tuple[int, bytes]:
    """The chat's followed feeds as OPML 2.0, each feed once (a feed followed in two forum
    topics is one outline); with how many feeds it holds."""
    seen: dict[str, OpmlFeed] = {}
    for followed in await follows.followed(chat_id):
        seen.setdefault(followed.url, OpmlFeed(followed.url, followed.title, followed.site_url))
    return len(seen), render_opml(seen.values(), title=title, created=created)
