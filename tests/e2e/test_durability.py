"""The local stack as a database: what it acknowledged survives a crash, every change is audited
and announced exactly once, restarts included, and nothing that failed leaves a trace."""

import json
import os
import threading
import time
import unicodedata
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_stack import LocalStack, eventually

pytestmark = pytest.mark.e2e

CLIENTS = 4
CREATES_PER_CLIENT = 60


def all_pages(stack: LocalStack, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        suffix = f"&next_token={token}" if token else ""
        page = stack.request("GET", f"{path}?limit=100{suffix}").json
        items += page["items"]
        token = page["next_token"]
        if not token:
            return items


def scan(stack: LocalStack, table: str) -> list[dict[str, Any]]:
    client, items, start = stack.dynamodb(), [], None
    while True:
        page = client.scan(
            TableName=table, ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {})
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def java_processes_on(data_dir: Path) -> list[str]:
    found = []
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = status.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "DynamoDBLocal.jar" in command and str(data_dir) in command:
            found.append(command)
    return found


def test_a_killed_stack_loses_no_acknowledged_create_and_audits_each_once(tmp_path):
    # Given a stack taking creates from four clients at once
    first = LocalStack(data_dir=tmp_path)
    department = first.request("POST", "/api/departments", {"name": "내구성팀"}).json
    path = f"/api/events/{department['id']}"
    acknowledged: list[str] = []
    started = threading.Event()

    def create(client: int) -> None:
        for n in range(CREATES_PER_CLIENT):
            body = {"event_date": "2024-03-01", "title": f"일정 {client}-{n}"}
            try:
                reply = first.request("POST", path, body)
            except OSError:
                return  # the stack is gone
            if reply.status == 201:
                acknowledged.append(reply.json["id"])
            if len(acknowledged) >= 100:
                started.set()

    with ThreadPoolExecutor(CLIENTS) as pool:
        for client in range(CLIENTS):
            pool.submit(create, client)
        # When the whole stack is killed with SIGKILL in the middle of the burst
        assert started.wait(120), "the burst did not get going"
        first.kill()
    assert 100 <= len(acknowledged) < CLIENTS * CREATES_PER_CLIENT
    # Then DynamoDB Local went with it
    assert eventually(lambda: not java_processes_on(tmp_path), timeout=10)

    # And after a restart every acknowledged create is there
    second = LocalStack(data_dir=tmp_path)
    try:
        stored = {e["id"] for e in all_pages(second, path)}
        assert set(acknowledged) <= stored

        # each with exactly one INSERT in its history and exactly one "created" notification
        def every_insert_audited() -> Counter[str] | None:
            inserts: Counter[str] = Counter()
            for item in scan(second, "events-audit"):
                if item["action"]["S"] == "INSERT" and item["entity_key"]["S"].startswith("event#"):
                    inserts[item["entity_key"]["S"].split("#")[-1]] += 1
            return inserts if set(inserts) >= stored else None

        inserts = eventually(every_insert_audited, timeout=60)
        assert inserts is not None, "not every stored event was audited after the restart"
        assert all(inserts[event_id] == 1 for event_id in stored)
        notices = Counter(
            n["event_id"]
            for n in all_pages(second, f"/api/departments/{department['id']}/notifications")
            if n["kind"] == "created"
        )
        assert set(notices) == stored
        assert set(notices.values()) == {1}
        for event_id in acknowledged[:5]:
            history = second.request("GET", f"{path}/{event_id}/history").json["items"]
            assert [e["action"] for e in history] == ["INSERT"]
    finally:
        second.stop()


def test_a_write_made_as_soon_as_a_restarted_stack_answers_is_audited(tmp_path):
    # Given a stack that ran before and was stopped
    LocalStack(data_dir=tmp_path).stop()
    # When it starts again and a department is created the moment it answers
    stack = LocalStack(data_dir=tmp_path)
    try:
        assert stack.request("GET", "/api/health").status == 200
        department = stack.request("POST", "/api/departments", {"name": "첫 요청팀"}).json
        # Then its creation is in its history
        history = f"/api/departments/{department['id']}/history"
        entries = eventually(lambda: stack.request("GET", history).json["items"])
        assert [e["action"] for e in entries] == ["INSERT"]
    finally:
        stack.stop()


def test_a_create_answered_404_or_409_leaves_no_audit_entry_and_no_notification(tmp_path):
    stack = LocalStack(data_dir=tmp_path)
    try:
        taken = stack.request("POST", "/api/departments", {"name": "있는팀"}).json
        # Given everything so far has been audited
        assert eventually(
            lambda: stack.request("GET", f"/api/departments/{taken['id']}/history").json["items"]
        )
        audit_before = len(scan(stack, "events-audit"))
        inbox_before = len(scan(stack, "events-notifications"))
        # When creates fail: an event for a department that does not exist, a taken name
        missing = stack.request(
            "POST", "/api/events/no-such-dept", {"event_date": "2024-03-01", "title": "유령"}
        )
        duplicate = stack.request("POST", "/api/departments", {"name": "있는팀"})
        assert (missing.status, duplicate.status) == (404, 409)
        # and then one create succeeds, so the streams have moved past the failures
        fence = stack.request("POST", "/api/departments", {"name": "울타리팀"}).json
        assert eventually(
            lambda: stack.request("GET", f"/api/departments/{fence['id']}/history").json["items"]
        )
        # Then only the successful create was audited, and nobody was notified of anything
        assert len(scan(stack, "events-audit")) == audit_before + 1
        assert len(scan(stack, "events-notifications")) == inbox_before
    finally:
        stack.stop()


UNUSUAL = "줄\u2028나눔\u2029문단\u0085다음 🎉 " + unicodedata.normalize("NFD", "한글 자모")


def test_unusual_text_is_intact_after_a_restart(tmp_path):
    # Given a department and an event holding line and paragraph separators, NEL, emoji, NFD
    first = LocalStack(data_dir=tmp_path)
    department = first.request(
        "POST", "/api/departments", {"name": UNUSUAL, "description": UNUSUAL}
    ).json
    event = first.request(
        "POST", f"/api/events/{department['id']}", {"event_date": "2024-03-01", "title": UNUSUAL}
    ).json
    first.stop()
    # When the stack starts again on the same data
    second = LocalStack(data_dir=tmp_path)
    try:
        # Then every character is as it was sent
        stored = second.request("GET", f"/api/departments/{department['id']}").json
        assert (stored["name"], stored["description"]) == (UNUSUAL, UNUSUAL)
        stored_event = second.request("GET", f"/api/events/{department['id']}/{event['id']}").json
        assert stored_event["title"] == UNUSUAL
        history = f"/api/events/{department['id']}/{event['id']}/history"
        entries = eventually(lambda: second.request("GET", history).json["items"])
        assert entries[0]["new_image"]["title"] == UNUSUAL
    finally:
        second.stop()


def test_fresh_empties_the_database_and_loads_the_sample_data(tmp_path):
    first = LocalStack(data_dir=tmp_path)
    first.request("POST", "/api/departments", {"name": "사라질팀"})
    first.stop()
    fresh = LocalStack(data_dir=tmp_path, fresh=True)
    try:
        names = [d["name"] for d in fresh.request("GET", "/api/departments").json["items"]]
        assert sorted(names) == ["개발팀", "마케팅팀"]
    finally:
        fresh.stop()


def write_snapshot(folder: Path) -> None:
    """A data folder as the earlier, file-based version of the stack saved it."""
    folder.mkdir(parents=True, exist_ok=True)
    departments = [
        {
            "id": "dept-old",
            "name": "옛날팀",
            "description": UNUSUAL,
            "created_at": "2024-01-01T00:00:00.000Z",
        }
    ]
    events = [
        {
            "id": "event-old",
            "department_id": "dept-old",
            "event_date": "2024-02-01",
            "title": "옛 회의",
            "created_at": "2024-01-01T00:00:00.000Z",
        }
    ]
    audit = {
        "action": "INSERT",
        "actor": "kim",
        "at": "2024-01-01T00:00:00.000Z",
        "change_key": "2024-01-01T00:00:00.000Z#" + "1".zfill(40),
        "changes": {},
        "date": "2024-01-01",
        "department_id": "dept-old",
        "entity_id": "event-old",
        "entity_key": "event#dept-old#event-old",
        "entity_type": "event",
        "images_omitted": False,
        "new_image": {"id": "event-old", "department_id": "dept-old", "title": "옛 회의"},
        "sequence_number": "1".zfill(21),
    }
    (folder / "departments.json").write_text(json.dumps(departments, ensure_ascii=False), "utf-8")
    (folder / "events.json").write_text(json.dumps(events, ensure_ascii=False), "utf-8")
    (folder / "audit.jsonl").write_text(json.dumps(audit, ensure_ascii=False) + "\n", "utf-8")
    (folder / "notifications.jsonl").write_text("", "utf-8")


def test_an_earlier_versions_snapshot_is_imported_once_and_kept_aside(tmp_path):
    # Given a data folder saved by the file-based version of the stack
    write_snapshot(tmp_path)
    first = LocalStack(data_dir=tmp_path)
    try:
        # Then its data is there, its history as it was (not audited a second time)
        assert any("저장된 데이터를 가져왔습니다" in line for line in first.startup_lines)
        assert first.request("GET", "/api/departments/dept-old").json["description"] == UNUSUAL
        time.sleep(1.5)
        history = first.request("GET", "/api/events/dept-old/event-old/history").json["items"]
        assert [(e["action"], e["actor"]) for e in history] == [("INSERT", "kim")]
        assert first.request("POST", "/api/departments", {"name": "옛날팀"}).status == 409
    finally:
        first.stop()
    # And the files are kept aside, so the next start does not import them again
    assert not (tmp_path / "departments.json").exists()
    assert (tmp_path / "imported-snapshot" / "departments.json").exists()
    second = LocalStack(data_dir=tmp_path)
    try:
        assert not any("가져왔습니다" in line for line in second.startup_lines)
        assert second.request("GET", "/api/departments/dept-old").status == 200
    finally:
        second.stop()


def test_tools_reach_the_running_stack_without_flags_or_credentials(tmp_path):
    import subprocess
    import sys

    stack = LocalStack(data_dir=tmp_path)
    try:
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") or k in ("AWS_REGION", "AWS_DEFAULT_REGION")
        }
        environment["DATA_DIR"] = str(tmp_path)
        done = subprocess.run(
            [sys.executable, "manage.py", "recount"],
            cwd=Path(__file__).resolve().parents[2],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"→ 실행 중인 로컬 스택의 DynamoDB: {stack.dynamodb_url}" in done.stderr
        assert "부서 2개를 확인했습니다" in done.stdout
    finally:
        stack.stop()
