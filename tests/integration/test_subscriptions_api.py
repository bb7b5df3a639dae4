"""/api/departments/{id}/subscriptions through chalice.test.Client on moto, with real webhook
receivers on 127.0.0.1 (the local stack's ALLOW_PRIVATE_WEBHOOKS lets the API call them), and
the subscription store's health bookkeeping that the delivery worker relies on."""

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_args

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib import context
from chalicelib.api.contract import WEBHOOKS, WebhookNotification, WebhookPing
from chalicelib.errors import DepartmentNotFound, SubscriptionNotFound
from chalicelib.models import SubscribableEvent
from chalicelib.repositories import subscriptions as subscription_store
from chalicelib.repositories.subscriptions import Subscription, SubscriptionRepository
from chalicelib.settings import get_settings
from chalicelib.webhooks.payloads import PING_TEXT, SUBSCRIBABLE, ping_body
from chalicelib.webhooks.signing import signature_headers

PUBLIC_URL = "https://hooks.example/calendar"  # .example never resolves: a test call fails
UNKNOWN = "7b0f3c1e-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver: /hook answers 204, /moved redirects (302) to /hook, /broken answers
    500. Every call is remembered, headers with lower-case names."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[Call] = []

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.calls.append(Call(self.path, headers, body))
        status, extra = {
            "/hook": (204, {}),
            "/moved": (302, {"Location": self.server.url("/hook")}),
            "/broken": (500, {}),
        }[self.path]
        self.send_response(status)
        for name, value in {**extra, "Content-Length": "0"}.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stack's setting: receivers over http, on loopback."""
    monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "true")
    context.reset()


@pytest.fixture
def department(api: Any) -> dict[str, Any]:
    return api.department(name="개발팀")


def subscriptions_of(department_id: str) -> str:
    return f"/api/departments/{department_id}/subscriptions"


def subscribe(api: Any, department_id: str, url: str, **body: Any) -> Any:
    return api.post(subscriptions_of(department_id), {"url": url, **body})


def stored_subscriptions(department_id: str) -> list[Subscription]:
    return the_store().page(department_id, 100, None)[0]


def the_store() -> SubscriptionRepository:
    """The repository the API's requests use (same moto, same settings)."""
    return context.get_context().subscriptions


def verified(secret: str, call: Call) -> Any:
    """The call's payload, if its signature verifies with `secret` (raises otherwise)."""
    return Webhook(secret).verify(call.body, call.headers)


# --- creating: the signed test call -------------------------------------------------------


@pytest.mark.usefixtures("local_stack")
def test_create_calls_the_url_once_with_a_signed_ping_and_answers_the_secret(
    api, receiver, department
):
    # Given a department and a receiver on the local stack
    # When an editor subscribes the receiver, naming themselves in Korean
    reply = api.post(
        subscriptions_of(department["id"]),
        {"url": receiver.url("/hook"), "events": ["created", "cancelled"]},
        headers={"X-Actor": "김철수"},
    )
    # Then the subscription is created, with its secret and where to read it
    assert reply.status == 201, reply.body
    created = reply.json
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["created", "cancelled"]
    assert (created["format"], created["status"], created["version"]) == ("json", "active", 1)
    assert created["created_by"] == "김철수"
    assert created["failing_since"] is None
    location = f"{subscriptions_of(department['id'])}/{created['id']}"
    assert reply.headers["Location"] == location
    # And the receiver got exactly one call, a ping signed with that very secret
    (call,) = receiver.calls
    assert call.path == "/hook"
    assert call.headers["webhook-id"] == f"ping_{created['id']}"
    assert call.headers["content-type"] == "application/json; charset=utf-8"
    payload = verified(created["secret"], call)
    assert payload["type"] == "ping"
    assert payload["data"] == {"department_id": department["id"], "text": PING_TEXT}
    assert PING_TEXT.encode() in call.body  # Korean as UTF-8 text, not \\u escapes
    # And the Location serves it, without the secret
    again = api.get(location)
    assert again.status == 200
    assert again.json == {k: v for k, v in created.items() if k != "secret"}


