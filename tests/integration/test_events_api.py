"""/api/events/{department_id} through chalice.test.Client on moto."""

from typing import Any

import pytest

WALKTHROUGH_EVENT = {"event_date": "2024-01-25", "title": "테스트 이벤트", "time": "오후 3:00"}


@pytest.fixture
def department(api):
    return api.department(name="QA팀", description="품질 보증")


def test_create_returns_201_the_event_and_its_location(api, department):
    reply = api.post(f"/api/events/{department['id']}", WALKTHROUGH_EVENT)
    assert reply.status == 201
    event = reply.json
    assert {k: event[k] for k in WALKTHROUGH_EVENT} == WALKTHROUGH_EVENT
    assert event["department_id"] == department["id"]
    assert event["description"] == ""
    assert event["version"] == 1
    assert reply.headers["Location"] == f"/api/events/{department['id']}/{event['id']}"
    # The time text also reads as a time: the event is timed, in Seoul by default.
    assert event["start_time"] == "15:00"
    assert event["all_day"] is False
    assert event["start"] == "2024-01-25T15:00:00+09:00"
    assert event["timezone"] == "Asia/Seoul"
    # A write's answer also lists the timed events it overlaps; a read is the event alone.
    assert event.pop("conflicts") == []
    assert api.get(reply.headers["Location"]).json == event


def test_create_in_an_unknown_department_is_404_and_writes_nothing(api, tables):
    reply = api.post("/api/events/no-such-department", WALKTHROUGH_EVENT)
    assert reply.status == 404
    assert reply.error_code == "department_not_found"
    assert tables.scan(TableName="events")["Count"] == 0
    # and no phantom department item was made by the counter
    assert tables.scan(TableName="departments")["Count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_date": "2024-02-30", "title": "회의"}, "event_date"),
        ({"event_date": "24-01-20", "title": "회의"}, "event_date"),
        ({"title": "회의"}, "event_date"),
        ({"event_date": "2024-01-20"}, "title"),
        ({"event_date": "2024-01-20", "title": " "}, "title"),
        ({"event_date": "2024-01-20", "title": "회의", "time": 15}, "time"),
        ({"event_date": "2024-01-20", "title": "회의", "department_id": "x"}, "department_id"),
    ],
)
def test_invalid_events_are_400_naming_the_field(api, department, body, field):
    reply = api.post(f"/api/events/{department['id']}", body)
    assert reply.status == 400
    assert field in reply.error_fields


def test_list_is_in_date_order_and_filters_inclusively(api, department):
    for day in ["2024-03-05", "2024-01-20", "2024-02-14", "2024-01-25", "2024-03-01"]:
        api.event(department["id"], event_date=day)
    everything = api.get(f"/api/events/{department['id']}").json
    assert [e["event_date"] for e in everything["items"]] == [
        "2024-01-20",
        "2024-01-25",
        "2024-02-14",
        "2024-03-01",
        "2024-03-05",
    ]
    assert everything["next_token"] is None
    window = api.get(f"/api/events/{department['id']}?from=2024-01-25&to=2024-03-01").json
    assert [e["event_date"] for e in window["items"]] == ["2024-01-25", "2024-02-14", "2024-03-01"]
    since = api.get(f"/api/events/{department['id']}?from=2024-03-01").json
    assert [e["event_date"] for e in since["items"]] == ["2024-03-01", "2024-03-05"]
    until = api.get(f"/api/events/{department['id']}?to=2024-01-20").json
    assert [e["event_date"] for e in until["items"]] == ["2024-01-20"]


def test_list_only_shows_the_departments_own_events(api, department):
    other = api.department(name="마케팅팀")
    mine = api.event(department["id"])
    api.event(other["id"])
    items = api.get(f"/api/events/{department['id']}").json["items"]
    assert [e["id"] for e in items] == [mine["id"]]


def test_walking_pages_returns_every_event_exactly_once_in_order(api, department):
    # Given events sharing dates (the index sort key is not unique)
    created = [
        api.event(department["id"], event_date=f"2024-04-{i % 4 + 1:02d}", title=f"일정 {i}")
        for i in range(11)
    ]
    seen = []
    token = None
    while True:
        suffix = f"&next_token={token}" if token else ""
        page = api.get(f"/api/events/{department['id']}?limit=4{suffix}").json
        seen += page["items"]
        token = page["next_token"]
        if token is None:
            break
    assert sorted(e["id"] for e in seen) == sorted(e["id"] for e in created)
    assert [e["event_date"] for e in seen] == sorted(e["event_date"] for e in seen)


