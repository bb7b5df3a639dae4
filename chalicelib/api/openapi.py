"""The OpenAPI 3.1 document: the app's routes, described by chalicelib/api/contract.py, with the
schemas of the pydantic models they take and answer."""

from collections.abc import Iterable, Mapping
from typing import Any

from chalice.app import Chalice, RouteEntry
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from chalicelib.api import contract
from chalicelib.api.contract import JSON, Operation
from chalicelib.api.roles import rule_of

_SCHEMAS = "#/components/schemas/"


def build_document(app: Chalice, server_prefix: str = "") -> dict[str, Any]:
    """`server_prefix`: the path the API is served under (API Gateway's stage, `/v1`), so tools
    that send requests from the document (Swagger UI's "Try it out") reach it."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in sorted(app.routes.items()):
        for method, route in methods.items():
            operation = contract.OPERATIONS.get(route.view_name)
            # A route the contract does not describe is left out, not guessed at; a test fails.
            if operation is not None and method != "OPTIONS":
                paths.setdefault(path, {})[method.lower()] = _operation(route, operation, schemas)
    webhooks = _webhooks(schemas)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": contract.TITLE,
            "version": contract.API_VERSION,
            "description": contract.DESCRIPTION,
        },
        "tags": [{"name": name, "description": text} for name, text in contract.TAGS.items()],
        "paths": paths,
        "webhooks": webhooks,
        "components": {
            "schemas": schemas.defined,
            "parameters": {name: _parameter(name) for name in contract.PARAMETERS},
            "headers": dict(contract.RESPONSE_HEADERS),
            "securitySchemes": dict(contract.SECURITY_SCHEMES),
        },
    }
    if server_prefix:
        document["servers"] = [{"url": server_prefix}]
    return document


class _Schemas:
    """components.schemas, filled with each model's JSON Schema (and those it nests) as used."""

    def __init__(self) -> None:
        self.defined: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, str]:
        # Requests are described as pydantic validates them, answers as it serialises them.
        schema = model.model_json_schema(mode=mode, ref_template=_SCHEMAS + "{model}")
        for name, nested in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            if self.defined.setdefault(name, nested) != nested:
                raise ValueError(f"two different schemas are both named {name}")
        return {"$ref": _SCHEMAS + model.__name__}

    def of(self, answer: type[BaseModel] | Mapping[str, Any]) -> Mapping[str, Any]:
        if isinstance(answer, type):
            return self.ref(answer, "serialization")
        return answer


def _operation(route: RouteEntry, operation: Operation, schemas: _Schemas) -> dict[str, Any]:
    parameters = [{"$ref": f"#/components/parameters/{name}"} for name in operation.parameters]
    described: dict[str, Any] = {
        "operationId": route.view_name,
        "tags": [operation.tag],
        "summary": operation.summary,
        "parameters": [*_path_parameters(route.view_args), *parameters],
        "responses": {
            str(operation.status): _success(operation, schemas),
            **{str(status): _error(status, operation, schemas) for status in operation.errors},
        },
    }
    rule = rule_of(route.view_function)
    if rule is None:
        raise ValueError(f"{route.method} {route.uri_pattern} has no access rule: add @requires")
    described["description"] = rule.describe()
    described["x-access"] = rule.document()
    security = _security(route)
    if security:
        described["security"] = security
        refusals = (401,) if rule.role is None else (401, 403)
        for status in refusals:
            described["responses"][str(status)] = _error(status, operation, schemas)
    if operation.body is not None:
        body: dict[str, Any] = {"schema": schemas.ref(operation.body, "validation")}
        if operation.example is not None:
            body["example"] = dict(operation.example)
        described["requestBody"] = {"required": True, "content": {JSON: body}}
    if not described["parameters"]:
        del described["parameters"]
    return described


def _webhooks(schemas: _Schemas) -> dict[str, Any]:
    """The calls the API makes to subscribed URLs (OpenAPI 3.1's `webhooks`): what receivers
    implement, with the Standard Webhooks headers that prove each came from here."""
    headers = [
        {
            "name": name,
            "in": "header",
            "required": header.required,
            "description": header.description,
            "schema": dict(header.schema),
        }
        for name, header in contract.WEBHOOK_HEADERS.items()
    ]
    answers = {status: {"description": text} for status, text in contract.WEBHOOK_ANSWERS.items()}
    return {
        name: {
            "post": {
                "operationId": f"webhook_{name}",
                "tags": ["webhooks"],
                "summary": webhook.summary,
                "description": webhook.description,
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": schemas.ref(webhook.body, "serialization"),
                            "example": dict(webhook.example),
                        }
                    },
                },
                "responses": answers,
            }
        }
        for name, webhook in contract.WEBHOOKS.items()
    }


def _security(route: RouteEntry) -> list[dict[str, list[str]]]:
    """What the route's authorizer asks of callers; nothing where the stage is open."""
    if route.authorizer is None:
        return []
    scheme = contract.AUTHORIZER_SCHEMES.get(type(route.authorizer).__name__)
    return [] if scheme is None else [{scheme: []}]


def _path_parameters(names: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": contract.PATH_PARAMETERS[name]}
        for name in names
    ]


def _parameter(name: str) -> dict[str, Any]:
    parameter = contract.PARAMETERS[name]
    return {
        "name": name,
        "in": parameter.location,
        "required": parameter.required,
        "description": parameter.description,
        "schema": dict(parameter.schema),
    }


def _success(operation: Operation, schemas: _Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": operation.summary,
        "headers": _headers(operation.answer_headers),
    }
    if operation.answer is not None:
        schema = schemas.of(operation.answer)
        response["content"] = {media: {"schema": schema} for media in operation.media_types}
    if operation.links:
        response["links"] = {
            operation_id: {"operationId": operation_id, "parameters": dict(parameters)}
            for operation_id, parameters in operation.links.items()
        }
    return response


def _error(status: int, operation: Operation, schemas: _Schemas) -> dict[str, Any]:
    body = contract.ERROR_BODIES.get(status, contract.ErrorBody)
    response: dict[str, Any] = {
        "description": operation.reasons.get(status, contract.STATUS_REASONS[status]),
        "headers": _headers(contract.ERROR_HEADERS.get(status, ())),
    }
    if status not in contract.EMPTY_STATUSES:
        response["content"] = {JSON: {"schema": schemas.ref(body, "serialization")}}
    return response


def _headers(names: Iterable[str]) -> dict[str, Any]:
    every = (*names, *contract.EVERY_RESPONSE_HEADERS)
    return {name: {"$ref": f"#/components/headers/{name}"} for name in every}
