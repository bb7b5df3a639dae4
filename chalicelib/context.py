"""What a request needs, built once per Lambda container (or local process) and reused."""

import sys
from dataclasses import dataclass
from functools import cache

from chalicelib.dynamo import DynamoDBClient, make_client
from chalicelib.repositories.change_feed import ChangeFeed
from chalicelib.repositories.changes import ChangeRepository
from chalicelib.repositories.departments import DepartmentRepository
from chalicelib.repositories.events import EventRepository
from chalicelib.settings import Settings, get_settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    client: DynamoDBClient
    departments: DepartmentRepository
    events: EventRepository
    changes: ChangeRepository
    change_feed: ChangeFeed


@cache
def get_context() -> Context:
    settings = get_settings()
    client = make_client(settings)
    return Context(
        settings=settings,
        client=client,
        departments=DepartmentRepository(client, settings),
        events=EventRepository(client, settings),
        changes=ChangeRepository(client, settings),
        change_feed=ChangeFeed(client, settings.audit_table),
    )


def reset() -> None:
    """Forget settings and clients, e.g. after tests change the environment, the stream
    handlers' too when they have been loaded."""
    get_settings.cache_clear()
    get_context.cache_clear()
    handlers = sys.modules.get("chalicelib.streams.handlers")
    if handlers is not None:
        handlers.reset()
