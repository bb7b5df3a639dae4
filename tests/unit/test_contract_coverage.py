"""The check that every documented status is produced by some test (tests/contract_coverage.py)."""

from app import app
from tests.conftest import local_client
from tests.contract_coverage import missing_statuses, recorded

DOCUMENT = {
    "paths": {
        "/api/departments/{department_id}": {
            "get": {"operationId": "get_department", "responses": {"200": {}, "404": {}}},
        }
    }
}


def test_a_documented_status_that_no_answer_had_is_listed_by_operation():
    answers = frozenset({("GET", "/api/departments/{department_id}", 200)})
    assert missing_statuses(DOCUMENT, answers) == [
        "get_department (GET /api/departments/{department_id}) 404"
    ]


def test_nothing_is_listed_once_every_documented_status_was_answered():
    answers = frozenset(
        {
            ("GET", "/api/departments/{department_id}", 200),
            ("GET", "/api/departments/{department_id}", 404),
            ("GET", "/api/departments", 200),  # answers beyond the document do not matter
        }
    )
    assert missing_statuses(DOCUMENT, answers) == []


def test_the_test_client_records_each_answer_under_its_route():
    # When a request goes through the suite's chalice.test.Client (no table is needed: an id
    # no item can have is a 404 before DynamoDB is asked)
    with local_client(app) as client:
        status = client.http.get("/api/departments/" + "x" * 200).status_code
    # Then its answer is recorded under the route template, not the concrete path
    assert status == 404
    assert ("GET", "/api/departments/{department_id}", 404) in recorded()
