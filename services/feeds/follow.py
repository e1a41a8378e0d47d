"""A chat's own feeds: /follow URL [WORDS -excluded], what a chat follows, unfollowing.

A followed feed is an ordinary row of ``feeds``: several chats following one URL share it
and its one poll. A feed a chat added is *private* (``public`` false): its new entries
alert the chats that follow it (with their words) and no archive-wide subscription; one a
bot administrator added is public. The URL goes through the same address guard as
``newsbot feeds add``, and, unless told it is a feed already (an OPML import), it is
fetched: a feed is followed, a page is searched for the feeds it names.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.keywords import Vocabulary, parse_keywords, understand
from services.alerts.subscriptions import ChatRef
from services.feeds.discover import FeedCandidate, feed_links
from services.feeds.fetch import fetch_feed
from services.feeds.guard import FeedUrlRefused, Resolver, check_feed_url, resolve_host
from services.feeds.parse import parse_feed, site_address
from storage.alerts import ChatRepository
from storage.feeds import FeedRepository
from storage.follows import FollowChoiceRepository, FollowRepository
from storage.models import Feed, FeedFollow, FollowChoice

DEFAULT_FOLLOW_LIMIT = 20
FOLLOW_INTERVAL = timedelta(minutes=10)
# A page's feed choice can be picked for this long; older ones are forgotten.
CHOICE_LIFETIME = timedelta(days=1)
# A page fetched to look for feeds is smaller than a feed may be.
MAX_PAGE_BYTES = 2_000_000


class FollowStatus(StrEnum):
    ADDED = "added"  # the chat follows the feed from now on
    ALREADY = "already"  # it already followed it (``followed`` is that follow)
    LIMIT = "limit"  # it follows ``limit`` feeds already
    REFUSED = "refused"  # see ``refusal``
    CHOOSE = "choose"  # the page names several feeds: ``candidates``, pick with choose()


class Refusal(StrEnum):
    WORDS = "words"  # the words have no letters or digits in them
    ADDRESS = "address"  # the guard refused the URL (``detail`` says why, in English)
    UNREACHABLE = "unreachable"  # fetching it failed (``detail``: the fetch's reason)
    NOT_A_FEED = "not_a_feed"  # neither a feed nor a page that names one
    CHOICE_GONE = "choice_gone"  # a button of a choice that is gone, forged, or not yours


@dataclass(frozen=True, slots=True)
class FollowedFeed:
    id: int  # the follow's id: shown and typed as ``f<id>`` (/unsubscribe f3)
    feed_id: int
    url: str
    title: str | None
    topic: int
    query: str  # the words as typed
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    active: bool  # false while the feed is not polled (stopped after many errors)
    site_url: str | None = None  # the site the feed belongs to (OPML htmlUrl)


@dataclass(frozen=True, slots=True)
class FollowResult:
    status: FollowStatus
    followed: FollowedFeed | None = None  # ADDED, ALREADY
    refusal: Refusal | None = None  # REFUSED
    detail: str | None = None  # REFUSED: the guard's or the fetch's reason, if any
    candidates: tuple[FeedCandidate, ...] = ()  # CHOOSE
    choice_id: int | None = None  # CHOOSE: pass to choose() with the candidate's index
    limit: int = DEFAULT_FOLLOW_LIMIT
    corrections: tuple[tuple[str, str], ...] = ()  # ADDED: (typed, understood), as /subscribe


@dataclass(frozen=True, slots=True)
class PendingChoice:
    id: int
    chat_id: int  # the chat that will follow (a channel, when managed from a private chat)
    topic: int
    user_id: int | None  # who asked: only they may pick
    candidates: tuple[FeedCandidate, ...]
    terms: str  # the words typed with /follow, for the feed picked


def followed_view(follow: FeedFollow, feed: Feed) -> FollowedFeed:
    return FollowedFeed(
        follow.id,
        feed.id,
        feed.url,
        feed.title,
        follow.topic,
        follow.query,
        tuple(follow.include_terms.split()),
        tuple(follow.exclude_terms.split()),
        feed.active,
        feed.site_url,
    )


class FollowService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime],
        vocabulary: Vocabulary,
        limit: int = DEFAULT_FOLLOW_LIMIT,
        allowed_hosts: frozenset[str] = frozenset(),
        resolver: Resolver = resolve_host,
    ) -> None:
        self._sessions = session_factory
        self._client = client
        self._clock = clock
        self._vocabulary = vocabulary  # typos in the words are read as /subscribe reads them
        self.limit = limit
        self._allowed_hosts = allowed_hosts
        self._resolver = resolver

    async def follow(
        self,
        chat: ChatRef,
        topic: int,
        url: str,
        terms: str = "",
        user_id: int | None = None,
        *,
        discover: bool = True,
        site_url: str | None = None,
    ) -> FollowResult:
        """Follow a feed, or the feed a page names, with optional words (``iran -sport``).

        ``discover=False`` takes the URL for a feed without fetching it (an OPML outline's
        xmlUrl): only the guard and the limit apply, and a bad feed shows in its polls.
        ``site_url`` (an outline's htmlUrl) is kept for a feed that names no site yet.
        """
        keywords = parse_keywords(terms)
        if terms.strip() and not (keywords.include or keywords.exclude):
            return self._refused(Refusal.WORDS)
        if await self._count(chat.id) >= self.limit:
            return FollowResult(FollowStatus.LIMIT, limit=self.limit)
        try:
            normalised = await self._check(url)
        except FeedUrlRefused as refusal:
            return self._refused(Refusal.ADDRESS, str(refusal))
        feed = FeedCandidate(normalised, None, site_address(site_url))
        if discover and not await self._known(normalised):
            found = await self._discover(normalised)
            if isinstance(found, FollowResult):
                return found
            if len(found) > 1:
                return await self._offer(chat, topic, terms, user_id, found)
            feed = found[0]
        return await self._add(chat, topic, feed, terms, user_id)

    async def pending_choice(self, choice_id: int) -> PendingChoice | None:
        """A choice offered by follow() (CHOOSE), unless it is gone."""
        async with self._sessions() as session:
            row = await FollowChoiceRepository(session).get(choice_id)
        if row is None or row.created_at < self._clock() - CHOICE_LIFETIME:
            return None
        return PendingChoice(
            row.id, row.chat_id, row.topic, row.user_id, _candidates(row.urls), row.terms
        )

    async def choose(self, pending: PendingChoice, index: int, user_id: int | None) -> FollowResult:
        """Follow the candidate a button picked: only for who asked, while the choice lasts.

        ``pending`` is what pending_choice() returned for the button: the caller has read it
        (to check who may tap), so it is not read again. The caller checks, as for /follow,
        that the user may still change the chat.
        """
        # A choice asked for in a channel post is nobody's: the caller has checked that
        # whoever taps may post there.
        if pending.user_id not in (None, user_id) or not 0 <= index < len(pending.candidates):
            return self._refused(Refusal.CHOICE_GONE)
        async with self._sessions() as session:
            chat = await ChatRepository(session).get(pending.chat_id)
        if chat is None:
            return self._refused(Refusal.CHOICE_GONE)
        if await self._count(chat.id) >= self.limit:
            return FollowResult(FollowStatus.LIMIT, limit=self.limit)
        try:
            feed_url = await self._check(pending.candidates[index].url)
        except FeedUrlRefused as refusal:
            return self._refused(Refusal.ADDRESS, str(refusal))
        chosen = FeedCandidate(feed_url, pending.candidates[index].title)
        result = await self._add(
            ChatRef(chat.id, chat.kind, chat.title), pending.topic, chosen, pending.terms, user_id
        )
        async with self._sessions.begin() as session:
            await FollowChoiceRepository(session).remove(pending.id)
        return result

    async def followed(self, chat_id: int) -> list[FollowedFeed]:
        """The feeds a chat follows, oldest follow first."""
        async with self._sessions() as session:
            rows = await FollowRepository(session).for_chat(chat_id)
        return [followed_view(follow, feed) for follow, feed in rows]

    async def unfollow(self, chat_id: int, follow_id: int | None) -> int:
        """Stop one of the chat's follows (None: all); a chat feed left unfollowed stops
        being polled. Returns how many follows went."""
        async with self._sessions.begin() as session:
            repo = FollowRepository(session)
            feed_ids = await repo.remove(chat_id, follow_id)
            if feed_ids:
                await repo.retire_unfollowed(feed_ids)
            return len(feed_ids)

    # -- the steps of follow() -------------------------------------------------------------------

    def _refused(self, refusal: Refusal, detail: str | None = None) -> FollowResult:
        return FollowResult(FollowStatus.REFUSED, refusal=refusal, detail=detail, limit=self.limit)

    async def _check(self, url: str) -> str:
        return await check_feed_url(url, allowed_hosts=self._allowed_hosts, resolver=self._resolver)

    async def _count(self, chat_id: int) -> int:
        async with self._sessions() as session:
            return await FollowRepository(session).count_for_chat(chat_id)

    async def _known(self, url: str) -> bool:
        async with self._sessions() as session:
            return await FeedRepository(session).by_url(url) is not None

    async def _discover(self, url: str) -> list[FeedCandidate] | FollowResult:
        """The feed itself when the URL is one; else the feeds the page names (a refusal
        if none)."""
        fetched = await fetch_feed(
            self._client,
            url,
            allowed_hosts=self._allowed_hosts,
            resolver=self._resolver,
            max_bytes=MAX_PAGE_BYTES,
        )
        if fetched.status != "ok" or fetched.body is None:
            return self._refused(Refusal.UNREACHABLE, fetched.error)
        body = fetched.body
        # Parsing is CPU work (a big page, a big feed): not on the event loop.
        parsed = await asyncio.to_thread(
            functools.partial(parse_feed, body, base_url=fetched.final_url, now=self._clock())
        )
        if parsed.kind == "feed":
            return [FeedCandidate(url, parsed.title)]
        candidates = []
        for candidate in await asyncio.to_thread(feed_links, body, fetched.final_url):
            try:
                candidates.append(FeedCandidate(await self._check(candidate.url), candidate.title))
            except FeedUrlRefused:
                continue  # a page may name a feed on an address this bot must not fetch
        if not candidates:
            return self._refused(Refusal.NOT_A_FEED)
        return candidates

    async def _offer(
        self,
        chat: ChatRef,
        topic: int,
        terms: str,
        user_id: int | None,
        candidates: list[FeedCandidate],
    ) -> FollowResult:
        now = self._clock()
        async with self._sessions.begin() as session:
            await ChatRepository(session).ensure(chat.id, chat.kind, chat.title, now)
            row = await FollowChoiceRepository(session).add(
                FollowChoice(
                    chat_id=chat.id,
                    topic=topic,
                    user_id=user_id,
                    terms=" ".join(terms.split())[:500],
                    urls="\n".join(
                        f"{c.url}\t{(c.title or '').replace(chr(9), ' ')}" for c in candidates
                    ),
                    created_at=now,
                ),
                prune_before=now - CHOICE_LIFETIME,
            )
            choice_id = row.id
        return FollowResult(
            FollowStatus.CHOOSE,
            candidates=tuple(candidates),
            choice_id=choice_id,
            limit=self.limit,
        )

    async def _add(
        self, chat: ChatRef, topic: int, candidate: FeedCandidate, terms: str, user_id: int | None
    ) -> FollowResult:
        """Follow the feed at ``candidate.url`` (its title, when known, names it until its
        first poll says otherwise)."""
        feed_url = candidate.url
        keywords = understand(parse_keywords(terms), self._vocabulary)
        now = self._clock()
        async with self._sessions.begin() as session:
            # The chat's row, locked: two /follow at once take turns over the limit.
            await ChatRepository(session).ensure(chat.id, chat.kind, chat.title, now)
            follows = FollowRepository(session)
            feeds = FeedRepository(session)
            existing_feed = await feeds.by_url(feed_url)
            if existing_feed is not None:
                already = await follows.find(chat.id, topic, existing_feed.id)
                if already is not None:
                    return FollowResult(
                        FollowStatus.ALREADY,
                        followed_view(already, existing_feed),
                        limit=self.limit,
                    )
            if await follows.count_for_chat(chat.id) >= self.limit:
                return FollowResult(FollowStatus.LIMIT, limit=self.limit)
            feed, created = await feeds.add_unless_present(
                feed_url, now, int(FOLLOW_INTERVAL.total_seconds()), public=False
            )
            if not created and not feed.active:
                _restart(feed, now)
            if feed.title is None and candidate.title:
                feed.title = candidate.title[:512]
            if feed.site_url is None and candidate.site_url:
                feed.site_url = candidate.site_url
            follow = await follows.add(
                FeedFollow(
                    chat_id=chat.id,
                    topic=topic,
                    feed_id=feed.id,
                    query=" ".join(terms.split())[:500],
                    include_terms=" ".join(keywords.include),
                    exclude_terms=" ".join(keywords.exclude),
                    created_by=user_id,
                    created_at=now,
                )
            )
            if follow is None:  # a concurrent /follow of the same feed won
                raced = await follows.find(chat.id, topic, feed.id)
                assert raced is not None
                return FollowResult(
                    FollowStatus.ALREADY, followed_view(raced, feed), limit=self.limit
                )
            return FollowResult(
                FollowStatus.ADDED,
                followed_view(follow, feed),
                limit=self.limit,
                corrections=keywords.corrections,
            )


def _restart(feed: Feed, now: datetime) -> None:
    """A feed nobody followed (or stopped after errors) is polled again, from scratch: its
    first poll stores without alerting, as a new feed's does."""
    feed.active = True
    feed.consecutive_errors = 0
    feed.last_error = None
    feed.last_success_at = None
    feed.added_at = now
    feed.next_poll_at = now
    feed.etag = feed.last_modified = feed.body_hash = None


def _candidates(stored: str) -> tuple[FeedCandidate, ...]:
    found = []
    for line in stored.splitlines():
        url, _, title = line.partition("\t")
        if url:
            found.append(FeedCandidate(url, title or None))
    return tuple(found)
