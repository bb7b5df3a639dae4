"""manage.py migrate, through ops.migration.run.migrate, against moto."""

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.models import EventCreate
from chalicelib.repositories.event_counter import counter_key
from chalicelib.repositories.events import EventRepository
from chalicelib.settings import get_settings
from ops.export import read_json_lines
from ops.migration.legacy import LegacyFileError
from ops.migration.run import Outcome, migrate
from tests.event_counts import counter_items

DEPARTMENTS = [
    {
        "id": "dept-dev",
        "name": "개발팀",
        "description": "개발 부서",
        "created_at": "2024-01-01T00:00:00Z",
    },
    {"id": "dept-mkt", "name": "마케팅팀", "description": "", "created_at": "2024-01-02T00:00:00Z"},
]
EVENTS = [
    {
        "id": "ev-1",
        "department_id": "dept-dev",
        "event_date": "2024-01-20",
        "title": "팀 회의",
        "time": "오후 3:00",
        "description": "주간 회의",
        "created_at": "2024-01-15T09:00:00Z",
    },
    {"id": "ev-2", "department_id": "dept-mkt", "event_date": "2024-02-01", "title": "캠페인"},
]


def write(path: Path, data: Any, *, bom: bool = False) -> Path:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run(
    client: Any, departments: Path | None, events: Path | None, **options: Any
) -> tuple[Outcome, list[str]]:
    lines: list[str] = []
    outcome = migrate(
        client,
        get_settings(),
        departments_path=departments,
        events_path=events,
        out=lines.append,
        progress=False,
        **options,
    )
    return outcome, lines


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "departments.json", DEPARTMENTS), write(
        tmp_path / "events.json", EVENTS
    )


def item(client: Any, table: str, **key: str) -> dict[str, Any] | None:
    typed = {name: {"S": value} for name, value in key.items()}
    return client.get_item(TableName=table, Key=typed, ConsistentRead=True).get("Item")


def test_the_guides_files_migrate_and_verify(dynamodb, files):
    outcome, lines = run(dynamodb, *files)
    assert outcome.exit_code == 0
    assert (outcome.departments.migrated, outcome.events.migrated) == (2, 2)
    assert "✓ 부서 '개발팀' 마이그레이션 완료" in lines
    assert "✅ 부서 데이터 마이그레이션 완료: 2개 (이미 있음 0개, 거부 0개)" in lines
    assert "🔍 마이그레이션 검증 중..." in lines
    assert "✅ 검증 완료: 부서 2개, 일정 2개가 테이블에 있습니다." in lines
    # Legacy ids, texts and timestamps are kept; the actor is "migration"
    stored = item(dynamodb, "events", id="ev-1", department_id="dept-dev")
    assert stored is not None
    assert stored["title"] == {"S": "팀 회의"}
    assert stored["time"] == {"S": "오후 3:00"}
    assert stored["created_at"] == {"S": "2024-01-15T09:00:00.000Z"}
    assert stored["created_by"] == {"S": "migration"}
    assert stored["version"] == {"N": "1"}
    # "오후 3:00" reads as a time, as it would through the API; the run says how many did
    assert stored["start_time"] == {"S": "15:00"}
    assert stored["timezone"] == {"S": "Asia/Seoul"}
    assert outcome.times_derived == 1
    assert "🕒 시간 글에서 시작 시각을 읽은 일정: 1개" in lines


def test_the_api_serves_migrated_data_and_its_rules_hold(dynamodb, files, api_on):
    run(dynamodb, *files)
    api = api_on()
    events = api.get("/api/events/dept-dev").json["items"]
    assert [e["title"] for e in events] == ["팀 회의"]
    # The migrated name is claimed: the API cannot take it again
    assert api.post("/api/departments", {"name": "개발팀"}).status == 409
    # The event counter was set: the department cannot be deleted while it has events
    assert api.delete("/api/departments/dept-dev").status == 409
    assert api.delete("/api/departments/dept-dev?cascade=true").status == 204


