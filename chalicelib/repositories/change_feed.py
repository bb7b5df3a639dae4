"""A department's change feed: the current state once, then only what changed since, from the
audit log the stream handlers write (the sync-token pattern of Google Calendar and Graph).

A department's event entries are listed under a few `feed_key` values (tables.FEED_SHARDS), so
a busy department's changes do not all land on one index key; each read asks every one of them
and puts the entries in `change_key` order.

Audit entries sort by when DynamoDB made the change (`change_key`), but they are written by the
stream handlers a moment later, and with several stream shards not necessarily in that order:
an entry may land after a later one was already handed out. So each read looks back a window
before the token's position, and the token remembers which entries of that window it has
delivered (a short hash each): a late entry is delivered once, a known one never again.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import epoch_timestamp, timestamp
from chalicelib.dynamo import DynamoDBClient, query_items, to_item
from chalicelib.errors import FieldProblem, InvalidRequest, SyncTokenExpired
from chalicelib.models import Event, EventChange
from chalicelib.repositories._common import each_in_parallel
from chalicelib.tables import AUDIT_FEED_INDEX, feed_keys

# How late an audit entry may land and still be delivered; DynamoDB Local also rounds change
# times down to the minute, which this covers.
LOOK_BACK = timedelta(minutes=5)
# A token older than this is refused with 410: the client reads the state again.
TOKEN_LIFETIME = timedelta(days=7)
# Changes per answer; the token continues after the last one, so nothing is skipped.
MAX_CHANGES = 500
# Delivered entries a token remembers; a department busier than this within LOOK_BACK gets a
# shorter look-back instead of an ever-growing token.
MAX_REMEMBERED = 200
_HASH_BYTES = 6
# Tokens are checked, not secret: a forged one could only re-read changes its holder may read.
_TOKEN_KEY = b"department-calendar change feed"
# 2: read from the feed index. A token of format 1 (the index keyed by department_id) may sit
# before entries the feed index never got; its holder reads the events again (410).
_FORMAT = 2


@dataclass(frozen=True)
class _Position:
    department_id: str
    after: str  # the last delivered change_key (or the moment of the first read)
    floor: str  # entries at or before this were handled; never look back past it
    seen: frozenset[str]  # hashes of the delivered entries after `after` - LOOK_BACK
    issued: float


class ChangeFeed:
    def __init__(
        self,
        client: DynamoDBClient,
        audit_table: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._audit = audit_table
        self._clock = clock

    def first_token(self, department_id: str) -> str:
        """The token for a client that has just read the current state: the entries already
        in the look-back window are known, whatever lands later is new."""
        now = epoch_timestamp(self._clock())
        known = self._entries(department_id, _minus(now, LOOK_BACK))
        position = _Position(department_id, now, "", frozenset(), self._clock())
        return self._token(_advanced(position, known, delivered=known))

    def changes_since(self, department_id: str, token: str) -> tuple[list[EventChange], str]:
        position = self._position(department_id, token)
        start = max(_minus(position.after, LOOK_BACK), position.floor)
        entries = self._entries(department_id, start)
        fresh = [e for e in entries if _short_hash(e["change_key"]) not in position.seen]
        fresh = fresh[:MAX_CHANGES]
        return _coalesced(fresh), self._token(_advanced(position, entries, delivered=fresh))

    def _entries(self, department_id: str, after: str) -> list[dict[str, Any]]:
        """The department's event entries with change_key after `after`, oldest first."""
        listed = each_in_parallel(
            lambda key: self._entries_under(key, after), feed_keys(department_id)
        )
        return sorted((entry for entries in listed for entry in entries), key=_order)

    def _entries_under(self, feed_key: str, after: str) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "TableName": self._audit,
            "IndexName": AUDIT_FEED_INDEX,
            "KeyConditionExpression": "feed_key = :key AND change_key > :after",
            "ExpressionAttributeValues": to_item({":key": feed_key, ":after": after}),
        }
        return list(query_items(self._client, params))

    def _token(self, position: _Position) -> str:
        payload = json.dumps(
            {
                "f": _FORMAT,
                "d": position.department_id,
                "a": position.after,
                "l": position.floor,
                "s": sorted(position.seen),
                "t": int(position.issued),
            },
            separators=(",", ":"),
        ).encode()
        mac = hmac.new(_TOKEN_KEY, payload, hashlib.sha256).digest()[:8]
        return _b64(payload) + "." + _b64(mac)

    def _position(self, department_id: str, token: str) -> _Position:
        try:
            body, mac = token.split(".")
            payload = _unb64(body)
            expected = hmac.new(_TOKEN_KEY, payload, hashlib.sha256).digest()[:8]
            if not hmac.compare_digest(expected, _unb64(mac)):
                raise ValueError("altered")
            data = json.loads(payload)
            position = _Position(
                str(data["d"]),
                str(data["a"]),
                str(data["l"]),
                frozenset(str(h) for h in data["s"]),
                float(data["t"]),
            )
            token_format = data["f"]
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
            raise InvalidRequest(
                "since is not a sync_token this feed gave; start without it.",
                fields=(FieldProblem("since", "is not a sync_token of this feed"),),
            ) from None
        if token_format != _FORMAT:
            raise SyncTokenExpired(
                "This sync_token is from an earlier feed: read the events again."
            )
        if position.department_id != department_id:
            raise SyncTokenExpired("This sync_token belongs to another department: start over.")
        if self._clock() - position.issued > TOKEN_LIFETIME.total_seconds():
            raise SyncTokenExpired("This sync_token is too old: read the events again.")
        return position


def _advanced(
    position: _Position, entries: list[dict[str, Any]], *, delivered: list[dict[str, Any]]
) -> _Position:
    """The position after `delivered` (a prefix of the new entries among `entries`)."""
    after = max([position.after, *(e["change_key"] for e in delivered)])
    window = _minus(after, LOOK_BACK)
    handled = {e["change_key"] for e in delivered}
    known = {e["change_key"] for e in entries if _short_hash(e["change_key"]) in position.seen}
    remembered = sorted(k for k in handled | known if k > window)
    floor = position.floor
    if len(remembered) > MAX_REMEMBERED:
        floor = remembered[-MAX_REMEMBERED - 1]
        remembered = remembered[-MAX_REMEMBERED:]
    return _Position(
        position.department_id,
        after,
        floor,
        frozenset(_short_hash(k) for k in remembered),
        position.issued,
    )


def _coalesced(entries: list[dict[str, Any]]) -> list[EventChange]:
    """One change per event: its last, in the order of those last changes."""
    last: dict[str, dict[str, Any]] = {}
    for entry in entries:
        last.pop(entry["entity_id"], None)
        last[entry["entity_id"]] = entry
    changes = []
    for event_id, entry in last.items():
        if entry["action"] == "REMOVE":
            changes.append(EventChange(type="deleted", id=event_id, event=None))
        else:
            kind = "created" if entry["action"] == "INSERT" else "changed"
            event = Event.model_validate(entry["new_image"])
            changes.append(EventChange(type=kind, id=event_id, event=event))
    return changes


def _order(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["change_key"], entry["entity_key"]


def _short_hash(change_key: str) -> str:
    return _b64(hashlib.sha256(change_key.encode()).digest()[:_HASH_BYTES])


def _minus(change_key: str, span: timedelta) -> str:
    """The change_key prefix `span` before the time at the start of `change_key`."""
    moment = datetime.fromisoformat(change_key.split("#", 1)[0].replace("Z", "+00:00"))
    return timestamp(moment - span)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
