"""What a deploy finishes once the new functions are in: event changes an earlier version's
handler wrote without a `feed_key` during the last hour are listed in their department's feed."""

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.clock import timestamp
from chalicelib.dynamo import from_item, to_item
from chalicelib.repositories.change_feed import ChangeFeed
from chalicelib.settings import get_settings
from chalicelib.tables import audit_date_key, audit_index_keys
from ops.deploy.replaced import list_recent_changes_in_feed

NOW = datetime(2026, 11, 30, 0, 20, tzinfo=UTC)  # an hour back is the day before


def put_entry(
    tables: Any, at: datetime, entity_id: str, *, entity_type: str = "event", listed: bool = False
) -> dict[str, str]:
    """An entry as a handler writes it; `listed`: as this version's (with its feed_key)."""
    when = timestamp(at)
    entity_key = f"event#d#{entity_id}" if entity_type == "event" else f"department#{entity_id}"
    keys = {"entity_key": entity_key, "change_key": f"{when}#{entity_id:0>40}"}
    listing = audit_index_keys(entity_key, when, entity_type, "d")
    item = {
        **keys,
        "date": audit_date_key(when[:10], entity_key),
        **({"feed_key": listing["feed_key"]} if listed and "feed_key" in listing else {}),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "department_id": "d",
        "action": "REMOVE",
        "at": when,
    }
    tables.put_item(TableName="events-audit", Item=to_item(item))
    return keys


def stored(tables: Any, keys: dict[str, str]) -> dict[str, Any]:
    return from_item(tables.get_item(TableName="events-audit", Key=to_item(keys))["Item"])


def test_the_last_hours_event_changes_get_their_feed_key_and_reach_a_synced_client(tables):
    settings = get_settings()
    # Given a client that synced from the new version, and then changes written by an earlier
    # version's handler: two in the last hour (one the day before), one two hours ago
    synced_at = (NOW - timedelta(minutes=50)).timestamp
    feed = ChangeFeed(tables, settings.audit_table, synced_at)
    token = feed.first_token("d")
    recent = put_entry(tables, NOW - timedelta(minutes=10), "late-1")
    yesterday = put_entry(tables, NOW - timedelta(minutes=40), "late-2")
    old = put_entry(tables, NOW - timedelta(hours=2), "old")
    # and a department's own change and one already listed by the new version
    rename = put_entry(tables, NOW - timedelta(minutes=5), "d", entity_type="department")
    listed = put_entry(tables, NOW - timedelta(minutes=3), "new", listed=True)
    assert [c.id for c in feed.changes_since("d", token)[0]] == ["new"]
    # When the deploy finishes
    count = list_recent_changes_in_feed(tables, settings, NOW)
    # Then the two recent event changes got the key this version gives them
    assert count == 2
    for keys in (recent, yesterday):
        entry = stored(tables, keys)
        expected = audit_index_keys(entry["entity_key"], entry["at"], "event", "d")["feed_key"]
        assert entry["feed_key"] == expected
    assert "feed_key" not in stored(tables, old)
    assert "feed_key" not in stored(tables, rename)
    assert stored(tables, listed)["feed_key"]
    # And the client gets them, in order; a second run finds nothing to do
    assert [c.id for c in feed.changes_since("d", token)[0]] == ["late-2", "late-1", "new"]
    assert list_recent_changes_in_feed(tables, settings, NOW) == 0
