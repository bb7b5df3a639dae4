"""The Swagger UI files the docs serve at /api/docs/<file>: what docs.py answers with and what
the contract documents, in a module of its own so the contract does not import the routes
(which import the OpenAPI builder, which imports the contract)."""

from typing import Final

# What the page asks for -> (the file in Powertools' copy of Swagger UI, its content type).
SWAGGER_UI_ASSETS: Final = {
    "swagger-ui-bundle.js": ("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui.min.css", "text/css; charset=utf-8"),
}
