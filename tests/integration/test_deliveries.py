"""Notifications out to subscribers: from the inbox's stream, signed, retried on a schedule with
the same webhook-id, logged per subscription, paused after a day of failures.

The dispatcher is the one the delivery functions run, over moto and real loopback receivers;
only its clock is injected, so a day of retries takes no time.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from chalicelib import context
from chalicelib.clock import timestamp
from chalicelib.delivery.dispatcher import Dispatcher
from chalicelib.dynamo import from_item, to_item
from chalicelib.repositories.deliveries import DeliveryLog, Inbox, Outcome
from chalicelib.repositories.subscriptions import SubscriptionRepository
from chalicelib.tables import inbox_partition
from chalicelib.webhooks.signing import new_secret
from tests.conftest import reset_caches
from tests.integration.streams import REGION, Webhook, scan_all, stream_records

NOTIFICATIONS = "events-notifications"


class Clock:
    """Starts at the real time (receivers check a signature's timestamp against theirs), then
    moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def local_receivers(monkeypatch):
    """Receivers on loopback, as on the local stack."""
    monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "true")
    reset_caches()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dispatcher(tables, local_receivers, clock) -> Dispatcher:
    ctx = context.get_context()
    return Dispatcher(
        DeliveryLog(ctx.client, ctx.settings),
        Inbox(ctx.client, ctx.settings),
        SubscriptionRepository(ctx.client, ctx.settings),
        ctx.settings,
        now=clock,
        draw=lambda: 1.0,  # every wait at its longest: 30 s, 1 min, 2 min, …
    )


def subscribe(api, department_id: str, url: str, **body: Any) -> dict[str, Any]:
    reply = api.post(f"/api/departments/{department_id}/subscriptions", {"url": url, **body})
    assert reply.status == 201, reply.json
    return dict(reply.json)


def changes_reach_the_inbox(api, tables, department_id: str) -> None:
    """An event created, moved and cancelled; the audit handler then fills the inbox."""
    event = api.post(
        f"/api/events/{department_id}",
        {"event_date": "2026-12-24", "title": "송년회", "time": "오후 6:00"},
    ).json
    path = f"/api/events/{department_id}/{event['id']}"
    api.patch(path, {"time": "오후 7:00"})
    api.delete(path)
    response = api.client.lambda_.invoke(
        "on_event_change", {"Records": stream_records(tables, "events")}
    ).payload
    assert response["batchItemFailures"] == []


def new_inbox_records(tables) -> list[dict[str, Any]]:
    return [r for r in stream_records(tables, NOTIFICATIONS) if r["eventName"] == "INSERT"]


def test_a_subscriber_gets_each_change_signed_with_its_secret(api, tables, dispatcher):
    with Webhook() as receiver:
        # Given a department subscribed to its changes through the API
        department = api.department(name="기획팀")
        subscription = subscribe(api, department["id"], receiver.url)
        # When its event changes reach the inbox and the inbox's stream is handled
        changes_reach_the_inbox(api, tables, department["id"])
        response = dispatcher.on_records(new_inbox_records(tables))
        # Then the receiver got the test call, then created, changed and cancelled, in JSON
        assert response["batchItemFailures"] == []
        types = [body["type"] for body in receiver.bodies]
        assert types[0] == "ping"
        assert sorted(types[1:]) == ["event.cancelled", "event.changed", "event.created"]
        # And every call verifies with the subscription's secret, as receivers check it
        verifier = Verifier(subscription["secret"])
        for raw, headers in receiver.calls:
            lowered = {name.lower(): value for name, value in headers.items()}
            assert verifier.verify(raw, lowered)
        titles = {body["data"]["title"] for body in receiver.bodies[1:]}
        assert titles == {"송년회"}


