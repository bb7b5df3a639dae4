"""The API's own documentation: /api/openapi.json, and a Swagger UI page at /api/docs.

The app serves the page and its files itself, so it works offline and on Lambda alike. Swagger
UI's files are the ones aws_lambda_powertools ships (a runtime dependency, already in the Lambda
zip): the docs add no bytes there. The document's builder loads on the first request for it,
not in `import app`.
"""

import functools
import html
import json
from importlib import resources
from typing import Any

from chalice.app import Blueprint, Chalice, Response

from chalicelib.api.http import handles_errors, json_response, stage_prefix
from chalicelib.api.roles import PUBLIC, requires
from chalicelib.api.swagger_ui import SWAGGER_UI_ASSETS
from chalicelib.errors import NotFound

_SWAGGER_UI_PACKAGE = ("aws_lambda_powertools", "event_handler", "openapi", "swagger_ui")
# The files only change with a deployment; a day keeps reloads cheap without going stale long.
_ASSET_CACHING = "public, max-age=86400"

# Addresses from the root, under the prefix the browser used (`/v1` under API Gateway's stage):
# relative ones would resolve under /api/docs/ when the page is opened with a trailing slash.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Department calendar API</title>
<link rel="stylesheet" href="{page}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{page}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: {document}, dom_id: "#swagger-ui", deepLinking: true}});
</script>
</body>
</html>
"""

docs = Blueprint(__name__)


@docs.route("/openapi.json", methods=["GET"])
@requires(PUBLIC)
@handles_errors
def openapi_document() -> Response:
    return json_response(_document(docs.current_app, stage_prefix(docs.current_request)))


@docs.route("/docs", methods=["GET"])
@requires(PUBLIC)
@handles_errors
def swagger_ui() -> Response:
    request = docs.current_request
    # /api/docs, as the browser reached it: the files are under it, the document beside it.
    page = stage_prefix(request) + str((request.context or {}).get("resourcePath", "/api/docs"))
    document = page.rsplit("/", 1)[0] + "/openapi.json"
    # A JavaScript string in a script: JSON, with no "<" that could end the script early.
    body = _PAGE.format(
        page=html.escape(page, quote=True), document=json.dumps(document).replace("<", "\\u003c")
    )
    return Response(body, headers={"Content-Type": "text/html; charset=utf-8"})


@docs.route("/docs/{asset}", methods=["GET"])
@requires(PUBLIC)
@handles_errors
def swagger_ui_asset(asset: str) -> Response:
    if asset not in SWAGGER_UI_ASSETS:
        raise NotFound(f"No file '{asset[:140]}' in the docs.")
    file, content_type = SWAGGER_UI_ASSETS[asset]
    return Response(
        swagger_ui_file(file),
        headers={"Content-Type": content_type, "Cache-Control": _ASSET_CACHING},
    )


@functools.cache
def swagger_ui_file(name: str) -> str:
    # Text, not bytes: API Gateway passes text through as it is, bytes only as base64. Found
    # by path, not imported: importing aws_lambda_powertools.event_handler costs ~0.1 s.
    package, *folders = _SWAGGER_UI_PACKAGE
    return resources.files(package).joinpath(*folders, name).read_text("utf-8")


# Built once per container (and stage prefix): it only changes with a deployment.
@functools.lru_cache(maxsize=4)
def _document(app: Chalice, server_prefix: str) -> dict[str, Any]:
    from chalicelib.api.openapi import build_document

    return build_document(app, server_prefix)
