"""The app's one composition root: what a request or a stream batch needs, built once per
Lambda container (or local process) and reused.

The API's dependencies are built on the first request. The stream pipelines, and what only
they use (the sinks, the notification channels, an SNS client), are imported and built on the
first batch of their kind, so `import app` and the API's cold start never pay for them.
"""

from functools import cache, cached_property
from typing import TYPE_CHECKING

from chalicelib.dynamo import DynamoDBClient, make_client
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.repositories.change_feed import ChangeFeed
    from chalicelib.repositories.changes import ChangeRepository
    from chalicelib.repositories.departments import DepartmentRepository
    from chalicelib.repositories.events import EventRepository
    from chalicelib.streams.pipeline import Pipeline


class Context:
    """The settings and the DynamoDB client, and each repository built on its first use: the
    repositories bring the models, and with them pydantic, which a health check or a
    preflight never needs."""

    def __init__(self, settings: Settings, client: DynamoDBClient) -> None:
        self.settings = settings
        self.client = client

    @cached_property
    def departments(self) -> "DepartmentRepository":
        from chalicelib.repositories.departments import DepartmentRepository

        return DepartmentRepository(self.client, self.settings)

    @cached_property
    def events(self) -> "EventRepository":
        from chalicelib.repositories.events import EventRepository

        return EventRepository(self.client, self.settings)

    @cached_property
    def changes(self) -> "ChangeRepository":
        from chalicelib.repositories.changes import ChangeRepository

        return ChangeRepository(self.client, self.settings)

    @cached_property
    def change_feed(self) -> "ChangeFeed":
        from chalicelib.repositories.change_feed import ChangeFeed

        return ChangeFeed(self.client, self.settings.audit_table)


@cache
def get_context() -> Context:
    settings = get_settings()
    return Context(settings, make_client(settings))


@cache
def stream_pipeline(entity_type: str) -> "Pipeline":
    """The pipeline the stream handler of `entity_type` ("event", "department") runs, wired to
    DynamoDB and to the configured notification channels."""
    import boto3

    from chalicelib.dynamo import CLIENT_CONFIG
    from chalicelib.streams.channels import Channel, SnsChannel, WebhookChannel
    from chalicelib.streams.pipeline import Pipeline
    from chalicelib.streams.sinks import ChangeLog, Deliveries, Parking

    settings = get_settings()
    client = make_client(settings)
    channels: list[Channel] = []
    if settings.notify_sns_topic_arn:
        sns = boto3.session.Session().client(
            "sns", region_name=settings.region, config=CLIENT_CONFIG
        )
        channels.append(SnsChannel(sns, settings.notify_sns_topic_arn))
    if settings.notify_webhook_url:
        channels.append(WebhookChannel(settings.notify_webhook_url))
    return Pipeline(
        entity_type=entity_type,
        change_log=ChangeLog(client, settings),
        parking=Parking(client, settings),
        deliveries=Deliveries(client, settings, channels),
    )


def reset() -> None:
    """Forget settings, clients and pipelines, e.g. after tests change the environment."""
    get_settings.cache_clear()
    get_context.cache_clear()
    stream_pipeline.cache_clear()
