"""Which webhook URLs are accepted, before anything is resolved."""

import pytest

from chalicelib.errors import FieldProblem, ValidationFailed
from chalicelib.webhooks.urls import WebhookUrl, WebhookUrlRefused, check_url


def test_an_https_url_is_split_into_what_the_connection_needs():
    checked = check_url("https://Hooks.Example.com/calendar/notify?team=7#ignored", False)
    assert checked == WebhookUrl(
        url="https://Hooks.Example.com/calendar/notify?team=7#ignored",
        scheme="https",
        host="hooks.example.com",
        port=443,
        target="/calendar/notify?team=7",
    )
    assert checked.uses_tls


def test_an_explicit_port_and_an_empty_path():
    checked = check_url("https://hooks.example.com:8443", False)
    assert (checked.port, checked.target) == (8443, "/")


def test_a_korean_domain_travels_as_punycode():
    assert check_url("https://알림.한국/hook", False).host == "xn--4y2bl5s.xn--3e0b707e"


def test_an_ipv6_literal_loses_its_brackets():
    assert check_url("https://[2606:4700::1111]:8443/", False).host == "2606:4700::1111"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", "the scheme must be https"),
        ("file:///etc/passwd", "the scheme must be https"),
        ("ftp://hooks.example.com/", "the scheme must be https"),
        ("gopher://hooks.example.com/", "the scheme must be https"),
        ("hooks.example.com/notify", "the scheme must be https"),
        ("https://user:secret@hooks.example.com/", "must not contain a user name or password"),
        ("https://token@hooks.example.com/", "must not contain a user name or password"),
        ("https:///notify", "it has no host"),
        ("https://:443/notify", "it has no host"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks.example.com:0/", "port 0"),
        ("https://[::1/", "not a valid URL"),
        ("https://[fe80::1%25eth0]/", "IPv6 address in brackets"),
        ("https://hooks.example.com\n.evil.example/", "control characters"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://hooks..example.com/", "not a valid domain name"),
        ("https://hooks.exa$mple.com/", "not a valid domain name"),
    ],
)
def test_unsafe_or_malformed_urls_are_refused_with_the_reason(url, reason):
    # When a URL that must not be used is checked
    with pytest.raises(WebhookUrlRefused) as refused:
        check_url(url, allow_private=False)
    # Then the error names the field and says why, as the API will show it
    assert reason in refused.value.reason
    assert refused.value.fields == (FieldProblem("url", refused.value.reason),)
    assert isinstance(refused.value, ValidationFailed)
    assert refused.value.status == 400
    assert refused.value.body()["fields"] == [{"field": "url", "message": refused.value.reason}]


def test_the_local_stage_also_allows_http_but_still_no_other_scheme():
    # Given private destinations allowed (the local stage, receivers on loopback)
    checked = check_url("http://127.0.0.1:8080/hook", allow_private=True)
    # Then http works, on its own default port when none is given
    assert (checked.scheme, checked.port, checked.uses_tls) == ("http", 8080, False)
    assert check_url("http://localhost/hook", allow_private=True).port == 80
    # But file:// and other schemes are still refused
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/"):
        with pytest.raises(WebhookUrlRefused, match="must be https or http"):
            check_url(url, allow_private=True)
