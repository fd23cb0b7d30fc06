"""Where outbound calls may go: the credit, event, alert and helpdesk webhooks reach public
addresses only, so a URL someone sets cannot make the service call inside its own network
(cloud metadata, Redis, the database, other internal services).

`web_address` checks a URL's form (also for links that are only shown, such as the
organisation's privacy link); `url_problem` checks a URL when it is saved or read from the
settings, its form and where it goes; `checked_session`
makes the calls, each connection resolving the host itself, checking every address it gets
and connecting to a checked one (no second lookup, so a name that changes its answer between
the check and the connect cannot slip past), with no environment proxy and no redirects
followed (callers pass allow_redirects=False). FOLLOWUP_ALLOW_PRIVATE_TARGETS lets loopback
and private addresses through (a deployment posting to its own network, the tests'
emulator); link-local (the metadata address), multicast, unspecified and reserved addresses
are refused even then.
"""

import functools
import ipaddress
import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util import Url, parse_url
from urllib3.util.connection import allowed_gai_family, create_connection

# What each kind of address is, for the messages; the first two are what
# FOLLOWUP_ALLOW_PRIVATE_TARGETS lets through.
KINDS = {
    "loopback": "a loopback address (this machine)",
    "private": "a private address (an internal network)",
    "link-local": "a link-local address (where cloud metadata lives)",
    "multicast": "a multicast address",
    "unspecified": "an unspecified address",
    "reserved": "a reserved address",
}
PRIVATE_KINDS = ("loopback", "private")
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; some clouds' metadata
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.x.x.x reaches this machine on Linux
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NOT_A_WEB_ADDRESS = "Enter a full web address starting with https:// or http://"
USER_INFO = "Leave any user name and password out of the address"


class RefusedTarget(Exception):
    """A call's host is, or resolves to, an address the service does not call."""


def _unwrapped(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address a connection really reaches: IPv4-mapped (::ffff:127.0.0.1), NAT64 and
    6to4 forms as the IPv4 address they carry."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour:
            return ip.sixtofour
    return ip


def address_kind(address: str) -> str | None:
    """What kind of non-public address this is (a key of KINDS), or None for a public one."""
    ip = _unwrapped(address)
    if ip.is_unspecified or ip in THIS_NETWORK:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or ip in SHARED:
        return "private"
    return None if ip.is_global else "reserved"


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _localhost(host: str) -> bool:
    """localhost and names under it, loopback whatever a resolver says (RFC 6761)."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _refusal(host: str, addresses: list[str], allow_private: bool) -> str | None:
    for address in addresses:
        kind = address_kind(address)
        if kind is None or (allow_private and kind in PRIVATE_KINDS):
            continue
        where = f"{host} is" if _literal(host) else f"{host} resolves to {address},"
        return f"refused: {where} {KINDS[kind]}"
    return None


def checked_addresses(
    host: str, port: int | None, allow_private: bool, names: bool = True
) -> list[str]:
    """The addresses a connection to `host` would try, as the connection's own lookup finds
    them (odd spellings such as 2130706433 or 0x7f.1 included), every one checked; only
    literal addresses are looked up when not `names`. RefusedTarget when one is refused (a
    localhost name before any lookup); socket.gaierror when there are none."""
    if _localhost(host) and not allow_private:
        raise RefusedTarget(f"refused: {host} is {KINDS['loopback']}")
    flags = 0 if names else socket.AI_NUMERICHOST
    found = socket.getaddrinfo(
        host.strip("[]"), port, allowed_gai_family(), socket.SOCK_STREAM, 0, flags
    )
    addresses = list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
    refused = _refusal(host, addresses, allow_private)
    if refused:
        raise RefusedTarget(refused)
    return addresses


def web_address(url: str) -> tuple[Url | None, str | None]:
    """(Its parts, None) when the URL has a web address's form: http or https, a host, no
    user name or password, printable and without whitespace; else (None, why not). Nothing
    is resolved: where it goes is url_problem's."""
    if any(char.isspace() or not char.isprintable() for char in url):
        return None, NOT_A_WEB_ADDRESS
    try:
        parts = parse_url(url)
    except LocationParseError:
        return None, NOT_A_WEB_ADDRESS
    if parts.scheme not in ("http", "https") or not parts.host:
        return None, NOT_A_WEB_ADDRESS
    if parts.auth is not None:
        return None, USER_INFO
    return parts, None


def url_problem(url: str, allow_private: bool, names: bool = True) -> str | None:
    """Why outbound calls may not go to this URL, or None: an http(s) URL with a host, no
    user name or password, whose host is no address the service refuses. Names are resolved
    when `names` (a name that does not resolve now is left to the check at connect time);
    otherwise only literal addresses and localhost names are checked."""
    parts, problem = web_address(url)
    if parts is None or parts.host is None:
        return problem or NOT_A_WEB_ADDRESS
    try:
        checked_addresses(parts.host, parts.port, allow_private, names)
    except RefusedTarget as refused:
        return str(refused)
    except (socket.gaierror, UnicodeError):
        return None
    return None


class _CheckedHTTPConnection(HTTPConnection):
    """A connection that resolves its host once, refuses it when any address is refused,
    and connects to a checked address; TLS still uses the host name (SNI, certificate)."""

    allow_private = False

    def _new_conn(self) -> socket.socket:
        try:
            addresses = checked_addresses(self._dns_host, self.port, self.allow_private)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        failure: Exception | None = None
        for address in addresses:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError:
                failure = ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                )
            except OSError as error:
                failure = NewConnectionError(self, f"Failed to establish a new connection: {error}")
        assert failure is not None  # getaddrinfo returns at least one address
        raise failure


@functools.cache
def _pool_classes(allow_private: bool) -> dict[str, type[HTTPConnectionPool]]:
    plain = type(
        "CheckedHTTPConnection", (_CheckedHTTPConnection,), {"allow_private": allow_private}
    )
    tls = type("CheckedHTTPSConnection", (plain, HTTPSConnection), {})
    return {
        "http": type("CheckedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("CheckedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }


class _CheckedAdapter(HTTPAdapter):
    """requests' adapter whose connections check their addresses (no proxy: a proxy would
    connect for us, past the check)."""

    __attrs__ = [*HTTPAdapter.__attrs__, "allow_private"]

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allow_private)


def checked_session(allow_private: bool) -> requests.Session:
    """A keep-alive session whose calls reach only addresses url_problem would accept,
    directly (environment proxies and .netrc ignored)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _CheckedAdapter(allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
