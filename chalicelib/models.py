"""Request and response models (pydantic v2), and the rules every writer shares.

Text is stored exactly as given (Korean included, byte for byte); only names and titles lose
surrounding whitespace. Uniqueness of department names is decided on a normalised key instead.
"""

import re
import unicodedata
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from chalicelib.calendar.moments import DEFAULT_ZONE, is_zone
from chalicelib.calendar.schedule import Schedule, instant_text
from chalicelib.calendar.time_text import read_times
from chalicelib.errors import FieldProblem, ValidationFailed
from chalicelib.formats import is_calendar_date
from chalicelib.webhooks.payloads import Format

NAME_MAX = 100
TITLE_MAX = 200
TIME_MAX = 50
DESCRIPTION_MAX = 2000
RECURRENCE_MAX = 500
EXDATES_MAX = 500
ZONE_MAX = 64
REMINDER_MINUTES_MAX = 10080  # a week
REMINDERS_MAX = 5

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")

# C0 controls and DEL; descriptions may still hold line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _calendar_date(value: str) -> str:
    if not is_calendar_date(value):
        raise ValueError("must be a real calendar date written YYYY-MM-DD")
    return value


def _calendar_date_or_empty(value: str) -> str:
    return value if value == "" else _calendar_date(value)


def _clock_time(value: str) -> str:
    if value and not _CLOCK.fullmatch(value):
        raise ValueError("must be a time written HH:MM (24-hour), e.g. 15:00")
    return value


def _zone_name(value: str) -> str:
    if not is_zone(value):
        raise ValueError("must be an IANA time zone name such as Asia/Seoul")
    return value


def _rule(value: str) -> str:
    """The canonical form of an RRULE; "" (no recurrence) stays "" ."""
    if not value:
        return value
    from chalicelib.calendar.recurrence import RuleError, parse_rule

    try:
        return parse_rule(value).text
    except RuleError as error:
        raise ValueError(str(error)) from None


def _sorted_dates(value: list[str]) -> list[str]:
    return sorted(set(value))


def _reminder_minutes(values: list[int]) -> list[int]:
    if len(values) > REMINDERS_MAX:
        raise ValueError(f"must hold at most {REMINDERS_MAX} values")
    if any(not 0 <= minutes <= REMINDER_MINUTES_MAX for minutes in values):
        raise ValueError(f"each must be whole minutes from 0 to {REMINDER_MINUTES_MAX} (a week)")
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return sorted(values)


REMINDERS_NEED_START = "need a start_time: an all-day event has no reminders"


def check_reminders_timed(start_time: str | None, reminders: list[int] | None) -> None:
    """Reminders count back from a start time, so only a timed event has them ([] is fine)."""
    if reminders and not start_time:
        raise ValueError(REMINDERS_NEED_START)


def _single_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _printable_text(value: str) -> str:
    if _CONTROL_EXCEPT_WHITESPACE.search(value):
        raise ValueError("must not contain control characters")
    return value


def department_name_key(name: str) -> str:
    """The form under which names are compared: trimmed, NFC-normalised and case-folded."""
    folded = unicodedata.normalize("NFC", name.strip()).casefold()
    return unicodedata.normalize("NFC", folded)


# What the validators above check, said in JSON Schema for the published contract (pydantic
# cannot see inside an AfterValidator). Documentation only: the validators stay the rule.
_SINGLE_LINE = r"^[^\x00-\x1f\x7f]*$"
_NOT_BLANK_SINGLE_LINE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _documented(**schema: str) -> Any:
    extra: JsonDict = {**schema}
    return Field(json_schema_extra=extra)


