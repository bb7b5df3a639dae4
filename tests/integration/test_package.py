"""`make package STAGE=prod`: the CloudFormation template and zip that larger teams deploy."""

import dataclasses
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.tables import table_definitions
from ops.deploy.package import (
    INBOX_READERS,
    INBOX_WRITER,
    merge_template,
    package,
    table_logical_id,
)
from ops.deploy.policies import TRACING_ACTIONS
from ops.deploy.stage import PROJECT_DIR, stage_settings
from ops.deploy.steps import MAXIMUM_RETRY_ATTEMPTS
from tests.conftest import head_commit
from tests.integration.test_access import PUBLIC_ROUTES

MAX_SHIPPED_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("package")
    template = package("prod", out)
    return json.loads(template.read_text("utf-8")), out


def test_cfn_lint_passes(built):
    _, out = built
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), str(out / "sam.json")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_tables_come_from_the_same_definitions_as_the_app(built):
    template, _ = built
    resources = template["Resources"]
    for definition in table_definitions(stage_settings("prod")):
        table = resources[table_logical_id(definition)]
        properties = table["Properties"]
        assert table["Type"] == "AWS::DynamoDB::Table"
        assert table["DeletionPolicy"] == "Retain"
        assert properties["TableName"] == definition.name
        assert properties["KeySchema"] == definition.key_schema()
        assert properties["AttributeDefinitions"] == definition.attribute_definitions()
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["DeletionProtectionEnabled"] is True
        assert len(properties.get("GlobalSecondaryIndexes", [])) == len(definition.indexes)
        if definition.stream:
            assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


# The events table's indexes in the template of the version that brought the calendar index
# (the calendar still read the date index then).
EARLIER_EVENTS_INDEXES = {
    "department-date-index",
    "department-calendar-index",
    "department-span-index",
}


def test_a_stack_from_an_earlier_template_is_updated_one_index_change_at_a_time():
    settings = stage_settings("prod")
    tables = {d.role: d for d in table_definitions(settings)}

    def indexes(role: str, **options: bool) -> set[str]:
        resource = merge_template(settings, "prod", **options)["Resources"]
        table = resource[table_logical_id(tables[role])]
        return {i["IndexName"] for i in table["Properties"]["GlobalSecondaryIndexes"]}

    # Given the events table of the template with and without the retired indexes kept
    kept, current = indexes("events", keep_retired=True), indexes("events")
    # Then the template that keeps them changes no index of the earlier stack, and the plain
    # one then deletes the one index the calendar read before
    assert kept == EARLIER_EVENTS_INDEXES
    assert kept - current == {"department-date-index"}
    assert current < kept
    # And the kept index's key attribute is declared
    kept_table = merge_template(settings, "prod", keep_retired=True)["Resources"][
        table_logical_id(tables["events"])
    ]
    declared = {a["AttributeName"] for a in kept_table["Properties"]["AttributeDefinitions"]}
    assert {"department_id", "calendar_key"} <= declared
    # And an index deleted by an update before that is declared by neither: the audit table
    # stays as it is
    assert indexes("audit", keep_retired=True) == indexes("audit")
    assert indexes("audit") == {"date-index", "department-feed-index"}


@pytest.mark.parametrize(
    ("function", "table"),
    [
        ("OnEventChange", "EventsTable"),
        ("OnDepartmentChange", "DepartmentsTable"),
        ("OnNotification", "NotificationsTable"),
    ],
)
def test_stream_mappings_report_failures_bisect_retry_boundedly_and_park_in_a_queue(
    built, function, table
):
    template, _ = built
    resources = template["Resources"]
    (event,) = resources[function]["Properties"]["Events"].values()
    mapping = event["Properties"]
    assert event["Type"] == "DynamoDB"
    assert mapping["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == MAXIMUM_RETRY_ATTEMPTS
    assert mapping["MaximumRecordAgeInSeconds"] > 0
    # Several batches of a busy shard at once, the most AWS allows (records of one item stay
    # in order)
    assert mapping["ParallelizationFactor"] == 10
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["StreamFailureQueue", "Arn"]
    }
    queue = resources["StreamFailureQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True


def test_the_template_runs_the_delivery_sweep_reminders_and_digest_on_their_schedules(built):
    template, _ = built
    schedules = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Schedule":
                schedules[name] = event["Properties"]["Schedule"]
    assert schedules == {
        "DeliverDue": "rate(1 minute)",
        "SendReminders": "rate(5 minutes)",
        "SendDigest": "cron(0 0 * * ? *)",  # 09:00 in Seoul
    }


def test_functions_run_python_312_or_newer_with_least_privilege_roles(built):
    template, _ = built
    functions = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    ]
    # the API, the three stream handlers, the delivery sweeper, reminders and the digest
    assert len(functions) == 7
    for function in functions:
        runtime = function["Properties"]["Runtime"]
        assert runtime.startswith("python3.")
        assert int(runtime.split(".")[1]) >= 12
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"]
                    if isinstance(statement["Action"], list)
                    else [statement["Action"]]
                )
                assert all("*" not in action for action in actions)
                resources = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                # X-Ray's write actions cannot be scoped to a resource; nothing else gets "*"
                if set(actions) != set(TRACING_ACTIONS):
                    assert "*" not in resources


