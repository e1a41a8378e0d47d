from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest import IngestService, fingerprint
from services.parsing import RawArticle, Rejected
from storage.models import Article, ArticleEvent
from tests.conftest import FixedClock

STORY = (
    "The council approved the new bridge on Tuesday after a long debate. "
    "Work starts in spring and should take two years. Residents welcomed the decision."
)


def raw(title: str = "Council approves bridge", body: str = STORY, **kw: object) -> RawArticle:
    return RawArticle(title=title, body=body, **kw)  # type: ignore[arg-type]


def items(*articles: RawArticle | Rejected) -> list[tuple[RawArticle | Rejected, str]]:
    return [(a, "test") for a in articles]


async def stored(sessions: async_sessionmaker[AsyncSession]) -> list[Article]:
    async with sessions() as session:
        return list((await session.execute(select(Article).order_by(Article.id))).scalars())


async def events(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(select(ArticleEvent).order_by(ArticleEvent.seq))
        return [(e.article_id, e.kind) for e in rows.scalars()]


async def test_new_article_is_stored_with_summary_and_logged(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    service = IngestService(sessions, clock=clock)
    report = await service.ingest(items(raw(url="https://news.example/a?utm_source=x#top")))
    assert (report.added, report.updated, report.skipped, report.rejected) == (1, 0, 0, [])
    (article,) = await stored(sessions)
    assert article.canonical_url == "https://news.example/a"
    assert article.summary and len(article.summary) <= 400
    assert article.stored_at == clock.now and article.sort_at == clock.now
    assert await events(sessions) == [(article.id, "added")]


async def test_reloading_is_idempotent_and_tracking_params_do_not_make_a_new_url(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    service = IngestService(sessions, clock=clock)
    await service.ingest(items(raw(url="https://news.example/a?id=3&utm_medium=rss")))
    report = await service.ingest(
        items(raw(url="https://NEWS.example:443/a?fbclid=zz&id=3#comments"), raw())
    )
    assert (report.added, report.updated, report.skipped) == (0, 0, 2)
    assert len(await stored(sessions)) == 1


async def test_same_content_without_url_is_a_duplicate_even_if_spacing_differs(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    service = IngestService(sessions, clock=clock)
    await service.ingest(items(raw()))
    report = await service.ingest(
        items(raw(title="COUNCIL  approves bridge", body=STORY.replace(" ", "  ")))
    )
    assert report.skipped == 1 and len(await stored(sessions)) == 1


async def test_changed_content_at_the_same_url_is_an_update(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    service = IngestService(sessions, clock=clock)
    await service.ingest(items(raw(url="https://news.example/a")))
    clock.now += timedelta(hours=1)
    report = await service.ingest(
        items(raw(title="Council approves bridge, cost rises", url="https://news.example/a"))
    )
    assert (report.added, report.updated) == (0, 1)
    (article,) = await stored(sessions)
    assert article.title == "Council approves bridge, cost rises"
    assert article.updated_at == clock.now and article.stored_at == clock.now - timedelta(hours=1)
    assert [kind for _, kind in await events(sessions)] == ["added", "updated"]


async def test_external_id_identifies_the_article(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    service = IngestService(sessions, clock=clock)
    await service.ingest(items(raw(external_id="wire-17")))
    report = await service.ingest(items(raw(title="Bridge vote delayed", external_id="wire-17")))
    assert report.updated == 1
    (article,) = await stored(sessions)
    assert (article.external_id, article.title) == ("wire-17", "Bridge vote delayed")


async def test_bad_items_are_reported_and_the_rest_loads(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    service = IngestService(sessions, clock=clock, batch_size=2)
    report = await service.ingest(
        items(
            raw(title="One", body="First story text is here."),
            Rejected("feed.jsonl:2", "not valid JSON"),
            raw(title="   ", body="Body without a title."),
            raw(title="Two", body="Second story text is here."),
        )
    )
    assert report.added == 2
    assert [r.location for r in report.rejected] == ["feed.jsonl:2", "test"]
    assert "title" in report.rejected[1].reason


async def test_boilerplate_never_reaches_the_stored_summary(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    body = (
        STORY
        + "\n\nSign up for our newsletter!\n\nFollow us on Twitter"
        + "\n\n© 2026 Example Media. All rights reserved."
    )
    await IngestService(sessions, clock=clock).ingest(items(raw(body=body)))
    (article,) = await stored(sessions)
    for junk in ("newsletter", "Twitter", "rights reserved"):
        assert junk not in article.body and junk not in article.summary


async def test_publisher_summary_is_kept_when_short(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    published = datetime(2014, 11, 6, tzinfo=UTC)
    await IngestService(sessions, clock=clock).ingest(
        items(raw(summary="The bridge is approved.", published_at=published, source="Daily"))
    )
    (article,) = await stored(sessions)
    assert article.summary == "The bridge is approved."
    assert article.sort_at == published and article.source == "Daily"


async def test_duplicates_inside_one_batch_store_once(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    report = await IngestService(sessions, clock=clock).ingest(items(raw(), raw(), raw()))
    assert (report.added, report.skipped) == (1, 2)


def test_fingerprint_ignores_case_and_spacing_but_not_words() -> None:
    assert fingerprint("A b", "c  d") == fingerprint("a B", "C d")
    assert fingerprint("A b", "c d") != fingerprint("A b", "c e")