def test_a_receiver_failing_three_times_gets_the_notification_on_the_fourth_with_one_id(
    api, tables, dispatcher, clock
):
    with Webhook() as receiver:
        department = api.department(name="기획팀")
        subscription = subscribe(api, department["id"], receiver.url, events=["created"])
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": "송년회"})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        # Given a receiver that fails its next three calls
        receiver.statuses = [500, 502, 503]
        # When the inbox's stream is handled, then the sweeper runs as time passes
        dispatcher.on_records(new_inbox_records(tables))
        swept = []
        for minutes in (1, 2, 3, 4):
            clock.advance(minutes=minutes)
            swept.append(dispatcher.sweep())
        # Then it was tried on each due sweep until it answered, and not again after
        assert swept == [1, 1, 1, 0]
        deliveries = receiver.calls[1:]  # after the test call
        assert len(deliveries) == 4
        assert len(receiver.bodies) == 2  # the ping and the notification, once each
        # With the same webhook-id on every attempt, and a fresh signature each time
        ids = {headers["webhook-id"] for _, headers in deliveries}
        assert len(ids) == 1
        assert len({headers["webhook-signature"] for _, headers in deliveries}) == 4
        # And the delivery log shows the attempts
        log = api.get(
            f"/api/departments/{department['id']}/subscriptions/{subscription['id']}/deliveries"
        ).json["items"]
        assert len(log) == 1
        assert (log[0]["status"], log[0]["attempts"], log[0]["last_status"]) == (
            "delivered",
            4,
            200,
        )


def test_a_redelivered_inbox_batch_sends_nothing_twice(api, tables, dispatcher):
    with Webhook() as receiver:
        department = api.department(name="기획팀")
        subscribe(api, department["id"], receiver.url)
        changes_reach_the_inbox(api, tables, department["id"])
        records = new_inbox_records(tables)
        for _ in range(3):
            assert dispatcher.on_records(records)["batchItemFailures"] == []
        assert len(receiver.calls) == 1 + 3


def test_a_slack_subscriber_gets_user_text_escaped_and_korean_intact(api, tables, dispatcher):
    with Webhook() as receiver:
        department = api.department(name="기획팀")
        subscribe(api, department["id"], receiver.url, format="slack", events=["created"])
        title = "<!channel> 긴급 <https://evil.example/login|비밀번호 재설정>"
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": title})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        dispatcher.on_records(new_inbox_records(tables))
        text = receiver.bodies[-1]["text"]
        assert "<!channel>" not in text
        assert "&lt;!channel&gt; 긴급 &lt;https://evil.example/login|비밀번호 재설정&gt;" in text


def test_a_subscription_failing_for_a_day_is_paused_and_the_inbox_says_so(
    api, tables, dispatcher, clock
):
    with Webhook() as receiver:
        department = api.department(name="기획팀")
        subscription = subscribe(api, department["id"], receiver.url, events=["created"])
        # Given a receiver that stops answering after subscribing
        receiver.status = 500
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": "송년회"})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        dispatcher.on_records(new_inbox_records(tables))
        # When the sweeper keeps trying for a day and a little more
        for _ in range(26):
            clock.advance(hours=1)
            dispatcher.sweep()
        # Then the subscription is paused, the delivery given up, and the inbox has a notice
        listed = api.get(f"/api/departments/{department['id']}/subscriptions").json["items"]
        assert [(s["id"], s["status"]) for s in listed] == [(subscription["id"], "paused")]
        inbox = api.get(f"/api/departments/{department['id']}/notifications").json["items"]
        notices = [n for n in inbox if n["kind"] == "subscription_paused"]
        assert len(notices) == 1
        assert receiver.url in notices[0]["text"]
        log = api.get(
            f"/api/departments/{department['id']}/subscriptions/{subscription['id']}/deliveries"
        ).json["items"]
        assert log[0]["status"] == "failed"
        # And a later change is not sent to it
        calls = len(receiver.calls)
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-25", "title": "성탄절"})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        dispatcher.on_records(new_inbox_records(tables))
        assert len(receiver.calls) == calls


def test_a_deleted_subscription_gets_no_retries(api, tables, dispatcher, clock):
    with Webhook(status=200) as receiver:
        department = api.department(name="기획팀")
        subscription = subscribe(api, department["id"], receiver.url, events=["created"])
        receiver.status = 500
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": "송년회"})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        dispatcher.on_records(new_inbox_records(tables))
        api.delete(f"/api/departments/{department['id']}/subscriptions/{subscription['id']}")
        clock.advance(minutes=5)
        calls = len(receiver.calls)
        # When the retry comes due, the subscription is gone: nothing is sent
        assert dispatcher.sweep() == 0
        assert len(receiver.calls) == calls


