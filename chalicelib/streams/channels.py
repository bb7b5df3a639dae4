"""External notification channels: an SNS topic and a Slack-compatible webhook."""

import json
import urllib.request
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.models import Notification

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
else:
    SNSClient = Any


class ChannelError(Exception):
    """A send failed; it is retried with the record."""


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> None: ...


def _payload(notification: Notification) -> dict[str, Any]:
    return {"text": notification.text, "notification": notification.model_dump()}


class SnsChannel:
    name = "sns"

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def send(self, notification: Notification) -> None:
        # Message attributes let subscribers filter by department and kind.
        self._client.publish(
            TopicArn=self._topic_arn,
            Message=json.dumps(_payload(notification), ensure_ascii=False),
            MessageAttributes={
                "department_id": {"DataType": "String", "StringValue": notification.department_id},
                "kind": {"DataType": "String", "StringValue": notification.kind},
            },
        )


class WebhookChannel:
    """POSTs `{"text": ...}` (what Slack's incoming webhooks read) plus the structured fields."""

    name = "webhook"

    def __init__(self, url: str, timeout_seconds: float = 5.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    def send(self, notification: Notification) -> None:
        body = json.dumps(_payload(notification), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self._url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status = response.status
        except OSError as error:  # URLError, HTTPError, timeouts
            raise ChannelError(f"webhook failed: {error}") from error
        if not 200 <= status < 300:
            raise ChannelError(f"webhook answered {status}")
