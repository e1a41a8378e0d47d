"""check_url: http(s) to public addresses only, whatever the spelling of the host."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest

from services.feeds.guard import (
    FeedUrlRefused,
    HostNotFound,
    check_url,
    parse_allowed_hosts,
    resolve_host,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"

DNS = {
    "news.example": [PUBLIC_V4, PUBLIC_V6],
    "xn--bcher-kva.example": [PUBLIC_V4],
    "under_score.example": [PUBLIC_V4],
    "rebind.example": [PUBLIC_V4, "127.0.0.1"],  # one bad address among good ones
    "intranet.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "cgnat.example": ["100.64.0.7"],
    "v6-private.example": [PUBLIC_V6, "fd12:3456::1"],
    "v6-linklocal.example": ["fe80::1%eth0"],
    "mapped.example": ["::ffff:192.168.0.1"],
    "garbage.example": ["not-an-address"],
    "nothing.example": [],
}


class FakeResolver:
    """A DNS stand-in that records what it was asked."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = DNS if table is None else table
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


async def check(url: str, *, allowed: frozenset[str] = frozenset()) -> str:
    return await check_url(url, allowed_hosts=allowed, resolver=FakeResolver())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/feed.xml", "https://news.example/feed.xml"),
        # Scheme and host lowercased, default port, fragment and trailing dot dropped.
        ("HTTP://News.Example.:80/Feed?x=1#top", "http://news.example/Feed?x=1"),
        ("https://news.example", "https://news.example/"),
        ("https://news.example:8443/rss", "https://news.example:8443/rss"),
        ("http://news.example:443/rss", "http://news.example:443/rss"),
        # International names become punycode (UTS 46).
        ("https://Bücher.example/rss", "https://xn--bcher-kva.example/rss"),
        ("http://under_score.example/", "http://under_score.example/"),
        # An "@" in the path is no user name; escapes in path and query are kept.
        ("https://news.example/@writer/feed?q=a%20b", "https://news.example/@writer/feed?q=a%20b"),
        # Public literal addresses need no lookup.
        (f"http://{PUBLIC_V4}/rss", f"http://{PUBLIC_V4}/rss"),
        (f"http://[{PUBLIC_V6.upper()}]:8080/rss", f"http://[{PUBLIC_V6}]:8080/rss"),
        ("http://1572395042/", f"http://{PUBLIC_V4}/"),  # decimal spelling of the same
        # NAT64 and 6to4 addresses are judged by the IPv4 address they lead to.
        ("http://[64:ff9b::5db8:d822]/", "http://[64:ff9b::5db8:d822]/"),
        ("http://[2002:5db8:d822::1]/", "http://[2002:5db8:d822::1]/"),
    ],
)
async def test_public_urls_are_accepted_and_normalised(url: str, expected: str) -> None:
    assert await check(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://127.1.2.3:8080/feed", "loopback"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),  # decimal
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),  # hex, short form
        ("http://0x7F000001/", "127.0.0.1 is a loopback address"),
        ("http://0177.0.0.1/", "127.0.0.1 is a loopback address"),  # octal
        ("http://0177.1/", "127.0.0.1 is a loopback address"),
        ("http://127.0.0.1./", "127.0.0.1 is a loopback address"),
        ("http://１２７.０.０.１/", "127.0.0.1 is a loopback address"),  # fullwidth digits
        ("http://127。0。0。1/", "127.0.0.1 is a loopback address"),  # ideographic dots
        ("http://localhost/", "localhost is a loopback host"),
        ("http://LocalHost./", "localhost is a loopback host"),
        ("http://api.localhost/", "api.localhost is a loopback host"),
        ("http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "localhost is a loopback host"),  # IDN spelling
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[0:0:0:0:0:0:0:1]:80/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[2002:7f00:1::1]/", "loopback"),  # 6to4 around 127.0.0.1
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 around 10.0.0.1
        ("http://[::127.0.0.1]/", "reserved"),  # deprecated IPv4-compatible form
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://012.0.0.1/", "10.0.0.1 is a private address"),  # octal 10
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://0xa9fea9fe/", "169.254.169.254 is a link-local address"),
        ("http://100.64.0.1/", "100.64.0.1 is a shared (CGNAT) address"),
        ("http://100.127.255.254/", "CGNAT"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://0/", "0.0.0.0 is an unspecified address"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "240.0.0.1 is"),
        ("http://255.255.255.255/", "255.255.255.255 is"),
        ("http://[fc00::1]/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[fe80::1%25eth0]/", "zone identifiers"),
        ("http://[2001:db8::1]/", "2001:db8::1 is"),  # documentation range: not public either
    ],
)
async def test_non_public_addresses_are_refused_however_spelled(url: str, reason: str) -> None:
    with pytest.raises(FeedUrlRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        await check(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://news.example/feed", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("news.example/feed", "only http and https"),
        ("//news.example/feed", "only http and https"),
        ("http:///feed", "no host"),
        ("http://news.example@127.0.0.1/", "user name or password"),
        ("http://user:secret@news.example/", "user name or password"),
        ("http://127.0.0.1\\@news.example/", "backslashes"),
        ("http://news.example\\@127.0.0.1/", "backslashes"),
        ("http://news.example /", "spaces"),
        ("http://news.example/\nHost: 127.0.0.1", "control characters"),
        ("http://%31%32%37.0.0.1/", "not a valid IPv4 address"),  # percent-encoded host
        ("http://1.2.3.4.5/", "not a valid IPv4 address"),
        ("http://08.0.0.1/", "not a valid IPv4 address"),
        ("http://256.0.0.1/", "not a valid IPv4 address"),
        ("http://1.2.3.4294967296/", "not a valid IPv4 address"),
        ("http://news.0x/", "not a valid IPv4 address"),
        ("http://a..b/", "not a valid host name"),
        ("http://-bad.example/", "not a valid host name"),
        ("http://x.example:99999/", "not a valid URL"),
        ("http://x.example:0/", "port 0"),
        ("http://[::1/", "not a valid URL"),
        ("http://[1:2:3]/", "not a valid URL"),
        ("http://xn--.example/", "not a valid host name"),
    ],
)
async def test_malformed_and_tricky_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(FeedUrlRefused, match=reason):
        await check(url)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("rebind.example", r"rebind\.example \(127\.0\.0\.1\) is a loopback address"),
        ("intranet.example", r"intranet\.example \(10\.1\.2\.3\) is a private address"),
        ("metadata.example", "link-local"),
        ("cgnat.example", "CGNAT"),
        ("v6-private.example", "private"),
        ("v6-linklocal.example", "link-local"),
        ("mapped.example", "private"),
        ("garbage.example", "unusable address"),
    ],
)
async def test_names_resolving_to_any_bad_address_are_refused(host: str, reason: str) -> None:
    with pytest.raises(FeedUrlRefused, match=reason):
        await check(f"https://{host}/feed")


