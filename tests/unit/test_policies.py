"""IAM policies: generated from the table definitions, committed, least privilege."""

import json
from dataclasses import replace

import pytest

from chalicelib.tables import table_definitions
from ops.deploy.policies import TRACING_ACTIONS, streams_policy
from ops.deploy.stage import STAGES, load_config, stage_settings, stage_traces
from ops.deploy.write_policies import policy_files


@pytest.mark.parametrize("stage", STAGES)
def test_committed_policy_files_are_what_the_tables_generate(stage):
    # `python manage.py policies` regenerates them; they must not drift from the tables
    for path, text in policy_files(stage).items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale: run manage.py policies"


@pytest.mark.parametrize("stage", STAGES)
def test_policies_name_their_actions_and_only_the_projects_tables(stage):
    settings = stage_settings(stage)
    tables = {d.name for d in table_definitions(settings)}
    for path, text in policy_files(stage).items():
        for statement in json.loads(text)["Statement"]:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            assert all("*" not in action for action in actions), path.name
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            # X-Ray's write actions cannot be scoped to a resource; nothing else gets "*"
            if set(actions) != set(TRACING_ACTIONS):
                assert "*" not in resources
            for resource in resources:
                if resource.startswith("arn:aws:dynamodb:"):
                    table = resource.split(":table/")[1].split("/")[0]
                    assert table in tables, f"{path.name}: {resource}"
                    assert table.startswith(("departments", "events"))


def test_the_api_cannot_read_streams_and_the_stream_role_cannot_touch_departments():
    files = {path.name: json.loads(text) for path, text in policy_files("prod").items()}
    api_actions = {a for s in files["policy-prod-api.json"]["Statement"] for a in s["Action"]}
    assert "dynamodb:GetRecords" not in api_actions
    stream_resources = [
        r
        for s in files["policy-prod-streams.json"]["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert not any(r.endswith(":table/departments") for r in stream_resources)


def test_stages_use_the_guides_names_in_prod_and_suffixed_names_in_dev():
    config = load_config()
    assert config["autogen_policy"] is False
    prod, dev = stage_settings("prod"), stage_settings("dev")
    assert (prod.departments_table, prod.events_table) == ("departments", "events")
    assert (dev.departments_table, dev.events_table) == ("departments-dev", "events-dev")
    assert prod.region == "ap-northeast-2"


@pytest.mark.parametrize("stage", STAGES)
def test_roles_may_send_traces_exactly_on_stages_that_trace(stage):
    traces = stage_traces(load_config(), stage)
    for path, text in policy_files(stage).items():
        sent = [s for s in json.loads(text)["Statement"] if s["Action"] == list(TRACING_ACTIONS)]
        assert len(sent) == (1 if traces else 0), path.name


def test_the_webhook_secret_parameter_is_the_one_ssm_resource_the_stream_role_may_read():
    # Given a stage that keeps the configured webhook's secret in SSM
    settings = replace(
        stage_settings("prod"), notify_webhook_secret_parameter="/department-calendar/prod/hook"
    )
    # When its stream role's policy is generated
    statements = streams_policy(settings, "prod")["Statement"]
    # Then it may read exactly that parameter, and the default stage policy may read none
    (secret,) = [s for s in statements if s["Action"] == ["ssm:GetParameter"]]
    assert secret["Resource"] == (
        "arn:aws:ssm:ap-northeast-2:*:parameter/department-calendar/prod/hook"
    )
    defaults = streams_policy(stage_settings("prod"), "prod")["Statement"]
    assert not [s for s in defaults if "ssm:GetParameter" in s["Action"]]
