"""What happened: audit history per event, per department, per day; department inboxes.

These read what the stream handlers wrote. They answer for deleted departments and events too
(history outlives its subject), so an unknown id is an empty page, not a 404."""

from chalice.app import Blueprint, Response

from chalicelib.api.access import AUTHORIZER
from chalicelib.api.http import (
    checked_id,
    handles_errors,
    model_response,
    page_params,
    query_param,
)
from chalicelib.api.roles import ADMIN, VIEWER, requires
from chalicelib.context import get_context
from chalicelib.errors import FieldProblem, InvalidRequest
from chalicelib.formats import is_calendar_date

# The models (and pydantic with them) are imported inside the views, on the first request
# that needs them: `import app` stays without them (tests/unit/test_cold_start.py).

history = Blueprint(__name__)


@history.route("/events/{department_id}/{event_id}/history", methods=["GET"], authorizer=AUTHORIZER)
@requires(VIEWER)
@handles_errors
def event_history(department_id: str, event_id: str) -> Response:
    from chalicelib.models import AuditPage

    request = history.current_request
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    limit, token = page_params(request)
    items, next_token = get_context().changes.event_history(department_id, event_id, limit, token)
    return model_response(AuditPage(items=items, next_token=next_token))


@history.route("/departments/{department_id}/history", methods=["GET"], authorizer=AUTHORIZER)
@requires(VIEWER)
@handles_errors
def department_history(department_id: str) -> Response:
    from chalicelib.models import AuditPage

    request = history.current_request
    department_id = checked_id(department_id, "department")
    limit, token = page_params(request)
    items, next_token = get_context().changes.department_history(department_id, limit, token)
    return model_response(AuditPage(items=items, next_token=next_token))


@history.route("/audit", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMIN)
@handles_errors
def audit_for_date() -> Response:
    from chalicelib.models import AuditPage

    request = history.current_request
    date = query_param(request, "date")
    if date is None or not is_calendar_date(date):
        raise InvalidRequest(
            "date is required, written YYYY-MM-DD.",
            fields=(FieldProblem("date", "must be a real calendar date written YYYY-MM-DD"),),
        )
    limit, token = page_params(request)
    items, next_token = get_context().changes.audit_for_date(date, limit, token)
    return model_response(AuditPage(items=items, next_token=next_token))


@history.route("/departments/{department_id}/notifications", methods=["GET"], authorizer=AUTHORIZER)
@requires(VIEWER)
@handles_errors
def department_notifications(department_id: str) -> Response:
    from chalicelib.models import NotificationPage

    request = history.current_request
    department_id = checked_id(department_id, "department")
    limit, token = page_params(request)
    items, next_token = get_context().changes.notifications(department_id, limit, token)
    return model_response(NotificationPage(items=items, next_token=next_token))