def test_the_configured_webhook_is_signed_with_the_secret_kept_in_ssm(api, tables, monkeypatch):
    # Given a stage whose webhook's signing secret is an SSM SecureString, not configuration
    secret = new_secret()
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/department-calendar/dev/notify-webhook-secret", Value=secret, Type="SecureString"
    )
    with Webhook() as receiver:
        monkeypatch.setenv("NOTIFY_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv(
            "NOTIFY_WEBHOOK_SECRET_PARAMETER", "/department-calendar/dev/notify-webhook-secret"
        )
        monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "true")
        reset_caches()
        department = api.department(name="기획팀")
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": "송년회"})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        # When the registered delivery function handles the inbox's stream
        response = api.client.lambda_.invoke(
            "on_notification", {"Records": new_inbox_records(tables)}
        ).payload
        # Then the call carries the notification as it always did, signed with that secret
        assert response["batchItemFailures"] == []
        ((raw, headers),) = receiver.calls
        lowered = {name.lower(): value for name, value in headers.items()}
        assert Verifier(secret).verify(raw, lowered)["notification"]["title"] == "송년회"


def test_a_success_that_left_failing_since_behind_does_not_get_a_working_subscription_paused(
    api, tables, dispatcher, clock
):
    with Webhook() as receiver:
        department = api.department(name="운영팀")
        subscription = subscribe(api, department["id"], receiver.url, events=["created"])
        ctx = context.get_context()
        log = DeliveryLog(ctx.client, ctx.settings)
        subscriptions = SubscriptionRepository(ctx.client, ctx.settings)
        # Given a failure a day ago, and an hour after it a success whose sender had read the
        # subscription healthy (a batch beside the failing one), so `failing_since` stayed
        started = clock.now
        subscriptions.record_failure(department["id"], subscription["id"], timestamp(started))
        clock.advance(hours=1)
        delivered = log.open(
            subscription["id"], "2026-01-01T00:00:00Z#1", department["id"], "created", clock.now
        )
        assert delivered is not None
        assert log.record(delivered, Outcome(200, None), clock.now, retry_at=None)
        clock.advance(hours=24)
        # When a delivery fails now
        receiver.status = 500
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": "송년회"})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        dispatcher.on_records(new_inbox_records(tables))
        # Then the subscription stays active, failing only since this failure, with no notice
        listed = api.get(f"/api/departments/{department['id']}/subscriptions").json["items"]
        assert [(s["id"], s["status"]) for s in listed] == [(subscription["id"], "active")]
        current = subscriptions.get(department["id"], subscription["id"])
        assert current.failing_since == timestamp(clock.now)
        inbox = api.get(f"/api/departments/{department['id']}/notifications").json["items"]
        assert not [n for n in inbox if n["kind"] == "subscription_paused"]


def test_a_subscriptions_deliveries_are_spread_and_its_log_lists_them_all_newest_first(
    api, tables, dispatcher
):
    with Webhook() as receiver:
        department = api.department(name="홍보팀")
        subscription = subscribe(api, department["id"], receiver.url, events=["created"])
        # Given twelve notifications delivered to one subscription
        for n in range(12):
            api.post(
                f"/api/events/{department['id']}",
                {"event_date": "2026-12-24", "title": f"행사 {n}"},
            )
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        dispatcher.on_records(new_inbox_records(tables))
        # Then they are kept under several partition key values, each naming its subscription
        stored = scan_all(tables, "events-deliveries")
        assert len({item["subscription_id"]["S"] for item in stored}) > 2
        assert {item["target"]["S"] for item in stored} == {subscription["id"]}
        # And the log pages through all of them, newest first, each once, under the plain id
        path = f"/api/departments/{department['id']}/subscriptions/{subscription['id']}/deliveries"
        listed, token = [], None
        while True:
            page = api.get(path + "?limit=5" + (f"&next_token={token}" if token else "")).json
            listed += page["items"]
            token = page["next_token"]
            if token is None:
                break
        keys = [delivery["notification_key"] for delivery in listed]
        assert keys == sorted({item["notification_key"]["S"] for item in stored}, reverse=True)
        assert len(keys) == 12
        assert {delivery["subscription_id"] for delivery in listed} == {subscription["id"]}


