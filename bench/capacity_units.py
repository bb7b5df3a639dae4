"""DynamoDB's capacity rules, applied to the items a request really reads or writes.

The units are computed here from the items themselves, by the rules DynamoDB documents
("DynamoDB item sizes and formats", "Read/write capacity mode"), not taken from
ReturnConsumedCapacity: moto does not report it, and DynamoDB Local only estimates it.

- An item's size is the sum, over its attributes, of the name's UTF-8 bytes and the value's
  size: a string its UTF-8 bytes; a number 1 byte per two significant digits (rounded up) plus
  1; binary its raw bytes; a boolean or null 1; a list or map 3 bytes plus, per element, its
  size plus 1 (a map's element includes its name); a set the sum of its elements.
- A write costs ceil(size / 1 KB) write units (at least 1) on the table, and the same on each
  global secondary index whose key attributes the item has (every index here projects ALL).
  A put or update is charged for the larger of the item before and after; a delete for the
  item it removes. A change of an index's key is two index writes: the old entry removed, the
  new one added. A failed condition costs the existing item's size (at least 1) on the table.
- A read costs ceil(bytes / 4 KB) read units (at least 1), halved when eventually consistent;
  a Query or Scan adds up the sizes of every item it read (before any filter or projection).
- Transactions cost double, per item. Index writes caused by a transactional item are charged
  as standard writes: the index is kept up outside the transaction.
- BatchWriteItem and BatchGetItem are charged per item, as the single requests would be.
"""

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.tables import Index, TableDefinition

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
TRANSACTION_FACTOR = 2

Kind = Literal["read", "write"]
Item = Mapping[str, Any]  # a typed DynamoDB item: name → {"S": …} and so on


@dataclass(frozen=True)
class Charge:
    """Units one request costs on one partition key value of a table or one of its indexes."""

    table: str  # the table's role in tables.py ("events", "audit", …)
    index: str | None  # None: the table itself
    key: str | None  # the partition key value; None for a Scan (no one value)
    kind: Kind
    units: float


def number_size(text: str) -> int:
    """Bytes DynamoDB counts for a number: 1 per two significant digits, rounded up, plus 1."""
    mantissa = re.split("[eE]", text.strip())[0].lstrip("+-").replace(".", "")
    significant = mantissa.strip("0")
    return math.ceil(max(1, len(significant)) / 2) + 1


def _binary_size(value: bytes | bytearray | str) -> int:
    # boto3 hands binary values over decoded; a str here is already base64 text.
    return len(value) if isinstance(value, bytes | bytearray) else len(value.encode("utf-8"))


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes one typed attribute value takes, without its name."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "N":
        return number_size(str(inner))
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(member).encode("utf-8")) for member in inner)
    if kind == "NS":
        return sum(number_size(str(member)) for member in inner)
    if kind == "BS":
        return sum(_binary_size(member) for member in inner)
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in inner)
    if kind == "M":
        return 3 + sum(
            len(name.encode("utf-8")) + value_size(element) + 1 for name, element in inner.items()
        )
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Item | None) -> int:
    """Bytes DynamoDB counts for an item (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def key_text(item: Item | None, attribute: str) -> str | None:
    """The value of a key attribute (every key of this project is a string), or None."""
    value = (item or {}).get(attribute)
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    ((_, inner),) = value.items()
    return str(inner)


def primary_key(definition: TableDefinition, item: Item) -> dict[str, Any]:
    """The typed primary key of `item` (for reading it back)."""
    names = [definition.partition_key, *([definition.sort_key] if definition.sort_key else [])]
    return {name: item[name] for name in names}


def _index_entry(index: Index, item: Item | None) -> tuple[str, str | None] | None:
    """The item's key on the index, or None when the item is not on it (a sparse index)."""
    partition = key_text(item, index.partition_key)
    if partition is None:
        return None
    if index.sort_key is None:
        return partition, None
    sort = key_text(item, index.sort_key)
    return None if sort is None else (partition, sort)


def index_writes(role: str, index: Index, before: Item | None, after: Item | None) -> list[Charge]:
    """What writing `after` over `before` costs on one index."""
    old, new = _index_entry(index, before), _index_entry(index, after)
    if old is None and new is None:
        return []
    if old is not None and old == new:
        if before == after:
            return []  # nothing the index holds has changed
        size = max(item_size(before), item_size(after))
        return [Charge(role, index.name, old[0], "write", write_units(size))]
    charges = []
    if old is not None:  # removed from the index, or moved to another key
        charges.append(Charge(role, index.name, old[0], "write", write_units(item_size(before))))
    if new is not None:
        charges.append(Charge(role, index.name, new[0], "write", write_units(item_size(after))))
    return charges