@pytest.mark.usefixtures("local_stack")
def test_a_slack_subscription_is_pinged_with_slack_text_and_signed_too(api, receiver, department):
    reply = subscribe(api, department["id"], receiver.url("/hook"), format="slack")
    assert reply.status == 201, reply.body
    (call,) = receiver.calls
    assert verified(reply.json["secret"], call) == {"text": PING_TEXT}


@pytest.mark.usefixtures("local_stack")
def test_events_default_to_every_kind_a_subscriber_can_choose(api, receiver, department):
    reply = subscribe(api, department["id"], receiver.url("/hook"))
    assert reply.status == 201, reply.body
    assert reply.json["events"] == list(SUBSCRIBABLE)


@pytest.mark.usefixtures("local_stack")
def test_a_redirecting_url_is_400_naming_url_and_nothing_is_stored(api, receiver, department):
    # Given a receiver address that redirects elsewhere
    # When it is subscribed
    reply = subscribe(api, department["id"], receiver.url("/moved"))
    # Then the answer says to subscribe the final address, and nothing was stored
    assert reply.status == 400
    assert reply.error_fields == ["url"]
    assert "subscribe the final address" in reply.json["message"]
    assert [call.path for call in receiver.calls] == ["/moved"]  # the redirect was not followed
    assert stored_subscriptions(department["id"]) == []


@pytest.mark.usefixtures("local_stack")
@pytest.mark.parametrize(
    ("path", "reason"), [("/broken", "the receiver answered 500"), (None, "refused")]
)
def test_a_test_call_that_fails_is_400_naming_url_with_the_reason(
    api, receiver, department, path, reason
):
    # Given a receiver that answers 500, or a port nothing listens on
    if path is None:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    else:
        url = receiver.url(path)
    # When it is subscribed
    reply = subscribe(api, department["id"], url)
    # Then the test call's failure is the answer, and nothing was stored
    assert reply.status == 400
    assert reply.error_fields == ["url"]
    assert "the test call failed" in reply.json["fields"][0]["message"]
    assert reason in reply.json["message"]
    assert stored_subscriptions(department["id"]) == []


def test_a_host_that_does_not_resolve_is_400_naming_url(api, department):
    reply = subscribe(api, department["id"], PUBLIC_URL)
    assert reply.status == 400
    assert reply.error_fields == ["url"]
    assert "could not resolve the host" in reply.json["message"]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/hostname",
        "http://hooks.example/calendar",
        "https://127.0.0.1:9/hook",
        "https://10.0.0.7/hook",
        "https://[::ffff:169.254.169.254]/latest",
        "https://user:password@hooks.example/calendar",
    ],
)
def test_urls_that_are_not_public_https_are_refused_before_any_call(api, department, url):
    # Given a stage that does not allow private webhooks (every stage but the local one)
    # When a URL that is not https, or points inward, is subscribed
    reply = subscribe(api, department["id"], url)
    # Then it is a 400 naming url, and nothing was stored
    assert reply.status == 400
    assert reply.error_code == "validation_error"
    assert reply.error_fields == ["url"]
    assert stored_subscriptions(department["id"]) == []


def test_a_private_receiver_gets_no_call_unless_the_stage_allows_it(api, receiver, department):
    reply = subscribe(api, department["id"], receiver.url("/hook", scheme="https"))
    assert reply.status == 400
    assert reply.error_fields == ["url"]
    assert "loopback" in reply.json["message"]
    assert receiver.calls == []


@pytest.mark.usefixtures("local_stack")
def test_an_unknown_department_is_404_and_its_url_is_never_called(api, receiver):
    reply = subscribe(api, UNKNOWN, receiver.url("/hook"))
    assert reply.status == 404
    assert reply.error_code == "department_not_found"
    assert receiver.calls == []


