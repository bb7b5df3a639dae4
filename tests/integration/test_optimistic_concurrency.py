"""ETag / If-Match: two people editing the same item cannot silently overwrite each other."""

import pytest


def test_every_single_item_response_carries_its_version_as_an_etag(api):
    department = api.post("/api/departments", {"name": "QA팀"})
    assert department.headers["ETag"] == '"1"'
    path = f"/api/departments/{department.json['id']}"
    assert api.get(path).headers["ETag"] == '"1"'
    assert api.patch(path, {"description": "x"}).headers["ETag"] == '"2"'
    event = api.post(
        f"{path.replace('departments', 'events')}", {"event_date": "2024-01-01", "title": "t"}
    )
    assert event.headers["ETag"] == '"1"'


def test_a_stale_if_match_on_an_event_is_412_and_the_other_writers_change_survives(api):
    # Given two people who read version 1 of an event
    department = api.department()
    event = api.event(department["id"], title="원래 제목")
    path = f"/api/events/{department['id']}/{event['id']}"
    # When the first saves a change, and the second saves with the version it read
    first = api.patch(path, {"title": "첫째의 제목"}, headers={"If-Match": '"1"'})
    second = api.patch(path, {"title": "둘째의 제목"}, headers={"If-Match": '"1"'})
    # Then the first wins, the second is told the item moved on, and nothing was overwritten
    assert first.status == 200
    assert second.status == 412
    assert second.error_code == "precondition_failed"
    assert second.json["current_version"] == 2
    assert second.headers["ETag"] == '"2"'
    assert api.get(path).json["title"] == "첫째의 제목"
    # And deleting with the stale version is refused too; with the current one it works
    assert api.delete(path, headers={"If-Match": '"1"'}).status == 412
    assert api.get(path).status == 200
    assert api.delete(path, headers={"If-Match": 'W/"2"'}).status == 204


def test_if_match_on_a_missing_event_is_404(api):
    department = api.department()
    reply = api.patch(
        f"/api/events/{department['id']}/missing", {"title": "x"}, headers={"If-Match": '"1"'}
    )
    assert reply.status == 404


def test_stale_if_match_on_a_department_is_412_for_changes_renames_and_deletes(api):
    department = api.department(name="QA팀")
    path = f"/api/departments/{department['id']}"
    assert api.patch(path, {"description": "새 설명"}, headers={"If-Match": '"1"'}).status == 200
    for method, body in (("PATCH", {"description": "늦은 설명"}), ("PATCH", {"name": "늦은 이름"})):
        reply = api.call(method, path, body, headers={"If-Match": '"1"'})
        assert reply.status == 412
        assert reply.json["current_version"] == 2
    assert api.delete(path, headers={"If-Match": '"1"'}).status == 412
    assert api.get(path).json["name"] == "QA팀"
    # the right version goes through, "*" means any
    assert api.patch(path, {"name": "품질팀"}, headers={"If-Match": '"2"'}).status == 200
    assert api.delete(path, headers={"If-Match": "*"}).status == 204


@pytest.mark.parametrize("header", ["abc", '"-1"', '"1.5"', '"' + "9" * 30 + '"'])
def test_an_if_match_that_is_no_etag_of_ours_is_400(api, header):
    department = api.department()
    reply = api.patch(
        f"/api/departments/{department['id']}", {"description": "x"}, headers={"If-Match": header}
    )
    assert reply.status == 400
    assert reply.error_fields == ["If-Match"]


def test_without_if_match_every_write_still_moves_the_version_atomically(api):
    department = api.department()
    event = api.event(department["id"])
    path = f"/api/events/{department['id']}/{event['id']}"
    for i in range(3):
        api.patch(path, {"description": f"{i}"})
    assert api.get(path).json["version"] == 4
