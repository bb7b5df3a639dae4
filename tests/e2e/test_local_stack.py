"""The local stack, started as `make run` starts it, driven over real HTTP.

Follows the original setup guide's curl walkthrough, then the concurrency promise.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urljoin

import pytest

from chalicelib.tables import audit_date_key, calendar_key
from ops.dynamodb_local import DynamoDBLocal
from tests.audit_days import AUDIT, expected, put_entry, read_day
from tests.e2e.local_stack import PROJECT_DIR, LocalStack, eventually
from tests.e2e.walkthrough import guide_walkthrough, simultaneous_creates_of_one_name
from tests.integration.streams import Webhook
from tests.pages import read_pages

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack()
    yield local
    local.stop()


def test_it_starts_with_tables_and_the_sample_data(stack):
    assert "✓ departments 테이블이 생성되었습니다." in stack.startup_lines
    health = stack.request("GET", "/api/health").json
    assert (health["status"], sorted(health)) == (
        "ok",
        ["actor", "authentication", "status", "version"],
    )
    names = {d["name"]: d for d in stack.request("GET", "/api/departments").json["items"]}
    assert {"개발팀", "마케팅팀"} <= set(names)
    events = stack.request("GET", f"/api/events/{names['개발팀']['id']}").json["items"]
    assert [(e["title"], e["event_date"]) for e in events] == [("팀 회의", "2024-01-20")]


def test_the_guides_walkthrough(stack):
    guide_walkthrough(stack)


def test_sixteen_simultaneous_creates_of_one_name_give_one_201(stack):
    assert simultaneous_creates_of_one_name(stack, "동시 생성팀") == [201] + [409] * 15


def test_sixteen_simultaneous_renames_to_one_name_give_one_200(stack):
    # Given sixteen departments
    ids = [
        stack.request("POST", "/api/departments", {"name": f"개명 전 {i}"}).json["id"]
        for i in range(16)
    ]

    # When all are renamed to the same name at once
    def rename(department_id: str) -> int:
        body = {"name": "개명 후"}
        return stack.request("PATCH", f"/api/departments/{department_id}", body).status

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(rename, ids))
    # Then exactly one wins, and every loser keeps its old name
    assert sorted(statuses) == [200] + [409] * 15
    names = [stack.request("GET", f"/api/departments/{i}").json["name"] for i in ids]
    winner = statuses.index(200)
    assert names[winner] == "개명 후"
    assert all(name == f"개명 전 {i}" for i, name in enumerate(names) if i != winner)


def test_sixteen_simultaneous_event_creates_all_count(stack):
    department = stack.request("POST", "/api/departments", {"name": "동시 일정팀"}).json

    def create(i: int) -> int:
        body = {"event_date": "2024-05-01", "title": f"일정 {i}"}
        return stack.request("POST", f"/api/events/{department['id']}", body).status

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(create, range(16))) == {201}
    page = stack.request("GET", f"/api/events/{department['id']}?limit=100").json
    assert len(page["items"]) == 16
    # the counter moved with every create, so the department cannot be deleted plainly
    assert stack.request("DELETE", f"/api/departments/{department['id']}").status == 409
    assert (
        stack.request("DELETE", f"/api/departments/{department['id']}?cascade=true").status == 204
    )


def test_what_no_route_takes_is_answered_with_the_apis_json_errors(stack):
    # When a path no route has, and a method http.server has no handler for, are requested
    unknown = stack.request("GET", "/api/nope")
    trace = stack.request("TRACE", "/api/health")
    # Then both are the API's JSON errors: 404, and 405 with the route's methods in Allow
    assert (unknown.status, unknown.json["code"]) == (404, "not_found")
    assert (trace.status, trace.json["code"]) == (405, "method_not_allowed")
    assert "GET" in trace.headers["Allow"]


def test_the_docs_page_with_a_trailing_slash_loads_its_files(stack):
    page = stack.request("GET", "/api/docs/").body.decode("utf-8")
    addresses = re.findall(r'(?:src|href|url): ?"([^"]+)"|(?:src|href)="([^"]+)"', page)
    assert len(addresses) == 3
    for found in addresses:
        assert stack.request("GET", urljoin("/api/docs/", found[0] or found[1])).status == 200


def test_sigterm_stops_it_cleanly():
    local = LocalStack()
    code, out = local.stop()
    assert code == 0
    assert "stopped" in out


def test_an_external_dynamodb_gets_tables_but_no_sample_data(tmp_path):
    with DynamoDBLocal(tmp_path, port=0) as external:
        local = LocalStack({"AWS_ENDPOINT_URL_DYNAMODB": external.url})
        try:
            assert f"DynamoDB (external): {external.url}" in local.startup_lines
            assert local.request("GET", "/api/health").status == 200
            assert local.request("GET", "/api/departments").json == {
                "items": [],
                "next_token": None,
            }
        finally:
            local.stop()


def test_changes_reach_history_and_notifications_through_the_stream(stack):
    # Given a new department with an event that is created, changed and deleted over HTTP
    department = stack.request("POST", "/api/departments", {"name": "스트림팀"}).json
    events_path = f"/api/events/{department['id']}"
    event = stack.request(
        "POST",
        events_path,
        {"event_date": "2024-01-25", "title": "테스트 이벤트", "time": "오후 3:00"},
        # a Korean name, sent on the wire as UTF-8 bytes
        headers={"X-Actor": "김철수".encode().decode("latin-1")},
    ).json
    path = f"{events_path}/{event['id']}"
    stack.request("PATCH", path, {"time": "오후 4:00"}, headers={"X-Actor": "lee"})
    assert stack.request("DELETE", path, headers={"X-Actor": "park"}).status == 204

    # Then its history reads REMOVE, MODIFY, INSERT with the new time in the MODIFY
    def history():
        items = stack.request("GET", f"{path}/history").json["items"]
        return items if len(items) == 3 else None

    entries = eventually(history)
    assert entries is not None, "the stream did not deliver the changes"
    assert [e["action"] for e in entries] == ["REMOVE", "MODIFY", "INSERT"]
    assert [e["actor"] for e in entries] == ["park", "lee", "김철수"]
    assert entries[1]["new_image"]["time"] == "오후 4:00"
    # And the department has exactly three notifications, and its own INSERT in its history
    notifications_path = f"/api/departments/{department['id']}/notifications"

    def inbox():
        items = stack.request("GET", notifications_path).json["items"]
        return items if len(items) >= 3 else None

    assert [n["kind"] for n in eventually(inbox)] == ["cancelled", "updated", "created"]
    department_history = f"/api/departments/{department['id']}/history"
    own = eventually(lambda: stack.request("GET", department_history).json["items"])
    assert [e["action"] for e in own] == ["INSERT"]
    # And the counts stay the same however long one waits
    time.sleep(1.5)
    assert len(stack.request("GET", f"{path}/history").json["items"]) == 3
    assert len(stack.request("GET", notifications_path).json["items"]) == 3
    assert (
        len(stack.request("GET", f"/api/departments/{department['id']}/history").json["items"]) == 1
    )


def test_sixteen_clients_patching_with_the_same_if_match_give_one_200(stack):
    # Given an event everyone read at version 1
    department = stack.request("POST", "/api/departments", {"name": "경쟁팀"}).json
    event = stack.request(
        "POST", f"/api/events/{department['id']}", {"event_date": "2024-07-01", "title": "원본"}
    ).json
    path = f"/api/events/{department['id']}/{event['id']}"

    # When sixteen clients save their own title with If-Match: "1" at once
    def save(i: int) -> tuple[int, str]:
        reply = stack.request("PATCH", path, {"title": f"제목 {i}"}, headers={"If-Match": '"1"'})
        return reply.status, f"제목 {i}"

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(save, range(16)))
    # Then exactly one wins, fifteen get 412, and the stored title is the winner's
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [412] * 15
    (winner,) = [title for status, title in results if status == 200]
    stored = stack.request("GET", path).json
    assert stored["title"] == winner
    assert stored["version"] == 2


def test_sixteen_simultaneous_retries_with_one_idempotency_key_create_one_event(stack):
    # Given a client that timed out and now retries its POST sixteen times at once
    department = stack.request("POST", "/api/departments", {"name": "재시도 경쟁팀"}).json
    path = f"/api/events/{department['id']}"
    body = {"event_date": "2024-08-01", "title": "한 번만"}
    headers = {"Idempotency-Key": "retry-storm-1"}

    def post(_: int) -> tuple[int, str]:
        reply = stack.request("POST", path, body, headers=headers)
        return reply.status, reply.json["id"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(post, range(16)))
    # Then every answer is the same 201 with the same event, and one event exists
    assert {status for status, _ in results} == {201}
    assert len({event_id for _, event_id in results}) == 1
    assert len(stack.request("GET", path).json["items"]) == 1


@pytest.mark.parametrize("taken", ["--port", "DYNAMODB_PORT"])
def test_a_port_already_taken_is_one_line_and_exit_1(taken, tmp_path):
    # Given something already listening on the port the stack would use
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = str(occupant.getsockname()[1])
        api_port, dynamodb_port = (port, "0") if taken == "--port" else ("0", port)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        # When the stack is started on it
        done = subprocess.run(
            [sys.executable, "manage.py", "serve", "--port", api_port, "--data-dir", str(tmp_path)],
            cwd=PROJECT_DIR,
            env={**environment, "DYNAMODB_PORT": dynamodb_port},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    # Then it says so in one line that names the setting to change, and exits 1
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert port in lines[0]
    assert ("PORT=" if taken == "--port" else "DYNAMODB_PORT=") in lines[0]


def test_a_second_stack_on_the_same_data_is_refused_in_one_line(tmp_path):
    # Given a stack running on a data folder
    first = LocalStack(data_dir=tmp_path)
    try:
        # When another is started on the same folder
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        done = subprocess.run(
            [sys.executable, "manage.py", "serve", "--port", "0", "--data-dir", str(tmp_path)],
            cwd=PROJECT_DIR,
            env={**environment, "DYNAMODB_PORT": "0"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # Then it refuses, naming the running one, and the first goes on serving
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            f"✗ {tmp_path}에서 로컬 스택이 이미 실행 중입니다 (DynamoDB {first.dynamodb_url}): "
            "그 스택을 쓰거나 멈추세요."
        ]
        assert first.request("GET", "/api/health").status == 200
    finally:
        first.stop()


def test_the_change_feed_sees_a_change_made_anywhere_within_seconds(stack):
    # Given a client that read the 개발팀 calendar in full, once the sample data's own changes
    # were recorded (a change recorded after a first read is delivered again, at worst)
    names = {d["name"]: d for d in stack.request("GET", "/api/departments").json["items"]}
    department_id = names["개발팀"]["id"]
    (meeting,) = stack.request("GET", f"/api/events/{department_id}").json["items"]
    history = f"/api/events/{department_id}/{meeting['id']}/history"
    assert eventually(lambda: stack.request("GET", history).json["items"])
    feed = f"/api/departments/{department_id}/changes"
    first = stack.request("GET", feed).json
    assert "팀 회의" in [item["title"] for item in first["items"]]
    # When someone else creates an event, and the client polls with its token
    created = stack.request(
        "POST", f"/api/events/{department_id}", {"event_date": "2024-01-22", "title": "코드 리뷰"}
    ).json
    started = time.monotonic()

    def new_changes() -> list[dict[str, object]]:
        changes: list[dict[str, object]] = stack.request(
            "GET", f"{feed}?since={first['sync_token']}"
        ).json["changes"]
        return changes

    changes = eventually(new_changes, timeout=10)
    # Then the feed gives exactly that change, through the stream consumer, in a few seconds
    assert [(c["type"], c["id"]) for c in changes] == [("created", created["id"])]
    assert time.monotonic() - started < 5


def test_a_receiver_that_does_not_answer_holds_up_no_audit_entry(stack):
    # Given a department subscribed with a receiver on loopback (the local stack allows it)
    with Webhook() as receiver:
        department = stack.request("POST", "/api/departments", {"name": "웹훅 지연팀"}).json
        subscribed = stack.request(
            "POST",
            f"/api/departments/{department['id']}/subscriptions",
            {"url": receiver.url, "events": ["created"]},
        )
        assert subscribed.status == 201
        # ...which from now on holds every call until the test lets it answer
        receiver.hold = threading.Event()
        first = stack.request(
            "POST", f"/api/events/{department['id']}", {"event_date": "2026-12-24", "title": "첫째"}
        ).json
        assert eventually(lambda: len(receiver.calls) == 2)  # the test call, then the first
        # When another event is written while that call is still unanswered
        second = stack.request(
            "POST", f"/api/events/{department['id']}", {"event_date": "2026-12-25", "title": "둘째"}
        ).json
        # Then its audit entry is written all the same
        history = f"/api/events/{department['id']}/{second['id']}/history"
        assert eventually(lambda: stack.request("GET", history).json["items"])
        assert receiver.answered == 1  # the first delivery is still waiting for its answer
        # And once the receiver answers, both notifications reach it
        receiver.hold.set()
        assert eventually(lambda: len(receiver.bodies) == 3)
        assert first["id"] != second["id"]


def test_a_day_of_the_audit_pages_back_whole_and_in_order_on_dynamodb_local(stack):
    # Given a department whose events are created and changed over HTTP, audited by the stack
    department = stack.request("POST", "/api/departments", {"name": "감사 분산팀"}).json
    events_path = f"/api/events/{department['id']}"
    for n in range(20):
        event = stack.request(
            "POST", events_path, {"event_date": "2024-03-01", "title": f"회의 {n}"}
        )
        if n % 2:
            stack.request("PATCH", f"{events_path}/{event.json['id']}", {"title": f"바뀐 {n}"})
    dynamodb = stack.dynamodb()

    def audited_and_settled() -> list[dict[str, Any]] | None:
        ours = [
            item
            for item in _scan(dynamodb, AUDIT)
            if item.get("department_id", {}).get("S") == department["id"]
        ]
        return ours if len(ours) == 1 + 20 + 10 else None

    ours = eventually(audited_and_settled)
    assert ours is not None, "the stream did not audit every change"
    day = ours[0]["date"]["S"][:10]
    assert len({item["date"]["S"] for item in ours}) > 4  # spread over the day's keys
    # When the whole day is read four at a time, once nothing more is being written
    seen = eventually(lambda: _stable_day(stack, dynamodb, day))
    # Then every entry of the day came once, newest first
    assert seen is not None
    assert len(seen) >= 31


def test_ties_of_one_day_page_back_whole_on_dynamodb_local(stack):
    # Given a day whose entries share one change_key, many of them on one shard
    day = "2020-02-02"
    dynamodb = stack.dynamodb()
    shard = audit_date_key(day, "event#d#t-0")
    same = [f"t-{n}" for n in range(3000) if audit_date_key(day, f"event#d#t-{n}") == shard]
    for entity in [*same[:8], "a", "b", "c", "d"]:
        put_entry(dynamodb, entity, 5, day=day)
    put_entry(dynamodb, "later", 9, day=day)
    get = partial(stack.request, "GET")
    # Then any page size gives them once each, in (change_key, entity) order
    for limit in (1, 2, 5):
        seen, _ = read_day(get, day, limit)
        assert seen == expected(dynamodb, day)
        assert len(seen) == 13


def _stable_day(stack: LocalStack, dynamodb: Any, day: str) -> list[tuple[str, str]] | None:
    before = expected(dynamodb, day)
    seen, _ = read_day(partial(stack.request, "GET"), day, limit=4)
    return seen if seen == before == expected(dynamodb, day) else None


def _scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def test_a_busy_calendar_pages_back_whole_in_date_and_id_order_on_dynamodb_local(stack):
    # Given a department whose 13 events on two dates are listed under several calendar_key
    # values of DynamoDB Local's index
    department = stack.request("POST", "/api/departments", {"name": "달력 분산팀"}).json
    path = f"/api/events/{department['id']}"
    created = [
        stack.request("POST", path, {"event_date": f"2025-05-0{n % 2 + 1}", "title": f"회의 {n}"})
        for n in range(13)
    ]
    assert all(reply.status == 201 for reply in created)
    events = [reply.json for reply in created]
    keys = {calendar_key(department["id"], e["id"]) for e in events}
    assert len(keys) > 1
    expected = [e["id"] for e in sorted(events, key=lambda e: (e["event_date"], e["id"]))]
    # When it is read a page at a time, then every event comes once, in (date, id) order
    for limit in (1, 3, 100):
        seen = read_pages(partial(stack.request, "GET"), path, limit)
        assert [e["id"] for e in seen] == expected, limit