@pytest.mark.usefixtures("local_stack")
def test_a_new_id_taken_in_the_same_moment_is_409_and_the_first_subscription_stays(
    api, receiver, department, monkeypatch
):
    # Given ids that collide (as two writers picking the same new id would)
    monkeypatch.setattr(
        subscription_store, "new_id", lambda: "0c9e2a44-1111-4000-8000-000000000000"
    )
    first = subscribe(api, department["id"], receiver.url("/hook"))
    # When a second subscription gets the same id
    second = subscribe(api, department["id"], receiver.url("/hook"), format="slack")
    # Then it is refused, and the first one is kept as it was
    assert (first.status, second.status) == (201, 409)
    assert second.error_code == "concurrent_modification"
    (kept,) = stored_subscriptions(department["id"])
    assert (kept.format, kept.secret) == ("json", first.json["secret"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC_URL, "events": ["created", "birthday"]}, "events.1"),
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL, "events": ["created", "created"]}, "events"),
        ({"url": PUBLIC_URL, "events": "created"}, "events"),
        ({"url": PUBLIC_URL, "format": "xml"}, "format"),
        ({"url": "https://hooks.example/" + "가" * 2000}, "url"),
        ({"url": 42}, "url"),
        ({"events": ["created"]}, "url"),
        ({"url": PUBLIC_URL, "secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(api, department, body, field):
    reply = api.post(subscriptions_of(department["id"]), body)
    assert reply.status == 400
    assert reply.error_code == "validation_error"
    assert reply.error_fields == [field]


def test_a_body_over_64_kb_is_413_and_one_not_sent_as_json_415(api, department):
    path = subscriptions_of(department["id"])
    too_big = api.post(path, {"url": PUBLIC_URL, "note": "설" * 22_000})
    not_json = api.post(path, raw=b"url=x", headers={"Content-Type": "text/plain"})
    assert (too_big.status, too_big.error_code) == (413, "payload_too_large")
    assert (not_json.status, not_json.error_code) == (415, "unsupported_media_type")


# --- reading, rotating, deleting ----------------------------------------------------------


@pytest.mark.usefixtures("local_stack")
def test_the_list_shows_every_subscription_without_its_secret(api, receiver, department):
    # Given two subscriptions
    made = [subscribe(api, department["id"], receiver.url("/hook")).json for _ in range(2)]
    # When the department's subscriptions are listed one per page
    first = api.get(subscriptions_of(department["id"]) + "?limit=1")
    token = first.json["next_token"]
    second = api.get(subscriptions_of(department["id"]) + f"?limit=1&next_token={token}")
    # Then both come, once each, and no secret is anywhere in the answers
    assert (first.status, second.status) == (200, 200)
    listed = first.json["items"] + second.json["items"]
    assert second.json["next_token"] is None
    assert sorted(item["id"] for item in listed) == sorted(item["id"] for item in made)
    for answer in (first, second):
        assert b"secret" not in answer.body
        assert not any(item["secret"].encode() in answer.body for item in made)


def test_a_department_without_subscriptions_lists_none_and_an_unknown_one_is_404(api, department):
    empty = api.get(subscriptions_of(department["id"]))
    unknown = api.get(subscriptions_of(UNKNOWN))
    assert (empty.status, empty.json) == (200, {"items": [], "next_token": None})
    assert (unknown.status, unknown.error_code) == (404, "department_not_found")


def test_bad_paging_is_400(api, department):
    limit = api.get(subscriptions_of(department["id"]) + "?limit=0")
    token = api.get(subscriptions_of(department["id"]) + "?next_token=garbage")
    assert (limit.status, limit.error_fields) == (400, ["limit"])
    assert (token.status, token.error_code) == (400, "invalid_next_token")


@pytest.mark.usefixtures("local_stack")
def test_rotating_gives_a_new_secret_that_signs_from_then_on(api, receiver, department):
    # Given a subscription and its secret
    created = subscribe(api, department["id"], receiver.url("/hook")).json
    path = f"{subscriptions_of(department['id'])}/{created['id']}/secret"
    # When the secret is rotated
    reply = api.post(path, headers={"X-Actor": "이영희"})
    # Then a new secret is answered and stored, and the old one no longer verifies
    assert reply.status == 200
    new_secret = reply.json["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != created["secret"]
    now = the_store().get(department["id"], created["id"])
    assert (now.secret, now.version) == (new_secret, 2)
    body = ping_body(department["id"], "2024-01-20T06:00:00.000Z", "json")
    headers = signature_headers(now.secret, "msg_1", body, timestamp=int(time.time()))
    call = Call("/hook", headers, body)
    assert verified(new_secret, call)["type"] == "ping"
    with pytest.raises(WebhookVerificationError):
        verified(created["secret"], call)


@pytest.mark.usefixtures("local_stack")
def test_rotating_with_an_x_actor_that_is_not_text_is_400(api, receiver, department):
    created = subscribe(api, department["id"], receiver.url("/hook")).json
    path = f"{subscriptions_of(department['id'])}/{created['id']}/secret"
    reply = api.post(path, headers={"X-Actor": "김\x07철수"})
    assert (reply.status, reply.error_fields) == (400, ["X-Actor"])


@pytest.mark.usefixtures("local_stack")
def test_delete_is_204_and_then_the_subscription_is_gone(api, receiver, department):
    # Given a subscription
    created = subscribe(api, department["id"], receiver.url("/hook")).json
    path = f"{subscriptions_of(department['id'])}/{created['id']}"
    # When it is deleted
    deleted = api.delete(path)
    # Then it answers 204, and everything about it is 404 from then on
    assert (deleted.status, deleted.body) == (204, b"")
    assert stored_subscriptions(department["id"]) == []
    for reply in (
        api.get(path),
        api.delete(path),
        api.post(f"{path}/secret"),
        api.get(f"{path}/deliveries"),
    ):
        assert (reply.status, reply.error_code) == (404, "subscription_not_found")


def test_an_id_no_subscription_can_have_is_404_without_a_read(api, department):
    reply = api.get(f"{subscriptions_of(department['id'])}/{'x' * 200}")
    assert (reply.status, reply.error_code) == (404, "not_found")


# --- the delivery log ---------------------------------------------------------------------


def delivery_item(subscription: Subscription, key: str, **fields: Any) -> dict[str, Any]:
    values = {
        "subscription_id": subscription.id,
        "notification_key": key,
        "department_id": subscription.department_id,
        "webhook_id": f"msg_{key}",
        "kind": "created",
        "status": "delivered",
        "attempts": 1,
        "created_at": key[:24],
        "expires_at": 1_900_000_000,  # the log's Time to Live: not part of the answer
        **fields,
    }
    return {
        name: {"N": str(value)} if isinstance(value, int) else {"S": value}
        for name, value in values.items()
    }


def test_deliveries_are_listed_newest_first_a_page_at_a_time(api, tables, department):
    # Given a subscription with two deliveries in its log, one that failed, and another's
    subscription = the_store().create(department["id"], PUBLIC_URL, ["created"], "json", "김철수")
    other = the_store().create(department["id"], PUBLIC_URL, ["created"], "json", "김철수")
    older = "2024-01-20T06:00:00.000Z#49000000000000000001"
    newer = "2024-01-21T06:00:00.000Z#49000000000000000002"
    for item in (
        delivery_item(subscription, older, last_attempt_at=older[:24], last_status=204),
        delivery_item(
            subscription,
            newer,
            status="pending",
            attempts=2,
            last_status=500,
            last_error="the receiver answered 500",
            next_attempt_at="2024-01-21T06:01:00.000Z",
            due_shard="1",
        ),
        delivery_item(other, newer),
    ):
        tables.put_item(TableName=get_settings().deliveries_table, Item=item)
    path = f"{subscriptions_of(department['id'])}/{subscription.id}/deliveries"
    # When its deliveries are read one per page
    first = api.get(f"{path}?limit=1")
    second = api.get(f"{path}?limit=1&next_token={first.json['next_token']}")
    # Then the newest comes first, each once, only this subscription's, then no more pages
    assert (first.status, second.status) == (200, 200)
    (latest,) = first.json["items"]
    (earliest,) = second.json["items"]
    assert second.json["next_token"] is None
    assert latest == {
        "subscription_id": subscription.id,
        "notification_key": newer,
        "department_id": department["id"],
        "webhook_id": f"msg_{newer}",
        "kind": "created",
        "status": "pending",
        "attempts": 2,
        "created_at": newer[:24],
        "last_attempt_at": None,
        "last_status": 500,
        "last_error": "the receiver answered 500",
        "next_attempt_at": "2024-01-21T06:01:00.000Z",
        "delivered_at": None,
    }
    assert (earliest["notification_key"], earliest["last_status"]) == (older, 204)


def test_another_departments_subscription_shows_no_deliveries_here(api, department):
    # Given a subscription of 개발팀, and 마케팅팀 whose editors may not see it
    subscription = the_store().create(department["id"], PUBLIC_URL, ["created"], "json", "김철수")
    marketing = api.department(name="마케팅팀")
    # When its deliveries are asked for under 마케팅팀
    reply = api.get(f"{subscriptions_of(marketing['id'])}/{subscription.id}/deliveries")
    # Then there is no such subscription there
    assert (reply.status, reply.error_code) == (404, "subscription_not_found")


def test_a_delivery_page_token_of_another_listing_is_400(api, department):
    subscription = the_store().create(department["id"], PUBLIC_URL, ["created"], "json", "김철수")
    path = f"{subscriptions_of(department['id'])}/{subscription.id}/deliveries"
    reply = api.get(f"{path}?next_token=garbage")
    assert (reply.status, reply.error_code) == (400, "invalid_next_token")


# --- DynamoDB unavailable -----------------------------------------------------------------

SUBSCRIPTION = f"{subscriptions_of(UNKNOWN)}/0c9e2a44-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", subscriptions_of(UNKNOWN), {"url": PUBLIC_URL}),
        ("GET", subscriptions_of(UNKNOWN), None),
        ("GET", SUBSCRIPTION, None),
        ("DELETE", SUBSCRIPTION, None),
        ("POST", f"{SUBSCRIPTION}/secret", None),
        ("GET", f"{SUBSCRIPTION}/deliveries", None),
    ],
)
def test_every_subscription_route_is_503_with_retry_after_when_the_tables_are_missing(
    api, tables, method, path, body
):
    for name in tables.list_tables()["TableNames"]:
        tables.delete_table(TableName=name)
    reply = api.call(method, path, body)
    assert reply.status == 503
    assert reply.error_code == "storage_unavailable"
    assert int(reply.headers["Retry-After"]) > 0