@pytest.mark.parametrize(
    ("departments", "events"),
    [
        ({"departments": DEPARTMENTS}, {"events": EVENTS}),
        (
            DEPARTMENTS,
            {
                "dept-dev": [{k: v for k, v in EVENTS[0].items() if k != "department_id"}],
                "dept-mkt": [EVENTS[1]],
            },
        ),
    ],
)
def test_every_legacy_shape_is_read(dynamodb, tmp_path, departments, events):
    outcome, _ = run(
        dynamodb,
        write(tmp_path / "d.json", departments, bom=True),
        write(tmp_path / "e.json", events),
    )
    assert outcome.exit_code == 0
    assert (outcome.departments.migrated, outcome.events.migrated) == (2, 2)
    assert item(dynamodb, "events", id="ev-1", department_id="dept-dev") is not None


def test_numeric_legacy_ids_work_for_departments_and_the_events_that_name_them(dynamodb, tmp_path):
    departments = write(tmp_path / "d.json", [{"id": 1, "name": "일번팀"}])
    events = write(
        tmp_path / "e.json",
        [{"id": 7, "department_id": 1, "event_date": "2024-01-01", "title": "회의"}],
    )
    outcome, _ = run(dynamodb, departments, events)
    assert outcome.exit_code == 0
    assert item(dynamodb, "events", id="7", department_id="1") is not None


def test_korean_text_stays_byte_exact(dynamodb, tmp_path):
    name = unicodedata.normalize("NFD", "디자인팀")
    title = "회의 🎉 " + unicodedata.normalize("NFD", "검토")
    departments = write(tmp_path / "d.json", [{"id": "d1", "name": name}])
    events = write(
        tmp_path / "e.json",
        [{"id": "e1", "department_id": "d1", "event_date": "2024-03-01", "title": title}],
    )
    run(dynamodb, departments, events)
    department = item(dynamodb, "departments", id="d1")
    event = item(dynamodb, "events", id="e1", department_id="d1")
    assert department is not None
    assert event is not None
    assert department["name"]["S"].encode() == name.encode()
    assert event["title"]["S"].encode() == title.encode()


def test_a_second_run_writes_nothing_and_reports_everything_present(dynamodb, files):
    run(dynamodb, *files)
    writes: list[str] = []
    dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: writes.append(model.name)
    )
    outcome, lines = run(dynamodb, *files)
    assert outcome.exit_code == 0
    assert (outcome.departments.migrated, outcome.events.migrated) == (0, 0)
    assert (outcome.departments.present, outcome.events.present) == (2, 2)
    assert "• 일정 '팀 회의' 이미 있음" in lines
    assert not {"BatchWriteItem", "TransactWriteItems", "PutItem", "UpdateItem"} & set(writes)


def test_records_without_ids_get_the_same_id_on_every_run(dynamodb, tmp_path):
    departments = write(tmp_path / "d.json", [{"name": "QA팀"}])
    first, _ = run(dynamodb, departments, None)
    second, _ = run(dynamodb, departments, None)
    assert first.departments.migrated == 1
    assert second.departments.present == 1
    assert dynamodb.scan(TableName="departments")["Count"] == 1


def test_items_changed_through_the_api_are_kept_unless_overwrite(dynamodb, files, api_on):
    run(dynamodb, *files)
    api = api_on()
    api.patch("/api/events/dept-dev/ev-1", {"title": "바뀐 제목"})
    # Without --overwrite the API's change survives
    outcome, _ = run(dynamodb, *files)
    assert outcome.events.present == 2
    assert api.get("/api/events/dept-dev/ev-1").json["title"] == "바뀐 제목"
    # With --overwrite the file wins, as a new version
    outcome, _ = run(dynamodb, *files, overwrite=True)
    assert outcome.exit_code == 0
    assert outcome.events.migrated == 2
    event = api.get("/api/events/dept-dev/ev-1").json
    assert event["title"] == "팀 회의"
    assert event["version"] == 3


