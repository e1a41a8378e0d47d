"""``newsbot feeds export`` and ``newsbot feeds import FILE.opml``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from services.feeds.opml import (
    MAX_OPML_BYTES,
    MAX_URL_LENGTH,
    OpmlFeed,
    OpmlProblem,
    parse_opml,
    render_opml,
)
from services.feeds.service import FeedService

EXIT_UNREADABLE = 1
EXPORT_TITLE = "newsbot feeds"

_PROBLEMS = {
    "too_large": f"the file is larger than {MAX_OPML_BYTES // 1_000_000} MB",
    "empty": "the file is empty",
    "not_xml": "the file is not XML",
    "entities": "the file declares XML entities, which are refused for safety",
    "not_opml": "the file is not an OPML feed list",
    "too_deep": "the file nests its outlines too deeply",
}


def describe_problem(problem: OpmlProblem) -> str:
    reason = _PROBLEMS[problem.kind]
    return f"{reason} ({problem.detail})" if problem.detail else reason


async def export_opml(feeds: FeedService, now: datetime) -> str:
    """Every feed, public or a chat's, as OPML 2.0 text."""
    listed = await feeds.list_feeds()
    document = render_opml(
        (OpmlFeed(feed.url, feed.title, feed.site_url) for feed in listed),
        title=EXPORT_TITLE,
        created=now,
    )
    return document.decode("utf-8")


def read_capped(path: Path) -> bytes | str:
    """The file's bytes, or why it cannot be read; never more than the OPML cap plus one."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_OPML_BYTES + 1)
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "it is a directory"
    except OSError as error:
        return error.strerror or type(error).__name__
    return data


async def import_opml(feeds: FeedService, path: Path, interval: timedelta, out: TextIO) -> int:
    """Add each outline's xmlUrl through the feed guard; one line per outline.

    Non-zero only when the file itself cannot be read: refused feeds are reported, and
    the others still added.
    """
    data = read_capped(path)
    if isinstance(data, str):
        print(f"cannot read {path}: {data}", file=out)
        return EXIT_UNREADABLE
    parsed = parse_opml(data)
    if isinstance(parsed, OpmlProblem):
        print(f"cannot read {path}: {describe_problem(parsed)}", file=out)
        return EXIT_UNREADABLE
    counts = {"added": 0, "already there": 0, "refused": 0}
    for outline in parsed.outlines:
        if len(outline.xml_url) > MAX_URL_LENGTH:
            counts["refused"] += 1
            shown = outline.xml_url[:80] + "…"
            print(f"refused {shown}: longer than {MAX_URL_LENGTH} characters", file=out)
            continue
        result = await feeds.add(outline.xml_url, interval, site_url=outline.html_url)
        if result.feed is None:
            counts["refused"] += 1
            print(f"refused {outline.xml_url}: {result.refusal}", file=out)
        elif result.created:
            counts["added"] += 1
            print(f"added feed {result.feed.id}: {result.feed.url}", file=out)
        else:
            counts["already there"] += 1
            print(f"already there as feed {result.feed.id}: {result.feed.url}", file=out)
    summary = ", ".join(f"{label} {count}" for label, count in counts.items())
    print(f"{len(parsed.outlines)} feeds in {path}: {summary}", file=out)
    return 0
