"""manage.py recount: event counters that drifted (a writer bypassed the API) are set right.

A department's counter has parts (repositories/event_counter.py): the department item's own
count, of its events that name no counter item, and its counter items, each counting the
events that name it in `counted_in`."""

from collections import Counter
from typing import Any

from chalicelib.context import get_context
from chalicelib.repositories.event_counter import counter_key
from chalicelib.tables import calendar_attributes
from ops.recount import recount
from tests.event_counts import COUNTERS, counter_items, open_every_counter_item
from tests.integration.test_manage_cli import endpoint_env, manage


def counter(tables: Any, department_id: str) -> str | None:
    """The department item's own count, as stored (None: it has none)."""
    item = tables.get_item(TableName="departments", Key={"id": {"S": department_id}})["Item"]
    return item.get("event_count", {}).get("N")


def set_counter(tables: Any, department_id: str, count: int) -> None:
    tables.update_item(
        TableName="departments",
        Key={"id": {"S": department_id}},
        UpdateExpression="SET event_count = :n",
        ExpressionAttributeValues={":n": {"N": str(count)}},
    )


def set_counter_item(tables: Any, key: str, count: int) -> None:
    tables.update_item(
        TableName=COUNTERS,
        Key={"counter_key": {"S": key}},
        UpdateExpression="SET event_count = :n",
        ExpressionAttributeValues={":n": {"N": str(count)}},
    )


def old_event(tables: Any, department_id: str, event_id: str) -> None:
    """An event written beside the API (the console, or before the counter was spread): it
    names no counter item, and no counter moved for it. It is listed in its calendar, as the
    backfill makes every event from before."""
    tables.put_item(
        TableName="events",
        Item={
            "id": {"S": event_id},
            "department_id": {"S": department_id},
            **{
                name: {"S": value}
                for name, value in calendar_attributes(
                    department_id, event_id, "2024-05-05"
                ).items()
            },
            "event_date": {"S": "2024-05-05"},
            "title": {"S": "콘솔에서 만든 일정"},
            "time": {"S": ""},
            "description": {"S": ""},
            "created_at": {"S": "2024-05-01T00:00:00.000Z"},
            "updated_at": {"S": "2024-05-01T00:00:00.000Z"},
            "version": {"N": "1"},
        },
    )


def naming(tables: Any, department_id: str) -> dict[str, int]:
    """How many of the department's events name each counter item."""
    events = tables.scan(TableName="events", ConsistentRead=True)["Items"]
    return dict(
        Counter(
            counter_key(department_id, int(event["counted_in"]["N"]))
            for event in events
            if event["department_id"]["S"] == department_id and "counted_in" in event
        )
    )


def api_events_on_two_counter_items(api: Any, tables: Any, department_id: str) -> None:
    """Events created through the API until they are counted on two counter items at least
    (each lands on the item its new id picks)."""
    for _ in range(40):
        api.event(department_id)
        if len(counter_items(tables, department_id)) >= 2:
            return
    raise AssertionError("forty events all landed on one counter item")


def delete_every_event(api: Any, department_id: str) -> list[int]:
    events = api.get(f"/api/events/{department_id}").json["items"]
    return [api.delete(f"/api/events/{department_id}/{event['id']}").status for event in events]


def run(lines: list[str]) -> Any:
    context = get_context()
    return recount(context.client, context.settings, lines.append)


def test_drifted_own_counters_are_set_to_the_events_naming_no_counter_item_and_a_rerun_writes_nothing(  # noqa: E501
    api, tables
):
    # Given three departments whose own counters drifted in the three ways a bypassing writer
    # can, each also with an event created through the API (counted on a counter item)
    high, missing, low = (api.department(name) for name in ("많은팀", "없는팀", "적은팀"))
    for department in (high, missing, low):
        api.event(department["id"])
        old_event(tables, department["id"], f"old-{department['id']}")
        set_counter(tables, department["id"], 1)
    set_counter(tables, high["id"], 2)  # one of its old events deleted behind the API's back
    tables.update_item(
        TableName="departments",
        Key={"id": {"S": missing["id"]}},
        UpdateExpression="REMOVE event_count",
    )
    old_event(tables, low["id"], "console-made")  # the counter still says 1
    untouched = api.department("그대로팀")
    items_before = [counter_items(tables, d["id"]) for d in (high, missing, low)]
    # When recount runs
    lines: list[str] = []
    outcome = run(lines)
    # Then each own counter is the number of the department's events that name no counter
    # item, and only those were written: the counter items were right and stay as they were
    assert [counter(tables, d["id"]) for d in (high, missing, low, untouched)] == [
        "1",
        "1",
        "2",
        "0",
    ]
    assert [counter_items(tables, d["id"]) for d in (high, missing, low)] == items_before
    assert (outcome.checked, outcome.fixed, outcome.unsettled) == (4, 3, [])
    assert sorted(lines) == sorted(
        [
            f"✓ 많은팀 ({high['id']}): 일정 수 2개 → 1개",
            f"✓ 없는팀 ({missing['id']}): 일정 수 없음 → 1개",
            f"✓ 적은팀 ({low['id']}): 일정 수 1개 → 2개",
        ]
    )
    # And the department whose counter was too high can now be emptied and deleted plainly
    assert delete_every_event(api, high["id"]) == [204, 204]
    assert api.delete(f"/api/departments/{high['id']}").status == 204
    # And a second run changes nothing
    again: list[str] = []
    assert run(again).fixed == 0
    assert again == []


