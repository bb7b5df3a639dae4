"""Notifications out to their targets: at once when the inbox gets them, again when due.

One delivery per (target, notification) is opened with a condition (chalicelib/repositories/
deliveries.py), so a redelivered inbox record sends nothing twice. The first attempt runs right
away, the targets of a batch side by side, so a slow receiver holds up no other. A failed
attempt is tried again on the retry schedule (chalicelib/webhooks/retry.py) by the sweeper; a
subscription failing for a day is paused, and the department's inbox says so.
"""

import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.clock import timestamp
from chalicelib.delivery.targets import ConfiguredWebhook, SnsTopic, SubscriptionTarget, Target
from chalicelib.errors import NotFound
from chalicelib.observability import logger
from chalicelib.repositories.deliveries import Delivery, DeliveryLog, Inbox, Outcome
from chalicelib.settings import Settings
from chalicelib.webhooks.payloads import EVENT_KINDS
from chalicelib.webhooks.retry import is_paused, next_attempt_at

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from chalicelib.repositories.subscriptions import SubscriptionRepository
else:
    SNSClient = Any

# Receivers answered side by side: each may take the sender's whole deadline (5 s).
SENDERS = 8
_SENDABLE = frozenset({*EVENT_KINDS.values(), "reminder", "digest"})


def _text(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name)
    return str(value.get("S", "")) if isinstance(value, Mapping) else ""


