"""An index on disk is kept when it is current and wiped (to be rebuilt) when it is not.

Every kind of damage is made for real: files truncated, filled with garbage or deleted,
and a process killed between the index commit and the state write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.index_state import INDEX_FORMAT, STATE_FILE
from storage.search_index import IndexedArticle, IndexQuery, SearchIndex

ROOT = Path(__file__).resolve().parents[2]


def article(i: int, title: str) -> IndexedArticle:
    return IndexedArticle(id=i, title=title, body=title, source=None, sort_ts=i)


def found(index: SearchIndex, word: str) -> list[int]:
    return [c.article_id for c in index.candidates(IndexQuery(words=(word,)), 10)]


def filled(path: Path) -> Path:
    """An index of two commits (two segments), its state at event 9."""
    index = SearchIndex(path)
    index.apply([article(1, "Harbour reopens after storm")], watermark=4)
    index.apply([article(2, "Lighthouse keeper retires")], watermark=9)
    return path


def segment_files(path: Path) -> list[Path]:
    meta = json.loads((path / "meta.json").read_text())
    return sorted(
        file
        for segment in meta["segments"]
        for file in path.glob(segment["segment_id"].replace("-", "") + ".*")
    )


def remove_segments(path: Path) -> None:
    for file in segment_files(path):
        file.unlink()


def truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def in_a_fresh_process(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_current_index_is_reopened_as_it_is(tmp_path: Path) -> None:
    path = filled(tmp_path / "idx")
    before = sorted(p.name for p in path.iterdir())
    reopened = SearchIndex(path)
    assert reopened.discarded is None
    assert (reopened.watermark, reopened.doc_count()) == (9, 2)
    assert found(reopened, "lighthouse") == [2]
    assert sorted(p.name for p in path.iterdir()) == before


def test_the_state_names_the_commit_it_describes(tmp_path: Path) -> None:
    path = filled(tmp_path / "idx")
    state = json.loads((path / STATE_FILE).read_text())
    meta = json.loads((path / "meta.json").read_text())
    assert state == {"format": INDEX_FORMAT, "watermark": 9, "opstamp": meta["opstamp"]}


def test_reload_keeps_the_format_and_sees_another_writers_state(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    reader = SearchIndex(path)
    SearchIndex(path).apply([article(3, "Ferry timetable changes")], watermark=12)
    reader.reload()
    assert reader.watermark == 12
    assert found(reader, "ferry") == [3]
    # Reloading must not leave a state the next open would reject (the old -1 format).
    reader.apply([article(4, "Pier repaired")], watermark=13)
    again = SearchIndex(path)
    assert again.discarded is None
    assert again.watermark == 13


def _write_state(text: str) -> Callable[[Path], None]:
    return lambda path: (path / STATE_FILE).write_text(text)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "state file truncated": lambda path: truncate(path / STATE_FILE),
    "state file garbage": _write_state("\x00\x17garbage{"),
    "state file empty": _write_state(""),
    "state file missing": lambda path: (path / STATE_FILE).unlink(),
    "state of an older format": _write_state('{"format": 1, "watermark": 9, "extra": {}}'),
    "state without its commit": _write_state(f'{{"format": {INDEX_FORMAT}, "watermark": 9}}'),
    "state not a mapping": _write_state("[1, 2]"),
    "meta.json truncated": lambda path: truncate(path / "meta.json"),
    "meta.json garbage": lambda path: (path / "meta.json").write_text("{not json"),
    "meta.json missing": lambda path: (path / "meta.json").unlink(),
    "a segment file missing": lambda path: segment_files(path)[0].unlink(),
    "every segment file missing": remove_segments,
    "a segment file truncated": lambda path: truncate(segment_files(path)[-1]),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_index_is_wiped_for_a_rebuild(tmp_path: Path, damage: str) -> None:
    path = filled(tmp_path / "idx")
    DAMAGE[damage](path)
    reopened = SearchIndex(path)
    assert reopened.discarded is not None
    assert (reopened.watermark, reopened.doc_count()) == (0, 0)
    # The fresh index is itself current: written to, it survives the next open.
    reopened.apply([article(5, "Rebuilt harbour index")], watermark=7)
    again = SearchIndex(path)
    assert again.discarded is None
    assert (again.watermark, found(again, "rebuilt")) == (7, [5])


def test_a_state_from_an_earlier_commit_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = SearchIndex(path)
    index.apply([article(1, "Harbour reopens")], watermark=4)
    earlier = (path / STATE_FILE).read_text()
    index.apply([article(2, "Harbour closes")], watermark=9)
    (path / STATE_FILE).write_text(earlier)  # as if the second state write never happened
    reopened = SearchIndex(path)
    assert reopened.discarded is not None
    assert "interrupted" in reopened.discarded
    assert reopened.doc_count() == 0


def test_a_process_killed_between_commit_and_state_write_leaves_an_index_rebuilt(
    tmp_path: Path,
) -> None:
    path = filled(tmp_path / "idx")
    crashed = in_a_fresh_process(
        f"""
        import os
        from pathlib import Path
        import storage.search_index as search_index

        def killed(*_args):
            os._exit(9)  # dies with the commit on disk and the state not yet written

        index = search_index.SearchIndex(Path({str(path)!r}))
        search_index.write_state = killed
        index.apply(
            [search_index.IndexedArticle(3, "Crash course", "body", None, 3)], watermark=11
        )
        """
    )
    assert crashed.returncode == 9, crashed.stderr
    reopened = SearchIndex(path)
    assert reopened.discarded is not None
    assert (reopened.watermark, reopened.doc_count()) == (0, 0)
    # The dead process's writer lock went with it.
    assert reopened.apply([article(4, "After the crash")], watermark=1) == 1


def test_a_current_index_opened_by_fresh_processes_is_never_rebuilt(tmp_path: Path) -> None:
    path = filled(tmp_path / "idx")
    files_before = sorted(p.name for p in path.iterdir())
    state_before = (path / STATE_FILE).read_text()
    probe = f"""
        import json
        from pathlib import Path
        from storage.search_index import IndexQuery, SearchIndex

        index = SearchIndex(Path({str(path)!r}))
        index.reload()  # as the follower does first
        hits = [c.article_id for c in index.candidates(IndexQuery(words=("harbour",)), 5)]
        print(json.dumps([index.discarded, index.watermark, index.doc_count(), hits]))
        """
    for _ in range(2):
        opened = in_a_fresh_process(probe)
        assert opened.returncode == 0, opened.stderr
        assert json.loads(opened.stdout) == [None, 9, 2, [1]]
        assert "rebuilding" not in opened.stderr
    assert sorted(p.name for p in path.iterdir()) == files_before
    assert (path / STATE_FILE).read_text() == state_before


def test_a_process_killed_before_its_commit_leaves_the_last_commit_intact(
    tmp_path: Path,
) -> None:
    path = filled(tmp_path / "idx")
    crashed = in_a_fresh_process(
        f"""
        import os
        from pathlib import Path
        from storage.search_index import IndexedArticle, SearchIndex

        batch = SearchIndex(Path({str(path)!r})).batch(replace_all=True)
        batch.add([IndexedArticle(i, f"Half written {{i}}", "body", None, i) for i in range(500)])
        os._exit(9)  # dies with a rebuild's segments written but never committed
        """
    )
    assert crashed.returncode == 9, crashed.stderr
    reopened = SearchIndex(path)
    assert reopened.discarded is None
    assert (reopened.watermark, reopened.doc_count()) == (9, 2)
    assert found(reopened, "written") == []
    assert reopened.apply([article(6, "Carry on")], watermark=10) == 1


def test_reload_over_an_unreadable_state_keeps_what_it_knew(tmp_path: Path) -> None:
    path = filled(tmp_path / "idx")
    reader = SearchIndex(path)
    (path / STATE_FILE).write_text("{half a sta")
    reader.reload()
    assert (reader.watermark, reader.doc_count()) == (9, 2)
