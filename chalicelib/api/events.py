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
from chalicelib.api.roles import EDITOR, VIEWER, requires
from chalicelib.context import get_context
from chalicelib.errors import DepartmentNotFound, FieldProblem, InvalidRequest
from chalicelib.formats import is_calendar_date

QUERY_MAX = 100

# The models (and pydantic with them) and the calendar rules are imported inside the views, on
# the first request that needs them: `import app` stays without them (test_cold_start.py).

events = Blueprint(__name__)


@events.route("/events/{department_id}", methods=["POST"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def create_event(department_id: str) -> Response:
    from chalicelib.models import EventCreate, parse

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
@requires(VIEWER)
@handles_errors
def list_events(department_id: str) -> Response:
    """Without from/to: the events as stored (a series once). With either: what happens in
    those dates, a series expanded into its occurrences, holidays mixed in if asked."""
    from chalicelib.calendar.instances import Window
    from chalicelib.calendar.schedule import FIRST, NEVER
    from chalicelib.models import EventPage

    request = events.current_request
    department_id = checked_id(department_id, "department")
    date_from, date_to = _date_param(request, "from"), _date_param(request, "to")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidRequest(
            "from must not be after to.", fields=(FieldProblem("from", "is after to"),)
        )
    limit, next_token = page_params(request)
    query = _search_param(request)
    holidays = _include_param(request)
    listing = get_context().events.listing
    if date_from is None and date_to is None:
        items, token = listing.stored_page(
            department_id, limit=limit, next_token=next_token, query=query
        )
    else:
        window = Window(date_from or FIRST, date_to or NEVER)
        items, token = listing.instances_page(
            department_id,
            window,
            limit=limit,
            next_token=next_token,
            query=query,
            holidays=holidays,
        )
    # With no stored event listed, "no such department" needs its own read.
    stored = [item for item in items if not item.holiday]
    if not stored and next_token is None and not get_context().departments.exists(department_id):
        raise DepartmentNotFound(department_id)
    return model_response(EventPage(items=items, next_token=token))


@events.route("/events/{department_id}/{event_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(VIEWER)
@handles_errors
def get_event(department_id: str, event_id: str) -> Response:
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    event = get_context().events.get(department_id, event_id)
    return model_response(event, headers=etag(event.version))


@events.route("/events/{department_id}/{event_id}", methods=["PATCH"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def update_event(department_id: str, event_id: str) -> Response:
    from chalicelib.models import EventUpdate, parse

    request = events.current_request
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    data = parse(EventUpdate, json_body(request))
    event = get_context().events.update(
        department_id, event_id, data, actor(request), if_match(request)
    )
    return model_response(event, headers=etag(event.version))


@events.route("/events/{department_id}/{event_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def delete_event(department_id: str, event_id: str) -> Response:
    request = events.current_request
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    get_context().events.delete(department_id, event_id, actor(request), if_match(request))
    return json_response(None, 204)


_OCCURRENCE = "/events/{department_id}/{event_id}/occurrences/{occurrence_date}"


@events.route(_OCCURRENCE, methods=["PATCH"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def update_occurrence(department_id: str, event_id: str, occurrence_date: str) -> Response:
    from chalicelib.models import EventUpdate, parse

    request = events.current_request
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    data = parse(EventUpdate, json_body(request))
    event = get_context().events.change_occurrence(
        department_id,
        event_id,
        _occurrence_param(occurrence_date),
        data,
        actor(request),
        expected_version=if_match(request),
        following=_following(request),
    )
    return model_response(event, headers=etag(event.version))


@events.route(_OCCURRENCE, methods=["DELETE"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def delete_occurrence(department_id: str, event_id: str, occurrence_date: str) -> Response:
    request = events.current_request
    department_id = checked_id(department_id, "department")
    event_id = checked_id(event_id, "event")
    get_context().events.cancel_occurrence(
        department_id,
        event_id,
        _occurrence_param(occurrence_date),
        actor(request),
        if_match(request),
        following=_following(request),
    )
    return json_response(None, 204)


def _occurrence_param(value: str) -> str:
    if not is_calendar_date(value):
        raise InvalidRequest(
            "The occurrence's date must be written YYYY-MM-DD.",
            fields=(FieldProblem("occurrence_date", "must be a real calendar date"),),
        )
    return value


def _following(request: Request) -> bool:
    scope = query_param(request, "scope") or "this"
    if scope not in ("this", "following"):
        raise InvalidRequest(
            "scope must be this or following.",
            fields=(FieldProblem("scope", "must be this or following"),),
        )
    return scope == "following"


def _search_param(request: Request) -> str | None:
    query = query_param(request, "q")
    if query is not None and len(query) > QUERY_MAX:
        raise InvalidRequest(
            f"q must be at most {QUERY_MAX} characters.",
            fields=(FieldProblem("q", f"must be at most {QUERY_MAX} characters"),),
        )
    return query or None


def _include_param(request: Request) -> bool:
    include = query_param(request, "include")
    if include not in (None, "", "holidays"):
        raise InvalidRequest(
            "include can only be holidays.",
            fields=(FieldProblem("include", "can only be holidays"),),
        )
    return include == "holidays"


def _date_param(request: Request, name: str) -> str | None:
    value = query_param(request, name)
    if value is not None and not is_calendar_date(value):
        raise InvalidRequest(
            f"{name} must be a date written YYYY-MM-DD.",
            fields=(FieldProblem(name, "must be a real calendar date written YYYY-MM-DD"),),
        )
    return value
