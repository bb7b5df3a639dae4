"""One listing over a key spread across several partition key values (shards): each shard is
queried in the listing's order (newest first, or oldest first) and the shards are merged, so
the caller sees one partition.

The order is (sort key, tie key), where the tie key is the rest of the item's table key: two
items may share a sort key (two streams can stamp the same time and sequence number) but never
both. The page token is that pair for the last item handed out, which is every shard's
position at once, plus which shards have nothing left. It stays small however many shards
there are, and each shard resumes exactly where the page ended.
"""

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.dynamo import DynamoDBClient, from_item, storage_errors
from chalicelib.pagination import decode_token, encode_token, invalid_token
from chalicelib.repositories._common import each_in_parallel

_TOKEN_KEYS = frozenset({"after", "tie", "done"})


@dataclass(frozen=True)
class MergedKey:
    """Where the listing's items live: the table or index, its partition key attribute and the
    values it is spread over, and the attributes that order the items."""

    table: str
    index: str | None
    partition_key: str
    values: Sequence[str]
    sort_key: str
    tie_key: str
    consistent: bool = False  # strongly consistent reads: a table's, never an index's
    oldest_first: bool = False
    # No two items share a sort key: a shard's head is never tied with an item not fetched.
    unique_sort_key: bool = False


@dataclass
class _Shard:
    position: int
    value: str
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    start: dict[str, Any] | None = None  # DynamoDB's LastEvaluatedKey: where the next fetch goes on
    more: bool = True


