"""Several batches of one shard at once, as Lambda runs them under a ParallelizationFactor.

Lambda keeps the records of one item (partition and sort key) in order, in one of the shard's
concurrent streams of batches; records of different items run side by side, in any
interleaving. Here the shard's records (moto keeps one shard per stream) are split that way and
handed to the registered handlers on threads of their own, each held inside its handler until
every batch has got there, so they really overlap. The DynamoDB clients are the ones the app
builds, each given botocore hooks (to hold a batch, or to answer one request with an error in
DynamoDB's place); nothing of the app is stood in for.
"""

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from chalicelib import context
from chalicelib.dynamo import from_item, make_client
from tests.conftest import Api, reset_caches
from tests.integration.streams import Webhook, scan_all, stream_records
from tests.lambda_events import lambda_context

AUDIT = "events-audit"
INBOX = "events-notifications"
DELIVERIES = "events-deliveries"
# Written by the API just before it deletes an event: housekeeping, with no entry of its own.
DELETION_STAMP = ("deleted_by", "deleted_at")
# How long a batch waits inside its handler for the others; only a broken test waits this long.
RENDEZVOUS_SECONDS = 10

# In one process the batches share Powertools' metric set (on Lambda each batch has an execution
# environment of its own): the first to finish publishes the others' metrics with its own, and
# they find nothing left to publish.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

Record = dict[str, Any]
Answer = tuple[AWSResponse, dict[str, Any]]


class AtOnce:
    """Runs batches through a registered stream handler, each on a thread of its own, and holds
    each one inside the handler at its first call of `operation` until all have got there: from
    then on they run side by side. `answer`, when set, may answer a DynamoDB call in DynamoDB's
    place (botocore's before-call hook, as its Stubber does)."""

    def __init__(self) -> None:
        self.answer: Callable[[str, dict[str, Any]], Answer | None] | None = None
        self._batch = threading.local()
        self._rendezvous = threading.Barrier(1)
        self._operation = ""
        self._met = 0
        self._lock = threading.Lock()

    def watch(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self._before_call)

    def run(
        self, handler: str, batches: list[list[Record]], operation: str = "BatchWriteItem"
    ) -> list[dict[str, Any]]:
        """Each batch's response, in the order of `batches`."""
        self._rendezvous = threading.Barrier(len(batches), timeout=RENDEZVOUS_SECONDS)
        self._operation = operation
        self._met = 0
        from app import app

        registered = app.handler_map[handler]
        with ThreadPoolExecutor(max_workers=len(batches)) as pool:
            futures = [pool.submit(self._invoke, registered, handler, batch) for batch in batches]
            responses = [future.result() for future in futures]
        assert self._met == len(batches), "the batches did not all overlap inside the handler"
        return responses

    def _invoke(
        self, registered: Callable[..., dict[str, Any]], handler: str, batch: list[Record]
    ) -> dict[str, Any]:
        """What Lambda does for one batch: the handler, with the records and a context."""
        self._batch.waiting = True
        try:
            return registered({"Records": batch}, lambda_context(handler))
        finally:
            self._batch.waiting = False

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Answer | None:
        if getattr(self._batch, "waiting", False) and model.name == self._operation:
            self._batch.waiting = False
            self._rendezvous.wait()
            with self._lock:
                self._met += 1
        return None if self.answer is None else self.answer(model.name, params)


@pytest.fixture
def at_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> AtOnce:
    """Every DynamoDB client the app builds from here on is watched by one AtOnce."""
    runner = AtOnce()

    def watched(settings: Any) -> Any:
        client = make_client(settings)
        runner.watch(client)
        return client

    monkeypatch.setattr(context, "make_client", watched)
    context.reset()
    return runner


# --- The changes and the shard ------------------------------------------------------------


