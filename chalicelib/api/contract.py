"""The API's contract, operation by operation: what each route takes and what it answers.

Declarative on purpose. chalicelib/api/openapi.py turns this and the routes into the OpenAPI
document; tests check it both ways (every route is described here, every status described here
is produced by some test). Operations are keyed by their view function's name, which is also
their operationId. Only the documentation routes import this module, never `import app`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from chalicelib.api.swagger_ui import SWAGGER_UI_ASSETS
from chalicelib.api.web import PAGE_ASSETS
from chalicelib.formats import ID_PATTERN
from chalicelib.models import (
    DESCRIPTION_MAX,
    NAME_MAX,
    TIME_MAX,
    TITLE_MAX,
    AuditPage,
    ChangePage,
    DeliveryPage,
    Department,
    DepartmentCreate,
    DepartmentPage,
    DepartmentUpdate,
    Event,
    EventAnswer,
    EventCreate,
    EventPage,
    EventUpdate,
    Notification,
    NotificationPage,
    SubscriptionAnswer,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPage,
    SubscriptionSecret,
)
from chalicelib.pagination import DEFAULT_LIMIT, MAX_LIMIT
from chalicelib.webhooks.delivery import DEFAULT_TIMEOUT_SECONDS
from chalicelib.webhooks.payloads import PING_TEXT

TITLE = "Department calendar API"
API_VERSION = "0.1.0"  # the project's version (pyproject.toml); a test keeps them equal
JSON = "application/json"

DESCRIPTION = f"""Departments and their calendar events, with the history of every change.

**Bodies** are JSON in UTF-8 (`{JSON}; charset=utf-8`), both ways; Korean and any other text is
kept exactly as sent. Request bodies over 64 KB are refused with 413.

**Errors** answer `{{"code", "message", "fields"?}}`: `code` is stable and machine-readable,
`fields` names every invalid field or header (`[{{"field", "message"}}]`).

**Concurrency**: single-item answers carry the item's `version` as an `ETag`. PATCH and DELETE
accept it back in `If-Match`; if the item changed since, the answer is 412 with its
`current_version` and nothing is written.

**Retrying creates**: a POST that creates may carry an `Idempotency-Key`; sending the same key
with the same request again answers the first result (with `Idempotent-Replayed: true`) instead
of creating a second item.

**Limits**: names ≤ {NAME_MAX}, titles ≤ {TITLE_MAX}, times ≤ {TIME_MAX}, descriptions ≤
{DESCRIPTION_MAX} characters; pages hold up to {MAX_LIMIT} items ({DEFAULT_LIMIT} by default).

**Authentication**: none locally and in open stages. In the prod stage the data routes require
AWS IAM (SigV4-signed requests) or a Cognito user pool ID token, as the stage is configured, and
this document, served there, lists that requirement on each of them; the health check, this
document, the docs page and the calendar page's files stay public."""


class Health(BaseModel):
    status: str = Field(description='"ok" once every table answers')
    version: str = Field(
        default="",
        description="the running version: with its commit (`0.1.0+1a2b3c4d5e6f`) on stages "
        "without authentication, the number alone (`0.1.0`) where callers sign in",
    )
    authentication: str | None = Field(
        default=None,
        description='`"none"` on stages without an authorizer (the local stack); absent elsewhere',
    )
    actor: str | None = Field(
        default=None,
        description="where the name changes are recorded under comes from, on stages without "
        "an authorizer (`X-Actor header`); absent elsewhere, where it is the signed-in caller",
    )


class FieldProblemBody(BaseModel):
    field: str = Field(description="the field, query parameter or header, e.g. `name`")
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable, e.g. `department_name_taken`")
    message: str = Field(description="for people")
    fields: list[FieldProblemBody] = Field(default_factory=list)


class FeedLink(BaseModel):
    url: str = Field(
        description="The feed's address with its token: give it to a calendar app. The "
        "previous link stops working."
    )


