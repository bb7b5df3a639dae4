"""chalicelib/context.py builds what the API and the stream handlers need, once, with one reset."""

from chalicelib import context
from chalicelib.streams.channels import WebhookChannel


def test_each_stream_pipeline_is_built_once_and_forgotten_on_reset():
    # Given the event stream's pipeline, built on a first batch
    first = context.stream_pipeline("event")
    # When it is asked for again, and again after a reset
    again = context.stream_pipeline("event")
    context.reset()
    rebuilt = context.stream_pipeline("event")
    # Then the container reuses it, and the reset builds a new one
    assert again is first
    assert rebuilt is not first
    assert rebuilt.entity_type == "event"


def test_a_reset_rebuilds_the_pipelines_from_the_current_environment(monkeypatch):
    # Given a department pipeline built with no notification channel configured
    assert context.stream_pipeline("department").deliveries.channels == []
    # When a webhook is configured and the context reset
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", "https://hooks.example/calendar")
    context.reset()
    # Then the next pipeline delivers to it, and the API's context reads the same settings
    (channel,) = context.stream_pipeline("department").deliveries.channels
    assert isinstance(channel, WebhookChannel)
    assert context.get_context().settings.notify_webhook_url == "https://hooks.example/calendar"
