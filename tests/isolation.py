"""The environment the tests and the bench run the app in: whatever the shell sets, none of
the app's settings and nothing that would reach real AWS.

What is cleared is the settings' own list of the variables they read, so a new setting is
cleared as soon as it exists; then fixed, fake credentials and one region are set.
"""

from collections.abc import MutableMapping

from chalicelib.settings import ENVIRONMENT_VARIABLES

REGION = "ap-northeast-2"

# Where boto3 would find real credentials, or send its requests somewhere else.
_AWS_ROUTING = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
)
CLEARED = (*_AWS_ROUTING, *ENVIRONMENT_VARIABLES)


def fake_aws(key: str) -> dict[str, str]:
    """Credentials that sign nothing real, the region, and no instance metadata lookups."""
    return {
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": key,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def isolate(environ: MutableMapping[str, str], key: str) -> None:
    """`environ` (os.environ) cleared of CLEARED, with fake_aws(key) set."""
    for name in CLEARED:
        environ.pop(name, None)
    environ.update(fake_aws(key))