def test_overwrite_moves_a_renamed_departments_name_claim(dynamodb, files, api_on, tmp_path):
    run(dynamodb, *files)
    renamed = [{**DEPARTMENTS[0], "name": "플랫폼팀"}, DEPARTMENTS[1]]
    outcome, _ = run(dynamodb, write(tmp_path / "d2.json", renamed), None, overwrite=True)
    assert outcome.exit_code == 0
    api = api_on()
    assert api.post("/api/departments", {"name": "개발팀"}).status == 201
    assert api.post("/api/departments", {"name": "플랫폼팀"}).status == 409


def test_dry_run_validates_and_writes_nothing(dynamodb, files):
    outcome, lines = run(dynamodb, *files, dry_run=True)
    assert outcome.exit_code == 0
    assert outcome.events.migrated == 2
    assert "🧪 드라이 런이었습니다: 아무것도 쓰지 않았습니다." in lines
    assert dynamodb.list_tables()["TableNames"] == []


def test_a_dry_run_says_what_it_would_migrate_never_that_it_did(dynamodb, files):
    # Given the guide's files, one event with a time to read
    # When they are migrated as a dry run
    outcome, lines = run(dynamodb, *files, dry_run=True)
    # Then every line speaks of what a real run would do
    assert outcome.exit_code == 0
    assert not [line for line in lines if "완료" in line]
    assert "→ 부서 '개발팀' 마이그레이션 예정" in lines
    assert "→ 일정 '팀 회의' 마이그레이션 예정" in lines
    assert "→ 부서 데이터 마이그레이션 예정: 2개 (이미 있음 0개, 거부 0개)" in lines
    assert "→ 일정 데이터 마이그레이션 예정: 2개 (이미 있음 0개, 거부 0개)" in lines
    assert "🕒 시간 글에서 시작 시각을 읽어 쓸 예정인 일정: 1개" in lines


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        # No offset: taken as UTC
        ("2024-01-15T09:00:00", "2024-01-15T09:00:00.000Z"),
        ("2024-01-15 09:00:00.5", "2024-01-15T09:00:00.500Z"),
        # An offset: converted to UTC
        ("2024-01-15T18:00:00+09:00", "2024-01-15T09:00:00.000Z"),
        ("2024-01-15T09:00:00Z", "2024-01-15T09:00:00.000Z"),
        # Already as the API writes it
        ("2024-01-15T09:00:00.123Z", "2024-01-15T09:00:00.123Z"),
    ],
)
def test_legacy_timestamps_are_stored_as_the_api_writes_them(dynamodb, tmp_path, written, stored):
    # Given legacy records whose timestamps were written in another form
    departments = write(
        tmp_path / "d.json", [{"id": "d1", "name": "개발팀", "created_at": written}]
    )
    events = write(
        tmp_path / "e.json",
        [
            {
                "id": "e1",
                "department_id": "d1",
                "event_date": "2024-01-20",
                "title": "회의",
                "created_at": written,
                "updated_at": written,
            }
        ],
    )
    # When they are migrated
    outcome, _ = run(dynamodb, departments, events)
    # Then their timestamps are ISO 8601 UTC with milliseconds and Z
    assert outcome.exit_code == 0
    department = item(dynamodb, "departments", id="d1")
    event = item(dynamodb, "events", id="e1", department_id="d1")
    assert department is not None
    assert event is not None
    assert department["created_at"] == {"S": stored}
    assert (event["created_at"], event["updated_at"]) == ({"S": stored}, {"S": stored})


