"""Validation rules shared by the API and every other writer."""

import unicodedata

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.formats import is_calendar_date
from chalicelib.models import (
    DepartmentCreate,
    DepartmentUpdate,
    EventCreate,
    EventUpdate,
    department_name_key,
    parse,
)


def fields_of(error: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {problem.field: problem.message for problem in error.value.fields}


@pytest.mark.parametrize("value", ["2024-01-20", "2024-02-29", "1999-12-31"])
def test_real_calendar_dates_are_accepted(value):
    assert is_calendar_date(value)


@pytest.mark.parametrize(
    "value", ["2024-02-30", "2023-02-29", "2024-13-01", "2024-1-20", "20240120", "2024-01-20T00"]
)
def test_impossible_or_misshapen_dates_are_refused(value):
    assert not is_calendar_date(value)


def test_event_with_impossible_date_names_the_field():
    with pytest.raises(ValidationFailed) as error:
        parse(EventCreate, {"event_date": "2024-02-30", "title": "팀 회의"})
    assert "event_date" in fields_of(error)


def test_korean_text_is_kept_exactly_and_time_is_not_trimmed():
    # Given text with Korean, a decomposed (NFD) syllable and surrounding spaces in `time`
    nfd_title = unicodedata.normalize("NFD", "회의")
    # When it is parsed
    event = parse(
        EventCreate,
        {
            "event_date": "2024-01-20",
            "title": nfd_title,
            "time": " 오후 3:00 ",
            "description": "준비물\n노트북",
        },
    )
    # Then nothing is normalised: the bytes stay as given
    assert event.title.encode() == nfd_title.encode()
    assert event.time == " 오후 3:00 "
    assert event.description == "준비물\n노트북"


def test_names_lose_surrounding_whitespace_only():
    assert parse(DepartmentCreate, {"name": "  QA팀 "}).name == "QA팀"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 42}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "QA", "extra": 1}, "extra"),
        ({"name": "QA", "description": "x" * 2001}, "description"),
    ],
)
def test_invalid_department_bodies_name_the_field(body, field):
    with pytest.raises(ValidationFailed) as error:
        parse(DepartmentCreate, body)
    assert field in fields_of(error)


def test_limits_are_inclusive():
    assert parse(DepartmentCreate, {"name": "가" * 100, "description": "나" * 2000})
    assert parse(EventCreate, {"event_date": "2024-01-01", "title": "t" * 200, "time": "t" * 50})


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(ValidationFailed):
        parse(DepartmentCreate, ["name"])


def test_partial_update_needs_at_least_one_field():
    with pytest.raises(ValidationFailed) as error:
        parse(EventUpdate, {})
    assert "give at least one of" in error.value.fields[0].message


def test_partial_update_refuses_null():
    with pytest.raises(ValidationFailed) as error:
        parse(DepartmentUpdate, {"description": None})
    assert fields_of(error) == {"description": "must not be null"}


def test_partial_update_reports_only_the_fields_given():
    update = parse(EventUpdate, {"description": "회의실 B"})
    assert update.changes() == {"description": "회의실 B"}


def test_a_time_text_that_reads_as_a_time_also_sets_the_times():
    # Given a PATCH of the time text alone
    update = parse(EventUpdate, {"time": "오후 4:00"})
    # Then the start follows it, and an end from before is dropped ("" removes it)
    assert update.changes() == {"time": "오후 4:00", "start_time": "16:00", "end_time": ""}
    # And a range gives both
    ranged = parse(EventUpdate, {"time": "오후 3시~5시"})
    assert ranged.changes() == {"time": "오후 3시~5시", "start_time": "15:00", "end_time": "17:00"}


def test_text_that_is_not_a_time_leaves_the_times_alone():
    assert parse(EventUpdate, {"time": "점심 이후"}).changes() == {"time": "점심 이후"}
    created = parse(EventCreate, {"event_date": "2024-01-25", "title": "회의", "time": "미정"})
    assert created.start_time == ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("QA팀", "qa팀"),
        ("QA팀", "  QA팀  "),
        (unicodedata.normalize("NFD", "개발팀"), unicodedata.normalize("NFC", "개발팀")),
        ("STRASSE", "straße"),
    ],
)
def test_department_names_compare_trimmed_nfc_and_casefolded(a, b):
    assert department_name_key(a) == department_name_key(b)


def test_different_names_have_different_keys():
    assert department_name_key("개발팀") != department_name_key("개발 팀")


