"""The local stack, started as `make run` starts it, driven over real HTTP.

Follows the original setup guide's curl walkthrough, then the concurrency promise.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ops.embedded_dynamodb import EmbeddedDynamoDB
from tests.e2e.local_stack import LocalStack
from tests.e2e.walkthrough import guide_walkthrough, simultaneous_creates_of_one_name

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack()
    yield local
    local.stop()


def test_it_starts_with_tables_and_the_sample_data(stack):
    assert "✓ departments 테이블이 생성되었습니다." in stack.startup_lines
    health = stack.request("GET", "/api/health").json
    assert (health["status"], sorted(health)) == ("ok", ["status", "version"])
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


def test_sigterm_stops_it_cleanly():
    local = LocalStack()
    code, out = local.stop()
    assert code == 0
    assert "stopped" in out


def test_an_external_dynamodb_gets_tables_but_no_sample_data():
    with EmbeddedDynamoDB() as external:
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


def eventually(check, timeout: float = 15.0):
    """Poll `check` until it returns something truthy (the stream is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


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


def test_the_data_survives_a_restart_and_fresh_starts_over(tmp_path):
    # Given a stack where a department and an event were created and changed
    first = LocalStack(data_dir=tmp_path)
    department = first.request("POST", "/api/departments", {"name": "남는팀"}).json
    event = first.request(
        "POST", f"/api/events/{department['id']}", {"event_date": "2024-06-01", "title": "회의"}
    ).json
    path = f"/api/events/{department['id']}/{event['id']}"
    first.request("PATCH", path, {"time": "오전 10:00"}, headers={"X-Actor": "kim"})
    # When it is stopped with SIGTERM and started again on the same folder
    code, _ = first.stop()
    assert code == 0
    assert (tmp_path / "departments.json").exists()
    second = LocalStack(data_dir=tmp_path)
    try:
        # Then the change is there, its history survived (once, not twice), and the name is
        # still claimed
        assert any("저장된 데이터" in line for line in second.startup_lines)
        assert second.request("GET", path).json["time"] == "오전 10:00"
        history = second.request("GET", f"{path}/history").json["items"]
        assert [e["action"] for e in history] == ["MODIFY", "INSERT"]
        assert second.request("POST", "/api/departments", {"name": "남는팀"}).status == 409
        inbox = f"/api/departments/{department['id']}/notifications"
        assert len(second.request("GET", inbox).json["items"]) == 2
        # and new changes are audited as usual
        second.request("DELETE", path)
        assert eventually(lambda: len(second.request("GET", f"{path}/history").json["items"]) == 3)
    finally:
        second.stop()
    # And FRESH starts again from the sample data
    fresh = LocalStack(data_dir=tmp_path, fresh=True)
    try:
        names = [d["name"] for d in fresh.request("GET", "/api/departments").json["items"]]
        assert sorted(names) == ["개발팀", "마케팅팀"]
    finally:
        fresh.stop()


def test_a_crash_loses_at_most_what_came_after_the_last_snapshot(tmp_path):
    # Given a stack that snapshots every second after a change
    first = LocalStack({"LOCAL_SNAPSHOT_SECONDS": "1"}, data_dir=tmp_path)
    department = first.request("POST", "/api/departments", {"name": "충돌팀"}).json
    assert eventually(
        lambda: (
            (tmp_path / "departments.json").exists()
            and "충돌팀" in (tmp_path / "departments.json").read_text("utf-8")
        )
    )
    # When it is killed without a chance to save
    first.process.kill()
    first.process.wait(timeout=30)
    # Then the next start has the change from the snapshot
    second = LocalStack(data_dir=tmp_path)
    try:
        assert second.request("GET", f"/api/departments/{department['id']}").status == 200
    finally:
        second.stop()


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
