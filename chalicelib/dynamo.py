"""The DynamoDB client, item conversion and the mapping of AWS failures to domain errors.

Only the repositories use this module; nothing above them sees boto3 types.
"""

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import StorageUnavailable
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    TypedItem = Mapping[str, AttributeValueTypeDef]
else:
    DynamoDBClient = Any
    TypedItem = Mapping[str, Any]

__all__ = [
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "DynamoDBClient",
    "TypedItem",
    "batch_get",
    "batch_write",
    "cancellation_codes",
    "error_code",
    "failed_conditions",
    "from_item",
    "is_throttling",
    "make_client",
    "storage_errors",
    "to_item",
    "to_value",
    "transact_write",
]

# Bounded retries with the standard mode's backoff: a throttled call is retried a few times
# and then surfaces as a 503, instead of holding a Lambda (and its caller) for long.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
)

_CONFLICT_ATTEMPTS = 8
_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
_UNAVAILABLE = frozenset({"InternalServerError", "ServiceUnavailable", "ResourceInUseException"})
# Why DynamoDB cancels a transaction, per item: the reasons callers can explain (a condition,
# another transaction), those that say an item was throttled, and those that say the request
# itself is wrong (a bug here: raised as it came, so it shows as one).
_CONDITION_FAILED = "ConditionalCheckFailed"
_CANCELLED_BY_WRITES = frozenset({"None", _CONDITION_FAILED, "TransactionConflict"})
_THROTTLED_ITEM = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
_INVALID_ITEM = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})


def make_client(settings: Settings) -> DynamoDBClient:
    """A DynamoDB client; the endpoint is whatever boto3 resolves (AWS_ENDPOINT_URL_DYNAMODB)."""
    return boto3.session.Session().client(
        "dynamodb", region_name=settings.region, config=CLIENT_CONFIG
    )


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values (str, int, bool) → a typed DynamoDB item. None values are left out."""
    item: dict[str, Any] = {}
    for name, value in values.items():
        if value is not None:
            item[name] = to_value(value)
    return item


def to_value(value: Any) -> dict[str, Any]:
    """A plain JSON-like value → a typed attribute value (maps and lists nest)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_value(v) for v in value]}
    raise TypeError(f"unsupported attribute value {value!r}")


def from_item(item: TypedItem) -> dict[str, Any]:
    """A typed DynamoDB item → plain values; numbers become int (this app stores no fractions)."""
    return {name: _plain(value) for name, value in item.items()}


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


# Items written by other tools may hold any type; this app itself writes S, N and BOOL.
_PLAIN: dict[str, Callable[[Any], Any]] = {
    "S": str,
    "N": _number,
    "BOOL": bool,
    "NULL": lambda _: None,
    "L": lambda values: [_plain(v) for v in values],
    "M": lambda values: {k: _plain(v) for k, v in values.items()},
    "SS": sorted,
    "NS": lambda values: sorted(_number(n) for n in values),
    # Binary arrives base64-encoded in stream records and stays that way: plain JSON text.
    "B": str,
    "BS": sorted,
}


def _plain(value: Mapping[str, Any]) -> Any:
    ((kind, inner),) = value.items()
    return _PLAIN[kind](inner)


def transact_write(client: DynamoDBClient, items: list[dict[str, Any]]) -> list[str] | None:
    """Run a write transaction. None when it committed, else each item's cancellation code,
    in the order of `items`, with at least one ConditionalCheckFailed among them: callers ask
    `failed_conditions` which of their items was refused and explain that.

    Transactions that touch the same item at the same moment cancel each other with
    TransactionConflict; those are retried here with jittered backoff. A cancellation that no
    condition explains is DynamoDB's, not the caller's: an item throttled (ThrottlingError,
    ProvisionedThroughputExceeded), conflicts that went on, or reasons that name no item or
    none DynamoDB documents are StorageUnavailable. A malformed item (ValidationError, …) is
    raised as it came.
    """
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            return None
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(error)
            if _THROTTLED_ITEM.intersection(codes):
                raise StorageUnavailable(
                    "The database is busy; try again shortly.", retry_after_seconds=2
                ) from error
            if _INVALID_ITEM.intersection(codes):
                raise
            if not _explains_each_item(codes, len(items)):
                raise StorageUnavailable(
                    "The database cancelled the change without saying why; try again shortly."
                ) from error
            if "TransactionConflict" in codes and attempt < _CONFLICT_ATTEMPTS - 1:
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
                continue
            if _CONDITION_FAILED not in codes:
                raise StorageUnavailable(
                    "Too many simultaneous changes to the same item; try again."
                ) from error
            return codes
    raise AssertionError("unreachable")


def _explains_each_item(codes: Sequence[str], item_count: int) -> bool:
    """One reason per item, each one a caller can act on. Reasons that do not line up with
    the items (none at all, as some emulators answer) or that no DynamoDB documents (an
    emulator failing inside) say nothing about a condition; read as a failed one, they would
    tell the client, say, that its department does not exist."""
    return len(codes) == item_count and _CANCELLED_BY_WRITES.issuperset(codes)


