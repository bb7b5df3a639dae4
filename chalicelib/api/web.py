"""The calendar page at `/`, and the files it loads at `/app/{file}`.

The page is built from web/ into chalicelib/web/ (`make web`) and ships in the Lambda zip; no
CDN, so it works offline. Nothing is read at import: `import app` is Lambda's cold start, and
most invocations are API calls that never need these files.

The page calls the API relative to where it is served: under API Gateway's stage (`/v1/`) its
files and the API are under `/v1` too, so the view writes that prefix into the HTML.
"""

import functools
import html
from pathlib import Path

from chalice.app import Blueprint, Request, Response

from chalicelib.api.http import handles_errors, stage_prefix
from chalicelib.api.roles import PUBLIC, requires
from chalicelib.errors import NotFound

BUILT_DIR = Path(__file__).resolve().parent.parent / "web"
PAGE_FILE = "index.html"
# What the page loads -> its content type. Anything else under /app/ is a 404.
PAGE_ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# Where the built page names the prefix the API and its files are served under.
BASE_PLACEHOLDER = "{{base}}"

# The page is small and must follow deployments at once; its files are named in it with a hash
# of their content (`app.js?v=…`), so a browser may keep them as long as it likes.
_PAGE_CACHING = "no-cache"
_ASSET_CACHING = "public, max-age=31536000, immutable"
# FullCalendar writes its styles into <style> elements and its arrow icons are a data: font;
# no inline script.
_CONTENT_SECURITY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
)

web = Blueprint(__name__)


@web.route("/", methods=["GET"])
@requires(PUBLIC)
@handles_errors
def calendar_page() -> Response:
    base = html.escape(_page_base(web.current_request), quote=True)
    page = _built_file(PAGE_FILE, "The calendar page is not built here: run `make web`.")
    return Response(
        page.replace(BASE_PLACEHOLDER, base),
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": _PAGE_CACHING,
            "Content-Security-Policy": _CONTENT_SECURITY,
            "X-Content-Type-Options": "nosniff",
        },
    )


@web.route("/app/{file}", methods=["GET"])
@requires(PUBLIC)
@handles_errors
def calendar_page_asset(file: str) -> Response:
    content_type = PAGE_ASSETS.get(file)
    missing = f"No file '{file[:140]}' in the calendar page."
    if content_type is None:
        raise NotFound(missing)
    return Response(
        _built_file(file, missing),
        headers={
            "Content-Type": content_type,
            "Cache-Control": _ASSET_CACHING,
            "X-Content-Type-Options": "nosniff",
        },
    )


def _page_base(request: Request) -> str:
    """The prefix before `/` in the address the browser used: `/v1` on API Gateway's domain.
    `stage_prefix` matches the route at the end of the path, which for the root fails when the
    stage is opened without its trailing slash (`/v1`): then the whole path is the prefix."""
    context = request.context or {}
    if context.get("resourcePath") == "/":
        return str(context.get("path", "")).rstrip("/")
    return stage_prefix(request)


def _built_file(name: str, missing: str) -> str:
    path = BUILT_DIR / name
    try:
        modified = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise NotFound(missing) from None
    return _read(path, modified)


# Keyed by modification time too, so a rebuild while `make run` serves is picked up; on Lambda
# the files never change and each is read once per container. Text, not bytes: API Gateway
# passes text through as it is, bytes only as base64.
@functools.lru_cache(maxsize=8)
def _read(path: Path, modified: int) -> str:
    return path.read_text("utf-8")
