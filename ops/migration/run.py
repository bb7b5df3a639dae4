"""The migration run: read, validate, write what is missing, verify, count, report.

Verification and counting read back only what proves the run's work, not every attribute:
per department, the keys and stamps (version, updated_at) of its events on the calendar index,
and which counter item counts each (`counted_in`). Every write sets a new stamp, so a stamp
that matches is the run's own write; whatever the index does not show (it lags the table for a
moment on DynamoDB) is confirmed with consistent reads of those keys alone.

The migration's events name no counter item: they are counted on the department item's own
`event_count`, which the run sets to the department's events that name none. Events created
through the API are counted on their counter items (repositories/event_counter.py) and stay
there, an overwritten one too: it keeps its `counted_in`.
"""

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clock import utc_now
from chalicelib.dynamo import DynamoDBClient, error_code
from chalicelib.models import department_name_key
from chalicelib.repositories.event_counter import COUNTED_IN, counted_in
from chalicelib.repositories.events import stored_event
from chalicelib.settings import Settings
from chalicelib.tables import table_definitions
from ops.create_tables import ensure_tables
from ops.export import json_line
from ops.migration.legacy import department_records, event_records
from ops.migration.records import (
    DepartmentRow,
    EventRow,
    History,
    Reject,
    validate_departments,
    validate_events,
)
from ops.migration.store import EventKey, MigrationStore

ACTOR = "migration"
# Runs this small print a line per item, as the original guide's script did.
PER_ITEM_LINES = 20
_KIND = {"department": "부서", "event": "일정"}

Out = Callable[[str], None]

# What a write changes on every event it writes: read back, they show whose write is there.
STAMP = ("version", "updated_at")
# What an overwrite keeps of the event it replaces: when and by whom it was created, its
# version (to bump it) and the counter item that counts it.
KEPT_ON_OVERWRITE = ("version", "created_at", "created_by", COUNTED_IN)


@dataclass
class Tally:
    migrated: int = 0
    present: int = 0
    rejected: int = 0


@dataclass
class Outcome:
    departments: Tally = field(default_factory=Tally)
    events: Tally = field(default_factory=Tally)
    rejects: list[Reject] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    # Events whose start time was read from their `time` text ("오후 3:00" → 15:00).
    times_derived: int = 0

    @property
    def exit_code(self) -> int:
        if self.mismatches:
            return 1
        return 2 if self.rejects else 0


def migrate(
    client: DynamoDBClient,
    settings: Settings,
    *,
    departments_path: Path | None,
    events_path: Path | None,
    dry_run: bool = False,
    overwrite: bool = False,
    rejects_path: Path | None = None,
    out: Out = print,
    progress: bool | None = None,
) -> Outcome:
    """Everything valid in the files ends up in the tables (verified); nothing is written twice.
    LegacyFileError (a file that cannot be read at all) is raised before anything is written."""
    department_sources = department_records(departments_path) if departments_path else []
    event_sources = event_records(events_path) if events_path else []
    department_rows, rejects = validate_departments(department_sources)
    event_rows, event_rejects = validate_events(event_sources)
    rejects += event_rejects

    outcome = Outcome(rejects=rejects)
    total = len(department_rows) + len(event_rows)
    out(f"🚀 마이그레이션 시작: 부서 {len(department_sources)}개, 일정 {len(event_sources)}개")
    if dry_run:
        out("🧪 드라이 런: 검사만 하고 아무것도 쓰지 않습니다.")
    else:
        ensure_tables(client, table_definitions(settings), _only_changes(out))
    run = _Run(
        MigrationStore(client, settings),
        outcome,
        out=out,
        dry_run=dry_run,
        overwrite=overwrite,
        total=total,
    )
    written_departments = run.departments(department_rows)
    _tally_line(outcome, "department", out, dry_run)
    known_departments = run.known_departments(event_rows, written_departments)
    written_events = run.events(event_rows, known_departments, _progress_bar(progress))
    _tally_line(outcome, "event", out, dry_run)
    if outcome.times_derived:
        derived = "시작 시각을 읽어 쓸 예정인" if dry_run else "시작 시각을 읽은"
        out(f"🕒 시간 글에서 {derived} 일정: {outcome.times_derived}개")
    if not dry_run:
        counts = run.verify(written_departments, written_events, department_rows, event_rows)
        run.recount(counts)
    _closing(outcome, out, dry_run, rejects_path)
    if rejects_path is not None:
        with rejects_path.open("w", encoding="utf-8") as file:
            for reject in outcome.rejects:
                file.write(json_line(reject.as_json()))
    return outcome


