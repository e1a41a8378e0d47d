"""Article repository: queries over the articles table and its change log.

Repositories flush but never commit; the calling service owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Article, ArticleEvent

# The Core table: bulk inserts through it skip the ORM's per-row bookkeeping.
ARTICLES_TABLE = cast(Table, Article.__table__)
ADDED = "added"
UPDATED = "updated"
DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    article_id: int
    kind: str
    created_at: datetime
    notify: bool


class ArticleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, article_id: int) -> Article | None:
        return await self._session.get(Article, article_id)

    async def get_by_external_id(self, external_id: str) -> Article | None:
        result = await self._session.execute(
            select(Article).where(Article.external_id == external_id)
        )
        return result.scalar_one_or_none()

    async def get_many(self, ids: Sequence[int]) -> dict[int, Article]:
        if not ids:
            return {}
        result = await self._session.execute(select(Article).where(Article.id.in_(list(ids))))
        return {article.id: article for article in result.scalars()}

    async def get_listings(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Articles by id as plain rows without the body: what a list of results shows."""
        if not ids:
            return {}
        columns = [c for c in ARTICLES_TABLE.columns if c.name not in ("body", "fingerprint")]
        result = await self._session.execute(
            select(*columns).where(ARTICLES_TABLE.c.id.in_(list(ids)))
        )
        return {int(row["id"]): dict(row) for row in result.mappings()}

    async def latest(self, limit: int, offset: int = 0) -> list[Article]:
        query = select(Article).order_by(Article.sort_at.desc(), Article.id.desc())
        result = await self._session.execute(query.limit(limit).offset(offset))
        return list(result.scalars())

    async def count(self) -> int:
        result = await self._session.execute(select(func.count()).select_from(Article))
        return int(result.scalar_one())

    async def find_matches(
        self,
        external_ids: Iterable[str],
        canonical_urls: Iterable[str],
        fingerprints: Iterable[str],
    ) -> list[dict[str, Any]]:
        """Every stored article (as a plain row, no body) that shares any of these dedup keys."""
        conditions = []
        for column, values in (
            (Article.external_id, set(external_ids)),
            (Article.canonical_url, set(canonical_urls)),
            (Article.fingerprint, set(fingerprints)),
        ):
            if values:
                conditions.append(column.in_(values))
        if not conditions:
            return []
        columns = [c for c in ARTICLES_TABLE.columns if c.name != "body"]
        result = await self._session.execute(select(*columns).where(or_(*conditions)))
        return [dict(row) for row in result.mappings()]

    async def insert_many(
        self, rows: Sequence[dict[str, Any]], notify: Sequence[bool] | None = None
    ) -> list[int]:
        """Insert article rows and log an ``added`` event for each; return the new ids.

        ``notify`` says, per row, whether subscribers should be alerted (default: yes).
        """
        if not rows:
            return []
        # A plain executemany, then the ids by fingerprint (unique): RETURNING in parameter
        # order makes SQLite insert row by row, several times slower.
        await self._session.execute(insert(ARTICLES_TABLE), list(rows))
        fingerprints = [row["fingerprint"] for row in rows]
        result = await self._session.execute(
            select(Article.id, Article.fingerprint).where(Article.fingerprint.in_(fingerprints))
        )
        id_of = {fp: int(article_id) for article_id, fp in result.all()}
        ids = [id_of[fp] for fp in fingerprints]
        await self.record_events(ids, ADDED, rows[0]["stored_at"], notify)
        return ids

    async def update_one(self, article_id: int, values: dict[str, Any]) -> None:
        """Overwrite an article's fields and log an ``updated`` event."""
        await self._session.execute(
            update(Article).where(Article.id == article_id).values(**values)
        )
        await self.record_events([article_id], UPDATED, values["updated_at"])

    async def delete(self, article_id: int, at: datetime) -> bool:
        article = await self.get(article_id)
        if article is None:
            return False
        await self._session.delete(article)
        await self.record_events([article_id], DELETED, at)
        return True

    async def record_events(
        self,
        article_ids: Sequence[int],
        kind: str,
        at: datetime,
        notify: Sequence[bool] | None = None,
    ) -> None:
        if not article_ids:
            return
        flags = notify if notify is not None else [kind == ADDED] * len(article_ids)
        rows = [
            {"article_id": i, "kind": kind, "created_at": at, "notify": flag}
            for i, flag in zip(article_ids, flags, strict=True)
        ]
        await self._session.execute(insert(ArticleEvent), rows)

    async def events_after(self, seq: int, limit: int) -> list[EventRow]:
        query = select(ArticleEvent).where(ArticleEvent.seq > seq).order_by(ArticleEvent.seq)
        result = await self._session.execute(query.limit(limit))
        return [
            EventRow(e.seq, e.article_id, e.kind, e.created_at, e.notify) for e in result.scalars()
        ]

    async def last_event_seq(self) -> int:
        result = await self._session.execute(select(func.max(ArticleEvent.seq)))
        return int(result.scalar_one() or 0)

    async def iter_all_ids(self, after_id: int, limit: int) -> list[int]:
        query = select(Article.id).where(Article.id > after_id).order_by(Article.id).limit(limit)
        result = await self._session.execute(query)
        return [int(i) for i in result.scalars()]
