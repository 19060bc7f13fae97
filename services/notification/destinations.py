"""Where a division's HR webhook may send: public https addresses, and whatever the operator allow-lists.

Pure rules (no I/O): the policy PUT checks the URL as written (`check_url`), the sender checks again after
resolving the name, once, and connects to the checked address (`check_resolved`), so a name that resolves
to a public address when the policy is saved and to an internal one when a notice is sent (DNS rebinding)
is refused, and so is any name that resolves to an internal address at all.

Refused unless the allow-list names them (`WEBHOOK_ALLOWED_HOSTS`):
- addresses that are not publicly routable: loopback, private (RFC 1918, IPv6 unique-local), link-local
  (169.254/16 with the cloud metadata address, fe80::/10), multicast, broadcast, reserved, unspecified,
  shared/CGNAT (100.64/10), documentation and benchmarking ranges, and whatever else `ipaddress` says is
  not global;
- IPv6 forms that carry such an IPv4 address: IPv4-mapped (`::ffff:127.0.0.1`), IPv4-compatible
  (`::127.0.0.1`), SIIT-translated, NAT64 (`64:ff9b::10.0.0.1`), 6to4 (`2002:7f00:1::`) and Teredo;
  and any IPv6 address with a zone id (`fe80::1%eth0`);
- every spelling of an IPv4 address that `inet_aton` (and so `getaddrinfo` and most HTTP clients) accepts:
  decimal (`2130706433`), hex (`0x7f000001`, `0x7f.1`), octal (`0177.0.0.1`), short (`127.1`). They are
  normalised with `socket.inet_aton` before the check; a host whose last label is a number but that is no
  valid address is refused (browsers and `getaddrinfo` read such hosts as addresses too);
- plain `http` (https is required outside the allow-list), and URLs with credentials (`user:pass@`).

The allow-list is comma- or space-separated: host names (`hr.example.internal`, exact, any port) and
addresses or networks (`127.0.0.1`, `10.20.0.0/16`, `::1`). A named host may use http and may resolve to
any address (the operator vouches for it); an address or network allows that literal host, and resolved
addresses inside it. It is empty by default: nothing internal is reachable until an operator says so.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ALLOW_VAR = "WEBHOOK_ALLOWED_HOSTS"


class DestinationRefused(ValueError):
    """A webhook URL or resolved address that may not be used. The message never carries a response."""


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), reason) for net, reason in pairs)


# IANA special-purpose registries, listed here (not only `ipaddress`'s flags, whose ranges changed between
# Python releases) so the same address gets the same answer everywhere.
BLOCKED_V4 = _nets(
    ("0.0.0.0/8", "unspecified"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared (CGNAT)"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "documentation"), ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"), ("198.18.0.0/15", "benchmarking"), ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"), ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)
BLOCKED_V6 = _nets(
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("64:ff9b:1::/48", "private (local NAT64)"),
    ("100::/64", "reserved (discard)"), ("2001::/23", "reserved"), ("2001:db8::/32", "documentation"),
    ("fc00::/7", "private"), ("fe80::/10", "link-local"), ("fec0::/10", "private (site-local)"),
    ("ff00::/8", "multicast"),
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIIT = ipaddress.ip_network("::ffff:0:0:0/96")
V4_COMPATIBLE = ipaddress.ip_network("::/96")

# A label that inet_aton reads as a number: decimal, octal (leading 0) or hex (0x...).
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?)*")


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, if any, with the name of the form."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in SIIT:
        return "IPv4-translated", ipaddress.IPv4Address(ip.packed[-4:])
    if ip in NAT64:
        return "NAT64", ipaddress.IPv4Address(ip.packed[-4:])
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        server, client = ip.teredo
        return "Teredo", client if blocked_reason(client) else server
    if ip in V4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(ip.packed[-4:])
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why this address may not be a webhook destination (None: a public address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "an IPv6 address with a zone id"
        embedded = _embedded_v4(ip)
        if embedded is not None:
            form, v4 = embedded
            inner = blocked_reason(v4)
            if inner:
                return f"{inner} ({form})"
            if form in ("IPv4-mapped", "IPv4-translated", "IPv4-compatible"):
                return f"an {form} IPv6 address"  # use the IPv4 address itself
            if form in ("NAT64", "6to4"):
                return None  # stands for a public IPv4 address (DNS64 answers so in IPv6-only networks)
    for net, reason in BLOCKED_V4 if ip.version == 4 else BLOCKED_V6:
        if ip in net:
            return reason
    for flag in ("is_loopback", "is_private", "is_link_local", "is_multicast", "is_reserved", "is_unspecified"):
        if getattr(ip, flag):
            return flag[3:].replace("_", "-")
    if not ip.is_global:
        return "not publicly routable"
    return None


def parse_host(host: str) -> IPAddress | str:
    """A URL's host as an address (every inet_aton spelling normalised) or a lower-case name.
    Raises DestinationRefused for what is neither, and for IPv6 zone ids."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "%" in text:
        raise DestinationRefused("an IPv6 zone id is not allowed")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            raise DestinationRefused("not a valid IPv6 address") from None
    text = text.lower()
    if text.endswith("."):
        text = text[:-1]
    labels = text.split(".")
    if labels and _NUMERIC_LABEL.fullmatch(labels[-1]):
        # An address in some spelling (or meant to look like one): inet_aton decides, as resolvers do.
        if not all(_NUMERIC_LABEL.fullmatch(label) for label in labels) or len(labels) > 4:
            raise DestinationRefused("a host ending in a number must be a valid IPv4 address")
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            raise DestinationRefused("a host ending in a number must be a valid IPv4 address") from None
    try:
        text = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        raise DestinationRefused("not a valid host name") from None
    if not text or len(text) > 253 or not _HOST_NAME.fullmatch(text):
        raise DestinationRefused("not a valid host name")
    return text


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        """`WEBHOOK_ALLOWED_HOSTS`: names, addresses and networks; a bad entry raises ValueError naming it."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (text or "").replace(",", " ").split():
            try:
                if "/" in entry:
                    networks.append(ipaddress.ip_network(entry.strip("[]"), strict=True))
                    continue
                host = parse_host(entry)
            except (DestinationRefused, ValueError) as exc:
                raise ValueError(f"{ALLOW_VAR}: {entry!r} is not a host name, address or network ({exc})") from None
            if isinstance(host, str):
                hosts.add(host)
            else:
                networks.append(ipaddress.ip_network(host))
        return cls(frozenset(hosts), tuple(networks))

    def covers(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)

    def names(self, host: IPAddress | str) -> bool:
        """The URL's host itself is allow-listed (by name, or as an address inside a listed network)."""
        return host in self.hosts if isinstance(host, str) else self.covers(host)


