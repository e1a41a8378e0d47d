"""The relational schema. Migrations in ``storage/migrations`` create and upgrade it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for ever-growing ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # An id the article had where it came from (a JSON Lines record's ``id``, a feed guid).
    external_id: Mapped[str | None] = mapped_column(String(512), unique=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    # ``url`` without tracking parameters and fragment: the key that makes a re-load an update.
    canonical_url: Mapped[str | None] = mapped_column(String(2048), unique=True)
    source: Mapped[str | None] = mapped_column(String(256))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # ``published_at`` when known, else ``stored_at``: what "newest" means everywhere.
    sort_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Hash of the normalised title and story: the dedup key of articles without a URL.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)


class ArticleEvent(Base):
    """An append-only change log of the articles table.

    Every insert, update and delete appends a row in the same transaction, so followers
    (the search index of every process, the alert matcher) can tail it by ``seq``.
    """

    __tablename__ = "article_events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(BigId, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "added" | "updated" | "deleted"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SearchSession(Base):
    """A search a chat ran, so Previous/Next buttons can carry just its id and an offset."""

    __tablename__ = "search_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
