"""Environment → typed settings. Read once per Lambda container (the environment is fixed there).

Each setting names the environment variables it is read from on its own field, so the list of
everything the app reads (`ENVIRONMENT_VARIABLES`) follows the model: the tests and the bench
clear exactly that list, and a new setting cannot be forgotten there.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Final, Literal

from chalicelib.formats import is_group

DEFAULT_REGION = "ap-northeast-2"


def placeholder_stream_arn(region: str, table: str) -> str:
    """What a stream handler is registered with when its ARN is not configured (local runs,
    tests, `import app` with nothing set). It names the table, so the local poller finds it."""
    return f"arn:aws:dynamodb:{region}:000000000000:table/{table}/stream/not-configured"


class UnsafeConfiguration(ValueError):
    """Settings refused rather than guessed at: read the wrong way, they could open the API
    wider than intended."""


def _env(*variables: str) -> dict[str, Any]:
    """A field's metadata: the environment variables it is read from (the first set wins)."""
    return {"variables": variables}


@dataclass(frozen=True)
class Settings:
    region: str = field(metadata=_env("AWS_REGION", "AWS_DEFAULT_REGION"))
    departments_table: str = field(metadata=_env("DEPARTMENTS_TABLE"))
    events_table: str = field(metadata=_env("EVENTS_TABLE"))
    department_names_table: str = field(metadata=_env("DEPARTMENT_NAMES_TABLE"))
    counters_table: str = field(metadata=_env("COUNTERS_TABLE"))
    audit_table: str = field(metadata=_env("AUDIT_TABLE"))
    notifications_table: str = field(metadata=_env("NOTIFICATIONS_TABLE"))
    deliveries_table: str = field(metadata=_env("DELIVERIES_TABLE"))
    subscriptions_table: str = field(metadata=_env("SUBSCRIPTIONS_TABLE"))
    failed_records_table: str = field(metadata=_env("FAILED_RECORDS_TABLE"))
    idempotency_table: str = field(metadata=_env("IDEMPOTENCY_TABLE"))
    stream_checkpoints_table: str = field(metadata=_env("STREAM_CHECKPOINTS_TABLE"))
    events_stream_arn: str = field(metadata=_env("EVENTS_STREAM_ARN"))
    departments_stream_arn: str = field(metadata=_env("DEPARTMENTS_STREAM_ARN"))
    notifications_stream_arn: str = field(metadata=_env("NOTIFICATIONS_STREAM_ARN"))
    notify_sns_topic_arn: str | None = field(metadata=_env("NOTIFY_SNS_TOPIC_ARN"))
    notify_webhook_url: str | None = field(metadata=_env("NOTIFY_WEBHOOK_URL"))
    # Signs the calls to NOTIFY_WEBHOOK_URL (whsec_…); from the stage's SSM parameter on AWS.
    notify_webhook_secret: str | None = field(metadata=_env("NOTIFY_WEBHOOK_SECRET"))
    # Or the name of an SSM SecureString parameter holding it, read by the delivery functions:
    # the secret then never sits in the stage's configuration.
    notify_webhook_secret_parameter: str | None = field(
        metadata=_env("NOTIFY_WEBHOOK_SECRET_PARAMETER")
    )
    # Who may call: REQUIRE_AUTH puts an authorizer on every data route (Cognito when a user
    # pool is named, else IAM); without it the API is open (local stack, dev).
    require_auth: bool = field(default=False, metadata=_env("REQUIRE_AUTH"))
    cognito_user_pool_arn: str | None = field(default=None, metadata=_env("COGNITO_USER_POOL_ARN"))
    # For IAM callers, the groups (admin, dept-<id>-editor, dept-<id>-viewer) each principal
    # ARN pattern holds: JSON {"arn:aws:sts::123456789012:assumed-role/Ops/*": ["admin"]}.
    iam_grants: tuple[tuple[str, tuple[str, ...]], ...] = field(
        default=(), metadata=_env("IAM_GRANTS")
    )
    # Browser origins allowed to call the API ("*" only where no authentication is required).
    cors_allowed_origins: tuple[str, ...] = field(default=(), metadata=_env("CORS_ALLOWED_ORIGINS"))
    # Webhook receivers on loopback and private addresses, over http too: the local stack only.
    allow_private_webhooks: bool = field(default=False, metadata=_env("ALLOW_PRIVATE_WEBHOOKS"))
    # The app's own X-Ray subsegments (chalicelib/tracing.py), for stages Chalice traces.
    tracing: bool = field(default=False, metadata=_env("TRACING_ENABLED"))

    def __post_init__(self) -> None:
        # Combinations that would leave the API more open than the operator meant. Checked
        # here, so every reader of settings (app, deploy, package) refuses them alike.
        if self.require_auth and "*" in self.cors_allowed_origins:
            raise UnsafeConfiguration(
                f"{variable('cors_allowed_origins')} must list the web origins, not '*', when "
                f"{variable('require_auth')} is on: any web page could then drive a signed-in "
                "user's browser against the API."
            )
        if self.allow_private_webhooks and self.require_auth:
            raise UnsafeConfiguration(
                f"{variable('allow_private_webhooks')} is for the local stack only: with "
                f"{variable('require_auth')} on, webhooks could reach the stage's own network."
            )
        if self.cognito_user_pool_arn and not self.require_auth:
            raise UnsafeConfiguration(
                f"{variable('cognito_user_pool_arn')} names a user pool but "
                f"{variable('require_auth')} is off: the API would stay open. Turn it on, or "
                "leave the pool out."
            )

    @property
    def authorizer(self) -> Literal["iam", "cognito"] | None:
        """How callers prove who they are: None (an open API), a Cognito user's ID token when
        a user pool is named, else an AWS SigV4 signature (IAM)."""
        if not self.require_auth:
            return None
        return "cognito" if self.cognito_user_pool_arn else "iam"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def read(attribute: str) -> str:
            """The first of the setting's variables that is set and not empty, else ''."""
            return next((env[name] for name in _VARIABLES[attribute] if env.get(name)), "")

        def switch(attribute: str) -> bool:
            return _switch(variable(attribute), read(attribute))

        region = read("region") or DEFAULT_REGION
        departments = read("departments_table") or "departments"
        events = read("events_table") or "events"
        notifications = read("notifications_table") or "events-notifications"
        return cls(
            region=region,
            departments_table=departments,
            events_table=events,
            department_names_table=read("department_names_table") or "departments-names",
            counters_table=read("counters_table") or "events-counters",
            audit_table=read("audit_table") or "events-audit",
            notifications_table=notifications,
            deliveries_table=read("deliveries_table") or "events-deliveries",
            subscriptions_table=read("subscriptions_table") or "events-subscriptions",
            failed_records_table=read("failed_records_table") or "events-failed-records",
            idempotency_table=read("idempotency_table") or "events-idempotency",
            stream_checkpoints_table=(
                read("stream_checkpoints_table") or "events-stream-checkpoints"
            ),
            events_stream_arn=(read("events_stream_arn") or placeholder_stream_arn(region, events)),
            departments_stream_arn=(
                read("departments_stream_arn") or placeholder_stream_arn(region, departments)
            ),
            notifications_stream_arn=(
                read("notifications_stream_arn") or placeholder_stream_arn(region, notifications)
            ),
            notify_sns_topic_arn=read("notify_sns_topic_arn") or None,
            notify_webhook_url=read("notify_webhook_url") or None,
            notify_webhook_secret=read("notify_webhook_secret") or None,
            notify_webhook_secret_parameter=read("notify_webhook_secret_parameter") or None,
            require_auth=switch("require_auth"),
            cognito_user_pool_arn=read("cognito_user_pool_arn") or None,
            iam_grants=parse_iam_grants(read("iam_grants")),
            cors_allowed_origins=cors_origins(read("cors_allowed_origins")),
            allow_private_webhooks=switch("allow_private_webhooks"),
            tracing=switch("tracing"),
        )


