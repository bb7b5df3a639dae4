"""Who may do what: every documented operation, called by each kind of caller, on a stage whose
authorizer is IAM (the roles from the stage's IAM_GRANTS) or Cognito (the roles from groups).

The operations come from the OpenAPI document, so a new route is in the matrix the day it is
added, and the role each needs is read from the document's `x-access`: the rule declared beside
the route is the one the document shows and the one enforced.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import app
from chalicelib import context
from chalicelib.api.openapi import build_document
from tests.lambda_events import api_gateway_event, lambda_context

POOL_ARN = "arn:aws:cognito-idp:ap-northeast-2:123456789012:userpool/ap-northeast-2_Abc123"
ACCOUNT = "arn:aws:iam::123456789012:user"
DOCUMENT = build_document(app)
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
    if method != "options"
]
# The callers, in the order they try each operation: the refusals come first, so an allowed
# delete cannot change what a refused caller meets.
CALLERS = ("nobody", "viewer of A", "editor of B", "editor of A", "admin")
QUERY_SAMPLES = {"date": "2026-11-30", "year": "2026", "token": "not-the-token"}
OCCURRENCE = "2026-12-08"


def invoke(
    method: str,
    path: str,
    *,
    identity: dict[str, Any] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    event = api_gateway_event(
        method, path, request_id="req-roles", body=body, query=query, headers=headers
    )
    event["requestContext"].update(identity or {})
    answer = app(event, lambda_context("api_handler"))
    text = answer.get("body") or ""
    try:
        return answer["statusCode"], json.loads(text) if text else None
    except ValueError:
        return answer["statusCode"], text


def recorded_actor(tables: Any, department_id: str, event_id: str) -> str:
    key = {"department_id": {"S": department_id}, "id": {"S": event_id}}
    return str(tables.get_item(TableName="events", Key=key)["Item"]["created_by"]["S"])


def iam(name: str) -> dict[str, Any]:
    return {"identity": {"userArn": f"{ACCOUNT}/{name}", "sourceIp": "203.0.113.7"}}


@pytest.fixture
def calendar(tables: Any) -> dict[str, str]:
    """Departments A and B and a weekly series in A, written on an open stage (the seed)."""
    ids: dict[str, str] = {}
    for name, key in (("기획팀", "A"), ("총무팀", "B")):
        status, department = invoke("POST", "/api/departments", body={"name": name})
        assert status == 201
        ids[key] = department["id"]
    series = {
        "event_date": "2026-12-01",
        "title": "주간 회의",
        "start_time": "10:00",
        "recurrence": "FREQ=WEEKLY;COUNT=10",
    }
    status, event = invoke("POST", f"/api/events/{ids['A']}", body=series)
    assert status == 201
    ids["event"] = event["id"]
    return ids


@pytest.fixture
def iam_stage(
    monkeypatch: pytest.MonkeyPatch, calendar: dict[str, str]
) -> Iterator[Callable[[str], dict[str, Any]]]:
    """The stage turns IAM authentication on, mapping one principal per kind of caller."""
    a, b = calendar["A"], calendar["B"]
    grants = {
        f"{ACCOUNT}/admin": ["admin"],
        f"{ACCOUNT}/editor-a": [f"dept-{a}-editor"],
        f"{ACCOUNT}/viewer-a": [f"dept-{a}-viewer"],
        f"{ACCOUNT}/editor-b": [f"dept-{b}-editor"],
    }
    monkeypatch.setenv("REQUIRE_AUTH", "true")
    monkeypatch.setenv("IAM_GRANTS", json.dumps(grants))
    context.reset()
    identities = {
        "nobody": {"identity": {"sourceIp": "203.0.113.7"}},
        "admin": iam("admin"),
        "editor of A": iam("editor-a"),
        "viewer of A": iam("viewer-a"),
        "editor of B": iam("editor-b"),
    }
    yield identities.__getitem__
    context.reset()


def expected_refusal(access: dict[str, Any], caller: str) -> int | None:
    """401 or 403 when `caller` may not call an operation with this `x-access`, else None."""
    if access.get("public"):
        return None
    if caller == "nobody":
        return 401
    role = access["role"]
    held = {
        "admin": {"admin", "editor", "viewer", "signed-in"},
        "editor of A": {"editor", "viewer", "signed-in"},
        "viewer of A": {"viewer", "signed-in"},
        "editor of B": {"signed-in"},
    }[caller]
    return None if role in held else 403


def concrete(path: str, ids: dict[str, str]) -> str:
    values = {
        "department_id": ids["A"],
        "event_id": ids["event"],
        "occurrence_date": OCCURRENCE,
        "asset": "index.html",
        "file": "calendar.js",
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def required_query(operation: dict[str, Any]) -> dict[str, str]:
    query = {}
    for reference in operation.get("parameters", []):
        name = reference.get("$ref", "").rsplit("/", 1)[-1]
        parameter = DOCUMENT["components"]["parameters"].get(name, {})
        if parameter.get("in") == "query" and parameter.get("required"):
            query[parameter["name"]] = QUERY_SAMPLES[parameter["name"]]
    return query


# Who may call what, as the product promises it. A new operation must be added here too.
EXPECTED_ACCESS = {
    "get_health": "public",
    "openapi_document": "public",
    "swagger_ui": "public",
    "swagger_ui_asset": "public",
    "calendar_page": "public",
    "calendar_page_asset": "public",
    "calendar_feed": "public",  # calendar apps cannot sign requests: the token is the key
    "list_departments": "signed-in",
    "list_holidays": "signed-in",
    "create_department": "admin",
    "update_department": "admin",
    "delete_department": "admin",
    "audit_for_date": "admin",
    "get_department": "viewer",
    "list_events": "viewer",
    "get_event": "viewer",
    "event_history": "viewer",
    "department_history": "viewer",
    "department_notifications": "viewer",
    "department_changes": "viewer",
    "create_event": "editor",
    "update_event": "editor",
    "delete_event": "editor",
    "update_occurrence": "editor",
    "delete_occurrence": "editor",
    "rotate_feed_token": "editor",
    "create_subscription": "editor",
    "list_subscriptions": "editor",
    "get_subscription": "editor",
    "delete_subscription": "editor",
    "rotate_subscription_secret": "editor",
    "subscription_deliveries": "editor",
}


def test_every_operation_declares_the_rule_the_product_promises_for_it():
    # A route without a rule would fail to build the document; each one shows its rule
    declared = {}
    for _, _, operation in OPERATIONS:
        access = operation["x-access"]
        declared[operation["operationId"]] = "public" if access.get("public") else access["role"]
        assert operation["description"]
        if access.get("role") in ("viewer", "editor"):
            assert access["department"] == "department_id"
    assert declared == EXPECTED_ACCESS


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    OPERATIONS,
    ids=[f"{method} {path}" for method, path, _ in OPERATIONS],
)
def test_each_caller_gets_what_their_role_allows_and_a_named_refusal_otherwise(
    iam_stage, calendar, method, path, operation
):
    # Given a stage with IAM authentication, A and B, and a series in A
    access = operation["x-access"]
    documented = {int(status) for status in operation["responses"]}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    for caller in CALLERS:
        # When each kind of caller calls the operation on A
        status, answer = invoke(
            method,
            concrete(path, calendar),
            identity=iam_stage(caller),
            body=body.get("example"),
            query=required_query(operation) or None,
            headers={"X-Actor": "ceo@spoofed"},
        )
        refusal = expected_refusal(access, caller)
        if refusal is None:
            # Then those the rule allows get past it, to an answer the document promises
            assert status not in (401, 403), (caller, status, answer)
            assert status in documented | {200}, (caller, status, answer)
        else:
            # And the others are refused before anything is read, saying why
            assert status == refusal, (caller, status, answer)
            assert answer["code"] == ("unauthenticated" if refusal == 401 else "forbidden")
            if refusal == 403:
                assert answer["role"] == access["role"]


def test_a_forged_x_actor_is_ignored_and_the_change_recorded_under_the_signed_in_principal(
    iam_stage, calendar, tables
):
    # Given A's editor, signed in with IAM, claiming in X-Actor to be someone else
    status, event = invoke(
        "POST",
        f"/api/events/{calendar['A']}",
        identity=iam_stage("editor of A"),
        body={"event_date": "2026-12-24", "title": "송년회"},
        headers={"X-Actor": "ceo@spoofed"},
    )
    # Then the event is recorded under the principal's ARN
    assert status == 201
    assert recorded_actor(tables, calendar["A"], event["id"]) == f"{ACCOUNT}/editor-a"


def test_listing_departments_shows_each_caller_the_ones_they_may_see(iam_stage, calendar):
    def names(caller: str, **query: str) -> tuple[list[str], Any]:
        status, page = invoke(
            "GET", "/api/departments", identity=iam_stage(caller), query=query or None
        )
        assert status == 200
        return sorted(item["name"] for item in page["items"]), page["next_token"]

    assert names("admin") == (["기획팀", "총무팀"], None)
    assert names("viewer of A") == (["기획팀"], None)
    assert names("editor of B") == (["총무팀"], None)


def test_a_caller_with_many_departments_pages_through_them_without_gaps(
    monkeypatch, tables, calendar
):
    # Given a Cognito user who views five departments, one of which no longer exists
    made = [calendar["A"], calendar["B"]]
    for name in ("인사팀", "재무팀"):
        status, department = invoke("POST", "/api/departments", body={"name": name})
        made.append(department["id"])
    groups = ",".join(f"dept-{department_id}-viewer" for department_id in [*made, "gone"])
    monkeypatch.setenv("REQUIRE_AUTH", "true")
    monkeypatch.setenv("COGNITO_USER_POOL_ARN", POOL_ARN)
    context.reset()
    user = {"authorizer": {"claims": {"cognito:username": "김영희", "cognito:groups": groups}}}
    # When they list two at a time
    seen: list[str] = []
    token: str | None = None
    while True:
        query = {"limit": "2", **({"next_token": token} if token else {})}
        status, page = invoke("GET", "/api/departments", identity=user, query=query)
        assert status == 200
        seen.extend(item["id"] for item in page["items"])
        token = page["next_token"]
        if token is None:
            break
    # Then every department they may see comes once, in id order, and the deleted one not at all
    assert seen == sorted(made)


def test_cognito_groups_decide_the_role(monkeypatch, calendar):
    # Given a Cognito stage and a user in A's viewer group only (an access token: `username`)
    monkeypatch.setenv("REQUIRE_AUTH", "true")
    monkeypatch.setenv("COGNITO_USER_POOL_ARN", POOL_ARN)
    context.reset()
    claims = {"username": "lee", "cognito:groups": f"[dept-{calendar['A']}-viewer]"}
    user = {"authorizer": {"claims": claims}}
    # When they read A, then try to change it
    read, _ = invoke("GET", f"/api/events/{calendar['A']}", identity=user)
    write, refusal = invoke(
        "POST",
        f"/api/events/{calendar['A']}",
        identity=user,
        body={"event_date": "2026-12-24", "title": "송년회"},
    )
    # Then reading is allowed and writing refused, naming the role needed
    assert read == 200
    assert write == 403
    assert refusal == {
        "code": "forbidden",
        "message": f"This needs the editor role in department '{calendar['A']}'.",
        "role": "editor",
        "department_id": calendar["A"],
    }


def test_the_local_stack_takes_x_actor_and_lets_everyone_do_everything(tables, calendar):
    # Given no authorizer (the local stack), a caller naming themselves in X-Actor
    status, event = invoke(
        "POST",
        f"/api/events/{calendar['B']}",
        body={"event_date": "2026-12-24", "title": "송년회"},
        headers={"X-Actor": "kim"},
    )
    assert status == 201
    assert recorded_actor(tables, calendar["B"], event["id"]) == "kim"
    # And health says how this stage identifies callers
    status, health = invoke("GET", "/api/health")
    assert (status, health["authentication"], health["actor"]) == (200, "none", "X-Actor header")


def test_health_tells_a_caller_of_a_signed_in_stage_only_ok_and_the_version_number(
    iam_stage, calendar
):
    status, health = invoke("GET", "/api/health")
    assert status == 200
    assert sorted(health) == ["status", "version"]
    assert health["status"] == "ok"
    assert "+" not in health["version"]


def test_health_on_a_signed_in_stage_does_not_say_which_table_is_missing(iam_stage, tables):
    # Given a stage with an authorizer whose events table is gone
    tables.delete_table(TableName="events")
    # When anyone asks for health
    status, answer = invoke("GET", "/api/health")
    # Then it is not ready, and the table's name stays in the logs
    assert status == 503
    assert answer["code"] == "storage_unavailable"
    assert "events" not in answer["message"]
