"""Environment → typed settings. Read once per Lambda container (the environment is fixed there)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

DEFAULT_REGION = "ap-northeast-2"


def placeholder_stream_arn(region: str, table: str) -> str:
    """What a stream handler is registered with when its ARN is not configured (local runs,
    tests, `import app` with nothing set). It names the table, so the local poller finds it."""
    return f"arn:aws:dynamodb:{region}:000000000000:table/{table}/stream/not-configured"


class UnsafeConfiguration(ValueError):
    """Settings that would open the API wider than intended."""


@dataclass(frozen=True)
class Settings:
    region: str
    departments_table: str
    events_table: str
    department_names_table: str
    audit_table: str
    notifications_table: str
    deliveries_table: str
    failed_records_table: str
    idempotency_table: str
    stream_checkpoints_table: str
    events_stream_arn: str
    departments_stream_arn: str
    notify_sns_topic_arn: str | None
    notify_webhook_url: str | None
    # Who may call: REQUIRE_AUTH puts an authorizer on every data route (Cognito when a user
    # pool is named, else IAM); without it the API is open (local stack, dev).
    require_auth: bool = False
    cognito_user_pool_arn: str | None = None
    # Browser origins allowed to call the API ("*" only where no authentication is required).
    cors_allowed_origins: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ

        def value(name: str, default: str) -> str:
            return env.get(name) or default

        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        departments = value("DEPARTMENTS_TABLE", "departments")
        events = value("EVENTS_TABLE", "events")
        return cls(
            region=region,
            departments_table=departments,
            events_table=events,
            department_names_table=value("DEPARTMENT_NAMES_TABLE", "departments-names"),
            audit_table=value("AUDIT_TABLE", "events-audit"),
            notifications_table=value("NOTIFICATIONS_TABLE", "events-notifications"),
            deliveries_table=value("DELIVERIES_TABLE", "events-notification-deliveries"),
            failed_records_table=value("FAILED_RECORDS_TABLE", "events-failed-records"),
            idempotency_table=value("IDEMPOTENCY_TABLE", "events-idempotency"),
            stream_checkpoints_table=value("STREAM_CHECKPOINTS_TABLE", "events-stream-checkpoints"),
            events_stream_arn=value("EVENTS_STREAM_ARN", placeholder_stream_arn(region, events)),
            departments_stream_arn=value(
                "DEPARTMENTS_STREAM_ARN", placeholder_stream_arn(region, departments)
            ),
            notify_sns_topic_arn=env.get("NOTIFY_SNS_TOPIC_ARN") or None,
            notify_webhook_url=env.get("NOTIFY_WEBHOOK_URL") or None,
            require_auth=_switch(env, "REQUIRE_AUTH"),
            cognito_user_pool_arn=env.get("COGNITO_USER_POOL_ARN") or None,
            cors_allowed_origins=tuple(
                origin.strip().rstrip("/")
                for origin in env.get("CORS_ALLOWED_ORIGINS", "").split(",")
                if origin.strip()
            ),
        )


def _switch(env: Mapping[str, str], name: str) -> bool:
    """An on/off setting. Anything else is refused rather than read as off: a misspelt
    REQUIRE_AUTH must not leave a stage open."""
    value = env.get(name, "").strip()
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("", "false", "0", "no", "off"):
        return False
    raise UnsafeConfiguration(f"{name} must be true or false, not '{value}'.")


@cache
def get_settings() -> Settings:
    return Settings.from_environ()