async def test_the_resolver_is_asked_for_the_normalised_host_and_port() -> None:
    resolver = FakeResolver()
    await check_url("HTTPS://NEWS.example.:8443/x", allowed_hosts=frozenset(), resolver=resolver)
    await check_url("http://news.example/x", allowed_hosts=frozenset(), resolver=resolver)
    assert resolver.asked == [("news.example", 8443), ("news.example", 80)]


@pytest.mark.parametrize("host", ["unknown.example", "nothing.example"])
async def test_unresolvable_hosts_raise_host_not_found(host: str) -> None:
    with pytest.raises(HostNotFound, match=f"cannot resolve host {host}"):
        await check(f"http://{host}/")


async def test_allowed_host_names_skip_the_check_entirely() -> None:
    resolver = FakeResolver()
    allowed = frozenset({"Intranet.Example.", "localhost"})
    for url in ("http://intranet.example/rss", "http://localhost:8080/rss"):
        assert await check_url(url, allowed_hosts=allowed, resolver=resolver) == url
    assert resolver.asked == []  # exempt names are not even looked up


async def test_allowed_addresses_cover_every_spelling_and_names_resolving_to_them() -> None:
    allowed = frozenset({"127.0.0.1", "[::1]", "10.1.2.3"})
    assert await check("http://127.0.0.1:8080/f", allowed=allowed) == "http://127.0.0.1:8080/f"
    assert await check("http://0x7f000001/f", allowed=allowed) == "http://127.0.0.1/f"
    assert await check("http://[::ffff:127.0.0.1]/f", allowed=allowed) == "http://[::ffff:7f00:1]/f"
    assert await check("http://[0::1]/f", allowed=allowed) == "http://[::1]/f"
    assert await check("http://intranet.example/f", allowed=allowed) == "http://intranet.example/f"


async def test_allowing_one_host_does_not_allow_others() -> None:
    allowed = frozenset({"127.0.0.1", "intranet.example", "not a host!"})
    for url in ("http://127.0.0.2/", "http://10.0.0.1/", "http://metadata.example/"):
        with pytest.raises(FeedUrlRefused):
            await check(url, allowed=allowed)
    with pytest.raises(FeedUrlRefused, match="user name or password"):
        await check("http://x@intranet.example/", allowed=allowed)
    with pytest.raises(FeedUrlRefused, match="only http and https"):
        await check("ftp://intranet.example/", allowed=allowed)


def test_parse_allowed_hosts_splits_on_commas() -> None:
    assert parse_allowed_hosts(" feeds.intranet ,10.0.0.5,, [::1] ") == frozenset(
        {"feeds.intranet", "10.0.0.5", "[::1]"}
    )
    assert parse_allowed_hosts("") == frozenset()


async def test_the_default_resolver_uses_getaddrinfo() -> None:
    # A numeric host: getaddrinfo answers without any DNS traffic.
    assert await resolve_host("127.0.0.1", 80) == ["127.0.0.1"]
    with pytest.raises(FeedUrlRefused, match="loopback"):
        await check_url("http://127.0.0.1/", allowed_hosts=frozenset())
