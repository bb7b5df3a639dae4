"""The calendar page at `/` and its files at `/app/{file}`: served by the app itself, public,
under API Gateway's stage prefix as well as locally. What the page does in a browser is
tests/e2e/test_calendar_page.py."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.api import web
from chalicelib.api.web import PAGE_ASSETS
from tests.conftest import PROJECT_DIR
from tests.lambda_events import api_gateway_event, lambda_context

# A page as `make web` builds it: the server fills in {{base}}.
BUILT_PAGE = """<!DOCTYPE html>
<html lang="ko"><head>
<meta name="app-base" content="{{base}}">
<link rel="stylesheet" href="{{base}}/app/app.css?v=1a2b">
<script src="{{base}}/app/app.js?v=3c4d" defer></script>
</head><body><h1>부서 일정</h1></body></html>
"""


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A built page in a folder of its own, so these tests need no `make web`."""
    (tmp_path / "index.html").write_text(BUILT_PAGE, "utf-8")
    (tmp_path / "app.js").write_text('console.log("달력");\n', "utf-8")
    (tmp_path / "app.css").write_text("body{margin:0}\n", "utf-8")
    monkeypatch.setattr(web, "BUILT_DIR", tmp_path)
    return tmp_path


def loaded_addresses(html: str) -> set[str]:
    return set(re.findall(r'(?:src|href)="([^"]+)"', html)) - {"data:,"}


@pytest.mark.usefixtures("built")
def test_the_page_is_html_that_loads_its_files_from_the_app(api):
    # When a browser opens the app's address
    page = api.get("/")
    # Then it gets the page, never cached stale, allowed to run only the app's own script
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.body.decode("utf-8")
    assert "부서 일정" in html
    # And locally the files and the API are at the root
    assert '<meta name="app-base" content="">' in html
    assert {address.split("?")[0] for address in loaded_addresses(html)} == {
        "/app/app.css",
        "/app/app.js",
    }


def test_each_file_is_served_with_its_type_and_cached_for_good(api, built):
    for name, content_type in PAGE_ASSETS.items():
        reply = api.get(f"/app/{name}")
        assert reply.status == 200
        assert reply.headers["Content-Type"] == content_type
        assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert reply.body == (built / name).read_bytes()


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("name", ["index.html", "app.js.map", "..%2Fapp.py", "nope.js"])
def test_any_other_file_is_a_json_404(api, name):
    reply = api.get(f"/app/{name}")
    assert reply.status == 404
    assert reply.error_code == "not_found"
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_deployment_without_the_built_page_answers_404_saying_so(api, tmp_path, monkeypatch):
    # Given a package made without `make web`
    monkeypatch.setattr(web, "BUILT_DIR", tmp_path / "not-built")
    # When the page or one of its files is asked for
    page, script = api.get("/"), api.get("/app/app.js")
    # Then both are a 404 in the API's error shape
    assert (page.status, page.error_code) == (404, "not_found")
    assert "make web" in page.json["message"]
    assert (script.status, script.error_code) == (404, "not_found")


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("path_used", ["/v1/", "/v1"])
def test_under_an_api_gateway_stage_the_page_names_the_stage_prefix(path_used):
    # Given the request API Gateway sends Lambda for https://…/v1/ (or …/v1)
    from app import app

    event = api_gateway_event("GET", "/", request_id="page-under-stage")
    event["requestContext"]["path"] = path_used
    # When the app answers it
    response = app(event, lambda_context("api_handler"))
    # Then the page's files and its API calls go under /v1 too
    assert response["statusCode"] == 200
    html = response["body"]
    assert '<meta name="app-base" content="/v1">' in html
    assert {address.split("?")[0] for address in loaded_addresses(html)} == {
        "/v1/app/app.css",
        "/v1/app/app.js",
    }


def test_the_source_page_names_exactly_the_files_the_app_serves():
    # The page the build fills in (web/src/index.html) and the files this app serves agree.
    source = (PROJECT_DIR / "web" / "src" / "index.html").read_text("utf-8")
    names = {address.split("?")[0] for address in loaded_addresses(source)}
    assert names == {f"{{{{base}}}}/app/{name}" for name in PAGE_ASSETS}
    assert '<meta name="app-base" content="{{base}}">' in source


COLD_START_PROBE = """
import json
import app
from chalicelib.api import web
print(json.dumps(web._read.cache_info().currsize))
"""


def test_importing_the_app_reads_none_of_the_pages_files():
    # Lambda's cold start imports app.py for every API call; the page is read when asked for.
    result = subprocess.run(
        [sys.executable, "-c", COLD_START_PROBE],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == 0
