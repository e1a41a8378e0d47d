"""Reading stored articles: what /latest, /article and deep links show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.articles import ArticleRepository
from storage.models import Article

MAX_LATEST = 20


@dataclass(frozen=True, slots=True)
class ArticleView:
    """An article as the bot shows it."""

    id: int
    external_id: str | None
    title: str
    summary: str
    url: str | None
    source: str | None
    published_at: datetime | None
    sort_at: datetime

    @property
    def public_id(self) -> str:
        """The id users see and type: the external id when there is one."""
        return self.external_id or str(self.id)


def to_view(article: Article) -> ArticleView:
    return ArticleView(
        id=article.id,
        external_id=article.external_id,
        title=article.title,
        summary=article.summary,
        url=article.url,
        source=article.source,
        published_at=article.published_at,
        sort_at=article.sort_at,
    )


class ArticleService:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def find(self, public_id: str) -> ArticleView | None:
        """An article by its external id, or by its numeric id."""
        key = public_id.strip()
        if not key or len(key) > 512:
            return None
        async with self._sessions() as session:
            repo = ArticleRepository(session)
            article = await repo.get_by_external_id(key)
            if article is None and key.isdigit() and len(key) < 19:
                article = await repo.get(int(key))
            return to_view(article) if article is not None else None

    async def latest(self, limit: int) -> list[ArticleView]:
        """The newest articles, newest first."""
        limit = max(1, min(limit, MAX_LATEST))
        async with self._sessions() as session:
            return [to_view(a) for a in await ArticleRepository(session).latest(limit)]

    async def get_many(self, ids: list[int]) -> list[ArticleView]:
        """Articles by id, in the order given; missing ones are left out."""
        async with self._sessions() as session:
            # Plain rows without the body: a page of search results needs no more.
            found = await ArticleRepository(session).get_listings(ids)
        return [
            ArticleView(
                id=row["id"],
                external_id=row["external_id"],
                title=row["title"],
                summary=row["summary"],
                url=row["url"],
                source=row["source"],
                published_at=row["published_at"],
                sort_at=row["sort_at"],
            )
            for row in (found[i] for i in ids if i in found)
        ]
