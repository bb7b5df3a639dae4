"""The Chalice app: wiring only. Lambda imports this at cold start, so it stays lean."""

from typing import Any

from chalice.app import (
    Chalice,
    CloudWatchEvent,
    ConvertToMiddleware,
    Cron,
    DynamoDBEvent,
    Rate,
)

from chalicelib.api.access import cors_middleware, register_preflights
from chalicelib.api.calendar_feed import calendar
from chalicelib.api.changes import changes
from chalicelib.api.departments import departments
from chalicelib.api.docs import docs
from chalicelib.api.events import events
from chalicelib.api.health import health
from chalicelib.api.history import history
from chalicelib.api.http import chalice_errors_as_ours
from chalicelib.api.request_ids import correlate_requests
from chalicelib.api.roles import authorize
from chalicelib.api.subscriptions import subscriptions
from chalicelib.api.web import web
from chalicelib.observability import logger, metrics
from chalicelib.settings import get_settings
from chalicelib.tracing import tracing_middleware

app = Chalice(app_name="department-calendar", configure_logs=False)
app.api.cors = False

# Stream ARNs come from the stage's environment (the Chalice CLI sets it before importing
# this file); with none set they name the tables, so `import app` works anywhere. Settings
# refuse unsafe combinations (e.g. any CORS origin with authentication on) here, at INIT.
_settings = get_settings()

# Registered first, so outermost: the trace spans the whole invocation. None when the
# stage does not trace, and then nothing of X-Ray is loaded.
tracing = tracing_middleware(_settings)
if tracing is not None:
    app.register_middleware(tracing, "all")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), "all")
app.register_middleware(correlate_requests, "http")
app.register_middleware(ConvertToMiddleware(metrics.log_metrics), "dynamodb")
app.register_middleware(chalice_errors_as_ours, "http")

app.register_blueprint(health, url_prefix="/api")
app.register_blueprint(departments, url_prefix="/api")
app.register_blueprint(events, url_prefix="/api")
app.register_blueprint(history, url_prefix="/api")
app.register_blueprint(calendar, url_prefix="/api")
app.register_blueprint(changes, url_prefix="/api")
app.register_blueprint(subscriptions, url_prefix="/api")
app.register_blueprint(docs, url_prefix="/api")
# The calendar page, at the root: people open the app's address itself.
app.register_blueprint(web)

# Browsers may call from the configured origins only; every path answers their preflight.
_origins = _settings.cors_allowed_origins
if _origins:
    app.register_middleware(cors_middleware(_origins), "http")
    register_preflights(app, _origins)

# Innermost: each route's rule (chalicelib/api/roles.py) is checked before its view runs, and
# a refusal still gets the CORS headers and the request id from the middleware around it.
app.register_middleware(authorize(app), "http")


# The functions that read the inbox come first: `chalice deploy` updates functions in the
# order they are declared here, and a previous version reading an inbox item of this one's
# (spread, tables.inbox_item) would take its partition for the department.
#
# Notifications go out from the inbox's own stream, apart from the audit: a slow receiver
# holds up no audit entry.
@app.on_dynamodb_record(stream_arn=_settings.notifications_stream_arn, batch_size=25)
def on_notification(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.delivery.handlers import deliver_notifications

    return deliver_notifications(event.to_dict())


# Failed deliveries are tried again when their backoff (chalicelib/webhooks/retry.py) is due.
@app.schedule(Rate(1, unit=Rate.MINUTES))
def deliver_due(event: CloudWatchEvent) -> None:
    from chalicelib.delivery.handlers import deliver_due as sweep

    sweep()


# The inbox's writer, after its readers (above).
@app.on_dynamodb_record(stream_arn=_settings.events_stream_arn, batch_size=100)
def on_event_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.streams.handlers import process_changes

    return process_changes("event", event.to_dict())


@app.on_dynamodb_record(stream_arn=_settings.departments_stream_arn, batch_size=100)
def on_department_change(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.streams.handlers import process_changes

    return process_changes("department", event.to_dict())


# Each reminder once, in the inbox, when its moment comes (chalicelib/delivery/reminders.py).
@app.schedule(Rate(5, unit=Rate.MINUTES))
def send_reminders(event: CloudWatchEvent) -> None:
    from chalicelib.delivery.handlers import send_reminders as sweep

    sweep()


# The day's events at 09:00 Asia/Seoul (00:00 UTC), one digest per department.
@app.schedule(Cron(0, 0, "*", "*", "?", "*"))
def send_digest(event: CloudWatchEvent) -> None:
    from chalicelib.delivery.handlers import send_digest as digest

    digest()