BAD_DEPARTMENTS = [
    {"id": "ok", "name": "정상팀"},
    {"id": "dup-name", "name": " 정상팀 "},
    {"id": "ok", "name": "같은 id"},
    {"id": "no-name"},
    {"id": "long", "name": "가" * 101},
    {"id": "bad id!", "name": "이상한 id"},
    {"id": "bad-time", "name": "시간팀", "created_at": "yesterday"},
    {"id": "extra", "name": "추가팀", "manager": "kim"},
    "not an object",
]
BAD_EVENTS = [
    {"id": "e-ok", "department_id": "ok", "event_date": "2024-01-20", "title": "정상"},
    {"id": "e-date", "department_id": "ok", "event_date": "2024-02-30", "title": "날짜"},
    {"id": "e-title", "department_id": "ok", "event_date": "2024-01-20", "title": " "},
    {"id": "e-orphan", "department_id": "nowhere", "event_date": "2024-01-20", "title": "고아"},
    {"id": "e-ok", "department_id": "ok", "event_date": "2024-01-21", "title": "중복 id"},
    {"id": "e-none", "event_date": "2024-01-20", "title": "부서 없음"},
    ["not", "an", "object"],
]


def test_every_invalid_record_is_rejected_with_its_reason(dynamodb, tmp_path):
    rejects_path = tmp_path / "rejects.jsonl"
    outcome, lines = run(
        dynamodb,
        write(tmp_path / "d.json", BAD_DEPARTMENTS),
        write(tmp_path / "e.json", BAD_EVENTS),
        rejects_path=rejects_path,
    )
    # Everything valid is migrated and verified; the run says 2 (some rejected)
    assert outcome.exit_code == 2
    assert (outcome.departments.migrated, outcome.events.migrated) == (1, 1)
    reasons = {r.where: r.reason for r in outcome.rejects}
    assert "is used by d.json #1 too" in reasons["d.json #2"]
    assert "is used by d.json #1 too" in reasons["d.json #3"]
    assert reasons["d.json #4"] == "name: is required"
    assert reasons["d.json #5"] == "name: must be at most 100 characters"
    assert reasons["d.json #6"].startswith("id:")
    assert reasons["d.json #7"].startswith("created_at:")
    assert reasons["d.json #8"] == "unknown field(s): manager"
    assert reasons["d.json #9"] == "not a JSON object"
    assert reasons["e.json #2"].startswith("event_date:")
    assert reasons["e.json #3"] == "title: must not be empty"
    assert "no department 'nowhere'" in reasons["e.json #4"]
    assert "is used by e.json #1 too" in reasons["e.json #5"]
    assert reasons["e.json #6"].startswith("department_id:")
    assert reasons["e.json #7"] == "not a JSON object"
    assert len(outcome.rejects) == 14
    # The rejects file holds one JSON line each, Korean intact
    written = [json.loads(line) for line in rejects_path.read_text("utf-8").splitlines()]
    assert len(written) == 14
    assert {"kind", "where", "reason", "record"} <= set(written[0])
    assert any(r["record"] == {"id": "long", "name": "가" * 101} for r in written)
    assert "⚠ 거부된 레코드 14개" in "\n".join(lines)
    assert "✅ 검증 완료: 부서 1개, 일정 1개가 테이블에 있습니다." in lines


def test_rejects_with_line_separators_in_their_text_stay_one_line_each(dynamodb, tmp_path):
    odd = "줄\u2028바꿈 문단\u2029끝 다음\u0085줄 🎉 " + unicodedata.normalize("NFD", "검토")
    events = [
        {"id": "e1", "department_id": "d1", "event_date": "2024-02-30", "title": odd},
        {"id": "e2", "department_id": "d1", "event_date": "2024-01-20", "title": odd, "x": odd},
    ]
    rejects_path = tmp_path / "rejects.jsonl"
    outcome, _ = run(dynamodb, None, write(tmp_path / "e.json", events), rejects_path=rejects_path)
    assert outcome.exit_code == 2
    text = rejects_path.read_text("utf-8")
    # Even str.splitlines() (it splits on U+2028, U+2029 and U+0085) sees one reject a line
    written = [json.loads(line) for line in text.splitlines()]
    assert [r["record"] for r in written] == events
    assert [r["record"]["title"].encode() for r in written] == [odd.encode()] * 2
    assert list(read_json_lines(rejects_path)) == written


