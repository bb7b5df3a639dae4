"""/api/departments: create, list, read, rename/describe, delete (optionally with its events)."""

from chalice.app import Blueprint, Response

from chalicelib.api.access import AUTHORIZER
from chalicelib.api.http import (
    actor,
    caller,
    checked_id,
    created_response,
    etag,
    flag_param,
    handles_errors,
    idempotent_request,
    if_match,
    json_body,
    json_response,
    model_response,
    page_params,
)
from chalicelib.api.roles import ADMIN, SIGNED_IN, VIEWER, requires
from chalicelib.context import get_context

# The models (and pydantic with them) are imported inside the views, on the first request
# that needs them: `import app` stays without them (tests/unit/test_cold_start.py).

departments = Blueprint(__name__)


@departments.route("/departments", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMIN)
@handles_errors
def create_department() -> Response:
    from chalicelib.models import DepartmentCreate, parse

    request = departments.current_request
    data = parse(DepartmentCreate, json_body(request))
    caller = actor(request)
    once = idempotent_request(request, caller, "POST /api/departments", data)
    created = get_context().departments.create(data, caller, once)
    department = created.item
    return created_response(
        request, created, f"/api/departments/{department.id}", department.version
    )


@departments.route("/departments", methods=["GET"], authorizer=AUTHORIZER)
@requires(SIGNED_IN)
@handles_errors
def list_departments() -> Response:
    from chalicelib.models import DepartmentPage

    request = departments.current_request
    limit, next_token = page_params(request)
    # Admins page through every department; anyone else gets the ones their roles name.
    visible = caller(request).visible_departments()
    repository = get_context().departments
    if visible is None:
        items, token = repository.list_page(limit, next_token)
    else:
        items, token = repository.list_some(visible, limit, next_token)
    return model_response(DepartmentPage(items=items, next_token=token))


@departments.route("/departments/{department_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(VIEWER)
@handles_errors
def get_department(department_id: str) -> Response:
    department_id = checked_id(department_id, "department")
    department = get_context().departments.get(department_id)
    return model_response(department, headers=etag(department.version))


@departments.route("/departments/{department_id}", methods=["PATCH"], authorizer=AUTHORIZER)
@requires(ADMIN)
@handles_errors
def update_department(department_id: str) -> Response:
    from chalicelib.models import DepartmentUpdate, parse

    request = departments.current_request
    department_id = checked_id(department_id, "department")
    data = parse(DepartmentUpdate, json_body(request))
    department = get_context().departments.update(
        department_id, data, actor(request), if_match(request)
    )
    return model_response(department, headers=etag(department.version))


@departments.route("/departments/{department_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMIN)
@handles_errors
def delete_department(department_id: str) -> Response:
    request = departments.current_request
    department_id = checked_id(department_id, "department")
    cascade = flag_param(request, "cascade")
    get_context().departments.delete(
        department_id, cascade=cascade, actor=actor(request), expected_version=if_match(request)
    )
    return json_response(None, 204)