# --- the store, as the delivery worker uses it ----------------------------------------------


@pytest.fixture
def store(tables: Any) -> SubscriptionRepository:
    return SubscriptionRepository(tables, get_settings(), clock=lambda: "2024-01-20T06:00:00.000Z")


@pytest.fixture
def subscription(tables: Any, store: SubscriptionRepository) -> Subscription:
    tables.put_item(TableName=get_settings().departments_table, Item={"id": {"S": "d1"}})
    return store.create("d1", PUBLIC_URL, ["created", "changed"], "slack", "김철수")


def test_the_store_keeps_a_subscription_as_created(store, subscription):
    assert store.get("d1", subscription.id) == subscription
    assert subscription.events == ("created", "changed")
    assert (subscription.status, subscription.failing_since, subscription.paused_at) == (
        "active",
        None,
        None,
    )


def test_create_for_a_department_that_does_not_exist_stores_nothing(tables, store):
    # The department check is in the write's own transaction: no read first, no orphan
    with pytest.raises(DepartmentNotFound):
        store.create("gone", PUBLIC_URL, ["created"], "json", "김철수")
    assert tables.scan(TableName=get_settings().subscriptions_table)["Items"] == []


def test_create_stores_nothing_when_confirm_refuses(store, subscription):
    def refuse(_: Subscription) -> None:
        raise SubscriptionNotFound("d1", "refused")

    with pytest.raises(SubscriptionNotFound):
        store.create("d1", PUBLIC_URL, ["created"], "json", "김철수", confirm=refuse)
    assert [s.id for s in store.page("d1", 10, None)[0]] == [subscription.id]


