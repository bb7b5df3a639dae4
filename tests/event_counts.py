"""A department's event counter as the tables hold it: the department item's own count (events
made before the counter was spread) and its counter items' (repositories/event_counter.py)."""

from typing import Any

from chalicelib.repositories.event_counter import EventCounter
from chalicelib.settings import get_settings
from chalicelib.tables import COUNTER_SHARDS, spread_keys

COUNTERS = "events-counters"


def counter_items(tables: Any, department_id: str) -> dict[str, int]:
    """The department's counter items that exist, and what each counts."""
    found = {}
    for key in spread_keys(department_id, COUNTER_SHARDS):
        item = tables.get_item(TableName=COUNTERS, Key={"counter_key": {"S": key}}).get("Item")
        if item is not None:
            found[key] = int(item["event_count"]["N"])
    return found


def own_count(tables: Any, department_id: str) -> int:
    item = tables.get_item(TableName="departments", Key={"id": {"S": department_id}})["Item"]
    return int(item.get("event_count", {"N": "0"})["N"])


def counted_events(tables: Any, department_id: str) -> int:
    """Every event the department's counter counts, wherever it is counted."""
    return own_count(tables, department_id) + sum(counter_items(tables, department_id).values())


def open_every_counter_item(tables: Any, department_id: str) -> None:
    """Make each of the department's counter items, as its first events on each would: for a
    test whose create must be refused by nothing but what it is about."""
    counter = EventCounter(tables, get_settings())
    for number in range(COUNTER_SHARDS):
        assert counter.open(department_id, number)
