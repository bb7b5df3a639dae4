"""/api/events/{department_id}: a department's calendar events."""

from chalice.app import Blueprint, Request, Response

from chalicelib.api.access import AUTHORIZER
from chalicelib.api.http import (
    actor,
    checked_id,
    created_response,
    etag,
    handles_errors,
    idempotent_request,
    if_match,
    json_body,
    json_response,
    model_response,
    page_params,
    query_param,
)
from chalicelib.context import get_context
from chalicelib.errors import DepartmentNotFound, FieldProblem, InvalidRequest
from chalicelib.models import EventCreate, EventPage, EventUpdate, is_calendar_date, parse

events = Blueprint(__name__)


@events.route("/events/{department_id}", methods=["POST"], authorizer=AUTHORIZER)
@handles_errors
def create_event(department_id: str) -> Response:
    request = events.current_request
    department_id = checked_id(department_id, "department")
    data = parse(EventCreate, json_body(request))
    caller = actor(request)
    once = idempotent_request(request, caller, f"POST /api/events/{department_id}", data)
    created = get_context().events.create(department_id, data, caller, once)
    event = created.item
    location = f"/api/events/{department_id}/{event.id}"
    return created_response(request, created, location, event.version)


@events.route("/events/{department_id}", methods=["GET"], authorizer=AUTHORIZER)
@handles_errors
def list_events(department_id: str) -> Response:
    request = events.current_request
    department_id = checked_id(department_id, "department")
    date_from, date_to = _date_param(request, "from"), _date_param(request, "to")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidRequest(
            "from must not be after to.", fields=(FieldProblem("from", "is after to"),)
        )
    limit, next_token = page_params(request)
    context = get_context()
    items, token = context.events.list_page(
        department_id, date_from=date_from, date_to=date_to, limit=limit, next_token=next_token
    )
    # An empty first page is the only case where "no such department" needs its own read.
    if not items and next_token is None and not context.departments.exists(department_id):
        raise DepartmentNotFound(department_id)
    return model_response(EventPage(items=items, next_token=token))


@events.route("/events/{department_id}/{event_id}", methods=["GET"], authorizer=AUTHORIZER)
@handles_errors
def get_event(department_id: str, event_id: str) -> Response:
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    event = get_context().events.get(department_id, event_id)
    return model_response(event, headers=etag(event.version))


@events.route("/events/{department_id}/{event_id}", methods=["PATCH"], authorizer=AUTHORIZER)
@handles_errors
def update_event(department_id: str, event_id: str) -> Response:
    request = events.current_request
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    data = parse(EventUpdate, json_body(request))
    event = get_context().events.update(
        department_id, event_id, data, actor(request), if_match(request)
    )
    return model_response(event, headers=etag(event.version))


@events.route("/events/{department_id}/{event_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@handles_errors
def delete_event(department_id: str, event_id: str) -> Response:
    request = events.current_request
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    get_context().events.delete(department_id, event_id, actor(request), if_match(request))
    return json_response(None, 204)


def _date_param(request: Request, name: str) -> str | None:
    value = query_param(request, name)
    if value is not None and not is_calendar_date(value):
        raise InvalidRequest(
            f"{name} must be a date written YYYY-MM-DD.",
            fields=(FieldProblem(name, "must be a real calendar date written YYYY-MM-DD"),),
        )
    return value
