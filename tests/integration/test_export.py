"""manage.py export: the tables as files that migrate reads back into the same items."""

import json
import unicodedata
from pathlib import Path
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.dynamo import from_item
from chalicelib.settings import get_settings
from ops.export import export, read_json_lines
from ops.migration.run import migrate
from tests.event_counts import counted_events
from tests.integration.streams import REGION

KOREAN = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=12)
TEXT = st.one_of(KOREAN, st.text(alphabet="abc XYZ 0-9:", max_size=12))
DATES = st.dates().map(lambda d: d.isoformat()).filter(lambda d: len(d) == 10)


@st.composite
def legacy_data(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    names = draw(st.lists(KOREAN.filter(lambda s: s.strip()), min_size=1, max_size=4, unique=True))
    departments = [
        {
            "id": f"d{i}",
            "name": name,
            "description": draw(TEXT),
            "created_at": "2024-01-01T00:00:00Z",
        }
        for i, name in enumerate(names)
    ]
    events = []
    for i in range(draw(st.integers(0, 8))):
        event: dict[str, Any] = {
            "id": f"e{i}",
            "department_id": f"d{draw(st.integers(0, len(names) - 1))}",
            "event_date": draw(DATES),
            "title": draw(KOREAN.filter(lambda s: s.strip())),
        }
        if draw(st.booleans()):
            event["time"] = draw(TEXT)
        if draw(st.booleans()):
            event["description"] = draw(TEXT)
        events.append(event)
    return departments, events


# Where each event is counted is the app's own bookkeeping: the export carries the events, and
# the migration counts them on their department items (events_counted compares the counts).
COUNTER_PLACES = ("counted_in", "event_count")


def tables_content(client: Any) -> dict[str, list[dict[str, Any]]]:
    settings = get_settings()
    content = {}
    for table in (
        settings.departments_table,
        settings.events_table,
        settings.department_names_table,
    ):
        items = [
            {name: value for name, value in item.items() if name not in COUNTER_PLACES}
            for item in client.scan(TableName=table, ConsistentRead=True)["Items"]
        ]
        content[table] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return content


def events_counted(client: Any) -> dict[str, int]:
    """Each department's events as its counter counts them, wherever they are counted."""
    departments = client.scan(TableName="departments", ConsistentRead=True)["Items"]
    return {d["id"]["S"]: counted_events(client, d["id"]["S"]) for d in departments}


def quiet_migrate(client: Any, folder: Path) -> int:
    outcome = migrate(
        client,
        get_settings(),
        departments_path=folder / "departments.json",
        events_path=folder / "events.json",
        out=lambda line: None,
        progress=False,
    )
    return outcome.exit_code


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=legacy_data())
def test_export_then_migrate_into_empty_tables_gives_the_same_items(tmp_path, data):
    departments, events = data
    source, exported = tmp_path / "source", tmp_path / "exported"
    source.mkdir(exist_ok=True)
    (source / "departments.json").write_text(json.dumps(departments, ensure_ascii=False), "utf-8")
    (source / "events.json").write_text(json.dumps(events, ensure_ascii=False), "utf-8")
    # Given tables filled by a migration, then changed through another writer (a new version)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        assert quiet_migrate(client, source) == 0
        if events:
            client.update_item(
                TableName="events",
                Key={"id": {"S": "e0"}, "department_id": {"S": events[0]["department_id"]}},
                UpdateExpression="SET title = :t, version = :v, updated_by = :who",
                ExpressionAttributeValues={
                    ":t": {"S": "바뀐 제목"},
                    ":v": {"N": "2"},
                    ":who": {"S": "kim"},
                },
            )
        original, counted = tables_content(client), events_counted(client)
        # When they are exported
        done = export(client, get_settings(), exported, progress=False)
    assert (done.departments, done.events) == (len(departments), len(events))
    # Then migrating the export into empty tables gives back the same items, counted alike
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        assert quiet_migrate(client, exported) == 0
        assert tables_content(client) == original
        assert events_counted(client) == counted