class Holiday(BaseModel):
    date: str = Field(description="YYYY-MM-DD")
    name: str = Field(description="in Korean, e.g. `설날`, `대체공휴일`")


class HolidayYear(BaseModel):
    year: int
    items: list[Holiday]


class ForbiddenBody(ErrorBody):
    role: str = Field(description="the role the operation needs: `viewer`, `editor` or `admin`")
    department_id: str | None = Field(
        default=None, description="the department it is needed in; absent for `admin`"
    )


class StaleVersionBody(ErrorBody):
    current_version: int = Field(description="the version the item has now")


@dataclass(frozen=True)
class Parameter:
    location: str  # "query" or "header"
    schema: Mapping[str, Any]
    description: str
    required: bool = False


_DATE = {"type": "string", "format": "date"}
_PAGING = ("limit", "next_token")

# Components every operation may refer to by name.
PARAMETERS: Mapping[str, Parameter] = {
    "limit": Parameter(
        "query",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "The most items a page may hold.",
    ),
    "next_token": Parameter(
        "query",
        {"type": "string"},
        "The previous page's `next_token`; only valid for the listing (and filters) that gave it.",
    ),
    "from": Parameter(
        "query",
        _DATE,
        "List what happens on or after this date: with `from` or `to`, a series is expanded "
        "into its occurrences (each with `series_id` and `occurrence_date`), multi-day events "
        "that reach into the dates are included, and everything comes in start order (all-day "
        "first). Without either, the events come as stored: a series once, with its rule.",
    ),
    "to": Parameter("query", _DATE, "List what happens on or before this date (see `from`)."),
    "q": Parameter(
        "query",
        {"type": "string", "maxLength": 100},
        "Only events whose title or description contains this text, compared NFC-normalised "
        "and case-folded (`회의` finds `팀 회의`).",
    ),
    "include": Parameter(
        "query",
        {"type": "string", "enum": ["holidays"]},
        "`holidays`: mix in Korean public holidays (read-only items with `holiday: true`); "
        "on event listings only together with `from` or `to`.",
    ),
    "scope": Parameter(
        "query",
        {"type": "string", "enum": ["this", "following"], "default": "this"},
        "`this`: only this occurrence. `following`: this and every later one — the series "
        "ends the day before and a new series (a new id) starts here.",
    ),
    "year": Parameter(
        "query", {"type": "integer", "minimum": 1000, "maximum": 9999}, "The year.", required=True
    ),
    "token": Parameter(
        "query",
        {"type": "string", "maxLength": 100},
        "The department's feed token, from the URL that `POST …/feed-token` gave.",
        required=True,
    ),
    "feed_include": Parameter(
        "query",
        {"type": "string", "enum": ["holidays"]},
        "`holidays`: add Korean public holidays of last year to two years ahead.",
    ),
    "since": Parameter(
        "query",
        {"type": "string", "maxLength": 4096},
        "The `sync_token` of the previous answer. Without it: every event as stored, and a "
        "token to continue from.",
    ),
    "If-None-Match": Parameter(
        "header",
        {"type": "string"},
        "The feed's ETag from before: 304 with no body if nothing changed since.",
    ),
    "date": Parameter("query", _DATE, "The UTC day whose changes to list.", required=True),
    "cascade": Parameter(
        "query",
        {"type": "boolean", "default": False},
        "Also delete the department's events; without it a department with events is a 409.",
    ),
    "If-Match": Parameter(
        "header",
        {"type": "string", "pattern": r'^(\*|(W/)?"?[0-9]{1,18}"?)$'},
        'The ETag the change is based on (`"3"`); `*` or no header: any version.',
    ),
    "X-Actor": Parameter(
        "header",
        {"type": "string", "maxLength": 200, "pattern": r"^[\x20-\x7e]*$"},
        "Who makes the change, recorded with it, where the stage does not authenticate callers "
        "(the local stack). Ignored where it does: the change is recorded under the signed-in "
        "caller.",
    ),
    "Idempotency-Key": Parameter(
        "header",
        {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x20-\x7e]+$"},
        "A key of the caller's choosing (a UUID) that makes retrying this create safe: the same "
        "key with the same request answers the first result for 24 hours; with a different "
        "request it is a 422. Anything but 1–255 printable ASCII characters is a 400 naming it.",
    ),
}

