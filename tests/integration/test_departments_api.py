"""/api/departments through chalice.test.Client on moto: every status code in the contract."""

import base64
import json
import unicodedata

import pytest

from chalicelib.context import get_context
from chalicelib.repositories.departments import DepartmentRepository


def test_create_returns_201_the_department_and_its_location(api):
    # When a department is created with Korean text
    reply = api.post("/api/departments", {"name": "QA팀", "description": "품질 보증"})
    # Then it comes back whole, versioned, with a Location to read it from
    assert reply.status == 201
    department = reply.json
    assert department["name"] == "QA팀"
    assert department["description"] == "품질 보증"
    assert department["version"] == 1
    assert department["created_at"] == department["updated_at"]
    assert department["created_at"].endswith("Z")
    assert reply.headers["Location"] == f"/api/departments/{department['id']}"
    assert set(department) == {
        "id",
        "name",
        "description",
        "created_at",
        "updated_at",
        "version",
        "reminders",
    }
    assert department["reminders"] is None  # no default unless given
    # And the Location serves the same department, byte for byte
    again = api.get(reply.headers["Location"])
    assert again.status == 200
    assert again.json == department
    assert "품질 보증".encode() in again.body  # UTF-8 on the wire, not \\u escapes


def test_korean_text_round_trips_byte_exact(api):
    nfd = unicodedata.normalize("NFD", "디자인팀")
    department = api.department(name=nfd, description="설명 🎉 ｶﾀｶﾅ")
    stored = api.get(f"/api/departments/{department['id']}").json
    assert stored["name"].encode() == nfd.encode()
    assert stored["description"] == "설명 🎉 ｶﾀｶﾅ"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_request"),
        (b"", "invalid_request"),
        (b"[]", "validation_error"),
        (b'"QA"', "validation_error"),
        (b"\xff\xfe", "invalid_request"),
        (json.dumps({"name": 5}).encode(), "validation_error"),
        (json.dumps({"description": "no name"}).encode(), "validation_error"),
        (json.dumps({"name": "QA", "owner": "me"}).encode(), "validation_error"),
    ],
)
def test_bad_bodies_are_400_with_a_json_error(api, raw, code):
    reply = api.post("/api/departments", raw=raw)
    assert reply.status == 400
    assert reply.error_code == code
    assert reply.json["message"]


def test_validation_errors_name_the_fields(api):
    reply = api.post("/api/departments", {"name": "", "colour": "red"})
    assert reply.status == 400
    assert set(reply.error_fields) == {"name", "colour"}


def test_a_body_over_64_kb_is_413(api):
    reply = api.post("/api/departments", {"name": "QA", "description": "x" * 70_000})
    assert reply.status == 413
    assert reply.error_code == "payload_too_large"


@pytest.mark.parametrize(
    "same_name", ["QA팀", "qa팀", "  QA팀 ", unicodedata.normalize("NFD", "QA팀")]
)
def test_a_name_taken_in_any_spelling_is_409(api, same_name):
    api.department(name="QA팀")
    reply = api.post("/api/departments", {"name": same_name})
    assert reply.status == 409
    assert reply.error_code == "department_name_taken"
    assert reply.error_fields == ["name"]


def test_the_409_names_the_existing_department_as_it_is_called(api):
    # Given a department named QA팀
    api.department(name="QA팀")
    other = api.department(name="개발팀")
    calls: list[str] = []
    get_context().client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    # When qa팀 is created, or another department renamed to it
    created = api.post("/api/departments", {"name": "qa팀"})
    renamed = api.patch(f"/api/departments/{other['id']}", {"name": " qa팀"})
    # Then each refusal quotes the existing name, and says the two are the same name
    for reply in (created, renamed):
        assert reply.status == 409
        assert reply.json["message"].startswith("A department named 'QA팀' already exists")
        assert "the same name" in reply.json["message"]
    assert "GetItem" in calls
    # And a create that succeeds reads nothing first: only a refusal looks the holder up
    calls.clear()
    assert api.post("/api/departments", {"name": "새팀"}).status == 201
    assert "GetItem" not in calls


def test_get_unknown_department_is_404(api):
    reply = api.get("/api/departments/7b0f3c1e-0000-4000-8000-000000000000")
    assert reply.status == 404
    assert reply.error_code == "department_not_found"


def test_an_id_that_cannot_exist_is_404(api):
    reply = api.get("/api/departments/" + "x" * 200)
    assert reply.status == 404


def test_walking_all_pages_returns_every_department_exactly_once(api):
    # Given seven departments
    created = {api.department(name=f"부서 {i}")["id"] for i in range(7)}
    # When the list is walked three at a time
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = "?limit=3" + (f"&next_token={token}" if token else "")
        reply = api.get("/api/departments" + query)
        assert reply.status == 200
        seen += [d["id"] for d in reply.json["items"]]
        pages += 1
        token = reply.json["next_token"]
        if token is None:
            break
    # Then every department appears once, and no page is wasted
    assert sorted(seen) == sorted(created)
    assert pages == 3