def test_the_audit_log_is_exported_one_entry_per_line(api, tables, tmp_path):
    from tests.integration.streams import stream_records

    department = api.department(name="감사팀")
    api.event(department["id"], title="회의")
    api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
    api.client.lambda_.invoke(
        "on_department_change", {"Records": stream_records(tables, "departments")}
    )
    done = export(tables, get_settings(), tmp_path, progress=False)
    lines = (tmp_path / "audit.jsonl").read_text("utf-8").splitlines()
    assert done.audit_entries == len(lines) == 2
    entries = [json.loads(line) for line in lines]
    assert {e["entity_type"] for e in entries} == {"department", "event"}
    assert any(e.get("new_image", {}).get("title") == "회의" for e in entries)
    exported = json.loads((tmp_path / "events.json").read_text("utf-8"))["events"]
    assert exported[0]["title"] == "회의"
    assert (
        "event_count"
        not in json.loads((tmp_path / "departments.json").read_text("utf-8"))["departments"][0]
    )


# What str.splitlines() splits on besides \n and \r, next to text that must survive as it is:
# emoji (a ZWJ family: several code points), Korean written decomposed (NFD, as macOS files
# often hold it) and a line break where descriptions may have one.
SEPARATORS = ("\u2028", "\u2029", "\u0085")
NFD = unicodedata.normalize("NFD", "한글 자모")


def tricky(text: str) -> str:
    return f"{text} 줄\u2028바꿈 문단\u2029끝 다음\u0085줄 🎉👩‍👩‍👧 {NFD}"


def test_line_separators_emoji_and_nfd_korean_survive_export_and_migrate_byte_exact(tmp_path):
    departments = [
        {
            "id": "d1",
            "name": tricky("개발팀"),
            "description": tricky("설명") + "\r\n둘째 줄\t탭",
            "created_at": "2024-01-01T00:00:00Z",
        }
    ]
    events = [
        {
            "id": f"e{n}",
            "department_id": "d1",
            "event_date": "2024-01-25",
            "title": tricky(f"회의 {n}"),
            "time": "오후\u20283:00",
            "description": tricky("본문") + "\n끝",
        }
        for n in range(3)
    ]
    source, exported = tmp_path / "source", tmp_path / "exported"
    source.mkdir()
    # Legacy files as another tool may write them: the separators raw, not escaped
    (source / "departments.json").write_text(json.dumps(departments, ensure_ascii=False), "utf-8")
    (source / "events.json").write_text(json.dumps(events, ensure_ascii=False), "utf-8")
    assert "\u2028" in (source / "events.json").read_text("utf-8")
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        assert quiet_migrate(client, source) == 0
        original = tables_content(client)
        stored = {
            item["id"]["S"]: from_item(item) for item in original[get_settings().events_table]
        }
        done = export(client, get_settings(), exported, progress=False)
    assert (done.departments, done.events) == (1, 3)
    # Migrated byte for byte
    (department,) = original[get_settings().departments_table]
    assert department["name"]["S"].encode() == departments[0]["name"].encode()
    assert department["description"]["S"].encode() == departments[0]["description"].encode()
    for event in events:
        for field in ("title", "time", "description"):
            assert stored[event["id"]][field].encode() == event[field].encode()
    # Exported with the separators escaped: however a reader splits lines, nothing breaks
    for name in ("departments.json", "events.json"):
        text = (exported / name).read_text("utf-8")
        assert not any(separator in text for separator in SEPARATORS)
        assert "🎉👩‍👩‍👧" in text
        assert NFD in text
    exported_events = json.loads((exported / "events.json").read_text("utf-8"))["events"]
    assert {e["id"]: e["title"] for e in exported_events} == {e["id"]: e["title"] for e in events}
    # And migrated back into empty tables, byte-exact the same items
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        assert quiet_migrate(client, exported) == 0
        again = tables_content(client)
    assert again == original
    assert (
        json.dumps(again, ensure_ascii=False).encode()
        == json.dumps(original, ensure_ascii=False).encode()
    )