PATH_PARAMETERS: Mapping[str, Mapping[str, Any]] = {
    "department_id": {"type": "string", "pattern": f"^{ID_PATTERN}$"},
    "event_id": {"type": "string", "pattern": f"^{ID_PATTERN}$"},
    "occurrence_date": {"type": "string", "format": "date"},
    "subscription_id": {"type": "string", "pattern": f"^{ID_PATTERN}$"},
    "asset": {"type": "string", "enum": sorted(SWAGGER_UI_ASSETS)},
    "file": {"type": "string", "enum": sorted(PAGE_ASSETS)},
}

RESPONSE_HEADERS: Mapping[str, Mapping[str, Any]] = {
    "ETag": {
        "description": 'The item\'s version, quoted (`"3"`): send it back in `If-Match`.',
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    },
    "Location": {
        "description": "Where the new item can be read, as the caller reaches the API "
        "(`/v1/api/...` on API Gateway's own domain).",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Idempotent-Replayed": {
        "description": "Present on the answer to a repeated Idempotency-Key: nothing new was "
        "created, this is the first request's result.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Request-Id": {
        "description": "This request's id (API Gateway's on AWS), also in every log line written "
        "while it ran: quote it when reporting a problem.",
        "schema": {"type": "string"},
    },
}
# Sent with every answer the app gives.
EVERY_RESPONSE_HEADERS = ("X-Request-Id",)

# Why a status is answered, unless an operation says more precisely.
STATUS_REASONS: Mapping[int, str] = {
    304: "Not modified since the ETag in If-None-Match: no body.",
    410: "The sync token is too old (7 days), of another department or from an earlier version "
    "of the feed (`sync_token_expired`): read everything again, without `since`.",
    400: "Bad input: the body, a query parameter or a header is invalid (`invalid_request`, "
    "`validation_error`, `invalid_next_token`); `fields` names each one.",
    401: "The stage needs a signed-in caller and none was given (`unauthenticated`).",
    403: "The caller lacks the role this operation needs (`forbidden`); `role` and "
    "`department_id` say which.",
    404: "No such item (`department_not_found`, `event_not_found`), or an id no item can "
    "have (`not_found`).",
    409: "The change conflicts with the data (`department_name_taken`, "
    "`department_has_events`), or another request changed the item at the same moment "
    "(`concurrent_modification`: try again).",
    412: "If-Match names another version than the item has (`precondition_failed`); "
    "`current_version` and the ETag give the current one. Nothing was written.",
    413: "The body is over 64 KB (`payload_too_large`).",
    415: "The body is not sent as `application/json` (`unsupported_media_type`).",
    422: "This Idempotency-Key was already used for a different request "
    "(`idempotency_key_reused`): use a new key for a new request.",
    503: "DynamoDB is throttled, unreachable or missing a table (`storage_unavailable`); "
    "nothing was half-written. Retry after `Retry-After` seconds.",
}

ERROR_BODIES: Mapping[int, type[BaseModel]] = {403: ForbiddenBody, 412: StaleVersionBody}
ERROR_HEADERS: Mapping[int, tuple[str, ...]] = {
    304: ("ETag",),
    412: ("ETag",),
    503: ("Retry-After",),
}
# Answers without a body.
EMPTY_STATUSES = frozenset({304})


@dataclass(frozen=True)
class Operation:
    tag: str
    summary: str
    status: int = 200
    # The success body: a model, a JSON Schema, or None for no body (204).
    answer: type[BaseModel] | Mapping[str, Any] | None = None
    media_types: tuple[str, ...] = (JSON,)
    body: type[BaseModel] | None = None
    example: Mapping[str, Any] | None = None  # of the body: what Swagger UI offers to send
    parameters: tuple[str, ...] = ()
    answer_headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    # Operation-specific reasons, replacing STATUS_REASONS for those statuses.
    reasons: Mapping[int, str] = field(default_factory=dict)
    # OpenAPI links from the success answer: operationId -> {parameter: runtime expression}.
    links: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


_WRITE = ("X-Actor",)
_CONDITIONAL_WRITE = ("If-Match", "X-Actor")
_CREATE = ("Idempotency-Key", "X-Actor")
_CREATED_HEADERS = ("Location", "ETag", "Idempotent-Replayed")
_BODY_ERRORS = (400, 413, 415)
_KEY_EXPIRED = "`concurrent_modification`: try again, the key is free now"
_ID_TAKEN = (
    "another write took the new item's id at the same moment "
    "(`concurrent_modification`: try again, a retry gets a new id)"
)
_NEW_DEPARTMENT = {"department_id": "$response.body#/id"}
_NEW_EVENT = {"department_id": "$response.body#/department_id", "event_id": "$response.body#/id"}
_NEW_SUBSCRIPTION = {
    "department_id": "$response.body#/department_id",
    "subscription_id": "$response.body#/id",
}
_NO_SUBSCRIPTION = "No such department or subscription (`subscription_not_found`)."

OPERATIONS: Mapping[str, Operation] = {
    "get_health": Operation(
        "health",
        "Whether every table answers",
        answer=Health,
        errors=(503,),
        reasons={503: "A table is missing or DynamoDB cannot answer (`storage_unavailable`)."},
    ),
    "create_department": Operation(
        "departments",
        "Create a department",
        status=201,
        answer=Department,
        body=DepartmentCreate,
        example={"name": "QA팀", "description": "품질 보증", "reminders": [30]},
        parameters=_CREATE,
        answer_headers=_CREATED_HEADERS,
        errors=(*_BODY_ERRORS, 409, 422, 503),
        reasons={
            409: "Another department has this name, compared trimmed, NFC-normalised and "
            "case-folded (`department_name_taken`, `fields`: name); or the Idempotency-Key's "
            f"answer expired while this retry ran ({_KEY_EXPIRED}); or {_ID_TAKEN}."
        },
        links={
            "get_department": _NEW_DEPARTMENT,
            "update_department": _NEW_DEPARTMENT,
            "delete_department": _NEW_DEPARTMENT,
            "create_event": _NEW_DEPARTMENT,
            "list_events": _NEW_DEPARTMENT,
            "department_history": _NEW_DEPARTMENT,
            "department_notifications": _NEW_DEPARTMENT,
        },
    ),
    "list_departments": Operation(
        "departments",
        "List departments, a page at a time",
        answer=DepartmentPage,
        parameters=_PAGING,
        errors=(400, 503),
    ),
    "get_department": Operation(
        "departments",
        "Read a department",
        answer=Department,
        answer_headers=("ETag",),
        errors=(404, 503),
    ),
    "update_department": Operation(
        "departments",
        "Rename or describe a department",
        answer=Department,
        body=DepartmentUpdate,
        example={"description": "품질 관리"},
        parameters=_CONDITIONAL_WRITE,
        answer_headers=("ETag",),
        errors=(*_BODY_ERRORS, 404, 409, 412, 503),
        reasons={
            409: "The new name is taken (`department_name_taken`), or another request changed "
            "the department at the same moment (`concurrent_modification`: try again)."
        },
    ),
    "delete_department": Operation(
        "departments",
        "Delete a department (with ?cascade=true, and its events)",
        status=204,
        parameters=("cascade", *_CONDITIONAL_WRITE),
        errors=(400, 404, 409, 412, 503),
        reasons={
            409: "The department still has events and cascade was not asked for "
            "(`department_has_events`), or it changed at the same moment "
            "(`concurrent_modification`: try again)."
        },
    ),
    "create_event": Operation(
        "events",
        "Create an event in a department",
        status=201,
        answer=EventAnswer,
        body=EventCreate,
        example={
            "event_date": "2024-01-25",
            "title": "테스트 이벤트",
            "start_time": "14:00",
            "reminders": [10],
        },
        parameters=_CREATE,
        answer_headers=_CREATED_HEADERS,
        errors=(*_BODY_ERRORS, 404, 409, 422, 503),
        reasons={
            409: f"The Idempotency-Key's answer expired while this retry ran ({_KEY_EXPIRED}); "
            f"or {_ID_TAKEN}."
        },
        links={
            "get_event": _NEW_EVENT,
            "update_event": _NEW_EVENT,
            "delete_event": _NEW_EVENT,
            "event_history": _NEW_EVENT,
        },
    ),
    "list_events": Operation(
        "events",
        "List a department's events in date order, a page at a time",
        answer=EventPage,
        parameters=("from", "to", "q", "include", *_PAGING),
        errors=(400, 404, 503),
    ),
    "get_event": Operation(
        "events",
        "Read an event",
        answer=Event,
        answer_headers=("ETag",),
        errors=(404, 503),
    ),
    "update_event": Operation(
        "events",
        "Change some of an event's fields",
        answer=EventAnswer,
        body=EventUpdate,
        example={"time": "오후 4:00"},
        parameters=_CONDITIONAL_WRITE,
        answer_headers=("ETag",),
        errors=(*_BODY_ERRORS, 404, 409, 412, 503),
        reasons={
            409: "Without If-Match, other requests changed the event each time this one read "
            "it (`concurrent_modification`: try again)."
        },
    ),
    "delete_event": Operation(
        "events",
        "Delete an event",
        status=204,
        parameters=_CONDITIONAL_WRITE,
        errors=(400, 404, 412, 503),
    ),
    "update_occurrence": Operation(
        "events",
        "Change one occurrence of a series, or it and the following ones",
        answer=EventAnswer,
        body=EventUpdate,
        example={"start_time": "14:00", "end_time": "15:00", "reminders": [10, 60]},
        parameters=("scope", *_CONDITIONAL_WRITE),
        answer_headers=("ETag",),
        errors=(*_BODY_ERRORS, 404, 409, 412, 503),
        reasons={
            404: "No such department or series (`event_not_found`), or the series has no "
            "occurrence on that date (`occurrence_not_found`).",
            409: "Another request changed the series at the same moment "
            "(`concurrent_modification`: try again).",
            412: "If-Match names another version than the series has (or, for an occurrence "
            "changed before, than that occurrence has). Nothing was written.",
        },
    ),
    "delete_occurrence": Operation(
        "events",
        "Cancel one occurrence of a series, or it and the following ones",
        status=204,
        parameters=("scope", *_CONDITIONAL_WRITE),
        errors=(400, 404, 409, 412, 503),
        reasons={
            404: "No such department or series (`event_not_found`), or the series has no "
            "occurrence on that date (`occurrence_not_found`).",
            409: "Another request changed the series at the same moment "
            "(`concurrent_modification`: try again).",
        },
    ),
    "rotate_feed_token": Operation(
        "calendar",
        "Create or rotate the department's calendar feed link",
        answer=FeedLink,
        parameters=_WRITE,
        errors=(400, 404, 503),
    ),
    "calendar_feed": Operation(
        "calendar",
        "The department's calendar as iCalendar (RFC 5545), for calendar apps to subscribe to",
        answer={"type": "string"},
        media_types=("text/calendar",),
        parameters=("token", "feed_include", "If-None-Match"),
        answer_headers=("ETag",),
        errors=(304, 404, 503),
        reasons={
            404: "No such department, or the token is wrong or was rotated "
            "(`department_not_found`: the two are not told apart).",
        },
    ),
    "list_holidays": Operation(
        "calendar",
        "Korean public holidays of a year, substitute holidays included",
        answer=HolidayYear,
        parameters=("year",),
        errors=(400,),
    ),
    "event_history": Operation(
        "history",
        "An event's changes, newest first (also after it was deleted)",
        answer=AuditPage,
        parameters=_PAGING,
        errors=(400, 404, 503),
    ),
    "department_history": Operation(
        "history",
        "A department's changes, newest first (also after it was deleted)",
        answer=AuditPage,
        parameters=_PAGING,
        errors=(400, 404, 503),
    ),
    "audit_for_date": Operation(
        "history",
        "Every change of one UTC day, newest first",
        answer=AuditPage,
        parameters=("date", *_PAGING),
        errors=(400, 503),
    ),
    "department_changes": Operation(
        "history",
        "A department's events, then only what changed since (a sync token), for clients "
        "that keep a copy",
        answer=ChangePage,
        parameters=("since",),
        errors=(400, 404, 410, 503),
        reasons={
            400: "`since` is not a token this feed gave, or was altered (`invalid_request`).",
            404: "No such department (only when reading without `since`).",
        },
    ),
    "department_notifications": Operation(
        "history",
        "A department's inbox: what it was told about its events, newest first",
        answer=NotificationPage,
        parameters=_PAGING,
        errors=(400, 404, 503),
    ),
    "create_subscription": Operation(
        "subscriptions",
        "Subscribe a URL to the department's notifications (a webhook)",
        status=201,
        answer=SubscriptionCreated,
        body=SubscriptionCreate,
        example={
            "url": "https://hooks.example/calendar",
            "events": ["created", "changed", "cancelled"],
            "format": "json",
        },
        parameters=_WRITE,
        answer_headers=("Location",),
        errors=(*_BODY_ERRORS, 404, 409, 503),
        reasons={
            400: "The body is invalid (`validation_error`; `fields` names each field), or the "
            "URL cannot be subscribed (`validation_error` on `url`): not https, a user name or "
            "password in it, a host that is not a public address, or the signed test call "
            "(`ping`) was not answered 2xx within "
            f"{DEFAULT_TIMEOUT_SECONDS:g} s. A redirect is not followed: subscribe the "
            "address it points to. Nothing was stored.",
            404: "No such department (`department_not_found`).",
            409: f"{_ID_TAKEN[0].upper()}{_ID_TAKEN[1:]}.",
        },
        links={
            "get_subscription": _NEW_SUBSCRIPTION,
            "delete_subscription": _NEW_SUBSCRIPTION,
            "rotate_subscription_secret": _NEW_SUBSCRIPTION,
            "subscription_deliveries": _NEW_SUBSCRIPTION,
        },
    ),
    "list_subscriptions": Operation(
        "subscriptions",
        "List the department's subscriptions (without their secrets), a page at a time",
        answer=SubscriptionPage,
        parameters=_PAGING,
        errors=(400, 404, 503),
    ),
    "get_subscription": Operation(
        "subscriptions",
        "Read a subscription (without its secret)",
        answer=SubscriptionAnswer,
        errors=(404, 503),
        reasons={404: _NO_SUBSCRIPTION},
    ),
    "delete_subscription": Operation(
        "subscriptions",
        "Unsubscribe: nothing more is sent to the URL",
        status=204,
        errors=(404, 503),
        reasons={404: _NO_SUBSCRIPTION},
    ),
    "rotate_subscription_secret": Operation(
        "subscriptions",
        "Replace the subscription's signing secret; the old one stops verifying at once",
        answer=SubscriptionSecret,
        parameters=_WRITE,
        errors=(400, 404, 503),
        reasons={
            400: "X-Actor is not printable text of at most 200 characters "
            "(`invalid_request`, `fields`: X-Actor).",
            404: _NO_SUBSCRIPTION,
        },
    ),
    "subscription_deliveries": Operation(
        "subscriptions",
        "What was delivered to the subscription, newest notification first",
        answer=DeliveryPage,
        parameters=_PAGING,
        errors=(400, 404, 503),
        reasons={404: _NO_SUBSCRIPTION},
    ),
    "openapi_document": Operation(
        "documentation",
        "This OpenAPI document",
        answer={"type": "object"},
    ),
    "swagger_ui": Operation(
        "documentation",
        "Swagger UI for this document",
        answer={"type": "string"},
        media_types=("text/html",),
    ),
    "swagger_ui_asset": Operation(
        "documentation",
        "A file the Swagger UI page loads",
        answer={"type": "string"},
        media_types=("text/javascript", "text/css"),
        errors=(404,),
        reasons={404: "No such file (`not_found`)."},
    ),
    "calendar_page": Operation(
        "page",
        "The calendar page: departments and their events by month, week or list, kept live",
        answer={"type": "string"},
        media_types=("text/html",),
        errors=(404,),
        reasons={404: "The page was not built into this deployment (`not_found`)."},
    ),
    "calendar_page_asset": Operation(
        "page",
        "A file the calendar page loads (its script and styles)",
        answer={"type": "string"},
        media_types=("text/javascript", "text/css"),
        errors=(404,),
        reasons={404: "No such file (`not_found`)."},
    ),
}

TAGS: Mapping[str, str] = {
    "departments": "Departments: names are unique, compared trimmed and case-folded.",
    "events": "A department's calendar events.",
    "history": "What happened: the audit log and department inboxes, kept by the change streams.",
    "calendar": "The calendar outside the API: iCalendar feeds and public holidays.",
    "subscriptions": "Webhooks: URLs the department's notifications are sent to, signed per "
    "Standard Webhooks.",
    "webhooks": "The calls this API makes to a subscription's URL: what a receiver implements.",
    "health": "Readiness.",
    "documentation": "This document and a page to read it.",
    "page": "The calendar page people open at the app's address, and its files. It calls the "
    "API from the browser, so the data routes' authentication still applies to it.",
}

# In stages that require authentication (REQUIRE_AUTH) the data routes carry a Chalice
# authorizer; each kind is described by one of these schemes, named by the authorizer's class.
AUTHORIZER_SCHEMES: Mapping[str, str] = {
    "IAMAuthorizer": "sigv4",
    "CognitoUserPoolAuthorizer": "cognito",
}
SECURITY_SCHEMES: Mapping[str, Mapping[str, Any]] = {
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "AWS Signature Version 4: requests signed with AWS credentials allowed to "
        "call this API (`execute-api:Invoke`), as the prod stage requires by default.",
        # How API Gateway names these in the OpenAPI documents it imports and exports.
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
    "cognito": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "The ID token of a Cognito user pool's user, where the stage names a "
        "user pool (COGNITO_USER_POOL_ARN) instead of IAM.",
        "x-amazon-apigateway-authtype": "cognito_user_pools",
    },
}


