"""Page tokens are opaque, bound to their listing, and refuse tampering."""

import base64
import json

import pytest

from chalicelib.errors import InvalidPageToken, InvalidRequest
from chalicelib.pagination import DEFAULT_LIMIT, decode_token, encode_token, parse_limit

KEY = frozenset({"id"})


def test_a_token_round_trips_in_its_own_listing():
    token = encode_token("departments", {"id": "abc"})
    assert decode_token(token, "departments", KEY) == {"id": "abc"}


def test_a_token_from_another_listing_is_refused():
    token = encode_token("events|dept-a||", {"id": "abc"})
    with pytest.raises(InvalidPageToken):
        decode_token(token, "events|dept-b||", KEY)


@pytest.mark.parametrize(
    "token",
    [
        "not-base64!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(json.dumps([1]).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"f": 1, "s": "departments", "k": {"id": 5}}).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"f": 1, "s": "departments", "k": {"id": "a", "x": "b"}}).encode()
        ).decode(),
        "",
    ],
)
def test_tampered_tokens_are_refused(token):
    with pytest.raises(InvalidPageToken):
        decode_token(token, "departments", KEY)


def test_limit_defaults_and_bounds():
    assert parse_limit(None) == DEFAULT_LIMIT
    assert parse_limit("1") == 1
    assert parse_limit("100") == 100


@pytest.mark.parametrize("raw", ["0", "101", "-1", "abc", "1.5", "", "١٠"])
def test_limit_out_of_range_is_a_client_error(raw):
    with pytest.raises(InvalidRequest):
        parse_limit(raw)


def test_a_page_cut_short_by_the_1_mb_limit_continues_after_its_last_item():
    from chalicelib.repositories._common import slice_page

    # Given DynamoDB stopped at 1 MB: fewer items than asked for, and a LastEvaluatedKey
    items = [{"id": {"S": f"a{i}"}} for i in range(3)]
    response = {"Items": items, "LastEvaluatedKey": {"id": {"S": "a2"}}}
    page, start = slice_page(response, limit=50, key_names=["id"])
    # Then the page still has a next page, starting after its last item
    assert [item["id"] for item in page] == ["a0", "a1", "a2"]
    assert start == {"id": "a2"}
    # And a complete last page has none
    assert slice_page({"Items": items}, limit=50, key_names=["id"])[1] is None
