"""Settings: what they read, what they refuse, and that the tests see none of the shell's."""

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path

import pytest

from chalicelib.settings import (
    ENVIRONMENT_VARIABLES,
    Settings,
    UnsafeConfiguration,
    get_settings,
)
from tests.isolation import REGION

PROJECT_DIR = Path(__file__).resolve().parents[2]
POOL_ARN = "arn:aws:cognito-idp:ap-northeast-2:123456789012:userpool/ap-northeast-2_Abc123"
# A value of each kind a setting takes that differs from its default.
SAMPLES = {
    "REQUIRE_AUTH": "true",
    "TRACING_ENABLED": "true",
    "COGNITO_USER_POOL_ARN": POOL_ARN,
    "CORS_ALLOWED_ORIGINS": "https://calendar.example",
    "IAM_GRANTS": '{"arn:aws:iam::123456789012:user/kim": ["admin"]}',
    "ALLOW_PRIVATE_WEBHOOKS": "true",
}


class RecordingEnviron(Mapping[str, str]):
    """An empty environment that remembers every name it was asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(name)
        return default


def test_the_list_of_variables_is_exactly_what_the_settings_read():
    # Given an environment that records every lookup
    environ = RecordingEnviron()
    # When settings are read from it
    Settings.from_environ(environ)
    # Then each variable read is listed, and each listed variable is read
    assert environ.asked == set(ENVIRONMENT_VARIABLES)
    assert len(ENVIRONMENT_VARIABLES) == len(set(ENVIRONMENT_VARIABLES))


@pytest.mark.parametrize("name", ENVIRONMENT_VARIABLES)
def test_every_listed_variable_changes_a_setting(name):
    # Given the defaults (with authentication on where a user pool needs it)
    base = {"REQUIRE_AUTH": "true"} if name == "COGNITO_USER_POOL_ARN" else {}
    defaults = Settings.from_environ(base)
    # When the variable is set
    changed = Settings.from_environ({**base, name: SAMPLES.get(name, "eu-west-1")})
    # Then some setting differs
    assert changed != defaults


def test_every_setting_names_its_variables():
    # Given the settings' fields
    # When their declared variables are collected
    declared = [setting.metadata.get("variables") for setting in fields(Settings)]
    # Then none is without one
    assert all(declared)


@pytest.mark.parametrize("name", ["REQUIRE_AUTH", "TRACING_ENABLED"])
@pytest.mark.parametrize("value", ["enabled", "ture", "y"])
def test_a_switch_that_is_neither_on_nor_off_is_refused(name, value):
    # Given a misspelt switch
    # When settings are read
    # Then they refuse it, naming it, rather than read it as off
    with pytest.raises(UnsafeConfiguration, match=name):
        Settings.from_environ({name: value})


def test_any_origin_is_refused_where_callers_must_authenticate():
    # Given "*" as the CORS origin
    # When authentication is on, Then the settings refuse it
    with pytest.raises(UnsafeConfiguration, match="CORS_ALLOWED_ORIGINS"):
        Settings.from_environ({"REQUIRE_AUTH": "true", "CORS_ALLOWED_ORIGINS": "*"})
    # When it is off, Then any origin is allowed
    assert Settings.from_environ({"CORS_ALLOWED_ORIGINS": "*"}).cors_allowed_origins == ("*",)


def test_settings_built_in_code_are_held_to_the_same_rules():
    # Given settings built directly rather than from an environment
    defaults = Settings.from_environ({})
    # When authentication is on with any origin allowed
    # Then they are refused as well: the rule is the model's, not the reader's
    with pytest.raises(UnsafeConfiguration):
        Settings(**{**vars(defaults), "require_auth": True, "cors_allowed_origins": ("*",)})


def test_origins_are_listed_without_blanks_or_trailing_slashes():
    # Given two origins, one with a trailing slash, and stray commas
    environ = {
        "REQUIRE_AUTH": "1",
        "CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example/,",
    }
    # When settings are read
    origins = Settings.from_environ(environ).cors_allowed_origins
    # Then they are the two origins as browsers send them
    assert origins == ("https://a.example", "https://b.example")


def test_a_user_pool_without_authentication_is_refused():
    # Given a Cognito user pool named while REQUIRE_AUTH is off
    # When settings are read
    # Then they refuse: the operator meant the API to be guarded, and it would be open
    with pytest.raises(UnsafeConfiguration, match="COGNITO_USER_POOL_ARN"):
        Settings.from_environ({"COGNITO_USER_POOL_ARN": POOL_ARN})
    assert (
        Settings.from_environ(
            {"REQUIRE_AUTH": "true", "COGNITO_USER_POOL_ARN": POOL_ARN}
        ).cognito_user_pool_arn
        == POOL_ARN
    )


def test_a_test_sees_the_default_settings():
    # Given the test environment (tests/conftest.py)
    # When the app reads its settings
    settings = get_settings()
    # Then every one is at its default: nothing comes from the shell
    assert settings == Settings.from_environ({"AWS_REGION": REGION})


def test_the_shells_settings_do_not_reach_the_tests():
    # Given a shell that sets every variable the settings read to a bogus value
    bogus = dict.fromkeys(ENVIRONMENT_VARIABLES, "bogus")
    # When a test that checks for the defaults runs there
    probe = f"{Path(__file__).relative_to(PROJECT_DIR)}::test_a_test_sees_the_default_settings"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", probe],
        cwd=PROJECT_DIR,
        env={**os.environ, **bogus},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it passes: the tests' environment is built from the settings' own list
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("environ", "authorizer"),
    [
        ({}, None),
        ({"REQUIRE_AUTH": "true"}, "iam"),
        ({"REQUIRE_AUTH": "true", "COGNITO_USER_POOL_ARN": POOL_ARN}, "cognito"),
    ],
)
def test_how_callers_authenticate_follows_from_the_settings(environ, authorizer):
    # Given a stage's authentication settings
    # When the settings are read
    # Then they say how callers prove who they are: nothing, a signature, or a Cognito token
    assert Settings.from_environ(environ).authorizer == authorizer


def test_iam_grants_map_arn_patterns_to_groups_in_the_order_written():
    # Given a stage mapping one user to admin and an assumed role's sessions to two departments
    text = (
        '{"arn:aws:iam::123456789012:user/kim": ["admin"],'
        ' "arn:aws:sts::123456789012:assumed-role/Planners/*":'
        ' ["dept-d1-editor", "dept-2f1c9a4e-viewer"]}'
    )
    # When the settings read it
    grants = Settings.from_environ({"REQUIRE_AUTH": "true", "IAM_GRANTS": text}).iam_grants
    # Then each pattern keeps its groups
    assert grants == (
        ("arn:aws:iam::123456789012:user/kim", ("admin",)),
        (
            "arn:aws:sts::123456789012:assumed-role/Planners/*",
            ("dept-d1-editor", "dept-2f1c9a4e-viewer"),
        ),
    )


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{not json", "JSON object"),
        ('["admin"]', "JSON object"),
        ('{"kim": ["admin"]}', "must be an ARN"),
        ('{"arn:aws:iam::1:user/kim": "admin"}', "list of groups"),
        ('{"arn:aws:iam::1:user/kim": ["root"]}', "not groups"),
        ('{"arn:aws:iam::1:user/kim": ["dept-a-owner"]}', "not groups"),
    ],
)
def test_an_iam_grants_mapping_with_any_wrong_part_is_refused_whole(text, complaint):
    # Half a mapping would quietly take roles away: the stage refuses to start instead
    with pytest.raises(UnsafeConfiguration, match=complaint) as refused:
        Settings.from_environ({"REQUIRE_AUTH": "true", "IAM_GRANTS": text})
    assert "IAM_GRANTS" in str(refused.value)


def test_private_webhook_receivers_are_refused_wherever_callers_sign_in():
    # Loopback and private receivers are for the local stack: on a signed-in stage a webhook
    # could reach the stage's own network
    with pytest.raises(UnsafeConfiguration, match="ALLOW_PRIVATE_WEBHOOKS"):
        Settings.from_environ({"REQUIRE_AUTH": "true", "ALLOW_PRIVATE_WEBHOOKS": "true"})
    assert Settings.from_environ({"ALLOW_PRIVATE_WEBHOOKS": "true"}).allow_private_webhooks