_VARIABLES: Final[Mapping[str, tuple[str, ...]]] = {
    setting.name: setting.metadata["variables"] for setting in fields(Settings)
}
# Every environment variable the settings read, in the order of the fields.
ENVIRONMENT_VARIABLES: Final[tuple[str, ...]] = tuple(
    name for names in _VARIABLES.values() for name in names
)


def variables(attribute: str) -> tuple[str, ...]:
    """The environment variables a setting is read from, the first that is set winning."""
    return _VARIABLES[attribute]


def variable(attribute: str) -> str:
    """The environment variable a setting is read from (the first, where there are several)."""
    return _VARIABLES[attribute][0]


def cors_origins(text: str) -> tuple[str, ...]:
    """CORS_ALLOWED_ORIGINS as the app compares origins: comma-separated, trailing slash off
    (browsers send an Origin without one)."""
    return tuple(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())


def parse_iam_grants(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """IAM_GRANTS: a JSON object from principal ARN patterns to lists of group names. Refused
    whole when any part is wrong: half a mapping would quietly take roles away."""
    if not text.strip():
        return ()
    name = variable("iam_grants")
    try:
        mapping = json.loads(text)
    except ValueError as error:
        raise UnsafeConfiguration(f"{name} must be a JSON object: {error}.") from error
    if not isinstance(mapping, dict):
        raise UnsafeConfiguration(f"{name} must be a JSON object of ARN patterns to group lists.")
    grants = []
    for pattern, groups in mapping.items():
        if not pattern.startswith("arn:") or not isinstance(groups, list):
            raise UnsafeConfiguration(
                f"{name}: '{pattern}' must be an ARN (pattern) with a list of groups."
            )
        unknown = [group for group in groups if not isinstance(group, str) or not is_group(group)]
        if unknown:
            raise UnsafeConfiguration(
                f"{name}: {unknown} are not groups (admin, dept-<id>-editor, dept-<id>-viewer)."
            )
        grants.append((pattern, tuple(groups)))
    return tuple(grants)


def _switch(name: str, text: str) -> bool:
    """An on/off setting. Anything else is refused rather than read as off: a misspelt
    REQUIRE_AUTH must not leave a stage open."""
    value = text.strip()
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("", "false", "0", "no", "off"):
        return False
    raise UnsafeConfiguration(f"{name} must be true or false, not '{value}'.")


@cache
def get_settings() -> Settings:
    return Settings.from_environ()
