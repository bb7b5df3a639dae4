"""The app's one composition root: what a request or a stream batch needs, built once per
Lambda container (or local process) and reused.

The API's dependencies are built on the first request. The stream pipelines and the delivery
dispatcher, and what only they use (the sinks, the webhook sender, an SNS client), are imported
and built on the first batch of their kind, so `import app` and the API's cold start never pay
for them.
"""

from dataclasses import replace
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import TYPE_CHECKING

from chalicelib.dynamo import DynamoDBClient, make_client
from chalicelib.settings import Settings, get_settings

if TYPE_CHECKING:
    from chalicelib.delivery.dispatcher import Dispatcher
    from chalicelib.repositories.change_feed import ChangeFeed
    from chalicelib.repositories.changes import ChangeRepository
    from chalicelib.repositories.departments import DepartmentRepository
    from chalicelib.repositories.events import EventRepository
    from chalicelib.repositories.subscriptions import SubscriptionRepository
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

    @cached_property
    def subscriptions(self) -> "SubscriptionRepository":
        from chalicelib.repositories.subscriptions import SubscriptionRepository

        return SubscriptionRepository(self.client, self.settings)


@cache
def get_context() -> Context:
    settings = get_settings()
    return Context(settings, make_client(settings))


@cache
def stream_pipeline(entity_type: str) -> "Pipeline":
    """The pipeline the stream handler of `entity_type` ("event", "department") runs: the
    audit log and the inbox. It sends nothing out; the inbox's own stream does (`dispatcher`)."""
    from chalicelib.streams.pipeline import Pipeline
    from chalicelib.streams.sinks import ChangeLog, Parking

    settings = get_settings()
    client = make_client(settings)
    return Pipeline(
        entity_type=entity_type,
        change_log=ChangeLog(client, settings),
        parking=Parking(client, settings),
    )


@cache
def dispatcher() -> "Dispatcher":
    """What the delivery functions run: the delivery log, the inbox, the subscriptions, and an
    SNS client when the stage names a topic."""
    import boto3

    from chalicelib.delivery.dispatcher import Dispatcher
    from chalicelib.dynamo import CLIENT_CONFIG
    from chalicelib.repositories.deliveries import DeliveryLog, Inbox
    from chalicelib.repositories.subscriptions import SubscriptionRepository

    settings = get_settings()
    client = make_client(settings)
    if settings.notify_webhook_secret_parameter:
        ssm = boto3.session.Session().client(
            "ssm", region_name=settings.region, config=CLIENT_CONFIG
        )
        parameter = ssm.get_parameter(
            Name=settings.notify_webhook_secret_parameter, WithDecryption=True
        )
        settings = replace(settings, notify_webhook_secret=parameter["Parameter"]["Value"])
    sns = None
    if settings.notify_sns_topic_arn:
        sns = boto3.session.Session().client(
            "sns", region_name=settings.region, config=CLIENT_CONFIG
        )
    return Dispatcher(
        DeliveryLog(client, settings),
        Inbox(client, settings),
        SubscriptionRepository(client, settings),
        settings,
        sns=sns,
        now=lambda: datetime.now(UTC),
    )


def reset() -> None:
    """Forget settings, clients and pipelines, e.g. after tests change the environment."""
    get_settings.cache_clear()
    get_context.cache_clear()
    stream_pipeline.cache_clear()
    dispatcher.cache_clear()
