"""SSRF guard: a feed URL must be http(s) and reach only public addresses.

Every spelling of a host is reduced to the one the connection will use before it is
judged: numeric IPv4 forms that getaddrinfo accepts (``2130706433``, ``0x7f.1``,
``0177.0.0.1``) become dotted quads, international names become punycode (UTS 46, so
``ⓛⓞⓒⓐⓛⓗⓞⓢⓣ`` is ``localhost``), a trailing dot goes. URLs with credentials are
refused outright, so ``http://good.example@127.0.0.1/`` never reaches the check as
"good.example". Host names must resolve to public addresses only: one bad address is
enough to refuse. The URL returned is rebuilt from the checked parts, so the client
connects to exactly the host that was checked. A host named in ``allowed_hosts`` (or
an address listed there) is exempt, for tests and intranets.

Not covered: DNS rebinding between this check and the client's own lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Looks up a host name for a port: the addresses it resolves to, as strings.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")  # not "private" to Python 3.11, not public
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMBER_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
# Characters that parsers disagree about (WHATWG reads "\" as "/"): never in a feed URL.
_AMBIGUOUS = re.compile(r"[\\\s\x00-\x1f\x7f]")


class FeedUrlRefused(Exception):
    """A URL that must not be fetched; the message says why, for a human."""


class HostNotFound(FeedUrlRefused):
    """The host name does not resolve: perhaps a passing DNS failure, not a forbidden host."""


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to, through the event loop's getaddrinfo."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_allowed_hosts(setting: str) -> frozenset[str]:
    """Split a FEED_ALLOWED_HOSTS value ("intranet.example, 10.0.0.5, [::1]") into hosts."""
    return frozenset(part.strip() for part in setting.split(",") if part.strip())


# As long as a feed's address may be stored (storage.models.Feed.url).
MAX_FEED_URL_LENGTH = 2048


async def check_feed_url(
    url: str, *, allowed_hosts: frozenset[str], resolver: Resolver = resolve_host
) -> str:
    """check_url for an address to be stored as a feed: one too long to keep is refused, never
    kept cut short (a cut address is another one). Redirects a fetch follows are not stored,
    so they go through check_url alone."""
    if len(url.strip()) > MAX_FEED_URL_LENGTH:
        raise FeedUrlRefused(f"the URL is longer than {MAX_FEED_URL_LENGTH} characters")
    return await check_url(url, allowed_hosts=allowed_hosts, resolver=resolver)


async def check_url(
    url: str, *, allowed_hosts: frozenset[str], resolver: Resolver = resolve_host
) -> str:
    """Return the normalised URL when it may be fetched; raise FeedUrlRefused otherwise."""
    host, address, port, normalised = _split(url)
    names, addresses = _allowed(allowed_hosts)
    if host in names:
        return normalised
    if address is not None:
        _check_address(address, addresses, host)
        return normalised
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        raise FeedUrlRefused(f"{host} is a loopback host")
    try:
        found = await resolver(host, port)
    except OSError as exc:  # socket.gaierror and friends
        raise HostNotFound(f"cannot resolve host {host}") from exc
    if not found:
        raise HostNotFound(f"cannot resolve host {host}")
    for text in found:
        try:
            resolved = ipaddress.ip_address(text.partition("%")[0])
        except ValueError as exc:
            raise FeedUrlRefused(f"{host} resolves to an unusable address") from exc
        _check_address(resolved, addresses, host)
    return normalised


def _split(url: str) -> tuple[str, IPAddress | None, int, str]:
    """Host, its address when it is a literal, port and the rebuilt URL."""
    url = url.strip()
    if _AMBIGUOUS.search(url):
        raise FeedUrlRefused("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FeedUrlRefused(f"not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise FeedUrlRefused("only http and https feed URLs are allowed")
    if "@" in parts.netloc:
        raise FeedUrlRefused("feed URLs with a user name or password are not supported")
    if not parts.hostname:
        raise FeedUrlRefused("the URL has no host")
    if port == 0:
        raise FeedUrlRefused("port 0 is not a valid port")
    host, address = _normalise_host(parts.hostname)
    netloc = f"[{host}]" if isinstance(address, ipaddress.IPv6Address) else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    query = f"?{parts.query}" if parts.query else ""
    # Rebuilt from the checked parts: the client cannot read another host into it.
    normalised = f"{scheme}://{netloc}{parts.path or '/'}{query}"
    return host, address, port or _DEFAULT_PORTS[scheme], normalised


def _normalise_host(hostname: str) -> tuple[str, IPAddress | None]:
    """The host as the client will use it (lowercase ASCII), and its address if a literal."""
    if ":" in hostname:  # urlsplit has removed the brackets of an IPv6 literal
        if "%" in hostname:
            raise FeedUrlRefused("IPv6 zone identifiers are not allowed")
        try:
            v6 = ipaddress.IPv6Address(hostname)
        except ValueError as exc:
            raise FeedUrlRefused(f"{hostname} is not a valid IPv6 address") from exc
        return v6.compressed, v6
    host = hostname.lower()
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise FeedUrlRefused(f"{hostname} is not a valid host name") from exc
    host = host.removesuffix(".")
    labels = host.split(".")
    if _NUMBER_LABEL.fullmatch(labels[-1]):
        v4 = _numeric_ipv4(labels)
        return str(v4), v4
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise FeedUrlRefused(f"{hostname} is not a valid host name")
    return host, None


def _numeric_ipv4(labels: list[str]) -> ipaddress.IPv4Address:
    """Read an IPv4 host the way inet_aton and browsers do: 1 to 4 decimal/octal/hex parts."""
    invalid = FeedUrlRefused(f"{'.'.join(labels)} is not a valid IPv4 address")
    if len(labels) > 4:
        raise invalid
    numbers = []
    for label in labels:
        try:
            if label.startswith("0x"):
                numbers.append(int(label[2:] or "0", 16))
            elif len(label) > 1 and label.startswith("0"):
                numbers.append(int(label, 8))
            else:
                numbers.append(int(label, 10))
        except ValueError as exc:
            raise invalid from exc
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise invalid
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _allowed(hosts: Iterable[str]) -> tuple[set[str], set[IPAddress]]:
    """Exempt host names and addresses, normalised like URL hosts (bad entries are ignored)."""
    names: set[str] = set()
    addresses: set[IPAddress] = set()
    for entry in hosts:
        try:
            host, address = _normalise_host(entry.strip().strip("[]"))
        except FeedUrlRefused:
            continue
        names.add(host)
        if address is not None:
            addresses.add(address)
    return names, addresses


def _check_address(address: IPAddress, allowed: set[IPAddress], host: str) -> None:
    embedded = _embedded_ipv4(address)
    if address in allowed or embedded in allowed:
        return
    # An address that embeds an IPv4 one is judged by where it leads.
    problem = _address_problem(address if embedded is None else embedded)
    if problem is not None:
        where = str(address) if host == address.compressed else f"{host} ({address})"
        raise FeedUrlRefused(f"{where} is {problem}")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _address_problem(address: IPAddress) -> str | None:
    """Why an address is off limits ("a loopback address"), or None for a public one."""
    cgnat = isinstance(address, ipaddress.IPv4Address) and address in _CGNAT
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (cgnat, "a shared (CGNAT) address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), None)