def test_every_reject_carries_its_record_as_the_file_holds_it(dynamodb, tmp_path):
    # Given a name the table already holds, and events filed under their department's id
    run(dynamodb, write(tmp_path / "seed.json", [{"id": "x", "name": "기존팀"}]), None)
    taken = {"id": "new", "name": "기존팀", "created_at": "2024-01-01T00:00:00"}
    orphan = {"event_date": "2024-01-20", "title": "고아", "time": "오후 3:00"}
    filed = {"id": "e2", "department_id": "other", "event_date": "2024-01-21", "title": "x"}
    rejects_path = tmp_path / "rejects.jsonl"
    # When a run rejects the department (after validation) and the events
    outcome, _ = run(
        dynamodb,
        write(tmp_path / "d.json", [taken]),
        write(tmp_path / "e.json", {"nowhere": [orphan, filed]}),
        rejects_path=rejects_path,
    )
    # Then each reject holds the raw record and a reason, nothing the run read into it
    assert outcome.exit_code == 2
    written = list(read_json_lines(rejects_path))
    assert {r["where"]: r["record"] for r in written} == {
        "d.json #1": taken,
        "e.json nowhere[0]": orphan,
        "e.json nowhere[1]": filed,
    }
    reasons = {r["where"]: r["reason"] for r in written}
    assert "already used by department 'x'" in reasons["d.json #1"]
    assert "no department 'nowhere'" in reasons["e.json nowhere[0]"]
    assert "filed under" in reasons["e.json nowhere[1]"]


def test_a_name_already_taken_in_the_table_is_rejected(dynamodb, tmp_path, api_on):
    run(dynamodb, write(tmp_path / "seed.json", [{"id": "x", "name": "기존팀"}]), None)
    api_on().post("/api/departments", {"name": "API팀"})
    departments = write(tmp_path / "d.json", [{"id": "new", "name": "api팀"}])
    outcome, _ = run(dynamodb, departments, None)
    assert outcome.exit_code == 2
    assert "already used by department" in outcome.rejects[0].reason
    assert item(dynamodb, "departments", id="new") is None


def test_an_event_may_belong_to_a_department_already_in_the_table(dynamodb, files, tmp_path):
    run(dynamodb, files[0], None)
    events = write(
        tmp_path / "e.json",
        [{"department_id": "dept-mkt", "event_date": "2024-05-05", "title": "나중 일정"}],
    )
    outcome, _ = run(dynamodb, None, events)
    assert outcome.exit_code == 0
    assert outcome.events.migrated == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"name": "x",}]', "d.json:1:"),
        (b'{"teams": []}', '{"departments": [...]}'),
        (b"\xff\xfe\x00", "UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_stops_the_run_before_anything_is_written(
    dynamodb, tmp_path, content, message
):
    path = tmp_path / "d.json"
    path.write_bytes(content)
    with pytest.raises(LegacyFileError, match=message.replace("[", r"\[").replace("{", r"\{")):
        run(dynamodb, path, None)
    assert dynamodb.list_tables()["TableNames"] == []


def test_thousands_of_events_with_a_few_bad_ones_migrate_completely_in_batches(dynamodb, tmp_path):
    departments = [{"id": f"d{i}", "name": f"부서 {i}"} for i in range(20)]
    events = [
        {
            "id": f"e{i}",
            "department_id": f"d{i % 20}",
            "event_date": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            "title": f"일정 {i}",
        }
        for i in range(2000)
    ]
    events[10]["event_date"] = "2024-02-30"
    events[20]["department_id"] = "missing"
    events[30]["title"] = ""
    calls: list[str] = []
    dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    outcome, _ = run(
        dynamodb, write(tmp_path / "d.json", departments), write(tmp_path / "e.json", events)
    )
    assert outcome.exit_code == 2
    assert outcome.events.migrated == 1997
    assert dynamodb.scan(TableName="events", Select="COUNT")["Count"] == 1997
    # 1997 events in 80 BatchWriteItem calls, found and verified 100 keys at a time
    assert calls.count("BatchWriteItem") == 80
    assert calls.count("PutItem") == 0
    assert calls.count("BatchGetItem") <= 2 * 20 + 4
    # and a second run changes nothing
    again, _ = run(
        dynamodb, write(tmp_path / "d.json", departments), write(tmp_path / "e.json", events)
    )
    assert again.events.present == 1997
    assert again.events.migrated == 0


