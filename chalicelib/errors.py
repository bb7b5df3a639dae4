"""Domain errors, each carrying its HTTP status and machine-readable code.

The API layer turns any of these into a JSON response in one place (chalicelib/api/http.py);
nothing else decides status codes.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class DomainError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, fields: tuple[FieldProblem, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = [{"field": p.field, "message": p.message} for p in self.fields]
        return body

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(DomainError):
    status = 400
    code = "invalid_request"


class ValidationFailed(InvalidRequest):
    code = "validation_error"


class InvalidPageToken(InvalidRequest):
    code = "invalid_next_token"


class Unauthenticated(DomainError):
    """A stage with an authorizer handed over no identity: the caller is nobody we know."""

    status = 401
    code = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("Sign in: this stage needs an authenticated caller.")


class Forbidden(DomainError):
    """The caller is known but lacks the role the operation needs."""

    status = 403
    code = "forbidden"

    def __init__(self, role: str, department_id: str | None) -> None:
        where = f"department '{department_id}'" if department_id else "the whole calendar"
        super().__init__(f"This needs the {role} role in {where}.")
        self.role = role
        self.department_id = department_id

    def body(self) -> dict[str, object]:
        body = super().body()
        body["role"] = self.role
        if self.department_id:
            body["department_id"] = self.department_id
        return body


class NotFound(DomainError):
    status = 404
    code = "not_found"


class DepartmentNotFound(NotFound):
    code = "department_not_found"

    def __init__(self, department_id: str) -> None:
        super().__init__(f"No department with id '{department_id}'.")


class EventNotFound(NotFound):
    code = "event_not_found"

    def __init__(self, department_id: str, event_id: str) -> None:
        super().__init__(f"No event with id '{event_id}' in department '{department_id}'.")


class OccurrenceNotFound(NotFound):
    code = "occurrence_not_found"

    def __init__(self, series_id: str, day: str) -> None:
        super().__init__(f"Event '{series_id}' has no occurrence on {day}.")


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"

    def __init__(self, department_id: str, subscription_id: str) -> None:
        super().__init__(
            f"No subscription with id '{subscription_id}' in department '{department_id}'."
        )


class SyncTokenExpired(DomainError):
    """The change feed cannot continue from this token: start over without it."""

    status = 410
    code = "sync_token_expired"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class DepartmentNameTaken(Conflict):
    code = "department_name_taken"

    def __init__(self, existing: str, requested: str | None = None) -> None:
        """`existing`: the name as the department that holds it is called; `requested`: the
        name asked for, when it is written differently (names compare trimmed, NFC, case-folded)."""
        same = "" if requested in (None, existing) else f" ('{requested}' is the same name)"
        super().__init__(
            f"A department named '{existing}' already exists{same}.",
            fields=(FieldProblem("name", "is already taken by another department"),),
        )


class DepartmentHasEvents(Conflict):
    code = "department_has_events"

    def __init__(self, department_id: str) -> None:
        super().__init__(
            f"Department '{department_id}' still has events: delete them first, "
            "or delete with ?cascade=true to remove them too."
        )


class ConcurrentModification(Conflict):
    code = "concurrent_modification"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was changed by another request at the same time; try again.")


class VersionMismatch(DomainError):
    """If-Match named another version than the stored one: someone else changed it first."""

    status = 412
    code = "precondition_failed"

    def __init__(self, what: str, current_version: int) -> None:
        super().__init__(
            f"{what} has changed since you read it (now version {current_version}): "
            "read it again and reapply your change."
        )
        self.current_version = current_version

    def body(self) -> dict[str, object]:
        return {**super().body(), "current_version": self.current_version}

    def headers(self) -> dict[str, str]:
        return {"ETag": f'"{self.current_version}"'}


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key already used for a different request: replaying would be a lie and
    running it would break the key's promise, so neither happens."""

    status = 422
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for a new request.",
            fields=(FieldProblem("Idempotency-Key", "was already used for another request"),),
        )


class StorageUnavailable(DomainError):
    """DynamoDB cannot serve the request now (throttled, unreachable, table missing)."""

    status = 503
    code = "storage_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