def item_write(
    definition: TableDefinition,
    before: Item | None,
    after: Item | None,
    *,
    transactional: bool = False,
) -> list[Charge]:
    """A write that left `after` where `before` was (None: no item)."""
    factor = TRANSACTION_FACTOR if transactional else 1
    size = max(item_size(before), item_size(after))
    key = key_text(after, definition.partition_key) or key_text(before, definition.partition_key)
    charges = [Charge(definition.role, None, key, "write", write_units(size) * factor)]
    for index in definition.indexes:
        charges += index_writes(definition.role, index, before, after)
    return charges


def refused_write(
    definition: TableDefinition, before: Item | None, key: Item, *, transactional: bool = False
) -> list[Charge]:
    """A write whose condition failed: the existing item's size, on the table only."""
    factor = TRANSACTION_FACTOR if transactional else 1
    units = write_units(item_size(before)) * factor
    return [Charge(definition.role, None, key_text(key, definition.partition_key), "write", units)]


def items_read(
    role: str,
    index: str | None,
    key: str | None,
    items: Iterable[Item | None],
    *,
    consistent: bool,
    transactional: bool = False,
) -> Charge:
    """One Query or Scan page (or one GetItem): the sizes of every item read, added up."""
    size = sum(item_size(item) for item in items)
    factor = TRANSACTION_FACTOR if transactional else 1
    return Charge(role, index, key, "read", read_units(size, consistent=consistent) * factor)


_EQUALITY = re.compile(r"([#\w.]+)\s*=\s*(:\w+)")


def queried_partition(params: Mapping[str, Any], partition_key: str) -> str | None:
    """The partition key value a Query's KeyConditionExpression names."""
    names: Mapping[str, str] = params.get("ExpressionAttributeNames") or {}
    values: Mapping[str, Any] = params.get("ExpressionAttributeValues") or {}
    condition = str(params.get("KeyConditionExpression") or "")
    for name, placeholder in _EQUALITY.findall(condition):
        if names.get(name, name) == partition_key and placeholder in values:
            return key_text({"v": values[placeholder]}, "v")
    return None


def key_condition_only(params: Mapping[str, Any]) -> dict[str, Any]:
    """A Query or Scan as DynamoDB reads it: the same pages without the filter, projection or
    COUNT, which change what comes back but not what is read (and so not what is charged)."""
    dropped = {"FilterExpression", "ProjectionExpression", "Select", "ReturnConsumedCapacity"}
    kept = {name: value for name, value in params.items() if name not in dropped}
    used = str(params.get("KeyConditionExpression") or "")
    for field, mark in (("ExpressionAttributeNames", "#"), ("ExpressionAttributeValues", ":")):
        referenced = {
            token: value
            for token, value in (params.get(field) or {}).items()
            if token.startswith(mark) and re.search(re.escape(token) + r"\b", used)
        }
        if referenced:
            kept[field] = referenced
        else:
            kept.pop(field, None)
    return kept


def written_keys(
    definitions: Mapping[str, TableDefinition], operation: str, params: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Every (table name, typed key) a write request may change, in request order."""
    if operation == "PutItem":
        definition = definitions[params["TableName"]]
        return [(params["TableName"], primary_key(definition, params["Item"]))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], dict(params["Key"]))]
    if operation == "BatchWriteItem":
        return [
            (table, _batch_key(definitions[table], request))
            for table, requests in params["RequestItems"].items()
            for request in requests
        ]
    if operation == "TransactWriteItems":
        return [_transact_key(definitions, entry) for entry in params["TransactItems"]]
    return []


def _batch_key(definition: TableDefinition, request: Mapping[str, Any]) -> dict[str, Any]:
    if "PutRequest" in request:
        return primary_key(definition, request["PutRequest"]["Item"])
    return dict(request["DeleteRequest"]["Key"])


def _transact_key(
    definitions: Mapping[str, TableDefinition], entry: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    ((action, request),) = entry.items()
    table = request["TableName"]
    if action == "Put":
        return table, primary_key(definitions[table], request["Item"])
    return table, dict(request["Key"])


def transact_actions(params: Mapping[str, Any]) -> Sequence[str]:
    """ "Put", "Update", "Delete" or "ConditionCheck", per transaction item."""
    return [next(iter(entry)) for entry in params["TransactItems"]]
