"""The stream handlers' work, wired to DynamoDB and the configured channels.

app.py registers the Chalice handlers and calls in here (importing this module lazily, on the
first stream batch, so the API's cold start does not pay for it). The local stream poller
reaches the same code through those same registered handlers.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.dynamo import CLIENT_CONFIG, make_client
from chalicelib.observability import logger, metrics
from chalicelib.settings import get_settings
from chalicelib.streams.channels import Channel, SnsChannel, WebhookChannel
from chalicelib.streams.driver import process_batch
from chalicelib.streams.effects import Effects, effects_of
from chalicelib.streams.records import PermanentRecordError
from chalicelib.streams.sinks import ChangeLog, Deliveries, Parking


@dataclass
class Pipeline:
    entity_type: str
    change_log: ChangeLog
    parking: Parking
    deliveries: Deliveries

    def handle_record(self, record: dict[str, Any]) -> Effects:
        try:
            return effects_of(record, self.entity_type)
        except PermanentRecordError as error:
            logger.warning("parking a record that can never be processed", error=str(error))
            self.parking.park(record, error)
            return Effects()

    def apply(self, effects: Sequence[Effects]) -> int:
        written = self.change_log.write(effects)
        for index, effect in enumerate(effects[:written]):
            try:
                self.deliveries.deliver(effect)
            except Exception:
                logger.exception("notification channel failed; the record will be retried")
                return index
        return written


@cache
def pipeline(entity_type: str) -> Pipeline:
    settings = get_settings()
    client = make_client(settings)
    channels: list[Channel] = []
    if settings.notify_sns_topic_arn:
        sns = boto3.session.Session().client(
            "sns", region_name=settings.region, config=CLIENT_CONFIG
        )
        channels.append(SnsChannel(sns, settings.notify_sns_topic_arn))
    if settings.notify_webhook_url:
        channels.append(WebhookChannel(settings.notify_webhook_url))
    return Pipeline(
        entity_type=entity_type,
        change_log=ChangeLog(client, settings),
        parking=Parking(client, settings),
        deliveries=Deliveries(client, settings, channels),
    )


def process_changes(entity_type: str, event: dict[str, Any]) -> dict[str, Any]:
    """Handle one Lambda batch of `entity_type` changes; returns the partial batch response."""
    work = pipeline(entity_type)
    records = event.get("Records") or []
    requests_before, sent_before = work.change_log.requests, work.deliveries.sent
    result = process_batch(records, work.handle_record, work.apply)
    lag_seconds = None
    if result.oldest_change_time is not None:
        lag_seconds = max(0.0, time.time() - result.oldest_change_time)
    metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=result.applied)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=result.failed)
    metrics.add_metric(name="RecordsParked", unit=MetricUnit.Count, value=result.parked)
    if lag_seconds is not None:
        metrics.add_metric(name="StreamLag", unit=MetricUnit.Seconds, value=lag_seconds)
    logger.info(
        "stream batch",
        entity_type=entity_type,
        records=result.records,
        applied=result.applied,
        parked=result.parked,
        failed=result.failed,
        write_requests=work.change_log.requests - requests_before,
        external_sends=work.deliveries.sent - sent_before,
        lag_seconds=lag_seconds,
    )
    return result.response


def reset() -> None:
    pipeline.cache_clear()