def interleaved_changes(api: Api, department_id: str) -> None:
    """Three events, each created and changed twice, round by round; the second is then
    deleted."""
    events = [
        api.event(department_id, title=title, time="오후 3:00") for title in ("가", "나", "다")
    ]
    paths = [f"/api/events/{department_id}/{event['id']}" for event in events]
    for path in paths:
        assert api.patch(path, {"time": "오후 4:00"}).status == 200
    for path, event in zip(paths, events, strict=True):
        assert api.patch(path, {"title": f"{event['title']} (변경)"}).status == 200
    assert api.delete(paths[1]).status == 204


def item_of(record: Record) -> str:
    return json.dumps(record["dynamodb"]["Keys"], sort_keys=True)


def per_item(records: list[Record]) -> list[list[Record]]:
    """The shard's records as Lambda splits them under a parallelization factor: all records of
    an item in one batch, in order; here each item has a batch of its own."""
    batches: dict[str, list[Record]] = {}
    for record in records:
        batches.setdefault(item_of(record), []).append(record)
    return list(batches.values())


def sequence(record: Record) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def failures(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def without_stamp(image: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in image.items() if name not in DELETION_STAMP}


def is_deletion_stamp(record: Record) -> bool:
    stream = record["dynamodb"]
    if record["eventName"] != "MODIFY":
        return False
    old, new = from_item(stream["OldImage"]), from_item(stream["NewImage"])
    return old != new and without_stamp(old) == without_stamp(new)


def changes_people_made(batch: list[Record]) -> list[str]:
    """The sequence numbers of the item's changes, in order: every record but the stamp."""
    return [sequence(record) for record in batch if not is_deletion_stamp(record)]


def audit_entries(tables: Any) -> list[dict[str, Any]]:
    return [from_item(item) for item in scan_all(tables, AUDIT)]


def notifications(tables: Any) -> list[dict[str, Any]]:
    return [from_item(item) for item in scan_all(tables, INBOX)]


def entries_of(entries: list[dict[str, Any]], batch: list[Record]) -> list[dict[str, Any]]:
    """The item's entries in change order (the order its history is read in)."""
    keys = json.loads(item_of(batch[0]))
    mine = [e for e in entries if e["entity_id"] == keys["id"]["S"]]
    return sorted(mine, key=lambda entry: entry["change_key"])


def assert_history_in_change_order(tables: Any, batch: list[Record]) -> None:
    """One entry per change of the item, in the order the changes were made, each entry
    starting from the image the one before it left (the deletion stamp aside)."""
    entries = entries_of(audit_entries(tables), batch)
    assert [e["sequence_number"] for e in entries] == changes_people_made(batch)
    for before, entry in pairwise(entries):
        assert entry["old_image"] is not None
        assert without_stamp(entry["old_image"]) == before["new_image"]


# --- The audit handler ----------------------------------------------------------------------


@pytest.fixture
def shard(api: Api, tables: Any, at_once: AtOnce) -> list[list[Record]]:
    """The events shard after interleaved_changes, split per item."""
    department = api.department()
    interleaved_changes(api, department["id"])
    batches = per_item(stream_records(tables, "events"))
    # 나 has, after its three changes, the deletion stamp and the removal
    assert [len(batch) for batch in batches] == [3, 5, 3]
    return batches


def test_each_change_has_one_entry_in_change_order_when_items_run_in_parallel(
    tables, at_once, shard
):
    # When the three items' batches run through the handler at the same time
    responses = at_once.run("on_event_change", shard)
    # Then every batch succeeded
    assert [failures(response) for response in responses] == [[], [], []]
    # And every change has exactly one entry: per item in change order, each starting where
    # the one before it ended
    for batch in shard:
        assert_history_in_change_order(tables, batch)
    assert len(audit_entries(tables)) == sum(len(changes_people_made(b)) for b in shard)


def test_the_inbox_gets_one_notification_per_visible_change_when_items_run_in_parallel(
    tables, at_once, shard
):
    at_once.run("on_event_change", shard)
    # Every change here shows (a time, a title, a cancellation): one notification each, none
    # twice, each item's in change order
    inbox = notifications(tables)
    told = Counter(n["sequence_number"] for n in inbox)
    assert all(count == 1 for count in told.values())
    assert set(told) == {seq for batch in shard for seq in changes_people_made(batch)}
    for batch in shard:
        event_id = json.loads(item_of(batch[0]))["id"]["S"]
        mine = sorted(
            (n for n in inbox if n["event_id"] == event_id), key=lambda n: n["change_key"]
        )
        assert [n["sequence_number"] for n in mine] == changes_people_made(batch)
    kinds = Counter(n["kind"] for n in inbox)
    assert kinds == {"created": 3, "updated": 6, "cancelled": 1}


def test_running_the_parallel_batches_again_changes_nothing(tables, at_once, shard):
    # Given the batches handled once, side by side
    at_once.run("on_event_change", shard)
    before = (scan_all(tables, AUDIT), scan_all(tables, INBOX))
    # When Lambda hands them over again, side by side again (a retry)
    responses = at_once.run("on_event_change", list(reversed(shard)))
    # Then nothing failed and the audit log and inbox hold the same items, no more
    assert [failures(response) for response in responses] == [[], [], []]
    assert (scan_all(tables, AUDIT), scan_all(tables, INBOX)) == before


class Outage:
    """DynamoDB answering 500 to the BatchWriteItem that carries the audit entry of one
    record, while `on`: a transient failure in the middle of one batch, which the other
    batches never meet."""

    def __init__(self, record: Record) -> None:
        self.on = True
        self.refused = 0
        self._sequence = sequence(record)

    def __call__(self, operation: str, params: dict[str, Any]) -> Answer | None:
        if not self.on or operation != "BatchWriteItem":
            return None
        puts = json.loads(params["body"])["RequestItems"].get(AUDIT, [])
        carried = {put["PutRequest"]["Item"]["sequence_number"]["S"] for put in puts}
        if self._sequence not in carried:
            return None
        self.refused += 1
        error = {"Code": "InternalServerError", "Message": "Internal server error"}
        return AWSResponse(params["url"], 500, HTTPHeaders(), None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }


def long_and_short_items(api: Api, department_id: str) -> None:
    """Two events whose changes interleave: the first created and changed thirteen times (more
    than one BatchWriteItem holds: 25 items, and each change has an entry and a notification),
    the second created and changed twice."""
    long = api.event(department_id, title="긴 일정")
    short = api.event(department_id, title="짧은 일정")
    for change in range(1, 14):
        path = f"/api/events/{department_id}/{long['id']}"
        assert api.patch(path, {"description": f"{change}번째 변경"}).status == 200
        if change in (5, 10):
            path = f"/api/events/{department_id}/{short['id']}"
            assert api.patch(path, {"description": f"{change}번째 뒤에"}).status == 200


def fully_written(tables: Any, record: Record) -> bool:
    """Both the record's audit entry and its notification are in their tables."""
    seq = sequence(record)
    return any(e["sequence_number"] == seq for e in audit_entries(tables)) and any(
        n["sequence_number"] == seq for n in notifications(tables)
    )


def test_a_later_record_failing_is_reported_with_every_record_after_it_and_retried_in_order(
    api, tables, at_once
):
    # Given two items of one shard, the first with a long batch whose last record's audit
    # entry DynamoDB refuses for now
    department = api.department()
    long_and_short_items(api, department["id"])
    long, short = per_item(stream_records(tables, "events"))
    assert (len(long), len(short)) == (14, 3)
    outage = Outage(long[-1])
    at_once.answer = outage
    # When both batches run at the same time
    failed, completed = at_once.run("on_event_change", [long, short])
    # Then the short batch completed
    assert outage.refused == 1
    assert failures(completed) == []
    assert_history_in_change_order(tables, short)
    # And the long batch reports, in order, the first record whose effects did not all land,
    # the refused one among them, and every record after it; the records before it landed
    first_missing = next(i for i, r in enumerate(long) if not fully_written(tables, r))
    assert 0 < first_missing < len(long)
    assert failures(failed) == [sequence(r) for r in long[first_missing:]]
    assert sequence(long[-1]) in failures(failed)
    # When the outage is over and Lambda resumes the item from the lowest failed record
    outage.on = False
    resumed = min(failures(failed), key=int)
    retry = [r for r in long if int(sequence(r)) >= int(resumed)]
    (response,) = at_once.run("on_event_change", [retry])
    # Then the item's history is complete and in change order, each change once
    assert failures(response) == []
    assert_history_in_change_order(tables, long)
    assert len(audit_entries(tables)) == len(long) + len(short)
    assert len(notifications(tables)) == len(long) + len(short)


# --- The delivery handler -----------------------------------------------------------------


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Webhook, Webhook]]:
    """(a subscriber's receiver, the stage's configured webhook), both on loopback."""
    with Webhook() as subscriber, Webhook() as configured:
        monkeypatch.setenv("NOTIFY_WEBHOOK_URL", configured.url)
        monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "true")
        reset_caches()
        yield subscriber, configured


