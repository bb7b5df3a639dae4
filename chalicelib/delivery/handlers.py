"""The delivery functions' work: an inbox stream batch, the sweep of due retries, and the
reminders and digest that put notices in the inbox.

app.py registers them and imports this lazily, on their first call, so neither the API nor the
audit handlers pay for it. The dispatcher comes from chalicelib/context.py.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import context
from chalicelib.delivery.reminders import Reminders
from chalicelib.observability import logger, metrics
from chalicelib.repositories.deliveries import Inbox


def deliver_notifications(event: dict[str, Any]) -> dict[str, Any]:
    """One batch of the inbox's stream: send each new notification to its targets."""
    dispatcher = context.dispatcher()
    records = event.get("Records") or []
    sent, failed = dispatcher.sent, dispatcher.failed
    response = dispatcher.on_records(records)
    _measure("inbox batch", len(records), dispatcher.sent - sent, dispatcher.failed - failed)
    return response


def deliver_due() -> int:
    """Try again every delivery whose retry is due; how many were tried."""
    dispatcher = context.dispatcher()
    sent, failed = dispatcher.sent, dispatcher.failed
    attempted = dispatcher.sweep()
    _measure("delivery sweep", attempted, dispatcher.sent - sent, dispatcher.failed - failed)
    return attempted


def send_reminders() -> int:
    """The reminders whose moment has come, into their departments' inboxes."""
    sent = _reminders().sweep(datetime.now(UTC))
    logger.info("reminder sweep", reminders=sent)
    return sent


def send_digest() -> int:
    """Today's events, one digest per department with any, into the inboxes."""
    sent = _reminders().digest(datetime.now(UTC))
    logger.info("daily digest", digests=sent)
    return sent


def _reminders() -> Reminders:
    ctx = context.get_context()
    return Reminders(ctx.departments, ctx.events.listing, Inbox(ctx.client, ctx.settings))


def _measure(what: str, count: int, sent: int, failed: int) -> None:
    metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=sent)
    metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=failed)
    logger.info(what, records=count, delivered=sent, failed=failed)
