from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.articles import ArticleRepository
from storage.event_log import GAP_PATIENCE_SECONDS
from storage.index_sync import IndexFollower
from storage.models import ArticleEvent
from storage.search_index import IndexedArticle, IndexQuery, SearchIndex
from tests.storage.builders import WHEN, article_row


async def insert(sessions: async_sessionmaker[AsyncSession], *titles: str) -> list[int]:
    async with sessions.begin() as session:
        return await ArticleRepository(session).insert_many([article_row(t) for t in titles])


def found(index: SearchIndex, word: str) -> list[int]:
    return [c.article_id for c in index.candidates(IndexQuery(words=(word,)), 10)]


async def test_follower_applies_adds_updates_and_deletes(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    index = SearchIndex(tmp_path / "idx")
    follower = IndexFollower(index, sessions)
    first, second = await insert(sessions, "Volcano erupts in Iceland", "Markets rally")

    result = await follower.catch_up()
    assert result.applied == 2
    assert found(index, "volcano") == [first]

    async with sessions.begin() as session:
        repo = ArticleRepository(session)
        await repo.update_one(second, {"title": "Markets slump", "updated_at": WHEN})
        await repo.delete(first, WHEN)
    await follower.catch_up()
    assert found(index, "volcano") == []
    assert found(index, "slump") == [second]
    assert index.watermark == 4
    assert (await follower.catch_up()).applied == 0


async def test_a_second_process_index_catches_up_from_its_own_watermark(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await insert(sessions, "Glacier retreat measured")
    await IndexFollower(SearchIndex(tmp_path / "a"), sessions).catch_up()
    (new_id,) = await insert(sessions, "Desert bloom after rain")
    other = SearchIndex(tmp_path / "b")
    await IndexFollower(other, sessions).catch_up()
    assert found(other, "desert") == [new_id]
    assert other.doc_count() == 2


async def test_rebuild_reindexes_everything(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await insert(sessions, *(f"Story number {i} about zebras" for i in range(25)))
    index = SearchIndex(tmp_path / "idx")
    follower = IndexFollower(index, sessions, batch_size=10)
    assert await follower.rebuild() == 25
    assert index.doc_count() == 25
    assert index.watermark == 25
    assert (await follower.catch_up()).applied == 0


async def test_a_hole_in_the_log_holds_the_watermark_until_patience_runs_out(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    now = [0.0]
    index = SearchIndex(tmp_path / "idx")
    follower = IndexFollower(index, sessions, clock=lambda: now[0])
    (first,) = await insert(sessions, "Before the hole")
    (later,) = await insert(sessions, "After the hole")
    async with sessions.begin() as session:
        # Renumber the second event as if seq 2 belonged to a transaction still open.
        event = await session.get(ArticleEvent, 2)
        assert event is not None
        await session.delete(event)
        session.add(ArticleEvent(seq=3, article_id=later, kind="added", created_at=WHEN))
    await follower.catch_up()
    assert found(index, "after") == [later]  # applied already...
    assert index.watermark == 1  # ...but not trusted past the hole
    now[0] += GAP_PATIENCE_SECONDS + 1
    await follower.catch_up()
    assert index.watermark == 3
    assert found(index, "before") == [first]


async def test_a_long_backlog_goes_in_with_one_commit(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await insert(sessions, *(f"Report {i} on meerkats" for i in range(30)))
    index = SearchIndex(tmp_path / "idx")
    follower = IndexFollower(index, sessions, batch_size=10, bulk_events=15)
    result = await follower.catch_up()
    assert (result.applied, result.watermark) == (30, 30)
    assert index.doc_count() == 30
    assert index.segment_count() == 1  # batches of 10 would each have made a segment
    (later,) = await insert(sessions, "Meerkat census published")
    assert (await follower.catch_up()).applied == 1
    assert later in found(index, "census")


async def test_a_long_backlog_waits_for_a_busy_writer(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await insert(sessions, *(f"Report {i} on otters" for i in range(20)))
    index = SearchIndex(tmp_path / "idx")
    follower = IndexFollower(index, sessions, batch_size=5, bulk_events=10)
    holder = index.batch()  # as if another process were writing
    try:
        result = await follower.catch_up()
    finally:
        holder.rollback()
    assert result.busy and result.applied == 0
    assert (await follower.catch_up()).applied == 20


async def test_rebuild_drops_what_the_database_no_longer_has(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    (kept,) = await insert(sessions, "Lighthouse restored")
    index = SearchIndex(tmp_path / "idx")
    follower = IndexFollower(index, sessions)
    await follower.catch_up()
    # An index that drifted from the database: a document the table never had.
    index.apply([IndexedArticle(999, "Phantom lighthouse", "", None, 0)])
    assert sorted(found(index, "lighthouse")) == [kept, 999]
    assert await follower.rebuild() == 1
    assert found(index, "lighthouse") == [kept]
    assert index.watermark == 1


async def test_a_reopened_current_index_applies_only_newer_events(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await insert(sessions, *(f"Archive story {i} about otters" for i in range(30)))
    await IndexFollower(SearchIndex(tmp_path / "idx"), sessions, batch_size=10).catch_up()
    (newer,) = await insert(sessions, "Beaver dam discovered")

    reopened = SearchIndex(tmp_path / "idx")
    result = await IndexFollower(reopened, sessions, batch_size=10).catch_up()
    assert reopened.discarded is None
    assert (result.applied, result.watermark) == (1, 31)
    assert found(reopened, "beaver") == [newer]
    assert reopened.doc_count() == 31


async def test_a_damaged_index_is_rebuilt_from_the_log(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    (gone,) = await insert(sessions, "Walrus sighting was a hoax")
    await insert(sessions, *(f"Archive story {i} about otters" for i in range(29)))
    async with sessions.begin() as session:
        await ArticleRepository(session).delete(gone, WHEN)
    await IndexFollower(SearchIndex(tmp_path / "idx"), sessions).catch_up()
    (tmp_path / "idx" / "meta.json").write_text("garbage")

    reopened = SearchIndex(tmp_path / "idx")
    result = await IndexFollower(reopened, sessions, batch_size=10, bulk_events=20).catch_up()
    assert reopened.discarded is not None
    assert (result.applied, result.watermark) == (31, 31)
    assert reopened.doc_count() == 29
    assert found(reopened, "walrus") == []