def inbox_filled(api: Api, tables: Any, department_id: str) -> list[Record]:
    """The inbox's new-notification records after interleaved_changes went through the audit
    handler (in one batch)."""
    interleaved_changes(api, department_id)
    response = api.client.lambda_.invoke(
        "on_event_change", {"Records": stream_records(tables, "events")}
    ).payload
    assert failures(response) == []
    return [r for r in stream_records(tables, INBOX) if r["eventName"] == "INSERT"]


def test_parallel_inbox_batches_open_one_delivery_per_target_and_send_each_once(
    api, tables, at_once, receivers
):
    subscriber, configured = receivers
    # Given a department with a subscriber, on a stage that also has a configured webhook,
    # and ten notifications in its inbox
    department = api.department()
    reply = api.post(f"/api/departments/{department['id']}/subscriptions", {"url": subscriber.url})
    assert reply.status == 201, reply.json
    subscription_id = reply.json["id"]
    inbox = inbox_filled(api, tables, department["id"])
    assert len(inbox) == 10
    pings = len(subscriber.calls)
    # When two batches of different notifications run through the handler at the same time,
    # both inside it before either opens a delivery
    batches = [inbox[0::2], inbox[1::2]]
    responses = at_once.run("on_notification", batches, operation="PutItem")
    # Then both succeeded, with exactly one delivery per (target, notification), delivered on
    # the first attempt
    assert [failures(response) for response in responses] == [[], []]
    keys = [from_item(r["dynamodb"]["Keys"])["change_key"] for r in inbox]
    targets = [subscription_id, f"config:webhook#{department['id']}"]
    deliveries = [from_item(item) for item in scan_all(tables, DELIVERIES)]
    assert Counter((d["target"], d["notification_key"]) for d in deliveries) == Counter(
        (target, key) for target in targets for key in keys
    )
    assert {(d["status"], d["attempts"]) for d in deliveries} == {("delivered", 1)}
    # And each receiver got each notification once
    sent = subscriber.calls[pings:]
    assert sorted(headers["webhook-id"] for _, headers in sent) == sorted(
        d["webhook_id"] for d in deliveries if d["target"] == subscription_id
    )
    told = Counter(json.loads(raw)["notification"]["change_key"] for raw, _ in configured.calls)
    assert told == Counter(keys)
    # And when Lambda hands both batches over again, side by side, nothing is sent twice
    logged = scan_all(tables, DELIVERIES)
    again = at_once.run("on_notification", list(reversed(batches)), operation="PutItem")
    assert [failures(response) for response in again] == [[], []]
    assert len(subscriber.calls) == pings + len(keys)
    assert len(configured.calls) == len(keys)
    assert scan_all(tables, DELIVERIES) == logged
