"""A department's change feed: the state, then exactly what changed since, kept from the audit
log the stream handlers write (moto streams delivered through the registered handler)."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from chalicelib.clock import epoch_timestamp
from chalicelib.context import get_context
from chalicelib.repositories.change_feed import TOKEN_LIFETIME, ChangeFeed
from chalicelib.tables import AUDIT_FEED_INDEX, FEED_SHARDS, audit_index_keys, feed_keys
from tests.integration.streams import stream_records


@pytest.fixture
def deliver(api, tables):
    """Hand the events stream to the handler, as Lambda would: every record so far, or those
    `which` picks (the rest arrive later, as from a slower shard)."""

    def run(which: Any = None) -> None:
        records = stream_records(tables, "events")
        if which is not None:
            records = [r for r in records if which(r)]
        response = api.client.lambda_.invoke("on_event_change", {"Records": records})
        assert response.payload["batchItemFailures"] == []

    return run


def feed(api, department_id: str, since: str | None = None) -> dict[str, Any]:
    query = f"?since={since}" if since else ""
    reply = api.get(f"/api/departments/{department_id}/changes{query}")
    assert reply.status == 200, reply.body
    return reply.json


def test_after_a_first_sync_the_feed_gives_exactly_the_changes_since(api, deliver):
    # Given a department with two events, read in full
    department = api.department(name="총무팀")
    kept = api.event(department["id"], title="정기 점검")
    doomed = api.event(department["id"], title="취소될 회의")
    deliver()
    first = feed(api, department["id"])
    assert sorted(item["title"] for item in first["items"]) == ["정기 점검", "취소될 회의"]
    assert first["changes"] == []
    # When an event is created, one changed twice and one deleted
    created = api.event(department["id"], title="새 일정")
    path = f"/api/events/{department['id']}/{kept['id']}"
    api.patch(path, {"title": "정기 점검 (변경)"})
    api.patch(path, {"description": "3층"})
    assert api.delete(f"/api/events/{department['id']}/{doomed['id']}").status == 204
    deliver()
    # Then the next call gives exactly those, one per event, in the order of their last change
    second = feed(api, department["id"], first["sync_token"])
    assert second["items"] == []
    assert [(c["type"], c["id"]) for c in second["changes"]] == [
        ("created", created["id"]),
        ("changed", kept["id"]),
        ("deleted", doomed["id"]),
    ]
    changed = second["changes"][1]["event"]
    assert (changed["title"], changed["description"], changed["version"]) == (
        "정기 점검 (변경)",
        "3층",
        3,
    )
    assert second["changes"][2]["event"] is None
    # And after that, nothing until something changes again, even if the stream is redelivered
    deliver()
    third = feed(api, department["id"], second["sync_token"])
    assert third["changes"] == []


def test_a_change_whose_audit_entry_lands_late_is_delivered_once(api, deliver):
    # Given a synced client
    department = api.department(name="시설팀")
    deliver()
    token = feed(api, department["id"])["sync_token"]
    # When two events are created but the first one's record reaches the audit log late
    early = api.event(department["id"], title="먼저 생긴 일정")
    late = api.event(department["id"], title="나중에 생긴 일정")

    def is_late(record: dict[str, Any]) -> bool:
        return record["dynamodb"]["Keys"]["id"]["S"] == late["id"]

    deliver(is_late)
    after_late = feed(api, department["id"], token)
    deliver()
    after_early = feed(api, department["id"], after_late["sync_token"])
    again = feed(api, department["id"], after_early["sync_token"])
    # Then each is delivered once, whichever landed first
    assert [c["id"] for c in after_late["changes"]] == [late["id"]]
    assert [c["id"] for c in after_early["changes"]] == [early["id"]]
    assert again["changes"] == []


def test_a_token_that_was_altered_is_400_and_one_of_another_department_is_410(api, deliver):
    first = api.department(name="법무팀")
    other = api.department(name="감사팀")
    token = feed(api, first["id"])["sync_token"]
    body, mac = token.split(".")
    altered = api.get(f"/api/departments/{first['id']}/changes?since={body[:-2]}xx.{mac}")
    assert altered.status == 400
    assert altered.error_fields == ["since"]
    assert api.get(f"/api/departments/{first['id']}/changes?since=garbage").status == 400
    foreign = api.get(f"/api/departments/{other['id']}/changes?since={token}")
    assert foreign.status == 410
    assert foreign.error_code == "sync_token_expired"


def test_a_token_older_than_its_lifetime_is_410(api, tables):
    department = api.department(name="기록팀")
    now = [1_800_000_000.0]
    feed_ = ChangeFeed(get_context().client, get_context().settings.audit_table, lambda: now[0])
    token = feed_.first_token(department["id"])
    now[0] += TOKEN_LIFETIME.total_seconds() + 1
    from chalicelib.errors import SyncTokenExpired

    with pytest.raises(SyncTokenExpired):
        feed_.changes_since(department["id"], token)


def test_an_unknown_department_is_404_when_read_in_full(api):
    reply = api.get("/api/departments/no-such-department/changes")
    assert reply.status == 404
    assert reply.error_code == "department_not_found"


def test_a_busy_department_keeps_the_token_small_and_still_misses_nothing_new(api, tables):
    # Given more audit entries in the look-back window than a token remembers
    from chalicelib.repositories.change_feed import MAX_REMEMBERED

    department = api.department(name="콜센터")
    now = [1_800_000_000.0]
    feed_ = ChangeFeed(tables, "events-audit", lambda: now[0])

    def entry(second: float, event_id: str) -> None:
        at = epoch_timestamp(second)
        entity_key = f"event#{department['id']}#{event_id}"
        listed = audit_index_keys(entity_key, at, "event", department["id"])
        tables.put_item(
            TableName="events-audit",
            Item={
                "entity_key": {"S": entity_key},
                "change_key": {"S": f"{at}#{event_id:0>40}"},
                **{name: {"S": value} for name, value in listed.items()},
                "department_id": {"S": department["id"]},
                "entity_type": {"S": "event"},
                "entity_id": {"S": event_id},
                "action": {"S": "REMOVE"},
            },
        )

    for n in range(MAX_REMEMBERED + 50):
        entry(now[0] - 100 + n * 0.1, str(n))
    # When a client syncs, then one more change lands
    token = feed_.first_token(department["id"])
    entry(now[0] + 1, "9999")
    now[0] += 2
    changes, next_token = feed_.changes_since(department["id"], token)
    # Then the token stays bounded, and only the new change is delivered
    assert len(token) < 4 * 1024
    assert [c.id for c in changes] == ["9999"]
    assert feed_.changes_since(department["id"], next_token)[0] == []


def test_a_busy_departments_changes_are_spread_over_its_feed_keys_and_read_back_in_order(
    api, deliver, tables
):
    # Given a synced client of a department, and twelve events created and one renamed after
    department = api.department(name="행사팀")
    deliver()
    token = feed(api, department["id"])["sync_token"]
    created = [api.event(department["id"], title=f"행사 {n}") for n in range(12)]
    api.patch(f"/api/events/{department['id']}/{created[0]['id']}", {"title": "행사 0 (변경)"})
    assert api.patch(f"/api/departments/{department['id']}", {"name": "행사기획팀"}).status == 200
    deliver()
    # When the feed is read
    changes = feed(api, department["id"], token)["changes"]
    # Then every event's last change comes once, in the order they happened
    assert [c["id"] for c in changes] == [e["id"] for e in created[1:]] + [created[0]["id"]]
    assert changes[-1]["event"]["title"] == "행사 0 (변경)"
    # And they were listed under more than one of the department's feed keys, each event's
    # changes under one; the department's own change (the rename) under none
    listed: dict[str, set[str]] = {}
    for key in feed_keys(department["id"]):
        for item in _feed_entries(tables, key):
            listed.setdefault(item["entity_id"]["S"], set()).add(key)
    assert set(listed) == {e["id"] for e in created}
    assert all(len(keys) == 1 for keys in listed.values())
    assert len(set().union(*listed.values())) > 1
    assert len(feed_keys(department["id"])) == FEED_SHARDS


def test_a_token_of_the_feed_before_its_keys_were_spread_is_410(api):
    # Given a token the feed gave just now before its keys were spread (format 1), signed
    department = api.department(name="옛팀")
    now = time.time()
    fields = {"d": department["id"], "a": epoch_timestamp(now), "l": "", "s": [], "t": int(now)}
    payload = json.dumps({"f": 1, **fields}, separators=(",", ":")).encode()
    mac = hmac.new(b"department-calendar change feed", payload, hashlib.sha256).digest()[:8]
    token = _b64(payload) + "." + _b64(mac)
    # When it is used, then its holder is told to read the events again
    reply = api.get(f"/api/departments/{department['id']}/changes?since={token}")
    assert reply.status == 410
    assert reply.error_code == "sync_token_expired"


def _feed_entries(tables, feed_key: str) -> list[dict[str, Any]]:
    return tables.query(
        TableName="events-audit",
        IndexName=AUDIT_FEED_INDEX,
        KeyConditionExpression="feed_key = :key",
        ExpressionAttributeValues={":key": {"S": feed_key}},
    )["Items"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
