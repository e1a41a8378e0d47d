"""fetch_feed against httpx.MockTransport: never the network, never an exception."""

from __future__ import annotations

import asyncio
import gzip
import re
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import httpx
import pytest

from services.feeds.fetch import ACCEPT, USER_AGENT, FetchResult, fetch_feed

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


async def public_dns(host: str, port: int) -> Sequence[str]:
    """Every *.example name is public, except those named after private places."""
    if host.startswith("private."):
        return ["10.0.0.8"]
    if host.endswith(".example"):
        return ["93.184.216.34"]
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class Server:
    """A MockTransport handler that records every request it receives."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.handler(request)
        return await response if isinstance(response, Awaitable) else response

    @property
    def urls(self) -> list[str]:
        return [str(request.url) for request in self.requests]


class Chunks(httpx.AsyncByteStream):
    """A response body arriving in chunks, counting how many were read."""

    def __init__(self, chunks: list[bytes], delay: float = 0.0) -> None:
        self.chunks = chunks
        self.delay = delay
        self.sent = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if self.delay:
                await asyncio.sleep(self.delay)
            self.sent += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


async def fetch(
    handler: Handler, url: str = "https://news.example/feed.xml", **options: object
) -> tuple[FetchResult, Server]:
    server = Server(handler)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        result = await fetch_feed(client, url, resolver=public_dns, **options)  # type: ignore[arg-type]
    return result, server


# --- success and conditional GET ---------------------------------------------------------


async def test_a_feed_is_fetched_with_proper_headers_and_its_validators() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"ETag": '"v1"', "Last-Modified": "Tue, 14 May 2024 09:30:00 GMT"}
        return httpx.Response(200, content=FEED, headers=headers)

    result, server = await fetch(handler, "HTTPS://News.Example:443/feed.xml#x")
    assert result == FetchResult(
        "ok", FEED, '"v1"', "Tue, 14 May 2024 09:30:00 GMT",
        "https://news.example/feed.xml", None, 200,
    )  # fmt: skip
    (request,) = server.requests
    assert request.headers["User-Agent"] == USER_AGENT == "newsbot/0.1 (+feed reader)"
    assert request.headers["Accept"] == ACCEPT
    assert "application/rss+xml" in ACCEPT and "application/atom+xml" in ACCEPT
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in request.headers


async def test_validators_are_sent_and_304_means_not_modified() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        fresh = request.headers.get("If-None-Match") == '"v1"'
        return httpx.Response(304, headers={"ETag": '"v1"'}) if fresh else httpx.Response(200)

    modified = "Tue, 14 May 2024 09:30:00 GMT"
    result, server = await fetch(handler, etag='"v1"', last_modified=modified)
    assert server.requests[0].headers["If-Modified-Since"] == modified
    # The server repeated only the ETag: the Last-Modified sent is carried over.
    assert result == FetchResult(
        "not_modified", None, '"v1"', modified, "https://news.example/feed.xml", None, 304
    )


async def test_a_full_response_without_validators_clears_them() -> None:
    result, _ = await fetch(lambda _: httpx.Response(200, content=FEED), etag='"old"')
    assert (result.status, result.etag, result.last_modified) == ("ok", None, None)


async def test_an_empty_success_is_ok_with_an_empty_body() -> None:
    result, _ = await fetch(lambda _: httpx.Response(204))
    assert (result.status, result.body, result.http_status) == ("ok", b"", 204)


# --- encodings and the size cap ----------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_compressed_responses_are_decoded(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    # A stream, as from a real connection (content= would be decoded by httpx itself).
    stream = Chunks([compress(FEED)])
    headers = {"Content-Encoding": encoding}
    result, _ = await fetch(lambda _: httpx.Response(200, stream=stream, headers=headers))
    assert (result.status, result.body) == ("ok", FEED)


async def test_a_gzip_stream_in_chunks_is_decoded() -> None:
    packed = gzip.compress(FEED * 100)
    stream = Chunks([packed[i : i + 50] for i in range(0, len(packed), 50)])
    headers = {"Content-Encoding": "gzip"}
    result, _ = await fetch(lambda _: httpx.Response(200, stream=stream, headers=headers))
    assert result.body == FEED * 100


@pytest.mark.parametrize(
    ("headers", "content", "error"),
    [
        ({"Content-Encoding": "br"}, b"\x1b\x00", "unsupported content encoding br"),
        ({"Content-Encoding": "gzip, gzip"}, b"", "unsupported content encoding gzip, gzip"),
        (
            {"Content-Encoding": "gzip"},
            b"plain, not gzip",
            "could not decompress the gzip response",
        ),
    ],
)
async def test_bad_encodings_are_errors(
    headers: dict[str, str], content: bytes, error: str
) -> None:
    stream = Chunks([content])
    result, _ = await fetch(lambda _: httpx.Response(200, stream=stream, headers=headers))
    assert (result.status, result.error, result.body) == ("error", error, None)


@pytest.mark.parametrize("streamed", [True, False])
async def test_a_body_of_exactly_the_cap_is_fine(streamed: bool) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        if streamed:
            return httpx.Response(200, stream=Chunks([b"x" * 600, b"x" * 400]))
        return httpx.Response(200, content=b"x" * 1000)  # already in memory, as in mocks

    result, _ = await fetch(handler, max_bytes=1000)
    assert result.status == "ok" and result.body == b"x" * 1000
    result, _ = await fetch(handler, max_bytes=999)
    assert (result.status, result.error) == ("error", "feed larger than 999 bytes")


async def test_a_declared_oversized_body_is_refused_before_reading() -> None:
    stream = Chunks([b"x" * 1000] * 10)
    headers = {"Content-Length": "10000"}
    result, _ = await fetch(
        lambda _: httpx.Response(200, stream=stream, headers=headers), max_bytes=5000
    )
    assert (result.status, result.error) == ("error", "feed larger than 5000 bytes")
    assert result.http_status == 200
    assert stream.sent == 0 and stream.closed


async def test_a_streamed_oversized_body_stops_at_the_cap() -> None:
    stream = Chunks([b"x" * 1000] * 100)  # no Content-Length: only counting can tell
    result, _ = await fetch(lambda _: httpx.Response(200, stream=stream), max_bytes=5000)
    assert (result.status, result.error) == ("error", "feed larger than 5000 bytes")
    assert stream.sent == 6 and stream.closed


async def test_a_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # about 50 kB on the wire
    stream = Chunks([bomb[i : i + 16384] for i in range(0, len(bomb), 16384)])
    headers = {"Content-Encoding": "gzip"}
    result, _ = await fetch(
        lambda _: httpx.Response(200, stream=stream, headers=headers), max_bytes=1_000_000
    )
    assert (result.status, result.error) == ("error", "feed larger than 1000000 bytes")


# --- redirects ---------------------------------------------------------------------------


def redirects(chain: dict[str, tuple[int, str]]) -> Handler:
    """Redirect each URL in the chain (status, Location); serve the feed anywhere else."""

    def handler(request: httpx.Request) -> httpx.Response:
        hop = chain.get(str(request.url))
        if hop is None:
            return httpx.Response(200, content=FEED)
        return httpx.Response(hop[0], headers={"Location": hop[1]})

    return handler


async def test_a_redirect_chain_is_followed_hop_by_hop() -> None:
    chain = {
        "https://news.example/feed.xml": (301, "/rss/"),  # relative
        "https://news.example/rss/": (302, "//cdn.example/rss.xml"),  # scheme-relative
        "https://cdn.example/rss.xml": (307, "HTTPS://Feeds.Example/final?a=1#frag"),
    }
    result, server = await fetch(redirects(chain))
    assert (result.status, result.body, result.http_status) == ("ok", FEED, 200)
    assert result.final_url == "https://feeds.example/final?a=1"
    assert server.urls == [*chain, "https://feeds.example/final?a=1"]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://127.0.0.1/admin", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/admin", "127.0.0.1 is a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://private.example/", r"private\.example \(10\.0\.0\.8\) is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/", "loopback"),
        ("http://localhost/", "loopback host"),
        ("file:///etc/passwd", "only http and https"),
        ("http://news.example@127.0.0.1/", "user name or password"),
    ],
)
async def test_a_redirect_to_a_forbidden_place_is_refused(location: str, reason: str) -> None:
    chain = {
        "https://news.example/feed.xml": (302, "https://cdn.example/feed"),
        "https://cdn.example/feed": (301, location),
    }
    result, server = await fetch(redirects(chain))
    assert result.status == "error" and result.body is None
    assert result.error is not None
    assert result.error.startswith(f"redirect to {location} refused: ")
    assert re.search(reason, result.error)
    assert result.http_status == 301
    assert server.urls == list(chain)  # the forbidden URL was never requested


async def test_redirects_are_checked_even_when_the_client_follows_them() -> None:
    server = Server(redirects({"https://news.example/feed.xml": (302, "http://127.0.0.1/")}))
    transport = httpx.MockTransport(server)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        result = await fetch_feed(client, "https://news.example/feed.xml", resolver=public_dns)
    assert result.status == "error" and "refused" in (result.error or "")
    assert server.urls == ["https://news.example/feed.xml"]


async def test_an_allowed_host_may_be_redirected_to() -> None:
    chain = {"https://news.example/feed.xml": (308, "http://127.0.0.1:8080/feed")}
    result, _ = await fetch(redirects(chain), allowed_hosts=frozenset({"127.0.0.1"}))
    assert (result.status, result.final_url) == ("ok", "http://127.0.0.1:8080/feed")


@pytest.mark.parametrize(("limit", "status"), [(3, "ok"), (2, "error")])
async def test_redirects_are_limited(limit: int, status: str) -> None:
    chain = {
        "https://news.example/feed.xml": (301, "https://news.example/1"),
        "https://news.example/1": (302, "https://news.example/2"),
        "https://news.example/2": (303, "https://news.example/3"),
    }
    result, server = await fetch(redirects(chain), max_redirects=limit)
    assert result.status == status
    if status == "error":
        assert result.error == "more than 2 redirects"
        assert len(server.requests) == 3


async def test_a_redirect_loop_ends() -> None:
    chain = {
        "https://news.example/feed.xml": (302, "https://news.example/b"),
        "https://news.example/b": (302, "https://news.example/feed.xml"),
    }
    result, server = await fetch(redirects(chain))
    assert (result.status, result.error) == ("error", "more than 5 redirects")
    assert len(server.requests) == 6


async def test_urls_httpx_cannot_use_are_errors() -> None:
    huge = "https://news.example/" + "a" * 70_000  # longer than httpx accepts
    result, server = await fetch(lambda _: httpx.Response(200), huge)
    assert (result.status, result.error) == ("error", "invalid URL: URL too long")
    result, server = await fetch(redirects({"https://news.example/feed.xml": (302, huge)}))
    assert result.status == "error"
    assert result.error == (
        "the server broke the HTTP protocol: Invalid URL in location header: URL too long."
    )
    assert len(server.requests) == 1


async def test_a_redirect_without_location_is_an_error() -> None:
    result, _ = await fetch(lambda _: httpx.Response(302))
    assert (result.status, result.error, result.http_status) == (
        "error", "HTTP 302 redirect without a Location", 302,
    )  # fmt: skip


# --- refusals and failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1/feed", "refused: 127.0.0.1 is a loopback address"),
        ("http://2130706433/feed", "refused: 127.0.0.1 is a loopback address"),
        ("ftp://news.example/feed", "refused: only http and https feed URLs are allowed"),
        ("https://nowhere.invalid/feed", "cannot resolve host nowhere.invalid"),
    ],
)
async def test_a_refused_or_unresolvable_url_is_never_requested(url: str, error: str) -> None:
    result, server = await fetch(lambda _: httpx.Response(200, content=FEED), url)
    assert result == FetchResult("error", None, None, None, url, error, None)
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (429, "HTTP 429 Too Many Requests"),
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
        (300, "HTTP 300 Multiple Choices"),
    ],
)
async def test_http_errors_are_reported_with_their_code(status: int, error: str) -> None:
    result, _ = await fetch(lambda _: httpx.Response(status, content=b"<html>oops</html>"))
    assert (result.status, result.error, result.http_status, result.body) == (
        "error", error, status, None,
    )  # fmt: skip


def raises(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ReadTimeout("timed out"), "timed out waiting for the server"),
        (httpx.ConnectTimeout("timed out"), "timed out connecting"),
        (httpx.WriteTimeout("timed out"), "timed out sending the request"),
        (httpx.PoolTimeout("timed out"), "timed out waiting for a free connection"),
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "could not connect: [Errno 111] Connection refused",
        ),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                "self-signed certificate (_ssl.c:1006)"
            ),
            "TLS error: certificate verify failed: self-signed certificate",
        ),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "the server broke the HTTP protocol: Server disconnected without sending a response.",
        ),
        (httpx.ReadError(""), "connection lost: ReadError"),
        (ConnectionResetError(104, "Connection reset by peer"), "network error: [Errno 104] "
         "Connection reset by peer"),
    ],
)  # fmt: skip
async def test_network_failures_become_short_reasons(exc: Exception, error: str) -> None:
    result, _ = await fetch(raises(exc))
    assert result == FetchResult(
        "error", None, None, None, "https://news.example/feed.xml", error, None
    )


async def test_a_tls_failure_is_recognised_by_its_cause() -> None:
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed: hostname mismatch")
    exc = httpx.ConnectError("handshake failed")
    exc.__cause__ = cause
    result, _ = await fetch(raises(exc))
    assert result.error == "TLS error: handshake failed"


async def test_a_failure_in_the_middle_of_the_body_is_an_error() -> None:
    class Broken(Chunks):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"<rss>"
            raise httpx.ReadError("connection reset")

    result, _ = await fetch(lambda _: httpx.Response(200, stream=Broken([])))
    assert (result.status, result.error, result.http_status) == (
        "error", "connection lost: connection reset", 200,
    )  # fmt: skip


async def test_a_slow_server_hits_the_total_timeout() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, content=FEED)

    result, _ = await fetch(slow, timeout=0.05)
    assert (result.status, result.error, result.http_status) == (
        "error", "timed out after 0.05 s", None,
    )  # fmt: skip


async def test_a_trickling_body_hits_the_total_timeout() -> None:
    stream = Chunks([b"x"] * 1000, delay=0.01)  # each chunk is quick, the whole is not
    result, _ = await fetch(lambda _: httpx.Response(200, stream=stream), timeout=0.2)
    assert (result.status, result.error, result.http_status) == (
        "error", "timed out after 0.2 s", 200,
    )  # fmt: skip
    assert 5 < stream.sent < 1000 and stream.closed


async def test_the_timeout_covers_the_whole_redirect_chain() -> None:
    async def slow_hops(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.04)
        return httpx.Response(302, headers={"Location": f"{request.url}x"})

    result, server = await fetch(slow_hops, timeout=0.1, max_redirects=10)
    assert result.error == "timed out after 0.1 s"
    assert 1 <= len(server.requests) <= 3  # of the 11 hops allowed