def test_counter_items_that_drifted_or_were_deleted_count_the_events_naming_them_again(api, tables):
    # Given a department with events created through the API on two counter items at least,
    # one more written behind the API's back, and of those counter items one set wrong and
    # one deleted directly
    department = api.department()
    department_id = department["id"]
    api_events_on_two_counter_items(api, tables, department_id)
    old_event(tables, department_id, "console-made")
    wrong, gone = sorted(counter_items(tables, department_id))[:2]
    set_counter_item(tables, wrong, 9)
    tables.delete_item(TableName=COUNTERS, Key={"counter_key": {"S": gone}})
    # When recount runs
    lines: list[str] = []
    outcome = run(lines)
    # Then each counter item again counts the events that name it (the deleted one made
    # again), and the department item's own count its events that name none
    named = naming(tables, department_id)
    assert counter_items(tables, department_id) == named
    assert counter(tables, department_id) == "1"
    assert (outcome.checked, outcome.fixed, outcome.unsettled) == (1, 3, [])
    assert sorted(lines) == sorted(
        [
            f"✓ 개발팀 ({department_id}): 일정 수 0개 → 1개",
            f"✓ 개발팀 ({department_id}) 카운터 항목 {wrong}: 일정 수 9개 → {named[wrong]}개",
            f"✓ 개발팀 ({department_id}) 카운터 항목 {gone}: 일정 수 없음 → {named[gone]}개",
        ]
    )
    # And once its events are deleted through the API, the department can be deleted plainly
    assert set(delete_every_event(api, department_id)) == {204}
    assert api.delete(f"/api/departments/{department_id}").status == 204


def test_a_counter_that_moves_while_events_are_counted_is_counted_again(api, tables):
    # Given a department whose own counter and every counter item drifted, and just after
    # recount counted the events table, one of its old events deleted and a new one created
    # through the API (so the counts of both parts they move are already off by one)
    department = api.department()
    department_id = department["id"]
    for event_id in ("old-1", "old-2"):
        old_event(tables, department_id, event_id)
    set_counter(tables, department_id, 5)
    open_every_counter_item(tables, department_id)
    for key in counter_items(tables, department_id):
        set_counter_item(tables, key, 7)
    client = get_context().client
    scans: list[str] = []
    moves: list[int] = []

    def note_the_table(params: dict[str, Any], **_: Any) -> None:
        scans.append(params["TableName"])

    def move_after_the_events_were_counted(**_: Any) -> None:
        if scans == ["departments", COUNTERS, "events"] and not moves:
            moves.append(api.delete(f"/api/events/{department_id}/old-1").status)
            reply = api.post(
                f"/api/events/{department_id}", {"event_date": "2024-01-01", "title": "새"}
            )
            moves.append(reply.status)

    client.meta.events.register("before-parameter-build.dynamodb.Scan", note_the_table)
    client.meta.events.register("after-call.dynamodb.Scan", move_after_the_events_were_counted)
    try:
        outcome = run([])
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.Scan", note_the_table)
        client.meta.events.unregister(
            "after-call.dynamodb.Scan", move_after_the_events_were_counted
        )
    # Then the writes based on the stale counts were refused, and the department was counted
    # again: each part now counts its events
    assert moves == [204, 201]
    assert scans.count("events") == 2
    assert counter(tables, department_id) == "1"
    counts = counter_items(tables, department_id)
    assert sorted(counts.values()) == [0, 0, 0, 1]
    assert {key: count for key, count in counts.items() if count} == naming(tables, department_id)
    assert (outcome.fixed, outcome.unsettled) == (5, [])


def test_the_command_reports_what_it_fixed_in_one_summary_line():
    from tests.moto_server import MotoServer

    with MotoServer() as server:
        env = endpoint_env(server)
        assert manage("create-tables", env=env).returncode == 0
        result = manage("recount", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "✅ 부서 0개를 확인했습니다: 일정 수 0개를 고쳤습니다.\n"
