"""What a webhook call carries, in each format a subscription may choose.

- `json`: `{"type": "event.created", "timestamp": …, "data": {the inbox notification}}`, the
  envelope the Standard Webhooks specification recommends; `type` is one of `event.created`,
  `event.changed`, `event.cancelled`, `event.reminder`, `calendar.digest`, or `ping` (the
  test call made when subscribing).
- `slack`: `{"text": …}`, what Slack's incoming webhooks read, with the user's text escaped so
  a title cannot mention the channel or disguise a link.

Bodies are UTF-8 JSON with Korean kept as text, the bytes that are signed and sent.
"""

import json
from collections.abc import Mapping
from typing import Any, Literal

from chalicelib.webhooks.slack import escape_slack_text

Format = Literal["json", "slack"]
FORMATS: tuple[Format, ...] = ("json", "slack")
# What subscribers choose from, and the inbox kind each stands for.
EVENT_KINDS: Mapping[str, str] = {
    "created": "created",
    "changed": "updated",
    "cancelled": "cancelled",
}
SUBSCRIBABLE = ("created", "changed", "cancelled", "reminder", "digest")
PING_TEXT = "구독이 연결되었습니다: 이 주소로 부서 일정 알림을 보냅니다."


def subscribed_name(kind: str) -> str:
    """The name subscribers use for an inbox notification's kind (`updated` is `changed`)."""
    return next((name for name, inbox in EVENT_KINDS.items() if inbox == kind), kind)


def webhook_type(kind: str) -> str:
    """`event.created` … `event.reminder` for one event; `calendar.digest` for a day's events."""
    return "calendar.digest" if kind == "digest" else f"event.{subscribed_name(kind)}"


def notification_body(notification: Mapping[str, Any], format: Format) -> bytes:
    """The body announcing one inbox notification."""
    if format == "slack":
        return _encode({"text": escape_slack_text(str(notification.get("text", "")))})
    return _encode(
        {
            "type": webhook_type(str(notification.get("kind", ""))),
            "timestamp": notification.get("at"),
            "data": dict(notification),
        }
    )


def ping_body(department_id: str, at: str, format: Format) -> bytes:
    """The test call that proves a new subscription's URL answers."""
    if format == "slack":
        return _encode({"text": escape_slack_text(PING_TEXT)})
    return _encode(
        {
            "type": "ping",
            "timestamp": at,
            "data": {"department_id": department_id, "text": PING_TEXT},
        }
    )


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