def test_a_token_is_refused_by_another_department_or_other_filters(api, department):
    other = api.department(name="마케팅팀")
    for day in range(1, 4):
        api.event(department["id"], event_date=f"2024-01-0{day}")
    token = api.get(f"/api/events/{department['id']}?limit=1").json["next_token"]
    assert token is not None
    assert api.get(f"/api/events/{other['id']}?next_token={token}").status == 400
    reply = api.get(f"/api/events/{department['id']}?from=2024-01-02&next_token={token}")
    assert reply.status == 400
    assert reply.error_code == "invalid_next_token"


@pytest.mark.parametrize(
    "query", ["from=2024-02-30", "to=yesterday", "from=2024-03-01&to=2024-01-01", "limit=500"]
)
def test_bad_list_parameters_are_400(api, department, query):
    reply = api.get(f"/api/events/{department['id']}?{query}")
    assert reply.status == 400


def test_list_of_an_unknown_department_is_404(api):
    reply = api.get("/api/events/no-such-department")
    assert reply.status == 404
    assert reply.error_code == "department_not_found"


def test_list_of_a_department_without_events_is_an_empty_page(api, department):
    assert api.get(f"/api/events/{department['id']}").json == {"items": [], "next_token": None}


def test_get_is_404_for_unknown_event_or_the_wrong_department(api, department):
    other = api.department(name="마케팅팀")
    event = api.event(department["id"])
    assert api.get(f"/api/events/{department['id']}/missing").status == 404
    reply = api.get(f"/api/events/{other['id']}/{event['id']}")
    assert reply.status == 404
    assert reply.error_code == "event_not_found"


def test_patch_changes_the_given_fields_and_moves_the_event_in_the_listing(api, department):
    first = api.event(department["id"], event_date="2024-01-20", title="팀 회의")
    api.event(department["id"], event_date="2024-01-22", title="워크숍")
    reply = api.patch(
        f"/api/events/{department['id']}/{first['id']}",
        {"time": "오후 4:00", "event_date": "2024-01-30"},
    )
    assert reply.status == 200
    assert reply.json["time"] == "오후 4:00"
    assert reply.json["title"] == "팀 회의"
    assert reply.json["version"] == 2
    titles = [e["title"] for e in api.get(f"/api/events/{department['id']}").json["items"]]
    assert titles == ["워크숍", "팀 회의"]


def test_patch_unknown_event_is_404_and_creates_nothing(api, department, tables):
    reply = api.patch(f"/api/events/{department['id']}/missing", {"title": "유령"})
    assert reply.status == 404
    assert tables.scan(TableName="events")["Count"] == 0


@pytest.mark.parametrize(
    "body", [{}, {"event_date": "2024-02-30"}, {"title": None}, {"department_id": "x"}]
)
def test_patch_with_invalid_changes_is_400(api, department, body):
    event = api.event(department["id"])
    reply = api.patch(f"/api/events/{department['id']}/{event['id']}", body)
    assert reply.status == 400


def test_delete_is_204_then_404(api, department):
    event = api.event(department["id"])
    path = f"/api/events/{department['id']}/{event['id']}"
    assert api.delete(path).status == 204
    assert api.get(path).status == 404
    assert api.delete(path).status == 404


def test_expression_syntax_in_text_is_stored_verbatim(api, department):
    title = "#name :v attribute_exists(x) SET a = b"
    event = api.event(department["id"], title=title, time=":t", description="#d")
    stored = api.get(f"/api/events/{department['id']}/{event['id']}").json
    assert (stored["title"], stored["time"], stored["description"]) == (title, ":t", "#d")


def stored_item(tables: Any, department_id: str, event_id: str) -> dict[str, Any]:
    key = {"id": {"S": event_id}, "department_id": {"S": department_id}}
    item: dict[str, Any] = tables.get_item(TableName="events", Key=key)["Item"]
    return item


def test_reminders_are_stored_sorted_as_a_list_of_numbers(api, department, tables):
    # When a timed event is created with reminders in any order
    event = api.event(department["id"], title="주간 회의", start_time="14:00", reminders=[60, 10])
    # Then the answer and the item hold them sorted, the item as a DynamoDB list of numbers
    assert event["reminders"] == [10, 60]
    item = stored_item(tables, department["id"], event["id"])
    assert item["reminders"] == {"L": [{"N": "10"}, {"N": "60"}]}
    assert api.get(f"/api/events/{department['id']}/{event['id']}").json["reminders"] == [10, 60]


def test_an_event_without_reminders_uses_the_default_and_stores_nothing(api, department, tables):
    # When a timed event is created without reminders
    event = api.event(department["id"], title="주간 회의", start_time="14:00")
    # Then it answers null (the department's default) and the item has no attribute
    assert event["reminders"] is None
    assert "reminders" not in stored_item(tables, department["id"], event["id"])


