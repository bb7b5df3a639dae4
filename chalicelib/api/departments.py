"""/api/departments: create, list, read, rename/describe, delete (optionally with its events)."""

from chalice.app import Blueprint, Response

from chalicelib.api.access import AUTHORIZER
from chalicelib.api.http import (
    actor,
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
from chalicelib.context import get_context
from chalicelib.models import DepartmentCreate, DepartmentPage, DepartmentUpdate, parse

departments = Blueprint(__name__)


@departments.route("/departments", methods=["POST"], authorizer=AUTHORIZER)
@handles_errors
def create_department() -> Response:
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
@handles_errors
def list_departments() -> Response:
    request = departments.current_request
    limit, next_token = page_params(request)
    items, token = get_context().departments.list_page(limit, next_token)
    return model_response(DepartmentPage(items=items, next_token=token))


@departments.route("/departments/{department_id}", methods=["GET"], authorizer=AUTHORIZER)
@handles_errors
def get_department(department_id: str) -> Response:
    department_id = checked_id(department_id, "department")
    department = get_context().departments.get(department_id)
    return model_response(department, headers=etag(department.version))


@departments.route("/departments/{department_id}", methods=["PATCH"], authorizer=AUTHORIZER)
@handles_errors
def update_department(department_id: str) -> Response:
    request = departments.current_request
    department_id = checked_id(department_id, "department")
    data = parse(DepartmentUpdate, json_body(request))
    department = get_context().departments.update(
        department_id, data, actor(request), if_match(request)
    )
    return model_response(department, headers=etag(department.version))


@departments.route("/departments/{department_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@handles_errors
def delete_department(department_id: str) -> Response:
    request = departments.current_request
    department_id = checked_id(department_id, "department")
    cascade = flag_param(request, "cascade")
    get_context().departments.delete(
        department_id, cascade=cascade, actor=actor(request), expected_version=if_match(request)
    )
    return json_response(None, 204)