def test_json_lines_hold_one_item_per_line_whatever_the_text(api, tables, tmp_path):
    from tests.integration.streams import stream_records

    department = api.department(name=tricky("감사팀"), description=tricky("설명"))
    title = tricky("회의")
    api.event(department["id"], title=title, description=tricky("본문") + "\n둘째 줄")
    api.client.lambda_.invoke("on_event_change", {"Records": stream_records(tables, "events")})
    api.client.lambda_.invoke(
        "on_department_change", {"Records": stream_records(tables, "departments")}
    )
    done = export(tables, get_settings(), tmp_path, progress=False)
    for name, table, count in (
        ("audit.jsonl", get_settings().audit_table, done.audit_entries),
        ("notifications.jsonl", get_settings().notifications_table, done.notifications),
    ):
        path = tmp_path / name
        raw = path.read_bytes()
        assert not any(separator.encode() in raw for separator in SEPARATORS)
        # Even str.splitlines(), which splits on U+2028, U+2029 and U+0085, sees one item a line
        assert len(raw.decode("utf-8").splitlines()) == count > 0
        scanned = [
            from_item(item) for item in tables.scan(TableName=table, ConsistentRead=True)["Items"]
        ]
        entries = list(read_json_lines(path))
        key = lambda item: json.dumps(item, sort_keys=True)  # noqa: E731
        assert sorted(entries, key=key) == sorted(scanned, key=key)
    audit = list(read_json_lines(tmp_path / "audit.jsonl"))
    titles = [e["new_image"]["title"] for e in audit if "title" in e.get("new_image", {})]
    assert [t.encode() for t in titles] == [title.encode()]


def test_a_calendar_with_series_and_changed_occurrences_survives_export_and_migrate(
    api, tables, tmp_path
):
    # Given a department with a timed multi-day event, a weekly series in New York with an
    # exdate, and one occurrence of it moved
    department = api.department(name="해외영업팀")
    api.event(
        department["id"],
        event_date="2026-05-04",
        end_date="2026-05-06",
        start_time="09:00",
        end_time="18:00",
        title="전시회",
    )
    series = api.event(
        department["id"],
        event_date="2026-01-05",
        title="Weekly sync",
        start_time="09:00",
        timezone="America/New_York",
        recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=20",
        exdates=["2026-02-16"],
    )
    moved = api.patch(
        f"/api/events/{department['id']}/{series['id']}/occurrences/2026-03-09",
        {"start_time": "10:00"},
    )
    assert moved.status == 200
    year = f"/api/events/{department['id']}?from=2026-01-01&to=2026-12-31&limit=100"
    before = api.get(year).json
    original, counted = tables_content(tables), events_counted(tables)
    # When it is exported, the tables dropped, and the export migrated back
    export(tables, get_settings(), tmp_path, progress=False)
    for name in tables.list_tables()["TableNames"]:
        tables.delete_table(TableName=name)
    assert quiet_migrate(tables, tmp_path) == 0
    # Then the tables hold the same items (span index keys and series bookkeeping included),
    # and the year lists the same occurrences
    assert tables_content(tables) == original
    assert events_counted(tables) == counted
    assert api.get(year).json == before
    # (COUNT=20 less the exdate, the moved one among them, and the exhibition)
    assert len(before["items"]) == 19 + 1


def test_reminders_and_the_departments_default_survive_export_and_migrate(api, tables, tmp_path):
    # Given a department reminding its events an hour before, an event with its own reminder,
    # one with none, and one that keeps the default
    reply = api.post("/api/departments", {"name": "알림팀", "reminders": [60]})
    assert reply.status == 201, reply.json
    department = reply.json
    for title, reminders in (("자체 알림", [10, 30]), ("알림 없음", []), ("기본 알림", None)):
        body: dict[str, Any] = {"event_date": "2026-12-24", "title": title, "start_time": "18:00"}
        if reminders is not None:
            body["reminders"] = reminders
        assert api.post(f"/api/events/{department['id']}", body).status == 201
    original, counted = tables_content(tables), events_counted(tables)
    # When it is exported, the tables dropped, and the export migrated back
    export(tables, get_settings(), tmp_path, progress=False)
    for name in tables.list_tables()["TableNames"]:
        tables.delete_table(TableName=name)
    assert quiet_migrate(tables, tmp_path) == 0
    # Then the items are the same: [] stays [], and no reminders stays absent
    assert tables_content(tables) == original
    assert events_counted(tables) == counted
    events = {
        from_item(item)["title"]: from_item(item).get("reminders")
        for item in tables.scan(TableName="events")["Items"]
    }
    assert events == {"자체 알림": [10, 30], "알림 없음": [], "기본 알림": None}