def test_the_first_failure_starts_the_failing_period_and_later_ones_keep_it(store, subscription):
    first = store.record_failure("d1", subscription.id, "2024-01-20T07:00:00.000Z")
    later = store.record_failure("d1", subscription.id, "2024-01-20T09:00:00.000Z")
    assert first == later == "2024-01-20T07:00:00.000Z"
    assert store.get("d1", subscription.id).failing_since == "2024-01-20T07:00:00.000Z"


def test_a_success_ends_the_failing_period_and_the_next_failure_starts_a_new_one(
    store, subscription
):
    store.record_failure("d1", subscription.id, "2024-01-20T07:00:00.000Z")
    store.record_success("d1", subscription.id)
    assert store.get("d1", subscription.id).failing_since is None
    again = store.record_failure("d1", subscription.id, "2024-01-22T07:00:00.000Z")
    assert again == "2024-01-22T07:00:00.000Z"


def test_pause_is_true_only_for_the_call_that_paused_it(store, subscription):
    assert store.pause("d1", subscription.id, "2024-01-21T07:00:00.000Z") is True
    assert store.pause("d1", subscription.id, "2024-01-21T08:00:00.000Z") is False
    paused = store.get("d1", subscription.id)
    assert (paused.status, paused.paused_at) == ("paused", "2024-01-21T07:00:00.000Z")