def test_default_page_holds_up_to_50(api):
    for i in range(3):
        api.department(name=f"팀{i}")
    page = api.get("/api/departments").json
    assert len(page["items"]) == 3
    assert page["next_token"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "next_token=garbage"])
def test_bad_paging_parameters_are_400(api, query):
    reply = api.get(f"/api/departments?{query}")
    assert reply.status == 400


def test_a_token_from_the_events_listing_is_refused(api):
    department = api.department()
    for day in range(1, 4):
        api.event(department["id"], event_date=f"2024-01-0{day}")
    token = api.get(f"/api/events/{department['id']}?limit=1").json["next_token"]
    reply = api.get(f"/api/departments?next_token={token}")
    assert reply.status == 400
    assert reply.error_code == "invalid_next_token"


def test_patch_changes_only_the_given_fields_and_bumps_the_version(api):
    department = api.department(name="QA팀", description="품질 보증")
    reply = api.patch(f"/api/departments/{department['id']}", {"description": "품질 관리"})
    assert reply.status == 200
    assert reply.json["name"] == "QA팀"
    assert reply.json["description"] == "품질 관리"
    assert reply.json["version"] == 2
    assert reply.json["updated_at"] >= department["updated_at"]


def test_rename_frees_the_old_name_and_claims_the_new_one(api):
    department = api.department(name="QA팀")
    reply = api.patch(f"/api/departments/{department['id']}", {"name": "품질팀"})
    assert reply.status == 200
    assert reply.json["name"] == "품질팀"
    assert reply.json["version"] == 2
    # The old name is free again, the new one is taken
    assert api.post("/api/departments", {"name": "QA팀"}).status == 201
    assert api.post("/api/departments", {"name": "품질팀"}).status == 409


def test_changing_only_the_case_of_a_name_keeps_the_claim(api):
    department = api.department(name="qa팀")
    reply = api.patch(f"/api/departments/{department['id']}", {"name": "QA팀"})
    assert reply.status == 200
    assert reply.json["name"] == "QA팀"
    assert api.post("/api/departments", {"name": "Qa팀"}).status == 409


def test_rename_to_a_taken_name_is_409_and_changes_nothing(api):
    api.department(name="개발팀")
    other = api.department(name="마케팅팀")
    reply = api.patch(f"/api/departments/{other['id']}", {"name": "개발팀"})
    assert reply.status == 409
    assert api.get(f"/api/departments/{other['id']}").json == other


def test_patch_unknown_department_is_404(api):
    reply = api.patch("/api/departments/nope", {"description": "x"})
    assert reply.status == 404
    reply = api.patch("/api/departments/nope", {"name": "새 이름"})
    assert reply.status == 404


@pytest.mark.parametrize("body", [{}, {"name": None}, {"id": "other"}, {"version": 3}])
def test_patch_with_nothing_valid_to_change_is_400(api, body):
    department = api.department()
    reply = api.patch(f"/api/departments/{department['id']}", body)
    assert reply.status == 400


def test_delete_is_204_then_404(api):
    department = api.department(name="QA팀")
    reply = api.delete(f"/api/departments/{department['id']}")
    assert reply.status == 204
    assert reply.body == b""
    assert api.get(f"/api/departments/{department['id']}").status == 404
    assert api.delete(f"/api/departments/{department['id']}").status == 404
    # and its name is free again
    assert api.post("/api/departments", {"name": "QA팀"}).status == 201


def test_delete_while_events_exist_is_409(api):
    department = api.department()
    api.event(department["id"])
    reply = api.delete(f"/api/departments/{department['id']}")
    assert reply.status == 409
    assert reply.error_code == "department_has_events"
    assert api.get(f"/api/departments/{department['id']}").status == 200


def test_delete_after_its_events_are_gone_succeeds(api):
    department = api.department()
    event = api.event(department["id"])
    assert api.delete(f"/api/events/{department['id']}/{event['id']}").status == 204
    assert api.delete(f"/api/departments/{department['id']}").status == 204


def test_cascade_delete_removes_the_department_and_all_its_events(api):
    # Given a department with more events than one transaction can hold, and a neighbour
    department = api.department(name="개발팀")
    neighbour = api.department(name="마케팅팀")
    for i in range(30):
        api.event(department["id"], title=f"회의 {i}", event_date=f"2024-02-{i % 28 + 1:02d}")
    kept = api.event(neighbour["id"])
    # When it is deleted with cascade
    reply = api.delete(f"/api/departments/{department['id']}?cascade=true")
    # Then it and its events are gone; the neighbour's event is untouched
    assert reply.status == 204
    assert api.get(f"/api/departments/{department['id']}").status == 404
    assert api.get(f"/api/events/{department['id']}").status == 404
    assert api.get(f"/api/events/{neighbour['id']}/{kept['id']}").status == 200


def test_cascade_flag_must_be_a_boolean(api):
    department = api.department()
    assert api.delete(f"/api/departments/{department['id']}?cascade=maybe").status == 400


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": ' + b"1" * 5000 + b"}",  # past Python's integer digit limit
        b"[" * 20_000,  # nesting deeper than the parser's stack
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
    ],
)
def test_hostile_json_is_400_not_500(api, raw):
    reply = api.post("/api/departments", raw=raw)
    assert reply.status == 400
    assert reply.error_code == "invalid_request"