@dataclass(frozen=True)
class Destination:
    scheme: str  # "http" or "https"
    host: IPAddress | str  # normalised
    port: int
    target: str  # path and query, as written
    host_header: str  # what the Host header says (the host as written in the URL, and its port)
    allowed: bool  # the allow-list names the host: http allowed, any resolved address allowed

    @property
    def hostname(self) -> str | None:
        return self.host if isinstance(self.host, str) else None


def check_url(url: str, allow: AllowList) -> Destination:
    """The URL's destination if it may be used as written; raises DestinationRefused saying why not.
    Names are resolved and checked again when sending (`check_resolved`)."""
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:
        raise DestinationRefused("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DestinationRefused("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("credentials in the URL are not allowed")
    if not hostname:
        raise DestinationRefused("the URL has no host")
    try:
        port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise DestinationRefused("the URL's port is not valid")
    host = parse_host(hostname)
    allowed = allow.names(host)
    if scheme != "https" and not allowed:
        raise DestinationRefused("must be an https URL (http only for hosts in the operator's allow-list)")
    if not isinstance(host, str) and not allowed:
        reason = blocked_reason(host)
        if reason:
            raise DestinationRefused(f"the address is {reason}; only public addresses are allowed")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme, host, port, target, parts.netloc, allowed)


def check_resolved(destination: Destination, addresses: list[IPAddress], allow: AllowList) -> IPAddress:
    """The address to connect to, once the host is resolved: every address it resolves to must be allowed
    (the first is used), so no answer of a rebinding resolver gets through."""
    if not isinstance(destination.host, str):
        return destination.host
    if not addresses:
        raise DestinationRefused("the host name did not resolve")
    if not destination.allowed:
        for ip in addresses:
            reason = None if allow.covers(ip) else blocked_reason(ip)
            if reason:
                raise DestinationRefused(f"the host name resolves to an address that is {reason}")
    return addresses[0]
