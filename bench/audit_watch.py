"""API writes on the local stack, and watching its audit log: when did each write's entry
first show?

A thread queries the audit table's date index on the stack's own DynamoDB and notes, for each
(event id, version) a write produced, when its entry was first read. Each query asks only for
entries after a cursor below every entry still wanted, so it returns the few in flight and the
polling stays small next to the work it watches.

An entry's change_key is its stream record's approximate creation time, then its sequence
number. DynamoDB Local rounds that time down to the minute, so time alone cannot tell recent
entries apart. But a write sent after another one was answered got a later sequence number,
so its change_key sorts after the other's: the cursor is the largest change_key among writes
answered before the oldest write not seen yet (or still in flight) was sent.
"""

import bisect
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.http_client import HttpClient
from bench.stacks import dynamodb_client

# Sorts before every change_key (an ISO time); DynamoDB refuses an empty string as a key value.
BEFORE_ALL = "0"
# Between two queries of the audit index: the resolution of the measurement, and its load.
POLL_PAUSE_SECONDS = 0.02

Key = tuple[str, int]  # (event id, version): what one write leaves in the audit log


@dataclass
class Writes:
    """What the writers did and the watcher saw. Thread-safe."""

    sent: dict[Key, float] = field(default_factory=dict)  # perf_counter when sent
    answered: dict[Key, float] = field(default_factory=dict)  # perf_counter when answered
    seen: dict[Key, tuple[float, str]] = field(default_factory=dict)  # first read, change_key
    unseen: set[Key] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_answer: float = 0.0
    # Writes in the order they were answered, and the cursor's progress along them.
    _order: list[Key] = field(default_factory=list)
    _answer_times: list[float] = field(default_factory=list)
    _settled: int = 0
    _cursor: str = BEFORE_ALL
    _in_flight: dict[int, float] = field(default_factory=dict)  # ticket → sent
    _tickets: int = 0

    def sending(self) -> int:
        """Just before a write is sent; returns the ticket to answer() it with."""
        with self.lock:
            self._tickets += 1
            self._in_flight[self._tickets] = time.perf_counter()
            return self._tickets

    def abandon(self, ticket: int) -> None:
        """The write failed: nothing to watch for."""
        with self.lock:
            self._in_flight.pop(ticket, None)

    def answer(self, ticket: int, key: Key) -> None:
        """The write of `ticket` has just been answered and left `key` to look for."""
        with self.lock:
            now = time.perf_counter()
            sent = self._in_flight.pop(ticket)
            self.last_answer = now
            index = bisect.bisect(self._answer_times, now)  # writers may report out of order
            self._answer_times.insert(index, now)
            self._order.insert(index, key)
            self.sent[key], self.answered[key] = sent, now
            if key not in self.seen:
                self.unseen.add(key)

    def see(self, key: Key, at: float, change_key: str) -> None:
        with self.lock:
            if key not in self.seen:
                self.seen[key] = (at, change_key)
                self.unseen.discard(key)

    def cursor(self) -> str | None:
        """Every entry still wanted sorts after this change_key (None: nothing is wanted)."""
        with self.lock:
            if not self.unseen:
                return None
            sent = [self.sent[key] for key in self.unseen]
            oldest = min(sent + list(self._in_flight.values()))
            # Writes answered before the oldest unseen one was sent: all seen, all earlier.
            # (`oldest` never decreases: a write sent later is sent after every answer so far.)
            while self._settled < len(self._order) and self._answer_times[self._settled] < oldest:
                change_key = self.seen[self._order[self._settled]][1]
                self._cursor = max(self._cursor, change_key)
                self._settled += 1
            return self._cursor

    def lags(self) -> list[float]:
        """Seconds from each write's answer to its entry's first reading, for those seen. An
        entry read a hair before its answer was (the consumer beat the client) counts as 0."""
        with self.lock:
            return [
                max(0.0, self.seen[key][0] - answered)
                for key, answered in self.answered.items()
                if key in self.seen
            ]

    def wait_until_seen(self, timeout: float) -> bool:
        """Until every answered write's entry has been seen (True) or `timeout` (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.unseen:
                    return True
            time.sleep(0.05)
        return False


class AuditWatcher(threading.Thread):
    """Polls until stop() while writes are unseen; idles otherwise."""

    def __init__(self, dynamodb_url: str, audit_table: str, writes: Writes) -> None:
        super().__init__(name="audit-watcher", daemon=True)
        self._client = dynamodb_client(dynamodb_url)
        self._table = audit_table
        self._writes = writes
        self._halt = threading.Event()
        self.cycles: list[float] = []  # seconds from one query's start to the next one's
        self.failure: BaseException | None = None

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)
        if self.failure is not None:
            raise RuntimeError(f"watching the audit table failed: {self.failure!r}")

    def run(self) -> None:
        try:
            self._watch()
        except BaseException as error:  # raised again by stop()
            self.failure = error

    def _watch(self) -> None:
        previous = None
        while not self._halt.is_set():
            cursor = self._writes.cursor()
            if cursor is None:
                previous = None
                self._halt.wait(POLL_PAUSE_SECONDS)
                continue
            started = time.perf_counter()
            if previous is not None:
                self.cycles.append(started - previous)
            previous = started
            self._poll(cursor)
            self._halt.wait(POLL_PAUSE_SECONDS)

    def _poll(self, cursor: str) -> None:
        """Entries after `cursor`, on each day from the cursor's (or yesterday) to today."""
        from chalicelib.tables import AUDIT_DATE_INDEX, audit_date_keys

        today = (datetime.now(UTC) + timedelta(seconds=1)).date()  # an entry may be ahead
        first = today - timedelta(days=1)
        if cursor != BEFORE_ALL:
            first = datetime.fromisoformat(cursor[:10]).date()
        dates = [first + timedelta(days=n) for n in range((today - first).days + 1)]
        asked = time.perf_counter()
        items: list[dict[str, Any]] = []
        day_keys = [key for date in dates for key in audit_date_keys(date.isoformat())]
        for day_key in day_keys:
            params: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": AUDIT_DATE_INDEX,
                "KeyConditionExpression": "#date = :date AND change_key > :cursor",
                "ExpressionAttributeNames": {"#date": "date", "#new": "new_image"},
                "ExpressionAttributeValues": {
                    ":date": {"S": day_key},
                    ":cursor": {"S": cursor},
                },
                "ProjectionExpression": "entity_id, change_key, #new.version",
            }
            while True:
                page = self._client.query(**params)
                items += page["Items"]
                if "LastEvaluatedKey" not in page:
                    break
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # The entry was there when the query read it: somewhere between asking and answering.
        at = (asked + time.perf_counter()) / 2
        for item in items:
            version = item.get("new_image", {}).get("M", {}).get("version", {}).get("N")
            if version is None:
                continue  # a deletion: no new image
            key = (item["entity_id"]["S"], int(version))
            self._writes.see(key, at, item["change_key"]["S"])


