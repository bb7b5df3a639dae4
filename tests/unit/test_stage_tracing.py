"""Which stages trace, and how traced invocations are named."""

import pytest

from chalicelib.settings import Settings
from chalicelib.tracing import subsegment_name
from ops.deploy.stage import STAGES, load_config, stage_environment, stage_traces


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_traced_by_chalice_also_turns_on_the_tracer_and_only_then(stage):
    # "xray": true sets up Lambda and API Gateway; TRACING_ENABLED makes the app record
    # its own subsegments. One without the other is a half-traced stage.
    config = load_config()
    assert (
        stage_traces(config, stage)
        == Settings.from_environ(stage_environment(config, stage)).tracing
    )


def test_prod_traces_and_dev_does_not():
    config = load_config()
    assert stage_traces(config, "prod")
    assert not stage_traces(config, "dev")


@pytest.mark.parametrize(
    ("value", "enabled"),
    [("true", True), ("TRUE", True), ("1", True), ("false", False), ("", False), (None, False)],
)
def test_tracing_is_off_unless_switched_on(value, enabled):
    environ = {} if value is None else {"TRACING_ENABLED": value}
    assert Settings.from_environ(environ).tracing is enabled


def test_subsegments_are_named_as_x_ray_accepts():
    assert subsegment_name("GET /api/health") == "GET /api/health"
    assert (
        subsegment_name("PATCH /api/events/{department_id}/{event_id}")
        == "PATCH /api/events/:department_id/:event_id"
    )
    assert subsegment_name("department-calendar-prod-on_event_change") == (
        "department-calendar-prod-on_event_change"
    )
    assert subsegment_name("<?>") == "handler"
