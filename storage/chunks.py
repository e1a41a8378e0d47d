"""Long ``IN (...)`` lists, cut into statements every driver accepts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# Ids per IN (...) list: well under SQLite's and asyncpg's bound-parameter limits (32,766).
IN_CHUNK = 5000


def id_chunks(ids: Iterable[int], size: int = IN_CHUNK) -> Iterator[list[int]]:
    """The distinct ids in ascending order, ``size`` at a time (nothing for no ids).

    Sorted, so that statements touching many rows lock them in one order everywhere.
    """
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
