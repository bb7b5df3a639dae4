"""The stream handlers' work over one Lambda batch: process it, then log and measure it.

app.py registers the Chalice handlers and calls in here (importing this module lazily, on the
first stream batch, so the API's cold start does not pay for it). The local stream poller
reaches the same code through those same registered handlers. The pipeline each batch runs
through is built, with its clients, by chalicelib/context.py.
"""

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import context
from chalicelib.observability import logger, metrics
from chalicelib.streams.driver import process_batch


def process_changes(entity_type: str, event: dict[str, Any]) -> dict[str, Any]:
    """Handle one Lambda batch of `entity_type` changes; returns the partial batch response."""
    work = context.stream_pipeline(entity_type)
    records = event.get("Records") or []
    requests_before = work.change_log.requests
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
        lag_seconds=lag_seconds,
    )
    return result.response
