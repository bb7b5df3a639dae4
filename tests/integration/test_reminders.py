"""Reminders before events and the morning digest: put in the department inbox once, however
often the sweep runs, and from there delivered to the subscribers of `reminder` and `digest`.

The sweeps are the ones the scheduled functions run, over moto; only the moment is given.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import context
from chalicelib.delivery.dispatcher import Dispatcher
from chalicelib.delivery.reminders import Reminders
from chalicelib.repositories.deliveries import DeliveryLog, Inbox
from chalicelib.repositories.subscriptions import SubscriptionRepository
from tests.conftest import reset_caches
from tests.integration.streams import Webhook, stream_records

# 18:00 in Seoul on Christmas Eve, in UTC.
START = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def reminders(tables) -> Reminders:
    ctx = context.get_context()
    return Reminders(ctx.departments, ctx.events.listing, Inbox(ctx.client, ctx.settings))


def inbox_of(api, department_id: str, kind: str) -> list[dict[str, Any]]:
    items = api.get(f"/api/departments/{department_id}/notifications").json["items"]
    return [item for item in items if item["kind"] == kind]


def party(api, department_id: str, **fields: Any) -> dict[str, Any]:
    body = {"event_date": "2026-12-24", "title": "송년회", "start_time": "18:00", **fields}
    body = {name: value for name, value in body.items() if value is not None}
    reply = api.post(f"/api/events/{department_id}", body)
    assert reply.status == 201, reply.json
    return dict(reply.json)


def test_a_reminder_is_put_in_the_inbox_once_even_when_two_sweeps_see_its_moment(api, reminders):
    # Given an event at 18:00 with a reminder 10 minutes before
    department = api.department(name="기획팀")
    party(api, department["id"], reminders=[10])
    # When the sweep runs before the moment, then twice after it, 5 minutes apart
    counts = [
        reminders.sweep(START - timedelta(minutes=11)),
        reminders.sweep(START - timedelta(minutes=9)),
        reminders.sweep(START - timedelta(minutes=4)),
    ]
    # Then the reminder was put in the inbox once, by the first sweep after 17:50
    assert counts == [0, 1, 0]
    (reminder,) = inbox_of(api, department["id"], "reminder")
    assert reminder["text"] == "곧 시작: 송년회 (10분 후, 2026-12-24 18:00)"
    assert reminder["at"] == "2026-12-24T08:50:00.000Z"


def test_the_department_default_applies_unless_the_event_says_otherwise(api, reminders):
    # Given a department whose events are reminded an hour before by default
    reply = api.post("/api/departments", {"name": "총무팀", "reminders": [60]})
    assert reply.status == 201, reply.json
    department = reply.json
    party(api, department["id"], title="기본 알림")
    party(api, department["id"], title="알림 없음", reminders=[])
    party(api, department["id"], title="종일 행사", start_time=None)
    # When the sweep runs just after 17:00
    reminders.sweep(START - timedelta(minutes=58))
    # Then only the event that keeps the default was reminded
    assert [r["title"] for r in inbox_of(api, department["id"], "reminder")] == ["기본 알림"]


def test_each_occurrence_of_a_series_gets_its_own_reminder(api, reminders):
    # Given a weekly series at 18:00 from 17 December, reminded 30 minutes before
    department = api.department(name="기획팀")
    series = party(
        api,
        department["id"],
        event_date="2026-12-17",
        title="주간 회의",
        recurrence="FREQ=WEEKLY;COUNT=4",
        reminders=[30],
    )
    # When the sweep runs just after 17:30 on the 24th
    assert reminders.sweep(START - timedelta(minutes=28)) == 1
    # Then the reminder names that occurrence
    (reminder,) = inbox_of(api, department["id"], "reminder")
    assert (reminder["series_id"], reminder["occurrence_date"]) == (series["id"], "2026-12-24")
    assert reminder["event_id"] == f"{series['id']}.20261224"


def test_subscribers_of_reminders_get_them_signed_and_others_do_not(
    api, tables, reminders, monkeypatch
):
    monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "true")
    reset_caches()
    with Webhook() as wants, Webhook() as changes_only:
        department = api.department(name="기획팀")
        for receiver, events in ((wants, ["reminder"]), (changes_only, ["created"])):
            body = {"url": receiver.url, "events": events}
            assert (
                api.post(f"/api/departments/{department['id']}/subscriptions", body).status == 201
            )
        party(api, department["id"], reminders=[10])
        reminders.sweep(START - timedelta(minutes=9))
        # When the inbox's stream reaches the delivery function
        ctx = context.get_context()
        dispatcher = Dispatcher(
            DeliveryLog(ctx.client, ctx.settings),
            Inbox(ctx.client, ctx.settings),
            SubscriptionRepository(ctx.client, ctx.settings),
            ctx.settings,
            now=lambda: datetime.now(UTC),
        )
        inserts = stream_records(tables, "events-notifications")
        assert dispatcher.on_records(inserts)["batchItemFailures"] == []
        # Then the reminder subscriber got it (after its test call), the other one did not
        assert [body["type"] for body in wants.bodies] == ["ping", "event.reminder"]
        assert [body["type"] for body in changes_only.bodies] == ["ping"]
        assert wants.bodies[1]["data"]["title"] == "송년회"


def test_the_digest_lists_the_days_events_once_per_department_and_skips_empty_days(api, reminders):
    # Given one department with two events on the 24th and one with none
    busy = api.department(name="기획팀")
    quiet = api.department(name="총무팀")
    party(api, busy["id"], title="점심 회의", start_time="12:00")
    party(api, busy["id"])
    # When the digest runs at 09:00 in Seoul that day, and again
    morning = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    assert reminders.digest(morning) == 1
    assert reminders.digest(morning + timedelta(minutes=5)) == 0
    # Then the busy department has one digest naming both, in order; the quiet one none
    (digest,) = inbox_of(api, busy["id"], "digest")
    assert digest["text"] == "오늘의 일정 (2026-12-24, 2건): 12:00 점심 회의 · 18:00 송년회"
    assert inbox_of(api, quiet["id"], "digest") == []