class Throttled:
    """The real (moto) client, except that BatchWriteItem and BatchGetItem first throw
    ProvisionedThroughputExceededException, then leave half their requests unprocessed."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.throttled = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        if self.throttled % 3 == 0:
            self.throttled += 1
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "BatchWriteItem",
            )
        self.throttled += 1
        ((table, requests),) = RequestItems.items()
        half = len(requests) // 2
        self._client.batch_write_item(RequestItems={table: requests[: max(half, 1)]})
        rest = requests[max(half, 1) :]
        return {"UnprocessedItems": {table: rest} if rest else {}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        half = max(len(keys) // 2, 1)
        response = self._client.batch_get_item(
            RequestItems={table: {**request, "Keys": keys[:half]}}
        )
        rest = keys[half:]
        response["UnprocessedKeys"] = {table: {**request, "Keys": rest}} if rest else {}
        return response


def test_throttling_and_unprocessed_items_slow_the_run_but_lose_nothing(
    dynamodb, tmp_path, monkeypatch
):
    monkeypatch.setattr("ops.migration.store.time.sleep", lambda seconds: None)
    monkeypatch.setattr("chalicelib.dynamo.time.sleep", lambda seconds: None)
    events = [
        {"id": f"e{i}", "department_id": "dept-dev", "event_date": "2024-01-01", "title": f"{i}"}
        for i in range(60)
    ]
    client = Throttled(dynamodb)
    outcome, _ = run(
        client, write(tmp_path / "d.json", DEPARTMENTS), write(tmp_path / "e.json", events)
    )
    assert outcome.exit_code == 0
    assert client.throttled > 3
    assert dynamodb.scan(TableName="events", Select="COUNT")["Count"] == 60


class ThrottledTransactions:
    """The real (moto) client, except that every other TransactWriteItems is cancelled the way
    DynamoDB cancels one whose item it throttled: ThrottlingError for that item, None for the
    others."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.throttled = 0
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self._calls += 1
        if self._calls % 2:
            self.throttled += 1
            reasons: list[Any] = [{"Code": "ThrottlingError"}]
            reasons += [{"Code": "None"}] * (len(TransactItems) - 1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(TransactItems=TransactItems)


def test_department_transactions_cancelled_by_throttling_are_retried(
    dynamodb, tmp_path, monkeypatch
):
    monkeypatch.setattr("ops.migration.store.time.sleep", lambda seconds: None)
    client = ThrottledTransactions(dynamodb)
    outcome, _ = run(
        client, write(tmp_path / "d.json", DEPARTMENTS), write(tmp_path / "e.json", [])
    )
    assert outcome.exit_code == 0
    assert client.throttled == len(DEPARTMENTS)
    assert dynamodb.scan(TableName="departments", Select="COUNT")["Count"] == len(DEPARTMENTS)


class Forgetful:
    """A client whose BatchWriteItem says it wrote everything and wrote nothing."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"UnprocessedItems": {}}


def test_verification_catches_items_that_did_not_land(dynamodb, files):
    outcome, lines = run(Forgetful(dynamodb), *files)
    assert outcome.exit_code == 1
    assert any("테이블에 없습니다" in line for line in lines)
    assert lines[-1].startswith("✗ 검증 실패")


def counter(client: Any, department_id: str) -> str | None:
    """The department item's own count: of its events that name no counter item."""
    stored = item(client, "departments", id=department_id)
    assert stored is not None
    return stored.get("event_count", {}).get("N")


def counted_in(client: Any, event_id: str, department_id: str) -> str | None:
    """The key of the counter item the stored event names (None: it is counted on its
    department)."""
    stored = item(client, "events", id=event_id, department_id=department_id)
    assert stored is not None
    if "counted_in" not in stored:
        return None
    return counter_key(department_id, int(stored["counted_in"]["N"]))


def test_counters_are_set_right_after_an_earlier_run_that_stopped_before_counting(
    dynamodb, files, api_on
):
    # Given events an interrupted run wrote, and a counter it never set, beside an API event
    run(dynamodb, *files)
    api_on().post(
        "/api/events/dept-dev",
        {"event_date": "2024-03-01", "title": "API 일정"},
    )
    dynamodb.update_item(
        TableName="departments",
        Key={"id": {"S": "dept-dev"}},
        UpdateExpression="SET event_count = :n",
        ExpressionAttributeValues={":n": {"N": "0"}},
    )
    # When the migration runs again
    outcome, _ = run(dynamodb, *files)
    # Then the department's own counter holds the file's events, and the API's is still
    # counted on its counter item alone
    assert outcome.exit_code == 0
    assert (counter(dynamodb, "dept-dev"), counter(dynamodb, "dept-mkt")) == ("1", "1")
    assert sum(counter_items(dynamodb, "dept-dev").values()) == 1


def test_events_migrated_beside_an_api_event_are_counted_apart_from_it_and_overwrite_keeps_it_there(
    dynamodb, files, tmp_path, api_on
):
    # Given a department that already has an event created through the API
    run(dynamodb, files[0], None)
    api = api_on()
    made = api.post("/api/events/dept-dev", {"event_date": "2024-03-01", "title": "API 일정"})
    assert made.status == 201
    api_event = made.json["id"]
    its_item = counted_in(dynamodb, api_event, "dept-dev")
    assert its_item is not None
    # When the files migrate more events into it
    more = [
        EVENTS[0],
        {"id": "ev-3", "department_id": "dept-dev", "event_date": "2024-04-01", "title": "워크숍"},
    ]
    outcome, _ = run(dynamodb, None, write(tmp_path / "more.json", more))
    # Then the department item counts the migrated events only, and the counter item still
    # counts the API's
    assert (outcome.exit_code, outcome.events.migrated) == (0, 2)
    assert counter(dynamodb, "dept-dev") == "2"
    assert counter_items(dynamodb, "dept-dev") == {its_item: 1}
    # When a file overwrites the API's event
    rewritten = [
        {"id": api_event, "department_id": "dept-dev", "event_date": "2024-03-02", "title": "새"}
    ]
    outcome, _ = run(dynamodb, None, write(tmp_path / "over.json", rewritten), overwrite=True)
    # Then it is rewritten and keeps naming its counter item, which still counts it
    assert outcome.exit_code == 0
    assert api.get(f"/api/events/dept-dev/{api_event}").json["title"] == "새"
    assert counted_in(dynamodb, api_event, "dept-dev") == its_item
    assert counter(dynamodb, "dept-dev") == "2"
    assert counter_items(dynamodb, "dept-dev") == {its_item: 1}
    # And once every event is deleted through the API, the department can be deleted plainly
    for event_id in (api_event, "ev-1", "ev-3"):
        assert api.delete(f"/api/events/dept-dev/{event_id}").status == 204
    assert api.delete("/api/departments/dept-dev").status == 204


class ChangesDuringVerification:
    """The real (moto) client, except that just before the verification's first read of the
    calendar index, `change` runs through the API's own repository (which moves the counter the
    event is counted on in the same transaction)."""

    def __init__(self, client: Any, change: Any) -> None:
        self._client = client
        self._change = change
        self.changed_in: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **params: Any) -> dict[str, Any]:
        if self.changed_in is None:
            # A department's first calendar_key value is its plain id.
            self.changed_in = params["ExpressionAttributeValues"][":key"]["S"]
            self._change(EventRepository(self._client, get_settings()), self.changed_in)
        return dict(self._client.query(**params))