TIMED = {"event_date": "2024-01-25", "title": "주간 회의", "start_time": "14:00"}


def test_reminders_are_kept_sorted():
    # When a timed event and a department give their reminders in any order
    event = parse(EventCreate, {**TIMED, "reminders": [60, 0, 10]})
    department = parse(DepartmentCreate, {"name": "QA팀", "reminders": [1440, 30]})
    # Then they are kept in ascending order
    assert event.reminders == [0, 10, 60]
    assert department.reminders == [30, 1440]


def test_reminders_bounds_are_inclusive():
    assert parse(EventCreate, {**TIMED, "reminders": [0, 10080]}).reminders == [0, 10080]


@pytest.mark.parametrize(
    ("reminders", "message"),
    [
        ([-1], "each must be whole minutes from 0 to 10080 (a week)"),
        ([10081], "each must be whole minutes from 0 to 10080 (a week)"),
        ([10, 10], "must not repeat a value"),
        ([1, 2, 3, 4, 5, 6], "must hold at most 5 values"),
        ("10", "Input should be a valid list"),
    ],
)
@pytest.mark.parametrize(
    ("model", "body"),
    [
        (EventCreate, TIMED),
        (EventUpdate, {}),
        (DepartmentCreate, {"name": "QA팀"}),
        (DepartmentUpdate, {}),
    ],
)
def test_invalid_reminders_are_refused_naming_the_field(model, body, reminders, message):
    # When a body gives reminders out of bounds, repeated, too many or not a list
    with pytest.raises(ValidationFailed) as error:
        parse(model, {**body, "reminders": reminders})
    # Then the refusal names `reminders` and says why
    assert fields_of(error) == {"reminders": message}


@pytest.mark.parametrize("minutes", [1.5, True, "10"])
def test_a_reminder_is_a_whole_number(minutes):
    with pytest.raises(ValidationFailed) as error:
        parse(EventCreate, {**TIMED, "reminders": [minutes]})
    assert fields_of(error) == {"reminders.0": "must be a whole number"}


@pytest.mark.parametrize(
    "body",
    [
        {"event_date": "2024-01-25", "title": "워크숍"},
        {"event_date": "2024-01-25", "title": "워크숍", "time": "미정"},
        {"event_date": "2024-01-25", "title": "워크숍", "all_day": True},
    ],
)
def test_an_all_day_event_with_reminders_is_refused_naming_reminders(body):
    # Given an event without a start_time
    # When it asks for reminders
    with pytest.raises(ValidationFailed) as error:
        parse(EventCreate, {**body, "reminders": [10]})
    # Then reminders are refused: they count back from a start time
    assert fields_of(error) == {"reminders": "need a start_time: an all-day event has no reminders"}


def test_an_all_day_event_may_say_it_has_no_reminders():
    body = {"event_date": "2024-01-25", "title": "창립 기념일", "reminders": []}
    event = parse(EventCreate, body)
    assert event.reminders == []


def test_a_time_text_gives_the_start_reminders_need():
    body = {"event_date": "2024-01-25", "title": "팀 회의", "time": "오후 3시", "reminders": [10]}
    assert parse(EventCreate, body).reminders == [10]


def test_absent_reminders_mean_the_departments_default():
    assert parse(EventCreate, TIMED).reminders is None
    assert parse(EventCreate, {**TIMED, "reminders": None}).reminders is None


@pytest.mark.parametrize("body", [{"all_day": True}, {"start_time": ""}])
def test_a_patch_that_makes_an_event_all_day_cannot_add_reminders(body):
    with pytest.raises(ValidationFailed) as error:
        parse(EventUpdate, {**body, "reminders": [10]})
    assert "reminders" in fields_of(error)


@pytest.mark.parametrize("model", [EventUpdate, DepartmentUpdate])
def test_a_patch_may_set_reminders_to_null_and_nothing_else(model):
    # When a PATCH sends reminders: null (back to the default)
    update = parse(model, {"reminders": None})
    # Then that is a change of its own
    assert update.changes() == {"reminders": None}
    # And other fields still refuse null
    with pytest.raises(ValidationFailed) as error:
        parse(model, {"reminders": None, "description": None})
    assert fields_of(error) == {"description": "must not be null"}


def test_the_patch_schema_says_only_reminders_may_be_null():
    properties = EventUpdate.model_json_schema()["properties"]
    assert {"type": "null"} in properties["reminders"]["anyOf"]
    assert "anyOf" not in properties["title"]
