"""chalicelib/context.py builds what the API and the stream handlers need, once, with one reset."""

from chalicelib import context


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


def test_a_reset_rebuilds_the_dispatcher_from_the_current_environment(monkeypatch):
    # Given a dispatcher built with no SNS topic configured
    before = context.dispatcher()
    # When a webhook and a topic are configured and the context reset
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", "https://hooks.example/calendar")
    monkeypatch.setenv("NOTIFY_SNS_TOPIC_ARN", "arn:aws:sns:ap-northeast-2:123456789012:calendar")
    context.reset()
    # Then the next dispatcher sends to both, and the API's context reads the same settings
    after = context.dispatcher()
    assert after is not before
    keys = sorted(target.key for target in after.configured_targets("d1"))
    assert keys == ["config:sns#d1", "config:webhook#d1"]
    assert context.get_context().settings.notify_webhook_url == "https://hooks.example/calendar"