DepartmentName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX),
    AfterValidator(_single_line),
    _documented(pattern=_NOT_BLANK_SINGLE_LINE),
]
EventTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX),
    AfterValidator(_single_line),
    _documented(pattern=_NOT_BLANK_SINGLE_LINE),
]
EventTime = Annotated[
    str,
    StringConstraints(max_length=TIME_MAX),
    AfterValidator(_single_line),
    _documented(pattern=_SINGLE_LINE),
]
Description = Annotated[
    str,
    StringConstraints(max_length=DESCRIPTION_MAX),
    AfterValidator(_printable_text),
    _documented(pattern=_PRINTABLE),
]
EventDate = Annotated[str, AfterValidator(_calendar_date), _documented(format="date")]
# Optional parts of an event: "" leaves them out (and a PATCH with "" removes them).
EndDate = Annotated[
    str,
    AfterValidator(_calendar_date_or_empty),
    _documented(pattern=r"^(\d{4}-\d{2}-\d{2})?$"),
]
ClockTime = Annotated[
    str, AfterValidator(_clock_time), _documented(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$")
]
ZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ZONE_MAX),
    AfterValidator(_zone_name),
]
Recurrence = Annotated[str, StringConstraints(max_length=RECURRENCE_MAX), AfterValidator(_rule)]
ExDates = Annotated[list[EventDate], Field(max_length=EXDATES_MAX), AfterValidator(_sorted_dates)]
# Checked by the validator (one message naming `reminders`); the schema says the same.
Reminders = Annotated[
    list[int],
    AfterValidator(_reminder_minutes),
    Field(
        json_schema_extra={
            "items": {"type": "integer", "minimum": 0, "maximum": REMINDER_MINUTES_MAX},
            "maxItems": REMINDERS_MAX,
            "uniqueItems": True,
        }
    ),
]
_EVENT_REMINDERS = (
    "Minutes before the start when a reminder is sent, e.g. `[10, 60]`: whole numbers from 0 "
    f"to {REMINDER_MINUTES_MAX} (a week), at most {REMINDERS_MAX}, each once; kept sorted. "
    "Only a timed event (one with `start_time`) may have them; a series' apply to every "
    "occurrence. `[]`: none for this event."
)
_DEPARTMENT_REMINDERS = (
    "The reminders of the department's events that set none: minutes before the start, "
    f"0 to {REMINDER_MINUTES_MAX}, at most {REMINDERS_MAX}, each once; kept sorted."
)


class _Input(BaseModel):
    # strict: a number is not a string; forbid: a misspelt field is an error, not silently dropped.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


def _present_fields_are_not_null(schema: dict[str, Any], model: type[Any]) -> None:
    """The JSON Schema of a _PartialUpdate: fields are optional but never null (except those
    whose null means "back to the default"), and one is needed (pydantic would otherwise
    publish `X | None` as "may be null")."""
    schema["minProperties"] = 1
    for name, field in schema["properties"].items():
        field.pop("default", None)
        if name in model.nullable:
            continue
        for choice in field.pop("anyOf", []):
            if choice.get("type") != "null":
                field.update(choice)


class _PartialUpdate(_Input):
    """A PATCH body: every field optional, none may be null, at least one must be present."""

    model_config = ConfigDict(json_schema_extra=_present_fields_are_not_null)
    # Fields a PATCH may set to null: it removes them, and their default applies again.
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("must not be null")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            fields = ", ".join(type(self).model_fields)
            raise ValueError(f"give at least one of: {fields}")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class DepartmentCreate(_Input):
    name: DepartmentName
    description: Description = ""
    reminders: Reminders | None = Field(
        default=None, description=f"{_DEPARTMENT_REMINDERS} Absent or null: no default."
    )


class DepartmentUpdate(_PartialUpdate):
    nullable = frozenset({"reminders"})

    name: DepartmentName | None = None
    description: Description | None = None
    reminders: Reminders | None = Field(
        default=None, description=f"{_DEPARTMENT_REMINDERS} null: no default any more."
    )


