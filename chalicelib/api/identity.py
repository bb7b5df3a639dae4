"""Who is calling, and which role they hold in each department.

API Gateway's authorizer has checked the caller before Lambda runs; this module only reads what
it established. Where the stage has an authorizer, nothing the caller writes (the X-Actor header,
a claim the authorizer did not set) can change who they are. Only the local stack and stages
that turn authentication off take the X-Actor header, and there every caller may do everything.

Roles come in one vocabulary of group names, from Cognito groups (`cognito:groups`) or, for IAM
principals, from the stage's mapping (IAM_GRANTS):
- `admin`: everything, every department;
- `dept-<id>-editor`: department <id>'s events, feed link and subscriptions, and reading it;
- `dept-<id>-viewer`: reading department <id>: its events, history, inbox and changes.
"""

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.errors import FieldProblem, InvalidRequest, Unauthenticated
from chalicelib.formats import ADMIN_GROUP, department_group
from chalicelib.settings import Settings

Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")
_RANK: Mapping[Role, int] = {role: rank for rank, role in enumerate(ROLES)}

_ACTOR_MAX = 200


@dataclass(frozen=True)
class Principal:
    """The caller: the name their changes are recorded under, and their roles."""

    actor: str
    admin: bool = False
    # Department id → the strongest role held there (admins hold every role everywhere).
    departments: Mapping[str, Role] = field(default_factory=dict)
    # False on the local stack and open stages: the actor is whatever X-Actor says.
    authenticated: bool = True

    def may(self, role: Role, department_id: str | None = None) -> bool:
        """Whether the caller holds `role` (or a stronger one) in `department_id`; with no
        department, whether they hold it platform-wide (only `admin` is platform-wide)."""
        if self.admin:
            return True
        if department_id is None:
            return False
        held = self.departments.get(department_id)
        return held is not None and _RANK[held] >= _RANK[role]

    def visible_departments(self) -> frozenset[str] | None:
        """The departments the caller may see; None when they may see every one."""
        return None if self.admin else frozenset(self.departments)


def principal_from_groups(actor: str, groups: Iterable[str]) -> Principal:
    admin = False
    departments: dict[str, Role] = {}
    for group in groups:
        if group == ADMIN_GROUP:
            admin = True
            continue
        grant = department_group(group)
        if grant is None:
            continue  # groups that mean something elsewhere in the pool, not here
        department = grant[0]
        role: Role = "editor" if grant[1] == "editor" else "viewer"
        held = departments.get(department)
        if held is None or _RANK[role] > _RANK[held]:
            departments[department] = role
    return Principal(actor=actor, admin=admin, departments=departments)


def principal_of(context: Mapping[str, Any] | None, x_actor: str, settings: Settings) -> Principal:
    """The caller of a request with API Gateway's request `context`. `x_actor` is the X-Actor
    header as received, believed only where the stage has no authorizer."""
    context = context or {}
    if settings.authorizer is None:
        return Principal(actor=_header_actor(x_actor), admin=True, authenticated=False)
    if settings.authorizer == "cognito":
        claims = (context.get("authorizer") or {}).get("claims") or {}
        # An ID token names the user in cognito:username, an access token in username; sub is
        # the one claim every token has.
        name = claims.get("cognito:username") or claims.get("username") or claims.get("sub")
        if not name:
            raise Unauthenticated()
        return principal_from_groups(str(name), claim_list(claims.get("cognito:groups")))
    arn = (context.get("identity") or {}).get("userArn")
    if not arn:
        raise Unauthenticated()
    return principal_from_groups(str(arn), iam_groups(str(arn), settings.iam_grants))


def iam_groups(arn: str, grants: Iterable[tuple[str, tuple[str, ...]]]) -> list[str]:
    """The groups the stage's IAM_GRANTS give `arn`: patterns match whole ARNs, `*` standing
    for any text (an assumed role's session name, say)."""
    return [
        group for pattern, groups in grants if fnmatch.fnmatchcase(arn, pattern) for group in groups
    ]


def claim_list(value: Any) -> list[str]:
    """A list claim as API Gateway hands it over: a JSON list, `"a,b"` (REST APIs) or
    `"[a b]"` (HTTP APIs)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part for part in re.split(r"[,\s]+", text) if part]


def _header_actor(raw: str) -> str:
    header = _utf8_header(raw).strip()
    if not header:
        return "anonymous"
    if len(header) > _ACTOR_MAX or not header.isprintable():
        raise InvalidRequest(
            f"X-Actor must be printable text of at most {_ACTOR_MAX} characters.",
            fields=(FieldProblem("X-Actor", "must be printable text"),),
        )
    return header


def _utf8_header(value: str) -> str:
    """A header value sent as UTF-8 (`X-Actor: 김철수`). HTTP servers decode header bytes as
    latin-1, as HTTP/1.1 defines them; undo that when the bytes are valid UTF-8, so Korean
    names arrive intact."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value
