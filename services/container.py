"""The set of services the Telegram handlers and the CLI call."""

from __future__ import annotations

from dataclasses import dataclass

from services.alerts.channels import ChannelService
from services.alerts.subscriptions import SubscriptionService
from services.articles import ArticleService
from services.feeds.follow import FollowService
from services.feeds.service import FeedService
from services.ingest import IngestService
from services.languages import LanguageService
from services.paging import PagingService
from services.search import SearchService
from storage.index_sync import IndexFollower


@dataclass(frozen=True, slots=True)
class Services:
    articles: ArticleService
    search: SearchService
    paging: PagingService
    ingest: IngestService
    subscriptions: SubscriptionService
    feeds: FeedService
    # Applies stored changes to this process's search index (a job runs it twice a second).
    index_follower: IndexFollower
    # Channels and groups managed from a private chat.
    channels: ChannelService
    # The language each chat chose with /language.
    languages: LanguageService
    # A chat's own feeds (/follow).
    follows: FollowService