def _derive_times(data: Any) -> Any:
    """A `time` written as text ("오후 3:00", "15:00-17:00") also gives start_time (and end_time
    for a range), unless the body sets the times itself or says the event is all-day."""
    if not isinstance(data, dict) or data.get("start_time") or data.get("all_day") is True:
        return data
    text = data.get("time")
    times = read_times(text) if isinstance(text, str) else None
    if times is None:
        return data
    start, end = times
    derived = {**data, "start_time": start}
    if "end_time" not in data:
        # A text without an end ends no earlier time either: a PATCH drops the old end.
        derived["end_time"] = end or ""
    return derived


class _EventInput(_Input):
    """What both a create and an update may say about when an event happens."""

    @model_validator(mode="before")
    @classmethod
    def _times_from_text(cls, data: Any) -> Any:
        return _derive_times(data)

    @model_validator(mode="after")
    def _all_day_has_no_times(self) -> Self:
        all_day = getattr(self, "all_day", None)
        times = (getattr(self, "start_time", None), getattr(self, "end_time", None))
        if all_day is True and any(times):
            raise ValueError("all_day: true leaves out start_time and end_time")
        if all_day is False and "start_time" in self.model_fields_set and not times[0]:
            raise ValueError("all_day: false needs a start_time")
        return self

    @field_validator("reminders", mode="after", check_fields=False)
    @classmethod
    def _reminders_are_timed(cls, value: list[int] | None, info: ValidationInfo) -> Any:
        """What the body itself says: an all-day event (or one made all-day) has none. A PATCH
        is checked again against the whole event when it is applied."""
        if "start_time" not in info.data:
            return value  # start_time was refused itself
        start_time = info.data["start_time"]
        if info.data.get("all_day") is True:
            start_time = ""
        elif start_time is None:  # a PATCH that leaves the times as they are
            return value
        check_reminders_timed(start_time, value)
        return value


class EventCreate(_EventInput):
    event_date: EventDate
    title: EventTitle
    time: EventTime = ""
    description: Description = ""
    start_time: ClockTime = ""
    end_time: ClockTime = ""
    end_date: EndDate = ""
    all_day: bool | None = None
    timezone: ZoneName = DEFAULT_ZONE
    recurrence: Recurrence = ""
    exdates: ExDates = Field(default_factory=list)
    # Last: its check reads the times validated before it.
    reminders: Reminders | None = Field(
        default=None, description=f"{_EVENT_REMINDERS} Absent or null: the department's default."
    )

    @model_validator(mode="after")
    def _timed_unless_all_day(self) -> Self:
        if self.all_day is False and not self.start_time:
            raise ValueError("all_day: false needs a start_time")
        return self


class EventUpdate(_EventInput, _PartialUpdate):
    nullable = frozenset({"reminders"})

    event_date: EventDate | None = None
    title: EventTitle | None = None
    time: EventTime | None = None
    description: Description | None = None
    start_time: ClockTime | None = None
    end_time: ClockTime | None = None
    end_date: EndDate | None = None
    all_day: bool | None = None
    timezone: ZoneName | None = None
    recurrence: Recurrence | None = None
    exdates: ExDates | None = None
    reminders: Reminders | None = Field(
        default=None, description=f"{_EVENT_REMINDERS} null: back to the department's default."
    )


