"""The registered stream handlers, fed real stream records from moto through chalice.test."""

import json
from typing import Any

import boto3
import pytest

from chalicelib import context
from tests.conftest import reset_caches
from tests.integration.streams import REGION, Webhook, scan_all, stream_records

NOTIFICATIONS = "events-notifications"


@pytest.fixture
def invoke(api):
    def run(handler: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        response = api.client.lambda_.invoke(handler, {"Records": records})
        return response.payload

    return run


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def walkthrough(api) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a department and an event, change the event's time, delete it."""
    department = api.department(name="QA팀")
    headers = {"X-Actor": "kim"}
    reply = api.post(
        f"/api/events/{department['id']}",
        {"event_date": "2024-01-25", "title": "테스트 이벤트", "time": "오후 3:00"},
        headers=headers,
    )
    event = reply.json
    path = f"/api/events/{department['id']}/{event['id']}"
    api.patch(path, {"time": "오후 4:00"}, headers={"X-Actor": "lee"})
    api.delete(path, headers={"X-Actor": "park"})
    return department, event


def test_event_changes_become_history_and_notifications(api, tables, invoke):
    # Given an event created, changed and deleted through the API
    department, event = walkthrough(api)
    # When the events stream is delivered to the handler
    response = invoke("on_event_change", stream_records(tables, "events"))
    # Then nothing failed, and the history reads REMOVE, MODIFY, INSERT (newest first)
    assert failures(response) == []
    history = api.get(f"/api/events/{department['id']}/{event['id']}/history").json["items"]
    assert [entry["action"] for entry in history] == ["REMOVE", "MODIFY", "INSERT"]
    assert [entry["actor"] for entry in history] == ["park", "lee", "kim"]
    # (the start time read from the time text moved with it)
    assert history[1]["changes"] == {
        "time": {"old": "오후 3:00", "new": "오후 4:00"},
        "start_time": {"old": "15:00", "new": "16:00"},
    }
    assert history[1]["new_image"]["time"] == "오후 4:00"
    assert history[1]["new_image"]["version"] == 2  # a number, not a Decimal string
    # And the department has exactly three notifications, in Korean
    inbox = api.get(f"/api/departments/{department['id']}/notifications").json["items"]
    assert [(n["kind"], n["text"]) for n in inbox] == [
        ("cancelled", "일정 취소: 테스트 이벤트 (2024-01-25 오후 4:00)"),
        (
            "updated",
            "일정 변경: 테스트 이벤트 (2024-01-25 오후 4:00) — 시간: 오후 3:00 → 오후 4:00",
        ),
        ("created", "새 일정: 테스트 이벤트 (2024-01-25 오후 3:00)"),
    ]


def test_department_changes_become_history_without_housekeeping(api, tables, invoke):
    # Given a department whose event counter moved twice (an event created and deleted)
    department, _ = walkthrough(api)
    api.patch(f"/api/departments/{department['id']}", {"description": "품질 보증"})
    # When the departments stream is delivered
    response = invoke("on_department_change", stream_records(tables, "departments"))
    # Then its history holds the two changes people made, not the counter's moves
    assert failures(response) == []
    history = api.get(f"/api/departments/{department['id']}/history").json["items"]
    assert [entry["action"] for entry in history] == ["MODIFY", "INSERT"]
    assert history[0]["changes"] == {"description": {"old": "", "new": "품질 보증"}}


def test_audit_of_a_day_lists_every_change_through_the_index(api, tables, invoke):
    walkthrough(api)
    invoke("on_event_change", stream_records(tables, "events"))
    invoke("on_department_change", stream_records(tables, "departments"))
    entries = api.get("/api/audit?date=" + _today(tables)).json["items"]
    assert sorted(e["action"] for e in entries) == ["INSERT", "INSERT", "MODIFY", "REMOVE"]
    assert api.get("/api/audit?date=2024-02-30").status == 400
    assert api.get("/api/audit").status == 400


def _today(dynamodb: Any) -> str:
    items = dynamodb.scan(TableName="events-audit")["Items"]
    return str(items[0]["date"]["S"])[:10]  # the day, without the entry's shard


def test_history_stays_readable_after_the_department_is_gone(api, tables, invoke):
    department, _ = walkthrough(api)
    api.delete(f"/api/departments/{department['id']}", headers={"X-Actor": "choi"})
    invoke("on_department_change", stream_records(tables, "departments"))
    history = api.get(f"/api/departments/{department['id']}/history").json["items"]
    assert [entry["action"] for entry in history] == ["REMOVE", "INSERT"]
    assert history[0]["actor"] == "choi"


def test_history_pages_walk_every_entry_once(api, tables, invoke):
    department = api.department()
    event = api.event(department["id"])
    path = f"/api/events/{department['id']}/{event['id']}"
    for i in range(6):
        api.patch(path, {"description": f"변경 {i}"})
    invoke("on_event_change", stream_records(tables, "events"))
    seen, token = [], None
    while True:
        suffix = f"&next_token={token}" if token else ""
        page = api.get(f"{path}/history?limit=3{suffix}").json
        seen += page["items"]
        token = page["next_token"]
        if token is None:
            break
    assert len(seen) == 7
    assert [e["new_image"]["version"] for e in seen] == [7, 6, 5, 4, 3, 2, 1]
    other = api.get(f"/api/departments/{department['id']}/history?next_token={token or 'x'}")
    assert other.status == 400


def test_replaying_a_batch_three_times_changes_nothing_and_sends_once(
    api, tables, invoke, monkeypatch
):
    with Webhook() as webhook:
        monkeypatch.setenv("NOTIFY_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "true")
        reset_caches()
        walkthrough(api)
        records = stream_records(tables, "events")
        # When the same batch is delivered three times, and so is the inbox's
        snapshots = []
        for _ in range(3):
            assert failures(invoke("on_event_change", records)) == []
            assert failures(invoke("on_notification", stream_records(tables, NOTIFICATIONS))) == []
            snapshots.append((scan_all(tables, "events-audit"), scan_all(tables, NOTIFICATIONS)))
        # Then the audit log and inbox are identical each time, and each change was sent once
        assert snapshots[0] == snapshots[1] == snapshots[2]
        assert len(snapshots[0][0]) == 3
        assert len(snapshots[0][1]) == 3
        texts = [body["text"] for body in webhook.bodies]
        assert sorted(texts) == sorted(
            [
                "새 일정: 테스트 이벤트 (2024-01-25 오후 3:00)",
                "일정 변경: 테스트 이벤트 (2024-01-25 오후 4:00) — 시간: 오후 3:00 → 오후 4:00",
                "일정 취소: 테스트 이벤트 (2024-01-25 오후 4:00)",
            ]
        )


def test_a_webhook_that_is_down_holds_up_neither_the_audit_nor_the_inbox(
    api, tables, invoke, monkeypatch
):
    with Webhook(status=503) as webhook:
        monkeypatch.setenv("NOTIFY_WEBHOOK_URL", webhook.url)
        monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "true")
        reset_caches()
        department = api.department()
        api.event(department["id"], title="첫째")
        api.event(department["id"], title="둘째")
        # When the event batch is handled while the webhook is down
        assert failures(invoke("on_event_change", stream_records(tables, "events"))) == []
        # Then the audit handler never called it: the inbox holds both notifications
        assert webhook.calls == []
        inbox = api.get(f"/api/departments/{department['id']}/notifications").json["items"]
        assert len(inbox) == 2
        # And the inbox's own handler tries, fails, and still reports its batch handled: the
        # failed deliveries wait for their retry instead of blocking the stream
        assert failures(invoke("on_notification", stream_records(tables, NOTIFICATIONS))) == []
        assert len(webhook.calls) == 2


def test_sns_gets_one_message_per_change_with_filterable_attributes(
    api, tables, invoke, monkeypatch
):
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="calendar-notifications")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    monkeypatch.setenv("NOTIFY_SNS_TOPIC_ARN", topic)
    reset_caches()
    department, _ = walkthrough(api)
    assert failures(invoke("on_event_change", stream_records(tables, "events"))) == []
    for _ in range(2):
        assert failures(invoke("on_notification", stream_records(tables, NOTIFICATIONS))) == []
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert len(messages) == 3
    kinds = sorted(m["MessageAttributes"]["kind"]["StringValue"] for m in messages)
    assert kinds == ["cancelled", "created", "updated"]
    assert {m["MessageAttributes"]["department_id"]["StringValue"] for m in messages} == {
        department["id"]
    }
    texts = sorted(json.loads(m["Body"])["text"] for m in messages)
    assert (
        texts[1] == "일정 변경: 테스트 이벤트 (2024-01-25 오후 4:00) — 시간: 오후 3:00 → 오후 4:00"
    )