def merged_page(
    client: DynamoDBClient,
    key: MergedKey,
    *,
    scope: str,
    limit: int,
    next_token: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the merged listing, and the token for the next (None after the last)."""
    cursor, done = _read_token(next_token, scope, len(key.values))
    reader = _Reader(client, key, cursor)
    shards = [
        _Shard(position, value)
        for position, value in enumerate(key.values)
        if not done & (1 << position)
    ]
    reader.fetch_all(shards, per_shard=min(limit, -(-limit // max(len(shards), 1))) + 1)
    page: list[dict[str, Any]] = []
    while len(page) < limit:
        item = reader.take(shards, limit - len(page) + 1)
        if item is None:
            break
        page.append(item)
    for shard in shards:
        reader.refill(shard, 1)  # a token must never lead to an empty page
        if not shard.buffer:
            done |= 1 << shard.position
    if not page or all(done & (1 << position) for position in range(len(key.values))):
        return page, None
    last = page[-1]
    return page, encode_token(
        scope,
        {"after": str(last[key.sort_key]), "tie": str(last[key.tie_key]), "done": f"{done:x}"},
    )


def merged_items(
    client: DynamoDBClient,
    key: MergedKey,
    *,
    after: tuple[str, str] | None = None,
    between: tuple[str, str] | None = None,
    per_shard: int,
) -> Iterator[dict[str, Any]]:
    """Every item of the merged listing past `after` (a sort key and tie key), with its sort
    key in `between` (first, last) if given, in order. Each shard is asked for `per_shard`
    items at a time, the first time all at once, then only as the caller reads on."""
    reader = _Reader(client, key, after, between)
    shards = [_Shard(position, value) for position, value in enumerate(key.values)]
    reader.fetch_all(shards, per_shard)
    while (item := reader.take(shards, per_shard)) is not None:
        yield item


class _Reader:
    def __init__(
        self,
        client: DynamoDBClient,
        key: MergedKey,
        cursor: tuple[str, str] | None,
        between: tuple[str, str] | None = None,
    ) -> None:
        self._client = client
        self._key = key
        self._cursor = cursor
        self._between = between

    def take(self, shards: list[_Shard], size: int) -> dict[str, Any] | None:
        """The next item in the listing's order (None: every shard is done); a shard that
        needs more to tell is asked for `size` items."""
        while True:
            for shard in shards:
                self.refill(shard, size)
            heads = [shard for shard in shards if shard.buffer]
            if not heads:
                return None
            first = self.first_of(heads)
            if self.may_tie_beyond(first):
                self.fetch(first, size)
                continue
            return first.buffer.popleft()

    def order(self, item: dict[str, Any]) -> tuple[str, str]:
        return str(item[self._key.sort_key]), str(item[self._key.tie_key])

    def first_of(self, shards: list[_Shard]) -> _Shard:
        choose = min if self._key.oldest_first else max
        return choose(shards, key=lambda shard: self.order(shard.buffer[0]))

    def past_cursor(self, item: dict[str, Any]) -> bool:
        cursor = self._cursor
        if cursor is None:
            return True
        return self.order(item) > cursor if self._key.oldest_first else self.order(item) < cursor

    def sort_range(self) -> tuple[str | None, str | None]:
        """The lowest and highest sort key a fetch may return (None: no bound)."""
        low, high = self._between or (None, None)
        if self._cursor is not None:
            reached = self._cursor[0]
            if self._key.oldest_first:
                low = reached if low is None else max(low, reached)
            else:
                high = reached if high is None else min(high, reached)
        return low, high

    def may_tie_beyond(self, shard: _Shard) -> bool:
        """Whether an item not fetched yet may share the shard's head's sort key: every item
        fetched shares it and there is more. DynamoDB does not order index items with equal
        sort keys, so those are all fetched and sorted here before the first is handed out."""
        if self._key.unique_sort_key:
            return False
        sort_key = self._key.sort_key
        return shard.more and shard.buffer[-1][sort_key] == shard.buffer[0][sort_key]

    def refill(self, shard: _Shard, limit: int) -> None:
        """Fetch until the shard has an item or is done. A resumed shard first reads again the
        items sharing the page token's sort key, which the cursor then drops."""
        while not shard.buffer and shard.more:
            self.fetch(shard, limit)

    def fetch_all(self, shards: list[_Shard], per_shard: int) -> None:
        """The first round: every shard asked for its share of the page and a little more, at
        once; a shard whose share runs out is asked again for what the page may still need."""
        each_in_parallel(lambda shard: self.fetch(shard, per_shard), shards)

    def fetch(self, shard: _Shard, limit: int) -> None:
        key = self._key
        condition = "#partition = :partition"
        names = {"#partition": key.partition_key}
        values: dict[str, Any] = {":partition": {"S": shard.value}}
        low, high = self.sort_range()
        if low is not None and high is not None and low > high:
            shard.more = False  # resumed past the end of the range
            return
        if low is not None or high is not None:
            names["#sort"] = key.sort_key
        if low is not None and high is not None:
            condition += " AND #sort BETWEEN :low AND :high"
        elif low is not None:
            condition += " AND #sort >= :low"
        elif high is not None:
            condition += " AND #sort <= :high"
        values.update(
            {
                f":{name}": {"S": bound}
                for name, bound in (("low", low), ("high", high))
                if bound is not None
            }
        )
        params: dict[str, Any] = {
            "TableName": key.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": key.oldest_first,
            "Limit": limit,
        }
        if key.index is not None:
            params["IndexName"] = key.index
        if key.consistent:
            params["ConsistentRead"] = True
        if shard.start is not None:
            params["ExclusiveStartKey"] = shard.start
        with storage_errors():
            response = self._client.query(**params)
        shard.start = response.get("LastEvaluatedKey")
        shard.more = shard.start is not None
        fetched = [from_item(item) for item in response.get("Items", [])]
        shard.buffer.extend(item for item in fetched if self.past_cursor(item))
        shard.buffer = deque(
            sorted(shard.buffer, key=self.order, reverse=not self._key.oldest_first)
        )


def _read_token(token: str | None, scope: str, shards: int) -> tuple[tuple[str, str] | None, int]:
    if token is None:
        return None, 0
    key = decode_token(token, scope, _TOKEN_KEYS)
    try:
        done = int(key["done"], 16)
    except ValueError:
        raise invalid_token() from None
    if not 0 <= done < (1 << shards):
        raise invalid_token()
    return (key["after"], key["tie"]), done
