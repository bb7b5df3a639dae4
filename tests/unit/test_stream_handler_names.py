"""The stream handlers are named once, on the table definitions; app.py's functions (Chalice
needs them as module attributes) and the stage config must match those names."""

from chalice.app import DynamoDBEventConfig, ScheduledEventConfig

import app
from chalicelib.settings import get_settings
from chalicelib.tables import stream_handlers
from ops.deploy.stage import STAGES, load_config
from ops.stream_consumer import table_of


def test_the_app_registers_one_handler_per_streamed_table_under_its_declared_name():
    # Given the tables whose streams the app consumes, by handler
    declared = stream_handlers(get_settings())
    # When the app's DynamoDB event sources are listed
    registered = {
        source.name: table_of(source.stream_arn)
        for source in app.app.event_sources
        if isinstance(source, DynamoDBEventConfig)
    }
    # Then each declared handler is registered on its own table's stream, and no other
    assert registered == {handler: table.name for handler, table in declared.items()}
    assert all(callable(getattr(app, handler)) for handler in declared)


def test_every_stage_configures_each_declared_handler_and_each_schedule():
    # Given the stage config's per-function settings (policy file, timeout)
    config = load_config()
    declared = set(stream_handlers(get_settings()))
    scheduled = {
        source.name for source in app.app.event_sources if isinstance(source, ScheduledEventConfig)
    }
    assert scheduled == {"deliver_due", "send_reminders", "send_digest"}
    for stage in STAGES:
        # When the functions it configures are listed
        configured = set(config["stages"][stage].get("lambda_functions", {}))
        # Then they are the declared handlers and the scheduled functions
        assert configured == declared | scheduled, stage
