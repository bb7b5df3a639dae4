"""The shapes of plain values (ids, calendar dates), checked without pydantic.

Routes check path and query values with these before any model is needed, so the API's
cold start does not have to load pydantic; the models use the same rules for bodies.
"""

import re
from datetime import date

_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Ids are UUIDs the server makes, or ids kept from the legacy data: short, plain ASCII.
ID_PATTERN = r"[A-Za-z0-9._:-]{1,128}"
_ID = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    return bool(_ID.fullmatch(value))


def is_calendar_date(value: str) -> bool:
    if not _DATE_SHAPE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# Group names that grant roles, from Cognito groups or the stage's IAM_GRANTS:
# `admin`, `dept-<id>-editor`, `dept-<id>-viewer`.
ADMIN_GROUP = "admin"
_DEPARTMENT_GROUP = re.compile(rf"dept-(?P<department>{ID_PATTERN})-(?P<role>editor|viewer)")


def department_group(name: str) -> tuple[str, str] | None:
    """(department id, "editor" or "viewer") for a department's group name, else None."""
    match = _DEPARTMENT_GROUP.fullmatch(name)
    return None if match is None else (match["department"], match["role"])


def is_group(name: str) -> bool:
    """Whether `name` is a group this API gives a meaning to."""
    return name == ADMIN_GROUP or department_group(name) is not None
