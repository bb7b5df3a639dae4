"""Times as the project stores them: one format, one source.

Every stored time is ISO 8601 UTC with milliseconds, e.g. 2024-01-20T06:00:00.000Z, so times
sort as text (sort keys, change keys). Repositories take a `Clock` so tests can fix the time;
everything else calls `utc_now`.
"""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], str]


def timestamp(moment: datetime) -> str:
    """An aware datetime in the stored format."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_timestamp(epoch: float) -> str:
    """Seconds since the epoch (as DynamoDB Streams dates records) in the stored format."""
    return timestamp(datetime.fromtimestamp(epoch, UTC))


def utc_now() -> str:
    return timestamp(datetime.now(UTC))