class EventWriter:
    """One keep-alive API client writing events into a department of its own: 2 writes in 5
    create an event, the others change one of its earlier events. Each write is registered
    with `writes` to be watched for."""

    def __init__(self, base_url: str, writes: Writes, name: str, seed: int = 20240120) -> None:
        self._client = HttpClient(base_url, keep_alive=True)
        self._writes = writes
        self._rng = random.Random(seed)
        status, department = self._client.json("POST", "/api/departments", {"name": name})
        if status != 201:
            raise RuntimeError(f"creating the department answered {status}: {department}")
        self._events_path = f"/api/events/{department['id']}"
        self._event_ids: list[str] = []

    def write(self, n: int) -> None:
        ticket = self._writes.sending()
        try:
            if not self._event_ids or n % 5 in (0, 3):
                body = {"event_date": f"2024-05-{n % 28 + 1:02d}", "title": f"일정 {n}"}
                status, event = self._client.json("POST", self._events_path, body)
                if status == 201:
                    self._event_ids.append(event["id"])
            else:
                target = self._rng.choice(self._event_ids)
                status, event = self._client.json(
                    "PATCH", f"{self._events_path}/{target}", {"description": f"변경 {n}"}
                )
            if status not in (200, 201):
                raise RuntimeError(f"write {n} answered {status}: {event}")
        except BaseException:
            self._writes.abandon(ticket)
            raise
        self._writes.answer(ticket, (event["id"], int(event["version"])))

    def close(self) -> None:
        self._client.close()


def audit_watcher(dynamodb_url: str, writes: Writes) -> AuditWatcher:
    """A watcher of the stack's audit table (the default table names, as the stack has them)."""
    from chalicelib.settings import Settings

    return AuditWatcher(dynamodb_url, Settings.from_environ().audit_table, writes)
