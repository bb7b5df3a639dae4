"""manage.py recount: event counters that drifted (a writer bypassed the API) are set right."""

from typing import Any

from chalicelib.context import get_context
from ops.recount import recount
from tests.integration.test_manage_cli import endpoint_env, manage


def counter(tables: Any, department_id: str) -> str | None:
    item = tables.get_item(TableName="departments", Key={"id": {"S": department_id}})["Item"]
    return item.get("event_count", {}).get("N")


def run(lines: list[str]) -> Any:
    context = get_context()
    return recount(context.client, context.settings, lines.append)


def test_drifted_counters_are_set_to_the_events_that_exist_and_a_rerun_writes_nothing(api, tables):
    # Given three departments whose counters drifted in the three ways a bypassing writer can
    high, missing, low = (api.department(name) for name in ("많은팀", "없는팀", "적은팀"))
    for department in (high, missing, low):
        api.event(department["id"])
    removed = api.event(high["id"])
    tables.delete_item(  # deleted behind the API's back: the counter still says 2
        TableName="events", Key={"id": {"S": removed["id"]}, "department_id": {"S": high["id"]}}
    )
    tables.update_item(
        TableName="departments",
        Key={"id": {"S": missing["id"]}},
        UpdateExpression="REMOVE event_count",
    )
    tables.put_item(  # written behind the API's back: the counter still says 1
        TableName="events",
        Item={
            "id": {"S": "console-made"},
            "department_id": {"S": low["id"]},
            "event_date": {"S": "2024-05-05"},
            "title": {"S": "콘솔에서 만든 일정"},
        },
    )
    untouched = api.department("그대로팀")
    # When recount runs
    lines: list[str] = []
    outcome = run(lines)
    # Then each counter is the number of the department's events, and only those were written
    assert [counter(tables, d["id"]) for d in (high, missing, low, untouched)] == [
        "1",
        "1",
        "2",
        "0",
    ]
    assert (outcome.checked, outcome.fixed, outcome.unsettled) == (4, 3, [])
    assert sorted(lines) == sorted(
        [
            f"✓ 많은팀 ({high['id']}): 일정 수 2개 → 1개",
            f"✓ 없는팀 ({missing['id']}): 일정 수 없음 → 1개",
            f"✓ 적은팀 ({low['id']}): 일정 수 1개 → 2개",
        ]
    )
    # And the department whose counter was too high can now be emptied and deleted plainly
    (remaining,) = api.get(f"/api/events/{high['id']}").json["items"]
    assert api.delete(f"/api/events/{high['id']}/{remaining['id']}").status == 204
    assert api.delete(f"/api/departments/{high['id']}").status == 204
    # And a second run changes nothing
    again: list[str] = []
    assert run(again).fixed == 0
    assert again == []


def test_a_counter_that_moves_while_events_are_counted_is_counted_again(api, tables):
    # Given a department with a drifted counter, and an event created through the API just
    # after recount counted the events table (so its count is already one short)
    department = api.department()
    tables.update_item(
        TableName="departments",
        Key={"id": {"S": department["id"]}},
        UpdateExpression="SET event_count = :n",
        ExpressionAttributeValues={":n": {"N": "7"}},
    )
    client = get_context().client
    scans: list[str] = []
    created: list[int] = []

    def note_the_table(params: dict[str, Any], **_: Any) -> None:
        scans.append(params["TableName"])

    def create_after_the_events_were_counted(**_: Any) -> None:
        if scans == ["departments", "events"] and not created:
            reply = api.post(
                f"/api/events/{department['id']}", {"event_date": "2024-01-01", "title": "새"}
            )
            created.append(reply.status)

    client.meta.events.register("before-parameter-build.dynamodb.Scan", note_the_table)
    client.meta.events.register("after-call.dynamodb.Scan", create_after_the_events_were_counted)
    try:
        outcome = run([])
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.Scan", note_the_table)
        client.meta.events.unregister(
            "after-call.dynamodb.Scan", create_after_the_events_were_counted
        )
    # Then the write based on the stale count was refused, and the count was taken again
    assert created == [201]
    assert counter(tables, department["id"]) == "1"
    assert (outcome.fixed, outcome.unsettled) == (1, [])


def test_the_command_reports_what_it_fixed_in_one_summary_line():
    from tests.moto_server import MotoServer

    with MotoServer() as server:
        env = endpoint_env(server)
        assert manage("create-tables", env=env).returncode == 0
        result = manage("recount", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "✅ 부서 0개를 확인했습니다: 일정 수 0개를 고쳤습니다.\n"
