"""canonicalize_url: one spelling per link, None for anything that is not http(s)."""

from __future__ import annotations

import pytest

from services.urls import canonicalize_url, is_http_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Scheme and host lowercased, default port and fragment dropped, path case kept.
        ("HTTP://News.Example.COM:80/World/Story#comments", "http://news.example.com/World/Story"),
        ("https://news.example.com:443", "https://news.example.com/"),
        ("https://news.example.com:8443/a", "https://news.example.com:8443/a"),
        ("http://news.example.com:443/a", "http://news.example.com:443/a"),
        # Tracking parameters dropped, whatever their case; the rest sorted by key.
        (
            "https://n.example/a?utm_source=tw&b=2&UTM_Campaign=x&a=1&fbclid=abc&gclid=1",
            "https://n.example/a?a=1&b=2",
        ),
        (
            "https://n.example/a?mc_cid=1&mc_eid=2&ref=home&ref_src=twsrc&igshid=3&yclid=4"
            "&_ga=5&spm=6&cmpid=7&ocid=8",
            "https://n.example/a",
        ),
        ("https://n.example/a?", "https://n.example/a"),
        ("https://n.example/a?&&id=5&", "https://n.example/a?id=5"),
        # Repeated keys keep their relative order; values keep their encoding.
        ("https://n.example/s?q=a+b&page=2&q=c%20d", "https://n.example/s?page=2&q=a+b&q=c%20d"),
        ("https://n.example/s?flag&x=", "https://n.example/s?flag&x="),
        # www. is a different host and stays.
        ("https://www.n.example/a", "https://www.n.example/a"),
        # IDN hosts become punycode; non-ASCII and spaces in the path are percent-encoded.
        ("https://b\u00fccher.example/stra\u00dfe", "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://n.example/a b/%7euser/%zz", "https://n.example/a%20b/%7Euser/%25zz"),
        # Credentials are never part of the canonical link; a trailing dot on the host goes.
        ("https://user:secret@n.example./a", "https://n.example/a"),
        ("http://[2001:DB8::0001]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("  https://n.example/padded  ", "https://n.example/padded"),
        ("http://under_score.n.example/x", "http://under_score.n.example/x"),
        # The longest host name DNS allows: 253 characters.
        ("http://" + "a." * 126 + "a/", "http://" + "a." * 126 + "a/"),
    ],
)
def test_canonical_form(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected
    assert canonicalize_url(expected) == expected  # idempotent
    assert is_http_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://n.example/file",
        "mailto:desk@n.example",
        "javascript:alert(1)",
        "//n.example/no-scheme",
        "/relative/path",
        "https://",
        "http://[::1",
        "http://n.example:99999/",
        "http://n.example:port/",
        "http://bad..host/",
        "http://bad host/",
        "http://n.example/\x00null",
        "http://" + "a" * 64 + ".example/",
        "http://" + "a." * 127 + "a/",
        "http://.n.example/",
        "http://n.example\uff0fevil/",
    ],
)
def test_invalid_urls(url: str) -> None:
    assert canonicalize_url(url) is None
    assert not is_http_url(url)