# The calls this API makes to subscribed URLs: the OpenAPI document's `webhooks`.


class WebhookNotification(BaseModel):
    """The body of a call to a `json` subscription: the Standard Webhooks envelope."""

    type: str = Field(
        description="`event.created`, `event.changed`, `event.cancelled`, `event.reminder` "
        "(a reminder before an event's start) or `calendar.digest` (the day's events, at "
        "09:00 Asia/Seoul); more types may come: ignore the ones you do not know"
    )
    timestamp: str = Field(description="when the change happened (ISO 8601 UTC), as `data.at`")
    data: Notification = Field(description="the notification, as the department's inbox has it")


class WebhookPingData(BaseModel):
    department_id: str
    text: str = Field(description=f"always `{PING_TEXT}`")


class WebhookPing(BaseModel):
    """The body of the test call made when a subscription is created (to `json` ones)."""

    type: Literal["ping"]
    timestamp: str = Field(description="when the call was made (ISO 8601 UTC)")
    data: WebhookPingData


@dataclass(frozen=True)
class Webhook:
    summary: str
    description: str
    body: type[BaseModel]
    example: Mapping[str, Any]


_DEPARTMENT_EXAMPLE = "5b1f8c9e-2d3a-4e6f-9a7b-1c2d3e4f5a6b"
_SIGNED = (
    "Verify `webhook-signature` before trusting the body (the `standardwebhooks` library does "
    "it in one call), and drop calls whose `webhook-id` you have already handled: a call may "
    "come more than once."
)

