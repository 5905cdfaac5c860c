"""Fetching a remote image without server-side request forgery.

A catalogue CSV names image URLs; a hostile one could name our own network (the cloud
metadata service at 169.254.169.254, a database on 10.0.0.5, an admin port on 127.0.0.1).
So ``fetch`` takes only http(s), resolves the host itself, refuses the request when any
address the name resolves to is not public, connects to that vetted address (a second DNS
answer cannot swap it: no rebinding), checks the peer address of the open socket again, and
follows at most MAX_REDIRECTS redirects, each one checked the same way. Timeouts bound the
connect, each read and the whole fetch; the body is capped at MAX_BYTES (OWASP SSRF
prevention cheat sheet: allow-list schemes, validate resolved addresses, no blind redirects).
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from storefront.media.processing import MAX_BYTES

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 5.0  # seconds
READ_TIMEOUT = 10.0  # seconds without a byte
TOTAL_TIMEOUT = 30.0  # seconds for the whole fetch, redirects included
USER_AGENT = "storefront-image-fetcher/1"

Resolver = Callable[[str, int], list[str]]


class FetchRefused(ValueError):
    """A URL we did not fetch or could not fetch; ``str()`` is the reason for the merchant."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), as strings."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchRefused(f"the host {host!r} does not resolve ({exc})") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def address_allowed(address: str, allow_loopback: bool = False) -> bool:
    """True for a public unicast address. Loopback only with ``allow_loopback`` (tests);
    private, link-local, shared, reserved and multicast addresses never."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def fetch(url: str, *, allow_loopback: bool = False, max_bytes: int = MAX_BYTES,
          max_redirects: int = MAX_REDIRECTS, resolver: Resolver = resolve,
          read_timeout: float = READ_TIMEOUT) -> bytes:
    """The body of ``url`` (at most ``max_bytes``) after at most ``max_redirects`` redirects.

    Raises FetchRefused naming the reason: a scheme other than http(s), a host that
    resolves to a non-public address (at any hop), too many redirects, a status other than
    200, a body over ``max_bytes``, a timeout or a network error.
    """
    deadline = time.monotonic() + TOTAL_TIMEOUT
    for _hop in range(max_redirects + 1):
        status, location, body = _get(url, allow_loopback, max_bytes, resolver, read_timeout, deadline)
        if status in (301, 302, 303, 307, 308):
            if not location:
                raise FetchRefused(f"{_short(url)} redirects without a Location")
            url = urljoin(url, location)
            continue
        if status != 200:
            raise FetchRefused(f"{_short(url)} answered HTTP {status}")
        return body
    raise FetchRefused(f"more than {max_redirects} redirects")


def _get(url, allow_loopback, max_bytes, resolver, read_timeout, deadline) -> tuple[int, str | None, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https image URLs are fetched, not {parts.scheme or 'this'!r}")
    host = parts.hostname
    if not host:
        raise FetchRefused(f"{_short(url)} has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchRefused(f"{_short(url)} has a bad port") from exc
    addresses = resolver(host, port)
    refused = [a for a in addresses if not address_allowed(a, allow_loopback)]
    if not addresses or refused:
        raise FetchRefused(f"{host} is at {', '.join(refused) or 'no address'}: "
                           "private, loopback and link-local addresses are never fetched")
    timeout = min(CONNECT_TIMEOUT, max(deadline - time.monotonic(), 0.01))
    conn_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = conn_class(host, port, addresses[0], timeout, allow_loopback)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.connect()
        conn.sock.settimeout(read_timeout)
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
        response = conn.getresponse()
        if response.status != 200:
            return response.status, response.getheader("Location"), b""
        declared = response.getheader("Content-Length") or ""
        # ASCII digits only: "²".isdigit() is True yet int("²") fails; any other length is
        # ignored here and the streamed cap below still holds.
        if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
            raise FetchRefused(f"the image is {int(declared) / 1048576:.1f} MB; the limit is {max_bytes // 1048576} MB")
        chunks, size = [], 0
        while chunk := response.read(64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise FetchRefused(f"the image is over the {max_bytes // 1048576} MB limit")
            if time.monotonic() > deadline:
                raise FetchRefused(f"the fetch took over {TOTAL_TIMEOUT:.0f} s")
            chunks.append(chunk)
        return 200, None, b"".join(chunks)
    except TimeoutError as exc:
        raise FetchRefused(f"{host} timed out") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchRefused(f"{host}: {exc.__class__.__name__}: {exc}") from exc
    finally:
        conn.close()


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a vetted ``address`` (the Host header keeps the name)."""

    def __init__(self, host, port, address, timeout, allow_loopback):
        super().__init__(host, port, timeout=timeout)
        self._address, self._allow_loopback = address, allow_loopback

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        peer = self.sock.getpeername()[0]
        if not address_allowed(peer, self._allow_loopback):  # what we actually reached
            self.sock.close()
            raise FetchRefused(f"connected to {peer}, which is not a public address")


class _PinnedHTTPS(_PinnedHTTP):
    """HTTPS to a vetted address, with the certificate checked against the host name."""

    def connect(self):
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:117] + "..."
