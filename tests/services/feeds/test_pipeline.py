"""Fetch, parse and prepare together: what a poll does before storing, without a database."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from services.feeds.fetch import fetch_feed
from services.feeds.parse import parse_feed
from services.ingest import PreparedArticle, prepare

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Moor Weekly</title><id>urn:moor</id><updated>2024-05-02T08:00:00Z</updated>
  <entry>
    <title>Wind farm plan approved</title><id>urn:moor:1</id>
    <link href="/2024/wind-farm"/><updated>2024-05-02T08:00:00Z</updated>
    <content type="html">&lt;p&gt;Councillors approved twelve turbines on the moor on
      Thursday, after a debate that lasted more than five hours.&lt;/p&gt;
      &lt;p&gt;Opponents said they would appeal. Construction could begin next year if
      the appeal fails, the developer said.&lt;/p&gt;
      &lt;p&gt;Sign up for our newsletter to get the latest news in your inbox.&lt;/p&gt;</content>
  </entry>
</feed>"""


async def public_dns(host: str, port: int) -> Sequence[str]:
    return ["93.184.216.34"]


async def test_a_moved_gzipped_feed_becomes_articles_ready_to_store() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/feed":
            return httpx.Response(301, headers={"Location": "https://cdn.moor.example/atom.xml"})
        headers = {"Content-Encoding": "gzip", "ETag": '"7"'}
        return httpx.Response(200, stream=httpx.ByteStream(gzip.compress(FEED)), headers=headers)

    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        fetched = await fetch_feed(client, "https://moor.example/feed", resolver=public_dns)
    assert (fetched.status, fetched.etag) == ("ok", '"7"')
    assert fetched.body is not None
    feed = parse_feed(fetched.body, base_url=fetched.final_url)
    assert feed.problems == []
    (entry,) = feed.entries
    # Relative links resolve against where the feed really came from.
    assert entry.article.url == "https://cdn.moor.example/2024/wind-farm"
    assert entry.article.published_at == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    prepared = prepare(entry.article, f"{fetched.final_url}#{entry.guid}")
    assert isinstance(prepared, PreparedArticle)
    assert prepared.canonical_url == "https://cdn.moor.example/2024/wind-farm"
    assert "newsletter" not in prepared.values["body"]  # ingest's boilerplate removal
    assert prepared.values["source"] == "Moor Weekly"