BATCH_WRITE_LIMIT = 25


BATCH_GET_LIMIT = 100


def batch_write(
    client: DynamoDBClient,
    request_items: Mapping[str, list[Any]],
    *,
    attempts: int = 8,
    sleep: Callable[[float], None] = time.sleep,
    max_pause: float = 2.0,
) -> bool:
    """One BatchWriteItem (up to 25 requests, any tables), retried until everything is written:
    UnprocessedItems and throttling errors are tried again after an exponentially growing,
    fully jittered pause, so throttled writers spread out instead of hammering the table.
    True when all was written within `attempts`; other errors are raised."""

    def write(pending: Mapping[str, Any]) -> Mapping[str, Any]:
        return client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    return _until_processed(write, request_items, attempts, sleep, max_pause)


def batch_get(
    client: DynamoDBClient,
    table: str,
    keys: Sequence[Mapping[str, Any]],
    *,
    attempts: int = 8,
    sleep: Callable[[float], None] = time.sleep,
    max_pause: float = 2.0,
) -> list[dict[str, Any]]:
    """The items of up to 100 `keys` (typed) of one table, read consistently, in no particular
    order; keys with no item are left out. UnprocessedKeys are read again the way batch_write
    writes again; StorageUnavailable when some are still unread after `attempts`."""
    found: list[dict[str, Any]] = []

    def read(pending: Mapping[str, Any]) -> Mapping[str, Any]:
        response = client.batch_get_item(RequestItems=pending)
        found.extend(response.get("Responses", {}).get(table, []))
        return response.get("UnprocessedKeys") or {}

    request = {table: {"Keys": list(keys), "ConsistentRead": True}}
    if keys and not _until_processed(read, request, attempts, sleep, max_pause):
        raise StorageUnavailable("DynamoDB kept some reads unprocessed; try again.")
    return found


def _until_processed(
    send: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    request: Mapping[str, Any],
    attempts: int,
    sleep: Callable[[float], None],
    max_pause: float,
) -> bool:
    """`send` a batch request, then what it answers as unprocessed, until nothing is left:
    after an exponentially growing, fully jittered pause, and after throttling errors too.
    False when something is still left after `attempts`; other errors are raised."""
    pending = request
    for attempt in range(attempts):
        try:
            pending = send(pending)
        except ClientError as error:
            if not is_throttling(error):
                raise
        if not pending:
            return True
        sleep(random.uniform(0, min(max_pause, 0.05 * 2**attempt)))
    return False


def is_throttling(error: ClientError) -> bool:
    return error_code(error) in _THROTTLED


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def cancellation_codes(error: ClientError) -> list[str]:
    """Per-item reason codes of a cancelled transaction ('None' for items that were fine)."""
    reasons = error.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


def failed_conditions(codes: Sequence[str]) -> frozenset[int]:
    """Which items of a cancelled transaction were refused by their own condition, by their
    position in the transaction: the one question a caller needs answered to explain it."""
    return frozenset(i for i, code in enumerate(codes) if code == _CONDITION_FAILED)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn DynamoDB being unavailable into StorageUnavailable (503): throttled, a table
    missing, an operation it does not have, unreachable, or answering with a 5xx under any
    error code. Other errors (a failed condition the caller did not catch, a malformed
    request) pass through."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in _THROTTLED:
            raise StorageUnavailable(
                "The database is busy; try again shortly.", retry_after_seconds=2
            ) from error
        if code == "ResourceNotFoundException":
            raise StorageUnavailable(
                "A table is missing: run `python manage.py create-tables`.", retry_after_seconds=30
            ) from error
        if code == "UnknownOperationException":
            # An emulator without an operation the app needs (dynalite has no transactions):
            # no retry helps, the deployment must point at another DynamoDB.
            raise StorageUnavailable(
                f"This DynamoDB does not support {error.operation_name}: run the API on AWS "
                "DynamoDB or DynamoDB Local.",
                retry_after_seconds=3600,
            ) from error
        if code in _UNAVAILABLE or _is_server_error(error):
            raise StorageUnavailable("The database is unavailable; try again shortly.") from error
        raise
    except BotoCoreError as error:
        # Connection failures, timeouts, missing credentials: DynamoDB could not answer. A write
        # may or may not have happened, so the caller is told to retry rather than given a 500.
        raise StorageUnavailable("The database cannot be reached; try again shortly.") from error


def _is_server_error(error: ClientError) -> bool:
    """The endpoint answered 5xx: its own failure, whatever code it gave (InternalServerError,
    or one no DynamoDB documents, as an emulator or a proxy in front of it may send). botocore
    has already retried it; the client should too, later, rather than see a 500 of ours."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return int(status) >= 500


def query_items(client: DynamoDBClient, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, page after page, as plain values."""
    request = dict(params)
    while True:
        with storage_errors():
            response = client.query(**request)
        for item in response.get("Items", []):
            yield from_item(item)
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