@dataclass
class _Counted:
    """A department's events as the verification found them, those its own `event_count`
    counts: the ones that name no counter item."""

    events: int  # all of them, the file's and any others
    from_files: int  # the files' events among them


class _Run:
    def __init__(
        self,
        store: MigrationStore,
        outcome: Outcome,
        *,
        out: Out,
        dry_run: bool,
        overwrite: bool,
        total: int,
    ) -> None:
        self.store = store
        self.settings = store.settings
        self.outcome = outcome
        self.out = out
        self.dry_run = dry_run
        self.overwrite = overwrite
        self.chatty = total <= PER_ITEM_LINES
        self.now = utc_now()
        # Each department's event counter as this run last read or wrote it (None: none yet):
        # the counter is set from the count only if it still holds this.
        self.counters: dict[str, int | None] = {}

    def departments(self, rows: list[DepartmentRow]) -> dict[str, dict[str, Any]]:
        """Write new departments (and, with --overwrite, changed ones). Returns what was
        written, by id. Names are claimed like the API claims them."""
        existing = self._existing_departments([row.id for row in rows])
        self._note_counters(existing)
        owners = self._name_owners(rows) if self.dry_run else {}
        jobs: list[tuple[DepartmentRow, dict[str, Any], dict[str, Any] | None]] = []
        for row in rows:
            current = existing.get(row.id)
            if current is not None and not self.overwrite:
                self.outcome.departments.present += 1
                self._item_line("•", "department", row.name, "이미 있음")
                continue
            jobs.append((row, self._department_item(row, current), current))
        if self.dry_run:
            holders = [_other(owners.get(row.name_key), row.id) for row, _, _ in jobs]
        else:
            # One transaction after another: they are few, and moto (the tests' DynamoDB) is
            # not safe with transactions in parallel.
            holders = [self.store.put_department(item, current) for _, item, current in jobs]
            # A department may have found its name still held by one that the file renames
            # later in the same run: once all others are written, try those again, in order.
            holders = [
                holder if holder is None else self.store.put_department(item, current)
                for (_, item, current), holder in zip(jobs, holders, strict=True)
            ]
        written: dict[str, dict[str, Any]] = {}
        for (row, item, _), holder in zip(jobs, holders, strict=True):
            if holder is not None:
                self._reject_name(row, holder)
                continue
            written[row.id] = item
            self.counters[row.id] = item["event_count"]
            self.outcome.departments.migrated += 1
            self._migrated_line("department", row.name)
        return written

    def known_departments(
        self, events: list[EventRow], written: dict[str, dict[str, Any]]
    ) -> set[str]:
        """Departments an event may belong to: written now, or already in the table."""
        wanted = {e.department_id for e in events} - set(written)
        found = self._existing_departments(sorted(wanted))
        self._note_counters(found)
        return set(written) | set(found)

    def events(
        self,
        rows: list[EventRow],
        departments: set[str],
        progress: Callable[[int], Any],
    ) -> dict[tuple[str, str], dict[str, Any]]:
        placed = []
        for row in rows:
            if row.department_id in departments:
                placed.append(row)
            else:
                self.outcome.rejects.append(
                    Reject(
                        "event",
                        row.where,
                        f"department_id: no department '{row.department_id}' in the file "
                        "or the table",
                        row.record,
                    )
                )
        # Only what an overwrite carries over (else the key alone): existence checks stay
        # small. Into an empty table, as a first migration goes, there is nothing to look for.
        existing = (
            {}
            if self._empty(self.settings.events_table)
            else self._existing_events(
                [(r.id, r.department_id) for r in placed],
                attributes=list(KEPT_ON_OVERWRITE) if self.overwrite else [],
            )
        )
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for row in placed:
            current = existing.get((row.id, row.department_id))
            if current is not None and not self.overwrite:
                self.outcome.events.present += 1
                self._item_line("•", "event", row.title, "이미 있음")
                continue
            items[(row.id, row.department_id)] = self._event_item(row, current)
            self._migrated_line("event", row.title)
        self.outcome.events.migrated = len(items)
        self.outcome.times_derived = sum(
            1 for row in placed if row.derived_time and (row.id, row.department_id) in items
        )
        if not self.dry_run and items:
            with progress(len(items)) as advance:
                self.store.put_many(self.settings.events_table, list(items.values()), advance)
        return items

    def verify(
        self,
        departments: dict[str, dict[str, Any]],
        events: dict[EventKey, dict[str, Any]],
        department_rows: list[DepartmentRow],
        event_rows: list[EventRow],
    ) -> dict[str, _Counted]:
        """Check that what the files hold is in the tables: departments and name claims whole,
        events by key and stamp (see the module's docstring). Returns, per department with
        events in the files, how many events the table holds for it that its own counter
        counts (those naming no counter item)."""
        self.out("🔍 마이그레이션 검증 중...")
        rejected = {(r.kind, r.where) for r in self.outcome.rejects}
        expected_departments = [
            r for r in department_rows if ("department", r.where) not in rejected
        ]
        expected_events = [r for r in event_rows if ("event", r.where) not in rejected]
        stored_departments = self._existing_departments([r.id for r in expected_departments])
        mismatches = self.outcome.mismatches
        for row in expected_departments:
            stored = stored_departments.get(row.id)
            if stored is None:
                mismatches.append(f"부서 '{row.name}' ({row.where})가 테이블에 없습니다")
            elif row.id in departments:
                mismatches += _differences(departments[row.id], stored, f"부서 '{row.name}'")
        claims = self.store.get_many(
            self.settings.department_names_table,
            ["name_key"],
            [(department_name_key(item["name"]),) for item in departments.values()],
        )
        for item in departments.values():
            claim = claims.get((department_name_key(item["name"]),))
            if claim is None or claim["department_id"] != item["id"]:
                mismatches.append(
                    f"부서 이름 '{item['name']}'이(가) 이 부서의 것으로 등록되지 않았습니다"
                )
        stored_events = self._stored_events(expected_events, events)
        for event in expected_events:
            key = (event.id, event.department_id)
            stored = stored_events[event.department_id].get(key)
            if stored is None:
                mismatches.append(f"일정 '{event.title}' ({event.where})이(가) 테이블에 없습니다")
            elif key in events:
                mismatches += _differences(_stamp_of(events[key]), stored, f"일정 '{event.title}'")
        if mismatches:
            for line in mismatches[:20]:
                self.out(f"✗ {line}")
        else:
            self.out(
                f"✅ 검증 완료: 부서 {len(expected_departments)}개, "
                f"일정 {len(expected_events)}개가 테이블에 있습니다."
            )
        from_files = Counter(
            event.department_id
            for event in expected_events
            if _counted_on_department(
                stored_events[event.department_id].get((event.id, event.department_id))
            )
        )
        return {
            department_id: _Counted(
                sum(1 for event in found.values() if _counted_on_department(event)),
                from_files[department_id],
            )
            for department_id, found in stored_events.items()
        }

    def _stored_events(
        self, expected: list[EventRow], written: dict[EventKey, dict[str, Any]]
    ) -> dict[str, dict[EventKey, dict[str, Any]]]:
        """Per department with events in the files: every event of it in the table, by key,
        with its stamp and `counted_in`. Read from the calendar index, then the keys it does not
        show as this run left them confirmed with consistent reads (the table wins)."""
        read_back = (*STAMP, COUNTED_IN)
        found = self.store.events_by_department(
            sorted({event.department_id for event in expected}), read_back
        )
        doubtful = [
            key
            for key in ((event.id, event.department_id) for event in expected)
            if key not in found[key[1]]
            or (key in written and _stamp_of(written[key]) != _stamp_of(found[key[1]][key]))
        ]
        if doubtful:
            confirmed = self._existing_events(doubtful, attributes=list(read_back))
            for key in doubtful:
                if key in confirmed:
                    found[key[1]][key] = confirmed[key]
                else:
                    found[key[1]].pop(key, None)
        return found

    def recount(self, counts: dict[str, _Counted]) -> None:
        """Each department with events in the files gets its own counter set to the events
        the verification found for it that name no counter item, unless the counter already
        says so (a rerun writes nothing). Also right after an earlier, interrupted run, whose
        count may never have happened. If the counter moved since this run read it (one of
        those events deleted through the API meanwhile), that department is counted again on
        the table."""

        def settle(department_id: str) -> None:
            counted = counts[department_id]
            before = self.counters.get(department_id)
            # Equal to the counter as read is not enough: an event deleted through the API since
            # the read moved the counter, and this run's new events can make up the difference.
            if before == counted.events and self.store.event_count(department_id) == before:
                return  # a rerun writes nothing
            if not self.store.set_event_count(department_id, counted.events, before):
                self.store.recount_events(department_id, at_least=counted.from_files)

        self.store.each(settle, sorted(counts))

    # items

    def _department_item(
        self, row: DepartmentRow, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "reminders": None if row.reminders is None else list(row.reminders),
            **self._stamps(row.created_at, row.history, current),
            "event_count": 0 if current is None else int(current.get("event_count", 0)),
        }

    def _event_item(self, row: EventRow, current: dict[str, Any] | None) -> dict[str, Any]:
        assert row.schedule is not None
        return stored_event(
            {
                "id": row.id,
                "department_id": row.department_id,
                "title": row.title,
                "time": row.time,
                "description": row.description,
                "reminders": None if row.reminders is None else list(row.reminders),
                **dict(row.occurrence),
                **self._stamps(row.created_at, row.history, current),
                **_counter_of(current),
            },
            row.schedule,
        )

    def _stamps(
        self, created_at: str | None, history: History, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Timestamps, version and actors. A new item keeps what the file says (an export
        carries all of it) and otherwise starts at version 1, created by `migration`; an
        overwrite keeps who and when created, and bumps the version."""
        if current is None:
            created = created_at or self.now
            return {
                "created_at": created,
                "updated_at": history.updated_at or created,
                "version": history.version or 1,
                "created_by": history.created_by or ACTOR,
                "updated_by": history.updated_by or history.created_by or ACTOR,
            }
        return {
            "created_at": created_at or current.get("created_at") or self.now,
            "updated_at": self.now,
            "version": int(current.get("version", 0)) + 1,
            "created_by": current.get("created_by", ACTOR),
            "updated_by": ACTOR,
        }

    def _note_counters(self, departments: dict[str, dict[str, Any]]) -> None:
        for department_id, item in departments.items():
            count = item.get("event_count")
            self.counters[department_id] = None if count is None else int(count)

    # reads that tolerate missing tables in a dry run

    def _empty(self, table: str) -> bool:
        try:
            return self.store.is_empty(table)
        except ClientError as error:
            if self.dry_run and error_code(error) == "ResourceNotFoundException":
                return True  # not created yet
            raise

    def _existing_departments(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        found = self._get(self.settings.departments_table, ["id"], [(i,) for i in ids])
        return {key[0]: item for key, item in found.items()}

    def _existing_events(
        self, keys: list[tuple[str, str]], attributes: list[str] | None = None
    ) -> dict[tuple[str, str], dict[str, Any]]:
        found = self._get(self.settings.events_table, ["id", "department_id"], keys, attributes)
        return {(key[0], key[1]): item for key, item in found.items()}

    def _name_owners(self, rows: list[DepartmentRow]) -> dict[str, str]:
        found = self._get(
            self.settings.department_names_table, ["name_key"], [(r.name_key,) for r in rows]
        )
        return {key[0]: str(item["department_id"]) for key, item in found.items()}

    def _get(
        self,
        table: str,
        key_names: list[str],
        keys: list[Any],
        attributes: list[str] | None = None,
    ) -> dict[tuple[str, ...], dict[str, Any]]:
        if not keys:
            return {}
        try:
            return self.store.get_many(table, key_names, keys, attributes)
        except ClientError as error:
            if self.dry_run and error_code(error) == "ResourceNotFoundException":
                return {}  # not created yet: a dry run treats it as empty
            raise

    # report

    def _reject_name(self, row: DepartmentRow, owner: str) -> None:
        self.outcome.rejects.append(
            Reject(
                "department",
                row.where,
                f"name: '{row.name}' is already used by department '{owner}'",
                row.record,
            )
        )

    def _item_line(self, mark: str, kind: str, name: str, what: str) -> None:
        if self.chatty:
            self.out(f"{mark} {_KIND[kind]} '{name}' {what}")

    def _migrated_line(self, kind: str, name: str) -> None:
        # A dry run writes nothing: it says what a real run would do.
        if self.dry_run:
            self._item_line("→", kind, name, "마이그레이션 예정")
        else:
            self._item_line("✓", kind, name, "마이그레이션 완료")


def _differences(written: dict[str, Any], stored: dict[str, Any], label: str) -> list[str]:
    return [
        f"{label}: {name}이(가) 다릅니다 (쓴 값 {written[name]!r}, 테이블 {stored.get(name)!r})"
        for name in written
        if name != "event_count" and stored.get(name) != written[name]
    ]


def _other(owner: str | None, department_id: str) -> str | None:
    return None if owner in (None, department_id) else owner


def _stamp_of(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in STAMP}


def _counter_of(current: dict[str, Any] | None) -> dict[str, Any]:
    """What an overwrite carries over of the counter item counting the event it replaces: an
    event created through the API stays counted there (its delete moves that item)."""
    counted = None if current is None else counted_in(current)
    return {} if counted is None else {COUNTED_IN: counted}


def _counted_on_department(event: dict[str, Any] | None) -> bool:
    """A stored event the department item's own counter counts: there, and naming no counter
    item."""
    return event is not None and counted_in(event) is None


def _tally_line(outcome: Outcome, kind: str, out: Out, dry_run: bool) -> None:
    tally = outcome.departments if kind == "department" else outcome.events
    tally.rejected = sum(1 for reject in outcome.rejects if reject.kind == kind)
    mark, verb = ("→", "마이그레이션 예정") if dry_run else ("✅", "마이그레이션 완료")
    out(
        f"{mark} {_KIND[kind]} 데이터 {verb}: {tally.migrated}개 "
        f"(이미 있음 {tally.present}개, 거부 {tally.rejected}개)"
    )


def _closing(outcome: Outcome, out: Out, dry_run: bool, rejects_path: Path | None) -> None:
    if outcome.rejects:
        where = f" — {rejects_path}에 기록했습니다" if rejects_path else ""
        out(f"⚠ 거부된 레코드 {len(outcome.rejects)}개{where}:")
        for reject in outcome.rejects[:PER_ITEM_LINES]:
            out(f"  ✗ {reject.where}: {reject.reason}")
        if len(outcome.rejects) > PER_ITEM_LINES:
            out(f"  … 외 {len(outcome.rejects) - PER_ITEM_LINES}개")
    if dry_run:
        out("🧪 드라이 런이었습니다: 아무것도 쓰지 않았습니다.")
    elif outcome.mismatches:
        out(f"✗ 검증 실패: {len(outcome.mismatches)}개가 파일과 다릅니다")


def _only_changes(out: Out) -> Callable[[str], None]:
    """create-tables lines, except the plain 'already exists' ones (the usual case)."""

    def report(line: str) -> None:
        if not line.endswith("테이블이 이미 존재합니다."):
            out(line)

    return report


def _progress_bar(enabled: bool | None) -> Callable[[int], Any]:
    """A progress bar on a terminal (tqdm), nothing otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty()

    @contextmanager
    def bar(total: int) -> Iterator[Callable[[int], None]]:
        if not enabled:
            yield lambda count: None
            return
        from tqdm import tqdm

        with tqdm(total=total, unit="일정", file=sys.stderr) as shown:

            def advance(count: int) -> None:
                shown.update(count)

            yield advance

    return bar