class Conflict(BaseModel):
    """Another timed event of the department that overlaps the one just written."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    title: str
    start: str
    end: str


class _Output(BaseModel):
    # Validators are built on a model's first use, not at import: a cold start pays only for
    # the models its first request needs.
    model_config = ConfigDict(frozen=True, defer_build=True)


class Department(_Output):
    id: str
    name: str
    description: str
    created_at: str
    updated_at: str
    version: int
    reminders: list[int] | None = Field(
        default=None,
        description="Minutes before the start of each event that sets none; null: no default",
    )


class Event(_Output):
    id: str
    department_id: str
    event_date: str
    title: str
    time: str
    description: str
    start_time: str | None = None
    end_time: str | None = None
    end_date: str | None = None
    timezone: str = DEFAULT_ZONE
    recurrence: str | None = None
    exdates: list[str] = Field(default_factory=list)
    reminders: list[int] | None = Field(
        default=None,
        description="Minutes before the start when a reminder is sent; null: the "
        "department's default applies",
    )
    # Set on the occurrences of a series a listing expands, and on a changed occurrence.
    series_id: str | None = None
    occurrence_date: str | None = None
    # A public holiday a listing mixed in (?include=holidays): read-only, not stored.
    holiday: bool = False
    created_at: str
    updated_at: str
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def all_day(self) -> bool:
        return self.start_time is None

    @computed_field(description="RFC 3339 with the zone's offset; null for all-day events")  # type: ignore[prop-decorator]
    @property
    def start(self) -> str | None:
        return instant_text(self._schedule().start())

    @computed_field(description="RFC 3339 with the zone's offset; null for all-day events")  # type: ignore[prop-decorator]
    @property
    def end(self) -> str | None:
        return instant_text(self._schedule().end())

    def _schedule(self) -> Schedule:
        return Schedule.of(self.__dict__)


class EventAnswer(Event):
    """A created or changed event, with the timed events of its department it overlaps."""

    conflicts: list[Conflict] = Field(default_factory=list)


class DepartmentPage(_Output):
    items: list[Department]
    next_token: str | None


class EventPage(_Output):
    items: list[Event]
    next_token: str | None


def parse[M: BaseModel](model: type[M], data: Any) -> M:
    """Validate a decoded JSON body, turning pydantic's report into a 400 that names each field."""
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = tuple(_problem(detail) for detail in error.errors(include_url=False))
        fields = ", ".join(p.field for p in problems)
        raise ValidationFailed(f"Invalid field(s): {fields}.", fields=problems) from None


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "int_type": "must be a whole number",
}


def _problem(detail: Any) -> FieldProblem:
    field = ".".join(str(part) for part in detail["loc"]) or "body"
    kind = detail["type"]
    if kind == "string_too_long":
        message = f"must be at most {detail['ctx']['max_length']} characters"
    elif kind == "value_error":
        message = str(detail["ctx"]["error"])
    else:
        message = _MESSAGES.get(kind, detail["msg"])
    return FieldProblem(field, message)


class FieldChange(_Output):
    old: Any = None
    new: Any = None


class AuditEntry(_Output):
    """One change to a department or an event, as its table's stream reported it."""

    entity_type: str  # "department" | "event"
    entity_id: str
    department_id: str | None = None
    action: str  # "INSERT" | "MODIFY" | "REMOVE"
    at: str  # when DynamoDB recorded the change (ISO 8601 UTC)
    sequence_number: str
    actor: str
    changes: dict[str, FieldChange]  # MODIFY only: every field a person or program changed
    old_image: dict[str, Any] | None = None
    new_image: dict[str, Any] | None = None
    # True when the images were left out because the entry would exceed DynamoDB's 400 KB
    # item limit (items written by other tools can be that large); `changes` still says what.
    images_omitted: bool = False


class Notification(_Output):
    """What a department is told about a change to one of its events."""

    department_id: str
    event_id: str
    kind: str  # "created" | "updated" | "cancelled"
    title: str
    event_date: str
    time: str
    start_time: str | None = None
    end_time: str | None = None
    end_date: str | None = None
    timezone: str | None = None
    recurrence: str | None = None
    series_id: str | None = None
    occurrence_date: str | None = None
    changes: dict[str, FieldChange]
    text: str  # for people, in Korean
    actor: str
    at: str
    sequence_number: str


class EventChange(_Output):
    """One event's change since a sync token: its last, if it changed several times."""

    type: str = Field(description='"created", "changed" or "deleted"')
    id: str
    event: Event | None = Field(description="the event as it is now; null when deleted")


class ChangePage(_Output):
    """The change feed's answer: without `since`, every event as stored (`items`); with it,
    what changed since (`changes`). Either way the `sync_token` to send next time."""

    items: list[Event]
    changes: list[EventChange]
    sync_token: str


