"""Writing and reading one day of the audit log, for the tests of the day listing on moto
(tests/integration/test_audit_by_day.py) and on DynamoDB Local (tests/e2e/test_local_stack.py)."""

from collections.abc import Callable
from typing import Any

from chalicelib.dynamo import to_item
from chalicelib.tables import audit_index_keys

AUDIT = "events-audit"
DAY = "2026-11-30"


def read_day(get: Callable[[str], Any], day: str, limit: int) -> tuple[list[tuple[str, str]], int]:
    """Every page of the day: (change_key order pairs of what came back, pages read)."""
    seen: list[tuple[str, str]] = []
    token, pages = None, 0
    while True:
        query = f"/api/audit?date={day}&limit={limit}" + (f"&next_token={token}" if token else "")
        reply = get(query)
        assert reply.status == 200, reply.json
        pages += 1
        for entry in reply.json["items"]:
            entity_key = _entity_key(entry)
            seen.append((f"{entry['at']}#{entry['sequence_number'].zfill(40)}", entity_key))
        token = reply.json["next_token"]
        if token is None:
            return seen, pages
        assert reply.json["items"], "a token must never lead to an empty page"


def _entity_key(entry: dict[str, Any]) -> str:
    if entry["entity_type"] == "event":
        return f"event#{entry['department_id']}#{entry['entity_id']}"
    return f"department#{entry['entity_id']}"


def put_entry(
    dynamodb: Any, entity: str, sequence: int, *, day: str = DAY, date: str | None = None
) -> None:
    """An entry as the stream handlers write it, for event `entity` of department `d`; `date`
    overrides the key it is filed under."""
    at = f"{day}T09:00:00.000Z"
    sequence_number = str(sequence).zfill(21)
    entity_key = f"event#d#{entity}"
    item = {
        "entity_key": entity_key,
        "change_key": f"{at}#{sequence_number.zfill(40)}",
        **audit_index_keys(entity_key, at, "event", "d"),
        **({"date": date} if date else {}),
        "entity_type": "event",
        "entity_id": entity,
        "department_id": "d",
        "action": "INSERT",
        "at": at,
        "sequence_number": sequence_number.zfill(40),
        "actor": "kim",
        "changes": {},
        "new_image": {"id": entity, "department_id": "d", "title": "회의"},
    }
    dynamodb.put_item(TableName=AUDIT, Item=to_item(item))


def expected(dynamodb: Any, day: str) -> list[tuple[str, str]]:
    pages = dynamodb.get_paginator("scan").paginate(TableName=AUDIT, ConsistentRead=True)
    items = [item for page in pages for item in page["Items"]]
    keys = [
        (i["change_key"]["S"], i["entity_key"]["S"]) for i in items if i["date"]["S"][:10] == day
    ]
    return sorted(keys, reverse=True)
