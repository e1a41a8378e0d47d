"""Ids cut into IN (...) lists: each id once, in order, never more than a chunk's worth."""

from __future__ import annotations

from storage.chunks import IN_CHUNK, id_chunks


def test_ids_come_distinct_and_sorted_in_chunks_of_at_most_the_size() -> None:
    assert list(id_chunks([5, -2, 5, 9, 1, -2, 3], size=2)) == [[-2, 1], [3, 5], [9]]


def test_no_ids_make_no_statement() -> None:
    assert list(id_chunks([])) == []


def test_the_default_chunk_stays_under_the_drivers_parameter_limits() -> None:
    chunks = list(id_chunks(range(2 * IN_CHUNK + 1)))
    assert [len(chunk) for chunk in chunks] == [IN_CHUNK, IN_CHUNK, 1]
    assert IN_CHUNK < 32_766  # SQLite's and asyncpg's bound-parameter ceiling
