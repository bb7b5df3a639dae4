"""/api/health: 200 once every table answers, 503 otherwise; names the running version."""

from chalice.app import Blueprint, Response

from chalicelib.api.http import handles_errors, json_response
from chalicelib.context import get_context
from chalicelib.repositories.health import check_tables
from chalicelib.version import running_version

health = Blueprint(__name__)


@health.route("/health", methods=["GET"])
@handles_errors
def get_health() -> Response:
    context = get_context()
    check_tables(context.client, context.settings)
    return json_response({"status": "ok", "version": running_version()})