WEBHOOKS: Mapping[str, Webhook] = {
    "notification": Webhook(
        "A notification about one of the department's events",
        "Sent to each active subscription that chose the notification's kind (`events`), in "
        'the format it chose: `json`, this envelope; `slack`, only `{"text"}` (the Korean '
        f"text, Slack-escaped). {_SIGNED}",
        WebhookNotification,
        {
            "type": "event.created",
            "timestamp": "2024-01-20T06:00:00.000Z",
            "data": {
                "department_id": _DEPARTMENT_EXAMPLE,
                "event_id": "0c9e2a44-7d1b-4f3e-8a6c-5b4d3c2e1f0a",
                "kind": "created",
                "title": "팀 회의",
                "event_date": "2024-01-25",
                "time": "오후 3:00",
                "start_time": "15:00",
                "timezone": "Asia/Seoul",
                "changes": {},
                "text": "새 일정: 팀 회의 (2024-01-25 오후 3:00)",
                "actor": "김철수",
                "at": "2024-01-20T06:00:00.000Z",
                "sequence_number": "4900000000000000000001",
            },
        },
    ),
    "ping": Webhook(
        "The test call made when a subscription is created",
        "Signed with the secret the create answers, with `webhook-id` `ping_<subscription id>`. "
        "Only a 2xx answer (no redirect) within "
        f"{DEFAULT_TIMEOUT_SECONDS:g} s creates the subscription. `slack` subscriptions get "
        '`{"text"}` instead.',
        WebhookPing,
        {
            "type": "ping",
            "timestamp": "2024-01-20T06:00:00.000Z",
            "data": {"department_id": _DEPARTMENT_EXAMPLE, "text": PING_TEXT},
        },
    ),
}

