"""What an on-disk search index records beside tantivy's files, and how it is kept honest.

The state file names the last article event the index holds (the watermark) and the
tantivy commit (opstamp) that state describes. It is written after every commit, atomically
(a temporary file moved into place), while a lock on the directory keeps any other process
from inspecting the index between the two. So on open:

- state and commit agree: the index is current up to the watermark and is kept;
- they disagree, or either is missing or unreadable, or the format is another one: the
  index is wiped and rebuilt from the database (a crash between the commit and the state
  write lands here, as do truncated, garbage or half-deleted files).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Bump when the schema, the analyzer or this state changes: an index of another format is
# rebuilt. 2: the state records the commit it describes. 3: documents are indexed as
# storage.text.tokens makes them (CJK bigrams, Thai words, Indic marks kept in words).
INDEX_FORMAT = 3
STATE_FILE = "newsbot-state.json"
LOCK_FILE = "newsbot-state.lock"
_META_FILE = "meta.json"  # tantivy's list of committed segments


@dataclass(frozen=True, slots=True)
class IndexState:
    watermark: int = 0  # the last article event whose effect the index holds
    opstamp: int = 0  # the tantivy commit this state describes (0: the empty index)


class StateProblem(Exception):
    """Why an index on disk cannot be trusted (the message says, for the log)."""


@contextmanager
def directory_lock(path: Path) -> Iterator[None]:
    """Hold the index directory against other processes' commits and checks.

    An advisory lock (released by the kernel if its holder dies), kept inside the
    directory: wiping the index leaves the lock file in place.
    """
    with (path / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_empty_directory(path: Path) -> bool:
    """Nothing committed here yet: no tantivy commit and no state (a lock file may be)."""
    return not (path / _META_FILE).exists() and not (path / STATE_FILE).exists()


def read_state(path: Path) -> IndexState:
    """The recorded state, checked for format; raises ``StateProblem``."""
    try:
        raw = json.loads((path / STATE_FILE).read_text())
    except FileNotFoundError:
        raise StateProblem("has no state file (an older format, or a crash)") from None
    except (OSError, ValueError) as error:
        raise StateProblem(f"has an unreadable state file ({error})") from None
    if not isinstance(raw, dict) or raw.get("format") != INDEX_FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise StateProblem(f"is of format {found!r}, not {INDEX_FORMAT}")
    watermark, opstamp = raw.get("watermark"), raw.get("opstamp")
    if not isinstance(watermark, int) or not isinstance(opstamp, int):
        raise StateProblem("has a state file without a watermark or commit")
    return IndexState(watermark, opstamp)


def check_commit(path: Path, state: IndexState) -> None:
    """Raise ``StateProblem`` unless tantivy's last commit is the one the state describes."""
    try:
        committed = json.loads((path / _META_FILE).read_text())["opstamp"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StateProblem(f"has an unreadable commit ({error!r})") from None
    if committed != state.opstamp:
        raise StateProblem(
            f"was committed (#{committed}) past its recorded state (#{state.opstamp}), "
            "a write interrupted in between"
        )


def write_state(path: Path, state: IndexState) -> None:
    """Record the state atomically: a reader sees the old file or the new, never half."""
    payload = json.dumps(
        {"format": INDEX_FORMAT, "watermark": state.watermark, "opstamp": state.opstamp}
    )
    temporary = path / (STATE_FILE + ".tmp")
    with temporary.open("w") as out:
        out.write(payload)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path / STATE_FILE)


def wipe(path: Path) -> None:
    """Remove everything in the index directory but the lock file."""
    for entry in path.iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
