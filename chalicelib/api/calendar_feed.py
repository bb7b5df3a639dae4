"""The department calendar as an iCalendar feed that calendar apps subscribe to, the link that
opens it, and the public holidays."""

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalice.app import Blueprint, Request, Response

from chalicelib.api.access import AUTHORIZER
from chalicelib.api.http import (
    actor,
    checked_id,
    handles_errors,
    json_response,
    query_param,
    stage_prefix,
)
from chalicelib.api.roles import EDITOR, PUBLIC, SIGNED_IN, requires
from chalicelib.context import get_context
from chalicelib.errors import DepartmentNotFound, FieldProblem, InvalidRequest

if TYPE_CHECKING:
    from chalicelib.models import Event

calendar = Blueprint(__name__)

ICALENDAR_TYPE = "text/calendar; charset=utf-8"
_TOKEN_MAX = 100
# Holidays in a feed: the years around today, which is what a subscribed calendar shows.
_HOLIDAY_YEARS_BEFORE, _HOLIDAY_YEARS_AFTER = 1, 2


@calendar.route("/departments/{department_id}/feed-token", methods=["POST"], authorizer=AUTHORIZER)
@requires(EDITOR)
@handles_errors
def rotate_feed_token(department_id: str) -> Response:
    request = calendar.current_request
    department_id = checked_id(department_id, "department")
    token = get_context().departments.rotate_feed_token(department_id, actor(request))
    path = f"/api/departments/{department_id}/calendar.ics?token={token}"
    return json_response({"url": _origin(request) + stage_prefix(request) + path})


# No authorizer: calendar apps cannot sign requests. The feed token is the key.
@calendar.route("/departments/{department_id}/calendar.ics", methods=["GET"])
@requires(PUBLIC)
@handles_errors
def calendar_feed(department_id: str) -> Response:
    request = calendar.current_request
    department_id = checked_id(department_id, "department")
    token = query_param(request, "token") or ""
    if not token or len(token) > _TOKEN_MAX:
        raise DepartmentNotFound(department_id)
    context = get_context()
    department = context.departments.with_feed_token(department_id, token)
    events = context.events.listing.every_stored(department_id)
    now = datetime.now(UTC)
    years = None
    if query_param(request, "include") == "holidays":
        years = (now.year - _HOLIDAY_YEARS_BEFORE, now.year + _HOLIDAY_YEARS_AFTER)
    # The ETag comes from what the feed is written from, so an unchanged calendar is answered
    # 304 without writing it (writing 500 events takes a few hundred milliseconds).
    tag = _feed_tag(department.name, events, years)
    headers: dict[str, str | list[str]] = {"ETag": tag, "Cache-Control": "private, max-age=300"}
    if tag in (request.headers.get("if-none-match") or ""):
        return Response(body="", status_code=304, headers=headers)
    holidays = []
    if years is not None:
        from chalicelib.calendar.holidays import holidays_between

        first, last = years
        holidays = [(h.date, h.name) for h in holidays_between(f"{first}-01-01", f"{last}-12-31")]
    from chalicelib.calendar.ical import calendar_feed as write_feed

    body = write_feed(department.name, events, holidays=holidays, now=_stamp_of(events, now))
    return Response(
        body=body.decode("utf-8"),
        status_code=200,
        headers={"Content-Type": ICALENDAR_TYPE, **headers},
    )


def _feed_tag(name: str, events: list["Event"], holiday_years: tuple[int, int] | None) -> str:
    """Changes whenever the feed's bytes would: another event version, name, holiday years or
    release of the app (which may write feeds differently)."""
    from chalicelib.version import running_version

    stamp = [running_version(), name, holiday_years, [(e.id, e.version) for e in events]]
    digest = hashlib.sha256(json.dumps(stamp, ensure_ascii=False).encode("utf-8"))
    return f'"{digest.hexdigest()[:32]}"'


@calendar.route("/holidays", methods=["GET"], authorizer=AUTHORIZER)
@requires(SIGNED_IN)
@handles_errors
def list_holidays() -> Response:
    from chalicelib.calendar.holidays import holidays_in_year, year_range

    request = calendar.current_request
    first, last = year_range()
    raw = query_param(request, "year")
    problem = FieldProblem("year", f"must be a year from {first} to {last}")
    if raw is None or not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        raise InvalidRequest(f"year must be a year from {first} to {last}.", fields=(problem,))
    year = int(raw)
    if not first <= year <= last:
        raise InvalidRequest(f"year must be a year from {first} to {last}.", fields=(problem,))
    items = [{"date": h.date, "name": h.name} for h in holidays_in_year(year)]
    return json_response({"year": year, "items": items})


def _origin(request: Request) -> str:
    """scheme://host as the caller reached the API (API Gateway says https in a header)."""
    headers = request.headers
    scheme = headers.get("x-forwarded-proto") or "http"
    return f"{scheme}://{headers.get('host', 'localhost')}"


def _stamp_of(events: list["Event"], now: datetime) -> datetime:
    """DTSTAMP: the latest change, so an unchanged calendar gives the same bytes (and ETag)."""
    latest = max((e.updated_at for e in events), default="")
    if not latest:
        return now.replace(year=2000, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return datetime.fromisoformat(latest.replace("Z", "+00:00"))