def test_a_delivery_kept_before_the_spreading_is_retried_and_listed(api, tables, dispatcher, clock):
    with Webhook() as receiver:
        department = api.department(name="재무팀")
        subscription = subscribe(api, department["id"], receiver.url, events=["created"])
        api.post(f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": "결산"})
        api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
        (record,) = new_inbox_records(tables)
        change_key = record["dynamodb"]["Keys"]["change_key"]["S"]
        # Given a pending delivery written the old way: under the plain id, no `target`
        due = timestamp(clock.now)
        tables.put_item(
            TableName="events-deliveries",
            Item=to_item(
                {
                    "subscription_id": subscription["id"],
                    "notification_key": change_key,
                    "department_id": department["id"],
                    "webhook_id": "msg_old",
                    "kind": "created",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": due,
                    "due_shard": "0",
                    "due_at": due,
                    "next_attempt_at": due,
                }
            ),
        )
        # When the sweeper finds it due
        clock.advance(minutes=1)
        assert dispatcher.sweep() == 1
        # Then it is sent, recorded in place and listed with the subscription's log
        assert [headers["webhook-id"] for _, headers in receiver.calls[1:]] == ["msg_old"]
        path = f"/api/departments/{department['id']}/subscriptions/{subscription['id']}/deliveries"
        (listed,) = api.get(path).json["items"]
        assert (listed["status"], listed["attempts"], listed["webhook_id"]) == (
            "delivered",
            1,
            "msg_old",
        )


def test_a_notification_kept_before_the_inbox_was_spread_is_still_sent_and_retried(
    api, tables, dispatcher, clock
):
    with Webhook() as receiver:
        # Given a subscribed department, and a notification the previous version kept under
        # the plain department id, whose key this version would spread elsewhere
        department_id = api.department(name="기획팀")["id"]
        subscribe(api, department_id, receiver.url, events=["created"])
        key = next(
            f"2026-11-30T00:00:00.000Z#{n:040d}"
            for n in range(100)
            if inbox_partition(department_id, f"2026-11-30T00:00:00.000Z#{n:040d}", "created")
            != department_id
        )
        tables.put_item(TableName=NOTIFICATIONS, Item=to_item(old_notification(department_id, key)))
        # And a receiver that fails its first call
        receiver.statuses = [503]
        # When the inbox's stream is handled, and the sweeper runs when the retry is due
        assert dispatcher.on_records(new_inbox_records(tables))["batchItemFailures"] == []
        clock.advance(minutes=1)
        assert dispatcher.sweep() == 1
        # Then it was found both times, and sent with its department's own id
        assert len(receiver.calls) == 1 + 2  # the test call, the failed call, the retry
        (sent,) = receiver.bodies[1:]
        assert (sent["type"], sent["data"]["department_id"]) == ("event.created", department_id)


def test_a_change_notification_spread_in_the_inbox_reaches_the_subscriber_as_its_departments(
    api, tables, dispatcher
):
    with Webhook() as receiver:
        # Given a subscribed department whose changes reach the inbox
        department_id = api.department(name="기획팀")["id"]
        subscribe(api, department_id, receiver.url)
        changes_reach_the_inbox(api, tables, department_id)
        # Then each is kept under the partition its key spreads it to, naming its department
        items = [from_item(item) for item in scan_all(tables, NOTIFICATIONS)]
        for item in items:
            expected = inbox_partition(department_id, item["change_key"], item["kind"])
            assert (item["department_id"], item["department"]) == (expected, department_id)
        # And when the inbox's stream is handled, every one is sent, as the department's
        assert dispatcher.on_records(new_inbox_records(tables))["batchItemFailures"] == []
        sent = receiver.bodies[1:]
        assert len(sent) == len(items) == 3
        assert {body["data"]["department_id"] for body in sent} == {department_id}


def old_notification(department_id: str, change_key: str) -> dict[str, Any]:
    """A notification as the version before the spreading kept it."""
    return {
        "department_id": department_id,
        "change_key": change_key,
        "event_id": "ev-1",
        "kind": "created",
        "title": "송년회",
        "event_date": "2026-12-24",
        "time": "",
        "changes": {},
        "text": "새 일정: 송년회 (2026-12-24)",
        "actor": "kim",
        "at": "2026-11-30T00:00:00.000Z",
        "sequence_number": "1",
    }
