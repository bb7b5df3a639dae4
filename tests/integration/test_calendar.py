"""A real calendar through the API: times in zones, multi-day and recurring events, changed and
cancelled occurrences, overlaps, search and holidays (chalice.test.Client on moto)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest


@pytest.fixture
def department(api):
    return api.department(name="기획팀")


def listing(api, department_id: str, query: str) -> list[dict[str, Any]]:
    """Every item of a listing, page after page (small pages, to cross page boundaries)."""
    items: list[dict[str, Any]] = []
    token = None
    while True:
        path = f"/api/events/{department_id}?{query}&limit=7"
        reply = api.get(path + (f"&next_token={token}" if token else ""))
        assert reply.status == 200, reply.body
        items += reply.json["items"]
        token = reply.json["next_token"]
        if token is None:
            return items


@contextmanager
def another_writer_before(operation: str, department_id: str, event_id: str) -> Iterator[None]:
    """Another writer bumps the event's version just before each `operation` the app sends."""
    from chalicelib.context import get_context

    client = get_context().client

    def bump(**_: object) -> None:
        client.update_item(
            TableName="events",
            Key={"id": {"S": event_id}, "department_id": {"S": department_id}},
            UpdateExpression="ADD #v :one",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    client.meta.events.register(f"before-call.dynamodb.{operation}", bump)
    try:
        yield
    finally:
        client.meta.events.unregister(f"before-call.dynamodb.{operation}", bump)


def tuesdays(first: date, last: date) -> list[str]:
    day = first + timedelta(days=(1 - first.weekday()) % 7)
    found = []
    while day <= last:
        found.append(day.isoformat())
        day += timedelta(days=7)
    return found


def test_timed_event_answers_its_start_and_end_with_the_zone_offset(api, department):
    # Given a timed event in Seoul and one in New York in summer
    seoul = api.event(
        department["id"], event_date="2024-01-25", start_time="15:00", end_time="16:30"
    )
    new_york = api.event(
        department["id"],
        event_date="2024-07-04",
        start_time="09:00",
        timezone="America/New_York",
    )
    # Then the answers carry RFC 3339 instants with the offsets of the zones
    assert (seoul["start"], seoul["end"]) == (
        "2024-01-25T15:00:00+09:00",
        "2024-01-25T16:30:00+09:00",
    )
    assert seoul["all_day"] is False
    assert new_york["start"] == "2024-07-04T09:00:00-04:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_time": "25:00"}, "start_time"),
        ({"end_time": "10:00"}, "end_time"),  # no start
        ({"start_time": "10:00", "end_time": "09:00"}, "end_time"),
        ({"end_date": "2024-01-19"}, "end_date"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"recurrence": "FREQ=SECONDLY"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;COUNT=3;UNTIL=20240301"}, "recurrence"),
        ({"exdates": ["2024-01-21"]}, "exdates"),  # not a series
        ({"all_day": True, "start_time": "10:00"}, "body"),
    ],
)
def test_an_impossible_schedule_is_a_400_naming_the_field(api, department, body, field):
    reply = api.post(
        f"/api/events/{department['id']}", {"event_date": "2024-01-20", "title": "회의", **body}
    )
    assert reply.status == 400, reply.body
    assert field in {problem["field"] for problem in reply.json["fields"]}


def test_a_multi_day_event_is_listed_in_every_range_it_reaches(api, department):
    # Given a three-day workshop from 2024-03-04 and an event on 03-05
    workshop = api.event(
        department["id"], event_date="2024-03-04", end_date="2024-03-06", title="워크숍"
    )
    api.event(department["id"], event_date="2024-03-05", title="점심")
    # When listing only 03-05..03-05, and a range that starts after the workshop began
    only_fifth = listing(api, department["id"], "from=2024-03-05&to=2024-03-05")
    later = listing(api, department["id"], "from=2024-03-06")
    # Then the workshop is there both times, all-day before timed and in start order
    assert [item["title"] for item in only_fifth] == ["워크숍", "점심"]
    assert [item["id"] for item in later] == [workshop["id"]]


