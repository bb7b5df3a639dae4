"""Walking a paged listing of the API to its end, as a client does."""

from collections.abc import Callable
from typing import Any


def read_pages(
    get: Callable[[str], Any], path: str, limit: int, *, token: str | None = None
) -> list[dict[str, Any]]:
    """Every item of the listing at `path` (whose query may have parameters already), `limit`
    a page, from the page `token` names on. `get` answers a path with a reply that has a
    `status` and a `json` body."""
    items: list[dict[str, Any]] = []
    separator = "&" if "?" in path else "?"
    while True:
        reply = get(f"{path}{separator}limit={limit}" + (f"&next_token={token}" if token else ""))
        assert reply.status == 200, reply.json
        items += reply.json["items"]
        token = reply.json["next_token"]
        if token is None:
            return items
        assert reply.json["items"], "a token must never lead to an empty page"
