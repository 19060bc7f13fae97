"""Where a webhook may go (pure rules): a table of hostile spellings of internal addresses, all refused;
public destinations and the operator's allow-list, accepted."""

import ipaddress
import socket

import pytest

from services.notification.destinations import (
    AllowList,
    DestinationRefused,
    blocked_reason,
    check_resolved,
    check_url,
    parse_host,
)

NONE = AllowList()

# (host as written in an https URL, why it is refused)
HOSTILE = [
    ("127.0.0.1", "loopback"),
    ("127.0.0.2", "loopback"),
    ("127.255.255.254", "loopback"),
    ("2130706433", "loopback"),  # decimal
    ("0x7f000001", "loopback"),  # hex
    ("0X7F000001", "loopback"),
    ("0x7f.0x0.0x0.0x1", "loopback"),  # hex per label
    ("0x7f.1", "loopback"),
    ("0177.0.0.1", "loopback"),  # octal
    ("0177.0000.0000.0001", "loopback"),
    ("017700000001", "loopback"),  # octal, one number
    ("127.1", "loopback"),  # short forms
    ("127.0.1", "loopback"),
    ("127.0.0.1.", "loopback"),  # trailing dot
    ("[::1]", "loopback"),
    ("[0:0:0:0:0:0:0:1]", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback (IPv4-mapped)"),
    ("[::ffff:7f00:1]", "loopback (IPv4-mapped)"),
    ("[::ffff:a9fe:a9fe]", "link-local (IPv4-mapped)"),
    ("[::127.0.0.1]", "loopback (IPv4-compatible)"),
    ("[::ffff:0:127.0.0.1]", "loopback (IPv4-translated)"),
    ("[64:ff9b::127.0.0.1]", "loopback (NAT64)"),
    ("[64:ff9b::a00:1]", "private (NAT64)"),
    ("[64:ff9b:1::1]", "private (local NAT64)"),
    ("[2002:7f00:1::]", "loopback (6to4)"),
    ("[2002:a9fe:a9fe::1]", "link-local (6to4)"),
    ("[2002:c0a8:101::]", "private (6to4)"),
    ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "loopback (Teredo)"),  # client 127.0.0.1 (obfuscated)
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("0xa9fea9fe", "link-local"),
    ("2852039166", "link-local"),
    ("[fe80::1]", "link-local"),
    ("[fd00:ec2::254]", "private"),  # AWS metadata over IPv6
    ("[fc00::1]", "private"),
    ("[fec0::1]", "private (site-local)"),
    ("10.0.0.1", "private"),
    ("012.0.0.1", "private"),  # octal 012 = 10
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("3232235777", "private"),  # 192.168.1.1
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("0.0.0.0", "unspecified"),
    ("0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("[::]", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("[ff02::1]", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.0.8", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("[2001:db8::1]", "documentation"),
    ("[100::1]", "reserved (discard)"),
]


@pytest.mark.parametrize(("host", "reason"), HOSTILE)
def test_internal_addresses_are_refused_in_every_spelling(host, reason):
    with pytest.raises(DestinationRefused) as err:
        check_url(f"https://{host}/hooks", NONE)
    assert str(err.value) == f"the address is {reason}; only public addresses are allowed"


@pytest.mark.parametrize("host", [h for h, _ in HOSTILE])
def test_the_operator_can_allow_any_of_them_by_network(host):
    allow = AllowList.parse("0.0.0.0/0, ::/0")
    assert check_url(f"http://{host}/hooks", allow).allowed


@pytest.mark.parametrize(("text", "expected"), [
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"), ("10.1", "10.0.0.1"), ("192.168.257", "192.168.1.1"), ("0", "0.0.0.0"),
])
def test_inet_aton_spellings_are_normalised_like_resolvers_read_them(text, expected):
    # The same answer as the C library's resolver gives (what an HTTP client would connect to).
    assert parse_host(text) == ipaddress.IPv4Address(expected)
    assert socket.getaddrinfo(text, 443, type=socket.SOCK_STREAM)[0][4][0] == expected


@pytest.mark.parametrize("url", [
    "https://[fe80::1%25eth0]/x",  # zone ids
    "https://[::1%251]/x",
    "https://foo.127/x",  # ends in a number but is no address
    "https://1.2.3.4.5/x",
    "https://08.0.0.1/x",  # 8 is not an octal digit
    "https://4294967296/x",  # above 32 bits
    "https://256.0.0.1/x",
    "https://user:pass@example.com/x",  # credentials
    "https://user@example.com/x",
    "ftp://example.com/x",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "http://example.com/x",  # http outside the allow-list
    "https:///x",
    "https://example.com:99999/x",
    "https://example.com:0/x",
    "https://0x/x",
    "https://exa mple.com/x",
    "https://[::1/x",
])
def test_other_unusable_urls_are_refused(url):
    with pytest.raises(DestinationRefused):
        check_url(url, NONE)


@pytest.mark.parametrize(("url", "host", "port", "target", "host_header"), [
    ("https://hr.example.com/hooks?x=1", "hr.example.com", 443, "/hooks?x=1", "hr.example.com"),
    ("https://HR.Example.com:8443", "hr.example.com", 8443, "/", "HR.Example.com:8443"),
    ("https://hr.example.com./hooks", "hr.example.com", 443, "/hooks", "hr.example.com."),
    ("https://93.184.215.14/hooks", ipaddress.ip_address("93.184.215.14"), 443, "/hooks", "93.184.215.14"),
    ("https://[2606:4700::1111]:8443/h", ipaddress.ip_address("2606:4700::1111"), 8443, "/h", "[2606:4700::1111]:8443"),
    ("https://localhost/hooks", "localhost", 443, "/hooks", "localhost"),  # a name: checked once resolved
])
def test_public_https_destinations_are_accepted(url, host, port, target, host_header):
    d = check_url(url, NONE)
    assert (d.scheme, d.host, d.port, d.target, d.host_header, d.allowed) == ("https", host, port, target,
                                                                              host_header, False)


def test_public_embedded_addresses_and_6to4_of_public_ones():
    assert blocked_reason(ipaddress.ip_address("2002:5db8:d70e::1")) is None  # 6to4 of 93.184.215.14
    assert blocked_reason(ipaddress.ip_address("64:ff9b::5db8:d70e")) is None  # NAT64 of a public address
    # A mapped or compatible public address: use the IPv4 address itself.
    assert blocked_reason(ipaddress.ip_address("::ffff:93.184.215.14")) == "an IPv4-mapped IPv6 address"
    assert blocked_reason(ipaddress.ip_address("8.8.8.8")) is None


def test_allow_list_names_hosts_addresses_and_networks():
    allow = AllowList.parse("hr.internal, 127.0.0.1 10.20.0.0/16,[::1]")
    assert check_url("http://hr.internal:8080/x", allow).allowed
    assert check_url("http://HR.Internal./x", allow).allowed
    assert check_url("http://127.0.0.1:9/x", allow).allowed
    assert check_url("http://0x7f000001:9/x", allow).allowed  # the same address, spelled otherwise
    assert check_url("http://10.20.3.4/x", allow).allowed
    assert check_url("http://[::1]/x", allow).allowed
    for refused in ("http://127.0.0.2/x", "http://10.21.0.1/x", "http://other.internal/x",
                    "https://127.0.0.2/x", "http://hr.internal.evil.com/x"):
        with pytest.raises(DestinationRefused):
            check_url(refused, allow)


@pytest.mark.parametrize("text", ["10.0.0.0/33", "10.0.0.1/8", "ex@mple", "foo.127", "fe80::1%eth0", "::1/129"])
def test_a_bad_allow_list_entry_stops_the_start(text):
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_HOSTS"):
        AllowList.parse(text)


def test_allow_list_is_empty_by_default():
    assert AllowList.parse("") == AllowList.parse(None) == AllowList()


def ips(*texts):
    return [ipaddress.ip_address(t) for t in texts]


def test_resolved_addresses_are_all_checked_and_the_first_is_used():
    d = check_url("https://hooks.example.com/x", NONE)
    assert check_resolved(d, ips("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"), NONE) == \
        ipaddress.ip_address("93.184.215.14")
    for answer in (ips("127.0.0.1"), ips("93.184.215.14", "10.0.0.1"), ips("::ffff:169.254.169.254"),
                   ips("fe80::1%eth0"), []):
        with pytest.raises(DestinationRefused):
            check_resolved(d, answer, NONE)
    # An allow-listed network allows resolved addresses inside it, and only those.
    allow = AllowList.parse("10.0.0.0/8")
    assert check_resolved(d, ips("10.1.2.3"), allow) == ipaddress.ip_address("10.1.2.3")
    with pytest.raises(DestinationRefused):
        check_resolved(d, ips("10.1.2.3", "127.0.0.1"), allow)
    # An allow-listed name may resolve anywhere (the operator vouches for it).
    named = AllowList.parse("hooks.example.com")
    assert check_resolved(check_url("http://hooks.example.com/x", named), ips("127.0.0.1"), named) == \
        ipaddress.ip_address("127.0.0.1")
