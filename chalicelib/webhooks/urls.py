"""What a webhook URL may look like, before anything is resolved or sent.

`https` only, so notifications (and their signatures) never cross the network in clear text;
the local stage also allows `http`, because its receivers listen on loopback without TLS. No
credentials in the URL (they would be stored and logged with it), and a host is required.
Where the host may point is `addresses`' question.
"""

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from chalicelib.errors import FieldProblem, ValidationFailed

DEFAULT_PORTS = {"http": 80, "https": 443}
# Letters, digits, hyphens and underscores, in dot-separated labels; a trailing dot is allowed.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


class WebhookUrlRefused(ValidationFailed):
    """A webhook URL this service will not send to; `fields` names `url`."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"Webhook URL {url!r} refused: {reason}.", fields=(FieldProblem("url", reason),)
        )
        self.reason = reason


@dataclass(frozen=True)
class WebhookUrl:
    """A URL that passed `check_url`, split the way a connection needs it."""

    url: str
    scheme: str  # "https", or "http" where private destinations are allowed
    host: str  # lower case, ASCII (IDNA), without brackets for IPv6 literals
    port: int
    target: str  # path and query, what the request line names

    @property
    def uses_tls(self) -> bool:
        return self.scheme == "https"


def check_url(url: str, allow_private: bool) -> WebhookUrl:
    """`url` split into its parts, or WebhookUrlRefused saying what is wrong with it.

    `allow_private` is for the local stage only: it allows `http` (and, in `addresses`,
    loopback and private destinations)."""
    if any(character.isspace() or not character.isprintable() for character in url):
        # urlsplit would quietly drop tabs and newlines, so what is checked is not what is stored.
        raise WebhookUrlRefused(url, "it contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # a bad port or unbalanced IPv6 brackets
        raise WebhookUrlRefused(url, f"it is not a valid URL ({error})") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise WebhookUrlRefused(url, f"the scheme must be {' or '.join(allowed)}")
    if "@" in parts.netloc:
        raise WebhookUrlRefused(url, "it must not contain a user name or password")
    host = _ascii_host(url, parts)
    if port == 0:
        raise WebhookUrlRefused(url, "port 0 is not a port to send to")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookUrl(url, parts.scheme, host, port or DEFAULT_PORTS[parts.scheme], target)


def _ascii_host(url: str, parts: SplitResult) -> str:
    host = parts.hostname or ""
    if not host:
        raise WebhookUrlRefused(url, "it has no host")
    if parts.netloc.rpartition("@")[2].startswith("["):
        # An IPv6 literal; a zone (`%eth0`) would name this machine's interfaces.
        if not re.fullmatch(r"[0-9a-f:.]+", host):
            raise WebhookUrlRefused(url, "the IPv6 address in brackets is not valid")
        return host
    try:
        # Hosts in other scripts (한국어.kr) travel as their ASCII (punycode) form.
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise WebhookUrlRefused(url, "the host is not a valid domain name") from None
    if not _HOST_NAME.fullmatch(ascii_host):
        raise WebhookUrlRefused(url, "the host is not a valid domain name")
    return ascii_host