def test_overlapping_timed_events_still_save_and_the_answer_names_the_conflicts(api, department):
    # Given a meeting from 10:00 to 11:00
    first = api.event(
        department["id"],
        event_date="2024-05-02",
        start_time="10:00",
        end_time="11:00",
        title="팀 회의",
    )
    # When another starts at 10:30, and a third at 11:00
    second = api.event(department["id"], event_date="2024-05-02", start_time="10:30")
    third = api.event(department["id"], event_date="2024-05-02", start_time="11:00")
    # Then the second is saved and names the first; the third touches nothing
    assert second["conflicts"] == [
        {
            "id": first["id"],
            "title": "팀 회의",
            "start": "2024-05-02T10:00:00+09:00",
            "end": "2024-05-02T11:00:00+09:00",
        }
    ]
    assert third["conflicts"] == []
    # And moving the third into the first's hour reports it (not the second: an event
    # without an end time is the moment it starts, and 10:15 is not 10:30)
    moved = api.patch(f"/api/events/{department['id']}/{third['id']}", {"start_time": "10:15"})
    assert moved.status == 200
    assert [c["id"] for c in moved.json["conflicts"]] == [first["id"]]


def test_search_matches_title_and_description_normalised_and_case_folded(api, department):
    api.event(department["id"], title="팀 회의")
    api.event(department["id"], title="Weekly SYNC", description="")
    api.event(department["id"], title="점심", description="회의실 예약")
    api.event(department["id"], title="출장")
    found = listing(api, department["id"], "q=회의")
    assert sorted(item["title"] for item in found) == ["점심", "팀 회의"]
    assert [item["title"] for item in listing(api, department["id"], "q=sync")] == ["Weekly SYNC"]
    # And with a range too
    ranged = listing(api, department["id"], "from=2024-01-01&to=2024-12-31&q=%ED%9A%8C%EC%9D%98")
    assert sorted(item["title"] for item in ranged) == ["점심", "팀 회의"]


def test_holidays_mix_into_a_listing_when_asked(api, department):
    api.event(department["id"], event_date="2026-09-24", title="추석 준비")
    items = listing(api, department["id"], "from=2026-09-20&to=2026-09-30&include=holidays")
    holidays = [item for item in items if item["holiday"]]
    assert holidays, items
    assert all(item["all_day"] for item in holidays)
    assert any("추석" in item["title"] for item in holidays)
    assert [item["event_date"] for item in items] == sorted(item["event_date"] for item in items)
    # Without include, no holidays
    assert not any(
        i["holiday"] for i in listing(api, department["id"], "from=2026-09-20&to=2026-09-30")
    )


def test_holidays_of_2026_include_substitute_holidays(api):
    reply = api.get("/api/holidays?year=2026")
    assert reply.status == 200
    names = [item["name"] for item in reply.json["items"]]
    assert any("대체" in name for name in names), names
    assert api.get("/api/holidays?year=12").status == 400
    assert api.get("/api/holidays").json["fields"][0]["field"] == "year"


def weekly_series(api, department_id: str) -> dict[str, Any]:
    """Every Tuesday of 2026 at 10:00-11:00 in Seoul, but not on 02-17 (설날 연휴)."""
    return api.event(
        department_id,
        event_date="2026-01-06",
        title="주간 회의",
        start_time="10:00",
        end_time="11:00",
        recurrence="RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231",
        exdates=["2026-02-17"],
    )