def test_empty_reminders_mean_none_and_are_stored_as_an_empty_list(api, department, tables):
    # When an event says it wants no reminders, even an all-day one
    event = api.event(department["id"], title="창립 기념일", reminders=[])
    # Then [] is kept, unlike an absent field
    assert event["reminders"] == []
    assert stored_item(tables, department["id"], event["id"])["reminders"] == {"L": []}


@pytest.mark.parametrize(
    "reminders", [[10081], [-5], [10, 10], [1, 2, 3, 4, 5, 6], ["10"], "10분 전"]
)
def test_invalid_reminders_are_400_naming_the_field(api, department, reminders):
    body = {"event_date": "2024-01-25", "title": "주간 회의", "start_time": "14:00"}
    reply = api.post(f"/api/events/{department['id']}", {**body, "reminders": reminders})
    assert reply.status == 400
    assert reply.error_fields
    assert all(field.startswith("reminders") for field in reply.error_fields)


def test_reminders_on_an_all_day_event_are_400_naming_reminders(api, department, tables):
    # When an all-day event asks for reminders
    body = {"event_date": "2024-01-25", "title": "워크숍", "reminders": [10]}
    reply = api.post(f"/api/events/{department['id']}", body)
    # Then it is refused on `reminders`, and nothing is written
    assert reply.status == 400
    assert reply.error_fields == ["reminders"]
    assert "start_time" in reply.json["fields"][0]["message"]
    assert tables.scan(TableName="events")["Count"] == 0


def test_patch_to_null_removes_the_reminders_attribute(api, department, tables):
    # Given an event with its own reminders
    event = api.event(department["id"], title="주간 회의", start_time="14:00", reminders=[10])
    path = f"/api/events/{department['id']}/{event['id']}"
    # When a PATCH sets reminders to null
    reply = api.patch(path, {"reminders": None})
    # Then the event goes back to the department's default: the attribute is gone
    assert reply.status == 200
    assert reply.json["reminders"] is None
    assert reply.json["version"] == 2
    assert "reminders" not in stored_item(tables, department["id"], event["id"])


def test_patch_sets_and_empties_reminders(api, department, tables):
    event = api.event(department["id"], title="주간 회의", start_time="14:00")
    path = f"/api/events/{department['id']}/{event['id']}"
    assert api.patch(path, {"reminders": [1440, 30]}).json["reminders"] == [30, 1440]
    assert api.patch(path, {"reminders": []}).json["reminders"] == []
    assert stored_item(tables, department["id"], event["id"])["reminders"] == {"L": []}


def test_patch_adding_reminders_to_an_all_day_event_is_400_naming_reminders(api, department):
    # Given an all-day event
    event = api.event(department["id"], title="워크숍")
    path = f"/api/events/{department['id']}/{event['id']}"
    # When a PATCH gives it reminders
    reply = api.patch(path, {"reminders": [10]})
    # Then the event as a whole is refused on `reminders`
    assert reply.status == 400
    assert reply.error_fields == ["reminders"]


def test_making_an_event_with_reminders_all_day_needs_them_cleared(api, department):
    # Given a timed event with reminders
    event = api.event(department["id"], title="주간 회의", start_time="14:00", reminders=[10])
    path = f"/api/events/{department['id']}/{event['id']}"
    # When a PATCH makes it all-day, its reminders left as they are
    refused = api.patch(path, {"all_day": True})
    # Then it is refused on `reminders`; with them cleared in the same PATCH it goes through
    assert refused.status == 400
    assert refused.error_fields == ["reminders"]
    cleared = api.patch(path, {"all_day": True, "reminders": None})
    assert cleared.status == 200
    assert (cleared.json["all_day"], cleared.json["reminders"]) == (True, None)


def test_an_occurrence_patch_changes_that_occurrences_reminders(api, department, tables):
    # Given a weekly series with reminders
    series = api.event(
        department["id"],
        event_date="2024-01-02",
        title="주간 회의",
        start_time="10:00",
        recurrence="FREQ=WEEKLY;BYDAY=TU;COUNT=4",
        reminders=[10],
    )
    base = f"/api/events/{department['id']}/{series['id']}"
    # When one occurrence gets its own reminders
    reply = api.patch(f"{base}/occurrences/2024-01-09", {"reminders": [60]})
    # Then that occurrence has them and the series keeps its own
    assert reply.status == 200
    assert reply.json["reminders"] == [60]
    assert api.get(base).json["reminders"] == [10]
    # And the listing's other occurrences carry the series' reminders
    listed = api.get(f"/api/events/{department['id']}?from=2024-01-01&to=2024-01-31").json
    assert [e["reminders"] for e in listed["items"]] == [[10], [60], [10], [10]]
    # And null on another occurrence's copy removes the attribute there
    other = api.patch(f"{base}/occurrences/2024-01-16", {"reminders": None})
    assert other.json["reminders"] is None
    assert "reminders" not in stored_item(tables, department["id"], other.json["id"])