def test_active_for_gives_the_departments_active_subscriptions_only(tables, store, subscription):
    # Given a second subscription that is paused, and one of another department
    paused = store.create("d1", PUBLIC_URL, ["created"], "json", "김철수")
    store.pause("d1", paused.id, "2024-01-21T07:00:00.000Z")
    tables.put_item(TableName=get_settings().departments_table, Item={"id": {"S": "d2"}})
    store.create("d2", PUBLIC_URL, ["created"], "json", "김철수")
    # When the worker asks for d1's active subscriptions
    # Then only the active one of d1 comes, secret and all (the worker signs with it)
    assert store.active_for("d1") == [subscription]
    assert store.active_for("nobody") == []


def test_health_writes_on_a_deleted_subscription_leave_no_stray_item(tables, store, subscription):
    # Given a subscription deleted while a delivery to it was under way
    store.delete("d1", subscription.id)
    # When the worker records the attempt's outcome
    with pytest.raises(SubscriptionNotFound):
        store.record_failure("d1", subscription.id, "2024-01-20T07:00:00.000Z")
    with pytest.raises(SubscriptionNotFound):
        store.record_success("d1", subscription.id)
    assert store.pause("d1", subscription.id, "2024-01-20T07:00:00.000Z") is False
    # Then nothing was written back in its place
    assert tables.scan(TableName=get_settings().subscriptions_table)["Items"] == []


def test_the_stored_item_holds_the_fields_by_name_and_events_as_a_list(tables, subscription):
    key = {"department_id": {"S": "d1"}, "id": {"S": subscription.id}}
    item = tables.get_item(TableName=get_settings().subscriptions_table, Key=key)["Item"]
    assert item["events"] == {"L": [{"S": "created"}, {"S": "changed"}]}
    assert set(item) == {
        "department_id",
        "id",
        "url",
        "events",
        "format",
        "secret",
        "status",
        "created_at",
        "created_by",
        "version",
        "updated_at",
        "updated_by",
    }
    assert item["created_by"] == {"S": "김철수"}


# --- the contract -------------------------------------------------------------------------


def test_the_events_the_api_takes_are_those_the_webhooks_know():
    assert get_args(SubscribableEvent) == SUBSCRIBABLE


def test_the_documented_webhook_examples_are_what_is_sent():
    notification = WEBHOOKS["notification"].example
    ping = WEBHOOKS["ping"].example
    assert WebhookNotification.model_validate(notification).type == "event.created"
    assert WebhookPing.model_validate(ping).data.text == PING_TEXT
    sent = json.loads(
        ping_body(str(ping["data"]["department_id"]), "2024-01-20T06:00:00.000Z", "json")
    )
    assert sent == ping