def test_a_weekly_series_with_an_exdate_and_a_moved_occurrence_lists_right_over_a_year(
    api, department
):
    # Given the weekly series, a single event, and the 03-10 meeting moved to Wednesday 14:00
    series = weekly_series(api, department["id"])
    assert series["recurrence"] == "FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231"
    single = api.event(department["id"], event_date="2026-03-10", title="보고", start_time="09:00")
    moved = api.patch(
        f"/api/events/{department['id']}/{series['id']}/occurrences/2026-03-10",
        {"event_date": "2026-03-11", "start_time": "14:00", "end_time": "15:00"},
    )
    assert moved.status == 200, moved.body
    assert moved.json["series_id"] == series["id"]
    assert moved.json["occurrence_date"] == "2026-03-10"
    # When listing the year, seven at a time
    items = listing(api, department["id"], "from=2026-01-01&to=2026-12-31")
    # Then every Tuesday but the exdate and the moved one, plus the moved one and the single
    meetings = [i for i in items if i["title"] == "주간 회의"]
    expected = [
        d
        for d in tuesdays(date(2026, 1, 1), date(2026, 12, 31))
        if d not in ("2026-02-17", "2026-03-10")
    ]
    assert [i["event_date"] for i in meetings] == sorted([*expected, "2026-03-11"])
    assert all(i["series_id"] == series["id"] for i in meetings)
    wednesday = next(i for i in meetings if i["event_date"] == "2026-03-11")
    assert wednesday["start"] == "2026-03-11T14:00:00+09:00"
    assert [i["id"] for i in items if i["title"] == "보고"] == [single["id"]]
    # In start order, no duplicates
    keys = [(i["event_date"], i["start_time"] or "-") for i in items]
    assert keys == sorted(keys)
    assert len({i["id"] for i in items}) == len(items)
    # And the stored listing shows the series once, with its rule
    stored = listing(api, department["id"], "q=%EC%A3%BC%EA%B0%84")
    assert [i["recurrence"] for i in stored if i["id"] == series["id"]] == [series["recurrence"]]


def test_cancelling_one_occurrence_adds_an_exdate(api, department):
    series = weekly_series(api, department["id"])
    path = f"/api/events/{department['id']}/{series['id']}/occurrences/2026-01-13"
    assert api.delete(path).status == 204
    items = listing(api, department["id"], "from=2026-01-01&to=2026-01-31")
    assert [i["event_date"] for i in items] == ["2026-01-06", "2026-01-20", "2026-01-27"]
    assert api.get(f"/api/events/{department['id']}/{series['id']}").json["exdates"] == [
        "2026-01-13",
        "2026-02-17",
    ]
    # A date that is not an occurrence is a 404
    reply = api.delete(f"/api/events/{department['id']}/{series['id']}/occurrences/2026-01-14")
    assert reply.status == 404
    assert reply.error_code == "occurrence_not_found"


def test_this_and_the_following_ends_the_series_and_starts_a_new_one(api, department):
    # Given the weekly series
    series = weekly_series(api, department["id"])
    # When from 2026-06-02 on, the meeting moves to 15:00
    reply = api.patch(
        f"/api/events/{department['id']}/{series['id']}/occurrences/2026-06-02?scope=following",
        {"start_time": "15:00", "end_time": "16:00"},
    )
    assert reply.status == 200, reply.body
    new_series = reply.json
    # Then the old series ends before it and the new one starts there, with the new time
    old = api.get(f"/api/events/{department['id']}/{series['id']}").json
    assert old["recurrence"] == "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260601"
    assert new_series["id"] != series["id"]
    assert new_series["event_date"] == "2026-06-02"
    items = listing(api, department["id"], "from=2026-05-20&to=2026-06-20")
    assert [(i["event_date"], i["start_time"]) for i in items] == [
        ("2026-05-26", "10:00"),
        ("2026-06-02", "15:00"),
        ("2026-06-09", "15:00"),
        ("2026-06-16", "15:00"),
    ]