def create_one(events: EventRepository, department_id: str) -> None:
    data = EventCreate.model_validate({"event_date": "2024-06-01", "title": "API 일정"})
    events.create(department_id, data, actor="api")


def test_an_event_created_through_the_api_during_the_run_is_counted_on_its_counter_item(
    dynamodb, files
):
    # Given an event created through the API while the run verifies
    client = ChangesDuringVerification(dynamodb, create_one)
    # When the files migrate
    outcome, _ = run(client, *files)
    # Then each department item counts the file's events, and the API's event is counted on
    # its counter item
    assert outcome.exit_code == 0
    assert client.changed_in is not None
    assert (counter(dynamodb, "dept-dev"), counter(dynamodb, "dept-mkt")) == ("1", "1")
    assert sum(counter_items(dynamodb, client.changed_in).values()) == 1


def test_an_event_deleted_through_the_api_during_the_run_is_counted_out(dynamodb, files, tmp_path):
    # Given a department with a migrated event and one created through the API, and the
    # migrated one deleted through the API while a second run verifies its new event
    run(dynamodb, *files)
    create_one(EventRepository(dynamodb, get_settings()), "dept-dev")
    client = ChangesDuringVerification(
        dynamodb,
        lambda events, department_id: events.delete(department_id, "ev-1", actor="api"),
    )
    more = [{"id": "ev-3", "department_id": "dept-dev", "event_date": "2024-04-01", "title": "x"}]
    # When the second file migrates
    outcome, _ = run(client, None, write(tmp_path / "more.json", more))
    # Then the department item counts what is left of the migrated events (the new one), not
    # the API's, which its counter item still counts
    assert outcome.exit_code == 0
    assert item(dynamodb, "events", id="ev-1", department_id="dept-dev") is None
    assert counter(dynamodb, "dept-dev") == "1"
    assert sum(counter_items(dynamodb, "dept-dev").values()) == 1