# The three headers of Standard Webhooks (https://www.standardwebhooks.com), on every call.
WEBHOOK_HEADERS: Mapping[str, Parameter] = {
    "webhook-id": Parameter(
        "header",
        {"type": "string"},
        "The message's id, the same on every attempt of one notification to one subscription: "
        "the key to drop duplicates by.",
        required=True,
    ),
    "webhook-timestamp": Parameter(
        "header",
        {"type": "string", "pattern": "^[0-9]+$"},
        "When this attempt was signed, in Unix seconds. Refuse calls far from your clock "
        "(the library allows five minutes), so a recorded call cannot be replayed later.",
        required=True,
    ),
    "webhook-signature": Parameter(
        "header",
        {"type": "string", "pattern": "^v1,"},
        "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed "
        "with the secret (the base64 after `whsec_`). Several may come, space-separated: "
        "one that matches is enough.",
        required=True,
    ),
}

WEBHOOK_ANSWERS: Mapping[str, str] = {
    "2XX": f"Received. Answer within {DEFAULT_TIMEOUT_SECONDS:g} s, and do the work afterwards.",
    "default": "Anything else, a redirect, or no answer in time is a failed attempt: it is "
    "tried again with growing waits for up to 24 hours, and a subscription whose calls have "
    "all failed for 24 hours is paused.",
}