def test_a_huge_range_over_an_unbounded_series_answers_one_page(api, department):
    api.event(department["id"], event_date="2000-01-01", title="매일", recurrence="FREQ=DAILY")
    reply = api.get(f"/api/events/{department['id']}?from=2000-01-01&to=9999-12-31&limit=100")
    assert reply.status == 200
    assert len(reply.json["items"]) == 100
    assert reply.json["next_token"]
    # Far away too
    far = api.get(f"/api/events/{department['id']}?from=2090-01-01&limit=3").json
    assert [i["event_date"] for i in far["items"]] == ["2090-01-01", "2090-01-02", "2090-01-03"]


def test_a_series_across_a_daylight_saving_change_keeps_its_wall_clock_time(api, department):
    api.event(
        department["id"],
        event_date="2026-03-02",
        title="Standup",
        start_time="09:00",
        timezone="America/New_York",
        recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=3",
    )
    items = listing(api, department["id"], "from=2026-03-01&to=2026-03-31")
    assert [i["start"] for i in items] == [
        "2026-03-02T09:00:00-05:00",
        "2026-03-09T09:00:00-04:00",
        "2026-03-16T09:00:00-04:00",
    ]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_an_occurrence_route_checks_its_date_scope_and_version(api, department, method):
    series = weekly_series(api, department["id"])
    base = f"/api/events/{department['id']}/{series['id']}/occurrences"
    body = {"title": "바뀐 회의"} if method == "PATCH" else None
    # A date that is no date, and a scope that is no scope, are 400s naming them
    bad_date = api.call(method, f"{base}/2026-02-30", body)
    assert (bad_date.status, bad_date.error_fields) == (400, ["occurrence_date"])
    bad_scope = api.call(method, f"{base}/2026-01-13?scope=all", body)
    assert (bad_scope.status, bad_scope.error_fields) == (400, ["scope"])
    # A series that does not exist is a 404
    assert (
        api.call(method, f"/api/events/{department['id']}/nope/occurrences/2026-01-13", body).status
        == 404
    )
    # A stale If-Match is a 412 with the series' version, and nothing changes
    stale = api.call(method, f"{base}/2026-01-13", body, headers={"If-Match": '"7"'})
    assert stale.status == 412
    assert stale.json["current_version"] == 1
    assert api.get(f"/api/events/{department['id']}/{series['id']}").json["version"] == 1


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_an_occurrence_change_that_keeps_losing_to_other_writers_is_a_409(api, department, method):
    # Given a series that another writer changes each time this request is about to commit
    series = weekly_series(api, department["id"])
    with another_writer_before("TransactWriteItems", department["id"], series["id"]):
        # When one occurrence is changed without If-Match
        body = {"title": "바뀐 회의"} if method == "PATCH" else None
        reply = api.call(
            method, f"/api/events/{department['id']}/{series['id']}/occurrences/2026-01-13", body
        )
    # Then, after reading again a few times, it gives up with a 409 and wrote nothing
    assert reply.status == 409
    assert reply.error_code == "concurrent_modification"
    items = listing(api, department["id"], "from=2026-01-13&to=2026-01-13")
    assert [(i["title"], i["event_date"]) for i in items] == [("주간 회의", "2026-01-13")]


def test_the_feed_token_route_checks_the_department_and_the_actor(api, department):
    assert api.post("/api/departments/nope/feed-token").status == 404
    bad_actor = api.post(
        f"/api/departments/{department['id']}/feed-token", headers={"X-Actor": "\x07"}
    )
    assert bad_actor.status == 400


def test_a_patch_that_keeps_losing_to_other_writers_is_a_409(api, department):
    # Given an event that another writer changes each time this request is about to write
    event = api.event(department["id"], title="자리 다툼")
    with another_writer_before("PutItem", department["id"], event["id"]):
        # When it is changed without If-Match
        reply = api.patch(f"/api/events/{department['id']}/{event['id']}", {"title": "내 제목"})
    # Then after reading again a few times it gives up with a 409, and wrote nothing
    assert reply.status == 409
    assert reply.error_code == "concurrent_modification"
    assert api.get(f"/api/events/{department['id']}/{event['id']}").json["title"] == "자리 다툼"