class LaggingIndex:
    """The real (moto) client, except that the calendar index has not caught up yet: queries on
    it leave out the first event of each page (DynamoDB's indexes are eventually consistent)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.left_out = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **params: Any) -> dict[str, Any]:
        response = dict(self._client.query(**params))
        if response["Items"]:
            self.left_out += 1
            response["Items"] = response["Items"][1:]
            response["Count"] -= 1
        return response


def test_events_the_lagging_index_does_not_show_yet_are_verified_and_counted(dynamodb, tmp_path):
    events = [
        {"id": f"e{i}", "department_id": "dept-dev", "event_date": "2024-01-01", "title": f"{i}"}
        for i in range(30)
    ]
    client = LaggingIndex(dynamodb)
    outcome, lines = run(
        client, write(tmp_path / "d.json", DEPARTMENTS), write(tmp_path / "e.json", events)
    )
    assert outcome.exit_code == 0
    assert client.left_out > 0
    assert "✅ 검증 완료: 부서 2개, 일정 30개가 테이블에 있습니다." in lines
    assert counter(dynamodb, "dept-dev") == "30"


def test_a_name_the_file_moves_between_departments_is_claimed_by_its_new_holder(
    dynamodb, tmp_path, api_on
):
    run(dynamodb, write(tmp_path / "d1.json", [{"id": "a", "name": "옛이름팀"}]), None)
    # The department that takes the old name comes first in the file, the renamed one second
    moved = [{"id": "b", "name": "옛이름팀"}, {"id": "a", "name": "새이름팀"}]
    outcome, _ = run(dynamodb, write(tmp_path / "d2.json", moved), None, overwrite=True)
    assert outcome.exit_code == 0
    assert outcome.departments.migrated == 2
    api = api_on()
    assert api.post("/api/departments", {"name": "옛이름팀"}).status == 409
    assert api.post("/api/departments", {"name": "새이름팀"}).status == 409


@pytest.fixture
def api_on(dynamodb):
    """The API over the same moto tables the migration wrote (created on first use)."""
    from app import app
    from tests.conftest import Api, local_client

    clients: list[Any] = []

    def make() -> Api:
        client = local_client(app)
        clients.append(client.__enter__())
        return Api(client)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