def test_a_poison_record_is_parked_and_the_rest_of_the_batch_goes_on(api, tables, invoke):
    department = api.department()
    api.event(department["id"], title="앞")
    api.event(department["id"], title="뒤")
    first, second = stream_records(tables, "events")
    poison = json.loads(json.dumps(first))
    poison["eventID"] = "poison-1"
    poison["dynamodb"]["NewImage"]["title"] = {"X": "not a DynamoDB type"}
    response = invoke("on_event_change", [poison, second])
    assert failures(response) == []
    parked = scan_all(tables, "events-failed-records")
    assert [item["event_id"]["S"] for item in parked] == ["poison-1"]
    assert "not a DynamoDB type" in parked[0]["record"]["S"]
    assert parked[0]["error"]["S"].startswith("PermanentRecordError")
    inbox = api.get(f"/api/departments/{department['id']}/notifications").json["items"]
    assert [n["title"] for n in inbox] == ["뒤"]


def test_a_hundred_event_records_cost_at_most_ten_dynamodb_requests(
    api, tables, invoke, monkeypatch
):
    # Given 100 event-stream records: 50 creates, 20 changes, 15 deletes (stamp + remove each)
    department = api.department()
    created = [api.event(department["id"], title=f"일정 {i}") for i in range(50)]
    for event in created[:20]:
        api.patch(f"/api/events/{department['id']}/{event['id']}", {"time": "오전 9:00"})
    for event in created[20:35]:
        api.delete(f"/api/events/{department['id']}/{event['id']}")
    records = stream_records(tables, "events")
    assert len(records) == 100
    # When the handler processes them as one batch, on a client that counts its calls
    client = boto3.client("dynamodb", region_name=REGION)
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    monkeypatch.setattr(context, "make_client", lambda settings: client)
    context.reset()
    assert failures(invoke("on_event_change", records)) == []
    # Then 170 items (85 audit entries, 85 notifications) took 7 BatchWriteItem calls
    assert calls == ["BatchWriteItem"] * 7
    assert len(scan_all(tables, "events-audit")) == 85
    assert len(scan_all(tables, "events-notifications")) == 85


