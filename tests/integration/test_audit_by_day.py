"""/api/audit?date=: a day's entries are spread over AUDIT_DATE_SHARDS `date` values by entity,
and read back merged, newest first, as one listing (on moto; tests/e2e/test_local_stack.py
does the same on DynamoDB Local)."""

import base64
import json
from typing import Any

import pytest

from chalicelib import context
from chalicelib.tables import AUDIT_DATE_SHARDS, audit_date_key
from tests.audit_days import AUDIT, DAY, expected, put_entry, read_day
from tests.integration.streams import stream_records


@pytest.fixture
def invoke(api):
    def run(handler: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        return api.client.lambda_.invoke(handler, {"Records": records}).payload

    return run


def test_a_day_written_by_the_stream_handlers_is_spread_and_reads_back_whole_and_in_order(
    api, tables, invoke
):
    # Given a day of changes to many events of three departments, audited by the handlers
    for name in ("개발팀", "영업팀", "인사팀"):
        department = api.department(name=name)
        for n in range(12):
            path = f"/api/events/{department['id']}"
            event = api.post(path, {"event_date": "2026-12-01", "title": f"회의 {n}"}).json
            if n % 2:
                api.patch(f"{path}/{event['id']}", {"title": f"바뀐 회의 {n}"})
            if n % 5 == 0:
                api.delete(f"{path}/{event['id']}")
    invoke("on_department_change", stream_records(tables, "departments"))
    invoke("on_event_change", stream_records(tables, "events"))
    stored = tables.scan(TableName=AUDIT, ConsistentRead=True)["Items"]
    day = stored[0]["date"]["S"][:10]
    # Then the entries sit under several of the day's keys, each entity's under one
    assert len({item["date"]["S"] for item in stored}) > 4
    by_entity: dict[str, set[str]] = {}
    for item in stored:
        by_entity.setdefault(item["entity_key"]["S"], set()).add(item["date"]["S"])
    assert all(len(dates) == 1 for dates in by_entity.values())
    # When the day is read seven at a time
    seen, pages = read_day(api.get, day, limit=7)
    # Then every entry comes exactly once, newest first
    assert seen == expected(tables, day)
    assert len(seen) == len(stored) == 3 + 36 + 18 + 9  # departments, creates, patches, deletes
    assert pages == -(-len(seen) // 7)


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 50])
def test_entries_sharing_a_change_key_are_neither_lost_nor_repeated(api, tables, limit):
    # Given twelve entries stamped with one time and sequence number (two streams can do that),
    # several of them on the same shard, among entries before and after them
    for n in range(12):
        put_entry(tables, f"tie-{n}", 5)
    for n in range(6):
        put_entry(tables, f"other-{n}", n * 2)
    # When the day is read at any page size
    seen, _ = read_day(api.get, DAY, limit)
    # Then it is the whole day, in (change_key, entity) order, once each
    assert seen == expected(tables, DAY)
    assert len(seen) == 18


@pytest.mark.parametrize("limit", [1, 3])
def test_ties_on_one_shard_are_read_whole_before_any_is_handed_out(api, tables, limit):
    # Given ten entries with one change_key on the same shard, written in no particular order
    shard = audit_date_key(DAY, "event#d#t-0")
    same = [f"t-{n}" for n in range(3000) if audit_date_key(DAY, f"event#d#t-{n}") == shard]
    for entity in sorted(same[:10], key=lambda name: hash(name[::-1]) % 7):
        put_entry(tables, entity, 5)
    put_entry(tables, "later", 9)
    # Then any page size gives them once each, in (change_key, entity) order
    seen, _ = read_day(api.get, DAY, limit)
    assert seen == expected(tables, DAY)
    assert len(seen) == 11


def test_entries_written_before_the_spreading_are_still_in_their_day(api, tables):
    # Given an entry filed under the plain date, as entries were before the day was spread
    entity = next(f"old-{n}" for n in range(100) if audit_date_key(DAY, f"event#d#old-{n}") != DAY)
    put_entry(tables, entity, 3, date=DAY)
    put_entry(tables, "new", 4)
    # Then the day lists it in its place
    seen, _ = read_day(api.get, DAY, limit=1)
    assert [key for _, key in seen] == ["event#d#new", f"event#d#{entity}"]


def test_a_day_on_one_shard_pages_through_and_later_pages_skip_the_empty_shards(api, tables):
    # Given 25 entries of entities that all land on one shard
    one_shard = audit_date_key(DAY, "event#d#e-0")
    entities = [f"e-{n}" for n in range(2000) if audit_date_key(DAY, f"event#d#e-{n}") == one_shard]
    for sequence, entity in enumerate(entities[:25]):
        put_entry(tables, entity, sequence)
    queries = _count_queries()
    # When the day is read ten at a time
    first = api.get(f"/api/audit?date={DAY}&limit=10").json
    first_page_queries = len(queries)
    second = api.get(f"/api/audit?date={DAY}&limit=10&next_token={first['next_token']}").json
    # Then the first page asks every shard, and the next only the one that has entries
    assert len(first["items"]) == len(second["items"]) == 10
    assert first_page_queries >= AUDIT_DATE_SHARDS
    assert len(queries) - first_page_queries <= 3
    seen, _ = read_day(api.get, DAY, limit=10)
    assert seen == expected(tables, DAY)


def _count_queries() -> list[str]:
    calls: list[str] = []
    context.get_context().client.meta.events.register(
        "before-call.dynamodb.Query", lambda **_: calls.append("Query")
    )
    return calls


def test_an_empty_day_is_one_empty_page(api, tables):
    reply = api.get(f"/api/audit?date={DAY}")
    assert reply.status == 200
    assert reply.json == {"items": [], "next_token": None}


def test_a_token_is_refused_for_another_day_or_when_edited(api, tables):
    for n in range(3):
        put_entry(tables, f"e-{n}", n)
    token = api.get(f"/api/audit?date={DAY}&limit=1").json["next_token"]
    # Another day's listing
    other = api.get(f"/api/audit?date=2026-12-01&next_token={token}")
    assert other.status == 400
    assert other.error_code == "invalid_next_token"
    # An edited shard set
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    payload["k"]["done"] = "f" * 20
    edited = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    reply = api.get(f"/api/audit?date={DAY}&next_token={edited}")
    assert reply.status == 400
    assert reply.error_code == "invalid_next_token"