def forged_token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        "limit=" + "1" * 5000,
        "next_token=" + base64.urlsafe_b64encode(b"[" * 3000).decode(),
        "next_token=" + forged_token({"f": 1, "s": "departments", "k": {"id": "x" * 3000}}),
        "next_token=" + "A" * 5000,
    ],
)
def test_hostile_paging_parameters_are_400_not_500(api, query):
    reply = api.get(f"/api/departments?{query}")
    assert reply.status == 400


def test_chalices_own_errors_have_the_same_json_shape(api):
    # Given a method no route has, and a body type no route accepts
    wrong_method = api.call("PUT", "/api/departments", {"name": "x"})
    wrong_type = api.post("/api/departments", raw=b"name=x", headers={"Content-Type": "text/plain"})
    # Then both answer {"code", "message"} like every other error
    assert wrong_method.status == 405
    assert wrong_method.json["code"] == "method_not_allowed"
    assert wrong_type.status == 415
    assert wrong_type.json["code"] == "unsupported_media_type"
    assert wrong_type.json["message"]


def test_json_with_a_charset_parameter_is_accepted(api):
    reply = api.post(
        "/api/departments",
        {"name": "QA팀"},
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert reply.status == 201


def test_an_event_created_while_its_department_is_deleted_is_never_orphaned(api, monkeypatch):
    # Given a department with no events, and a delete that has just read it
    department = api.department(name="경합팀")
    original_read = DepartmentRepository._read
    raced: list[dict[str, str]] = []

    def read_then_race(self, department_id):
        item = original_read(self, department_id)
        if not raced:
            # When another request creates an event between the delete's read and its write
            raced.append(api.event(department["id"], title="끼어든 일정"))
        return item

    monkeypatch.setattr(DepartmentRepository, "_read", read_then_race)
    reply = api.delete(f"/api/departments/{department['id']}")
    # Then the delete sees the event and refuses: the department and its event both remain
    assert reply.status == 409
    assert reply.error_code == "department_has_events"
    monkeypatch.undo()
    event = raced[0]
    assert api.get(f"/api/departments/{department['id']}").status == 200
    assert api.get(f"/api/events/{department['id']}/{event['id']}").status == 200


def test_a_departments_default_reminders_round_trip(api, tables):
    # When a department is created with a default in any order
    reply = api.post("/api/departments", {"name": "영업팀", "reminders": [60, 10]})
    # Then it is answered, read back and stored sorted, as a DynamoDB list of numbers
    assert reply.status == 201
    department = reply.json
    assert department["reminders"] == [10, 60]
    assert api.get(f"/api/departments/{department['id']}").json["reminders"] == [10, 60]
    item = tables.get_item(TableName="departments", Key={"id": {"S": department["id"]}})
    assert item["Item"]["reminders"] == {"L": [{"N": "10"}, {"N": "60"}]}


def test_a_patch_changes_the_default_and_null_removes_it(api, tables):
    # Given a department without a default
    department = api.department(name="영업팀")
    path = f"/api/departments/{department['id']}"
    key = {"id": {"S": department["id"]}}
    assert "reminders" not in tables.get_item(TableName="departments", Key=key)["Item"]
    # When a PATCH sets one, then another PATCH sets it to null
    assert api.patch(path, {"reminders": [1440]}).json["reminders"] == [1440]
    removed = api.patch(path, {"reminders": None})
    # Then the default is gone: answered null, the attribute removed
    assert removed.status == 200
    assert removed.json["reminders"] is None
    assert removed.json["version"] == 3
    assert "reminders" not in tables.get_item(TableName="departments", Key=key)["Item"]


def test_a_rename_may_clear_the_default_in_the_same_patch(api, tables):
    department = api.post("/api/departments", {"name": "영업팀", "reminders": [30]}).json
    path = f"/api/departments/{department['id']}"
    reply = api.patch(path, {"name": "영업1팀", "reminders": None})
    assert reply.status == 200
    assert (reply.json["name"], reply.json["reminders"]) == ("영업1팀", None)
    item = tables.get_item(TableName="departments", Key={"id": {"S": department["id"]}})["Item"]
    assert "reminders" not in item


@pytest.mark.parametrize("reminders", [[10081], [30, 30], [1, 2, 3, 4, 5, 6], [1.5]])
def test_an_invalid_default_is_400_naming_reminders(api, reminders):
    created = api.post("/api/departments", {"name": "영업팀", "reminders": reminders})
    assert created.status == 400
    assert created.error_fields
    assert all(field.startswith("reminders") for field in created.error_fields)
    department = api.department(name="기획팀")
    changed = api.patch(f"/api/departments/{department['id']}", {"reminders": reminders})
    assert changed.status == 400
    assert changed.error_fields
    assert all(field.startswith("reminders") for field in changed.error_fields)
