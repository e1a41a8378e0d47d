"""Whether a database is already at the newest migration, without loading Alembic.

Loading Alembic (and running its no-op upgrade) is a good part of the start-up of every
command; a database at the newest revision needs neither. The revisions are read from the
migration scripts' ``revision`` / ``down_revision`` lines, which Alembic itself reads.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.M)


def head_revision(versions: Path) -> str | None:
    """The single newest revision among the scripts (None if there are several, or none)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        for kind, revision in _REVISION.findall(script.read_text()):
            (revisions if kind == "revision" else parents).add(revision)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_at_head(connection: Connection, versions: Path) -> bool:
    """True when the database records exactly the newest revision."""
    head = head_revision(versions)
    if head is None or not inspect(connection).has_table("alembic_version"):
        return False
    recorded = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return list(recorded) == [head]