class Dispatcher:
    def __init__(
        self,
        log: DeliveryLog,
        inbox: Inbox,
        subscriptions: "SubscriptionRepository",
        settings: Settings,
        *,
        sns: SNSClient | None = None,
        now: Callable[[], datetime],
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._log = log
        self._inbox = inbox
        self._subscriptions = subscriptions
        self._settings = settings
        self._sns = sns
        self._now = now
        self._draw = draw
        self.sent = 0
        self.failed = 0
        # The senders of a batch count side by side; `+=` on an attribute is not atomic.
        self._counting = threading.Lock()

    def on_records(self, records: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
        """An inbox stream batch: open each new notification's deliveries, then attempt them.
        A record whose deliveries could not be opened (DynamoDB failing) is reported failed
        with every later one, so Lambda hands them over again."""
        attempts: list[tuple[Target, dict[str, Any], Delivery]] = []
        failed_from = len(records)
        for index, record in enumerate(records):
            try:
                attempts += self._open(record)
            except Exception:
                logger.exception("could not open the deliveries of an inbox record")
                failed_from = index
                break
        self._attempt_all(attempts)
        return {
            "batchItemFailures": [
                {"itemIdentifier": str(record.get("dynamodb", {}).get("SequenceNumber", ""))}
                for record in records[failed_from:]
            ]
        }

    def sweep(self) -> int:
        """Attempt every delivery whose retry is due; how many were attempted."""
        now = self._now()
        attempts: list[tuple[Target, dict[str, Any], Delivery]] = []
        for delivery in self._log.due(now):
            if not self._log.claim(delivery, now):
                continue  # another sweeper took it
            target = self._target_of(delivery)
            notification = self._inbox.get(
                delivery.department_id, delivery.notification_key, delivery.kind
            )
            if target is None or notification is None:
                gone = "the subscription" if target is None else "the notification"
                self._log.give_up(delivery, f"{gone} no longer exists or is paused", now)
                continue
            attempts.append((target, notification, delivery))
        self._attempt_all(attempts)
        return len(attempts)

    def _open(self, record: Mapping[str, Any]) -> list[tuple[Target, dict[str, Any], Delivery]]:
        if record.get("eventName") != "INSERT":
            return []  # the inbox only ever adds; nothing to send for anything else
        # Only the key and the kind are read from the record; the notification itself is read
        # from the inbox, as written (stream images differ between DynamoDB implementations:
        # DynamoDB Local leaves the type off an empty map).
        image = record.get("dynamodb", {}).get("NewImage", {})
        # The department's own id; `department_id` is the inbox's partition, the same id only
        # on notifications kept before the inbox was spread (tables.inbox_item).
        department_id = _text(image, "department") or _text(image, "department_id")
        change_key = _text(image, "change_key")
        kind = _text(image, "kind")
        if kind not in _SENDABLE or not department_id or not change_key:
            return []  # a notice to the department itself (a paused subscription)
        targets = [t for t in self._targets(department_id) if t.wants(kind)]
        if not targets:
            return []
        notification = self._inbox.get(department_id, change_key, kind)
        if notification is None:
            return []  # removed from the inbox since: nothing left to announce
        now = self._now()
        opened = []
        for target in targets:
            delivery = self._log.open(target.key, change_key, department_id, kind, now)
            if delivery is not None:
                opened.append((target, notification, delivery))
        return opened

    def _targets(self, department_id: str) -> list[Target]:
        allow_private = self._settings.allow_private_webhooks
        targets: list[Target] = [
            SubscriptionTarget(subscription, allow_private)
            for subscription in self._subscriptions.active_for(department_id)
        ]
        return targets + self.configured_targets(department_id)

    def configured_targets(self, department_id: str) -> list[Target]:
        settings = self._settings
        targets: list[Target] = []
        if settings.notify_webhook_url:
            targets.append(
                ConfiguredWebhook(
                    settings.notify_webhook_url,
                    settings.notify_webhook_secret,
                    department_id,
                    settings.allow_private_webhooks,
                )
            )
        if settings.notify_sns_topic_arn and self._sns is not None:
            targets.append(SnsTopic(self._sns, settings.notify_sns_topic_arn, department_id))
        return targets

    def _target_of(self, delivery: Delivery) -> Target | None:
        if delivery.target.startswith("config:"):
            configured = self.configured_targets(delivery.department_id)
            return next((t for t in configured if t.key == delivery.target), None)
        try:
            subscription = self._subscriptions.get(delivery.department_id, delivery.target)
        except NotFound:
            return None
        if subscription.status != "active":
            return None
        return SubscriptionTarget(subscription, self._settings.allow_private_webhooks)

    def _attempt_all(self, attempts: list[tuple[Target, dict[str, Any], Delivery]]) -> None:
        if len(attempts) <= 1:
            for attempt in attempts:
                self._attempt(*attempt)
            return
        with ThreadPoolExecutor(max_workers=min(SENDERS, len(attempts))) as pool:
            for future in [pool.submit(self._attempt, *attempt) for attempt in attempts]:
                future.result()

    def _attempt(self, target: Target, notification: dict[str, Any], delivery: Delivery) -> None:
        outcome = target.send(notification, delivery.webhook_id, self._now())
        now = self._now()
        retry_at = None
        if outcome.error is not None:
            first = datetime.fromisoformat(delivery.created_at)
            retry_at = next_attempt_at(first, now, delivery.attempts + 1, self._draw)
        self._log.record(delivery, outcome, now, retry_at)
        self._count(delivered=outcome.error is None)
        if outcome.error is not None:
            logger.warning(
                "webhook delivery failed",
                target=delivery.target,
                attempts=delivery.attempts + 1,
                error=outcome.error,
                retry_at=None if retry_at is None else retry_at.isoformat(),
            )
        if isinstance(target, SubscriptionTarget):
            self._follow_health(target, outcome, delivery, now, gave_up=retry_at is None)

    def _count(self, *, delivered: bool) -> None:
        with self._counting:
            if delivered:
                self.sent += 1
            else:
                self.failed += 1

    def _follow_health(
        self,
        target: SubscriptionTarget,
        outcome: Outcome,
        delivery: Delivery,
        now: datetime,
        *,
        gave_up: bool,
    ) -> None:
        """A subscription that has not answered for a day is paused: after 24 hours of failing,
        or when a delivery is given up (a day of retries) with no success since it began."""
        subscription = target.subscription
        if outcome.error is None:
            if subscription.failing_since is not None:
                self._subscriptions.record_success(subscription.department_id, subscription.id)
            return
        department_id, subscription_id = subscription.department_id, subscription.id
        failing_since = self._subscriptions.record_failure(
            department_id, subscription_id, timestamp(now)
        )
        since = datetime.fromisoformat(failing_since)
        failed_throughout = gave_up and since <= datetime.fromisoformat(delivery.created_at)
        if not (is_paused(since, now) or failed_throughout):
            return
        if self._log.delivered_since(target.key, failing_since):
            # A sender that read the subscription healthy (batches run side by side) did not
            # clear `failing_since` after its success: the failing starts again from now.
            self._subscriptions.record_success(department_id, subscription_id)
            self._subscriptions.record_failure(department_id, subscription_id, timestamp(now))
            return
        if self._subscriptions.pause(department_id, subscription_id, timestamp(now)):
            # Only the call that paused it gets here: the notice is written once.
            self._inbox.notice_paused(department_id, subscription_id, subscription.url, now)
