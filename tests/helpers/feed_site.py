"""A real HTTP server on 127.0.0.1 serving feeds and pages a test scripts, for the bot to poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from aiohttp import web

HOST = "127.0.0.1"  # allowed with FEED_ALLOWED_HOSTS=127.0.0.1


@dataclass
class FeedSite:
    port: int = 0
    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def put(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        self.pages[path] = (body, content_type)
        return self.url(path)

    async def _serve(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        found = self.pages.get(request.path)
        if found is None:
            return web.Response(status=404, text="not here")
        body, content_type = found
        return web.Response(body=body, headers={"Content-Type": content_type})


def rss(title: str, *entries: tuple[str, str, datetime | None, str]) -> bytes:
    """An RSS 2.0 feed; entries are (guid, title, published or None, link)."""
    items = []
    for guid, headline, published, link in entries:
        date = f"<pubDate>{published:%a, %d %b %Y %H:%M:%S +0000}</pubDate>" if published else ""
        items.append(
            f"<item><guid>{escape(guid)}</guid><title>{escape(headline)}</title>"
            f"<link>{escape(link)}</link>{date}"
            f"<description>{escape(headline)}. The full story, told in a sentence or two "
            "for the readers of this feed.</description></item>"
        )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://example.org/</link>{''.join(items)}</channel></rss>"
    ).encode()


def page(*feeds: tuple[str, str]) -> bytes:
    """An HTML page naming feeds (href, title) with <link rel="alternate">."""
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="{escape(href)}" '
        f'title="{escape(title)}">'
        for href, title in feeds
    )
    return (
        f"<!doctype html><html><head><title>A site</title>{links}</head>"
        "<body><p>Hello.</p></body></html>"
    ).encode()


@asynccontextmanager
async def feed_site() -> AsyncIterator[FeedSite]:
    site = FeedSite()
    app = web.Application()
    app.router.add_route("GET", "/{path:.*}", site._serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, HOST, 0)
    await tcp.start()
    site.port = int(runner.addresses[0][1])
    try:
        yield site
    finally:
        await runner.cleanup()