def test_what_ships_is_small_and_holds_no_sdk_dev_tools_or_tests(built):
    _, out = built
    archive = out / "deployment.zip"
    assert archive.stat().st_size <= MAX_SHIPPED_BYTES
    names = zipfile.ZipFile(archive).namelist()
    top = {name.split("/")[0] for name in names}
    assert {"app.py", "chalicelib", "pydantic", "aws_lambda_powertools"} <= top
    assert not {"boto3", "botocore", "moto", "tests", "ops", "manage.py"} & top
    # Chalice vendors its runtime (chalice/app.py), never its CLI
    assert not [n for n in names if n.startswith(("chalice/cli", "chalice/deploy"))]
    # the compiled pydantic core is the Linux build Lambda runs
    assert any(n.startswith("pydantic_core/_pydantic_core.cpython-312-x86_64-linux") for n in names)


def test_the_zip_names_the_version_it_was_built_from(built):
    _, out = built
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        build = json.loads(archive.read("chalicelib/build_info.json"))
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text("utf-8"))
    assert build["version"] == pyproject["project"]["version"]
    if shutil.which("git"):
        # ".dirty" after it when the tree had uncommitted changes
        assert build["revision"].removesuffix(".dirty") == head_commit()
    # written for the packaging only: a later plain `chalice deploy` cannot ship it stale
    assert not (PROJECT_DIR / "chalicelib" / "build_info.json").exists()


def test_prod_is_traced_with_the_x_ray_sdk_shipped_without_botocore(built):
    template, out = built
    functions = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    ]
    assert {f["Properties"]["Tracing"] for f in functions} == {"Active"}
    assert {f["Properties"]["Environment"]["Variables"]["TRACING_ENABLED"] for f in functions} == {
        "true"
    }
    assert template["Resources"]["RestAPI"]["Properties"]["TracingEnabled"] is True
    names = zipfile.ZipFile(out / "deployment.zip").namelist()
    top = {name.split("/")[0] for name in names}
    assert {"aws_xray_sdk", "wrapt"} <= top
    assert not {"botocore", "urllib3", "dateutil", "s3transfer"} & top
    # pure Python: any Lambda architecture runs it
    assert not [n for n in names if n.startswith(("aws_xray_sdk/", "wrapt/")) and ".so" in n]


