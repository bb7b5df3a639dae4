"""Who may call each route: one rule per view, declared beside the route with `@requires`, checked
before the view runs, and shown in the OpenAPI document (`x-access`).

The check runs as HTTP middleware, innermost, so a refusal still carries the CORS headers and
the request id, and no view can forget it: a route whose view declares no rule is refused to
everyone but admins, and a test fails the build for it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib.api.http import View, caller, error_response
from chalicelib.api.identity import Principal, Role
from chalicelib.errors import DomainError, Forbidden
from chalicelib.observability import logger

_RULE_ATTRIBUTE = "access_rule"


@dataclass(frozen=True)
class Rule:
    """What a caller needs: `role` in the department the path parameter `department` names, or
    (with no department) platform-wide; `role=None` asks only that they are signed in."""

    role: Role | None
    department: str | None = None
    public: bool = False

    def check(self, principal: Principal, path: Mapping[str, str]) -> None:
        if self.public or self.role is None:
            return
        department_id = path.get(self.department) if self.department else None
        if not principal.may(self.role, department_id):
            raise Forbidden(self.role, department_id)

    def document(self) -> dict[str, Any]:
        """The rule as the OpenAPI document's `x-access` shows it."""
        if self.public:
            return {"public": True}
        described: dict[str, Any] = {"role": self.role or "signed-in"}
        if self.department:
            described["department"] = self.department
        return described

    def describe(self) -> str:
        if self.public:
            return "Anyone may call this."
        if self.role is None:
            return "Any signed-in caller; the answer holds only what they may see."
        if self.department:
            return f"Needs the `{self.role}` role in the department (or `admin`)."
        return f"Needs the `{self.role}` role."


PUBLIC = Rule(None, public=True)
SIGNED_IN = Rule(None)
ADMIN = Rule("admin")
VIEWER = Rule("viewer", department="department_id")
EDITOR = Rule("editor", department="department_id")


def requires(rule: Rule) -> Callable[[View], View]:
    """Declares the rule the view's route needs; the `authorize` middleware enforces it."""

    def declare(view: View) -> View:
        setattr(view, _RULE_ATTRIBUTE, rule)
        return view

    return declare


def rule_of(view: Callable[..., Any]) -> Rule | None:
    rule = getattr(view, _RULE_ATTRIBUTE, None)
    return rule if isinstance(rule, Rule) else None


def authorize(app: Chalice) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """HTTP middleware: the caller must hold what the route's rule asks, before the view runs."""

    def check(request: Request, get_response: Callable[[Request], Response]) -> Response:
        resource = (request.context or {}).get("resourcePath", "")
        entry = app.routes.get(resource, {}).get(request.method)
        if entry is None:
            return get_response(request)  # no such route: the gateway's 404 or 405 follows
        rule = rule_of(entry.view_function)
        if rule is None:
            logger.error("route without an access rule", extra={"route": resource})
            rule = ADMIN
        if rule.public:
            return get_response(request)
        try:
            rule.check(caller(request), request.uri_params or {})
        except DomainError as error:
            return error_response(error)
        return get_response(request)

    return check
