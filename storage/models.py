"""The relational schema. Migrations in ``storage/migrations`` create and upgrade it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
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
    # Whether subscribers hear of it: a new feed's back catalogue is stored silently.
    notify: Mapped[bool] = mapped_column(Boolean, default=True)


class SearchSession(Base):
    """A search a chat ran, so Previous/Next buttons can carry just its id and an offset."""

    __tablename__ = "search_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Chat(Base):
    """A chat that has subscriptions, with its alert preferences."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))  # private | group | supergroup | channel
    title: Mapped[str | None] = mapped_column(String(256))
    # False while the bot is removed from the group or blocked by the user.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_reason: Mapped[str | None] = mapped_column(String(256))
    digest: Mapped[str] = mapped_column(String(8), default="off")  # off | hourly | daily
    quiet_start: Mapped[int | None] = mapped_column(Integer)  # minutes after local midnight
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Earliest moment the next message may go to this chat (Telegram's per-chat limits).
    next_send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A channel's or group's public @username, when it was managed from a private chat.
    username: Mapped[str | None] = mapped_column(String(64))
    # Who connected it from a private chat: told there when the bot loses the right to post.
    connected_by: Mapped[int | None] = mapped_column(BigInteger)
    # The language chosen with /language (a catalog code: "ru", "pt_BR"); None: not chosen,
    # a private chat then speaks its user's Telegram language.
    language: Mapped[str | None] = mapped_column(String(16))
    # A private chat's user's Telegram language, as last seen (a catalog code): what alerts
    # speak there until /language is used, since the alert sender has no update to read.
    user_language: Mapped[str | None] = mapped_column(String(16))


class ChatManager(Base):
    """A user who manages a channel or group from a private chat (listed by /channels)."""

    __tablename__ = "chat_managers"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_chat_managers_user_id", "user_id"),)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    topic: Mapped[int] = mapped_column(BigInteger, default=0)  # forum topic id; 0 = none
    query: Mapped[str] = mapped_column(Text)  # what the user typed
    # Folded words, space-separated: any of them matches; none means every article.
    include_terms: Mapped[str] = mapped_column(Text, default="")
    exclude_terms: Mapped[str] = mapped_column(Text, default="")
    # ``source:NAME``: folded words the article's source must all have ("" = any source).
    source_terms: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """One alert to deliver: unique per (chat, topic, article), so nothing is queued twice."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    topic: Mapped[int] = mapped_column(BigInteger, default=0)
    article_id: Mapped[int] = mapped_column(BigId)
    # pending | sending (its request may be on the way) | sent | failed | dropped
    # | unconfirmed (sent twice without an answer that said whether it arrived)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Sends that may have arrived (timed out, no readable answer, a crash mid-request): after
    # one, the alert goes once more at most.
    unsure: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A claim is a lease: a worker that dies mid-send loses it when it runs out.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("chat_id", "topic", "article_id", name="uq_outbox_chat_topic_article"),
        Index("ix_outbox_status_due", "status", "due_at"),
    )


class ChatSend(Base):
    """A message sent to a chat in the last minute or so, by any process: alerts (counted
    from when their request started) and replies to chats that have subscriptions. The
    alert sender reads them to keep each chat's limits with everything that went to it."""

    __tablename__ = "chat_sends"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_chat_sends_chat_sent", "chat_id", "sent_at"),
        Index("ix_chat_sends_sent", "sent_at"),
    )


class Cursor(Base):
    """A named position in the article event log (the alert matcher's watermark)."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(512))
    # The site the feed belongs to, as the feed (or an imported OPML outline) names it: only
    # shown and exported (OPML htmlUrl), never fetched.
    site_url: Mapped[str | None] = mapped_column(String(2048))
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    # SHA-256 of the body last stored: a feed that ignores conditional GET but sends the
    # same bytes again is not parsed again.
    body_hash: Mapped[str | None] = mapped_column(String(64))
    interval_seconds: Mapped[int] = mapped_column(Integer, default=600)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None until a poll succeeds: the first successful poll stores without alerting.
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While a poll holds the feed: who holds it (a token per claim), and next_poll_at is
    # the claim's expiry, so a feed whose poller died comes due again by itself.
    claim: Mapped[str | None] = mapped_column(String(128))
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Added by a bot administrator: its entries reach archive-wide subscriptions. A feed
    # only chats follow (/follow) alerts those chats alone.
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class FeedFollow(Base):
    """A chat following a feed (/follow), with the words its entries must (not) mention."""

    __tablename__ = "feed_follows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    topic: Mapped[int] = mapped_column(BigInteger, default=0)
    feed_id: Mapped[int] = mapped_column(BigId, index=True)
    query: Mapped[str] = mapped_column(Text, default="")  # the words as typed
    include_terms: Mapped[str] = mapped_column(Text, default="")  # none: every entry
    exclude_terms: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("chat_id", "topic", "feed_id", name="uq_feed_follows_chat_topic_feed"),
    )


class FeedItem(Base):
    """An article seen in a feed, logged the first time that feed carries it.

    The alert matcher tails this log by ``seq``: a new (feed, article) pair goes to the
    chats following the feed and, for a public feed, to archive-wide subscriptions. So an
    article one feed already brought still reaches the followers of another feed that
    carries it later, and the outbox's (chat, topic, article) key keeps it to one alert.
    """

    __tablename__ = "feed_items"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(BigId)
    article_id: Mapped[int] = mapped_column(BigId)
    # False for a feed's back catalogue (its first poll) and entries older than the feed.
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("feed_id", "article_id", name="uq_feed_items_feed_article"),)


class FollowChoice(Base):
    """A /follow whose page named several feeds, waiting for a button tap to pick one.

    Kept in the database, not in memory: the tap may reach another replica.
    """

    __tablename__ = "follow_choices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the chat that will follow
    topic: Mapped[int] = mapped_column(BigInteger, default=0)
    user_id: Mapped[int | None] = mapped_column(BigInteger)  # who asked; only they may pick
    terms: Mapped[str] = mapped_column(Text, default="")
    urls: Mapped[str] = mapped_column(Text)  # the candidates, one per line
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