def alarm_metrics(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (r["Properties"]["Namespace"], r["Properties"]["MetricName"], r["Properties"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    ]


def test_alarms_watch_the_stream_the_functions_the_api_and_the_tables(built):
    template, _ = built
    found = alarm_metrics(template)
    metrics = {(namespace, name) for namespace, name, _ in found}
    assert {
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("DepartmentCalendar", "RecordsParked"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
    } <= metrics
    # errors and throttles for each of the seven functions; throttles for every table
    assert sum(1 for _, name, _ in found if name == "Errors") == 7
    tables = {d.name for d in table_definitions(stage_settings("prod"))}
    throttled = {
        p["Dimensions"][0]["Value"] for _, name, p in found if name == "WriteThrottleEvents"
    }
    assert throttled == tables
    # the iterator-age threshold is a parameter; every alarm notifies the alarm topic
    ages = [p for _, name, p in found if name == "IteratorAge"]
    assert all(p["Threshold"] == {"Ref": "IteratorAgeThresholdMs"} for p in ages)
    assert all(p["AlarmActions"] == [{"Ref": "AlarmTopic"}] for _, _, p in found)
    assert template["Resources"]["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_the_dashboard_shows_api_stream_records_and_table_metrics(built):
    template, _ = built
    parts = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "X" for part in parts)
    body = json.loads(text)
    names = {m[1] for widget in body["widgets"] for m in widget["properties"]["metrics"]}
    assert {
        "Count",
        "Latency",
        "5XXError",
        "IteratorAge",
        "RecordsProcessed",
        "RecordsParked",
        "ConsumedWriteCapacityUnits",
        "WriteThrottleEvents",
    } <= names


def test_prod_api_routes_carry_the_iam_authorizer_and_only_health_docs_and_page_are_public(built):
    template, _ = built
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert api["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"

    guarded = []
    for path, operations in api["paths"].items():
        for method, operation in operations.items():
            if method == "options" or path in PUBLIC_ROUTES:
                assert "security" not in operation, (method, path)
            else:
                assert operation["security"] == [{"sigv4": []}], (method, path)
                guarded.append(f"{method.upper()} {path}")
    assert "POST /api/events/{department_id}" in guarded
    # 14 data routes, then the occurrences' PATCH and DELETE, the feed token, the holidays, the
    # change feed, and the subscriptions' six
    assert len(guarded) == 25


def answered(response: dict[str, Any], message: str = "Forbidden") -> dict[str, Any]:
    """The body API Gateway sends with this gateway response: its template with $context
    substituted (messageString comes as a quoted JSON string)."""
    template = response["responseTemplates"]["application/json"]
    return dict(json.loads(template.replace("$context.error.messageString", json.dumps(message))))


def test_api_gateways_own_answers_are_the_apis_json_errors(built):
    # Given the prod template, whose routes need a SigV4 signature
    template, _ = built
    definition = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = definition["x-amazon-apigateway-gateway-responses"]
    # Then an unsigned request and a path no route has (one answer type for both) say both
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "403"
    assert answered(missing)["code"] == "missing_authentication_token"
    assert "/api/docs" in answered(missing)["message"]
    # And any other refusal or failure of API Gateway's keeps its status, in the same shape
    assert "statusCode" not in responses["DEFAULT_4XX"]
    assert "statusCode" not in responses["DEFAULT_5XX"]
    assert answered(responses["DEFAULT_4XX"], "Too Many Requests") == {
        "code": "request_refused",
        "message": "Too Many Requests",
    }
    assert answered(responses["DEFAULT_5XX"], "Internal server error") == {
        "code": "gateway_error",
        "message": "Internal server error",
    }
    # Each with the request id, as the app's own answers carry it
    for response in responses.values():
        assert response["responseParameters"] == {
            "gatewayresponse.header.X-Request-Id": "context.requestId"
        }


def test_on_an_open_stage_a_path_no_route_has_is_a_json_404():
    # Given the dev stage told to stay open, so its routes need no signature
    open_dev = dataclasses.replace(stage_settings("dev"), require_auth=False)
    template = merge_template(open_dev, "dev")
    definition = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    missing = definition["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
    # Then API Gateway's "Missing Authentication Token" is the API's 404
    assert missing["statusCode"] == "404"
    assert answered(missing) == {
        "code": "not_found",
        "message": "No route answers this method and path; the API's routes are listed at "
        "/api/docs.",
    }


def test_cloudformation_updates_the_inboxs_readers_before_its_writer(built):
    # Given the template
    template, _ = built
    resources = template["Resources"]
    # Then the function writing the inbox waits for every function reading it
    writer = resources[camel(INBOX_WRITER)]
    assert set(writer["DependsOn"]) == {camel(name) for name in INBOX_READERS}
    assert all(
        resources[camel(name)]["Type"] == "AWS::Serverless::Function" for name in INBOX_READERS
    )


def test_chalice_deploy_updates_the_inboxs_readers_before_its_writer():
    # Given the plan `chalice deploy` follows: the app's resources in dependency order, each
    # function's update waited for before the next
    from chalice.config import Config
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder

    from app import app

    config = Config.create(
        chalice_stage="prod",
        chalice_app=app,
        project_dir=str(PROJECT_DIR),
        config_from_disk=json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text()),
    )
    graph = ApplicationGraphBuilder().build(config, "prod")
    order = [
        resource.resource_name
        for resource in DependencyBuilder().build_dependencies(graph)
        if isinstance(resource, models.LambdaFunction)
    ]
    # Then every function reading the inbox is updated before the one writing it
    assert all(order.index(name) < order.index(INBOX_WRITER) for name in INBOX_READERS), order


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
