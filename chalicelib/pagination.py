"""Opaque page tokens: base64url of the DynamoDB start key, bound to the listing that made it.

A token carries a *scope* (which listing and which filters produced it). A token from another
listing, another department or other filters, or one that was edited, is refused with a 400
instead of reaching DynamoDB as a start key it would reject or misread.
"""

import base64
import binascii
import json
from collections.abc import Mapping

from chalicelib.errors import FieldProblem, InvalidPageToken, InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
_FORMAT = 1
# Our key values are ids (<= 128 characters), dates and keys built from them; DynamoDB
# refuses start keys over 2 KB.
_KEY_VALUE_MAX = 300
_TOKEN_MAX = 1024


def encode_token(scope: str, key: Mapping[str, str]) -> str:
    payload = json.dumps({"f": _FORMAT, "s": scope, "k": dict(key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode("ascii")


def decode_token(
    token: str,
    scope: str,
    key_names: frozenset[str],
    fixed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The start key inside `token`, or InvalidPageToken if it was not made for `scope`.

    `fixed` names key values the listing pins (e.g. its partition key): a start key outside
    the listing would be refused by DynamoDB, so it is refused here as a 400 instead."""
    if len(token) > _TOKEN_MAX:
        raise invalid_token()
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise invalid_token() from None
    if not isinstance(payload, dict) or payload.get("f") != _FORMAT or payload.get("s") != scope:
        raise invalid_token()
    key = payload.get("k")
    if (
        not isinstance(key, dict)
        or set(key) != key_names
        or not all(isinstance(v, str) and 0 < len(v) <= _KEY_VALUE_MAX for v in key.values())
    ):
        raise invalid_token()
    if fixed and any(key.get(name) != value for name, value in fixed.items()):
        raise invalid_token()
    return key


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # Length first: int() of thousands of digits is slow, and refused past Python's limit.
    if len(raw) > 3 or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(
            f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            fields=(FieldProblem("limit", f"must be a whole number from 1 to {MAX_LIMIT}"),),
        )
    return int(raw)


def invalid_token() -> InvalidPageToken:
    return InvalidPageToken("next_token is not a token this listing produced; start without it.")
