"""Where a notification can go, each able to send it once: a webhook subscription, or a channel
the stage configures (NOTIFY_WEBHOOK_URL, NOTIFY_SNS_TOPIC_ARN)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.repositories.deliveries import Outcome
from chalicelib.webhooks.delivery import send_webhook
from chalicelib.webhooks.payloads import Format, notification_body, subscribed_name
from chalicelib.webhooks.signing import signature_headers
from chalicelib.webhooks.urls import WebhookUrlRefused

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from chalicelib.repositories.subscriptions import Subscription
else:
    SNSClient = Any

_JSON = {"Content-Type": "application/json; charset=utf-8"}


class Target(Protocol):
    key: str  # the delivery log's subscription_id

    def wants(self, kind: str) -> bool: ...

    def send(self, notification: Mapping[str, Any], webhook_id: str, at: datetime) -> Outcome: ...


class SubscriptionTarget:
    """A department's webhook subscription: signed, in the format it chose."""

    def __init__(self, subscription: "Subscription", allow_private: bool) -> None:
        self.subscription = subscription
        self.key = subscription.id
        self._allow_private = allow_private

    def wants(self, kind: str) -> bool:
        return subscribed_name(kind) in self.subscription.events

    def send(self, notification: Mapping[str, Any], webhook_id: str, at: datetime) -> Outcome:
        format: Format = "slack" if self.subscription.format == "slack" else "json"
        body = notification_body(notification, format)
        signing = _Signing(self.subscription.secret, webhook_id, at)
        return _post(self.subscription.url, body, signing, self._allow_private)


class ConfiguredWebhook:
    """NOTIFY_WEBHOOK_URL: every department's notifications, in the body it always had
    (`{"text", "notification"}`), signed when the stage gives a secret."""

    def __init__(
        self, url: str, secret: str | None, department_id: str, allow_private: bool
    ) -> None:
        self.key = f"config:webhook#{department_id}"
        self._url = url
        self._secret = secret
        self._allow_private = allow_private

    def wants(self, kind: str) -> bool:
        return True

    def send(self, notification: Mapping[str, Any], webhook_id: str, at: datetime) -> Outcome:
        body = json.dumps(
            {"text": notification.get("text", ""), "notification": dict(notification)},
            ensure_ascii=False,
        ).encode("utf-8")
        return _post(self._url, body, _Signing(self._secret, webhook_id, at), self._allow_private)


class SnsTopic:
    """NOTIFY_SNS_TOPIC_ARN: one message per notification, with attributes to filter on."""

    def __init__(self, client: SNSClient, topic_arn: str, department_id: str) -> None:
        self.key = f"config:sns#{department_id}"
        self._client = client
        self._topic_arn = topic_arn

    def wants(self, kind: str) -> bool:
        return True

    def send(self, notification: Mapping[str, Any], webhook_id: str, at: datetime) -> Outcome:
        message = {"text": notification.get("text", ""), "notification": dict(notification)}
        try:
            self._client.publish(
                TopicArn=self._topic_arn,
                Message=json.dumps(message, ensure_ascii=False),
                MessageAttributes={
                    "department_id": _attribute(notification.get("department_id")),
                    "kind": _attribute(notification.get("kind")),
                },
            )
        except (ClientError, BotoCoreError) as error:
            return Outcome(None, f"SNS publish failed: {error}")
        return Outcome(200, None)


def _attribute(value: Any) -> Any:  # a MessageAttributeValueTypeDef
    return {"DataType": "String", "StringValue": str(value or "-")}


@dataclass(frozen=True)
class _Signing:
    secret: str | None  # None: the configured webhook without a secret goes unsigned
    webhook_id: str
    at: datetime


def _post(url: str, body: bytes, signing: _Signing, allow_private: bool) -> Outcome:
    """One signed POST (signed afresh per attempt: receivers refuse old timestamps)."""
    headers = dict(_JSON)
    if signing.secret:
        stamp = int(signing.at.timestamp())
        headers |= signature_headers(signing.secret, signing.webhook_id, body, timestamp=stamp)
    try:
        result = send_webhook(url, body, headers, allow_private=allow_private)
    except WebhookUrlRefused as refused:
        return Outcome(None, refused.reason)
    return Outcome(result.status, result.error)
