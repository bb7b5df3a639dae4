"""What every route answers at the edges the per-resource tests do not walk one by one:
DynamoDB without tables, bodies too big or not JSON, malformed headers, impossible ids and bad
paging on the history routes. Each is a status the OpenAPI document promises. Last, what no
route takes: a path none has, a method a route lacks (ops/gateway.py)."""

import json

import pytest

DEPARTMENT = "7b0f3c1e-0000-4000-8000-000000000000"
EVENT = "0c9e2a44-0000-4000-8000-000000000000"
NEW_EVENT = {"event_date": "2024-01-20", "title": "팀 회의"}

ROUTES_WITH_A_BODY = [
    ("POST", "/api/departments", {"name": "QA팀"}),
    ("PATCH", f"/api/departments/{DEPARTMENT}", {"description": "품질 보증"}),
    ("POST", f"/api/events/{DEPARTMENT}", NEW_EVENT),
    ("PATCH", f"/api/events/{DEPARTMENT}/{EVENT}", {"time": "오후 4:00"}),
    ("PATCH", f"/api/events/{DEPARTMENT}/{EVENT}/occurrences/2024-01-23", {"title": "회의"}),
]
ROUTES_WITHOUT_A_BODY = [
    ("GET", "/api/health"),
    ("GET", "/api/departments"),
    ("GET", f"/api/departments/{DEPARTMENT}"),
    ("DELETE", f"/api/departments/{DEPARTMENT}"),
    ("GET", f"/api/events/{DEPARTMENT}"),
    ("GET", f"/api/events/{DEPARTMENT}/{EVENT}"),
    ("DELETE", f"/api/events/{DEPARTMENT}/{EVENT}"),
    ("GET", f"/api/events/{DEPARTMENT}/{EVENT}/history"),
    ("GET", f"/api/departments/{DEPARTMENT}/history"),
    ("GET", "/api/audit?date=2024-01-20"),
    ("GET", f"/api/departments/{DEPARTMENT}/notifications"),
    ("DELETE", f"/api/events/{DEPARTMENT}/{EVENT}/occurrences/2024-01-23"),
    ("POST", f"/api/departments/{DEPARTMENT}/feed-token"),
    ("GET", f"/api/departments/{DEPARTMENT}/calendar.ics?token=abc"),
    ("GET", f"/api/departments/{DEPARTMENT}/changes"),
]
HISTORY_ROUTES = [
    "/api/events/{department_id}/{event_id}/history",
    "/api/departments/{department_id}/history",
    "/api/departments/{department_id}/notifications",
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    ROUTES_WITH_A_BODY + [(method, path, None) for method, path in ROUTES_WITHOUT_A_BODY],
)
def test_every_data_route_is_503_with_retry_after_when_the_tables_are_missing(
    api, tables, method, path, body
):
    # Given a DynamoDB that has none of the app's tables
    for name in tables.list_tables()["TableNames"]:
        tables.delete_table(TableName=name)
    # When any data route is called
    reply = api.call(method, path, body)
    # Then the answer is a 503 that says when to retry, never a 500
    assert reply.status == 503
    assert reply.error_code == "storage_unavailable"
    assert int(reply.headers["Retry-After"]) > 0


@pytest.mark.parametrize(("method", "path", "body"), ROUTES_WITH_A_BODY)
def test_a_body_over_64_kb_is_413_on_every_route_that_takes_a_body(api, method, path, body):
    # 22,000 Hangul syllables are 66,000 bytes of UTF-8
    reply = api.call(method, path, {**body, "description": "설" * 22_000})
    assert reply.status == 413
    assert reply.error_code == "payload_too_large"


@pytest.mark.parametrize(("method", "path", "body"), ROUTES_WITH_A_BODY)
def test_a_body_that_is_not_json_is_415_on_every_route_that_takes_a_body(api, method, path, body):
    reply = api.call(method, path, raw=b"name=QA", headers={"Content-Type": "text/plain"})
    assert reply.status == 415
    assert reply.error_code == "unsupported_media_type"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", f"/api/departments/{DEPARTMENT}", {"description": "x"}),
        ("DELETE", f"/api/departments/{DEPARTMENT}", None),
        ("PATCH", f"/api/events/{DEPARTMENT}/{EVENT}", {"title": "x"}),
        ("DELETE", f"/api/events/{DEPARTMENT}/{EVENT}", None),
        ("PATCH", f"/api/events/{DEPARTMENT}/{EVENT}/occurrences/2024-01-23", {"title": "x"}),
        ("DELETE", f"/api/events/{DEPARTMENT}/{EVENT}/occurrences/2024-01-23", None),
    ],
)
def test_an_if_match_that_is_no_etag_is_400_on_every_conditional_write(api, method, path, body):
    reply = api.call(method, path, body, headers={"If-Match": "latest"})
    assert reply.status == 400
    assert reply.error_fields == ["If-Match"]


@pytest.mark.parametrize("route", HISTORY_ROUTES)
def test_history_of_an_id_no_item_can_have_is_404(api, route):
    impossible = "x" * 200
    reply = api.get(route.format(department_id=impossible, event_id=impossible))
    assert reply.status == 404
    assert reply.error_code == "not_found"


@pytest.mark.parametrize("route", HISTORY_ROUTES)
@pytest.mark.parametrize(
    ("query", "code"),
    [("limit=0", "invalid_request"), ("next_token=garbage", "invalid_next_token")],
)
def test_history_with_bad_paging_is_400(api, route, query, code):
    path = route.format(department_id=DEPARTMENT, event_id=EVENT)
    reply = api.get(f"{path}?{query}")
    assert reply.status == 400
    assert reply.error_code == code


@pytest.mark.parametrize(
    "path", ["/api/nope", "/nope", "/api/", f"/api/departments/{DEPARTMENT}/history/more"]
)
def test_a_path_no_route_has_is_the_apis_json_404(api, path):
    # When a path no route has is called (as the local server and API Gateway answer it)
    reply = api.get(path)
    # Then the answer is the API's own error, not API Gateway's "Missing Authentication Token"
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.json == {
        "code": "not_found",
        "message": "No route answers this method and path; the API's routes are listed at "
        "/api/docs.",
    }
    assert reply.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/api/health", {"GET"}),
        ("PUT", "/api/departments", {"GET", "POST"}),
        ("DELETE", "/api/docs", {"GET"}),
    ],
)
def test_a_method_the_route_lacks_is_a_json_405_naming_the_routes_methods(
    api, method, path, allowed
):
    # When a route is called with a method it does not have
    response = api.client.http.request(method, path, headers={}, body=b"")
    # Then the answer is the API's 405, its Allow header listing what the route takes
    assert response.status_code == 405
    assert json.loads(response.body)["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) - {"OPTIONS"} == allowed
