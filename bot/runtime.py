"""Opening and closing the resources every entry point shares: database, index, services."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from services.alerts.channels import ChannelService
from services.alerts.subscriptions import SubscriptionService
from services.articles import ArticleService
from services.container import Services
from services.feeds.follow import FollowService
from services.feeds.service import FeedService
from services.ingest import IngestService
from services.languages import LanguageService
from services.paging import PagingService
from services.search import SearchService
from storage.db import create_engine, create_session_factory, migrate
from storage.index_sync import IndexFollower
from storage.search_index import SearchIndex

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Runtime:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    follower: IndexFollower
    services: Services
    http: httpx.AsyncClient
    feed_pool: ProcessPoolExecutor | None = None

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        catch_up: bool = True,
        search_timer: Callable[[float], None] | None = None,
    ) -> Runtime:
        """Migrate the schema, open the index and bring it up to date."""
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            sessions = create_session_factory(engine)
            index = SearchIndex(settings.index_path())
            follower = IndexFollower(index, sessions)
            if catch_up:
                result = await follower.catch_up()
                if result.applied:
                    log.info("search index caught up with %d article changes", result.applied)
        except BaseException:
            await engine.dispose()
            raise
        index = follower.index
        articles = ArticleService(sessions)
        feed_pool = (
            ProcessPoolExecutor(
                settings.feed_parse_processes, mp_context=multiprocessing.get_context("spawn")
            )
            if settings.feed_parse_processes
            else None
        )
        ingest = IngestService(sessions, clock=clock, executor=feed_pool)
        # Feed fetches follow redirects by hand (each hop is checked) and time out per feed;
        # one client for every poll, with no more connections than polls at once.
        http = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(20.0),
            limits=httpx.Limits(
                max_connections=settings.feed_concurrency,
                max_keepalive_connections=settings.feed_concurrency,
            ),
        )
        services = Services(
            articles=articles,
            search=SearchService(index, articles, timer=search_timer),
            paging=PagingService(sessions, clock=clock),
            ingest=ingest,
            subscriptions=SubscriptionService(sessions, index, clock=clock),
            feeds=FeedService(
                sessions,
                ingest,
                http,
                clock=clock,
                allowed_hosts=settings.feed_allowed_hosts,
                concurrency=settings.feed_concurrency,
                holder=f"{socket.gethostname()}:{os.getpid()}",
                parse_executor=feed_pool,
            ),
            index_follower=follower,
            channels=ChannelService(sessions, clock=clock),
            languages=LanguageService(sessions, clock=clock),
            follows=FollowService(
                sessions,
                http,
                clock=clock,
                vocabulary=index,
                limit=settings.follow_limit,
                allowed_hosts=settings.feed_allowed_hosts,
            ),
        )
        return cls(engine, sessions, follower, services, http, feed_pool)

    async def close(self) -> None:
        await self.http.aclose()
        if self.feed_pool is not None:
            await asyncio.to_thread(self.feed_pool.shutdown, cancel_futures=True)
        await self.engine.dispose()
