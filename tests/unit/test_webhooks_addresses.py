"""Where a webhook may be sent: every resolved address checked, with a resolver that needs no
network."""

from ipaddress import ip_address

import pytest

from chalicelib.webhooks.addresses import destination_addresses
from chalicelib.webhooks.urls import WebhookUrlRefused, check_url

URL = check_url("https://hooks.example.com/notify", allow_private=False)


class FakeDns:
    """Answers every name with the given addresses and remembers what it was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.questions: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.questions.append((host, port))
        return self.addresses


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.0.10", "a private address"),
        ("169.254.169.254", "the cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("0.0.0.0", "the unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("::1", "a loopback address"),
        ("::", "the unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private address"),
        ("fd00:ec2::254", "the cloud metadata address"),
        ("::ffff:127.0.0.1", "an IPv6 form of 127.0.0.1, a loopback address"),
        ("::ffff:10.0.0.1", "an IPv6 form of 10.0.0.1, a private address"),
        ("::ffff:169.254.169.254", "an IPv6 form of 169.254.169.254, the cloud metadata address"),
        ("2002:7f00:1::", "an IPv6 form of 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "an IPv6 form of 169.254.169.254, the cloud metadata address"),
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(address, kind):
    # Given a public-looking name that resolves to an address inside the network
    dns = FakeDns(address)
    # When its destination is checked outside the local stage
    with pytest.raises(WebhookUrlRefused) as refused:
        destination_addresses(URL, allow_private=False, resolver=dns)
    # Then it is refused, saying which address and what kind it is
    assert refused.value.reason == f"hooks.example.com resolves to {address}, {kind}"
    assert dns.questions == [("hooks.example.com", 443)]


def test_one_private_address_among_public_ones_refuses_the_name():
    # The connection might go to any of them, so all must be public
    dns = FakeDns("93.184.215.14", "10.0.0.7")
    with pytest.raises(WebhookUrlRefused, match=r"10\.0\.0\.7, a private address"):
        destination_addresses(URL, allow_private=False, resolver=dns)


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/", "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://10.0.0.1/"],
)
def test_an_address_written_in_the_url_is_checked_without_asking_dns(url):
    dns = FakeDns("93.184.215.14")
    with pytest.raises(WebhookUrlRefused, match=" is "):
        destination_addresses(check_url(url, False), allow_private=False, resolver=dns)
    assert dns.questions == []


def test_public_addresses_are_returned_in_the_order_dns_gave_them():
    dns = FakeDns("2606:4700::1111", "93.184.215.14", "::ffff:93.184.215.15")
    addresses = destination_addresses(URL, allow_private=False, resolver=dns)
    assert addresses == [
        ip_address("2606:4700::1111"),
        ip_address("93.184.215.14"),
        ip_address("::ffff:93.184.215.15"),
    ]


def test_the_local_stage_may_send_to_loopback_and_private_addresses():
    local = check_url("http://receiver.local:9000/hook", allow_private=True)
    dns = FakeDns("127.0.0.1", "::1", "192.168.1.20")
    assert len(destination_addresses(local, allow_private=True, resolver=dns)) == 3


def test_the_metadata_address_is_refused_even_in_the_local_stage():
    local = check_url("http://metadata.local/latest/meta-data/", allow_private=True)
    for address in ("169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"):
        with pytest.raises(WebhookUrlRefused, match="the cloud metadata address"):
            destination_addresses(local, allow_private=True, resolver=FakeDns(address))


def test_an_answer_that_is_not_an_address_or_no_answer_is_refused():
    with pytest.raises(WebhookUrlRefused, match="not an address"):
        destination_addresses(URL, allow_private=False, resolver=FakeDns("evil.example"))
    with pytest.raises(WebhookUrlRefused, match="resolved to no address"):
        destination_addresses(URL, allow_private=False, resolver=FakeDns())
