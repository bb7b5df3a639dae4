"""How the operations commands find the local stack's DynamoDB.

`make run` writes `stack.json` into its data folder while it runs (the DynamoDB Local address
and its own pid). `manage.py create-tables | migrate | export | recount` with no endpoint
configured use that DynamoDB when the stack is running, and say so in one line. An emulator on
a loopback address needs no AWS credentials: dummy ones are set so nobody is asked for keys
(or sends real ones) to reach it.
"""

import ipaddress
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_DIR / ".local"
STACK_FILE = "stack.json"
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")


def data_dir_from_environ() -> Path:
    return Path(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR)


def configured_endpoint() -> str | None:
    return next((os.environ[v] for v in ENDPOINT_VARIABLES if os.environ.get(v)), None)


def announce(data_dir: Path, dynamodb_url: str, api_url: str) -> None:
    path = data_dir / STACK_FILE
    path.write_text(
        json.dumps({"dynamodb": dynamodb_url, "api": api_url, "pid": os.getpid()}), "utf-8"
    )


def withdraw(data_dir: Path) -> None:
    (data_dir / STACK_FILE).unlink(missing_ok=True)


def running_stack(data_dir: Path) -> str | None:
    """The DynamoDB address of a local stack running on `data_dir`, if one is."""
    try:
        announced = json.loads((data_dir / STACK_FILE).read_text("utf-8"))
        os.kill(int(announced["pid"]), 0)  # a stack killed with -9 leaves its file behind
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(announced["dynamodb"])


def point_at(url: str) -> None:
    """Send DynamoDB and DynamoDB Streams calls of this process to `url` (emulators serve both
    on one port)."""
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
    os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = url


def reach_running_stack() -> str | None:
    """With no endpoint configured, use the running local stack's DynamoDB (None if none)."""
    if configured_endpoint() is not None:
        return None
    url = running_stack(data_dir_from_environ())
    if url is not None:
        point_at(url)
    return url


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prepare_for_configured_endpoint() -> None:
    """With a DynamoDB endpoint configured, send DynamoDB Streams calls there too (emulators
    serve both on one port) and, for an emulator on this machine, use dummy credentials: it
    accepts any key, and must never be sent real ones."""
    endpoint = configured_endpoint()
    if endpoint is None:
        return
    os.environ.setdefault("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", endpoint)
    if not is_loopback(endpoint):
        return
    os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
