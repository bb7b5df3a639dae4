"""Readiness: do the tables answer?"""

from chalicelib.dynamo import DynamoDBClient, storage_errors
from chalicelib.settings import Settings

_PROBE = "~health"


def check_tables(client: DynamoDBClient, settings: Settings) -> None:
    """One BatchGetItem of a key that never exists in each table: proves every table is there and
    readable for half a read unit each. Raises StorageUnavailable if not."""
    with storage_errors():
        client.batch_get_item(
            RequestItems={
                settings.departments_table: {"Keys": [{"id": {"S": _PROBE}}]},
                settings.events_table: {
                    "Keys": [{"id": {"S": _PROBE}, "department_id": {"S": _PROBE}}]
                },
                settings.department_names_table: {"Keys": [{"name_key": {"S": _PROBE}}]},
                settings.counters_table: {"Keys": [{"counter_key": {"S": _PROBE}}]},
            }
        )
