"""What a new user does first, as reusable steps: run against any running local stack."""

from concurrent.futures import ThreadPoolExecutor
from functools import partial

from tests.e2e.local_stack import LocalStack
from tests.pages import read_pages


def guide_walkthrough(stack: LocalStack) -> None:
    """The original setup guide's curl walkthrough, plus the mistakes users make."""
    # curl -X POST /api/departments -d '{"name":"QA팀","description":"품질 보증"}'
    created = stack.request(
        "POST", "/api/departments", {"name": "QA팀", "description": "품질 보증"}
    )
    assert created.status == 201, created.body
    assert created.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "품질 보증".encode() in created.body
    qa = created.json
    # curl /api/departments
    listed = stack.request("GET", "/api/departments?limit=100").json["items"]
    assert qa in listed
    # curl -X POST /api/events/<id> -d '{"event_date":"2024-01-25","title":"테스트 이벤트",...}'
    event = stack.request(
        "POST",
        f"/api/events/{qa['id']}",
        {"event_date": "2024-01-25", "title": "테스트 이벤트", "time": "오후 3:00"},
    )
    assert event.status == 201
    # as sent, and the time text read as a time too
    assert {k: event.json[k] for k in ("event_date", "title", "time")} == {
        "event_date": "2024-01-25",
        "title": "테스트 이벤트",
        "time": "오후 3:00",
    }
    assert (event.json["start_time"], event.json["start"]) == (
        "15:00",
        "2024-01-25T15:00:00+09:00",
    )
    assert event.headers["Location"] == f"/api/events/{qa['id']}/{event.json['id']}"
    # curl /api/events/<id>
    events = stack.request("GET", f"/api/events/{qa['id']}").json
    assert [(e["title"], e["time"]) for e in events["items"]] == [("테스트 이벤트", "오후 3:00")]
    # pagination: two more events, walked one page at a time
    for day in ("2024-01-26", "2024-01-27"):
        body = {"event_date": day, "title": "추가 일정"}
        assert stack.request("POST", f"/api/events/{qa['id']}", body).status == 201
    seen = read_pages(partial(stack.request, "GET"), f"/api/events/{qa['id']}", limit=1)
    assert [e["event_date"] for e in seen] == ["2024-01-25", "2024-01-26", "2024-01-27"]
    # the mistakes a user makes get clear answers
    taken = stack.request("POST", "/api/departments", {"name": "qa팀"})
    assert taken.status == 409
    assert taken.json["code"] == "department_name_taken"
    bad_date = stack.request(
        "POST", f"/api/events/{qa['id']}", {"event_date": "2024-02-30", "title": "x"}
    )
    assert bad_date.status == 400
    assert bad_date.json["fields"][0]["field"] == "event_date"
    assert stack.request("GET", "/api/departments/no-such-id").status == 404
    assert (
        stack.request(
            "POST", "/api/events/no-such-id", {"event_date": "2024-01-01", "title": "x"}
        ).status
        == 404
    )
    assert stack.request("DELETE", f"/api/departments/{qa['id']}").status == 409
    # cascade delete removes it all, and frees the name
    assert stack.request("DELETE", f"/api/departments/{qa['id']}?cascade=true").status == 204
    assert stack.request("GET", f"/api/events/{qa['id']}").status == 404
    again = stack.request("POST", "/api/departments", {"name": "QA팀"})
    assert again.status == 201
    assert stack.request("DELETE", f"/api/departments/{again.json['id']}").status == 204


def simultaneous_creates_of_one_name(stack: LocalStack, name: str) -> list[int]:
    def create(_: int) -> int:
        return stack.request("POST", "/api/departments", {"name": name}).status

    with ThreadPoolExecutor(16) as pool:
        return sorted(pool.map(create, range(16)))
