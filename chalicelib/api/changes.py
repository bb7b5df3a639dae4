"""/api/departments/{department_id}/changes: a department's events, then what changed since.

Clients (the calendar page, any other) keep a copy and poll with the sync_token they were given;
410 tells them to read everything again."""

from chalice.app import Blueprint, Response

from chalicelib.api.access import AUTHORIZER
from chalicelib.api.http import checked_id, handles_errors, model_response, query_param
from chalicelib.api.roles import VIEWER, requires
from chalicelib.context import get_context
from chalicelib.errors import DepartmentNotFound

# The models (and pydantic with them) are imported inside the views, on the first request
# that needs them: `import app` stays without them (tests/unit/test_cold_start.py).

changes = Blueprint(__name__)


@changes.route("/departments/{department_id}/changes", methods=["GET"], authorizer=AUTHORIZER)
@requires(VIEWER)
@handles_errors
def department_changes(department_id: str) -> Response:
    from chalicelib.models import ChangePage

    request = changes.current_request
    department_id = checked_id(department_id, "department")
    since = query_param(request, "since")
    context = get_context()
    if since:
        found, token = context.change_feed.changes_since(department_id, since)
        return model_response(ChangePage(items=[], changes=found, sync_token=token))
    # The token first: a change that lands while the events are read is then delivered next
    # time (again, at worst), never lost.
    token = context.change_feed.first_token(department_id)
    items = context.events.listing.every_stored(department_id)
    if not items and not context.departments.exists(department_id):
        raise DepartmentNotFound(department_id)
    return model_response(ChangePage(items=items, changes=[], sync_token=token))
