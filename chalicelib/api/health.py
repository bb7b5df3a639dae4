"""/api/health: 200 once every table answers, 503 otherwise; names the running version.

Anyone may ask. Where the stage has an authorizer, a caller learns only "ok" and the version
number; where it has none (the local stack), the answer also says that nobody is authenticated
and that changes are recorded under the X-Actor header."""

from chalice.app import Blueprint, Response

from chalicelib.api.http import handles_errors, json_response
from chalicelib.api.roles import PUBLIC, requires
from chalicelib.context import get_context
from chalicelib.errors import StorageUnavailable
from chalicelib.repositories.health import check_tables
from chalicelib.version import running_version

health = Blueprint(__name__)


@health.route("/health", methods=["GET"])
@requires(PUBLIC)
@handles_errors
def get_health() -> Response:
    context = get_context()
    if context.settings.authorizer is not None:
        try:
            check_tables(context.client, context.settings)
        except StorageUnavailable as error:
            # Which table is missing is for operators (the logs), not for any caller.
            raise StorageUnavailable("Not ready: try again later.") from error
        number = running_version().split("+", 1)[0]
        return json_response({"status": "ok", "version": number})
    check_tables(context.client, context.settings)
    return json_response(
        {
            "status": "ok",
            "version": running_version(),
            "authentication": "none",
            "actor": "X-Actor header",
        }
    )