class AuditPage(_Output):
    items: list[AuditEntry]
    next_token: str | None


class NotificationPage(_Output):
    items: list[Notification]
    next_token: str | None


# Webhook subscriptions. The event names are chalicelib.webhooks.payloads.SUBSCRIBABLE, written
# out as a Literal so the contract lists them (a test keeps the two equal).
SubscribableEvent = Literal["created", "changed", "cancelled", "reminder", "digest"]
WEBHOOK_URL_MAX = 2000
_EVERY_EVENT: list[SubscribableEvent] = ["created", "changed", "cancelled", "reminder", "digest"]


def _each_once(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must name each event at most once")
    return values


SubscribedEvents = Annotated[
    list[SubscribableEvent],
    Field(min_length=1, max_length=len(_EVERY_EVENT), json_schema_extra={"uniqueItems": True}),
    AfterValidator(_each_once),
]


class SubscriptionCreate(_Input):
    url: Annotated[str, StringConstraints(min_length=1, max_length=WEBHOOK_URL_MAX)] = Field(
        description="Where to send the notifications: an `https` address on the public "
        "internet, called once with a signed `ping` before the subscription is made (it must "
        "answer 2xx, without redirecting). No user name or password in it."
    )
    events: SubscribedEvents = Field(
        default=_EVERY_EVENT,
        description="Which notifications to send: `created`, `changed`, `cancelled` (an "
        "event's), `reminder`, `digest`. Every one unless given.",
    )
    format: Format = Field(
        default="json",
        description="`json`: the signed envelope `{type, timestamp, data}`. `slack`: "
        "`{text}`, what Slack's incoming webhooks read.",
    )


class SubscriptionAnswer(_Output):
    """A webhook subscription as the API shows it; its secret only ever in SubscriptionCreated
    and SubscriptionSecret."""

    id: str
    department_id: str
    url: str
    events: list[str]
    format: str = Field(description='"json" or "slack"')
    status: str = Field(
        description='"active", or "paused" once its deliveries have failed for 24 hours '
        "without a success: nothing more is sent to it (create it again to resume)"
    )
    created_at: str
    created_by: str
    failing_since: str | None = Field(
        default=None,
        description="the first failed delivery since the last success; null while "
        "deliveries get through",
    )
    paused_at: str | None = None
    version: int


class SubscriptionCreated(SubscriptionAnswer):
    secret: str = Field(
        description="The signing secret (`whsec_…`), shown only in this answer: keep it to "
        "verify the `webhook-signature` of each call. `POST …/secret` replaces it."
    )


class SubscriptionSecret(_Output):
    secret: str = Field(
        description="The new signing secret (`whsec_…`); calls are signed with it from now on, "
        "and the previous one no longer verifies them."
    )


class SubscriptionPage(_Output):
    items: list[SubscriptionAnswer]
    next_token: str | None


class Delivery(_Output):
    """One notification's delivery to a subscription: its attempts so far and how they went."""

    subscription_id: str
    notification_key: str = Field(description="the inbox notification's `change_key`")
    department_id: str
    webhook_id: str = Field(description="the `webhook-id` header of every attempt")
    kind: str = Field(description="the notification's kind: `created`, `updated`, `cancelled`")
    status: str = Field(
        description='"pending" (waiting for its next attempt), "delivered", or "failed" '
        "(given up after a day of attempts, or its subscription was paused)"
    )
    attempts: int
    created_at: str
    last_attempt_at: str | None = None
    last_status: int | None = Field(
        default=None, description="the HTTP status of the last answer; null if none came"
    )
    last_error: str | None = Field(default=None, description="why the last attempt failed")
    next_attempt_at: str | None = None
    delivered_at: str | None = None


class DeliveryPage(_Output):
    items: list[Delivery]
    next_token: str | None