class Throttling:
    """The real (moto) client, except that BatchWriteItem writes only the first `writes` items
    of each call and leaves the rest unprocessed, `times` times: what a throttled table does."""

    def __init__(self, client: Any, times: int, writes: int = 1) -> None:
        self._client = client
        self.times = times
        self.writes = writes
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.times == 0:
            return self._client.batch_write_item(RequestItems=RequestItems)
        self.times -= 1
        (first_table, first_requests), *rest = RequestItems.items()
        if self.writes:
            self._client.batch_write_item(RequestItems={first_table: first_requests[: self.writes]})
        unprocessed = dict(rest)
        if first_requests[self.writes :]:
            unprocessed[first_table] = first_requests[self.writes :]
        return {"UnprocessedItems": unprocessed}


def throttled_pipeline(monkeypatch, times: int, writes: int = 1) -> Throttling:
    client = Throttling(boto3.client("dynamodb", region_name=REGION), times, writes)
    monkeypatch.setattr(context, "make_client", lambda settings: client)
    monkeypatch.setattr("chalicelib.streams.sinks.time.sleep", lambda seconds: None)
    context.reset()
    return client


def test_unprocessed_items_are_retried_until_written(api, tables, invoke, monkeypatch):
    walkthrough(api)
    records = stream_records(tables, "events")
    client = throttled_pipeline(monkeypatch, times=3)
    assert failures(invoke("on_event_change", records)) == []
    assert client.calls == 4  # 6 items: one each in three throttled calls, the rest at last
    assert len(scan_all(tables, "events-audit")) == 3
    assert len(scan_all(tables, "events-notifications")) == 3


def test_a_table_that_stays_throttled_fails_the_batch_from_the_first_unwritten_record(
    api, tables, invoke, monkeypatch
):
    walkthrough(api)
    records = stream_records(tables, "events")
    client = throttled_pipeline(monkeypatch, times=1000, writes=0)
    response = invoke("on_event_change", records)
    # Nothing got through in eight attempts: the whole batch is reported for Lambda to retry
    assert client.calls == 8
    assert failures(response) == [r["dynamodb"]["SequenceNumber"] for r in records]
    assert scan_all(tables, "events-audit") == []


def test_an_entry_too_large_for_dynamodb_keeps_its_changes_without_the_images(api, tables, invoke):
    # Given an event another tool made large (its images and changes: ~480 KB together)
    department = api.department()
    event = api.event(department["id"])
    key = {"id": {"S": event["id"]}, "department_id": {"S": department["id"]}}
    for text in ("가" * 40_000, "나" * 40_000):
        tables.update_item(
            TableName="events",
            Key=key,
            UpdateExpression="SET notes = :n",
            ExpressionAttributeValues={":n": {"S": text}},
        )
    # When the stream is handled
    assert failures(invoke("on_event_change", stream_records(tables, "events"))) == []
    # Then the entry is written, says what changed, and leaves the images out
    history = api.get(f"/api/events/{department['id']}/{event['id']}/history").json["items"]
    latest = history[0]
    assert latest["images_omitted"] is True
    assert latest["new_image"] is None
    assert set(latest["changes"]) == {"notes"}
    assert history[-1]["images_omitted"] is False
